"""Renderers for a :class:`~utxo_truth.reconcile.Report`: JSON, CSV, DataFrame, HTML, text.

The HTML page is self-contained: inline CSS and SVG charts, no script, nothing fetched.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Holdings, Utxo
    from .reconcile import Report

__all__ = [
    "coin_path",
    "coin_status",
    "format_btc",
    "holdings_csv",
    "holdings_rows",
    "holdings_status",
    "render_holdings",
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


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.big{font-size:1.15em} .small{color:#666;font-size:.85em}
table{border-collapse:collapse;width:100%;font-size:.9em} th,td{padding:.3em .5em;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1em} .sw{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}
.critical{color:#b71c1c;font-weight:600} .warning{color:#e65100} .info{color:#455a64}
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
        '<div class="utxo-truth-report">',
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
        return f"<style>{_CSS}</style>{inner}"
    return f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>utxo_truth report, block {report.block.height}</title><style>{_CSS}</style></head><body>{inner}</body></html>\n'


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


def holdings_rows(h: Holdings) -> list[dict[str, Any]]:
    """One row per coin (confirmed, then pending), each outpoint once; amounts in satoshis.

    Example:
        >>> holdings_rows(h)[0]["verification"]  # doctest: +SKIP
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
    """CSV of :func:`holdings_rows`, one row per coin, amounts in satoshis.

    Columns: ``txid, vout, value, height`` (blank: pending), ``address, path, verification,
    target, status`` and the block it is true at.

    Example:
        >>> holdings_csv(h).splitlines()[0]  # doctest: +SKIP
        'txid,vout,value,height,address,path,verification,target,status,block_height,block_hash'
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(_HOLDINGS_CSV_FIELDS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(holdings_rows(h))
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
        used = "; ".join(f"{c.name} {_ranges(c.used_indexes)}" for c in t.chains) or "-"
        method = t.method if t.method == "single" else f"{t.method} {t.bound}"
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
    for u in (*h.utxos, *h.pending):
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
