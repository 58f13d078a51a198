"""``utxo-truth``: the command line. The only module that prints.

Usage::

    utxo-truth scan TARGET... --network NET (--snapshot PATH | --source SPEC)
                    [--file FILE] [--wallet-file FILE] [--labels FILE] [--labels-out FILE]
                    [--gap N] [--range N] [--json] [--debug]
    utxo-truth reconcile PORTFOLIO.toml [--snapshot PATH | --source SPEC]
                    [--json] [--csv FILE] [--html FILE] [--gap N] [--range N] [--debug]
    utxo-truth verify-liabilities FILE [--format NAME] [--root HEX] [--json]

Errors are one line on stderr and a non-zero exit code (2 for bad input, 3 for a source that
failed); ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TextIO, TypeVar

from ._api import scan
from ._exceptions import InputError, SourceError, SourceTimeoutError, UtxoTruthError
from ._models import Holdings
from ._network import Network
from .discovery import DEFAULT_GAP, DEFAULT_RANGE
from .labels import (
    labels_csv,
    labels_for_holdings,
    labels_html,
    labels_summary,
    labels_text,
    load_labels,
    write_labels,
)
from .sources import ChainSource, SnapshotSource, open_source, parse_checkpoint
from .targets import Target
from .wallets import load_wallet_file

T = TypeVar("T")

_VERIFYING = ("electrum://", "electrums://", "esplora+")

__all__ = ["format_btc", "main"]

EXIT_INPUT = 2
EXIT_SOURCE = 3
MAX_RANGE = 100_000
"""--range bound: 100,000 indexes per chain is ~10 s of key derivation per chain and target."""
MAX_GAP = 10_000
"""--gap bound: a gap look-up asks a server about at least this many scripts per chain."""
DEFAULT_TIMEOUT = 30.0
"""--timeout default: the whole wait for network sources, in seconds."""
_abandoned = False  # a scan thread was left behind at --timeout (see run())
_MAX_TARGETS_FILE = 16 << 20  # a --file of targets is read whole, up to this size


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
    """The model as a JSON-ready dict, amounts in satoshis (``scan --json``'s schema 1).

    ``scan --json`` now writes schema 2 (each coin once, see ``_scanjson``).
    """
    data: dict[str, object] = h.model_dump(mode="json")
    data["spendable_sats"] = h.spendable_sats
    return data


def _version() -> str:
    from . import __version__

    return __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="utxo-truth",
        description="How much of the bitcoin you believe you have is real on-chain coin?",
    )
    p.add_argument("--version", action="version", version=f"utxo-truth {_version()}")
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
    s.add_argument(
        "--wallet-file",
        action="append",
        default=[],
        metavar="FILE",
        help="watch the wallet of an export file (Coldcard, Electrum, Sparrow/Core descriptors, "
        "Specter, Caravan, Cobo/Keystone, BSMS); repeatable",
    )
    s.add_argument("--labels", metavar="FILE", help="BIP-329 label file: show its labels")
    s.add_argument(
        "--labels-out", metavar="FILE", help="write a BIP-329 file with an output record per coin"
    )
    s.add_argument("--network", required=True, help="main, testnet, testnet4, signet or regtest")
    _source_options(
        s,
        "chain source: snapshot:PATH, electrums://HOST:PORT, esplora+https://HOST/PATH or "
        "bitcoind://HOST:PORT (repeat to compare several)",
    )
    s.add_argument(
        "--gap",
        type=int,
        default=None,
        help=f"stop gap on history sources (default {DEFAULT_GAP}, at most {MAX_GAP})",
    )
    s.add_argument(
        "--range",
        type=int,
        default=None,
        dest="range_",
        help=f"indexes per chain on UTXO-only sources (default {DEFAULT_RANGE}, as Bitcoin Core; "
        f"at most {MAX_RANGE})",
    )
    _timeout_option(s)
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
    r.add_argument("--gap", type=int, default=None, help=f"at most {MAX_GAP}")
    r.add_argument("--range", type=int, default=None, dest="range_", help=f"at most {MAX_RANGE}")
    _timeout_option(r)
    r.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    r.add_argument("--csv", metavar="FILE", help="also write a CSV file")
    r.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    r.add_argument("--labels", metavar="FILE", help="BIP-329 label file: show its labels")
    r.add_argument(
        "--labels-out", metavar="FILE", help="write a BIP-329 file with an output record per coin"
    )
    r.add_argument("--debug", action="store_true", help="show tracebacks")
    v = sub.add_parser(
        "verify-liabilities",
        help="check a custodian's liability (Merkle sum tree) proof; exit 0 only when verified",
    )
    v.add_argument("file", metavar="FILE")
    v.add_argument(
        "--format",
        metavar="NAME",
        help="the proof's format (default: recognised from the file): utxo-truth, okx-v1, "
        "okx-v2, okx-v2-tree, bybit, bitget, mexc, bitmex",
    )
    v.add_argument("--root", metavar="HEX", help="the root hash you trust (pins the root)")
    v.add_argument("--tree", metavar="FILE", help="OKX v2: the whole published tree")
    v.add_argument("--account", type=int, metavar="ID", help="BitMEX/River: your account id")
    v.add_argument(
        "--account-nonce", metavar="HEX", help="BitMEX/River: your account nonce (never shown)"
    )
    v.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    v.add_argument("--debug", action="store_true", help="show tracebacks")
    from ._wrapped_cli import add_parser as _add_wrapped

    _add_wrapped(sub)
    _proof_parsers(sub)
    return p


def _timeout_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"the whole wait for network sources (default {DEFAULT_TIMEOUT:g}; 0: no limit)",
    )


def _bounds(args: argparse.Namespace, sources: Sequence[ChainSource]) -> tuple[int, int]:
    """--gap and --range checked against what can finish, and against the sources they apply to."""
    if args.range_ is not None and not 1 <= args.range_ <= MAX_RANGE:
        raise InputError(
            f"--range must be 1..{MAX_RANGE} (indexes per chain; {MAX_RANGE} is about 10 s of key "
            f"derivation per chain), not {args.range_}"
        )
    if args.gap is not None and not 0 <= args.gap <= MAX_GAP:
        raise InputError(f"--gap must be 0..{MAX_GAP}, not {args.gap}")
    if not 0 <= args.timeout <= 86_400 or args.timeout != args.timeout:
        raise InputError("--timeout is a number of seconds from 0 (no limit) to 86400")
    if args.gap is not None and sources and not any(s.has_history for s in sources):
        raise InputError(
            "--gap applies to sources that know history (electrum, esplora, bitcoind with block "
            "filters); a snapshot knows unspent coins only and scans --range indexes instead"
        )
    return (
        DEFAULT_GAP if args.gap is None else args.gap,
        DEFAULT_RANGE if args.range_ is None else args.range_,
    )


def _with_deadline(fn: Callable[[], T], seconds: float, sources: Sequence[ChainSource]) -> T:
    """Run ``fn`` (a scan) within ``seconds`` when a network source is involved, saying so."""
    network = [s.describe() for s in sources if not isinstance(s, SnapshotSource)]
    if not network or not seconds:
        return fn()
    print(
        f"utxo-truth: waiting for {', '.join(network)} (at most {seconds:g} s, --timeout)",
        file=sys.stderr,
    )
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=work, name="utxo-truth-scan", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        global _abandoned
        _abandoned = True
        raise SourceTimeoutError(
            f"no complete answer from {', '.join(network)} within --timeout {seconds:g} s: the "
            "server is slow, rate-limiting or not answering; try again later, another server, or "
            "a larger --timeout"
        )
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


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
        metavar="[HEIGHT:]BLOCKHASH:HASH",
        help="check the snapshot against this block and UTXO set hash (gettxoutsetinfo height, "
        "bestblock and hash_serialized_3 of a node you trust) before using it; HASH alone only "
        "for a block in Bitcoin Core's assumeutxo table",
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
    if args.checkpoint is not None and not any(s.startswith(_VERIFYING) for s in specs):
        raise InputError("--checkpoint applies to electrum(s):// and esplora+ sources")


def _open(spec: str, network: Network | str, args: argparse.Namespace) -> ChainSource:
    """Open ``spec`` with the options that apply to its kind."""
    source = _open_source(spec, network, args)
    if args.snapshot_hash and getattr(source, "block_bound_by", "") is None:
        raise InputError(
            "a UTXO set hash alone does not cover the snapshot's block, and its block is not in "
            "Bitcoin Core's assumeutxo table: give --snapshot-hash HEIGHT:BLOCKHASH:HASH (the "
            "height, bestblock and hash_serialized_3 of `bitcoin-cli gettxoutsetinfo` on a node "
            "you trust)"
        )
    return source


def _open_source(spec: str, network: Network | str, args: argparse.Namespace) -> ChainSource:
    return open_source(
        spec,
        network,
        snapshot_hash=args.snapshot_hash if spec.startswith("snapshot:") else None,
        checkpoint=parse_checkpoint(args.checkpoint)
        if args.checkpoint is not None and spec.startswith(_VERIFYING)
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
            with open(name, "rb") as f:
                raw = f.read(_MAX_TARGETS_FILE + 1)
        except OSError as exc:
            raise InputError(f"cannot read targets file {name}: {exc.strerror or exc}") from exc
        if len(raw) > _MAX_TARGETS_FILE:
            raise InputError(f"targets file {name} is over {_MAX_TARGETS_FILE} bytes: not a list")
        try:
            lines = raw.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            # never quote the bytes: the file may hold key material
            raise InputError(
                f"targets file {name} is not UTF-8 text (one target per line)"
            ) from None
        targets += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return targets


def _run_scan(args: argparse.Namespace, out: TextIO) -> int:
    specs = _chosen_sources(args)
    if not specs:
        raise InputError(
            "no chain source: pass --snapshot PATH (a Bitcoin Core dumptxoutset file, offline) "
            "or --source SPEC. utxo_truth never picks a server for you."
        )
    targets: list[str | Target] = [*_read_targets(args)]
    for name in args.wallet_file:
        targets += load_wallet_file(name, network=args.network).targets
    labels = load_labels(args.labels) if args.labels else None
    _check_options(specs, args)
    if args.checkpoint is not None:
        parse_checkpoint(args.checkpoint)  # '' is refused, not ignored
    opened = [_open(spec, args.network, args) for spec in specs]
    gap, range_ = _bounds(args, opened)
    bar = None if args.json else _progress_bar()  # on a terminal only
    progress = bar.update if bar else None
    try:
        if len(opened) == 1:
            holdings = _with_deadline(
                lambda: scan(
                    targets,
                    network=args.network,
                    source=opened[0],
                    gap=gap,
                    range=range_,
                    progress=progress,
                ),
                args.timeout,
                opened,
            )
        else:
            holdings = _with_deadline(
                lambda: scan(
                    targets,
                    network=args.network,
                    sources=opened,
                    policy=args.policy,
                    gap=gap,
                    range=range_,
                    progress=progress,
                ),
                args.timeout,
                opened,
            )
    finally:
        if bar:
            bar.close()
    if args.labels_out:
        write_labels(labels_for_holdings(holdings, labels=labels), args.labels_out)
    if args.json:  # schema 2: each coin once, streamed (_scanjson.py)
        from ._scanjson import write_scan_json

        write_scan_json(
            holdings, out, {"labels": labels_summary(labels, holdings)} if labels else None
        )
    else:
        render_table(holdings, out)
        if labels:
            out.write(labels_text(labels, holdings))
    for problem in holdings.problems:  # e.g. a source that failed under --policy quorum
        print(f"utxo-truth: warning: {problem}", file=sys.stderr)
    return 0


def _run_verify_liabilities(args: argparse.Namespace, out: TextIO) -> int:
    from .liabilities import load_liability_proof

    proof = load_liability_proof(
        args.file,
        format=args.format,
        root=args.root,
        tree=args.tree,
        account=args.account,
        account_nonce=args.account_nonce,
    )
    if args.json:
        out.write(proof.model_dump_json(indent=2) + "\n")
    else:
        from .liabilities import grade_text

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
        if proof.grade is not None:
            out.write("grade:         " + grade_text(proof.grade) + "\n")
        if proof.unproven:
            out.write("not covered by any hash: " + ", ".join(proof.unproven) + "\n")
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
    from .reconcile import reconcile, scan_targets
    from .report import render_text, to_json

    portfolio = load_portfolio(args.portfolio)
    spec = _chosen_source(args) or portfolio.source
    _check_options([spec] if spec else [], args)
    if args.checkpoint is not None:
        parse_checkpoint(args.checkpoint)  # '' is refused, not ignored
    source = _open(spec, portfolio.network, args) if spec is not None else None
    gap, range_ = _bounds(args, [source] if source is not None else [])
    labels = load_labels(args.labels) if args.labels else None
    progress = None if args.json else _progress_bar()
    holdings = None
    try:
        if labels is not None or args.labels_out:  # labels need the coins: scan here, once
            chosen = source if source is not None else portfolio.source
            if chosen is None:
                raise InputError("no chain source: pass --snapshot PATH or --source SPEC")
            holdings = _with_deadline(
                lambda: scan(
                    scan_targets(portfolio),
                    network=portfolio.network,
                    source=chosen,
                    gap=gap,
                    range=range_,
                    progress=progress.update if progress else None,
                ),
                args.timeout,
                [source] if source is not None else [],
            )
        report = _with_deadline(
            lambda: reconcile(
                portfolio,
                source=source,
                holdings=holdings,
                gap=gap,
                range=range_,
                progress=progress.update if progress else None,
            ),
            args.timeout,
            [source] if source is not None else [],
        )
    finally:
        if progress:
            progress.close()
    if holdings is not None and args.labels_out:  # own wallets' coins, not custodians'
        own = range(sum(len(w.targets) for w in portfolio.wallets))
        write_labels(labels_for_holdings(holdings, labels=labels, targets=own), args.labels_out)
    csv_text = report.to_csv() if args.csv else ""
    html_text = report.to_html() if args.html else ""
    if labels is not None and holdings is not None:
        csv_text = labels_csv(labels, holdings, csv_text) if args.csv else ""
        html_text = html_text.replace("</body>", labels_html(labels, holdings) + "</body>", 1)
    for path, text in (
        (args.csv, csv_text),
        (args.html, html_text),
    ):
        if path:
            try:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            except OSError as exc:
                raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    if args.json:
        if labels is not None and holdings is not None:
            data = json.loads(to_json(report))
            data["labels"] = labels_summary(labels, holdings)
            out.write(json.dumps(data, indent=2) + "\n")
        else:
            out.write(to_json(report) + "\n")
    elif out.isatty():
        _rich_report(report)
    else:
        out.write(render_text(report))
    if not args.json and labels is not None and holdings is not None:
        out.write(labels_text(labels, holdings))
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
        if args.command == "wrapped":
            from ._wrapped_cli import run as _run_wrapped

            return _run_wrapped(args, sys.stdout)
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


def run() -> None:
    """The console script: :func:`main`, then exit without waiting for a scan left at --timeout."""
    if sys.argv[1:2] == ["scan"]:
        # A scan builds up to millions of acyclic coin objects and the process ends soon after:
        # the cyclic collector would walk all of them again, for nothing (a whole process only).
        gc.disable()
    code = main()
    if _abandoned:  # its threads may sit in a socket read for minutes: do not join them
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
