"""Liability proofs: is my balance in the custodian's books, and what do the books add up to.

Two formats, detected from the file:

* **OKX v1 Merkle-sum proofs** (okx/proof-of-reserves ``common/merkle.go``): a leaf hash is
  sha256(nonce + ``{"BTC":"..","ETH":"..","USDT":".."}``); a parent is sha256(left hash + right
  hash + BTC + ETH + USDT sums (each rounded down to 8 places, no trailing zeros) + height). The
  ``type`` of a node says where it sits: 1 left, 2 right, 3 root, 4 padding.
  We check more than OKX's own verifier, which ignores ``self.height`` and does not tell a padding
  node from a right sibling: heights must run 1, 1, 2, 3, ... to the root; only the last node is
  the root; a padding node (type 4) repeats the hash of the node it pads with zero balances, and
  such a repeat is always marked padding; a zero right sibling is padding; every audit id is the
  same; no balance is negative.
* **utxo_truth v1** (our own, documented in docs/liabilities.md): a leaf commits to a random salt,
  the hash of the account id and the balance in satoshis; a parent commits to both children's
  hashes *and both children's sums* (the fix for the sum-splitting attack in "Broken Proofs of
  Solvency", Chalkias et al. 2022). :func:`build_tree` makes trees and proofs from balances.

Refused in both, each naming the node: a negative balance, a sum that does not add up, a hash that
is not 32 bytes, a path over 64 levels, the same node twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ._exceptions import InputError, LiabilityProofError  # LiabilityProofError re-exported here

__all__ = [
    "LiabilityProof",
    "LiabilityProofError",
    "build_tree",
    "load_liability_proof",
    "verify_liability_proof",
]

MAX_DEPTH = 64
_EIGHT = Decimal("0.00000001")
OWN_FORMAT = "utxo-truth-liabilities-v1"


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

    @property
    def leaf_btc_sats(self) -> int | None:
        """The user's BTC balance in satoshis, when the leaf has one."""
        return _to_sats(self.leaf_balances.get("BTC"))

    @property
    def root_btc_sats(self) -> int | None:
        """The root's BTC total in satoshis (the proven liabilities)."""
        return _to_sats(self.root_totals.get("BTC"))


def _to_sats(value: str | None) -> int | None:
    if value is None:
        return None
    return int((Decimal(value) * 100_000_000).to_integral_value(ROUND_DOWN))


class _Bad(Exception):
    pass


def load_liability_proof(path: str | Path) -> LiabilityProof:
    """Read and verify a proof file (format detected)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise LiabilityProofError(
            f"{p}: cannot read the liability proof: {exc.strerror or exc}"
        ) from exc
    try:
        data = json.loads(text)
    except ValueError:
        raise LiabilityProofError(f"{p}: a liability proof is JSON, and this is not") from None
    try:
        return verify_liability_proof(data)
    except LiabilityProofError as exc:
        raise LiabilityProofError(f"{p}: {exc}") from None


def verify_liability_proof(data: Any) -> LiabilityProof:
    """Verify a parsed proof; never raises for a proof that is merely wrong (``verified=False``).

    Raises:
        LiabilityProofError: the data is in no format we know.
    """
    if isinstance(data, dict) and data.get("format") == OWN_FORMAT:
        return _verify_own(data)
    if isinstance(data, dict) and "self" in data and "path" in data:
        return _verify_okx(data)
    raise LiabilityProofError(
        'unknown liability proof format: expected OKX\'s {"self", "path"} or '
        f'{{"format": "{OWN_FORMAT}", ...}}'
    )


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
    out = {}
    for a in _OKX_ASSETS:
        try:
            d = Decimal(b[a])
        except InvalidOperation:
            raise _Bad(f"{where}: {a} balance {b[a]!r} is not a decimal number") from None
        if not d.is_finite():
            raise _Bad(f"{where}: {a} balance is not finite")
        if d < 0:
            raise _Bad(
                f"{where}: negative {a} balance {b[a]} (a negative leaf can hide liabilities)"
            )
        out[a] = d
    return out


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
    except _Bad as exc:
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
    )


# ------------------------------------------------------------------------------------------------
# utxo_truth v1: a salted sum tree whose parents commit to both children's sums

_LEAF_TAG = b"utxo-truth/leaf"
_NODE_TAG = b"utxo-truth/node"
_PAD = hashlib.sha256(b"utxo-truth/padding").hexdigest()


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
        level = [
            (
                _node_hash(level[i][0], level[i][1], level[i + 1][0], level[i + 1][1]),
                level[i][1] + level[i + 1][1],
            )
            for i in range(0, len(level), 2)
        ]
    root_hash, root_sum = level[0]
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
        root_hash = _hex64(root.get("hash"), "root")
        root_sum = _int(root.get("sum_sats"), "root.sum_sats")
        if root_sum < 0:
            raise _Bad("root: negative sum")
        totals = {"BTC": _okx_str(Decimal(root_sum) / 100_000_000)}
        if len(path) > MAX_DEPTH:
            raise _Bad(f"path of {len(path)} levels is longer than {MAX_DEPTH}")
        sats = _int(leaf.get("balance_sats"), "leaf.balance_sats")
        if sats < 0:
            raise _Bad("leaf: negative balance (a negative leaf can hide liabilities)")
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
            if v < 0:
                raise _Bad(f"{where}: negative sum")
            if h in seen and h != _PAD:
                raise _Bad(f"{where}: the same node appears twice in the proof")
            seen.add(h)
            node = (
                _node_hash(h, v, node, total)
                if p["side"] == "left"
                else _node_hash(node, total, h, v)
            )
            total += v
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
    except _Bad as exc:
        return _own(data, False, leaf_bal, root_hash, totals, str(exc))


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
    )
