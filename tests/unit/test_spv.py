"""The header middle (_spv.HeaderCache) without a server: which span proves a coin, chunks
through the store (real testnet4 epoch 0), proofs checked, the one merkle-proof check."""

from __future__ import annotations

from pathlib import Path

import pytest

from utxo_truth._checkpoints import load_checkpoints
from utxo_truth._models import BlockRef
from utxo_truth._network import Network
from utxo_truth.sources._spv import HeaderCache, Restart, proof_problem
from utxo_truth.verify import VerificationError, check_header_chain, header_hash, merkle_branch

DATA = Path(__file__).parent.parent / "data"
TESTNET4 = [
    bytes.fromhex(x[:160])
    for x in (DATA / "chains" / "testnet4-blocks-0-2015.hex").read_text().split()
]
REGTEST = [bytes.fromhex(x[:160]) for x in (DATA / "blocks.hex").read_text().split()]


def cache(
    network: Network, where: Path | bool, checkpoint: tuple[int, str] | None = None
) -> HeaderCache:
    return HeaderCache(network, checkpoint=checkpoint, cache_dir=where, where="test")


def test_which_span_proves_a_coin_on_mainnet() -> None:
    last = load_checkpoints(Network.MAIN).last_height
    c = cache(Network.MAIN, False)
    tip = last + 500
    assert c.plan(tip) == (last + 1, "tail")  # the chain from the last checkpoint to the tip
    assert c.chunk_epoch(702_861, tip) == 702_861 // 2016  # below it: its epoch's chunk
    assert c.chunk_epoch(last + 10, tip) is None  # above it: the tail proves it
    # a stale server (tip below the last checkpoint): the chain from genesis, no chunks
    assert c.plan(438) == (0, "legacy") and c.chunk_epoch(170, 438) is None
    # a checkpoint the user gives: the chain from it (down to the lowest coin), no chunks
    u = cache(Network.MAIN, False, checkpoint=(800_000, "00" * 32))
    assert u.plan(tip, lowest=790_000) == (790_000, "user") and u.chunk_epoch(702_861, tip) is None


def test_a_tip_at_the_last_checkpoint_is_its_header_and_chunks_prove_the_coins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    last = load_checkpoints(Network.MAIN).last_height
    c = cache(Network.MAIN, False)
    assert c.plan(last) == (last, "top") and c.chunk_epoch(702_861, last) == 702_861 // 2016
    # testnet4's real table cut to epoch 0: the tip 2015 is the checkpoint, its header the chain
    real = load_checkpoints(Network.TESTNET4)
    cut = type(real)(Network.TESTNET4, real.epochs[:1], {})
    monkeypatch.setattr("utxo_truth.sources._spv.load_checkpoints", lambda network: cut)
    t = cache(Network.TESTNET4, False)
    tip = BlockRef(height=2015, hash=header_hash(TESTNET4[2015]))
    assert t.plan(2015) == (2015, "top") and t.chunk_epoch(7, 2015) == 0
    t.add({2015: TESTNET4[2015]})
    chain = t.chain(tip, 2015, "top", lambda h: None, TESTNET4[2015])
    assert chain.hash(2015) == cut.epoch_hash(0)
    # a header that is not the checkpoint's is refused
    t.begin()
    t.held.clear()
    t.add({2015: TESTNET4[2014]})
    other = BlockRef(height=2015, hash=header_hash(TESTNET4[2014]))
    with pytest.raises(VerificationError, match="wrong or lying"):
        t.chain(other, 2015, "top", lambda h: None, TESTNET4[2014])


def test_regtest_has_no_checkpoints_the_tail_starts_at_genesis() -> None:
    c = cache(Network.REGTEST, False)
    assert c.plan(len(REGTEST) - 1) == (0, "tail") and c.chunk_epoch(5, 100) is None


def test_a_chunk_through_the_store_is_verified_again_and_a_bad_one_refused(tmp_path: Path) -> None:
    c = cache(Network.TESTNET4, tmp_path)
    assert c.chunk(0) is None
    chain = c.put_chunk(0, TESTNET4)
    assert chain.tip_height == 2015 and c.fetched == 2016
    again = cache(Network.TESTNET4, tmp_path)  # a later run
    assert again.chunk(0) is not None and again.fetched == 0
    f = tmp_path / "headers" / "testnet4" / "chunk-000000.bin"
    data = bytearray(f.read_bytes())
    data[80 * 1000 + 50] ^= 1
    f.write_bytes(bytes(data))
    third = cache(Network.TESTNET4, tmp_path)
    assert third.chunk(0) is None and any("chunk-000000.bin" in r for r in third.repaired())
    swapped = [*TESTNET4[:10], TESTNET4[11], TESTNET4[10], *TESTNET4[12:]]
    with pytest.raises(VerificationError, match="wrong or lying"):
        third.put_chunk(0, swapped)


def test_the_tail_is_stored_and_a_second_run_needs_nothing(tmp_path: Path) -> None:
    tip = BlockRef(height=len(REGTEST) - 1, hash=header_hash(REGTEST[-1]))
    c = cache(Network.REGTEST, tmp_path)
    assert c.missing(0, tip.height) == list(range(tip.height + 1))
    c.add(dict(enumerate(REGTEST)))
    c.chain(tip, 0, "tail", lambda h: None)
    later = cache(Network.REGTEST, tmp_path)
    assert later.missing(0, tip.height) == []


def test_fresh_headers_that_fail_are_the_servers_fault_held_ones_a_reorg(tmp_path: Path) -> None:
    tip = BlockRef(height=len(REGTEST) - 1, hash=header_hash(REGTEST[-1]))
    c = cache(Network.REGTEST, tmp_path)
    c.begin()
    broken = dict(enumerate(REGTEST))
    broken[7] = REGTEST[8]
    c.add(broken)
    with pytest.raises(VerificationError, match="wrong or lying"):
        c.chain(tip, 0, "tail", lambda h: None)
    # held from an earlier run, now disagreeing with the server: cut back, look again
    c = cache(Network.REGTEST, tmp_path)
    c.add(dict(enumerate(REGTEST)))
    c.chain(tip, 0, "tail", lambda h: None)
    later = cache(Network.REGTEST, tmp_path)
    later.begin()
    later.missing(0, tip.height)
    other = BlockRef(height=tip.height, hash="11" * 32)  # the server's tip is another block
    fork_at = 100
    with pytest.raises(Restart):
        later.chain(
            other, 0, "tail", lambda h: header_hash(REGTEST[h]) if h <= fork_at else "22" * 32
        )
    kept = cache(Network.REGTEST, tmp_path)
    assert kept.missing(0, tip.height) == list(range(fork_at + 1, tip.height + 1))


def test_a_kept_proof_is_used_only_while_it_reaches_its_held_header(tmp_path: Path) -> None:
    txids = [f"{i:064x}" for i in range(1, 6)]
    header = REGTEST[3][:36] + check_root(txids) + REGTEST[3][68:]
    c = cache(Network.REGTEST, tmp_path)
    chain = check_header_chain([header], 3, Network.REGTEST, anchor=(3, header_hash(header)))
    proof = {"block_height": 3, "merkle": merkle_branch(txids, 2), "pos": 2}
    assert proof_problem(txids[2], 3, proof, chain, None) is None
    c.keep_proof(txids[2], 3, chain, proof)
    c.save()
    later = cache(Network.REGTEST, tmp_path)
    later.held[3] = header
    assert later.proof(txids[2], 3) == proof
    assert later.proof(txids[1], 3) is None  # never kept
    later.held[3] = REGTEST[3]  # another block at that height now (a reorg): not used
    assert later.proof(txids[2], 3) is None


def check_root(txids: list[str]) -> bytes:
    from utxo_truth.verify import merkle_root

    return merkle_root(txids)


def test_the_one_proof_check() -> None:
    assert proof_problem("00" * 32, 5, None, None, None) == "not verified: no header chain"
    chain = check_header_chain(REGTEST[:3], 0, Network.REGTEST)
    assert proof_problem("00" * 32, 2, None, chain, None) == (
        "no merkle proof: the server says it is not confirmed"
    )
    assert proof_problem("00" * 32, 2, "x", chain, None) == "malformed merkle proof"
    said = {"block_height": 1, "merkle": [], "pos": 0}
    assert (
        proof_problem("00" * 32, 2, said, chain, None) == "the merkle proof is for height 1, not 2"
    )
