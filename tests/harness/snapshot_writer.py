"""Write Bitcoin Core ``dumptxoutset`` files (format version 2), for tests and benchmarks.

Written from Bitcoin Core's rules (``serialize.h`` VARINT, ``compressor.cpp`` CompressAmount and
CompressScript, ``rpc/blockchain.cpp`` WriteUTXOSnapshot) independently of the reader in
``utxo_truth.sources.snapshot``, so that a round trip checks one against the other.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

MAGICS = {
    "main": "f9beb4d9",
    "test": "0b110907",
    "testnet4": "1c163f28",
    "signet": "0a03cf40",
    "regtest": "fabfb5da",
}

CoinSpec = tuple[int, int, bool, int, bytes]  # vout, height, coinbase, value, script
Group = tuple[bytes, list[CoinSpec]]  # txid (internal byte order), coins


def varint(n: int) -> bytes:
    tmp = []
    while True:
        tmp.append((n & 0x7F) | (0x80 if tmp else 0))
        if n <= 0x7F:
            break
        n = (n >> 7) - 1
    return bytes(reversed(tmp))


def compact(n: int) -> bytes:
    if n < 253:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)


def compress_amount(n: int) -> int:
    if n == 0:
        return 0
    e = 0
    while n % 10 == 0 and e < 9:
        n //= 10
        e += 1
    if e < 9:
        d = n % 10
        n //= 10
        return 1 + (n * 9 + d - 1) * 10 + e
    return 1 + (n - 1) * 10 + 9


def _fully_valid_uncompressed(key: bytes) -> bool:
    from embit import ec

    try:
        ec.PublicKey.parse(key)
    except Exception:
        return False
    return True


def compress_script(s: bytes) -> bytes:
    if (
        len(s) == 25
        and s[0] == 0x76
        and s[1] == 0xA9
        and s[2] == 20
        and s[23] == 0x88
        and s[24] == 0xAC
    ):
        return b"\x00" + s[3:23]
    if len(s) == 23 and s[0] == 0xA9 and s[1] == 20 and s[22] == 0x87:
        return b"\x01" + s[2:22]
    if len(s) == 35 and s[0] == 33 and s[34] == 0xAC and s[1] in (2, 3):
        return s[1:34]
    if (
        len(s) == 67
        and s[0] == 65
        and s[66] == 0xAC
        and s[1] == 4
        and _fully_valid_uncompressed(s[1:66])
    ):
        return bytes([0x04 | (s[65] & 1)]) + s[2:34]
    return varint(len(s) + 6) + s


def coin_bytes(vout: int, height: int, coinbase: bool, value: int, script: bytes) -> bytes:
    return (
        compact(vout)
        + varint(height * 2 + int(coinbase))
        + varint(compress_amount(value))
        + compress_script(script)
    )


def write_header(f: BinaryIO, network: str, block_hash_hex: str, count: int) -> None:
    f.write(b"utxo\xff" + struct.pack("<H", 2) + bytes.fromhex(MAGICS[network]))
    f.write(bytes.fromhex(block_hash_hex)[::-1] + struct.pack("<Q", count))


def write_snapshot(path: Path, network: str, block_hash_hex: str, groups: Iterable[Group]) -> int:
    """Write groups sorted by txid as Core does; returns the coin count."""
    groups = sorted(groups, key=lambda g: g[0])
    count = sum(len(c) for _, c in groups)
    with path.open("wb") as f:
        write_header(f, network, block_hash_hex, count)
        for txid, coins in groups:
            f.write(txid + compact(len(coins)))
            for vout, height, coinbase, value, script in coins:
                f.write(coin_bytes(vout, height, coinbase, value, script))
    return count


def hash_serialized_3(groups: Iterable[Group]) -> str:
    """Bitcoin Core's gettxoutsetinfo hash of the coins, written here from TxOutSer (coinstats)."""
    import hashlib

    h = hashlib.sha256()
    for txid, coins in sorted(groups, key=lambda g: g[0]):
        for vout, height, coinbase, value, script in coins:
            h.update(
                txid
                + struct.pack("<I", vout)
                + struct.pack("<I", height * 2 + int(coinbase))
                + struct.pack("<q", value)
                + compact(len(script))
                + script
            )
    return hashlib.sha256(h.digest()).digest()[::-1].hex()
