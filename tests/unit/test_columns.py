"""Matched coins as columns (``_columns.py``): the lazy Holdings equal the eager ones.

A snapshot look-up hands its coins over as columns and discovery holds them as lazy
``UtxoView`` tuples. Each test here builds the same scan the other way too: through a source
wrapper that hides the columns (``Lookup.columns=None``), so discovery takes its per-coin path
(``_holdings``), validated (``checked=False``) like any other source's answer. The two must be
equal in every way a reader can look: ``==`` both ways, model_dump, model_dump_json, copies,
pickles, the ``scan --json`` document and its round trip. The compiled helpers are held equal to
their pure-Python twins on the same columns.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import pickle
import random
import re
import warnings
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT
from harness.snapshot_writer import write_snapshot

from utxo_truth import Holdings, SnapshotSource, holdings_from_json, scan
from utxo_truth import _columns as columns
from utxo_truth._columns import CoinColumns, UtxoView
from utxo_truth._exceptions import SnapshotFormatError, SourceProtocolError
from utxo_truth._models import COINBASE_MATURITY, MAX_MONEY
from utxo_truth._network import Network
from utxo_truth._scanjson import write_scan_json
from utxo_truth.sources._base import ColumnCoins, Lookup
from utxo_truth.targets import parse_targets

BLOCK = "22" * 32


class Eager:
    """A snapshot source whose answers carry no columns: discovery's per-coin path.

    ``validate`` also drops ``checked``, so every model is built by pydantic's validation.
    """

    has_history = False

    def __init__(self, inner: SnapshotSource, *, validate: bool = True) -> None:
        self.inner = inner
        self.validate = validate

    @property
    def network(self) -> Network:
        return self.inner.network

    def describe(self) -> str:
        return self.inner.describe()

    def lookup(self, scripts: Collection[bytes]) -> Lookup:
        answer = self.inner.lookup(scripts)
        return dataclasses.replace(
            answer,
            coins=dict(answer.coins),
            columns=None,
            checked=answer.checked and not self.validate,
        )


def _descriptors(oracle: dict[str, Any]) -> list[str]:
    return [d for w in oracle["wallets"].values() for d in w.get("descriptors", [])]


def _both(targets: list[str], path: Path, **kw: Any) -> tuple[Holdings, Holdings]:  # (lazy, eager)
    lazy = scan(targets, network="regtest", source=SnapshotSource(path, "regtest"), **kw)
    eager = scan(targets, network="regtest", source=Eager(SnapshotSource(path, "regtest")), **kw)
    return lazy, eager


def _json(h: Holdings) -> str:
    buf = io.StringIO()
    write_scan_json(h, buf)
    return buf.getvalue()


def _assert_same(lazy: Holdings, eager: Holdings) -> None:
    """Every way of reading a Holdings gives the same for the lazy and the eager one."""
    assert isinstance(lazy.utxos, UtxoView) and not isinstance(eager.utxos, UtxoView)
    assert lazy == eager and eager == lazy
    assert lazy.utxos == eager.utxos and eager.utxos == lazy.utxos
    assert not lazy.utxos.__ne__(eager.utxos)
    for lt, et in zip(lazy.targets, eager.targets, strict=True):
        assert isinstance(lt.utxos, UtxoView)
        assert lt == et and lt.utxos == et.utxos and et.utxos == lt.utxos
        assert (lt.total_sats, lt.immature_sats, lt.verified_sats) == (
            et.total_sats,
            et.immature_sats,
            et.verified_sats,
        )
    for name in ("total_sats", "immature_sats", "verified_sats", "unverified_sats"):
        assert getattr(lazy, name) == getattr(eager, name)
    assert lazy.spendable_sats == eager.spendable_sats
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pydantic warns when it cannot serialize a field
        assert lazy.model_dump() == eager.model_dump()
        assert lazy.model_dump(mode="json") == eager.model_dump(mode="json")
        assert lazy.model_dump_json() == eager.model_dump_json()
        some = {"utxos": {0: {"txid", "origin"}, 2: True}, "targets": {0: {"utxos": {1}}}}
        assert lazy.model_dump(exclude=some) == eager.model_dump(exclude=some)
        assert lazy.model_dump(include=some) == eager.model_dump(include=some)
    assert Holdings.model_validate_json(lazy.model_dump_json()) == eager
    assert lazy.model_copy() == eager and copy.copy(lazy) == eager
    assert copy.deepcopy(lazy) == eager
    assert lazy.model_copy(update={"problems": ("x",)}) == eager.model_copy(
        update={"problems": ("x",)}
    )
    back = pickle.loads(pickle.dumps(lazy))
    assert back == eager and type(back.utxos) is tuple
    # the tuple behaviours, item by item
    lu, eu = lazy.utxos, eager.utxos
    assert len(lu) == len(eu) and bool(lu) == bool(eu)
    assert list(lu) == list(eu) and tuple(reversed(lu)) == tuple(reversed(eu))
    assert hash(lu) == hash(eu) and repr(lu) == repr(eu)
    assert lu[1:5] == eu[1:5] and type(lu[1:5]) is tuple and lu[::-3] == eu[::-3]
    if eu:
        assert lu[0] == eu[0] and lu[-1] == eu[-1] and eu[-1] in lu
        assert lu.index(eu[-1]) == len(eu) - 1 and lu.count(eu[0]) == 1
    with pytest.raises(IndexError):
        lu[len(eu)]
    assert lu + eu == eu + eu and eu + lu == eu + eu and lu + lu == eu + eu
    assert type(lu + eu) is tuple and type(eu + lu) is tuple
    empty: tuple[Any, ...] = ()
    assert lu + empty == eu and empty + lu == eu
    assert lu != list(eu)  # a tuple is not a list, nor is the view
    # the scan --json document: byte for byte, and read back
    text = _json(lazy)
    assert text == _json(eager)
    assert holdings_from_json(text) == eager
    assert holdings_from_json(text).targets == eager.targets


def test_real_snapshot_oracle_wallets(oracle: dict[str, Any]) -> None:
    lazy, eager = _both(_descriptors(oracle), SNAPSHOT)
    assert len(lazy.utxos) > 100
    _assert_same(lazy, eager)
    # discovery's other per-coin path (checked, built without validation) is the same too
    trusted = scan(
        _descriptors(oracle),
        network="regtest",
        source=Eager(SnapshotSource(SNAPSHOT, "regtest"), validate=False),
    )
    assert trusted == lazy and _json(trusted) == _json(lazy)


def test_the_json_schema_still_says_a_list_of_utxos() -> None:
    for mode in ("validation", "serialization"):
        schema = Holdings.model_json_schema(mode=mode)
        for name in ("utxos", "pending"):
            field = schema["properties"][name]
            assert field["type"] == "array" and field["items"] == {"$ref": "#/$defs/Utxo"}
        held = schema["$defs"]["TargetHoldings"]["properties"]["utxos"]
        assert held["items"] == {"$ref": "#/$defs/Utxo"}


def test_plain_tpub_scanned_as_every_type(oracle: dict[str, Any]) -> None:
    """A bare tpub: four script types, coins_under from the coins' chains."""
    desc = next(d for d in _descriptors(oracle) if "tpub" in d)
    tpub = re.search(r"tpub[1-9A-HJ-NP-Za-km-z]+", desc)
    assert tpub is not None
    lazy, eager = _both([tpub.group(0)], SNAPSHOT, range=50)
    assert lazy.targets[0].scanned_as and lazy.targets[0].coins_under
    assert lazy.targets[0].coins_under == eager.targets[0].coins_under
    _assert_same(lazy, eager)


def test_no_coins_found() -> None:
    lazy, eager = _both(["0014" + "11" * 20, "0014" + "12" * 20], SNAPSHOT)
    assert lazy.utxos == () and not lazy.utxos and lazy.total_sats == 0
    _assert_same(lazy, eager)


def test_real_snapshot_overlapping_targets(oracle: dict[str, Any]) -> None:
    """An address and a script also inside a descriptor: each coin once, also_origins kept."""
    descs = _descriptors(oracle)
    plain, _ = _both(descs, SNAPSHOT)
    by_kind = {u.address[:3]: u.address for u in plain.utxos if u.address}  # base58 and bech32
    assert len(by_kind) >= 3
    addrs = list(by_kind.values())
    scripts = [plain.utxos[-1].script_pubkey]
    bech32 = next(a for a in addrs if a.startswith("bcrt1"))
    targets = [*addrs, descs[0], *scripts, descs[1], addrs[0], bech32.upper()]
    lazy, eager = _both(targets, SNAPSHOT)
    _assert_same(lazy, eager)
    doc = json.loads(_json(lazy))
    assert any("also_origins" in u for u in doc["utxos"])
    assert len({(u["txid"], u["vout"]) for u in doc["utxos"]}) == len(doc["utxos"])


def _synthetic(path: Path, oracle: dict[str, Any]) -> tuple[list[str], int]:
    """A file whose coins sit at an oracle descriptor's scripts: coinbase coins either side of
    maturity, vouts from 0 to above 65535, several coins a script. Returns targets and tip."""
    desc = oracle["wallets"]["alice"]["descriptors"][0]
    (target,) = parse_targets([desc], "regtest")
    scripts = target.scripts(0, 0, 30) + (
        target.scripts(1, 0, 10) if len(target.branches) > 1 else []
    )
    rng = random.Random(5)
    tip = 1_000
    groups = []
    for g in range(120):
        vouts = sorted(rng.sample([0, 1, 2, 252, 253, 254, 300, 65535, 65536, 70_000], 3))
        height = rng.choice([1, 500, tip - 200, tip - 99, tip - 98, tip - 50, tip])
        coinbase = g % 4 == 0  # many coinbase coins, mature and not
        coins = [
            (v, height, coinbase, rng.choice([546, 10**8, rng.randrange(10**12)]),
             rng.choice(scripts) if rng.random() < 0.8 else b"\x00\x14" + rng.randbytes(20))
            for v in vouts
        ]  # fmt: skip
        # txids of equal first bytes and equal heights: the sort's ties
        txid = (b"\xab" * 4 if g % 3 == 0 else rng.randbytes(4)) + rng.randbytes(28)
        groups.append((txid[::-1], coins))
    groups.sort(key=lambda gr: gr[0])
    write_snapshot(path, "regtest", BLOCK, groups)
    overlap = [scripts[0].hex(), scripts[3].hex(), scripts[0].hex()]
    return [overlap[0], desc, overlap[1], overlap[2]], tip


@pytest.mark.parametrize("pure", [False, True])
def test_synthetic_overlaps_immature_big_vouts(
    tmp_path: Path, oracle: dict[str, Any], monkeypatch: pytest.MonkeyPatch, pure: bool
) -> None:
    if pure:
        monkeypatch.setenv(columns.ENV_PURE, "1")
    path = tmp_path / "s.dat"
    targets, tip = _synthetic(path, oracle)
    lazy, eager = _both(targets, path, range=40)
    assert lazy.block.height == tip
    _assert_same(lazy, eager)
    assert any(u.vout >= 253 for u in lazy.utxos) and any(u.vout > 65535 for u in lazy.utxos)
    immature = [u for u in lazy.utxos if u.immature]
    assert immature and lazy.immature_sats == sum(u.value for u in immature)
    # consensus COINBASE_MATURITY: spendable once tip + 1 - height reaches 100
    for u in lazy.utxos:
        assert u.immature == (u.coinbase and tip + 1 - (u.height or 0) < COINBASE_MATURITY)
    assert {u.height for u in lazy.utxos if u.coinbase} >= {tip - 99, tip - 98}
    assert len(lazy.targets[0].utxos) == len(lazy.targets[3].utxos) > 0  # the same script twice


def test_both_readers_give_the_same_columns(
    tmp_path: Path, oracle: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.dat"
    _synthetic(path, oracle)
    (target,) = parse_targets([oracle["wallets"]["alice"]["descriptors"][0]], "regtest")
    scripts = target.scripts(0, 0, 30)
    fast = SnapshotSource(path, "regtest").lookup(scripts)
    monkeypatch.setenv(columns.ENV_PURE, "1")
    pure = SnapshotSource(path, "regtest").lookup(scripts)
    assert fast.columns is not None and pure.columns is not None
    assert fast.columns == pure.columns and fast == pure
    assert pickle.loads(pickle.dumps(fast)) == fast and copy.deepcopy(fast) == fast
    assert bytes(fast.columns.vout) == bytes(pure.columns.vout)
    # the per-script mapping other readers of Lookup.coins use
    assert isinstance(fast.coins, ColumnCoins)
    plain = dict(fast.coins)
    assert plain == dict(pure.coins) and len(plain) == len(fast.columns.labels())
    assert sum(len(v) for v in plain.values()) == len(fast.columns)
    assert fast.coins.get(b"\x51") is None and b"\x51" not in fast.coins
    for script, coins in plain.items():
        assert all(c.script == script and c.verification == "node" for c in coins)


def _random_columns(rng: random.Random, n: int) -> tuple[Any, ...]:
    txids = b"".join(
        (b"\x01" * 28 if rng.random() < 0.3 else rng.randbytes(28)) + rng.randbytes(4)
        for _ in range(n)
    )
    return (
        txids,
        columns._u32([rng.choice([0, 1, 253, 2**32 - 1, rng.randrange(500)]) for _ in range(n)]),
        columns._u32([rng.choice([0, 7, 2**31 - 1, rng.randrange(50)]) for _ in range(n)]),
        bytes(rng.random() < 0.5 for _ in range(n)),
        columns._u64([rng.choice([0, 2**64 - 1, rng.randrange(10**15)]) for _ in range(n)]),
        columns._u32([rng.randrange(5) for _ in range(n)]),
    )


@pytest.mark.skipif(columns._compiled_module is None, reason="the compiled helpers are not built")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compiled_helpers_equal_their_twins(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    raw = _random_columns(rng, 400)
    scripts = [bytes([i]) for i in range(5)]

    def run() -> tuple[Any, ...]:
        cols, dup = CoinColumns.sorted_from(raw, scripts)
        rows = columns._u32(sorted(rng2.sample(range(len(cols)), 50)))
        first, count = columns._u32([0, 1, 3, 3, 4]), columns._u32([1, 2, 0, 1, 3])
        slot_oid, slot_target = columns._u32(range(7)), columns._u32([0, 1, 2, 1, 0, 2, 2])
        groups = columns.group_rows(cols.label, first, count, slot_oid, slot_target, 3)
        mid = [b', "s": %d, "h": ' % i for i in range(5)]
        tail = [b', "o": %d}' % i for i in range(5)]
        text = columns.json_lines(cols, 3, 300, 60, mid, tail, True)
        text += columns.json_lines(cols, 300, len(cols), 60, mid, tail, False)
        return (
            cols.txids, bytes(cols.vout), bytes(cols.height), cols.coinbase, bytes(cols.value),
            bytes(cols.label), dup, cols.sums(None, 60), cols.sums(rows, 60),
            cols.sums(rows, 2**31), *(bytes(g) for g in groups), text,
        )  # fmt: skip

    rng2 = random.Random(seed)
    fast = run()
    rng2 = random.Random(seed)
    monkeypatch.setenv(columns.ENV_PURE, "1")
    pure = run()
    assert fast == pure
    # the order is Holdings': height, then txid in display order, then vout
    cols, _ = CoinColumns.sorted_from(raw, scripts)
    keys = [(cols.height[i], cols.txid(i), cols.vout[i]) for i in range(len(cols))]
    assert keys == sorted(keys)
    doc = json.loads("[" + fast[-1] + "]")
    assert [d["txid"] for d in doc] == [cols.txid(i) for i in range(3, len(cols))]
    assert all(d["immature"] == (d["coinbase"] and 61 - d["h"] < 100) for d in doc)


@pytest.mark.parametrize("pure", [False, True])
def test_outpoint_twice_is_a_format_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pure: bool
) -> None:
    if pure:
        monkeypatch.setenv(columns.ENV_PURE, "1")
    script = b"\x00\x14" + b"\x07" * 20
    txid = b"\x33" * 32
    path = tmp_path / "dup.dat"
    # the same (txid, vout) in two groups, at two heights: no UTXO set holds that
    write_snapshot(
        path,
        "regtest",
        BLOCK,
        [(txid, [(5, 10, False, 1000, script)]), (txid, [(5, 20, False, 2000, script)])],
    )
    with pytest.raises(SnapshotFormatError, match="listed twice"):
        SnapshotSource(path, "regtest").lookup([script])


@pytest.mark.parametrize("pure", [False, True])
def test_coins_above_max_money_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pure: bool
) -> None:
    """Each coin within MoneyRange, but together above 21 million BTC: a corrupt file."""
    if pure:
        monkeypatch.setenv(columns.ENV_PURE, "1")
    script = b"\x00\x14" + b"\x09" * 20
    path = tmp_path / "rich.dat"
    coins = [(v, 10, False, MAX_MONEY, script) for v in range(2)]
    write_snapshot(path, "regtest", BLOCK, [(b"\x44" * 32, coins)])
    with pytest.raises(SourceProtocolError, match="MAX_MONEY"):
        scan(script.hex(), network="regtest", source=SnapshotSource(path, "regtest"))


def test_several_sources_with_a_snapshot(oracle: dict[str, Any]) -> None:
    """_multi compares per target: a lazy answer next to an eager one, and two lazy ones."""
    descs = _descriptors(oracle)[:3]
    snap = SnapshotSource(SNAPSHOT, "regtest")
    eager = scan(descs, network="regtest", source=Eager(SnapshotSource(SNAPSHOT, "regtest")))
    for other in (Eager(SnapshotSource(SNAPSHOT, "regtest")), SnapshotSource(SNAPSHOT, "regtest")):
        held = scan(descs, network="regtest", sources=[snap, other])
        assert held.consensus is not None and held.consensus.agreed
        assert not held.consensus.disagreements
        assert held.utxos == eager.utxos and held.targets == eager.targets
        assert held.total_sats == eager.total_sats
        assert json.loads(_json(held))["utxos"] == json.loads(_json(eager))["utxos"]
    quorum = scan(descs, network="regtest", sources=[snap, snap, snap], policy="quorum")
    assert quorum.utxos == eager.utxos and quorum.total_sats == eager.total_sats
