"""`verify` and its proof-of-work rules on pure vectors: no server, no file but real blocks.

The vectors are Bitcoin Core's own: the genesis block, `arith_uint256_tests.cpp`'s compact
encodings, `pow_tests.cpp`'s four retargets (`CalculateNextWorkRequired`), and the real mainnet
blocks 0-438 (`tests/data/chains`); merkle branches are checked against the root they come from.
"""

from __future__ import annotations

import hashlib
import random
import struct
from pathlib import Path

import pytest

from utxo_truth._exceptions import VerificationError
from utxo_truth._network import Network
from utxo_truth._pow import bits_to_target, required_bits, target_to_bits
from utxo_truth.verify import (
    GENESIS,
    block_txids,
    check_header_chain,
    header_hash,
    merkle_branch,
    merkle_root,
    merkle_root_from_branch,
    tx_outputs,
)

DATA = Path(__file__).parents[1] / "data" / "chains"


def _blocks() -> list[bytes]:
    raw = (DATA / "mainnet-blocks-0-438.dat").read_bytes()  # magic, size, block; as Core writes
    i, out = 0, []
    while i < len(raw):
        n = int.from_bytes(raw[i + 4 : i + 8], "little")
        out.append(raw[i + 8 : i + 8 + n])
        i += 8 + n
    return out


BLOCKS = _blocks()


def _header(version: int, prev: str, merkle: str, time: int, bits: int, nonce: int) -> bytes:
    return (
        struct.pack("<i", version)
        + bytes.fromhex(prev)[::-1]
        + bytes.fromhex(merkle)[::-1]
        + struct.pack("<III", time, bits, nonce)
    )


def test_the_genesis_header_hashes_to_the_genesis_hash() -> None:
    genesis = _header(
        1,
        "00" * 32,
        "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        1231006505,
        0x1D00FFFF,
        2083236893,
    )
    assert header_hash(genesis) == GENESIS[Network.MAIN]
    assert genesis == BLOCKS[0][:80]


@pytest.mark.parametrize(
    ("bits", "target"),
    [
        (0x01123456, 0x12),  # arith_uint256_tests: SetCompact
        (0x02123456, 0x1234),
        (0x03123456, 0x123456),
        (0x04123456, 0x12345600),
        (0x05009234, 0x92340000),
        (0x20123456, 0x123456 << 8 * 29),
        (0x1D00FFFF, 0xFFFF << 8 * 26),  # mainnet's proof-of-work limit
    ],
)
def test_compact_targets_decode_as_core_decodes_them(bits: int, target: int) -> None:
    assert bits_to_target(bits) == target


@pytest.mark.parametrize("bits", [0x04923456, 0x01FEDCBA])  # the sign bit set on a non-zero word
def test_a_negative_compact_target_is_refused(bits: int) -> None:
    with pytest.raises(VerificationError, match="negative compact target"):
        bits_to_target(bits)


def test_an_overflowing_compact_target_is_refused() -> None:
    with pytest.raises(VerificationError, match="overflows 256 bits"):
        bits_to_target(0xFF123456)


@pytest.mark.parametrize(
    ("target", "bits"),
    [(0x80, 0x02008000), (0x12, 0x01120000), (0x12345600, 0x04123456), (0, 0)],
)
def test_compact_encoding_as_get_compact(target: int, bits: int) -> None:
    assert target_to_bits(target) == bits  # arith_uint256::GetCompact: no sign bit produced


def _period(first_time: int, last_time: int, bits: int) -> list[bytes]:
    """2016 headers of one period: only their time and bits matter to the retarget."""
    out = []
    for k in range(2016):
        time = first_time if k == 0 else last_time if k == 2015 else first_time + k
        out.append(bytes(68) + struct.pack("<II", time, bits) + bytes(4))
    return out


@pytest.mark.parametrize(
    ("last_height", "first_time", "last_time", "bits", "expected"),
    [
        (32255, 1261130161, 1262152739, 0x1D00FFFF, 0x1D00D86A),  # pow_tests: get_next_work
        (2015, 1231006505, 1233061996, 0x1D00FFFF, 0x1D00FFFF),  # capped at the limit
        (68543, 1279008237, 1279297671, 0x1C05A3F4, 0x1C0168FD),  # timespan clamped at /4
        (48383, 1263163443, 1269211443, 0x1C387F6F, 0x1D00E1FD),  # timespan clamped at x4
    ],
)
def test_mainnet_retarget_equals_core(
    last_height: int, first_time: int, last_time: int, bits: int, expected: int
) -> None:
    before = _period(first_time, last_time, bits)
    got = required_bits(Network.MAIN, before, last_height - 2015, last_time + 600)
    assert got == expected


def test_inside_a_period_the_bits_do_not_change() -> None:
    before = _period(1261130161, 1262152739, 0x1D00FFFF)[:100]
    assert required_bits(Network.MAIN, before, 30240, 1262152739) == 0x1D00FFFF


def test_the_real_mainnet_headers_0_to_438_verify() -> None:
    chain = check_header_chain([b[:80] for b in BLOCKS], 0, Network.MAIN)
    assert chain.tip_height == 438
    assert chain.header(170) == BLOCKS[170][:80]


def test_one_flipped_nonce_bit_is_named_by_its_height() -> None:
    headers = [b[:80] for b in BLOCKS]
    headers[300] = headers[300][:76] + bytes([headers[300][76] ^ 1]) + headers[300][77:]
    with pytest.raises(VerificationError, match="300"):
        check_header_chain(headers, 0, Network.MAIN)


def test_every_merkle_branch_of_block_170_reaches_its_root() -> None:
    header, txids = block_txids(BLOCKS[170])
    for pos, txid in enumerate(txids):
        assert merkle_root_from_branch(txid, merkle_branch(txids, pos), pos) == header[36:68]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 33])
def test_branches_of_random_trees_reach_the_root(n: int) -> None:
    rng = random.Random(n)
    txids = [hashlib.sha256(rng.randbytes(8)).hexdigest() for _ in range(n)]
    root = merkle_root(txids)
    for pos, txid in enumerate(txids):
        assert merkle_root_from_branch(txid, merkle_branch(txids, pos), pos) == root


def test_a_transaction_is_read_only_when_it_hashes_to_its_txid() -> None:
    block = BLOCKS[9]
    _header_bytes, txids = block_txids(block)
    coinbase = block[81:]  # one transaction after the header and its count (CompactSize 1)
    out = tx_outputs(coinbase, txids[0])
    script, value = out.outputs[0]
    assert out.coinbase and out.spends == () and value == 50 * 100_000_000
    assert len(script) == 67 and script[0] == 65 and script[-1] == 0xAC  # <65-byte key> CHECKSIG
    with pytest.raises(VerificationError):
        tx_outputs(coinbase, txids[0][::-1])
