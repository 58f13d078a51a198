"""An Electrum server (ElectrumX, Fulcrum, electrs) as a chain source — verified, not trusted.

Fetching and verifying are kept apart: this module fetches, :mod:`utxo_truth.verify` checks.
A look-up is a handful of round trips whatever the number of scripts, because requests are sent
as JSON-RPC batches, all batches of a round written before any answer is read (pipelining), over
one connection:

1. the tip (``blockchain.headers.subscribe``) and every script's history (``get_history``);
2. for scripts with history: ``listunspent`` and ``get_balance``; every transaction of those
   histories (``transaction.get``); the headers missing from the verified chain
   (``block.headers``, 2016 a request);
3. merkle proofs (``transaction.get_merkle``) of the transactions holding coins, and the tip again
   (the tip is also re-read at the end of round 2, so a look-up with nothing to prove stops there).

Then, without trusting the server's listings:

* the header chain from the checkpoint (genesis by default) to the tip must link up and meet
  proof of work; the tip the scan is pinned to must be on it;
* each transaction must hash to its txid; a coin's value and script are read from its
  transaction, never from ``listunspent``;
* the coins are *derived from the histories* (outputs to the script not spent by a transaction in
  the script's history), then compared with ``listunspent`` and ``get_balance``: a coin the server
  lists but its history does not explain is kept as ``unverified`` with the reason; a coin the
  history proves but ``listunspent`` omits is kept and the omission is reported (Fulcrum, for an
  address over its history limit, silently lists only mempool coins);
* a confirmed coin counts as ``spv`` only when its merkle branch reaches the merkle root of the
  verified header at its height.

Mempool: receipts are reported as ``pending``; a confirmed coin spent by an unconfirmed
transaction stays a UTXO at the block, with ``spent_by`` set.

What this cannot prove: that a coin is *unspent* (a server can hide the spending transaction);
asking several independent servers is the remedy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._checkpoints import drop_genesis_outputs, header_time, tip_problems  # issue 13 hook
from .._exceptions import (
    HistoryTooLargeError,
    ServerBusyError,
    ServerRefusedError,
    SourceProtocolError,
    SourceSpecError,
    VerificationError,
)
from .._models import BlockRef
from .._network import Network, parse_network
from .._script import NULL_TXID, address_of
from ..verify import GENESIS, HeaderChain, check_header_chain, header_hash
from ._base import Coin, Lookup
from ._errors import reports_as_source
from ._jsonrpc import PROTOCOL_MAX, PROTOCOL_MIN, Connection, Reply, error_text
from ._spv import Restart, hex32, is_int, merkle_problem, pinned

__all__ = ["ElectrumSource", "scripthash"]

CHUNK = 2016


def scripthash(script: bytes) -> str:
    """Electrum's script hash: sha256 of the scriptPubKey, byte-reversed, hex."""
    return hashlib.sha256(script).digest()[::-1].hex()


_BUSY_CODES = frozenset({-101, -102})
"""aiorpcx's EXCESSIVE_RESOURCE_USAGE and SERVER_BUSY (what ElectrumX and Fulcrum send)."""
_TOO_LARGE_CODES = frozenset({10_001})
"""ElectrumX's RPC_ERROR_HISTORY_TOO_LONG (1.18 and later)."""
_TOO_LARGE = re.compile(r"\b(history too large|response too large|too large|too many)\b")
"""Servers without a code of their own for it (older ElectrumX: code 1, Fulcrum, electrs)."""
_BUSY = re.compile(r"\b(excessive resource usage|server busy|busy|rate[- ]limit(ed|ing)?)\b")
"""Whole words only: "rate" alone would match "generate" and "separate"."""


def _refusal(error: Any, what: str) -> ServerRefusedError:
    """The typed error for an Electrum error reply: from its code first, its words second."""
    text = error_text(error)
    code = error.get("code") if isinstance(error, dict) else None
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    low = message.lower()
    if code in _TOO_LARGE_CODES or (code not in _BUSY_CODES and _TOO_LARGE.search(low)):
        return HistoryTooLargeError(
            f"{what}: the server refuses: {text}. Use a server with a higher history limit, or "
            "your own node",
            code=code,
        )
    if code in _BUSY_CODES or _BUSY.search(low):
        return ServerBusyError(
            f"{what}: the server is rate-limiting this client: {text}. "
            "Wait and retry, or use another server",
            code=code,
        )
    return ServerRefusedError(f"{what}: the server answered an error: {text}", code=code)


class ElectrumSource:
    """An Electrum server as a chain source, with SPV verification of every coin.

    Args:
        host, port: the server. Nothing is ever sent but script hashes, txids and heights.
        network: the network the server must serve.
        tls: TLS (default) with the certificate checked against the system's CAs, or pinned by
            ``fingerprint`` (SHA-256 of the DER certificate, hex) for a self-signed one.
        timeout: seconds any single answer may take.
        batch_size: requests per JSON-RPC batch (all batches of a round are pipelined).
        proxy: ``(host, port)`` of a SOCKS5 proxy (Tor: ``("127.0.0.1", 9050)``).
        checkpoint: ``(height, hash)`` the header chain is anchored to; genesis by default.
        verify: False skips merkle proofs and header checks (coins are then ``unverified``).
        connection: the transport to use instead of a socket to ``host:port`` (anything shaped
            like :class:`~utxo_truth.sources._jsonrpc.Connection`: ``call``, ``close``,
            ``where``, ``round_trips``); then ``tls``, ``fingerprint``, ``ca_file``,
            ``timeout``, ``proxy`` and ``client_name`` are unused.

    Example:
        >>> src = ElectrumSource("127.0.0.1", 50001, network="regtest", tls=False)  # doctest: +SKIP
    """

    has_history = True

    def __init__(
        self,
        host: str,
        port: int,
        *,
        network: Network | str,
        tls: bool = True,
        fingerprint: str | None = None,
        ca_file: str | None = None,
        timeout: float = 30.0,
        batch_size: int = 200,
        proxy: tuple[str, int] | None = None,
        checkpoint: tuple[int, str] | None = None,
        verify: bool = True,
        client_name: str = "utxo_truth",
        connection: Connection | None = None,
    ) -> None:
        self._network = parse_network(network)
        if not 1 <= batch_size <= 10_000:
            raise SourceSpecError("batch_size must be between 1 and 10,000")
        self.batch_size = batch_size
        self.verify = verify
        self.checkpoint = checkpoint or (0, GENESIS[self._network])
        self.conn = connection or Connection(
            host,
            port,
            tls=tls,
            fingerprint=fingerprint,
            ca_file=ca_file,
            timeout=timeout,
            proxy=proxy,
            name=client_name,
            protocol=(PROTOCOL_MIN, PROTOCOL_MAX),  # read here, so that tests can narrow them
        )
        self._headers: dict[int, bytes] = {}

    @classmethod
    def from_url(cls, url: str, network: Network | str, **kwargs: Any) -> ElectrumSource:
        """``electrum://host:port`` (plain TCP) or ``electrums://host:port[?fingerprint=HEX]``."""
        parts = urlsplit(url)
        if parts.scheme not in ("electrum", "electrums") or not parts.hostname or not parts.port:
            raise SourceSpecError(
                "an Electrum source is electrum://HOST:PORT (plain TCP) or electrums://HOST:PORT "
                "(TLS, optionally ?fingerprint=SHA256-HEX)"
            )
        query = parse_qs(parts.query)
        fingerprint = query.get("fingerprint", [None])[0]
        proxy = None
        if "proxy" in query:
            p = urlsplit(query["proxy"][0])
            if p.scheme != "socks5" or not p.hostname or not p.port:
                raise SourceSpecError("proxy must be socks5://HOST:PORT")
            proxy = (p.hostname, p.port)
        return cls(
            parts.hostname,
            parts.port,
            network=network,
            tls=parts.scheme == "electrums",
            fingerprint=fingerprint,
            proxy=proxy,
            **kwargs,
        )

    @property
    def network(self) -> Network:
        """The network the server is asked about."""
        return self._network

    @property
    def round_trips(self) -> int:
        """Round trips made so far (one per pipelined group of batches)."""
        return self.conn.round_trips

    def describe(self) -> str:
        """``electrum://host:port`` or ``electrums://host:port``."""
        return self.conn.where

    def close(self) -> None:
        """Close the connection (a later look-up reconnects)."""
        self.conn.close()

    # -------------------------------------------------------------------------------------------
    @reports_as_source
    def lookup(self, scripts: Collection[bytes]) -> Lookup:
        """History, coins and mempool state of ``scripts`` at the server's tip, verified."""
        scripts = list(dict.fromkeys(scripts))
        return pinned(lambda: self._lookup_once(scripts), self.describe())

    def _tip(self, reply: Reply) -> tuple[int, bytes]:
        if reply.error is not None:
            raise _refusal(reply.error, f"{self.describe()} headers.subscribe")
        r = reply.result
        if not (isinstance(r, dict) and is_int(r.get("height")) and isinstance(r.get("hex"), str)):
            raise SourceProtocolError(f"{self.describe()} sent a malformed tip: {str(r)[:80]}")
        try:
            header = bytes.fromhex(r["hex"])
        except ValueError:
            raise SourceProtocolError(
                f"{self.describe()} sent a tip header that is not hex"
            ) from None
        if len(header) != 80 or r["height"] < 0:
            raise SourceProtocolError(f"{self.describe()} sent a malformed tip header")
        return r["height"], header

    def _lookup_once(self, scripts: list[bytes]) -> tuple[Lookup, str]:
        where = self.describe()
        hashes = [scripthash(s) for s in scripts]
        # round 1: tip and histories
        calls: list[tuple[str, list[Any]]] = [("blockchain.headers.subscribe", [])]
        calls += [("blockchain.scripthash.get_history", [h]) for h in hashes]
        replies = self.conn.call(calls, self.batch_size)
        tip_height, tip_header = self._tip(replies[0])
        block = BlockRef(height=tip_height, hash=header_hash(tip_header))
        histories: dict[bytes, list[tuple[str, int]]] = {}
        for s, r in zip(scripts, replies[1:], strict=True):
            if r.error is not None:
                raise _refusal(r.error, f"{where} history of {self._name(s)}")
            histories[s] = self._parse_history(r.result, s)
        used = [s for s in scripts if histories[s]]
        txids = sorted({t for s in used for t, _h in histories[s]})

        # round 2: listings, balances, transactions, headers
        calls = []
        for s in used:
            calls.append(("blockchain.scripthash.listunspent", [scripthash(s)]))
            calls.append(("blockchain.scripthash.get_balance", [scripthash(s)]))
        calls += [("blockchain.transaction.get", [t]) for t in txids]
        header_calls = self._header_calls(tip_height, histories) if self.verify else []
        calls += header_calls
        # the tip again: enough when no proof is needed, and it spares ElectrumX's wait on a
        # small reply in a round of its own
        calls.append(("blockchain.headers.subscribe", []))
        replies = self.conn.call(calls, self.batch_size)
        _height_after, after_header = self._tip(replies.pop())
        listings = replies[: 2 * len(used) : 2]
        balances = replies[1 : 2 * len(used) : 2]
        tx_replies = replies[2 * len(used) : 2 * len(used) + len(txids)]
        problems: list[str] = []
        # issue 13 hook: a stale or eclipsed tip is said (see _checkpoints.tip_problems)
        problems += tip_problems(self._network, tip_height, header_time(tip_header))
        txs = self._parse_txs(txids, tx_replies, problems)
        chain = (
            self._verify_headers(
                header_calls, replies[2 * len(used) + len(txids) :], tip_height, tip_header
            )
            if self.verify
            else None
        )

        coins: dict[bytes, list[Coin]] = {}
        pending: dict[bytes, list[Coin]] = {}
        need_proof: dict[tuple[str, int], list[tuple[bytes, int]]] = {}
        for s, listing, balance in zip(used, listings, balances, strict=True):
            self._coins_of_script(s, histories[s], txs, listing, balance, coins, pending, problems)
        for s, cs in coins.items():
            for k, c in enumerate(cs):
                if c.height is not None and c.problem is None:
                    need_proof.setdefault((c.txid, c.height), []).append((s, k))

        # round 3 (only when there is something to prove): merkle proofs and the tip again
        proof_keys = list(need_proof) if self.verify else []
        replies = []
        if proof_keys:
            calls = [("blockchain.transaction.get_merkle", [t, h]) for t, h in proof_keys]
            calls.append(("blockchain.headers.subscribe", []))
            replies = self.conn.call(calls, self.batch_size)
            _height_after, after_header = self._tip(replies.pop())
        tip_after = header_hash(after_header)
        for (txid, height), reply in zip(proof_keys, replies, strict=True):
            problem = self._check_proof(txid, height, reply, chain)
            for s, k in need_proof[(txid, height)]:
                c = coins[s][k]
                coins[s][k] = replace(
                    c,
                    verification="spv" if problem is None else "unverified",
                    problem=problem,
                    assurance="chain" if problem is None else None,  # issue 13 hook
                )
        for cs in coins.values():
            for c in cs:
                if c.problem:
                    problems.append(f"{c.txid}:{c.vout} ({self._name(c.script)}): {c.problem}")
        coins = drop_genesis_outputs(coins, problems)  # issue 13 hook: not in the UTXO set
        lookup = Lookup(
            block=block,
            coins={s: tuple(v) for s, v in coins.items() if v},
            used=frozenset(used),
            pending={s: tuple(v) for s, v in pending.items() if v},
            problems=tuple(dict.fromkeys(problems)),
        )
        return lookup, tip_after

    @reports_as_source
    def block_status(self, block: BlockRef) -> str:
        """Say whether ``block`` (e.g. an earlier scan's) is still the server's tip.

        Returns ``"tip"``; ``"behind"`` (still on the best chain, which has grown); or
        ``"stale"`` (no longer on the best chain: reorganised away — scan again).
        """
        replies = self.conn.call(
            [("blockchain.headers.subscribe", []), ("blockchain.block.header", [block.height])],
            self.batch_size,
        )
        height, header = self._tip(replies[0])
        if header_hash(header) == block.hash:
            return "tip"
        r = replies[1]
        if r.error is not None:
            if height < block.height:
                return "stale"  # the chain is now shorter than the block's height
            raise _refusal(r.error, f"{self.describe()} block.header {block.height}")
        if not isinstance(r.result, str):
            raise SourceProtocolError(f"{self.describe()} sent a malformed header")
        return "behind" if header_hash(bytes.fromhex(r.result)) == block.hash else "stale"

    # --- parsing and checking --------------------------------------------------------------
    def _name(self, script: bytes) -> str:
        return address_of(script, self._network) or f"script {script.hex()[:24]}..."

    def _parse_history(self, result: Any, script: bytes) -> list[tuple[str, int]]:
        if not isinstance(result, list):
            raise SourceProtocolError(
                f"{self.describe()} sent a malformed history for {self._name(script)}"
            )
        out = []
        for item in result:
            if not (isinstance(item, dict) and is_int(item.get("height")) and item["height"] >= -1):
                raise SourceProtocolError(
                    f"{self.describe()} sent a malformed history item: {str(item)[:80]}"
                )
            out.append((hex32(item.get("tx_hash"), "tx_hash"), item["height"]))
        return out

    def _parse_txs(
        self, txids: list[str], replies: list[Reply], problems: list[str]
    ) -> dict[str, Any]:
        from embit.transaction import Transaction

        txs: dict[str, Any] = {}
        for txid, r in zip(txids, replies, strict=True):
            if r.error is not None or not isinstance(r.result, str):
                problems.append(
                    f"transaction {txid}: the server would not send it ({error_text(r.error)})"
                )
                continue
            try:
                tx = Transaction.parse(bytes.fromhex(r.result))
            except Exception:
                problems.append(
                    f"transaction {txid}: the server sent bytes that are not a transaction"
                )
                continue
            if tx.txid().hex() != txid:
                problems.append(
                    f"transaction {txid}: the server sent a transaction with another txid"
                )
                continue
            txs[txid] = tx
        return txs

    def _header_calls(
        self, tip: int, histories: dict[bytes, list[tuple[str, int]]]
    ) -> list[tuple[str, list[Any]]]:
        low = self.checkpoint[0]
        heights = [h for hist in histories.values() for _t, h in hist if h > 0]
        if heights:
            low = min(low, min(heights))
        # headers already verified and still on the chain are kept; refetch from the first gap
        start = low
        while start in self._headers and start < tip:
            start += 1
        if start > low:
            start = max(low, start - 1)  # re-read the last known header: it proves the link
        return [
            ("blockchain.block.headers", [h, min(CHUNK, tip - h + 1)])
            for h in range(start, tip + 1, CHUNK)
        ]

    def _verify_headers(
        self, calls: list[tuple[str, list[Any]]], replies: list[Reply], tip: int, tip_header: bytes
    ) -> HeaderChain:
        for (_m, (start, count)), r in zip(calls, replies, strict=True):
            if r.error is not None:
                raise _refusal(r.error, f"{self.describe()} block.headers")
            res = r.result
            if not isinstance(res, dict):
                raise SourceProtocolError(f"{self.describe()} sent malformed headers")
            if isinstance(res.get("headers"), list):
                raw = [bytes.fromhex(h) for h in res["headers"] if isinstance(h, str)]
            elif isinstance(res.get("hex"), str):
                blob = bytes.fromhex(res["hex"])
                raw = [blob[i : i + 80] for i in range(0, len(blob), 80)]
            else:
                raise SourceProtocolError(
                    f"{self.describe()} sent headers without 'hex' or 'headers'"
                )
            if len(raw) != count or any(len(h) != 80 for h in raw):
                raise SourceProtocolError(
                    f"{self.describe()} sent {len(raw)} headers where {count} were asked"
                )
            for k, h in enumerate(raw):
                if self._headers.get(start + k, h) != h:
                    self._headers = {}  # the chain changed under us (a reorg): start over
                    raise Restart
            for k, h in enumerate(raw):
                self._headers[start + k] = h
        low = min(self._headers) if self._headers else 0
        headers = [self._headers[h] for h in range(low, tip + 1) if h in self._headers]
        if len(headers) != tip - low + 1:
            self._headers = {}
            raise Restart
        try:
            chain = check_header_chain(headers, low, self._network, anchor=self.checkpoint)
        except VerificationError as exc:
            self._headers = {}
            raise VerificationError(
                f"{self.describe()}: {exc}. The server is wrong or lying: use another server"
            ) from None
        if chain.header(tip) != tip_header:
            self._headers = {}
            raise VerificationError(
                f"{self.describe()}: the tip it announced is not on its own header chain"
            )
        return chain

    def _check_proof(
        self, txid: str, height: int, reply: Reply, chain: HeaderChain | None
    ) -> str | None:
        if chain is None:
            return "not verified (verification is off)"
        if reply.error is not None:
            return f"no merkle proof: {error_text(reply.error)}"
        r = reply.result
        if not isinstance(r, dict):
            return "malformed merkle proof"
        return merkle_problem(txid, height, r.get("merkle"), r.get("pos"), chain)

    def _coins_of_script(
        self,
        script: bytes,
        history: list[tuple[str, int]],
        txs: dict[str, Any],
        listing: Reply,
        balance: Reply,
        coins: dict[bytes, list[Coin]],
        pending: dict[bytes, list[Coin]],
        problems: list[str],
    ) -> None:
        """The coins of ``script``, derived from its history, then compared with the listing.

        Outputs to the script not spent by a transaction of its history are its coins; a coin
        ``listunspent`` shows but the history does not explain is kept ``unverified`` with the
        reason, one the history proves but the listing omits is kept and the omission reported,
        and the total is compared with ``get_balance``. (Formerly ``_reconcile_script``: the
        word "reconcile" belongs to portfolios.)
        """
        name = self._name(script)
        if listing.error is not None:
            raise _refusal(listing.error, f"{self.describe()} listunspent of {name}")
        listed = self._parse_listing(listing.result, name)
        heights = dict(history)
        missing = [t for t, _h in history if t not in txs]
        # coins implied by the history: outputs to the script, less what the history spends
        outputs: dict[tuple[str, int], tuple[int, int, bool]] = {}
        spent_conf: set[tuple[str, int]] = set()
        spent_mem: dict[tuple[str, int], str] = {}
        for txid, height in history:
            tx = txs.get(txid)
            if tx is None:
                continue
            coinbase = len(tx.vin) == 1 and bytes(tx.vin[0].txid) == NULL_TXID
            for vout, out in enumerate(tx.vout):
                if bytes(out.script_pubkey.data) == script:
                    outputs[(txid, vout)] = (int(out.value), height, coinbase)
            for vin in tx.vin:
                op = (bytes(vin.txid).hex(), int(vin.vout))
                if height > 0:
                    spent_conf.add(op)
                else:
                    spent_mem[op] = txid
        mine_conf: list[Coin] = []
        mine_pend: list[Coin] = []
        for (txid, vout), (value, height, coinbase) in sorted(outputs.items()):
            if (txid, vout) in spent_conf:
                continue
            if height > 0:
                mine_conf.append(
                    Coin(
                        txid,
                        vout,
                        value,
                        script,
                        height,
                        coinbase,
                        spent_by=spent_mem.get((txid, vout)),
                    )
                )
            elif (txid, vout) not in spent_mem:
                mine_pend.append(Coin(txid, vout, value, script, None, coinbase))
        # compare with what the server lists
        implied = {(c.txid, c.vout): c for c in mine_conf if c.spent_by is None}
        implied.update({(c.txid, c.vout): c for c in mine_pend})
        for key, (value, height) in listed.items():
            c = implied.get(key)
            if c is None:
                if missing:
                    continue  # cannot tell without the transactions the server would not send
                if height > 0:
                    mine_conf.append(
                        Coin(
                            key[0],
                            key[1],
                            value,
                            script,
                            height,
                            False,
                            problem="listed by the server but not explained by its own history",
                        )
                    )
                else:
                    problems.append(
                        f"{key[0]}:{key[1]} ({name}): unconfirmed coin listed but not in "
                        "the history"
                    )
                continue
            if value != c.value:
                problems.append(
                    f"{key[0]}:{key[1]} ({name}): the server listed {value} sats, "
                    f"the transaction says {c.value}"
                )
            if (c.height or 0) != max(height, 0):
                problems.append(
                    f"{key[0]}:{key[1]} ({name}): the server listed height {height}, "
                    f"its history says {heights.get(key[0])}"
                )
        for key, c in implied.items():
            if key not in listed:
                problems.append(
                    f"{c.txid}:{c.vout} ({name}): proven by the history but omitted by "
                    "listunspent (incomplete answer)"
                )
        if missing:
            problems.append(
                f"{name}: {len(missing)} transaction(s) of its history could not be checked"
            )
        if balance.error is None and isinstance(balance.result, dict):
            confirmed = balance.result.get("confirmed")
            expected = sum(c.value for c in mine_conf if c.problem is None)
            if is_int(confirmed) and confirmed != expected and not missing:
                problems.append(
                    f"{name}: get_balance says {confirmed} sats confirmed, "
                    f"the history implies {expected}"
                )
        coins[script] = mine_conf
        pending[script] = mine_pend

    def _parse_listing(self, result: Any, name: str) -> dict[tuple[str, int], tuple[int, int]]:
        if not isinstance(result, list):
            raise SourceProtocolError(f"{self.describe()} sent a malformed listunspent for {name}")
        out = {}
        for item in result:
            ok = (
                isinstance(item, dict)
                and is_int(item.get("tx_pos"))
                and item["tx_pos"] >= 0
                and is_int(item.get("value"))
                and item["value"] >= 0
                and is_int(item.get("height"))
                and item["height"] >= -1
            )
            if not ok:
                raise SourceProtocolError(
                    f"{self.describe()} sent a malformed unspent output: {str(item)[:80]}"
                )
            out[(hex32(item.get("tx_hash"), "tx_hash"), item["tx_pos"])] = (
                item["value"],
                item["height"],
            )
        return out
