"""Renderers for a :class:`~utxo_truth.reconcile.Report`: JSON, CSV, DataFrame, HTML, text.

The HTML page is self-contained: inline CSS and SVG charts, no script, nothing fetched.
"""

from __future__ import annotations

import csv
import html
import io
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .reconcile import Report

__all__ = [
    "format_btc",
    "render_text",
    "to_csv",
    "to_dataframe",
    "to_dict",
    "to_html",
    "to_json",
]

COLORS = {
    "finality": "#2e7d32",
    "redemption": "#f9a825",
    "exposure": "#c62828",
    "pending": "#90a4ae",
    "unverified": "#5d4037",
    "settlement": "#2e7d32",
    "working": "#1565c0",
    "yield": "#8e24aa",
}


def format_btc(sats: int | None) -> str:
    """Satoshis as BTC with 8 decimals, exactly; ``unknown`` for None."""
    if sats is None:
        return "unknown"
    sign = "-" if sats < 0 else ""
    whole, frac = divmod(abs(sats), 100_000_000)
    return f"{sign}{whole}.{frac:08d}"


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    data: dict[str, Any] = report.model_dump(mode="json")
    return data


def to_json(report: Report, **kwargs: Any) -> str:
    """JSON text of the report."""
    kwargs.setdefault("indent", 2)
    return json.dumps(to_dict(report), **kwargs)


def _rows(report: Report) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for w in report.wallets:
        rows.append(
            {
                "section": "wallet",
                "name": w.name,
                "custodian": "",
                "kind": "utxo",
                "right": "finality",
                "book": w.book.value,
                "amount_sats": w.verified_sats,
                "exit_steps": 0,
                "parties_who_can_refuse": 0,
                "coverage": "",
                "at_risk_sats": 0,
                "block_height": report.block.height,
                "block_hash": report.block.hash,
            }
        )
    for p in report.positions:
        rows.append(
            {
                "section": "position",
                "name": p.name,
                "custodian": p.custodian,
                "kind": p.kind,
                "right": p.right.value,
                "book": p.book.value,
                "amount_sats": "" if p.amount_sats is None else p.amount_sats,
                "exit_steps": p.exit_steps,
                "parties_who_can_refuse": p.parties_who_can_refuse,
                "coverage": "",
                "at_risk_sats": "" if p.at_risk_sats is None else p.at_risk_sats,
                "block_height": report.block.height,
                "block_hash": report.block.hash,
            }
        )
    for c in report.custodians:
        rows.append(
            {
                "section": "custodian",
                "name": c.name,
                "custodian": c.name,
                "kind": "reserves",
                "right": "",
                "book": "",
                "amount_sats": "" if c.verified_reserves_sats is None else c.verified_reserves_sats,
                "exit_steps": "",
                "parties_who_can_refuse": "",
                "coverage": "" if c.coverage is None else f"{c.coverage:.6f}",
                "at_risk_sats": "" if c.at_risk_sats is None else c.at_risk_sats,
                "block_height": report.block.height,
                "block_hash": report.block.hash,
            }
        )
    return rows


def to_csv(report: Report) -> str:
    """CSV: one row per wallet, position and custodian; amounts in satoshis; blanks are unknown."""
    out = io.StringIO()
    rows = _rows(report)
    writer = csv.DictWriter(
        out, fieldnames=list(rows[0]) if rows else ["section"], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_dataframe(report: Report) -> Any:
    """The CSV rows as a pandas DataFrame (pandas is an optional extra)."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("to_dataframe needs pandas: pip install 'utxo-truth[dataframe]'") from exc
    frame = pd.DataFrame(_rows(report))
    for col in ("amount_sats", "at_risk_sats"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")  # unknown -> <NA>
    return frame


# ---------------------------------------------------------------------------------------------
# HTML


def _bar(segments: list[tuple[str, int, str]], width: int = 640, height: int = 34) -> str:
    total = sum(v for _, v, _ in segments) or 1
    x = 0.0
    parts = []
    for label, value, color in segments:
        w = width * value / total
        if w > 0:
            parts.append(
                f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{color}"><title>{html.escape(label)}: {format_btc(value)} BTC</title></rect>'
            )
        x += w
    return f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">{"".join(parts)}</svg>'


def _legend(segments: list[tuple[str, int, str]], total: int) -> str:
    items = []
    for label, value, color in segments:
        share = f"{100 * value / total:.1f}%" if total else "-"
        items.append(
            f'<li><span class="sw" style="background:{color}"></span>{html.escape(label)} <b>{format_btc(value)}</b> BTC ({share})</li>'
        )
    return f'<ul class="legend">{"".join(items)}</ul>'


def _coverage_chart(report: Report) -> str:
    rows = [
        c for c in report.custodians if c.verified_reserves_sats is not None and c.liabilities_sats
    ]
    if not rows:
        return "<p>No custodian gave both reserve evidence and liabilities.</p>"
    width, row_h, left = 640, 40, 160
    top = max(max(c.liabilities_sats or 0, c.verified_reserves_sats or 0) for c in rows) or 1
    scale = (width - left - 70) / top  # room for the percentage label
    parts = []
    for i, c in enumerate(rows):
        y = i * row_h + 6
        lw = (c.liabilities_sats or 0) * scale
        vw = (c.verified_reserves_sats or 0) * scale
        color = "#2e7d32" if (c.coverage or 0) >= 1 else "#c62828"
        parts.append(f'<text x="0" y="{y + 18}" font-size="13">{html.escape(c.name[:20])}</text>')
        parts.append(
            f'<rect x="{left}" y="{y}" width="{lw:.1f}" height="12" fill="#cfd8dc"><title>liabilities {format_btc(c.liabilities_sats)} BTC</title></rect>'
        )
        parts.append(
            f'<rect x="{left}" y="{y + 14}" width="{vw:.1f}" height="12" fill="{color}"><title>verified reserves {format_btc(c.verified_reserves_sats)} BTC</title></rect>'
        )
        parts.append(
            f'<text x="{left + max(lw, vw) + 4:.1f}" y="{y + 24}" font-size="12">{100 * (c.coverage or 0):.1f}%</text>'
        )
    h = len(rows) * row_h + 10
    return f'<svg class="chart" id="coverage-chart" role="img" width="{width}" height="{h}" viewBox="0 0 {width} {h}">{"".join(parts)}</svg><p class="small">grey: what it owes; colour: what the chain shows at the block (green when covered)</p>'


SCOPE = "utxo-truth"
"""The one class every rule of the report's CSS is scoped under (a notebook page is not ours)."""

# Every selector starts with .utxo-truth: in a notebook the fragment sits in a page it does not
# own, so it styles nothing outside its own <div> (tests/test_notebook.py parses it to check).
# Narrow screens: tables scroll inside themselves (display:block; overflow-x:auto) rather than
# widening the page, numbers never wrap, long words (hashes, descriptors) break, charts take the
# width (their viewBox keeps the proportions).
_CSS = """
.utxo-truth{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#222;max-width:60em;box-sizing:border-box;overflow-wrap:break-word;line-height:1.4}
.utxo-truth.page{margin:2em auto;padding:0 1em}
.utxo-truth *{box-sizing:border-box}
.utxo-truth h1{font-size:1.6em;margin-bottom:.2em} .utxo-truth h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.utxo-truth .big{font-size:1.15em} .utxo-truth .small{color:#666;font-size:.85em}
.utxo-truth code{overflow-wrap:anywhere;word-break:break-all}
.utxo-truth table{display:block;overflow-x:auto;max-width:100%;border-collapse:collapse;font-size:.9em;margin:.5em 0}
.utxo-truth th,.utxo-truth td{padding:.3em .5em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
.utxo-truth td.n,.utxo-truth th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.utxo-truth td.w{overflow-wrap:anywhere;min-width:12em}
.utxo-truth svg.chart{display:block;width:100%;max-width:100%;height:auto}
.utxo-truth .legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em 1em} .utxo-truth .sw{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}
.utxo-truth .critical{color:#b71c1c;font-weight:600} .utxo-truth .warning{color:#e65100} .utxo-truth .info{color:#455a64}
"""


def to_html(report: Report, *, fragment: bool = False) -> str:
    """A self-contained HTML report (``fragment=True``: without <html>, for notebooks)."""
    e = html.escape
    right = [
        ("final: verified UTXOs under your keys", report.finality_sats, COLORS["finality"]),
        ("redemption claims", report.redemption_sats, COLORS["redemption"]),
        ("price exposure", report.exposure_sats, COLORS["exposure"]),
        ("pending (unconfirmed)", report.pending_sats, COLORS["pending"]),
        ("unverified", report.unverified_sats, COLORS["unverified"]),
    ]
    books = [(f"{name} book", sats, COLORS[name]) for name, sats in report.by_book.items()]
    ratio = "unknown" if report.shadow_ratio is None else f"{100 * report.shadow_ratio:.1f}%"
    body = [
        f'<div class="{SCOPE} utxo-truth-report{"" if fragment else " page"}">',
        "<h1>How much of it is bitcoin?</h1>",
        f'<p class="big"><b>{format_btc(report.finality_sats)} BTC</b> is final (verified UTXOs under your keys); '
        f"<b>{format_btc(report.shadow_sats)} BTC</b> is shadow ({ratio} of {format_btc(report.total_sats)} BTC).</p>",
        f'<p class="small">True at block {report.block.height} <code>{e(report.block.hash)}</code> · network {e(report.network)} · source {e(report.source)}'
        + (f" · as of {report.as_of}" if report.as_of else "")
        + "</p>",
    ]
    if report.unknown_positions:
        body.append(
            f'<p class="warning">Amounts unknown for: {e(", ".join(report.unknown_positions))} — totals are lower bounds.</p>'
        )
    body += [
        "<h2>Real and shadow, by right</h2>",
        _bar(right),
        _legend(right, report.total_sats),
        "<h2>By book</h2>",
        _bar(books),
        _legend(books, sum(s for _, s, _ in books)),
        "<h2>Custodian coverage</h2>",
        _coverage_chart(report),
        "<h2>Positions and their way back to a UTXO</h2>",
        "<table><tr><th>position</th><th>custodian</th><th>right</th><th>book</th><th>BTC</th><th>steps</th><th>who can refuse</th><th>at risk</th></tr>",
    ]
    for p in report.positions:
        body.append(
            f"<tr><td>{e(p.name)}</td><td>{e(p.custodian)}</td><td>{e(p.right.value)}</td><td>{e(p.book.value)}</td>"
            f'<td class="n">{format_btc(p.amount_sats)}</td><td class="n">{p.exit_steps}</td>'
            f'<td>{e(", ".join(p.parties)) or "nobody"}</td><td class="n">{format_btc(p.at_risk_sats)}</td></tr>'
        )
    body.append("</table>")
    body.append(
        f'<p class="small">Worst case: {report.worst_exit_steps} steps and {report.worst_parties_who_can_refuse} parties who can say no. Default exit paths are marked as such in the JSON.</p>'
    )
    body.append(
        "<h2>Custodians</h2><table><tr><th>custodian</th><th>verified reserves</th><th>liabilities</th><th>coverage</th><th>its own claim</th><th>your claims</th><th>at risk</th></tr>"
    )
    for c in report.custodians:
        cov = "-" if c.coverage is None else f"{100 * c.coverage:.1f}%"
        body.append(
            f'<tr><td>{e(c.name)}</td><td class="n">{format_btc(c.verified_reserves_sats)}</td><td class="n">{format_btc(c.liabilities_sats)}</td>'
            f'<td class="n">{cov}</td><td class="n">{format_btc(c.claimed_reserves_sats)}</td><td class="n">{format_btc(c.your_claims_sats)}</td><td class="n">{format_btc(c.at_risk_sats)}</td></tr>'
        )
    body.append("</table><h2>Checks</h2><ul>")
    for ch in report.checks or ():
        body.append(f'<li class="{e(ch.level)}">[{e(ch.level)}] {e(ch.message)}</li>')
    if not report.checks:
        body.append("<li>No check fired.</li>")
    body.append("</ul><h2>What this does not prove</h2><ul>")
    body += [f"<li>{e(c)}</li>" for c in report.caveats]
    body.append("</ul></div>")
    inner = "\n".join(body)
    if fragment:
        return _fragment(inner)
    return _page(f"utxo_truth report, block {report.block.height}", inner)


def _fragment(inner: str) -> str:
    """``inner`` (one ``<div class="utxo-truth">``) with the scoped CSS inside it: one element."""
    head, sep, rest = inner.partition(">")
    return f"{head}{sep}<style>{_CSS}</style>{rest}"


def _page(title: str, inner: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>{inner}</body></html>\n"
    )


# ---------------------------------------------------------------------------------------------
# Terminal


def render_text(report: Report) -> str:
    """A plain-text report for terminals (the CLI uses rich when it can)."""
    lines = [
        f"Final (verified UTXOs under your keys): {format_btc(report.finality_sats)} BTC",
        f"Shadow (everything else):               {format_btc(report.shadow_sats)} BTC"
        + (
            ""
            if report.shadow_ratio is None
            else f"  ({100 * report.shadow_ratio:.1f}% of {format_btc(report.total_sats)})"
        ),
        f"  redemption {format_btc(report.redemption_sats)}  exposure {format_btc(report.exposure_sats)}  "
        f"pending {format_btc(report.pending_sats)}  unverified {format_btc(report.unverified_sats)}",
        "By book: " + ", ".join(f"{k} {format_btc(v)}" for k, v in report.by_book.items()),
        "",
        f"{'position':24} {'custodian':16} {'right':10} {'BTC':>16} {'steps':>5} {'refuse':>6} {'at risk':>16}",
    ]
    for p in report.positions:
        lines.append(
            f"{p.name[:24]:24} {p.custodian[:16]:16} {p.right.value:10} {format_btc(p.amount_sats):>16} {p.exit_steps:>5} {p.parties_who_can_refuse:>6} {format_btc(p.at_risk_sats):>16}"
        )
    lines += [
        "",
        f"{'custodian':20} {'verified reserves':>18} {'liabilities':>16} {'coverage':>9} {'at risk':>16}",
    ]
    for c in report.custodians:
        cov = "-" if c.coverage is None else f"{100 * c.coverage:.1f}%"
        lines.append(
            f"{c.name[:20]:20} {format_btc(c.verified_reserves_sats):>18} {format_btc(c.liabilities_sats):>16} {cov:>9} {format_btc(c.at_risk_sats):>16}"
        )
    lines.append("")
    for ch in report.checks:
        lines.append(f"[{ch.level}] {ch.message}")
    lines.append(
        f"true at block {report.block.height} {report.block.hash} ({report.network}; {report.source})"
    )
    return "\n".join(lines) + "\n"
