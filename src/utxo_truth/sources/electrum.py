"""An Electrum server (ElectrumX, Fulcrum, electrs) as a chain source — verified, not trusted.

Fetching and verifying are kept apart: this module fetches, :mod:`utxo_truth.verify` checks.
A look-up is a handful of round trips whatever the number of scripts, because requests are sent
as JSON-RPC batches, all batches of a round written before any answer is read (pipelining), over
one connection — a round is split into windows only as far as the server's cost limits call
for (:mod:`~utxo_truth.sources._pacing`; a public ElectrumX refuses a queue it cannot answer in
30 s):

1. the tip (``blockchain.headers.subscribe``), the server's network (``server.features``) and
   every script's history (``get_history``);
2. for scripts with history: ``listunspent`` and ``get_balance``; every transaction of those
   histories (``transaction.get``); the headers of the chain to the tip not held in memory or
   in the header store (``block.headers``, 2016 a request; :class:`._spv.HeaderCache` says
   which);
3. merkle proofs (``transaction.get_merkle``) of the transactions holding coins, the 2016-header
   chunk of each epoch below the last embedded checkpoint that holds a coin and is not stored
   (chunk assurance), and the tip again (the tip is also re-read at the end of round 2, so a
   look-up with nothing to prove stops there);
4. on signet only: the coinbase and its branch of each block a coin is proven into, and of the
   tip, for the block signature (BIP-325, :mod:`~utxo_truth.sources._signet_check`).

Then, without trusting the server's listings:

* the header chain to the tip (from the last embedded checkpoint on a network that has them,
  else genesis, or the ``checkpoint`` given) must link up and meet proof of work and its
  network's difficulty rules; the tip the scan is pinned to must be on it; a coin below the last
  checkpoint is proven by its epoch's chunk instead (``Coin.assurance == "chunk"``); a tip at
  the last checkpoint is its announced header, whose hash must be the checkpoint's;
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
from .._script import address_of
from ..verify import GENESIS, HeaderChain, TxOutputs, header_hash, tx_outputs
from ._base import Closing, Coin, Lookup
from ._electrum_api import (
    parse_balance,
    parse_features,
    parse_header,
    parse_headers_chunk,
    parse_history,
    parse_listunspent,
    parse_tip,
)
from ._errors import reports_as_source
from ._history import Derived, HistoryTx, Listed, coins_from_history, compare_listing, compare_total
from ._jsonrpc import PROTOCOL_MAX, PROTOCOL_MIN, Connection, Reply, error_text
from ._pacing import Pacer, paced_call
from ._proxy import electrum_proxy, parse_proxy
from ._signet_check import electrum_coinbases, parse_challenge, signet_checked
from ._spv import CacheDir, HeaderCache, Restart, pinned, proof_problem

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


class ElectrumSource(Closing):
    """An Electrum server as a chain source, with SPV verification of every coin.

    Args:
        host, port: the server. Nothing is ever sent but script hashes, txids and heights.
        network: the network the server must serve.
        tls: TLS (default) with the certificate checked against the system's CAs, or pinned by
            ``fingerprint`` (SHA-256 of the DER certificate, hex) for a self-signed one.
        timeout: seconds any single answer may take.
        batch_size: requests per JSON-RPC batch (the batches of a window are pipelined; the
            windows are sized by :mod:`~utxo_truth.sources._pacing`).
        proxy: ``(host, port)`` of a SOCKS5 proxy (Tor: ``("127.0.0.1", 9050)``).
        checkpoint: ``(height, hash)`` the header chain is anchored to; genesis by default.
        verify: False skips merkle proofs and header checks (coins are then ``unverified``).
        connection: the transport to use instead of a socket to ``host:port`` (anything shaped
            like :class:`~utxo_truth.sources._jsonrpc.Connection`: ``call``, ``close``,
            ``where``, ``round_trips``); then ``tls``, ``fingerprint``, ``ca_file``,
            ``timeout``, ``proxy`` and ``client_name`` are unused.
        cache_dir: where verified headers are kept across runs (the header store, shared with
            the Esplora source): None for the user's cache directory (``platformdirs``), a
            path, or False for none. What is read from it is verified again; a second scan asks
            the server for no header the store holds.
        max_wait: seconds a server may go on refusing requests ("server busy", "excessive
            resource usage") before the look-up ends in ``ServerBusyError``; requests are paced
            by the server's cost model (:mod:`~utxo_truth.sources._pacing`) so that a public
            ElectrumX with its default limits does not refuse them, and a refused request is
            asked again, alone, where it stopped.
        signet_challenge: on signet, the challenge script (bytes or hex) each block a coin is
            proven into, and the tip, must satisfy (BIP-325); the default signet's by default.

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
        cache_dir: CacheDir = None,
        max_wait: float = 120.0,  # seconds
        signet_challenge: bytes | str | None = None,
    ) -> None:
        self._network = parse_network(network)
        if not 1 <= batch_size <= 10_000:
            raise SourceSpecError("batch_size must be between 1 and 10,000")
        if max_wait < 0:
            raise SourceSpecError("max_wait must be >= 0 seconds")
        self._pacer = Pacer(max_wait=max_wait, first_window=max(batch_size, 1_000))
        self.signet_challenge = parse_challenge(self._network, signet_challenge)
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
        self.checkpoint_given = checkpoint
        self._cache_dir = cache_dir
        self._cache: HeaderCache | None = None

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
        proxy = kwargs.pop("proxy", None)  # open_source(proxy=...) passes it here
        if "proxy" in query:  # the same reading as --proxy / open_source(proxy=)
            proxy = electrum_proxy(parse_proxy(query["proxy"][0]))
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

    def _call(self, calls: list[tuple[str, list[Any]]]) -> list[Reply]:
        """Every request goes out here: paced by the server's cost model, refusals asked again."""
        return paced_call(
            self.conn,
            calls,
            self.batch_size,
            self._pacer,
            lambda: int(getattr(self.conn, "connects", 0)),
        )

    # -------------------------------------------------------------------------------------------
    @reports_as_source
    def lookup(self, scripts: Collection[bytes]) -> Lookup:
        """History, coins and mempool state of ``scripts`` at the server's tip, verified."""
        scripts = list(dict.fromkeys(scripts))
        return pinned(lambda: self._lookup_once(scripts), self.describe())

    def _tip(self, reply: Reply) -> tuple[int, bytes]:
        if reply.error is not None:
            raise _refusal(reply.error, f"{self.describe()} headers.subscribe")
        tip = parse_tip(reply.result, f"{self.describe()} sent a malformed tip")
        return tip.height, tip.header

    def _lookup_once(self, scripts: list[bytes]) -> tuple[Lookup, str]:
        where = self.describe()
        hashes = [scripthash(s) for s in scripts]
        # round 1: tip, the server's network, and histories
        calls: list[tuple[str, list[Any]]] = [("blockchain.headers.subscribe", [])]
        calls.append(("server.features", []))
        calls += [("blockchain.scripthash.get_history", [h]) for h in hashes]
        replies = self._call(calls)
        tip_height, tip_header = self._tip(replies[0])
        self._check_network(replies.pop(1))
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
        cache = self.headers
        cache.begin()
        lowest = min((h for hist in histories.values() for _t, h in hist if h > 0), default=None)
        low, kind = cache.plan(tip_height, lowest)
        if kind == "top" and self.verify:
            cache.add({tip_height: tip_header})  # the tip is the checkpoint: its header is all
        header_calls = self._header_calls(cache.missing(low, tip_height)) if self.verify else []
        calls += header_calls
        # the tip again: enough when no proof is needed, and it spares ElectrumX's wait on a
        # small reply in a round of its own
        calls.append(("blockchain.headers.subscribe", []))
        replies = self._call(calls)
        _height_after, after_header = self._tip(replies.pop())
        listings = replies[: 2 * len(used) : 2]
        balances = replies[1 : 2 * len(used) : 2]
        tx_replies = replies[2 * len(used) : 2 * len(used) + len(txids)]
        problems: list[str] = []
        # issue 13 hook: a stale or eclipsed tip is said (see _checkpoints.tip_problems)
        problems += tip_problems(self._network, tip_height, header_time(tip_header))
        txs = self._parse_txs(txids, tx_replies, problems)
        chain = None
        if self.verify:
            self._take_headers(header_calls, replies[2 * len(used) + len(txids) :])
            chain = cache.chain(block, low, kind, self._hash_at, tip_header)

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
        # a coin below the last embedded checkpoint: its epoch's chunk, not the chain to it
        proof_keys = list(need_proof) if self.verify else []
        epochs = sorted(
            {
                e
                for _t, h in proof_keys
                if (e := cache.chunk_epoch(h, tip_height)) is not None and cache.chunk(e) is None
            }
        )
        replies = []
        if proof_keys:
            calls = [("blockchain.transaction.get_merkle", [t, h]) for t, h in proof_keys]
            calls += [("blockchain.block.headers", [e * CHUNK, CHUNK]) for e in epochs]
            calls.append(("blockchain.headers.subscribe", []))
            replies = self._call(calls)
            _height_after, after_header = self._tip(replies.pop())
            for e, r in zip(epochs, replies[len(proof_keys) :], strict=True):
                cache.put_chunk(e, self._headers_of(r, e * CHUNK, CHUNK))
        tip_after = header_hash(after_header)
        # the merkle replies only (the chunks' replies follow them)
        for (txid, height), reply in zip(proof_keys, replies[: len(proof_keys)], strict=True):
            epoch = cache.chunk_epoch(height, tip_height)
            proving, assurance = (
                (cache.chunk(epoch), "chunk") if epoch is not None else (chain, "chain")
            )
            problem = self._check_proof(txid, height, reply, proving)
            for s, k in need_proof[(txid, height)]:
                c = coins[s][k]
                coins[s][k] = replace(
                    c,
                    verification="spv" if problem is None else "unverified",
                    problem=problem,
                    assurance=assurance if problem is None else None,
                )
        if self.verify:  # issue 13: on signet, the blocks proven into (and the tip) are signed
            signed = signet_checked(
                self._network,
                self.signet_challenge,
                coins,
                tip_height,
                lambda h: _proven_header(h, chain, cache, tip_height),
                electrum_coinbases(self._call),
                problems,
            )
            coins = {s: list(cs) for s, cs in signed.items()}
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

        Returns ``"tip"``; ``"behind"`` (still on the best chain, which has grown);
        ``"stale"`` (no longer on the best chain: reorganised away — scan again); or
        ``"stale-server"``: the server's own tip is far behind the local clock or below the
        last embedded checkpoint (:func:`~utxo_truth._checkpoints.tip_problems`), so its word
        on ``block`` is that of a stale or eclipsed server: ask another.
        """
        replies = self._call(
            [("blockchain.headers.subscribe", []), ("blockchain.block.header", [block.height])]
        )
        height, header = self._tip(replies[0])
        stale_server = bool(tip_problems(self._network, height, header_time(header)))
        if header_hash(header) == block.hash:
            return "stale-server" if stale_server else "tip"
        r = replies[1]
        if r.error is not None:
            if height < block.height:
                return "stale"  # the chain is now shorter than the block's height
            raise _refusal(r.error, f"{self.describe()} block.header {block.height}")
        got = parse_header(r.result, f"{self.describe()} sent a malformed header")
        if header_hash(got) != block.hash:
            return "stale"
        return "stale-server" if stale_server else "behind"

    # --- parsing and checking --------------------------------------------------------------
    def _check_network(self, reply: Reply) -> None:
        """A server whose ``server.features`` names another genesis block is the wrong server.

        (A server that does not answer it, or not in shape, is checked by its headers alone.)
        """
        if reply.error is not None:
            return
        try:
            genesis = parse_features(
                reply.result, f"{self.describe()} sent bad features"
            ).genesis_hash
        except SourceProtocolError:
            # only the genesis hash matters here: read it alone when another field is missing
            said = reply.result.get("genesis_hash") if isinstance(reply.result, dict) else None
            if not (isinstance(said, str) and len(said) == 64):
                return  # advisory: the header chain from genesis or a checkpoint is the check
            genesis = said.lower()
        if genesis == GENESIS[self._network]:
            return
        other = next((n.value for n, g in GENESIS.items() if g == genesis), None)
        raise SourceSpecError(
            f"{self.describe()} serves {other or 'another network'} (genesis "
            f"{genesis[:16]}...), not {self._network.value}: point at a "
            f"{self._network.value} server or give the network it serves"
        )

    def _name(self, script: bytes) -> str:
        return address_of(script, self._network) or f"script {script.hex()[:24]}..."

    def _parse_history(self, result: Any, script: bytes) -> list[tuple[str, int]]:
        items = parse_history(
            result, f"{self.describe()} sent a malformed history for {self._name(script)}"
        )
        return [(item.tx_hash, item.height) for item in items]

    def _parse_txs(
        self, txids: list[str], replies: list[Reply], problems: list[str]
    ) -> dict[str, TxOutputs]:
        """The transactions sent that hash to their txids (one parser: ``verify.tx_outputs``)."""
        txs: dict[str, TxOutputs] = {}
        for txid, r in zip(txids, replies, strict=True):
            if r.error is not None or not isinstance(r.result, str):
                problems.append(
                    f"transaction {txid}: the server would not send it ({error_text(r.error)})"
                )
                continue
            try:
                txs[txid] = tx_outputs(bytes.fromhex(r.result), txid)
            except ValueError:
                problems.append(f"transaction {txid}: the server sent bytes that are not hex")
            except VerificationError as exc:
                problems.append(f"transaction {txid}: {exc}")
        return txs

    @property
    def headers(self) -> HeaderCache:
        """The verified headers held, with the header store behind them (:mod:`._spv`)."""
        if self._cache is None:
            self._cache = HeaderCache(
                self._network,
                checkpoint=self.checkpoint_given,
                cache_dir=self._cache_dir,
                where=self.describe(),
            )
        return self._cache

    @staticmethod
    def _header_calls(missing: list[int]) -> list[tuple[str, list[Any]]]:
        """``block.headers`` requests (2016 a request) for the heights not held."""
        calls: list[tuple[str, list[Any]]] = []
        for h in missing:
            if calls and calls[-1][1][0] + calls[-1][1][1] == h and calls[-1][1][1] < CHUNK:
                calls[-1][1][1] += 1
            else:
                calls.append(("blockchain.block.headers", [h, 1]))
        return calls

    def _headers_of(self, r: Reply, start: int, count: int) -> list[bytes]:
        """The ``count`` 80-byte headers of a ``block.headers`` reply, or a typed error."""
        if r.error is not None:
            raise _refusal(r.error, f"{self.describe()} block.headers")
        raw = list(parse_headers_chunk(r.result, f"{self.describe()} sent headers").headers)
        if len(raw) != count:
            if len(raw) < count:
                raise Restart  # fewer than asked: the chain got shorter under us
            raise SourceProtocolError(
                f"{self.describe()} sent {len(raw)} headers where {count} were asked"
            )
        return raw

    def _take_headers(self, calls: list[tuple[str, list[Any]]], replies: list[Reply]) -> None:
        for (_m, (start, count)), r in zip(calls, replies, strict=True):
            raw = self._headers_of(r, start, count)
            self.headers.add({start + k: h for k, h in enumerate(raw)})

    def _hash_at(self, height: int) -> str | None:
        """The server's block hash at ``height`` (None above its tip): finds a fork point."""
        (r,) = self._call([("blockchain.block.header", [height])])
        if r.error is not None or not isinstance(r.result, str):
            return None
        try:
            return header_hash(bytes.fromhex(r.result))
        except (ValueError, VerificationError):
            return None

    def _check_proof(
        self, txid: str, height: int, reply: Reply, chain: HeaderChain | None
    ) -> str | None:
        if chain is not None and reply.error is not None:
            return f"no merkle proof: {error_text(reply.error)}"
        if chain is not None and not isinstance(reply.result, dict):
            return "malformed merkle proof"
        return proof_problem(
            txid, height, reply.result, chain, "not verified (verification is off)"
        )

    def _coins_of_script(
        self,
        script: bytes,
        history: list[tuple[str, int]],
        txs: dict[str, TxOutputs],
        listing: Reply,
        balance: Reply,
        coins: dict[bytes, list[Coin]],
        pending: dict[bytes, list[Coin]],
        problems: list[str],
    ) -> None:
        """The coins of ``script``, derived from its history, then compared with the listing.

        The rule and the comparison are :mod:`._history`'s (shared with Esplora): a coin
        ``listunspent`` shows but the history does not explain is kept ``unverified`` with the
        reason, one the history proves but the listing omits is kept and the omission reported,
        and the total is compared with ``get_balance``.
        """
        name = self._name(script)
        if listing.error is not None:
            raise _refusal(listing.error, f"{self.describe()} listunspent of {name}")
        listed = self._parse_listing(listing.result, name)
        missing = [t for t, _h in history if t not in txs]
        known = [
            HistoryTx(t.txid, h if h > 0 else None, t.outputs, t.spends, coinbase=t.coinbase)
            for txid, h in history
            if (t := txs.get(txid)) is not None
        ]
        derived, receipts, said = coins_from_history(script, known, name)
        problems += said
        unexplained, said = compare_listing(derived, receipts, listed, name, complete=not missing)
        problems += said
        mine_conf = [_coin(script, c) for c in derived]
        mine_pend = [_coin(script, c) for c in receipts]
        if missing:
            problems.append(
                f"{name}: {len(missing)} transaction(s) of its history could not be checked"
            )
        elif (told := parse_balance(balance.result) if balance.error is None else None) is not None:
            problems += compare_total(
                told.confirmed, sum(c.value for c in derived), name, "get_balance says"
            )
        mine_conf += [
            Coin(
                u.txid,
                u.vout,
                u.value,
                script,
                u.height,
                coinbase=False,
                problem="listed by the server but not explained by its own history",
            )
            for u in unexplained
        ]
        coins[script] = mine_conf
        pending[script] = mine_pend

    def _parse_listing(self, result: Any, name: str) -> list[Listed]:
        items = parse_listunspent(
            result, f"{self.describe()} sent a malformed listunspent for {name}"
        )
        # height 0 and -1: in the mempool
        return [
            Listed(u.tx_hash, u.tx_pos, u.value, u.height if u.height > 0 else None) for u in items
        ]


def _proven_header(
    height: int, chain: HeaderChain | None, cache: HeaderCache, tip_height: int
) -> bytes | None:
    """The verified header at ``height``: from the chain to the tip, or from its epoch's chunk."""
    for held in (chain, _chunk_at(height, cache, tip_height)):
        if held is not None and held.start <= height <= held.tip_height:
            return held.header(height)
    return None


def _chunk_at(height: int, cache: HeaderCache, tip_height: int) -> HeaderChain | None:
    epoch = cache.chunk_epoch(height, tip_height)
    return None if epoch is None else cache.chunk(epoch)


def _coin(script: bytes, c: Derived) -> Coin:
    return Coin(c.txid, c.vout, c.value, script, c.height, c.coinbase, spent_by=c.spent_by)
