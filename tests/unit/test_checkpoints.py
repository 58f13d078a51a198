"""The shipped checkpoint tables, and chunk / header assurance on real chains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from utxo_truth import VerificationError
from utxo_truth._checkpoints import (
    STALE_AFTER,
    build_table,
    chunk_assurance,
    header_assurance,
    load_checkpoints,
    parse_bitcoinj,
    tip_problems,
)
from utxo_truth._network import Network
from utxo_truth._pow import POW_LIMIT, bits_to_target
from utxo_truth.verify import block_txids, header_hash, merkle_branch, merkle_branches

DATA = Path(__file__).parents[1] / "data" / "chains"
NETS = {
    Network.MAIN: "mainnet",
    Network.TESTNET: "testnet",
    Network.TESTNET4: "testnet4",
    Network.SIGNET: "signet",
}


def electrum(net: Network) -> list[list[object]]:
    return json.loads((DATA / f"electrum-checkpoints-{NETS[net]}.json").read_text())


def bitcoinj(net: Network) -> dict[int, bytes]:
    path = DATA / f"bitcoinj-checkpoints-{NETS[net]}.txt"
    return parse_bitcoinj(path.read_text()) if path.exists() else {}


@pytest.mark.parametrize("net", list(NETS), ids=lambda n: n.value)
def test_the_shipped_table_is_the_one_built_from_the_sources(net: Network) -> None:
    table = load_checkpoints(net)
    rebuilt = build_table(net, electrum(net), bitcoinj(net) or None)
    assert [list(e) for e in table.epochs] == rebuilt["epochs"]
    assert {str(h): x.hex() for h, x in table.headers.items()} == rebuilt["headers"]
    assert [e[0] for e in table.epochs] == [e[0] for e in electrum(net)]


def test_mainnet_table_reaches_953567_and_bitcoinj_878976() -> None:
    table = load_checkpoints(Network.MAIN)
    assert table.last_height == 953_567
    assert max(table.headers) == 878_976 and len(table.headers) == 436
    assert all(t is not None for _, t in table.epochs)


@pytest.mark.parametrize("net", [Network.MAIN, Network.TESTNET, Network.SIGNET], ids=str)
def test_every_bitcoinj_header_hashes_has_pow_links_and_carries_its_target(net: Network) -> None:
    table = load_checkpoints(net)
    el = electrum(net)
    assert table.headers
    for height, header in table.headers.items():
        assert height % 2016 == 0 and len(header) == 80
        k = height // 2016
        digest = header_hash(header)
        target = bits_to_target(int.from_bytes(header[72:76], "little"))
        assert 0 < target <= POW_LIMIT[net]
        assert int(digest, 16) <= target, f"{net} {height}: no proof of work"
        if k - 1 < len(el):
            # links to the Electrum hash of the block before it (the last of epoch k - 1)
            assert header[4:36] == bytes.fromhex(str(el[k - 1][0]))[::-1], f"{net} {height}"
            if net is Network.MAIN:
                assert el[k - 1][1] == target  # Electrum's target is the one it carries
            assert table.epoch_target(k) == target
        if k < len(el) and net is not Network.TESTNET:
            assert header_assurance(header, height, net) == digest


# --- chunk assurance: the real testnet4 epoch 0 ---------------------------------------------


def _testnet4_chunk() -> list[bytes]:
    lines = (DATA / "testnet4-blocks-0-2015.hex").read_text().split()
    return [bytes.fromhex(x[:160]) for x in lines]


def test__testnet4_chunk_0_has_chunk_assurance() -> None:
    chain = chunk_assurance(_testnet4_chunk(), 0, Network.TESTNET4)
    assert chain.hash(2015) == electrum(Network.TESTNET4)[0][0]


def test_a_chunk_with_a_flipped_byte_fails() -> None:
    headers = _testnet4_chunk()
    h = bytearray(headers[700])
    h[40] ^= 1  # in the merkle root: the hash changes, the next header no longer links
    headers[700] = bytes(h)
    with pytest.raises(VerificationError, match=r"height 70[01]"):
        chunk_assurance(headers, 0, Network.TESTNET4)


def test_a_chunk_of_the_wrong_epoch_or_length_fails() -> None:
    headers = _testnet4_chunk()
    with pytest.raises(VerificationError, match="2016 headers"):
        chunk_assurance(headers[:-1], 0, Network.TESTNET4)
    with pytest.raises(VerificationError):
        chunk_assurance(headers, 1, Network.TESTNET4)


def test_a_chunk_whose_last_hash_is_not_the_checkpoint_fails() -> None:
    table = load_checkpoints(Network.TESTNET4)
    forged = type(table)(table.network, (("00" * 32, None), *table.epochs[1:]), table.headers)
    with pytest.raises(VerificationError, match="not the checkpoint"):
        chunk_assurance(_testnet4_chunk(), 0, Network.TESTNET4, forged)


# --- header assurance: the real mainnet block 702,861 ---------------------------------------

BLOCK = (DATA / "mainnet-block-702861.raw").read_bytes()
HEIGHT = 702_861


def test_block_702861_has_header_assurance_against_checkpoint_347() -> None:
    header, txids = block_txids(BLOCK)
    table = load_checkpoints(Network.MAIN)
    assert HEIGHT // 2016 == 348
    assert bits_to_target(int.from_bytes(header[72:76], "little")) == table.epochs[347][1]
    digest = header_assurance(header, HEIGHT, Network.MAIN)
    assert digest.endswith("726dafae")
    for pos, branch in enumerate(merkle_branches(txids)):
        header_assurance(header, HEIGHT, Network.MAIN, txid=txids[pos], branch=branch, pos=pos)


@pytest.mark.parametrize("bit", [0, 5, 17, 24])
def test_block_702861_with_one_bit_of_bits_changed_fails(bit: int) -> None:
    header, _ = block_txids(BLOCK)
    bits = int.from_bytes(header[72:76], "little") ^ (1 << bit)
    edited = header[:72] + bits.to_bytes(4, "little") + header[76:]
    with pytest.raises(VerificationError, match="height 702861"):
        header_assurance(edited, HEIGHT, Network.MAIN)


def test_a_transaction_from_another_block_fails() -> None:
    header, _ = block_txids(BLOCK)
    raw = (DATA / "mainnet-blocks-0-438.dat").read_bytes()
    i, blocks = 0, []
    while i < len(raw):
        n = int.from_bytes(raw[i + 4 : i + 8], "little")
        blocks.append(raw[i + 8 : i + 8 + n])
        i += 8 + n
    _, txids170 = block_txids(blocks[170])
    with pytest.raises(VerificationError, match="does not reach the header at height 702861"):
        header_assurance(
            header, HEIGHT, Network.MAIN, txid=txids170[1], branch=merkle_branch(txids170, 1), pos=1
        )


def test_header_assurance_does_not_exist_on_testnets_or_past_the_checkpoints() -> None:
    with pytest.raises(VerificationError, match="does not exist on testnet4"):
        header_assurance(_testnet4_chunk()[5], 5, Network.TESTNET4)
    header, _ = block_txids(BLOCK)
    with pytest.raises(VerificationError, match="past the last checkpoint"):
        header_assurance(header, 960_000, Network.MAIN)


# --- a stale or eclipsed tip -----------------------------------------------------------------


def test_a_tip_below_the_last_checkpoint_is_said() -> None:
    (p,) = tip_problems(Network.MAIN, 438, 1_231_731_025, now=1_231_731_025 + 60)
    assert "height 438" in p and "below the last embedded checkpoint" in p and "953,567" in p


def test_a_tip_far_behind_the_clock_is_said() -> None:
    t = 1_800_000_000
    assert tip_problems(Network.MAIN, 960_000, t, now=t + STALE_AFTER) == []
    (p,) = tip_problems(Network.MAIN, 960_000, t, now=t + STALE_AFTER + 7200)
    assert "8 hours older than the local clock" in p


def test_both_and_neither() -> None:
    assert len(tip_problems(Network.TESTNET4, 10, 0, now=10**9)) == 2
    assert tip_problems(Network.REGTEST, 10, 0, now=10**9) == []
