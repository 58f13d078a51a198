"""The real ElectrumX on the real networks, with its default cost limits (issue 13).

* ``NET=mainnet`` over the real mainnet blocks 0..438: the early pay-to-pubkey coins, scanned by
  raw script, equal the UTXO set computed here from the blocks, every coin proven; the tip is
  below the last embedded checkpoint and the answer says so; the genesis output is in no set.
* ``NET=testnet4`` over the real blocks 0..2015, ElectrumX's session cost limits as shipped
  (soft 1,000, hard 10,000, 2.5 s request sleep, 30 s request timeout): every address of those
  blocks, the one holding 1,360 coins among them, equals the UTXO set computed from the blocks,
  all proven, without one refused request (the client paces itself, ``sources/_pacing.py``).
* ``NET=signet`` over the signet genesis block and the real blocks 1..10: the coins are proven and
  every block signature (BIP-325) verifies under the default challenge; under the 2-of-2 challenge
  of the data file every block fails, as Bitcoin Core's ``bad-signet-blksig``.

Each server is shared by its module's tests (ElectrumX's start-up is slow).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from harness.chain import Block
from harness.electrumx import find_electrumx
from harness.esplora import EsploraServer
from harness.realchains import RealChain, RealServer, signet_blocks, signet_data

from utxo_truth import SourceSpecError, VerificationError
from utxo_truth._script import address_of
from utxo_truth.sources.electrum import ElectrumSource
from utxo_truth.sources.esplora import EsploraSource

UtxoSet = dict[tuple[str, int], tuple[int, bytes]]


def utxo_set(blocks: list[Block]) -> UtxoSet:
    """The UTXO set after ``blocks``, from the blocks alone, by Bitcoin Core's two exclusions:

    the genesis block's coinbase is never added (``ConnectBlock`` skips the genesis block), and
    no provably unspendable output (``OP_RETURN``, ``CScript::IsUnspendable``) is ever added.
    """
    utxos: UtxoSet = {}
    for height, b in enumerate(blocks):
        for t in b.txs:
            for vin in t.tx.vin:
                if vin.txid != bytes(32):
                    del utxos[(vin.txid.hex(), vin.vout)]
            if height == 0:
                continue
            for k, out in enumerate(t.tx.vout):
                script = bytes(out.script_pubkey.data)
                if script[:1] == b"\x6a":
                    continue
                utxos[(t.txid, k)] = (int(out.value), script)
    return utxos


def _server(network: str) -> Iterator[RealServer]:
    if find_electrumx() is None:
        message = "ElectrumX is not installed: `make test` installs it into .venv-electrumx"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = RealServer(network, default_limits=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def mainnet() -> Iterator[RealServer]:
    yield from _server("main")


@pytest.fixture(scope="module")
def testnet4() -> Iterator[RealServer]:
    yield from _server("testnet4")


@pytest.fixture(scope="module")
def signet() -> Iterator[RealServer]:
    yield from _server("signet")


def _source(server: RealServer, network: str, **kwargs: Any) -> ElectrumSource:
    return ElectrumSource("127.0.0.1", server.ex.tcp_port, network=network, tls=False, **kwargs)


def _coins(answer: Any) -> dict[tuple[str, int], tuple[int, bytes]]:
    return {(c.txid, c.vout): (c.value, c.script) for cs in answer.coins.values() for c in cs}


# --- mainnet 0..438 ---------------------------------------------------------------------------


def test_early_p2pk_coins_over_the_real_electrumx_on_mainnet(mainnet: RealServer) -> None:
    blocks = mainnet.chain.blocks
    spend = blocks[170].txs[1]  # the first bitcoin payment: block 9's coinbase, 10 BTC to Hal
    assert spend.tx.vin[0].txid.hex() == blocks[9].txs[0].txid
    scripts = {
        bytes(blocks[1].txs[0].tx.vout[0].script_pubkey.data),  # block 1's coinbase
        bytes(blocks[9].txs[0].tx.vout[0].script_pubkey.data),  # block 9's key (change in 170)
        bytes(spend.tx.vout[0].script_pubkey.data),  # the key paid 10 BTC in block 170
    }
    assert all(s[0] in (0x41, 0x21) and s[-1] == 0xAC for s in scripts)  # bare pay-to-pubkey
    answer = _source(mainnet, "main").lookup(scripts)
    assert answer.block.height == 438 and answer.block.hash == blocks[438].hash
    want = {k: v for k, v in utxo_set(blocks).items() if v[1] in scripts}
    assert _coins(answer) == want
    assert want[(spend.txid, 0)][0] == 10 * 100_000_000
    assert (blocks[9].txs[0].txid, 0) not in want  # spent by block 170
    coins = [c for cs in answer.coins.values() for c in cs]
    assert coins and all(c.verification == "spv" and c.assurance == "chain" for c in coins)
    assert any("below the last embedded checkpoint" in p for p in answer.problems)


def test_the_genesis_output_is_in_no_utxo_set(mainnet: RealServer) -> None:
    blocks = mainnet.chain.blocks
    genesis_cb = blocks[0].txs[0]
    script = bytes(genesis_cb.tx.vout[0].script_pubkey.data)
    # Bitcoin Core never adds the genesis coinbase; ElectrumX does not index it either
    assert (genesis_cb.txid, 0) not in utxo_set(blocks)
    answer = _source(mainnet, "main").lookup({script})
    assert not answer.coins.get(script) and script not in answer.used


def test_a_server_of_another_network_is_refused_by_its_features(mainnet: RealServer) -> None:
    src = _source(mainnet, "testnet4")
    with pytest.raises(
        SourceSpecError, match=r"serves main \(genesis 000000000019d668\.\.\.\), not testnet4"
    ):
        src.lookup({bytes.fromhex("0014" + "11" * 20)})


# --- testnet4 0..2015, ElectrumX's default cost limits ------------------------------------------


def test_every_testnet4_address_over_electrumx_with_its_default_cost_limits(
    testnet4: RealServer,
) -> None:
    blocks = testnet4.chain.blocks
    utxos = utxo_set(blocks)
    scripts = {
        bytes(o.script_pubkey.data) for b in blocks for t in b.txs for o in t.tx.vout
    }  # every output script of the 2016 blocks ...
    addresses = {s for s in scripts if address_of(s, "testnet4")}  # ... that is an address
    counts: dict[bytes, int] = {}
    for _value, s in utxos.values():
        counts[s] = counts.get(s, 0) + 1
    busiest = max(counts, key=lambda s: counts[s])
    assert counts[busiest] == 1360 and busiest in addresses
    assert {s for _v, s in utxos.values()} <= addresses

    src = _source(testnet4, "testnet4")
    started = time.monotonic()
    answer = src.lookup(addresses)
    took = time.monotonic() - started
    print(
        f"\ntestnet4, {len(addresses)} addresses, {len(utxos)} coins over ElectrumX with its "
        f"default limits: {took:.1f} s, {src.conn.requests} requests, {src.round_trips} round "
        f"trips, {src._pacer.resent} asked again, {src._pacer.waited:.1f} s paused"
    )
    assert answer.block.height == 2015 and answer.block.hash == blocks[2015].hash
    assert _coins(answer) == utxos
    assert all(c.verification == "spv" for cs in answer.coins.values() for c in cs)
    assert len(answer.coins[busiest]) == 1360
    assert src._pacer.resent == 0  # paced by the server's cost model: nothing refused


# --- signet 0..10 ------------------------------------------------------------------------------


def _signet_scripts(blocks: list[Block]) -> set[bytes]:
    return {
        bytes(o.script_pubkey.data)
        for b in blocks[1:]
        for t in b.txs
        for o in t.tx.vout
        if bytes(o.script_pubkey.data)[:1] != b"\x6a"
    }


def test_signet_coins_over_the_real_electrumx_verify_under_the_default_challenge(
    signet: RealServer,
) -> None:
    blocks = signet.chain.blocks
    scripts = _signet_scripts(blocks)
    answer = _source(signet, "signet").lookup(scripts)
    assert answer.block.height == 10 and answer.block.hash == blocks[10].hash
    want = {k: v for k, v in utxo_set(blocks).items() if v[1] in scripts}
    assert _coins(answer) == want and want
    coins = [c for cs in answer.coins.values() for c in cs]
    assert {c.height for c in coins} == set(range(1, 11))  # a coin in every block
    assert all(c.verification == "spv" for c in coins)
    assert not any("signet" in p for p in answer.problems)
    # the default challenge given explicitly is the same check
    default = str(signet_data()["default_challenge"])
    again = _source(signet, "signet", signet_challenge=default).lookup(scripts)
    assert _coins(again) == want


def test_every_signet_block_fails_under_the_2_of_2_challenge(signet: RealServer) -> None:
    blocks = signet.chain.blocks
    two_of_two = str(signet_data()["must_fail_under_challenge"])
    src = _source(signet, "signet", signet_challenge=two_of_two)
    with pytest.raises(VerificationError, match="bad-signet-blksig") as caught:
        src.lookup(_signet_scripts(blocks))
    text = str(caught.value)
    heights = text.split("height(s) ")[1].split(":")[0]
    assert heights == ", ".join(str(h) for h in range(1, 11))  # every one of the ten blocks


@pytest.fixture(scope="module")
def signet_esplora() -> Iterator[Any]:
    server = EsploraServer(RealChain(signet_blocks())).serve()
    yield server
    server.stop()


def test_signet_over_esplora_checks_the_same_signatures(signet_esplora: Any) -> None:
    blocks = signet_esplora.chain.blocks
    scripts = _signet_scripts(blocks)
    answer = EsploraSource(signet_esplora.url, network="signet").lookup(scripts)
    want = {k: v for k, v in utxo_set(blocks).items() if v[1] in scripts}
    assert _coins(answer) == want
    assert all(c.verification == "spv" for cs in answer.coins.values() for c in cs)
    assert any(p.startswith("/block/") and "/txid/0" in p for p in signet_esplora.paths)
    two_of_two = str(signet_data()["must_fail_under_challenge"])
    src = EsploraSource(signet_esplora.url, network="signet", signet_challenge=two_of_two)
    with pytest.raises(VerificationError, match="bad-signet-blksig"):
        src.lookup(scripts)


def test_the_cli_takes_a_signet_challenge(
    signet_esplora: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from utxo_truth.cli import main

    blocks = signet_esplora.chain.blocks
    address = next(
        a for s in sorted(_signet_scripts(blocks)) if (a := address_of(s, "signet")) is not None
    )
    base = ["scan", address, "--network", "signet", "--source", f"esplora+{signet_esplora.url}"]
    assert main([*base, "--json"]) == 0
    capsys.readouterr()
    two_of_two = str(signet_data()["must_fail_under_challenge"])
    assert main([*base, "--signet-challenge", two_of_two]) == 3
    err = capsys.readouterr().err
    assert "VerificationError" in err and "bad-signet-blksig" in err and "Traceback" not in err
    assert main([*base, "--signet-challenge", "zz"]) == 2
    assert "challenge script in hex" in capsys.readouterr().err
    regtest = ["scan", address, "--network", "regtest", "--source", "esplora+http://127.0.0.1:1"]
    assert main([*regtest, "--signet-challenge", "51"]) == 2
    assert "network signet only" in capsys.readouterr().err
