"""Time to verify one 2016-header chunk (the real testnet4 epoch 0), next to the hashing floor.

Figures: ``check_header_chain`` (link, proof of work, every BIP-94 rule per header) and
``chunk_assurance`` (that plus the checkpoint checks) on the real 2016 headers, against the floor
of double-SHA-256 over the same 2016 headers with hashlib in the same run; also one header
assurance (block 702,861) and one BIP-325 signet signature (real signet block 1).

Run: ``python benchmarks/bench_verify.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import json

from utxo_truth._checkpoints import chunk_assurance, header_assurance
from utxo_truth._network import Network
from utxo_truth._signet import check_signet_block
from utxo_truth.verify import block_txids, check_header_chain

DATA = ROOT / "tests" / "data" / "chains"


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    headers = [
        bytes.fromhex(x[:160]) for x in (DATA / "testnet4-blocks-0-2015.hex").read_text().split()
    ]
    assert len(headers) == 2016
    block = (DATA / "mainnet-block-702861.raw").read_bytes()
    header, _ = block_txids(block)
    signet = bytes.fromhex(json.loads((DATA / "signet-blocks-1-10.json").read_text())["blocks"][0])

    def floor() -> None:
        for h in headers:
            hashlib.sha256(hashlib.sha256(h).digest()).digest()

    t_floor = best_of(floor, args.repeat)
    t_chain = best_of(lambda: check_header_chain(headers, 0, Network.TESTNET4), args.repeat)
    t_chunk = best_of(lambda: chunk_assurance(headers, 0, Network.TESTNET4), args.repeat)
    t_header = best_of(lambda: header_assurance(header, 702_861, Network.MAIN), args.repeat * 20)
    t_signet = best_of(lambda: check_signet_block(signet, 1), args.repeat * 20)
    print(
        f"python {sys.version.split()[0]}; best of {args.repeat}; one chunk = 2016 real testnet4 headers"
    )
    print(f"hashing floor (2016 x sha256d, hashlib) : {t_floor * 1e3:8.2f} ms")
    print(
        f"check_header_chain (link, PoW, BIP-94)  : {t_chain * 1e3:8.2f} ms  ({t_chain / t_floor:.1f}x floor)"
    )
    print(
        f"chunk_assurance (+ checkpoints)         : {t_chunk * 1e3:8.2f} ms  ({t_chunk / t_floor:.1f}x floor)"
    )
    print(f"header_assurance, one header (702,861)  : {t_header * 1e6:8.1f} us")
    print(f"BIP-325 signet block signature (block 1): {t_signet * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
