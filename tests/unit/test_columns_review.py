"""What a review of the columns found: each now holds on the real regtest chain's snapshot.

* ``exclude_unset`` on a coin built without validation (its fields-set was a frozenset, which
  pydantic refuses), on both the lazy and the per-coin trusted path;
* the lazy tuple answers ``*``, ordering and ``__index__`` indexing as a tuple does;
* a wrapper that replaces a snapshot answer's ``coins`` but keeps its ``columns`` is read from
  the coins it gave, never from the columns it did not change.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Collection
from typing import Any

import pytest
from conftest import SNAPSHOT
from test_columns import Eager, _descriptors

from utxo_truth import SnapshotSource, scan
from utxo_truth._columns import UtxoView
from utxo_truth._network import Network
from utxo_truth.sources._base import Lookup


def _lazy(oracle: dict[str, Any]) -> Any:
    return scan(_descriptors(oracle), network="regtest", source=SnapshotSource(SNAPSHOT, "regtest"))


def test_exclude_unset_on_unvalidated_coins(oracle: dict[str, Any]) -> None:
    lazy = _lazy(oracle)
    eager = scan(
        _descriptors(oracle), network="regtest", source=Eager(SnapshotSource(SNAPSHOT, "regtest"))
    )
    trusted = scan(
        _descriptors(oracle),
        network="regtest",
        source=Eager(SnapshotSource(SNAPSHOT, "regtest"), validate=False),
    )
    assert isinstance(lazy.utxos, UtxoView)
    # every field of a snapshot coin is given: unset excludes nothing the validated coin keeps
    first = eager.utxos[0].model_dump(exclude_unset=True)
    assert lazy.utxos[0].model_dump(exclude_unset=True).keys() >= first.keys()
    assert trusted.utxos[0].model_dump(exclude_unset=True) == lazy.utxos[0].model_dump(
        exclude_unset=True
    )
    assert lazy.model_dump(exclude_unset=True)["total_sats"] == eager.total_sats


def test_the_lazy_tuple_multiplies_orders_and_indexes_as_a_tuple(oracle: dict[str, Any]) -> None:
    view = _lazy(oracle).utxos
    plain = tuple(view)
    assert view * 2 == plain * 2 and 2 * view == plain * 2 and view * 0 == ()
    assert not view < plain and view <= plain and view >= plain and not view > plain
    assert view[:-1] < view and plain[:-1] < view and view > plain[:-1]

    class Two:
        def __index__(self) -> int:
            return 2

    assert view[Two()] == plain[2] and view[True] == plain[1]  # __index__, as a tuple takes it
    for bad in ("a", 1.0):
        with pytest.raises(TypeError, match="tuple indices must be integers or slices"):
            view[bad]  # type: ignore[call-overload]
        with pytest.raises(TypeError):
            plain[bad]  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        operator.mul(view, 1.5)


class Filtering:
    """A wrapper that keeps only the first script's coins, by replacing ``coins`` alone."""

    has_history = False

    def __init__(self, inner: SnapshotSource) -> None:
        self.inner = inner

    @property
    def network(self) -> Network:
        return self.inner.network

    def describe(self) -> str:
        return self.inner.describe()

    def lookup(self, scripts: Collection[bytes]) -> Lookup:
        answer = self.inner.lookup(scripts)
        kept = dict(list(answer.coins.items())[:1])
        return dataclasses.replace(answer, coins=kept)  # columns left as they were


def test_replaced_coins_are_read_not_the_columns_left_behind(oracle: dict[str, Any]) -> None:
    full = _lazy(oracle)
    filtered = scan(
        _descriptors(oracle),
        network="regtest",
        source=Filtering(SnapshotSource(SNAPSHOT, "regtest")),
    )
    assert not isinstance(filtered.utxos, UtxoView)
    assert 0 < len(filtered.utxos) < len(full.utxos)
    assert len({u.script_pubkey for u in filtered.utxos}) == 1
    assert filtered.total_sats == sum(u.value for u in filtered.utxos) < full.total_sats
