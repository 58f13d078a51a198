"""One retry policy for every source: what is asked again, how long to pause, when to stop.

"What happens on a 429?" is answered here. Two kinds of trouble are told apart:

* a *failure* (a 5xx, a dropped connection, a timeout, a truncated reply) is tried again up to
  ``retries`` times after the first, pausing ``backoff * 2**(n-1)`` seconds (full jitter: a
  uniform pick between 0 and that, so that many clients do not come back at the same moment);
* *busy* (HTTP 429/503, a node running another scan) is waited out without counting as a
  failure, honouring the server's ``Retry-After`` (seconds or an HTTP date), until the time
  spent waiting would pass ``max_wait``: then the caller reports the server as busy.

Used by Esplora's GETs, Electrum's reconnects and bitcoind's wait for a running
``scantxoutset``; nothing here touches the network, so the policy is tested without a server.

Example:
    >>> policy = RetryPolicy(retries=2, backoff=0.0)
    >>> attempts = policy.start()
    >>> attempts.after_failure(), attempts.after_failure(), attempts.after_failure()
    (0.0, 0.0, None)
    >>> retry_after_seconds("7")
    7
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass

__all__ = ["Attempts", "RetryPolicy", "retry_after_seconds"]

_MAX_EXPONENT = 10
"""Doubling stops after this many steps (0.5 s backoff: at most 512 s, a cap no budget reaches)."""


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (RFC 9110 10.2.3: delta-seconds or an HTTP date).

    None when the header is absent or unreadable; a date in the past is 0.

    Example:
        >>> retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
        10.0
        >>> retry_after_seconds("soon") is None
        True
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)  # a duration in seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a request is asked again.

    Args:
        retries: attempts after the first for a failure (not for busy replies).
        backoff: the first pause in seconds, doubled each time.
        max_wait: the most seconds waited in all for a busy server (``Retry-After`` included).
        max_pause: the longest single pause (after doubling, before jitter).
        jitter: full jitter (a uniform pick in ``[0, pause]``); False pauses the whole amount.

    Example:
        >>> RetryPolicy(backoff=1.0, max_pause=10.0, jitter=False).pause(5)
        10.0
    """

    retries: int = 3
    backoff: float = 0.5
    max_wait: float = 60.0
    max_pause: float = math.inf
    jitter: bool = True

    def pause(self, n: int, rng: random.Random | None = None) -> float:
        """The pause before the ``n``-th retry (1-based): doubled, capped, then jittered."""
        doubling = 2.0 ** min(max(n, 1) - 1, _MAX_EXPONENT)
        ceiling = min(self.backoff * doubling, self.max_pause)
        if not self.jitter:
            return ceiling
        return rng.uniform(0, ceiling) if rng is not None else random.uniform(0, ceiling)

    def start(self, rng: random.Random | None = None) -> Attempts:
        """A fresh count for one request."""
        return Attempts(self, rng)


@dataclass(slots=True)
class Attempts:
    """The retries of one request under a :class:`RetryPolicy`.

    Each method returns the seconds to pause before asking again, or None when the caller
    must give up (and raise its typed error).
    """

    policy: RetryPolicy
    rng: random.Random | None = None
    attempt: int = 0
    """Attempts that ended in trouble so far (failures and busy replies)."""
    failures: int = 0
    waited: float = 0.0
    """Seconds spent waiting out busy replies so far."""

    def after_failure(self) -> float | None:
        """A failed attempt: the pause, or None once ``retries`` are used up."""
        self.attempt += 1
        self.failures += 1
        if self.failures > self.policy.retries:
            return None
        return self.policy.pause(self.failures, self.rng)

    def after_busy(self, retry_after: float | None = None) -> float | None:
        """A busy reply: the pause (``retry_after`` if the server said), or None past the budget."""
        self.attempt += 1
        pause = (
            retry_after if retry_after is not None else self.policy.pause(self.attempt, self.rng)
        )
        if pause > self.policy.max_wait or self.waited + pause > self.policy.max_wait:
            return None
        self.waited += pause
        return pause
