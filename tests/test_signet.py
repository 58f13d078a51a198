"""BIP-325 signet block signatures on the real default-signet blocks 1..10."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from utxo_truth import VerificationError
from utxo_truth._network import Network
from utxo_truth._signet import DEFAULT_SIGNET_CHALLENGE, check_signet_block, check_signet_solution
from utxo_truth.verify import GENESIS, block_txids, check_header_chain, header_hash, merkle_branch

DATA = json.loads(
    (Path(__file__).parent / "data" / "chains" / "signet-blocks-1-10.json").read_text()
)
BLOCKS = [bytes.fromhex(b) for b in DATA["blocks"]]
TWO_OF_TWO = bytes.fromhex(DATA["must_fail_under_challenge"])
MAINNET_GENESIS = bytes.fromhex(
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e"
    "67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c"
)


def signet_genesis() -> bytes:
    # mainnet's genesis block with time 1598918400, bits 0x1e0377ae, nonce 52613770
    return (
        MAINNET_GENESIS[:68]
        + (1598918400).to_bytes(4, "little")
        + (0x1E0377AE).to_bytes(4, "little")
        + (52613770).to_bytes(4, "little")
    )


def test_the_data_names_the_default_challenge() -> None:
    assert bytes.fromhex(DATA["default_challenge"]) == DEFAULT_SIGNET_CHALLENGE


def test_signet_headers_0_to_10_verify() -> None:
    assert header_hash(signet_genesis()) == GENESIS[Network.SIGNET]
    chain = check_header_chain([signet_genesis(), *(b[:80] for b in BLOCKS)], 0, Network.SIGNET)
    assert chain.tip_height == 10


@pytest.mark.parametrize("height", range(1, 11))
def test_signet_block_verifies_under_the_default_challenge(height: int) -> None:
    check_signet_block(BLOCKS[height - 1], height)
    check_signet_block(BLOCKS[height - 1], height, DEFAULT_SIGNET_CHALLENGE)


@pytest.mark.parametrize("height", range(1, 11))
def test_signet_block_fails_under_the_2_of_2_challenge(height: int) -> None:
    with pytest.raises(VerificationError, match=f"height {height} breaks bad-signet-blksig"):
        check_signet_block(BLOCKS[height - 1], height, TWO_OF_TWO)


def _coinbase(block: bytes) -> tuple[bytes, bytes, list[str]]:
    from utxo_truth._signet import _read_size, _tx_end

    header, txids = block_txids(block)
    _, i = _read_size(block, 80)
    return header, block[i : _tx_end(block, i)], merkle_branch(txids, 0)


def test_an_edited_header_time_breaks_the_signature() -> None:
    header, cb, branch = _coinbase(BLOCKS[0])
    check_signet_solution(header, cb, branch, 1)
    t = int.from_bytes(header[68:72], "little") + 1
    edited = header[:68] + t.to_bytes(4, "little") + header[72:]
    with pytest.raises(VerificationError, match=r"bad-signet-blksig.*does not satisfy"):
        check_signet_solution(edited, cb, branch, 1)


def test_an_edited_signature_fails() -> None:
    header, cb, branch = _coinbase(BLOCKS[2])
    k = cb.index(bytes.fromhex("ecc7daa2"))
    # flip a byte inside the DER signature (well after the header and the scriptSig length)
    forged = cb[: k + 20] + bytes([cb[k + 20] ^ 1]) + cb[k + 21 :]
    with pytest.raises(VerificationError, match="bad-signet-blksig"):
        check_signet_solution(header, forged, branch, 3)


def test_a_coinbase_not_in_the_header_fails() -> None:
    header, _, branch = _coinbase(BLOCKS[0])
    _, other_cb, _ = _coinbase(BLOCKS[1])
    with pytest.raises(VerificationError, match="do not reach the header"):
        check_signet_solution(header, other_cb, branch, 1)


def test_a_trivial_op_true_challenge_passes() -> None:
    # BIP-325: a block with no solution is checked with an empty scriptSig and witness
    check_signet_block(BLOCKS[0], 1, b"\x51")


def test_an_unsupported_challenge_is_refused_not_accepted() -> None:
    with pytest.raises(VerificationError, match="does not evaluate"):
        check_signet_block(BLOCKS[0], 1, b"\x63\x51\x68")  # OP_IF OP_1 OP_ENDIF
