"""The chain-source protocol: what discovery may ask of a source, and the plain data it gets back.

A source keeps no wallet state and knows nothing of keys, targets or discovery: it is asked
about a set of scriptPubKeys and answers, for one block, which of them were ever used (when it
can tell) and which coins they hold. Sources never import discovery, reconcile or the CLI.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .._models import BlockRef
from .._network import Network

__all__ = ["ChainSource", "Coin", "Lookup"]


@dataclass(frozen=True, slots=True)
class Coin:
    """An unspent output as a source reports it."""

    txid: str
    vout: int
    value: int
    script: bytes
    height: int
    coinbase: bool


@dataclass(frozen=True, slots=True)
class Lookup:
    """A source's answer for a set of scripts, true at ``block``.

    ``used`` holds the scripts that have any history. It is None when the source cannot know
    history (a UTXO snapshot, ``scantxoutset``): then a script without coins may still have been
    used, and discovery must scan a fixed range rather than stop at a gap.
    """

    block: BlockRef
    coins: Mapping[bytes, tuple[Coin, ...]]
    used: frozenset[bytes] | None


@runtime_checkable
class ChainSource(Protocol):
    """Anything that can answer script look-ups for one network at one block."""

    @property
    def network(self) -> Network:
        """The network this source serves."""
        ...

    @property
    def has_history(self) -> bool:
        """True when :meth:`lookup` fills ``Lookup.used`` (gap discovery is then possible)."""
        ...

    def describe(self) -> str:
        """A short public description (no credentials), e.g. ``snapshot:utxo.dat``."""
        ...

    def lookup(self, scripts: Collection[bytes]) -> Lookup:
        """Coins (and, where known, use) of every script in ``scripts``.

        A source answers in as few requests or passes as it can.
        """
        ...
