"""report.py without a terminal: the text view at any width, any name, and the pure reconcile.

One reconcile of the example portfolio on the bundled snapshot (a file, no server), then the
renderers over it: widths from 20 to 200 columns, names drawn by hypothesis from all of Unicode.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utxo_truth import (
    InputError,
    Report,
    load_portfolio,
    reconcile,
    reconcile_holdings,
    scan,
    scan_targets,
)
from utxo_truth.report import format_btc, render_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "portfolio.toml"


@pytest.fixture(scope="module")
def report() -> Report:
    return reconcile(load_portfolio(EXAMPLE))


@pytest.fixture(scope="module")
def held() -> Any:
    p = load_portfolio(EXAMPLE)
    assert p.source is not None
    return scan(scan_targets(p), network=p.network, source=p.source)


def _amounts(r: Report) -> set[str]:
    sats: list[Any] = [r.finality_sats, r.shadow_sats, r.total_sats, *r.by_book.values()]
    for w in r.wallets:
        sats += [w.verified_sats, w.pending_sats, w.unverified_sats]
    for p in r.positions:
        sats += [p.amount_sats, p.at_risk_sats]
    for c in r.custodians:
        sats += [c.verified_reserves_sats, c.liabilities_sats, c.claimed_reserves_sats]
        sats += [c.at_risk_sats]
    return {format_btc(s) for s in sats}


@pytest.mark.parametrize("width", [20, 40, 60, 80, 100, 120, 160, 200])
def test_no_amount_is_cut_at_any_width(report: Report, width: int) -> None:
    text = render_text(report, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    words = set(re.split(r"\s+|[(),:]", text))
    assert _amounts(report) <= words, sorted(_amounts(report) - words)
    assert "…" not in text
    assert text.count("[critical]") == sum(c.level == "critical" for c in report.checks)
    assert text.count("[warning]") == sum(c.level == "warning" for c in report.checks)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(min_size=1, max_size=600))
def test_any_name_renders_inert(report: Report, name: str) -> None:
    positions = tuple(
        p.model_copy(update={"name": name, "custodian": name}) for p in report.positions
    )
    r = report.model_copy(update={"positions": positions})
    text = render_text(r, width=80)
    for ch in text:
        assert ch == "\n" or unicodedata.category(ch) != "Cc", repr(ch)
    assert "\u202e" not in text
    words = set(re.split(r"\s+|[(),:]", text))
    assert {format_btc(p.amount_sats) for p in r.positions} <= words


def test_reconcile_holdings_is_the_pure_half(report: Report, held: Any) -> None:
    p = load_portfolio(EXAMPLE)
    assert reconcile_holdings(p, held) == report == reconcile(p, holdings=held)
    with pytest.raises(InputError, match="holdings cover 1 targets, the portfolio needs"):
        reconcile_holdings(p, held.model_copy(update={"targets": held.targets[:1]}))


def test_a_wrapped_custodian_needs_its_supply_read_first(held: Any) -> None:
    from utxo_truth import Custodian

    p = load_portfolio(EXAMPLE)
    wrapped = Custodian(name="W", tokens=("ethereum:0x2260fac5e5542a773aa44fbcfedf7c193bc2c599",))
    p = p.model_copy(update={"custodians": (*p.custodians, wrapped)})  # no reserves: same scan
    with pytest.raises(
        InputError, match="W: a wrapped custodian owes its token supply, which is not read yet"
    ):
        reconcile_holdings(p, held)
