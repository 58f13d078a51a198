"""Chunk assurance (issue 13 item 2) against the real ElectrumX serving real testnet4 blocks 0..2015.

The checkpoint table the source uses is cut to testnet4's real Electrum checkpoint 0 (the hash of
block 2015, from the shipped table): the server's tip (2015) is then *at* the last checkpoint, so
every coin is below it and must be proven by epoch 0's 2016-header chunk, fetched with one
``blockchain.block.headers [0, 2016]`` and checked against the checkpoint (PoW and links, the
epoch's target, the last hash), not by a walk from genesis. The table is replaced with
``monkeypatch`` (it is data, not a server); the server, its blocks and its replies are real, and a
proxy in front of it counts the requests (and, once, alters a header of the chunk in flight).

ElectrumX runs with the harness's relaxed cost limits (faster to start and answer; the default
limits are covered by ``test_real_electrumx.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness.electrumx import find_electrumx
from harness.proxy import LyingProxy
from harness.realchains import RealServer
from test_real_electrumx import utxo_set

from utxo_truth import VerificationError, _checkpoints
from utxo_truth._checkpoints import CheckpointTable
from utxo_truth._network import Network
from utxo_truth._script import address_of
from utxo_truth.sources import _spv
from utxo_truth.sources.electrum import ElectrumSource

EPOCH = 2016


@pytest.fixture(scope="module")
def testnet4() -> Iterator[RealServer]:
    if find_electrumx() is None:
        message = "ElectrumX is not installed: `make test` installs it into .venv-electrumx"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = RealServer("testnet4")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def epoch0_table(monkeypatch: pytest.MonkeyPatch, testnet4: RealServer) -> CheckpointTable:
    """The real testnet4 table cut to its first checkpoint (block 2015's hash, epoch 1's target)."""
    real = _checkpoints.load_checkpoints(Network.TESTNET4)
    assert len(real.epochs) > 1  # the shipped table reaches past our blocks
    table = CheckpointTable(
        Network.TESTNET4, real.epochs[:1], {h: x for h, x in real.headers.items() if h < EPOCH}
    )
    assert table.last_height == 2015
    assert table.epoch_hash(0) == testnet4.chain.blocks[2015].hash  # the real checkpoint 0
    monkeypatch.setattr(_spv, "load_checkpoints", lambda network: table)
    monkeypatch.setattr(_checkpoints, "load_checkpoints", lambda network: table)
    return table


class Counting:
    """A proxy before ElectrumX that logs every request answered (and may alter one reply)."""

    def __init__(self, server: RealServer, alter: int | None = None) -> None:
        self.log: list[tuple[str, list[Any]]] = []
        self.alter = alter
        self.proxy = LyingProxy(server.ex.tcp_port, rewrite=self._rewrite)

    def _rewrite(self, method: str, params: list[Any], item: dict[str, Any]) -> dict[str, Any]:
        self.log.append((method, list(params)))
        result = item.get("result")
        if self.alter is not None and method == "blockchain.block.headers" and result:
            k = self.alter
            if isinstance(result.get("headers"), list):
                h = bytearray.fromhex(result["headers"][k])
                h[76] ^= 1  # the nonce: the header no longer meets its proof of work
                result["headers"][k] = h.hex()
            else:
                blob = bytearray.fromhex(result["hex"])
                blob[k * 80 + 76] ^= 1
                result["hex"] = blob.hex()
        return item

    def headers_asked(self) -> list[list[Any]]:
        return [p for m, p in self.log if m.startswith("blockchain.block.header")]

    def source(self, cache_dir: Path) -> ElectrumSource:
        return ElectrumSource(
            "127.0.0.1", self.proxy.port, network="testnet4", tls=False, cache_dir=cache_dir
        )


def _scripts(testnet4: RealServer) -> tuple[set[bytes], bytes]:
    """A few addresses: the one holding 1,360 coins, three more with coins, one all spent."""
    blocks = testnet4.chain.blocks
    counts: dict[bytes, int] = {}
    for _value, s in utxo_set(blocks).values():
        counts[s] = counts.get(s, 0) + 1
    ranked = sorted((s for s in counts if address_of(s, "testnet4")), key=lambda s: -counts[s])
    busiest = ranked[0]
    assert counts[busiest] == 1360
    paid = {bytes(o.script_pubkey.data) for b in blocks for t in b.txs for o in t.tx.vout}
    spent = sorted(s for s in paid if s not in counts and address_of(s, "testnet4"))
    return {*ranked[:4], *spent[:1]}, busiest


def _coins(answer: Any) -> dict[tuple[str, int], tuple[int, bytes]]:
    return {(c.txid, c.vout): (c.value, c.script) for cs in answer.coins.values() for c in cs}


def test_coins_below_the_last_checkpoint_are_proven_by_chunk_0(
    testnet4: RealServer, epoch0_table: CheckpointTable, tmp_path: Path
) -> None:
    blocks = testnet4.chain.blocks
    scripts, busiest = _scripts(testnet4)
    want = {k: v for k, v in utxo_set(blocks).items() if v[1] in scripts}

    first = Counting(testnet4)
    try:
        src = first.source(tmp_path)
        answer = src.lookup(scripts)
        assert answer.block.height == 2015 and answer.block.hash == blocks[2015].hash
        assert _coins(answer) == want and len(answer.coins[busiest]) == 1360
        coins = [c for cs in answer.coins.values() for c in cs]
        assert all(c.verification == "spv" and c.assurance == "chunk" for c in coins)
        assert not any("checkpoint" in p for p in answer.problems)  # not a stale tip
        assert first.headers_asked() == [[0, EPOCH]]  # the chunk, once; no walk from genesis
        assert src.headers.fetched == EPOCH + 1  # the chunk and the tip's own header
    finally:
        first.proxy.close()

    # the same cache_dir: the stored chunk (verified again when read) proves it all
    second = Counting(testnet4)
    try:
        again = second.source(tmp_path).lookup(scripts)
        assert _coins(again) == want
        assert all(
            c.verification == "spv" and c.assurance == "chunk"
            for cs in again.coins.values()
            for c in cs
        )
        assert second.headers_asked() == []
        assert any(m == "blockchain.transaction.get_merkle" for m, _p in second.log)
    finally:
        second.proxy.close()


def test_a_chunk_altered_in_flight_is_refused(
    testnet4: RealServer, epoch0_table: CheckpointTable, tmp_path: Path
) -> None:
    scripts, _busiest = _scripts(testnet4)
    lying = Counting(testnet4, alter=1000)
    try:
        src = lying.source(tmp_path)
        with pytest.raises(
            VerificationError,
            match=r"chunk assurance \(header at height 1000 does not meet its own proof-of-work",
        ) as caught:
            src.lookup(scripts)
        assert "wrong or lying" in str(caught.value)
        assert lying.headers_asked() == [[0, EPOCH]]
        assert src.headers.chunk(0) is None  # neither kept nor stored
    finally:
        lying.proxy.close()
    # no coin was reported at all, so none as spv; an honest server then proves them (the lie
    # left nothing in the store: the chunk is asked again)
    honest = Counting(testnet4)
    try:
        answer = honest.source(tmp_path).lookup(scripts)
        assert honest.headers_asked() == [[0, EPOCH]]
        assert all(c.assurance == "chunk" for cs in answer.coins.values() for c in cs)
    finally:
        honest.proxy.close()
