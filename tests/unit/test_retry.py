"""The one retry policy (sources/_retry.py), without a server: pauses, budgets, Retry-After."""

from __future__ import annotations

import random

import pytest

from utxo_truth.sources._retry import RetryPolicy, retry_after_seconds


def test_failures_are_retried_retries_times_then_given_up() -> None:
    attempts = RetryPolicy(retries=3, backoff=0.5).start(random.Random(1))
    pauses = [attempts.after_failure() for _ in range(4)]
    assert pauses[3] is None
    # full jitter: each pause lies in [0, backoff * 2**(n-1)]
    for n, pause in enumerate(pauses[:3], start=1):
        assert pause is not None and 0.0 <= pause <= 0.5 * 2 ** (n - 1)


def test_zero_retries_gives_up_after_the_first_failure() -> None:
    assert RetryPolicy(retries=0).start().after_failure() is None


def test_pause_doubles_and_is_capped_without_jitter() -> None:
    policy = RetryPolicy(backoff=1.0, max_pause=10.0, jitter=False)
    assert [policy.pause(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_doubling_stops_after_ten_steps() -> None:
    policy = RetryPolicy(backoff=1.0, jitter=False)
    assert policy.pause(11) == policy.pause(40) == 1024.0


def test_jitter_spreads_pauses_over_the_whole_range() -> None:
    policy = RetryPolicy(backoff=1.0)
    rng = random.Random(7)
    picks = [policy.pause(4, rng) for _ in range(400)]
    assert min(picks) < 1.0 and max(picks) > 7.0 and all(0.0 <= p <= 8.0 for p in picks)


def test_busy_replies_honour_retry_after_within_the_budget() -> None:
    attempts = RetryPolicy(retries=0, max_wait=10.0).start()
    assert attempts.after_busy(4.0) == 4.0
    assert attempts.after_busy(5.0) == 5.0
    assert attempts.waited == 9.0
    assert attempts.after_busy(2.0) is None  # 11 s in all would pass max_wait


def test_a_single_retry_after_longer_than_the_budget_gives_up_at_once() -> None:
    assert RetryPolicy(max_wait=30.0).start().after_busy(120.0) is None


def test_busy_replies_do_not_use_up_failure_retries() -> None:
    attempts = RetryPolicy(retries=1, backoff=0.0, max_wait=5.0).start()
    for _ in range(5):
        assert attempts.after_busy() == 0.0
    assert attempts.after_failure() == 0.0
    assert attempts.after_failure() is None


def test_busy_backoff_without_retry_after_grows_with_every_attempt() -> None:
    attempts = RetryPolicy(backoff=1.0, max_wait=1000.0, jitter=False).start()
    assert attempts.after_failure() == 1.0
    assert attempts.after_busy() == 2.0  # the second attempt in trouble
    assert attempts.after_busy() == 4.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        ("  3 ", 3.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
        ("next tuesday", None),
        ("-5", None),
    ],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=1445412470.0) == seconds
