"""A TCP proxy in front of the real ElectrumX that lies or fails on purpose.

``rewrite(method, params, reply)`` sees every JSON-RPC reply item (``reply`` holds ``result`` or
``error``) with the request it answers, and returns the item to send on. ``fault`` makes it
misbehave: ``"drop-once"`` closes the first connection when the first batch of histories
arrives, ``"garbage"`` answers that batch with bytes that are not JSON, ``"silent"`` stops
answering after the version handshake.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

Rewrite = Callable[[str, list[Any], dict[str, Any]], dict[str, Any]]


class LyingProxy:
    def __init__(
        self, upstream_port: int, rewrite: Rewrite | None = None, fault: str | None = None
    ) -> None:
        self.upstream_port = upstream_port
        self.rewrite = rewrite
        self.fault = fault
        self.connections = 0
        self.dropped = False
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

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
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            requests: dict[Any, tuple[str, list[Any]]] = {}
            state = {"silent": False}
            threading.Thread(
                target=self._up, args=(client, upstream, requests, state), daemon=True
            ).start()
            threading.Thread(
                target=self._down, args=(upstream, client, requests, state), daemon=True
            ).start()

    @staticmethod
    def _lines(sock: socket.socket) -> Any:
        buf = b""
        while True:
            try:
                chunk = sock.recv(1 << 20)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    yield line

    def _close(self, *socks: socket.socket) -> None:
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def _up(
        self,
        client: socket.socket,
        upstream: socket.socket,
        requests: dict[Any, tuple[str, list[Any]]],
        state: dict[str, bool],
    ) -> None:
        for line in self._lines(client):
            message = json.loads(line)
            items = message if isinstance(message, list) else [message]
            methods = {i.get("method") for i in items}
            for i in items:
                requests[i.get("id")] = (i.get("method"), i.get("params") or [])
            if "blockchain.scripthash.get_history" in methods:
                if self.fault == "drop-once" and not self.dropped:
                    self.dropped = True
                    self._close(client, upstream)
                    return
                if self.fault == "garbage":
                    with contextlib.suppress(OSError):
                        client.sendall(b"{this is not json\n")
                    continue
            if self.fault == "silent" and "server.version" not in methods:
                state["silent"] = True
                continue
            upstream.sendall(line + b"\n")
        self._close(client, upstream)

    def _down(
        self,
        upstream: socket.socket,
        client: socket.socket,
        requests: dict[Any, tuple[str, list[Any]]],
        state: dict[str, bool],
    ) -> None:
        for line in self._lines(upstream):
            if state["silent"]:
                continue
            message = json.loads(line)
            items = message if isinstance(message, list) else [message]
            out = []
            for item in items:
                if self.rewrite is not None and "id" in item and item["id"] in requests:
                    method, params = requests[item["id"]]
                    item = self.rewrite(method, params, item)
                out.append(item)
            data = out if isinstance(message, list) else out[0]
            try:
                client.sendall(json.dumps(data).encode() + b"\n")
            except OSError:
                break
        self._close(client, upstream)
