"""``utxo-truth wrapped``: is a wrapped BTC token backed right now? (both ends, each at a block)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any, TextIO

from ._exceptions import InputError

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the ``wrapped`` sub-command on ``sub`` (argparse sub-parsers)."""
    w = sub.add_parser(
        "wrapped",
        help="wrapped BTC from both ends: reserves on Bitcoin vs token supply on EVM chains",
        description="Measure a wrapped BTC token: verified coins at the custodian's reserve "
        "addresses at one Bitcoin block, against totalSupply() at EVM blocks. Exit 0 only when "
        "the verified reserves cover the supply.",
    )
    w.add_argument(
        "--token",
        action="append",
        required=True,
        metavar="CHAIN:CONTRACT[:bridged]",
        help="a token contract (repeat for several chains; :bridged ones are shown, not added)",
    )
    w.add_argument("--reserves", required=True, metavar="FILE", help="WBTC/cbBTC JSON or list")
    w.add_argument("--network", default="main", help="Bitcoin network (default main)")
    w.add_argument("--source", metavar="SPEC", help="Bitcoin chain source, as for scan")
    w.add_argument("--snapshot", metavar="PATH", help="short for --source snapshot:PATH")
    w.add_argument(
        "--evm-rpc",
        action="append",
        required=True,
        metavar="[CHAIN=]URL",
        help="EVM JSON-RPC endpoint (one for all chains, or CHAIN=URL per chain); never printed",
    )
    w.add_argument("--evm-block", default="finalized", help="number, latest, safe or finalized")
    w.add_argument(
        "--bitcoin-time",
        metavar="UNIX|ISO",
        help="the Bitcoin block's time, to check how far apart the two ends are",
    )
    w.add_argument(
        "--max-apart",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="the longest the Bitcoin and EVM blocks may be apart in time (default 3600)",
    )
    w.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    w.add_argument("--debug", action="store_true", help="show tracebacks")


def _rpc_map(values: list[str]) -> str | dict[str, str]:
    if len(values) == 1 and "=" not in values[0].split("://", 1)[0]:
        return values[0]
    out: dict[str, str] = {}
    for v in values:
        chain, sep, url = v.partition("=")
        if not sep or "://" in chain:
            raise InputError("with several --evm-rpc, give each as CHAIN=URL")
        out[chain.strip()] = url.strip()
    return out


def _time(value: str | None) -> int | None:
    if value is None:
        return None
    if value.strip().isdigit():
        return int(value.strip())
    try:
        return int(datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise InputError(f"--bitcoin-time {value[:40]!r}: unix seconds or ISO 8601") from None


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``wrapped``; 0 when covered, 1 when not (or no coverage), errors raise."""
    from ._api import measure
    from .wrapped import read_reserves

    if bool(args.source) == bool(args.snapshot):
        raise InputError("give one Bitcoin source: --source SPEC or --snapshot PATH")
    source = args.source or f"snapshot:{args.snapshot}"
    block: int | str = args.evm_block
    if isinstance(block, str) and block.isdigit():
        block = int(block)
    report = measure(
        args.token,
        read_reserves(args.reserves, network=args.network),
        network=args.network,
        source=source,
        evm_rpc=_rpc_map(args.evm_rpc),
        evm_block=block,
        bitcoin_time=_time(args.bitcoin_time),
        max_apart=args.max_apart,
    )
    d = report.to_dict()
    if args.json:
        out.write(json.dumps(d, indent=2) + "\n")
    else:
        b = d["bitcoin_block"]
        out.write(f"Bitcoin block {b['height']} {b['hash']}\n")
        out.write(f"  verified reserves   {d['verified_reserves_sats']} sats\n")
        for t in d["tokens"]:
            role = "native" if t["native"] else "bridged (not added)"
            out.write(
                f"{t['chain']} block {t['block']} {t['block_hash']}\n"
                f"  {t['contract']} supply {t['sats']} sats, {role}\n"
            )
        out.write(f"token supply (native) {d['supply_sats']} sats\n")
        cov = d["coverage_percent"]
        out.write(f"coverage              {'none (supply 0)' if cov is None else cov + '%'}\n")
        apart = d["seconds_apart"]
        out.write(f"blocks apart          {'unknown' if apart is None else f'{apart} s'}\n")
        rep = d["reported_total_sats"]
        out.write(f"custodian reports     {'nothing' if rep is None else f'{rep} sats'}\n")
        for c in d["checks"]:
            out.write(f"[{c['level']}] {c['id']}: {c['message']}\n")
    cov = report.coverage
    return 0 if cov is not None and cov >= 1 else 1
