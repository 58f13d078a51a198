"""An Esplora REST server over the recorded chain, for tests and benchmarks.

No Esplora server can be installed from the package registries, so this one answers the
endpoints utxo_truth (and BDK's ``EsploraClient``) use, with the JSON shapes and status codes of
Blockstream's ``API.md`` and electrs's ``src/rest.rs``:

``/blocks/tip/height``, ``/blocks/tip/hash`` (plain text), ``/block-height/:h`` (text; 404
"Block not found"), ``/block/:hash/header`` (hex), ``/blocks[/:start]`` (10 block objects),
``/scripthash/:h`` (``chain_stats`` / ``mempool_stats``), ``/scripthash/:h/utxo`` (HTTP 400 past
the utxo limit), ``/scripthash/:h/txs`` (mempool first, then 25 confirmed),
``/scripthash/:h/txs/chain[/:last_seen]`` (25 a page, newest first), ``/scripthash/:h/txs/mempool``,
``/tx/:txid`` (JSON), ``/tx/:txid/hex``, ``/tx/:txid/status``, ``/tx/:txid/merkle-proof`` (404
"Transaction not found or is unconfirmed" for the mempool), ``/tx/:txid/outspends``.

Every answer is computed from Bitcoin Core's blocks (``harness.chain``), never written by hand.
``Faults`` injects what public servers do: 429 with and without ``Retry-After`` (and with an HTML
body, as mempool.space), 500/503 bursts, slow replies, trickled and truncated bodies, garbage,
gzip and chunked replies, shorter history pages, a utxo limit, a switch to the reorganised branch
after N requests, and lies (an edited reply). ``python -m harness.esplora [PORT [DELAY]]`` (from
``tests/``) serves it in a process of its own, for the benchmark.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .chain import Chain, Tx, dsha

PAGE = 25
MEMPOOL_PAGE = 50


def scripthash(script: bytes) -> str:
    """electrs' REST script hash: sha256 in plain hex (unlike Electrum's, not reversed)."""
    return hashlib.sha256(script).hexdigest()


def _varint(n: int) -> bytes:
    if n < 253:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    return b"\xfe" + n.to_bytes(4, "little")


def _base_size(t: Tx) -> int:
    """Size of the transaction without witness data (for its weight)."""
    tx = t.tx
    n = 4 + len(_varint(len(tx.vin)))
    for i in tx.vin:
        sig = bytes(i.script_sig.data)
        n += 36 + len(_varint(len(sig))) + len(sig) + 4
    n += len(_varint(len(tx.vout)))
    for o in tx.vout:
        spk = bytes(o.script_pubkey.data)
        n += 8 + len(_varint(len(spk))) + len(spk)
    return n + 4


def merkle_branch(txids: list[str], pos: int) -> list[str]:
    """The merkle branch (display hex) of the transaction at ``pos`` among ``txids``."""
    level = [bytes.fromhex(t)[::-1] for t in txids]
    branch = []
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        branch.append(level[pos ^ 1][::-1].hex())
        level = [dsha(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        pos //= 2
    return branch


@dataclass
class Fault:
    """One injected reply for the next request whose path matches ``match``."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    match: str = ""


@dataclass
class Faults:
    """Switches for what public servers do to their clients."""

    queue: deque[Fault] = field(default_factory=deque)
    delay: float = 0.0
    truncate: int = 0
    """The next N replies send half their body under the full Content-Length, then close."""
    gzip: bool = False
    """Compress replies when the client accepts gzip (as Blockstream's and mempool's servers do)."""
    chunked: bool = False
    """Send replies with chunked transfer encoding instead of a Content-Length (nginx's habit)."""
    trickle: int = 0
    """The next N replies send their body a byte every 50 ms."""
    garbage: int = 0
    """The next N JSON replies are not JSON."""
    page_size: int = PAGE
    """Confirmed transactions a history page holds (mempool's electrs lets operators change it)."""
    utxo_limit: int | None = None
    limit_message: str = "Too many history entries"
    reorg_after: int | None = None
    """After this many requests, the chain switches to the reorganised branch."""
    edit: Callable[[str, Any], Any] | None = None
    """Rewrites a JSON or text reply (path, value) -> value: a lying server."""

    def burst(self, status: int, n: int, match: str = "", **headers: str) -> None:
        body = b"<html><body>Too Many Requests</body></html>" if status == 429 else b""
        for _ in range(n):
            self.queue.append(Fault(status, body, dict(headers), match))


class _Index:
    """Per-script history, coins and statistics of one chain state."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.height = chain.height
        self.pos: dict[str, tuple[int, int]] = {}
        for h, b in enumerate(chain.blocks):
            for p, t in enumerate(b.txs):
                self.pos[t.txid] = (h, p)
        conf_spender: dict[tuple[str, int], str] = {}
        for b in chain.blocks:
            for t in b.txs:
                for vin in t.tx.vin:
                    conf_spender[(vin.txid.hex(), vin.vout)] = t.txid
        # the mempool: transactions that conflict with a confirmed spend are gone
        self.mempool: list[Tx] = []
        mem_spender: dict[tuple[str, int], str] = {}
        for t in chain.mempool:
            ins = [(vin.txid.hex(), vin.vout) for vin in t.tx.vin]
            if t.txid in self.pos or any(op in conf_spender for op in ins):
                continue
            self.mempool.append(t)
            for op in ins:
                mem_spender[op] = t.txid
        self.conf_spender, self.mem_spender = conf_spender, mem_spender
        self.txs: dict[str, Tx] = {t.txid: t for b in chain.blocks for t in b.txs}
        self.txs.update({t.txid: t for t in self.mempool})
        self.history: dict[str, list[str]] = {}
        self.funded: dict[str, list[tuple[str, int, int]]] = {}
        ordered = [t for b in chain.blocks for t in b.txs] + self.mempool
        for t in ordered:
            touched: list[str] = []
            for vout, o in enumerate(t.tx.vout):
                sh = scripthash(bytes(o.script_pubkey.data))
                self.funded.setdefault(sh, []).append((t.txid, vout, int(o.value)))
                touched.append(sh)
            for vin in t.tx.vin:
                prev = self.txs.get(vin.txid.hex())
                if prev is not None and vin.vout < len(prev.tx.vout):
                    touched.append(scripthash(bytes(prev.tx.vout[vin.vout].script_pubkey.data)))
            for sh in dict.fromkeys(touched):
                self.history.setdefault(sh, []).append(t.txid)

    def confirmed(self, txid: str) -> bool:
        return txid in self.pos

    def status(self, txid: str) -> dict[str, Any]:
        if txid not in self.pos:
            return {"confirmed": False}
        h, _p = self.pos[txid]
        b = self.chain.blocks[h]
        return {
            "confirmed": True,
            "block_height": h,
            "block_hash": b.hash,
            "block_time": int.from_bytes(b.header[68:72], "little"),
        }

    def output(self, txid: str, vout: int) -> tuple[bytes, int] | None:
        t = self.txs.get(txid)
        if t is None or vout >= len(t.tx.vout):
            return None
        o = t.tx.vout[vout]
        return bytes(o.script_pubkey.data), int(o.value)

    def tx_json(self, txid: str) -> dict[str, Any]:
        t = self.txs[txid]
        vin = []
        fee = 0
        coinbase = False
        for i in t.tx.vin:
            prev_txid = i.txid.hex()
            item: dict[str, Any] = {
                "txid": prev_txid,
                "vout": i.vout,
                "scriptsig": bytes(i.script_sig.data).hex(),
                "sequence": i.sequence,
                "witness": [bytes(w).hex() for w in i.witness.items],
            }
            if prev_txid == "00" * 32:
                coinbase = True
                item.update(prevout=None, is_coinbase=True)
            else:
                out = self.output(prev_txid, i.vout)
                assert out is not None, f"{txid} spends an unknown output"
                item.update(
                    prevout={"scriptpubkey": out[0].hex(), "value": out[1]}, is_coinbase=False
                )
                fee += out[1]
            vin.append(item)
        vout = [
            {"scriptpubkey": bytes(o.script_pubkey.data).hex(), "value": int(o.value)}
            for o in t.tx.vout
        ]
        base = _base_size(t)
        return {
            "txid": txid,
            "version": t.tx.version,
            "locktime": t.tx.locktime,
            "vin": vin,
            "vout": vout,
            "size": len(t.raw),
            "weight": base * 3 + len(t.raw),
            "fee": 0 if coinbase else fee - sum(o["value"] for o in vout),
            "status": self.status(txid),
        }

    def chain_history(self, sh: str) -> list[str]:
        """Confirmed transactions of a script, newest first (electrs' order)."""
        txids = [t for t in self.history.get(sh, []) if t in self.pos]
        return sorted(txids, key=lambda t: self.pos[t], reverse=True)

    def mempool_history(self, sh: str) -> list[str]:
        return [t for t in reversed(self.history.get(sh, [])) if t not in self.pos]

    def utxos(self, sh: str) -> list[tuple[str, int, int]]:
        out = []
        for txid, vout, value in self.funded.get(sh, []):
            if txid not in self.txs:
                continue
            if (txid, vout) in self.conf_spender or (txid, vout) in self.mem_spender:
                continue
            out.append((txid, vout, value))
        return out

    def stats(self, sh: str) -> dict[str, Any]:
        def part(confirmed: bool) -> dict[str, int]:
            funded = [f for f in self.funded.get(sh, []) if self.confirmed(f[0]) == confirmed]
            spenders = self.conf_spender if confirmed else self.mem_spender
            spent = [f for f in self.funded.get(sh, []) if (f[0], f[1]) in spenders]
            txs = [t for t in self.history.get(sh, []) if self.confirmed(t) == confirmed]
            return {
                "funded_txo_count": len(funded),
                "funded_txo_sum": sum(f[2] for f in funded),
                "spent_txo_count": len(spent),
                "spent_txo_sum": sum(f[2] for f in spent),
                "tx_count": len(txs),
            }

        return {"scripthash": sh, "chain_stats": part(True), "mempool_stats": part(False)}


class EsploraServer:
    """The server: ``serve()`` starts it on a free port; ``url`` is its API root."""

    def __init__(self, chain: Chain | None = None) -> None:
        self.chain = chain or Chain()
        self.faults = Faults()
        self.paths: list[str] = []
        self.seen: list[tuple[str, str | None]] = []
        """Every request as (path with query, Authorization header)."""
        self.inflight = 0
        self.max_inflight = 0
        """The most requests the server was answering at once."""
        self.lock = threading.Lock()
        self._index: tuple[int, str, _Index] | None = None
        self.httpd: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """No faults, chain A, an empty request log."""
        with self.lock:
            self.faults = Faults()
            self.paths = []
            self.seen = []
            self.max_inflight = 0
        self.chain.set_state("A")

    def counts(self) -> Counter[str]:
        """Requests made so far, by endpoint kind (``/tx/:txid/hex`` -> ``tx/hex``)."""
        out: Counter[str] = Counter()
        for p in self.paths:
            parts = p.strip("/").split("/")
            kind = [parts[0]] + [x for x in parts[1:] if not re.fullmatch(r"[0-9a-f]{64}|\d+", x)]
            out["/".join(kind)] += 1
        return out

    def index(self) -> _Index:
        with self.chain.lock:
            key = (id(self.chain.blocks), self.chain.state)
            if self._index is None or self._index[:2] != key:
                self._index = (key[0], key[1], _Index(self.chain))
            return self._index[2]

    def serve(self, port: int = 0) -> EsploraServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes

            def do_GET(self) -> None:
                status, body, headers = server.answer(self.path, self.headers.get("Authorization"))
                f = server.faults
                if f.gzip and "gzip" in (self.headers.get("Accept-Encoding") or ""):
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if f.chunked and not headers.get("X-Truncate") and not headers.get("X-Trickle"):
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(body), 1000):  # several chunks
                        part = body[i : i + 1000]
                        self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(len(body)))
                if status >= 400 and "Content-Type" not in headers:
                    self.send_header("Content-Type", "text/plain")
                self.end_headers()
                if headers.get("X-Trickle"):
                    try:
                        for i in range(len(body)):
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(0.05)
                    except OSError:
                        self.close_connection = True  # the client gave up
                    return
                if headers.pop("X-Truncate", None) is not None:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    # ---------------------------------------------------------------------------------------
    def answer(self, raw_path: str, auth: str | None = None) -> tuple[int, bytes, dict[str, str]]:
        path = raw_path.split("?", 1)[0]
        if path == "/__requests":  # the request log, for a benchmark in another process
            with self.lock:
                log = json.dumps(self.paths).encode()
                self.paths = []
            return 200, log, {"Content-Type": "application/json"}
        with self.lock:
            self.paths.append(path)
            self.seen.append((raw_path, auth))
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            return self._answer(path)
        finally:
            with self.lock:
                self.inflight -= 1

    def _answer(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        with self.lock:
            n = len(self.paths)
            f = self.faults
            fault = None
            for i, q in enumerate(f.queue):
                if re.search(q.match, path):
                    fault = q
                    del f.queue[i]
                    break
            if f.reorg_after is not None and n > f.reorg_after and self.chain.state != "branch":
                self.chain.set_state("branch")
            truncate = f.truncate > 0
            if truncate:
                f.truncate -= 1
            trickle = f.trickle > 0
            if trickle:
                f.trickle -= 1
        if f.delay:
            time.sleep(f.delay)
        if fault is not None:
            return fault.status, fault.body, dict(fault.headers)
        try:
            status, value = self.route(path)
        except KeyError:
            status, value = 404, "Not Found"
        if f.edit is not None and status == 200:
            value = f.edit(path, value)
        if isinstance(value, str):
            body = value.encode()
            headers = {"Content-Type": "text/plain"}
        else:
            body = json.dumps(value).encode()
            headers = {"Content-Type": "application/json"}
            with self.lock:
                if f.garbage > 0 and status == 200:
                    f.garbage -= 1
                    body = b'{"garbage": [1, 2,'
        if truncate:
            headers["X-Truncate"] = "1"
        if trickle:
            headers["X-Trickle"] = "1"
        return status, body, headers

    def route(self, path: str) -> tuple[int, Any]:
        ix = self.index()
        c = ix.chain
        p = path.strip("/").split("/")
        if p == ["blocks", "tip", "height"]:
            return 200, str(ix.height)
        if p == ["blocks", "tip", "hash"]:
            return 200, c.tip.hash
        if p[0] == "blocks" and len(p) <= 2:
            start = int(p[1]) if len(p) == 2 else ix.height
            return 200, [self._block_json(ix, h) for h in range(min(start, ix.height), -1, -1)][:10]
        if p[0] == "block-height" and len(p) == 2:
            h = int(p[1])
            if not 0 <= h <= ix.height:
                return 404, "Block not found"
            return 200, c.blocks[h].hash
        if p[0] == "block" and len(p) == 3 and p[2] == "header":
            if p[1] not in c.by_hash:
                return 404, "Block not found"
            return 200, c.by_hash[p[1]][1].header.hex()
        if p[0] == "block" and len(p) == 4 and p[2] == "txid" and p[3].isdigit():
            if p[1] not in c.by_hash:
                return 404, "Block not found"
            txs = c.by_hash[p[1]][1].txs
            k = int(p[3])
            return (200, txs[k].txid) if k < len(txs) else (404, "Transaction not found")
        if p[0] == "scripthash" and len(p) >= 2:
            return self._scripthash(ix, p[1], p[2:])
        if p[0] == "tx" and len(p) >= 2:
            return self._tx(ix, p[1], p[2:])
        return 404, "Not Found"

    def _block_json(self, ix: _Index, h: int) -> dict[str, Any]:
        b = ix.chain.blocks[h]
        hd = b.header
        return {
            "id": b.hash,
            "height": h,
            "version": int.from_bytes(hd[0:4], "little"),
            "timestamp": int.from_bytes(hd[68:72], "little"),
            "tx_count": len(b.txs),
            "size": len(b.raw),
            "weight": len(b.raw) * 4,
            "merkle_root": hd[36:68][::-1].hex(),
            "previousblockhash": b.prev if h else None,
            "mediantime": int.from_bytes(hd[68:72], "little"),
            "nonce": int.from_bytes(hd[76:80], "little"),
            "bits": int.from_bytes(hd[72:76], "little"),
            "difficulty": 1,
        }

    def _scripthash(self, ix: _Index, sh: str, rest: list[str]) -> tuple[int, Any]:
        if not re.fullmatch(r"[0-9a-f]{64}", sh):
            return 400, "Invalid scripthash"
        if not rest:
            return 200, ix.stats(sh)
        if rest == ["utxo"]:
            utxos = ix.utxos(sh)
            limit = self.faults.utxo_limit
            confirmed = [u for u in utxos if ix.confirmed(u[0])]
            if limit is not None and len(confirmed) > limit:
                message = self.faults.limit_message
                if "unspent" in message:
                    message = f"{message} (>{limit}). Contact support to raise limits."
                return 400, message
            return 200, [
                {"txid": t, "vout": v, "value": value, "status": ix.status(t)}
                for t, v, value in utxos
            ]
        if rest[0] == "txs":
            mempool = ix.mempool_history(sh)
            chain = ix.chain_history(sh)
            size = self.faults.page_size
            if rest == ["txs"]:
                txids = mempool[:MEMPOOL_PAGE] + chain[:size]
            elif rest == ["txs", "mempool"]:
                txids = mempool[:MEMPOOL_PAGE]
            elif rest == ["txs", "chain"]:
                txids = chain[:size]
            elif len(rest) == 3 and rest[1] == "chain":
                if rest[2] not in chain:
                    return 200, []
                k = chain.index(rest[2]) + 1
                txids = chain[k : k + size]
            else:
                return 404, "Not Found"
            return 200, [ix.tx_json(t) for t in txids]
        return 404, "Not Found"

    def _tx(self, ix: _Index, txid: str, rest: list[str]) -> tuple[int, Any]:
        if txid not in ix.txs:
            return 404, "Transaction not found"
        t = ix.txs[txid]
        if not rest:
            return 200, ix.tx_json(txid)
        if rest == ["hex"]:
            return 200, t.raw.hex()
        if rest == ["status"]:
            return 200, ix.status(txid)
        if rest == ["merkle-proof"]:
            if txid not in ix.pos:
                return 404, "Transaction not found or is unconfirmed"
            h, pos = ix.pos[txid]
            txids = [x.txid for x in ix.chain.blocks[h].txs]
            return 200, {"block_height": h, "merkle": merkle_branch(txids, pos), "pos": pos}
        if rest == ["outspends"]:
            out: list[dict[str, Any]] = []
            for vout in range(len(t.tx.vout)):
                by = ix.conf_spender.get((txid, vout)) or ix.mem_spender.get((txid, vout))
                if by is None:
                    out.append({"spent": False})
                    continue
                vin = next(
                    k
                    for k, i in enumerate(ix.txs[by].tx.vin)
                    if i.txid.hex() == txid and i.vout == vout
                )
                out.append({"spent": True, "txid": by, "vin": vin, "status": ix.status(by)})
            return 200, out
        return 404, "Not Found"


def main() -> None:
    """Serve in a process of its own: ``python -m harness.esplora [PORT [DELAY]]``.

    Run from ``tests/``. ``GET /__requests`` returns the paths asked since the last time and
    clears them.
    """
    import sys

    server = EsploraServer()
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server.faults.delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    server.serve(port)
    print(server.url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
