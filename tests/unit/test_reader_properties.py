"""Property tests for the readers of outside data that tests/unit/test_sweep_properties.py does not
walk: liability proofs, wallet files, BIP-329 label files, signed reserve files, wrapped-BTC
reserve lists and Esplora reply shapes.

For each: whatever the bytes, the reader returns its result or raises a typed error of the
library (``UtxoTruthError``), never another exception, within a time bound; for the wallet files
that hold a seed, no run of 7 characters of the secret appears in the message.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utxo_truth import UtxoTruthError
from utxo_truth.labels import parse_labels
from utxo_truth.liabilities import load_liability_proof
from utxo_truth.reserve_proofs import parse_reserve_proofs
from utxo_truth.sources._esplora_api import header_from_summary, outs_from_hex, parse_stats
from utxo_truth.wallets import parse_wallet_file
from utxo_truth.wrapped import parse_reserves

DATA = Path(__file__).parents[1] / "data"
LIABILITY_SAMPLES = sorted((DATA / "liabilities").iterdir())
WALLET_SAMPLES = sorted(
    p for p in (DATA / "wallets").rglob("*") if p.is_file() and p.name != "README.md"
)
WRAPPED_SAMPLES = sorted((DATA / "wrapped").iterdir())
RESERVE_SAMPLES = [DATA / "por" / "okx-por-reserves-example.csv"]

SECONDS = 5.0  # one reader call on one damaged file, on a loaded 2-core machine
FAST = settings(
    max_examples=120,
    deadline=None,  # the bound is SECONDS, asserted below, not hypothesis' per-example timer
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(allow_nan=True),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=40,
)


@st.composite
def damaged(draw: st.DrawFn, samples: list[Path]) -> tuple[Path, bytes]:
    """A sample with a few bytes replaced, inserted or cut (or its tail truncated)."""
    path = draw(st.sampled_from(samples))
    data = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "replace" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[at:]
    return path, bytes(data)


def _typed_or_result(fn: Any, *args: Any, **kwargs: Any) -> str:
    started = time.perf_counter()
    try:
        fn(*args, **kwargs)
        message = ""
    except UtxoTruthError as exc:
        message = str(exc)
    assert time.perf_counter() - started < SECONDS
    return message


@FAST
@given(damaged(LIABILITY_SAMPLES))
def test_liability_proof_reader_damaged_samples(tmp_path: Path, case: tuple[Path, bytes]) -> None:
    path, data = case
    target = tmp_path / path.name
    target.write_bytes(data)
    _typed_or_result(load_liability_proof, target)


@FAST
@given(json_values)
def test_liability_proof_reader_any_json(tmp_path: Path, value: Any) -> None:
    target = tmp_path / "proof.json"
    target.write_text(json.dumps(value))
    _typed_or_result(load_liability_proof, target)


def _secret_runs(text: str) -> set[str]:
    return {text[i : i + 7] for i in range(len(text) - 6)}


def _seed_of(path: Path) -> str | None:
    """The secret words or key a seed-holding sample carries (to look for it in messages)."""
    try:
        doc = json.loads(path.read_text())
    except ValueError:
        return None
    keystore = doc.get("keystore") if isinstance(doc, dict) else None
    if isinstance(keystore, dict):
        for key in ("seed", "xprv"):
            if isinstance(keystore.get(key), str):
                return str(keystore[key])
    return None


@FAST
@given(damaged(WALLET_SAMPLES))
def test_wallet_file_reader_damaged_samples(case: tuple[Path, bytes]) -> None:
    path, data = case
    message = _typed_or_result(parse_wallet_file, data, network="main", path=path.name)
    seed = _seed_of(path)
    if seed and message:
        assert not _secret_runs(seed) & _secret_runs(message)


def test_the_seed_samples_are_found_and_refused() -> None:
    """The secret check above is not vacuous: a seed sample exists and is refused unechoed."""
    seeded = [p for p in WALLET_SAMPLES if _seed_of(p)]
    assert seeded
    for path in seeded:
        with pytest.raises(UtxoTruthError) as err:
            parse_wallet_file(path.read_bytes(), network="main", path=path.name)
        assert not _secret_runs(str(_seed_of(path))) & _secret_runs(str(err.value))


@FAST
@given(json_values)
def test_wallet_file_reader_any_json(value: Any) -> None:
    _typed_or_result(parse_wallet_file, json.dumps(value), network="main")


@FAST
@given(st.lists(json_values, max_size=6))
def test_label_reader_any_jsonl(records: list[Any]) -> None:
    _typed_or_result(parse_labels, "\n".join(json.dumps(r) for r in records))


@FAST
@given(st.text(max_size=400))
def test_label_reader_any_text(text: str) -> None:
    _typed_or_result(parse_labels, text)


@FAST
@given(damaged(RESERVE_SAMPLES))
def test_reserve_proof_reader_damaged_samples(case: tuple[Path, bytes]) -> None:
    _, data = case
    _typed_or_result(parse_reserve_proofs, data.decode("utf-8", "replace"), "main")


@FAST
@given(st.text(max_size=400) | json_values.map(json.dumps))
def test_reserve_proof_reader_any_text(text: str) -> None:
    _typed_or_result(parse_reserve_proofs, text, "main")


@FAST
@given(damaged(WRAPPED_SAMPLES))
def test_wrapped_reserve_reader_damaged_samples(case: tuple[Path, bytes]) -> None:
    _, data = case
    _typed_or_result(parse_reserves, data.decode("utf-8", "replace"))


@FAST
@given(json_values)
def test_esplora_reply_shapes_any_json(value: Any) -> None:
    _typed_or_result(parse_stats, value, "malformed stats")
    result = header_from_summary(value)  # None means "not a block summary", never a guess
    assert result is None or (isinstance(result, tuple) and len(result) == 3)


@FAST
@given(st.text(max_size=300), st.binary(min_size=32, max_size=32))
def test_esplora_raw_transactions_must_hash_to_their_txid(text: str, txid: bytes) -> None:
    assert outs_from_hex(text, txid.hex()) is None  # a random txid is never matched
