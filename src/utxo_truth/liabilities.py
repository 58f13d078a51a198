"""Liability proofs: is my balance in the custodian's books, and what do the books add up to.

OKX v1 and our own format live here; Bybit, Bitget, MEXC, OKX Merkle v2 and BitMEX/River are in
``_liability_formats`` (which also recognises the format of any file). Every verified proof
carries a :class:`LiabilityGrade` saying what it binds.

* **OKX v1 Merkle-sum proofs** (okx/proof-of-reserves ``common/merkle.go``): a leaf hash is
  sha256(nonce + ``{"BTC":"..","ETH":"..","USDT":".."}``); a parent is sha256(left hash + right
  hash + BTC + ETH + USDT sums (each rounded down to 8 places, no trailing zeros) + height). The
  ``type`` of a node says where it sits: 1 left, 2 right, 3 root, 4 padding.
  We check more than OKX's own verifier, which ignores ``self.height`` and does not tell a padding
  node from a right sibling: heights must run 1, 1, 2, 3, ... to the root; only the last node is
  the root; a padding node (type 4) repeats the hash of the node it pads with zero balances, and
  such a repeat is always marked padding; a zero right sibling is padding; every audit id is the
  same; no balance is negative.
* **utxo_truth v2** (our own, documented in docs/liabilities.md): a leaf commits to a random salt,
  the hash of the account id and the balance in satoshis; a parent commits to both children's
  hashes *and both children's sums* (the fix for the sum-splitting attack in "Broken Proofs of
  Solvency", Chalkias et al. 2022); the root binds audit id, snapshot time and height.
  :func:`build_tree` makes trees and proofs from balances.

Refused in every format, each naming the node: a negative or non-canonical balance, a sum that
does not add up, a hash shorter than the format defines, a path over 64 levels, the same node
twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ._exceptions import (  # the two errors re-exported here, where they were first defined
    InputError,
    LiabilityProofError,
    LiabilityValueError,
)

__all__ = [
    "LiabilityGrade",
    "LiabilityProof",
    "LiabilityProofError",
    "LiabilityValueError",
    "build_tree",
    "load_liability_proof",
    "verify_liability_proof",
]

MAX_DEPTH = 64
_EIGHT = Decimal("0.00000001")
OWN_FORMAT = "utxo-truth-liabilities-v2"
"""v2 binds ``audit_id``, ``snapshot_time`` and ``snapshot_height`` into the root (v1 did not)."""
OLD_OWN_FORMAT = "utxo-truth-liabilities-v1"


class LiabilityGrade(BaseModel):
    """What a verified proof actually binds (a weaker format verifies too; this says how weak).

    Example:
        >>> LiabilityGrade(sums_bound=False, salted=True, positions_checked=True,
        ...                btc_isolated=True, root_pinned=False, hash_bits=256).hash_bits
        256
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sums_bound: bool
    """Each parent's hash commits to both children's values (else the "max" attack of *Broken
    Proofs of Solvency* lowers sibling sums unseen)."""
    salted: bool
    """A leaf's hash includes a secret per-user nonce (else balances can be guessed)."""
    positions_checked: bool
    """Heights / positions of every node on the path (or in the whole tree) are checked."""
    btc_isolated: bool
    """The BTC figure stands on its own (not only a fiat total)."""
    root_pinned: bool
    """The root was given by the user (``root=`` / ``--root``), not taken from the file."""
    hash_bits: int
    """Bits of each hash kept by the format (256 for full SHA-256)."""


class LiabilityProof(BaseModel):
    """The result of checking a liability proof: verified, or the exact reason it is not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    verified: bool
    format: str
    audit_id: str | None = None
    snapshot_time: str | None = None
    snapshot_height: int | None = None
    leaf_balances: dict[str, str]
    """The user's own balances in the leaf, per asset, as decimal strings."""
    root_hash: str | None
    root_totals: dict[str, str]
    """The root's totals per asset (what the custodian says it owes all customers)."""
    reason: str | None = None
    """Why it is not verified, naming the node."""
    grade: LiabilityGrade | None = None
    """What the proof binds (None when it is not verified)."""
    unproven: list[str] = []
    """Fields the file states that no hash covers (reported, never proven), e.g. ``auditId``."""

    @property
    def leaf_btc_sats(self) -> int | None:
        """The user's BTC balance in satoshis, when the leaf has one."""
        return _to_sats(self.leaf_balances.get("BTC"))

    @property
    def root_btc_sats(self) -> int | None:
        """The root's BTC total in satoshis (the proven liabilities)."""
        return _to_sats(self.root_totals.get("BTC"))


def grade_text(g: LiabilityGrade) -> str:
    """One line saying what a proof binds and what it does not.

    Example:
        >>> grade_text(LiabilityGrade(sums_bound=False, salted=True, positions_checked=True,
        ...                           btc_isolated=True, root_pinned=False, hash_bits=128))
        'sums NOT bound by the hashes (max attack possible), salted, positions checked, BTC isolated, root taken from the file (not pinned), 128-bit hashes (truncated)'
    """
    return ", ".join(
        [
            "sums bound by the hashes"
            if g.sums_bound
            else "sums NOT bound by the hashes (max attack possible)",
            "salted" if g.salted else "NOT salted (balances can be guessed)",
            "positions checked" if g.positions_checked else "positions NOT checked",
            "BTC isolated" if g.btc_isolated else "no BTC figure of its own (fiat total only)",
            "root pinned by you" if g.root_pinned else "root taken from the file (not pinned)",
            f"{g.hash_bits}-bit hashes" + (" (truncated)" if g.hash_bits < 256 else ""),
        ]
    )


def _to_sats(value: str | None) -> int | None:
    if value is None:
        return None
    return int((Decimal(value) * 100_000_000).to_integral_value(ROUND_DOWN))


class _Bad(Exception):
    pass


MAX_JSON_BYTES = 16 << 20
"""A proof file (JSON) larger than this is refused before it is parsed."""
MAX_TREE_BYTES = 512 << 20
"""A whole published tree (CSV / text) larger than this is refused before it is read."""
MAX_JSON_DEPTH = 32
"""Nesting deeper than this is refused before parsing (no proof format nests more than 4)."""
MAX_BALANCE_DIGITS = 20
"""A balance has at most 20 digits before the point (so balances >= 1e20 are refused)."""
MAX_FRACTION_DIGITS = 18
MAX_SATS = (1 << 64) - 1
"""Sums in satoshis are 8-byte unsigned integers in every format that encodes them."""

_CANONICAL = re.compile(
    rf"(0|[1-9][0-9]{{0,{MAX_BALANCE_DIGITS - 1}}})(\.[0-9]{{1,{MAX_FRACTION_DIGITS}}})?"
)
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def canonical_decimal(value: Any, where: str) -> Decimal:
    """A non-negative balance written as plain ASCII digits, or :class:`LiabilityValueError`.

    Refused: exponents (``3.77799E-3``), signs (``+0.1``, ``-0``), leading zeros (``019442.3``),
    non-ASCII digits, 1e20 or more, more than 18 decimal places.

    Example:
        >>> canonical_decimal("19442.3", "self.BTC")
        Decimal('19442.3')
    """
    if not isinstance(value, str) or _CANONICAL.fullmatch(value) is None:
        shown = repr(value)[:40]
        raise LiabilityValueError(
            f"{where}: {shown} is not a canonical non-negative decimal below 1e{MAX_BALANCE_DIGITS}"
            " (plain digits, no sign, exponent or leading zero)"
        )
    return Decimal(value)


def _refuse_constant(name: str) -> Any:
    raise LiabilityValueError(f"{name} is not a number a liability proof may hold")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise LiabilityValueError(f"key {k!r} appears twice in one object")
        out[k] = v
    return out


def parse_json_limited(raw: bytes, where: str = "proof") -> Any:
    """Decode and parse proof JSON with a size and depth limit checked *before* parsing.

    Every failure is a :class:`LiabilityProofError` (never ``RecursionError`` or
    ``UnicodeDecodeError``); floats stay :class:`~decimal.Decimal`, NaN/Infinity and duplicate
    keys are refused.

    Example:
        >>> parse_json_limited(b'{"a": [1]}')
        {'a': [1]}
    """
    if len(raw) > MAX_JSON_BYTES:
        raise LiabilityProofError(f"{where}: {len(raw)} bytes, more than {MAX_JSON_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LiabilityProofError(
            f"{where}: not UTF-8 text (byte {exc.start}); a liability proof is UTF-8 JSON"
        ) from None
    depth = 0
    for m in _JSON_TOKENS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise LiabilityProofError(
                    f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels; no proof format"
                    " nests like that"
                )
        elif c in "]}":
            depth -= 1
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_no_duplicates,
        )
    except LiabilityProofError:
        raise
    except (ValueError, RecursionError):
        raise LiabilityProofError(f"{where}: a liability proof is JSON, and this is not") from None


def _read_bytes(p: Path, limit: int) -> bytes:
    try:
        size = p.stat().st_size
        if size > limit:
            raise LiabilityProofError(f"{p}: {size} bytes, more than the {limit} allowed")
        with p.open("rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise LiabilityProofError(
            f"{p}: cannot read the liability proof: {exc.strerror or exc}"
        ) from exc
    if len(raw) > limit:
        raise LiabilityProofError(f"{p}: more than the {limit} bytes allowed")
    return raw


def load_liability_proof(
    path: str | Path,
    *,
    format: str | None = None,
    root: str | None = None,
    tree: str | Path | None = None,
    account: int | None = None,
    account_nonce: str | None = None,
) -> LiabilityProof:
    """Read and verify a proof file (format detected, or named with ``format=``).

    ``root`` pins the root hash (hex) you got from the custodian out of band; ``tree`` is the
    whole published tree that an OKX v2 user info file is checked against; ``account`` and
    ``account_nonce`` find your leaves in a BitMEX/River whole-tree CSV.

    Example:
        >>> from pathlib import Path
        >>> import json, tempfile
        >>> _, _, proofs = build_tree([("me", 5)], salt=b"d")
        >>> f = Path(tempfile.mkdtemp()) / "p.json"
        >>> _ = f.write_text(json.dumps(proofs["me"]))
        >>> load_liability_proof(f).verified
        True
    """
    p = Path(path)
    raw = _read_bytes(p, MAX_TREE_BYTES)
    tree_raw = _read_bytes(Path(tree), MAX_TREE_BYTES) if tree is not None else None
    try:
        from ._liability_formats import verify_raw

        return verify_raw(
            raw,
            format=format,
            root=root,
            tree=tree_raw,
            account=account,
            account_nonce=account_nonce,
        )
    except LiabilityProofError as exc:
        raise type(exc)(f"{p}: {exc}") from None


def verify_liability_proof(
    data: Any, *, format: str | None = None, root: str | None = None
) -> LiabilityProof:
    """Verify a parsed proof; never raises for a proof that is merely wrong (``verified=False``).

    Raises:
        LiabilityProofError: the data is in no format we know (or not the one named).
        LiabilityValueError: a figure is not a canonical decimal in range.

    Example:
        >>> _, _, proofs = build_tree([("me", 5), ("you", 6)], salt=b"e")
        >>> verify_liability_proof(proofs["me"]).grade.sums_bound
        True
    """
    from ._liability_formats import verify_parsed

    return verify_parsed(data, format=format, root=root)


# ------------------------------------------------------------------------------------------------
# OKX v1

_OKX_ASSETS = ("BTC", "ETH", "USDT")


def _okx_str(d: Decimal) -> str:
    """shopspring/decimal's String(): no exponent, no trailing zeros, "0" for zero."""
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def _okx_balances(node: Any, where: str) -> dict[str, Decimal]:
    b = node.get("balances") if isinstance(node, dict) else None
    if (
        not isinstance(b, dict)
        or set(b) - set(_OKX_ASSETS)
        or not all(isinstance(b.get(a), str) for a in _OKX_ASSETS)
    ):
        raise _Bad(f"{where}: balances must hold BTC, ETH and USDT as decimal strings")
    # canonical non-negative decimals only: a negative leaf can hide liabilities, and a second
    # spelling of one amount (1E-8, +0, 00.1) is a second leaf hash for the same balance
    return {a: canonical_decimal(b[a], f"{where}.{a}") for a in _OKX_ASSETS}


def _okx_leaf_json(b: dict[str, str]) -> str:
    """The exact bytes OKX hashes after the nonce (Go's fmt of the three balance strings)."""
    return '{"BTC":"' + b["BTC"] + '","ETH":"' + b["ETH"] + '","USDT":"' + b["USDT"] + '"}'


def _hex64(value: Any, where: str) -> str:
    if not (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    ):
        raise _Bad(
            f"{where}: hash must be 64 lowercase hex characters (a truncated hash is refused)"
        )
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"{where} must be a whole number")
    return value


def _verify_okx(data: dict[str, Any]) -> LiabilityProof:
    self_node = data.get("self")
    path = data.get("path")
    leaf: dict[str, str] = {}
    audit = None
    try:
        if not isinstance(self_node, dict) or not isinstance(path, list) or not path:
            raise _Bad("a proof has a 'self' leaf and a non-empty 'path'")
        if len(path) > MAX_DEPTH:
            raise _Bad(f"path of {len(path)} nodes is longer than {MAX_DEPTH} levels")
        audit = self_node.get("auditId")
        balances = _okx_balances(self_node, "self")
        leaf = {a: _okx_str(v) for a, v in balances.items()}
        nonce = self_node.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise _Bad("self: nonce is missing")
        raw = self_node["balances"]
        leaf_data = nonce + _okx_leaf_json(raw)
        if hashlib.sha256(leaf_data.encode()).hexdigest() != _hex64(self_node.get("hash"), "self"):
            raise _Bad("self: the leaf hash is not sha256(nonce + balances)")
        if _int(self_node.get("height"), "self.height") != 1:
            raise _Bad("self: a leaf is at height 1")
        self_type = _int(self_node.get("type"), "self.type")
        if self_type not in (1, 2):
            raise _Bad("self: type must be 1 (left) or 2 (right)")
        seen = {self_node["hash"]}
        node_hash, node_bal = self_node["hash"], balances
        root = path[-1]
        for i, p in enumerate(path):
            where = f"path[{i}]"
            if not isinstance(p, dict):
                raise _Bad(f"{where}: not an object")
            if p.get("auditId") != audit:
                raise _Bad(
                    f"{where}: audit id {p.get('auditId')!r} differs from the leaf's {audit!r}"
                )
            h = _hex64(p.get("hash"), where)
            if (
                h in seen and p.get("type") != 4
            ):  # padding repeats a node on purpose (checked below)
                raise _Bad(f"{where}: the same node appears twice in the proof")
            seen.add(h)
            bal = _okx_balances(p, where)
            if i == 0 and "nonce" in p:  # the sibling is a leaf too: its hash must be its own
                sib = p["balances"]
                sib_data = str(p["nonce"]) + _okx_leaf_json(sib)
                if hashlib.sha256(sib_data.encode()).hexdigest() != h:
                    raise _Bad("path[0]: the sibling leaf's hash is not sha256(nonce + balances)")
            t = _int(p.get("type"), f"{where}.type")
            if _int(p.get("height"), f"{where}.height") != i + 1:
                raise _Bad(f"{where}: height {p.get('height')} where {i + 1} belongs")
            if i == len(path) - 1:
                if t != 3:
                    raise _Bad(f"{where}: the last node is the root, type 3")
                break
            if t not in (1, 2, 4):
                raise _Bad(f"{where}: type {t} is not 1 (left), 2 (right) or 4 (padding)")
            zero = all(v == 0 for v in bal.values())
            if t == 4 and not zero:
                raise _Bad(f"{where}: a padding node (type 4) must have zero balances")
            # OKX pads an odd level by repeating the node's own hash: a padding node is exactly
            # that, and a sibling equal to the node is padding, whatever side it claims
            if t == 4 and h != node_hash:
                raise _Bad(f"{where}: a padding node must repeat the hash of the node it pads")
            if t != 4 and h == node_hash:
                raise _Bad(f"{where}: a sibling equal to the node is padding and must be type 4")
            if t == 2 and zero:
                raise _Bad(f"{where}: a zero right sibling must be marked as padding (type 4)")
            if i == 0 and t == self_type:
                raise _Bad("path[0]: the leaf's sibling cannot sit on the same side as the leaf")
            if i == 0:
                left, right = (h, node_hash) if self_type == 2 else (node_hash, h)
            else:
                left, right = (h, node_hash) if t == 1 else (node_hash, h)
            sums = {
                a: (node_bal[a] + bal[a]).quantize(_EIGHT, rounding=ROUND_DOWN) for a in _OKX_ASSETS
            }
            height = i + 2
            node_data = left + right + "".join(_okx_str(sums[a]) for a in _OKX_ASSETS) + str(height)
            node_hash = hashlib.sha256(node_data.encode()).hexdigest()
            node_bal = sums
        root_bal = _okx_balances(root, f"path[{len(path) - 1}]")
        totals = {a: _okx_str(v) for a, v in root_bal.items()}
        if len(path) < 2:
            raise _Bad("a path needs at least the sibling and the root")
        reason = None
        if node_hash != root["hash"]:
            reason = f"root: the path hashes to {node_hash}, not to the root {root['hash']}"
        elif any(node_bal[a] != root_bal[a] for a in _OKX_ASSETS):
            reason = "root: the balances on the path do not add up to the root's totals"
        return _okx(reason is None, audit, leaf, root["hash"], totals, reason)
    except (_Bad, LiabilityValueError) as exc:
        root_hash = (
            path[-1].get("hash")
            if isinstance(path, list) and path and isinstance(path[-1], dict)
            else None
        )
        return _okx(
            False, audit, leaf, root_hash if isinstance(root_hash, str) else None, {}, str(exc)
        )


def _okx(
    ok: bool,
    audit: Any,
    leaf: dict[str, str],
    root: str | None,
    totals: dict[str, str],
    reason: str | None,
) -> LiabilityProof:
    return LiabilityProof(
        verified=ok,
        format="okx-v1",
        audit_id=str(audit) if audit is not None else None,
        leaf_balances=leaf,
        root_hash=root,
        root_totals=totals,
        reason=reason,
        grade=LiabilityGrade(
            sums_bound=False,  # a parent hashes only the *sum* of its children
            salted=True,
            positions_checked=True,
            btc_isolated=True,
            root_pinned=False,
            hash_bits=256,
        )
        if ok
        else None,
        # OKX hashes no audit id: it can be rewritten in every node and still verify
        unproven=["auditId"] if audit is not None else [],
    )


# ------------------------------------------------------------------------------------------------
# utxo_truth v1: a salted sum tree whose parents commit to both children's sums

_LEAF_TAG = b"utxo-truth/leaf"
_NODE_TAG = b"utxo-truth/node"
_PAD = hashlib.sha256(b"utxo-truth/padding").hexdigest()
_ROOT_TAG = b"utxo-truth/root"


def _field(value: bytes | None) -> bytes:
    """Length-prefixed optional field: 0x00 for absent, 0x01 + 4-byte length + bytes."""
    if value is None:
        return b"\x00"
    return b"\x01" + len(value).to_bytes(4, "big") + value


def _bound_root(
    top: str, total: int, audit_id: str | None, snapshot_time: str | None, height: int | None
) -> str:
    """The published root: the tree's top hash and sum bound to the snapshot's metadata.

    None of ``audit_id``, ``snapshot_time``, ``snapshot_height`` can change without the root.
    """
    data = (
        _ROOT_TAG
        + bytes.fromhex(top)
        + total.to_bytes(8, "big")
        + _field(audit_id.encode() if audit_id is not None else None)
        + _field(snapshot_time.encode() if snapshot_time is not None else None)
        + _field(height.to_bytes(8, "big") if height is not None else None)
    )
    return hashlib.sha256(data).hexdigest()


def _leaf_hash(salt: bytes, account: str, sats: int) -> str:
    account_hash = hashlib.sha256(account.encode()).digest()
    return hashlib.sha256(_LEAF_TAG + salt + account_hash + sats.to_bytes(8, "big")).hexdigest()


def _node_hash(left: str, left_sum: int, right: str, right_sum: int) -> str:
    data = (
        _NODE_TAG
        + bytes.fromhex(left)
        + left_sum.to_bytes(8, "big")
        + bytes.fromhex(right)
        + right_sum.to_bytes(8, "big")
    )
    return hashlib.sha256(data).hexdigest()


def build_tree(
    balances: Sequence[tuple[str, int]],
    *,
    audit_id: str = "",
    snapshot_time: str | None = None,
    snapshot_height: int | None = None,
    salt: bytes | None = None,
) -> tuple[str, int, dict[str, dict[str, Any]]]:
    """Build a utxo_truth v1 sum tree. Returns (root hash, root sum, proof per account id).

    Each leaf gets its own random salt (derived from ``salt`` when given, for reproducible tests).

    Example:
        >>> root, total, proofs = build_tree([("alice", 5), ("bob", 7)], salt=b"x")
        >>> total, verify_liability_proof(proofs["alice"]).verified
        (12, True)
    """
    if not balances:
        raise InputError("a tree needs at least one balance")
    ids = [a for a, _ in balances]
    if len(set(ids)) != len(ids):
        raise InputError("account ids must be unique")
    leaves = []
    for k, (account, sats) in enumerate(balances):
        if isinstance(sats, bool) or not isinstance(sats, int) or not 0 <= sats < 1 << 63:
            raise InputError(f"balance of {account!r} must be whole satoshis >= 0")
        s = (
            hashlib.sha256(salt + k.to_bytes(8, "big")).digest()
            if salt is not None
            else os.urandom(32)
        )
        leaves.append((_leaf_hash(s, account, sats), sats, s))
    level: list[tuple[str, int]] = [(h, v) for h, v, _ in leaves]
    paths: list[list[dict[str, Any]]] = [[] for _ in leaves]
    position = list(range(len(leaves)))
    while len(level) > 1:
        if len(level) % 2:
            level.append((_PAD, 0))
        for leaf_index, pos in enumerate(position):
            sibling = pos ^ 1
            h, v = level[sibling]
            paths[leaf_index].append(
                {"side": "left" if sibling < pos else "right", "hash": h, "sum_sats": v}
            )
            position[leaf_index] = pos // 2
        if any(level[i][1] + level[i + 1][1] > MAX_SATS for i in range(0, len(level), 2)):
            raise InputError(f"the sums do not fit 8 bytes (at most {MAX_SATS} sats)")
        level = [
            (
                _node_hash(level[i][0], level[i][1], level[i + 1][0], level[i + 1][1]),
                level[i][1] + level[i + 1][1],
            )
            for i in range(0, len(level), 2)
        ]
    top_hash, root_sum = level[0]
    if snapshot_height is not None and not 0 <= snapshot_height < 1 << 32:
        raise InputError("snapshot_height must be a block height (0 to 2**32 - 1)")
    root_hash = _bound_root(top_hash, root_sum, audit_id, snapshot_time, snapshot_height)
    proofs = {}
    for (account, sats), (_h, _v, s), path in zip(balances, leaves, paths, strict=True):
        proofs[account] = {
            "format": OWN_FORMAT,
            "audit_id": audit_id,
            "snapshot_time": snapshot_time,
            "snapshot_height": snapshot_height,
            "leaf": {"account": account, "salt": s.hex(), "balance_sats": sats},
            "path": path,
            "root": {"hash": root_hash, "sum_sats": root_sum},
        }
    return root_hash, root_sum, proofs


def _verify_own(data: dict[str, Any]) -> LiabilityProof:
    leaf_bal: dict[str, str] = {}
    root_hash = None
    totals: dict[str, str] = {}
    try:
        leaf, path, root = data.get("leaf"), data.get("path"), data.get("root")
        if not (isinstance(leaf, dict) and isinstance(path, list) and isinstance(root, dict)):
            raise _Bad("a proof has 'leaf', 'path' and 'root'")
        audit_id, snap_time, snap_height = _own_meta(data)
        root_hash = _hex64(root.get("hash"), "root")
        root_sum = _int(root.get("sum_sats"), "root.sum_sats")
        _sats_range(root_sum, "root.sum_sats")
        totals = {"BTC": _okx_str(Decimal(root_sum) / 100_000_000)}
        if len(path) > MAX_DEPTH:
            raise _Bad(f"path of {len(path)} levels is longer than {MAX_DEPTH}")
        sats = _int(leaf.get("balance_sats"), "leaf.balance_sats")
        _sats_range(sats, "leaf.balance_sats")
        leaf_bal = {"BTC": _okx_str(Decimal(sats) / 100_000_000)}
        try:
            salt = bytes.fromhex(str(leaf.get("salt")))
        except ValueError:
            raise _Bad("leaf: salt is not hex") from None
        if len(salt) != 32 or not isinstance(leaf.get("account"), str):
            raise _Bad("leaf: a 32-byte salt and an account id are required")
        node, total = _leaf_hash(salt, leaf["account"], sats), sats
        seen = {node}
        for i, p in enumerate(path):
            where = f"path[{i}]"
            if not isinstance(p, dict) or p.get("side") not in ("left", "right"):
                raise _Bad(f"{where}: side must be left or right")
            h = _hex64(p.get("hash"), where)
            v = _int(p.get("sum_sats"), f"{where}.sum_sats")
            _sats_range(v, f"{where}.sum_sats")
            if h in seen and h != _PAD:
                raise _Bad(f"{where}: the same node appears twice in the proof")
            seen.add(h)
            node = (
                _node_hash(h, v, node, total)
                if p["side"] == "left"
                else _node_hash(node, total, h, v)
            )
            total += v
            _sats_range(total, f"{where}: the running sum")
        node = _bound_root(node, total, audit_id, snap_time, snap_height)
        if node != root_hash:
            return _own(
                data,
                False,
                leaf_bal,
                root_hash,
                totals,
                f"root: the path hashes to {node}, not to the root",
            )
        if total != root_sum:
            return _own(
                data,
                False,
                leaf_bal,
                root_hash,
                totals,
                f"root: the sums add up to {total}, the root says {root_sum}",
            )
        return _own(data, True, leaf_bal, root_hash, totals, None)
    except (_Bad, LiabilityValueError) as exc:
        return _own(data, False, leaf_bal, root_hash, totals, str(exc))


def _sats_range(v: int, where: str) -> None:
    if v < 0:
        raise _Bad(f"{where}: negative (a negative leaf can hide liabilities)")
    if v > MAX_SATS:
        raise LiabilityValueError(f"{where}: {v} sats is 2**64 or more; it does not fit 8 bytes")


def _own_meta(data: dict[str, Any]) -> tuple[str | None, str | None, int | None]:
    audit, snap_time, height = (
        data.get("audit_id"),
        data.get("snapshot_time"),
        data.get("snapshot_height"),
    )
    if audit is not None and not (isinstance(audit, str) and len(audit) <= 256):
        raise _Bad("audit_id must be a string of at most 256 characters, or null")
    if snap_time is not None and not (isinstance(snap_time, str) and len(snap_time) <= 64):
        raise _Bad("snapshot_time must be a string of at most 64 characters, or null")
    if height is not None and (
        isinstance(height, bool) or not isinstance(height, int) or not 0 <= height < 1 << 32
    ):
        raise _Bad("snapshot_height must be a block height (0 to 2**32 - 1), or null")
    return audit, snap_time, height


def _own(
    data: dict[str, Any],
    ok: bool,
    leaf: dict[str, str],
    root: str | None,
    totals: dict[str, str],
    reason: str | None,
) -> LiabilityProof:
    height = data.get("snapshot_height")
    return LiabilityProof(
        verified=ok,
        format=OWN_FORMAT,
        audit_id=str(data.get("audit_id")) if data.get("audit_id") is not None else None,
        snapshot_time=str(data["snapshot_time"]) if data.get("snapshot_time") is not None else None,
        snapshot_height=height
        if isinstance(height, int) and not isinstance(height, bool)
        else None,
        leaf_balances=leaf,
        root_hash=root,
        root_totals=totals,
        reason=reason,
        grade=LiabilityGrade(
            sums_bound=True,
            salted=True,
            positions_checked=True,
            btc_isolated=True,
            root_pinned=False,
            hash_bits=256,
        )
        if ok
        else None,
    )
