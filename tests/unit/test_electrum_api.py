"""Electrum's reply shapes (sources/_electrum_api.py), checked without a server.

The shapes are those ElectrumX 2.0 sends (session.py); the headers are real testnet4 ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from utxo_truth._exceptions import SourceProtocolError
from utxo_truth._network import Network
from utxo_truth.sources._electrum_api import (
    Balance,
    HistoryItem,
    MerkleProof,
    UnspentItem,
    parse_balance,
    parse_features,
    parse_header,
    parse_headers_chunk,
    parse_history,
    parse_listunspent,
    parse_merkle_proof,
    parse_tip,
    parse_version,
)
from utxo_truth.verify import GENESIS, header_hash

HEADERS = [
    bytes.fromhex(x[:160])
    for x in (Path(__file__).parents[1] / "data" / "chains" / "testnet4-blocks-0-2015.hex")
    .read_text()
    .split()[:3]
]
TXID = "4e3b" * 16


def test_tip_and_header_replies_give_80_byte_headers() -> None:
    tip = parse_tip({"height": 2, "hex": HEADERS[2].hex()}, "tip")
    assert tip.height == 2 and header_hash(tip.header) == header_hash(HEADERS[2])
    assert parse_header(HEADERS[0].hex(), "header") == HEADERS[0]
    # with cp_height the header comes in a dict with its proof
    assert parse_header({"header": HEADERS[1].hex(), "root": "00" * 32}, "h") == HEADERS[1]


@pytest.mark.parametrize(
    "reply",
    [
        None,
        {"height": 2},
        {"height": "2", "hex": "00" * 80},
        {"height": True, "hex": "00" * 80},
        {"height": -1, "hex": "00" * 80},
        {"height": 2, "hex": "00" * 79},
        {"height": 2, "hex": "zz" * 80},
    ],
)
def test_a_malformed_tip_is_a_protocol_error(reply: Any) -> None:
    with pytest.raises(SourceProtocolError, match=r"^bad tip"):
        parse_tip(reply, "bad tip")


def test_headers_chunks_in_both_protocol_forms() -> None:
    old = parse_headers_chunk({"hex": b"".join(HEADERS).hex(), "count": 3, "max": 2016}, "c")
    new = parse_headers_chunk({"headers": [h.hex() for h in HEADERS], "count": 3}, "c")
    assert old.headers == new.headers == tuple(HEADERS) and old.max == 2016 and new.max is None
    assert header_hash(old.headers[0]) == GENESIS[Network.TESTNET4]
    with pytest.raises(SourceProtocolError, match="count 4 but 3 headers"):
        parse_headers_chunk({"hex": b"".join(HEADERS).hex(), "count": 4}, "c")
    with pytest.raises(SourceProtocolError, match="not a whole number"):
        parse_headers_chunk({"hex": "00" * 81, "count": 1}, "c")
    with pytest.raises(SourceProtocolError, match="without 'hex' or 'headers'"):
        parse_headers_chunk({"count": 0}, "c")
    with pytest.raises(SourceProtocolError, match="header is 79 bytes"):
        parse_headers_chunk({"headers": ["00" * 79]}, "c")


def test_history_listunspent_and_balance() -> None:
    items = parse_history(
        [{"tx_hash": TXID, "height": 7}, {"tx_hash": TXID.upper(), "height": -1, "fee": 141}],
        "history",
    )
    assert items == (HistoryItem(TXID, 7), HistoryItem(TXID, -1, 141))  # hex lower-cased
    unspent = parse_listunspent([{"tx_hash": TXID, "tx_pos": 1, "value": 5, "height": 0}], "lu")
    assert unspent == (UnspentItem(TXID, 1, 5, 0),)
    assert parse_balance({"confirmed": 10, "unconfirmed": -3}) == Balance(10, -3)
    assert parse_balance({"confirmed": 1.5, "unconfirmed": 0}) is None  # never a float amount


@pytest.mark.parametrize(
    "item",
    [
        {"tx_hash": TXID, "tx_pos": -1, "value": 5, "height": 0},
        {"tx_hash": TXID, "tx_pos": 0, "value": -5, "height": 0},
        {"tx_hash": TXID, "tx_pos": 0, "value": 0.5, "height": 0},
        {"tx_hash": TXID, "tx_pos": 0, "value": 5, "height": -2},
        {"tx_hash": TXID[:-2], "tx_pos": 0, "value": 5, "height": 0},
        "x",
    ],
)
def test_a_malformed_unspent_item_is_a_protocol_error(item: Any) -> None:
    with pytest.raises(SourceProtocolError, match="malformed"):
        parse_listunspent([item], "malformed listunspent")


def test_merkle_proofs_are_read_or_refused() -> None:
    proof = parse_merkle_proof({"block_height": 5, "merkle": [TXID], "pos": 1})
    assert proof == MerkleProof(5, (TXID,), 1)
    assert parse_merkle_proof({"block_height": 5, "merkle": ["x"], "pos": 1}) is None
    assert parse_merkle_proof({"block_height": 5, "merkle": [], "pos": -1}) is None
    assert parse_merkle_proof([TXID]) is None


def test_server_version_and_features() -> None:
    assert parse_version(["ElectrumX 2.0.0", "1.4"], "v").protocol == "1.4"
    with pytest.raises(SourceProtocolError):
        parse_version(["ElectrumX 2.0.0"], "v")
    features = {
        "hosts": {},
        "pruning": None,
        "server_version": "ElectrumX 2.0.0",
        "protocol_min": "1.4",
        "protocol_max": "1.7",
        "genesis_hash": header_hash(HEADERS[0]),
        "hash_function": "sha256",
        "services": [],
    }
    f = parse_features(features, "features")
    assert f.genesis_hash == header_hash(HEADERS[0]) and f.pruning is None
    with pytest.raises(SourceProtocolError, match="genesis hash"):
        parse_features({**features, "genesis_hash": "00"}, "features")


def test_a_server_of_another_network_is_refused_even_with_features_half_given() -> None:
    from utxo_truth._exceptions import SourceSpecError
    from utxo_truth.sources._jsonrpc import Reply
    from utxo_truth.sources.electrum import ElectrumSource

    src = ElectrumSource("127.0.0.1", 1, network="testnet4", tls=False, cache_dir=False)
    whole = {
        "genesis_hash": GENESIS[Network.MAIN],
        "protocol_min": "1.4",
        "protocol_max": "1.4.2",
        "server_version": "ElectrumX 2.0.0",
    }
    half = {"genesis_hash": GENESIS[Network.MAIN]}  # the other fields missing: still checked
    for features in (whole, half):
        with pytest.raises(SourceSpecError, match=r"serves main .* not testnet4"):
            src._check_network(Reply(result=features))
    src._check_network(Reply(result={"genesis_hash": GENESIS[Network.TESTNET4]}))  # its own
    src._check_network(Reply(result={}))  # nothing said: the headers are the check
