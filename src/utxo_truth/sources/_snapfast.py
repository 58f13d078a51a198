"""Dispatch from :mod:`utxo_truth.sources.snapshot` to the compiled scanner, when it is built.

``utxo_truth._snapscan`` (``src/utxo_truth/_snapscan.c``) is built by ``pip install`` where a C
compiler is present; without it, or with ``UTXO_TRUTH_PURE_PYTHON=1`` in the environment, every
function here returns ``None`` and the pure-Python reader (the reference) runs instead.

Example:
    >>> from utxo_truth.sources import _snapfast
    >>> isinstance(_snapfast.available(), bool)
    True
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._exceptions import SnapshotFormatError

_snapscan: Any
try:
    # By module name: ``from .. import _snapscan`` would read (to the layers check) as an
    # import of the whole package, which a source must not make.
    _snapscan = importlib.import_module("utxo_truth._snapscan")
except ImportError:  # no compiler at install time: the Python reader is the fallback
    _snapscan = None

ENV_PURE = "UTXO_TRUTH_PURE_PYTHON"

Columns = tuple[bytes, bytes, bytes, bytes, bytes, bytes]
"""The matched coins, in file order: txids (32 bytes a row, internal byte order), then vout
(u32), height (u32), coinbase (a byte), value (u64) and label (u32) a row, native byte order
(see ``utxo_truth._columns``)."""


def available() -> bool:
    """Whether the compiled scanner is built and not disabled by ``UTXO_TRUTH_PURE_PYTHON``."""
    return _snapscan is not None and os.environ.get(ENV_PURE, "") in ("", "0")


def scan(
    path: Path,
    offset: int,
    count: int,
    wanted: dict[bytes, int] | object,
    where: str,
    *,
    want_hash: bool,
    chunk: int,
    margin: int,
) -> tuple[Columns, int, bytes | None, int, int, list[bytes] | None] | None:
    """One compiled pass over the coins after the header (``None`` if not available).

    ``wanted`` maps each stored form of a watched script to its label (an int below 2**32), or
    is a compiled watch list (:func:`watch_list`): then the scanner labels the scripts itself,
    0, 1, ... in the order they first match a coin, and returns their scripts (label ->
    script) as the last item (``None`` with a dict). Also returns the matches as
    :data:`Columns`, the highest coin height (-1 with no coins), the double SHA-256 of the
    coins' ``TxOutSer`` (``hash_serialized_3`` before its byte reversal; ``None`` unless
    ``want_hash``), the coin count and the total value. A corrupt file raises
    :class:`SnapshotFormatError`, as the Python reader does.
    """
    if not available():
        return None
    from .snapshot import _full_script

    def full_script(kind: int, payload: bytes) -> bytes:
        return _full_script(kind, payload)

    result: Any = _snapscan.scan(
        os.fspath(path),
        offset,
        count,
        list(wanted) if isinstance(wanted, dict) else wanted,
        list(wanted.values()) if isinstance(wanted, dict) else None,
        want_hash,
        full_script,
        SnapshotFormatError,
        where,
        chunk,  # 1 MiB reads: in this machine's caches, measured faster than 4 MiB
        margin,
    )
    return result  # type: ignore[no-any-return]


def watch_list(
    path: Path, hrp: str, p2pkh: int, p2sh: int, fallback: Callable[[int, bytes | None], Any]
) -> Any | None:
    """A watch-list file read in C into a set of stored forms (``None`` if not available).

    ``fallback(line number, line bytes or None)`` is called for each line the C reader does not
    take whole (None: a line over 65,536 bytes): it returns the script, None to skip the line,
    or raises. See :mod:`utxo_truth.watchlist`.
    """
    if not available():
        return None
    return _snapscan.watch_list(os.fspath(path), hrp, p2pkh, p2sh, fallback)


# --- every coin as columns (the Parquet export, sources/parquet.py) ----------------------------

# (the double SHA-256 of the coins' TxOutSer or None, coin count, total value, highest
# height*2+coinbase or -1)
Pass = tuple[bytes | None, int, int, int]


def columns(
    path: Path,
    offset: int,
    count: int,
    where: str,
    sink: Callable[..., object],
    *,
    batch: int,
    want_hash: bool,
    hrp: str,
    p2pkh: int,
    p2sh: int,
    chunk: int,
    margin: int,
) -> Pass | None:
    """One compiled pass over every coin, handed to ``sink`` as Arrow-ready column buffers.

    ``sink(n, txid, vout, height, coinbase, value, script_offsets, script_data, type_offsets,
    type_data, address_validity, address_offsets, address_data)`` is called per batch of up to
    ``batch`` coins (all ``bytes``; layout in ``_snapscan.c``'s "every coin as columns"
    section); addresses use the bech32 ``hrp`` and the base58 version bytes ``p2pkh`` and
    ``p2sh``. ``None`` if the compiled scanner is not available.
    """
    if not available():
        return None
    from .snapshot import _full_script  # the uncompressed P2PK keys' y (kinds 4/5), per coin

    result: Any = _snapscan.columns(
        os.fspath(path), offset, count, batch, want_hash, _full_script, SnapshotFormatError,
        where, chunk, margin, hrp, p2pkh, p2sh, sink,
    )  # fmt: skip
    return result  # type: ignore[no-any-return]
