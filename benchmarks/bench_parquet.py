"""Parquet export of a snapshot and a DuckDB look-up, next to the compiled snapshot scan.

Builds the synthetic Core-format snapshots of bench_snapshot_c.py (its builder, its script mix,
cached in .bench-data/), then, each in its own process so that its peak RSS is its own:

* ``export``: ``export_parquet`` of the whole file — time, size on disk, peak RSS;
* ``duckdb``: ``ParquetSource.lookup`` of 100,000 scripts (the benchmark wallet's 2,000, 200 of
  which hold coins, and 98,000 random P2WPKH scripts that hold none) — time, peak RSS;
* ``snapshot``: the compiled scanner's ``SnapshotSource.lookup`` of the same 100,000 scripts on
  the same file, in the same run — the peer.

Both look-ups must find the same coins (asserted).

Run: ``python benchmarks/bench_parquet.py [--coins 2000000 20000000] [--threads N]``
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
    """In this process: one ``mode`` run and its peak RSS."""
    t0 = time.perf_counter()
    if mode == "export":
        from utxo_truth.sources.parquet import export_parquet

        r = export_parquet(path, out, "regtest")
        res: dict[str, object] = {"files": len(r.files), "bytes": r.bytes, "coins": r.coins}
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
    res["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return res


def child(mode: str, path: Path, out: Path, threads: int) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--measure", mode, str(path), str(out)]
    cmd += ["--threads", str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--coins", type=int, nargs="+", default=[2_000_000])
    p.add_argument("--measure", nargs=3)
    p.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: its default)")
    p.add_argument("--repeat", type=int, default=3, help="look-ups: best of N")
    args = p.parse_args()
    if args.measure:
        mode, path, out = args.measure
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
        e = child("export", path, out, args.threads)
        secs = float(e["seconds"])  # type: ignore[arg-type]
        print(
            f"{coins:>11,} coins  snapshot {size / 1e6:6.0f} MB  export {secs:7.1f} s "
            f"({coins / secs / 1e3:5.0f} k coins/s)  parquet {int(e['bytes']) / 1e6:6.0f} MB in "  # type: ignore[call-overload]
            f"{e['files']} file(s) ({int(e['bytes']) / size:.2f}x the snapshot)  peak RSS "  # type: ignore[call-overload]
            f"{int(e['rss']) / 1e6:5.0f} MB"  # type: ignore[call-overload]
        )
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
