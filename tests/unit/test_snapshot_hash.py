"""A snapshot checked against its UTXO set hash (gettxoutsetinfo's hash_serialized_3)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT
from harness.snapshot_writer import hash_serialized_3, write_snapshot
from test_snapshot_format import _scripts

from utxo_truth import SnapshotSource, VerificationError, scan
from utxo_truth.cli import main
from utxo_truth.sources.snapshot import KNOWN_SNAPSHOTS, _varint_at

ALICE = "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f"


def test_real_snapshot_hash_equals_core(oracle: dict[str, Any]) -> None:
    u = oracle["utxo_set"]
    src = SnapshotSource(
        SNAPSHOT, "regtest", expected_hash=f"{u['bestblock']}:{u['hash_serialized_3']}"
    )
    info = src.verify_hash()
    assert info.hash_serialized_3 == oracle["utxo_set"]["hash_serialized_3"]
    assert info.txouts == oracle["utxo_set"]["txouts"]
    assert info.total_sats == 1_110_000_000_000  # total_amount 11100.00000000
    h = scan([ALICE], network="regtest", source=src)
    assert "hash verified" in h.source


def _altered_copy(tmp_path: Path) -> Path:
    """Change one coin's amount by one step: the file still parses and scans."""
    raw = bytearray(SNAPSHOT.read_bytes())
    pos = 51 + 32 + 1 + 1  # header, first txid, its coin count, the first vout
    _, pos = _varint_at(bytes(raw), pos)  # height*2+coinbase
    _, end = _varint_at(bytes(raw), pos)  # compressed amount: its last byte has the high bit clear
    raw[end - 1] ^= 0x01
    path = tmp_path / "altered.dat"
    path.write_bytes(bytes(raw))
    return path


def test_an_altered_amount_is_caught_only_by_the_hash(
    tmp_path: Path, oracle: dict[str, Any]
) -> None:
    path = _altered_copy(tmp_path)
    plain = scan([ALICE], network="regtest", source=SnapshotSource(path, "regtest"))
    assert plain.block.height == 295  # structurally valid: nothing else notices
    checked = SnapshotSource(path, "regtest", expected_hash=oracle["utxo_set"]["hash_serialized_3"])
    with pytest.raises(VerificationError, match="altered"):
        scan([ALICE], network="regtest", source=checked)


def test_every_script_kind_hashes_like_core(tmp_path: Path) -> None:
    groups = [
        (
            hashlib.sha256(name.encode()).digest(),
            [(0, 7, False, 1234, s), (3, 9, True, 5000000000, s)],
        )
        for name, s in _scripts().items()
        if name != "p2pk-uncompressed-not-on-curve"
    ]
    path = tmp_path / "kinds.dat"
    write_snapshot(path, "regtest", "22" * 32, groups)
    src = SnapshotSource(path, "regtest", expected_hash=hash_serialized_3(groups))
    assert src.verify_hash().txouts == 2 * len(groups)
    assert src.hash_verified


def test_a_known_assumeutxo_block_is_always_checked(tmp_path: Path) -> None:
    block, (height, _expected) = next(
        iter(KNOWN_SNAPSHOTS[__import__("utxo_truth").Network.MAIN].items())
    )
    path = tmp_path / "fake840k.dat"
    write_snapshot(
        path,
        "main",
        block,
        [(b"\x01" * 32, [(0, height, False, 1000, b"\x00\x14" + b"\x02" * 20)])],
    )
    src = SnapshotSource(path, "main")
    assert src.expected_hash is not None
    with pytest.raises(VerificationError):
        src.lookup([b"\x00\x14" + b"\x02" * 20])


def test_cli_snapshot_hash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, oracle: dict[str, Any]
) -> None:
    u = oracle["utxo_set"]
    good = f"{u['height']}:{u['bestblock']}:{u['hash_serialized_3']}"
    assert (
        main(
            [
                "scan",
                ALICE,
                "--network",
                "regtest",
                "--snapshot",
                str(SNAPSHOT),
                "--snapshot-hash",
                good,
            ]
        )
        == 0
    )
    assert "hash verified" in capsys.readouterr().out
    code = main(
        [
            "scan",
            ALICE,
            "--network",
            "regtest",
            "--snapshot",
            str(_altered_copy(tmp_path)),
            "--snapshot-hash",
            good,
        ]
    )
    assert code == 3 and "VerificationError" in capsys.readouterr().err


def test_hash_streams_across_chunk_boundaries(
    monkeypatch: pytest.MonkeyPatch, oracle: dict[str, Any]
) -> None:
    """The hash is read in fixed chunks (memory does not grow with the file): tiny chunks agree."""
    from utxo_truth.sources import snapshot as snap

    monkeypatch.setattr(snap, "_MARGIN", 300)
    for chunk in (311, 997, 4096):
        monkeypatch.setattr(snap, "CHUNK", chunk)
        info = snap.utxo_set_info(SNAPSHOT, "test")
        assert info.hash_serialized_3 == oracle["utxo_set"]["hash_serialized_3"], chunk
        assert info.txouts == oracle["utxo_set"]["txouts"]


@pytest.mark.parametrize("cut", [60, 5000, -1])
def test_hash_path_refuses_truncated_or_extended_files(tmp_path: Path, cut: int) -> None:
    from utxo_truth import SnapshotFormatError
    from utxo_truth.sources import snapshot as snap

    raw = SNAPSHOT.read_bytes()
    path = tmp_path / "damaged.dat"
    path.write_bytes(raw[:cut] if cut > 0 else raw + b"\x00")
    with pytest.raises(SnapshotFormatError):
        snap.utxo_set_info(path, "damaged")
