"""The Esplora test server serving the real mainnet blocks 0..438 with ``network=main``.

The early pay-to-pubkey coins (block 1's coinbase, block 9's key whose coinbase block 170 spends,
the key paid 10 BTC in block 170) scanned by raw script: every coin equals the UTXO set computed
here from the blocks independently, every coin proven, and the answer says that the server's tip
(438) is below the last embedded checkpoint.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from harness.chain import Chain, parse_block
from harness.esplora import EsploraServer

from utxo_truth.sources.esplora import EsploraSource

DATA = Path(__file__).parents[1] / "data" / "chains"


def _blocks() -> list[bytes]:
    raw = (DATA / "mainnet-blocks-0-438.dat").read_bytes()
    out, i = [], 0
    while i < len(raw):
        n = int.from_bytes(raw[i + 4 : i + 8], "little")
        out.append(raw[i + 8 : i + 8 + n])
        i += 8 + n
    return out


class MainnetChain(Chain):
    """The harness chain over the real mainnet blocks 0..438 (no mempool, no reorg)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.base = [parse_block(b.hex()) for b in _blocks()]
        self.base_mempool = []
        self.reorg = {}
        self.stale = self.base[-1]
        self.branch = []
        self.set_state("A")


def utxo_set(blocks: list[Any]) -> dict[tuple[str, int], tuple[int, bytes]]:
    """Computed from the blocks alone; the genesis output is left out, as Bitcoin Core does."""
    utxos: dict[tuple[str, int], tuple[int, bytes]] = {}
    for height, b in enumerate(blocks):
        for t in b.txs:
            for vin in t.tx.vin:
                if vin.txid != bytes(32):
                    del utxos[(vin.txid.hex(), vin.vout)]
            if height == 0:
                continue  # the genesis coinbase is never added to the UTXO set
            for k, out in enumerate(t.tx.vout):
                utxos[(t.txid, k)] = (int(out.value), bytes(out.script_pubkey.data))
    return utxos


@pytest.fixture(scope="module")
def mainnet_esplora() -> Any:
    server = EsploraServer(MainnetChain()).serve()
    yield server
    server.stop()


def test_early_p2pk_coins_over_esplora_on_mainnet(mainnet_esplora: Any) -> None:
    chain = mainnet_esplora.chain
    blocks = chain.blocks
    utxos = utxo_set(blocks)
    block170 = blocks[170]
    spend = block170.txs[1]
    scripts = {
        bytes(blocks[1].txs[0].tx.vout[0].script_pubkey.data),  # block 1's coinbase
        bytes(blocks[9].txs[0].tx.vout[0].script_pubkey.data),  # block 9's key (spent in 170)
        bytes(spend.tx.vout[0].script_pubkey.data),  # the key paid 10 BTC in block 170
    }
    src = EsploraSource(mainnet_esplora.url, network="main")
    answer = src.lookup(scripts)
    assert answer.block.height == 438 and answer.block.hash == blocks[438].hash
    got = {(c.txid, c.vout): (c.value, c.script) for coins in answer.coins.values() for c in coins}
    want = {k: v for k, v in utxos.items() if v[1] in scripts}
    assert got == want
    assert int(spend.tx.vout[0].value) == 10 * 100_000_000
    assert (spend.txid, 0) in got
    assert all(c.verification == "spv" for coins in answer.coins.values() for c in coins)
    assert any("below the last embedded checkpoint" in p for p in answer.problems)
    assert any("older than the local clock" in p for p in answer.problems)


def test_the_genesis_output_is_not_in_the_utxo_set(mainnet_esplora: Any) -> None:
    chain = mainnet_esplora.chain
    genesis_cb = chain.blocks[0].txs[0]
    assert (genesis_cb.txid, 0) not in utxo_set(chain.blocks)
    # the server lists it (an Esplora index does); the answer says so and does not count it
    script = bytes(genesis_cb.tx.vout[0].script_pubkey.data)
    answer = EsploraSource(mainnet_esplora.url, network="main").lookup({script})
    assert not answer.coins.get(script)
    assert any("genesis block" in p and genesis_cb.txid in p for p in answer.problems)


def test_over_max_headers_mainnet_coins_come_back_proven_by_header_assurance(
    mainnet_esplora: Any,
) -> None:
    blocks = mainnet_esplora.chain.blocks
    utxos = utxo_set(blocks)
    script = bytes(blocks[9].txs[0].tx.vout[0].script_pubkey.data)
    other = bytes(blocks[170].txs[1].tx.vout[0].script_pubkey.data)
    src = EsploraSource(mainnet_esplora.url, network="main", max_headers=100)
    answer = src.lookup({script, other})
    coins = [c for cs in answer.coins.values() for c in cs]
    assert {(c.txid, c.vout) for c in coins} == {
        k for k, v in utxos.items() if v[1] in (script, other)
    }
    assert coins and all(c.verification == "spv" and c.assurance == "header" for c in coins)
    # the chain from genesis is proven instead when it is short enough
    full = EsploraSource(mainnet_esplora.url, network="main").lookup({script})
    assert all(c.assurance == "chain" for cs in full.coins.values() for c in cs)


def test_header_assurance_refuses_a_header_off_its_epochs_target(mainnet_esplora: Any) -> None:
    from utxo_truth._network import Network
    from utxo_truth.sources._assurance import header_assured

    blocks = mainnet_esplora.chain.blocks
    b = blocks[170]
    from utxo_truth.verify import merkle_branch

    txids = [t.txid for t in b.txs]
    proof = {"merkle": merkle_branch(txids, 1), "pos": 1, "block_height": 170}
    assert header_assured(Network.MAIN, txids[1], 170, proof, lambda h: b.header) is None
    bits = int.from_bytes(b.header[72:76], "little") ^ 1
    edited = b.header[:72] + bits.to_bytes(4, "little") + b.header[76:]
    why = header_assured(Network.MAIN, txids[1], 170, proof, lambda h: edited)
    assert why is not None and "not the checkpointed target" in why
    why = header_assured(Network.MAIN, txids[1], 170, proof, lambda h: blocks[171].header)
    assert why is not None and "does not reach the header" in why


def test_an_empty_answer_names_a_verified_tip_or_says_it_was_not(mainnet_esplora: Any) -> None:
    unused = bytes.fromhex("0014" + "11" * 20)
    before = len(mainnet_esplora.paths)
    answer = EsploraSource(mainnet_esplora.url, network="main").lookup({unused})
    assert not answer.coins and answer.block.height == 438
    assert not any("was not verified" in p for p in answer.problems)
    assert any(p.startswith("/block") for p in mainnet_esplora.paths[before:])  # headers read
    short = EsploraSource(mainnet_esplora.url, network="main", max_headers=100).lookup({unused})
    assert any("the tip (height 438) was not verified" in p for p in short.problems)


def test_block_status_says_the_server_is_stale(mainnet_esplora: Any) -> None:
    src = EsploraSource(mainnet_esplora.url, network="main", cache_dir=False)
    tip = src.lookup({bytes.fromhex("0014" + "22" * 20)}).block
    # the tip is the server's own, but that server is 438 blocks into 2009: said, not "tip"
    assert src.block_status(tip) == "stale-server"


def test_header_assured_headers_are_kept_and_a_bad_one_is_fetched_again(
    mainnet_esplora: Any, tmp_path: Path
) -> None:
    import json

    blocks = mainnet_esplora.chain.blocks
    scripts = {
        bytes(blocks[9].txs[0].tx.vout[0].script_pubkey.data),
        bytes(blocks[170].txs[1].tx.vout[0].script_pubkey.data),
    }

    def look() -> tuple[Any, list[str]]:
        before = len(mainnet_esplora.paths)
        src = EsploraSource(
            mainnet_esplora.url, network="main", max_headers=100, cache_dir=tmp_path
        )
        answer = src.lookup(scripts)
        coins = [c for cs in answer.coins.values() for c in cs]
        assert coins and all(c.verification == "spv" and c.assurance == "header" for c in coins)
        return answer, [p for p in mainnet_esplora.paths[before:] if p.endswith("/header")]

    _first, asked = look()
    assert asked  # one header a coin block, asked of the server
    _second, again = look()
    assert again == []  # kept in the store, verified again, not asked
    kept = tmp_path / "headers" / "main" / "assured.json"
    table = json.loads(kept.read_text())
    height = sorted(table)[0]
    table[height] = blocks[171].header.hex()  # another real header: right target, wrong block
    kept.write_text(json.dumps(table))
    _third, refetched = look()
    assert len(refetched) == 1  # that one fetched again (the merkle branch does not reach it)
    _repaired, none = look()
    assert none == []  # and kept in place of the bad one
    header = bytearray(blocks[170].header)
    header[72] ^= 1  # bits off the checkpointed target: the whole file is dropped on reading
    kept.write_text(json.dumps({"170": bytes(header).hex()}))
    _fourth, all_again = look()
    assert len(all_again) == len(asked)
