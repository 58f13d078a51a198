"""Electrum's JSON-RPC transport: one connection, newline-framed, batched and pipelined.

The only part of the Electrum source that touches a socket: TCP or TLS (checked against the
system's CAs, or pinned to a certificate's SHA-256 fingerprint), optionally through a SOCKS5
proxy (Tor), with the protocol version negotiated on connect and a dropped link reconnected
under :class:`~utxo_truth.sources._retry.RetryPolicy`. It returns raw :class:`Reply` objects;
what they mean is read in :mod:`utxo_truth.sources._electrum_api` and ``electrum.py``.

:class:`Connection` is what ``ElectrumSource(connection=...)`` takes, so the source can be driven
by anything with the same methods (a recorded or scripted server) without a socket.

Example:
    >>> conn = Connection("127.0.0.1", 50001, tls=False, fingerprint=None, ca_file=None,
    ...                   timeout=5.0, proxy=None, name="utxo_truth")
    >>> conn.where
    'electrum://127.0.0.1:50001'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._exceptions import SourceProtocolError, SourceTimeoutError, SourceUnavailableError
from ._electrum_api import parse_version
from ._retry import RetryPolicy

__all__ = ["PROTOCOL_MAX", "PROTOCOL_MIN", "Connection", "Dropped", "Reply", "error_text"]

PROTOCOL_MIN = "1.4"
PROTOCOL_MAX = "1.6"
_SUPPORTED = {"1.4", "1.4.1", "1.4.2", "1.6"}


@dataclass(frozen=True)
class Reply:
    """One JSON-RPC answer as it came: ``result`` or ``error`` (the server's own shapes)."""

    result: Any = None
    error: Any = None


class Connection:
    """One JSON-RPC connection: newline-framed, batched, pipelined, with timeouts."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: bool,
        fingerprint: str | None,
        ca_file: str | None,
        timeout: float,
        proxy: tuple[str, int] | None,
        name: str,
        protocol: tuple[str, str] = (PROTOCOL_MIN, PROTOCOL_MAX),
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.fingerprint = fingerprint.replace(":", "").lower() if fingerprint else None
        self.ca_file, self.timeout, self.proxy, self.name = ca_file, timeout, proxy, name
        self.protocol_range = protocol
        self.sock: socket.socket | None = None
        self.buf = b""
        self.next_id = 0
        self.protocol = ""
        self.server_version = ""
        self.round_trips = 0
        self.requests = 0
        self.connects = 0
        """Sessions opened so far (a server that closed one is reconnected: a new session)."""
        self.notified_tip: dict[str, Any] | None = None

    @property
    def where(self) -> str:
        return f"{'electrums' if self.tls else 'electrum'}://{self.host}:{self.port}"

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.sock = None
        self.buf = b""

    def _open_socket(self) -> socket.socket:
        try:
            if self.proxy:
                sock = socket.create_connection(self.proxy, timeout=self.timeout)
                socks5_connect(sock, self.host, self.port)
            else:
                sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except TimeoutError as exc:
            raise SourceTimeoutError(f"{self.where}: no connection within {self.timeout}s") from exc
        except OSError as exc:
            raise SourceUnavailableError(
                f"{self.where}: cannot connect: {exc.strerror or exc}"
            ) from exc
        if not self.tls:
            return sock
        if self.fingerprint:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            ctx = ssl.create_default_context(cafile=self.ca_file)
        try:
            tls_sock = ctx.wrap_socket(sock, server_hostname=self.host)
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise SourceUnavailableError(
                f"{self.where}: TLS failed ({exc}); for a self-signed certificate pin it with "
                "?fingerprint=SHA256-HEX"
            ) from exc
        if self.fingerprint:
            der = tls_sock.getpeercert(binary_form=True) or b""
            if hashlib.sha256(der).hexdigest() != self.fingerprint:
                tls_sock.close()
                raise SourceUnavailableError(
                    f"{self.where}: certificate fingerprint does not match the pinned one"
                )
        return tls_sock

    def connect(self) -> None:
        self.close()
        self.sock = self._open_socket()
        self.connects += 1
        low, high = self.protocol_range
        reply = self._exchange([("server.version", [self.name, [low, high]])])[0]
        if reply.error is not None:
            self.close()
            raise SourceProtocolError(
                f"{self.where} does not speak Electrum protocol {low}-{high}: "
                f"{error_text(reply.error)}"
            )
        try:
            version = parse_version(reply.result, f"{self.where} sent a malformed server.version")
        except SourceProtocolError:
            self.close()
            raise
        if version.protocol not in _SUPPORTED:
            self.close()
            raise SourceProtocolError(
                f"{self.where} negotiated an unsupported protocol: {version.protocol[:80]}"
            )
        self.server_version, self.protocol = version.software, version.protocol

    def call(
        self, calls: Sequence[tuple[str, list[Any]]], batch_size: int, retries: int = 2
    ) -> list[Reply]:
        """Send ``calls`` in batches, all written before reading; reconnect on a dropped link."""
        results: list[Reply | None] = [None] * len(calls)
        # a dropped link is reconnected at once (no pause: the server did not ask for one)
        attempts = RetryPolicy(retries=retries, backoff=0.0).start()
        while True:
            todo = [i for i, r in enumerate(results) if r is None]
            if not todo:
                break
            try:
                if self.sock is None:
                    self.connect()
                replies = self._exchange([calls[i] for i in todo], batch_size)
                for i, r in zip(todo, replies, strict=True):
                    results[i] = r
            except (ConnectionError, Dropped) as exc:
                self.close()
                if attempts.after_failure() is None:
                    raise SourceUnavailableError(
                        f"{self.where}: connection dropped {retries + 1} times ({exc})"
                    ) from None
        return [r if r is not None else Reply(error="no reply") for r in results]

    def _exchange(self, calls: Sequence[tuple[str, list[Any]]], batch_size: int = 1) -> list[Reply]:
        assert self.sock is not None
        ids: dict[int, int] = {}
        lines = []
        for start in range(0, len(calls), max(1, batch_size)):
            batch = []
            for j, (method, params) in enumerate(calls[start : start + batch_size], start):
                self.next_id += 1
                ids[self.next_id] = j
                batch.append(
                    {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
                )
            lines.append(json.dumps(batch if len(batch) > 1 else batch[0]).encode() + b"\n")
        try:
            self.sock.sendall(b"".join(lines))
        except TimeoutError as exc:
            raise SourceTimeoutError(f"{self.where}: sending timed out") from exc
        except OSError as exc:
            raise Dropped(str(exc)) from exc
        self.round_trips += 1
        self.requests += len(calls)
        out: list[Reply | None] = [None] * len(calls)
        left = len(calls)
        while left:
            message = self._read_message()
            items = message if isinstance(message, list) else [message]
            for item in items:
                if not isinstance(item, dict):
                    raise SourceProtocolError(f"{self.where} sent a non-object JSON-RPC message")
                if "id" not in item or item.get("id") is None:
                    if "method" in item:
                        self._notification(item)
                        continue
                    # an error with a null id answers a request the server could not parse
                    raise SourceProtocolError(f"{self.where}: {error_text(item.get('error'))}")
                j = ids.pop(item["id"], -1) if isinstance(item["id"], int) else -1
                if j < 0:
                    raise SourceProtocolError(
                        f"{self.where} answered an id that was not asked: {item['id']!r}"
                    )
                out[j] = Reply(result=item.get("result"), error=item.get("error"))
                left -= 1
        return [r if r is not None else Reply(error="no reply") for r in out]

    def _notification(self, item: dict[str, Any]) -> None:
        if item.get("method") == "blockchain.headers.subscribe":
            params = item.get("params")
            if isinstance(params, list) and params and isinstance(params[0], dict):
                self.notified_tip = params[0]

    def _read_message(self) -> Any:
        assert self.sock is not None
        deadline = time.monotonic() + self.timeout
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line, self.buf = self.buf[:nl], self.buf[nl + 1 :]
                if not line.strip():
                    continue
                try:
                    return json.loads(line)
                except ValueError:
                    raise SourceProtocolError(
                        f"{self.where} sent something that is not JSON: {line[:60]!r}"
                    ) from None
            if len(self.buf) > 64 << 20:
                raise SourceProtocolError(
                    f"{self.where} sent a message over 64 MiB without newline"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SourceTimeoutError(f"{self.where}: no answer within {self.timeout}s")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 20)
            except TimeoutError:
                raise SourceTimeoutError(
                    f"{self.where}: no answer within {self.timeout}s"
                ) from None
            except OSError as exc:
                raise Dropped(str(exc)) from exc
            if not chunk:
                raise Dropped("server closed the connection")
            self.buf += chunk


class Dropped(Exception):
    """The link dropped mid-exchange: reconnect and ask again what was not answered."""


def socks5_connect(sock: socket.socket, host: str, port: int) -> None:
    """SOCKS5 CONNECT without authentication; the proxy resolves the name (needed for .onion)."""
    sock.sendall(b"\x05\x01\x00")
    if sock.recv(2) != b"\x05\x00":
        raise SourceUnavailableError("SOCKS5 proxy refused the no-authentication method")
    name = host.encode("idna")
    sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + port.to_bytes(2, "big"))
    head = sock.recv(4)
    if len(head) < 4 or head[1] != 0:
        raise SourceUnavailableError(f"SOCKS5 proxy could not connect to {host}:{port}")
    size = {1: 4, 3: sock.recv(1)[0] if head[3] == 3 else 0, 4: 16}.get(head[3], 0)
    sock.recv(size + 2)


def error_text(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('message', '')} (code {error.get('code')})"[:300]
    return str(error)[:300]
