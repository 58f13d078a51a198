"""Headless Chromium as a layout oracle: pages shown in iframes of given widths, measured.

Each page is shown in an iframe exactly that wide (headless Chromium will not make a window
narrower than 500 pixels; an iframe is a viewport of its own) and a script in the outer page
measures it after load and writes the figures into the DOM, which ``--dump-dom`` prints. The
pages measured carry no script of their own.

For a page whose name starts with ``host``, the computed style of its element ``#other`` (a table
of the host page, around an embedded fragment) is measured as well.
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


def chromium() -> str:
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
            chromium(),
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
