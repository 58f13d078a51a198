"""What the snapshot read's progress costs: one look-up with and without a ``progress`` callback.

A watcher thread reads the file offset from ``/proc/self/fdinfo`` ten times a second while the
scan runs (sources/_readprogress.py). This times ``SnapshotSource.lookup`` of a wallet's 2,000
scripts on the same synthetic snapshot (Core's real format, bench_snapshot_c.py's mix), compiled
and pure Python, alternately with and without a callback, best of ``--repeat``, and prints the
ratio and how many progress reports arrived.

Run: ``python benchmarks/bench_progress.py [--coins 5000000] [--repeat 5]`` (files are cached in
.bench-data/).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from bench_snapshot import wallet_scripts
from bench_snapshot_c import synth_fast


def _recorder(seen: list[tuple[int, int]]) -> Callable[[int, int], None]:
    return lambda done, total: seen.append((done, total))


def measure(mode: str, path: Path, repeat: int) -> dict[str, object]:
    """In this process: best time of a look-up without and with a progress callback."""
    if mode == "py":
        os.environ["UTXO_TRUTH_PURE_PYTHON"] = "1"
    from utxo_truth import SnapshotSource

    scripts = wallet_scripts()
    src = SnapshotSource(path, "regtest")
    best = {"without": float("inf"), "with": float("inf")}
    reports = 0
    for _ in range(repeat):
        for kind in ("without", "with"):
            seen: list[tuple[int, int]] = []
            src.progress = _recorder(seen) if kind == "with" else None
            t0 = time.perf_counter()
            src.lookup(scripts)
            best[kind] = min(best[kind], time.perf_counter() - t0)
            if kind == "with":
                reports = max(reports, len(seen))
                assert seen[-1][0] == seen[-1][1] == path.stat().st_size
    return {"without": best["without"], "with": best["with"], "reports": reports}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--coins", type=int, default=5_000_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--measure", nargs=2)
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]), args.repeat)))
        return
    data = HERE.parent / ".bench-data"
    data.mkdir(exist_ok=True)
    path = data / f"synthetic-core-{args.coins}.dat"
    if not path.exists():
        synth_fast(path, args.coins, wallet_scripts()[::10])
    size = path.stat().st_size / 1e6
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus (shared with other jobs); "
        f"{args.coins:,} coins, {size:.0f} MB, one look-up of 2,000 scripts, best of {args.repeat}"
    )
    for mode in ("c", "py"):
        repeat = args.repeat if mode == "c" else max(1, args.repeat // 2)
        cmd = [sys.executable, __file__, "--measure", mode, str(path), "--repeat", str(repeat)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        ratio = float(r["with"]) / float(r["without"])
        print(
            f"  {mode + ' reader':10} without progress {float(r['without']):6.2f} s   with "
            f"{float(r['with']):6.2f} s   ratio {ratio:.3f}   reports {r['reports']}"
        )


if __name__ == "__main__":
    main()
