"""Errors with structure: one tree, refusals typed from codes, the source attached once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

import utxo_truth
from utxo_truth import _exceptions
from utxo_truth._exceptions import (
    AccessDeniedError,
    HistoryTooLargeError,
    ServerBusyError,
    ServerRefusedError,
    SourceError,
)
from utxo_truth.sources import ElectrumSource
from utxo_truth.sources._jsonrpc import Reply
from utxo_truth.sources.electrum import _refusal


def test_every_public_error_lives_in_exceptions_and_in_its_drawn_tree() -> None:
    errors = [
        n
        for n in utxo_truth.__all__
        if isinstance(getattr(utxo_truth, n), type)
        and issubclass(getattr(utxo_truth, n), BaseException)
    ]
    assert "PortfolioError" in errors and "LiabilityProofError" in errors
    tree = _exceptions.__doc__ or ""
    for name in errors:
        assert getattr(utxo_truth, name).__module__ == "utxo_truth._exceptions", name
        assert name in _exceptions.__all__ and f" {name}" in tree, name


def test_old_import_places_still_work() -> None:
    from utxo_truth.claims import PortfolioError
    from utxo_truth.liabilities import LiabilityProofError

    assert PortfolioError is _exceptions.PortfolioError
    assert LiabilityProofError is _exceptions.LiabilityProofError


def test_access_denied_is_a_refusal_and_a_permission_error() -> None:
    assert issubclass(AccessDeniedError, ServerRefusedError)
    assert issubclass(AccessDeniedError, PermissionError)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"code": -101, "message": "excessive resource usage"}, ServerBusyError),
        ({"code": -102, "message": "server busy - request timed out"}, ServerBusyError),
        ({"code": 10001, "message": "history too large"}, HistoryTooLargeError),
        ({"code": 1, "message": "history too large"}, HistoryTooLargeError),  # older ElectrumX
        (
            {"code": -32600, "message": "response too large (over 1,000,000 bytes"},
            HistoryTooLargeError,
        ),
        ({"code": 1, "message": "you are being rate limited"}, ServerBusyError),
        # words inside other words are not a refusal of that kind
        ({"code": 2, "message": "daemon error: could not generate block"}, ServerRefusedError),
        ({"code": 2, "message": "separate outputs expected"}, ServerRefusedError),
        ({"code": 1, "message": "unknown method"}, ServerRefusedError),
        ("a plain string error", ServerRefusedError),
    ],
)
def test_electrum_refusals_are_typed_from_codes_then_whole_words(
    error: Any, kind: type[ServerRefusedError]
) -> None:
    refusal = _refusal(error, "electrum://host:1 history of x")
    assert type(refusal) is kind
    if isinstance(error, dict):
        assert refusal.code == error["code"]


class _Scripted:
    """A transport answering every call with one error (ElectrumSource(connection=...))."""

    where = "electrum://scripted:1"
    round_trips = 0

    def __init__(self, error: Any) -> None:
        self.error = error
        self.calls: list[str] = []

    def call(self, calls: Sequence[tuple[str, list[Any]]], batch_size: int) -> list[Reply]:
        self.calls += [m for m, _p in calls]
        return [Reply(error=self.error) for _ in calls]

    def close(self) -> None:
        pass


def test_an_injected_connection_needs_no_socket_and_errors_name_their_source() -> None:
    conn = _Scripted({"code": -101, "message": "excessive resource usage"})
    # max_wait=0: a refusal is not waited out (the pacer would ask again for 120 s)
    src = ElectrumSource("unused", 1, network="regtest", connection=conn, max_wait=0.0)  # type: ignore[arg-type]
    with pytest.raises(ServerBusyError) as exc:
        src.lookup([bytes.fromhex("0014" + "11" * 20)])
    assert conn.calls[0] == "blockchain.headers.subscribe"
    assert isinstance(exc.value, SourceError) and exc.value.source == "electrum://scripted:1"
