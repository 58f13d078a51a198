"""A UTXO snapshot as Parquet files, and a chain source that answers from them through DuckDB.

:func:`export_parquet` writes every coin of a Bitcoin Core ``dumptxoutset`` file as one row::

    txid string (hex, as block explorers show it) | vout int64 | height int32 | coinbase bool
    value int64 (satoshis) | script binary (the scriptPubKey) | script_type string
    address string (on the snapshot's network; null where a script has none)

Rows keep the snapshot's order (txid in Core's internal byte order, then vout). Row groups hold
:data:`ROW_GROUP_ROWS` coins and files :data:`FILE_ROWS`; every file carries the same
key-value metadata (keys ``utxo_truth.*``): the format, network, base block (height and hash),
the UTXO-set hash (``hash_serialized_3``) and whether it was verified against a trusted value
or only computed from the file, the coin count and total value, and which file of how many it
is, under one export id. :class:`ParquetSource` refuses files whose metadata is missing or
disagrees (:class:`~utxo_truth.ParquetFormatError`) before it answers anything.

pyarrow, DuckDB and NumPy are the optional extra ``parquet`` (``pip install
'utxo-truth[parquet]'``), imported when first used; without them a
:class:`~utxo_truth.MissingExtraError` names the extra.

Example:
    >>> from utxo_truth.sources.parquet import ROW_GROUP_ROWS
    >>> ROW_GROUP_ROWS
    1000000
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import struct
import threading
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import (
    InputError,
    MissingExtraError,
    NetworkMismatchError,
    ParquetFormatError,
    SnapshotFormatError,
    SourceUnavailableError,
    VerificationError,
)
from .._models import MAX_MONEY, BlockRef
from .._network import Network, parse_network
from .._script import compact_size, script_type_of
from . import _snapfast
from ._base import Closing, Coin, Lookup
from ._errors import reports_as_source
from .snapshot import (
    _MARGIN,
    CHUNK,
    HEADER_SIZE,
    MAX_SCRIPT_SIZE,
    SnapshotSource,
    _check_fields,
    _compact_tail,
    _full_script,
    _varint_at,
    decompress_amount,
    read_header,
)

__all__ = [
    "FILE_ROWS",
    "FORMAT",
    "ROW_GROUP_ROWS",
    "ExportResult",
    "ParquetSource",
    "export_parquet",
]

FORMAT = "utxo-truth-coins/1"
ROW_GROUP_ROWS = 1_000_000
"""Coins per row group. A row group is the unit of parallel work for DuckDB (one thread takes
whole row groups), Spark (a 128 MB input split reads the row groups that start inside it) and
Dask (``split_row_groups``); 1 M coins is about 70 MB compressed, so a mainnet set (~185 M
coins) gives ~185 units, enough for a large machine or a small cluster, while the per-group
cost (its footer entry, a task) stays small against reading 70 MB. Memory while writing: about
two row groups, the one written and the one decoded meanwhile (peak RSS ~0.5 GB)."""
FILE_ROWS = 16 * ROW_GROUP_ROWS
"""Coins per file: mainnet is a dozen files of ~1.1 GB, each a handful of Spark splits."""
_BATCH = 65_536  # coins decoded per batch before they become Arrow columns
_COLUMNS = ("txid", "vout", "height", "coinbase", "value", "script", "script_type", "address")
_KEY = "utxo_truth."
_EXTRA = "pip install 'utxo-truth[parquet]'"


def _modules() -> tuple[Any, Any, Any]:
    """pyarrow, pyarrow.parquet and NumPy, or a typed error naming the extra."""
    try:
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingExtraError(
            f"Parquet export and the parquet: source need pyarrow and NumPy ({exc.name} is "
            f"missing): {_EXTRA}",
            extra="parquet",
        ) from None
    return pa, pq, np


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise MissingExtraError(
            f"the parquet: source answers through DuckDB: {_EXTRA}", extra="parquet"
        ) from None
    return duckdb


def _schema(pa: Any) -> Any:
    return pa.schema(
        [
            ("txid", pa.string()),
            ("vout", pa.int64()),
            ("height", pa.int32()),
            ("coinbase", pa.bool_()),
            ("value", pa.int64()),
            ("script", pa.binary()),
            ("script_type", pa.string()),
            ("address", pa.string()),
        ]
    )


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What :func:`export_parquet` wrote."""

    files: tuple[Path, ...]
    coins: int
    total_sats: int
    bytes: int
    block: BlockRef
    hash_serialized_3: str
    hash_status: str
    """``verified`` (against Bitcoin Core's assumeutxo table or a given ``--snapshot-hash``) or
    ``computed`` (from the file's coins, checked against nothing)."""


# --- decoding every coin ----------------------------------------------------------------------

# One pass's summary: the double SHA-256 of the coins' TxOutSer (hash_serialized_3 before its
# byte reversal), the coin count, the total value and the highest height*2+coinbase (-1: none).
_Pass = tuple[bytes, int, int, int]
_TXOUTSER = struct.Struct("<IIq").pack


@dataclass(slots=True)
class _Rows:
    """One batch of decoded coins as Python lists (the pure-Python pass)."""

    txids: list[str] = field(default_factory=list)
    vouts: list[int] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    values: list[int] = field(default_factory=list)
    scripts: list[bytes] = field(default_factory=list)


def _py_columns(path: Path, where: str, count: int, sink: Callable[[_Rows], None]) -> _Pass:
    """Every coin of the snapshot, decoded in Python, handed to ``sink`` ``_BATCH`` at a time.

    The reference for (and the fallback of) the compiled ``columns`` pass: the same coins, the
    same checks (snapshot.py's readers: ``_varint_at``, ``_compact_tail``, ``_check_fields``,
    ``_full_script``) and the UTXO-set hash in the same pass, as ``utxo_set_info`` computes it.
    """
    digest = hashlib.sha256()
    rows = _Rows()
    total = n = left = 0
    max_code = -1
    txid = b""
    txid_hex = ""
    with path.open("rb") as f:
        read_header(f, where)
        data = f.read(CHUNK)
        eof = len(data) < CHUNK
        pos = 0
        try:
            while n < count:
                if not eof and pos > len(data) - _MARGIN:  # a whole group header + coin must fit
                    more = f.read(CHUNK)
                    eof = len(more) < CHUNK
                    data = data[pos:] + more
                    pos = 0
                if not left:
                    txid = data[pos : pos + 32]
                    txid_hex = txid[::-1].hex()
                    pos += 32
                    left = data[pos]
                    pos += 1
                    if left >= 253:
                        left, pos = _compact_tail(data, pos, left)
                    if not left:
                        raise SnapshotFormatError(f"{where}: a transaction with zero coins")
                vout = data[pos]
                pos += 1
                if vout >= 253:
                    vout, pos = _compact_tail(data, pos, vout)
                code, pos = _varint_at(data, pos)
                amount, pos = _varint_at(data, pos)
                value = decompress_amount(amount)
                _check_fields(vout, code, value, where)
                size, pos = _varint_at(data, pos)  # CompressedScript (compressor.h)
                if size < 6:
                    width = 20 if size < 2 else 32
                    script = _full_script(size, data[pos : pos + width])
                    pos += width
                elif size - 6 > MAX_SCRIPT_SIZE:
                    raise SnapshotFormatError(f"{where}: coin {n}: a script over 10,000 B")
                else:
                    script = data[pos : pos + size - 6]
                    pos += size - 6
                if pos > len(data):
                    raise IndexError
                # coinstats.cpp TxOutSer, as utxo_set_info hashes it: outpoint (txid, n u32),
                # height*2+coinbase u32, value i64, the script with its CompactSize length
                digest.update(txid + _TXOUTSER(vout, code, value) + compact_size(len(script)))
                digest.update(script)
                rows.txids.append(txid_hex)
                rows.vouts.append(vout)
                rows.codes.append(code)
                rows.values.append(value)
                rows.scripts.append(script)
                total += value
                max_code = max(max_code, code)
                left -= 1
                n += 1
                if len(rows.vouts) == _BATCH:
                    sink(rows)
                    rows = _Rows()
        except IndexError:
            raise SnapshotFormatError(f"{where}: truncated after {n} of {count} coins") from None
        if left or pos != len(data) or f.read(1):
            raise SnapshotFormatError(f"{where}: data left after the {count} coins it counts")
    if rows.vouts:
        sink(rows)
    return hashlib.sha256(digest.digest()).digest(), n, total, max_code


def _py_batch(pa: Any, np: Any, schema: Any, network: Network, rows: _Rows) -> Any:
    """A record batch of the pure-Python pass's rows."""
    codes = np.array(rows.codes, np.int64)
    types = [script_type_of(s) for s in rows.scripts]
    return pa.record_batch(
        [
            pa.array(rows.txids, pa.string()),
            pa.array(rows.vouts, pa.int64()),
            pa.array((codes >> 1).astype(np.int32)),
            pa.array((codes & 1).astype(np.bool_)),
            pa.array(rows.values, pa.int64()),
            pa.array(rows.scripts, pa.binary()),
            pa.array(types, pa.string()),
            _addresses(pa, np, network, rows.scripts, types),
        ],
        schema=schema,
    )


def _c_batch(pa: Any, np: Any, schema: Any, n: int, *buffers: bytes) -> Any:
    """A record batch of the compiled pass's column buffers (no copy, no object per coin)."""
    txid, vout, height, coinbase, value, soff, sdata, toff, tdata, avalid, aoff, adata = [
        pa.py_buffer(b) for b in buffers
    ]
    hex_offsets = pa.py_buffer(np.arange(0, 64 * (n + 1), 64, dtype=np.int32))
    return pa.record_batch(
        [
            pa.Array.from_buffers(pa.string(), n, [None, hex_offsets, txid]),
            pa.Array.from_buffers(pa.int64(), n, [None, vout]),
            pa.Array.from_buffers(pa.int32(), n, [None, height]),
            pa.Array.from_buffers(pa.bool_(), n, [None, coinbase]),
            pa.Array.from_buffers(pa.int64(), n, [None, value]),
            pa.Array.from_buffers(pa.binary(), n, [None, soff, sdata]),
            pa.Array.from_buffers(pa.string(), n, [None, toff, tdata]),
            pa.Array.from_buffers(pa.string(), n, [avalid, aoff, adata]),
        ],
        schema=schema,
    )


# --- addresses in bulk ------------------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _b58check_many(np: Any, payloads: list[bytes]) -> list[str]:
    """Base58Check (base58.cpp ``EncodeBase58Check``) of many 21-byte payloads at once.

    The payload, 4 bytes of its double SHA-256, in base 58, one "1" per leading zero byte; the
    base conversion in NumPy (the pure-Python pass; the compiled one has ``base58check21``).

    Each 25-byte string (payload and checksum) is 7 limbs of 32 bits; dividing all rows by
    58**5 at a time gives 5 digits a pass, and 7 passes cover 200 bits (35 digits).
    """
    sha = hashlib.sha256
    data = b"".join(x + sha(sha(x).digest()).digest()[:4] for x in payloads)
    rows = np.frombuffer(data, np.uint8).reshape(len(payloads), 25)
    padded = np.zeros((len(payloads), 28), np.uint8)
    padded[:, 3:] = rows
    limbs = padded.view(">u4").astype(np.uint64)  # (n, 7), most significant first
    base = np.uint64(58**5)
    digits = np.zeros((len(payloads), 35), np.uint8)
    for step in range(7):
        rem = np.zeros(len(payloads), np.uint64)
        for j in range(7):
            cur = (rem << np.uint64(32)) | limbs[:, j]
            limbs[:, j] = cur // base
            rem = cur % base
        for k in range(5):
            digits[:, 34 - step * 5 - k] = (rem % np.uint64(58)).astype(np.uint8)
            rem //= np.uint64(58)
    chars = np.frombuffer(_B58.encode(), np.uint8)[digits]
    text = np.ascontiguousarray(chars).view("S35").ravel().tolist()
    zeros = np.argmax(rows != 0, axis=1).tolist()  # leading zero bytes: one "1" each
    return ["1" * z + t.lstrip(b"1").decode() for t, z in zip(text, zeros, strict=True)]


def _polymod_step(chk: int, value: int) -> int:
    top = chk >> 25
    chk = (chk & 0x1FFFFFF) << 5 ^ value
    for i in range(5):
        if (top >> i) & 1:
            chk ^= _GEN[i]
    return chk


def _bech32_many(np: Any, hrp: str, version: int, programs: Any) -> Any:
    """BIP-173/BIP-350 addresses of ``programs`` (an ``(n, L)`` uint8 array), as ``(n,)`` bytes.

    The checksum's state machine runs over all rows at once, one character position a step.
    """
    n = programs.shape[0]
    bits = np.unpackbits(programs, axis=1)
    pad = (-bits.shape[1]) % 5  # BIP-173 convertbits(8 -> 5) pads with zero bits
    if pad:
        bits = np.concatenate([bits, np.zeros((n, pad), np.uint8)], axis=1)
    fives = (bits.reshape(n, -1, 5).astype(np.uint32) * np.array([16, 8, 4, 2, 1], np.uint32)).sum(
        axis=2, dtype=np.uint32
    )
    data = np.concatenate([np.full((n, 1), version, np.uint32), fives], axis=1)
    state = 1
    for c in hrp:  # the hrp expanded (high bits, 0, low bits) is the same for every row
        state = _polymod_step(state, ord(c) >> 5)
    state = _polymod_step(state, 0)
    for c in hrp:
        state = _polymod_step(state, ord(c) & 31)
    chk = np.full(n, state, np.uint32)
    columns = [data[:, j] for j in range(data.shape[1])] + [np.zeros(n, np.uint32)] * 6
    table = np.array(  # the XOR of the generators selected by each 5-bit top
        [_polymod_step(top << 25, 0) for top in range(32)], np.uint32
    )
    for col in columns:
        chk = (((chk & 0x1FFFFFF) << 5) ^ col) ^ table[chk >> 25]
    # BIP-350: witness version 0 keeps bech32's constant 1, versions 1..16 use bech32m's
    chk ^= np.uint32(1 if version == 0 else 0x2BC830A3)
    checksum = np.stack([(chk >> (5 * (5 - i))) & 31 for i in range(6)], axis=1)
    digits = np.concatenate([data, checksum], axis=1)
    chars = np.frombuffer(_BECH32, np.uint8)[digits]
    prefix = np.frombuffer((hrp + "1").encode(), np.uint8)
    full = np.concatenate([np.broadcast_to(prefix, (n, len(prefix))), chars], axis=1)
    return np.ascontiguousarray(full).view(f"S{full.shape[1]}").ravel()


def _addresses(pa: Any, np: Any, network: Network, scripts: list[bytes], types: list[str]) -> Any:
    """The address column of one batch (an Arrow string array with nulls).

    Rows are grouped by kind (NumPy masks over the types), each group encoded at once, and the
    pieces put back in row order with one ``take``.
    """
    p = network.params
    kinds = np.array(types)
    order: list[Any] = []
    pieces: list[Any] = []
    witness: dict[tuple[int, int], list[int]] = {}
    for t, key in (("p2wpkh", (0, 22)), ("p2wsh", (0, 34)), ("p2tr", (0x51, 34))):
        idx = np.flatnonzero(kinds == t).tolist()
        if idx:
            witness[key] = idx
    for i in np.flatnonzero(np.char.startswith(kinds, "witness_v")).tolist():
        s = scripts[i]
        if s[0] != 0 or len(s) in (22, 34):  # BIP-141: a v0 program is 20 or 32 bytes, or none
            witness.setdefault((s[0], len(s)), []).append(i)
    for (op, size), idx in witness.items():
        version = 0 if op == 0 else op - 0x50  # OP_0 or OP_1..OP_16 (BIP-141 witness program)
        raw = np.frombuffer(b"".join([scripts[i][2:] for i in idx]), np.uint8)
        pieces.append(pa.array(_bech32_many(np, p.hrp, version, raw.reshape(len(idx), size - 2))))
        order.append(np.array(idx, np.int64))
    pkh = np.flatnonzero(kinds == "p2pkh").tolist()
    sh = np.flatnonzero(kinds == "p2sh").tolist()
    if pkh or sh:
        payloads = [bytes([p.p2pkh]) + scripts[i][3:23] for i in pkh]
        payloads += [bytes([p.p2sh]) + scripts[i][2:22] for i in sh]
        pieces.append(pa.array(_b58check_many(np, payloads), pa.string()))
        order.append(np.array(pkh + sh, np.int64))
    placed = np.zeros(len(scripts), np.bool_)
    for idx in order:
        placed[idx] = True
    other = np.flatnonzero(~placed)
    if len(other):
        pieces.append(pa.nulls(len(other), pa.string()))
        order.append(other.astype(np.int64))
    combined = pa.concat_arrays([x.cast(pa.string()) for x in pieces])
    where = np.empty(len(scripts), np.int64)
    where[np.concatenate(order)] = np.arange(len(scripts), dtype=np.int64)
    return combined.take(pa.array(where))


# --- export -----------------------------------------------------------------------------------


def export_parquet(
    snapshot: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    network: Network | str,
    *,
    snapshot_hash: str | None = None,
    height: int | None = None,
    row_group_rows: int = ROW_GROUP_ROWS,
    file_rows: int = FILE_ROWS,
) -> ExportResult:
    """Write every coin of a ``dumptxoutset`` file to ``out_dir`` as Parquet (streamed).

    The snapshot is opened as :class:`SnapshotSource` (network checked, ``snapshot_hash`` and
    Bitcoin Core's assumeutxo table applied), then read in one pass — the compiled scanner's
    ``columns`` where it is built, else the pure-Python reader — that decodes every coin into
    Arrow columns written as ``coins-NNNNN.parquet`` files (under a temporary name) and
    computes the UTXO-set hash on the way. At the end the hash is checked against the trusted
    one where there is one, the base block height found as a look-up finds it, the metadata
    added to every file's footer and the files renamed; on any error nothing is left behind.
    Memory: about two row groups (one written while the next is decoded).

    Raises:
        InputError: ``out_dir`` already holds Parquet files.
        MissingExtraError: pyarrow or NumPy is not installed.
        VerificationError: the coins do not hash to the trusted UTXO-set hash.
        SnapshotFormatError: the snapshot is corrupt (truncated, extended, out-of-range fields).
        SourceUnavailableError: the snapshot could not be read or the files not written.

    Example:
        >>> r = export_parquet("examples/regtest/utxo-snapshot.dat", "/tmp/coins", "regtest")  # doctest: +SKIP
        >>> r.coins, r.block.height, r.hash_status  # doctest: +SKIP
        (1142, 295, 'computed')
    """
    pa, pq, np = _modules()
    if not 1 <= row_group_rows <= file_rows:
        raise InputError("row_group_rows must be at least 1 and at most file_rows")
    src = SnapshotSource(snapshot, network, height=height, expected_hash=snapshot_hash)
    where = str(snapshot)
    out = Path(out_dir)
    if out.exists() and any(out.glob("*.parquet")):
        raise InputError(f"{out} already holds Parquet files: export into an empty directory")
    net = src.network
    count = src.header.coins  # both passes prove the file holds exactly this many
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {out}: {exc.strerror or exc}") from exc
    schema = _schema(pa)
    written: list[Path] = []
    final: list[Path] = []  # renamed into place (removed too, should a later rename fail)
    writers: list[Any] = []
    file_counts: list[int] = []
    pending: list[Any] = []
    pending_rows = 0

    def open_file() -> None:
        path = out / f".coins-{len(written):05d}.parquet.partial"
        written.append(path)
        writers.append(_writer(pq, path, schema))
        file_counts.append(0)

    def flush() -> None:
        nonlocal pending, pending_rows
        if pending_rows:
            # one row group from the batches as they are (no combined copy)
            writers[-1].write_table(pa.Table.from_batches(pending), row_group_rows)
        pending, pending_rows = [], 0

    def add(batch: Any) -> None:
        nonlocal pending_rows
        start = 0
        while start < batch.num_rows:  # split the batch where a file or row group ends
            if not writers or file_counts[-1] == file_rows:
                flush()
                open_file()
            part = batch.slice(
                start, min(file_rows - file_counts[-1], row_group_rows - pending_rows)
            )
            pending.append(part)
            pending_rows += part.num_rows
            file_counts[-1] += part.num_rows
            start += part.num_rows
            if pending_rows == row_group_rows or file_counts[-1] == file_rows:
                flush()

    # The pass decodes (the compiled one without the GIL) while this thread writes what it
    # decoded before (pyarrow writes without the GIL): up to about a row group ahead.
    queued: queue.Queue[Any] = queue.Queue(maxsize=row_group_rows // _BATCH + 2)
    failed: list[BaseException] = []

    def drain() -> None:
        while (batch := queued.get()) is not None:
            if not failed:  # after an error, only emptied, so that the pass never waits
                try:
                    add(batch)
                except BaseException as exc:
                    failed.append(exc)

    def put(batch: Any) -> None:
        if failed:  # the writer's error ends the pass
            raise failed[0]
        queued.put(batch)

    p = net.params
    try:
        writer_thread = threading.Thread(target=drain, name="parquet-export", daemon=True)
        writer_thread.start()
        try:
            summary = _snapfast.columns(
                Path(snapshot), HEADER_SIZE, count, where,
                lambda n, *bufs: put(_c_batch(pa, np, schema, n, *bufs)),
                batch=_BATCH, want_hash=True, hrp=p.hrp, p2pkh=p.p2pkh, p2sh=p.p2sh,
                chunk=CHUNK, margin=_MARGIN,
            )  # fmt: skip
            if summary is None:  # no compiled scanner: the Python reader
                summary = _py_columns(
                    Path(snapshot), where, count,
                    lambda rows: put(_py_batch(pa, np, schema, net, rows)),
                )  # fmt: skip
        finally:
            queued.put(None)
            writer_thread.join()
        if failed:
            raise failed[0]
        flush()
        if not writers:  # no coins: one file of no rows still carries the metadata
            open_file()
        digest, coins, total, max_code = summary
        # the pass was asked for the hash, and both passes read exactly the coins counted
        if digest is None or not coins == count == sum(file_counts):  # not under python -O only
            raise SnapshotFormatError(
                f"{where}: the export read {coins:,} coins where the header counts {count:,}"
            )
        utxo_hash = digest[::-1].hex()
        if src.expected_hash is not None and utxo_hash != src.expected_hash:
            raise VerificationError(
                f"snapshot {where}: its UTXO set hashes to {utxo_hash}, not the expected "
                f"{src.expected_hash}: the file is altered or of another set"
            )
        block = _base_block(src, max_code, where)
        meta = {
            "format": FORMAT,
            "network": net.label,
            "block_height": str(block.height),
            "block_hash": block.hash,
            "hash_serialized_3": utxo_hash,
            "hash_status": "verified" if src.expected_hash is not None else "computed",
            "block_bound_by": src.block_bound_by or "",
            "coins_total": str(coins),
            "total_sats": str(total),
            "files_total": str(len(writers)),
            "export_id": uuid.uuid4().hex,
        }
        for index, writer in enumerate(writers):
            file_meta = {**meta, "file_index": str(index), "file_coins": str(file_counts[index])}
            writer.add_key_value_metadata({_KEY + k: v for k, v in file_meta.items()})
            writer.close()
        for path in written:
            target = path.with_name(path.name[1:].removesuffix(".partial"))
            path.replace(target)
            final.append(target)
    except BaseException as exc:
        for writer in writers:
            if writer.is_open:
                with contextlib.suppress(OSError):
                    writer.close()
        for path in written + final:  # the renamed ones too: a failed export leaves nothing
            path.unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()
        if isinstance(exc, OSError):  # the snapshot unreadable, or the disk full: typed
            raise SourceUnavailableError(
                f"cannot export {where} to {out}: {exc.strerror or exc}"
            ) from exc
        raise
    return ExportResult(
        files=tuple(final),
        coins=coins,
        total_sats=total,
        bytes=sum(p.stat().st_size for p in final),
        block=block,
        hash_serialized_3=utxo_hash,
        hash_status=meta["hash_status"],
    )


def _writer(pq: Any, path: Path, schema: Any) -> Any:
    """A Parquet writer of the export's settings (benchmarks/bench_parquet.py times it alone)."""
    return pq.ParquetWriter(
        path,
        schema,
        compression="zstd",
        write_statistics=["vout", "height", "coinbase", "value", "script_type"],
        # the metadata is added to the footer at the end, once the pass has hashed the coins;
        # without the Arrow schema blob (whose copy of the metadata would be empty) readers
        # derive the same columns from the Parquet schema
        store_schema=False,
    )


def _base_block(src: SnapshotSource, max_code: int, where: str) -> BlockRef:
    """The base block, its height found as :meth:`SnapshotSource.lookup` finds it."""
    max_height = max_code >> 1 if max_code >= 0 else -1
    return BlockRef(height=src._base_height(max_height, where), hash=src.header.block_hash)


# --- the source -------------------------------------------------------------------------------


class ParquetSource(Closing):
    """Coin files written by :func:`export_parquet`, answering look-ups through DuckDB.

    Opening reads every file's footer only: the metadata must be present, name one export
    (same export id, network, base block, UTXO-set hash), number the files 0..n-1 once each,
    and count the rows each file holds; the columns must be the export's. A look-up is one
    DuckDB join of the watched scripts against the ``script`` column of all the files. Only
    DuckDB is needed here, not pyarrow.

    The UTXO-set hash in the metadata is what the export computed (or verified) over the
    snapshot it read; it is not recomputed from the rows here, so the files are as trustworthy
    as the directory they sit in. :meth:`describe` says which it was.

    Example:
        >>> src = ParquetSource("/data/coins-840000", network="main")  # doctest: +SKIP
        >>> src.lookup([bytes.fromhex("0014...")]).block.height  # doctest: +SKIP
        840000
    """

    has_history = False

    def __init__(
        self, directory: str | os.PathLike[str], network: Network | str, *, threads: int = 0
    ) -> None:
        duckdb = _duckdb()
        self._dir = Path(directory)
        self._network = parse_network(network)
        self._threads = threads
        if not self._dir.is_dir():
            raise SourceUnavailableError(f"{self._dir} is not a directory of Parquet coin files")
        try:
            files = sorted(self._dir.glob("*.parquet"))
        except OSError as exc:
            raise SourceUnavailableError(f"cannot list {self._dir}: {exc.strerror or exc}") from exc
        if not files:
            raise ParquetFormatError(
                f"{self._dir} holds no .parquet files: write them with `utxo-truth snapshot "
                "export SNAPSHOT --parquet DIR`"
            )
        names = [str(f) for f in files]
        kv: dict[str, dict[str, str]] = {n: {} for n in names}
        con = self._connect(duckdb)
        try:
            for name, key, value in con.execute(
                "SELECT file_name, key, value FROM parquet_kv_metadata(?)", [names]
            ).fetchall():
                k = bytes(key).decode(errors="replace")
                if k.startswith(_KEY):
                    kv[name][k[len(_KEY) :]] = bytes(value).decode(errors="replace")
            rows = dict(
                con.execute(
                    "SELECT file_name, num_rows FROM parquet_file_metadata(?)", [names]
                ).fetchall()
            )
            columns = {
                n: [(c[0], c[1]) for c in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [n]).fetchall()]
                for n in names
            }  # fmt: skip
        except duckdb.Error as exc:
            raise ParquetFormatError(
                f"{self._dir}: a file is not readable Parquet: {exc}"
            ) from None
        finally:
            con.close()
        metas: list[dict[str, str]] = []
        for path, name in zip(files, names, strict=True):
            m = kv[name]
            if m.get("format") != FORMAT:
                raise ParquetFormatError(
                    f"{path} has no utxo-truth metadata ({_KEY}format is "
                    f"{m.get('format')!r}, not {FORMAT!r}): it was not written by `utxo-truth "
                    "snapshot export`, or its footer was rewritten; export again"
                )
            if columns[name] != _DUCKDB_COLUMNS:
                raise ParquetFormatError(f"{path}: its columns are not {', '.join(_COLUMNS)}")
            missing = [k for k in _REQUIRED if k not in m]
            if missing:
                raise ParquetFormatError(f"{path}: metadata lacks {', '.join(missing)}")
            if not m["file_coins"].isdigit() or int(m["file_coins"]) != rows[name]:
                raise ParquetFormatError(
                    f"{path}: holds {rows[name]} coins, its metadata says {m['file_coins']}"
                )
            metas.append(m)
        first = metas[0]
        for path, m in zip(files, metas, strict=True):
            for k in _SHARED:
                if m[k] != first[k]:
                    raise ParquetFormatError(
                        f"{self._dir}: files of different exports or blocks ({files[0].name} and "
                        f"{path.name} differ in {k}): keep one export per directory"
                    )
        try:
            indexes = sorted(int(m["file_index"]) for m in metas)
            n_files = int(first["files_total"])
            coins_total = int(first["coins_total"])
            height = int(first["block_height"])
            total_sats = int(first["total_sats"])
        except ValueError:
            raise ParquetFormatError(f"{self._dir}: a metadata number is not a number") from None
        if indexes != list(range(n_files)):
            raise ParquetFormatError(
                f"{self._dir}: the export wrote {n_files} files, here are file numbers "
                f"{indexes[:10]}: one is missing, duplicated or foreign"
            )
        if sum(int(m["file_coins"]) for m in metas) != coins_total:
            raise ParquetFormatError(f"{self._dir}: the files do not add up to {coins_total} coins")
        found = first["network"]
        if found != self._network.label:
            raise NetworkMismatchError(
                f"Parquet coins {self._dir} are of {found}, but the network is "
                f"{self._network.label}",
                expected=self._network.label,
                found=found,
            )
        block_hash = first["block_hash"]
        if len(block_hash) != 64 or any(c not in "0123456789abcdef" for c in block_hash):
            raise ParquetFormatError(f"{self._dir}: the base block hash is not 64 hex characters")
        if not 0 <= height <= 0x7FFFFFFF:  # Coin's nHeight is 31 bits
            raise ParquetFormatError(f"{self._dir}: the base block height is out of range")
        self.files = tuple(files)
        self.block = BlockRef(height=height, hash=block_hash)
        self.metadata = dict(first)
        self.coins_total = coins_total
        self.total_sats = total_sats

    def _connect(self, duckdb: Any) -> Any:
        return duckdb.connect(config={"threads": self._threads} if self._threads else {})

    @property
    def network(self) -> Network:
        """The files' network (checked against the one asked for)."""
        return self._network

    @property
    def block_hash(self) -> str:
        """Hash of the block the coins are true at (from the metadata)."""
        return self.block.hash

    def describe(self) -> str:
        """``parquet:DIR`` and what the export verified of the snapshot it read."""
        m = self.metadata
        h = m["hash_serialized_3"][:16]
        if m["hash_status"] == "verified":
            bound = m["block_bound_by"] or "nothing (block read from the file)"
            return (
                f"parquet:{self._dir} (exported from a snapshot whose UTXO set hash {h}... was "
                f"verified; base block bound by {bound}; rows not re-hashed on read)"
            )
        return (
            f"parquet:{self._dir} (exported from a snapshot whose UTXO set hashes to {h}..., "
            "checked against no trusted value)"
        )

    @reports_as_source
    def lookup(self, scripts: Collection[bytes]) -> Lookup:
        """One DuckDB join of ``scripts`` against every file: their coins at the base block."""
        duckdb = _duckdb()
        wanted = sorted(set(scripts))
        coins: dict[bytes, list[Coin]] = {}
        if wanted:
            names = [str(p) for p in self.files]
            con = self._connect(duckdb)
            try:
                con.execute(
                    "CREATE TEMP TABLE watched AS SELECT unnest(?::BLOB[]) AS script", [wanted]
                )
                # the watched scripts are the hash table's build side; the files are probed
                # (a two-step join, row numbers first, then the other columns of the matching
                # rows, measured slower here: DuckDB scans the files a second time for them)
                rows = con.execute(
                    "SELECT c.txid, c.vout, c.height, c.coinbase, c.value, c.script "
                    "FROM read_parquet(?) AS c JOIN watched AS w ON c.script = w.script",
                    [names],
                ).fetchall()
            except duckdb.Error as exc:
                raise SourceUnavailableError(f"cannot read {self._dir}: {exc}") from exc
            finally:
                con.close()
            # the snapshot's own order: txid in internal byte order, then vout
            if any(None in r for r in rows):  # a column null in a row: not our export's
                raise ParquetFormatError(f"{self._dir}: a matched row has an empty column")
            rows.sort(key=lambda r: (bytes.fromhex(r[0])[::-1], r[1]))
            for txid, vout, height, coinbase, value, script in rows:
                if not 0 <= value <= MAX_MONEY or height > self.block.height:
                    raise ParquetFormatError(
                        f"{self._dir}: coin {txid}:{vout} of {value} sats at height {height} "
                        f"cannot be in the set at block {self.block.height}"
                    )
                coins.setdefault(bytes(script), []).append(
                    Coin(txid=txid, vout=vout, value=value, script=bytes(script), height=height,
                         coinbase=coinbase, verification="node")
                )  # fmt: skip
        problems: tuple[str, ...] = ()
        if self.metadata["hash_status"] == "verified" and not self.metadata["block_bound_by"]:
            problems = (
                f"parquet:{self._dir}: the export verified the coins against a UTXO set hash, "
                f"but that hash does not cover the base block: block {self.block.hash} is only "
                "what the snapshot said (export with --snapshot-hash BLOCKHASH:HASH to bind it)",
            )
        return Lookup(
            block=self.block,
            coins={k: tuple(v) for k, v in coins.items()},
            used=None,
            problems=problems,
        )


_DUCKDB_COLUMNS = [
    ("txid", "VARCHAR"),
    ("vout", "BIGINT"),
    ("height", "INTEGER"),
    ("coinbase", "BOOLEAN"),
    ("value", "BIGINT"),
    ("script", "BLOB"),
    ("script_type", "VARCHAR"),
    ("address", "VARCHAR"),
]
_SHARED = (
    "format",
    "network",
    "block_height",
    "block_hash",
    "hash_serialized_3",
    "hash_status",
    "block_bound_by",
    "coins_total",
    "total_sats",
    "files_total",
    "export_id",
)
_REQUIRED = (*_SHARED, "file_index", "file_coins")
