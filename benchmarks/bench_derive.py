"""Addresses derived per second for wpkh and tr: utxo_truth next to bdkpython, same process.

Both sides produce the same address strings for the same indexes (checked), from the same public
descriptor. BDK is measured through ``Descriptor.derive_address`` (its fastest path) and through
``Wallet.peek_address``; we are measured producing scripts (what a scan needs) and addresses.

Run: ``python benchmarks/bench_derive.py [--n 5000]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import bdkpython as bdk

from utxo_truth import parse_target
from utxo_truth.targets import address_of

DESCRIPTORS = {
    "wpkh": "wpkh([d4eedd3c/84h/1h/0h]tpubDD8aVRaGadAXsoaYJz6A2YL7UFhC1TCtMgQJJY8rWs3Po6NWuQ6pWrpJWEfca8DWqSGVqCnQSCi8Q13caSQdV13pSsbGRheCFqxnXEZ8ri7/{}/*)",
    "tr": "tr([d1ba21a5/86h/1h/0h]tpubDDpZTQ1ki31WG453jmtVDWeEiZhGSTt3iBZPa51vna6ztaBECX6XAF3gbS6pvLwtrFu34qVigaSsEXJ5voPJP4ZKa16xNF6oymv76c2Rigp/{}/*)",
}


def best_of(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    best = float("inf")
    out: object = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=5000)
    n = p.parse_args().n
    from importlib.metadata import version

    print(
        f"python {sys.version.split()[0]}, bdkpython {version('bdkpython')}, {n} indexes, best of 3"
    )
    print(
        f"{'type':5} {'ours scripts/s':>15} {'ours addr/s':>12} {'bdk derive_address/s':>21} {'bdk peek_address/s':>19} {'ratio (addr)':>13}"
    )
    for kind, template in DESCRIPTORS.items():
        ext, chg = template.format(0), template.format(1)
        ours = parse_target(ext, "regtest")
        t_scripts, _ = best_of(lambda ours=ours: ours.scripts(0, 0, n))
        t_addr, ours_addr = best_of(
            lambda ours=ours: [address_of(s, "regtest") for s in ours.scripts(0, 0, n)]
        )

        d = bdk.Descriptor(ext, bdk.NetworkKind.TEST)
        t_bdk, bdk_addr = best_of(
            lambda d=d: [str(d.derive_address(i, bdk.Network.REGTEST)) for i in range(n)]
        )
        wallet = bdk.Wallet(
            d,
            bdk.Descriptor(chg, bdk.NetworkKind.TEST),
            bdk.Network.REGTEST,
            bdk.Persister.new_in_memory(),
        )
        t_peek, _ = best_of(
            lambda w=wallet: [
                str(w.peek_address(bdk.KeychainKind.EXTERNAL, i).address) for i in range(n)
            ]
        )
        assert ours_addr == bdk_addr, f"{kind}: our addresses differ from BDK's"
        print(
            f"{kind:5} {n / t_scripts:>15,.0f} {n / t_addr:>12,.0f} {n / t_bdk:>21,.0f} {n / t_peek:>19,.0f} "
            f"{t_bdk / t_addr:>12.2f}x"
        )
    print("ratio (addr) = BDK derive_address time / our address time: above 1 means we are faster")


if __name__ == "__main__":
    main()
