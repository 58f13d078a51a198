"""Frozen, validated data models. Amounts are integer satoshis; every answer names its block.

Totals are stored fields checked against their parts on construction, so a model read back from
JSON is validated the same way as one built in memory.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

__all__ = [
    "COINBASE_MATURITY",
    "MAX_MONEY",
    "BlockRef",
    "ChainScan",
    "Holdings",
    "Origin",
    "Sats",
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
    height: Height
    """The height of the block that created the output."""
    coinbase: StrictBool
    immature: StrictBool = False
    """A coinbase output that cannot be spent yet at the scan's block (fewer than 100 blocks)."""
    origin: Origin | None = None

    @property
    def outpoint(self) -> str:
        """``txid:vout``."""
        return f"{self.txid}:{self.vout}"


class ChainScan(_Frozen):
    """How one chain (branch) of a ranged target was searched and what it showed."""

    chain: Annotated[StrictInt, Field(ge=0)]
    name: str
    """``receive``, ``change`` or ``branch N``."""
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


class TargetHoldings(_Frozen):
    """What one watch target (xpub, descriptor, address, script) holds at the scan's block."""

    target: str
    """The target as given, with private-looking parts impossible (they are refused earlier)."""
    kind: Literal["xpub", "descriptor", "address", "script"]
    script_type: str
    method: Literal["gap", "range", "single"]
    """``gap``: stop after ``bound`` unused indexes (history source); ``range``: indexes
    0..bound-1 (UTXO-only source); ``single``: one script, no index."""
    bound: Annotated[StrictInt, Field(ge=0)]
    chains: tuple[ChainScan, ...]
    utxos: tuple[Utxo, ...]
    total_sats: Sats
    immature_sats: Sats

    @model_validator(mode="after")
    def _check(self) -> TargetHoldings:
        if self.total_sats != _sum_values(self.utxos):
            raise ValueError("total_sats must equal the sum of the UTXO values")
        if self.immature_sats != _sum_values(tuple(u for u in self.utxos if u.immature)):
            raise ValueError("immature_sats must equal the sum of the immature UTXO values")
        return self


class Holdings(_Frozen):
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
    utxos: tuple[Utxo, ...]
    total_sats: Sats
    immature_sats: Sats

    @model_validator(mode="after")
    def _check(self) -> Holdings:
        seen: set[tuple[str, int]] = set()
        for u in self.utxos:
            key = (u.txid, u.vout)
            if key in seen:
                raise ValueError(f"outpoint {u.outpoint} listed twice")
            seen.add(key)
        if self.total_sats != _sum_values(self.utxos):
            raise ValueError("total_sats must equal the sum of the UTXO values")
        if self.immature_sats != _sum_values(tuple(u for u in self.utxos if u.immature)):
            raise ValueError("immature_sats must equal the sum of the immature UTXO values")
        return self

    @property
    def spendable_sats(self) -> int:
        """Satoshis spendable at the block: the total less immature coinbase outputs."""
        return self.total_sats - self.immature_sats
