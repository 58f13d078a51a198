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
    wanted: dict[bytes, int],
    where: str,
    *,
    want_hash: bool,
    chunk: int,
    margin: int,
) -> tuple[Columns, int, bytes | None, int, int] | None:
    """One compiled pass over the coins after the header (``None`` if not available).

    ``wanted`` maps each stored form of a watched script to its label (an int below 2**32).
    Returns the matches as :data:`Columns`, the highest coin height (-1 with no coins), the double SHA-256 of the
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
        list(wanted),
        list(wanted.values()),
        want_hash,
        full_script,
        SnapshotFormatError,
        where,
        chunk,  # 1 MiB reads: in this machine's caches, measured faster than 4 MiB
        margin,
    )
    return result  # type: ignore[no-any-return]
