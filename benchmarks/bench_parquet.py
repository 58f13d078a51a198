"""Parquet export of a snapshot and a DuckDB look-up, next to the compiled snapshot scan.

Builds the synthetic Core-format snapshots of bench_snapshot_c.py (its builder, its script mix,
cached in .bench-data/), then, each in its own process so that its peak RSS is its own:

* ``export``: ``export_parquet`` of the whole file through the compiled ``columns`` pass — time,
  coins/s, size on disk, peak RSS;
* ``export-py``: the same export through the pure-Python reader (``UTXO_TRUTH_PURE_PYTHON=1``,
  the fallback without a C compiler), the peer, up to ``--python-max`` coins (it is slow);
* ``writer``: pyarrow writing the same rows with the export's settings from memory (decoded
  first, untimed): the floor the export is bound by; up to ``--python-max`` coins;
* ``before`` (with ``--before SRC``): the export of an older checkout's ``src/``, e.g. the code
  before a change (``git archive REV src | tar -x -C /tmp/before``, with the built
  ``_snapscan`` copied in);
* ``duckdb``: ``ParquetSource.lookup`` of 100,000 scripts (the benchmark wallet's 2,000, 200 of
  which hold coins, and 98,000 random P2WPKH scripts that hold none) — time, peak RSS;
* ``snapshot``: the compiled scanner's ``SnapshotSource.lookup`` of the same 100,000 scripts on
  the same file, in the same run — the peer.

Both look-ups must find the same coins, and both exports write the same rows (asserted on a
sample: row counts, the UTXO-set hash and total, and the first and last row group's rows).

Run: ``python benchmarks/bench_parquet.py [--coins 2000000 20000000] [--python-max N]
[--before SRC] [--export-repeat N] [--threads N]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from bench_snapshot import wallet_scripts
from bench_snapshot_c import synth_fast

WATCHED = 100_000


def watched() -> list[bytes]:
    rng = random.Random(19)
    own = wallet_scripts()
    return own + [b"\x00\x14" + rng.randbytes(20) for _ in range(WATCHED - len(own))]


def measure(mode: str, path: Path, out: Path, threads: int) -> dict[str, object]:
    """In this process: one ``mode`` run, its wall and CPU seconds (all threads) and peak RSS."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    if mode == "compare":  # here, not in the parent: a child inherits the parent's peak RSS
        same_rows(path, out)
        return {"same": True}
    if mode == "writer":  # the floor: the same rows decoded first (untimed), then only written
        res = dict(zip(("seconds", "cpu"), write_only(path, out), strict=True))
        res["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return res
    if mode in ("export", "export-py"):
        from utxo_truth.sources.parquet import export_parquet

        r = export_parquet(path, out, "regtest")
        res: dict[str, object] = {"files": len(r.files), "bytes": r.bytes, "coins": r.coins}
        res |= {"hash": r.hash_serialized_3, "total": r.total_sats}
    else:
        scripts = watched()
        t0 = time.perf_counter()
        if mode == "duckdb":
            from utxo_truth.sources.parquet import ParquetSource

            answer = ParquetSource(out, "regtest", threads=threads).lookup(scripts)
        else:
            from utxo_truth import SnapshotSource

            answer = SnapshotSource(path, "regtest").lookup(scripts)
        found = sorted((c.txid, c.vout) for cs in answer.coins.values() for c in cs)
        res = {"matched": len(found), "first": found[:3], "height": answer.block.height}
    res["seconds"] = time.perf_counter() - t0
    res["cpu"] = time.process_time() - c0
    res["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return res


def child(
    mode: str, path: Path, out: Path, threads: int, before: str | None = None
) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--measure", mode, str(path), str(out)]
    cmd += ["--threads", str(threads)]
    env = dict(os.environ)
    env.pop("UTXO_TRUTH_PURE_PYTHON", None)
    if mode == "export-py":
        env["UTXO_TRUTH_PURE_PYTHON"] = "1"
    if before:  # an older checkout's src/: the code before a change (see measure_before)
        env["BENCH_BEFORE_SRC"] = before
    res = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def write_only(path: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds pyarrow takes to write the export's rows, with its settings, from
    memory."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from utxo_truth.sources import _snapfast
    from utxo_truth.sources import parquet as pqsrc
    from utxo_truth.sources.snapshot import _MARGIN, CHUNK, HEADER_SIZE, SnapshotSource

    src = SnapshotSource(path, "regtest")
    p = src.network.params
    schema = pqsrc._schema(pa)
    batches: list[object] = []
    _snapfast.columns(
        path, HEADER_SIZE, src.header.coins, str(path),
        lambda n, *b: batches.append(pqsrc._c_batch(pa, np, schema, n, *b)),
        batch=pqsrc._BATCH, want_hash=True, hrp=p.hrp, p2pkh=p.p2pkh, p2sh=p.p2sh,
        chunk=CHUNK, margin=_MARGIN,
    )  # fmt: skip
    table = pa.Table.from_batches(batches, schema)
    out.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    writer = pqsrc._writer(pq, out / "rows.parquet", schema)
    for start in range(0, table.num_rows, pqsrc.ROW_GROUP_ROWS):
        writer.write_table(table.slice(start, pqsrc.ROW_GROUP_ROWS), pqsrc.ROW_GROUP_ROWS)
    writer.close()
    return time.perf_counter() - t0, time.process_time() - c0


def measure_before(src: str | None) -> None:
    """Make ``import utxo_truth`` load ``src``'s copy (bench_snapshot put ours on the path and
    imported it)."""
    if not src:
        return
    for name in [m for m in sys.modules if m == "utxo_truth" or m.startswith("utxo_truth.")]:
        del sys.modules[name]
    sys.path.insert(0, src)
    import utxo_truth

    assert Path(utxo_truth.__file__).is_relative_to(Path(src).resolve()), utxo_truth.__file__


def same_rows(a: Path, b: Path) -> None:
    """The two exports' first and last row groups hold the same rows (a sample: fast)."""
    import pyarrow.parquet as pq

    fa, fb = sorted(a.glob("*.parquet")), sorted(b.glob("*.parquet"))
    assert len(fa) == len(fb)
    for x, y in ((fa[0], fb[0]), (fa[-1], fb[-1])):
        px, py = pq.ParquetFile(x), pq.ParquetFile(y)
        assert px.metadata.num_rows == py.metadata.num_rows
        for g in {0, px.num_row_groups - 1}:
            assert px.read_row_group(g).equals(py.read_row_group(g))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--coins", type=int, nargs="+", default=[2_000_000])
    p.add_argument("--measure", nargs=3)
    p.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: its default)")
    p.add_argument("--repeat", type=int, default=3, help="look-ups: best of N")
    p.add_argument(
        "--python-max", type=int, default=2_000_000, help="pure-Python export up to N coins"
    )
    p.add_argument("--export-repeat", type=int, default=1, help="exports: best of N")
    p.add_argument(
        "--before", help="also export (up to --python-max coins) with this older src/ on the path"
    )
    args = p.parse_args()
    if args.measure:
        mode, path, out = args.measure
        measure_before(os.environ.get("BENCH_BEFORE_SRC"))
        print(json.dumps(measure(mode, Path(path), Path(out), args.threads)))
        return
    import duckdb
    import pyarrow

    print(
        f"python {sys.version.split()[0]}, pyarrow {pyarrow.__version__}, duckdb "
        f"{duckdb.__version__}, {os.cpu_count()} cpus (shared with other jobs); "
        f"look-up of {WATCHED:,} scripts"
    )
    data = HERE.parent / ".bench-data"
    data.mkdir(exist_ok=True)
    planted = wallet_scripts()[::10]
    for coins in args.coins:
        path = data / f"synthetic-core-{coins}.dat"
        if not path.exists():
            t0 = time.perf_counter()
            synth_fast(path, coins, planted)
            print(f"wrote {path.name} in {time.perf_counter() - t0:.0f} s")
        size = path.stat().st_size
        out = data / f"parquet-{coins}"
        shutil.rmtree(out, ignore_errors=True)
        exports: dict[str, dict[str, object]] = {}
        modes = ["export", "export-py"] + (["before"] if args.before else [])
        for mode in modes[1:]:
            if coins > args.python_max:
                print(f"  ({mode} skipped above {args.python_max:,} coins)")
                modes.remove(mode)
        for _ in range(args.export_repeat):  # best of N, the modes alternating
            for mode in modes:
                target = out if mode == "export" else data / f"parquet-{mode}-{coins}"
                shutil.rmtree(target, ignore_errors=True)
                before = args.before if mode == "before" else None
                e = child("export" if before else mode, path, target, args.threads, before)
                if mode == "before":
                    shutil.rmtree(target)
                if mode not in exports or float(e["seconds"]) < float(exports[mode]["seconds"]):  # type: ignore[arg-type]
                    exports[mode] = e
        for mode in modes:
            e = exports[mode]
            secs = float(e["seconds"])  # type: ignore[arg-type]
            label = {"export": "compiled", "export-py": "pure Python", "before": "before"}[mode]
            print(
                f"{coins:>11,} coins  snapshot {size / 1e6:6.0f} MB  export {label:11} {secs:7.1f} s "
                f"(CPU {float(e['cpu']):6.1f} s; {coins / secs / 1e6:5.2f} M coins/s)  parquet {int(e['bytes']) / 1e6:6.0f} MB in "  # type: ignore[call-overload]
                f"{e['files']} file(s) ({int(e['bytes']) / size:.2f}x the snapshot)  peak RSS "  # type: ignore[call-overload]
                f"{int(e['rss']) / 1e6:5.0f} MB"  # type: ignore[call-overload]
            )
        if coins <= args.python_max:  # the rows held in memory: small files only
            target = data / f"parquet-w-{coins}"
            w = min(
                (child("writer", path, target, args.threads) for _ in range(args.export_repeat)),
                key=lambda r: float(r["seconds"]),  # type: ignore[arg-type]
            )
            shutil.rmtree(target)
            ratio = float(exports["export"]["seconds"]) / float(w["seconds"])  # type: ignore[arg-type]
            print(
                f"  pyarrow writing the same rows from memory: {float(w['seconds']):5.1f} s (CPU "  # type: ignore[arg-type]
                f"{float(w['cpu']):5.1f} s); the export takes {ratio:.2f}x that"  # type: ignore[arg-type]
            )
        if "export-py" in exports:
            a, b = exports["export"], exports["export-py"]
            assert (a["coins"], a["hash"], a["total"]) == (b["coins"], b["hash"], b["total"])
            assert child("compare", out, data / f"parquet-export-py-{coins}", args.threads)["same"]
            shutil.rmtree(data / f"parquet-export-py-{coins}")
            ratio = float(b["seconds"]) / float(a["seconds"])  # type: ignore[arg-type]
            print(f"  export: compiled is {ratio:.1f}x the pure-Python reader (rows equal)")
        if "before" in exports:
            ratio = float(exports["before"]["seconds"]) / float(exports["export"]["seconds"])  # type: ignore[arg-type]
            print(f"  export: compiled is {ratio:.1f}x the code before ({args.before})")
        best: dict[str, dict[str, object]] = {}
        for _ in range(args.repeat):  # alternate the two, so that both see the same machine
            for mode in ("snapshot", "duckdb"):
                r = child(mode, path, out, args.threads)
                if mode not in best or float(r["seconds"]) < float(best[mode]["seconds"]):  # type: ignore[arg-type]
                    best[mode] = r
        assert best["snapshot"]["matched"] == best["duckdb"]["matched"] > 0, best
        assert best["snapshot"]["first"] == best["duckdb"]["first"], best
        for mode in ("snapshot", "duckdb"):
            r = best[mode]
            print(
                f"  {mode:8} look-up of {WATCHED:,} scripts: {float(r['seconds']):6.2f} s, "  # type: ignore[arg-type]
                f"{r['matched']} coins, peak RSS {int(r['rss']) / 1e6:5.0f} MB"  # type: ignore[call-overload]
            )
        ratio = float(best["duckdb"]["seconds"]) / float(best["snapshot"]["seconds"])  # type: ignore[arg-type]
        print(f"  DuckDB on Parquet / compiled snapshot scan: {ratio:.2f}x")


if __name__ == "__main__":
    main()
