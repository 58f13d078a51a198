"""The gap-limit engine on its own, with a history source stub built from Bitcoin Core's answers.

The stub is not a server stand-in: it is the oracle's own data (which indexes have history, which
coins exist) put behind the ChainSource protocol, so the engine's stopping rule can be checked
against the numbers in the data README.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pytest
from conftest import coin_key, desc_path

from utxo_truth import BlockRef, InconsistentTipError, InputError, Network, discover, parse_targets
from utxo_truth.sources import Coin, Lookup


class HistoryStub:
    """Knows which scripts were ever used and which coins exist, as Bitcoin Core reported."""

    has_history = True
    network = Network.REGTEST

    def __init__(self, oracle: dict[str, Any], wallet: str, *, moving_tip: bool = False) -> None:
        w = oracle["wallets"][wallet]
        self.tip = BlockRef(**oracle["tip"])
        self.moving_tip = moving_tip
        targets = parse_targets(w["descriptors"], "regtest")
        self.used: set[bytes] = set()
        for chain, key in (
            (0, "used_receive_indexes_confirmed"),
            (1, "used_change_indexes_confirmed"),
        ):
            for i in w[key]:
                self.used.add(targets[chain].scripts(0, i, i + 1)[0])
        self.coins: dict[bytes, list[Coin]] = {}
        for u in w["scantxoutset"]["unspents"]:
            s = bytes.fromhex(u["script_pubkey"])
            self.coins.setdefault(s, []).append(
                Coin(u["txid"], u["vout"], u["value"], s, u["height"], u["coinbase"])
            )
        self.calls: list[int] = []

    def describe(self) -> str:
        return "stub:oracle"

    def lookup(self, scripts: Collection[bytes]) -> Lookup:
        self.calls.append(len(scripts))
        block = self.tip
        if self.moving_tip and len(self.calls) > 1:
            block = BlockRef(height=self.tip.height + 1, hash="00" * 32)
        return Lookup(
            block=block,
            coins={s: tuple(self.coins[s]) for s in scripts if s in self.coins},
            used=frozenset(s for s in scripts if s in self.used),
        )


def _receive(h: Any) -> Any:
    return h.targets[0].chains[0]


def test_gap_20_reaches_39_but_not_61(oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["alice"]
    h = discover(parse_targets(w["descriptors"], "regtest"), HistoryStub(oracle, "alice"), gap=20)
    assert _receive(h).used_indexes == (0, 1, 2, 5, 19, 39)
    assert _receive(h).scanned == 60  # indexes 0..59: 20 unused after 39
    assert h.targets[1].chains[0].used_indexes == tuple(w["used_change_indexes_confirmed"])
    indexes = {u.origin.index for u in h.targets[0].utxos if u.origin}
    assert indexes == {1, 5, 39}
    assert h.targets[0].method == "gap" and h.targets[0].bound == 20


@pytest.mark.parametrize("gap", [22, 30, 100])
def test_wide_gap_reaches_61(oracle: dict[str, Any], gap: int) -> None:
    w = oracle["wallets"]["alice"]
    h = discover(parse_targets(w["descriptors"], "regtest"), HistoryStub(oracle, "alice"), gap=gap)
    assert list(_receive(h).used_indexes) == w["used_receive_indexes_confirmed"]
    assert sorted(coin_key(u) for u in h.utxos) == sorted(
        coin_key(u) for u in w["scantxoutset"]["unspents"]
    )


def test_gap_21_is_one_short(oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["alice"]
    h = discover(parse_targets(w["descriptors"], "regtest"), HistoryStub(oracle, "alice"), gap=21)
    assert 61 not in _receive(h).used_indexes  # 40..60 are 21 unused indexes: stop before 61


def test_gap_zero_is_treated_as_one(oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["alice"]
    h0 = discover(
        parse_targets(w["descriptors"], "regtest"), HistoryStub(oracle, "alice"), gap=0, batch=1
    )
    h1 = discover(
        parse_targets(w["descriptors"], "regtest"), HistoryStub(oracle, "alice"), gap=1, batch=1
    )
    assert _receive(h0).used_indexes == _receive(h1).used_indexes == (0, 1, 2)
    assert h0.gap == 1


@pytest.mark.parametrize("wallet", ["alice", "bob", "carol", "dave", "vault", "custodian"])
def test_every_wallet_with_wide_gap_equals_core(oracle: dict[str, Any], wallet: str) -> None:
    w = oracle["wallets"][wallet]
    stub = HistoryStub(oracle, wallet)
    h = discover(parse_targets(w["descriptors"], "regtest"), stub, gap=25)
    assert sorted(coin_key(u) for u in h.utxos) == sorted(
        coin_key(u) for u in w["scantxoutset"]["unspents"]
    )
    assert list(h.targets[0].chains[0].used_indexes) == w["used_receive_indexes_confirmed"]
    assert list(h.targets[1].chains[0].used_indexes) == w["used_change_indexes_confirmed"]
    # one look-up per round, all chains together: a handful, not one per script
    assert len(stub.calls) <= 4


def test_a_moving_tip_is_refused_not_mixed(oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["alice"]
    with pytest.raises(InconsistentTipError, match="moved"):
        discover(
            parse_targets(w["descriptors"], "regtest"),
            HistoryStub(oracle, "alice", moving_tip=True),
            gap=20,
            batch=10,
        )


def test_origins_point_at_the_right_index(oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["alice"]
    h = discover(parse_targets(w["descriptors"], "regtest"), HistoryStub(oracle, "alice"), gap=30)
    core = {(u["txid"], u["vout"]): desc_path(u["desc"]) for u in w["scantxoutset"]["unspents"]}
    for u in h.utxos:
        assert u.origin is not None
        assert (u.origin.target, u.origin.index) == core[(u.txid, u.vout)]


@pytest.mark.parametrize("bad", [-1, "20", 1.5, True])
def test_bad_gap_is_an_input_error(oracle: dict[str, Any], bad: Any) -> None:
    w = oracle["wallets"]["alice"]
    with pytest.raises(InputError):
        discover(parse_targets(w["descriptors"], "regtest"), HistoryStub(oracle, "alice"), gap=bad)


def test_target_of_another_network_is_refused(oracle: dict[str, Any]) -> None:
    targets = parse_targets(["tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"], "testnet")
    with pytest.raises(InputError, match="testnet"):
        discover(targets, HistoryStub(oracle, "alice"))
