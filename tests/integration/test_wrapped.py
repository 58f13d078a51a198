"""Wrapped BTC from both ends: the regtest custodian's coins as reserves, supply on real anvils."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, SNAPSHOT
from harness.anvil import Anvil, start, token_code

from utxo_truth import measure
from utxo_truth._exceptions import InputError
from utxo_truth.claims import PortfolioError
from utxo_truth.wrapped import (
    ReserveList,
    parse_reserves,
    parse_token_spec,
    read_reserves,
)

WBTC = DATA / "wrapped" / "wbtc-addresses.json"
CBBTC = DATA / "wrapped" / "cbbtc-por.json"
ETH_TOKEN = "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"
L2_TOKEN = "0xcbb7c0000ab88b473b1f5afd9ef808440eed33bf"
SOURCE = f"snapshot:{SNAPSHOT}"


def tip_time(oracle: dict[str, Any]) -> int:
    """The regtest tip's header time, read from the recorded blocks."""
    for line in (DATA / "blocks.hex").read_text().split():
        header = bytes.fromhex(line[:160])
        if (
            hashlib.sha256(hashlib.sha256(header).digest()).digest()[::-1].hex()
            == oracle["tip"]["hash"]
        ):
            return int.from_bytes(header[68:72], "little")
    raise AssertionError("tip not in blocks.hex")


@pytest.fixture(scope="module")
def chains() -> Iterator[tuple[Anvil, Anvil]]:
    a = start(1)  # "ethereum"
    try:
        b = start(8453)  # "base"
        try:
            a.set_code(ETH_TOKEN, token_code(8))
            b.set_code(L2_TOKEN, token_code(8))
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()


def test_wbtc_list_is_deduplicated_and_keeps_btc_only() -> None:
    raw = json.loads(WBTC.read_text())["result"]
    r = read_reserves(WBTC, network="regtest")
    btc_rows = {row["address"] for row in raw if row["coin"] == "btc"}
    assert r.format == "wbtc" and set(r.addresses) == btc_rows and len(r.addresses) < len(raw) - 1
    assert {e.custodian_verified for e in r.entries} == {True, False}  # kept as the API's word
    # balances are satoshis, as a JSON integer or a string of digits, read exactly
    first = next(row for row in raw if row["coin"] == "btc")
    assert r.entries[0].reported_sats == int(first["balance"])


def test_cbbtc_por_reads_exactly(oracle: dict[str, Any]) -> None:
    r = read_reserves(CBBTC, network="regtest")
    assert r.format == "cbbtc" and r.as_of == "2026-12-01T00:00:00Z"
    assert r.reported_total_sats == oracle["wallets"]["custodian"]["scantxoutset"]["total_sats"]
    assert sum(e.reported_sats or 0 for e in r.entries) == r.reported_total_sats


def test_reserve_shapes_are_refused_clearly() -> None:
    with pytest.raises(PortfolioError, match="not a reserve list"):
        parse_reserves('{"addresses": []}')
    with pytest.raises(PortfolioError, match="more than 8 decimal places"):
        parse_reserves('{"reserves": [{"address": "a", "balance": 0.123456789}]}')
    with pytest.raises(PortfolioError, match="different balances"):
        parse_reserves(
            '{"result": [{"address": "a", "balance": "1", "chain": "btc"},'
            ' {"address": "a", "balance": "2", "chain": "btc"}]}'
        )
    with pytest.raises(PortfolioError, match="not a whole number of satoshis"):
        parse_reserves('{"result": [{"address": "a", "balance": "0.5", "coin": "btc"}]}')
    # a JSON number is read as a decimal, not a float: 0.1 BTC is exactly 10_000_000 sats
    assert parse_reserves('{"reserves": [{"address": "a", "balance": 0.1}]}').entries[0].reported_sats == 10_000_000  # fmt: skip


def test_token_specs() -> None:
    assert parse_token_spec(f"base:{L2_TOKEN}:bridged").native is False
    assert parse_token_spec(f"eip155:8453:{L2_TOKEN}").chain_id == 8453
    for bad in ("ethereum", f"mars:{ETH_TOKEN}", "ethereum:0x12", f"ethereum:{ETH_TOKEN}:maybe"):
        with pytest.raises(InputError):
            parse_token_spec(bad)


def test_coverage_is_exact_across_two_chains(
    chains: tuple[Anvil, Anvil], oracle: dict[str, Any]
) -> None:
    eth, base = chains
    reserves_sats = oracle["wallets"]["custodian"]["scantxoutset"]["total_sats"]
    eth.mint(ETH_TOKEN, 3_000_000_000)
    eth.burn(ETH_TOKEN, 100_000_000)
    base.mint(L2_TOKEN, 1_234_567_891)
    t = tip_time(oracle)
    r = measure(
        [f"ethereum:{ETH_TOKEN}", f"base:{L2_TOKEN}"],
        read_reserves(CBBTC, network="regtest"),
        network="regtest",
        source=SOURCE,
        evm_rpc={"ethereum": eth.url, "base": base.url},
        evm_block="latest",
        bitcoin_time=t,
        max_apart=10**12,
    )
    supply = 2_900_000_000 + 1_234_567_891
    assert (r.bitcoin_block.height, r.bitcoin_block.hash) == (
        oracle["tip"]["height"],
        oracle["tip"]["hash"],
    )
    assert r.verified_reserves_sats == reserves_sats and r.supply_sats == supply
    assert r.coverage == Fraction(reserves_sats, supply) and r.coverage < 1
    ids = {c.id for c in r.checks}
    assert "under-covered" in ids and "reported-not-on-chain" not in ids
    d = r.to_dict()
    assert (
        d["coverage"]
        == f"{Fraction(reserves_sats, supply).numerator}/{Fraction(reserves_sats, supply).denominator}"
    )
    assert d["tokens"][0]["block_hash"] == eth.rpc("eth_getBlockByNumber", "latest", False)["hash"]
    assert r.seconds_apart == max(
        abs(int(n.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16) - t)
        for n in chains
    )
    assert "blocks-far-apart" not in ids
    # the same blocks, with a tight limit on their distance in time: flagged
    tight = measure(
        [f"ethereum:{ETH_TOKEN}"], read_reserves(CBBTC, network="regtest"), network="regtest",
        source=SOURCE, evm_rpc=eth.url, evm_block="latest", bitcoin_time=t, max_apart=60,
    )  # fmt: skip
    assert "blocks-far-apart" in {c.id for c in tight.checks}


def test_bridged_supply_is_not_counted_twice(
    chains: tuple[Anvil, Anvil], oracle: dict[str, Any]
) -> None:
    eth, base = chains
    eth.mint(ETH_TOKEN, 700_000_000)
    base.mint(L2_TOKEN, 300_000_000)  # minted against ETH_TOKEN locked in a bridge
    r = measure(
        [f"ethereum:{ETH_TOKEN}", f"base:{L2_TOKEN}:bridged"],
        read_reserves(WBTC, network="regtest"),
        network="regtest",
        source=SOURCE,
        evm_rpc={"ethereum": eth.url, "base": base.url},
        evm_block="latest",
    )
    eth_supply = r.supplies[0][1].sats
    assert r.supplies[1][1].sats > 0 and r.supply_sats == eth_supply
    reserves_sats = oracle["wallets"]["custodian"]["scantxoutset"]["total_sats"]
    assert r.coverage == Fraction(reserves_sats, eth_supply)
    assert "time-apart-unknown" in {c.id for c in r.checks}


def test_a_supply_of_zero_is_no_coverage(chains: tuple[Anvil, Anvil]) -> None:
    eth, _ = chains
    empty = "0x" + "e0" * 20
    eth.set_code(empty, token_code(8))
    r = measure(
        [f"ethereum:{empty}"], read_reserves(CBBTC, network="regtest"), network="regtest",
        source=SOURCE, evm_rpc=eth.url, evm_block="latest",
    )  # fmt: skip
    assert r.supply_sats == 0 and r.coverage is None and r.verified_reserves_sats > 0
    assert r.to_dict()["coverage"] is None and r.to_dict()["coverage_percent"] is None
    assert "no-supply" in {c.id for c in r.checks} and "under-covered" not in {
        c.id for c in r.checks
    }


def test_reported_balances_the_chain_does_not_show(
    chains: tuple[Anvil, Anvil], tmp_path: Path
) -> None:
    eth, _ = chains
    doc = json.loads(CBBTC.read_text())
    doc["reserves"][0]["balance"] = "100.00000000"  # a claim the chain will not back
    doc["totalReserves"] = "500.00000000"
    lie = tmp_path / "cbbtc.json"
    lie.write_text(json.dumps(doc))
    r = measure(
        [f"ethereum:{ETH_TOKEN}"], read_reserves(lie, network="regtest"), network="regtest",
        source=SOURCE, evm_rpc=eth.url, evm_block="latest",
    )  # fmt: skip
    flagged = [c for c in r.checks if c.id == "reported-not-on-chain"]
    assert len(flagged) == 1 and doc["reserves"][0]["address"] in flagged[0].message
    assert r.reported_total_sats == 50_000_000_000
    assert "reported-total-not-on-chain" in {c.id for c in r.checks}


def test_plain_address_list_works(tmp_path: Path) -> None:
    addrs = json.loads(CBBTC.read_text())["reserves"]
    f = tmp_path / "list.txt"
    f.write_text("\n".join(a["address"] for a in addrs[:5]))
    r = read_reserves(f, network="regtest")
    assert isinstance(r, ReserveList) and r.format == "addresses" and r.reported_total_sats is None


def _portfolio(chains: tuple[Anvil, Anvil], reserves_file: Path, **extra: Any) -> Any:
    eth, base = chains
    from utxo_truth.claims import parse_portfolio

    custodian = {
        "name": "BitGo (WBTC)",
        "kind": "wrapped",
        "tokens": [
            f"ethereum:{ETH_TOKEN}",
            {"chain": "base", "contract": L2_TOKEN, "bridged": True},
        ],
        "evm_rpc": {"ethereum": eth.url, "base": base.url},
        "evm_block": "latest",
        "reserves_file": str(reserves_file),
        **extra,
    }
    return parse_portfolio(
        {
            "network": "regtest",
            "custodians": [custodian],
            "positions": [
                {"name": "WBTC in DeFi", "custodian": "BitGo (WBTC)", "kind": "wrapped",
                 "amount": "0.3"}
            ],
        }
    )  # fmt: skip


def test_portfolio_wrapped_custodian_owes_its_supply(
    chains: tuple[Anvil, Anvil], oracle: dict[str, Any], tmp_path: Path
) -> None:
    from utxo_truth import reconcile

    eth, _ = chains
    eth.mint(ETH_TOKEN, 4_000_000_000)  # more than the reserves: an at-risk share
    doc = json.loads(WBTC.read_text())
    first = doc["result"][0]
    first["balance"] = "900000000"  # a reported balance (sats) the chain does not show
    for row in doc["result"]:
        if row["address"] == first["address"]:
            row["balance"] = first["balance"]
    f = tmp_path / "wbtc.json"
    f.write_text(json.dumps(doc))
    p = _portfolio(chains, f)
    c = p.custodians[0]
    assert (
        c.tokens[1].endswith(":bridged")
        and dict(c.evm_rpc)["ethereum"] == eth.url
        and eth.url not in repr(c)
    )
    report = reconcile(p, source=SOURCE)
    cr = report.custodians[0]
    supply = int(eth.rpc("eth_call", {"to": ETH_TOKEN, "data": "0x18160ddd"}, "latest"), 16)
    reserves = oracle["wallets"]["custodian"]["scantxoutset"]["total_sats"]
    assert (cr.token_supply_sats, cr.liabilities_sats, cr.verified_reserves_sats) == (
        supply,
        supply,
        reserves,
    )
    assert cr.deficit_sats == max(0, supply - reserves) and len(cr.evm_blocks) == 2
    assert "bridged" in cr.evm_blocks[1] and "native" in cr.evm_blocks[0]
    ids = [(k.id, k.message) for k in report.checks if k.subject == "BitGo (WBTC)"]
    lies = [m for i, m in ids if i == "reported-not-on-chain"]
    assert len(lies) == 1 and first["address"] in lies[0]
    assert reserves < supply and any(i == "coverage-low" for i, _ in ids)
    assert cr.at_risk_sats == 30_000_000 * (supply - reserves) // supply
    # the user's 0.3 WBTC position now has a real at-risk figure
    assert cr.your_claims_sats == 30_000_000


def test_portfolio_wrapped_custodian_refusals(chains: tuple[Anvil, Anvil], tmp_path: Path) -> None:
    from utxo_truth import reconcile

    with pytest.raises(PortfolioError, match="tokens"):
        _portfolio(chains, CBBTC, tokens=[])
    with pytest.raises(InputError, match="do not also give liabilities"):
        reconcile(_portfolio(chains, CBBTC, liabilities="1"), source=SOURCE)


def test_reserves_proven_by_spv_through_real_electrumx(
    chains: tuple[Anvil, Anvil], oracle: dict[str, Any], electrumx: Any
) -> None:
    """The same measure over the real ElectrumX: every reserve coin merkle-proven, still exact."""
    from utxo_truth.sources.electrum import ElectrumSource

    eth, _ = chains
    eth.mint(ETH_TOKEN, 1_000_000_000)
    source = ElectrumSource("127.0.0.1", electrumx.ex.tcp_port, network="regtest", tls=False)
    r = measure(
        [f"ethereum:{ETH_TOKEN}"], read_reserves(WBTC, network="regtest"), network="regtest",
        source=source, evm_rpc=eth.url, evm_block="latest", bitcoin_time=tip_time(oracle),
        max_apart=10**12,
    )  # fmt: skip
    reserves = oracle["wallets"]["custodian"]["scantxoutset"]["total_sats"]
    assert r.bitcoin_block.hash == oracle["tip"]["hash"]
    assert r.verified_reserves_sats == reserves and all(a.unverified_sats == 0 for a in r.reserves)
    assert r.coverage == Fraction(reserves, r.supply_sats)
