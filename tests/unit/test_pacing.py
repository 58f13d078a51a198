"""Pacing by ElectrumX's session cost model (sources/_pacing.py), without a server.

The real ElectrumX with its default limits is in tests/integration/test_real_electrumx.py; here the model's
arithmetic, the window's rules and the resume bookkeeping, on a fake clock. ``Queue`` replays
ElectrumX's published rules (aiorpcx ``_throttled_request``: a slot among
``ceil((1 - fraction) x 10)``, a sleep of ``fraction x 2.5`` s, a refusal after 30 s in the
server) so that the driver can be run for minutes of simulated time in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from utxo_truth import ServerBusyError
from utxo_truth.sources._jsonrpc import Reply
from utxo_truth.sources._pacing import CostModel, Pacer, is_refusal, paced_call


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_the_cost_decays_one_a_second_and_charges_follow_electrumx() -> None:
    clock = Clock()
    m = CostModel(clock=clock)
    assert m.now() == 5.0  # a new session is charged 5
    m.charge("blockchain.transaction.get", 4880, error=False)
    assert m.cost == pytest.approx(5 + 1.0 + 5000 / 5000)  # the method, then its bytes
    m.charge("blockchain.scripthash.listunspent", 0, items=500, error=True)
    assert m.cost == pytest.approx(7 + 1 + 10 + 120 / 5000 + 100)  # 1 + n/50, an error: 100
    clock.t += 50
    assert m.now() == pytest.approx(118.024 - 50)  # hard limit / 10,000 a second


def test_the_soft_range_slows_and_narrows_the_session() -> None:
    m = CostModel(cost=5_500.0, clock=Clock())
    assert m.fraction() == pytest.approx(0.5)
    assert m.concurrency() == 5  # ceil((1 - 0.5) * 10)
    assert m.seconds_per_request() == pytest.approx(0.5 * 2.5 / 5)
    assert CostModel(cost=900.0, clock=Clock()).seconds_per_request() == 0.0
    assert CostModel(cost=10_000.0, clock=Clock()).concurrency() == 0  # closed at the hard limit


def test_the_window_holds_what_the_measured_rate_answers_within_the_target() -> None:
    clock = Clock()
    p = Pacer(model=CostModel(clock=clock), target=8.0, first_window=100, clock=clock)
    assert p.window([1.0] * 1_000) == 100  # nothing measured: the first window
    p.answered(100.0, 100, 1.0)  # one size of window: all of it taken for work, 0.01 s a unit
    assert p.window([1.0] * 1_000) == 800
    p.answered(200.0, 200, 48.0)  # much slower than the line: believed at once
    assert p.window([1.0] * 1_000) == 33  # 8 s / 0.24 s
    # cheaper requests (get_history is charged 0.2, transaction.get 1): more of them fit
    assert p.window([0.2] * 1_000) == 166


def test_a_server_that_holds_small_replies_does_not_shrink_the_window() -> None:
    """ElectrumX holds a small reply up to a second for more: that second is not work."""
    clock = Clock()
    p = Pacer(model=CostModel(clock=clock), first_window=50, clock=clock)
    p.answered(10.0, 40, 1.0)  # small windows: the cap doubles
    assert p.window([0.1] * 5_000) == 100
    p.answered(25.0, 100, 1.0)  # a full window in the same second: no work to speak of
    assert p.window([0.1] * 5_000) == 5_000


def test_the_models_slowdown_narrows_the_window_before_it_is_measured() -> None:
    frozen = Clock()
    p = Pacer(model=CostModel(cost=5_500.0, clock=frozen), first_window=500, clock=frozen)
    p.answered(0.1, 1, 0.26)  # as the model says: its delay, and 0.01 s of work
    # about 0.25 s a request at half the soft range (1.25 s sleep, 5 at once), 0.01 s of work:
    # 8 s hold about 30
    assert 27 <= p.window([0.1] * 500) <= 31


def test_the_cost_is_kept_under_the_ceiling_by_waiting_for_its_decay() -> None:
    clock = Clock()
    model = CostModel(cost=8_100.0, clock=clock)
    p = Pacer(model=model, ceiling=0.8, max_wait=200.0, clock=clock, sleep=clock.sleep)
    p.window([1.0])
    assert clock.t == pytest.approx(100.0) and p.waited == pytest.approx(100.0)
    assert model.now() == pytest.approx(8_000.0)
    far = Pacer(model=CostModel(cost=9_500.0, clock=clock), max_wait=60.0, clock=clock)
    with pytest.raises(ServerBusyError, match=r"needs 1500 s to decay.*max_wait=60 s"):
        far.window([1.0])


def test_refusals_halve_the_window_and_end_in_a_typed_error_after_max_wait() -> None:
    clock = Clock()
    p = Pacer(first_window=64, max_wait=20.0, clock=clock, sleep=clock.sleep)
    p.refused(10, 54, 64)
    assert p.window([1.0] * 100) == 32 and clock.t == 2.0
    p.refused(5, 59, 64)
    p.refused(5, 59, 64)
    assert clock.t == 2 + 4 + 8
    with pytest.raises(ServerBusyError, match=r"refused 5 request\(s\); 59 of 64 were answered"):
        p.refused(5, 59, 64)  # 14 s spent, 8 more would pass 20
    assert p.resent == 25


class Queue:
    """ElectrumX's throttling rules on a fake clock, answering every request with its index.

    At the hard limit the session is closed; the client's connection reopens it and asks the
    rest again (``sessions`` counts them), as ``_jsonrpc.Connection`` does.
    """

    def __init__(self, clock: Clock, work: float = 0.02) -> None:
        self.clock = clock
        self.model = CostModel(clock=clock)  # the server's own account, exact here
        self.work = work
        self.asked: list[int] = []
        self.refused = 0
        self.sessions = 1

    def call(self, calls: Sequence[tuple[str, list[Any]]], batch_size: int) -> list[Reply]:
        out = []
        waited = elapsed = 0.0
        first = 0
        for k, (method, params) in enumerate(calls):
            self.asked.append(params[0])
            if self.model.now() >= self.model.hard_limit:  # closed; reopened by the client
                self.sessions += 1
                self.model.new_session()
                elapsed, first = elapsed + min(waited, self.model.request_timeout), k
            slots = max(1, self.model.concurrency())
            each = self.work + self.model.fraction() * self.model.request_sleep
            # a request of the burst waits for those before it, ``slots`` at a time
            waited = ((k - first) // slots + 1) * each
            if waited > self.model.request_timeout:
                self.refused += 1
                self.model.charge(method, 60, error=True)
                out.append(
                    Reply(error={"code": -102, "message": "server busy - request timed out"})
                )
                continue
            self.model.charge(method, 400, error=False)
            out.append(Reply(result=params[0]))
        self.clock.t += elapsed + min(waited, self.model.request_timeout) + 0.01
        return out


def _calls(n: int) -> list[tuple[str, list[Any]]]:
    return [("blockchain.transaction.get", [i]) for i in range(n)]


def test_unpaced_the_queue_outlasts_the_servers_timeout() -> None:
    """What happened before pacing: 1,900 requests at once, the tail refused after 30 s."""
    clock = Clock()
    server = Queue(clock)
    server.model.cost = 1_500.0
    replies = server.call(_calls(1_900), 200)
    # the tail refused, 100 a refusal, until the hard limit closes the session
    assert sum(is_refusal(r) for r in replies) > 50 and server.sessions == 2


def test_paced_the_same_requests_are_all_answered_and_none_refused() -> None:
    clock = Clock()
    server = Queue(clock)
    server.model.cost = 1_500.0
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    replies = paced_call(server, _calls(1_900), 200, pacer)
    assert [r.result for r in replies] == list(range(1_900))
    assert server.refused == 0 and pacer.resent == 0
    # each window inside the target, so well inside the server's 30 s
    assert pacer.waited == 0.0 and clock.t < 1_900 * 0.2


def test_a_window_too_big_is_resumed_where_it_was_refused() -> None:
    clock = Clock()
    server = Queue(clock)
    server.model.cost = 1_500.0
    # the client's model is wrong about this server (it takes the soft limit to be 8,000)
    wrong = CostModel(soft_limit=8_000.0, clock=clock)
    pacer = Pacer(model=wrong, first_window=1_000, clock=clock, sleep=clock.sleep)
    # the first window goes out whole, and its tail is refused
    replies = paced_call(server, _calls(1_900), 200, pacer, lambda: server.sessions)
    assert [r.result for r in replies] == list(range(1_900))  # in order, all answered
    assert server.refused > 0 and pacer.resent == server.refused
    # only what was refused was asked again: every index twice at most, the answered once
    assert len(server.asked) == 1_900 + server.refused
    assert len(set(server.asked)) == 1_900


def test_other_errors_are_returned_for_the_caller_to_read() -> None:
    class Errs:
        def call(self, calls: Sequence[tuple[str, list[Any]]], batch_size: int) -> list[Reply]:
            return [Reply(error={"code": 1, "message": "history too large"}) for _ in calls]

    clock = Clock()
    replies = paced_call(Errs(), _calls(3), 10, Pacer(clock=clock, sleep=clock.sleep))
    assert [r.error["code"] for r in replies] == [1, 1, 1]
