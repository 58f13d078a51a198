"""One test per example of issue 11 (the hostile-input campaign), by its exact input.

Each class of fault has its own section; property tests over the same readers are in
``test_sweep_properties.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT
from snapshot_writer import hash_serialized_3, write_snapshot

from utxo_truth import (
    AllSourcesFailedError,
    ElectrumSource,
    PolicyFailedError,
    SnapshotFormatError,
    SnapshotSource,
    SourceError,
    VerificationError,
    scan,
)
from utxo_truth.cli import main

ALICE = "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f"
DEAD = "electrum://127.0.0.1:1"

# --- 1. silent wrong answers: --policy all, all sources failed --------------------------------


def test_policy_all_with_a_failed_source_is_an_error_naming_it() -> None:
    dead = ElectrumSource("127.0.0.1", 1, network="regtest", tls=False)
    with pytest.raises(PolicyFailedError) as exc:
        scan([ALICE], network="regtest", sources=[SnapshotSource(SNAPSHOT, "regtest"), dead])
    assert isinstance(exc.value, SourceError)
    assert DEAD in str(exc.value) and list(exc.value.failures) == [DEAD]


def test_cli_policy_all_with_a_failed_source_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["scan", ALICE, "--network", "regtest", "--snapshot", str(SNAPSHOT)]
    code = main([*argv, "--source", DEAD, "--policy", "all"])
    err = capsys.readouterr().err
    assert code == 3 and "PolicyFailedError" in err and DEAD in err


def test_cli_quorum_says_which_source_failed(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["scan", ALICE, "--network", "regtest", "--snapshot", str(SNAPSHOT)]
    code = main([*argv, "--source", DEAD, "--policy", "quorum"])
    captured = capsys.readouterr()
    assert code == 0 and "8857143" in captured.out
    assert "warning" in captured.err and f"{DEAD} failed" in captured.err


def test_all_sources_failed_is_a_source_error_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(AllSourcesFailedError) as exc:
        scan(
            [ALICE],
            network="regtest",
            sources=[DEAD, "electrum://127.0.0.1:2"],
            policy="quorum",
        )
    assert set(exc.value.failures) == {DEAD, "electrum://127.0.0.1:2"}
    code = main(
        [
            "scan",
            ALICE,
            "--network",
            "regtest",
            "--source",
            DEAD,
            "--source",
            "electrum://127.0.0.1:2",
        ]
    )
    err = capsys.readouterr().err
    assert code == 3 and "AllSourcesFailedError" in err


# --- 1. the UTXO-set hash binds the snapshot's block -----------------------------------------


def _zeroed_block(tmp_path: Path) -> Path:
    raw = bytearray(SNAPSHOT.read_bytes())
    raw[11:43] = bytes(32)  # the header's base block hash
    path = tmp_path / "zeroed-block.dat"
    path.write_bytes(bytes(raw))
    return path


def test_zeroed_block_hash_fails_a_bound_snapshot_hash(
    tmp_path: Path, oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    u = oracle["utxo_set"]
    path = _zeroed_block(tmp_path)
    with pytest.raises(VerificationError, match="base block"):
        SnapshotSource(path, "regtest", expected_hash=f"{u['bestblock']}:{u['hash_serialized_3']}")
    argv = ["scan", ALICE, "--network", "regtest", "--snapshot", str(path), "--snapshot-hash"]
    full = f"{u['height']}:{u['bestblock']}:{u['hash_serialized_3']}"
    assert main([*argv, full]) == 3
    assert "VerificationError" in capsys.readouterr().err
    # a bare UTXO set hash for a block outside the assumeutxo table binds nothing: refused
    assert main([*argv, u["hash_serialized_3"]]) == 2
    assert "does not cover the snapshot's block" in capsys.readouterr().err


def test_a_bare_hash_through_the_api_says_the_block_is_not_verified(
    tmp_path: Path, oracle: dict[str, Any]
) -> None:
    path = _zeroed_block(tmp_path)
    src = SnapshotSource(path, "regtest", expected_hash=oracle["utxo_set"]["hash_serialized_3"])
    h = scan([ALICE], network="regtest", source=src)
    assert "NOT verified" in h.source and "hash verified" not in h.source
    assert any("does not cover the base block" in p for p in h.problems)
    assert not h.complete


def test_a_bound_hash_says_what_was_verified(oracle: dict[str, Any]) -> None:
    u = oracle["utxo_set"]
    src = SnapshotSource(
        SNAPSHOT,
        "regtest",
        expected_hash=f"{u['height']}:{u['bestblock']}:{u['hash_serialized_3']}",
    )
    h = scan([ALICE], network="regtest", source=src)
    assert "coins match" in h.source and "base block" in h.source and "--snapshot-hash" in h.source
    assert h.block.hash == u["bestblock"] and h.block.height == u["height"]


# --- 3. crashes: snapshot fields out of range -------------------------------------------------

P2WPKH = b"\x00\x14" + b"\x07" * 20


@pytest.mark.parametrize(
    ("coin", "what"),
    [
        ((2**32, 10, False, 1000, P2WPKH), "output index"),  # vout of 2**32
        ((0, 2**31, False, 1000, P2WPKH), "height code"),  # height code of 2**32
        ((0, 10, False, 2**63, P2WPKH), "MAX_MONEY"),  # value of 2**63
        ((0, 10, False, 21_000_000 * 100_000_000 + 1, P2WPKH), "MAX_MONEY"),  # above MAX_MONEY
    ],
)
def test_snapshot_fields_out_of_range_are_format_errors(
    tmp_path: Path, coin: tuple[int, int, bool, int, bytes], what: str
) -> None:
    groups = [(b"\x01" * 32, [coin])]
    path = tmp_path / "bad.dat"
    write_snapshot(path, "regtest", "22" * 32, groups)
    src = SnapshotSource(path, "regtest")
    with pytest.raises(SnapshotFormatError, match=what):
        src.verify_hash()  # the UTXO-set hash path (was OverflowError)
    with pytest.raises(SnapshotFormatError, match=what):
        src.lookup([P2WPKH])  # the scan path (was a pydantic ValidationError)
    checked = SnapshotSource(path, "regtest", expected_hash=hash_serialized_3([]))
    with pytest.raises(SnapshotFormatError):
        scan([f"raw({P2WPKH.hex()})"], network="regtest", source=checked)
