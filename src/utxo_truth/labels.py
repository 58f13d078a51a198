"""BIP-329 wallet labels: read them, show them on what a scan found, write them, check them.

A label file is JSON Lines: one object per line with ``type`` (``tx``, ``addr``, ``pubkey``,
``input``, ``output``, ``xpub``), ``ref`` and optional ``label``, ``origin``, ``spendable``
(outputs only) and the BIP's additional fields (``value``, ``height``, ``time``, ``fee``,
``keypath``, ``heights``, ``fmv``, ``rate``). :func:`read_labels` checks every field;
:func:`labels_for_holdings` writes one ``output`` record per coin found, with its ``value`` and
``height``, so a wallet such as Sparrow can import them; :func:`check_label_claims` treats a
file's ``output`` records that carry ``value``/``height`` as claims and says which no longer
hold at the scanned block.

Example:
    >>> ls = parse_labels('{"type": "addr", "ref": "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f",'
    ...                   ' "label": "savings"}')
    >>> ls.for_address("bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f")
    'savings'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

from ._exceptions import InputError, LabelFileError, PrivateKeyError
from ._models import Holdings, Utxo
from .targets import _looks_private

__all__ = [
    "LabelClaim",
    "LabelRecord",
    "LabelSet",
    "check_label_claims",
    "coin_labels",
    "labels_csv",
    "labels_for_holdings",
    "labels_html",
    "labels_summary",
    "labels_text",
    "load_labels",
    "parse_labels",
    "write_labels",
]

TYPES = ("tx", "addr", "pubkey", "input", "output", "xpub")
MAX_LABEL_FILE = 50_000_000
MAX_MONEY = 21_000_000 * 100_000_000
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_OUTPOINT = re.compile(r"([0-9a-fA-F]{64}):(\d{1,10})")
_KNOWN = {
    "type",
    "ref",
    "label",
    "origin",
    "spendable",
    "value",
    "height",
    "time",
    "fee",
    "keypath",
    "heights",
    "fmv",
    "rate",
}


@dataclass(frozen=True)
class LabelRecord:
    """One BIP-329 record; fields the BIP leaves optional are None when absent."""

    type: str
    ref: str
    label: str | None = None
    origin: str | None = None
    spendable: bool | None = None
    value: int | None = None
    height: int | None = None
    time: str | None = None
    fee: int | None = None
    keypath: str | None = None
    heights: tuple[int, ...] | None = None
    other: Mapping[str, Any] = field(default_factory=dict)
    """Other keys of the record (``fmv``, ``rate``, extensions), kept for round trips."""

    def to_json(self) -> str:
        """The record as one JSON line (keys in the BIP's order, absent ones left out)."""
        d: dict[str, Any] = {"type": self.type, "ref": self.ref}
        for k in ("label", "origin", "spendable", "value", "height", "time", "fee", "keypath"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        if self.heights is not None:
            d["heights"] = list(self.heights)
        d.update(self.other)
        return json.dumps(d, ensure_ascii=False, separators=(", ", ": "))


@dataclass(frozen=True)
class LabelSet:
    """The records of a label file, with look-ups (a later record for the same ref wins)."""

    records: tuple[LabelRecord, ...]
    ignored: int = 0
    """Records of types BIP-329 does not define (ignored, as the BIP says)."""

    def _index(self) -> dict[tuple[str, str], LabelRecord]:
        out: dict[tuple[str, str], LabelRecord] = {}
        for r in self.records:
            key = r.ref.lower() if r.type in ("tx", "input", "output", "pubkey") else r.ref
            out[(r.type, key)] = r
        return out

    def get(self, type_: str, ref: str) -> LabelRecord | None:
        """The record of ``type_`` for ``ref``, or None."""
        key = ref.lower() if type_ in ("tx", "input", "output", "pubkey") else ref
        return self._index().get((type_, key))

    def _label(self, type_: str, ref: str) -> str | None:
        r = self.get(type_, ref)
        return r.label if r is not None and r.label else None

    def for_address(self, address: str) -> str | None:
        """The ``addr`` label of ``address``."""
        return self._label("addr", address) or self._label("addr", address.lower())

    def for_coin(self, txid: str, vout: int, address: str | None = None) -> str | None:
        """The label of a coin: its ``output`` label, else its address's, else its tx's."""
        return (
            self._label("output", f"{txid}:{vout}")
            or (self.for_address(address) if address else None)
            or self._label("tx", txid)
        )

    def for_target(self, text: str) -> str | None:
        """An ``xpub`` label whose key is in the target, else one whose origin matches it."""
        for r in self.records:
            if r.type == "xpub" and r.label and r.ref in text:
                return r.label
        for r in self.records:
            if r.origin and r.label and r.type == "xpub":
                m = re.search(r"\[([^\]]+)\]", r.origin)
                if m and m.group(1).replace("'", "h") in text.replace("'", "h"):
                    return r.label
        return None


def load_labels(path: str | Path) -> LabelSet:
    """Read a BIP-329 label file (see :func:`parse_labels`).

    Example:
        >>> load_labels("sparrow-labels.jsonl").for_coin(txid, 0)  # doctest: +SKIP
        'salary'
    """
    name = str(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_LABEL_FILE + 1)
    except OSError as exc:
        raise LabelFileError(f"{name}: cannot read the label file: {exc.strerror or exc}") from None
    if len(data) > MAX_LABEL_FILE:
        raise LabelFileError(f"{name}: more than {MAX_LABEL_FILE} bytes: not a label file?")
    try:
        text = data.decode("utf-8")  # BIP-329: a UTF-8 encoded text file
    except UnicodeDecodeError:
        raise LabelFileError(
            f"{name}: not UTF-8 text; BIP-329 label files are UTF-8 JSON Lines (an encrypted "
            "export must be decrypted by the wallet that wrote it)"
        ) from None
    return parse_labels(text, path=name)


def _err(path: str, n: int, message: str) -> NoReturn:
    raise LabelFileError(f"{path}: line {n}: {message}")


def _int(obj: Mapping[str, Any], key: str, path: str, n: int, lo: int, hi: int) -> int | None:
    if key not in obj:
        return None
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, int):
        _err(path, n, f"{key} must be an integer (satoshis/heights are integers), not {v!r:.30}")
    if not lo <= v <= hi:
        _err(path, n, f"{key} {v} is outside {lo}..{hi}")
    return v


def _opt_str(obj: Mapping[str, Any], key: str, path: str, n: int) -> str | None:
    if key not in obj:
        return None
    v = obj[key]
    if not isinstance(v, str):
        _err(path, n, f"{key} must be a string, not {type(v).__name__}")
    if "\n" in v or "\r" in v:
        _err(path, n, f"{key}: multiline values are not permitted (BIP-329)")
    return v


def _check_ref(type_: str, ref: str, path: str, n: int) -> None:
    if type_ == "tx" and not _HEX64.fullmatch(ref):
        _err(path, n, "a tx ref is a transaction id: 64 hex digits")
    if type_ in ("input", "output"):
        m = _OUTPOINT.fullmatch(ref)
        if not m or int(m.group(2)) > 0xFFFFFFFF:
            _err(path, n, f"an {type_} ref is TXID:INDEX (64 hex digits, a colon, an index)")
    if type_ == "pubkey" and not (re.fullmatch(r"[0-9a-fA-F]+", ref) and len(ref) in (64, 66, 130)):
        _err(path, n, "a pubkey ref is a 32, 33 or 65 byte public key in hex")
    if type_ == "xpub":
        if _looks_private(ref):
            # BIP-329: "For security reasons no private key types are defined."
            raise PrivateKeyError(
                f"{path}: line {n}: the xpub record holds an extended private key; refused. "
                "The secret was not stored, printed or sent."
            )
        if not re.fullmatch(r"[1-9A-HJ-NP-Za-km-z]{100,112}", ref):
            _err(path, n, "an xpub ref is a BIP-32 extended public key in base58")
    if type_ == "addr" and not re.fullmatch(r"[0-9A-Za-z]{14,90}", ref):
        _err(path, n, "an addr ref is a base58 or bech32 address")


def parse_labels(text: str, *, path: str = "<labels>") -> LabelSet:
    """Parse BIP-329 JSON Lines; every field is checked, errors name the line.

    Raises:
        LabelFileError: a line that is not a JSON object, a missing or mistyped field, a ref
            of the wrong shape, ``spendable`` on a record that is not an output.
        PrivateKeyError: an ``xpub`` record holding a private key.
    """
    if not isinstance(text, str):
        raise LabelFileError(f"{path}: label data must be text, not {type(text).__name__}")
    records: list[LabelRecord] = []
    ignored = 0
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            _err(path, n, f"not a JSON object: {exc}")
        if not isinstance(obj, dict):
            _err(path, n, "each line must be one JSON object")
        type_ = obj.get("type")
        ref = obj.get("ref")
        # BIP-329: "Each JSON object must contain both type and ref properties."
        if not isinstance(type_, str):
            _err(path, n, "type is missing or not a string")
        if not isinstance(ref, str) or not ref:
            _err(path, n, "ref is missing or not a non-empty string")
        if type_ not in TYPES:
            ignored += 1  # BIP-329: importers "should ignore types not defined here"
            continue
        _check_ref(type_, ref, path, n)
        label = _opt_str(obj, "label", path, n)
        origin = _opt_str(obj, "origin", path, n)
        if origin is not None and not re.fullmatch(r"[a-z]+\(.*\)", origin):
            _err(
                path,
                n,
                "origin must be an abbreviated descriptor such as wpkh([d34db33f/84'/0'/0'])",
            )
        spendable = obj.get("spendable")
        if "spendable" in obj:
            if not isinstance(spendable, bool):
                _err(path, n, 'spendable must be true or false (not the string "false")')
            if type_ != "output":
                # BIP-329: "The spendable property should only appear where type is output."
                _err(path, n, f"spendable is only for output records, not {type_}")
        signed = type_ == "tx"  # a tx value is signed: negative when sats leave the wallet
        value = _int(obj, "value", path, n, -MAX_MONEY if signed else 0, MAX_MONEY)
        height = _int(obj, "height", path, n, 0, 10_000_000)
        fee = _int(obj, "fee", path, n, 0, MAX_MONEY)
        time = _opt_str(obj, "time", path, n)
        keypath = _opt_str(obj, "keypath", path, n)
        heights = None
        if "heights" in obj:
            hs = obj["heights"]
            if not isinstance(hs, list) or any(
                isinstance(h, bool) or not isinstance(h, int) or h < 0 for h in hs
            ):
                _err(path, n, "heights must be a list of block heights (integers)")
            heights = tuple(hs)
        for k in ("fmv", "rate"):
            if k in obj and not (
                isinstance(obj[k], dict)
                and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in obj[k].values()
                )
            ):
                _err(path, n, f"{k} must map currency codes to numbers")
        other = {k: v for k, v in obj.items() if k not in _KNOWN - {"fmv", "rate"}}
        records.append(
            LabelRecord(
                type_,
                ref,
                label,
                origin,
                spendable,
                value,
                height,
                time,
                fee,
                keypath,
                heights,
                other,
            )
        )
    return LabelSet(tuple(records), ignored)


# ---------------------------------------------------------------------------------------------
# Writing


def _origin_of(target_text: str) -> tuple[str | None, str | None]:
    """(abbreviated descriptor, key origin path) of a single-key target, else (None, None)."""
    m = re.match(r"((?:[a-z]+\()+)\[([0-9a-f]{8}(?:/[0-9]+[h']?)*)\]", target_text)
    if not m:
        return None, None
    opens = m.group(1)
    return f"{opens}[{m.group(2)}]" + ")" * opens.count("("), m.group(2)


def labels_for_holdings(
    h: Holdings,
    *,
    labels: LabelSet | None = None,
    confirmations: int = 6,
    targets: Iterable[int] | None = None,
) -> list[LabelRecord]:
    """One ``output`` record per coin of ``h`` (``value``, ``height``, ``keypath``, ``origin``).

    Labels already known (from ``labels``) are carried; the other records of ``labels`` are
    kept too, so reading a file and writing it back loses nothing. ``height`` is given only for
    coins with at least ``confirmations`` confirmations (BIP-329: omit it until "fully
    confirmed"). ``targets``: only the coins of these targets (indexes into ``h.targets``),
    e.g. a portfolio's own wallets and not a custodian's reserves.

    Example:
        >>> records = labels_for_holdings(scan(...), labels=load_labels("old.jsonl"))  # doctest: +SKIP
        >>> write_labels(records, "new.jsonl")  # doctest: +SKIP
    """
    out: list[LabelRecord] = []
    seen: set[str] = set()
    only = None if targets is None else set(targets)
    for u in h.utxos:
        ref = f"{u.txid}:{u.vout}"
        if ref in seen:
            continue
        if only is not None and (u.origin is None or u.origin.target not in only):
            continue
        seen.add(ref)
        old = labels.get("output", ref) if labels else None
        label = labels.for_coin(u.txid, u.vout, u.address) if labels else None
        origin = keypath = None
        if u.origin is not None and u.origin.target < len(h.targets):
            origin, _path = _origin_of(h.targets[u.origin.target].target)
            if u.origin.chain is not None and u.origin.index is not None and origin:
                keypath = f"/{u.origin.chain}/{u.origin.index}"
        firm = u.height is not None and h.block.height - u.height + 1 >= confirmations
        out.append(
            LabelRecord(
                "output",
                ref,
                label=label,
                origin=origin,
                spendable=old.spendable if old else None,
                value=u.value,
                height=u.height if firm else None,
                keypath=keypath,
            )
        )
    if labels:
        out += [r for r in labels.records if not (r.type == "output" and r.ref in seen)]
    return out


def write_labels(records: Iterable[LabelRecord], path: str | Path) -> None:
    """Write records as a BIP-329 file: UTF-8, one JSON object per line, newline separated.

    Example:
        >>> write_labels([LabelRecord("tx", "00" * 32, "rent")], "labels.jsonl")  # doctest: +SKIP
    """
    text = "".join(r.to_json() + "\n" for r in records)
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------------------------
# Checking a label file's own output records against a scan

ClaimStatus = Literal["holds", "value differs", "height differs", "not unspent"]


@dataclass(frozen=True)
class LabelClaim:
    """What a label file's ``output`` record claims (value/height) and what the scan found."""

    ref: str
    label: str | None
    claimed_value: int | None
    claimed_height: int | None
    status: ClaimStatus
    found_value: int | None
    found_height: int | None
    block_height: int
    block_hash: str

    @property
    def holds(self) -> bool:
        """True when the coin is unspent at the block with the claimed value and height."""
        return self.status == "holds"

    def describe(self) -> str:
        """One line saying what was claimed and what is true at the block."""
        at = f"at block {self.block_height} {self.block_hash}"
        name = f"{self.ref}" + (f" ({self.label})" if self.label else "")
        if self.status == "holds":
            return f"{name}: holds {at}"
        if self.status == "not unspent":
            return (
                f"{name}: claimed {self.claimed_value} sats but not unspent {at}: spent, or "
                "never there (a UTXO-set answer cannot tell which)"
            )
        return (
            f"{name}: {self.status}: claimed value {self.claimed_value} height "
            f"{self.claimed_height}, found value {self.found_value} height {self.found_height} {at}"
        )


def check_label_claims(labels: LabelSet, h: Holdings) -> list[LabelClaim]:
    """Check every ``output`` record that carries ``value`` or ``height`` against ``h``.

    A record for a coin that is not in ``h`` is "not unspent" (spent, or never there); one whose
    value or height differs from the coin found says so. Only coins of the scanned targets can
    be found: check a label file against a scan of the wallet it came from.
    """
    coins: dict[str, Utxo] = {f"{u.txid}:{u.vout}".lower(): u for u in h.utxos}
    out: list[LabelClaim] = []
    for r in labels.records:
        if r.type != "output" or (r.value is None and r.height is None):
            continue
        u = coins.get(r.ref.lower())
        status: ClaimStatus
        if u is None:
            status = "not unspent"
        elif r.value is not None and r.value != u.value:
            status = "value differs"
        elif r.height is not None and r.height not in (0, u.height):
            status = "height differs"
        else:
            status = "holds"
        out.append(
            LabelClaim(
                r.ref,
                r.label,
                r.value,
                r.height,
                status,
                u.value if u else None,
                u.height if u else None,
                h.block.height,
                h.block.hash,
            )
        )
    return out


def coin_labels(labels: LabelSet, h: Holdings) -> dict[str, str]:
    """``TXID:VOUT`` → label, for the coins of ``h`` that have one.

    Example:
        >>> coin_labels(parse_labels(""), scan(...))  # doctest: +SKIP
        {}
    """
    out = {}
    for u in h.utxos:
        lab = labels.for_coin(u.txid, u.vout, u.address)
        if lab:
            out[f"{u.txid}:{u.vout}"] = lab
    return out


# ---------------------------------------------------------------------------------------------
# Labels in reports (scan and reconcile; text, JSON, CSV, HTML)


def labels_summary(labels: LabelSet, h: Holdings) -> dict[str, Any]:
    """JSON-ready labels of the targets and coins of ``h`` and the file's claims checked.

    Example:
        >>> labels_summary(load_labels("labels.jsonl"), scan(...))["claims"]  # doctest: +SKIP
        [{'ref': '...', 'status': 'not unspent', ...}]
    """
    from dataclasses import asdict

    return {
        "coins": coin_labels(labels, h),
        "addresses": {
            u.address: lab for u in h.utxos if u.address and (lab := labels.for_address(u.address))
        },
        "targets": {t.target: lab for t in h.targets if (lab := labels.for_target(t.target))},
        "claims": [asdict(c) for c in check_label_claims(labels, h)],
        "block": {"height": h.block.height, "hash": h.block.hash},
    }


def labels_text(labels: LabelSet, h: Holdings) -> str:
    """Plain-text lines: labels of targets and coins, then the claims that no longer hold.

    Example:
        >>> text = labels_text(load_labels("labels.jsonl"), scan(...))  # doctest: +SKIP
    """
    lines = []
    for t in h.targets:
        lab = labels.for_target(t.target)
        if lab:
            lines.append(f"label  {t.target}: {lab}")
    for u in h.utxos:
        lab = labels.for_coin(u.txid, u.vout, u.address)
        if lab:
            lines.append(f"label  {u.txid}:{u.vout} {u.address or '-'} {u.value} sats: {lab}")
    claims = check_label_claims(labels, h)
    if claims:
        held = sum(c.holds for c in claims)
        lines.append(f"label claims: {held} of {len(claims)} output records hold")
    lines += [f"NO LONGER HOLDS  {c.describe()}" for c in claims if not c.holds]
    return "".join(line + "\n" for line in lines)


def labels_html(labels: LabelSet, h: Holdings) -> str:
    """An HTML section (table) of the same content as :func:`labels_text`.

    Example:
        >>> labels_html(load_labels("labels.jsonl"), scan(...))  # doctest: +SKIP
    """
    import html

    e = html.escape
    rows = [
        f"<tr><td>{e(u.txid)}:{u.vout}</td><td>{e(u.address or '')}</td>"
        f"<td>{u.value}</td><td>{e(lab)}</td></tr>"
        for u in h.utxos
        if (lab := labels.for_coin(u.txid, u.vout, u.address))
    ]
    claims = [f"<li>{e(c.describe())}</li>" for c in check_label_claims(labels, h) if not c.holds]
    return (
        '<section id="labels"><h2>Labels (BIP-329)</h2><table><tr><th>coin</th><th>address</th>'
        "<th>sats</th><th>label</th></tr>"
        + "".join(rows)
        + "</table>"
        + (f"<h3>Label claims that no longer hold</h3><ul>{''.join(claims)}</ul>" if claims else "")
        + "</section>"
    )


def labels_csv(labels: LabelSet, h: Holdings, csv_text: str) -> str:
    """``csv_text`` (a report's CSV) with one ``label`` row per labelled coin and per claim.

    The rows use the report's own columns: ``section`` is ``label`` or ``label-claim``,
    ``name`` the label, ``kind`` the coin (``TXID:VOUT``) and the block columns the block.

    Example:
        >>> labels_csv(load_labels("l.jsonl"), scan(...), report.to_csv())  # doctest: +SKIP
    """
    import csv
    import io

    reader = csv.reader(io.StringIO(csv_text))
    header = next(reader, None) or ["section", "name", "kind", "block_height", "block_hash"]
    out = io.StringIO()
    out.write(csv_text if csv_text else ",".join(header) + "\n")
    writer = csv.DictWriter(
        out, fieldnames=header, restval="", extrasaction="ignore", lineterminator="\n"
    )
    block = {"block_height": h.block.height, "block_hash": h.block.hash}
    for u in h.utxos:
        lab = labels.for_coin(u.txid, u.vout, u.address)
        if lab:
            writer.writerow(
                {"section": "label", "name": lab, "kind": f"{u.txid}:{u.vout}", **block}
            )
    for c in check_label_claims(labels, h):
        writer.writerow(
            {
                "section": "label-claim",
                "name": c.label or "",
                "kind": c.ref,
                "custodian": c.status,
                **block,
            }
        )
    return out.getvalue()
