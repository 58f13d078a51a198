"""Cost per matched coin and many watched scripts: the whole ``utxo-truth scan`` call.

Writes one synthetic UTXO snapshot in Bitcoin Core's real format (``dumptxoutset`` v2) of
1,000,000 coins shaped like issue 19's regtest chain: 2,000 P2WPKH scripts hold 400 coins each
(800,000 coins), the other 200,000 coins are of bench_snapshot.py's realistic mix. Then times,
each in its own process (wall time and peak RSS of the whole process):

* ``utxo-truth scan --snapshot F --network regtest --file ADDRS --json > /dev/null`` for 100
  scripts (40,000 coins) and 2,000 scripts (800,000 coins), plain and with ``PYTHONUNBUFFERED=1``,
  next to the pure-Python reader (``UTXO_TRUTH_PURE_PYTHON=1``) in the same run;
* ``--many`` watched scripts given with ``--file`` (script hex, one a line; the 2,000 holders
  among scripts that hold nothing), time and peak RSS;
* the real shared regtest chain's ``dumptxoutset`` (tests/data/utxo-snapshot.dat).

With ``--peer SRC`` (the ``src`` directory of another checkout, e.g. a ``git worktree`` of the
commit before a change, its compiled scanner built in place), each ``--json`` case is also run
with that code on ``PYTHONPATH``, in the same run, and the ratio printed.

Run: ``python benchmarks/bench_snapshot_matches.py [--many 20000] [--repeat 3] [--peer SRC]
[--data DIR]`` (files are cached in .bench-data/, or read from ``--data``: ``m1.dat``,
``a100.txt``, ``a2000.txt`` there are this script's own file and address lists).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

from bench_snapshot import BLOCK, script_mix
from harness.snapshot_writer import compact, compress_amount, compress_script, varint, write_header

COINS = 1_000_000
HOLDERS = 2_000
PER_HOLDER = 400


def holder_scripts(n: int = HOLDERS) -> list[bytes]:
    """``n`` distinct P2WPKH scripts (0014 + 20 bytes)."""
    return [b"\x00\x14" + (0xB0B0_0000 + i).to_bytes(20, "big") for i in range(n)]


def write_file(path: Path, seed: int = 7) -> None:
    """1,000,000 coins; coin i belongs to holder i % 2000 unless i % 5 == 4 (then random)."""
    rng = random.Random(seed)
    random_script = script_mix(rng)

    def body(script: bytes) -> bytes:
        value = rng.choice((546, 10_000, 123_456, 5_000_000, rng.randrange(1, 10**10)))
        code = rng.randrange(1, 900_000) * 2 + (rng.random() < 0.01)
        return varint(code) + varint(compress_amount(value)) + compress_script(script)

    pool = [body(random_script()) for _ in range(1 << 14)]
    holders = holder_scripts()
    written = 0
    g = 0
    with path.open("wb") as f:
        write_header(f, "regtest", BLOCK, COINS)
        out = bytearray()
        while written < COINS:
            k = min(COINS - written, rng.choice((1, 1, 2, 3, 300)))  # some vout >= 253
            out += g.to_bytes(8, "big") + rng.randbytes(24) + compact(k)
            g += 1
            for vout in range(k):
                i = written
                out += compact(vout)
                if i % 5 == 4:
                    out += pool[rng.getrandbits(14)]
                else:
                    out += body(holders[(i - i // 5) % HOLDERS])
                written += 1
            if len(out) > 1 << 22:
                f.write(out)
                out.clear()
        f.write(out)


def address_file(path: Path, scripts: list[bytes]) -> None:
    from utxo_truth._network import Network
    from utxo_truth._script import address_of

    with path.open("w") as f:
        for s in scripts:
            f.write(f"{address_of(s, Network.REGTEST)}\n")


def many_file(path: Path, n: int) -> None:
    """``n`` script hex lines: the 2,000 holders spread among scripts that hold nothing."""
    holders = holder_scripts()
    step = n // HOLDERS
    with path.open("w") as f:
        buf = []
        for i in range(n):
            if i % step == 0 and i // step < HOLDERS:
                s = holders[i // step]
            else:
                s = b"\x00\x14" + (0xDEAD_0000_0000 + i).to_bytes(20, "big")
            buf.append(s.hex())
            if len(buf) >= 100_000:
                f.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            f.write("\n".join(buf) + "\n")


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (bytes) and stdout bytes of one whole CLI process."""
    cli = [sys.executable, "-c", "from utxo_truth.cli import run; run()"]
    full = {**os.environ, **env}
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen([*cli, *args], stdout=subprocess.PIPE, env=full)
        n = 0
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 20):
            n += len(chunk)
            null.write(chunk)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"CLI failed ({status}): {' '.join(args)}")
    return wall, usage.ru_maxrss * 1024, n


def best(args: list[str], env: dict[str, str], repeat: int) -> tuple[float, int, int]:
    runs = [run_cli(args, env) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[0][2]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--many", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--skip-python", action="store_true")
    p.add_argument("--peer", help="src/ of older code: run the --json cases with it too")
    p.add_argument("--data", help="a directory with m1.dat, a100.txt, a2000.txt to reuse")
    a = p.parse_args()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus (shared with other jobs), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; whole CLI process, best of {a.repeat}"
    )
    data = ROOT / ".bench-data"
    data.mkdir(exist_ok=True)
    snap = data / "matches-1m.dat"
    given = Path(a.data) if a.data else None
    if given is not None and (given / "m1.dat").exists():
        snap = given / "m1.dat"
    if not snap.exists():
        write_file(snap)
    holders = holder_scripts()
    files = {}
    for n in (100, HOLDERS):
        files[n] = data / f"matches-{n}.txt"
        if given is not None and (given / f"a{n}.txt").exists():
            files[n] = given / f"a{n}.txt"
        if not files[n].exists():
            address_file(files[n], holders[:n])
    print(f"snapshot {snap.name}: {COINS:,} coins, {snap.stat().st_size / 1e6:.1f} MB")
    base = ["scan", "--snapshot", str(snap), "--network", "regtest"]
    for n, coins in ((100, 100 * PER_HOLDER), (HOLDERS, HOLDERS * PER_HOLDER)):
        for label, env in (("", {}), ("PYTHONUNBUFFERED=1", {"PYTHONUNBUFFERED": "1"})):
            modes = [("compiled", {})] + (
                [] if a.skip_python else [("pure Python", {"UTXO_TRUTH_PURE_PYTHON": "1"})]
            )
            if a.peer:
                modes.append(("peer", {"PYTHONPATH": a.peer}))
            rows = {}
            for mode, extra in modes:
                rep = a.repeat if mode == "compiled" else 1
                rows[mode] = best([*base, "--file", str(files[n]), "--json"], {**env, **extra}, rep)
                s, rss, out = rows[mode]
                print(
                    f"{n:>6,} scripts {coins:>8,} coins --json {label:18} {mode:11} {s:7.2f} s  "
                    f"{s / coins * 1e6:6.2f} us/coin  peak RSS {rss / 1e6:5.0f} MB  JSON {out / 1e6:5.1f} MB"
                )
            if "pure Python" in rows:
                print(
                    f"  compiled is {rows['pure Python'][0] / rows['compiled'][0]:.1f}x the pure-Python reader"
                )
            if "peer" in rows:
                (ps, prss, pout), (cs, crss, cout) = rows["peer"], rows["compiled"]
                print(
                    f"  compiled is {ps / cs:.1f}x faster than the peer ({a.peer}), "
                    f"{prss / crss:.1f}x less peak RSS; same JSON size: {pout == cout}"
                )
    # many watched scripts through the one way a list is given today: --file, one per line
    if a.many:
        many = data / f"many-{a.many}.txt"
        if not many.exists():
            many_file(many, a.many)
        s, rss, _ = best([*base, "--file", str(many), "--json"], {}, 1)
        print(
            f"{a.many:,} watched scripts (--file of script hex, {HOLDERS:,} holding "
            f"{HOLDERS * PER_HOLDER:,} coins): {s:.2f} s, peak RSS {rss / 1e6:.0f} MB "
            f"({rss / a.many / 1e3:.1f} kB a script, whole process)"
        )
    real = ROOT / "tests" / "data" / "utxo-snapshot.dat"
    oracle = json.loads((ROOT / "tests" / "data" / "oracle.json").read_text())
    descs = [d for w in oracle["wallets"].values() for d in w.get("descriptors", [])]
    argv = ["scan", *descs, "--network", "regtest", "--snapshot", str(real), "--json"]
    for mode, extra in (("compiled", {}), ("pure Python", {"UTXO_TRUTH_PURE_PYTHON": "1"})):
        s, rss, out = best(argv, extra, a.repeat)
        print(
            f"real shared regtest chain ({real.name}, {real.stat().st_size / 1e3:.0f} kB, "
            f"{len(descs)} descriptors x 1000 indexes): {mode:11} {s:.2f} s, peak RSS {rss / 1e6:.0f} MB"
        )


if __name__ == "__main__":
    main()
