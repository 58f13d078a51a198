"""reconcile(): totals against Bitcoin Core's answers, every check, bad portfolios, renderers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT

from utxo_truth import (
    PortfolioError,
    Report,
    SnapshotSource,
    load_portfolio,
    parse_portfolio,
    reconcile,
    scan,
    scan_targets,
)
from utxo_truth.cli import main
from utxo_truth.report import to_dataframe, to_html, to_json

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "portfolio.toml"


def to_toml(d: dict[str, Any]) -> str:
    """Just enough TOML for the tests (strings, numbers, booleans, lists, arrays of tables)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        raise TypeError(v)

    lines = [
        f"{k} = {value(v)}"
        for k, v in d.items()
        if not (isinstance(v, list) and v and isinstance(v[0], dict))
    ]
    for k, v in d.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                lines.append(f"\n[[{k}]]")
                lines += [f"{kk} = {value(vv)}" for kk, vv in item.items()]
    return "\n".join(lines) + "\n"


def base(oracle: dict[str, Any]) -> dict[str, Any]:
    w = oracle["wallets"]
    return {
        "network": "regtest",
        "as_of": "2026-11-20",
        "wallets": [
            {"name": "alice", "targets": w["alice"]["descriptors"]},
            {"name": "bob", "targets": w["bob"]["descriptors"], "book": "working"},
        ],
        "custodians": [
            {
                "name": "X",
                "liabilities": "30.0",
                "reserves": w["custodian"]["descriptors"],
                "evidence_height": 295,
                "evidence_date": "2026-11-19",
            },
        ],
        "positions": [
            {"name": "spot", "custodian": "X", "kind": "exchange", "amount": "0.1"},
        ],
    }


def run_dict(tmp_path: Path, data: dict[str, Any]) -> Report:
    p = tmp_path / "p.toml"
    p.write_text(to_toml(data))
    return reconcile(load_portfolio(p), source=SnapshotSource(SNAPSHOT, "regtest"))


# ---- the example portfolio against Bitcoin Core's answers -------------------------------------


def test_example_totals_equal_what_core_implies(oracle: dict[str, Any]) -> None:
    r = reconcile(load_portfolio(EXAMPLE), source=SnapshotSource(SNAPSHOT, "regtest"))
    w = oracle["wallets"]
    own = sum(w[n]["scantxoutset"]["total_sats"] for n in ("alice", "bob", "vault"))
    assert r.block.height == oracle["tip"]["height"] and r.block.hash == oracle["tip"]["hash"]
    assert r.finality_sats == own
    assert r.pending_sats == 0 and r.unverified_sats == 0  # a snapshot knows no mempool
    ibit = int(Decimal("250") * Decimal("0.00056789") * 100_000_000)
    redemption = 50_000_000 + 120_000_000 + 30_000_000
    exposure = 200_000_000 + ibit
    assert (r.redemption_sats, r.exposure_sats) == (redemption, exposure)
    assert r.shadow_sats == redemption + exposure
    assert r.total_sats == own + redemption + exposure
    assert r.shadow_ratio == pytest.approx((redemption + exposure) / (own + redemption + exposure))
    assert r.by_right == {"finality": own, "redemption": redemption, "exposure": exposure}
    assert r.by_book == {
        "settlement": w["alice"]["scantxoutset"]["total_sats"]
        + w["vault"]["scantxoutset"]["total_sats"],
        "working": w["bob"]["scantxoutset"]["total_sats"] + 50_000_000 + 200_000_000 + ibit,
        "yield": 120_000_000 + 30_000_000,
    }
    x = next(c for c in r.custodians if c.name == "ExchangeX")
    reserves = w["custodian"]["scantxoutset"]["total_sats"]
    assert x.verified_reserves_sats == reserves
    assert x.liabilities_sats == 45 * 10**8
    assert x.coverage == pytest.approx(reserves / (45 * 10**8))
    assert x.deficit_sats == 45 * 10**8 - reserves
    assert x.chain_minus_claimed_sats == reserves - 46 * 10**8
    claims = 50_000_000 + 120_000_000 + 25_000_000  # spot + Earn + the perpetual's margin
    assert x.your_claims_sats == claims
    assert x.at_risk_sats == claims * (45 * 10**8 - reserves) // (45 * 10**8)
    perp = next(p for p in r.positions if p.name == "BTC-PERP long")
    assert perp.leverage == "8.00" and perp.right == "exposure"
    ibit_p = next(p for p in r.positions if p.name == "IBIT shares")
    assert (
        ibit_p.exit_steps == 4
        and ibit_p.parties_who_can_refuse == 3
        and ibit_p.exit_path_is_default
    )
    assert r.worst_exit_steps == 4
    assert {c.id for c in r.checks} == {
        "coverage-low",
        "claimed-reserves-not-on-chain",
        "no-reserve-evidence",
        "title-transfer",
        "high-leverage",
    }


def test_reconcile_with_holdings_in_hand_equals_scanning(oracle: dict[str, Any]) -> None:
    portfolio = load_portfolio(EXAMPLE)
    src = SnapshotSource(SNAPSHOT, "regtest")
    held = scan(scan_targets(portfolio), network="regtest", source=src)
    assert reconcile(portfolio, holdings=held) == reconcile(portfolio, source=src)


def test_reconcile_is_thread_safe() -> None:
    portfolio = load_portfolio(EXAMPLE)
    held = scan(
        scan_targets(portfolio), network="regtest", source=SnapshotSource(SNAPSHOT, "regtest")
    )
    expected = reconcile(portfolio, holdings=held)
    results: list[Report] = []
    threads = [
        threading.Thread(target=lambda: results.append(reconcile(portfolio, holdings=held)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r == expected for r in results)


def test_holdings_of_other_targets_are_refused(oracle: dict[str, Any]) -> None:
    portfolio = load_portfolio(EXAMPLE)
    held = scan(
        oracle["wallets"]["dave"]["descriptors"],
        network="regtest",
        source=SnapshotSource(SNAPSHOT, "regtest"),
    )
    with pytest.raises(Exception, match="scan_targets"):
        reconcile(portfolio, holdings=held)


def test_reconcile_over_electrum_counts_pending_as_shadow(
    electrumx: Any, oracle: dict[str, Any], tmp_path: Path
) -> None:
    data = {
        "network": "regtest",
        "wallets": [{"name": "alice", "targets": oracle["wallets"]["alice"]["descriptors"]}],
    }
    p = tmp_path / "a.toml"
    p.write_text(to_toml(data))
    r = reconcile(load_portfolio(p), source=f"electrum://127.0.0.1:{electrumx.ex.tcp_port}", gap=25)
    assert r.finality_sats == oracle["wallets"]["alice"]["scantxoutset"]["total_sats"]
    assert r.pending_sats == 4_200_000 and r.shadow_sats == r.pending_sats


# ---- every check fires when built to, and stays quiet otherwise --------------------------------


def _trigger(check: str, d: dict[str, Any], oracle: dict[str, Any]) -> None:
    pos, cust = d["positions"], d["custodians"]
    if check == "yield-book-large":
        pos.append(
            {"name": "loan", "custodian": "X", "kind": "lending", "amount": "0.5", "book": "yield"}
        )
    elif check == "settlement-not-largest":
        d["wallets"][0]["book"] = "working"
    elif check == "no-reserve-evidence":
        cust.append({"name": "Y"})
        pos.append({"name": "y", "custodian": "Y", "kind": "exchange", "amount": "0.1"})
    elif check == "stale-evidence":
        cust[0]["evidence_date"] = "2026-01-01"
    elif check == "coverage-low":
        cust[0]["liabilities"] = "40.0"
    elif check == "claimed-reserves-not-on-chain":
        cust[0]["claimed_reserves"] = "39.0"
    elif check == "no-liabilities":
        del cust[0]["liabilities"]
    elif check == "unknown-amounts":
        pos.append({"name": "etf", "custodian": "X", "kind": "etf", "shares": "10"})
    elif check == "high-leverage":
        pos.append(
            {
                "name": "perp",
                "custodian": "X",
                "kind": "derivative",
                "side": "short",
                "notional": "0.3",
                "margin": "0.05",
            }
        )
    elif check == "title-transfer":
        pos.append({"name": "earn", "custodian": "X", "kind": "earn", "amount": "0.1"})
    elif check == "rehypothecation":
        pos[0]["rehypothecation"] = True
    else:
        raise AssertionError(check)


CHECKS = [
    "yield-book-large",
    "settlement-not-largest",
    "no-reserve-evidence",
    "stale-evidence",
    "coverage-low",
    "claimed-reserves-not-on-chain",
    "no-liabilities",
    "unknown-amounts",
    "high-leverage",
    "title-transfer",
    "rehypothecation",
]


def test_quiet_portfolio_fires_nothing(tmp_path: Path, oracle: dict[str, Any]) -> None:
    r = run_dict(tmp_path, base(oracle))
    assert r.checks == () and r.complete


@pytest.mark.parametrize("check", CHECKS)
def test_each_check_fires(tmp_path: Path, oracle: dict[str, Any], check: str) -> None:
    d = base(oracle)
    _trigger(check, d, oracle)
    r = run_dict(tmp_path, d)
    fired = {c.id for c in r.checks}
    assert fired == {check}, fired  # fires, and nothing else does


def test_unknown_amount_is_never_zero(tmp_path: Path, oracle: dict[str, Any]) -> None:
    d = base(oracle)
    _trigger("unknown-amounts", d, oracle)
    r = run_dict(tmp_path, d)
    etf = next(p for p in r.positions if p.name == "etf")
    assert etf.amount_sats is None and r.unknown_positions == ("etf",) and not r.complete
    assert '"amount_sats": null' in to_json(r)


def test_checks_policy_is_configurable(tmp_path: Path, oracle: dict[str, Any]) -> None:
    d = base(oracle)
    _trigger("coverage-low", d, oracle)
    d["checks"] = {"coverage_min": "0.5"}
    assert "coverage-low" not in {c.id for c in run_dict(tmp_path, d).checks}


# ---- published reserve files ------------------------------------------------------------------


def _reserve_addresses(oracle: dict[str, Any]) -> list[str]:
    return sorted(
        {u["script_pubkey"] for u in oracle["wallets"]["custodian"]["scantxoutset"]["unspents"]}
    )


@pytest.mark.parametrize("fmt", ["plain", "csv-snapshot", "csv-balance", "json"])
def test_reserve_file_formats(tmp_path: Path, oracle: dict[str, Any], fmt: str) -> None:
    from utxo_truth.targets import address_of

    addrs = [address_of(bytes.fromhex(s), "regtest") for s in _reserve_addresses(oracle)]
    f = tmp_path / "por.txt"
    if fmt == "plain":
        f.write_text("# reserve addresses\n" + "\n".join(a or "" for a in addrs) + "\n")
    elif fmt == "csv-snapshot":
        f.write_text(
            "coin,network,snapshot height,address,amount\n"
            + "".join(f"BTC,Bitcoin,295,{a},1\n" for a in addrs)
            + "ETH,Ethereum,295,0xabc,1\n"
        )
    elif fmt == "csv-balance":
        f.write_text(
            "coin,network,address,balance,Height\n" + "".join(f"BTC,BTC,{a},1,295\n" for a in addrs)
        )
    else:
        f.write_text(json.dumps([{"address": a, "balance": "1"} for a in addrs]))
    d = base(oracle)
    del d["custodians"][0]["reserves"]
    del d["custodians"][0]["evidence_height"]
    d["custodians"][0]["reserves_file"] = str(f)
    r = run_dict(tmp_path, d)
    x = r.custodians[0]
    assert x.verified_reserves_sats == oracle["wallets"]["custodian"]["scantxoutset"]["total_sats"]
    if fmt.startswith("csv"):
        assert x.evidence_height == 295


# ---- malformed portfolios: precise errors -------------------------------------------------------


def _bad_cases(oracle: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(label, mutation on the base dict, text the error must contain)."""
    w0 = ["wallets", 0]
    p0 = ["positions", 0]
    c0 = ["custodians", 0]
    return [
        ("no network", ("del", [], "network"), "network is required"),
        ("bad network", ("set", [], "network", "moon"), "unknown network"),
        ("unknown top key", ("set", [], "walets", []), "unknown field 'walets'"),
        ("wallet without name", ("del", w0, "name"), "name is required"),
        ("wallet empty name", ("set", w0, "name", ""), "name is required"),
        ("wallet no targets", ("del", w0, "targets"), "targets"),
        ("wallet empty targets", ("set", w0, "targets", []), "targets"),
        (
            "wallet bad book",
            ("set", w0, "book", "savings"),
            "'savings' is not one of settlement, working, yield",
        ),
        ("wallet unknown field", ("set", w0, "xpub", "x"), "unknown field 'xpub'"),
        (
            "wallet private key",
            (
                "set",
                w0,
                "targets",
                [
                    "tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF"
                ],
            ),
            "private",
        ),
        (
            "duplicate wallet",
            (
                "append",
                ["wallets"],
                {"name": "alice", "targets": ["bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f"]},
            ),
            "duplicate name 'alice'",
        ),
        (
            "position unknown custodian",
            ("set", p0, "custodian", "Nowhere"),
            "unknown custodian 'Nowhere'",
        ),
        ("position no custodian", ("del", p0, "custodian"), "custodian"),
        ("position no kind", ("del", p0, "kind"), "kind: required"),
        ("position bad kind", ("set", p0, "kind", "bond"), "'bond' is not one of"),
        ("position float amount", ("set", p0, "amount", 0.1), "a float like 0.1 is not exact"),
        ("position int amount", ("set", p0, "amount", 1), "give BTC as a string"),
        ("position negative", ("set", p0, "amount", "-0.1"), "negative"),
        ("position 9 decimals", ("set", p0, "amount", "0.000000001"), "more than 8 decimal places"),
        ("position not a number", ("set", p0, "amount", "lots"), "not a decimal number"),
        ("position over 21M", ("set", p0, "amount", "21000001"), "more than 21 million"),
        ("position both amounts", ("set", p0, "amount_sats", 5), "not both"),
        ("position sats float", ("rename", p0, "amount", "amount_sats", 5.5), "whole number"),
        ("position sats negative", ("rename", p0, "amount", "amount_sats", -5), "outside 0"),
        ("position no amount", ("del", p0, "amount"), "amount"),
        ("position bad book", ("set", p0, "book", "casino"), "'casino' is not one of"),
        ("position bad right", ("set", p0, "right", "ownership"), "'ownership' is not one of"),
        ("position finality right", ("set", p0, "right", "finality"), "cannot carry finality"),
        ("position unknown field", ("set", p0, "amont", "1"), "unknown field 'amont'"),
        ("position bad date", ("set", p0, "as_of", "yesterday"), "is not a date"),
        (
            "position side not derivative",
            ("set", p0, "side", "long"),
            'for kind = "derivative" only',
        ),
        ("position bad flag", ("set", p0, "rehypothecation", "yes"), "true or false"),
        (
            "duplicate position",
            (
                "append",
                ["positions"],
                {"name": "spot", "custodian": "X", "kind": "exchange", "amount": "1"},
            ),
            "duplicate name 'spot'",
        ),
        (
            "derivative no side",
            (
                "append",
                ["positions"],
                {"name": "d", "custodian": "X", "kind": "derivative", "notional": "1"},
            ),
            "side",
        ),
        (
            "derivative zero margin",
            (
                "append",
                ["positions"],
                {
                    "name": "d",
                    "custodian": "X",
                    "kind": "derivative",
                    "side": "long",
                    "notional": "1",
                    "margin": "0",
                },
            ),
            "above zero",
        ),
        (
            "etf shares not string",
            (
                "append",
                ["positions"],
                {
                    "name": "e",
                    "custodian": "X",
                    "kind": "etf",
                    "shares": 10,
                    "btc_per_share": "0.0005",
                },
            ),
            "decimal number as a string",
        ),
        (
            "etf shares and amount",
            (
                "append",
                ["positions"],
                {"name": "e", "custodian": "X", "kind": "etf", "amount": "1", "shares": "10"},
            ),
            "not both",
        ),
        (
            "exit path bad decider",
            ("set", p0, "exit_path", [{"action": "x", "decided_by": "god", "typical_delay": "1d"}]),
            "decided_by",
        ),
        ("exit path empty", ("set", p0, "exit_path", []), "non-empty array"),
        ("custodian no name", ("del", c0, "name"), "name is required"),
        (
            "custodian float liabilities",
            ("set", c0, "liabilities", 30.5),
            "a float like 0.1 is not exact",
        ),
        ("custodian negative liabilities", ("set", c0, "liabilities", "-1"), "negative"),
        ("custodian bad height", ("set", c0, "evidence_height", -3), "evidence_height"),
        ("custodian unknown field", ("set", c0, "liability", "1"), "unknown field 'liability'"),
        (
            "custodian missing reserves file",
            ("set", c0, "reserves_file", "/nonexistent/por.csv"),
            "cannot read",
        ),
        ("duplicate custodian", ("append", ["custodians"], {"name": "X"}), "duplicate name 'X'"),
        ("checks float", ("set", [], "checks", {"yield_max_share": 0.2}), "float is not exact"),
        ("checks unknown", ("set", [], "checks", {"yield_max": "0.2"}), "yield_max"),
        ("wallets not array", ("set", [], "wallets", "alice"), "array of tables"),
        (
            "wallet target of another network",
            ("set", w0, "targets", ["bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"]),
            "targets[0]",
        ),
        (
            "reserve of another network",
            ("set", c0, "reserves", ["bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"]),
            "mainnet",
        ),
        (
            "wallet bad descriptor checksum",
            ("set", w0, "targets", [oracle["wallets"]["alice"]["descriptors"][0][:-1] + "x"]),
            "checksum",
        ),
    ]


def _mutate(d: dict[str, Any], op: tuple[Any, ...]) -> None:
    kind, path, *rest = op
    target: Any = d
    for p in path:
        target = target[p]
    if kind == "del":
        del target[rest[0]]
    elif kind == "set":
        target[rest[0]] = rest[1]
    elif kind == "append":
        target.append(rest[0])
    elif kind == "rename":
        del target[rest[0]]
        target[rest[1]] = rest[2]


def test_at_least_40_bad_cases(oracle: dict[str, Any]) -> None:
    assert len(_bad_cases(oracle)) + 6 >= 40


@pytest.mark.parametrize("index", range(52))
def test_malformed_portfolio(tmp_path: Path, oracle: dict[str, Any], index: int) -> None:
    label, op, needle = _bad_cases(oracle)[index]
    d = base(oracle)
    _mutate(d, op)
    f = tmp_path / "bad.toml"
    f.write_text(to_toml(d))
    with pytest.raises(PortfolioError) as exc:
        load_portfolio(f)
    message = str(exc.value)
    assert needle in message, (label, message)
    assert str(f) in message, label  # names the file


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('network = "regtest"\n[[wallets]\nname = 1', "not valid TOML"),
        ("", "network is required"),
        (
            'network = "regtest"\n[[custodians]]\nname = "X"\nreserves_file = "por.csv"\n',
            "cannot read",
        ),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(PortfolioError, match=needle):
        load_portfolio(f)


def test_reserve_file_of_another_network(tmp_path: Path, oracle: dict[str, Any]) -> None:
    f = tmp_path / "por.txt"
    f.write_text("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu\n")
    d = base(oracle)
    d["custodians"][0]["reserves_file"] = str(f)
    p = tmp_path / "p.toml"
    p.write_text(to_toml(d))
    with pytest.raises(PortfolioError, match="mainnet"):
        load_portfolio(p)


def test_reserve_file_unknown_format(tmp_path: Path, oracle: dict[str, Any]) -> None:
    f = tmp_path / "por.csv"
    f.write_text("coin,network,wallet\nBTC,BTC,x\n")
    d = base(oracle)
    d["custodians"][0]["reserves_file"] = str(f)
    p = tmp_path / "p.toml"
    p.write_text(to_toml(d))
    with pytest.raises(PortfolioError, match="'address' column"):
        load_portfolio(p)


def test_no_source_is_an_error_not_a_default(oracle: dict[str, Any]) -> None:
    portfolio = parse_portfolio(base(oracle))
    with pytest.raises(Exception, match="no chain source"):
        reconcile(portfolio)


# ---- where people see it --------------------------------------------------------------------------


def test_cli_json_has_the_promised_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reconcile", str(EXAMPLE), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in (
        "block",
        "finality_sats",
        "pending_sats",
        "unverified_sats",
        "shadow_sats",
        "shadow_ratio",
        "by_right",
        "by_book",
        "positions",
        "custodians",
        "checks",
    ):
        assert key in data, key
    assert set(data["block"]) == {"height", "hash"}
    for p in data["positions"]:
        assert {"right", "book", "amount_sats", "exit_steps", "parties_who_can_refuse"} <= set(p)
    for c in data["custodians"]:
        assert {
            "name",
            "verified_reserves_sats",
            "liabilities_sats",
            "coverage",
            "at_risk_sats",
        } <= set(c)
    for c in data["checks"]:
        assert {"id", "level", "message"} <= set(c)


def test_cli_writes_csv_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path, html_path = tmp_path / "r.csv", tmp_path / "r.html"
    assert main(["reconcile", str(EXAMPLE), "--csv", str(csv_path), "--html", str(html_path)]) == 0
    out = capsys.readouterr().out
    assert "Final (verified UTXOs under your keys)" in out and "block 295" in out
    rows = csv_path.read_text().splitlines()
    assert rows[0].startswith("section,name")
    sections = [row.split(",", 1)[0] for row in rows[1:]]
    r = reconcile(load_portfolio(EXAMPLE))
    coins = r.coins  # the evidence rows follow the summary rows
    assert sections == ["wallet"] * 3 + ["position"] * 5 + ["custodian"] * 3 + ["coin"] * len(coins)
    assert sum(c.owner == "wallet" for c in coins) == sum(w.utxo_count for w in r.wallets) > 0
    assert "<svg" in html_path.read_text()


def test_cli_bad_portfolio_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(
        'network = "regtest"\n[[positions]]\nname = "x"\ncustodian = "nobody"\nkind = "exchange"\namount = "1"\n'
    )
    assert main(["reconcile", str(f)]) == 2
    err = capsys.readouterr().err
    assert "PortfolioError" in err and "unknown custodian 'nobody'" in err and err.count("\n") == 1


def test_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    r = reconcile(load_portfolio(EXAMPLE))
    frame = to_dataframe(r)
    assert list(frame["section"]).count("position") == 5
    assert str(frame["amount_sats"].dtype) == "Int64"
    assert pd.isna(frame.loc[frame["name"] == "iShares Bitcoin Trust", "amount_sats"]).all()


def test_notebook_repr() -> None:
    r = reconcile(load_portfolio(EXAMPLE))
    html = r._repr_html_()
    assert html.startswith('<div class="utxo-truth ') and "<style>" in html  # scoped: test_notebook
    assert "<svg" in html and "<html" not in html


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_report_opens_in_chromium_and_shows_the_chart(tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(
                "chromium is not installed: `make test` installs it (apt-get install chromium)"
            )
        pytest.skip("chromium is not installed")
    page = tmp_path / "report.html"
    page.write_text(to_html(reconcile(load_portfolio(EXAMPLE))))
    flags = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<svg class="chart"') >= 3  # by right, by book, coverage
    assert 'id="coverage-chart"' in dom.stdout
    assert "Uncaught" not in dom.stderr and "CONSOLE" not in dom.stderr
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [*flags, "--window-size=1100,1700", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    keep = os.environ.get("UTXO_TRUTH_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "report.png")


def test_an_unknown_claim_makes_the_custodian_figures_unknown_not_smaller(
    tmp_path: Path, oracle: dict[str, Any]
) -> None:
    d = base(oracle)
    d["custodians"][0]["liabilities"] = "40.0"  # under-covered, so at-risk figures exist
    d["positions"].append(
        {"name": "perp", "custodian": "X", "kind": "derivative", "side": "long", "notional": "0.3"}
    )  # no margin given
    r = run_dict(tmp_path, d)
    x = r.custodians[0]
    assert x.coverage is not None and x.your_claims_sats is None and x.at_risk_sats is None
    spot = next(p for p in r.positions if p.name == "spot")
    assert spot.at_risk_sats is not None  # a known claim keeps its own figure
    assert "unknown" in to_html(r)
