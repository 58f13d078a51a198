"""The recorded reorganisation, served to the real ElectrumX: chain A, then A + a stale block
paying alice's receive index 7, then a longer branch that double-spends that payment away."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import WALLETS, Server, coin_key, start_server

from utxo_truth import ElectrumSource, scan


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = start_server()
    yield s
    s.stop()


def move(server: Server, state: str) -> None:
    server.chain.set_state(state)
    server.ex.wait_for_height(server.chain.height, timeout=60)


def test_reorg_is_noticed_and_the_double_spent_coin_is_gone(
    server: Server, oracle: dict[str, Any]
) -> None:
    reorg = server.chain.reorg
    alice = oracle["wallets"]["alice"]
    src = ElectrumSource("127.0.0.1", server.ex.tcp_port, network="regtest", tls=False)

    at_a = scan(alice["descriptors"], network="regtest", source=src, gap=25)
    assert at_a.block.hash == reorg["tip_a"]

    move(server, "stale")
    at_stale = scan(alice["descriptors"], network="regtest", source=src, gap=25)
    victim = [u for u in at_stale.utxos if u.address == reorg["victim_address"]]
    assert at_stale.block.height == reorg["height_a"] + 1
    assert (
        victim
        and victim[0].verification == "spv"
        and victim[0].origin
        and victim[0].origin.index == 7
    )
    assert src.block_status(at_stale.block) == "tip"

    move(server, "branch")
    # an answer pinned to the stale tip is detected as stale; one at A is merely behind
    assert src.block_status(at_stale.block) == "stale"
    assert src.block_status(at_a.block) == "behind"

    after = scan(alice["descriptors"], network="regtest", source=src, gap=25)
    expected = reorg["after"]["alice"]
    assert after.block.hash == expected["bestblock"] and after.block.height == expected["height"]
    assert not [u for u in after.utxos if u.address == reorg["victim_address"]]
    assert sorted(coin_key(u) for u in after.utxos) == sorted(
        coin_key(u) for u in expected["unspents"]
    )
    assert after.verified_sats == expected["total_sats"] and after.complete

    for wallet in WALLETS:
        w = oracle["wallets"][wallet]
        h = scan(w["descriptors"], network="regtest", source=src, gap=25)
        core = reorg["after"][wallet]
        assert sorted(coin_key(u) for u in h.utxos) == sorted(
            coin_key(u) for u in core["unspents"]
        ), wallet
        assert h.pending == () and h.complete


def test_a_fresh_client_after_the_reorg_agrees(server: Server, oracle: dict[str, Any]) -> None:
    if server.chain.state != "branch":
        move(server, "branch")
    src = ElectrumSource("127.0.0.1", server.ex.tcp_port, network="regtest", tls=False)
    h = scan(oracle["wallets"]["bob"]["descriptors"], network="regtest", source=src, gap=25)
    assert h.total_sats == server.chain.reorg["after"]["bob"]["total_sats"]
