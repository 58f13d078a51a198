"""Esplora's reply shapes (sources/_esplora_api.py), checked without a server."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from utxo_truth._exceptions import SourceProtocolError
from utxo_truth.sources._esplora_api import (
    ScriptStats,
    compact_size,
    header_from_summary,
    outs_from_hex,
    parse_stats,
    scripthash,
    txid_of_json,
)
from utxo_truth.verify import header_hash

# regtest genesis: header fields and its id (Bitcoin Core chainparams.cpp)
GENESIS_ID = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
GENESIS_SUMMARY = {
    "id": GENESIS_ID,
    "height": 0,
    "version": 1,
    "timestamp": 1296688602,
    "bits": 0x207FFFFF,
    "nonce": 2,
    "merkle_root": "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
    "previousblockhash": None,
}
# the genesis coinbase: its raw bytes hash to the merkle root above
GENESIS_TX = (
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff"
    "001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e20627269"
    "6e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104"
    "678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51e"
    "c112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000"
)
GENESIS_TXID = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"


def _stats(**over: Any) -> dict[str, Any]:
    half = {"funded_txo_sum": 10, "spent_txo_sum": 4, "tx_count": 3}
    return {"chain_stats": dict(half, **over), "mempool_stats": dict(half)}


def test_stats_are_typed() -> None:
    s = parse_stats(_stats(), "bad")
    assert isinstance(s, ScriptStats)
    assert (s.chain.balance, s.mempool.tx_count, s.tx_count) == (6, 3, 6)


@pytest.mark.parametrize(
    "reply",
    [
        None,
        [],
        {"chain_stats": {}},
        _stats(tx_count="3"),
        _stats(tx_count=True),
        _stats(spent_txo_sum=None),
    ],
)
def test_malformed_stats_are_a_protocol_error(reply: Any) -> None:
    with pytest.raises(SourceProtocolError, match=r"^bad stats"):
        parse_stats(reply, "bad stats")


def test_scripthash_is_plain_sha256_not_reversed() -> None:
    script = bytes.fromhex("0014" + "11" * 20)
    assert scripthash(script) == hashlib.sha256(script).hexdigest()


@pytest.mark.parametrize(
    ("n", "encoded"),
    [
        (0, "00"),
        (252, "fc"),
        (253, "fdfd00"),
        (0xFFFF, "fdffff"),
        (0x10000, "fe00000100"),
        (2**32, "ff0000000001000000"),
    ],
)
def test_compact_size(n: int, encoded: str) -> None:
    assert compact_size(n).hex() == encoded


def test_a_block_summary_rebuilds_its_header() -> None:
    built = header_from_summary(GENESIS_SUMMARY)
    assert built is not None
    height, block_id, header = built
    assert (height, block_id, header_hash(header)) == (0, GENESIS_ID, GENESIS_ID)


@pytest.mark.parametrize("drop", ["bits", "nonce", "merkle_root", "id"])
def test_a_summary_missing_a_field_is_none(drop: str) -> None:
    assert header_from_summary({k: v for k, v in GENESIS_SUMMARY.items() if k != drop}) is None


def test_raw_transaction_outputs_only_when_it_hashes_to_its_txid() -> None:
    outs = outs_from_hex(GENESIS_TX, GENESIS_TXID)
    assert outs is not None and outs.coinbase and outs.outputs[0][1] == 50 * 10**8
    assert outs_from_hex(GENESIS_TX, "00" * 32) is None
    assert outs_from_hex("zz", GENESIS_TXID) is None and outs_from_hex(None, GENESIS_TXID) is None


def test_a_transaction_object_serialises_to_its_txid() -> None:
    obj = {
        "version": 1,
        "locktime": 0,
        "vin": [
            {
                "txid": "00" * 32,
                "vout": 0xFFFFFFFF,
                "scriptsig": GENESIS_TX[84 : 84 + 2 * 0x4D],
                "sequence": 0xFFFFFFFF,
                "is_coinbase": True,
            }
        ],
        "vout": [{"value": 50 * 10**8, "scriptpubkey": GENESIS_TX[-142:-8]}],
    }
    assert txid_of_json(obj) == GENESIS_TXID
    assert txid_of_json({**obj, "locktime": 1}) != GENESIS_TXID
    assert txid_of_json({**obj, "vout": [{"value": "x"}]}) is None
