"""What `utxo-truth scan` shows: verification lines, the incomplete warning, --strict, --utxos,
--csv, the terminal at 80 and 160 columns (in a pseudo-terminal), and progress with a known total.

Real parts only: the bundled Bitcoin Core snapshot, the Esplora test server (lying where a test
says so), Core's recorded answers (oracle.json) as the expected coins.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT, WALLETS

from utxo_truth import EsploraSource, SnapshotSource, scan
from utxo_truth.cli import EXIT_INCOMPLETE, format_btc, main
from utxo_truth.sources import _readprogress
from utxo_truth.sources._readprogress import FileProgress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def descriptors(oracle: dict[str, Any], *wallets: str) -> list[str]:
    return [d for w in wallets for d in oracle["wallets"][w]["descriptors"]]


def core_coins(oracle: dict[str, Any], *wallets: str) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (u["txid"], u["vout"]): u
        for w in wallets
        for u in oracle["wallets"][w]["scantxoutset"]["unspents"]
    }


def address(script_hex: str) -> str:
    """The regtest address of a script, by embit (not by utxo_truth's own encoder)."""
    from embit.networks import NETWORKS
    from embit.script import Script

    return str(Script(bytes.fromhex(script_hex)).address(NETWORKS["regtest"]))


def wrong_merkle_proofs(path: str, value: Any) -> Any:
    """The Esplora server's lie: every merkle proof points at the neighbouring position."""
    if path.endswith("/merkle-proof"):
        return dict(value, pos=value["pos"] ^ 1)
    return value


# ---- the table says what is verified, and when the answer is incomplete -------------------------


def test_wrong_merkle_proofs_show_the_unverified_line_and_strict_fails(
    esplora: Any, oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    esplora.faults.edit = wrong_merkle_proofs
    args = ["scan", *descriptors(oracle, "alice"), "--network", "regtest"]
    args += ["--source", f"esplora+{esplora.url}", "--gap", "25"]
    code, out, _err = run(capsys, *args)
    assert code == 0  # without --strict the answer is printed and the exit is clean
    total = oracle["wallets"]["alice"]["scantxoutset"]["total_sats"]
    n = len(oracle["wallets"]["alice"]["scantxoutset"]["unspents"])
    lines = out.splitlines()
    warning = [i for i, line in enumerate(lines) if line.startswith("INCOMPLETE:")]
    assert len(warning) == 1, out
    assert lines[warning[0]].startswith(f"INCOMPLETE: {n} of {n} coins unverified; ")
    assert "problem" in lines[warning[0]]
    total_line = next(i for i, line in enumerate(lines) if line.startswith("total (each coin"))
    assert total_line == warning[0] + 1  # one line, right above the total
    assert lines[total_line].split()[-2:] == [format_btc(total), str(total)]
    unverified = next(line for line in lines if line.startswith("unverified"))
    verified = next(line for line in lines if line.startswith("verified"))
    spendable = next(line for line in lines if line.startswith("spendable"))
    assert unverified.split()[-3:] == [str(n), format_btc(total), str(total)]
    assert verified.split()[-3:] == ["0", format_btc(0), "0"]
    assert spendable.split()[-3:] == ["0", format_btc(0), "0"]
    assert any("merkle" in line for line in lines[lines.index(next(x for x in lines if x.startswith("problems ("))) :])  # fmt: skip

    code, out_strict, err = run(capsys, *args, "--strict")
    assert code == EXIT_INCOMPLETE == 1
    assert "INCOMPLETE:" in out_strict and "--strict: INCOMPLETE" in err
    code, out_json, err = run(capsys, *args, "--strict", "--json")
    assert code == EXIT_INCOMPLETE and '"verified_sats": 0' in out_json


def test_a_complete_answer_has_no_warning_and_strict_passes(
    oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "scan",
        *descriptors(oracle, "alice"),
        "--network",
        "regtest",
        "--snapshot",
        str(SNAPSHOT),
        "--strict",
    )
    assert code == 0 and err == ""
    assert "INCOMPLETE" not in out and "problems" not in out
    total = oracle["wallets"]["alice"]["scantxoutset"]["total_sats"]
    verified = next(line for line in out.splitlines() if line.startswith("verified"))
    assert verified.split()[-2:] == [format_btc(total), str(total)]
    assert f"true at block {oracle['tip']['height']}" in out
    assert f"block hash {oracle['tip']['hash']}" in out


def test_consensus_of_two_sources_is_shown(
    esplora: Any, oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["scan", *descriptors(oracle, "bob"), "--network", "regtest", "--gap", "25"]
    args += ["--snapshot", str(SNAPSHOT), "--source", f"esplora+{esplora.url}"]
    code, out, _err = run(capsys, *args)
    assert code == 0
    assert "consensus (policy all): the sources agreed" in out
    total = format_btc(oracle["wallets"]["bob"]["scantxoutset"]["total_sats"])
    rows = [line for line in out.splitlines() if line.startswith(("snapshot:", "esplora+"))]
    assert len(rows) == 2 and all(str(oracle["tip"]["height"]) in r and total in r for r in rows)


# ---- --utxos and --csv: one entry per coin ------------------------------------------------------


def test_csv_rows_are_the_coins(
    oracle: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "coins.csv"
    code, _out, err = run(
        capsys,
        "scan",
        *descriptors(oracle, *WALLETS),
        "--network",
        "regtest",
        "--snapshot",
        str(SNAPSHOT),
        "--csv",
        str(path),
    )
    assert code == 0, err
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:8] == [
        "txid",
        "vout",
        "value",
        "height",
        "address",
        "path",
        "verification",
        "target",
    ]
    expected = core_coins(oracle, *WALLETS)
    assert len(rows) == len(expected)  # each coin once
    for r in rows:
        u = expected[(r["txid"], int(r["vout"]))]
        assert (int(r["value"]), int(r["height"])) == (u["value"], u["height"])
        assert r["verification"] == "node" and r["address"] == address(u["script_pubkey"])
        assert r["target"] in descriptors(oracle, *WALLETS)
        assert r["block_hash"] == oracle["tip"]["hash"]
    # the path is the chain and index Core's own descriptor names for the coin
    alice = {(r["txid"], int(r["vout"])): r["path"] for r in rows}
    for u in oracle["wallets"]["alice"]["scantxoutset"]["unspents"]:
        m = re.search(r"/(\d+)/(\d+)\]", u["desc"])
        assert m, u["desc"]
        chain, index = m.groups()
        assert alice[(u["txid"], u["vout"])] == f"{('receive', 'change')[int(chain)]}/{index}"


def test_csv_of_unverified_and_pending_coins(
    esplora: Any, oracle: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    esplora.faults.edit = wrong_merkle_proofs
    path = tmp_path / "coins.csv"
    args = ["scan", *descriptors(oracle, "alice"), "--network", "regtest", "--gap", "25"]
    code, _out, _err = run(
        capsys, *args, "--source", f"esplora+{esplora.url}", "--csv", str(path), "--utxos"
    )
    assert code == 0
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    confirmed = [r for r in rows if r["height"]]
    pending = [r for r in rows if not r["height"]]
    assert {(r["txid"], int(r["vout"])) for r in confirmed} == set(core_coins(oracle, "alice"))
    assert {r["verification"] for r in confirmed} == {"unverified"}
    core_pending = {
        (u["txid"], u["vout"])
        for u in oracle["wallets"]["alice"]["listunspent_with_mempool"]
        if u["confirmations"] == 0
    }
    assert pending and {(r["txid"], int(r["vout"])) for r in pending} == core_pending
    assert {r["status"] for r in pending} == {"pending"}


def test_utxos_lists_every_outpoint(
    oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = run(
        capsys,
        "scan",
        *descriptors(oracle, "alice", "dave"),
        "--network",
        "regtest",
        "--snapshot",
        str(SNAPSHOT),
        "--utxos",
    )
    assert code == 0
    coins = core_coins(oracle, "alice", "dave")
    listed = [line for line in out.splitlines() if re.match(r"[0-9a-f]{64}:\d+ ", line)]
    assert len(listed) == len(coins)
    for (txid, vout), u in coins.items():
        line = next(x for x in listed if x.startswith(f"{txid}:{vout} "))
        assert format_btc(u["value"]) in line.split()
        assert address(u["script_pubkey"]) in line.split()
    assert any(line.endswith("node immature") for line in listed)  # dave's young coinbase
    code, out, _err = run(
        capsys, "scan", *descriptors(oracle, "alice"), "--network", "regtest", "--snapshot",
        str(SNAPSHOT),
    )  # fmt: skip
    assert not re.search(r"^[0-9a-f]{64}:\d+ ", out, re.M)  # without --utxos: no coin list
    code, out, err = run(
        capsys, "scan", *descriptors(oracle, "alice"), "--network", "regtest", "--snapshot",
        str(SNAPSHOT), "--utxos", "--json",
    )  # fmt: skip
    assert code == 2 and out == "" and "--json lists every coin already" in err


# ---- a real terminal: 80 and 160 columns, hostile names -------------------------------------------


def run_in_pty(args: list[str], columns: int, tmp_path: Path) -> tuple[int, str]:
    """Run the console script in a pseudo-terminal ``columns`` wide; its whole output."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of `columns`, no COLUMNS override
        for name in ("COLUMNS", "LINES", "NO_COLOR"):
            os.environ.pop(name, None)
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-m", "utxo_truth.cli", *args])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    data = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), data.decode("utf-8", "replace")


@pytest.mark.parametrize("columns", [80, 160])
def test_terminal_keeps_every_amount_whole(
    oracle: dict[str, Any], tmp_path: Path, columns: int
) -> None:
    code, raw = run_in_pty(
        [
            "scan",
            *descriptors(oracle, *WALLETS),
            "--network",
            "regtest",
            "--snapshot",
            str(SNAPSHOT),
            "--utxos",
        ],
        columns,
        tmp_path,
    )
    assert code == 0, raw
    text = ANSI.sub("", raw).replace("\r", "")
    table = text[text.index("target") :]
    words = set(table.split())
    coins = core_coins(oracle, *WALLETS)
    for u in coins.values():  # every coin's amount, whole, as a word of its own
        assert format_btc(u["value"]) in words
    total = sum(u["value"] for u in coins.values())
    assert f"total (each coin once) {len(coins)} {format_btc(total)} {total}" in " ".join(
        table.split()
    )
    lines = table.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= columns
    # the txids fold across lines, whole: the first column's pieces, joined, hold every outpoint
    listing = table[table.index("outpoint") :].splitlines()[2:]
    first = "".join(
        line.split()[0]
        for line in listing
        if line[:1].strip() and re.fullmatch(r"[0-9a-f:]+", line.split()[0])
    )
    assert all(f"{t}:{v}" in first for t, v in coins)
    assert "reading snapshot" in text and f"/{_decimal(SNAPSHOT.stat().st_size)}" in text


def _decimal(size: int) -> str:
    from rich.filesize import decimal

    return decimal(size)


@pytest.mark.parametrize(
    "name", ["[/]", "[red]spot [main] account[/red]", "\x1b[31mred\x1b[0m", "x" * 200]
)
def test_hostile_names_neither_crash_nor_restyle(
    oracle: dict[str, Any], tmp_path: Path, name: str
) -> None:
    folder = tmp_path / name
    folder.mkdir(parents=True)
    snap = folder / "utxo.dat"
    shutil.copy(SNAPSHOT, snap)
    code, raw = run_in_pty(
        ["scan", *descriptors(oracle, "alice"), "--network", "regtest", "--snapshot", str(snap)],
        160,
        tmp_path,
    )
    assert code == 0, raw
    assert "Traceback" not in raw and "MarkupError" not in raw
    assert "\x1b[31mred" not in raw  # the name's own escape sequence never reaches the terminal
    shown = ANSI.sub("", raw).replace("\r", "")
    source = shown[shown.index("source ") :]
    expected = str(snap).replace("\x1b", "\\x1b")  # shown, as text
    assert "".join(expected.split()) in "".join(source.split()), source  # folded, but whole


# ---- progress: a known total, increasing done ---------------------------------------------------


def test_snapshot_scan_reports_bytes_of_the_file(oracle: dict[str, Any]) -> None:
    seen: list[tuple[int, int]] = []
    src = SnapshotSource(SNAPSHOT, "regtest")
    h = scan(
        descriptors(oracle, "alice"),
        network="regtest",
        source=src,
        progress=lambda done, total: seen.append((done, total)),
    )
    size = SNAPSHOT.stat().st_size
    assert h.total_sats == oracle["wallets"]["alice"]["scantxoutset"]["total_sats"]
    assert {t for _d, t in seen} == {size}  # one total, known before the first byte
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert [d for d, _t in seen] == sorted({d for d, _t in seen})  # increasing
    assert src.progress is None  # the scan's callback is not left on the source


def test_a_checked_snapshot_counts_both_passes(oracle: dict[str, Any]) -> None:
    info = oracle["utxo_set"]
    seen: list[tuple[int, int]] = []
    src = SnapshotSource(
        SNAPSHOT,
        "regtest",
        expected_hash=f"{info['height']}:{info['bestblock']}:{info['hash_serialized_3']}",
    )
    scan(
        descriptors(oracle, "alice"),
        network="regtest",
        source=src,
        progress=lambda done, total: seen.append((done, total)),
    )
    size = SNAPSHOT.stat().st_size
    assert {t for _d, t in seen} == {2 * size}
    assert (size, 2 * size) in seen and seen[-1] == (2 * size, 2 * size)
    assert [d for d, _t in seen] == sorted({d for d, _t in seen})


def test_range_discovery_knows_every_script_at_once(oracle: dict[str, Any]) -> None:
    read: list[tuple[int, int]] = []
    looked_up: list[tuple[int, int]] = []
    src = SnapshotSource(SNAPSHOT, "regtest")
    src.progress = lambda done, total: read.append((done, total))  # the source's own, in bytes
    scan(
        descriptors(oracle, "alice"),
        network="regtest",
        source=src,
        range=300,
        progress=lambda done, total: looked_up.append((done, total)),
    )
    assert looked_up == [(0, 600), (600, 600)]  # two chains of 300 indexes, known up front
    assert read[0] == (0, SNAPSHOT.stat().st_size) and read[-1][0] == read[-1][1]


def test_gap_discovery_counts_each_round_before_asking(
    esplora: Any, oracle: dict[str, Any]
) -> None:
    seen: list[tuple[int, int]] = []
    src = EsploraSource(esplora.url, network="regtest", parallel=8, backoff=0.05)
    h = scan(
        descriptors(oracle, "alice"),
        network="regtest",
        source=src,
        gap=20,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert h.complete
    assert seen[0][0] == 0 and seen[0][1] > 0  # the first round's size, before any answer
    assert all(d <= t for d, t in seen)
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)
    assert [t for _d, t in seen] == sorted(t for _d, t in seen)
    # each round: announced as (done, done + n), then finished at exactly that total
    for (d0, t0), (d1, t1) in zip(seen[::2], seen[1::2], strict=True):
        assert d0 < t0 and (d1, t1) == (t0, t0)
    scanned = sum(c.scanned for t in h.targets for c in t.chains)
    assert seen[-1] == (scanned, scanned)


@pytest.mark.skipif(_readprogress._FDS is None, reason="no list of open descriptors")
def test_file_progress_follows_the_offset_of_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(100_000))
    seen: list[tuple[int, int]] = []
    with FileProgress(path, 2, lambda d, t: seen.append((d, t)), interval=0.01) as reads:
        with path.open("rb", buffering=0) as f:
            f.seek(12_345)
            deadline = time.monotonic() + 10
            while (12_345, 200_000) not in seen and time.monotonic() < deadline:
                time.sleep(0.01)
        reads.next_pass()
        with path.open("rb", buffering=0) as f:
            f.seek(500)
            deadline = time.monotonic() + 10
            while (100_500, 200_000) not in seen and time.monotonic() < deadline:
                time.sleep(0.01)
    assert seen[0] == (0, 200_000)
    assert (12_345, 200_000) in seen and (100_000, 200_000) in seen and (100_500, 200_000) in seen
    assert seen[-1] == (200_000, 200_000)
    assert [d for d, _t in seen] == sorted({d for d, _t in seen})
