"""Bitcoin Core's recorded JSON-RPC replies, served back byte for byte.

Each line of tests/data/rpc-transcript.jsonl is one exchange ``{method, params, status, body}``.
A request whose method and params equal a recorded one gets that body and status; anything else
gets a JSON-RPC error, as a node would for a call it cannot answer. The authorization header of
every request is kept, so tests can check what was sent.
"""

from __future__ import annotations

import json
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .http import serve_post

TRANSCRIPT = Path(__file__).resolve().parent.parent / "data" / "rpc-transcript.jsonl"


def _key(method: str, params: Any) -> str:
    return method + " " + json.dumps(params, sort_keys=True, separators=(",", ":"))


class Replay:
    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        """``overrides`` maps a method (no params) to a replacement body, for fault tests."""
        self.exchanges: dict[str, tuple[int, str]] = {}
        for line in TRANSCRIPT.read_text().splitlines():
            e = json.loads(line)
            self.exchanges[_key(e["method"], e["params"])] = (e["status"], e["body"])
        self.overrides = overrides or {}
        self.requests: list[tuple[str, Any]] = []
        self.authorization: list[str | None] = []
        self.unmatched: list[str] = []

    def answer(self, request: dict[str, Any]) -> tuple[int, str]:
        method, params = request.get("method", ""), request.get("params") or []
        self.requests.append((method, params))
        if method in self.overrides:
            return 200, self.overrides[method]
        found = self.exchanges.get(_key(method, params))
        if found is None:
            self.unmatched.append(_key(method, params)[:200])
            body = {
                "result": None,
                "error": {"code": -32601, "message": "not in the recorded transcript"},
                "id": request.get("id"),
            }
            return 500, json.dumps(body)
        return found

    def serve(self) -> tuple[ThreadingHTTPServer, int]:
        def answer(body: bytes, authorization: str | None) -> tuple[int, bytes]:
            self.authorization.append(authorization)
            status, reply = self.answer(json.loads(body))
            return status, reply.encode()

        return serve_post(answer)
