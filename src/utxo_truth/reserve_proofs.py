r"""Reserve files with proofs of control: every row's signature checked, nothing assumed.

Reads three shapes (see ``docs/reserve-proofs.md``):

- **OKX** reserve CSV (``coin,Network,Snapshot Height,address,amount,message,signature1,
  signature2,redeem script/ public key, ...``), BTC rows only; multisig rows carry two signatures
  and the redeem script;
- **HTX** CSV: ``address, balance, message, signature``;
- **ours**: CSV ``address,message,signature[,script]`` or JSON
  ``{"format": "utxo_truth-reserve-proofs/1", "rows": [{"address", "message", "signature"
  | "signatures", "script"?}]}``.

Every row gets a status: ``valid`` (a signature that names a block), ``replayable`` (valid, over
a fixed text: proves a key existed at some time, not when), ``invalid``, ``inconclusive``
(a script we cannot evaluate) or ``unsigned``. Rows for other chains are ``skipped``.

>>> proofs = parse_reserve_proofs("address,message,signature\\n"
...     "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l,Hello World,\\n", "main")
>>> proofs.rows[0].status
'unsigned'
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ._exceptions import (  # ReserveFileError re-exported here, where it was first defined
    PrivateKeyError,
    ReserveFileError,
    UtxoTruthError,
)
from ._models import BlockRef, Holdings
from ._network import Network, parse_network
from .messages import freshness, read_address, verify_message, verify_multisig_signatures
from .targets import _describe

__all__ = [
    "ReserveFileError",
    "ReserveProofRow",
    "ReserveProofs",
    "ScannedReserves",
    "load_reserve_proofs",
    "parse_reserve_proofs",
    "reserve_proof_addresses",
    "reserve_proofs_json",
    "tally_reserve_proofs",
]

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ROWS = 200_000
STATUSES = ("valid", "replayable", "invalid", "inconclusive", "unsigned", "skipped")


@dataclass(frozen=True)
class ReserveProofRow:
    """One reserve address and what its proof shows."""

    line: int
    address: str
    status: str  # one of STATUSES
    reason: str
    message: str = ""
    claimed_sats: int | None = None
    block_height: int | None = None  # the block the message names (freshness)
    block_hash: str | None = None
    signers: tuple[str, ...] = ()
    script_pubkey: str = ""


@dataclass(frozen=True)
class ReserveProofs:
    """All rows of one file, in file order."""

    format: str
    network: str
    rows: tuple[ReserveProofRow, ...]
    counts: dict[str, int] = field(default_factory=dict)

    def of_status(self, *statuses: str) -> list[ReserveProofRow]:
        """The rows with one of ``statuses``."""
        return [r for r in self.rows if r.status in statuses]


def _sats(text: str, unit: str, line: int) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ReserveFileError(f"line {line}: amount {_describe(text)} is not a number") from None
    sats = d * 100_000_000 if unit == "btc" else d
    if sats != sats.to_integral_value() or sats < 0:
        raise ReserveFileError(
            f"line {line}: amount {_describe(text)} is not a whole, non-negative number of sats"
        )
    return int(sats)


def _check_row(
    line: int,
    address: str,
    message: str,
    signatures: list[str],
    script: str,
    claimed: int | None,
    net: Network,
) -> ReserveProofRow:
    address = address.strip()
    try:
        spk = read_address(address, net).hex()
    except UtxoTruthError as exc:
        shown = "(refused)" if isinstance(exc, PrivateKeyError) else address[:100]
        return ReserveProofRow(line, shown, "invalid", f"address: {exc}", message[:200])
    sigs = [s.strip() for s in signatures if s and s.strip()]
    base: dict[str, Any] = {"message": message, "claimed_sats": claimed, "script_pubkey": spk}
    if not sigs:
        return ReserveProofRow(line, address, "unsigned", "no signature", **base)
    if script.strip():
        mp = verify_multisig_signatures(address, message, sigs, script, net)
        status, reason, signers = mp.status.value, mp.reason, mp.signed_by
    elif len(sigs) > 1:
        return ReserveProofRow(
            line, address, "invalid", "several signatures but no redeem/witness script", **base
        )
    else:
        p = verify_message(address, message, sigs[0], net)
        status, reason, signers = p.status.value, p.reason, p.signers
    fresh = freshness(message)
    if status == "valid" and fresh.replayable:
        status = "replayable"
        reason += "; the message names no block, so it proves nothing about when"
    return ReserveProofRow(
        line,
        address,
        status,
        reason,
        block_height=fresh.height,
        block_hash=fresh.block_hash,
        signers=tuple(signers),
        **base,
    )


def _finish(fmt: str, net: Network, rows: list[ReserveProofRow]) -> ReserveProofs:
    counts = {s: sum(1 for r in rows if r.status == s) for s in STATUSES}
    return ReserveProofs(fmt, net.value, tuple(rows), counts)


def _csv_rows(text: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ReserveFileError(f"not a readable CSV file: {exc}") from None


def parse_reserve_proofs(text: str, network: Network | str) -> ReserveProofs:
    """Read a reserve-proof file's text (format detected) and check every row.

    Raises :class:`ReserveFileError` when the file has none of the known shapes.
    """
    net = parse_network(network)
    if len(text) > MAX_FILE_BYTES:
        raise ReserveFileError(f"reserve file larger than {MAX_FILE_BYTES} bytes")
    stripped = text.lstrip("\ufeff").strip()
    if stripped.startswith("{"):
        return _parse_json(stripped, net)
    lines = _csv_rows(stripped)
    if len(lines) > MAX_ROWS:
        raise ReserveFileError(f"reserve file has more than {MAX_ROWS} rows")
    for i, row in enumerate(lines):
        cells = [c.strip().lower() for c in row]
        if cells[:2] == ["coin", "network"] and "address" in cells:
            return _parse_okx(lines, i, net)
        if cells[:1] == ["address"]:
            if "balance" in cells:
                return _parse_generic(lines, i, net, "htx")
            return _parse_generic(lines, i, net, "utxo_truth-csv")
    raise ReserveFileError(
        "not a reserve-proof file: expected an OKX reserve CSV (header coin,Network,...), an HTX "
        "CSV (address,balance,message,signature) or ours (address,message,signature[,script])"
    )


def _parse_okx(lines: list[list[str]], header_at: int, net: Network) -> ReserveProofs:
    header = [c.strip().lower() for c in lines[header_at]]

    def col(name: str) -> int:
        for j, h in enumerate(header):
            if h.startswith(name):
                return j
        raise ReserveFileError(f"OKX reserve CSV has no {name!r} column")

    c_coin, c_addr, c_amount, c_msg = col("coin"), col("address"), col("amount"), col("message")
    c_s1, c_s2, c_script = col("signature1"), col("signature2"), col("redeem script")
    rows: list[ReserveProofRow] = []
    for k, row in enumerate(lines[header_at + 1 :], start=header_at + 2):
        if not any(c.strip() for c in row):
            continue
        cells = row + [""] * (len(header) - len(row))
        coin = cells[c_coin].strip().upper()
        if coin != "BTC":
            rows.append(ReserveProofRow(k, cells[c_addr].strip()[:100], "skipped", f"{coin} row"))
            continue
        claimed = _sats(cells[c_amount], "btc", k)
        rows.append(
            _check_row(
                k,
                cells[c_addr],
                cells[c_msg],
                [cells[c_s1], cells[c_s2]],
                cells[c_script],
                claimed,
                net,
            )
        )
    return _finish("okx", net, rows)


def _parse_generic(lines: list[list[str]], header_at: int, net: Network, fmt: str) -> ReserveProofs:
    header = [c.strip().lower() for c in lines[header_at]]
    idx = {h: j for j, h in enumerate(header)}
    for need in ("address", "message", "signature"):
        if need not in idx:
            raise ReserveFileError(f"{fmt} reserve CSV has no {need!r} column")
    rows: list[ReserveProofRow] = []
    for k, row in enumerate(lines[header_at + 1 :], start=header_at + 2):
        if not any(c.strip() for c in row):
            continue
        cells = row + [""] * (len(header) - len(row))
        claimed = _sats(cells[idx["balance"]], "btc", k) if "balance" in idx else None
        script = cells[idx["script"]] if "script" in idx else ""
        rows.append(
            _check_row(
                k,
                cells[idx["address"]],
                cells[idx["message"]],
                [cells[idx["signature"]]],
                script,
                claimed,
                net,
            )
        )
    return _finish(fmt, net, rows)


def _parse_json(text: str, net: Network) -> ReserveProofs:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ReserveFileError(f"not valid JSON: {type(exc).__name__}") from None
    if not isinstance(doc, dict) or doc.get("format") != "utxo_truth-reserve-proofs/1":
        raise ReserveFileError('JSON reserve file needs "format": "utxo_truth-reserve-proofs/1"')
    items = doc.get("rows")
    if not isinstance(items, list) or len(items) > MAX_ROWS:
        raise ReserveFileError(f'"rows" must be a list of at most {MAX_ROWS} objects')
    rows: list[ReserveProofRow] = []
    for k, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("address"), str):
            raise ReserveFileError(f"row {k}: not an object with a string address")
        sigs = item.get("signatures", [item.get("signature") or ""])
        fields = (item.get("message", ""), item.get("script", ""), *sigs)
        if not isinstance(sigs, list) or not all(isinstance(s, str) for s in fields):
            raise ReserveFileError(f"row {k}: message, script and signature(s) must be strings")
        claimed = item.get("claimed_sats")
        if claimed is not None and (type(claimed) is not int or claimed < 0):
            raise ReserveFileError(f"row {k}: claimed_sats must be a non-negative integer")
        rows.append(
            _check_row(
                k,
                item["address"],
                item.get("message", ""),
                sigs,
                item.get("script", ""),
                claimed,
                net,
            )
        )
    return _finish("utxo_truth-json", net, rows)


def load_reserve_proofs(path: str | Path, network: Network | str) -> ReserveProofs:
    """Read and check a reserve-proof file (see :func:`parse_reserve_proofs`)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ReserveFileError(f"{p.name}: larger than {MAX_FILE_BYTES} bytes")
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ReserveFileError(f"{p.name}: not UTF-8 text") from None
    except OSError as exc:
        raise ReserveFileError(f"{p.name}: cannot read ({exc.strerror})") from None
    return parse_reserve_proofs(text, network)


@dataclass(frozen=True)
class ScannedReserves:
    """The coins at each reserve address at one block, and what the signatures prove of them.

    ``proven_sats``: coins at addresses with a ``valid`` signature naming a block (fresh);
    ``replayable_sats``: validly signed over a fixed text; ``listed_sats``: every readable
    address, signed or not.
    """

    block: BlockRef
    source: str
    balances: dict[str, int]
    proven_sats: int
    replayable_sats: int
    listed_sats: int


def reserve_proof_addresses(proofs: ReserveProofs) -> list[str]:
    """The readable bitcoin addresses of a reserve file, each once, in file order (what to scan)."""
    addresses: list[str] = []
    for row in proofs.rows:
        if row.script_pubkey and row.address not in addresses:
            addresses.append(row.address)
    if not addresses:
        raise ReserveFileError("no readable bitcoin address in the reserve file to scan")
    return addresses


def tally_reserve_proofs(proofs: ReserveProofs, holdings: Holdings) -> ScannedReserves:
    """What the signatures prove of the coins scanned: pure, on a scan already made.

    ``holdings`` is a scan of exactly ``reserve_proof_addresses(proofs)``, in order;
    ``_api.scan_reserve_proofs`` (beside ``scan``) makes it and calls this.
    """
    addresses = reserve_proof_addresses(proofs)
    h = holdings
    # only verified coins are the chain's word (an unverified one is a server's claim)
    balances = {a: t.verified_sats for a, t in zip(addresses, h.targets, strict=True)}
    status: dict[str, set[str]] = {}
    for row in proofs.rows:
        status.setdefault(row.address, set()).add(row.status)

    def total(wanted: str) -> int:
        return sum(b for a, b in balances.items() if wanted in status.get(a, set()))

    return ScannedReserves(
        h.block,
        h.source,
        balances,
        total("valid"),
        sum(
            b for a, b in balances.items() if "replayable" in status[a] and "valid" not in status[a]
        ),
        sum(balances.values()),
    )


def reserve_proofs_json(
    proofs: ReserveProofs, scanned: ScannedReserves | None = None
) -> dict[str, object]:
    """The ``verify-reserves --json`` object: a per-row list and, when scanned, the totals."""
    rows = []
    for r in proofs.rows:
        d = asdict(r)
        d["balance_sats"] = scanned.balances.get(r.address) if scanned else None
        rows.append(d)
    out: dict[str, object] = {
        "format": proofs.format,
        "network": proofs.network,
        "counts": proofs.counts,
        "rows": rows,
    }
    if scanned:
        out["block"] = {"height": scanned.block.height, "hash": scanned.block.hash}
        out["source"] = scanned.source
        out["proven_sats"] = scanned.proven_sats
        out["replayable_sats"] = scanned.replayable_sats
        out["listed_sats"] = scanned.listed_sats
    return out
