"""What a person sees of a reconcile: the terminal in a real pseudo-terminal, the evidence rows,
and a custodian's reported balances checked against the chain (issue 16, items 1 and 7).

The terminal is the CLI's own process on a pty sized with TIOCSWINSZ (and COLUMNS), as a user's
tmux pane is; the chain is the bundled snapshot, the answers Bitcoin Core's (``oracle.json``).
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT
from test_reconcile import base, to_toml

from utxo_truth import load_portfolio, reconcile
from utxo_truth._script import address_of
from utxo_truth.report import format_btc, render_text, to_csv, to_html

CLI = [sys.executable, "-c", "from utxo_truth.cli import run; run()"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
# a style rich never emits (blink on magenta): seen raw in the output, a name restyled the terminal
HOSTILE_SGR = "\x1b[5;45m"
LONG = "L" * 480 + " long wallet name"  # 497 characters


def _hostile(oracle: dict[str, Any]) -> dict[str, Any]:
    d = base(oracle)
    d["wallets"][0]["name"] = LONG
    d["wallets"][1]["name"] = f"bob{HOSTILE_SGR}blink"
    d["custodians"][0]["name"] = "[/]"
    d["custodians"][0]["liabilities"] = "40.0"  # under-covered: a [critical] check
    d["positions"] = [
        {"name": "spot [main] account", "custodian": "[/]", "kind": "exchange", "amount": "0.5"},
        {"name": "[red]perp[/red]", "custodian": "[/]", "kind": "derivative", "side": "long",
         "notional": "2.0", "margin": "0.25"},  # leverage 8x: a [warning] check
    ]  # fmt: skip
    d["source"] = f"snapshot:{SNAPSHOT}"
    return d


def _in_pty(args: list[str], columns: int) -> str:
    """Run the CLI with stdout on a pseudo-terminal ``columns`` wide; return what it wrote."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "50", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [*CLI, *args], stdin=slave, stdout=slave, stderr=subprocess.PIPE, env=env, close_fds=True
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err, err.decode()
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def _amounts(r: Any) -> set[str]:
    """Every amount the terminal view shows, as format_btc writes it."""
    sats = [r.finality_sats, r.shadow_sats, r.total_sats, r.redemption_sats, r.exposure_sats]
    sats += [r.pending_sats, r.unverified_sats, *r.by_book.values()]
    for w in r.wallets:
        sats += [w.verified_sats, w.pending_sats, w.unverified_sats]
    for p in r.positions:
        sats += [p.amount_sats, p.at_risk_sats]
    for c in r.custodians:
        sats += [c.verified_reserves_sats, c.liabilities_sats, c.claimed_reserves_sats]
        sats += [c.at_risk_sats]
    return {format_btc(s) for s in sats}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, oracle: dict[str, Any]) -> Path:
    p = tmp_path_factory.mktemp("views") / "hostile.toml"
    p.write_text(to_toml(_hostile(oracle)))
    return p


@pytest.mark.parametrize("columns", [80, 160])
def test_terminal_shows_every_amount_whole_and_names_inert(hostile: Path, columns: int) -> None:
    raw = _in_pty(["reconcile", str(hostile)], columns)
    assert "\x1b[" in raw  # a terminal: rich did colour it
    assert HOSTILE_SGR not in raw  # ... but a name never did
    seen = ANSI.sub("", raw)
    assert "\x1b" not in seen
    lines = seen.splitlines()
    assert max(len(line) for line in lines) <= columns
    r = reconcile(load_portfolio(hostile))
    words = set(re.split(r"\s+|[(),:]", seen))
    missing = sorted(a for a in _amounts(r) if a not in words)
    assert not missing, missing  # every amount whole, never "0.5000…"
    assert "…" not in seen
    assert "[critical] [/]: verified reserves cover" in seen.replace("\n", " ")
    assert "[warning] [red]perp[/red]: leverage 8.0x" in seen.replace("\n", " ")
    assert "spot [main] account" in seen and "[/]" in seen
    assert "\\x1b[5;45m" in seen  # the escape shown as text (the name may fold around it)
    assert seen.count("L") == LONG.count("L")  # the 497-character name folded, not cut


def test_terminal_and_pipe_show_the_same_facts(hostile: Path) -> None:
    term = ANSI.sub("", _in_pty(["reconcile", str(hostile)], 120))
    piped = subprocess.run(
        [*CLI, "reconcile", str(hostile)], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert [ln.rstrip() for ln in term.splitlines()] == piped.splitlines()
    assert "By book:" in piped and "Shadow (everything else)" in piped  # the breakdown in both
    assert "wallets: your own coins" in piped and "true at block 295" in piped


def test_plain_text_escapes_control_characters_and_keeps_labels(oracle: dict[str, Any]) -> None:
    d = _hostile(oracle)
    d["positions"][0]["name"] = "a\nb\x07c\u202eevil"
    p = Path(os.environ.get("TMPDIR", "/tmp")) / f"utxo-truth-views-{os.getpid()}.toml"
    try:
        p.write_text(to_toml(d))
        text = render_text(reconcile(load_portfolio(p)), width=80)
    finally:
        p.unlink()
    assert "a\\x0ab\\x07c\\u202eevil" in text
    assert "\x07" not in text and "\u202e" not in text
    assert "[critical]" in text and "[warning]" in text


# ---- the evidence: every coin counted ----------------------------------------------------------


def _core_coins(oracle: dict[str, Any], wallet: str) -> set[tuple[str, int, int, str]]:
    return {
        (f"{u['txid']}:{u['vout']}", u["value"], u["height"],
         address_of(bytes.fromhex(u["script_pubkey"]), "regtest") or "")
        for u in oracle["wallets"][wallet]["scantxoutset"]["unspents"]
    }  # fmt: skip


def test_json_csv_and_html_list_every_coin_counted(
    oracle: dict[str, Any], tmp_path: Path, hostile: Path
) -> None:
    csv_path, html_path = tmp_path / "r.csv", tmp_path / "r.html"
    run = subprocess.run(
        [*CLI, "reconcile", str(hostile), "--json", "--csv", str(csv_path), "--html",
         str(html_path)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    data = json.loads(run.stdout)
    by_owner: dict[str, set[tuple[str, int, int, str]]] = {}
    for c in data["coins"]:
        assert c["verification"] == "node"  # a snapshot is the user's own node's word
        by_owner.setdefault(c["name"], set()).add(
            (c["outpoint"], c["value"], c["height"], c["address"])
        )
    assert by_owner[LONG] == _core_coins(oracle, "alice")
    assert by_owner[f"bob{HOSTILE_SGR}blink"] == _core_coins(oracle, "bob")
    assert by_owner["[/]"] == _core_coins(oracle, "custodian")
    owners = {c["name"]: c["owner"] for c in data["coins"]}
    assert owners["[/]"] == "custodian" and owners[LONG] == "wallet"
    assert sum(c["value"] for c in data["coins"] if c["owner"] == "wallet") == data["finality_sats"]
    custodian = data["custodians"][0]
    assert (
        sum(c["value"] for c in data["coins"] if c["owner"] == "custodian")
        == custodian["verified_reserves_sats"]
    )
    rows = [r for r in csv.DictReader(io.StringIO(csv_path.read_text())) if r["section"] == "coin"]
    assert {(r["outpoint"], int(r["amount_sats"]), int(r["height"]), r["address"]) for r in rows if r["name"] == "[/]"} == _core_coins(oracle, "custodian")  # fmt: skip
    assert {r["verification"] for r in rows} == {"node"}
    assert all(r["block_height"] == "295" and r["kind"] in ("wallet", "custodian") for r in rows)
    page = html_path.read_text()
    assert "<h2>Coins counted</h2>" in page
    for outpoint, _, _, address in _core_coins(oracle, "custodian"):
        assert f"<code>{outpoint}</code>" in page and f"<code>{address}</code>" in page


# ---- a custodian's reported balances against the chain ----------------------------------------


def _balances(oracle: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for u in oracle["wallets"]["custodian"]["scantxoutset"]["unspents"]:
        a = address_of(bytes.fromhex(u["script_pubkey"]), "regtest")
        assert a is not None
        out[a] = out.get(a, 0) + u["value"]
    return out


def _reserve_portfolio(tmp_path: Path, oracle: dict[str, Any], file: Path) -> Any:
    d = base(oracle)
    del d["custodians"][0]["reserves"]
    d["custodians"][0]["reserves_file"] = str(file)
    p = tmp_path / "p.toml"
    p.write_text(to_toml(d))
    return reconcile(load_portfolio(p), source=f"snapshot:{SNAPSHOT}")


def _reported(r: Any) -> list[tuple[str, str, str]]:
    return [
        (c.id, c.level, c.message)
        for c in r.checks
        if c.id in ("reported-not-on-chain", "reported-below-chain")
    ]


@pytest.mark.parametrize("fmt", ["csv-btc", "csv-sats", "json"])
def test_an_edited_reserve_balance_raises_a_check(
    tmp_path: Path, oracle: dict[str, Any], fmt: str
) -> None:
    true = _balances(oracle)
    up, down = sorted(true)[:2]

    def write(balances: dict[str, int]) -> Path:
        f = tmp_path / f"por-{fmt}.txt"
        if fmt == "csv-btc":
            f.write_text(
                "coin,network,snapshot height,address,amount\n"
                + "".join(f"BTC,Bitcoin,295,{a},{format_btc(v)}\n" for a, v in balances.items())
            )
        elif fmt == "csv-sats":
            f.write_text(
                "address,balance_sats\n" + "".join(f"{a},{v}\n" for a, v in balances.items())
            )
        else:
            f.write_text(json.dumps([{"address": a, "balance": format_btc(v)} for a, v in balances.items()]))  # fmt: skip
        return f

    honest = _reserve_portfolio(tmp_path, oracle, write(true))
    assert _reported(honest) == []
    edited = dict(true)
    edited[up] += 1  # one satoshi more than the chain shows
    edited[down] -= 1000
    r = _reserve_portfolio(tmp_path, oracle, write(edited))
    assert sorted(_reported(r)) == [
        ("reported-below-chain", "info",
         f"X: reports {true[down] - 1000} sats at {down}, the chain shows {true[down]} verified"),
        ("reported-not-on-chain", "warning",
         f"X: reports {true[up] + 1} sats at {up}, the chain shows {true[up]} verified"),
    ]  # fmt: skip
    assert r.custodians[0].verified_reserves_sats == honest.custodians[0].verified_reserves_sats


def test_a_reserve_balance_given_twice_or_badly_is_refused(
    tmp_path: Path, oracle: dict[str, Any]
) -> None:
    from utxo_truth import PortfolioError

    a = sorted(_balances(oracle))[0]
    f = tmp_path / "por.csv"
    f.write_text(f"address,amount\n{a},1\n{a},2\n")
    with pytest.raises(PortfolioError, match=f"the balance of {a} is given twice"):
        _reserve_portfolio(tmp_path, oracle, f)
    f.write_text(f"address,amount\n{a},0.123456789\n")
    with pytest.raises(PortfolioError, match="more than 8 decimal places"):
        _reserve_portfolio(tmp_path, oracle, f)
    f.write_text(f"address,balance_sats\n{a},1.5\n")
    with pytest.raises(PortfolioError, match="not a whole number of satoshis"):
        _reserve_portfolio(tmp_path, oracle, f)


def test_html_evidence_escapes_names(hostile: Path) -> None:
    page = to_html(reconcile(load_portfolio(hostile)))
    assert "custodian [/]" in page and "<script" not in page
    assert to_csv(reconcile(load_portfolio(hostile))).count("\ncoin,") > 0
