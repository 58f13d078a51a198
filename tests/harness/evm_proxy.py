"""An HTTP proxy in front of a real anvil that lies or fails on purpose.

``hook(request) -> None | (status, headers, body)`` may answer a JSON-RPC request itself (a 429,
garbage); otherwise the request goes to anvil and ``rewrite(request, reply)`` may change the
reply (a node lying about a block).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Hook = Callable[[dict[str, Any]], "tuple[int, dict[str, str], bytes] | None"]
Rewrite = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]


class EvmProxy:
    def __init__(
        self, upstream: str, hook: Hook | None = None, rewrite: Rewrite | None = None
    ) -> None:
        self.upstream, self.hook, self.rewrite = upstream, hook, rewrite
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = json.loads(body)
                proxy.seen.append(request["method"])
                answer = proxy.hook(request) if proxy.hook else None
                if answer is None:
                    req = urllib.request.Request(
                        proxy.upstream, body, {"Content-Type": "application/json"}
                    )
                    with urllib.request.urlopen(req, timeout=10) as r:
                        reply = json.loads(r.read())
                    if proxy.rewrite:
                        reply = proxy.rewrite(request, reply)
                    answer = (200, {}, json.dumps(reply).encode())
                status, headers, out = answer
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
