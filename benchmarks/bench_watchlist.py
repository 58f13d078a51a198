"""10,000,000 watched scripts: the whole ``utxo-truth scan --watch-list`` call (issue 19 item 4).

Against bench_snapshot_matches.py's 1,000,000-coin snapshot (``m1.dat``: 2,000 P2WPKH scripts
hold 400 coins each), each figure one whole CLI process (wall time, peak RSS):

* ``scan --watch-list FILE --json`` of watch lists of 20,000 .. 10,000,000 lines, a realistic
  mix of regtest address types (P2PKH 30%, P2SH 15%, P2WPKH 35%, P2WSH 8%, P2TR 12%), among
  which the 100 holders of 40,000 coins (the list's own cost shows) or the 2,000 holders of
  800,000 coins (the brief's shape) are spread evenly;
* the peer in the same run: the same lists through ``scan --file`` (a full target and result
  per line) at the sizes it can do (20,000 and 100,000 lines);
* the parse alone, in one process: ``read_watch_list`` (compiled; and pure Python on a sample)
  next to embit's address decoding of the same lines (``embit.script.address_to_scriptpubkey``).

Run: ``python benchmarks/bench_watchlist.py [--snapshot .bench-data/m1.dat] [--max 10000000]``
(lists are generated once into .bench-data/ by gen_addresses.c: 33 s for 10,000,000 lines).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_snapshot_matches import PER_HOLDER, holder_scripts, run_cli, write_file


def base_lines(path: Path, n: int, seed: int = 19) -> None:
    """``n`` regtest addresses of the mix, none of which holds a coin in the snapshot.

    Made by gen_addresses.c (encoding 10^7 addresses with embit takes most of an hour here);
    a sample is checked against embit's decoder.
    """
    import shutil
    import subprocess

    from embit.script import address_to_scriptpubkey

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit("a C compiler is needed to generate the watch list")
    exe = path.with_name("gen_addresses")
    subprocess.run([cc, "-O2", "-o", str(exe), str(HERE / "gen_addresses.c")], check=True)
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as f:
        subprocess.run([str(exe), str(n), str(seed)], stdout=f, check=True)
    with tmp.open() as f:
        for _ in range(10_000):
            address_to_scriptpubkey(f.readline().strip())  # raises on a bad address
    tmp.rename(path)


def with_holders(base: Path, out: Path, n: int, holders: int) -> None:
    """The first ``n`` lines of ``base``, every (n/holders)-th replaced by a holder's address."""
    from itertools import islice

    from utxo_truth._network import Network
    from utxo_truth._script import address_of

    addrs = [address_of(s, Network.REGTEST) for s in holder_scripts(holders)]
    step = n // holders
    with base.open() as src, out.open("w") as dst:
        for a in addrs:  # each holder replaces the first line of its step
            next(src)
            dst.write(f"{a}\n")
            dst.writelines(islice(src, step - 1))
        dst.writelines(islice(src, n - step * holders))


def parse_peer(path: Path, sample: int) -> None:
    """The parse alone: ours (compiled, pure Python) and embit's decoding, per line."""
    from embit.script import address_to_scriptpubkey

    from utxo_truth.sources import _snapfast
    from utxo_truth.watchlist import read_watch_list

    size = path.stat().st_size
    t0 = time.perf_counter()
    w = read_watch_list(path, "regtest")
    t = time.perf_counter() - t0
    print(
        f"  parse, compiled:      {len(w):>10,} lines {t:7.2f} s  {t / len(w) * 1e9:7.0f} ns/line "
        f"{size / t / 1e6:6.0f} MB/s  set {w.memory_bytes / 1e6:6.0f} MB = "
        f"{w.memory_bytes / len(w):.1f} bytes a script"
    )
    head = path.with_name(f"head-{sample}.txt")
    with path.open() as src, head.open("w") as dst:
        lines = [src.readline() for _ in range(sample)]
        dst.writelines(lines)
    os.environ[_snapfast.ENV_PURE] = "1"
    try:
        t0 = time.perf_counter()
        wp = read_watch_list(head, "regtest")
        tp = time.perf_counter() - t0
    finally:
        del os.environ[_snapfast.ENV_PURE]
    print(
        f"  parse, pure Python:   {len(wp):>10,} lines {tp:7.2f} s  {tp / len(wp) * 1e9:7.0f} ns/line "
        f"set ~{wp.memory_bytes / len(wp):.0f} bytes a script (sizeof estimate)"
    )
    texts = [x.strip() for x in lines]
    t0 = time.perf_counter()
    for a in texts:
        address_to_scriptpubkey(a)
    te = time.perf_counter() - t0
    print(
        f"  peer, embit address_to_scriptpubkey: {len(texts):,} lines {te:7.2f} s  "
        f"{te / len(texts) * 1e9:7.0f} ns/line; ours compiled is {te / len(texts) / (t / len(w)):.0f}x"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--snapshot", type=Path, default=ROOT / ".bench-data" / "m1.dat")
    p.add_argument("--max", type=int, default=10_000_000)
    p.add_argument("--sample", type=int, default=200_000)
    a = p.parse_args()
    data = ROOT / ".bench-data"
    data.mkdir(exist_ok=True)
    snap = a.snapshot
    if not snap.exists():
        write_file(snap)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus (shared with other jobs), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; whole CLI process, one run each"
    )
    print(f"snapshot {snap.name}: {snap.stat().st_size / 1e6:.1f} MB")
    base = data / f"wl-base-{a.max}.txt"
    if not base.exists():
        t0 = time.perf_counter()
        base_lines(base, a.max)
        print(f"(generated {a.max:,} addresses in {time.perf_counter() - t0:.0f} s)")
    cli = ["scan", "--snapshot", str(snap), "--network", "regtest", "--json"]
    sizes = [n for n in (20_000, 100_000, 1_000_000, a.max) if n <= a.max]
    rows: dict[tuple[str, int, int], tuple[float, int]] = {}
    for holders in (100, 2_000):
        for n in sizes if holders == 100 else [sizes[0], sizes[-1]]:
            lst = data / f"wl-{n}-{holders}.txt"
            if not lst.exists():
                with_holders(base, lst, n, holders)
            modes = ["--watch-list"] + (["--file"] if n <= 100_000 else [])
            for mode in modes:
                s, rss, out = run_cli([*cli, mode, str(lst)], {})
                rows[(mode, n, holders)] = (s, rss)
                print(
                    f"{mode:12} {n:>10,} lines, {holders:>5,} holding {holders * PER_HOLDER:>7,} coins: "
                    f"{s:7.2f} s  peak RSS {rss / 1e6:6.0f} MB  JSON {out / 1e6:5.1f} MB"
                )
        if holders != 100:
            w1, w2 = (
                rows[("--watch-list", sizes[0], holders)],
                rows[("--watch-list", sizes[-1], holders)],
            )
            print(
                f"  the {sizes[-1]:,}-line list next to {sizes[0]:,} lines: +{w2[0] - w1[0]:.2f} s, +{(w2[1] - w1[1]) / 1e6:.0f} MB"
            )
            continue
        small = rows[("--watch-list", sizes[0], holders)]
        big = rows[("--watch-list", sizes[-1], holders)]
        per = (big[1] - small[1]) / (sizes[-1] - sizes[0])
        print(
            f"  --watch-list per watched script ({sizes[0]:,} -> {sizes[-1]:,}): "
            f"{per:.1f} bytes of peak RSS, {(big[0] - small[0]) / (sizes[-1] - sizes[0]) * 1e9:.0f} ns"
        )
        if ("--file", 100_000, holders) in rows:
            f1, f2 = rows[("--file", 20_000, holders)], rows[("--file", 100_000, holders)]
            fper = (f2[1] - f1[1]) / 80_000
            w2 = rows[("--watch-list", 100_000, holders)]
            print(
                f"  --file per watched script (20,000 -> 100,000): {fper:.0f} bytes of peak RSS, "
                f"{(f2[0] - f1[0]) / 80_000 * 1e6:.1f} us; at 100,000 lines --watch-list is "
                f"{f2[0] / w2[0]:.1f}x faster and {f2[1] / w2[1]:.1f}x less memory"
            )
    parse_peer(data / f"wl-{sizes[-1]}-100.txt", a.sample)


if __name__ == "__main__":
    main()
