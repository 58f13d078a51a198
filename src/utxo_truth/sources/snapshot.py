r"""Bitcoin Core's UTXO snapshot (``dumptxoutset``) as an offline chain source.

Format version 2 (Bitcoin Core 28 and later), all integers little-endian unless said::

    magic "utxo\xff" | version u16 | network magic 4 bytes | base block hash 32 | coin count u64
    then, per transaction with unspent outputs (sorted by txid):
      txid 32 | CompactSize n | n x ( CompactSize vout | Coin )
    Coin = VARINT(height*2 + coinbase) | VARINT(CompressAmount(value)) | CompressedScript

``VARINT`` is Bitcoin Core's MSB-first base-128 with an offset per continuation byte (see
``serialize.h``); ``CompressAmount``/``CompressedScript`` are those of ``compressor.h``: a script
is stored as a 1-byte type (0: P2PKH hash, 1: P2SH hash, 2/3: compressed P2PK, 4/5: uncompressed
P2PK stored compressed) followed by 20 or 32 bytes, or as VARINT(len+6) and the raw script.

The file is read once per look-up, in fixed-size chunks: memory does not grow with its size. To
stay fast, a coin is only decoded when its stored script bytes equal the stored form of a watched
script; all other coins are skipped after finding their length.

The snapshot records the base block's hash but not its height. The height reported is the
highest coin height in the file: the tip's own coinbase outputs are unspendable for 100 blocks,
so they are always in the set (pass ``height=`` when you know it, and it is checked).
"""

from __future__ import annotations

import os
import struct
from array import array
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from .._columns import CoinColumns
from .._exceptions import (
    InputError,
    NetworkMismatchError,
    SnapshotFormatError,
    SourceUnavailableError,
    VerificationError,
)
from .._models import MAX_MONEY, BlockRef
from .._network import Network, network_by_magic, parse_network
from .._script import compact_size
from . import _snapfast
from ._base import Closing, ColumnCoins, Lookup
from ._readprogress import FileProgress

__all__ = [
    "KNOWN_SNAPSHOTS",
    "SnapshotHeader",
    "SnapshotSource",
    "UtxoSetInfo",
    "WatchedScripts",
    "compress_script",
    "parse_snapshot_hash",
    "read_header",
    "utxo_set_info",
]

KNOWN_SNAPSHOTS: dict[Network, dict[str, tuple[int, str]]] = {
    # Bitcoin Core's assumeutxo parameters (src/kernel/chainparams.cpp): base block hash ->
    # (height, hash_serialized_3). A snapshot of one of these blocks is checked against them.
    Network.MAIN: {
        "0000000000000000000320283a032748cef8227873ff4872689bf23f1cda83a5": (
            840_000,
            "a2a5521b1b5ab65f67818e5e8eccabb7171a517f9e2382208f77687310768f96",
        ),
        "000000000000000000010b17283c3c400507969a9c2afd1dcf2082ec5cca2880": (
            880_000,
            "dbd190983eaf433ef7c15f78a278ae42c00ef52e0fd2a54953782175fbadcea9",
        ),
        "0000000000000000000108970acb9522ffd516eae17acddcb1bd16469194a821": (
            910_000,
            "4daf8a17b4902498c5787966a2b51c613acdab5df5db73f196fa59a4da2f1568",
        ),
    },
    Network.TESTNET: {
        "0000000000000093bcb68c03a9a168ae252572d348a2eaeba2cdf9231d73206f": (
            2_500_000,
            "f841584909f68e47897952345234e37fcd9128cd818f41ee6c3ca68db8071be7",
        ),
    },
    Network.TESTNET4: {
        "0000000002ebe8bcda020e0dd6ccfbdfac531d2f6a81457191b99fc2df2dbe3b": (
            90_000,
            "784fb5e98241de66fdd429f4392155c9e7db5c017148e66e8fdbc95746f8b9b5",
        ),
    },
}

MAGIC = b"utxo\xff"
VERSION = 2
HEADER_SIZE = 5 + 2 + 4 + 32 + 8
MAX_SCRIPT_SIZE = 10_000
CHUNK = 1 << 20
# Largest group header + coin: txid, CompactSize, CompactSize vout, two VARINTs, script.
_MARGIN = 32 + 9 + 9 + 10 + 10 + 5 + MAX_SCRIPT_SIZE + 16


class SnapshotHeader:
    """The fixed header of a snapshot file."""

    __slots__ = ("block_hash", "coins", "network", "version")

    def __init__(self, version: int, network: Network, block_hash: str, coins: int) -> None:
        self.version = version
        self.network = network
        self.block_hash = block_hash
        self.coins = coins


def read_header(f: BinaryIO, where: str) -> SnapshotHeader:
    """Read and check the header of a snapshot from an open file."""
    head = f.read(HEADER_SIZE)
    if head[:5] != MAGIC:
        raise SnapshotFormatError(
            f"{where} is not a Bitcoin Core UTXO snapshot (no 'utxo\\xff' magic at the start); "
            "create one with `bitcoin-cli dumptxoutset PATH latest`"
        )
    if len(head) < HEADER_SIZE:
        raise SnapshotFormatError(f"{where}: header truncated ({len(head)} of {HEADER_SIZE} bytes)")
    version = struct.unpack_from("<H", head, 5)[0]
    if version != VERSION:
        raise SnapshotFormatError(
            f"{where}: snapshot format version {version} is not supported (Bitcoin Core 28 and "
            "later write version 2); dump it again with a current Bitcoin Core"
        )
    net = network_by_magic(head[7:11])
    if net is None:
        raise SnapshotFormatError(
            f"{where}: unknown network magic {head[7:11].hex()} (a custom signet is not supported)"
        )
    block_hash = head[11:43][::-1].hex()
    (coins,) = struct.unpack_from("<Q", head, 43)
    return SnapshotHeader(version, net, block_hash, coins)


def compress_script(script: bytes) -> bytes:
    """The stored form of ``script`` in a snapshot (Bitcoin Core's ``CompressScript``).

    For uncompressed P2PK the key is not checked to be on the curve here: a key that is not
    would be stored raw by Core, and :meth:`SnapshotSource.lookup` also matches the raw form.
    """
    n = len(script)
    if n == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return b"\x00" + script[3:23]
    if n == 23 and script[:2] == b"\xa9\x14" and script[22] == 0x87:
        return b"\x01" + script[2:22]
    if n == 35 and script[0] == 33 and script[1] in (2, 3) and script[34] == 0xAC:
        return script[1:34]
    if n == 67 and script[0] == 65 and script[1] == 4 and script[66] == 0xAC:
        return bytes([0x04 | (script[65] & 1)]) + script[2:34]
    return _raw_form(script)


def _raw_form(script: bytes) -> bytes:
    return _core_varint(len(script) + 6) + script


def _core_varint(n: int) -> bytes:
    """Bitcoin Core's VARINT encoding."""
    out = bytearray([n & 0x7F])
    while n > 0x7F:
        n = (n >> 7) - 1
        out.append((n & 0x7F) | 0x80)
    return bytes(reversed(out))


_POW10: tuple[int, ...] = tuple(int(10**i) for i in range(10))


def decompress_amount(x: int) -> int:
    """Bitcoin Core's ``DecompressAmount``."""
    if x == 0:
        return 0
    x -= 1
    e = x % 10
    x //= 10
    if e < 9:
        d = x % 9 + 1
        x //= 9
        n = x * 10 + d
    else:
        n = x + 1
    return n * _POW10[e]


def _is_hex256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def parse_snapshot_hash(text: str) -> tuple[int | None, str | None, str]:
    """``[[HEIGHT:]BLOCKHASH:]HASH`` as ``(height, block hash, UTXO set hash)``.

    What ``gettxoutsetinfo`` prints: ``height``, ``bestblock`` and ``hash_serialized_3``. The
    UTXO set hash alone does not name its block; with ``BLOCKHASH:`` the snapshot's base block
    is checked too.

    Example:
        >>> parse_snapshot_hash("295:" + "ab" * 32 + ":" + "cd" * 32)[0]
        295
    """
    parts = [p.strip().lower() for p in text.strip().split(":")]
    usage = (
        "--snapshot-hash is [HEIGHT:]BLOCKHASH:HASH (gettxoutsetinfo's height, bestblock and "
        "hash_serialized_3) or HASH alone, each hash 64 hex characters"
    )
    if not 1 <= len(parts) <= 3 or not all(_is_hex256(p) for p in parts[-2:] if len(parts) > 1):
        raise InputError(usage)
    if not _is_hex256(parts[-1]):
        raise InputError(usage)
    height: int | None = None
    if len(parts) == 3:
        if not (parts[0].isascii() and parts[0].isdigit() and len(parts[0]) <= 9):
            raise InputError(usage)
        height = int(parts[0])
    block = parts[-2] if len(parts) >= 2 else None
    return height, block, parts[-1]


class WatchedScripts(Protocol):
    """A watch list as a snapshot reads it (``utxo_truth.watchlist.WatchList``)."""

    @property
    def compiled(self) -> object | None:
        """The compiled set of stored forms (``_snapscan.WatchSet``), or None."""
        ...

    def stored_forms(self) -> dict[bytes, bytes]:
        """Each stored form in a snapshot -> its script (the pure-Python reader's look-up)."""
        ...


class SnapshotSource(Closing):
    """A ``dumptxoutset`` file as a chain source: offline, no server, the embedded default.

    It knows unspent coins only, not history, so discovery scans a fixed range over it.
    ``expected_hash`` (a ``gettxoutsetinfo`` ``hash_serialized_3`` from a node you trust) makes
    the first look-up check the whole file against it; for a snapshot at one of Bitcoin Core's
    assumeutxo blocks the expected hash and height are known and always checked.

    Example:
        >>> src = SnapshotSource("utxo.dat", network="regtest")  # doctest: +SKIP
        >>> src.block_hash  # doctest: +SKIP
        '174dcc41...'
    """

    has_history = False
    progress_unit = "bytes"  # a look-up is a pass over the file (FileSource)

    def __init__(
        self,
        path: str | os.PathLike[str],
        network: Network | str,
        *,
        height: int | None = None,
        expected_hash: str | None = None,
        expected_block: str | None = None,
    ) -> None:
        self._path = Path(path)
        self._network = parse_network(network)
        self._height = height
        try:
            with self._path.open("rb") as f:
                header = read_header(f, self._where)
        except OSError as exc:
            raise SourceUnavailableError(
                f"cannot open snapshot {self._where}: {exc.strerror or exc}"
            ) from exc
        if header.network is not self._network:
            raise NetworkMismatchError(
                f"snapshot {self._where} is of {header.network.label}, but the network is "
                f"{self._network.label}",
                expected=self._network.label,
                found=header.network.label,
            )
        self.header = header
        if expected_hash is not None:
            given_height, given_block, expected_hash = parse_snapshot_hash(expected_hash)
            expected_block = given_block or expected_block
            if given_height is not None:
                if height is not None and height != given_height:
                    raise InputError(
                        f"two heights given for the snapshot: {height} and {given_height}"
                    )
                height = self._height = given_height
        if expected_block is not None:
            expected_block = expected_block.strip().lower()
            if not _is_hex256(expected_block):
                raise InputError("expected_block must be a block hash: 64 hex characters")
            # hash_serialized_3 covers the coins only, not the base block: bind the block here
            if header.block_hash != expected_block:
                raise VerificationError(
                    f"snapshot {self._where}: its header names base block {header.block_hash}, "
                    f"not the trusted block {expected_block}: the file is altered or of another "
                    "block"
                )
        known = KNOWN_SNAPSHOTS.get(self._network, {}).get(header.block_hash)
        self.block_bound_by: str | None = "--snapshot-hash" if expected_block else None
        if known is not None:
            if height is not None and height != known[0]:
                raise SnapshotFormatError(
                    f"{self._where}: block {header.block_hash} is at height {known[0]}, not {height}"
                )
            self._height = known[0]
            if expected_hash is not None and expected_hash != known[1]:
                raise VerificationError(
                    f"snapshot {self._where}: the UTXO set hash given, {expected_hash}, is not "
                    f"Bitcoin Core's assumeutxo hash {known[1]} for block {header.block_hash}"
                )
            expected_hash = known[1]
            self.block_bound_by = self.block_bound_by or "Bitcoin Core's assumeutxo table"
        self.expected_hash = expected_hash
        self.hash_verified = False
        self.progress: Callable[[int, int], None] | None = None
        """Called as ``(bytes read, bytes to read)`` during each look-up (see FileProgress)."""

    def _base_height(self, max_height: int, where: str) -> int:
        """The base block's height: the one given or known, else the highest coin's.

        The tip's coinbase outputs are always in the set, so the highest coin height is the
        base block's; a height given or known (assumeutxo) must not be below any coin.
        """
        height = max_height
        if self._height is not None:
            if max_height > self._height:
                raise SnapshotFormatError(
                    f"{where}: holds a coin at height {max_height}, above the height "
                    f"{self._height} it was said to be at"
                )
            height = self._height
        if height < 0:
            raise SnapshotFormatError(
                f"{where}: holds no coins, so its height is unknown; pass height="
            )
        return height

    @property
    def _where(self) -> str:
        return str(self._path)

    @property
    def network(self) -> Network:
        """The snapshot's network (checked against the one asked for)."""
        return self._network

    @property
    def block_hash(self) -> str:
        """Hash of the block the snapshot is true at."""
        return self.header.block_hash

    def describe(self) -> str:
        """``snapshot:PATH`` and exactly what of it was verified.

        The UTXO set hash covers the coins (outpoints, heights, values, scripts) but not the
        base block hash; the block is verified only when it was bound to the hash (given with
        ``--snapshot-hash BLOCKHASH:HASH`` or found in Bitcoin Core's assumeutxo table).
        """
        if not self.hash_verified:
            return f"snapshot:{self._path}"
        assert self.expected_hash is not None
        if self.block_bound_by:
            return (
                f"snapshot:{self._path} (UTXO set hash verified: coins match "
                f"{self.expected_hash[:16]}... and base block {self.block_hash[:16]}... is the "
                f"one bound to it by {self.block_bound_by})"
            )
        return (
            f"snapshot:{self._path} (coins match UTXO set hash {self.expected_hash[:16]}...; "
            "base block hash NOT verified, read from the file)"
        )

    def verify_hash(self) -> UtxoSetInfo:
        """Read every coin and check the UTXO set hash against ``expected_hash``.

        Bitcoin Core's ``hash_serialized_3`` (``gettxoutsetinfo``): double SHA-256 over every
        coin's outpoint, height·2+coinbase, value and script, in the file's (txid, vout) order.
        It proves the file holds exactly the UTXO set that hash was taken of — values included,
        which the file's structure alone cannot show.

        Raises:
            VerificationError: the hash differs.
        """
        info = utxo_set_info(self._path, self._where)
        if self.expected_hash is not None:
            if info.hash_serialized_3 != self.expected_hash:
                raise VerificationError(
                    f"snapshot {self._where}: its UTXO set hashes to {info.hash_serialized_3}, "
                    f"not the expected {self.expected_hash}: the file is altered or of another set"
                )
            self.hash_verified = True
        return info

    def lookup(self, scripts: Collection[bytes]) -> Lookup:
        """One streaming pass over the file: the coins of every script in ``scripts``.

        With an expected UTXO set hash (given, or Bitcoin Core's for a known snapshot), the
        whole file is checked against it first, once.
        """
        passes = 2 if self.expected_hash is not None and not self.hash_verified else 1
        with FileProgress(self._path, passes, self.progress) as reads:  # coins as columns
            return self._lookup(scripts, reads)

    def lookup_watched(self, watched: WatchedScripts) -> Lookup:
        """One pass over the file for a watch list's scripts (``utxo_truth.watchlist``).

        The compiled scanner reads the list's own compiled set (no Python object per script);
        the pure-Python reader its stored forms. The coins are keyed by script, as
        :meth:`lookup`'s, and held as columns too (``Lookup.columns``), whose labels index only
        the scripts that hold coins (in the order they first match one, in either reader).
        """
        passes = 2 if self.expected_hash is not None and not self.hash_verified else 1
        with FileProgress(self._path, passes, self.progress) as reads:  # coins as columns
            return self._lookup((), reads, watched)

    def _lookup(
        self, scripts: Collection[bytes], reads: FileProgress, watched: WatchedScripts | None = None
    ) -> Lookup:
        if self.expected_hash is not None and not self.hash_verified:
            self.verify_hash()
            reads.next_pass()
        labels: dict[bytes, int] = {}  # each watched script once, labelled by its place
        wanted: dict[bytes, int] = {}
        for s in scripts:
            label = labels.setdefault(s, len(labels))
            wanted[compress_script(s)] = label
            wanted[_raw_form(s)] = label
        given: dict[bytes, int] | object = wanted
        every: list[bytes] | None = None  # the pure-Python reader's labels -> scripts
        held = list(labels)  # label -> script, for the columns
        if watched is not None:  # a watch list: its compiled set, or its stored forms
            compiled = watched.compiled if _snapfast.available() else None
            if compiled is not None:
                given = compiled  # the scanner labels the scripts that match, in C
            else:
                for form, s in watched.stored_forms().items():
                    wanted[form] = labels.setdefault(s, len(labels))
                every = list(labels)
        try:
            fast = _snapfast.scan(
                self._path, HEADER_SIZE, self.header.coins, given, self._where,
                want_hash=False, chunk=CHUNK, margin=_MARGIN,
            )  # fmt: skip
            found: tuple[Any, ...]  # the columns (_snapfast.Columns), as bytes or arrays
            if fast is not None:  # the compiled scanner (sources/_snapfast.py), same answers
                found, max_height = fast[0], fast[1]
                if fast[5] is not None:  # a watch list's: labels of the scripts that matched
                    held = fast[5]
                if max_height > 0x7FFFFFFF:  # height*2+coinbase is a uint32 in Core's Coin
                    raise SnapshotFormatError(
                        f"{self._where}: a coin with height code above 2**32-1 (corrupt)"
                    )
            else:
                with self._path.open("rb") as f:
                    read_header(f, self._where)
                    found, max_height = _scan(f, self.header.coins, wanted, self._where)
                if every is not None:  # labelled as the compiled scanner labels a watch list
                    found, held = _dense_labels(found, every)
        except OSError as exc:
            raise SourceUnavailableError(f"cannot read snapshot {self._where}: {exc}") from exc
        height = self._base_height(max_height, self._where)
        # one path for both readers: the coins as columns in Holdings order (_columns.py)
        columns, dup = CoinColumns.sorted_from(found, held)
        if dup >= 0:
            raise SnapshotFormatError(
                f"{self._where}: coin {columns.txid(dup)}:{columns.vout[dup]} is listed twice "
                "(corrupt)"
            )
        problems: tuple[str, ...] = ()
        if self.hash_verified and not self.block_bound_by:
            problems = (
                f"snapshot {self._where}: the coins match the UTXO set hash, but that hash does not "
                f"cover the base block: block {self.header.block_hash} is only what the file says "
                "(pass --snapshot-hash BLOCKHASH:HASH from `gettxoutsetinfo` to bind it)",
            )
        return Lookup(
            block=BlockRef(height=height, hash=self.header.block_hash),
            coins=ColumnCoins(columns),
            used=None,
            problems=problems,
            checked=True,  # each coin range-checked by _check_fields (or the compiled twin)
            columns=columns,
        )


def _scan(
    f: BinaryIO, count: int, wanted: dict[bytes, int], where: str
) -> tuple[tuple[bytearray, array[int], array[int], bytearray, array[int], array[int]], int]:
    """Walk ``count`` coins. Returns the matches as columns (file order) and the highest height.

    The columns are those of the compiled scanner (``_snapfast.Columns``): txids, vout, height,
    coinbase, value and the label ``wanted`` gives the matched script.
    """
    buf = f.read(CHUNK)
    end = len(buf)
    eof = end < CHUNK
    pos = 0
    never = 1 << 62
    limit = never if eof else end - _MARGIN
    group_left = 0
    txid_pos = 0
    txid_saved = b""
    best_len = 0
    best = b""
    best_first = 0
    txids = bytearray()
    vouts, heights, values, labels = array("I"), array("I"), array("Q"), array("I")
    coinbases = bytearray()
    n = 0
    try:
        while n < count:
            if pos > limit:  # near the end of the buffer: read on (limit is `never` at EOF)
                if group_left and txid_pos >= 0:  # the group's txid is about to be cut off
                    txid_saved = buf[txid_pos : txid_pos + 32]
                    txid_pos = -1
                more = f.read(CHUNK)
                eof = len(more) < CHUNK
                buf = buf[pos:] + more
                end = len(buf)
                limit = never if eof else end - _MARGIN
                pos = 0
            if not group_left:
                txid_pos = pos
                pos += 32
                group_left = buf[pos]
                pos += 1
                if group_left >= 253:
                    group_left, pos = _compact_tail(buf, pos, group_left)
                if not group_left:
                    raise SnapshotFormatError(f"{where}: a transaction with zero coins (corrupt)")
            vout = buf[pos]
            pos += 1
            if vout >= 253:
                vout, pos = _compact_tail(buf, pos, vout)
            code_pos = pos
            while buf[pos] > 127:
                pos += 1
            pos += 1
            # Track the highest height without decoding every coin: a longer VARINT is larger,
            # and same-length VARINTs order like their bytes, so most coins are ruled out by
            # comparing one byte.
            code_len = pos - code_pos
            if code_len > best_len or (code_len == best_len and buf[code_pos] >= best_first):
                code = buf[code_pos:pos]
                if code_len > best_len or code > best:
                    best, best_len, best_first = code, code_len, code[0]
            amount_pos = pos
            while buf[pos] > 127:
                pos += 1
            pos += 1
            script_pos = pos
            kind = buf[pos]
            if kind < 6:
                pos += 21 if kind < 2 else 33
            elif kind < 128:
                pos += kind - 5
            else:
                size, pos = _varint_at(buf, pos)
                if size - 6 > MAX_SCRIPT_SIZE:
                    raise SnapshotFormatError(
                        f"{where}: coin {n} has a script of {size - 6} bytes, over the limit"
                    )
                pos += size - 6
            key = buf[script_pos:pos]
            label = wanted.get(key)
            if label is not None:
                if pos > end:
                    raise IndexError
                height_code, value = _coin(buf, vout, code_pos, amount_pos, where)
                txids += buf[txid_pos : txid_pos + 32] if txid_pos >= 0 else txid_saved
                vouts.append(vout)
                heights.append(height_code >> 1)
                coinbases.append(height_code & 1)
                values.append(value)
                labels.append(label)
            group_left -= 1
            n += 1
    except IndexError:
        raise SnapshotFormatError(
            f"{where}: truncated: the header promises {count} coins but the file ends after {n}"
        ) from None
    if pos > end:
        raise SnapshotFormatError(f"{where}: truncated inside the last coin")
    if group_left:
        raise SnapshotFormatError(
            f"{where}: the last transaction promises {group_left} more coins than the header counts"
        )
    if pos != end or f.read(1):
        raise SnapshotFormatError(
            f"{where}: data left after the {count} coins the header counts (corrupt or appended)"
        )
    max_code = _varint_at(best, 0)[0] if best else -1
    if max_code > 0xFFFFFFFF:  # height*2+coinbase is a uint32 in Bitcoin Core's Coin
        raise SnapshotFormatError(f"{where}: a coin with height code {max_code}, above 2**32-1")
    return (txids, vouts, heights, coinbases, values, labels), max_code >> 1 if best else -1


def _dense_labels(
    found: tuple[Any, ...], scripts: list[bytes]
) -> tuple[tuple[Any, ...], list[bytes]]:
    """Columns whose labels index ``scripts`` relabelled 0, 1, ... in the order of first match.

    The compiled scanner labels a watch list's scripts so (``_snapfast.scan``): the
    pure-Python reader's answer is then the same columns, label for label, and its script list
    as short as the scripts that hold coins, not the whole list.
    """
    dense: dict[int, int] = {}
    new = array("I", (dense.setdefault(lab, len(dense)) for lab in found[5]))
    return (*found[:5], new), [scripts[lab] for lab in dense]


def _compact_tail(buf: bytes, pos: int, first: int) -> tuple[int, int]:
    width = {253: 2, 254: 4, 255: 8}[first]
    if pos + width > len(buf):
        raise IndexError
    return int.from_bytes(buf[pos : pos + width], "little"), pos + width


def _varint_at(buf: bytes, pos: int) -> tuple[int, int]:
    n = 0
    for _ in range(10):
        ch = buf[pos]
        pos += 1
        n = (n << 7) | (ch & 0x7F)
        if ch & 0x80:
            n += 1
        else:
            return n, pos
    raise SnapshotFormatError("a VARINT longer than 10 bytes (corrupt snapshot)")


def _check_fields(vout: int, code: int, value: int, where: str) -> None:
    """Range-check one decoded coin, so that nothing later overflows or fails validation."""
    # COutPoint::n is a uint32
    if vout > 0xFFFFFFFF:
        raise SnapshotFormatError(f"{where}: a coin with output index {vout}, above 2**32-1")
    # Coin: nHeight (31 bits) and fCoinBase (1 bit) are serialized as one uint32 code
    if code > 0xFFFFFFFF:
        raise SnapshotFormatError(f"{where}: a coin with height code {code}, above 2**32-1")
    # consensus MoneyRange (amount.h): 0 <= value <= MAX_MONEY
    if value > MAX_MONEY:
        raise SnapshotFormatError(
            f"{where}: a coin of {value} sats, above 21 million BTC (MAX_MONEY)"
        )


def _coin(buf: bytes, vout: int, code_pos: int, amount_pos: int, where: str) -> tuple[int, int]:
    """A matched coin's height code and value, range-checked."""
    code, _ = _varint_at(buf, code_pos)
    compressed, _ = _varint_at(buf, amount_pos)
    value = decompress_amount(compressed)
    _check_fields(vout, code, value, where)
    return code, value


class UtxoSetInfo:
    """What ``gettxoutsetinfo`` says of a UTXO set, computed from a snapshot file."""

    __slots__ = ("hash_serialized_3", "total_sats", "txouts")

    def __init__(self, hash_serialized_3: str, txouts: int, total_sats: int) -> None:
        self.hash_serialized_3 = hash_serialized_3
        self.txouts = txouts
        self.total_sats = total_sats


def _full_script(kind: int, payload: bytes) -> bytes:
    if kind == 0:
        return b"\x76\xa9\x14" + payload + b"\x88\xac"
    if kind == 1:
        return b"\xa9\x14" + payload + b"\x87"
    if kind in (2, 3):
        return b"\x21" + bytes([kind]) + payload + b"\xac"
    from .._derive import decompress_pubkey

    try:
        return b"\x41" + decompress_pubkey(bytes([kind - 2]) + payload) + b"\xac"
    except ValueError:
        raise SnapshotFormatError(
            "an uncompressed P2PK coin whose key is not on the curve"
        ) from None


def utxo_set_info(path: Path, where: str) -> UtxoSetInfo:
    """Decode every coin of a snapshot: hash_serialized_3, coin count and total value.

    Streams in fixed chunks like :meth:`SnapshotSource.lookup`: memory does not grow with the file.
    """
    import hashlib

    digest = hashlib.sha256()
    total = 0
    n = 0
    with path.open("rb") as f:
        header = read_header(f, where)
        fast = _snapfast.scan(
            path, HEADER_SIZE, header.coins, {}, where, want_hash=True, chunk=CHUNK, margin=_MARGIN
        )
        if fast is not None and fast[2] is not None:  # the compiled pass (sources/_snapfast.py)
            return UtxoSetInfo(fast[2][::-1].hex(), fast[3], fast[4])
        data = f.read(CHUNK)
        eof = len(data) < CHUNK
        pos = 0
        try:
            while n < header.coins:
                if not eof and pos > len(data) - _MARGIN:  # a whole group header + coin must fit
                    more = f.read(CHUNK)
                    eof = len(more) < CHUNK
                    data = data[pos:] + more
                    pos = 0
                txid = data[pos : pos + 32]
                pos += 32
                k = data[pos]
                pos += 1
                if k >= 253:
                    k, pos = _compact_tail(data, pos, k)
                for _ in range(k):
                    if not eof and pos > len(data) - _MARGIN:
                        more = f.read(CHUNK)
                        eof = len(more) < CHUNK
                        data = data[pos:] + more
                        pos = 0
                    vout = data[pos]
                    pos += 1
                    if vout >= 253:
                        vout, pos = _compact_tail(data, pos, vout)
                    code, pos = _varint_at(data, pos)
                    amount, pos = _varint_at(data, pos)
                    value = decompress_amount(amount)
                    _check_fields(vout, code, value, where)
                    size, pos = _varint_at(data, pos)
                    if size < 6:
                        width = 20 if size < 2 else 32
                        script = _full_script(size, data[pos : pos + width])
                        pos += width
                    elif size - 6 > MAX_SCRIPT_SIZE:
                        raise SnapshotFormatError(
                            f"{where}: coin {n} has a script of {size - 6} bytes, over the limit"
                        )
                    else:
                        script = data[pos : pos + size - 6]
                        pos += size - 6
                    if pos > len(data):
                        raise IndexError
                    digest.update(
                        txid
                        + vout.to_bytes(4, "little")
                        + code.to_bytes(4, "little")
                        + value.to_bytes(8, "little", signed=True)
                        + compact_size(len(script))
                        + script
                    )
                    total += value
                    n += 1
        except IndexError:
            raise SnapshotFormatError(f"{where}: truncated after {n} coins") from None
        if pos != len(data) or f.read(1):
            raise SnapshotFormatError(f"{where}: data left after the {header.coins} coins")
    final = hashlib.sha256(digest.digest()).digest()[::-1].hex()
    return UtxoSetInfo(final, n, total)
