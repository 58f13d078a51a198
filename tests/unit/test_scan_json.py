"""``scan --json`` (schema 2): each coin written once, read back to the same Holdings."""

from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any

import pytest
from conftest import SNAPSHOT

from utxo_truth import Holdings, holdings_from_json, scan
from utxo_truth._scanjson import write_scan_json
from utxo_truth.cli import main, to_json


def _cli_json(capsys: pytest.CaptureFixture[str], *targets: str) -> dict[str, Any]:
    argv = ["scan", *targets, "--network", "regtest", "--snapshot", str(SNAPSHOT), "--json"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ""
    data: dict[str, Any] = json.loads(out)
    return data


def test_each_coin_listed_once(capsys: pytest.CaptureFixture[str], oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["alice"]
    data = _cli_json(capsys, *w["descriptors"])
    assert data["json_schema"] == 2
    text = json.dumps(data)
    outpoints = {(u["txid"], u["vout"]) for u in w["scantxoutset"]["unspents"]}
    assert len(outpoints) > 3
    # every coin's txid appears exactly as often as it has outputs in the answer: once each
    per_txid = Counter(txid for txid, _ in outpoints)
    for txid, n in per_txid.items():
        assert text.count(txid) == n
    assert all("utxos" not in t for t in data["targets"])
    assert sum(t["utxo_count"] for t in data["targets"]) == len(data["utxos"]) == len(outpoints)
    assert {(u["txid"], u["vout"]) for u in data["utxos"]} == outpoints


def test_round_trip_equals_the_scan(
    capsys: pytest.CaptureFixture[str], oracle: dict[str, Any]
) -> None:
    targets = [d for w in ("alice", "bob") for d in oracle["wallets"][w]["descriptors"]]
    held = scan(targets, network="regtest", source=f"snapshot:{SNAPSHOT}")
    data = _cli_json(capsys, *targets)
    back = holdings_from_json(json.dumps(data))
    assert back == held
    assert back.targets == held.targets  # per-target lists rebuilt from the one coin list
    # schema 1 (each coin twice) is still read
    assert holdings_from_json(json.dumps(to_json(held))) == held


def test_coin_of_two_targets_keeps_both_origins(oracle: dict[str, Any]) -> None:
    coin = oracle["wallets"]["alice"]["scantxoutset"]["unspents"][0]
    script = coin["script_pubkey"]
    held = scan([script, script], network="regtest", source=f"snapshot:{SNAPSHOT}")
    assert len(held.targets[0].utxos) == len(held.targets[1].utxos) >= 1
    buf = io.StringIO()
    write_scan_json(held, buf)
    data = json.loads(buf.getvalue())
    assert len(data["utxos"]) == len(held.utxos)
    assert all(
        u["also_origins"] == [{"target": 1, "chain": None, "index": None}] for u in data["utxos"]
    )
    assert holdings_from_json(buf.getvalue()) == held


def test_trusted_models_equal_validated(oracle: dict[str, Any]) -> None:
    """The snapshot's coins are built without validation: validating them changes nothing."""
    targets = [d for w in ("alice", "bob", "carol") for d in oracle["wallets"][w]["descriptors"]]
    held = scan(targets, network="regtest", source=f"snapshot:{SNAPSHOT}")
    assert held.utxos
    again = Holdings.model_validate(held.model_dump())
    assert again == held
    assert again.model_dump_json() == held.model_dump_json()
