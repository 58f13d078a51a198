"""A plain tpub scanned as every single-key type: what it costs next to its peers, same process.

Scripts derived for indexes 0..n-1 of receive and change, as a UTXO-only scan (a snapshot)
asks. Peers in the same run: the one descriptor the user would give if they knew the type
(``wpkh(tpub/<0;1>/*)``, the floor), and the four descriptors a user who does not know it would
have to list (``pkh``, ``sh(wpkh)``, ``wpkh``, ``tr``: each derives every child key again). The
plain tpub derives each child key once and builds four scripts from it. Scripts are checked
equal to the four descriptors'.

Run: ``python benchmarks/bench_plain_xpub.py [--n 2000]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from utxo_truth import parse_target
from utxo_truth._derive import FAST

TPUB = "tpubDD8aVRaGadAXsoaYJz6A2YL7UFhC1TCtMgQJJY8rWs3Po6NWuQ6pWrpJWEfca8DWqSGVqCnQSCi8Q13caSQdV13pSsbGRheCFqxnXEZ8ri7"
FOUR = [
    f"pkh({TPUB}/<0;1>/*)",
    f"sh(wpkh({TPUB}/<0;1>/*))",
    f"wpkh({TPUB}/<0;1>/*)",
    f"tr({TPUB}/<0;1>/*)",
]


def best_of(fn: Callable[[], list[bytes]], repeat: int) -> tuple[float, list[bytes]]:
    best, out = float("inf"), []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    n, repeat = args.n, args.repeat

    def one() -> list[bytes]:
        t = parse_target(FOUR[2], "regtest")
        return t.scripts(0, 0, n) + t.scripts(1, 0, n)

    def four() -> list[bytes]:
        out: list[bytes] = []
        for d in FOUR:
            t = parse_target(d, "regtest")
            out += t.scripts(0, 0, n) + t.scripts(1, 0, n)
        return out

    def plain() -> list[bytes]:  # parsed anew each time: its key cache starts empty
        t = parse_target(TPUB, "regtest", script_type="any")
        return [s for b in range(len(t.branches)) for s in t.scripts(b, 0, n)]

    t_one, _ = best_of(one, repeat)
    t_four, s_four = best_of(four, repeat)
    t_plain, s_plain = best_of(plain, repeat)
    assert s_plain == s_four, "the plain tpub's scripts differ from the four descriptors'"
    print(
        f"python {sys.version.split()[0]}, fast path {FAST}, {n} indexes x 2 chains, best of {repeat}"
    )
    print(f"one descriptor, wpkh (the type known)    : {t_one * 1000:8.1f} ms")
    print(f"four descriptors, pkh sh(wpkh) wpkh tr    : {t_four * 1000:8.1f} ms")
    print(
        f"plain tpub as the four types (keys once)  : {t_plain * 1000:8.1f} ms  "
        f"({t_four / t_plain:.2f}x faster than four descriptors, {t_plain / t_one:.2f}x one)"
    )


if __name__ == "__main__":
    main()
