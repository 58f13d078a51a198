"""How a script's coins follow from its history, and how they are held against a server's word.

The one rule both network sources use (Electrum's ``get_history`` + ``transaction.get``,
Esplora's ``/scripthash/:h/txs`` pages), so that a fix lands once:

* :func:`coins_from_history`: the outputs to the script, less those a transaction of its
  history spends. A confirmed coin spent only by a mempool transaction stays a coin, with
  ``spent_by``; an unconfirmed receipt spent by anything is gone. Where the server also states
  each output's spender (Esplora's ``/tx/:txid/outspends``), that word has the last say, and a
  disagreement with the history is a problem;
* :func:`compare_listing`: the derived coins against the server's own listing (Electrum's
  ``listunspent``): a listed coin the history does not explain, a derived one the listing
  omits, a value or height that differs, each said;
* :func:`compare_total`: a sum the server states (Electrum's ``get_balance``, Esplora's
  ``chain_stats``) against the sum of the coins it should equal.

Nothing here does I/O or trusts a value it was not handed from a transaction that hashes to its
txid (the callers check that, with :func:`utxo_truth.verify.tx_outputs`).

Example:
    >>> pay = HistoryTx("aa" * 32, 5, outputs=((b"me", 700), (b"you", 300)))
    >>> confirmed, pending, problems = coins_from_history(b"me", [pay], "me")
    >>> [(c.txid[:4], c.vout, c.value, c.height) for c in confirmed], pending, problems
    ([('aaaa', 0, 700, 5)], [], [])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

__all__ = [
    "Derived",
    "HistoryTx",
    "Listed",
    "Outspend",
    "coins_from_history",
    "compare_listing",
    "compare_total",
]


@dataclass(frozen=True, slots=True)
class HistoryTx:
    """One transaction of a script's history, as far as the rule needs it."""

    txid: str
    height: int | None
    """Its block's height; None while it is in the mempool."""
    outputs: tuple[tuple[bytes, int], ...]
    """(scriptPubKey, value) of each output, in order."""
    spends: tuple[tuple[str, int], ...] = ()
    """The outpoints its inputs spend (none for a coinbase)."""
    block_hash: str | None = None
    """Its block's hash, where the server says it (checked against the header chain later)."""
    coinbase: bool = False


@dataclass(frozen=True, slots=True)
class Derived:
    """A coin the history implies: an output to the script its history does not spend."""

    txid: str
    vout: int
    value: int
    height: int | None
    """None for an unconfirmed receipt."""
    block_hash: str | None = None
    coinbase: bool = False
    spent_by: str | None = None
    """The txid of the mempool transaction spending this confirmed coin, if any."""


Outspend = tuple[bool, str | None, bool]
"""A server's word on one output: (spent, by which txid, is that spender confirmed)."""


@dataclass(frozen=True, slots=True)
class Listed:
    """A coin as a server lists it (Electrum's ``listunspent``, Esplora's ``/utxo``), unchecked."""

    txid: str
    vout: int
    value: int
    height: int | None
    """None (or Electrum's 0 / -1, normalised by the caller) for an unconfirmed one."""
    block_hash: str | None = None
    """The block the server says holds it (Esplora states it; Electrum does not)."""
    spent_by: str | None = None
    """The unconfirmed transaction the server says spends it, if any."""


def coins_from_history(
    script: bytes,
    history: Iterable[HistoryTx],
    name: str,
    outspends: Mapping[str, Sequence[Outspend]] | None = None,
) -> tuple[list[Derived], list[Derived], list[str]]:
    """(confirmed coins, unconfirmed receipts, problems) of ``script`` from its ``history``.

    ``history`` must hold every transaction touching the script that the caller has (a missing
    spender makes a spent output look unspent: the caller says so, see :func:`compare_listing`'s
    ``complete``). ``outspends``, by txid, has the last word on whether an output is spent.
    ``name`` (an address, or a script's prefix) begins each problem.

    Example:
        >>> pay = HistoryTx("aa" * 32, 5, outputs=((b"me", 700),))
        >>> spend = HistoryTx("bb" * 32, None, outputs=(), spends=(("aa" * 32, 0),))
        >>> confirmed, pending, _ = coins_from_history(b"me", [pay, spend], "me")
        >>> confirmed[0].spent_by == "bb" * 32, pending
        (True, [])
    """
    history = list(history)
    spender: dict[tuple[str, int], tuple[str, bool]] = {}
    for t in history:
        for op in t.spends:
            # a confirmed spender wins over a mempool one (the mempool one is then a conflict)
            if op not in spender or t.height is not None:
                spender[op] = (t.txid, t.height is not None)
    confirmed: list[Derived] = []
    pending: list[Derived] = []
    problems: list[str] = []
    seen: set[str] = set()
    for t in history:
        if t.txid in seen:
            continue
        seen.add(t.txid)
        for vout, (out_script, value) in enumerate(t.outputs):
            if out_script != script:
                continue
            by, by_confirmed = spender.get((t.txid, vout), (None, False))
            if outspends is not None:
                status = outspends.get(t.txid, ())
                if vout >= len(status):
                    problems.append(f"{t.txid}:{vout} ({name}): outspends has no entry for it")
                    continue
                spent, said_by, said_confirmed = status[vout]
                if spent != (by is not None):
                    problems.append(
                        f"{t.txid}:{vout} ({name}): outspends and the script's history disagree "
                        "on whether it is spent"
                    )
                by, by_confirmed = (said_by, said_confirmed) if spent else (None, False)
            if by is not None and by_confirmed:
                continue  # spent in a block: not a coin
            coin = Derived(t.txid, vout, value, t.height, t.block_hash, t.coinbase)
            if t.height is None:
                if by is None:
                    pending.append(coin)
            else:
                confirmed.append(coin if by is None else replace(coin, spent_by=by))
    return sorted(confirmed, key=_outpoint), sorted(pending, key=_outpoint), problems


def _outpoint(c: Derived) -> tuple[str, int]:
    return c.txid, c.vout


def compare_listing(
    confirmed: Sequence[Derived],
    pending: Sequence[Derived],
    listed: Iterable[Listed],
    name: str,
    *,
    complete: bool = True,
    what: str = "listunspent",
) -> tuple[list[Listed], list[str]]:
    """Hold derived coins against the server's listing: (listed but unexplained, problems).

    A confirmed coin the server lists but the history does not explain is returned (the caller
    keeps it ``unverified``, with the reason); an unconfirmed one is a problem. A coin the history
    proves but the listing omits is a problem (the coin is kept: Fulcrum, past its history limit,
    silently lists only mempool coins). A differing value or height is a problem. With
    ``complete`` False (some of the history's transactions could not be had), listed coins the
    history does not explain are let be: they cannot be judged.

    Example:
        >>> mine = [Derived("aa" * 32, 0, 700, 5)]
        >>> compare_listing(mine, [], [Listed("aa" * 32, 0, 600, 5)], "me")[1][0][-48:]
        'server listed 600 sats, the transaction says 700'
    """
    implied = {(c.txid, c.vout): c for c in confirmed if c.spent_by is None}
    implied.update({(c.txid, c.vout): c for c in pending})
    unexplained: list[Listed] = []
    problems: list[str] = []
    keys: set[tuple[str, int]] = set()
    for item in listed:
        key = (item.txid, item.vout)
        keys.add(key)
        c = implied.get(key)
        where = f"{item.txid}:{item.vout} ({name})"
        if c is None:
            if not complete:
                continue
            if item.height is not None:
                unexplained.append(item)
            else:
                problems.append(f"{where}: unconfirmed coin listed but not in the history")
            continue
        if item.value != c.value:
            problems.append(
                f"{where}: the server listed {item.value} sats, the transaction says {c.value}"
            )
        if item.height != c.height:
            problems.append(
                f"{where}: the server listed height {item.height}, its history says {c.height}"
            )
    for key, c in implied.items():
        if key not in keys:
            problems.append(
                f"{c.txid}:{c.vout} ({name}): proven by the history but omitted by {what} "
                "(incomplete answer)"
            )
    return unexplained, problems


def compare_total(stated: int, derived: int, name: str, claim: str) -> list[str]:
    """A sum the server states against the one the coins imply: [] or the problem.

    ``claim`` names the server's figure with its verb ("get_balance says", "chain_stats imply").

    Example:
        >>> compare_total(5, 4, "me", "get_balance says")
        ['me: get_balance says 5 sats, the coins add up to 4 (incomplete or inconsistent answer)']
    """
    if stated == derived:
        return []
    return [
        f"{name}: {claim} {stated} sats, the coins add up to {derived} "
        "(incomplete or inconsistent answer)"
    ]
