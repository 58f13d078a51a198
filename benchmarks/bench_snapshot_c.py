"""Compiled snapshot scanner against the pure-Python reader: coins/s, UTXO-set hash, peak RSS.

Writes synthetic UTXO snapshots in Bitcoin Core's real format (``dumptxoutset`` v2; the mix of
bench_snapshot.py: 60% P2WPKH, 15% P2PKH, 10% P2SH, 10% P2TR, 5% P2WSH, heights up to 900,000,
1-3 coins per transaction) with 200 of a wallet's 2,000 scripts holding coins, then times, each
in its own process so that its peak RSS is its own: one look-up of the 2,000 scripts, and the
UTXO-set hash (``hash_serialized_3``), compiled and pure Python, on the same file in the same run.

Run: ``python benchmarks/bench_snapshot_c.py [--coins 2000000 20000000] [--python-max 2000000]``
(files are cached in .bench-data/; the pure-Python reader is timed on files up to --python-max).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from bench_snapshot import BLOCK, script_mix, wallet_scripts
from harness.snapshot_writer import compact, compress_amount, compress_script, varint, write_header


def synth_fast(path: Path, coins: int, planted: list[bytes], seed: int = 1) -> int:
    """Core's format from a pool of 65,536 pre-encoded coins (same mix as bench_snapshot.py)."""
    rng = random.Random(seed)
    random_script = script_mix(rng)

    def body(script: bytes) -> bytes:
        value = rng.choice((546, 10_000, 123_456, 5_000_000, rng.randrange(1, 10**10)))
        code = rng.randrange(0, 900_000) * 2 + (rng.random() < 0.01)
        return varint(code) + varint(compress_amount(value)) + compress_script(script)

    pool = [body(random_script()) for _ in range(1 << 16)]
    planted_bodies = [body(s) for s in planted]
    every = max(1, coins // len(planted))
    written = 0
    g = 0
    with path.open("wb") as f:
        write_header(f, "regtest", BLOCK, coins)
        out = bytearray()
        while written < coins:
            k = min(coins - written, rng.choice((1, 1, 1, 2, 2, 3)))
            # txids ascending, as Core writes them: a counter, then random bytes
            out += g.to_bytes(8, "big") + rng.randbytes(24) + compact(k)
            g += 1
            for vout in range(k):
                i = written
                out += bytes([vout])
                if i % every == 0:
                    out += planted_bodies[(i // every) % len(planted)]
                else:
                    out += pool[rng.getrandbits(16)]
                written += 1
            if len(out) > 1 << 22:
                f.write(out)
                out.clear()
        f.write(out)
    return len(range(0, coins, every))


def measure(mode: str, path: Path, repeat: int) -> dict[str, float]:
    """In this process: time ``mode`` (best of ``repeat``) and report peak RSS."""
    if mode.startswith("py-"):
        os.environ["UTXO_TRUTH_PURE_PYTHON"] = "1"
    from utxo_truth import SnapshotSource
    from utxo_truth.sources import _snapfast
    from utxo_truth.sources.snapshot import utxo_set_info

    assert _snapfast.available() == mode.startswith("c-"), "compiled scanner not built?"
    scripts = wallet_scripts()
    src = SnapshotSource(path, "regtest")
    best = float("inf")
    out: object = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        if mode.endswith("scan"):
            answer = src.lookup(scripts)
            out = sum(len(v) for v in answer.coins.values())
        else:
            info = utxo_set_info(path, str(path))
            out = info.hash_serialized_3
        best = min(best, time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": best, "rss": rss, "coins": src.header.coins, "out": out}  # type: ignore[dict-item]


def run_child(mode: str, path: Path, repeat: int) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--measure", mode, str(path), "--repeat", str(repeat)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--coins", type=int, nargs="+", default=[2_000_000])
    p.add_argument("--python-max", type=int, default=2_000_000)
    p.add_argument("--measure", nargs=2)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]), args.repeat)))
        return
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus (shared with other jobs); "
        "one look-up of 2,000 scripts, and the UTXO-set hash"
    )
    data = HERE.parent / ".bench-data"
    data.mkdir(exist_ok=True)
    planted = wallet_scripts()[::10]
    rss_scan = {}
    for coins in args.coins:
        path = data / f"synthetic-core-{coins}.dat"
        if not path.exists():
            t0 = time.perf_counter()
            synth_fast(path, coins, planted)
            print(
                f"wrote {path.name}: {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.0f} s"
            )
        expected = len(range(0, coins, max(1, coins // len(planted))))
        size = path.stat().st_size / 1e6
        rows = {}
        for mode in ("c-scan", "c-hash", "py-scan", "py-hash"):
            if mode.startswith("py-") and coins > args.python_max:
                continue
            r = run_child(mode, path, 1 if mode.startswith("py-") else args.repeat)
            rows[mode] = r
            if mode.endswith("scan"):
                assert r["out"] == expected, (mode, r["out"], expected)
            rate = coins / float(r["seconds"])  # type: ignore[arg-type]
            print(
                f"{coins:>11,} coins {size:6.0f} MB  {mode:8} {float(r['seconds']):7.2f} s "  # type: ignore[arg-type]
                f"{rate / 1e6:7.2f} M coins/s  {rate * size / coins:6.0f} MB/s  "
                f"peak RSS {int(r['rss']) / 1e6:5.0f} MB"  # type: ignore[call-overload]
            )
        if "py-hash" in rows:
            assert rows["py-hash"]["out"] == rows["c-hash"]["out"], "hashes differ"
            print("  hash_serialized_3 equal, compiled and Python:", rows["c-hash"]["out"])
        for kind in ("scan", "hash"):
            if f"py-{kind}" in rows:
                ratio = float(rows[f"py-{kind}"]["seconds"]) / float(rows[f"c-{kind}"]["seconds"])  # type: ignore[arg-type]
                print(f"  {kind}: compiled is {ratio:.0f}x the pure-Python reader")
        rss_scan[coins] = int(rows["c-scan"]["rss"])  # type: ignore[call-overload]
        rate = coins / float(rows["c-scan"]["seconds"])  # type: ignore[arg-type]
        print(
            f"  goal 20 M coins/s: {'MET' if rate >= 20e6 else 'NOT met'} ({rate / 20e6:.2f}x of goal); "
            f"185 M coins at this rate: {185e6 / rate:.1f} s"
        )
    if len(rss_scan) > 1:
        lo, hi = min(rss_scan), max(rss_scan)
        print(
            f"peak RSS of the compiled scan: {rss_scan[lo] / 1e6:.0f} MB at {lo:,} coins, {rss_scan[hi] / 1e6:.0f} MB at {hi:,}"
        )


if __name__ == "__main__":
    main()
