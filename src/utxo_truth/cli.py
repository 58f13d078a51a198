"""``utxo-truth``: the command line. The only module that prints.

Usage::

    utxo-truth scan TARGET... --network NET (--snapshot PATH | --source SPEC)
                    [--file FILE] [--gap N] [--range N] [--json] [--debug]
    utxo-truth reconcile PORTFOLIO.toml [--snapshot PATH | --source SPEC]
                    [--json] [--csv FILE] [--html FILE] [--gap N] [--range N] [--debug]
    utxo-truth verify-liabilities FILE [--json]

Errors are one line on stderr and a non-zero exit code (2 for bad input, 3 for a source that
failed); ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from ._api import scan
from ._exceptions import InputError, SourceError, UtxoTruthError
from ._models import Holdings
from ._network import Network
from .discovery import DEFAULT_GAP, DEFAULT_RANGE
from .sources import ChainSource, open_source, parse_checkpoint

_VERIFYING = ("electrum://", "electrums://", "esplora+")

__all__ = ["format_btc", "main"]

EXIT_INPUT = 2
EXIT_SOURCE = 3


def format_btc(sats: int) -> str:
    """Satoshis as a BTC string with 8 decimals, exactly (no float).

    Example:
        >>> format_btc(201268572)
        '2.01268572'
    """
    sign = "-" if sats < 0 else ""
    whole, frac = divmod(abs(sats), 100_000_000)
    return f"{sign}{whole}.{frac:08d}"


def _ranges(indexes: Sequence[int]) -> str:
    """[0,1,2,5,19] -> '0-2,5,19'."""
    idx = list(indexes)
    out: list[str] = []
    i = 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        out.append(str(idx[i]) if i == j else f"{idx[i]}-{idx[j]}")
        i = j + 1
    return ",".join(out) or "-"


def _short(text: str, width: int = 46) -> str:
    return text if len(text) <= width else text[: width - 14] + "..." + text[-11:]


def render_table(h: Holdings, out: TextIO) -> None:
    """Write a readable table of ``h``."""
    rows = [("target", "type", "method", "used indexes", "utxos", "BTC", "sats")]
    for t in h.targets:
        used = "; ".join(f"{c.name} {_ranges(c.used_indexes)}" for c in t.chains) or "-"
        method = t.method if t.method == "single" else f"{t.method} {t.bound}"
        rows.append(
            (
                _short(t.target),
                t.script_type,
                method,
                used,
                str(len(t.utxos)),
                format_btc(t.total_sats),
                str(t.total_sats),
            )
        )
    rows.append(
        (
            "total (each coin once)",
            "",
            "",
            "",
            str(len(h.utxos)),
            format_btc(h.total_sats),
            str(h.total_sats),
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {4, 5, 6}
    for n, r in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        out.write("  ".join(cells).rstrip() + "\n")
        if n == 0 or n == len(rows) - 2:
            out.write("  ".join("-" * w for w in widths) + "\n")
    if h.immature_sats:
        out.write(
            f"of which immature coinbase (not spendable yet): {format_btc(h.immature_sats)} BTC\n"
        )
    out.write(f"network {h.network}, true at block {h.block.height} {h.block.hash}\n")
    out.write(f"source {h.source}\n")


def to_json(h: Holdings) -> dict[str, object]:
    """The ``--json`` object: the model, with amounts in satoshis."""
    data: dict[str, object] = h.model_dump(mode="json")
    data["spendable_sats"] = h.spendable_sats
    return data


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="utxo-truth",
        description="How much of the bitcoin you believe you have is real on-chain coin?",
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "scan",
        help="find the UTXOs of xpubs, descriptors, addresses or scripts at one block",
        description="Find the UTXOs of xpubs, descriptors, addresses or scripts at one block. "
        "Private keys are refused.",
    )
    s.add_argument(
        "targets", nargs="*", metavar="TARGET", help="xpub, descriptor, address or script hex"
    )
    s.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="FILE",
        help="read targets from FILE, one per line (lines starting with # are comments)",
    )
    s.add_argument("--network", required=True, help="main, testnet, testnet4, signet or regtest")
    _source_options(
        s,
        "chain source: snapshot:PATH, electrums://HOST:PORT, esplora+https://HOST/PATH or "
        "bitcoind://HOST:PORT (repeat to compare several)",
    )
    s.add_argument(
        "--gap", type=int, default=DEFAULT_GAP, help="stop gap on history sources (default 20)"
    )
    s.add_argument(
        "--range",
        type=int,
        default=DEFAULT_RANGE,
        dest="range_",
        help="indexes per chain on UTXO-only sources (default 1000, as Bitcoin Core)",
    )
    s.add_argument(
        "--policy",
        choices=("all", "quorum"),
        default="all",
        help="with several --source: all must agree (default), or a majority",
    )
    s.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    s.add_argument("--debug", action="store_true", help="show tracebacks")
    r = sub.add_parser(
        "reconcile",
        help="split what a portfolio believes it holds into real coin and shadow claims",
        description="Verify the portfolio's wallets and custodians' reserves at one block and "
        "report real vs shadow, by right and book, with exit paths and custodian coverage.",
    )
    r.add_argument("portfolio", metavar="PORTFOLIO.toml")
    _source_options(r, "chain source (default: the portfolio's own `source`)")
    r.add_argument("--gap", type=int, default=DEFAULT_GAP)
    r.add_argument("--range", type=int, default=DEFAULT_RANGE, dest="range_")
    r.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    r.add_argument("--csv", metavar="FILE", help="also write a CSV file")
    r.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    r.add_argument("--debug", action="store_true", help="show tracebacks")
    v = sub.add_parser(
        "verify-liabilities",
        help="check a custodian's liability (Merkle sum tree) proof; exit 0 only when verified",
    )
    v.add_argument("file", metavar="FILE")
    v.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    v.add_argument("--debug", action="store_true", help="show tracebacks")
    _proof_parsers(sub)
    return p


def _proof_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``verify-message`` and ``verify-reserves`` (proof of control, issue 14)."""
    m = sub.add_parser(
        "verify-message",
        help="check a BIP-322 / BIP-137 signed message; exit 0 only when valid",
    )
    m.add_argument("address", metavar="ADDRESS")
    m.add_argument("message", metavar="MESSAGE")
    m.add_argument("signature", metavar="SIGNATURE")
    m.add_argument("--network", required=True, help="main, testnet, testnet4, signet or regtest")
    m.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    m.add_argument("--debug", action="store_true", help="show tracebacks")
    r = sub.add_parser(
        "verify-reserves",
        help="check every row of a reserve file with signatures (OKX, HTX, ours)",
    )
    r.add_argument("file", metavar="FILE")
    r.add_argument("--network", required=True, help="main, testnet, testnet4, signet or regtest")
    _source_options(r, "chain source: the coins at each address at one block")
    r.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    r.add_argument("--debug", action="store_true", help="show tracebacks")


def _source_options(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("--source", action="append", default=[], metavar="SPEC", help=help_text)
    p.add_argument("--snapshot", metavar="PATH", help="short for --source snapshot:PATH")
    p.add_argument(
        "--snapshot-hash",
        metavar="HEX",
        help="check the snapshot against this UTXO set hash (gettxoutsetinfo hash_serialized_3 "
        "of a node you trust) before using it",
    )
    p.add_argument(
        "--checkpoint",
        metavar="HEIGHT:HASH",
        help="anchor Electrum and Esplora header verification at this block (one you trust) "
        "instead of genesis: on mainnet an Esplora server sends 10 headers a request",
    )


def _check_options(specs: Sequence[str], args: argparse.Namespace) -> None:
    """An option that applies to none of the sources is a mistake worth saying."""
    if args.snapshot_hash and not any(s.startswith("snapshot:") for s in specs):
        raise InputError("--snapshot-hash applies to a snapshot source: give --snapshot PATH")
    if args.checkpoint and not any(s.startswith(_VERIFYING) for s in specs):
        raise InputError("--checkpoint applies to electrum(s):// and esplora+ sources")


def _open(spec: str, network: Network | str, args: argparse.Namespace) -> ChainSource:
    """Open ``spec`` with the options that apply to its kind."""
    return open_source(
        spec,
        network,
        snapshot_hash=args.snapshot_hash if spec.startswith("snapshot:") else None,
        checkpoint=parse_checkpoint(args.checkpoint)
        if args.checkpoint and spec.startswith(_VERIFYING)
        else None,
    )


def _chosen_sources(args: argparse.Namespace) -> list[str]:
    return ([f"snapshot:{args.snapshot}"] if args.snapshot else []) + list(args.source)


def _chosen_source(args: argparse.Namespace) -> str | None:
    sources = _chosen_sources(args)
    if len(sources) > 1:
        raise InputError("reconcile takes one source in this version: give one")
    return sources[0] if sources else None


def _read_targets(args: argparse.Namespace) -> list[str]:
    targets = list(args.targets)
    for name in args.file:
        try:
            with open(name, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as exc:
            raise InputError(f"cannot read targets file {name}: {exc.strerror or exc}") from exc
        targets += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return targets


def _run_scan(args: argparse.Namespace, out: TextIO) -> int:
    specs = _chosen_sources(args)
    if not specs:
        raise InputError(
            "no chain source: pass --snapshot PATH (a Bitcoin Core dumptxoutset file, offline) "
            "or --source SPEC. utxo_truth never picks a server for you."
        )
    targets = _read_targets(args)
    _check_options(specs, args)
    opened = [_open(spec, args.network, args) for spec in specs]
    if len(opened) == 1:
        holdings = scan(
            targets, network=args.network, source=opened[0], gap=args.gap, range=args.range_
        )
    else:
        holdings = scan(
            targets,
            network=args.network,
            sources=opened,
            policy=args.policy,
            gap=args.gap,
            range=args.range_,
        )
    if args.json:
        json.dump(to_json(holdings), out, indent=2)
        out.write("\n")
    else:
        render_table(holdings, out)
    return 0


def _run_verify_liabilities(args: argparse.Namespace, out: TextIO) -> int:
    from .liabilities import load_liability_proof

    proof = load_liability_proof(args.file)
    if args.json:
        out.write(proof.model_dump_json(indent=2) + "\n")
    else:
        state = "VERIFIED" if proof.verified else f"NOT VERIFIED: {proof.reason}"
        out.write(
            f"{state}\nformat {proof.format}, audit {proof.audit_id}, root {proof.root_hash}\n"
        )
        out.write(
            "your balances: " + ", ".join(f"{k} {v}" for k, v in proof.leaf_balances.items()) + "\n"
        )
        out.write(
            "root totals:   " + ", ".join(f"{k} {v}" for k, v in proof.root_totals.items()) + "\n"
        )
    return 0 if proof.verified else 1


def _run_verify_message(args: argparse.Namespace, out: TextIO) -> int:
    from dataclasses import asdict

    from .messages import freshness, verify_message

    proof = verify_message(args.address, args.message, args.signature, args.network)
    fresh = freshness(args.message)
    if args.json:
        data = asdict(proof)
        data["status"] = proof.status.value
        data["replayable"] = fresh.replayable
        data["block_height"], data["block_hash"] = fresh.height, fresh.block_hash
        json.dump(data, out, indent=2)
        out.write("\n")
    else:
        out.write(f"{proof.status.value.upper()} ({proof.format}): {proof.reason}\n")
        if proof.valid:
            out.write(
                "replayable: the message names no block, so this proves nothing about when\n"
                if fresh.replayable
                else f"proves control at or after block {fresh.height} {fresh.block_hash}\n"
            )
    return 0 if proof.valid else 1


def _run_verify_reserves(args: argparse.Namespace, out: TextIO) -> int:
    from .reserve_proofs import load_reserve_proofs, scan_reserve_proofs

    proofs = load_reserve_proofs(args.file, args.network)
    spec = _chosen_source(args)
    if spec is not None:
        _check_options([spec], args)
    scanned = (
        scan_reserve_proofs(proofs, _open(spec, args.network, args)) if spec is not None else None
    )
    if args.json:
        from .reserve_proofs import reserve_proofs_json

        json.dump(reserve_proofs_json(proofs, scanned), out, indent=2)
        out.write("\n")
        return 0
    out.write(f"format {proofs.format}, network {proofs.network}\n")
    balances = scanned.balances if scanned else {}
    for row in proofs.rows:
        bal = balances.get(row.address)
        amount = "" if bal is None else f"  {format_btc(bal)} BTC"
        out.write(f"line {row.line}: {row.status:<12} {row.address}{amount}  {row.reason}\n")
    out.write(", ".join(f"{k} {v}" for k, v in proofs.counts.items() if v) + "\n")
    if scanned:
        out.write(
            f"proven {format_btc(scanned.proven_sats)} BTC of {format_btc(scanned.listed_sats)} "
            f"BTC listed, at block {scanned.block.height} {scanned.block.hash}\n"
        )
    return 0


def _run_reconcile(args: argparse.Namespace, out: TextIO) -> int:
    from .claims import load_portfolio
    from .reconcile import reconcile
    from .report import render_text, to_json

    portfolio = load_portfolio(args.portfolio)
    spec = _chosen_source(args) or portfolio.source
    _check_options([spec] if spec else [], args)
    source = _open(spec, portfolio.network, args) if spec is not None else None
    progress = None if args.json else _progress_bar()
    try:
        report = reconcile(
            portfolio,
            source=source,
            gap=args.gap,
            range=args.range_,
            progress=progress.update if progress else None,
        )
    finally:
        if progress:
            progress.close()
    for path, text in (
        (args.csv, report.to_csv() if args.csv else ""),
        (args.html, report.to_html() if args.html else ""),
    ):
        if path:
            try:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            except OSError as exc:
                raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    if args.json:
        out.write(to_json(report) + "\n")
    elif out.isatty():
        _rich_report(report)
    else:
        out.write(render_text(report))
    return 0


class _progress_bar:
    """A rich progress bar on stderr for long scans (silent when stderr is not a terminal)."""

    def __init__(self) -> None:
        self._bar = None
        self._task = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("scanning", total=None)

    def update(self, done: int, needed: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, total=max(needed, done))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _rich_report(report: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from .reconcile import Report
    from .report import format_btc

    assert isinstance(report, Report)
    console = Console()
    ratio = "unknown" if report.shadow_ratio is None else f"{100 * report.shadow_ratio:.1f}%"
    console.print(
        f"[bold green]{format_btc(report.finality_sats)} BTC[/] final (verified UTXOs under your keys); "
        f"[bold yellow]{format_btc(report.shadow_sats)} BTC[/] shadow ({ratio})"
    )
    t = Table(title="positions: the way back to a UTXO")
    for col in (
        "position",
        "custodian",
        "right",
        "book",
        "BTC",
        "steps",
        "who can refuse",
        "at risk",
    ):
        t.add_column(col, justify="right" if col in ("BTC", "steps", "at risk") else "left")
    for p in report.positions:
        t.add_row(
            p.name,
            p.custodian,
            p.right.value,
            p.book.value,
            format_btc(p.amount_sats),
            str(p.exit_steps),
            ", ".join(p.parties) or "nobody",
            format_btc(p.at_risk_sats),
        )
    console.print(t)
    c = Table(title="custodians: reserves on-chain vs what they owe")
    for col in ("custodian", "verified reserves", "liabilities", "coverage", "at risk"):
        c.add_column(col, justify="left" if col == "custodian" else "right")
    for x in report.custodians:
        c.add_row(
            x.name,
            format_btc(x.verified_reserves_sats),
            format_btc(x.liabilities_sats),
            "-" if x.coverage is None else f"{100 * x.coverage:.1f}%",
            format_btc(x.at_risk_sats),
        )
    console.print(c)
    styles = {"critical": "bold red", "warning": "yellow", "info": "dim"}
    for ch in report.checks:
        console.print(f"[{styles[ch.level]}][{ch.level}][/] {ch.message}")
    console.print(
        f"[dim]true at block {report.block.height} {report.block.hash} ({report.network}; {report.source})[/]"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "reconcile":
            return _run_reconcile(args, sys.stdout)
        if args.command == "verify-liabilities":
            return _run_verify_liabilities(args, sys.stdout)
        if args.command == "verify-message":
            return _run_verify_message(args, sys.stdout)
        if args.command == "verify-reserves":
            return _run_verify_reserves(args, sys.stdout)
        return _run_scan(args, sys.stdout)
    except UtxoTruthError as exc:
        if args.debug:
            raise
        kind = "input" if isinstance(exc, InputError) else "source"
        print(f"utxo-truth: {kind} error ({type(exc).__name__}): {exc}", file=sys.stderr)
        return EXIT_INPUT if not isinstance(exc, SourceError) else EXIT_SOURCE
    except KeyboardInterrupt:
        print("utxo-truth: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `utxo-truth scan ... --json | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
