"""The notebook view, in a real Jupyter kernel run by nbclient: the report and a Holdings shown as
HTML whose CSS stays inside its own element, and Holdings.to_dataframe() one row per coin.

The notebook runs ``reconcile`` on the bundled example portfolio (offline, on the bundled UTXO
snapshot) and ``scan`` of alice's BIP-84 account on the same snapshot; the coins are checked
against Bitcoin Core's own ``scantxoutset`` answer (tests/data/oracle.json).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT, desc_path
from harness.chromium import WIDTHS, lay_out
from harness.css_scope import assert_scoped_fragment, read_fragment, unscoped_selectors

from utxo_truth import Holdings, MissingExtraError, load_portfolio, reconcile, scan
from utxo_truth.report import HOLDINGS_COLUMNS, holdings_html, holdings_rows, to_html

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "portfolio.toml"
ALICE = (
    "wpkh([d4eedd3c/84h/1h/0h]tpubDD8aVRaGadAXsoaYJz6A2YL7UFhC1TCtMgQJJY8rWs3Po6NWuQ6pWrpJWEfca8"
    "DWqSGVqCnQSCi8Q13caSQdV13pSsbGRheCFqxnXEZ8ri7/{}/*)"
)

CELLS = [
    # 1: the reconcile report, shown by Jupyter's display hook (the cell's last expression)
    f"""from utxo_truth import load_portfolio, reconcile, scan
report = reconcile(load_portfolio({str(EXAMPLE)!r}))
report""",
    # 2: alice's account on the bundled snapshot, shown the same way
    f"""holdings = scan([{ALICE.format(0)!r}, {ALICE.format(1)!r}], network="regtest",
                source={"snapshot:" + str(SNAPSHOT)!r})
holdings""",
    # 3: a pandas DataFrame next to the report: it must keep Jupyter's own table look
    """frame = holdings.to_dataframe()
frame""",
    # 4: what the kernel computed, for the test to compare
    """import json
print(json.dumps({"holdings": holdings.model_dump(mode="json"),
                  "rows": json.loads(frame.to_json(orient="records")),
                  "columns": list(frame.columns),
                  "dtypes": {c: str(t) for c, t in frame.dtypes.items()}}))""",
]


@pytest.fixture(scope="module")
def executed() -> Any:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        startup_timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()
    return nb


def _result(cell: Any) -> dict[str, Any]:
    (out,) = [o for o in cell.outputs if o.output_type in ("execute_result", "display_data")]
    data: dict[str, Any] = out["data"]
    return data


def test_the_notebook_ran_every_cell_without_error(executed: Any) -> None:
    for cell in executed.cells:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs


def test_the_report_shows_as_html_scoped_to_its_class(executed: Any) -> None:
    data = _result(executed.cells[0])
    assert "text/html" in data and "text/plain" in data
    fragment = data["text/html"]
    assert_scoped_fragment(fragment)
    assert fragment.count('<svg class="chart"') >= 3 and "<html" not in fragment
    assert "How much of it is bitcoin?" in fragment
    assert "174dcc4130f8d2aa85a4e0acdf74cacf1682f21df6756b379075576f29f63da6" in fragment


def test_holdings_show_as_html_with_every_coin(executed: Any, oracle: dict[str, Any]) -> None:
    data = _result(executed.cells[1])
    fragment = data["text/html"]
    assert_scoped_fragment(fragment)
    core = oracle["wallets"]["alice"]["scantxoutset"]
    assert core["unspents"]
    for u in core["unspents"]:
        assert f"{u['txid']}:{u['vout']}" in fragment
    assert f"True at block {core['height']} <code>{core['bestblock']}</code>" in fragment
    total = core["total_sats"]
    assert f"<b>{total // 10**8}.{total % 10**8:08d} BTC</b>" in fragment


def test_the_fragments_leave_a_dataframe_of_another_cell_alone(
    executed: Any, tmp_path: Path
) -> None:
    # the notebook's three outputs on one page, as Jupyter shows them, laid out by Chromium: the
    # DataFrame's table is styled exactly as on a page of its own (pandas ships no CSS of ours)
    report, holdings, frame = (_result(executed.cells[i])["text/html"] for i in range(3))
    assert '<table border="1" class="dataframe">' in frame and "utxo-truth" not in frame
    frame = frame.replace('class="dataframe"', 'id="other" class="dataframe"', 1)

    def host(body: str) -> str:
        return f"<!doctype html><html><body>{body}</body></html>"

    figures = lay_out(
        tmp_path, {"host-frame": host(frame), "host-notebook": host(report + holdings + frame)}
    )
    for w in WIDTHS:
        assert figures[f"host-notebook@{w}"]["other"] == figures[f"host-frame@{w}"]["other"]
        assert len(figures[f"host-notebook@{w}"]["charts"]) == 3  # (pandas' wide table scrolls)


def test_dataframe_rows_equal_the_coins(executed: Any, oracle: dict[str, Any]) -> None:
    (out,) = [o for o in executed.cells[3].outputs if o.output_type == "stream"]
    got = json.loads(out["text"])
    h = Holdings.model_validate(got["holdings"])
    rows = got["rows"]
    assert got["columns"] == list(HOLDINGS_COLUMNS)
    assert got["dtypes"]["value_sats"] == "int64" and got["dtypes"]["height"] == "Int64"
    coins = h.utxos + h.pending
    assert len(rows) == len(coins) > 0
    for row, u in zip(rows, coins, strict=True):
        assert (row["txid"], row["vout"], row["value_sats"], row["height"]) == (
            u.txid,
            u.vout,
            u.value,
            u.height,
        )
        assert isinstance(row["value_sats"], int)
        assert (row["address"], row["verification"]) == (u.address, u.verification)
        assert (row["block_height"], row["block_hash"]) == (h.block.height, h.block.hash)
    # and the coins are Bitcoin Core's, origin included: descriptor i is branch /i/*
    core = {
        (u["txid"], u["vout"]): (u["value"], u["height"], desc_path(u["desc"]))
        for u in oracle["wallets"]["alice"]["scantxoutset"]["unspents"]
    }
    assert {
        (r["txid"], r["vout"]): (r["value_sats"], r["height"], (r["target_number"], r["index"]))
        for r in rows
    } == core
    names = {0: "receive", 1: "change"}  # each descriptor has one branch, named by its step
    assert all(r["chain"] == 0 and r["chain_name"] == names[r["target_number"]] for r in rows)
    assert {r["target"] for r in rows} <= {t.target for t in h.targets}


def test_rows_of_a_holdings_in_process_match_its_html() -> None:
    h = scan([ALICE.format(0), ALICE.format(1)], network="regtest", source=f"snapshot:{SNAPSHOT}")
    rows = holdings_rows(h)
    assert [(r["txid"], r["vout"]) for r in rows] == [(u.txid, u.vout) for u in h.utxos]
    page = holdings_html(h, fragment=False)
    assert (
        page.startswith("<!doctype html>") and 'class="utxo-truth utxo-truth-holdings page"' in page
    )
    assert h._repr_html_() == holdings_html(h)


def test_hostile_target_and_source_text_is_escaped_in_the_fragment() -> None:
    h = scan([ALICE.format(0)], network="regtest", source=f"snapshot:{SNAPSHOT}").model_copy(
        update={"problems": ("<style>body{display:none}</style><b>x</b>",)}
    )
    fragment = h._repr_html_()
    assert_scoped_fragment(fragment)  # the injected <style> is text, not a rule
    assert "&lt;style&gt;body{display:none}&lt;/style&gt;" in fragment
    assert "Incomplete answer" in fragment


def test_the_report_fragment_is_one_scoped_element() -> None:
    r = reconcile(load_portfolio(EXAMPLE))
    fragment = r._repr_html_()
    assert_scoped_fragment(fragment)
    page = to_html(r)
    (css,) = read_fragment(page).styles
    assert unscoped_selectors(css) == []  # the page too: no body rule needed


def test_without_pandas_to_dataframe_names_the_extra() -> None:
    # a real interpreter where pandas cannot be imported (as on an install without the extra)
    code = f"""
import sys
sys.modules["pandas"] = None  # import pandas -> ImportError
from utxo_truth import MissingExtraError, load_portfolio, reconcile, scan
from utxo_truth.report import to_dataframe
h = scan([{ALICE.format(0)!r}], network="regtest", source={"snapshot:" + str(SNAPSHOT)!r})
r = reconcile(load_portfolio({str(EXAMPLE)!r}))
for call in (h.to_dataframe, lambda: to_dataframe(r)):
    try:
        call()
    except MissingExtraError as exc:
        assert isinstance(exc, ImportError) and exc.extra == "dataframe"
        print(type(exc).__name__, exc)
    else:
        raise SystemExit("no error")
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == [
        "MissingExtraError Holdings.to_dataframe() needs pandas, which is not installed: "
        "pip install 'utxo-truth[dataframe]'",
        "MissingExtraError report.to_dataframe() needs pandas, which is not installed: "
        "pip install 'utxo-truth[dataframe]'",
    ]
    assert issubclass(MissingExtraError, ImportError)
