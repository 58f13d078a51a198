"""Esplora full scans: utxo_truth next to bdkpython's ``EsploraClient.full_scan``, same server, same run.

Every oracle wallet (receive + change, stop gap 20) is scanned against the Esplora test server
(``tests/harness/esplora.py``, answering from Bitcoin Core's recorded chain, run in a process of
its own so that it does not share this one's interpreter lock with either client): ours with
verification on (a fresh source per wallet, so each pays for the header chain, as a one-shot
script would) and off, and BDK's full scan. The server counts the HTTP requests each client
makes. Both clients get the same number of parallel requests. The balances must agree.

Run: ``python benchmarks/bench_esplora.py [--parallel 4] [--delay 0.0]``. ``--delay`` (seconds)
holds every reply, to see how each client fares against a distant server.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

import bdkpython as bdk
from conftest import WALLETS

from utxo_truth import EsploraSource, scan


class Server:
    """The Esplora test server in a child process."""

    def __init__(self, delay: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.esplora", "0", str(delay)],
            cwd=ROOT / "tests",
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()

    def requests(self) -> int:
        """Requests made since the last call."""
        return len(requests.get(self.url + "/__requests", timeout=30).json())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def ours(
    server: Server, descriptors: list[str], verify: bool, parallel: int
) -> tuple[float, int, int]:
    server.requests()
    src = EsploraSource(server.url, network="regtest", parallel=parallel, verify=verify)
    t0 = time.perf_counter()
    h = scan(descriptors, network="regtest", source=src, gap=20)
    dt = time.perf_counter() - t0
    src.close()
    return dt, h.total_sats - h.spent_in_mempool_sats + h.pending_sats, server.requests()


def bdk_full_scan(server: Server, descriptors: list[str], parallel: int) -> tuple[float, int, int]:
    server.requests()
    client = bdk.EsploraClient(server.url)
    d0 = bdk.Descriptor(descriptors[0], bdk.NetworkKind.TEST)
    d1 = bdk.Descriptor(descriptors[1], bdk.NetworkKind.TEST)
    wallet = bdk.Wallet(d0, d1, bdk.Network.REGTEST, bdk.Persister.new_in_memory())
    t0 = time.perf_counter()
    update = client.full_scan(wallet.start_full_scan().build(), 20, parallel)
    wallet.apply_update(update)
    dt = time.perf_counter() - t0
    return dt, wallet.balance().total.to_sat(), server.requests()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--delay", type=float, default=0.0)
    args = p.parse_args()
    oracle = json.loads((ROOT / "tests/data/oracle.json").read_text())
    server = Server(args.delay)
    try:
        print(
            f"Esplora test server on {server.url}; {args.parallel} parallel requests each; "
            f"reply delay {args.delay * 1000:.0f} ms"
        )
        print(
            f"{'wallet':10} {'ours verify':>12} {'req':>5} {'ours no-verify':>15} {'req':>5} "
            f"{'BDK full_scan':>14} {'req':>5} {'ratio':>7}"
        )
        tot = {"on": 0.0, "off": 0.0, "bdk": 0.0, "r_on": 0, "r_off": 0, "r_bdk": 0}
        for w in WALLETS:
            descs = oracle["wallets"][w]["descriptors"]
            t_on, sats, r_on = ours(server, descs, True, args.parallel)
            t_off, sats_off, r_off = ours(server, descs, False, args.parallel)
            t_bdk, bdk_sats, r_bdk = bdk_full_scan(server, descs, args.parallel)
            assert sats == sats_off == bdk_sats, f"{w}: BDK {bdk_sats} vs ours {sats}/{sats_off}"
            for k, v in (("on", t_on), ("off", t_off), ("bdk", t_bdk)):
                tot[k] += v
            tot["r_on"] += r_on
            tot["r_off"] += r_off
            tot["r_bdk"] += r_bdk
            print(
                f"{w:10} {t_on:11.2f}s {r_on:5} {t_off:14.2f}s {r_off:5} {t_bdk:13.2f}s {r_bdk:5} "
                f"{t_on / t_bdk:6.2f}x"
            )
        print(
            f"{'all':10} {tot['on']:11.2f}s {tot['r_on']:5} {tot['off']:14.2f}s {tot['r_off']:5} "
            f"{tot['bdk']:13.2f}s {tot['r_bdk']:5} {tot['on'] / tot['bdk']:6.2f}x"
            "  (ratio = ours with verification / BDK)"
        )
        print(f"without verification: {tot['off'] / tot['bdk']:.2f}x of BDK's time")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
