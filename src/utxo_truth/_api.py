"""The top-level verbs that read a chain: :func:`scan`, and the conveniences built on it.

:func:`reconcile`, :func:`measure` and :func:`scan_reserve_proofs` scan, then compute.

Each convenience reads what it needs (the chain through :func:`scan`, token supplies from EVM
nodes) and hands it to a pure function of a lower layer: ``reconcile.reconcile_holdings``,
``wrapped.compare``, ``reserve_proofs.tally_reserve_proofs``. Nothing below this module scans.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ._exceptions import InputError
from ._models import Holdings
from ._multi import compare
from ._network import Network, parse_network
from .discovery import DEFAULT_GAP, DEFAULT_RANGE, Progress, discover
from .sources import ChainSource, open_source
from .targets import Target, parse_target

if TYPE_CHECKING:  # the conveniences' modules are loaded when first called: a scan stays light
    from ._report_models import Report
    from .claims import Portfolio
    from .reserve_proofs import ReserveProofs, ScannedReserves
    from .watchlist import WatchList
    from .wrapped import ReserveList, TokenSpec, WrappedReport

__all__ = ["measure", "reconcile", "scan", "scan_reserve_proofs"]


def scan(
    targets: str | Target | Sequence[str | Target] = (),
    *,
    network: Network | str,
    source: ChainSource | str | None = None,
    sources: Sequence[ChainSource | str] | None = None,
    policy: Literal["all", "quorum"] = "all",
    gap: int = DEFAULT_GAP,
    range: int = DEFAULT_RANGE,
    progress: Progress | None = None,
    script_type: str | None = None,
    proxy: str | None = None,
    watch_list: str | os.PathLike[str] | WatchList | None = None,
) -> Holdings:
    """Find the unspent outputs of xpubs, descriptors, addresses or scripts at one block.

    Args:
        targets: one target or several (strings are parsed with :func:`parse_target`).
        network: ``main``, ``testnet``, ``testnet4``, ``signet`` or ``regtest``; never implied.
        source: a :class:`ChainSource`, or a spec string such as ``snapshot:utxo.dat``.
        sources: several sources to ask and compare (instead of ``source``): pinned to one tip,
            compared script by script; ``Holdings.consensus`` says who said what.
        policy: with ``sources``: ``all`` must agree (default) or a ``quorum`` (majority).
        gap: stop gap on sources that know history (0 is treated as 1).
        range: indexes 0..range-1 per chain on sources that know only unspent coins.
        progress: optional callback ``(done, total)``, the total known before the work it
            counts: bytes of the file over a snapshot, else scripts looked up (see
            :data:`utxo_truth.discovery.Progress`).
        script_type: what a plain xpub/tpub (no SLIP-132 hint) given as a string stands for:
            by default it is scanned under every single-key type (``pkh``, ``sh-wpkh``,
            ``wpkh``, ``tr``) and ``TargetHoldings.coins_under`` says which hold coins; one
            of those names scans it as that type only.
        proxy: ``socks5h://HOST:PORT`` (or ``socks5://``; ``user:password@`` allowed): the
            SOCKS5 proxy (Tor) through which sources given as spec strings connect
            (Electrum and Esplora). Never shown in a message.
        watch_list: instead of ``targets``, a file of addresses and script hex, one a line
            (an exchange's whole list; see :func:`~utxo_truth.read_watch_list`), or a
            :class:`~utxo_truth.WatchList` already read. The answer has one target of kind
            ``list`` whose coins say their line (``origin.index``); over a snapshot the list
            stays in the compiled scanner's set (about 46 bytes a script), over other
            sources it is asked in batches of 10,000. One source only (not ``sources=``).

    Returns:
        :class:`Holdings`: every UTXO with its origin, totals in satoshis, and the block
        (height and hash) the answer is true at.

    Example:
        >>> h = scan(["bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f"], network="regtest",
        ...          source="snapshot:examples/regtest/utxo-snapshot.dat")  # doctest: +SKIP
        >>> h.total_sats, h.block.height  # doctest: +SKIP
        (3857143, 295)
        >>> h = scan(watch_list="tests/data/watchlist-regtest.txt", network="regtest",
        ...          source="snapshot:tests/data/utxo-snapshot.dat")
        >>> h.targets[0].kind, h.targets[0].scripts_watched, h.targets[0].scripts_holding
        ('list', 6, 4)
    """
    net = parse_network(network)
    if watch_list is not None:
        return _scan_watch_list(watch_list, targets, net, source, sources, gap, range, progress)
    if isinstance(targets, (str, Target)):
        targets = [targets]
    if not targets:
        raise InputError(
            "nothing to scan: give at least one xpub, descriptor, address or script, or watch_list="
        )
    kind = "any" if script_type is None else script_type
    parsed = [
        t if isinstance(t, Target) else parse_target(t, net, script_type=kind) for t in targets
    ]
    if (source is None) == (sources is None):
        raise InputError("give one chain source (source=) or several to compare (sources=)")
    if proxy is not None and not any(isinstance(s, str) for s in (source, *(sources or ()))):
        raise InputError(
            "proxy= applies to sources given as spec strings: pass proxy= to the "
            "EsploraSource or ElectrumSource you made"
        )

    def one(s: ChainSource) -> Holdings:
        if s.network is not net:
            raise InputError(f"the source serves {s.network.label} but the scan is for {net.label}")
        return discover(parsed, s, gap=gap, range=range, progress=progress)

    if source is not None:
        return one(open_source(source, net, proxy=proxy) if isinstance(source, str) else source)
    assert sources is not None
    opened = [open_source(s, net, proxy=proxy) if isinstance(s, str) else s for s in sources]
    held, consensus = compare(opened, one, lambda s: s.describe(), policy=policy)
    return held.model_copy(update={"consensus": consensus})


def _scan_watch_list(
    watch_list: str | os.PathLike[str] | WatchList,
    targets: object,
    net: Network,
    source: ChainSource | str | None,
    sources: object,
    gap: int,
    range_: int,
    progress: Progress | None,
) -> Holdings:
    """:func:`scan` of a watch list: one aggregate result (``discover_watch_list``)."""
    from .discovery import discover_watch_list
    from .watchlist import WatchList, read_watch_list

    if targets:
        raise InputError(
            "a watch list is scanned on its own: give targets or watch_list=, not both (scan "
            "the other targets in a second call, at the same source)"
        )
    if sources is not None or source is None:
        raise InputError("watch_list= takes one chain source (source=), not several to compare")
    opened = open_source(source, net) if isinstance(source, str) else source
    if opened.network is not net:
        raise InputError(
            f"the source serves {opened.network.label} but the scan is for {net.label}"
        )
    watch = watch_list if isinstance(watch_list, WatchList) else read_watch_list(watch_list, net)
    return discover_watch_list(watch, opened, gap=gap, range=range_, progress=progress)


def reconcile(
    portfolio: Portfolio,
    *,
    source: ChainSource | str | None = None,
    holdings: Holdings | None = None,
    gap: int = DEFAULT_GAP,
    range: int = DEFAULT_RANGE,
    progress: Progress | None = None,
) -> Report:
    """Scan the portfolio's wallets and reserves at one block, then split real coin from shadow.

    The convenience: it reads the wrapped-BTC custodians' token supplies (their EVM nodes),
    scans ``scan_targets(portfolio)`` unless ``holdings`` is given, and returns
    :func:`~utxo_truth.reconcile.reconcile_holdings` of the two, which is pure.

    Args:
        portfolio: from :func:`utxo_truth.load_portfolio` or built in code.
        source: a chain source or spec; defaults to the portfolio's own ``source``. Never a
            server the user did not name.
        holdings: an answer already in hand (an app that embeds us): a scan of exactly
            ``scan_targets(portfolio)``, in that order. Then no chain is read.
        gap: stop gap on sources that know history.
        range: indexes per chain on sources that know only unspent coins.
        progress: optional callback ``(done, needed)`` for long scans.

    Example:
        >>> from utxo_truth import load_portfolio, reconcile  # doctest: +SKIP
        >>> r = reconcile(load_portfolio("examples/portfolio.toml"))  # doctest: +SKIP
        >>> r.finality_sats, r.shadow_sats, r.block.height  # doctest: +SKIP
    """
    from .reconcile import reconcile_holdings, scan_targets
    from .wrapped import resolve_portfolio

    portfolio, supplies = resolve_portfolio(portfolio)  # wrapped BTC: liabilities = token supply
    if holdings is None:
        chosen = source if source is not None else portfolio.source
        if chosen is None:
            raise InputError(
                "no chain source: pass source= (e.g. snapshot:PATH) or set source in the portfolio"
            )
        targets = scan_targets(portfolio)
        if not targets:
            raise InputError("the portfolio has no wallets and no reserve evidence to scan")
        holdings = scan(
            targets,
            network=portfolio.network,
            source=chosen,
            gap=gap,
            range=range,
            progress=progress,
        )
    return reconcile_holdings(portfolio, holdings, supplies=supplies)


def measure(
    tokens: Sequence[TokenSpec | str],
    reserves: ReserveList,
    *,
    network: Any,
    source: Any,
    evm_rpc: str | Mapping[str, str] | Mapping[int, str],
    evm_block: int | str = "finalized",
    bitcoin_time: int | None = None,
    max_apart: int | None = None,
) -> WrappedReport:
    """Wrapped BTC from both ends: token supply on EVM chains against verified reserves.

    Reads each supply (:func:`~utxo_truth.wrapped.read_supplies`), scans the reserve addresses,
    and returns :func:`~utxo_truth.wrapped.compare` of the two.

    Args:
        tokens: the token contracts (``TokenSpec`` or ``CHAIN:CONTRACT[:bridged]``).
        reserves: the custodian's reserve list (:func:`utxo_truth.read_reserves`).
        network: the Bitcoin network of the reserve addresses.
        source: the Bitcoin chain source (spec string or :class:`~utxo_truth.ChainSource`).
        evm_rpc: one RPC URL for every chain, or a map from chain (name or id) to URL.
        evm_block: the EVM block to read each supply at (``finalized`` by default, or a number).
        bitcoin_time: the Bitcoin block's header time (unix seconds), if known: enables the
            "blocks too far apart" check; without it the gap is reported as unknown.
        max_apart: seconds apart beyond which the blocks are said to be too far apart
            (None: :data:`~utxo_truth.wrapped.DEFAULT_MAX_APART`, an hour).

    Example (needs an EVM node and a chain source, so not run here)::

        r = measure(["ethereum:0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"],
                    read_reserves("wbtc.json", network="main"), network="main",
                    source="esplora+https://blockstream.info/api", evm_rpc="http://127.0.0.1:8545")
        r.coverage, r.bitcoin_block, r.supplies[0][1].block
    """
    from .wrapped import DEFAULT_MAX_APART, read_supplies
    from .wrapped import compare as compare_wrapped

    if not tokens:
        raise InputError("give at least one token contract (CHAIN:CONTRACT)")
    if not reserves.entries:
        raise InputError("the reserve list is empty")
    supplies = read_supplies(tokens, evm_rpc=evm_rpc, evm_block=evm_block)
    holdings = scan(list(reserves.addresses), network=network, source=source)
    return compare_wrapped(
        supplies,
        reserves,
        holdings,
        bitcoin_time=bitcoin_time,
        max_apart=DEFAULT_MAX_APART if max_apart is None else max_apart,
    )


def scan_reserve_proofs(proofs: ReserveProofs, source: ChainSource | str) -> ScannedReserves:
    """Scan every readable address of a reserve file at one block (one call, one block).

    Then :func:`~utxo_truth.reserve_proofs.tally_reserve_proofs`: what the signatures prove.

    Example:
        >>> from utxo_truth import load_reserve_proofs  # doctest: +SKIP
        >>> p = load_reserve_proofs("okx.csv", "main")  # doctest: +SKIP
        >>> scan_reserve_proofs(p, "snapshot:utxo.dat").proven_sats  # doctest: +SKIP
    """
    from .reserve_proofs import reserve_proof_addresses, tally_reserve_proofs

    held = scan(reserve_proof_addresses(proofs), network=proofs.network, source=source)
    return tally_reserve_proofs(proofs, held)
