"""The Electrum source against the real ElectrumX indexing Bitcoin Core's recorded chain."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import SNAPSHOT, WALLETS, assert_equals_core, coin_key

from utxo_truth import (
    ElectrumSource,
    SnapshotSource,
    SourceUnavailableError,
    open_source,
    scan,
)


def source(electrumx: Any, **kw: Any) -> ElectrumSource:
    return ElectrumSource("127.0.0.1", electrumx.ex.tcp_port, network="regtest", tls=False, **kw)


def test_gap_20_over_history_finds_39_not_61(electrumx: Any, oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["alice"]
    h = scan(w["descriptors"], network="regtest", source=source(electrumx), gap=20)
    receive = h.targets[0].chains[0]
    # history includes the mempool, where alice's receive index 3 was just paid
    assert receive.used_indexes == tuple(
        i for i in w["used_receive_indexes_with_mempool"] if i < 61
    )
    assert receive.scanned == 60
    indexes = {u.origin.index for u in h.targets[0].utxos if u.origin}
    assert {1, 5, 39} <= indexes and 61 not in indexes
    assert h.targets[0].method == "gap"


def test_gap_22_over_history_finds_61(electrumx: Any, oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["alice"]
    h = scan(w["descriptors"], network="regtest", source=source(electrumx), gap=22)
    assert list(h.targets[0].chains[0].used_indexes) == w["used_receive_indexes_with_mempool"]
    assert list(h.targets[1].chains[0].used_indexes) == w["used_change_indexes_with_mempool"]


@pytest.mark.parametrize("wallet", WALLETS)
def test_every_wallet_equals_core(electrumx: Any, oracle: dict[str, Any], wallet: str) -> None:
    w = oracle["wallets"][wallet]
    h = scan(w["descriptors"], network="regtest", source=source(electrumx), gap=25)
    assert_equals_core(h, oracle, wallet)


def test_electrum_and_snapshot_agree(electrumx: Any, oracle: dict[str, Any]) -> None:
    targets = [d for w in WALLETS for d in oracle["wallets"][w]["descriptors"]]
    via_electrum = scan(targets, network="regtest", source=source(electrumx), gap=25)
    via_snapshot = scan(targets, network="regtest", source=SnapshotSource(SNAPSHOT, "regtest"))
    assert via_electrum.block == via_snapshot.block
    assert sorted(coin_key(u) for u in via_electrum.utxos) == sorted(
        coin_key(u) for u in via_snapshot.utxos
    )
    assert via_electrum.total_sats == via_snapshot.total_sats


def test_round_trips_are_few(electrumx: Any, oracle: dict[str, Any]) -> None:
    src = source(electrumx)
    targets = [d for w in WALLETS for d in oracle["wallets"][w]["descriptors"]]
    scan(targets, network="regtest", source=src, gap=20)
    # version + 3 per look-up; the custodian's 150 used receive indexes need a second round
    assert src.round_trips <= 1 + 3 * 3


def test_bare_p2pk_over_electrum(electrumx: Any, oracle: dict[str, Any]) -> None:
    bare = oracle["bare_p2pk"]
    h = scan([bare["descriptor"]], network="regtest", source=source(electrumx))
    assert [coin_key(u) for u in h.utxos] == [coin_key(u) for u in bare["scantxoutset"]["unspents"]]
    assert h.utxos[0].verification == "spv"


def test_tls_with_pinned_fingerprint(electrumx: Any, oracle: dict[str, Any]) -> None:
    url = f"electrums://127.0.0.1:{electrumx.ex.ssl_port}?fingerprint={electrumx.ex.fingerprint}"
    src = open_source(url, "regtest")
    h = scan(oracle["wallets"]["bob"]["descriptors"], network="regtest", source=src)
    assert h.total_sats == oracle["wallets"]["bob"]["scantxoutset"]["total_sats"]
    assert h.source.startswith("electrums://")


def test_tls_self_signed_refused_without_pin(electrumx: Any) -> None:
    src = ElectrumSource("127.0.0.1", electrumx.ex.ssl_port, network="regtest")
    with pytest.raises(SourceUnavailableError, match="fingerprint"):
        src.lookup([b"\x00\x14" + b"\x00" * 20])


def test_tls_wrong_fingerprint_refused(electrumx: Any) -> None:
    src = ElectrumSource(
        "127.0.0.1", electrumx.ex.ssl_port, network="regtest", fingerprint="00" * 32
    )
    with pytest.raises(SourceUnavailableError, match="does not match"):
        src.lookup([b"\x00\x14" + b"\x00" * 20])


def test_json_output_has_verification_status(
    electrumx: Any, oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from utxo_truth.cli import main

    code = main(
        [
            "scan",
            *oracle["wallets"]["carol"]["descriptors"],
            "--network",
            "regtest",
            "--source",
            f"electrum://127.0.0.1:{electrumx.ex.tcp_port}",
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {u["verification"] for u in data["utxos"]} == {"spv"}
    assert data["verified_sats"] == oracle["wallets"]["carol"]["scantxoutset"]["total_sats"]
    assert data["spent_in_mempool_sats"] > 0


def test_no_scan_mixes_two_tips(electrumx: Any, oracle: dict[str, Any]) -> None:
    """The source pins each look-up to one tip (checked before and after)."""
    src = source(electrumx)
    answer = src.lookup(
        [
            bytes.fromhex(u["script_pubkey"])
            for u in oracle["wallets"]["bob"]["scantxoutset"]["unspents"]
        ]
    )
    assert answer.block.hash == oracle["tip"]["hash"]
    assert src.block_status(answer.block) == "tip"
