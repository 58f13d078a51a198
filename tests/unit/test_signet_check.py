"""The signet step both network sources call (sources/_signet_check.py), on the real blocks 1..10.

The fetch of coinbase + branch is given here from the blocks themselves (what an honest server
sends) or withheld; over the real servers see tests/integration/test_real_electrumx.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from utxo_truth import SourceSpecError, VerificationError
from utxo_truth._network import Network
from utxo_truth._script import read_compact_size
from utxo_truth._signet import DEFAULT_SIGNET_CHALLENGE, _tx_end
from utxo_truth.sources._base import Coin
from utxo_truth.sources._signet_check import parse_challenge, signet_checked
from utxo_truth.verify import block_txids, merkle_branch

DATA = json.loads(
    (Path(__file__).parents[1] / "data" / "chains" / "signet-blocks-1-10.json").read_text()
)
BLOCKS = {h: bytes.fromhex(b) for h, b in enumerate(DATA["blocks"], start=1)}
HEADERS = {h: b[:80] for h, b in BLOCKS.items()}


def honest(headers: Mapping[int, bytes]) -> dict[int, tuple[bytes, list[str]] | str]:
    out: dict[int, tuple[bytes, list[str]] | str] = {}
    for h in headers:
        block = BLOCKS[h]
        _header, txids = block_txids(block)
        _n, i = read_compact_size(block, 80)
        out[h] = (block[i : _tx_end(block, i)], merkle_branch(txids, 0))
    return out


def coin(height: int) -> Coin:
    return Coin("ab" * 32, 0, 5_000, b"\x51", height, True, verification="spv", assurance="chain")


def test_the_challenge_is_the_default_or_the_users_and_only_on_signet() -> None:
    assert parse_challenge(Network.SIGNET, None) == DEFAULT_SIGNET_CHALLENGE
    assert parse_challenge(Network.SIGNET, DATA["must_fail_under_challenge"]) == bytes.fromhex(
        DATA["must_fail_under_challenge"]
    )
    assert parse_challenge(Network.TESTNET4, None) is None
    with pytest.raises(SourceSpecError, match="network signet only"):
        parse_challenge(Network.MAIN, "51")
    with pytest.raises(SourceSpecError, match="in hex"):
        parse_challenge(Network.SIGNET, "not hex")
    with pytest.raises(SourceSpecError, match="empty"):
        parse_challenge(Network.SIGNET, "")


def test_signed_blocks_keep_their_coins_proven() -> None:
    coins = {b"\x51": [coin(3), coin(7)]}
    problems: list[str] = []
    out = signet_checked(
        Network.SIGNET, DEFAULT_SIGNET_CHALLENGE, coins, 10, HEADERS.get, honest, problems
    )
    assert all(c.verification == "spv" for c in out[b"\x51"]) and problems == []


def test_a_block_whose_coinbase_is_withheld_leaves_its_coins_unproven() -> None:
    def withholding(headers: Mapping[int, bytes]) -> dict[int, tuple[bytes, list[str]] | str]:
        got = honest(headers)
        got[7] = "the server would not send the coinbase (no such transaction)"
        got[10] = "no coinbase id from the server (busy)"
        return got

    problems: list[str] = []
    out = signet_checked(
        Network.SIGNET,
        DEFAULT_SIGNET_CHALLENGE,
        {b"\x51": [coin(3), coin(7)]},
        10,
        HEADERS.get,
        withholding,
        problems,
    )
    three, seven = out[b"\x51"]
    assert three.verification == "spv"
    assert seven.verification == "unverified" and seven.assurance is None
    assert seven.problem is not None and "would not send the coinbase" in seven.problem
    assert problems == [
        "the tip's signet block signature (BIP-325) was not checked: no coinbase id from the "
        "server (busy)"
    ]


def test_a_coinbase_from_another_block_is_refused_not_believed() -> None:
    def swapped(headers: Mapping[int, bytes]) -> dict[int, tuple[bytes, list[str]] | str]:
        got = honest(headers)
        got[7] = honest({8: HEADERS[8]})[8]
        return got

    with pytest.raises(VerificationError, match=r"height\(s\) 7: .*do not reach the header"):
        signet_checked(
            Network.SIGNET,
            DEFAULT_SIGNET_CHALLENGE,
            {b"\x51": [coin(7)]},
            10,
            HEADERS.get,
            swapped,
            [],
        )


def test_off_signet_nothing_is_fetched() -> None:
    def never(headers: Mapping[int, bytes]) -> dict[int, tuple[bytes, list[str]] | str]:
        raise AssertionError("fetched off signet")

    coins = {b"\x51": [coin(3)]}
    assert signet_checked(Network.MAIN, None, coins, 10, HEADERS.get, never, []) == {
        b"\x51": (coin(3),)
    }
