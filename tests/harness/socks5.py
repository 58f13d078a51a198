"""A small, real SOCKS5 proxy (RFC 1928, with RFC 1929 username/password) for the tests.

It accepts connections, speaks SOCKS5 to the client, opens the TCP connection the client asks
for and relays the bytes both ways unchanged: a proxy we run, as Tor's SOCKS port would be, not
a stand-in for one. It records what it was asked (``requests``: the destination of every
CONNECT, with whether the client sent a domain name or an address, so a test can tell that the
*proxy* resolved the name, as ``socks5h://`` means) and how many bytes it relayed.

``credentials=("user", "password")`` makes it offer only the username/password method and
refuse a client that sends anything else (RFC 1929 status 1), as a Tor port configured for
stream isolation accepts any, and other proxies check them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass

__all__ = ["Connect", "Socks5Proxy"]


@dataclass(frozen=True)
class Connect:
    """One CONNECT request the proxy served (or refused)."""

    host: str
    port: int
    by_name: bool
    """True when the client sent a domain name (ATYP 3): the proxy resolved it."""
    user: str | None


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client closed")
        data += chunk
    return data


class Socks5Proxy:
    """A threaded SOCKS5 proxy on 127.0.0.1; ``with Socks5Proxy() as p: p.url``."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials
        self.requests: list[Connect] = []
        self.refused_auth = 0
        self.relayed = 0
        self._lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(32)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True, name="socks5-accept").start()

    def url(self, scheme: str = "socks5h") -> str:
        """The proxy's URL, with the credentials when it has some."""
        auth = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}"

    def __enter__(self) -> Socks5Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = self._handshake(client)
        except (OSError, ConnectionError, ValueError):
            with contextlib.suppress(OSError):
                client.close()
            return
        if upstream is None:
            with contextlib.suppress(OSError):
                client.close()
            return
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        self._pipe(client, upstream)

    def _handshake(self, client: socket.socket) -> socket.socket | None:
        version, n = _read(client, 2)
        if version != 5:
            return None
        methods = _read(client, n)
        wanted = 2 if self.credentials else 0  # 2: username/password (RFC 1929); 0: none
        if wanted not in methods:
            client.sendall(b"\x05\xff")
            return None
        client.sendall(bytes([5, wanted]))
        user = None
        if self.credentials:
            sub, ulen = _read(client, 2)
            name = _read(client, ulen).decode()
            (plen,) = _read(client, 1)
            password = _read(client, plen).decode()
            if sub != 1 or (name, password) != self.credentials:
                with self._lock:
                    self.refused_auth += 1
                client.sendall(b"\x01\x01")
                return None
            client.sendall(b"\x01\x00")
            user = name
        ver, cmd, _rsv, atyp = _read(client, 4)
        if ver != 5 or cmd != 1:  # CONNECT only
            client.sendall(b"\x05\x07\x00\x01" + bytes(6))
            return None
        if atyp == 1:
            host = socket.inet_ntoa(_read(client, 4))
        elif atyp == 3:
            (size,) = _read(client, 1)
            host = _read(client, size).decode("idna")
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, _read(client, 16))
        else:
            client.sendall(b"\x05\x08\x00\x01" + bytes(6))
            return None
        port = int.from_bytes(_read(client, 2), "big")
        with self._lock:
            self.requests.append(Connect(host, port, atyp == 3, user))
        try:
            upstream = socket.create_connection((host, port), timeout=10)
        except OSError:
            client.sendall(b"\x05\x05\x00\x01" + bytes(6))  # 5: connection refused
            return None
        upstream.settimeout(None)
        bound_host, bound_port = upstream.getsockname()[:2]
        client.sendall(
            b"\x05\x00\x00\x01" + socket.inet_aton(bound_host) + bound_port.to_bytes(2, "big")
        )
        return upstream

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                dst.sendall(data)
                with self._lock:
                    self.relayed += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()
