r"""The one renderer of a :class:`~utxo_truth.Report`: terminal, text, JSON, CSV, DataFrame, HTML.

Views are functions of this module, never methods of the model (``Report._repr_html_``, which
Jupyter needs, calls :func:`to_html`). The terminal view (:func:`renderables`, printed by the CLI) and the piped
one (:func:`render_text`) are the same rich renderables printed with and without colour, so they
show the same facts. Every string a user or a file gave (names, check messages, sources) is
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

from ._report_models import Report

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.text import Text

__all__ = [
    "format_btc",
    "render_text",
    "renderables",
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
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("to_dataframe needs pandas: pip install 'utxo-truth[dataframe]'") from exc
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


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.big{font-size:1.15em} .small{color:#666;font-size:.85em}
table{border-collapse:collapse;width:100%;font-size:.9em} th,td{padding:.3em .5em;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1em} .sw{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}
.critical{color:#b71c1c;font-weight:600} .warning{color:#e65100} .info{color:#455a64}
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
        return f"<style>{_CSS}</style>{inner}"
    return f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>utxo_truth report, block {report.block.height}</title><style>{_CSS}</style></head><body>{inner}</body></html>\n'


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
