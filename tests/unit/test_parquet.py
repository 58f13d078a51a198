"""The Parquet export of a snapshot, and the parquet: source that answers from it (issue 19.5).

Against real parts: Core's own dumptxoutset of the regtest chain and Core's scantxoutset answers
(oracle.json), and synthetic files of every script kind from the independent writer. The
Parquet answer must be the snapshot's and Core's; the rows must hash to Core's UTXO-set hash;
files with missing or inconsistent metadata must be refused with a typed error.
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SNAPSHOT, WALLETS, coin_key
from harness.snapshot_writer import compact, hash_serialized_3, write_snapshot
from test_snapshot_format import _scripts

from utxo_truth import (
    MissingExtraError,
    NetworkMismatchError,
    ParquetFormatError,
    ParquetSource,
    SnapshotSource,
    VerificationError,
    export_parquet,
    scan,
)
from utxo_truth._exceptions import InputError, SourceSpecError, UtxoTruthError
from utxo_truth._script import address_of, script_type_of
from utxo_truth.cli import main
from utxo_truth.sources import _snapfast, open_source
from utxo_truth.sources import parquet as pqsrc

TRUSTED = (
    "295:174dcc4130f8d2aa85a4e0acdf74cacf1682f21df6756b379075576f29f63da6:"
    "c597a5150549dee7547d00f221027d3a15ea14a0e7593e2fb983e38496fec094"
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Core's regtest dump as 3 files of row groups of 100 (1,142 coins): the multi-file path."""
    out = tmp_path_factory.mktemp("coins")
    export_parquet(SNAPSHOT, out, "regtest", file_rows=500, row_group_rows=100)
    return out


@pytest.fixture(scope="module")
def parquet(exported: Path) -> ParquetSource:
    return ParquetSource(exported, "regtest")


@pytest.mark.parametrize("wallet", WALLETS)
def test_parquet_answer_is_the_snapshot_answer_and_core(
    oracle: dict[str, Any], parquet: ParquetSource, wallet: str
) -> None:
    w = oracle["wallets"][wallet]
    core = w["scantxoutset"]
    via_parquet = scan(w["descriptors"], network="regtest", source=parquet)
    via_snapshot = scan(
        w["descriptors"], network="regtest", source=SnapshotSource(SNAPSHOT, "regtest")
    )
    assert (
        via_parquet.block.height == core["height"] and via_parquet.block.hash == core["bestblock"]
    )
    assert sorted(coin_key(u) for u in via_parquet.utxos) == sorted(
        coin_key(u) for u in core["unspents"]
    )
    assert via_parquet.total_sats == core["total_sats"]
    # the whole answer, coin by coin and origin by origin, is the snapshot source's
    assert via_parquet.model_dump(exclude={"source"}) == via_snapshot.model_dump(exclude={"source"})
    assert via_parquet.source.startswith("parquet:")


def test_bare_p2pk_and_everything_at_once(oracle: dict[str, Any], exported: Path) -> None:
    p2pk = oracle["bare_p2pk"]
    h = scan(p2pk["descriptor"], network="regtest", source=f"parquet:{exported}")
    assert h.total_sats == p2pk["scantxoutset"]["total_sats"] > 0
    targets = [d for w in WALLETS for d in oracle["wallets"][w]["descriptors"]]
    h = scan(targets, network="regtest", source=f"parquet:{exported}")
    assert h.total_sats == sum(oracle["wallets"][w]["scantxoutset"]["total_sats"] for w in WALLETS)


def _core_hash(rows: list[dict[str, Any]]) -> str:
    """hash_serialized_3 (coinstats TxOutSer) over rows in the files' order."""
    h = hashlib.sha256()
    for r in rows:
        h.update(
            bytes.fromhex(r["txid"])[::-1]
            + struct.pack("<I", r["vout"])
            + struct.pack("<I", r["height"] * 2 + r["coinbase"])
            + struct.pack("<q", r["value"])
            + compact(len(r["script"]))
            + r["script"]
        )
    return hashlib.sha256(h.digest()).digest()[::-1].hex()


def _rows(directory: Path) -> list[dict[str, Any]]:
    return [r for f in sorted(directory.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_rows_hash_to_cores_utxo_set_hash(oracle: dict[str, Any], exported: Path) -> None:
    rows = _rows(exported)
    assert len(rows) == oracle["utxo_set"]["txouts"]
    assert _core_hash(rows) == oracle["utxo_set"]["hash_serialized_3"]
    assert sum(r["value"] for r in rows) == 1_110_000_000_000  # 11100.00000000 BTC
    for r in rows:
        assert r["script_type"] == script_type_of(r["script"])
        assert r["address"] == address_of(r["script"], "regtest")


def test_metadata_round_trip(
    oracle: dict[str, Any], exported: Path, parquet: ParquetSource
) -> None:
    files = sorted(exported.glob("*.parquet"))
    assert [f.name for f in files] == [
        "coins-00000.parquet",
        "coins-00001.parquet",
        "coins-00002.parquet",
    ]
    metas = []
    for i, f in enumerate(files):
        md = pq.read_metadata(f)
        m = {k.decode(): v.decode() for k, v in md.metadata.items() if k.startswith(b"utxo_truth.")}
        assert m["utxo_truth.file_index"] == str(i)
        assert int(m["utxo_truth.file_coins"]) == md.num_rows == (500 if i < 2 else 142)
        assert md.row_group(0).num_rows == 100
        metas.append(
            {k: v for k, v in m.items() if k.split(".")[1] not in ("file_index", "file_coins")}
        )
    assert metas[0] == metas[1] == metas[2]
    m = metas[0]
    assert m["utxo_truth.format"] == pqsrc.FORMAT
    assert m["utxo_truth.network"] == "regtest"
    assert m["utxo_truth.block_height"] == str(oracle["tip"]["height"])
    assert m["utxo_truth.block_hash"] == oracle["tip"]["hash"]
    assert m["utxo_truth.hash_serialized_3"] == oracle["utxo_set"]["hash_serialized_3"]
    assert m["utxo_truth.hash_status"] == "computed"  # nothing trusted was given to check it by
    assert m["utxo_truth.coins_total"] == str(oracle["utxo_set"]["txouts"])
    assert m["utxo_truth.files_total"] == "3"
    assert parquet.block.height == 295 and parquet.block.hash == oracle["tip"]["hash"]
    assert "checked against no trusted value" in parquet.describe()


def test_trusted_hash_verified_and_bound(tmp_path: Path, oracle: dict[str, Any]) -> None:
    r = export_parquet(SNAPSHOT, tmp_path, "regtest", snapshot_hash=TRUSTED)
    assert r.hash_status == "verified" and len(r.files) == 1
    src = ParquetSource(tmp_path, "regtest")
    assert src.metadata["block_bound_by"] == "--snapshot-hash"
    answer = src.lookup(
        [bytes.fromhex(oracle["wallets"]["alice"]["scantxoutset"]["unspents"][0]["script_pubkey"])]
    )
    assert answer.problems == () and answer.coins
    assert "was verified" in src.describe()


def test_wrong_trusted_hash_writes_nothing(tmp_path: Path) -> None:
    wrong = TRUSTED[:-1] + ("0" if TRUSTED[-1] != "0" else "1")
    with pytest.raises(VerificationError):
        export_parquet(SNAPSHOT, tmp_path / "out", "regtest", snapshot_hash=wrong)
    assert not (tmp_path / "out").exists()


def _groups(n: int, seed: int) -> list[tuple[bytes, list[tuple[int, int, bool, int, bytes]]]]:
    rng = random.Random(seed)
    scripts = [
        *_scripts().values(),
        b"\x00\x10" + b"\x06" * 16,  # witness v0 of 16 bytes: no address (BIP-141)
        b"\x52\x02" + b"\x07" * 2,  # witness v2, 2 bytes: bech32m (BIP-350)
        b"\x60\x28" + b"\x08" * 40,  # witness v16, 40 bytes
        b"\x51" * 300,  # a 300-byte script: a two-byte VARINT size
    ]
    return [
        (
            hashlib.sha256(b"pq%d-%d" % (seed, g)).digest(),
            [
                (
                    vout,
                    rng.randrange(0, 900_000),
                    rng.random() < 0.1,
                    rng.choice([0, 1, 546, 10**8, rng.randrange(0, 21 * 10**14)]),
                    rng.choice(scripts),
                )
                for vout in sorted(
                    rng.sample([0, 1, 2, 252, 253, 300, 65535, 65536, 2**32 - 1], rng.randint(1, 4))
                )
            ],
        )
        for g in range(n)
    ]


def test_every_script_kind_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    groups = _groups(400, 7)
    snap = tmp_path / "synthetic.dat"
    count = write_snapshot(snap, "regtest", "22" * 32, groups)
    monkeypatch.setattr(pqsrc, "_BATCH", 37)  # batches cut inside groups and row groups
    r = export_parquet(
        snap, tmp_path / "pq", "regtest", height=900_000, file_rows=300, row_group_rows=64
    )
    assert r.coins == count and len(r.files) == -(-count // 300)
    for f in r.files:  # row groups of 64 coins, whatever the decoder's batches were
        md = pq.read_metadata(f)
        sizes = [md.row_group(g).num_rows for g in range(md.num_row_groups)]
        assert all(n == 64 for n in sizes[:-1]) and 0 < sizes[-1] <= 64 and sum(sizes) <= 300
    rows = _rows(tmp_path / "pq")
    assert _core_hash(rows) == hash_serialized_3(groups) == r.hash_serialized_3
    for row in rows:
        assert row["script_type"] == script_type_of(row["script"])
        expected = address_of(row["script"], "regtest")
        if row["script"][:2] == b"\x00\x10":
            # BIP-141: a v0 program of 16 bytes has no address (address_of and the export: None)
            assert expected is None
        assert row["address"] == expected
    # every kind is found by the parquet: source exactly as by the snapshot source
    wanted = sorted({c[4] for _, coins in groups for c in coins})
    a = ParquetSource(tmp_path / "pq", "regtest").lookup(wanted)
    b = SnapshotSource(snap, "regtest", height=900_000).lookup(wanted)
    assert a.block == b.block
    # the same coins per script; the snapshot lists them in Holdings order (its columns are
    # sorted so), the Parquet source in the file's: a look-up's order is not part of its answer
    assert a.coins.keys() == b.coins.keys()
    for script, coins in a.coins.items():
        assert sorted(coins, key=coin_key) == sorted(b.coins[script], key=coin_key)


def _rewrite(path: Path, table: pa.Table, meta: dict[bytes, bytes] | None) -> None:
    pq.write_table(table.replace_schema_metadata(meta), path)


@pytest.fixture()
def copy(exported: Path, tmp_path: Path) -> Path:
    for f in exported.glob("*.parquet"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    return tmp_path


def test_missing_metadata_refused(copy: Path) -> None:
    f = copy / "coins-00001.parquet"
    _rewrite(f, pq.read_table(f), None)
    with pytest.raises(ParquetFormatError, match="no utxo-truth metadata"):
        ParquetSource(copy, "regtest")


@pytest.mark.parametrize("key", ["block_hash", "hash_serialized_3", "export_id", "network"])
def test_tampered_metadata_refused(copy: Path, key: str) -> None:
    f = copy / "coins-00002.parquet"
    t = pq.read_table(f)
    meta = dict(t.schema.metadata)
    k = f"utxo_truth.{key}".encode()
    meta[k] = meta[k][:-1] + (b"0" if meta[k][-1:] != b"0" else b"1")
    _rewrite(f, t, meta)
    with pytest.raises(ParquetFormatError, match=f"differ in {key}"):
        ParquetSource(copy, "regtest")


def test_dropped_rows_file_and_foreign_file_refused(copy: Path) -> None:
    f = copy / "coins-00000.parquet"
    t = pq.read_table(f)
    _rewrite(f, t.slice(1), t.schema.metadata)  # one coin deleted, metadata kept
    with pytest.raises(ParquetFormatError, match="its metadata says 500"):
        ParquetSource(copy, "regtest")
    _rewrite(f, t, t.schema.metadata)
    ParquetSource(copy, "regtest")  # restored: accepted
    (copy / "coins-00001.parquet").unlink()
    with pytest.raises(ParquetFormatError, match="missing, duplicated or foreign"):
        ParquetSource(copy, "regtest")


def test_wrong_network_and_empty_directory(exported: Path, tmp_path: Path) -> None:
    with pytest.raises(NetworkMismatchError):
        ParquetSource(exported, "signet")
    with pytest.raises(ParquetFormatError, match=r"no \.parquet files"):
        ParquetSource(tmp_path, "regtest")
    with pytest.raises(InputError, match="already holds Parquet files"):
        export_parquet(SNAPSHOT, exported, "regtest")
    with pytest.raises(SourceSpecError):
        open_source("parquet:", "regtest")


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed: import fails
    with pytest.raises(MissingExtraError, match=r"utxo-truth\[parquet\]"):
        export_parquet(SNAPSHOT, tmp_path, "regtest")
    monkeypatch.setitem(sys.modules, "pyarrow", pa)
    monkeypatch.setitem(sys.modules, "duckdb", None)
    export_parquet(SNAPSHOT, tmp_path, "regtest")
    with pytest.raises(MissingExtraError, match="DuckDB"):
        ParquetSource(tmp_path, "regtest").lookup([b"\x00"])


def test_cli_export_and_scan(
    tmp_path: Path, oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "coins"
    assert (
        main(
            [
                "snapshot",
                "export",
                str(SNAPSHOT),
                "--parquet",
                str(out),
                "--network",
                "regtest",
                "--json",
            ]
        )
        == 0
    )
    facts = json.loads(capsys.readouterr().out)
    assert facts["coins"] == oracle["utxo_set"]["txouts"] and facts["hash_status"] == "computed"
    assert facts["block"] == oracle["tip"]
    desc = oracle["wallets"]["bob"]["descriptors"]
    assert (
        main(["scan", *desc, "--network", "regtest", "--source", f"parquet:{out}", "--json"]) == 0
    )
    via_parquet = json.loads(capsys.readouterr().out)
    assert main(["scan", *desc, "--network", "regtest", "--snapshot", str(SNAPSHOT), "--json"]) == 0
    via_snapshot = json.loads(capsys.readouterr().out)
    via_parquet.pop("source")
    via_snapshot.pop("source")
    assert via_parquet == via_snapshot
    assert via_parquet["total_sats"] == oracle["wallets"]["bob"]["scantxoutset"]["total_sats"]
    # a second export into the same directory is refused, with a one-line error
    assert (
        main(["snapshot", "export", str(SNAPSHOT), "--parquet", str(out), "--network", "regtest"])
        == 2
    )
    assert "already holds Parquet files" in capsys.readouterr().err


def test_duckdb_reads_the_files_by_itself(exported: Path) -> None:
    """The files stand alone: plain DuckDB SQL (as docs/scale.md shows) gives the totals."""
    con = duckdb.connect()
    n, total = con.execute(
        "SELECT count(*), sum(value) FROM read_parquet(?)", [str(exported / "*.parquet")]
    ).fetchone()  # type: ignore[misc]
    assert (n, total) == (1142, 1_110_000_000_000)


def test_dask_join_equals_the_snapshot(oracle: dict[str, Any], exported: Path) -> None:
    """docs/scale.md's Dask function, read from the doc and run: the snapshot source's coins."""
    import re

    doc = (Path(__file__).parents[2] / "docs" / "scale.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", doc, re.S) if "def dask_lookup" in b)
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    scripts = sorted(
        {
            bytes.fromhex(u["script_pubkey"])
            for w in WALLETS
            for u in oracle["wallets"][w]["scantxoutset"]["unspents"]
        }
    )
    hits = namespace["dask_lookup"](str(exported), scripts)
    snap = SnapshotSource(SNAPSHOT, "regtest").lookup(scripts)
    expected = sorted(
        (c.txid, c.vout, c.height, c.coinbase, c.value, c.script)
        for coins in snap.coins.values()
        for c in coins
    )
    got = sorted(
        (r.txid, int(r.vout), int(r.height), bool(r.coinbase), int(r.value), bytes(r.script))
        for r in hits.itertuples()
    )
    assert got == expected and len(got) == sum(
        len(oracle["wallets"][w]["scantxoutset"]["unspents"]) for w in WALLETS
    )


def test_hash_alone_verifies_coins_but_says_the_block_is_unbound(
    tmp_path: Path, oracle: dict[str, Any]
) -> None:
    r = export_parquet(SNAPSHOT, tmp_path, "regtest", snapshot_hash=TRUSTED.rsplit(":", 1)[1])
    assert r.hash_status == "verified"
    src = ParquetSource(tmp_path, "regtest")
    assert src.metadata["block_bound_by"] == ""
    answer = src.lookup([b"\x51"])
    assert len(answer.problems) == 1 and "does not cover the base block" in answer.problems[0]


def test_export_without_the_compiled_scanner(
    tmp_path: Path, oracle: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pure-Python reader (the fallback without a C compiler) feeds the same export."""
    monkeypatch.setenv(_snapfast.ENV_PURE, "1")
    r = export_parquet(SNAPSHOT, tmp_path, "regtest")
    assert r.hash_serialized_3 == oracle["utxo_set"]["hash_serialized_3"]
    assert r.block.height == oracle["tip"]["height"]
    assert _core_hash(_rows(tmp_path)) == r.hash_serialized_3


# --- the compiled columns pass against the pure-Python reader (issue 19 item 5's speed) -------

compiled = pytest.mark.skipif(
    not _snapfast.available(), reason="the compiled scanner is not built (no C compiler)"
)


def _export(
    snap: Path, out: Path, network: str, pure: bool, monkeypatch: pytest.MonkeyPatch, **kw: Any
) -> tuple[Any, list[pa.Table], list[dict[bytes, bytes]]]:
    """One export through one path: its result, each file's table and footer metadata."""
    if pure:
        monkeypatch.setenv(_snapfast.ENV_PURE, "1")
    else:
        monkeypatch.delenv(_snapfast.ENV_PURE, raising=False)
    r = export_parquet(snap, out, network, **kw)
    monkeypatch.delenv(_snapfast.ENV_PURE, raising=False)
    tables = [pq.read_table(f) for f in r.files]
    metas = [
        {k: v for k, v in pq.read_metadata(f).metadata.items() if k != b"utxo_truth.export_id"}
        for f in r.files
    ]
    return r, tables, metas


def _every_kind(seed: int) -> list[tuple[bytes, list[tuple[int, int, bool, int, bytes]]]]:
    """_groups's coins, plus scripts whose addresses start with base58 zeros (leading '1's)."""
    groups = _groups(300, seed)
    zeros = [
        b"\x76\xa9\x14" + b"\x00" * 3 + b"\x09" * 17 + b"\x88\xac",  # P2PKH, a hash of 0s first
        b"\xa9\x14" + b"\x00" * 20 + b"\x87",  # P2SH of the all-zero hash
        b"\x76\xa9\x14" + b"\xff" * 20 + b"\x88\xac",
        b"\x00\x20" + b"\x00" * 32,  # P2WSH of zeros: bech32 'q's
    ]
    extra = [
        (hashlib.sha256(b"z%d" % i).digest(), [(i, 5, True, 1, s)]) for i, s in enumerate(zeros)
    ]
    return groups + extra


@compiled
@pytest.mark.parametrize("network", ["main", "testnet4", "regtest"])
def test_compiled_and_python_exports_are_equal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, network: str
) -> None:
    """Every script kind, vout >= 253, coinbase coins, on three networks' address forms: the
    compiled pass and the Python reader write the same rows and the same metadata, and the
    compiled pass's columns are well-formed Arrow arrays."""
    groups = _every_kind(11)
    snap = tmp_path / "synthetic.dat"
    count = write_snapshot(snap, network, "33" * 32, groups)
    monkeypatch.setattr(pqsrc, "_BATCH", 41)  # batches cut inside groups, row groups and files
    kw: dict[str, Any] = {"height": 900_000, "file_rows": 400, "row_group_rows": 90}
    fast, fast_tables, fast_meta = _export(snap, tmp_path / "c", network, False, monkeypatch, **kw)
    pure, pure_tables, pure_meta = _export(snap, tmp_path / "p", network, True, monkeypatch, **kw)
    assert fast.coins == pure.coins == count and len(fast_tables) == -(-count // 400)
    assert [t.num_rows for t in fast_tables] == [t.num_rows for t in pure_tables]
    for a, b in zip(fast_tables, pure_tables, strict=True):
        for column in a.columns:
            for chunk in column.chunks:
                chunk.validate(full=True)
        assert a.equals(b)  # the metadata (export ids apart) is compared below
    assert fast_meta == pure_meta
    assert (fast.hash_serialized_3, fast.total_sats, fast.block) == (
        pure.hash_serialized_3,
        pure.total_sats,
        pure.block,
    )
    assert fast.hash_serialized_3 == hash_serialized_3(groups)
    rows = [r for t in fast_tables for r in t.to_pylist()]
    assert sum(r["coinbase"] for r in rows) > 0 and max(r["vout"] for r in rows) >= 253
    kinds = {r["script_type"] for r in rows}
    assert {"p2pkh", "p2sh", "p2pk", "p2wpkh", "p2wsh", "p2tr", "multisig", "nulldata"} <= kinds
    assert {"witness_v0", "witness_v2", "witness_v16", "nonstandard"} <= kinds
    for r in rows:  # the address column is address_of's (null where a script has none)
        expected = address_of(r["script"], network)
        assert r["address"] == (None if expected == "None" else expected)
    if network == "main":  # version byte 0: one "1" per leading zero byte (base58.cpp)
        assert any(r["address"].startswith("1111") for r in rows if r["address"])


@compiled
def test_compiled_and_python_exports_equal_on_cores_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, oracle: dict[str, Any]
) -> None:
    """Core's own regtest dump: the same files through both paths, Core's UTXO-set hash."""
    kw: dict[str, Any] = {"file_rows": 500, "row_group_rows": 100}
    fast, fast_tables, fast_meta = _export(
        SNAPSHOT, tmp_path / "c", "regtest", False, monkeypatch, **kw
    )
    pure, pure_tables, pure_meta = _export(
        SNAPSHOT, tmp_path / "p", "regtest", True, monkeypatch, **kw
    )
    assert fast_meta == pure_meta and len(fast_tables) == 3
    for a, b in zip(fast_tables, pure_tables, strict=True):
        assert a.equals(b)  # the metadata (export ids apart) is compared below
    assert (
        fast.hash_serialized_3 == pure.hash_serialized_3 == oracle["utxo_set"]["hash_serialized_3"]
    )


@compiled
def test_corrupt_files_fail_alike_and_leave_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Truncated, extended and randomly mutated files: both paths write the same rows, or both
    raise a typed error and leave no file (and no directory they made) behind."""
    snap = tmp_path / "s.dat"
    write_snapshot(snap, "regtest", "44" * 32, _groups(25, 3))
    raw = snap.read_bytes()
    rng = random.Random(8)
    cases = [raw[:cut] for cut in (len(raw) - 1, len(raw) - 30, 60)] + [raw + b"\x00"]
    for _ in range(80):
        mutated = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(51, len(raw))] = rng.randrange(256)
        cases.append(bytes(mutated))
    bad = tmp_path / "bad.dat"
    errors = 0
    for i, data in enumerate(cases):
        bad.write_bytes(data)
        outcomes = []
        for pure in (False, True):
            out = tmp_path / f"out-{i}-{pure}"
            try:
                _, tables, metas = _export(bad, out, "regtest", pure, monkeypatch, height=900_000)
                outcomes.append(("ok", [t.to_pylist() for t in tables], metas))
            except UtxoTruthError as exc:
                assert not out.exists()
                outcomes.append(("error", type(exc), None))
        assert outcomes[0] == outcomes[1], i
        errors += outcomes[0][0] == "error"
    assert errors > 10  # the mutations did reach the error paths
