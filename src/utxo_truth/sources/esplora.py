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

Headers are held by :class:`._spv.HeaderCache`, with the header store on disk behind it
(``cache_dir``): a later scan asks for none it holds, and proofs it checked are checked again
against their headers instead of being asked again. A chain of more than ``max_headers``
missing headers is not fetched (coins below the last embedded checkpoint then get header
assurance; elsewhere they are ``unverified``, saying why and what to do). Fetching headers is
:mod:`._esplora_headers`; coins from a history, :mod:`._history`.

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
)
from .._models import BlockRef
from .._network import Network, parse_network
from .._script import address_of
from ..verify import GENESIS, HeaderChain, header_hash
from ._assurance import header_assured  # issue 13 hook
from ._base import Closing, Coin, Lookup
from ._errors import reports_as_source
from ._esplora_api import (
    Listed,
    ScriptStats,
    as_list,
    parse_stats,
    parse_tx_json,
    parse_utxos,
)
from ._esplora_api import TxOuts as _TxOuts
from ._esplora_api import counts as _counts
from ._esplora_api import outs_from_hex as _outs_from_hex
from ._esplora_api import outs_from_object as _outs_from_object
from ._esplora_api import scripthash as _scripthash
from ._esplora_headers import EsploraHeaders
from ._history import Derived, HistoryTx, Outspend, coins_from_history, compare_total
from ._http import HttpTransport, redact_path, secret_path_segments
from ._proxy import Proxy, parse_proxy
from ._retry import RetryPolicy
from ._signet_check import esplora_coinbases, parse_challenge, signet_checked
from ._spv import CacheDir, HeaderCache, Restart, hex32, is_int, pinned, proof_problem

__all__ = ["EsploraSource"]

PAGE = 25
"""Confirmed transactions per page of ``/scripthash/:h/txs/chain`` (electrs' fixed size)."""
MEMPOOL_PAGE = 50
"""Mempool transactions ``/scripthash/:h/txs`` returns at most."""

T = TypeVar("T")
Progress = Callable[[int, int], None]


@dataclass
class _ScriptAnswer:
    script: bytes
    confirmed: list[Listed]
    pending: list[Listed]
    stats: ScriptStats | None = None
    """Read for a long history only (a short one is whole in its first page)."""
    notes: list[str] = field(default_factory=list)
    """What could not be had for this script (said in the look-up's problems)."""


def _socks_proxy(proxy: str | None, session: requests.Session | None) -> Proxy | None:
    """The ``proxy=`` of an Esplora source, checked before anything is sent."""
    if proxy is None:
        return None
    socks = parse_proxy(proxy)
    if session is not None:
        raise SourceSpecError(
            "give proxy= or a session of your own (with its proxies set), not both"
        )
    import importlib.util

    if importlib.util.find_spec("socks") is None:  # requests' SOCKS support is PySocks
        raise SourceSpecError(
            "a SOCKS proxy for Esplora needs PySocks: pip install 'requests[socks]'"
        )
    return socks


class EsploraSource(Closing):
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
        cache_dir: where verified headers are kept across runs (the header store, shared with
            the Electrum source): None for the user's cache directory (``platformdirs``), a
            path, or False for none. What is read from it is verified again; a second scan asks
            the server for no header the store holds.
        proxy: ``socks5h://[user:password@]HOST:PORT`` (Tor: ``socks5h://127.0.0.1:9050``):
            every request goes through this SOCKS5 proxy (not with a ``session`` of the
            caller's: set its ``proxies`` instead). Its credentials are never shown.
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
        cache_dir: CacheDir = None,
        proxy: str | None = None,
        signet_challenge: bytes | str | None = None,
    ) -> None:
        self._network = parse_network(network)
        socks = _socks_proxy(proxy, session)
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
            secrets=(api_key, *path_secrets, *(socks.secrets if socks else ())),
            progress=progress,
        )
        if socks is not None:
            self._http.session.proxies = {"http": socks.url, "https": socks.url}
        self._lock = threading.Lock()
        self.rebuilt = 0
        """Scripts whose coins were rebuilt from history because the server refused to list them."""
        self.headers = HeaderCache(
            self._network, checkpoint=checkpoint, cache_dir=cache_dir, where=self._where
        )
        """The verified headers held, with the header store behind them (:mod:`._spv`)."""
        self._fetcher = EsploraHeaders(
            self._http,
            self.headers,
            where=self._where,
            parallel=parallel,
            max_headers=max_headers,
        )
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

    def _tip(self, together: bool = False) -> BlockRef:
        """The tip, hash first; or both at once (``together``, one wait instead of two).

        Hash first: a block found between the two reads changes the hash read again at the end
        of the look-up, which then starts again. Read together, the hash may also be the newer
        of the two: then the verified chain's hash at that height is not the tip's (the
        look-up starts again, :meth:`._spv.HeaderCache.chain`), and where no chain is verified
        the height is read again at the end (:meth:`_lookup_once`).
        """
        if together:
            hash_text, height_text = self._many(
                [
                    lambda: self._get("/blocks/tip/hash", json_reply=False),
                    lambda: self._get("/blocks/tip/height", json_reply=False),
                ]
            )
            tip_hash = hex32(hash_text, "tip hash")
        else:
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
        reuse = recent is not None and time.monotonic() - when < 1.0
        together = self.verify and not reuse  # the pairing is checked by the header chain
        block = recent if recent is not None and reuse else self._tip(together)
        self._recent_tip = (None, 0.0)
        self._trial_pages = None
        self.headers.begin()
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
        header_jobs = self._fetcher.blocks_jobs(block) if self.verify and confirmed_txids else []
        # a proof kept from an earlier run, that still reaches its held header, is not asked
        height_of = {c.txid: c.height for s in used for c in answers[s].confirmed}
        kept: dict[str, Any] = {}
        for t in want_proofs if self.verify else []:
            h = height_of.get(t)
            if h is not None and h >= 0 and (p := self.headers.proof(t, h)) is not None:
                kept[t] = p
        want_proofs = [t for t in want_proofs if t not in kept]
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
        proof_of.update(kept)
        for run in fetched[n:]:
            self.headers.add(run)
        for a in answers.values():
            for c in a.confirmed:
                if c.height is not None and c.height > block.height:
                    raise Restart  # a block newer than the tip we pinned: the chain moved
        chain, chain_problem = (
            self._fetcher.chain(block) if self.verify and confirmed_txids else (None, None)
        )
        if self.verify and not confirmed_txids:
            # issue 13 hook (#11: an empty answer at an unchecked tip): the tip an answer names
            # is verified like any other header, or the answer says it was not
            chain, chain_problem = self._fetcher.chain(block)
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
                    else self.headers.assured_header(h)  # the header it was assured against
                ),
                esplora_coinbases(
                    lambda p: self._get(p, json_reply=p.endswith("proof")), self._many
                ),
                problems,
            )
        if chain is not None:
            for group in coins.values():
                for coin in group:
                    if coin.assurance == "chain" and coin.height is not None:
                        self.headers.keep_proof(coin.txid, coin.height, chain, proof_of[coin.txid])
        self.headers.save()
        for group in (*coins.values(), *pending.values()):
            for coin in group:
                if coin.problem:
                    problems.append(
                        f"{coin.txid}:{coin.vout} ({self._name(coin.script)}): {coin.problem}"
                    )
        if (
            together
            and chain is None
            and self._get("/blocks/tip/height", json_reply=False).strip() != str(block.height)
        ):
            raise Restart  # read together, unverified: the height may be older than the hash
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
        """Say whether ``block`` (e.g. an earlier scan's) is still the server's tip.

        ``"tip"``; ``"behind"`` (still on the best chain, which grew); ``"stale"`` (no longer
        on it: reorganised away, scan again); or ``"stale-server"``: the server's own tip is
        far behind the local clock or below the last embedded checkpoint
        (:func:`~utxo_truth._checkpoints.tip_problems`), so its word on ``block`` is that of a
        stale or eclipsed server: ask another.
        """
        tip_hash = hex32(self._get("/blocks/tip/hash", json_reply=False), "tip hash")
        status = "tip"
        if tip_hash != block.hash:
            at = self._get(f"/block-height/{block.height}", json_reply=False, missing_ok=True)
            status = "behind" if at is not None and at.lower() == block.hash else "stale"
        if status == "stale" or self._network is Network.REGTEST:
            return status
        height = block.height if status == "tip" else self._tip().height
        header = bytes.fromhex(self._get(f"/block/{tip_hash}/header", json_reply=False) or "")
        when = (
            header_time(header) if len(header) == 80 and header_hash(header) == tip_hash else None
        )
        return "stale-server" if tip_problems(self._network, height, when) else status

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
            return [parse_tx_json(t, self._where) for t in as_list(r, "history", self._where)]

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
            for c in parse_utxos(listing, self._where):
                (answer.confirmed if c.height is not None else answer.pending).append(c)
            if answer.stats.mempool.tx_count > 0:
                txs = as_list(
                    self._get(f"/scripthash/{sh}/txs/mempool", json_reply=True),
                    "history",
                    self._where,
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

    def _spent_in_mempool(self, txs: Any, answer: _ScriptAnswer) -> list[Listed]:
        """Confirmed coins of the script that mempool transactions spend (``/utxo`` omits them)."""
        parsed = [
            parse_tx_json(t, self._where) for t in as_list(txs, "mempool transactions", self._where)
        ]
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
                out.append(Listed(prev_txid, prev_vout, prev_value, -1, spent_by=t["txid"]))
        return out

    def _hex_job(self, txid: str) -> Callable[[], str | None]:
        return lambda: self._get(f"/tx/{txid}/hex", json_reply=False, missing_ok=True)

    def _proof_job(self, txid: str) -> Callable[[], Any]:
        return lambda: self._get(f"/tx/{txid}/merkle-proof", json_reply=True, missing_ok=True)

    # --- coins from a history (the rule is :mod:`._history`'s, shared with Electrum) -------
    def _coins_from_history(
        self,
        a: _ScriptAnswer,
        history: list[dict[str, Any]],
        outspends: dict[str, list[Outspend]] | None,
        objects: dict[str, dict[str, Any]],
        problems: list[str],
    ) -> None:
        """Outputs to the script less those its history spends (``outspends`` has the last word)."""
        for t in history:
            objects.setdefault(t["txid"], t)
        confirmed, pending, said = coins_from_history(
            a.script, [_history_tx(t) for t in history], self._name(a.script), outspends
        )
        problems += said
        a.confirmed += [_listed(c) for c in confirmed]
        a.pending += [_listed(c) for c in pending]

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
                out += [
                    parse_tx_json(t, self._where) for t in as_list(mempool, "history", self._where)
                ]
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
                    page = as_list(self._get(path, json_reply=True), "history", self._where)
                except HistoryTooLargeError as exc:
                    raise HistoryTooLargeError(
                        f"{self._name(answer.script)}: the server refuses to list its coins and "
                        f"to page its history ({exc}). Use a server with higher limits "
                        "(electrs --utxos-limit), or your own node",
                        code=exc.code,
                    ) from None
                if not page:
                    break
                parsed = [parse_tx_json(t, self._where) for t in page]
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
            r = as_list(
                self._get(f"/tx/{txid}/outspends", json_reply=True), "outspends", self._where
            )
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

    # --- parsing and checking ------------------------------------------------------------------
    def _name(self, script: bytes) -> str:
        return address_of(script, self._network) or f"script {script.hex()[:24]}..."

    def _parse_stats(self, r: Any, script: bytes) -> ScriptStats:
        return parse_stats(r, f"{self._where} sent malformed stats for {self._name(script)}")

    def _check_sums(self, a: _ScriptAnswer, problems: list[str]) -> None:
        """The listing must add up to the server's own funded-minus-spent figures."""
        assert a.stats is not None
        name = self._name(a.script)
        listed_conf = sum(c.value for c in a.confirmed)
        spent_in_mempool = sum(c.value for c in a.confirmed if c.spent_by)
        listed_pend = sum(c.value for c in a.pending)
        problems += compare_total(a.stats.chain.balance, listed_conf, name, "chain_stats imply")
        problems += compare_total(
            a.stats.mempool.balance, listed_pend - spent_in_mempool, name, "mempool_stats imply"
        )

    def _check_coin(
        self,
        script: bytes,
        claim: Listed,
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
        if (chain is None or height < chain.start) and self.verify and problem is None:
            # no chain to this height (below the last checkpoint): header assurance, with the
            # header kept from an earlier run if there is one, else (or if it fails) the server's
            assured: str | None = "no kept header"
            if (kept := self.headers.assured_header(height)) is not None:
                assured = header_assured(self._network, claim.txid, height, proof, lambda h: kept)
            if assured is not None:
                fetched: list[bytes] = []

                def header_at(h: int) -> bytes | None:
                    header = self._fetcher.header_at(h)
                    fetched.extend([header] if header is not None else [])
                    return header

                assured = header_assured(self._network, claim.txid, height, proof, header_at)
                if assured is None and fetched:
                    self.headers.keep_assured(height, fetched[0])
            if assured is None:
                return replace(coin, verification="spv", assurance="header")
            chain_problem = f"{chain_problem or 'not verified'}; {assured}"
        reason = self._check_proof(claim.txid, height, proof, chain, chain_problem)
        if reason is not None:
            return replace(coin, problem=problem or reason)
        if problem is None:
            return replace(coin, verification="spv", assurance="chain")
        return replace(coin, verification="unverified")

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
        if chain is not None and not (isinstance(proof, dict) or proof is None):
            return "malformed merkle proof"
        if isinstance(proof, dict) and not is_int(proof.get("block_height")):
            return "malformed merkle proof"
        return proof_problem(txid, height, proof, chain, chain_problem)


def _history_tx(t: dict[str, Any]) -> HistoryTx:
    """A parsed Esplora transaction object as :mod:`._history` reads it."""
    spends = tuple((p_txid, p_vout) for p_txid, p_vout, _s, _v in t["vin"])
    return HistoryTx(t["txid"], t["height"], tuple(t["vout"]), spends, t["block_hash"])


def _listed(c: Derived) -> Listed:
    return Listed(c.txid, c.vout, c.value, c.height, c.block_hash, c.spent_by)
