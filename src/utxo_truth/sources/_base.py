"""The chain-source protocol: what discovery may ask of a source, and the plain data it gets back.

A source keeps no wallet state and knows nothing of keys, targets or discovery: it is asked
about a set of scriptPubKeys and answers, for one block, which of them were ever used (when it
can tell) and which coins they hold. Sources never import discovery, reconcile or the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, Self, runtime_checkable

from .._columns import CoinColumns
from .._models import BlockRef
from .._network import Network

__all__ = [
    "BatchingSource",
    "ChainSource",
    "Closing",
    "Coin",
    "ColumnCoins",
    "DescriptorSource",
    "FileSource",
    "Lookup",
    "Verification",
]

Verification = Literal["spv", "node", "unverified"]
"""How a coin is known: ``spv`` (its transaction hashes to its txid and is proven by a merkle
branch into a header of a proof-of-work-checked chain), ``node`` (read from the user's own node or
its UTXO snapshot, trusted as such), ``unverified`` (a server said so; not proven)."""


@dataclass(frozen=True, slots=True)
class Coin:
    """An unspent output as a source reports it. ``height`` is None for an unconfirmed one."""

    txid: str
    vout: int
    value: int
    script: bytes
    height: int | None
    coinbase: bool
    verification: Verification = "unverified"
    problem: str | None = None
    """Why the coin is unverified, or what the server got wrong about it."""
    spent_by: str | None = None
    """The txid of an unconfirmed transaction that spends this confirmed coin."""
    assurance: str | None = None
    """How a proven coin's block is anchored: ``chain`` (every header from the checkpoint to the
    tip), ``chunk`` (its epoch's 2016 headers against the embedded checkpoints, see
    ``_checkpoints.chunk_assurance``; Electrum), ``header`` (its header alone against its
    epoch's embedded checkpointed target, see ``_checkpoints.header_assurance``; Esplora); None
    when it is not proven."""


@dataclass(frozen=True, slots=True)
class Lookup:
    """A source's answer for a set of scripts, true at ``block``.

    ``used`` holds the scripts that have any history. It is None when the source cannot know
    history (a UTXO snapshot, ``scantxoutset``): then a script without coins may still have been
    used, and discovery must scan a fixed range rather than stop at a gap.
    """

    block: BlockRef
    coins: Mapping[bytes, tuple[Coin, ...]]
    """Confirmed coins at ``block`` (including unverified ones and ones spent in the mempool)."""
    used: frozenset[bytes] | None
    pending: Mapping[bytes, tuple[Coin, ...]] = field(default_factory=dict)
    """Unconfirmed receipts (mempool), where the source knows the mempool."""
    problems: tuple[str, ...] = ()
    """What the source got wrong or left out (an incomplete answer is said here, never hidden)."""
    checked: bool = False
    """Every coin's fields are already proven in range by the source's own reader (a snapshot:
    32-byte txid, vout and height code within uint32, value within MoneyRange, script bytes):
    discovery then builds their models without validating each coin again."""
    columns: CoinColumns | None = None
    """The same confirmed coins as columns, from a source that can give them (a snapshot):
    then ``coins`` is a :class:`ColumnCoins` over them, and discovery holds the answer as
    columns too (no object per coin until one is read)."""


class ColumnCoins(Mapping[bytes, tuple[Coin, ...]]):
    r"""``Lookup.coins`` over :class:`~utxo_truth._columns.CoinColumns`, made when looked up.

    A script's coins are made when it is looked up: each a ``node``-verified :class:`Coin`, in
    the columns' order (height, txid, vout).

    Example:
        >>> from utxo_truth import SnapshotSource
        >>> src = SnapshotSource("examples/regtest/utxo-snapshot.dat", network="regtest")
        >>> coins = src.lookup([b"\x51"]).coins  # OP_TRUE: no coin in this file
        >>> isinstance(coins, ColumnCoins), len(coins)
        (True, 0)
    """

    __slots__ = ("_by_label", "_cols", "_labels")

    def __init__(self, cols: CoinColumns) -> None:
        self._cols = cols
        self._by_label: dict[int, list[int]] | None = None
        self._labels: dict[bytes, int] | None = None

    def over(self, cols: object) -> bool:
        """Whether this mapping is the view over ``cols`` (not coins put in its place)."""
        return self._cols is cols

    def _index(self) -> tuple[dict[int, list[int]], dict[bytes, int]]:
        if self._by_label is None or self._labels is None:
            self._by_label = self._cols.rows_by_label()
            self._labels = {self._cols.scripts[lab]: lab for lab in self._by_label}
        return self._by_label, self._labels

    def __getitem__(self, script: bytes) -> tuple[Coin, ...]:
        by_label, labels = self._index()
        c = self._cols
        lab = labels[script]
        return tuple(
            Coin(txid=c.txid(r), vout=c.vout[r], value=c.value[r], script=script,
                 height=c.height[r], coinbase=bool(c.coinbase[r]), verification="node")
            for r in by_label[lab]
        )  # fmt: skip

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._index()[1])

    def __len__(self) -> int:
        return len(self._index()[1])

    def __contains__(self, script: object) -> bool:
        return script in self._index()[1]


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


@runtime_checkable
class BatchingSource(ChainSource, Protocol):
    """A source that says how many indexes per chain discovery should ask in one look-up.

    A source without ``lookup_batch`` is asked 100 at a time; one that pays a request per
    script (Esplora) sets 1, so that discovery asks no more than its stop rule needs.
    """

    lookup_batch: int
    """The fewest indexes per chain asked in one look-up."""


@runtime_checkable
class DescriptorSource(ChainSource, Protocol):
    """A source that derives scripts itself and is asked in descriptors (a Bitcoin Core node)."""

    def lookup_descriptors(self, requests: Sequence[tuple[str, int | None]]) -> Lookup:
        """Coins of descriptors; ``(descriptor, end)`` scans indexes 0..end (None: one script)."""
        ...

    def used_scripts(self, descriptor: str, start: int, end: int) -> tuple[frozenset[bytes], int]:
        """Scripts at indexes start..end with history, and the height that is true at."""
        ...


class Closing:
    """Makes a source a context manager: ``with EsploraSource(url, network=...) as src:``.

    Leaving the block calls ``close()`` (also on an error): the source's sockets, pooled HTTP
    connections and worker threads are released. A source that holds nothing open between
    look-ups (a snapshot file is opened per pass) keeps this no-op ``close``. A closed network
    source may still be used: its next look-up connects again.

    Example:
        >>> from utxo_truth import SnapshotSource
        >>> with SnapshotSource("examples/regtest/utxo-snapshot.dat", network="regtest") as src:
        ...     src.block_hash[:8]
        '174dcc41'
    """

    def close(self) -> None:
        """Release what the source holds open (nothing, unless the source says otherwise)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@runtime_checkable
class FileSource(ChainSource, Protocol):
    """A source whose look-up is a pass over a file (a UTXO snapshot): its progress is in bytes.

    ``progress``, when set, is called as ``(bytes read, bytes to read)`` during each look-up; the
    total is known before the first byte is read and stays fixed for the look-up.
    """

    progress_unit: Literal["bytes"]
    progress: Callable[[int, int], None] | None
