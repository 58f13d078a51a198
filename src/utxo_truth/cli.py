"""``utxo-truth``: the command line. The only module that prints.

Usage::

    utxo-truth scan TARGET... --network NET (--snapshot PATH | --source SPEC)
                    [--file FILE] [--watch-list FILE] [--wallet-file FILE] [--labels FILE] [--labels-out FILE]
                    [--gap N] [--range N] [--script-type TYPE] [--proxy URL] [--json]
                    [--utxos] [--csv FILE] [--strict] [--debug]
    utxo-truth reconcile PORTFOLIO.toml [--snapshot PATH | --source SPEC]
                    [--json] [--csv FILE] [--html FILE] [--gap N] [--range N] [--debug]
    utxo-truth verify-liabilities FILE [--format NAME] [--root HEX] [--json]
    utxo-truth snapshot export SNAPSHOT --parquet DIR --network NET [--snapshot-hash H] [--json]

Errors are one line on stderr and a non-zero exit code (2 for bad input, 3 for a source that
failed); ``--debug`` adds the traceback. ``scan --strict`` exits 1 when the answer is incomplete
(a coin unverified, a problem reported, sources that disagreed), after printing it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from ._exceptions import (
    InputError,
    MissingExtraError,
    SourceError,
    SourceSpecError,
    SourceTimeoutError,
    UtxoTruthError,
)
from ._network import Network, parse_network

# Everything else is imported where it is used (issue 19): `import utxo_truth.cli` loads no
# pydantic, and a snapshot scan loads neither the renderers, labels, wallet files nor claims.
if TYPE_CHECKING:
    from ._models import Holdings
    from .report import format_btc
    from .sources import ChainSource
    from .targets import Target

T = TypeVar("T")

_VERIFYING = ("electrum://", "electrums://", "esplora+")

__all__ = ["format_btc", "main"]

EXIT_INCOMPLETE = 1
"""scan --strict: the answer is not complete (as verify-* exit 1 when not verified)."""
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


def __getattr__(name: str) -> Any:
    """``format_btc``: the one in report.py, re-exported here for the CLI's users (PEP 562)."""
    if name == "format_btc":
        from .report import format_btc

        return format_btc
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from .discovery import DEFAULT_GAP, DEFAULT_RANGE
    from .targets import SINGLE_KEY_TYPES

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
        "--watch-list",
        metavar="FILE",
        help="scan a list of addresses and script hex, one a line, of any size (an exchange's "
        "whole list) as one result: each coin names its line; not with TARGET/--file",
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
    s.add_argument(
        "--script-type",
        choices=SINGLE_KEY_TYPES,
        default=None,
        help="what a plain xpub/tpub stands for (it does not say): by default it is scanned as "
        "every one of pkh, sh-wpkh, wpkh and tr, and the output says which hold coins",
    )
    _source_options(
        s,
        "chain source: snapshot:PATH, parquet:DIR, electrums://HOST:PORT, esplora+https://HOST/PATH or "
        "bitcoind://HOST:PORT (repeat to compare several)",
    )
    s.add_argument(
        "--gap",
        type=int,
        default=None,
        metavar="N",
        help=f"stop gap on history sources (default {DEFAULT_GAP}, at most {MAX_GAP})",
    )
    s.add_argument(
        "--range",
        type=int,
        default=None,
        dest="range_",
        metavar="N",
        help=f"indexes per chain on UTXO-only sources (default {DEFAULT_RANGE}, as Bitcoin Core; "
        f"at most {MAX_RANGE})",
    )
    _timeout_option(s)
    s.add_argument(
        "--policy",
        choices=("all", "quorum"),
        default=None,
        help="with several --source: all must agree (default), or a majority",
    )
    s.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    s.add_argument(
        "--utxos", action="store_true", help="list every coin in the table (outpoint, value, ...)"
    )
    s.add_argument(
        "--csv",
        metavar="FILE",
        help="also write one CSV row per coin: txid, vout, value (sats), height, address, path, "
        "verification, target, status, block",
    )
    s.add_argument(
        "--strict",
        action="store_true",
        help=f"exit {EXIT_INCOMPLETE} when any coin is unverified, a source reported a problem or "
        "the sources disagreed (the answer is then printed all the same)",
    )
    s.add_argument("--debug", action="store_true", help="show tracebacks")
    r = sub.add_parser(
        "reconcile",
        help="split what a portfolio believes it holds into real coin and shadow claims",
        description="Verify the portfolio's wallets and custodians' reserves at one block and "
        "report real vs shadow, by right and book, with exit paths and custodian coverage.",
    )
    r.add_argument(
        "portfolio", metavar="PORTFOLIO.toml", help="the portfolio file (see docs/portfolio.md)"
    )
    _source_options(r, "chain source (default: the portfolio's own `source`)")
    r.add_argument(
        "--gap",
        type=int,
        default=None,
        metavar="N",
        help=f"stop gap on history sources: unused indexes after the last used one before a "
        f"chain ends (default {DEFAULT_GAP}, at most {MAX_GAP})",
    )
    r.add_argument(
        "--range",
        type=int,
        default=None,
        dest="range_",
        metavar="N",
        help=f"indexes per chain on UTXO-only sources such as a snapshot (default "
        f"{DEFAULT_RANGE}, at most {MAX_RANGE})",
    )
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
        description="Check a custodian's liability proof (your leaf up to the root of its "
        "Merkle sum tree). Exit 0 only when verified.",
    )
    v.add_argument("file", metavar="FILE", help="the liability proof file the custodian gave")
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
    _snapshot_parser(sub)
    return p


def _snapshot_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``snapshot export SNAPSHOT --parquet DIR`` (issue 19: the coin set past one machine)."""
    sp = sub.add_parser("snapshot", help="work with a Bitcoin Core UTXO snapshot file")
    verbs = sp.add_subparsers(dest="snapshot_command", required=True)
    e = verbs.add_parser(
        "export",
        help="write every coin as Parquet files for DuckDB, Spark or Dask (the parquet extra)",
        description="Write every coin of a dumptxoutset file as Parquet (one row a coin), with "
        "the base block and UTXO set hash in each file's metadata; scan them with "
        "--source parquet:DIR.",
    )
    e.add_argument("snapshot", metavar="SNAPSHOT", help="a Bitcoin Core dumptxoutset file")
    e.add_argument("--parquet", metavar="DIR", required=True, help="an empty or new directory")
    e.add_argument("--network", required=True, help="main, testnet, testnet4, signet or regtest")
    e.add_argument(
        "--snapshot-hash",
        metavar="[HEIGHT:]BLOCKHASH:HASH",
        help="verify the snapshot against this (gettxoutsetinfo of a node you trust) first",
    )
    e.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    e.add_argument("--debug", action="store_true", help="show tracebacks")


def _run_snapshot(args: argparse.Namespace, out: TextIO) -> int:
    from .sources.parquet import export_parquet

    r = export_parquet(args.snapshot, args.parquet, args.network, snapshot_hash=args.snapshot_hash)
    facts = {
        "files": [str(f) for f in r.files],
        "coins": r.coins,
        "total_sats": r.total_sats,
        "bytes": r.bytes,
        "block": {"height": r.block.height, "hash": r.block.hash},
        "hash_serialized_3": r.hash_serialized_3,
        "hash_status": r.hash_status,
    }
    if args.json:
        out.write(json.dumps(facts, indent=2) + "\n")
        return 0
    out.write(
        f"wrote {r.coins:,} coins ({r.total_sats:,} sats) in {len(r.files)} Parquet file(s), "
        f"{r.bytes / 1e6:.1f} MB, to {args.parquet}\n"
        f"true at block {r.block.height} {r.block.hash}; UTXO set hash {r.hash_serialized_3} "
        f"({r.hash_status})\n"
    )
    return 0


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
    if args.gap is not None:
        for s in sources:
            if not s.has_history:
                _warn(
                    f"--gap is not used for {s.describe()}: it knows unspent coins only and "
                    "scans --range indexes per chain"
                )
    if args.range_ is not None and sources and all(s.has_history for s in sources):
        _warn(
            "--range is not used: it applies to sources that know unspent coins only (a "
            "snapshot); these know history and stop at --gap unused indexes"
        )
    from .discovery import DEFAULT_GAP, DEFAULT_RANGE

    return (
        DEFAULT_GAP if args.gap is None else args.gap,
        DEFAULT_RANGE if args.range_ is None else args.range_,
    )


def _with_deadline(fn: Callable[[], T], seconds: float, sources: Sequence[ChainSource]) -> T:
    """Run ``fn`` (a scan) within ``seconds`` when a network source is involved, saying so."""
    network = [s.describe() for s in sources if not _is_file_source(s)]
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


def _is_file_source(source: object) -> bool:
    """A snapshot or Parquet source: no network, no deadline (neither module imported here)."""
    for module, name in (("snapshot", "SnapshotSource"), ("parquet", "ParquetSource")):
        loaded = sys.modules.get(f"{__package__}.sources.{module}")  # no instance before that
        if loaded is not None and isinstance(source, getattr(loaded, name)):
            return True
    return False


def _proof_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``verify-message`` and ``verify-reserves`` (proof of control, issue 14)."""
    m = sub.add_parser(
        "verify-message",
        help="check a BIP-322 / BIP-137 signed message; exit 0 only when valid",
    )
    m.add_argument("address", metavar="ADDRESS", help="the address said to have signed")
    m.add_argument("message", metavar="MESSAGE", help="the message, exactly as signed")
    m.add_argument("signature", metavar="SIGNATURE", help="the signature (base64)")
    m.add_argument("--network", required=True, help="main, testnet, testnet4, signet or regtest")
    m.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    m.add_argument("--debug", action="store_true", help="show tracebacks")
    r = sub.add_parser(
        "verify-reserves",
        help="check every row of a reserve file with signatures (OKX, HTX, ours)",
    )
    r.add_argument("file", metavar="FILE", help="the reserve file (one signed address a row)")
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
    cache = p.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="keep verified block headers here (default: your user cache directory); a later "
        "scan asks the server for none it holds, and what is read is verified again",
    )
    cache.add_argument(
        "--no-cache", action="store_true", help="keep no block headers on disk between runs"
    )
    p.add_argument(
        "--proxy",
        metavar="socks5h://HOST:PORT",
        help="connect to electrum(s):// and esplora+ sources through this SOCKS5 proxy (Tor: "
        "socks5h://127.0.0.1:9050); user:password@ allowed for Esplora, never shown",
    )
    p.add_argument(
        "--signet-challenge",
        metavar="HEX",
        help="on signet, the challenge script block signatures are checked against (BIP-325) "
        "by Electrum and Esplora sources; the default signet's when not given",
    )


def _check_options(specs: Sequence[str], args: argparse.Namespace) -> None:
    """An option that applies to none of the sources is a mistake worth saying."""
    from .sources import redact
    from .sources._proxy import parse_proxy

    if args.snapshot_hash and not any(s.startswith("snapshot:") for s in specs):
        raise InputError("--snapshot-hash applies to a snapshot source: give --snapshot PATH")
    if args.checkpoint is not None and not any(s.startswith(_VERIFYING) for s in specs):
        raise InputError("--checkpoint applies to electrum(s):// and esplora+ sources")
    if args.proxy is not None:
        parse_proxy(args.proxy)  # refused as written, before anything connects
        if not any(s.startswith(_VERIFYING) for s in specs):
            raise InputError("--proxy applies to electrum(s):// and esplora+ sources")
        for spec in specs:
            if spec.startswith("bitcoind://"):
                _warn(f"--proxy is not used for {redact(spec)}: it connects directly")
    if args.signet_challenge is not None and not any(s.startswith(_VERIFYING) for s in specs):
        raise InputError("--signet-challenge applies to electrum(s):// and esplora+ sources")
    cache_flag = "--no-cache" if getattr(args, "no_cache", False) else "--cache-dir"
    if (
        getattr(args, "no_cache", False) or getattr(args, "cache_dir", None) is not None
    ) and not any(s.startswith(_VERIFYING) for s in specs):
        _warn(f"{cache_flag} is not used: headers are kept for electrum(s):// and esplora+ only")


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
    from .sources import open_source, parse_checkpoint

    if spec.startswith("snapshot:"):
        path = spec[len("snapshot:") :]
        path = path[2:] if path.startswith("//") else path
        if path and not os.path.exists(path):  # the user's typo: bad input, not a failed source
            raise SourceSpecError(
                f"snapshot file {path} does not exist: give the path of a `bitcoin-cli "
                "dumptxoutset` file"
            )
    proxy = getattr(args, "proxy", None)
    return open_source(
        spec,
        network,
        snapshot_hash=args.snapshot_hash if spec.startswith("snapshot:") else None,
        checkpoint=parse_checkpoint(args.checkpoint)
        if args.checkpoint is not None and spec.startswith(_VERIFYING)
        else None,
        cache_dir=False if getattr(args, "no_cache", False) else getattr(args, "cache_dir", None),
        proxy=proxy if spec.startswith(_VERIFYING) else None,
        signet_challenge=args.signet_challenge if spec.startswith(_VERIFYING) else None,
    )


def _warn(text: str) -> None:
    """An option that does not apply, or applies only in part: said on stderr, never silent."""
    print(f"utxo-truth: warning: {text}", file=sys.stderr)


def _chosen_sources(args: argparse.Namespace) -> list[str]:
    return ([f"snapshot:{args.snapshot}"] if args.snapshot else []) + list(args.source)


def _chosen_source(args: argparse.Namespace) -> str | None:
    sources = _chosen_sources(args)
    if len(sources) > 1:
        raise InputError("reconcile takes one source in this version: give one")
    return sources[0] if sources else None


def _read_targets(args: argparse.Namespace) -> list[str | Target]:
    """The command line's targets, then each --file's, parsed so that a bad line is named."""
    from .targets import parse_target

    targets: list[str | Target] = list(args.targets)
    kind = args.script_type or "any"
    network = parse_network(args.network) if args.file else args.network
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
        for number, line in enumerate(lines, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            try:
                targets.append(parse_target(text, network, script_type=kind))
            except InputError as exc:  # the same error, with where it is (its type is kept)
                exc.args = (f"targets file {name} line {number}: {exc}", *exc.args[1:])
                raise
    return targets


def _run_scan(args: argparse.Namespace, out: TextIO) -> int:
    from ._api import scan
    from .sources import parse_checkpoint

    specs = _chosen_sources(args)
    if not specs:
        raise InputError(
            "no chain source: pass --snapshot PATH (a Bitcoin Core dumptxoutset file, offline) "
            "or --source SPEC. utxo_truth never picks a server for you."
        )
    targets: list[str | Target] = _read_targets(args)
    for name in args.wallet_file:
        from .wallets import load_wallet_file

        targets += load_wallet_file(name, network=args.network).targets
    if args.labels or args.labels_out:  # the BIP-329 module only when labels are asked for
        from .labels import (
            labels_for_holdings,
            labels_summary,
            labels_text,
            load_labels,
            write_labels,
        )

    labels = load_labels(args.labels) if args.labels else None
    _check_options(specs, args)
    if args.utxos and args.json:
        raise InputError("--utxos lists coins in the table; --json lists every coin already")
    if args.checkpoint is not None:
        parse_checkpoint(args.checkpoint)  # '' is refused, not ignored
    opened = [_open(spec, args.network, args) for spec in specs]
    if args.watch_list is not None and (targets or len(opened) > 1):
        raise InputError(
            "--watch-list is scanned on its own, at one source: give no TARGET, --file or "
            "--wallet-file with it, and one --snapshot or --source"
        )
    gap, range_ = _bounds(args, opened)
    if args.policy is not None and len(opened) == 1:
        _warn("--policy is not used: it applies to several --source compared; one was given")
    if args.script_type is not None and not any(
        t.strip()[:4] in ("xpub", "tpub") and "(" not in t
        if isinstance(t, str)
        else t.kind == "xpub"
        for t in targets
    ):
        _warn("--script-type is not used: it applies to plain xpub/tpub targets only")
    bar = None if args.json else _progress_bar(_unit(opened))  # on a terminal only
    progress: Callable[[int, int], None] | None = bar.update if bar and bar.active else None
    if bar is not None and bar.active and len(opened) > 1:  # each snapshot read gets its own line
        from .sources.snapshot import SnapshotSource

        for src in opened:
            if isinstance(src, SnapshotSource) and src.progress is None:
                src.progress = bar.task(f"reading {src.describe()}", "bytes")
        progress = bar.task("looking up scripts", "scripts")
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
                    script_type=args.script_type,
                    watch_list=args.watch_list,
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
                    policy=args.policy or "all",
                    gap=gap,
                    range=range_,
                    progress=progress,
                    script_type=args.script_type,
                ),
                args.timeout,
                opened,
            )
    finally:
        if bar:
            bar.close()
    if args.labels_out:
        write_labels(labels_for_holdings(holdings, labels=labels), args.labels_out)
    if args.csv:
        from .report import holdings_csv

        _write_file(args.csv, holdings_csv(holdings))
    if args.json:  # schema 2: each coin once, streamed (_scanjson.py)
        from ._scanjson import write_scan_json

        write_scan_json(
            holdings, out, {"labels": labels_summary(labels, holdings)} if labels else None
        )
    else:
        import shutil  # bz2, lzma and more, for the terminal's width only

        from .report import render_holdings

        tty = out.isatty()
        out.write(
            render_holdings(
                holdings,
                utxos=args.utxos,
                width=shutil.get_terminal_size().columns if tty else None,
                color=tty,
            )
        )
        if labels:
            out.write(labels_text(labels, holdings))
    for problem in holdings.problems:  # e.g. a source that failed under --policy quorum
        print(f"utxo-truth: warning: {problem}", file=sys.stderr)
    if args.strict and not holdings.complete:
        from .report import holdings_status

        print(f"utxo-truth: --strict: {holdings_status(holdings)}", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


def _write_file(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc


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
    from ._api import scan_reserve_proofs
    from .report import format_btc
    from .reserve_proofs import load_reserve_proofs

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
    from ._api import reconcile, scan
    from .claims import load_portfolio
    from .labels import (
        labels_csv,
        labels_for_holdings,
        labels_html,
        labels_summary,
        labels_text,
        load_labels,
        write_labels,
    )
    from .reconcile import scan_targets
    from .report import render_text, renderables, to_csv, to_html, to_json
    from .sources import parse_checkpoint

    portfolio = load_portfolio(args.portfolio)
    spec = _chosen_source(args) or portfolio.source
    _check_options([spec] if spec else [], args)
    if args.checkpoint is not None:
        parse_checkpoint(args.checkpoint)  # '' is refused, not ignored
    source = _open(spec, portfolio.network, args) if spec is not None else None
    gap, range_ = _bounds(args, [source] if source is not None else [])
    labels = load_labels(args.labels) if args.labels else None
    progress = None if args.json else _progress_bar(_unit([source]))
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
    csv_text = to_csv(report) if args.csv else ""
    html_text = to_html(report) if args.html else ""
    if labels is not None and holdings is not None:
        csv_text = labels_csv(labels, holdings, csv_text) if args.csv else ""
        # inside the report's scoped element, so the labels table keeps the report's style
        html_text = html_text.replace(
            "</div></body>", labels_html(labels, holdings) + "</div></body>", 1
        )
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
    elif out.isatty():  # the same facts as the piped text, in colour, at the terminal's width
        from rich.console import Console

        console = Console(file=out)
        for item in renderables(report):
            console.print(item, markup=False, highlight=False, emoji=False)
    else:
        out.write(render_text(report))
    if not args.json and labels is not None and holdings is not None:
        out.write(labels_text(labels, holdings))
    return 0


def _unit(sources: Sequence[ChainSource | None]) -> str:
    """What a scan's progress counts: bytes for one snapshot (a pass over the file), else scripts."""
    from .sources.snapshot import SnapshotSource

    only = sources[0] if len(sources) == 1 else None
    return "bytes" if isinstance(only, SnapshotSource) and only.progress is None else "scripts"


_CONTROLS = {c: "?" for c in (*range(0x20), *range(0x7F, 0xA0))}


class _progress_bar:
    """A rich progress bar on stderr for long scans (silent when stderr is not a terminal).

    Each line shows what is done of a known total, the rate and the time left: bytes of a
    snapshot file, or scripts looked up (a history source's total grows a round at a time).
    """

    def __init__(self, unit: str = "scripts") -> None:
        self._bar: Any = None
        self._unit = unit
        self._main: Callable[[int, int], None] | None = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

            amount, rate = _rich_columns()
            self._bar = Progress(
                "{task.description}",
                BarColumn(),
                TaskProgressColumn(),
                amount(),
                rate(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()

    @property
    def active(self) -> bool:
        """True when there is a terminal to draw on."""
        return self._bar is not None

    def task(self, description: str, unit: str) -> Callable[[int, int], None]:
        """A ``(done, total)`` callback drawing one line (added at its first call)."""
        state: dict[str, Any] = {}

        def update(done: int, total: int) -> None:
            if self._bar is None:
                return
            total = max(total, done)
            if "id" not in state:
                from rich.markup import escape

                label = escape(description.translate(_CONTROLS))  # a path may hold "[/]"
                state["id"] = self._bar.add_task(label, total=total, unit=unit)
            elif done < state["done"]:  # a new pass (another source, or the next file read)
                self._bar.reset(state["id"], total=total)
            self._bar.update(state["id"], completed=done, total=total)
            state["done"] = done

        return update

    def update(self, done: int, total: int) -> None:
        """The scan's own callback (``progress=``)."""
        if self._main is None:
            label = "reading snapshot" if self._unit == "bytes" else "looking up scripts"
            self._main = self.task(label, self._unit)
        self._main(done, total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _rich_columns() -> tuple[type[Any], type[Any]]:
    """Progress columns for what is done of the total, and the rate, in bytes or scripts."""
    from rich.filesize import decimal
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class Amount(ProgressColumn):
        def render(self, task: Task) -> Text:
            done, total = int(task.completed), int(task.total or 0)
            if task.fields.get("unit") == "bytes":
                return Text(f"{decimal(done)}/{decimal(total)}")
            return Text(f"{done}/{total} scripts")

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            if speed is None:
                return Text("")
            if task.fields.get("unit") == "bytes":
                return Text(f"{decimal(int(speed))}/s")
            return Text(f"{speed:.0f}/s")

    return Amount, Rate


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
        if args.command == "snapshot":
            return _run_snapshot(args, sys.stdout)
        return _run_scan(args, sys.stdout)
    except UtxoTruthError as exc:
        if args.debug:
            raise
        kind = (
            "input"
            if isinstance(exc, InputError)
            else "missing extra"
            if isinstance(exc, MissingExtraError)
            else "source"
        )
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
