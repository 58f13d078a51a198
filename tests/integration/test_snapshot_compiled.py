"""The compiled snapshot scanner (``utxo_truth._snapscan``) against the pure-Python reader.

Both run on every file: Core's own regtest dump, synthetic files of every script kind written by
the independent writer, and corrupt files (truncated, extended, mutated byte by byte). Each must
give the same look-up, the same UTXO-set hash, or the same typed error.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA
from harness.snapshot_writer import write_snapshot
from test_snapshot_format import _scripts

from utxo_truth import SnapshotSource
from utxo_truth._exceptions import SnapshotFormatError, UtxoTruthError
from utxo_truth.sources import _snapfast
from utxo_truth.sources import snapshot as snap

pytestmark = pytest.mark.skipif(
    not _snapfast.available(), reason="the compiled scanner is not built (no C compiler)"
)

BLOCK = "11" * 32


def _outcome(path: Path, scripts: list[bytes], hashed: bool) -> tuple[str, Any]:
    try:
        src = SnapshotSource(path, "regtest")
        if hashed:
            info = snap.utxo_set_info(path, str(path))
            return "ok", (info.hash_serialized_3, info.txouts, info.total_sats)
        return "ok", src.lookup(scripts)
    except UtxoTruthError as exc:
        return "error", type(exc)


def _both(
    path: Path, scripts: list[bytes], hashed: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[str, Any], tuple[str, Any]]:
    monkeypatch.delenv(_snapfast.ENV_PURE, raising=False)
    fast = _outcome(path, scripts, hashed)
    monkeypatch.setenv(_snapfast.ENV_PURE, "1")
    pure = _outcome(path, scripts, hashed)
    monkeypatch.delenv(_snapfast.ENV_PURE)
    return fast, pure


def _groups(n: int, seed: int) -> list[tuple[bytes, list[tuple[int, int, bool, int, bytes]]]]:
    rng = random.Random(seed)
    scripts = list(_scripts().values())
    vouts = [0, 1, 2, 252, 253, 300, 65535, 65536, 2**32 - 1]
    return [
        (
            hashlib.sha256(b"g%d-%d" % (seed, g)).digest(),
            [
                (
                    vout,  # each output of a transaction once, as in any real UTXO set
                    rng.randrange(0, 900_000),
                    rng.random() < 0.1,
                    rng.choice([0, 1, 546, 10**8, rng.randrange(0, 21 * 10**14)]),
                    rng.choice(scripts),
                )
                for vout in sorted(rng.sample(vouts, rng.randint(1, 4)))
            ],
        )
        for g in range(n)
    ]


def test_core_dump_gives_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    path = DATA / "utxo-snapshot.dat"
    for hashed in (False, True):
        # the real file's own scripts, found by a pure pass that matches every one of them
        fast, pure = _both(path, list(_scripts().values()), hashed, monkeypatch)
        assert fast == pure and fast[0] == "ok"


def test_real_file_every_coin_found_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """Look up every script in Core's dump: every coin goes through the matched path."""
    path = DATA / "utxo-snapshot.dat"
    monkeypatch.setenv(_snapfast.ENV_PURE, "1")
    info = snap.utxo_set_info(path, "x")
    monkeypatch.delenv(_snapfast.ENV_PURE)
    fast = snap.utxo_set_info(path, "x")
    assert (fast.hash_serialized_3, fast.txouts, fast.total_sats) == (
        info.hash_serialized_3,
        info.txouts,
        info.total_sats,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_files_of_every_kind(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.dat"
    write_snapshot(path, "regtest", BLOCK, _groups(300, seed))
    scripts = list(_scripts().values())
    for hashed in (False, True):
        fast, pure = _both(path, scripts, hashed, monkeypatch)
        assert fast[0] == "ok" and fast == pure
    monkeypatch.setattr(snap, "CHUNK", 311)  # records straddle every read
    fast, pure = _both(path, scripts, False, monkeypatch)
    assert fast == pure


def test_truncated_and_extended_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.dat"
    write_snapshot(path, "regtest", BLOCK, _groups(40, 9))
    raw = path.read_bytes()
    scripts = list(_scripts().values())
    bad = tmp_path / "bad.dat"
    for cut in [*range(len(raw) - 1, len(raw) - 80, -1), 60, 51]:
        bad.write_bytes(raw[:cut])
        for hashed in (False, True):
            fast, pure = _both(bad, scripts, hashed, monkeypatch)
            assert fast == pure == ("error", SnapshotFormatError), (cut, hashed)
    bad.write_bytes(raw + b"\x00")
    for hashed in (False, True):
        assert _both(bad, scripts, hashed, monkeypatch)[0] == ("error", SnapshotFormatError)


def test_mutated_files_give_the_same_answer_or_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random byte changes: the look-ups agree, answer for answer and error class for class."""
    path = tmp_path / "s.dat"
    write_snapshot(path, "regtest", BLOCK, _groups(30, 4))
    raw = bytearray(path.read_bytes())
    scripts = list(_scripts().values())
    rng = random.Random(5)
    bad = tmp_path / "bad.dat"
    errors = 0
    for _ in range(300):
        mutated = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(snap.HEADER_SIZE, len(raw))] = rng.randrange(256)
        bad.write_bytes(bytes(mutated))
        fast, pure = _both(bad, scripts, False, monkeypatch)
        assert fast == pure
        errors += fast[0] == "error"
    assert errors > 20  # the mutations did reach the error paths


def test_mutated_files_hash_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hash pass on mutated files: the same hash or the same typed error, except where the
    Python reader lets an ``OverflowError`` out (an output index or height code past 32 bits,
    which ``TxOutSer`` cannot write): there the compiled pass raises the typed error."""
    path = tmp_path / "s.dat"
    write_snapshot(path, "regtest", BLOCK, _groups(30, 4))
    raw = bytearray(path.read_bytes())
    rng = random.Random(5)
    bad = tmp_path / "bad.dat"

    def outcome() -> tuple[str, Any]:
        try:
            info = snap.utxo_set_info(bad, "x")
            return "ok", (info.hash_serialized_3, info.txouts, info.total_sats)
        except (SnapshotFormatError, OverflowError) as exc:
            return "error", type(exc)

    for _ in range(300):
        mutated = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(snap.HEADER_SIZE, len(raw))] = rng.randrange(256)
        bad.write_bytes(bytes(mutated))
        monkeypatch.delenv(_snapfast.ENV_PURE, raising=False)
        fast = outcome()
        monkeypatch.setenv(_snapfast.ENV_PURE, "1")
        pure = outcome()
        if pure == ("error", OverflowError):
            assert fast == ("error", SnapshotFormatError)
        else:
            assert fast == pure


def test_portable_sha256_equals_the_sha_extensions(tmp_path: Path) -> None:
    """The C SHA-256 without the x86 SHA extensions (chosen at import) gives the same hash."""
    import os
    import subprocess
    import sys

    path = tmp_path / "s.dat"
    write_snapshot(path, "regtest", BLOCK, _groups(200, 6))
    code = (
        "import sys; from pathlib import Path; from utxo_truth.sources import snapshot as s; "
        "print(s.utxo_set_info(Path(sys.argv[1]), 'x').hash_serialized_3)"
    )
    got = {
        flag: subprocess.run(
            [sys.executable, "-c", code, str(path)],
            env={**os.environ, "UTXO_TRUTH_NO_SHANI": flag} if flag else dict(os.environ),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for flag in ("", "1")
    }
    assert got[""] == got["1"] == snap_hash_pure(path)


def snap_hash_pure(path: Path) -> str:
    import os

    os.environ[_snapfast.ENV_PURE] = "1"
    try:
        return snap.utxo_set_info(path, "x").hash_serialized_3
    finally:
        del os.environ[_snapfast.ENV_PURE]
