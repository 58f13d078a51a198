"""The one rule for coins from a history, and the comparison with a server's listing (_history)."""

from __future__ import annotations

import pytest

from utxo_truth.sources._history import (
    Derived,
    HistoryTx,
    Listed,
    coins_from_history,
    compare_listing,
    compare_total,
)

ME, YOU = b"\x00\x14" + b"\x01" * 20, b"\x00\x14" + b"\x02" * 20
A, B, C = "aa" * 32, "bb" * 32, "cc" * 32


def outs(*pairs: tuple[bytes, int]) -> tuple[tuple[bytes, int], ...]:
    return tuple(pairs)


# (history, expected confirmed as (txid, vout, spent_by), expected pending as (txid, vout))
CASES = {
    "a receipt is a coin": (
        [HistoryTx(A, 5, outs((ME, 700), (YOU, 300)))],
        [(A, 0, None)],
        [],
    ),
    "spent in a block: gone": (
        [HistoryTx(A, 5, outs((ME, 700))), HistoryTx(B, 6, outs((YOU, 690)), ((A, 0),))],
        [],
        [],
    ),
    "spent in the mempool: kept, spent_by": (
        [HistoryTx(A, 5, outs((ME, 700))), HistoryTx(B, None, outs((YOU, 690)), ((A, 0),))],
        [(A, 0, B)],
        [],
    ),
    "an unconfirmed receipt": (
        [HistoryTx(A, None, outs((ME, 700)))],
        [],
        [(A, 0)],
    ),
    "an unconfirmed receipt spent in the mempool: gone": (
        [HistoryTx(A, None, outs((ME, 700))), HistoryTx(B, None, outs((ME, 1)), ((A, 0),))],
        [],
        [(B, 0)],
    ),
    "change back to the script": (
        [HistoryTx(A, 5, outs((ME, 700))), HistoryTx(B, 6, outs((YOU, 500), (ME, 190)), ((A, 0),))],
        [(B, 1, None)],
        [],
    ),
    "a confirmed spender wins over a mempool conflict": (
        [
            HistoryTx(A, 5, outs((ME, 700))),
            HistoryTx(C, 7, outs((YOU, 1)), ((A, 0),)),
            HistoryTx(B, None, outs((YOU, 1)), ((A, 0),)),
        ],
        [],
        [],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_coins_follow_from_the_history(name: str) -> None:
    history, confirmed, pending = CASES[name]
    got_c, got_p, problems = coins_from_history(ME, history, "me")
    assert [(c.txid, c.vout, c.spent_by) for c in got_c] == confirmed
    assert [(c.txid, c.vout) for c in got_p] == pending
    assert problems == []
    # the order of the history does not matter
    again = coins_from_history(ME, list(reversed(history)), "me")
    assert again[0] == got_c and again[1] == got_p


def test_outspends_have_the_last_word_and_a_disagreement_is_said() -> None:
    history = [HistoryTx(A, 5, outs((ME, 700), (ME, 5)))]
    said = {A: [(True, B, True), (False, None, False)]}  # output 0 spent, history does not show it
    confirmed, _p, problems = coins_from_history(ME, history, "me", said)
    assert [(c.txid, c.vout) for c in confirmed] == [(A, 1)]
    assert len(problems) == 1 and "disagree" in problems[0] and f"{A}:0" in problems[0]
    _c, _p, problems = coins_from_history(ME, history, "me", {A: [(False, None, False)]})
    assert any("no entry" in p and f"{A}:1" in p for p in problems)


def test_listing_comparison_names_each_difference() -> None:
    mine = [Derived(A, 0, 700, 5), Derived(B, 1, 50, 6)]
    receipts = [Derived(C, 0, 9, None)]
    listed = [
        Listed(A, 0, 600, 5),  # value differs
        Listed(B, 1, 50, 7),  # height differs
        Listed("dd" * 32, 0, 1, 8),  # not explained by the history
        Listed("ee" * 32, 0, 1, None),  # unconfirmed and not in the history
    ]  # and the receipt C:0 is omitted
    unexplained, problems = compare_listing(mine, receipts, listed, "me")
    assert [(u.txid, u.vout) for u in unexplained] == [("dd" * 32, 0)]
    text = "\n".join(problems)
    assert "listed 600 sats, the transaction says 700" in text
    assert "listed height 7, its history says 6" in text
    assert "unconfirmed coin listed but not in the history" in text
    assert f"{C}:0 (me): proven by the history but omitted by listunspent" in text
    assert len(problems) == 4


def test_an_incomplete_history_does_not_judge_listed_coins() -> None:
    unexplained, problems = compare_listing([], [], [Listed(A, 0, 1, 5)], "me", complete=False)
    assert unexplained == [] and problems == []


def test_a_coin_spent_in_the_mempool_is_not_expected_in_the_listing() -> None:
    spent = [Derived(A, 0, 700, 5, spent_by=B)]
    assert compare_listing(spent, [], [], "me") == ([], [])


def test_totals() -> None:
    assert compare_total(5, 5, "me", "get_balance says") == []
    (problem,) = compare_total(5, 4, "me", "chain_stats imply")
    assert problem.startswith("me: chain_stats imply 5 sats, the coins add up to 4")
