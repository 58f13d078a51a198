"""Gap-limit discovery over receive and change chains. Knows nothing about any server.

Two methods, chosen by what the source can tell:

* **gap** (a source that knows history: Electrum, Esplora, a node with block filters): a chain
  is searched until ``gap`` consecutive indexes after the last used one have no history. "Used"
  means *any* history, so an address that was paid and later emptied still counts. As in BDK, a
  gap of 0 is treated as 1.
* **range** (a source that only knows unspent coins: a UTXO snapshot, ``scantxoutset``): a spent
  address and an unused one look the same, so a gap search would stop early and miss coins
  further out. Every chain is scanned over indexes ``0 .. range-1`` instead (Bitcoin Core's
  default range is 0..999). "Used" then means "holds a coin now".

Every round asks the source once, for all targets together; every answer must be true at the
same block, or the scan fails with :class:`InconsistentTipError` instead of mixing two states.

Example:
    >>> from utxo_truth.targets import parse_targets
    >>> from utxo_truth.sources import SnapshotSource
    >>> src = SnapshotSource("examples/regtest/utxo-snapshot.dat", "regtest")  # doctest: +SKIP
    >>> discover(parse_targets(["bcrt1q..."], "regtest"), src).total_sats  # doctest: +SKIP
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

from ._columns import CoinColumns, MatchedCoins, UtxoView, group_rows
from ._exceptions import InconsistentTipError, InputError, SourceProtocolError
from ._models import (
    COINBASE_MATURITY,
    MAX_MONEY,
    BlockRef,
    ChainScan,
    Holdings,
    Origin,
    TargetHoldings,
    Utxo,
    paused_gc,
    totals_of,
    trusted_utxo,
    unique_coins,
)
from .sources._base import (
    BatchingSource,
    ChainSource,
    Coin,
    ColumnCoins,
    DescriptorSource,
    FileSource,
    Lookup,
)
from .targets import Target, address_of

if TYPE_CHECKING:
    from .watchlist import WatchList

__all__ = [
    "DEFAULT_GAP",
    "DEFAULT_RANGE",
    "MAX_INDEX",
    "Progress",
    "discover",
    "discover_watch_list",
]

DEFAULT_GAP = 20
"""Unused indexes after the last used one before a chain is considered finished (BIP44)."""
DEFAULT_RANGE = 1000
"""Indexes scanned per chain on a source without history (Bitcoin Core's 0..999)."""
MAX_INDEX = 1 << 31
"""Non-hardened indexes end here."""

Progress = Callable[[int, int], None]
"""Called with ``(done, total)``: ``total`` is known before the work it counts starts.

Over a :class:`~utxo_truth.sources._base.FileSource` (a UTXO snapshot) it counts bytes of the
file read, of a total fixed for the scan (the file's size, twice when its UTXO set hash is
checked first). Otherwise it counts scripts looked up: over a source without history every
script is known at once (a fixed total); a gap search learns from each answer whether to go on,
so its total grows a round at a time, each round's scripts counted before they are asked."""


@dataclass
class _Chain:
    target: int
    branch: int
    next_index: int = 0
    last_used: int = -1
    used: set[int] = field(default_factory=set)

    def walk(
        self, start: int, scripts: list[bytes], used: frozenset[bytes], gap: int
    ) -> list[bytes]:
        """Read an answer for indexes start.. in order: the gap stop rule, in one place.

        Returns the scripts up to the stop point; anything fetched beyond it is dropped, so the
        result does not depend on how many indexes were asked at once.
        """
        self.next_index = start + len(scripts)
        for offset, s in enumerate(scripts):
            index = start + offset
            if index > self.last_used + gap:
                self.next_index = index
                return scripts[:offset]
            if s in used:
                self.used.add(index)
                self.last_used = index
        return scripts


def discover(
    targets: Sequence[Target],
    source: ChainSource,
    *,
    gap: int = DEFAULT_GAP,
    range: int = DEFAULT_RANGE,  # the public spelling, as in scan(range=...)
    batch: int | None = None,
    progress: Progress | None = None,
) -> Holdings:
    """Find every UTXO of ``targets`` through ``source``, at one block.

    Args:
        targets: parsed targets, all of the source's network.
        source: any :class:`~utxo_truth.sources.ChainSource`.
        gap: stop gap for history sources (0 is treated as 1).
        range: indexes per chain for sources without history.
        batch: smallest number of indexes asked per chain per round (history sources); by
            default the source's ``lookup_batch`` (1 for a source that pays a request per
            script, which then asks for no more than the stop rule needs), else 100.
        progress: optional callback ``(done, total)``, see :data:`Progress`.

    Example:
        >>> from utxo_truth import ElectrumSource, parse_targets
        >>> src = ElectrumSource("127.0.0.1", 50001, network="regtest", tls=False)
        >>> discover(parse_targets(["tpub..."], "regtest"), src, gap=20)  # doctest: +SKIP
    """
    return _discover(targets, source, gap=gap, range_=range, batch=batch, progress=progress)


def _discover(
    targets: Sequence[Target],
    source: ChainSource,
    *,
    gap: int,
    range_: int,
    batch: int | None,
    progress: Progress | None,
) -> Holdings:
    """:func:`discover`, with ``range`` as ``range_`` (the body uses the builtin ``range``)."""
    if progress is not None and isinstance(source, FileSource) and source.progress is None:
        source.progress = progress  # a snapshot's pass is the slow part: count its bytes
        try:
            return _discover(targets, source, gap=gap, range_=range_, batch=batch, progress=None)
        finally:
            source.progress = None
    if isinstance(gap, bool) or not isinstance(gap, int) or gap < 0:
        raise InputError(f"gap must be a whole number >= 0, not {gap!r}")
    if isinstance(range_, bool) or not isinstance(range_, int) or not 1 <= range_ <= MAX_INDEX:
        raise InputError(f"range must be a whole number from 1 to 2**31, not {range_!r}")
    gap = max(gap, 1)
    if batch is None:
        batch = source.lookup_batch if isinstance(source, BatchingSource) else 100
    if not isinstance(batch, int) or batch < 1:
        raise InputError(f"batch must be a whole number >= 1, not {batch!r}")
    for t in targets:
        if t.network is not source.network:
            raise InputError(
                f"target {t.text[:20]}... is parsed for {t.network.label} but the source serves "
                f"{source.network.label}"
            )
    if isinstance(source, DescriptorSource):
        return _discover_descriptors(targets, source, gap, range_, batch)
    chains = [_Chain(i, b) for i, t in enumerate(targets) for b in range(len(t.branches))]
    by_key = {(c.target, c.branch): c for c in chains}
    origins: dict[bytes, list[Origin]] = {}
    for i, t in enumerate(targets):
        if not t.ranged:
            origins.setdefault(t.script(), []).append(Origin(target=i))

    block: BlockRef | None = None
    coins: dict[bytes, tuple[Coin, ...]] = {}
    pending: dict[bytes, tuple[Coin, ...]] = {}
    columns: list[CoinColumns] = []  # answers given as columns (a snapshot): kept as such
    problems: list[str] = []
    done = 0
    checked = True  # every answer's coins proven in range by the source (Lookup.checked)

    def ask(scripts: list[bytes]) -> Lookup:
        nonlocal block, done, checked
        if progress:  # this round's scripts are counted before they are asked
            progress(done, done + len(scripts))
        answer = source.lookup(scripts)
        checked = checked and answer.checked
        if block is None:
            block = answer.block
        elif answer.block != block:
            raise InconsistentTipError(
                f"{source.describe()} answered at block {answer.block} after {block} in the same "
                "scan: the chain moved. Scan again."
            )
        if answer.columns is not None and _as_columns(answer):
            columns.append(answer.columns)
        else:
            coins.update(answer.coins)
        pending.update(answer.pending)
        problems.extend(p for p in answer.problems if p not in problems)
        done += len(scripts)
        if progress:
            progress(done, done)
        return answer

    def derive(chain: _Chain, stop: int) -> list[bytes]:
        scripts = targets[chain.target].scripts(chain.branch, chain.next_index, stop)
        chain.next_index = stop
        return scripts

    def attach(chain: _Chain, start: int, scripts: list[bytes]) -> None:
        for offset, s in enumerate(scripts):
            origins.setdefault(s, []).append(
                Origin(target=chain.target, chain=chain.branch, index=start + offset)
            )

    singles = list(origins)
    if not source.has_history:
        method = "range"
        wanted = list(singles)
        for c in chains:
            scripts = derive(c, range_)
            attach(c, 0, scripts)
            wanted += scripts
        ask(wanted)
        held = [s for s, found in coins.items() if found]
        held += [cols.scripts[lab] for cols in columns for lab in cols.labels()]
        for s in held:
            for o in origins.get(s, ()):
                if o.chain is not None and o.index is not None:
                    by_key[(o.target, o.chain)].used.add(o.index)
    else:
        # Scripts are asked for in batches (for speed), but the answer is read index by index
        # so the result does not depend on the batch size: a chain ends at the first index more
        # than `gap` past its last used one, and anything fetched beyond that is dropped.
        method = "gap"
        open_chains = list(chains)
        first = True
        while first or open_chains:
            wanted = list(singles) if first else []
            first = False
            asked: list[tuple[_Chain, int, list[bytes]]] = []
            for c in open_chains:
                start = c.next_index
                stop = min(max(c.last_used + gap + 1, start + batch), MAX_INDEX)
                scripts = derive(c, stop)
                asked.append((c, start, scripts))
                wanted += scripts
            used = ask(wanted).used or frozenset()
            for c, start, scripts in asked:
                attach(c, start, c.walk(start, scripts, used, gap))
            open_chains = [
                c
                for c in open_chains
                if c.next_index <= c.last_used + gap and c.next_index < MAX_INDEX
            ]
    if block is None:  # nothing to look up at all: still ask, so the answer names its block
        block = source.lookup([]).block
    if len(columns) == 1 and not coins and not pending:  # one pass over a snapshot, as columns
        return _holdings_columns(
            targets, source, block, chains, origins, columns[0], tuple(problems), method, gap,
            range_,
        )  # fmt: skip
    for cols in columns:  # several answers as columns (not a snapshot's one pass): as objects
        coins.update(ColumnCoins(cols))
    with paused_gc():
        return _holdings(
            targets,
            source,
            block,
            chains,
            origins,
            coins,
            pending,
            tuple(problems),
            method,
            gap,
            range_,
            checked=checked,
        )


def _discover_descriptors(
    targets: Sequence[Target], source: DescriptorSource, gap: int, range_: int, batch: int
) -> Holdings:
    """Discovery through a node that derives scripts itself: it is asked in descriptors.

    Ranges are the node's own, inclusive (``[0, range]``, as ``scantxoutset``); gap discovery asks
    ``used_scripts`` in windows of ``batch + 1`` indexes and walks them with the same stop rule.
    """
    chains = [_Chain(i, b) for i, t in enumerate(targets) for b in range(len(t.branches))]
    origins: dict[bytes, list[Origin]] = {}
    singles: list[tuple[str, int | None]] = []
    for i, t in enumerate(targets):
        if not t.ranged:
            origins.setdefault(t.script(), []).append(Origin(target=i))
            singles.append((t.scan_descriptor(), None))

    def desc(c: _Chain) -> str:
        t = targets[c.target]
        return t.scan_descriptor(c.branch if len(t.branches) > 1 else None)

    def attach(c: _Chain, start: int, scripts: list[bytes]) -> None:
        for offset, s in enumerate(scripts):
            origins.setdefault(s, []).append(
                Origin(target=c.target, chain=c.branch, index=start + offset)
            )

    heights: set[int] = set()
    if not source.has_history:
        method, end = "range", range_
        for c in chains:
            attach(c, 0, targets[c.target].scripts(c.branch, 0, end + 1))
            c.next_index = end + 1
    else:
        method = "gap"
        for c in chains:
            while c.next_index <= c.last_used + gap:
                start, stop = c.next_index, c.next_index + batch
                used, height = source.used_scripts(desc(c), start, stop)
                heights.add(height)
                scripts = targets[c.target].scripts(c.branch, start, stop + 1)
                attach(c, start, c.walk(start, scripts, used, gap))
        end = max([range_, *(c.next_index - 1 for c in chains)])
    requests: list[tuple[str, int | None]] = [(desc(c), end) for c in chains]
    answer = source.lookup_descriptors(requests + singles)
    if heights - {answer.block.height}:
        raise InconsistentTipError(
            f"{source.describe()} answered history at heights {sorted(heights)} and coins at "
            f"{answer.block.height}: the chain moved. Scan again."
        )
    coins = dict(answer.coins)
    if method == "range":
        for s, found in coins.items():
            for o in origins.get(s, ()):
                if found and o.chain is not None and o.index is not None:
                    next(c for c in chains if (c.target, c.branch) == (o.target, o.chain)).used.add(
                        o.index
                    )
    return _holdings(
        targets,
        source,
        answer.block,
        chains,
        origins,
        coins,
        {},
        answer.problems,
        method,
        gap,
        range_,
    )


def _as_columns(answer: Lookup) -> bool:
    """Read ``answer`` from its columns: proven coins whose ``coins`` are the view over them.

    A wrapper that filters or replaces ``coins`` (``dataclasses.replace``) but leaves
    ``columns`` is read from its ``coins``, never from the columns it did not change.
    """
    return (
        answer.columns is not None
        and answer.checked
        and isinstance(answer.coins, ColumnCoins)
        and answer.coins.over(answer.columns)
    )


def _immature(c: Coin, block: BlockRef) -> bool:
    # a coinbase output is spendable only COINBASE_MATURITY blocks on (consensus, tx_verify.cpp)
    return c.coinbase and c.height is not None and block.height + 1 - c.height < COINBASE_MATURITY


def _trusted_utxos(
    found: tuple[Coin, ...], script_hex: str, address: str | None, o: Origin, block: BlockRef
) -> list[Utxo]:
    """The models of coins a source proved in range (``Lookup.checked``), without validation."""
    return [
        trusted_utxo({
            "txid": c.txid, "vout": c.vout, "value": c.value, "script_pubkey": script_hex,
            "address": address, "height": c.height, "coinbase": c.coinbase,
            "immature": _immature(c, block), "origin": o, "verification": c.verification,
            "problem": c.problem, "spent_by": c.spent_by,
        })
        for c in found
    ]  # fmt: skip


def _utxo(c: Coin, script: bytes, address: str | None, origin: Origin, block: BlockRef) -> Utxo:
    return Utxo(
        txid=c.txid,
        vout=c.vout,
        value=c.value,
        script_pubkey=script.hex(),
        address=address,
        height=c.height,
        coinbase=c.coinbase,
        immature=_immature(c, block),
        origin=origin,
        verification=c.verification,
        problem=c.problem,
        spent_by=c.spent_by,
    )


def _order(u: Utxo) -> tuple[int, str, int]:
    return (u.height if u.height is not None else 1 << 40, u.txid, u.vout)


# _order for coins that all have a height (a snapshot's): the same order, without a Python call
_order_confirmed = attrgetter("height", "txid", "vout")


def _holdings(
    targets: Sequence[Target],
    source: ChainSource,
    block: BlockRef,
    chains: list[_Chain],
    origins: dict[bytes, list[Origin]],
    coins: dict[bytes, tuple[Coin, ...]],
    pending: dict[bytes, tuple[Coin, ...]],
    problems: tuple[str, ...],
    method: str,
    gap: int,
    range_: int,
    *,  # coins and pending are emptied
    checked: bool = False,
) -> Holdings:
    network = source.network
    confirmed: list[list[Utxo]] = [[] for _ in targets]
    unconfirmed: list[list[Utxo]] = [[] for _ in targets]
    for found_map, out in ((coins, confirmed), (pending, unconfirmed)):
        while found_map:  # emptied as it goes: each script's coins freed once they are models
            script, found = found_map.popitem()
            where = origins.get(script, ())
            if not where or not found:
                continue
            address = address_of(script, network)
            for o in where:
                if checked:
                    out[o.target] += _trusted_utxos(found, script.hex(), address, o, block)
                else:
                    out[o.target].extend(_utxo(c, script, address, o, block) for c in found)
    results = []
    for i, t in enumerate(targets):
        scans = _chain_scans(t, i, chains)
        held = {
            t.branch_types[u.origin.chain]
            for u in confirmed[i] + unconfirmed[i]
            if t.branch_types and u.origin is not None and u.origin.chain is not None
        }
        fields = {
            "target": t.text,
            "kind": t.kind,
            "script_type": t.script_type,
            "scanned_as": t.scanned_as,
            "coins_under": tuple(k for k in t.scanned_as if k in held),
            "method": "single" if not t.ranged else "gap" if method == "gap" else "range",
            "bound": 0 if not t.ranged else gap if method == "gap" else range_,
            "chains": scans,
            "utxos": tuple(sorted(confirmed[i], key=_order_confirmed if checked else _order)),
            "pending": tuple(sorted(unconfirmed[i], key=_order)),
        }
        results.append(_build(TargetHoldings, fields, checked))
    all_utxos, all_pending = unique_coins(results)  # each outpoint once
    return _build(
        Holdings,
        {
            "network": network.value,
            "block": block,
            "source": source.describe(),
            "gap": gap,
            "range": range_,
            "targets": tuple(results),
            "utxos": all_utxos
            if checked and len(results) == 1  # one target's coins: already in order
            else tuple(sorted(all_utxos, key=_order_confirmed if checked else _order)),
            "pending": tuple(sorted(all_pending, key=_order)),
            "problems": problems,
        },
        checked,
    )


def _chain_scans(t: Target, i: int, chains: list[_Chain]) -> tuple[ChainScan, ...]:
    return tuple(
        ChainScan(
            chain=c.branch,
            name=t.branches[c.branch],
            script_type=t.branch_types[c.branch] if t.branch_types else None,
            scanned=c.next_index,
            used_indexes=tuple(sorted(c.used)),
            last_used_index=max(c.used) if c.used else None,
        )
        for c in chains
        if c.target == i
    )


def _holdings_columns(
    targets: Sequence[Target],
    source: ChainSource,
    block: BlockRef,
    chains: list[_Chain],
    origins: dict[bytes, list[Origin]],
    cols: CoinColumns,
    problems: tuple[str, ...],
    method: str,
    gap: int,
    range_: int,
) -> Holdings:
    """:func:`_holdings` for one answer given as columns (a snapshot's): the same Holdings.

    Its coin tuples are lazy :class:`~utxo_truth._columns.UtxoView` over the columns.

    The semantics are _holdings' own: a target lists each coin once per origin it watches the
    coin's script under, in the columns' order (height, txid, vout); the top level lists each
    coin once with the first target's origin (as ``unique_coins`` keeps the first seen), the
    others kept for ``also_origins``. Totals are summed over the columns.
    """
    network = source.network
    given = _given_addresses(targets)
    every: list[Origin] = []  # origin id -> origin
    present = sorted(cols.labels())
    nlabels = len(cols.scripts)
    first_slot = array("I", bytes(4 * nlabels))
    count = array("I", bytes(4 * nlabels))
    slot_oid, slot_target = array("I"), array("I")
    top: dict[int, int] = {}
    also: dict[int, list[Origin]] = {}
    address: dict[int, str | None] = {}
    for lab in present:
        script = cols.scripts[lab]
        where = origins.get(script, ())
        if not where:
            raise SourceProtocolError(
                f"{source.describe()} answered with coins of script {script.hex()[:40]}, which "
                "was never asked for"
            )
        first_slot[lab] = len(slot_oid)
        count[lab] = len(where)
        for o in where:
            slot_oid.append(len(every))
            slot_target.append(o.target)
            every.append(o)
        # unique_coins walks the targets in order: the lowest target's first origin is shown
        ranked = sorted(range(len(where)), key=lambda k: where[k].target)  # stable
        shown = where[ranked[0]]
        top[lab] = first_slot[lab] + ranked[0]
        others = [where[k] for k in ranked[1:] if where[k] != shown]
        if others:
            also[lab] = others
        address[lab] = given.get(script) or address_of(script, network)
    coins = MatchedCoins(cols, block.height, every, top, also, address)
    offsets, rows, oids = group_rows(
        cols.label, memoryview(first_slot), memoryview(count), memoryview(slot_oid),
        memoryview(slot_target), len(targets),
    )  # fmt: skip
    results = []
    for i, t in enumerate(targets):
        a, b = offsets[i], offsets[i + 1]
        view = UtxoView(coins, rows[a:b], oids[a:b])
        chains_held = {every[o].chain for o in set(oids[a:b])} if t.branch_types else set()
        held = {t.branch_types[c] for c in chains_held if c is not None}
        total, immature = view.sums()
        fields: dict[str, Any] = {
            "target": t.text,
            "kind": t.kind,
            "script_type": t.script_type,
            "scanned_as": t.scanned_as,
            "coins_under": tuple(k for k in t.scanned_as if k in held),
            "method": "single" if not t.ranged else "gap" if method == "gap" else "range",
            "bound": 0 if not t.ranged else gap if method == "gap" else range_,
            "chains": _chain_scans(t, i, chains),
            "utxos": view,
            "pending": (),
            **_column_totals(total, immature),
        }
        results.append(TargetHoldings.model_construct(**fields))
    every_coin = UtxoView(coins)
    total, immature = every_coin.sums()
    if total > MAX_MONEY:  # amount.h MoneyRange: no set of coins can hold more
        raise SourceProtocolError(
            f"{source.describe()}: the coins found sum to {total} sats, above 21 million BTC "
            "(MAX_MONEY): the source's data is corrupt"
        )
    answer: dict[str, Any] = {
        "network": network.value,
        "block": block,
        "source": source.describe(),
        "gap": gap,
        "range": range_,
        "targets": tuple(results),
        "utxos": every_coin,  # stands for the tuple (see UtxoView)
        "pending": (),
        "problems": problems,
        **_column_totals(total, immature),
    }
    return Holdings.model_construct(**answer)


def _given_addresses(targets: Sequence[Target]) -> dict[bytes, str]:
    """The address of each address target's script, as ``address_of`` would write it.

    The target parsed from that very text, checksum and all: base58check and bech32 both have
    one spelling per script, bech32's in lower case (BIP173). Saves an encoding per target
    (thousands of addresses given with --file).
    """
    out: dict[bytes, str] = {}
    for t in targets:
        if t.kind == "address" and not t.ranged:
            hrp = t.network.params.hrp + "1"
            text = t.text.lower() if t.text.lower().startswith(hrp) else t.text
            out[t.script()] = text
    return out


def _column_totals(total: int, immature: int) -> dict[str, int]:
    """totals_of for coins read from the user's own snapshot (all ``node``, none pending)."""
    return {
        "total_sats": total,
        "immature_sats": immature,
        "verified_sats": total,
        "unverified_sats": 0,
        "spent_in_mempool_sats": 0,
        "pending_sats": 0,
    }


M = TypeVar("M", TargetHoldings, Holdings)


def _build(model: type[M], fields: dict[str, Any], checked: bool) -> M:
    """``model(**fields)``, validated; for proven coins (``checked``) built directly instead.

    What validation would check is true by construction here: each coin proven in range by
    the source, totals summed in one pass over the very tuples stored, outpoints made unique by
    ``unique_coins``, every confirmed coin with a height (a snapshot's coins all have one).
    """
    if not checked:
        return model(**fields)
    every: dict[str, Any] = {**fields, **totals_of(fields["utxos"], fields["pending"])}
    return model.model_construct(**every)


def discover_watch_list(
    watch: WatchList,
    source: ChainSource,
    *,
    gap: int = DEFAULT_GAP,
    range: int = DEFAULT_RANGE,  # kept in the answer only: a list has no indexes to range over
    batch: int = 10_000,
    progress: Progress | None = None,
) -> Holdings:
    """Every UTXO of a watch list's scripts at one block, as one result of kind ``list``.

    Over a UTXO snapshot: one pass over the file with the list's own (compiled) set of stored
    forms, no Python object per watched script. Over any other source: the scripts asked
    ``batch`` at a time (in the file's order), every answer at the same block. Each coin's
    ``origin`` is ``Origin(target=0, index=LINE)``: the line of the file that watched it.

    Example:
        >>> from utxo_truth import SnapshotSource, read_watch_list
        >>> src = SnapshotSource("examples/regtest/utxo-snapshot.dat", "regtest")  # doctest: +SKIP
        >>> w = read_watch_list("exchange.txt", "regtest")  # doctest: +SKIP
        >>> discover_watch_list(w, src).targets[0].scripts_holding  # doctest: +SKIP
    """
    if watch.network is not source.network:
        raise InputError(
            f"the watch list is read for {watch.network.label} but the source serves "
            f"{source.network.label}"
        )
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InputError(f"batch must be a whole number >= 1, not {batch!r}")
    answers: list[Lookup] = []
    lookup_watched = getattr(source, "lookup_watched", None)
    if callable(lookup_watched):  # a snapshot: one pass, its progress in bytes
        counted: FileSource | None = None
        if progress is not None and isinstance(source, FileSource) and source.progress is None:
            counted = source
            counted.progress = progress
        try:
            answers.append(lookup_watched(watch))
        finally:
            if counted is not None:
                counted.progress = None
    else:
        total = len(watch)
        done = 0
        for scripts in watch.batches(batch):
            if progress:
                progress(done, total)
            answer = source.lookup(scripts)
            if answers and answer.block != answers[0].block:
                raise InconsistentTipError(
                    f"{source.describe()} answered at block {answer.block} after "
                    f"{answers[0].block} in the same scan: the chain moved. Scan again."
                )
            answers.append(answer)
            done += len(scripts)
            if progress:
                progress(done, total)
    block = answers[0].block if answers else source.lookup([]).block
    checked = all(a.checked for a in answers)
    problems: list[str] = []
    for a in answers:
        problems.extend(p for p in a.problems if p not in problems)
    network = source.network
    cols = answers[0].columns if len(answers) == 1 and _as_columns(answers[0]) else None
    if cols is not None and not answers[0].pending:
        # a snapshot's one pass, as columns: no object per coin until one is read
        return _watch_list_columns(watch, source, cols, block, tuple(problems), max(gap, 1), range)
    origins: dict[bytes, Origin] = {}
    confirmed: list[Utxo] = []
    unconfirmed: list[Utxo] = []
    with paused_gc():
        for a in answers:
            for found_map, out in ((a.coins, confirmed), (a.pending, unconfirmed)):
                for script, found in found_map.items():
                    if not found:
                        continue
                    line = watch.line_of(script)
                    if line is None:  # a source's answer for a script not asked: not ours
                        continue
                    o = origins.get(script)
                    if o is None:
                        o = origins[script] = Origin(target=0, index=line)
                    address = address_of(script, network)
                    if checked and out is confirmed:
                        out += _trusted_utxos(found, script.hex(), address, o, block)
                    else:
                        out.extend(_utxo(c, script, address, o, block) for c in found)
        utxos = tuple(sorted(confirmed, key=_order_confirmed if checked else _order))
        pending = tuple(sorted(unconfirmed, key=_order))
        held = _build(
            TargetHoldings,
            {
                "target": watch.label,
                "kind": "list",
                "script_type": "mixed",
                "method": "list",
                "bound": 0,
                "chains": (),
                "utxos": utxos,
                "pending": pending,
                "scripts_watched": len(watch),
                "scripts_holding": len(origins),
            },
            checked,
        )
        if not checked:
            utxos, pending = unique_coins([held])
        return _build(
            Holdings,
            {
                "network": network.value,
                "block": block,
                "source": source.describe(),
                "gap": max(gap, 1),
                "range": range,
                "targets": (held,),
                "utxos": utxos,
                "pending": pending,
                "problems": tuple(problems),
            },
            checked,
        )


def _watch_list_columns(
    watch: WatchList,
    source: ChainSource,
    cols: CoinColumns,
    block: BlockRef,
    problems: tuple[str, ...],
    gap: int,
    range_: int,
) -> Holdings:
    """:func:`discover_watch_list`'s answer from one answer given as columns (a snapshot's).

    The same Holdings as the per-coin path: one origin per script that holds coins,
    ``Origin(target=0, index=LINE)``; one target, whose coins are every coin once, so the
    target's tuple and the top level's are one lazy :class:`~utxo_truth._columns.UtxoView`
    over every row. Only the scripts holding coins are walked here (the scanner labels just
    those), never the list's 10^7 lines.
    """
    network = source.network
    origins: list[Origin] = []  # origin id (= its place) -> origin
    first: dict[int, int] = {}
    address: dict[int, str | None] = {}
    lines: set[int] = set()
    for lab in sorted(cols.labels()):
        script = cols.scripts[lab]
        line = watch.line_of(script)
        if line is None:
            raise SourceProtocolError(
                f"{source.describe()} answered with coins of script {script.hex()[:40]}, which "
                "the watch list does not hold"
            )
        first[lab] = len(origins)
        origins.append(Origin(target=0, index=line))
        address[lab] = address_of(script, network)
        lines.add(line)
    view = UtxoView(MatchedCoins(cols, block.height, origins, first, {}, address))
    total, immature = view.sums()
    if total > MAX_MONEY:  # amount.h MoneyRange: no set of coins can hold more
        raise SourceProtocolError(
            f"{source.describe()}: the coins found sum to {total} sats, above 21 million BTC "
            "(MAX_MONEY): the source's data is corrupt"
        )
    totals = _column_totals(total, immature)
    held: dict[str, Any] = {
        "target": watch.label,
        "kind": "list",
        "script_type": "mixed",
        "method": "list",
        "bound": 0,
        "chains": (),
        "scanned_as": (),
        "coins_under": (),
        "utxos": view,  # stands for the tuple (see UtxoView)
        "pending": (),
        "scripts_watched": len(watch),
        "scripts_holding": len(lines),
        **totals,
    }
    answer: dict[str, Any] = {
        "network": network.value,
        "block": block,
        "source": source.describe(),
        "gap": gap,
        "range": range_,
        "targets": (TargetHoldings.model_construct(**held),),
        "utxos": view,
        "pending": (),
        "problems": problems,
        **totals,
    }
    return Holdings.model_construct(**answer)
