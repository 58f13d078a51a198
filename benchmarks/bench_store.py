"""The header store: requests and bytes of a first and a second full scan, ours next to BDK.

Every oracle wallet (receive + change, stop gap 20), verification on, same run:

* Esplora (the test server, ``tests/harness/esplora.py``, in a process of its own, every reply
  held ``--delay`` seconds): ours with a cold header store (a fresh directory per wallet), ours
  again with that store warm (a new source, as a second run of the program makes), and BDK's
  ``EsploraClient.full_scan``. Requests are counted by the server; bytes are the reply bodies of
  the same paths, asked again of a second server with no delay.
* Electrum (the real ElectrumX, through a counting proxy): ours cold, ours warm and, unless
  ``--skip-bdk-electrum``, BDK's ``ElectrumClient.full_scan`` (slow: ElectrumX holds small replies
  up to a second, see RESULTS). Requests are JSON-RPC calls; bytes are the replies' JSON.

Then the projection to mainnet (nothing fetched: arithmetic from the embedded checkpoint table).

Run: ``python benchmarks/bench_store.py [--delay 0.02] [--parallel 4] [--skip-bdk-electrum]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bdkpython as bdk
from bench_esplora import Server as EsploraProcess
from conftest import WALLETS

from utxo_truth import ElectrumSource, EsploraSource, scan

HEADER_PATHS = ("/blocks/", "/block-height/", "/block/")


def is_header(path: str) -> bool:
    return path.startswith(HEADER_PATHS) and not path.startswith("/blocks/tip")


class Esplora:
    def __init__(self, delay: float) -> None:
        self.server = EsploraProcess(delay)
        self.replay = EsploraProcess(0.0)
        self.sizes: dict[str, int] = {}

    def log(self) -> list[str]:
        return list(requests.get(self.server.url + "/__requests", timeout=30).json())

    def nbytes(self, paths: list[str]) -> int:
        with requests.Session() as s:
            for p in paths:
                if p not in self.sizes:
                    self.sizes[p] = len(s.get(self.replay.url + p, timeout=30).content)
        requests.get(self.replay.url + "/__requests", timeout=30)
        return sum(self.sizes[p] for p in paths)

    def stop(self) -> None:
        self.server.stop()
        self.replay.stop()


def esplora_ours(e: Esplora, descs: list[str], cache: Path, parallel: int) -> dict[str, Any]:
    e.log()
    src = EsploraSource(e.server.url, network="regtest", parallel=parallel, cache_dir=cache)
    t0 = time.perf_counter()
    h = scan(descs, network="regtest", source=src, gap=20)
    dt = time.perf_counter() - t0
    src.close()
    assert h.complete and h.verified_sats == h.total_sats, h.problems
    paths = e.log()
    sats = h.total_sats - h.spent_in_mempool_sats + h.pending_sats
    return {
        "t": dt,
        "req": len(paths),
        "hdr": sum(map(is_header, paths)),
        "paths": paths,
        "sats": sats,
    }


def esplora_bdk(e: Esplora, descs: list[str], parallel: int) -> dict[str, Any]:
    e.log()
    client = bdk.EsploraClient(e.server.url)
    wallet = bdk.Wallet(
        bdk.Descriptor(descs[0], bdk.NetworkKind.TEST),
        bdk.Descriptor(descs[1], bdk.NetworkKind.TEST),
        bdk.Network.REGTEST,
        bdk.Persister.new_in_memory(),
    )
    t0 = time.perf_counter()
    wallet.apply_update(client.full_scan(wallet.start_full_scan().build(), 20, parallel))
    dt = time.perf_counter() - t0
    paths = e.log()
    return {
        "t": dt,
        "req": len(paths),
        "hdr": sum(map(is_header, paths)),
        "paths": paths,
        "sats": wallet.balance().total.to_sat(),
    }


class Count:
    """Counts JSON-RPC calls and reply bytes through the proxy."""

    def __init__(self) -> None:
        self.calls = self.nbytes = self.headers = 0

    def __call__(self, method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        self.nbytes += len(json.dumps(reply))
        if method == "blockchain.block.headers":
            self.headers += int(params[1])
        elif method == "blockchain.block.header":
            self.headers += 1
        return reply

    def take(self) -> tuple[int, int, int]:
        out = (self.calls, self.nbytes, self.headers)
        self.calls = self.nbytes = self.headers = 0
        return out


def kb(n: int) -> str:
    return f"{n / 1000:,.0f} KB"


def run_esplora(args: argparse.Namespace, oracle: dict[str, Any]) -> None:
    e = Esplora(args.delay)
    try:
        print(
            f"\nEsplora test server; {args.parallel} parallel requests each; reply delay "
            f"{args.delay * 1000:.0f} ms; verification on"
        )
        print(
            f"{'wallet':10} {'first':>7} {'req':>5} {'hdr':>4} {'bytes':>9}  {'second':>7} {'req':>5} "
            f"{'hdr':>4} {'bytes':>9}  {'BDK':>7} {'req':>5} {'bytes':>9}  {'2nd/BDK':>7}"
        )
        tot = {k: 0.0 for k in ("t1", "t2", "tb", "r1", "r2", "rb", "h1", "h2", "b1", "b2", "bb")}
        for w in WALLETS:
            descs = oracle["wallets"][w]["descriptors"]
            with tempfile.TemporaryDirectory() as cache:
                first = esplora_ours(e, descs, Path(cache), args.parallel)
                second = esplora_ours(e, descs, Path(cache), args.parallel)
            theirs = esplora_bdk(e, descs, args.parallel)
            assert first["sats"] == second["sats"] == theirs["sats"], w
            b1, b2, bb = (e.nbytes(x["paths"]) for x in (first, second, theirs))
            for k, v in (
                ("t1", first["t"]),
                ("t2", second["t"]),
                ("tb", theirs["t"]),
                ("r1", first["req"]),
                ("r2", second["req"]),
                ("rb", theirs["req"]),
                ("h1", first["hdr"]),
                ("h2", second["hdr"]),
                ("b1", b1),
                ("b2", b2),
                ("bb", bb),
            ):
                tot[k] += v
            print(
                f"{w:10} {first['t']:6.2f}s {first['req']:5} {first['hdr']:4} {kb(b1):>9}  "
                f"{second['t']:6.2f}s {second['req']:5} {second['hdr']:4} {kb(b2):>9}  "
                f"{theirs['t']:6.2f}s {theirs['req']:5} {kb(bb):>9}  {second['t'] / theirs['t']:6.2f}x"
            )
        print(
            f"{'all':10} {tot['t1']:6.2f}s {tot['r1']:5.0f} {tot['h1']:4.0f} {kb(int(tot['b1'])):>9}  "
            f"{tot['t2']:6.2f}s {tot['r2']:5.0f} {tot['h2']:4.0f} {kb(int(tot['b2'])):>9}  "
            f"{tot['tb']:6.2f}s {tot['rb']:5.0f} {kb(int(tot['bb'])):>9}  {tot['t2'] / tot['tb']:6.2f}x"
        )
        print(
            f"first scan (cold store) / BDK: {tot['t1'] / tot['tb']:.2f}x; second (warm) / BDK: "
            f"{tot['t2'] / tot['tb']:.2f}x  (wall time, ours with verification)"
        )
    finally:
        e.stop()


def run_electrum(args: argparse.Namespace, oracle: dict[str, Any]) -> None:
    from conftest import Server
    from harness.proxy import LyingProxy

    server = Server()
    count = Count()
    proxy = LyingProxy(server.ex.tcp_port, rewrite=count)
    try:
        print("\nElectrumX (real, regtest) through a counting proxy; verification on")
        print(
            f"{'wallet':10} {'first':>7} {'calls':>5} {'hdrs':>5} {'bytes':>9}  {'second':>7} "
            f"{'calls':>5} {'hdrs':>5} {'bytes':>9}  {'BDK':>8} {'calls':>5} {'bytes':>9}"
        )
        for w in WALLETS:
            descs = oracle["wallets"][w]["descriptors"]
            row = []
            with tempfile.TemporaryDirectory() as cache:
                for _ in range(2):
                    src = ElectrumSource(
                        "127.0.0.1", proxy.port, network="regtest", tls=False, cache_dir=Path(cache)
                    )
                    t0 = time.perf_counter()
                    h = scan(descs, network="regtest", source=src, gap=20)
                    row.append((time.perf_counter() - t0, *count.take()))
                    src.close()
                    assert h.complete and h.verified_sats == h.total_sats
            line = f"{w:10} " + "  ".join(
                f"{t:6.2f}s {c:5} {hd:5} {kb(b):>9}" for t, c, b, hd in row
            )
            if not args.skip_bdk_electrum:
                client = bdk.ElectrumClient(f"tcp://127.0.0.1:{proxy.port}")
                wallet = bdk.Wallet(
                    bdk.Descriptor(descs[0], bdk.NetworkKind.TEST),
                    bdk.Descriptor(descs[1], bdk.NetworkKind.TEST),
                    bdk.Network.REGTEST,
                    bdk.Persister.new_in_memory(),
                )
                t0 = time.perf_counter()
                wallet.apply_update(
                    client.full_scan(wallet.start_full_scan().build(), 20, 100, False)
                )
                tb = time.perf_counter() - t0
                c, b, _hd = count.take()
                line += f"  {tb:7.2f}s {c:5} {kb(b):>9}"
            print(line)
    finally:
        proxy.close()
        server.stop()


def projection() -> None:
    from utxo_truth._checkpoints import load_checkpoints
    from utxo_truth._network import Network

    last = load_checkpoints(Network.MAIN).last_height
    chunk = 2016 * 80
    whole = (last + 1) * 80
    print(f"\nProjection to mainnet (embedded checkpoints to {last:,}; a chunk is {chunk:,} bytes)")
    print(
        f"  Electrum before: the chain from genesis, {-(-(last + 1) // 2016)} block.headers "
        f"requests, {whole / 1e6:.1f} MB, every connection"
    )
    for epochs in (1, 10, 50):
        print(
            f"  Electrum, coins in {epochs:2} epochs below the checkpoint, tip T: first scan "
            f"{epochs} chunk requests ({epochs * chunk / 1e6:.2f} MB) + the tail "
            f"(T - {last:,}) x 80 B; second scan 0 header requests"
        )
    print(
        "  Esplora, coins in B blocks below the checkpoint: header assurance, 2 requests a block "
        "(/block-height, /block/:hash/header; 80 B + ~64 B of reply) on the first scan, none "
        "on a second (assured headers are stored); the tail 10 headers a request, once"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--delay", type=float, default=0.02)
    p.add_argument("--skip-electrum", action="store_true")
    p.add_argument("--skip-bdk-electrum", action="store_true")
    args = p.parse_args()
    oracle = json.loads((ROOT / "tests/data/oracle.json").read_text())
    run_esplora(args, oracle)
    if not args.skip_electrum:
        run_electrum(args, oracle)
    projection()


if __name__ == "__main__":
    main()
