"""The command line: output shapes, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT, WALLETS

from utxo_truth.cli import format_btc, main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_shape_and_totals(capsys: pytest.CaptureFixture[str], oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["alice"]
    code, out, err = run(
        capsys,
        "scan",
        *w["descriptors"],
        "--network",
        "regtest",
        "--snapshot",
        str(SNAPSHOT),
        "--json",
    )
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["network"] == "regtest"
    assert data["block"] == {"height": oracle["tip"]["height"], "hash": oracle["tip"]["hash"]}
    assert data["gap"] == 20
    assert data["total_sats"] == w["scantxoutset"]["total_sats"]
    assert isinstance(data["total_sats"], int)
    keys = {"txid", "vout", "value", "height", "script_pubkey", "coinbase"}
    assert all(keys <= set(u) for u in data["utxos"])
    assert {(u["txid"], u["vout"], u["value"]) for u in data["utxos"]} == {
        (u["txid"], u["vout"], u["value"]) for u in w["scantxoutset"]["unspents"]
    }
    assert [t["method"] for t in data["targets"]] == ["range", "range"]
    assert data["targets"][0]["chains"][0]["used_indexes"] == [1, 5, 39, 61]


def test_table_from_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, oracle: dict[str, Any]
) -> None:
    f = tmp_path / "targets.txt"
    lines = (
        ["# comment line"]
        + [d for w in WALLETS for d in oracle["wallets"][w]["descriptors"]]
        + [""]
    )
    f.write_text("\n".join(lines))
    code, out, err = run(
        capsys, "scan", "--file", str(f), "--network", "regtest", "--snapshot", str(SNAPSHOT)
    )
    assert code == 0, err
    total = sum(oracle["wallets"][w]["scantxoutset"]["total_sats"] for w in WALLETS)
    assert format_btc(total) in out and str(total) in out
    assert oracle["tip"]["hash"] in out and "block 295" in out
    assert "immature" in out  # dave's coinbase


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (
            ["scan", "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f", "--network", "regtest"],
            2,
            "no chain source",
        ),
        (["scan", "--network", "regtest", "--snapshot", str(SNAPSHOT)], 2, "nothing to scan"),
        (
            ["scan", "nonsense", "--network", "regtest", "--snapshot", str(SNAPSHOT)],
            2,
            "TargetError",
        ),
        (
            [
                "scan",
                "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f",
                "--network",
                "main",
                "--snapshot",
                str(SNAPSHOT),
            ],
            2,
            "NetworkMismatchError",
        ),
        (
            [
                "scan",
                "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f",
                "--network",
                "regtest",
                "--snapshot",
                "/nonexistent",
            ],
            2,  # a path mistyped is bad input (issue 16), not a source that failed (3)
            "SourceSpecError): snapshot file /nonexistent does not exist",
        ),
        (
            [
                "scan",
                "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f",
                "--network",
                "regtest",
                "--source",
                "esplora+ftp://h/api",
            ],
            2,
            "http",
        ),
        (
            [
                "scan",
                "--file",
                "/nonexistent/t.txt",
                "--network",
                "regtest",
                "--snapshot",
                str(SNAPSHOT),
            ],
            2,
            "cannot read targets file",
        ),
        (
            [
                "scan",
                "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f",
                "--network",
                "regtest",
                "--snapshot",
                str(SNAPSHOT),
                "--range",
                "0",
            ],
            2,
            "range",
        ),
    ],
)
def test_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], code: int, needle: str
) -> None:
    got, out, err = run(capsys, *args)
    assert got == code
    assert out == ""
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_corrupt_snapshot_exit_code(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_bytes(SNAPSHOT.read_bytes()[:-7])
    code, _, err = run(
        capsys,
        "scan",
        "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f",
        "--network",
        "regtest",
        "--snapshot",
        str(bad),
    )
    assert code == 3 and "SnapshotFormatError" in err


def test_private_key_on_command_line_is_not_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    xprv = "tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF"
    code, out, err = run(capsys, "scan", xprv, "--network", "regtest", "--snapshot", str(SNAPSHOT))
    assert code == 2 and "PrivateKeyError" in err
    assert xprv[4:] not in out + err


def test_debug_shows_the_traceback() -> None:
    with pytest.raises(Exception, match="no chain source"):
        main(["scan", "x", "--network", "regtest", "--debug"])


def test_console_script_runs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "utxo_truth.cli",
            "scan",
            "--file",
            str(ROOT / "examples/regtest/wallets.txt"),
            "--network",
            "regtest",
            "--snapshot",
            str(ROOT / "examples/regtest/utxo-snapshot.dat"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["block"]["height"] == 295 and data["total_sats"] > 0


@pytest.mark.parametrize(
    ("sats", "text"),
    [
        (0, "0.00000000"),
        (1, "0.00000001"),
        (100_000_000, "1.00000000"),
        (2_100_000_000_000_000, "21000000.00000000"),
        (-5, "-0.00000005"),
    ],
)
def test_format_btc_exact(sats: int, text: str) -> None:
    assert format_btc(sats) == text


def test_unreachable_electrum_server_is_a_source_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "scan",
        "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f",
        "--network",
        "regtest",
        "--source",
        "electrum://127.0.0.1:1",
    )
    assert code == 3 and out == ""
    assert "SourceUnavailableError" in err and err.count("\n") == 2  # + what it waited for
    assert err.startswith("utxo-truth: waiting for electrum://127.0.0.1:1")


def test_version_names_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    import utxo_truth

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"utxo-truth {utxo_truth.__version__}"
