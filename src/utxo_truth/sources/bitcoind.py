"""Your own Bitcoin Core node as a chain source (JSON-RPC over HTTP).

The node derives the scripts itself, so this source is asked in descriptors (it is a
:class:`~utxo_truth.sources.DescriptorSource`):

* coins: ``scantxoutset start [{desc, range: [0, N]}, ...]`` — the node's own UTXO set, one pass
  for all descriptors (``range`` is Core's, inclusive: ``[0, 1000]`` is its default);
* history for gap discovery: ``scanblocks`` (needs ``-blockfilterindex``) to find the blocks, then
  ``getdescriptoractivity`` for the scripts used in them, mempool included. Without the filter
  index the source says so (``has_history`` is False) and discovery scans a fixed range;
* coins spent by unconfirmed transactions: ``gettxspendingprevout``.

Amounts are parsed as decimals and turned into satoshis exactly, never through float.
Credentials (user:password or the cookie file) are never printed; errors show ``***``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Collection, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .._exceptions import (
    AccessDeniedError,
    NetworkMismatchError,
    ServerRefusedError,
    SourceProtocolError,
    SourceSpecError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from .._models import BlockRef
from .._network import Network, parse_network
from ._base import Closing, Coin, Lookup
from ._errors import reports_as_source
from ._retry import RetryPolicy

__all__ = ["BitcoindSource"]

_CHAINS = {
    "main": Network.MAIN,
    "test": Network.TESTNET,
    "testnet4": Network.TESTNET4,
    "signet": Network.SIGNET,
    "regtest": Network.REGTEST,
}
_SCAN_IN_PROGRESS = -8


class BitcoindSource(Closing):
    """A Bitcoin Core node (``bitcoind://user:pass@host:port`` or ``?cookie=PATH``).

    Example:
        >>> src = BitcoindSource("127.0.0.1", 18443, network="regtest", cookie="~/.bitcoin/regtest/.cookie")  # doctest: +SKIP
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        network: Network | str,
        user: str | None = None,
        password: str | None = None,
        cookie: str | None = None,
        timeout: float = 300.0,
        progress: Callable[[int, int], None] | None = None,
        gap_discovery: bool = True,
    ) -> None:
        import requests

        self._network = parse_network(network)
        self.url = f"http://{host}:{port}/"
        self.where = f"bitcoind://{host}:{port}"
        self.timeout = timeout
        self.progress = progress
        if cookie is not None:
            try:
                with Path(cookie).expanduser().open("rb") as f:
                    raw = f.read(4097)  # a cookie is __cookie__:64 hex; refuse anything large
                text = raw.decode("ascii") if len(raw) <= 4096 else ""
            except OSError as exc:
                raise SourceUnavailableError(
                    f"{self.where}: cannot read the cookie file: {exc.strerror or exc}"
                ) from exc
            except UnicodeDecodeError:
                text = ""
            if ":" not in text or not text.strip().isprintable():
                # never quote the file: it holds (or was meant to hold) a credential
                raise SourceSpecError(
                    f"{self.where}: the cookie file is not a Bitcoin Core cookie (USER:PASSWORD "
                    "text, as bitcoind writes to .cookie in its data directory)"
                )
            user, _, password = text.strip().partition(":")
        self._session = requests.Session()
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self._session.headers["Authorization"] = f"Basic {token}"
        self._checked = False
        self._filters: bool | None = None
        self.pruned = False
        self.gap_discovery = gap_discovery

    @classmethod
    def from_url(cls, url: str, network: Network | str, **kwargs: Any) -> BitcoindSource:
        """``bitcoind://user:pass@host:port`` or ``bitcoind://host:port?cookie=PATH``."""
        parts = urlsplit(url)
        if parts.scheme != "bitcoind" or not parts.hostname or not parts.port:
            raise SourceSpecError(
                "a Bitcoin Core source is bitcoind://USER:PASS@HOST:PORT or bitcoind://HOST:PORT?cookie=PATH"
            )
        cookie = parse_qs(parts.query).get("cookie", [None])[0]
        return cls(
            parts.hostname,
            parts.port,
            network=network,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            cookie=cookie,
            **kwargs,
        )

    @property
    def network(self) -> Network:
        """The network the node must be on."""
        return self._network

    def describe(self) -> str:
        """``bitcoind://host:port`` (never the credentials; notes a pruned node)."""
        return self.where + (" (pruned: fixed range, no gap discovery)" if self.pruned else "")

    def close(self) -> None:
        """Close the pooled HTTP connections to the node (a later call reconnects)."""
        self._session.close()

    # --- JSON-RPC -----------------------------------------------------------------------------
    @reports_as_source
    def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        """One JSON-RPC call; the result, or a typed error (never the credentials)."""
        import requests

        payload = {"jsonrpc": "1.0", "id": "utxo-truth", "method": method, "params": list(params)}
        # another scantxoutset running is waited out: 1, 2, 4, 8, then 10 s, nine times at most
        attempts = RetryPolicy(retries=9, backoff=1.0, max_pause=10.0, jitter=False).start()
        while True:
            try:
                r = self._session.post(
                    self.url, data=json.dumps(payload), timeout=timeout or self.timeout
                )
            except requests.Timeout as exc:
                raise SourceTimeoutError(f"{self.where}: {method} did not answer in time") from exc
            except requests.RequestException as exc:
                raise SourceUnavailableError(
                    f"{self.where}: cannot reach the node ({type(exc).__name__})"
                ) from exc
            if r.status_code in (401, 403):
                raise AccessDeniedError(
                    f"{self.where}: the node refused the credentials (HTTP {r.status_code})",
                    code=r.status_code,
                )
            try:
                body = json.loads(r.text, parse_float=Decimal)
            except ValueError:
                raise SourceProtocolError(
                    f"{self.where}: {method} answered HTTP {r.status_code} without JSON"
                ) from None
            if not isinstance(body, dict):
                raise SourceProtocolError(
                    f"{self.where}: {method} answered something that is not a JSON-RPC reply"
                )
            error = body.get("error")
            if error:
                code = error.get("code") if isinstance(error, dict) else None
                message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
                if code == _SCAN_IN_PROGRESS and "in progress" in message.lower():
                    pause = attempts.after_failure()
                    if pause is not None:
                        time.sleep(pause)  # another scantxoutset is running: wait for it
                        continue
                raise ServerRefusedError(
                    f"{self.where}: {method} failed: {message} (code {code})", code=code
                )
            return body.get("result")

    def check(self) -> None:
        """The node is on the right network, not still syncing; learn whether it has filters."""
        if self._checked:
            return
        info = self.call("getblockchaininfo")
        chain = _CHAINS.get(str(info.get("chain")))
        if chain is not self._network:
            raise NetworkMismatchError(
                f"{self.where} is on {info.get('chain')}, but the network is {self._network.label}",
                expected=self._network.label,
                found=str(info.get("chain")),
            )
        if info.get("initialblockdownload"):
            raise SourceUnavailableError(
                f"{self.where} is still syncing (initial block download at {info.get('blocks')} of "
                f"{info.get('headers')} blocks): its UTXO set is not the chain's yet; wait for it"
            )
        indexes = self.call("getindexinfo")
        bfi = indexes.get("basic block filter index") if isinstance(indexes, dict) else None
        self._filters = bool(isinstance(bfi, dict) and bfi.get("synced"))
        # getdescriptoractivity reads the blocks scanblocks finds; a pruned node has thrown the old
        # ones away, so history there is incomplete: say so and scan Core's range instead
        self.pruned = bool(info.get("pruned")) and int(info.get("pruneheight", 0) or 0) > 0
        if self.pruned:
            self._filters = False
        self._checked = True

    @property
    def has_history(self) -> bool:
        """True with a synced block filter index (gap discovery); else a fixed range is scanned."""
        self.check()
        return bool(self._filters) and self.gap_discovery

    # --- look-ups ----------------------------------------------------------------------------
    def lookup(self, scripts: Collection[bytes]) -> Lookup:
        """Coins of raw scripts (``raw(HEX)`` descriptors), for callers outside discovery."""
        return self.lookup_descriptors([(f"raw({s.hex()})", None) for s in scripts])

    def lookup_descriptors(self, requests: Sequence[tuple[str, int | None]]) -> Lookup:
        """``scantxoutset`` over descriptors (``range`` end inclusive, None for a single script)."""
        self.check()
        objects: list[Any] = [
            {"desc": d, "range": [0, end]} if end is not None else d for d, end in requests
        ]
        result = self._scan(objects)
        if (
            not isinstance(result, dict)
            or not result.get("success")
            or not isinstance(result.get("unspents"), list)
        ):
            raise SourceProtocolError(f"{self.where}: scantxoutset did not complete")
        block = BlockRef(height=int(result["height"]), hash=str(result["bestblock"]))
        coins: dict[bytes, list[Coin]] = {}
        outpoints = []
        for u in result["unspents"]:
            sats = Decimal(u["amount"]) * 100_000_000
            if sats != sats.to_integral_value() or sats < 0:
                raise SourceProtocolError(
                    f"{self.where}: amount {u['amount']} is not a whole number of satoshis"
                )
            script = bytes.fromhex(u["scriptPubKey"])
            coins.setdefault(script, []).append(
                Coin(
                    txid=str(u["txid"]),
                    vout=int(u["vout"]),
                    value=int(sats),
                    script=script,
                    height=int(u["height"]),
                    coinbase=bool(u.get("coinbase", False)),
                    verification="node",
                )
            )
            outpoints.append({"txid": u["txid"], "vout": u["vout"]})
        spent = self._mempool_spends(outpoints)
        final = {
            s: tuple(
                Coin(
                    c.txid,
                    c.vout,
                    c.value,
                    c.script,
                    c.height,
                    c.coinbase,
                    "node",
                    None,
                    spent.get((c.txid, c.vout)),
                )
                for c in cs
            )
            for s, cs in coins.items()
        }
        return Lookup(block=block, coins=final, used=None)

    def used_scripts(self, descriptor: str, start: int, end: int) -> tuple[frozenset[bytes], int]:
        """Scripts at indexes start..end (inclusive) with history, mempool included, and the height.

        Uses ``scanblocks`` (block filters) and then ``getdescriptoractivity``.
        """
        self.check()
        request = [{"desc": descriptor, "range": [start, end]}]
        found = self.call("scanblocks", "start", request)
        if not isinstance(found, dict) or not found.get("completed", True):
            raise SourceProtocolError(f"{self.where}: scanblocks did not complete")
        activity = self.call(
            "getdescriptoractivity", list(found.get("relevant_blocks", [])), request, True
        )
        used = set()
        for item in activity.get("activity", []) if isinstance(activity, dict) else []:
            for key in ("output_spk", "prevout_spk"):
                spk = item.get(key)
                if isinstance(spk, dict) and isinstance(spk.get("hex"), str):
                    used.add(bytes.fromhex(spk["hex"]))
        return frozenset(used), int(found.get("to_height", -1))

    def _scan(self, objects: list[Any]) -> Any:
        if self.progress is None:
            return self.call("scantxoutset", "start", objects)
        done = threading.Event()

        def poll() -> None:  # Core reports a running scan's progress in percent
            while not done.wait(1.0):
                try:
                    status = self.call("scantxoutset", "status", timeout=10)
                except Exception:
                    return
                if isinstance(status, dict) and self.progress is not None:
                    self.progress(int(status.get("progress", 0)), 100)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            return self.call("scantxoutset", "start", objects)
        except KeyboardInterrupt:
            try:
                self.call("scantxoutset", "abort", timeout=10)
            finally:
                raise
        finally:
            done.set()

    def _mempool_spends(self, outpoints: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
        if not outpoints:
            return {}
        result = self.call("gettxspendingprevout", outpoints)
        return {
            (str(r["txid"]), int(r["vout"])): str(r["spendingtxid"])
            for r in result
            if isinstance(r, dict) and r.get("spendingtxid")
        }
