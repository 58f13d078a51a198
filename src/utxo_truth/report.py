r"""The one renderer: of a :class:`~utxo_truth.Report` and of a :class:`~utxo_truth.Holdings`.

A report: terminal, text, JSON, CSV, DataFrame, HTML; a Holdings: rows, DataFrame, the
notebook's HTML.

Views are functions of this module, never methods of the model (``Report._repr_html_``, which
Jupyter needs, calls :func:`to_html`). The terminal view (:func:`renderables`, printed by the
CLI) and the piped one (:func:`render_text`) are the same rich renderables printed with and
without colour, so they show the same facts. Every string a user or a file gave (names, check messages, sources) is
shown as inert text: no rich markup is read from it and control characters, ANSI escapes among
them, are shown as ``\x1b``-style escapes. Amounts are never cut: number columns do not wrap,
and a table too wide for the terminal is shown as one block per row instead.

The HTML page is self-contained: inline CSS and SVG charts, no script, nothing fetched.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._exceptions import MissingExtraError

if TYPE_CHECKING:  # a Holdings table loads neither the Report model nor claims (issue 19)
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.text import Text

    from ._models import Holdings, TargetHoldings, Utxo
    from ._report_models import Report

__all__ = [
    "coin_path",
    "coin_status",
    "format_btc",
    "holdings_csv",
    "holdings_csv_rows",
    "holdings_dataframe",
    "holdings_html",
    "holdings_rows",
    "holdings_status",
    "render_holdings",
    "render_text",
    "renderables",
    "scanned_as_line",
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
    """Satoshis as BTC with 8 decimals, exactly (no float); ``unknown`` for None.

    Example:
        >>> format_btc(201268572), format_btc(-5), format_btc(None)
        ('2.01268572', '-0.00000005', 'unknown')
    """
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
    for row in rows:  # the coin columns, blank on summary rows
        row.update(dict.fromkeys(_COIN_COLUMNS, ""))
    for coin in report.coins:  # the evidence: every coin counted, after the summary rows
        rows.append(
            {
                "section": "coin",
                "name": coin.name,
                "custodian": coin.name if coin.owner == "custodian" else "",
                "kind": coin.owner,
                "right": "",
                "book": "",
                "amount_sats": coin.value,
                "exit_steps": "",
                "parties_who_can_refuse": "",
                "coverage": "",
                "at_risk_sats": "",
                "block_height": report.block.height,
                "block_hash": report.block.hash,
                "outpoint": coin.outpoint,
                "height": "" if coin.height is None else coin.height,
                "address": coin.address or "",
                "verification": coin.verification,
            }
        )
    return rows


_COIN_COLUMNS = ("outpoint", "height", "address", "verification")


def to_csv(report: Report) -> str:
    """CSV: one row per wallet, position, custodian and coin counted; amounts in satoshis.

    Blanks are unknown (or do not apply). ``coin`` rows are the evidence: ``name`` is the wallet
    or custodian (``kind`` says which), ``amount_sats`` the value, and ``outpoint``, ``height``
    (blank: a mempool receipt), ``address`` and ``verification`` say what and how it is known.

    Example:
        >>> from utxo_truth import load_portfolio, reconcile  # doctest: +SKIP
        >>> to_csv(reconcile(load_portfolio("examples/portfolio.toml"))).splitlines()[0]  # doctest: +SKIP
        'section,name,custodian,kind,...,outpoint,height,address,verification'
    """
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
    pd = _pandas("report.to_dataframe()")
    frame = pd.DataFrame(_rows(report))
    for col in ("amount_sats", "at_risk_sats", "height"):
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
# own, so it styles nothing outside its own <div> (tests/integration/test_notebook.py parses it to check).
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


def _coins_html(report: Report) -> str:
    """The evidence table: every coin counted, with what an auditor needs to look it up."""
    e = html.escape
    rows = [
        '<h2>Coins counted</h2><table class="coins"><tr><th>outpoint</th><th>BTC</th>'
        "<th>height</th><th>address</th><th>wallet or custodian</th><th>verification</th></tr>"
    ]
    for c in report.coins:
        height = "pending" if c.height is None else str(c.height)
        rows.append(
            f'<tr><td><code>{e(c.outpoint)}</code></td><td class="n">{format_btc(c.value)}</td>'
            f'<td class="n">{height}</td><td><code>{e(c.address or "-")}</code></td>'
            f"<td>{e(c.owner)} {e(c.name)}</td><td>{e(c.verification)}</td></tr>"
        )
    if not report.coins:
        rows.append('<tr><td colspan="6">No coin was found.</td></tr>')
    rows.append("</table>")
    return "".join(rows)


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
    body.append("</table>")
    body.append(_coins_html(report))
    body.append("<h2>Checks</h2><ul>")
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
# Holdings (scan's answer): rows, DataFrame and the notebook view

HOLDINGS_COLUMNS = (
    "status",
    "txid",
    "vout",
    "value_sats",
    "height",
    "address",
    "script_pubkey",
    "verification",
    "coinbase",
    "immature",
    "spent_by",
    "problem",
    "target_number",
    "target",
    "target_kind",
    "script_type",
    "chain",
    "chain_name",
    "index",
    "block_height",
    "block_hash",
)
"""The columns of :func:`holdings_rows`, in order: the coin, then its origin flattened."""


def holdings_rows(holdings: Holdings) -> list[dict[str, Any]]:
    """One row per coin of ``holdings``: confirmed ones (``status`` ``confirmed``), then pending.

    The origin is flattened: ``target`` (as given), its kind and script type, the ``chain``
    (branch number), its name (``receive``, ``change``) and the ``index`` on it; ``None`` where a
    coin has no such part (a single address has no chain). Every row names the block the answer
    is true at. Amounts are integer satoshis.
    """
    rows: list[dict[str, Any]] = []
    for status, coins in (("confirmed", holdings.utxos), ("pending", holdings.pending)):
        for u in coins:
            o = u.origin
            t = (
                holdings.targets[o.target]
                if o is not None and o.target < len(holdings.targets)
                else None
            )
            chain_name = None
            script_type = None if t is None else t.script_type
            if t is not None and o is not None and o.chain is not None:
                held = next((c for c in t.chains if c.chain == o.chain), None)
                if held is not None:
                    chain_name = held.name
                    script_type = held.script_type or script_type  # a plain xpub: its branch's
            rows.append(
                {
                    "status": status,
                    "txid": u.txid,
                    "vout": u.vout,
                    "value_sats": u.value,
                    "height": u.height,
                    "address": u.address,
                    "script_pubkey": u.script_pubkey,
                    "verification": u.verification,
                    "coinbase": u.coinbase,
                    "immature": u.immature,
                    "spent_by": u.spent_by,
                    "problem": u.problem,
                    "target_number": None if o is None else o.target,
                    "target": None if t is None else t.target,
                    "target_kind": None if t is None else t.kind,
                    "script_type": script_type,
                    "chain": None if o is None else o.chain,
                    "chain_name": chain_name,
                    "index": None if o is None else o.index,
                    "block_height": holdings.block.height,
                    "block_hash": holdings.block.hash,
                }
            )
    return rows


def _pandas(what: str) -> Any:
    try:
        import pandas as pd
    except ImportError as exc:
        raise MissingExtraError(
            f"{what} needs pandas, which is not installed: pip install 'utxo-truth[dataframe]'",
            extra="dataframe",
        ) from exc
    return pd


def holdings_dataframe(holdings: Holdings) -> Any:
    """:func:`holdings_rows` as a pandas DataFrame; integer columns stay integers (``<NA>``: none)."""
    pd = _pandas("Holdings.to_dataframe()")
    frame = pd.DataFrame(holdings_rows(holdings), columns=list(HOLDINGS_COLUMNS))
    for col in ("vout", "value_sats", "block_height"):
        frame[col] = frame[col].astype("int64")
    for col in ("height", "target_number", "chain", "index"):
        frame[col] = frame[col].astype("Int64")  # unconfirmed height, no chain -> <NA>
    for col in ("coinbase", "immature"):
        frame[col] = frame[col].astype("bool")
    return frame


def holdings_html(holdings: Holdings, *, fragment: bool = True) -> str:
    """The notebook view of a :class:`~utxo_truth.Holdings`: totals, problems, every coin.

    ``fragment=True`` (the default, what Jupyter shows): one ``<div class="utxo-truth">`` with
    its CSS scoped under that class; ``fragment=False``: a whole self-contained page.
    """
    e = html.escape
    h = holdings
    body = [
        f'<div class="{SCOPE} utxo-truth-holdings{"" if fragment else " page"}">',
        f'<p class="big"><b>{format_btc(h.total_sats)} BTC</b> in {len(h.utxos)} confirmed '
        f"coin{'' if len(h.utxos) == 1 else 's'}; <b>{format_btc(h.verified_sats)} BTC</b> verified.</p>",
        f'<p class="small">True at block {h.block.height} <code>{e(h.block.hash)}</code> · network '
        f"{e(h.network)} · source {e(h.source)}</p>",
    ]
    if not h.complete:
        why = []
        if h.unverified_sats:
            why.append(f"{format_btc(h.unverified_sats)} BTC is unverified (a server's word only)")
        if h.problems:
            why.append(f"{len(h.problems)} problem{'' if len(h.problems) == 1 else 's'} reported")
        if h.consensus is not None and not h.consensus.agreed:
            why.append("the sources disagreed")
        body.append(f'<p class="warning">Incomplete answer: {e("; ".join(why))}.</p>')
    body += [f"<p>{e(scanned_as_line(t))}</p>" for t in h.targets if t.scanned_as]
    lines = [
        ("verified", h.verified_sats),
        ("unverified", h.unverified_sats),
        ("pending (unconfirmed receipts)", h.pending_sats),
        ("spent in mempool", h.spent_in_mempool_sats),
        ("immature (coinbase)", h.immature_sats),
        ("spendable", h.spendable_sats),
        ("total confirmed", h.total_sats),
    ]
    body.append(
        '<table class="totals"><tr><th></th><th class="n">BTC</th><th class="n">sats</th></tr>'
    )
    body += [
        f'<tr><td>{e(name)}</td><td class="n">{format_btc(v)}</td><td class="n">{v}</td></tr>'
        for name, v in lines
    ]
    body.append("</table>")
    if h.problems:
        body.append('<h2>Problems</h2><ul class="problems">')
        body += [f'<li class="warning">{e(p)}</li>' for p in h.problems]
        body.append("</ul>")
    if h.consensus is not None:
        c = h.consensus
        body.append(
            f"<h2>Sources ({e(c.policy)}: {'agreed' if c.agreed else 'disagreed'})</h2>"
            '<table><tr><th>source</th><th>block</th><th class="n">BTC</th><th>error</th></tr>'
        )
        for a in c.sources:
            block = "" if a.block is None else str(a.block.height)
            body.append(
                f'<tr><td class="w">{e(a.source)}</td><td class="n">{block}</td>'
                f'<td class="n">{format_btc(a.total_sats)}</td><td class="w">{e(a.error or "")}</td></tr>'
            )
        body.append("</table>")
        for d in c.disagreements:
            said = "; ".join(
                f"{src}: {', '.join(v) or 'nothing'}" for src, v in d.by_source.items()
            )
            body.append(f'<p class="warning">{e(d.address or d.script_pubkey)}: {e(said)}</p>')
    body.append(
        "<h2>Targets</h2><table><tr><th>#</th><th>target</th><th>kind</th><th>script</th>"
        '<th>scanned</th><th class="n">coins</th><th class="n">BTC</th></tr>'
    )
    for i, t in enumerate(h.targets):
        scanned = (
            ", ".join(f"{c.name} 0..{c.scanned - 1}" for c in t.chains if c.scanned) or t.method
        )
        body.append(
            f'<tr><td class="n">{i}</td><td class="w"><code>{e(t.target)}</code></td><td>{e(t.kind)}</td>'
            f"<td>{e(t.script_type)}</td><td>{e(scanned)}</td>"
            f'<td class="n">{len(t.utxos)}</td><td class="n">{format_btc(t.total_sats)}</td></tr>'
        )
    body.append("</table>")
    body.append(
        '<h2>Coins</h2><table class="coins"><tr><th>outpoint</th><th class="n">BTC</th>'
        '<th class="n">height</th><th>address</th><th>target</th><th>verification</th><th>note</th></tr>'
    )
    for r in holdings_rows(h):
        where = "" if r["target_number"] is None else f"#{r['target_number']}"
        if r["index"] is not None:
            where += f" {r['chain_name'] or r['chain']}/{r['index']}"
        note = [
            n
            for n, on in (
                ("pending", r["status"] == "pending"),
                ("coinbase", r["coinbase"]),
                ("immature", r["immature"]),
                (f"spent by {r['spent_by']}", r["spent_by"] is not None),
                (r["problem"] or "", r["problem"] is not None),
            )
            if on
        ]
        height = "unconfirmed" if r["height"] is None else str(r["height"])
        body.append(
            f'<tr><td class="w"><code>{e(r["txid"])}:{r["vout"]}</code></td>'
            f'<td class="n">{format_btc(r["value_sats"])}</td><td class="n">{height}</td>'
            f'<td class="w">{e(r["address"] or "(no address)")}</td><td>{e(where.strip())}</td>'
            f'<td class="{"warning" if r["verification"] == "unverified" else ""}">{e(r["verification"])}</td>'
            f'<td class="w">{e("; ".join(note))}</td></tr>'
        )
    if not h.utxos and not h.pending:
        body.append('<tr><td colspan="7">No coin.</td></tr>')
    body.append("</table></div>")
    inner = "\n".join(body)
    if fragment:
        return _fragment(inner)
    return _page(f"utxo_truth holdings, block {h.block.height}", inner)


# ---------------------------------------------------------------------------------------------
# Terminal and plain text: one set of rich renderables, printed with colour or without

_LEVEL_STYLE = {"critical": "bold red", "warning": "yellow", "info": "dim"}
_BIDI = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}
TEXT_WIDTH = 120
"""The width of :func:`render_text` unless told (the terminal view uses the terminal's)."""


def _inert(value: object) -> str:
    r"""A user-given string made harmless to a terminal: control characters shown as escapes.

    ANSI escapes, newlines and bidi overrides alike, so that nothing can restyle or reorder
    the view.

    Example:
        >>> _inert("spot\x1b[31m [main]")
        'spot\\x1b[31m [main]'
    """
    text = str(value)
    out = []
    for ch in text:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0:
            out.append(f"\\x{o:02x}")
        elif o in _BIDI:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _t(value: object, style: str = "") -> Text:
    """Inert text: never read as rich markup (``[red]``, ``[/]`` stay as typed)."""
    from rich.text import Text

    return Text(_inert(value), style=style)


class _Grid:
    """A table whose number columns are never cut.

    Shown as a table when the width allows, as one block per row when not (a narrow terminal),
    with the same cells either way.
    """

    def __init__(
        self,
        title: str,
        headers: Sequence[str],
        numeric: Sequence[bool],
        rows: Sequence[Sequence[Text]],
    ) -> None:
        self.title, self.headers, self.numeric, self.rows = title, headers, numeric, rows

    def _fixed_width(self) -> int:
        """The room the number columns need (header, padding, separators included).

        Plus up to 8 characters for each text column, which folds.
        """
        need = 0
        for i, (head, num) in enumerate(zip(self.headers, self.numeric, strict=True)):
            cells = [r[i].cell_len for r in self.rows]
            need += (max([len(head), *cells]) if num else min(8, max([len(head), *cells]))) + 3
        return need

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        if self._fixed_width() <= options.max_width:
            table = Table(
                title=Text(self.title, style="bold"),
                box=box.SIMPLE_HEAD,
                title_justify="left",
                show_edge=False,
            )
            for head, num in zip(self.headers, self.numeric, strict=True):
                if num:
                    width = max([len(head), *(r[len(table.columns)].cell_len for r in self.rows)])
                    table.add_column(head, justify="right", no_wrap=True, min_width=width)
                else:
                    table.add_column(head, overflow="fold")
            for row in self.rows:
                table.add_row(*row)
            yield table
            yield Text("")
            return
        yield Text(self.title, style="bold")  # too narrow for a table: one block per row
        for row in self.rows:
            yield Text.assemble(row[0].copy(), overflow="fold")
            for head, cell in zip(self.headers[1:], row[1:], strict=True):
                yield Text.assemble(f"  {head}: ", cell.copy(), overflow="fold")
        yield Text("")


def renderables(report: Report) -> list[RenderableType]:
    """The report as rich renderables, each fact once: the terminal view, printed by the CLI.

    :func:`render_text` renders the same objects without colour. Print them with
    ``markup=False`` (they hold ``Text`` only, so no markup is read in any case).

    Example:
        >>> from utxo_truth import load_portfolio, reconcile  # doctest: +SKIP
        >>> items = renderables(reconcile(load_portfolio("examples/portfolio.toml")))  # doctest: +SKIP
        >>> items[0].plain  # doctest: +SKIP
        'Final (verified UTXOs under your keys): 20.51264792 BTC'
    """
    from rich.text import Text

    b = format_btc
    ratio = (
        ""
        if report.shadow_ratio is None
        else f"  ({100 * report.shadow_ratio:.1f}% of {b(report.total_sats)})"
    )
    out: list[RenderableType] = [
        Text.assemble(
            "Final (verified UTXOs under your keys): ",
            (f"{b(report.finality_sats)} BTC", "bold green"),
        ),
        Text.assemble(
            "Shadow (everything else):               ",
            (f"{b(report.shadow_sats)} BTC", "bold yellow"),
            ratio,
        ),
        Text(
            f"  redemption {b(report.redemption_sats)}  exposure {b(report.exposure_sats)}  "
            f"pending {b(report.pending_sats)}  unverified {b(report.unverified_sats)}",
            overflow="fold",
        ),
        Text(
            "By book: " + ", ".join(f"{_inert(k)} {b(v)}" for k, v in report.by_book.items()),
            overflow="fold",
        ),
    ]
    if report.unknown_positions:
        out.append(
            Text.assemble(
                ("amounts unknown for: ", "yellow"),
                _t(", ".join(report.unknown_positions)),
                " (the totals are lower bounds)",
                overflow="fold",
            )
        )
    out.append(Text(""))
    out.append(
        _Grid(
            "wallets: your own coins at the block",
            ("wallet", "book", "verified BTC", "pending", "unverified", "coins"),
            (False, False, True, True, True, True),
            [
                [
                    _t(w.name),
                    _t(w.book.value),
                    _t(b(w.verified_sats)),
                    _t(b(w.pending_sats)),
                    _t(b(w.unverified_sats)),
                    _t(w.utxo_count),
                ]
                for w in report.wallets
            ],
        )
    )
    out.append(
        _Grid(
            "positions: the way back to a UTXO",
            ("position", "custodian", "right", "book", "BTC", "steps", "who can refuse", "at risk"),
            (False, False, False, False, True, True, False, True),
            [
                [
                    _t(p.name),
                    _t(p.custodian),
                    _t(p.right.value),
                    _t(p.book.value),
                    _t(b(p.amount_sats)),
                    _t(p.exit_steps),
                    _t(", ".join(p.parties) or "nobody"),
                    _t(b(p.at_risk_sats)),
                ]
                for p in report.positions
            ],
        )
    )
    out.append(
        _Grid(
            "custodians: reserves on-chain vs what they owe",
            (
                "custodian",
                "verified reserves",
                "liabilities",
                "coverage",
                "its own claim",
                "at risk",
            ),
            (False, True, True, True, True, True),
            [
                [
                    _t(c.name),
                    _t(b(c.verified_reserves_sats)),
                    _t(b(c.liabilities_sats)),
                    _t("-" if c.coverage is None else f"{100 * c.coverage:.1f}%"),
                    _t(b(c.claimed_reserves_sats)),
                    _t(b(c.at_risk_sats)),
                ]
                for c in report.custodians
            ],
        )
    )
    wallet_coins = sum(1 for c in report.coins if c.owner == "wallet")
    out.append(
        Text(
            f"coins counted: {wallet_coins} in your wallets, {len(report.coins) - wallet_coins} "
            "in custodians' reserves (each listed with its outpoint in --json, --csv and --html)",
            overflow="fold",
        )
    )
    out.append(Text(""))
    for ch in report.checks:
        out.append(
            Text.assemble(
                (f"[{ch.level}]", _LEVEL_STYLE.get(ch.level, "")),
                " ",
                _t(ch.message),
                overflow="fold",
            )
        )
    out.append(
        Text.assemble(
            (f"true at block {report.block.height} {report.block.hash} ", "dim"),
            _t(f"({report.network}; {report.source})", "dim"),
            overflow="fold",
        )
    )
    return out


def render_text(report: Report, *, width: int = TEXT_WIDTH) -> str:
    """The report as plain text (no colour, no escape codes): what the CLI writes to a pipe.

    The lines of :func:`renderables`, the very objects the CLI prints in colour on a terminal,
    so both views show the same facts; ``width`` characters wide.

    Example:
        >>> from utxo_truth import load_portfolio, reconcile  # doctest: +SKIP
        >>> text = render_text(reconcile(load_portfolio("examples/portfolio.toml")))  # doctest: +SKIP
    """
    from rich.console import Console

    console = Console(
        file=io.StringIO(),
        width=width,
        color_system=None,
        force_terminal=False,
        no_color=True,
        emoji=False,
        highlight=False,
        markup=False,
        legacy_windows=False,
    )
    lines = []
    for item in renderables(report):
        for line in console.render_lines(item, console.options, pad=False, new_lines=False):
            lines.append("".join(seg.text for seg in line if not seg.control).rstrip())
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Holdings (the `scan` view): one renderer for the terminal and for piped text, and the CSV.

_HOLDINGS_CSV_FIELDS = (
    "txid",
    "vout",
    "value",
    "height",
    "address",
    "path",
    "verification",
    "target",
    "status",
    "block_height",
    "block_hash",
)

_UNSAFE = {
    **{c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))},
    **{c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))},
}
"""C0/C1 control characters (ANSI escapes start with one) and bidi overrides, shown as escapes."""


def _safe(text: object) -> str:
    r"""A string from outside (a target, a server's message) made inert for a rich console.

    Control characters are shown as ``\xNN`` (an ANSI escape cannot restyle the terminal) and
    ``[`` cannot open a style tag (:func:`rich.markup.escape`).

    Example:
        >>> _safe("spot [main] \x1b[31m") == "spot \\[main] \\x1b[31m"
        True
    """
    from rich.markup import escape

    return escape(str(text).translate(_UNSAFE))


def _ranges(indexes: Sequence[int]) -> str:
    """[0,1,2,5,19] -> '0-2,5,19'."""
    idx = list(indexes)
    out: list[str] = []
    i = 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        out.append(str(idx[i]) if i == j else f"{idx[i]}-{idx[j]}")
        i = j + 1
    return ",".join(out) or "-"


def coin_path(h: Holdings, u: Utxo) -> str:
    """Where a coin's script sits in its target: ``receive/5``, ``change/0``, or ``-`` (single).

    Example:
        >>> coin_path(h, h.utxos[0])  # doctest: +SKIP
        'receive/1'
    """
    o = u.origin
    if o is not None and o.chain is None and o.index is not None:  # a watch list's line
        return f"line {o.index}"
    if o is None or o.chain is None or o.index is None or o.target >= len(h.targets):
        return "-"
    chains = {c.chain: c.name for c in h.targets[o.target].chains}
    return f"{chains.get(o.chain, f'branch {o.chain}')}/{o.index}"


def coin_status(u: Utxo) -> str:
    """``confirmed``, ``immature``, ``spent-in-mempool`` or ``pending`` (unconfirmed receipt).

    Example:
        >>> coin_status(h.utxos[0])  # doctest: +SKIP
        'confirmed'
    """
    if u.height is None:
        return "pending"
    if u.spent_by is not None:
        return "spent-in-mempool"
    return "immature" if u.immature else "confirmed"


def holdings_csv_rows(h: Holdings) -> list[dict[str, Any]]:
    """The scan CSV's rows: one per coin (confirmed, then pending), each outpoint once; sats.

    (:func:`holdings_rows` is the fuller, typed row set behind ``Holdings.to_dataframe()``.)

    Example:
        >>> holdings_csv_rows(h)[0]["verification"]  # doctest: +SKIP
        'spv'
    """
    rows = []
    for u in (*h.utxos, *h.pending):
        target = ""
        if u.origin is not None and u.origin.target < len(h.targets):
            target = h.targets[u.origin.target].target
        rows.append(
            {
                "txid": u.txid,
                "vout": u.vout,
                "value": u.value,
                "height": "" if u.height is None else u.height,
                "address": u.address or "",
                "path": coin_path(h, u),
                "verification": u.verification,
                "target": target,
                "status": coin_status(u),
                "block_height": h.block.height,
                "block_hash": h.block.hash,
            }
        )
    return rows


def holdings_csv(h: Holdings) -> str:
    """CSV of :func:`holdings_csv_rows`, one row per coin, amounts in satoshis.

    Columns: ``txid, vout, value, height`` (blank: pending), ``address, path, verification,
    target, status`` and the block it is true at.

    Example:
        >>> holdings_csv(h).splitlines()[0]  # doctest: +SKIP
        'txid,vout,value,height,address,path,verification,target,status,block_height,block_hash'
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(_HOLDINGS_CSV_FIELDS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(holdings_csv_rows(h))
    return out.getvalue()


def holdings_status(h: Holdings) -> str | None:
    """The one line that says the answer is not complete (None when it is).

    Incomplete: a coin is unverified (a server's word only), a source reported a problem, or
    the sources asked did not agree.

    Example:
        >>> holdings_status(h)  # doctest: +SKIP
        'INCOMPLETE: 3 of 3 coins unverified; 1 problem below'
    """
    if h.complete:
        return None
    parts = []
    unverified = sum(1 for u in h.utxos if u.verification == "unverified")
    if unverified:
        parts.append(f"{unverified} of {len(h.utxos)} coins unverified")
    if h.problems:
        n = len(h.problems)
        parts.append(f"{n} problem{'s' if n > 1 else ''} below")
    if h.consensus is not None and not h.consensus.agreed:
        parts.append("sources did not agree")
    return "INCOMPLETE: " + "; ".join(parts or ["see above"])


_FOLD_MIN = 6
"""The narrowest a folding column (a txid, an xpub) is made on a narrow terminal."""


def _fit_widths(
    natural: list[int], flexible: list[bool], width: int, extra: int
) -> list[int | None]:
    """Max widths for the flexible (folding) columns so the table fits ``width``.

    ``natural`` is each column's widest cell; the other columns (amounts, heights) keep theirs,
    so they are never cut. The room left is shared out narrowest first: a short column keeps its
    width, the long ones (txids, xpubs) fold into the rest. None: as wide as it needs.

    Example:
        >>> _fit_widths([66, 10, 12], [True, False, True], 40, 2)
        [11, None, 11]
    """
    fixed = sum(n + 2 for n, f in zip(natural, flexible, strict=True) if not f)
    room = width - extra - fixed - 2 * sum(flexible)
    if sum(n for n, f in zip(natural, flexible, strict=True) if f) <= room:
        return [None] * len(natural)
    limits: list[int | None] = [None] * len(natural)
    order = sorted((i for i, f in enumerate(flexible) if f), key=lambda i: natural[i])
    for k, i in enumerate(order):
        limits[i] = w = min(natural[i], max(_FOLD_MIN, room // (len(order) - k)))
        room -= w
    return limits


def _table(
    title: str | None,
    header: list[tuple[str, str, bool]],
    rows: list[list[str]],
    width: int,
) -> Any:
    """A rich table: ``header`` is (name, justify, flexible); cells are plain text (escaped here).

    Flexible columns fold (a long txid or xpub breaks across lines, whole); the others never
    wrap, and the table is measured so that they are never truncated either.
    """
    from rich import box
    from rich.table import Table

    natural = [
        max([len(name), *(len(r[i]) for r in rows)]) for i, (name, _j, _f) in enumerate(header)
    ]
    flexible = [f for _n, _j, f in header]
    extra = _extra(header)
    limits = _fit_widths(natural, flexible, width, extra)
    t = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        expand=False,
        show_edge=False,
        pad_edge=False,
    )
    for (name, justify, flex), limit, n in zip(header, limits, natural, strict=True):
        t.add_column(
            _safe(name),
            justify=justify,  # type: ignore[arg-type]
            no_wrap=not flex,
            overflow="fold",
            max_width=limit,
            min_width=None if flex else n,
        )
    for r in rows:
        t.add_row(*(_safe(c) for c in r))
    return t


def _needed_width(header: list[tuple[str, str, bool]], rows: list[list[str]]) -> int:
    """The narrowest console that shows every non-folding column whole (folding ones narrow)."""
    natural = [
        max([len(name), *(len(r[i]) for r in rows)]) for i, (name, _j, _f) in enumerate(header)
    ]
    cells = sum((_FOLD_MIN if f else n) + 2 for n, (_n, _j, f) in zip(natural, header, strict=True))
    return cells + _extra(header)


def _extra(header: list[tuple[str, str, bool]]) -> int:
    """Width beyond the padded cells: a divider between columns, less the edges' padding."""
    return len(header) - 1 - 2


def _type_name(script_type: str) -> str:
    return "sh(wpkh)" if script_type == "sh-wpkh" else script_type


def scanned_as_line(t: TargetHoldings) -> str:
    """The line saying which script types a plain xpub was scanned as and which hold coins.

    Example:
        >>> from utxo_truth import TargetHoldings
        >>> t = TargetHoldings(target="tpubDD8aVRa", kind="xpub", script_type="any",
        ...     method="gap", bound=20, chains=(), utxos=(), scanned_as=("pkh", "wpkh"))
        >>> scanned_as_line(t)
        'tpubDD... scanned as pkh, wpkh; no coins under any of them'
    """
    tried = ", ".join(_type_name(k) for k in t.scanned_as)
    found = ", ".join(_type_name(k) for k in t.coins_under)
    said = f"coins under {found}" if found else "no coins under any of them"
    return f"{t.target[:6]}... scanned as {tried}; {said}"


def render_holdings(
    h: Holdings, *, utxos: bool = False, width: int | None = None, color: bool = False
) -> str:
    """The ``scan`` table of ``h`` as text.

    Per target, the totals by verification and state, the one-line warning when the answer is
    incomplete, the total, the block, the sources' consensus, the problems, and with ``utxos``
    every coin.

    ``width``: a terminal's columns (long txids and xpubs fold to fit); None for piped text, one
    row a line. ``color``: ANSI styles, for a terminal. Either way the same facts; amounts are
    never cut or wrapped, and every outside string is escaped.

    Example:
        >>> text = render_holdings(h, utxos=True, width=80)  # doctest: +SKIP
        >>> "total (each coin once)" in text  # doctest: +SKIP
        True
    """
    from rich.console import Console

    screen = 10_000 if width is None else width

    target_header = [
        ("#", "right", False),
        ("target", "left", True),
        ("type", "left", True),
        ("method", "left", True),
        ("used indexes", "left", True),
        ("coins", "right", False),
        ("BTC", "right", False),
        ("sats", "right", False),
    ]
    target_rows = []
    for i, t in enumerate(h.targets, 1):
        used = (
            "; ".join(
                f"{c.name} {_ranges(c.used_indexes)}"
                for c in t.chains
                if c.used_indexes or not t.scanned_as  # a plain xpub: its used types only
            )
            or "-"
        )
        method = t.method if t.method in ("single", "list") else f"{t.method} {t.bound}"
        if t.scripts_watched is not None:  # a watch list: how many of its scripts hold coins
            used = f"{t.scripts_holding:,} of {t.scripts_watched:,} scripts hold coins"
        target_rows.append(
            [
                str(i),
                t.target,
                t.script_type,
                method,
                used,
                str(len(t.utxos)),
                format_btc(t.total_sats),
                str(t.total_sats),
            ]
        )

    def count(pred: Any, coins: tuple[Utxo, ...]) -> tuple[str, int]:
        chosen = [u for u in coins if pred(u)]
        return str(len(chosen)), sum(u.value for u in chosen)

    lines = [
        (
            "verified (proven, or your own node)",
            count(lambda u: u.verification != "unverified", h.utxos),
        ),
        (
            "unverified (a server's word only)",
            count(lambda u: u.verification == "unverified", h.utxos),
        ),
        ("pending (unconfirmed, not counted)", count(lambda u: True, h.pending)),
        ("spent in mempool (leaving)", count(lambda u: u.spent_by is not None, h.utxos)),
        ("immature coinbase", count(lambda u: u.immature, h.utxos)),
        (
            "spendable",
            count(
                lambda u: u.verification != "unverified" and not u.immature and u.spent_by is None,
                h.utxos,
            ),
        ),
    ]
    sum_header = [
        ("", "left", False),
        ("coins", "right", False),
        ("BTC", "right", False),
        ("sats", "right", False),
    ]
    sum_rows = [[label, n, format_btc(v), str(v)] for label, (n, v) in lines]
    total_rows = [
        ["total (each coin once)", str(len(h.utxos)), format_btc(h.total_sats), str(h.total_sats)]
    ]
    # the breakdown and the total are two tables (the warning sits between them) of equal widths
    widths = [max(len(r[i]) for r in sum_rows + total_rows) for i in range(4)]
    sum_rows = [
        [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        for r in sum_rows
    ]
    total_rows = [
        [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        for r in total_rows
    ]

    coin_header = [
        ("outpoint", "left", True),
        ("BTC", "right", False),
        ("height", "right", False),
        ("address", "left", True),
        ("path", "left", True),
        ("status", "left", True),
    ]
    coin_rows = []
    for u in (*h.utxos, *h.pending) if utxos else ():  # the coin table is shown with utxos only
        where = coin_path(h, u)
        if u.origin is not None and len(h.targets) > 1:
            where = f"#{u.origin.target + 1} {where}"
        state = coin_status(u)
        status = u.verification if state == "confirmed" else f"{u.verification} {state}"
        coin_rows.append(
            [
                u.outpoint,
                format_btc(u.value),
                "mempool" if u.height is None else str(u.height),
                u.address or "-",
                where,
                status,
            ]
        )

    needed = max(
        _needed_width(target_header, target_rows),
        _needed_width(sum_header, sum_rows),
        _needed_width(coin_header, coin_rows) if utxos else 0,
    )
    width = max(screen, needed)  # narrower than this, the terminal wraps lines; nothing is cut
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="auto" if color else None,
        highlight=False,
        legacy_windows=False,
    )
    show = console.print  # into the buffer: the CLI alone writes to the user's streams
    show(_table(None, target_header, target_rows, width))
    show(_table(None, sum_header, sum_rows, width))
    status_line = holdings_status(h)
    if status_line is not None:
        show(f"[bold red]{_safe(status_line)}[/]", soft_wrap=True, highlight=False)
    total = _table(None, sum_header, total_rows, width)
    total.show_header = False
    show(total)
    for t in h.targets:
        if t.scanned_as:
            show(_safe(scanned_as_line(t)), highlight=False)
    show(f"network {_safe(h.network)}, true at block {h.block.height}", highlight=False)
    show(f"block hash {h.block.hash}", highlight=False)
    show(f"source {_safe(h.source)}", highlight=False)
    if h.consensus is not None:
        c = h.consensus
        verdict = "[green]agreed[/]" if c.agreed else "[bold red]did NOT agree[/]"
        show(f"consensus (policy {_safe(c.policy)}): the sources {verdict}", highlight=False)
        answer_rows = [
            [
                a.source,
                "-" if a.block is None else str(a.block.height),
                "-" if a.total_sats is None else format_btc(a.total_sats),
                a.error or "",
            ]
            for a in c.sources
        ]
        show(
            _table(
                None,
                [
                    ("source", "left", True),
                    ("block", "right", False),
                    ("BTC", "right", False),
                    ("error", "left", True),
                ],
                answer_rows,
                width,
            )
        )
    if h.problems:
        show(f"problems ({len(h.problems)}):", highlight=False)
        for p in h.problems:
            show(f"  - {_safe(p)}", highlight=False)
    if utxos:
        show(_table(f"coins ({len(coin_rows)})", coin_header, coin_rows, width))
    text = buffer.getvalue()
    if color:
        return text
    return "".join(line.rstrip() + "\n" for line in text.splitlines())  # no padding to the right
