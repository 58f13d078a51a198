"""Electrum scans: utxo_truth next to bdkpython against the same local ElectrumX, same run.

1. Full scan of every oracle wallet (receive + change, stop gap 20): ours with verification on
   and off, BDK's ``ElectrumClient.full_scan`` (one wallet at a time for both).
2. 10,000 watched addresses synced at once: ours (``scan`` of 10,000 address targets) next to
   BDK's ``ElectrumClient.sync`` over 10,000 revealed addresses of one wallet.

ElectrumX pads small replies and holds them up to a second waiting for more (see issue #3), so
the number of round trips decides the wall time; both are printed.

Run: ``python benchmarks/bench_electrum.py [--bdk-batch 100] [--skip-bdk]`` (needs ElectrumX:
``make test`` installs it into .venv-electrumx).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

import bdkpython as bdk
from conftest import WALLETS, Server

from utxo_truth import ElectrumSource, parse_target, scan
from utxo_truth.targets import address_of


def ours(server: Server, descriptors: list[str], verify: bool) -> tuple[float, int, int]:
    src = ElectrumSource(
        "127.0.0.1", server.ex.tcp_port, network="regtest", tls=False, verify=verify
    )
    t0 = time.perf_counter()
    h = scan(descriptors, network="regtest", source=src, gap=20)
    dt = time.perf_counter() - t0
    src.close()
    return dt, h.total_sats - h.spent_in_mempool_sats + h.pending_sats, src.round_trips


def bdk_full_scan(url: str, descriptors: list[str], batch: int) -> tuple[float, int]:
    client = bdk.ElectrumClient(url)
    d0 = bdk.Descriptor(descriptors[0], bdk.NetworkKind.TEST)
    d1 = bdk.Descriptor(descriptors[1], bdk.NetworkKind.TEST)
    wallet = bdk.Wallet(d0, d1, bdk.Network.REGTEST, bdk.Persister.new_in_memory())
    t0 = time.perf_counter()
    update = client.full_scan(wallet.start_full_scan().build(), 20, batch, False)
    wallet.apply_update(update)
    dt = time.perf_counter() - t0
    return dt, wallet.balance().total.to_sat()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--bdk-batch", type=int, default=100)
    p.add_argument("--skip-bdk", action="store_true")
    p.add_argument("--addresses", type=int, default=10_000)
    args = p.parse_args()
    oracle = json.loads((ROOT / "tests/data/oracle.json").read_text())
    server = Server()
    url = f"tcp://127.0.0.1:{server.ex.tcp_port}"
    try:
        print(f"ElectrumX on 127.0.0.1:{server.ex.tcp_port}; bdkpython batch_size={args.bdk_batch}")
        print(
            f"{'wallet':10} {'ours verify':>12} {'rt':>3} {'ours no-verify':>15} {'BDK full_scan':>14} {'ratio':>7}"
        )
        totals = {"on": 0.0, "off": 0.0, "bdk": 0.0}
        for w in WALLETS:
            descs = oracle["wallets"][w]["descriptors"]
            t_on, sats, rt = ours(server, descs, True)
            t_off, sats_off, _ = ours(server, descs, False)
            assert sats == sats_off
            t_bdk, bdk_sats = (
                (float("nan"), sats) if args.skip_bdk else bdk_full_scan(url, descs, args.bdk_batch)
            )
            assert bdk_sats == sats, f"{w}: BDK {bdk_sats} vs ours {sats}"
            totals["on"] += t_on
            totals["off"] += t_off
            totals["bdk"] += t_bdk
            print(f"{w:10} {t_on:11.2f}s {rt:3} {t_off:14.2f}s {t_bdk:13.2f}s {t_on / t_bdk:6.3f}x")
        print(
            f"{'all':10} {totals['on']:11.2f}s {'':3} {totals['off']:14.2f}s {totals['bdk']:13.2f}s "
            f"{totals['on'] / totals['bdk']:6.3f}x  (ratio = ours with verification / BDK)"
        )

        n = args.addresses
        alice = oracle["wallets"]["alice"]["descriptors"]
        addresses = [
            address_of(s, "regtest") or ""
            for s in parse_target(alice[0], "regtest").scripts(0, 0, n)
        ]
        src = ElectrumSource("127.0.0.1", server.ex.tcp_port, network="regtest", tls=False)
        t0 = time.perf_counter()
        h = scan(addresses, network="regtest", source=src)
        t_ours = time.perf_counter() - t0
        line = f"sync of {n:,} addresses: ours {t_ours:.2f}s ({src.round_trips} round trips, {h.total_sats} sats confirmed)"
        if not args.skip_bdk:
            client = bdk.ElectrumClient(url)
            wallet = bdk.Wallet(
                bdk.Descriptor(alice[0], bdk.NetworkKind.TEST),
                bdk.Descriptor(alice[1], bdk.NetworkKind.TEST),
                bdk.Network.REGTEST,
                bdk.Persister.new_in_memory(),
            )
            wallet.reveal_addresses_to(bdk.KeychainKind.EXTERNAL, n - 1)
            t0 = time.perf_counter()
            update = client.sync(
                wallet.start_sync_with_revealed_spks().build(), args.bdk_batch, False
            )
            wallet.apply_update(update)
            t_bdk = time.perf_counter() - t0
            line += f"; BDK sync {t_bdk:.2f}s; ratio {t_ours / t_bdk:.3f}x"
        print(line)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
