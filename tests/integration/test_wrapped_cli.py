"""``utxo-truth wrapped`` end to end: real anvil, the regtest snapshot, typed errors, no secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest
from conftest import DATA, SNAPSHOT
from harness.anvil import Anvil, start, token_code

from utxo_truth.cli import main

TOKEN = "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"
CBBTC = DATA / "wrapped" / "cbbtc-por.json"


@pytest.fixture(scope="module")
def eth() -> Iterator[Anvil]:
    a = start(1)
    try:
        a.set_code(TOKEN, token_code(8))
        yield a
    finally:
        a.stop()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def base_args(eth: Anvil) -> list[str]:
    return [
        "wrapped", "--token", f"ethereum:{TOKEN}", "--reserves", str(CBBTC), "--network",
        "regtest", "--snapshot", str(SNAPSHOT), "--evm-rpc", eth.url, "--evm-block", "latest",
    ]  # fmt: skip


def test_backed_and_not_backed(
    capsys: pytest.CaptureFixture[str], eth: Anvil, oracle: dict[str, Any]
) -> None:
    reserves = oracle["wallets"]["custodian"]["scantxoutset"]["total_sats"]
    eth.mint(TOKEN, reserves // 2)
    code, out, err = run(capsys, *base_args(eth), "--json")
    d = json.loads(out)
    assert code == 0 and err == ""
    assert Fraction(d["coverage"]) == Fraction(reserves, reserves // 2) == 2
    assert d["bitcoin_block"]["hash"] == oracle["tip"]["hash"]
    eth.mint(TOKEN, reserves)  # now 1.5x the reserves are minted
    code, out, _ = run(capsys, *base_args(eth))
    assert code == 1 and "under-covered" in out and "coverage              66.6667%" in out


def test_errors_are_typed_and_secret_free(capsys: pytest.CaptureFixture[str], eth: Anvil) -> None:
    args = base_args(eth)
    args[args.index("--token") + 1] = f"base:{TOKEN}"  # anvil serves chain id 1, not 8453
    code, _, err = run(capsys, *args)
    assert code != 0 and "ChainMismatchError" in err and "Traceback" not in err
    secret = "k3yk3yk3yk3y9999"
    args = base_args(eth)
    args[args.index("--evm-rpc") + 1] = f"http://127.0.0.1:1/v3/{secret}"
    code, _, err = run(capsys, *args)
    assert code != 0 and "source error" in err and secret not in err
    args = base_args(eth)
    args[args.index("--token") + 1] = "ethereum:nothex"
    code, _, err = run(capsys, *args)
    assert code != 0 and "input error" in err
