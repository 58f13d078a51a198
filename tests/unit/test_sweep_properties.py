"""Property tests per reader (issue 11): a result or a typed error, never another exception,
never a secret in the message, within a time bound. Bounded ``max_examples`` for CI.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from conftest import SNAPSHOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sweep import HEXKEY, WIF, XPRV, assert_no_secret

from utxo_truth import Target, UtxoTruthError, parse_target
from utxo_truth.claims import Portfolio, load_portfolio, parse_portfolio
from utxo_truth.sources.snapshot import SnapshotSource

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TPUB = "tpubDD8aVRaGadAXsoaYJz6A2YL7UFhC1TCtMgQJJY8rWs3Po6NWuQ6pWrpJWEfca8DWqSGVqCnQSCi8Q13caSQdV13pSsbGRheCFqxnXEZ8ri7"
PIECES = [
    "wpkh(", "pkh(", "sh(", "wsh(", "tr(", "multi(", "sortedmulti(", "addr(", "raw(", ")", ",",
    "/", "/0", "/1", "/*", "/<0;1>", "h", "'", "[d4eedd3c/84h/1h/0h]", "#", "2,", TPUB, "00",
    "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f", "@", ":",
]  # fmt: skip


def _edit(secret: str, data: st.DataObject) -> str:
    s = secret
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(s) - 1))
        c = data.draw(st.sampled_from("#@:0OIl!/ x'h*)(,") | st.characters(codec="utf-8"))
        op = data.draw(st.integers(0, 2))
        s = s[:i] + s[i + 1 :] if op == 0 else s[:i] + c + s[i + op - 1 :]
    prefix = data.draw(st.sampled_from(["", "wpkh(", "sh(wpkh(", "tr(", "multi(1,"]))
    suffix = data.draw(st.sampled_from(["", ")", "/0/*)", "/0/1)", ")#qqqqqqqq", "))"]))
    return prefix + s + suffix


def _parse(text: str) -> list[str]:
    started = time.monotonic()
    try:
        t = parse_target(text, "regtest")
        assert isinstance(t, Target)
        out = [repr(t), t.text]
    except UtxoTruthError as exc:
        out = [str(exc), repr(exc)]
    assert time.monotonic() - started < 2.0
    return out


@SETTINGS
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=12).map("".join))
def test_targets_any_text_result_or_typed_error(text: str) -> None:
    _parse(text)


@SETTINGS
@given(st.sampled_from([XPRV, WIF, HEXKEY]), st.data())
def test_targets_mistyped_secrets_never_echoed(secret: str, data: st.DataObject) -> None:
    assert_no_secret(secret, *_parse(_edit(secret, data)))


RAW = SNAPSHOT.read_bytes()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, len(RAW) - 1), st.integers(0, 255)), min_size=1, max_size=6),
    st.integers(0, len(RAW)),
)
def test_snapshot_corrupted_result_or_typed_error(
    tmp_path_factory: Any, edits: list[tuple[int, int]], cut: int
) -> None:
    raw = bytearray(RAW)
    for pos, byte in edits:
        raw[pos] = byte
    path = Path(tmp_path_factory.mktemp("snap")) / "s.dat"
    path.write_bytes(bytes(raw[: max(cut, 51)]))
    started = time.monotonic()
    for step in ("open", "lookup", "hash"):
        try:
            src = SnapshotSource(path, "regtest")
            if step == "lookup":
                src.lookup(
                    [b"\x00\x14" + bytes.fromhex("756535a3319c6d8933ff03fa30285105d895a189")]
                )
            elif step == "hash":
                src.verify_hash()
        except UtxoTruthError as exc:
            assert str(path) in str(exc) or "expected" in str(exc)
    assert time.monotonic() - started < 10


VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.floats(allow_nan=True),
    st.dates(),
    st.datetimes(),
    st.lists(st.text(max_size=4), max_size=3),
    st.sampled_from(["1e21", "٠.٥", "0.1", "-0", "1e999999999", "21000001", "NaN", "Infinity"]),
)
KEYS = [
    "name", "custodian", "kind", "amount", "amount_sats", "shares", "btc_per_share", "side",
    "notional", "margin", "book", "right", "as_of", "exit_path", "btc_per_share_date",
    "title_transfer",
]  # fmt: skip


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=8),
    st.dictionaries(
        st.sampled_from(["coverage_min", "leverage_max", "yield_max_share"]), VALUES, max_size=2
    ),
)
def test_portfolio_dicts_result_or_typed_error(
    position: dict[str, Any], checks: dict[str, Any]
) -> None:
    data = {
        "network": "regtest",
        "custodians": [{"name": "ex"}],
        "positions": [{"name": "p", "custodian": "ex", "kind": "exchange", **position}],
        "checks": checks,
    }
    try:
        result: object = parse_portfolio(data)
    except UtxoTruthError as exc:
        result = exc
        assert str(exc).startswith("portfolio")  # says where
    assert isinstance(result, Portfolio | UtxoTruthError)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_portfolio_files_result_or_typed_error(tmp_path_factory: Any, raw: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("pf")) / "p.toml"
    path.write_bytes(b'network = "regtest"\n' + raw)
    try:
        result: object = load_portfolio(path)
    except UtxoTruthError as exc:
        result = exc
        assert str(path) in str(exc)  # names the file
    assert isinstance(result, Portfolio | UtxoTruthError)
