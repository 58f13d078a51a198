"""The HTML views laid out by a real browser (headless Chromium, tests/harness/chromium.py) at
420 and 1280 pixels wide.

Checked: the document never scrolls sideways (a table too wide scrolls inside itself), charts
take the width of the text (shrinking below and growing above their 640 viewBox units, keeping
their proportions), amounts stay on one line; and the notebook fragment leaves a table of the
page around it exactly as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT
from harness.chromium import WIDTHS, lay_out

from utxo_truth import load_portfolio, reconcile, scan
from utxo_truth.report import holdings_html, to_html

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "portfolio.toml"
ALICE = (
    "wpkh([d4eedd3c/84h/1h/0h]tpubDD8aVRaGadAXsoaYJz6A2YL7UFhC1TCtMgQJJY8rWs3Po6NWuQ6pWrpJWEfca8"
    "DWqSGVqCnQSCi8Q13caSQdV13pSsbGRheCFqxnXEZ8ri7/<0;1>/*)"
)


def check_layout(name: str, width: int, f: dict[str, Any], charts: int) -> None:
    where = f"{name} at {width}px"
    assert f["inner"] == width, f"{where}: the viewport is {f['inner']}px"  # a real 420px test
    assert f["scroll"] <= f["client"], f"{where}: scrolls sideways ({f['scroll']} > {f['client']})"
    for t in f["tables"]:
        assert t["right"] <= f["client"] + 0.5, f"{where}: a table reaches past the page: {t}"
    assert len(f["charts"]) == charts, where
    for c in f["charts"]:
        # the chart takes the width of the text, and its height follows (the viewBox's ratio)
        assert abs(c["width"] - c["room"]) <= 1, f"{where}: chart {c}"
        assert abs(c["height"] - c["width"] * c["vbh"] / c["vbw"]) <= 1, f"{where}: chart {c}"
        assert c["right"] <= f["client"] + 0.5, f"{where}: chart {c}"
        if width == 420:
            assert c["width"] < c["vbw"], f"{where}: chart not scaled down: {c}"
        else:
            assert c["width"] > c["vbw"], f"{where}: chart not scaled up: {c}"
    assert f["amounts"] > 0 and set(f["amount_lines"]) == {1}, f"{where}: an amount wraps"


@pytest.fixture(scope="module")
def holdings() -> Any:
    h = scan([ALICE], network="regtest", source=f"snapshot:{SNAPSHOT}")
    # a long unbroken problem text (as a server may send) must wrap, not widen the page
    return h.model_copy(update={"problems": ("x" * 400, "a server said: " + "0123abcd" * 40)})


def test_report_and_holdings_fit_420_and_1280_pixels(tmp_path: Path, holdings: Any) -> None:
    report = reconcile(load_portfolio(EXAMPLE))
    pages = {
        "report": to_html(report),
        "holdings": holdings_html(holdings, fragment=False),
    }
    figures = lay_out(tmp_path, pages)
    for w in WIDTHS:
        check_layout("report", w, figures[f"report@{w}"], charts=3)
        check_layout("holdings", w, figures[f"holdings@{w}"], charts=0)


def test_the_notebook_fragment_leaves_the_page_around_it_alone(
    tmp_path: Path, holdings: Any
) -> None:
    report = reconcile(load_portfolio(EXAMPLE))
    other = '<table id="other"><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>'

    def host(fragment: str) -> str:  # a page of its own with a table, as a notebook has
        return (
            f"<!doctype html><html><body><p>before</p>{other}{fragment}<p>after</p></body></html>"
        )

    figures = lay_out(
        tmp_path,
        {
            "host-alone": host(""),
            "host-report": host(report._repr_html_()),
            "host-holdings": host(holdings._repr_html_()),
        },
    )
    for w in WIDTHS:
        alone = figures[f"host-alone@{w}"]["other"]
        assert figures[f"host-report@{w}"]["other"] == alone
        assert figures[f"host-holdings@{w}"]["other"] == alone
        f = figures[f"host-report@{w}"]
        assert f["scroll"] <= f["client"] and len(f["charts"]) == 3
