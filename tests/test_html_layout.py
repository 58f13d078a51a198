"""The HTML views laid out by a real browser (headless Chromium) at 420 and 1280 pixels wide.

Each page is shown in an iframe exactly that wide (headless Chromium will not make a window
narrower than 500 pixels; an iframe is a viewport of its own) and a script in the outer page
measures it after load and writes the figures into the DOM, which ``--dump-dom`` prints. The
report itself carries no script.

Checked: the document never scrolls sideways (a table too wide scrolls inside itself), charts
take the width of the text (shrinking below and growing above their 640 viewBox units, keeping
their proportions), amounts stay on one line; and the notebook fragment leaves a table of the
page around it exactly as it was.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT

from utxo_truth import load_portfolio, reconcile, scan
from utxo_truth.report import holdings_html

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "portfolio.toml"
ALICE = (
    "wpkh([d4eedd3c/84h/1h/0h]tpubDD8aVRaGadAXsoaYJz6A2YL7UFhC1TCtMgQJJY8rWs3Po6NWuQ6pWrpJWEfca8"
    "DWqSGVqCnQSCi8Q13caSQdV13pSsbGRheCFqxnXEZ8ri7/<0;1>/*)"
)
WIDTHS = (420, 1280)

MEASURE = """<script>
function measure(f) {
  var w = f.contentWindow, d = f.contentDocument, s = d.scrollingElement;
  function lines(el) { var r = d.createRange(); r.selectNodeContents(el);
    var tops = {}; [].forEach.call(r.getClientRects(), function (b) { tops[Math.round(b.top)] = 1; });
    return Object.keys(tops).length; }
  return {
    inner: w.innerWidth, client: s.clientWidth, scroll: s.scrollWidth,
    charts: [].map.call(d.querySelectorAll("svg.chart"), function (c) {
      var r = c.getBoundingClientRect(), vb = c.viewBox.baseVal, p = c.parentElement,
          cs = w.getComputedStyle(p);
      return {width: r.width, height: r.height, vbw: vb.width, vbh: vb.height, right: r.right,
              room: p.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)}; }),
    tables: [].map.call(d.querySelectorAll("table"), function (t) {
      return {right: t.getBoundingClientRect().right}; }),
    amount_lines: [].map.call(d.querySelectorAll("td.n"), lines),
    amounts: d.querySelectorAll("td.n").length,
    other: f.id.indexOf("host") === 0 ? (function () {
      var t = d.getElementById("other"), td = t.querySelector("td"), b = w.getComputedStyle(d.body),
          ct = w.getComputedStyle(t), ctd = w.getComputedStyle(td);
      return [b.margin, b.fontFamily, b.maxWidth, ct.borderCollapse, ct.width, ctd.padding,
              ctd.borderBottomWidth, ctd.textAlign, ctd.fontFamily]; })() : null
  };
}
window.addEventListener("load", function () {
  var out = {};
  [].forEach.call(document.querySelectorAll("iframe"), function (f) { out[f.id] = measure(f); });
  var p = document.createElement("pre"); p.id = "measure"; p.textContent = JSON.stringify(out);
  document.body.appendChild(p);
});
</script>"""


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(
                "chromium is not installed: `make test` installs it (apt-get install chromium)"
            )
        pytest.skip("chromium is not installed")
    return exe


def lay_out(tmp_path: Path, pages: dict[str, str]) -> dict[str, Any]:
    """Each page in an iframe of each width, measured by Chromium: ``{"name@width": figures}``."""
    frames = "".join(
        f'<iframe id="{name}@{w}" style="width:{w}px;height:900px;border:0;display:block" '
        f'srcdoc="{html.escape(text, quote=True)}"></iframe>'
        for name, text in pages.items()
        for w in WIDTHS
    )
    outer = tmp_path / "outer.html"
    outer.write_text(f"<!doctype html><html><body style='margin:0'>{frames}{MEASURE}</body></html>")
    proc = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,1000",
            "--dump-dom",
            outer.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r'<pre id="measure">(.*?)</pre>', proc.stdout, re.S)
    assert m, proc.stderr[-2000:]
    figures: dict[str, Any] = json.loads(html.unescape(m.group(1)))
    assert set(figures) == {f"{n}@{w}" for n in pages for w in WIDTHS}
    return figures


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
        "report": report.to_html(),
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
