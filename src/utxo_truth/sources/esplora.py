"""An Esplora REST server (Blockstream's esplora/electrs, mempool.space) as a chain source.

Esplora is asked by *script hash* (``sha256(scriptPubKey)`` in plain hex; Electrum's is
byte-reversed), so a script without an address (bare P2PK) works too. Nothing is sent but script
hashes, txids, heights and block hashes. A look-up is a few steps, each a set of GETs run
``parallel`` at a time over one pooled keep-alive session; the first failure ends a step:

1. the tip: ``/blocks/tip/hash``, then ``/blocks/tip/height`` (a block found between the two
   changes the hash read again at the end). A look-up that follows another within a second
   starts from the tip that one ended on;
2. ``/scripthash/:h/txs`` for every script (one request a script, as BDK asks): an empty page
   means unused (gap discovery). A page with fewer confirmed transactions than electrs' page
   (25, ``page_size``) and fewer than 50 mempool ones is the whole history: the coins are what
   it pays the script less what it spends, and a transaction object is believed only if it
   re-serialises to bytes that hash to its txid;
3. a busy script (a full page): ``/scripthash/:h`` (``chain_stats``, ``mempool_stats``), then
   ``/scripthash/:h/utxo`` and, when the mempool touches it, ``/txs/mempool`` (Esplora's
   ``utxo`` leaves out coins spent in the mempool; we keep them, with ``spent_by``, like the
   other sources); the listing must add up to the stats' funded-minus-spent sums. Past electrs'
   utxo limit (HTTP 400 "Too many history entries" / "Too many unspent transaction outputs")
   the coins are rebuilt from the paged history (``/txs/chain/:last_seen``) and
   ``/tx/:txid/outspends``, which must agree. In the same step the fullest short page is checked
   against its stats, so that a server configured with shorter pages is noticed;
4. ``/tx/:txid/merkle-proof`` of each confirmed coin's transaction, ``/tx/:txid/hex`` of any
   transaction not yet seen whole, the headers from the checkpoint to the tip not yet cached
   (``/blocks/:start``, 10 a request, each rebuilt and checked against its id; a server without
   it is walked back header by header: ``/block-height/:h``, ``/block/:hash/header``), and the
   tip again: if it moved, the look-up is made again (3 attempts, then
   :class:`InconsistentTipError`).

Then the checks of :mod:`utxo_truth.verify`, as for Electrum: the header chain links from the
checkpoint to the tip with proof of work and difficulty; a coin's value and script are read from
its transaction, never from a listing; a confirmed coin is ``spv`` only when its merkle branch
reaches the verified header at its height. What fails is said in ``Lookup.problems`` and the coin
stays ``unverified``; nothing is silently dropped or zeroed.

The header chain is cached for the source's life; one longer than ``max_headers`` is not fetched
(coins are then ``unverified``, saying why and what to do: a ``checkpoint`` at or below the
oldest coin, or an Electrum server, which sends 2016 headers a request).

Politeness: 429 and 503 are retried with exponential backoff and full jitter, honouring
``Retry-After`` (seconds or an HTTP date) up to ``max_wait`` seconds; other 5xx, dropped
connections, timeouts and truncated bodies are retried ``retries`` times; every other 4xx is a
typed error at once. Every request has a whole-reply deadline (``timeout``) and a size cap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import requests

from .._checkpoints import drop_genesis_outputs, header_time, tip_problems  # issue 13 hook
from .._exceptions import (
    HistoryTooLargeError,
    SourceProtocolError,
    SourceSpecError,
    VerificationError,
)
from .._models import BlockRef
from .._network import Network, parse_network
from .._script import address_of
from ..verify import GENESIS, HeaderChain, check_header_chain, header_hash
from ._assurance import header_assured  # issue 13 hook
from ._base import Coin, Lookup
from ._errors import reports_as_source
from ._esplora_api import (
    ScriptStats,
    parse_stats,
)
from ._esplora_api import TxOuts as _TxOuts
from ._esplora_api import counts as _counts
from ._esplora_api import header_from_summary as _header_from_summary
from ._esplora_api import outs_from_hex as _outs_from_hex
from ._esplora_api import outs_from_object as _outs_from_object
from ._esplora_api import scripthash as _scripthash
from ._http import HttpTransport, redact_path, secret_path_segments
from ._retry import RetryPolicy
from ._signet_check import esplora_coinbases, parse_challenge, signet_checked
from ._spv import Restart, hex32, is_int, merkle_problem, pinned

__all__ = ["EsploraSource"]

SEGMENT = 16
"""The fewest headers walked back from one ``/block-height`` look-up (a worker walks a segment;
there are as many segments as workers, so that the walk takes ``headers / parallel`` requests'
time)."""
PAGE = 25
"""Confirmed transactions per page of ``/scripthash/:h/txs/chain`` (electrs' fixed size)."""
MEMPOOL_PAGE = 50
"""Mempool transactions ``/scripthash/:h/txs`` returns at most."""
BLOCKS_PAGE = 10
"""Block summaries per ``/blocks/:start`` reply."""

T = TypeVar("T")
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class _Listed:
    """A coin as the server states it, before it is checked against its transaction."""

    txid: str
    vout: int
    value: int
    height: int | None
    block_hash: str | None = None
    spent_by: str | None = None


@dataclass
class _ScriptAnswer:
    script: bytes
    confirmed: list[_Listed]
    pending: list[_Listed]
    stats: ScriptStats | None = None
    """Read for a long history only (a short one is whole in its first page)."""
    notes: list[str] = field(default_factory=list)
    """What could not be had for this script (said in the look-up's problems)."""


class EsploraSource:
    """An Esplora REST server as a chain source, with SPV verification of every coin.

    Args:
        base_url: the API root, e.g. ``https://blockstream.info/api`` or
            ``http://127.0.0.1:3002``. Only http and https. ``user:password@`` in it becomes
            HTTP basic authentication and a query string (``?key=...``) is sent with every
            request; neither is ever shown in :meth:`describe`, errors or logs.
        network: the network the server must serve.
        session: a ``requests.Session`` to use (its adapters, proxies and headers are kept);
            by default one pooled session sized for ``parallel``.
        parallel: requests in flight at once. The default (4) suits public servers.
        timeout: seconds a request may take in all, from connecting to the reply's last byte.
        retries: attempts after the first for a 5xx, a dropped connection, a timeout or a
            truncated reply.
        max_wait: the longest a request may spend waiting out 429/503 backoff in total; a server
            asking to wait longer (``Retry-After``) is reported as busy at once.
        backoff: the first backoff pause in seconds (doubled each time, full jitter).
        api_key: sent as ``Authorization: Bearer KEY`` (Blockstream Explorer API and similar).
        checkpoint: ``(height, hash)`` the header chain is anchored to; genesis by default.
        max_headers: the longest header chain fetched (``/blocks`` sends 10 a request).
        verify: False skips merkle proofs and headers (coins are then ``unverified``).
        prefer_history: True (default) derives a script's coins from its history when the first
            history page holds all of it (one request, as BDK asks); False lists every used
            script with ``/scripthash/:h`` stats and ``/utxo`` (two requests, and the listing
            is checked against the stats' sums).
        page_size: confirmed transactions per history page (electrs: 25; mempool's electrs can
            be configured otherwise; a page found cut short lowers it).
        progress: called as ``(done, to_do)`` look-ups (HTTP requests, or pages of one
            script's history) as they end, counted over the source's life.
        signet_challenge: on signet, the challenge script (bytes or hex) each block a coin is
            proven into, and the tip, must satisfy (BIP-325); the default signet's by default.

    Example:
        >>> src = EsploraSource("http://127.0.0.1:3002", network="regtest")  # doctest: +SKIP
    """

    has_history = True
    lookup_batch = 1
    """Discovery asks no more indexes than its stop rule needs: here every script is a request."""

    def __init__(
        self,
        base_url: str,
        *,
        network: Network | str,
        session: requests.Session | None = None,
        parallel: int = 4,
        timeout: float = 30.0,
        retries: int = 3,
        max_wait: float = 60.0,  # seconds
        backoff: float = 0.5,
        api_key: str | None = None,
        checkpoint: tuple[int, str] | None = None,
        max_headers: int = 20_000,
        verify: bool = True,
        prefer_history: bool = True,
        page_size: int = PAGE,
        progress: Progress | None = None,
        signet_challenge: bytes | str | None = None,
    ) -> None:
        self._network = parse_network(network)
        self.signet_challenge = parse_challenge(self._network, signet_challenge)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceSpecError(
                "an Esplora base URL is http(s)://HOST[:PORT]/PATH, e.g. "
                "https://blockstream.info/api (got a URL with scheme "
                f"{parts.scheme or 'none'!r})"
            )
        if not 1 <= parallel <= 64:
            raise SourceSpecError("parallel must be between 1 and 64")
        if timeout <= 0 or retries < 0 or max_wait < 0 or backoff < 0 or max_headers < 1:
            raise SourceSpecError(
                "timeout and max_headers must be positive; retries, max_wait and backoff >= 0"
            )
        try:
            port = parts.port
        except ValueError:
            raise SourceSpecError("the Esplora URL has a port that is not a number") from None
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = host + (f":{port}" if port else "")
        self._root = f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"
        # a key in the path (``/KEY/api``, as some providers issue) is sent, never shown
        path_secrets = secret_path_segments(parts.path)
        self._where = f"esplora+{parts.scheme}://{netloc}{redact_path(parts.path.rstrip('/'))}"
        self._params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.parallel, self.timeout, self.retries = parallel, timeout, retries
        self.max_wait, self.backoff = max_wait, backoff
        self.verify = verify
        self.prefer_history = prefer_history
        if page_size < 1:
            raise SourceSpecError("page_size must be at least 1")
        self.page_size = page_size
        self.max_headers = max_headers
        self.checkpoint = checkpoint or (0, GENESIS[self._network])
        auth: tuple[str, str] | None = None
        if parts.username is not None:
            auth = (unquote(parts.username), unquote(parts.password or ""))
        headers_sent = {"User-Agent": "utxo_truth"}
        if api_key:
            headers_sent["Authorization"] = f"Bearer {api_key}"
        self._http = HttpTransport(
            self._root,
            where=self._where,
            session=session,
            parallel=parallel,
            timeout=timeout,
            policy=RetryPolicy(retries=retries, backoff=backoff, max_wait=max_wait),
            params=self._params,
            auth=auth,
            headers=headers_sent,
            secrets=(api_key, *path_secrets),
            progress=progress,
        )
        self._lock = threading.Lock()
        self.rebuilt = 0
        """Scripts whose coins were rebuilt from history because the server refused to list them."""
        self._headers: dict[int, bytes] = {}
        self._blocks_endpoint = True
        self._proven_whole = (0, 0)
        self._mempool_page = MEMPOOL_PAGE
        self._trial_pages: tuple[int, int] | None = None
        self._recent_tip: tuple[BlockRef | None, float] = (None, 0.0)

    @classmethod
    def from_url(cls, url: str, network: Network | str, **kwargs: Any) -> EsploraSource:
        """``esplora+https://host/api`` or ``esplora+http://host:port`` (a local server)."""
        if not url.startswith(("esplora+https://", "esplora+http://")):
            raise SourceSpecError(
                "an Esplora source is esplora+https://HOST/PATH (or esplora+http:// for a "
                "server on your own machine or network)"
            )
        return cls(url[len("esplora+") :], network=network, **kwargs)

    @property
    def network(self) -> Network:
        """The network the server is asked about."""
        return self._network

    def describe(self) -> str:
        """``esplora+https://host/path`` without credentials or query string."""
        return self._where

    def scrub_text(self, text: str) -> str:
        """``text`` without any form of this source's credentials (see :func:`._http.scrubber`)."""
        return self._http.scrub(text)

    @property
    def session(self) -> requests.Session:
        """The ``requests.Session`` the GETs go through."""
        return self._http.session

    @property
    def retried(self) -> int:
        """Requests asked again so far (busy, 5xx, dropped, truncated)."""
        return self._http.retried

    @property
    def progress(self) -> Progress | None:
        """Called as ``(done, to_do)`` look-ups as they end (see the class docstring)."""
        return self._http.progress

    @progress.setter
    def progress(self, value: Progress | None) -> None:
        self._http.progress = value

    def close(self) -> None:
        """Stop the worker threads and close the session (if it was ours)."""
        self._http.close()

    # --- HTTP (the transport is :mod:`._http`) -------------------------------------------
    def _get(self, path: str, *, json_reply: bool, missing_ok: bool = False) -> Any:
        """GET ``path`` with retries; the body as text or parsed JSON; None for an allowed 404."""
        return self._http.get(path, json_reply=json_reply, missing_ok=missing_ok)

    def _many(self, jobs: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``jobs`` ``parallel`` at a time; results in order; the first error is raised."""
        return self._http.many(jobs)

    # --- the look-up ---------------------------------------------------------------------------
    @reports_as_source
    def lookup(self, scripts: Collection[bytes]) -> Lookup:
        """Use, coins and mempool state of ``scripts`` at the server's tip, verified."""
        scripts = list(dict.fromkeys(scripts))
        answer = pinned(lambda: self._lookup_once(scripts), self._where)
        self._recent_tip = (answer.block, time.monotonic())
        if self._trial_pages is not None:  # learnt in a look-up that held still: keep it
            self.page_size, self._mempool_page = self._trial_pages
            self._trial_pages = None
        return answer

    def _tip(self) -> BlockRef:
        """The tip, hash first.

        A block found between the two reads changes the hash read again at the end of the
        look-up, which then starts again.
        """
        tip_hash = hex32(self._get("/blocks/tip/hash", json_reply=False), "tip hash")
        height_text = self._get("/blocks/tip/height", json_reply=False)
        if not height_text.isdigit():
            raise SourceProtocolError(
                f"{self._where} sent a malformed tip height: {height_text[:40]!r}"
            )
        return BlockRef(height=int(height_text), hash=tip_hash)

    def _lookup_once(self, scripts: list[bytes]) -> tuple[Lookup, str]:
        # the tip the previous look-up ended on, if it is a moment old, saves two requests (the
        # tip is read again at the end of this look-up all the same)
        recent, when = self._recent_tip
        block = recent if recent and time.monotonic() - when < 1.0 else self._tip()
        self._recent_tip = (None, 0.0)
        self._trial_pages = None
        # one request a script: the first page of its history says whether it was used and,
        # for all but busy scripts, is the whole history, from which the coins are derived (its
        # transactions are believed only if they hash to their txids)
        pages = self._many([self._first_page_job(s) for s in scripts])
        answers = {s: _ScriptAnswer(s, [], []) for s in scripts}
        used = [s for s, page in zip(scripts, pages, strict=True) if page]
        problems: list[str] = []
        objects: dict[str, dict[str, Any]] = {}  # history transactions by txid, as parsed
        # a long history (a full page): its stats, then /utxo (or, past the utxo limit, the
        # paged history); the fullest short page is checked against its stats in the same go
        used_pages = [(s, p) for s, p in zip(scripts, pages, strict=True) if p]
        whole, probe = self._whole_pages(used_pages)
        long = [s for s, _p in used_pages if s not in whole]
        jobs: list[Callable[[], Any]] = [self._stats_job(probe)] if probe else []
        done = self._many(jobs + [self._listing_job(answers[s]) for s in long])
        listed = dict(zip(long, done[1:] if probe else done, strict=True))
        if probe and not self._page_proven(probe, dict(used_pages)[probe], done[0]):
            # the server's pages are shorter than assumed: what looked whole may not be
            again = [s for s in whole if s not in self._whole_pages(used_pages)[0]]
            listed.update(
                zip(again, self._many([self._listing_job(answers[s]) for s in again]), strict=True)
            )
            whole -= set(again)
        for s, page in used_pages:
            if s in whole:
                self._coins_from_history(answers[s], page, None, objects, problems)
        self._rebuild([answers[s] for s, ok in listed.items() if not ok], objects, problems)
        for s in listed:
            self._check_sums(answers[s], problems)
            problems.extend(n for n in answers[s].notes if n not in problems)

        # transactions not seen whole yet, merkle proofs, the header chain
        claims = [c for s in used for c in (*answers[s].confirmed, *answers[s].pending)]
        # a transaction object is checked once, and only if it holds a coin
        txouts = {
            t: _outs_from_object(objects[t]) for t in {c.txid for c in claims} if t in objects
        }
        need_tx = sorted({c.txid for c in claims if txouts.get(c.txid) is None})
        confirmed_txids = sorted({c.txid for s in used for c in answers[s].confirmed})
        # the proof also gives the height of a coin seen only as spent by the mempool
        need_height = sorted({c.txid for s in used for c in answers[s].confirmed if c.height == -1})
        want_proofs = confirmed_txids if self.verify else need_height
        # the headers missing from the cache are asked in the same go (one wait, not two)
        header_jobs = self._blocks_jobs(block) if self.verify and confirmed_txids else []
        # ... and the tip again: every answer about the scripts is in by now
        fetched = self._many(
            [self._hex_job(t) for t in need_tx]
            + [self._proof_job(t) for t in want_proofs]
            + header_jobs
            + [self._tip_hash_job()]
        )
        tip_after = fetched.pop()
        for txid, text in zip(need_tx, fetched[: len(need_tx)], strict=True):
            txouts[txid] = _outs_from_hex(text, txid)
        n = len(need_tx) + len(want_proofs)
        proof_of = dict(zip(want_proofs, fetched[len(need_tx) : n], strict=True))
        for run in fetched[n:]:
            self._headers.update(run)
        for a in answers.values():
            for c in a.confirmed:
                if c.height is not None and c.height > block.height:
                    raise Restart  # a block newer than the tip we pinned: the chain moved
        chain, chain_problem = (
            self._header_chain(block) if self.verify and confirmed_txids else (None, None)
        )
        if self.verify and not confirmed_txids:
            # issue 13 hook (#11: an empty answer at an unchecked tip): the tip an answer names
            # is verified like any other header, or the answer says it was not
            chain, chain_problem = self._header_chain(block)
            if chain is None:
                problems.append(
                    f"the tip (height {block.height}) was not verified: {chain_problem}"
                )
        if chain is not None:
            for a in answers.values():
                for c in a.confirmed:
                    if (
                        c.height is not None
                        and c.block_hash is not None
                        and chain.start <= c.height
                        and chain.hash(c.height) != c.block_hash
                    ):
                        raise Restart  # listed in a block that is no longer at that height

        coins: dict[bytes, tuple[Coin, ...]] = {}
        pending: dict[bytes, tuple[Coin, ...]] = {}
        for s in used:
            a = answers[s]
            checked = [
                self._check_coin(s, c, txouts, proof_of.get(c.txid), chain, chain_problem)
                for c in a.confirmed
            ]
            coins[s] = tuple(sorted(checked, key=lambda c: (c.txid, c.vout)))
            pend = [self._check_coin(s, c, txouts, None, None, None) for c in a.pending]
            pending[s] = tuple(sorted(pend, key=lambda c: (c.txid, c.vout)))
        if self.verify:  # issue 13: on signet, the blocks proven into (and the tip) are signed
            coins = signet_checked(
                self._network,
                self.signet_challenge,
                coins,
                block.height,
                lambda h: (
                    chain.header(h)
                    if chain and chain.start <= h <= chain.tip_height
                    else self._header_at(h)
                ),
                esplora_coinbases(
                    lambda p: self._get(p, json_reply=p.endswith("proof")), self._many
                ),
                problems,
            )
        for group in (*coins.values(), *pending.values()):
            for coin in group:
                if coin.problem:
                    problems.append(
                        f"{coin.txid}:{coin.vout} ({self._name(coin.script)}): {coin.problem}"
                    )
        # issue 13 hook: a stale or eclipsed tip is said (see _checkpoints.tip_problems)
        tip_time = header_time(chain.header(block.height)) if chain is not None else None
        problems += tip_problems(self._network, block.height, tip_time)
        coins = drop_genesis_outputs(coins, problems)  # issue 13 hook: not in the UTXO set
        lookup = Lookup(
            block=block,
            coins={s: v for s, v in coins.items() if v},
            used=frozenset(used),
            pending={s: v for s, v in pending.items() if v},
            problems=tuple(dict.fromkeys(problems)),
        )
        return lookup, tip_after

    @reports_as_source
    def block_status(self, block: BlockRef) -> str:
        """``"tip"``, ``"behind"`` (still on the best chain, which grew) or ``"stale"``."""
        tip_hash = hex32(self._get("/blocks/tip/hash", json_reply=False), "tip hash")
        if tip_hash == block.hash:
            return "tip"
        at = self._get(f"/block-height/{block.height}", json_reply=False, missing_ok=True)
        return "behind" if at is not None and at.lower() == block.hash else "stale"

    # --- jobs ----------------------------------------------------------------------------------
    def _whole_pages(
        self, pages: list[tuple[bytes, list[dict[str, Any]]]]
    ) -> tuple[set[bytes], bytes | None]:
        """The scripts whose first history page is their whole history, and one to check.

        A page with fewer confirmed transactions than the server's page size (electrs: 25,
        ``page_size``) and fewer than 50 mempool ones is whole, as BDK also assumes. mempool's
        electrs lets its operator shorten pages, so the fullest page of each look-up beyond
        those already proven whole is checked against its script's stats (one request, with
        the listings): a page found cut short teaches the real page size (:meth:`_page_proven`).
        """
        if not self.prefer_history:
            return set(), None
        whole = {s: _counts(p) for s, p in pages if self._fits(p)}
        if not whole:
            return set(), None
        proven_c, proven_m = self._proven_whole
        doubtful = [s for s, (c, m) in whole.items() if c > proven_c or m > proven_m]
        fullest = max(doubtful, key=lambda s: whole[s]) if doubtful else None
        return set(whole), fullest

    def _fits(self, page: list[dict[str, Any]]) -> bool:
        confirmed, mempool = _counts(page)
        page_size, mempool_page = self._trial_pages or (self.page_size, self._mempool_page)
        return confirmed < page_size and mempool < mempool_page

    def _page_proven(self, script: bytes, page: list[dict[str, Any]], stats: ScriptStats) -> bool:
        """Learn from a checked page; False if it was cut short (then pages are re-sorted).

        A cut-short page is a full one, so its size is the server's page size. What is learnt
        holds for this look-up at once, and for later ones only if this one ends at the tip it
        began at (a block or transaction arriving between the page and its stats would
        otherwise teach a wrong size).
        """
        c, m = _counts(page)
        page_size, mempool_page = self._trial_pages or (self.page_size, self._mempool_page)
        if stats.chain.tx_count > c:
            self._trial_pages = (min(page_size, c), mempool_page)
            return False
        if stats.mempool.tx_count > m:
            self._trial_pages = (page_size, min(mempool_page, m))
            return False
        self._proven_whole = (max(self._proven_whole[0], c), max(self._proven_whole[1], m))
        return True

    def _stats_job(self, script: bytes) -> Callable[[], ScriptStats]:
        def job() -> ScriptStats:
            r = self._get(f"/scripthash/{_scripthash(script)}", json_reply=True)
            return self._parse_stats(r, script)

        return job

    def _tip_hash_job(self) -> Callable[[], str]:
        return lambda: hex32(self._get("/blocks/tip/hash", json_reply=False), "tip hash")

    def _first_page_job(self, script: bytes) -> Callable[[], list[dict[str, Any]]]:
        def job() -> list[dict[str, Any]]:
            r = self._get(f"/scripthash/{_scripthash(script)}/txs", json_reply=True)
            return [self._parse_tx_json(t) for t in self._as_list(r, "history")]

        return job

    def _listing_job(self, answer: _ScriptAnswer) -> Callable[[], bool]:
        """Fill ``answer`` from its stats and ``/utxo`` (and the mempool).

        False when the server refuses the listing (its utxo limit).
        """

        def job() -> bool:
            sh = _scripthash(answer.script)
            answer.stats = self._stats_job(answer.script)()
            try:
                listing = self._get(f"/scripthash/{sh}/utxo", json_reply=True)
            except HistoryTooLargeError:
                return False
            for c in self._parse_utxos(listing, answer.script):
                (answer.confirmed if c.height is not None else answer.pending).append(c)
            if answer.stats.mempool.tx_count > 0:
                txs = self._as_list(
                    self._get(f"/scripthash/{sh}/txs/mempool", json_reply=True), "history"
                )
                answer.confirmed.extend(self._spent_in_mempool(txs, answer))
                if len(txs) < answer.stats.mempool.tx_count:
                    answer.notes.append(
                        f"{self._name(answer.script)}: the server sends {len(txs)} of its "
                        f"{answer.stats.mempool.tx_count} mempool transactions: coins "
                        "spent in the mempool may be missing"
                    )
            return True

        return job

    def _spent_in_mempool(self, txs: Any, answer: _ScriptAnswer) -> list[_Listed]:
        """Confirmed coins of the script that mempool transactions spend (``/utxo`` omits them)."""
        parsed = [self._parse_tx_json(t) for t in self._as_list(txs, "mempool transactions")]
        in_mempool = {t["txid"] for t in parsed}
        listed = {(c.txid, c.vout) for c in (*answer.confirmed, *answer.pending)}
        out = []
        for t in parsed:
            for prev_txid, prev_vout, prev_script, prev_value in t["vin"]:
                if prev_script != answer.script or prev_txid in in_mempool:
                    continue
                if (prev_txid, prev_vout) in listed:
                    continue
                # the spent coin's height comes from its merkle proof (checked later)
                out.append(_Listed(prev_txid, prev_vout, prev_value, -1, spent_by=t["txid"]))
        return out

    def _hex_job(self, txid: str) -> Callable[[], str | None]:
        return lambda: self._get(f"/tx/{txid}/hex", json_reply=False, missing_ok=True)

    def _proof_job(self, txid: str) -> Callable[[], Any]:
        return lambda: self._get(f"/tx/{txid}/merkle-proof", json_reply=True, missing_ok=True)

    # --- coins from a history ------------------------------------------------------------------
    def _coins_from_history(
        self,
        a: _ScriptAnswer,
        history: list[dict[str, Any]],
        outspends: dict[str, list[tuple[bool, str | None, bool]]] | None,
        objects: dict[str, dict[str, Any]],
        problems: list[str],
    ) -> None:
        """Outputs to the script less those its history spends.

        ``outspends``, when given, has the last word; a disagreement with the history is reported.
        """
        spenders = {
            (p_txid, p_vout): (t["txid"], t["height"] is not None)
            for t in history
            for p_txid, p_vout, _s, _v in t["vin"]
        }
        for t in history:
            objects.setdefault(t["txid"], t)
            for vout, (script, value) in enumerate(t["vout"]):
                if script != a.script:
                    continue
                key = (t["txid"], vout)
                by, by_confirmed = spenders.get(key, (None, False))
                if outspends is not None:
                    status = outspends.get(t["txid"], [])
                    if vout >= len(status):
                        problems.append(
                            f"{key[0]}:{vout} ({self._name(a.script)}): outspends has no entry "
                            "for it"
                        )
                        continue
                    spent, said_by, said_confirmed = status[vout]
                    if spent != (by is not None):
                        problems.append(
                            f"{key[0]}:{vout} ({self._name(a.script)}): outspends and the "
                            "script's history "
                            "disagree on whether it is spent"
                        )
                    by, by_confirmed = (said_by, said_confirmed) if spent else (None, False)
                if by is not None and by_confirmed:
                    continue
                claim = _Listed(t["txid"], vout, value, t["height"], t["block_hash"])
                if t["height"] is None:
                    if by is None:
                        a.pending.append(claim)
                else:
                    a.confirmed.append(replace(claim, spent_by=by))

    def _rebuild(
        self,
        answers: list[_ScriptAnswer],
        objects: dict[str, dict[str, Any]],
        problems: list[str],
    ) -> None:
        """Coins from the paged history and ``/tx/:txid/outspends`` (past the utxo limit)."""
        if not answers:
            return
        histories = self._many([self._history_job(a) for a in answers])
        funding = {
            t["txid"]: None
            for a, history in zip(answers, histories, strict=True)
            for t in history
            if any(script == a.script for script, _v in t["vout"])
        }
        spends = self._many([self._outspends_job(t) for t in funding])
        spend_of = dict(zip(funding, spends, strict=True))
        for a, history in zip(answers, histories, strict=True):
            self._coins_from_history(a, history, spend_of, objects, problems)
        with self._lock:
            self.rebuilt += len(answers)

    def _history_job(self, answer: _ScriptAnswer) -> Callable[[], list[dict[str, Any]]]:
        def job() -> list[dict[str, Any]]:
            sh = _scripthash(answer.script)
            assert answer.stats is not None
            out: list[dict[str, Any]] = []
            if answer.stats.mempool.tx_count > 0:
                mempool = self._get(f"/scripthash/{sh}/txs/mempool", json_reply=True)
                out += [self._parse_tx_json(t) for t in self._as_list(mempool, "history")]
                if len(out) < answer.stats.mempool.tx_count:
                    answer.notes.append(
                        f"{self._name(answer.script)}: the server sends {len(out)} of its "
                        f"{answer.stats.mempool.tx_count} mempool transactions (it does "
                        "not page the mempool): its unconfirmed receipts and spends may be "
                        "incomplete"
                    )
            last: str | None = None
            seen: set[str] = set()
            expected = answer.stats.chain.tx_count
            while len(seen) < expected:  # pages of 25 on electrs; the size is not relied on
                path = f"/scripthash/{sh}/txs/chain" + (f"/{last}" if last else "")
                try:
                    page = self._as_list(self._get(path, json_reply=True), "history")
                except HistoryTooLargeError as exc:
                    raise HistoryTooLargeError(
                        f"{self._name(answer.script)}: the server refuses to list its coins and "
                        f"to page its history ({exc}). Use a server with higher limits "
                        "(electrs --utxos-limit), or your own node",
                        code=exc.code,
                    ) from None
                if not page:
                    break
                parsed = [self._parse_tx_json(t) for t in page]
                for t in parsed:
                    if t["txid"] in seen or t["height"] is None:
                        raise SourceProtocolError(
                            f"{self._where}: the history pages of {self._name(answer.script)} "
                            "repeat a transaction or list an unconfirmed one"
                        )
                    seen.add(t["txid"])
                out += parsed
                last = parsed[-1]["txid"]
            if len(seen) != expected:
                # a new block shows in the tip read at the end (and the look-up starts again);
                # otherwise the server's history and its stats disagree
                answer.notes.append(
                    f"{self._name(answer.script)}: the server's history has {len(seen)} "
                    f"confirmed transactions, its stats say {expected}: coins may be missing"
                )
            return out

        return job

    def _outspends_job(self, txid: str) -> Callable[[], list[tuple[bool, str | None, bool]]]:
        def job() -> list[tuple[bool, str | None, bool]]:
            r = self._as_list(self._get(f"/tx/{txid}/outspends", json_reply=True), "outspends")
            out: list[tuple[bool, str | None, bool]] = []
            for item in r:
                if not (isinstance(item, dict) and isinstance(item.get("spent"), bool)):
                    raise SourceProtocolError(f"{self._where} sent a malformed outspend")
                if not item["spent"]:
                    out.append((False, None, False))
                    continue
                status = item.get("status")
                confirmed = isinstance(status, dict) and status.get("confirmed") is True
                out.append((True, hex32(item.get("txid"), "spending txid"), confirmed))
            return out

        return job

    # --- headers -------------------------------------------------------------------------------
    def _header_chain(self, tip: BlockRef) -> tuple[HeaderChain | None, str | None]:
        """The verified chain from the checkpoint to ``tip``, or why it was not fetched."""
        low = self.checkpoint[0]
        if tip.height < low:
            raise VerificationError(
                f"{self._where}: its tip {tip.height} is below the checkpoint height {low}"
            )
        span = tip.height - low + 1
        if span > self.max_headers:
            return None, (
                f"not verified: the {span:,} headers from the checkpoint (height {low}) to the tip "
                f"exceed max_headers={self.max_headers:,} (Esplora sends at most 10 headers a "
                "request); pass a checkpoint=(height, hash) at or below your oldest coin, or "
                "verify through an Electrum server"
            )
        for attempt in range(2):
            cached_tip = self._headers.get(tip.height)
            if cached_tip is not None and header_hash(cached_tip) != tip.hash:
                self._headers = {}
            self._fetch_headers(low, tip)
            headers = [self._headers[h] for h in range(low, tip.height + 1)]
            try:
                chain = check_header_chain(headers, low, self._network, anchor=self.checkpoint)
            except VerificationError as exc:
                self._headers = {}
                if attempt == 0:
                    continue  # a cached header from before a reorg: fetch them all again
                raise VerificationError(
                    f"{self._where}: {exc}. The server is wrong or lying: use another server"
                ) from None
            if chain.hash(tip.height) != tip.hash:
                raise Restart
            return chain, None
        raise AssertionError("unreachable")

    def _fetch_headers(self, low: int, tip: BlockRef) -> None:
        """Fill the cache for heights low..tip.

        ``/blocks/:start`` gives 10 a request; what it does not give is walked back header by
        header from ``/block-height`` in segments.
        """
        for run in self._many(self._blocks_jobs(tip)):
            self._headers.update(run)
        missing = [h for h in range(low, tip.height + 1) if h not in self._headers]
        if not missing:
            return
        # one worker walks a segment back header by header: as many segments as workers
        size = min(max(-(-len(missing) // self.parallel), SEGMENT), 1000)
        segments: list[tuple[int, int]] = []
        start = missing[0]
        for a, b in zip(missing, [*missing[1:], None], strict=True):
            if b != a + 1 or a - start + 1 == size:
                segments.append((start, a))
                if b is not None:
                    start = b
        for run in self._many([self._segment_job(lo, hi, tip) for lo, hi in segments]):
            self._headers.update(run)

    def _blocks_jobs(self, tip: BlockRef) -> list[Callable[[], dict[int, bytes]]]:
        """``/blocks/:start`` requests for the headers from the checkpoint to ``tip`` not cached."""
        low = self.checkpoint[0]
        if not self._blocks_endpoint or not low <= tip.height < low + self.max_headers:
            return []
        missing = [h for h in range(low, tip.height + 1) if h not in self._headers]
        starts = []
        i = len(missing) - 1
        while i >= 0:
            starts.append(missing[i])
            top = missing[i]
            while i >= 0 and missing[i] > top - BLOCKS_PAGE:
                i -= 1
        return [self._blocks_job(h, low) for h in starts]

    def _blocks_job(self, start: int, low: int) -> Callable[[], dict[int, bytes]]:
        """Headers rebuilt from ``/blocks/:start`` summaries, each checked against its id."""

        def job() -> dict[int, bytes]:
            r = self._get(f"/blocks/{start}", json_reply=True, missing_ok=True)
            if not isinstance(r, list):
                self._blocks_endpoint = False  # not served: walk header by header instead
                return {}
            out: dict[int, bytes] = {}
            for b in r:
                built = _header_from_summary(b)
                if built is None:
                    self._blocks_endpoint = False
                    return {}
                height, block_id, header = built
                if header_hash(header) != block_id:
                    raise VerificationError(
                        f"{self._where}: the block summary at height {height} does not hash to "
                        "its id. The server is wrong or lying"
                    )
                if low <= height <= start:
                    out[height] = header
            return out

        return job

    def _segment_job(self, lo: int, hi: int, tip: BlockRef) -> Callable[[], dict[int, bytes]]:
        def job() -> dict[int, bytes]:
            if hi == tip.height:
                block_hash = tip.hash
            else:
                at = self._get(f"/block-height/{hi}", json_reply=False, missing_ok=True)
                if at is None:
                    raise Restart  # the chain got shorter: a reorg
                block_hash = hex32(at, "block hash")
            out: dict[int, bytes] = {}
            for height in range(hi, lo - 1, -1):
                text = self._get(f"/block/{block_hash}/header", json_reply=False)
                try:
                    header = bytes.fromhex(text)
                except ValueError:
                    header = b""
                if len(header) != 80 or header_hash(header) != block_hash:
                    raise VerificationError(
                        f"{self._where}: the header sent for block {block_hash} at height "
                        f"{height} is not that block's header. The server is wrong or lying"
                    )
                out[height] = header
                block_hash = header[4:36][::-1].hex()
            return out

        return job

    # --- parsing and checking ------------------------------------------------------------------
    def _name(self, script: bytes) -> str:
        return address_of(script, self._network) or f"script {script.hex()[:24]}..."

    def _as_list(self, x: Any, what: str) -> list[Any]:
        if not isinstance(x, list):
            raise SourceProtocolError(f"{self._where} sent malformed {what}: {str(x)[:80]}")
        return x

    def _parse_stats(self, r: Any, script: bytes) -> ScriptStats:
        return parse_stats(r, f"{self._where} sent malformed stats for {self._name(script)}")

    def _parse_status(self, status: Any) -> tuple[int | None, str | None]:
        if not (isinstance(status, dict) and isinstance(status.get("confirmed"), bool)):
            raise SourceProtocolError(f"{self._where} sent a malformed status: {str(status)[:80]}")
        if not status["confirmed"]:
            return None, None
        height = status.get("block_height")
        if not (isinstance(height, int) and not isinstance(height, bool) and height >= 0):
            raise SourceProtocolError(f"{self._where} sent a malformed block height")
        return height, hex32(status.get("block_hash"), "block hash")

    def _parse_utxos(self, r: Any, script: bytes) -> list[_Listed]:
        out = []
        for item in self._as_list(r, "unspent outputs"):
            if not (
                isinstance(item, dict)
                and is_int(item.get("vout"))
                and item["vout"] >= 0
                and is_int(item.get("value"))
                and item["value"] >= 0
            ):
                raise SourceProtocolError(
                    f"{self._where} sent a malformed unspent output: {str(item)[:80]}"
                )
            height, block_hash = self._parse_status(item.get("status"))
            out.append(
                _Listed(
                    hex32(item.get("txid"), "txid"),
                    item["vout"],
                    item["value"],
                    height,
                    block_hash,
                )
            )
        return out

    def _parse_tx_json(self, t: Any) -> dict[str, Any]:
        """The parts of an Esplora transaction object we use, type-checked."""
        if not (
            isinstance(t, dict)
            and isinstance(t.get("vin"), list)
            and isinstance(t.get("vout"), list)
        ):
            raise SourceProtocolError(f"{self._where} sent a malformed transaction: {str(t)[:80]}")
        vin = []
        for i in t["vin"]:
            if not isinstance(i, dict):
                raise SourceProtocolError(f"{self._where} sent a malformed input")
            prev = i.get("prevout")
            if i.get("is_coinbase") is True or prev is None:
                continue
            if not (isinstance(prev, dict) and is_int(prev.get("value")) and is_int(i.get("vout"))):
                raise SourceProtocolError(f"{self._where} sent a malformed input")
            vin.append(
                (
                    hex32(i.get("txid"), "input txid"),
                    i["vout"],
                    self._script_hex(prev),
                    prev["value"],
                )
            )
        vout = []
        for o in t["vout"]:
            if not (isinstance(o, dict) and is_int(o.get("value")) and o["value"] >= 0):
                raise SourceProtocolError(f"{self._where} sent a malformed output")
            vout.append((self._script_hex(o), o["value"]))
        height, block_hash = self._parse_status(t.get("status"))
        txid = hex32(t.get("txid"), "txid")
        return {
            "txid": txid,
            "vin": vin,
            "vout": vout,
            "height": height,
            "block_hash": block_hash,
            "json": t,
        }

    def _script_hex(self, o: dict[str, Any]) -> bytes:
        s = o.get("scriptpubkey")
        try:
            if isinstance(s, str):
                return bytes.fromhex(s)
        except ValueError:
            pass
        raise SourceProtocolError(f"{self._where} sent a malformed scriptpubkey")

    def _check_sums(self, a: _ScriptAnswer, problems: list[str]) -> None:
        """The listing must add up to the server's own funded-minus-spent figures."""
        assert a.stats is not None
        chain, mempool = a.stats.chain, a.stats.mempool
        listed_conf = sum(c.value for c in a.confirmed)
        spent_in_mempool = sum(c.value for c in a.confirmed if c.spent_by)
        listed_pend = sum(c.value for c in a.pending)
        if listed_conf != chain.funded_txo_sum - chain.spent_txo_sum:
            problems.append(
                f"{self._name(a.script)}: the server lists {listed_conf} sats of confirmed coins but its "
                f"chain_stats imply {chain.funded_txo_sum - chain.spent_txo_sum} "
                "(incomplete or inconsistent answer)"
            )
        if listed_pend - spent_in_mempool != mempool.funded_txo_sum - mempool.spent_txo_sum:
            problems.append(
                f"{self._name(a.script)}: the server's mempool listing does not add up to its mempool_stats "
                "(incomplete or inconsistent answer)"
            )

    def _check_coin(
        self,
        script: bytes,
        claim: _Listed,
        txouts: dict[str, _TxOuts | None],
        proof: Any,
        chain: HeaderChain | None,
        chain_problem: str | None,
    ) -> Coin:
        outs = txouts.get(claim.txid)
        height = claim.height
        if height == -1:  # a coin spent in the mempool: its height is its merkle proof's
            height = proof.get("block_height") if isinstance(proof, dict) else None
            if not is_int(height):
                height = None
        base = Coin(
            claim.txid,
            claim.vout,
            claim.value,
            script,
            height,
            False,
            spent_by=claim.spent_by,
        )
        if outs is None:
            return replace(
                base,
                problem="the server would not send its transaction, or sent one that does not "
                "hash to its txid",
            )
        if not claim.vout < len(outs.outputs) or outs.outputs[claim.vout][0] != script:
            return replace(
                base,
                problem="listed by the server, but its transaction has no such output to this "
                "script",
            )
        value = outs.outputs[claim.vout][1]
        problem = None
        if value != claim.value:
            problem = f"the server listed {claim.value} sats, the transaction says {value}"
        coin = replace(base, value=value, coinbase=outs.coinbase, problem=problem)
        if claim.height is None:
            return coin  # a mempool receipt: proven to exist, not to be confirmed
        if height is None:
            return replace(coin, problem=problem or "no merkle proof: its height is unknown")
        if chain is None and self.verify and problem is None:
            # issue 13 hook: no chain to the tip (too long for Esplora): header assurance
            assured = header_assured(self._network, claim.txid, height, proof, self._header_at)
            if assured is None:
                return replace(coin, verification="spv", assurance="header")
            chain_problem = f"{chain_problem or 'not verified'}; {assured}"
        reason = self._check_proof(claim.txid, height, proof, chain, chain_problem)
        if reason is not None:
            return replace(coin, problem=problem or reason)
        if problem is None:
            return replace(coin, verification="spv", assurance="chain")
        return replace(coin, verification="unverified")

    def _header_at(self, height: int) -> bytes | None:
        """The header the server has at ``height`` (issue 13 hook; checked by the caller)."""
        at = self._get(f"/block-height/{height}", json_reply=False, missing_ok=True)
        if at is None:
            return None
        text = self._get(f"/block/{hex32(at, 'block hash')}/header", json_reply=False)
        try:
            header = bytes.fromhex(text)
        except ValueError:
            return None
        return header if len(header) == 80 and header_hash(header) == at else None

    def _check_proof(
        self,
        txid: str,
        height: int,
        proof: Any,
        chain: HeaderChain | None,
        chain_problem: str | None,
    ) -> str | None:
        if not self.verify:
            return "not verified (verification is off)"
        if chain is None:
            return chain_problem or "not verified: no header chain"
        if proof is None:
            return "no merkle proof: the server says it is not confirmed"
        if not (isinstance(proof, dict) and is_int(proof.get("block_height"))):
            return "malformed merkle proof"
        if proof["block_height"] != height:
            return f"the merkle proof is for height {proof['block_height']}, not {height}"
        return merkle_problem(txid, height, proof.get("merkle"), proof.get("pos"), chain)
