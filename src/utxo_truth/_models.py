"""Frozen, validated data models. Amounts are integer satoshis; every answer names its block.

Totals are stored fields checked against their parts on construction, so a model read back from
JSON is validated the same way as one built in memory.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    WrapSerializer,
    model_validator,
)

__all__ = [
    "COINBASE_MATURITY",
    "MAX_MONEY",
    "BlockRef",
    "ChainScan",
    "CheckResult",
    "Consensus",
    "Disagreement",
    "Holdings",
    "Origin",
    "Sats",
    "SourceAnswer",
    "TargetHoldings",
    "Utxo",
]

MAX_MONEY = 21_000_000 * 100_000_000
"""No amount can exceed this many satoshis (Bitcoin Core's ``MAX_MONEY``)."""

COINBASE_MATURITY = 100
"""A coinbase output can be spent in a block at least this many blocks above its own."""

Sats = Annotated[StrictInt, Field(ge=0, le=MAX_MONEY)]
"""An amount in satoshis: an integer, never a float, between 0 and 21 million BTC."""

Hash32 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A txid or block hash in the usual (byte-reversed) lowercase hex."""

ScriptHex = Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{2})*$", max_length=20_000)]

Height = Annotated[StrictInt, Field(ge=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckResult(_Frozen):
    """A finding of a check: ``level`` is info, warning or critical.

    Here, below every module that runs checks (reconcile, proof of control, wrapped BTC), so that
    none of them has to reach up for it.

    Example:
        >>> CheckResult(id="coverage-low", level="critical", message="X: 50.0%").level
        'critical'
    """

    id: str
    level: Literal["info", "warning", "critical"]
    message: str
    subject: str | None = None


class BlockRef(_Frozen):
    """A block by height and hash: the point in the chain an answer is true at."""

    height: Height
    hash: Hash32

    def __str__(self) -> str:
        return f"{self.height} {self.hash}"


class Origin(_Frozen):
    """Where a watched script came from: which target, which chain (branch) and index."""

    target: Annotated[StrictInt, Field(ge=0)]
    chain: Annotated[StrictInt, Field(ge=0)] | None = None
    index: Annotated[StrictInt, Field(ge=0)] | None = None


class Utxo(_Frozen):
    """An unspent transaction output at a known block."""

    txid: Hash32
    vout: Annotated[StrictInt, Field(ge=0, le=0xFFFFFFFF)]
    value: Sats
    script_pubkey: ScriptHex
    address: str | None = None
    """The address of the script on the scan's network, or None where none exists (bare P2PK)."""
    height: Height | None
    """The height of the block that created the output; None while unconfirmed."""
    coinbase: StrictBool
    immature: StrictBool = False
    """A coinbase output that cannot be spent yet at the scan's block (fewer than 100 blocks)."""
    origin: Origin | None = None
    verification: Literal["spv", "node", "unverified"] = "unverified"
    """``spv``: proven by merkle branch and proof-of-work headers; ``node``: read from the user's
    own node or snapshot; ``unverified``: a server's word only (never counted as verified)."""
    problem: str | None = None
    spent_by: Hash32 | None = None
    """An unconfirmed transaction spending this coin: still a UTXO at the block, leaving soon."""

    @property
    def outpoint(self) -> str:
        """``txid:vout``."""
        return f"{self.txid}:{self.vout}"


class ChainScan(_Frozen):
    """How one chain (branch) of a ranged target was searched and what it showed."""

    chain: Annotated[StrictInt, Field(ge=0)]
    name: str
    """``receive``, ``change`` or ``branch N`` (``wpkh receive``... for a plain xpub)."""
    script_type: str | None = None
    """The chain's script type, for a plain xpub scanned under several (else None)."""
    scanned: Annotated[StrictInt, Field(ge=0)]
    """Indexes 0 .. scanned-1 were looked up."""
    used_indexes: tuple[Annotated[StrictInt, Field(ge=0)], ...]
    """Indexes seen used: with history on a history source, holding a coin on a UTXO-only one."""
    last_used_index: Annotated[StrictInt, Field(ge=0)] | None

    @model_validator(mode="after")
    def _check(self) -> ChainScan:
        if list(self.used_indexes) != sorted(set(self.used_indexes)):
            raise ValueError("used_indexes must be sorted and unique")
        last = self.used_indexes[-1] if self.used_indexes else None
        if last != self.last_used_index:
            raise ValueError("last_used_index must be the largest used index")
        return self


def _sum_values(utxos: tuple[Utxo, ...]) -> int:
    return sum(u.value for u in utxos)


def totals_of(utxos: tuple[Utxo, ...], pending: tuple[Utxo, ...]) -> dict[str, int]:
    """The stored totals of a group of coins (what :class:`Holdings` checks), in one pass."""
    # one pass over the coins (this runs per model on every construction)
    total = immature = unverified = spent = 0
    for u in utxos:
        value = u.value
        total += value
        if u.immature:
            immature += value
        if u.verification == "unverified":
            unverified += value
        if u.spent_by:
            spent += value
    return {
        "total_sats": total,
        "immature_sats": immature,
        "verified_sats": total - unverified,
        "unverified_sats": unverified,
        "spent_in_mempool_sats": spent,
        "pending_sats": _sum_values(pending),
    }


_UTXO_FIELDS = set(Utxo.model_fields)  # a set, as pydantic keeps it (exclude_unset needs one)


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while building many acyclic objects at once.

    Each of its full collections walks every live object, so building 10^6 coin models with it
    on costs several times the building itself; nothing built here forms a cycle.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def trusted_utxo(fields: dict[str, Any]) -> Utxo:
    """A :class:`Utxo` of ``fields`` (every field given) without validating them again.

    Only for coins whose every field a reader has already proven in range (a snapshot's coins,
    see ``Lookup.checked``): validation would cost more than the whole file pass.
    """
    u = Utxo.__new__(Utxo)
    object.__setattr__(u, "__dict__", fields)
    object.__setattr__(u, "__pydantic_fields_set__", _UTXO_FIELDS.copy())
    object.__setattr__(u, "__pydantic_extra__", None)
    object.__setattr__(u, "__pydantic_private__", None)
    return u


def _fill_totals(data: Any) -> Any:
    """Compute totals left out (their default 0 is never used); totals given are checked."""
    if isinstance(data, dict) and "utxos" in data:
        utxos = tuple(u if isinstance(u, Utxo) else Utxo.model_validate(u) for u in data["utxos"])
        pending = tuple(
            u if isinstance(u, Utxo) else Utxo.model_validate(u) for u in data.get("pending", ())
        )
        for name, value in totals_of(utxos, pending).items():
            data.setdefault(name, value)
    return data


def _check_totals(model: Any) -> None:
    for name, value in totals_of(model.utxos, model.pending).items():
        if getattr(model, name) != value:
            raise ValueError(f"{name} must equal the sum of the UTXOs it counts")


def _as_tuple(value: Any, handler: Any) -> Any:
    """Serialize a lazy tuple of coins (``_columns.UtxoView``) as the tuple it stands for."""
    return handler(value if isinstance(value, tuple) else tuple(value))


class _TupleJsonSchema:
    """The JSON schema of a field whose serializer is :func:`_as_tuple`: the tuple's own.

    A function serializer hides the type it writes from pydantic's serialization-mode schema;
    this hands the schema generator the field's schema without it (an array of ``Utxo``).
    """

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> Any:
        return handler({k: v for k, v in schema.items() if k != "serialization"})


Utxos = Annotated[tuple[Utxo, ...], WrapSerializer(_as_tuple), _TupleJsonSchema]
"""A tuple of coins; built from a snapshot's columns it may be a lazy ``UtxoView`` in its place,
which pydantic cannot serialize as a tuple by itself (nested include/exclude still apply)."""


class _Totals(_Frozen):
    """Coins confirmed at a block, mempool receipts, and their totals (checked against them)."""

    utxos: Utxos
    """Confirmed at the block."""
    pending: Utxos = ()
    """Unconfirmed receipts (mempool), where the source knows the mempool."""
    total_sats: Sats = 0
    """All confirmed coins at the block, verified or not (see ``verified_sats``)."""
    immature_sats: Sats = 0
    verified_sats: Sats = 0
    """Confirmed coins proven (``spv``) or read from the user's own node (``node``)."""
    unverified_sats: Sats = 0
    """Confirmed coins a server reported but that could not be proven: never counted as real."""
    spent_in_mempool_sats: Sats = 0
    pending_sats: Sats = 0

    _fill = model_validator(mode="before")(_fill_totals)


def unique_coins(groups: Sequence[_Totals]) -> tuple[tuple[Utxo, ...], tuple[Utxo, ...]]:
    """The confirmed and pending coins of ``groups``, each outpoint once (first seen wins)."""
    confirmed: dict[tuple[str, int], Utxo] = {}
    pending: dict[tuple[str, int], Utxo] = {}
    for g in groups:
        for u in g.utxos:
            confirmed.setdefault((u.txid, u.vout), u)
        for u in g.pending:
            pending.setdefault((u.txid, u.vout), u)
    return tuple(confirmed.values()), tuple(pending.values())


class TargetHoldings(_Totals):
    """What one watch target (xpub, descriptor, address, script) holds at the scan's block."""

    target: str
    """The target as given, with private-looking parts impossible (they are refused earlier)."""
    kind: Literal["xpub", "descriptor", "address", "script", "list"]
    """``list``: a watch list file (``scan(watch_list=...)``), one result for all its lines."""
    script_type: str
    method: Literal["gap", "range", "single", "list"]
    """``gap``: stop after ``bound`` unused indexes (history source); ``range``: indexes
    0..bound-1 (UTXO-only source); ``single``: one script, no index; ``list``: every script of
    a watch list, each coin's ``origin.index`` the line that watched it."""
    bound: Annotated[StrictInt, Field(ge=0)]
    chains: tuple[ChainScan, ...]
    scanned_as: tuple[str, ...] = ()
    """A plain xpub/tpub (no SLIP-132 hint): the script types it was scanned under
    (``script_type`` is then ``any``); empty when the target says its type."""
    coins_under: tuple[str, ...] = ()
    """With ``scanned_as``: the script types under which coins were found (confirmed or
    pending), in the order of ``scanned_as``."""
    scripts_watched: Annotated[StrictInt, Field(ge=0)] | None = None
    """A watch list: how many distinct scripts it holds (None for other targets)."""
    scripts_holding: Annotated[StrictInt, Field(ge=0)] | None = None
    """A watch list: how many of them hold coins, confirmed or pending, at the block."""

    @model_validator(mode="after")
    def _check(self) -> TargetHoldings:
        _check_totals(self)
        if self.scanned_as:
            types = {c.chain: c.script_type for c in self.chains}
            held = {
                types.get(u.origin.chain)
                for u in self.utxos + self.pending
                if u.origin is not None and u.origin.chain is not None
            }
            if self.coins_under != tuple(t for t in self.scanned_as if t in held):
                raise ValueError("coins_under must name the script types of the coins listed")
        elif self.coins_under:
            raise ValueError("coins_under needs scanned_as")
        is_list = self.kind == "list"
        if is_list != (self.scripts_watched is not None) or is_list != (
            self.scripts_holding is not None
        ):
            raise ValueError("scripts_watched and scripts_holding are a watch list's, and needed")
        if self.kind == "list":
            lines = {u.origin.index for u in self.utxos + self.pending if u.origin is not None}
            if self.scripts_holding != len(lines) or len(lines) > (self.scripts_watched or 0):
                raise ValueError("scripts_holding must count the lines of the coins listed")
        return self


class SourceAnswer(_Frozen):
    """What one source answered: its tip and total, or the error it failed with."""

    source: str
    block: BlockRef | None = None
    total_sats: int | None = None
    error: str | None = None


class Disagreement(_Frozen):
    """Sources that said different things about one script."""

    target: str
    script_pubkey: str
    address: str | None
    by_source: dict[str, tuple[str, ...]]
    """Per source, the coins it reported (``txid:vout=sats``)."""


class Consensus(_Frozen):
    """How several sources compared."""

    policy: Literal["all", "quorum"]
    agreed: bool
    sources: tuple[SourceAnswer, ...]
    disagreements: tuple[Disagreement, ...] = ()


class Holdings(_Totals):
    """The answer of :func:`utxo_truth.scan`: every UTXO of the targets at one block.

    ``utxos`` holds each outpoint once even when two targets watch the same script;
    ``total_sats`` is their sum, immature coinbase outputs included (``immature_sats`` says how
    much of it cannot be spent yet).
    """

    network: str
    block: BlockRef
    source: str
    gap: Annotated[StrictInt, Field(ge=1)]
    range: Annotated[StrictInt, Field(ge=1)]
    targets: tuple[TargetHoldings, ...]
    problems: tuple[str, ...] = ()
    """What a source got wrong or left out; empty when the answer is complete and consistent."""
    consensus: Consensus | None = None
    """When several sources were asked: each one's answer and where they disagreed."""

    @model_validator(mode="after")
    def _check(self) -> Holdings:
        seen: set[tuple[str, int]] = set()
        for u in self.utxos + self.pending:
            key = (u.txid, u.vout)
            if key in seen:
                raise ValueError(f"outpoint {u.outpoint} listed twice")
            seen.add(key)
        if any(u.height is None for u in self.utxos):
            raise ValueError("a confirmed UTXO needs a height")
        _check_totals(self)
        return self

    @property
    def complete(self) -> bool:
        """True when nothing is unverified or reported, and asked sources agreed."""
        agreed = self.consensus is None or self.consensus.agreed
        return not self.problems and self.unverified_sats == 0 and agreed

    @property
    def spendable_sats(self) -> int:
        """Verified, mature coins not already being spent by an unconfirmed transaction."""
        from ._columns import UtxoView  # the same layer; loaded with the first snapshot scan

        if isinstance(self.utxos, UtxoView):  # node-verified, none spent: all but the immature
            total, immature = self.utxos.sums()
            return total - immature
        return sum(
            u.value
            for u in self.utxos
            if u.verification != "unverified" and not u.immature and u.spent_by is None
        )

    def to_dataframe(self) -> Any:
        """One row per coin, its origin flattened, as a pandas DataFrame (the ``dataframe`` extra).

        Columns are :data:`utxo_truth.report.HOLDINGS_COLUMNS`: the coin (txid, vout, value_sats,
        height, address, verification, ...), where it came from (target, target_kind,
        script_type, chain, chain_name, index) and the block the answer is true at. Without
        pandas it raises :class:`~utxo_truth.MissingExtraError` naming the extra to install.

        Example:
            >>> from utxo_truth import scan
            >>> h = scan("bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f", network="regtest",
            ...          source="snapshot:examples/regtest/utxo-snapshot.dat")  # doctest: +SKIP
            >>> h.to_dataframe()[["txid", "vout", "value_sats", "height"]]  # doctest: +SKIP
        """
        # function-level: the renderers sit above the models (pyproject ignore_imports)
        from .report import holdings_dataframe

        return holdings_dataframe(self)

    def _repr_html_(self) -> str:
        """Jupyter's display hook: totals and every coin, CSS scoped to ``.utxo-truth``."""
        from .report import holdings_html

        return holdings_html(self)
