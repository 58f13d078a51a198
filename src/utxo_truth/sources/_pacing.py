"""Pacing Electrum requests by the server's session cost model, and resuming after a refusal.

What a public ElectrumX does to a busy client (ElectrumX ``server/session.py`` and aiorpcx
``session.py``, the defaults of ElectrumX 1.16 to 2.0):

* every request adds to the session's *cost*: a charge per method (``transaction.get`` 1,
  ``get_merkle`` about 0.35, ``listunspent`` and ``get_balance`` 1 + coins/50,
  ``block.headers`` count/50, ``get_history`` 0.2 + entries/1000, ...) plus the bytes read and
  written over ``BANDWIDTH_UNIT_COST`` (5,000); an error answer adds 100;
* the cost decays by ``COST_HARD_LIMIT`` / 10,000 a second (1 a second);
* past ``COST_SOFT_LIMIT`` (1,000) each request first sleeps ``fraction`` x ``REQUEST_SLEEP``
  (2.5 s), where ``fraction = (cost - soft) / (hard - soft)``, and at most
  ``ceil((1 - fraction) x INITIAL_CONCURRENT)`` (10) requests run at once;
* a request not answered ``REQUEST_TIMEOUT`` (30 s) after it arrived -- its wait for a free slot
  included -- is answered ``server busy - request timed out`` (-102), and costs 100 more; at
  ``COST_HARD_LIMIT`` (10,000) the session is answered ``excessive resource usage`` (-101) and
  closed.

So 1,900 requests written at once are served quickly while the cost is under the soft limit, and
past it the tail of the queue waits more than 30 s: refusals, 100 each, the cost rising to the
hard limit. A testnet4 address holding 1,360 coins ended that way after 54 s. This module keeps
the queue short instead (Electrum's own client does the like through aiorpcx, which sizes its
outgoing concurrency to a 3 s round trip):

1. requests go out in *windows*; a window is the largest whose last answer is predicted within
   ``target`` seconds (8 by default, well inside the 30 s timeout): the measured seconds per
   answer plus the server's own delay at the cost the window would bring the session to (so the
   window narrows *before* the soft limit is crossed, not after);
2. a slower answer rate is believed at once, a faster one by halves (a sign of the soft limit
   shrinks the next window at once); a refusal halves the window, and clean windows double it
   back; a server that does not slow down as the model says (its limits raised or off) makes
   the model raise its soft limit to twice the cost reached unslowed;
3. only refused requests are asked again, first, after a pause; answers already in are kept (a
   closed session is reopened by the connection, and the model starts that session afresh);
4. the estimated cost is kept under ``ceiling`` of the hard limit by waiting for its decay;
5. once the server has refused for ``max_wait`` seconds (or a wait for decay would pass that),
   :class:`~utxo_truth._exceptions.ServerBusyError` says so, with what was answered.

The model is an estimate the client keeps (the server does not tell its cost); measurement
corrects it (a window answered at the unthrottled rate means the cost is under the soft limit).

Example:
    >>> model = CostModel()
    >>> model.charge("blockchain.transaction.get", 600, error=False)
    >>> round(model.cost, 2)
    6.14
    >>> model.fraction()
    0.0
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._exceptions import ServerBusyError
from ._jsonrpc import Reply

__all__ = ["REFUSAL_CODES", "CostModel", "Pacer", "is_refusal", "paced_call"]

REFUSAL_CODES = frozenset({-101, -102})
"""aiorpcx's EXCESSIVE_RESOURCE_USAGE and SERVER_BUSY: the request was not served, ask again."""

# ElectrumX's charge per method (session.py ``bump_cost``); the per-item parts are estimated from
# the reply's size. A method not listed is charged 1.
_BASE_COST = {
    "server.version": 0.1,
    "server.features": 0.2,
    "server.ping": 0.1,
    "blockchain.headers.subscribe": 0.25,
    "blockchain.block.header": 0.25,
    "blockchain.block.headers": 0.0,  # count / 50, below
    "blockchain.scripthash.get_history": 0.2,
    "blockchain.scripthash.listunspent": 1.0,
    "blockchain.scripthash.get_balance": 1.0,
    "blockchain.scripthash.get_mempool": 0.25,
    "blockchain.transaction.get": 1.0,
    "blockchain.transaction.get_merkle": 0.35,
    "blockchain.transaction.id_from_pos": 0.35,
}
_PER_50 = frozenset(
    {
        "blockchain.block.headers",  # count / 50
        "blockchain.scripthash.listunspent",  # 1 + coins / 50
        "blockchain.scripthash.get_balance",  # 1 + coins / 50
    }
)


@dataclass
class CostModel:
    """ElectrumX's session cost, as this client estimates it (defaults: ElectrumX's own).

    Example:
        >>> m = CostModel(cost=5500.0, clock=lambda: 0.0)
        >>> round(m.fraction(), 2), m.concurrency()
        (0.5, 5)
    """

    soft_limit: float = 1_000.0
    hard_limit: float = 10_000.0
    request_sleep: float = 2.5
    initial_concurrent: int = 10
    request_timeout: float = 30.0
    bandwidth_unit_cost: float = 5_000.0
    error_cost: float = 100.0
    cost: float = 5.0
    """A new session starts at 5 (ElectrumX charges the connection)."""
    clock: Callable[[], float] = time.monotonic
    charged: float = 0.0
    """Cost charged over the model's life (for the mean charge of a request)."""
    requests: int = 0
    _at: float = field(default=-1.0, repr=False)

    @property
    def decay_per_second(self) -> float:
        """The cost refunded each second (aiorpcx: hard limit / 10,000)."""
        return self.hard_limit / 10_000

    def now(self) -> float:
        """The cost at this moment (decayed since the last charge)."""
        t = self.clock()
        if self._at >= 0:
            self.cost = max(0.0, self.cost - (t - self._at) * self.decay_per_second)
        self._at = t
        return self.cost

    def new_session(self) -> None:
        """A reconnect: the server charges a new session from 5 again."""
        self.cost = 5.0
        self._at = self.clock()

    def estimate(self, method: str, params: Sequence[Any] = ()) -> float:
        """A request's charge before its answer is known (its method's, and a small reply).

        A ``block.headers`` request is charged by its size: count / 50 and its 160 hex
        characters a header (a 2016-header chunk is ~105, not a small reply's 0.12).
        """
        if method == "blockchain.block.headers" and len(params) >= 2 and isinstance(params[1], int):
            count = max(params[1], 0)
            return (
                _BASE_COST.get(method, 1.0)
                + count / 50
                + (count * 160 + 600) / (self.bandwidth_unit_cost)
            )
        return _BASE_COST.get(method, 1.0) + 600 / self.bandwidth_unit_cost

    def charge(self, method: str, reply_bytes: int, *, error: bool, items: int = 0) -> None:
        """Add one request: its method's charge, its bytes, 100 more if it was an error."""
        self.now()
        base = _BASE_COST.get(method, 1.0)
        if method in _PER_50:
            base += items / 50
        elif method == "blockchain.scripthash.get_history":
            base += items / 1000
        charge = base + (reply_bytes + 120) / self.bandwidth_unit_cost
        if error:
            charge += self.error_cost
        self.cost += charge
        self.charged += charge
        self.requests += 1

    def fraction(self, extra: float = 0.0) -> float:
        """How far into the soft range the cost is: 0 under the soft limit, 1 at the hard one."""
        span = self.hard_limit - self.soft_limit
        if span <= 0:
            return 0.0
        return min(1.0, max(0.0, (self.now() + extra - self.soft_limit) / span))

    def concurrency(self) -> int:
        """Requests the server runs at once for this session now."""
        return max(0, math.ceil((1.0 - self.fraction()) * self.initial_concurrent))

    def seconds_per_request(self, extra: float = 0.0) -> float:
        """The server's own delay per request when many are queued (0 under the soft limit).

        ``extra``: cost the requests in flight will add first.
        """
        f = self.fraction(extra)
        if f <= 0:
            return 0.0
        slots = max(0, math.ceil((1.0 - f) * self.initial_concurrent))
        return f * self.request_sleep / max(1, slots)

    def mean_charge(self) -> float:
        """The mean cost of a request so far (1 before any)."""
        return self.charged / self.requests if self.requests else 1.0


class _Conn(Protocol):
    def call(self, calls: Sequence[tuple[str, list[Any]]], batch_size: int) -> list[Reply]: ...


@dataclass
class Pacer:
    """Sizes the windows of requests sent to one server, and waits when the server refuses.

    Args:
        model: the server's cost model (ElectrumX's defaults unless told otherwise).
        target: seconds a window's answers may take in all (a fraction of the 30 s timeout).
        first_window, min_window, max_window: requests in flight, at first and at most.
        max_wait: seconds the server may go on refusing before :class:`ServerBusyError`.
        ceiling: the share of the hard limit the estimated cost is kept under.

    Example:
        >>> p = Pacer(first_window=100, clock=lambda: 0.0)
        >>> p.window([1.0] * 500)  # nothing measured yet
        100
        >>> p.answered(10.0, 10, 2.8)  # 10 units of charge in 2.8 s
        >>> p.answered(100.0, 100, 20.8)  # 100 in 20.8 s: 0.8 s fixed, 0.2 s a unit
        >>> p.window([1.0] * 500)  # 8 s hold 0.8 s and 36 units
        36
    """

    model: CostModel = field(default_factory=CostModel)
    target: float = 8.0
    first_window: int = 200
    min_window: int = 1
    max_window: int = 20_000
    max_wait: float = 120.0
    ceiling: float = 0.8
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _cap: int = field(default=0, repr=False)
    window_was: int = 0
    """The size of the last window sent."""
    _per_charge: float = field(default=0.0, repr=False)
    _latency: float = field(default=0.0, repr=False)
    _samples: list[tuple[float, float]] = field(default_factory=list, repr=False)
    _measured: bool = field(default=False, repr=False)
    _refused_ever: bool = field(default=False, repr=False)
    _refused_since: float | None = field(default=None, repr=False)
    _refusals: int = field(default=0, repr=False)
    resent: int = 0
    """Requests asked again after a refusal, over the pacer's life."""
    waited: float = 0.0
    """Seconds this client paused (decay waits and pauses after refusals)."""

    def __post_init__(self) -> None:
        self._cap = max(self.min_window, min(self.first_window, self.max_window))

    def window(self, charges: Sequence[float]) -> int:
        """How many of the requests waiting (their estimated charges, in order) to send now.

        The most whose answers are predicted within ``target``: their charges times the measured
        seconds per unit of charge (ElectrumX's charges follow the work a request makes, so one
        rate serves every method), plus the server's own delay at the cost the window would
        bring the session to. Waits first for the cost to decay, if it must.
        """
        limit = self.ceiling * self.model.hard_limit
        over = self.model.now() - limit
        if over > 0:
            pause = over / self.model.decay_per_second
            self._pause(pause, f"its cost limit needs {pause:.0f} s to decay")
        cap = min(self._cap, len(charges))
        if not self._measured:
            # nothing measured yet: ``first_window`` requests, or fewer if they would charge
            # more than a fresh session can take before its soft limit (a quarter of it)
            total, n = 0.0, 0
            for c in charges[:cap]:
                total += c
                if n and total > self.model.soft_limit / 4:
                    break
                n += 1
            return max(1, n)
        total = 0.0
        n = 0
        for c in charges[:cap]:
            total += c
            # the server's delay for a request grows with the cost the ones before it added
            delay = self.model.seconds_per_request(total)
            took = self._latency + total * self._per_charge + (n + 1) * delay
            if n >= self.min_window and took > self.target:
                break
            n += 1
        return max(1, n)

    def answered(self, charge: float, n: int, seconds: float, *, refused: int = 0) -> None:
        """``n`` requests (``charge`` in all) were answered in ``seconds``, ``refused`` were not."""
        if refused == 0:
            self._refused_since, self._refusals = None, 0
            # a clean window doubles the cap back (after a refusal, or while the windows are too
            # small to measure the server's rate); once a full-size window measured the rate,
            # the prediction alone sizes the windows
            full = n >= self.first_window or charge >= self.model.soft_limit / 8
            if full and not self._refused_ever:
                self._cap = self.max_window
            else:
                self._cap = min(self.max_window, 2 * self._cap)
                if self._cap == self.max_window:
                    self._refused_ever = False
        if n <= 0 or charge <= 0:
            return
        predicted = n * self.model.seconds_per_request()
        # a window's time is a fixed part (the round trip, a server holding small replies for
        # more) and a part that grows with the work asked: a line fitted to the last windows
        # (time against charge) tells them apart; until two windows differ, all is work
        self._samples = [*self._samples[-7:], (charge, max(0.0, seconds - predicted))]
        self._latency, self._per_charge = _fit(self._samples)
        latest = self._samples[-1][1]
        biggest = max(c for c, _t in self._samples)
        if charge >= biggest / 2 and latest > self._latency + self._per_charge * charge:
            # a big window slower than the line: believed at once (a small one's time is
            # mostly the fixed part, and says little about the work)
            self._per_charge = (latest - self._latency) / charge
        self._measured = True
        if predicted > 0 and seconds < 0.25 * predicted:
            # the server does not slow us as the model says: its limits are higher than
            # ElectrumX's defaults (or off); the model learns a soft limit at least twice what
            # was reached unslowed, with the same span to the hard limit
            reached = self.model.now()
            span = self.model.hard_limit - self.model.soft_limit
            self.model.soft_limit = max(self.model.soft_limit, 2 * reached)
            self.model.hard_limit = self.model.soft_limit + span

    def refused(self, n: int, answered: int, total: int) -> None:
        """``n`` requests were refused: halve the window and pause, or raise past ``max_wait``."""
        now = self.clock()
        if self._refused_since is None:
            self._refused_since = now
        self._refusals += 1
        self.resent += n
        self._cap = max(self.min_window, (self.window_was or self._cap) // 2)
        self._refused_ever = True
        pause = min(2.0 ** min(self._refusals, 4), 8.0)
        self._pause(pause, f"it refused {n} request(s); {answered} of {total} were answered")

    def _pause(self, seconds: float, why: str) -> None:
        start = self._refused_since if self._refused_since is not None else self.clock()
        spent = self.clock() - start
        if spent + seconds > self.max_wait:
            raise ServerBusyError(
                f"the server is rate-limiting this client and {why}: gave up after "
                f"{spent:.0f} s (max_wait={self.max_wait:g} s). Wait and retry, or use another "
                "server",
                code=-102,
            )
        self.waited += seconds
        self.sleep(seconds)


def _fit(samples: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(fixed seconds, seconds per unit of charge): least squares, both kept >= 0."""
    n = len(samples)
    mean_c = sum(c for c, _t in samples) / n
    mean_t = sum(t for _c, t in samples) / n
    var = sum((c - mean_c) ** 2 for c, _t in samples)
    if var <= 1e-9 * max(1.0, mean_c**2):  # one size of window: no telling, all is work
        return 0.0, mean_t / mean_c if mean_c > 0 else 0.0
    slope = sum((c - mean_c) * (t - mean_t) for c, t in samples) / var
    fixed = mean_t - slope * mean_c
    if slope < 0:
        return mean_t, 0.0
    if fixed < 0:
        return 0.0, mean_t / mean_c
    return fixed, slope


def _items(reply: Reply) -> int:
    r = reply.result
    if isinstance(r, list):
        return len(r)
    if isinstance(r, dict) and isinstance(r.get("count"), int):
        return int(r["count"])
    return 0


def _size(reply: Reply) -> int:
    try:
        return len(json.dumps(reply.result if reply.error is None else reply.error))
    except (TypeError, ValueError):
        return 0


def is_refusal(reply: Reply) -> bool:
    """The server did not serve this request (busy, or over its cost limit): ask again."""
    return isinstance(reply.error, dict) and reply.error.get("code") in REFUSAL_CODES


def paced_call(
    conn: _Conn,
    calls: Sequence[tuple[str, list[Any]]],
    batch_size: int,
    pacer: Pacer,
    connects: Callable[[], int] = lambda: 0,
) -> list[Reply]:
    """Ask ``calls`` in windows the pacer sizes; ask refused ones again; answers in order.

    ``connects`` counts the connection's sessions so far (a reopened session is charged afresh).
    A refusal that outlasts the pacer's ``max_wait`` is a :class:`ServerBusyError`; any other
    error answer is returned as it came, for the caller to read.
    """
    results: list[Reply | None] = [None] * len(calls)
    estimates = [pacer.model.estimate(method, params) for method, params in calls]
    todo = list(range(len(calls)))
    while todo:
        n = pacer.window([estimates[i] for i in todo])
        window, todo = todo[:n], todo[n:]
        pacer.window_was = len(window)
        before = connects()
        start = pacer.clock()
        replies = conn.call([calls[i] for i in window], max(1, min(batch_size, n)))
        seconds = pacer.clock() - start
        refused = []
        charged = pacer.model.charged
        for i, reply in zip(window, replies, strict=True):
            method = calls[i][0]
            pacer.model.charge(
                method, _size(reply), error=reply.error is not None, items=_items(reply)
            )
            if is_refusal(reply):
                refused.append(i)
            else:
                results[i] = reply
        if connects() != before:  # the server closed the session (or the link dropped)
            pacer.model.new_session()
        served = pacer.model.charged - charged - pacer.model.error_cost * len(refused)
        pacer.answered(served, len(window) - len(refused), seconds, refused=len(refused))
        if refused:
            todo = refused + todo  # resume where the refusal stopped: these first
            done = sum(r is not None for r in results)
            pacer.refused(len(refused), done, len(calls))
    return [r if r is not None else Reply(error="no reply") for r in results]
