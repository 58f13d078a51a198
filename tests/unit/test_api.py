"""The public surface: one __all__, typed, documented, models frozen and strict."""

from __future__ import annotations

import importlib
from pathlib import Path

import pydantic
import pytest

import utxo_truth
from utxo_truth import BlockRef, Holdings, Utxo


def test_all_is_exactly_the_public_names() -> None:
    import types

    # Submodules become attributes of the package when anything imports them (in any test, in
    # any order), so they are told apart by kind, not listed by name.
    public = {
        n
        for n in dir(utxo_truth)
        if not n.startswith("_") and not isinstance(getattr(utxo_truth, n), types.ModuleType)
    }
    assert set(utxo_truth.__all__) - {"__version__"} == public - {"annotations"}  # __future__
    for name in utxo_truth.__all__:
        assert getattr(utxo_truth, name) is not None


def test_private_modules_are_re_exported_not_required() -> None:
    for name in ("scan", "parse_target", "SnapshotSource", "Holdings", "PrivateKeyError"):
        obj = getattr(utxo_truth, name)
        assert obj.__doc__, f"{name} needs a docstring"


def test_py_typed_shipped() -> None:
    assert (Path(utxo_truth.__file__).parent / "py.typed").exists()


def test_errors_inherit_builtins() -> None:
    assert issubclass(utxo_truth.InputError, ValueError)
    assert issubclass(utxo_truth.SourceUnavailableError, OSError)
    assert issubclass(utxo_truth.SnapshotFormatError, ValueError)
    assert issubclass(utxo_truth.PrivateKeyError, utxo_truth.UtxoTruthError)


def test_models_frozen_strict_and_integer() -> None:
    b = BlockRef(height=1, hash="ab" * 32)
    with pytest.raises(pydantic.ValidationError):
        b.height = 2  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        BlockRef(height=1, hash="ab" * 32, extra=1)  # type: ignore[call-arg]
    base = dict(txid="ab" * 32, vout=0, script_pubkey="51", height=1, coinbase=False)
    with pytest.raises(pydantic.ValidationError):
        Utxo(value=1.5, **base)  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError):
        Utxo(value=-1, **base)  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError):
        Utxo(value=21_000_000 * 10**8 + 1, **base)  # type: ignore[arg-type]


def test_holdings_totals_are_checked(oracle: dict) -> None:  # type: ignore[type-arg]
    u = Utxo(txid="ab" * 32, vout=0, value=5, script_pubkey="51", height=1, coinbase=False)
    common = dict(
        network="regtest",
        block=BlockRef(height=1, hash="ab" * 32),
        source="x",
        gap=20,
        range=1000,
        targets=(),
    )
    Holdings(utxos=(u,), total_sats=5, immature_sats=0, **common)  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError, match="total_sats"):
        Holdings(utxos=(u,), total_sats=0, immature_sats=0, **common)  # type: ignore[arg-type]
    with pytest.raises(pydantic.ValidationError, match="twice"):
        Holdings(utxos=(u, u), total_sats=10, immature_sats=0, **common)  # type: ignore[arg-type]


def test_holdings_round_trip_json() -> None:
    from conftest import SNAPSHOT, load_oracle

    h = utxo_truth.scan(
        load_oracle()["wallets"]["dave"]["descriptors"],
        network="regtest",
        source=f"snapshot:{SNAPSHOT}",
    )
    again = Holdings.model_validate_json(h.model_dump_json())
    assert again == h and again.immature_sats == 2_500_000_000


def test_no_float_amounts_in_source() -> None:
    """float() appears only where a ratio is made from integer amounts, never for an amount."""
    src = Path(utxo_truth.__file__).parent
    for path in src.rglob("*.py"):
        for line in path.read_text().splitlines():
            if "float(" in line:
                assert "_ratio" in line or "ratio" in line.lower(), f"{path}: {line.strip()}"


def test_cli_is_the_only_printer() -> None:
    src = Path(utxo_truth.__file__).parent
    for path in src.rglob("*.py"):
        if path.name != "cli.py":
            assert "print(" not in path.read_text(), path


def test_sources_do_not_import_upstream() -> None:
    src = Path(utxo_truth.__file__).parent / "sources"
    for path in src.rglob("*.py"):
        text = path.read_text()
        for upstream in ("discovery", "targets", "cli", "_api"):
            assert f"from ..{upstream}" not in text and f"from .{upstream}" not in text, path
    importlib.import_module("utxo_truth.sources.snapshot")
