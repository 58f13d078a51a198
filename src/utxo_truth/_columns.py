r"""Matched coins held as columns, and a lazy tuple of :class:`~utxo_truth._models.Utxo` over them.

A UTXO snapshot's look-up can match 10^6 coins. Holding each as a Python object (a ``Coin``, then
a ``Utxo`` model and its dict) costs seconds and hundreds of bytes a coin, for answers that are
mostly summed and written out. So the readers hand over columns instead (:class:`CoinColumns`:
one bytes blob of txids, one machine array per field), sorted once into the order of
``Holdings.utxos``; totals are summed over the columns, ``scan --json`` formats its coin lines
straight from them, and :class:`UtxoView` makes a ``Utxo`` only when an item is read.

The helpers that walk every row (sort, group per target, sum, format JSON) run in the compiled
module ``utxo_truth._snapscan`` when it is built, and as the pure-Python twins below otherwise
(or with ``UTXO_TRUTH_PURE_PYTHON=1``); both give the same results (tests/unit/test_columns.py).

Example:
    >>> cols, dup = CoinColumns.sorted_from(
    ...     (bytes(range(32)), _u32([1]), _u32([7]), b"\x00", _u64([5000]), _u32([0])), [b"\x51"]
    ... )
    >>> len(cols), cols.txid(0)[:8], dup
    (1, '1f1e1d1c', -1)
"""

from __future__ import annotations

import importlib
import operator
import os
import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any, overload

from ._models import COINBASE_MATURITY, Origin, Utxo, paused_gc, trusted_utxo

__all__ = ["CoinColumns", "MatchedCoins", "UtxoView"]

_compiled_module: Any
try:  # by name, as sources/_snapfast.py does (the layers check reads `from . import` as the package)
    _compiled_module = importlib.import_module("utxo_truth._snapscan")
except ImportError:  # no compiler at install time: the twins below
    _compiled_module = None

ENV_PURE = "UTXO_TRUTH_PURE_PYTHON"


def _compiled() -> Any:
    """The compiled helpers, or None (not built, or ``UTXO_TRUTH_PURE_PYTHON=1``)."""
    if _compiled_module is None or os.environ.get(ENV_PURE, "") not in ("", "0"):
        return None
    return _compiled_module


def _u32(values: Sequence[int] | bytes = ()) -> memoryview:
    """A read-only u32 column: from bytes (native order, as the scanner writes), or from ints."""
    if isinstance(values, (bytes, bytearray)):
        return memoryview(bytes(values)).cast("I")
    return memoryview(array("I", values)).toreadonly()


def _u64(values: Sequence[int] | bytes = ()) -> memoryview:
    if isinstance(values, (bytes, bytearray)):
        return memoryview(bytes(values)).cast("Q")
    return memoryview(array("Q", values)).toreadonly()


Raw = tuple[bytes, memoryview, memoryview, bytes, memoryview, memoryview]
"""(txids, vout, height, coinbase, value, label): a reader's columns, in file order."""


def _col(c: Any, fmt: str) -> memoryview:
    if isinstance(c, memoryview) and c.format == fmt:
        return c
    if isinstance(c, array) and c.typecode == fmt:
        return memoryview(c).toreadonly()
    return memoryview(bytes(c)).cast("Q" if fmt == "Q" else "I")


def columns_of(raw: tuple[Any, ...]) -> Raw:
    """A reader's six columns (bytes or arrays) as (bytes, memoryview...) of checked widths."""
    txids, vout, height, coinbase, value, label = raw
    cols: Raw = (
        bytes(txids),
        _col(vout, "I"),
        _col(height, "I"),
        bytes(coinbase),
        _col(value, "Q"),
        _col(label, "I"),
    )
    n = len(cols[3])
    if len(cols[0]) != 32 * n or not all(len(c) == n for c in cols[1:]):
        raise ValueError("columns of different lengths")
    return cols


_SORT_KEY = struct.Struct(">I32sII")  # height, txid in display order, vout, row: compared as bytes


def _sort_py(cols: Raw) -> tuple[Raw, int]:
    """Pure-Python twin of the compiled ``sort``: the rows in Holdings order, and a duplicate."""
    txids, vout, height, coinbase, value, label = cols
    n = len(vout)
    rev = txids[::-1]  # every txid byte-reversed, the last row's first
    pack = _SORT_KEY.pack
    keys = sorted(
        pack(height[i], rev[32 * (n - 1 - i) : 32 * (n - i)], vout[i], i) for i in range(n)
    )
    perm = [int.from_bytes(k[40:], "big") for k in keys]
    out: Raw = (
        b"".join(txids[32 * i : 32 * i + 32] for i in perm),
        _u32([vout[i] for i in perm]),
        _u32([height[i] for i in perm]),
        bytes(coinbase[i] for i in perm),
        _u64([value[i] for i in perm]),
        _u32([label[i] for i in perm]),
    )
    seen: set[bytes] = set()
    dup = -1
    for row, k in enumerate(keys):
        outpoint = k[4:40]
        if outpoint in seen:
            dup = row
            break
        seen.add(outpoint)
    return out, dup


class CoinColumns:
    """Matched coins as columns, row ``i`` one coin, sorted as ``Holdings.utxos`` is.

    ``txids`` holds 32 bytes a row in internal (file) byte order; ``vout``, ``height`` and
    ``label`` are u32 columns, ``value`` u64 (integer satoshis), ``coinbase`` one byte (0 or 1)
    a row. ``label`` indexes ``scripts``: the watched script that holds the coin. Every field is
    already range-checked by the reader that made the columns.
    """

    __slots__ = ("_labels", "coinbase", "height", "label", "scripts", "txids", "value", "vout")

    def __init__(self, cols: Raw, scripts: Sequence[bytes]) -> None:
        self.txids, self.vout, self.height, self.coinbase, self.value, self.label = cols
        self.scripts = scripts
        self._labels: frozenset[int] | None = None

    @classmethod
    def sorted_from(cls, raw: tuple[Any, ...], scripts: Sequence[bytes]) -> tuple[CoinColumns, int]:
        """The columns of a reader (file order) sorted by height, txid (display order), vout.

        Also returns the row of an outpoint found twice (a corrupt file), or -1.
        """
        cols = columns_of(raw)
        c = _compiled()
        if c is None:
            out, dup = _sort_py(cols)
        else:
            done, dup = c.sort(*cols)
            out = columns_of(done)
        return cls(out, scripts), dup

    def __len__(self) -> int:
        return len(self.coinbase)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CoinColumns):
            return NotImplemented
        return (
            self.txids == other.txids
            and self.vout == other.vout
            and self.height == other.height
            and self.coinbase == other.coinbase
            and self.value == other.value
            and [self.scripts[i] for i in self.label] == [other.scripts[i] for i in other.label]
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        raw = (self.txids, *(bytes(c) for c in (self.vout, self.height)), self.coinbase,
               bytes(self.value), bytes(self.label))  # fmt: skip
        return (_restore, (raw, list(self.scripts)))

    def __copy__(self) -> CoinColumns:
        return self  # read-only columns

    def __deepcopy__(self, memo: dict[int, Any]) -> CoinColumns:
        return self

    def __repr__(self) -> str:
        return f"CoinColumns({len(self)} coins of {len(self.scripts)} scripts)"

    def txid(self, row: int) -> str:
        """The txid of ``row`` in the usual (byte-reversed) hex."""
        return self.txids[32 * row : 32 * row + 32][::-1].hex()

    def labels(self) -> frozenset[int]:
        """The labels (scripts) that hold at least one coin."""
        if self._labels is None:
            self._labels = frozenset(self.label)
        return self._labels

    def rows_by_label(self) -> dict[int, list[int]]:
        """Each label's rows, in order (for a look-up's per-script mapping)."""
        out: dict[int, list[int]] = {}
        for row, lab in enumerate(self.label):
            out.setdefault(lab, []).append(row)
        return out

    def sums(self, rows: memoryview | None, tip: int) -> tuple[int, int]:
        """(total, immature) satoshis of ``rows`` (every row with None) at block ``tip``."""
        c = _compiled()
        if c is not None:
            total, immature = c.sums(rows, self.height, self.coinbase, self.value, tip)
            return int(total), int(immature)
        value, height, coinbase = self.value, self.height, self.coinbase
        it = range(len(self)) if rows is None else rows
        total = immature = 0
        for r in it:
            total += value[r]
            if coinbase[r] and _immature(height[r], tip):
                immature += value[r]
        return total, immature


def _restore(raw: tuple[bytes, ...], scripts: list[bytes]) -> CoinColumns:
    """Unpickle :class:`CoinColumns` (already sorted)."""
    return CoinColumns(columns_of(raw), scripts)


def _immature(height: int, tip: int) -> bool:
    # a coinbase output is spendable only COINBASE_MATURITY blocks on (consensus, tx_verify.cpp)
    return tip + 1 - height < COINBASE_MATURITY


def group_rows(
    label: memoryview,
    first: memoryview,
    count: memoryview,
    slot_oid: memoryview,
    slot_target: memoryview,
    ntargets: int,
) -> tuple[memoryview, memoryview, memoryview]:
    """Per target, its (row, origin id) items in row order; see the compiled ``group``.

    Label ``l``'s origins are the slots ``first[l] .. first[l] + count[l]``, each an origin id
    (``slot_oid``) of one target (``slot_target``). Returns (offsets, rows, oids): target
    ``t``'s items are ``offsets[t] .. offsets[t + 1]``.
    """
    c = _compiled()
    if c is not None:
        off, rows, oids = c.group(label, first, count, slot_oid, slot_target, ntargets)
        return _u32(off), _u32(rows), _u32(oids)
    per: list[list[tuple[int, int]]] = [[] for _ in range(ntargets)]
    for row, lab in enumerate(label):
        s = first[lab]
        for slot in range(s, s + count[lab]):
            per[slot_target[slot]].append((row, slot_oid[slot]))
    offsets = [0]
    for items in per:
        offsets.append(offsets[-1] + len(items))
    return (
        _u32(offsets),
        _u32([r for items in per for r, _ in items]),
        _u32([o for items in per for _, o in items]),
    )


def json_lines(
    cols: CoinColumns,
    start: int,
    stop: int,
    tip: int,
    mid: list[bytes],
    tail: list[bytes],
    first: bool,
) -> str:
    r"""Rows ``start..stop-1`` as ``scan --json`` coin lines (see ``_scanjson``).

    Each line follows ``",\n"`` (the first of a list, when ``first``, follows ``"\n"``).
    ``mid[label]`` is written between the value and the height (the script and address),
    ``tail[label]`` after the immature flag (the origin, the other fields, the closing brace).
    """
    c = _compiled()
    if c is not None:
        text: str = c.json(
            start, stop, cols.txids, cols.vout, cols.height, cols.coinbase, cols.value,
            cols.label, tip, mid, tail, first,
        )  # fmt: skip
        return text
    parts = []
    txids, vout, height, coinbase, value, label = (
        cols.txids, cols.vout, cols.height, cols.coinbase, cols.value, cols.label,
    )  # fmt: skip
    text_of: dict[int, tuple[str, str]] = {}
    for r in range(start, stop):
        lab = label[r]
        pair = text_of.get(lab)
        if pair is None:
            pair = text_of[lab] = (mid[lab].decode("ascii"), tail[lab].decode("ascii"))
        h = height[r]
        cb = coinbase[r]
        sep = "\n" if first and r == start else ",\n"
        txid = txids[32 * r : 32 * r + 32][::-1].hex()
        flags = f'"coinbase": {"true" if cb else "false"}, "immature": ' + (
            "true" if cb and _immature(h, tip) else "false"
        )
        parts.append(
            f'{sep}    {{"txid": "{txid}", "vout": {vout[r]}, "value": {value[r]}'
            f"{pair[0]}{h}, {flags}{pair[1]}"
        )
    return "".join(parts)


class MatchedCoins:
    """What the :class:`UtxoView` items of one scan share: the columns and per-label facts.

    ``origins`` lists every origin (an origin id indexes it); ``first[label]`` is the origin id
    a coin of that label shows at the top level (the first target's, as
    ``_models.unique_coins`` picks it) and ``also[label]`` the other origins, for
    ``also_origins`` in ``scan --json``; ``script_hex`` and ``address`` per label; ``tip`` the
    scan's block height (for ``immature``); ``verification`` of every coin (``node``).
    """

    __slots__ = ("address", "also", "cols", "first", "origins", "script_hex", "tip", "verification")

    def __init__(
        self,
        cols: CoinColumns,
        tip: int,
        origins: list[Origin],
        first: dict[int, int],
        also: dict[int, list[Origin]],
        address: dict[int, str | None],
        verification: str = "node",
    ) -> None:
        self.cols = cols
        self.tip = tip
        self.origins = origins
        self.first = first
        self.also = also
        self.address = address
        self.script_hex = {lab: cols.scripts[lab].hex() for lab in first}
        self.verification = verification

    def utxo(self, row: int, oid: int | None) -> Utxo:
        """The model of ``row``, with origin ``oid`` (None: the label's top-level origin)."""
        cols = self.cols
        lab = cols.label[row]
        height = cols.height[row]
        coinbase = bool(cols.coinbase[row])
        return trusted_utxo({
            "txid": cols.txids[32 * row : 32 * row + 32][::-1].hex(), "vout": cols.vout[row],
            "value": cols.value[row], "script_pubkey": self.script_hex[lab],
            "address": self.address[lab], "height": height, "coinbase": coinbase,
            "immature": coinbase and _immature(height, self.tip),
            "origin": self.origins[self.first[lab] if oid is None else oid],
            "verification": self.verification, "problem": None, "spent_by": None,
        })  # fmt: skip

    def many(self, rows: Iterable[int], oids: Iterable[int] | None) -> tuple[Utxo, ...]:
        """:meth:`utxo` of each row (with its origin id, or the top-level origin), in bulk."""
        with paused_gc():  # 10^6 acyclic models: the collector's passes would cost 2-3x the work
            return tuple(self._many(rows, oids))

    def _many(self, rows: Iterable[int], oids: Iterable[int] | None) -> list[Utxo]:
        cols = self.cols
        txids, vouts, heights, coinbases, values, labels = (
            cols.txids, cols.vout, cols.height, cols.coinbase, cols.value, cols.label,
        )  # fmt: skip
        script_hex, address, origins, first = (
            self.script_hex, self.address, self.origins, self.first,
        )  # fmt: skip
        tip, verification, make = self.tip, self.verification, trusted_utxo
        out = []
        # oids, when given, is as long as rows (a UtxoView's two arrays of one length)
        for row, oid in zip(rows, repeat(None) if oids is None else oids, strict=False):
            lab = labels[row]
            height = heights[row]
            coinbase = coinbases[row] == 1
            out.append(make({
                "txid": txids[32 * row : 32 * row + 32][::-1].hex(), "vout": vouts[row],
                "value": values[row], "script_pubkey": script_hex[lab], "address": address[lab],
                "height": height, "coinbase": coinbase,
                "immature": coinbase and _immature(height, tip),
                "origin": origins[first[lab] if oid is None else oid],
                "verification": verification, "problem": None, "spent_by": None,
            }))  # fmt: skip
        return out


class UtxoView(Sequence[Utxo]):
    """A tuple of :class:`Utxo`, made from :class:`MatchedCoins` only as items are read.

    It stands where ``Holdings.utxos`` (a ``tuple[Utxo, ...]``) stands and behaves as that tuple
    for every reader: ``len``, iteration, indexing, slicing (a slice is a tuple), ``==`` and
    ``+`` and ``*`` with tuples either way (they give tuples), ordering, ``hash``, ``repr``,
    ``bool``; it pickles as the tuple. Two differences remain: ``isinstance(view, tuple)`` is
    False (``tuple(view)`` gives the tuple), and pydantic's ``serialize_as_any=True`` cannot
    serialize it (it skips the field's serializer); ``model_dump()`` and ``model_dump_json()``
    without it are the eager Holdings' own. ``rows`` picks and orders the rows (None: every row, in order) and ``oids``
    gives each item's origin id (None: each label's top-level origin).
    """

    __slots__ = ("_made", "_n", "_oids", "_rows", "coins")

    def __init__(
        self, coins: MatchedCoins, rows: memoryview | None = None, oids: memoryview | None = None
    ) -> None:
        self.coins = coins
        self._rows = rows
        self._oids = oids
        self._n = len(coins.cols) if rows is None else len(rows)
        self._made: tuple[Utxo, ...] | None = None
        """Every item, once a reader has walked them all: a second walk (a table's per-kind
        counts) costs what it costs over a tuple."""

    @property
    def is_every_row(self) -> bool:
        """Every row of the columns in order, each with its top-level origin (``Holdings.utxos``)."""
        return self._rows is None and self._oids is None

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> Utxo: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Utxo, ...]: ...
    def __getitem__(self, i: int | slice) -> Utxo | tuple[Utxo, ...]:
        if isinstance(i, slice):
            return tuple(self._item(j) for j in range(*i.indices(self._n)))
        try:
            i = operator.index(i)  # as a tuple: an integer or an object with __index__
        except TypeError:
            raise TypeError(
                f"tuple indices must be integers or slices, not {type(i).__name__}"
            ) from None
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("tuple index out of range")
        return self._item(i)

    def _item(self, i: int) -> Utxo:
        if self._made is not None:
            return self._made[i]
        rows, oids = self._rows, self._oids
        return self.coins.utxo(i if rows is None else rows[i], None if oids is None else oids[i])

    def _all(self) -> tuple[Utxo, ...]:
        if self._made is None:
            rows = range(self._n) if self._rows is None else self._rows
            self._made = self.coins.many(rows, self._oids)
        return self._made

    def __iter__(self) -> Iterator[Utxo]:
        return iter(self._all())

    def __reversed__(self) -> Iterator[Utxo]:
        return reversed(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UtxoView):
            if other is self:
                return True
            return len(other) == self._n and self._all() == other._all()
        if isinstance(other, tuple):
            return len(other) == self._n and self._all() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __add__(self, other: object) -> tuple[Utxo, ...]:
        if isinstance(other, UtxoView):
            return self._all() + other._all()
        if isinstance(other, tuple):
            return self._all() + other
        return NotImplemented

    def __radd__(self, other: object) -> tuple[Utxo, ...]:
        if isinstance(other, tuple):
            return other + self._all()
        return NotImplemented

    def __mul__(self, n: object) -> tuple[Utxo, ...]:
        if not hasattr(n, "__index__"):
            return NotImplemented
        return self._all() * operator.index(n)

    __rmul__ = __mul__

    def _cmp(self, other: object) -> tuple[Utxo, ...] | None:
        if isinstance(other, UtxoView):
            return other._all()
        return other if isinstance(other, tuple) else None

    def __lt__(self, other: object) -> bool:
        o = self._cmp(other)
        return NotImplemented if o is None else self._all() < o

    def __le__(self, other: object) -> bool:
        o = self._cmp(other)
        return NotImplemented if o is None else self._all() <= o

    def __gt__(self, other: object) -> bool:
        o = self._cmp(other)
        return NotImplemented if o is None else self._all() > o

    def __ge__(self, other: object) -> bool:
        o = self._cmp(other)
        return NotImplemented if o is None else self._all() >= o

    def __bool__(self) -> bool:
        return self._n > 0

    def __repr__(self) -> str:
        return repr(self._all())

    def __reduce__(self) -> tuple[Any, ...]:
        return (tuple, (self._all(),))

    def __copy__(self) -> UtxoView:
        return self  # immutable, as a tuple

    def __deepcopy__(self, memo: dict[int, Any]) -> UtxoView:
        return self

    def rows_view(self) -> memoryview | None:
        """The rows this view reads (None: every row in order)."""
        return self._rows

    def sums(self) -> tuple[int, int]:
        """(total, immature) satoshis of the coins listed (each item once, as a sum of them)."""
        return self.coins.cols.sums(self._rows, self.coins.tip)
