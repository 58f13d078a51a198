"""Snapshot scan throughput: coins per second, and memory against snapshot size.

Writes synthetic UTXO snapshots in Bitcoin Core's real format (``dumptxoutset`` version 2; a
mainnet-like mix of P2WPKH, P2PKH, P2SH, P2TR and P2WSH with heights up to 900,000) with a few
hundred coins planted for a watched wallet, then times one look-up of that wallet's 2,000 scripts
(receive and change, indexes 0..999: Bitcoin Core's default range) over the whole file.

Run: ``python benchmarks/bench_snapshot.py [--coins 2000000]`` (files are cached in .bench-data/).
There is no peer for this job in bdkpython (BDK has no snapshot reader); the reference figure is
the goal of 1,000,000 coins/s, a mainnet snapshot of ~185 million coins in about three minutes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "src"))

from harness.snapshot_writer import coin_bytes, compact, write_header

from utxo_truth import SnapshotSource, parse_target

WALLET = (
    "wpkh([d4eedd3c/84h/1h/0h]tpubDD8aVRaGadAXsoaYJz6A2YL7UFhC1TCtMgQJJY8rWs3Po6NWuQ6pWrpJWEfca8"
    "DWqSGVqCnQSCi8Q13caSQdV13pSsbGRheCFqxnXEZ8ri7/<0;1>/*)"
)
BLOCK = "00" * 31 + "01"


def wallet_scripts() -> list[bytes]:
    t = parse_target(WALLET, "regtest")
    return t.scripts(0, 0, 1000) + t.scripts(1, 0, 1000)


def script_mix(rng: random.Random) -> Callable[[], bytes]:
    """A random scriptPubKey in a realistic mix: 60% P2WPKH, 15% P2PKH, 10% P2SH, 10% P2TR,
    5% P2WSH (the same mix for every snapshot benchmark)."""
    kinds = [
        (0.60, lambda: b"\x00\x14" + rng.randbytes(20)),
        (0.15, lambda: b"\x76\xa9\x14" + rng.randbytes(20) + b"\x88\xac"),
        (0.10, lambda: b"\xa9\x14" + rng.randbytes(20) + b"\x87"),
        (0.10, lambda: b"\x51\x20" + rng.randbytes(32)),
        (0.05, lambda: b"\x00\x20" + rng.randbytes(32)),
    ]
    weights = [k[0] for k in kinds]
    makers = [k[1] for k in kinds]
    return lambda: rng.choices(makers, weights)[0]()


def synth(path: Path, coins: int, planted: list[bytes], seed: int = 1) -> int:
    """Write ``coins`` coins; every 1 in (coins // len(planted)) pays a planted script."""
    rng = random.Random(seed)
    random_script = script_mix(rng)
    every = max(1, coins // max(1, len(planted)))
    n_groups = int(coins / 1.6)
    txids = sorted(rng.randbytes(32) for _ in range(n_groups))
    written = 0
    with path.open("wb") as f:
        write_header(f, "regtest", BLOCK, coins)
        out = bytearray()
        for g, txid in enumerate(txids):
            left = coins - written
            groups_left = n_groups - g
            k = (
                left
                if groups_left == 1
                else min(left - (groups_left - 1), rng.choice((1, 1, 1, 2, 2, 3)))
            )
            out += txid + compact(k)
            for vout in range(k):
                i = written
                script = planted[(i // every) % len(planted)] if i % every == 0 else random_script()
                value = rng.choice((546, 10_000, 123_456, 5_000_000, rng.randrange(1, 10**10)))
                out += coin_bytes(
                    vout, rng.randrange(0, 900_000), rng.random() < 0.01, value, script
                )
                written += 1
            if len(out) > 1 << 20:
                f.write(out)
                out.clear()
        f.write(out)
    assert written == coins
    return every


def run(coins: int) -> dict[str, float]:
    data = HERE.parent / ".bench-data"
    data.mkdir(exist_ok=True)
    scripts = wallet_scripts()
    planted = scripts[::10]  # 200 of the wallet's scripts hold coins
    path = data / f"synthetic-{coins}.dat"
    if not path.exists():
        t0 = time.perf_counter()
        synth(path, coins, planted)
        print(
            f"wrote {path.name}: {coins:,} coins, {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s"
        )
    src = SnapshotSource(path, "regtest")
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        answer = src.lookup(scripts)
        best = min(best, time.perf_counter() - t0)
    found = sum(len(v) for v in answer.coins.values())
    expected = len(range(0, coins, max(1, coins // len(planted))))
    assert found == expected, (found, expected)
    tracemalloc.start()
    src.lookup(scripts)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rate = coins / best
    print(
        f"{coins:>10,} coins  {best:6.2f} s  {rate:>12,.0f} coins/s  "
        f"peak Python memory {peak / 1e6:5.1f} MB  ({found} wallet coins found)"
    )
    return {"coins": coins, "seconds": best, "rate": rate, "peak": peak}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--coins", type=int, default=2_000_000)
    args = p.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; one look-up of 2,000 scripts")
    small = run(args.coins // 4)
    big = run(args.coins)
    print(
        f"memory ratio {big['peak'] / small['peak']:.2f} for a {args.coins / (args.coins // 4):.0f}x larger file"
    )
    print(
        f"goal 1,000,000 coins/s: {big['rate'] / 1e6:.2f}x of goal; "
        f"a 185M-coin mainnet snapshot would take {185e6 / big['rate'] / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
