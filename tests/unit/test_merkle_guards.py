"""The merkle guards in verify.py, against Electrum's attack vectors and a real mainnet block."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from utxo_truth import VerificationError
from utxo_truth.verify import (
    MAX_MERKLE_BRANCH,
    block_txids,
    merkle_branch,
    merkle_branches,
    merkle_root,
    merkle_root_from_branch,
    parses_as_transaction,
)

DATA = Path(__file__).parents[1] / "data" / "chains"
VECTORS = json.loads((DATA / "merkle-attack-vectors.json").read_text())


def dsha(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def unguarded_root(leaf: str, branch: list[str], pos: int) -> str:
    """The root a verifier without the guards computes (to show each forgery is a real one)."""
    h = bytes.fromhex(leaf)[::-1]
    for level, s in enumerate(branch):
        sib = bytes.fromhex(s)[::-1]
        h = dsha(sib + h) if (pos >> level) & 1 else dsha(h + sib)
    return h[::-1].hex()


# --- CVE-2017-12842 -------------------------------------------------------------------------

V1 = VECTORS["cve_2017_12842"]
TX64 = bytes.fromhex(V1["valid_64_byte_tx"])


def test_the_64_byte_transaction_parses() -> None:
    assert len(TX64) == 64
    assert parses_as_transaction(TX64)
    assert not parses_as_transaction(TX64[:63])
    assert not parses_as_transaction(bytes(64))


def test_cve_2017_12842_valid_case_passes() -> None:
    leaf = dsha(TX64)[::-1].hex()
    root = merkle_root_from_branch(leaf, V1["merkle_branch"], V1["valid"]["pos"])
    assert root[::-1].hex() == V1["merkle_root"]


@pytest.mark.parametrize("case", V1["forged"], ids=lambda c: str(c["pos"]))
def test_cve_2017_12842_forged_cases_are_refused(case: dict[str, object]) -> None:
    first = TX64[:32][::-1].hex()
    last = TX64[32:][::-1].hex()
    pos = case["pos"]
    assert isinstance(pos, int)
    node, leaf = (first, last) if pos & 1 else (last, first)
    branch = [node, *V1["merkle_branch"]]
    # without the guard the forgery reaches the real root
    assert unguarded_root(leaf, branch, pos) == V1["merkle_root"]
    with pytest.raises(VerificationError, match="CVE-2017-12842"):
        merkle_root_from_branch(leaf, branch, pos)


# --- CVE-2012-2459 -------------------------------------------------------------------------

V2 = VECTORS["cve_2012_2459"]


def test_cve_2012_2459_valid_case_passes() -> None:
    root = merkle_root_from_branch(V2["txid"], V2["merkle_branch"], V2["valid_pos"])
    assert root[::-1].hex() == V2["merkle_root"]


def test_cve_2012_2459_forged_case_is_refused() -> None:
    assert unguarded_root(V2["txid"], V2["merkle_branch"], V2["forged_pos"]) == V2["merkle_root"]
    with pytest.raises(VerificationError, match="CVE-2012-2459"):
        merkle_root_from_branch(V2["txid"], V2["merkle_branch"], V2["forged_pos"])


def test_cve_2012_2459_right_duplicate_of_an_odd_level_is_fine() -> None:
    t = [bytes([k]).hex() * 32 for k in (1, 2, 3)]
    assert merkle_root_from_branch(t[2], merkle_branch(t, 2), 2) == merkle_root(t)
    assert merkle_branch(t, 2)[0] == t[2]  # the node's own copy, as its right sibling


# --- branch length cap ---------------------------------------------------------------------


def test_branch_longer_than_any_block_is_refused() -> None:
    leaf = "ab" * 32
    ok = ["cd" * 32] * MAX_MERKLE_BRANCH
    merkle_root_from_branch(leaf, ok, 0)
    with pytest.raises(VerificationError, match="longer than any block"):
        merkle_root_from_branch(leaf, [*ok, "cd" * 32], 0)


def test_position_beyond_the_branch_is_refused() -> None:
    with pytest.raises(VerificationError, match="does not fit"):
        merkle_root_from_branch("ab" * 32, ["cd" * 32], 2)


# --- a real block: 702,861 -----------------------------------------------------------------

BLOCK = (DATA / "mainnet-block-702861.raw").read_bytes()


def test_every_transaction_of_block_702861_is_proven_into_its_header() -> None:
    header, txids = block_txids(BLOCK)
    assert len(txids) == 2500
    block_hash = dsha(header)[::-1].hex()
    assert block_hash.startswith("0" * 16) and block_hash.endswith("726dafae")
    root = header[36:68]
    assert merkle_root(txids) == root
    branches = merkle_branches(txids)
    assert branches[1234] == merkle_branch(txids, 1234)
    assert branches[-1] == merkle_branch(txids, 2499)
    for pos, (txid, branch) in enumerate(zip(txids, branches, strict=True)):
        assert len(branch) == 12
        assert merkle_root_from_branch(txid, branch, pos) == root


def test_a_txid_with_another_positions_branch_fails() -> None:
    header, txids = block_txids(BLOCK)
    assert merkle_root_from_branch(txids[1], merkle_branch(txids, 2), 2) != header[36:68]


def test_coinbase_txid_matches_embit() -> None:
    from embit.transaction import Transaction

    _, txids = block_txids(BLOCK)
    tx = Transaction.read_from(__import__("io").BytesIO(BLOCK[83:]))
    assert tx.txid().hex() == txids[0]


def test_the_guards_refuse_no_honest_tree() -> None:
    import random

    rng = random.Random(13)
    for n in [1, 2, 3, 5, 7, 8, 9, 31, 33, 100, 255, 257]:
        txids = [rng.randbytes(32).hex() for _ in range(n)]
        root = merkle_root(txids)
        for pos, branch in enumerate(merkle_branches(txids)):
            assert merkle_root_from_branch(txids[pos], branch, pos) == root
