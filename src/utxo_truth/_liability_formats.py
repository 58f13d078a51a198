"""Exchanges' liability-proof formats beyond OKX v1 and ours, and the one dispatcher.

Each is exact and stricter than its publisher's own verifier.

Each format follows its publisher's verifier code (read at the source, not copied):

* ``bybit`` (bybit-exchange/merkle-proof, ``GenericMerkleTree.java``, ``Balance40V5``): leaf =
  sha256(userHash + every balance in the asset list's order); parent = sha256(left + right +
  the summed balances, each at 8 places rounded down + height). Parents commit to the sum only.
* ``mexc`` (mexcmerkle/mexc-proof-of-reserves, ``MerkleProofValidator.java``): leaf =
  sha256(proofId,accountId,ASSET:amount,...)[:32 hex]; parent = sha256(left,right,sums)[:32 hex];
  a missing level is an empty sibling (hash ""). 128 bits kept, no salt, sum only.
* ``okx-v2`` (okx/proof-of-reserves ``common/merklev2.go``, ``common/validator.go``): a user info
  file (user hash = sha256(nonce + totals JSON); each split leaf = sha256(user hash + BTC + ETH +
  USDT)) checked against the whole published tree (``hash,height,{balances}`` per line, root
  first, each level written right to left, an odd level padded by repeating its last hash with
  zero balances). OKX's verifier only looks the leaves up; we check every node.
* ``bitmex`` (BitMEX/proof-of-reserves-liabilities ``validate_liabilities.py``, River's
  ``merkle_sum_tree.ex``): ``block_height:N`` then ``hash,sats`` per node, root first, breadth
  first, a full binary tree; leaf = HMAC-SHA256(sha256(account nonce ‖ height ‖ account id),
  value ‖ leaf index) (all 8-byte little-endian); parent = sha256(left ‖ left sats ‖ right ‖
  right sats). Parents commit to both children's values.

* ``bitget`` (BitgetLimited/proof-of-reserves, ``MerKelTree.java``, ``MerkelTreeUtils.java``):
  leaf = sha256(encryptUid,nonce,balances JSON)[:16 hex]; parent = sha256(left + right +
  ,balances JSON,level)[:16 hex]; balances JSON as fastjson writes a Java HashMap (bucket order,
  trailing zeros stripped, quoted). 64 bits kept, sums only.

Binance/Gate zk-era proofs (Poseidon over BN254) are recognised and refused by name: this
library does not check them (see docs/liabilities.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from decimal import ROUND_DOWN, Decimal
from typing import Any

from .liabilities import (
    MAX_DEPTH,
    MAX_SATS,
    OLD_OWN_FORMAT,
    OWN_FORMAT,
    LiabilityGrade,
    LiabilityProof,
    LiabilityProofError,
    LiabilityValueError,
    _Bad,
    _okx_str,
    _verify_okx,
    _verify_own,
    canonical_decimal,
    parse_json_limited,
)

FORMATS = ("utxo-truth", "okx-v1", "okx-v2", "okx-v2-tree", "bybit", "bitget", "mexc", "bitmex")
"""Names accepted by ``format=`` / ``--format``."""

_EXPECTED = (
    "expected one of: our own JSON (format utxo-truth-liabilities-v2), OKX v1, Bybit or Bitget "
    '{"self", "path"}, MEXC {"self", "pathList"}, an OKX v2 user info file {"hash", "nodes", '
    '"nonce", "totalBalances"}, an OKX v2 whole tree (hash,height,{balances} lines) or a '
    "BitMEX/River whole-tree CSV (block_height:N, then hash,sats lines)"
)
_EIGHT = Decimal("0.00000001")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
_SATS = re.compile(r"0|[1-9][0-9]{0,19}")


def _grade(
    *, sums_bound: bool, salted: bool, positions: bool, btc: bool, bits: int
) -> LiabilityGrade:
    return LiabilityGrade(
        sums_bound=sums_bound,
        salted=salted,
        positions_checked=positions,
        btc_isolated=btc,
        root_pinned=False,
        hash_bits=bits,
    )


def _hex(value: Any, where: str, pattern: re.Pattern[str] = _HEX64) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        n = {_HEX64.pattern: 64, _HEX32.pattern: 32}.get(pattern.pattern, 16)
        raise _Bad(f"{where}: hash must be {n} lowercase hex characters, as the format builds it")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"{where} must be a whole number")
    return value


def _keys(node: Any, where: str, required: set[str], optional: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    if not isinstance(node, dict):
        raise _Bad(f"{where}: not an object")
    missing, extra = required - set(node), set(node) - required - optional
    if missing or extra:
        raise _Bad(
            f"{where}: fields {sorted(node)}; expected {sorted(required)}"
            + (f" (optional {sorted(optional)})" if optional else "")
        )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _failed(fmt: str, reason: str, leaf: dict[str, str] | None = None) -> LiabilityProof:
    return LiabilityProof(
        verified=False,
        format=fmt,
        leaf_balances=leaf or {},
        root_hash=None,
        root_totals={},
        reason=reason,
    )


# ------------------------------------------------------------------------------------------------
# dispatch


def _detect_json(data: Any) -> str:
    if not isinstance(data, dict):
        raise LiabilityProofError(f"unknown liability proof format: not an object; {_EXPECTED}")
    keys = set(data)
    found = []
    if data.get("format") in (OWN_FORMAT, OLD_OWN_FORMAT):
        found.append("utxo-truth")
    if {"self", "path"} <= keys:
        self_node = data.get("self")
        if isinstance(self_node, dict) and "userHash" in self_node:
            found.append("bybit")
        elif isinstance(self_node, dict) and "merkelLeaf" in self_node:
            found.append("bitget")
        else:
            found.append("okx-v1")
    if {"self", "pathList"} <= keys:
        found.append("mexc")
    if {"hash", "nodes", "nonce", "totalBalances"} <= keys:
        found.append("okx-v2")
    if {"AccountIdHash", "Root", "Proof"} <= keys:
        raise LiabilityProofError(
            "a Binance/Gate zk-era proof (Poseidon over BN254): this library does not check it"
            " (its inclusion hash is not implemented and its sums live in a zk proof)"
        )
    if len(found) != 1:
        what = "mixes " + " and ".join(found) if found else "is in no known format"
        raise LiabilityProofError(f"this liability proof {what}; {_EXPECTED}")
    return found[0]


def _detect_text(text: str) -> str:
    if text.startswith("block_height:"):
        return "bitmex"
    first = text.split("\n", 1)[0]
    if re.fullmatch(r"[0-9a-f]{64},[0-9]+,\{.*\}", first):
        return "okx-v2-tree"
    raise LiabilityProofError(f"this file is in no known liability proof format; {_EXPECTED}")


def _check_format(found: str, wanted: str | None) -> None:
    if wanted is None:
        return
    if wanted not in FORMATS:
        raise LiabilityProofError(f"unknown format {wanted!r}; one of {', '.join(FORMATS)}")
    if wanted != found:
        raise LiabilityProofError(f"format {wanted!r} was asked for, but this file is {found!r}")


def _pin(proof: LiabilityProof, root: str | None) -> LiabilityProof:
    if root is None:
        return proof
    pinned = root.strip().lower()
    if re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{64}", pinned) is None:
        raise LiabilityProofError("the pinned root must be 64 (or, for MEXC, 32) hex characters")
    if not proof.verified:
        return proof
    if proof.root_hash != pinned:
        return proof.model_copy(
            update={
                "verified": False,
                "grade": None,
                "reason": f"root {proof.root_hash} is not the pinned root {pinned}",
            }
        )
    assert proof.grade is not None
    return proof.model_copy(update={"grade": proof.grade.model_copy(update={"root_pinned": True})})


def verify_parsed(
    data: Any, *, format: str | None = None, root: str | None = None
) -> LiabilityProof:
    """Verify parsed JSON in any JSON format (see :func:`verify_raw`)."""
    fmt = _detect_json(data)
    _check_format(fmt, format)
    if fmt == "utxo-truth":
        if data.get("format") == OLD_OWN_FORMAT:
            return _failed(
                OLD_OWN_FORMAT,
                "utxo-truth-liabilities-v1 did not bind audit_id, snapshot_time and"
                " snapshot_height into the root; rebuild the tree (v2)",
            )
        proof = _verify_own(data)
    elif fmt == "okx-v1":
        proof = _verify_okx(data)
    elif fmt == "bybit":
        proof = verify_bybit(data)
    elif fmt == "bitget":
        proof = verify_bitget(data)
    elif fmt == "mexc":
        proof = verify_mexc(data)
    else:
        proof = verify_okx_v2(data, None)
    return _pin(proof, root)


def verify_raw(
    raw: bytes,
    *,
    format: str | None = None,
    root: str | None = None,
    tree: bytes | None = None,
    account: int | None = None,
    account_nonce: str | None = None,
) -> LiabilityProof:
    """Recognise and verify a proof file's bytes (JSON or a whole-tree text file)."""
    head = raw.lstrip()[:1]
    if head in (b"{", b"["):
        data = parse_json_limited(raw)
        fmt = _detect_json(data)
        if fmt == "okx-v2":
            _check_format(fmt, format)
            tree_text = _text(tree, "the OKX v2 tree") if tree is not None else None
            return _pin(verify_okx_v2(data, tree_text), root)
        return verify_parsed(data, format=format, root=root)
    text = _text(raw, "the proof")
    fmt = _detect_text(text)
    _check_format(fmt, format)
    if fmt == "bitmex":
        return _pin(verify_bitmex(text, account=account, account_nonce=account_nonce), root)
    return _pin(verify_okx_v2(None, text), root)


def _text(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LiabilityProofError(f"{where}: not UTF-8 text (byte {exc.start})") from None


# ------------------------------------------------------------------------------------------------
# Bybit: the asset list of Balance40V5 / Asset40V5 (online assets in declaration order)

BYBIT_V5_ASSETS = [
    "AGLA",
    "APT",
    "ATOM",
    "AVAX",
    "MNT",
    "BTC",
    "DOGE",
    "DOT",
    "DYDX",
    "A",
    "ETH",
    "S",
    "LTC",
    "POL",
    "SOL",
    "USDC",
    "USDT",
    "XRP",
    "SHIB",
    "OP",
    "SAND",
    "LDO",
    "LINK",
    "COMP",
    "UNI",
    "MANA",
    "CRV",
    "BLUR",
    "SUSHI",
    "PEPE",
    "WLD",
    "BEAM",
    "AGI",
    "FET",
    "IMX",
    "RENDER",
    "GALA",
    "APEX",
    "SHRAP",
    "USDE",
]


def _names(text: str) -> list[str]:
    return text.split()


_B20 = "BTC BUSD DAI DOGE DOT DYDX EOS ETH FTM LTC MATIC SOL USDC USDT XRP"
_B32 = "SHIB OP SAND LDO LINK COMP UNI MANA CRV BLUR SUSHI PEPE"
_BYBIT_VERSIONS: dict[str, list[str]] = {
    # the online assets of each of Bybit's asset lists (Asset50 ... Asset20), in the order their
    # verifier tries them; each list is distinct, so the file's own asset list names its version
    "50": [*BYBIT_V5_ASSETS, *_names("GRAM XAUT HYPE STABLE ENA ARB ASTER ONDO AAVE USD1")],
    "40V5": list(BYBIT_V5_ASSETS),
    "40V4": [{"A": "EOS"}.get(a, a) for a in BYBIT_V5_ASSETS],
    "40V3": [{"A": "EOS", "S": "FTM"}.get(a, a) for a in BYBIT_V5_ASSETS],
    "40V2": [{"A": "EOS", "S": "FTM", "POL": "MATIC"}.get(a, a) for a in BYBIT_V5_ASSETS],
    "40": _names(
        "AGLA APT ATOM AVAX MNT BTC DAI DOGE DOT DYDX EOS ETH FTM LTC MATIC SOL USDC USDT XRP "
        + _B32
        + " WLD BEAM AGI FET IMX RNDR GALA APEX SHRAP"
    ),
    "32": _names("AGLA APT ATOM AVAX MNT " + _B20 + " " + _B32),
    "Mnt20": _names("AGLA APT ATOM AVAX MNT " + _B20),
    "20": _names("AGLA APT ATOM AVAX BIT " + _B20),
}
_EIGHT_PLACES = re.compile(r"(0|[1-9][0-9]{0,19})\.[0-9]{8}")


def _bybit_balance(node: dict[str, Any], where: str, assets: list[str]) -> dict[str, Decimal]:
    b = node.get("balance")
    if not isinstance(b, dict) or list(b) != assets:
        raise _Bad(f"{where}: balance must list the {len(assets)} assets in the version's order")
    out = {}
    for a in assets:
        v = b[a]
        # Bybit writes every figure with exactly 8 places (setScale(8, DOWN).toPlainString())
        if not isinstance(v, str) or _EIGHT_PLACES.fullmatch(v) is None:
            canonical_decimal(v, f"{where}.{a}")
            raise _Bad(f"{where}.{a}: {v!r} is not written with exactly 8 places as Bybit builds")
        out[a] = Decimal(v)
    return out


def _bybit_str(b: dict[str, Decimal], assets: list[str]) -> str:
    return "".join(f"{b[a]:.8f}" for a in assets)


def verify_bybit(data: dict[str, Any]) -> LiabilityProof:
    """Verify a Bybit ``self`` + ``path`` proof (asset-list version picked by its layout).

    Stricter than Bybit's verifier: heights 1, 1, 2, ... checked, sibling sides opposite, every
    asset exactly 8 places and non-negative, the root's balances and height equal to the sums,
    the leaf's and sibling's auditId the same (reported as unproven: no hash covers it).
    """
    fmt = "bybit"
    leaf: dict[str, str] = {}
    try:
        _keys(data, "proof", {"self", "path"})
        s, path = data["self"], data["path"]
        _keys(s, "self", {"auditId", "type", "hash", "height", "nonce", "userHash", "balance"})
        if not isinstance(path, list) or not 2 <= len(path) <= MAX_DEPTH:
            raise _Bad(f"path must hold 2 to {MAX_DEPTH} nodes")
        bal = s.get("balance")
        names = list(bal) if isinstance(bal, dict) else []
        version = next((v for v, a in _BYBIT_VERSIONS.items() if a == names), None)
        if version is None:
            raise _Bad(
                "self.balance: its asset list is none of Bybit's ("
                + ", ".join(_BYBIT_VERSIONS)
                + ")"
            )
        assets = _BYBIT_VERSIONS[version]
        node_bal = _bybit_balance(s, "self", assets)
        leaf = {a: _okx_str(v) for a, v in node_bal.items()}
        if _int(s["height"], "self.height") != 1:
            raise _Bad("self: a leaf is at height 1")
        side = _int(s["type"], "self.type")
        if side not in (1, 2):
            raise _Bad("self: type must be 1 (left) or 2 (right)")
        user_hash = _hex(s["userHash"], "self.userHash")
        if not isinstance(s["nonce"], str) or not isinstance(s["auditId"], str):
            raise _Bad("self: nonce and auditId are strings")
        node = _hex(s["hash"], "self")
        if _sha(user_hash + "".join(bal[a] for a in assets)) != node:
            raise _Bad("self: the leaf hash is not sha256(userHash + balances)")
        seen = {node}
        for i, p in enumerate(path):
            where = f"path[{i}]"
            last = i == len(path) - 1
            _keys(p, where, {"type", "hash", "height", "balance"}, {"auditId", "nonce"})
            if "auditId" in p and p["auditId"] != s["auditId"]:
                raise _Bad(f"{where}: auditId differs from the leaf's")
            h = _hex(p["hash"], where)
            b = _bybit_balance(p, where, assets)
            t = _int(p["type"], f"{where}.type")
            # Bybit pads an odd level by repeating the node's hash, with zero balances, on the
            # right (type 2): a repeat is exactly that, since its side is in no hash
            padding = h == node and not last
            if padding and (t != 2 or any(b.values())):
                raise _Bad(f"{where}: a padding node repeats the node on the right, balances zero")
            if h in seen and not padding:
                raise _Bad(f"{where}: the same node appears twice in the proof")
            seen.add(h)
            height = _int(p["height"], f"{where}.height")
            if last:
                if t != 3 or height != i + 1:
                    raise _Bad(f"{where}: the last node is the root, type 3 at height {i + 1}")
                break
            if height != i + 1:
                raise _Bad(f"{where}: height {height} where {i + 1} belongs")
            if t not in (1, 2) or (i == 0 and t == side and not padding):
                raise _Bad(f"{where}: type {t}: a sibling is 1 (left) or 2 (right), opposite")
            mine_left = side == 1 if i == 0 else t == 2
            left, right = (node, h) if mine_left else (h, node)
            sums = {a: (node_bal[a] + b[a]).quantize(_EIGHT, rounding=ROUND_DOWN) for a in assets}
            node = _sha(left + right + _bybit_str(sums, assets) + str(i + 2))
            node_bal = sums
        rootn = path[-1]
        root_bal = _bybit_balance(rootn, f"path[{len(path) - 1}]", assets)
        totals = {a: _okx_str(v) for a, v in root_bal.items()}
        reason = None
        if node != rootn["hash"]:
            reason = f"root: the path hashes to {node}, not to the root {rootn['hash']}"
        elif _bybit_str(root_bal, assets) != _bybit_str(node_bal, assets):
            reason = "root: the balances on the path do not add up to the root's"
        ok = reason is None
        return LiabilityProof(
            verified=ok,
            format=fmt,
            audit_id=s["auditId"],
            leaf_balances=leaf,
            root_hash=rootn["hash"],
            root_totals=totals if ok else {},
            reason=reason,
            grade=_grade(sums_bound=False, salted=True, positions=True, btc=True, bits=256)
            if ok
            else None,
            # the leaf commits to userHash, which the file does not derive from the nonce
            unproven=["auditId", "nonce"],
        )
    except (_Bad, LiabilityValueError) as exc:
        return _failed(fmt, str(exc), leaf)


# ------------------------------------------------------------------------------------------------
# Bitget


def _java_hash(text: str) -> int:
    """Java's String.hashCode (over UTF-16 code units), as a 32-bit unsigned value."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    return h


def _hashmap_order(keys: list[str]) -> list[str]:
    """The iteration order of a java.util.HashMap filled with ``keys`` in that order."""
    n = 16
    while len(keys) > n * 3 // 4:  # HashMap doubles its table past a load factor of 0.75
        n *= 2

    def bucket(k: str) -> int:
        h = _java_hash(k)
        return (h ^ (h >> 16)) & (n - 1)

    return sorted(keys, key=bucket)  # stable: one bucket keeps insertion order


def _bitget_json(b: dict[str, Decimal], keys: list[str]) -> str:
    # fastjson with Bitget's BigDecimal writer: stripTrailingZeros().toPlainString(), quoted
    return "{" + ",".join(f'"{k}":"{_okx_str(b[k])}"' for k in _hashmap_order(keys)) + "}"


def _bitget_hash(text: str) -> str:
    return _sha(text)[:16]  # Bitget keeps 64 of SHA-256's 256 bits


def _signed(value: Any, where: str, negatives: list[str]) -> Decimal:
    """A canonical decimal, or minus one: noted in ``negatives``.

    A negative is refused once the hashes are checked, so the reason can say whether the file
    is otherwise consistent.
    """
    if isinstance(value, str) and value.startswith("-"):
        d = canonical_decimal(value[1:], where)
        if d == 0:
            raise LiabilityValueError(f"{where}: -0 is not a canonical decimal")
        negatives.append(f"{where} = {value}")
        return -d
    return canonical_decimal(value, where)


def verify_bitget(data: dict[str, Any]) -> LiabilityProof:
    """Verify a Bitget ``self`` + ``path`` proof.

    Stricter than Bitget's verifier (which checks the leaf, the first sibling's side and the
    root): every level (the leaf at ``len(path)``, down to the root at 1), every role (1 left,
    2 right; 0 only for an empty node, which repeats the node with zero balances on the right),
    the same assets in every node, canonical non-negative decimals, 16-hex hashes, and the
    root's balances and level equal to the sums. ``auditId`` is in no hash: reported unproven.
    """
    fmt = "bitget"
    leaf: dict[str, str] = {}
    try:
        _keys(data, "proof", {"self", "path"})
        s, path = data["self"], data["path"]
        _keys(
            s, "self", {"auditId", "balances", "encryptUid", "level", "merkelLeaf", "nonce", "role"}
        )
        if not isinstance(path, list) or not 2 <= len(path) <= MAX_DEPTH:
            raise _Bad(f"path must hold 2 to {MAX_DEPTH} nodes")
        raw = s["balances"]
        if not isinstance(raw, dict) or not raw:
            raise _Bad("self.balances: a map of assets to decimal strings")
        keys = list(raw)
        negatives: list[str] = []
        bal = {k: _signed(v, f"self.{k}", negatives) for k, v in raw.items()}
        leaf = {k: _okx_str(v) for k, v in bal.items()}
        depth = len(path)
        if _int(s["level"], "self.level") != depth:
            raise _Bad(f"self: the leaf is at level {depth} (one per path node)")
        role = _int(s["role"], "self.role")
        if role not in (1, 2):
            raise _Bad("self: role must be 1 (left) or 2 (right)")
        uid, nonce, audit = s["encryptUid"], s["nonce"], s["auditId"]
        if not all(isinstance(x, str) for x in (uid, nonce, audit)) or not nonce:
            raise _Bad("self: encryptUid, nonce and auditId are strings, the nonce not empty")
        node = _hex(s["merkelLeaf"], "self", _HEX16)
        if _bitget_hash(f"{uid},{nonce},{_bitget_json(bal, keys)}") != node:
            raise _Bad("self: the leaf hash is not sha256(encryptUid,nonce,balances)[:16]")
        seen = {node}
        for i, p in enumerate(path):
            where = f"path[{i}]"
            last = i == len(path) - 1
            _keys(
                p,
                where,
                {"auditId", "balances", "level", "merkelLeaf"} | ({"role"} if not last else set()),
                {"role"},
            )
            if p["auditId"] != audit:
                raise _Bad(f"{where}: auditId differs from the leaf's")
            pb = p["balances"]
            if not isinstance(pb, dict) or sorted(pb) != sorted(keys):
                raise _Bad(f"{where}: balances must list the leaf's assets {sorted(keys)}")
            b = {k: _signed(v, f"{where}.{k}", negatives) for k, v in pb.items()}
            h = _hex(p["merkelLeaf"], where, _HEX16)
            level = _int(p["level"], f"{where}.level")
            if level != depth - i:
                raise _Bad(f"{where}: level {level} where {depth - i} belongs")
            if last:
                if "role" in p and p["role"] != 3:
                    raise _Bad(f"{where}: the last node is the root")
                break
            r = _int(p["role"], f"{where}.role")
            if r == 0:  # an empty node: the node itself, zero balances, on the right
                if h != node or any(b.values()):
                    raise _Bad(f"{where}: an empty node repeats the node with zero balances")
            elif r not in (1, 2) or (i == 0 and r == role):
                raise _Bad(f"{where}: role {r}: a sibling is 1 (left) or 2 (right), opposite")
            elif h in seen:
                raise _Bad(f"{where}: the same node appears twice in the proof")
            seen.add(h)
            left, right = ((h, b), (node, bal)) if r == 1 else ((node, bal), (h, b))
            merged_keys = list(left[1])
            merged_keys += [k for k in right[1] if k not in left[1]]
            sums = {
                k: left[1].get(k, Decimal(0)) + right[1].get(k, Decimal(0)) for k in merged_keys
            }
            node = _bitget_hash(
                left[0] + right[0] + "," + _bitget_json(sums, merged_keys) + "," + str(level - 1)
            )
            bal, keys = sums, merged_keys
        rootn = path[-1]
        root_bal = {k: _signed(v, f"root.{k}", []) for k, v in rootn["balances"].items()}
        reason = None
        if node != rootn["merkelLeaf"]:
            reason = f"root: the path hashes to {node}, not to the root {rootn['merkelLeaf']}"
        elif root_bal != bal:
            reason = "root: the root's balances are not the sums on the path"
        elif negatives:
            # the hashes and sums check out, but a negative balance can hide liabilities
            reason = (
                "negative balance " + "; ".join(negatives) + " (the hashes otherwise check out)"
            )
        ok = reason is None
        return LiabilityProof(
            verified=ok,
            format=fmt,
            audit_id=audit,
            leaf_balances=leaf,
            root_hash=rootn["merkelLeaf"],
            root_totals={k: _okx_str(v) for k, v in root_bal.items()} if ok else {},
            reason=reason,
            grade=_grade(sums_bound=False, salted=True, positions=True, btc=True, bits=64)
            if ok
            else None,
            unproven=["auditId"],
        )
    except (_Bad, LiabilityValueError) as exc:
        return _failed(fmt, str(exc), leaf)


# ------------------------------------------------------------------------------------------------
# MEXC


def _plain(d: Decimal) -> str:
    """Java's BigDecimal.stripTrailingZeros().toPlainString()."""
    return _okx_str(d)


def _mexc_balances(node: dict[str, Any], where: str) -> dict[str, Decimal]:
    b = node.get("balances")
    if not isinstance(b, dict) or not all(isinstance(k, str) and k for k in b):
        raise _Bad(f"{where}: balances must map asset names to decimal strings")
    return {k: canonical_decimal(v, f"{where}.{k}") for k, v in b.items()}


def _mexc_hash(text: str) -> str:
    return _sha(text)[:32]  # MEXC keeps 128 of SHA-256's 256 bits (SignatureUtil.genHashId)


def _mexc_join(b: dict[str, Decimal]) -> str:
    return ",".join(f"{k}:{_plain(b[k])}" for k in sorted(b))


_MEXC_INIT = ("BTC", "USDT", "ETH", "USDC")


def verify_mexc(data: dict[str, Any]) -> LiabilityProof:
    """Verify a MEXC ``self`` + ``pathList`` proof.

    Stricter than MEXC's verifier (which compares the root hash only): levels unique and
    increasing, the root last with type 3, a sibling's side opposite the node's, an empty
    (padding) sibling has zero balances, hashes exactly 32 hex characters, and the root's
    balances equal the sums.
    """
    fmt = "mexc"
    leaf: dict[str, str] = {}
    try:
        _keys(data, "proof", {"self", "pathList"})
        s, path = data["self"], data["pathList"]
        _keys(s, "self", {"level", "type", "hash", "balances", "proofId", "accountId"})
        if not isinstance(path, list) or not 1 <= len(path) <= MAX_DEPTH:
            raise _Bad(f"pathList must hold 1 to {MAX_DEPTH} nodes")
        sb = _mexc_balances(s, "self")
        leaf = {k: _plain(v) for k, v in sb.items()}
        if _int(s["level"], "self.level") != 0:
            raise _Bad("self: a leaf is at level 0")
        side = _int(s["type"], "self.type")
        if side not in (1, 2):
            raise _Bad("self: type must be 1 (left) or 2 (right)")
        if not isinstance(s["proofId"], str) or not isinstance(s["accountId"], str):
            raise _Bad("self: proofId and accountId are strings")
        node = _hex(s["hash"], "self", _HEX32)
        raw = s["balances"]
        content = (
            s["proofId"]
            + ","
            + s["accountId"]
            + ","
            + ",".join(f"{k}:{raw[k]}" for k in sorted(raw))
        )
        if _mexc_hash(content) != node:
            raise _Bad("self: the leaf hash is not sha256(proofId,accountId,balances)[:32]")
        by_level: dict[int, dict[str, Any]] = {}
        prev = 0
        for i, p in enumerate(path):
            where = f"pathList[{i}]"
            _keys(p, where, {"level", "type", "hash", "balances"})
            lv = _int(p["level"], f"{where}.level")
            if lv <= prev and not (i == 0 and lv == 0):
                raise _Bad(f"{where}: level {lv}; levels rise strictly from 0 or 1")
            prev = lv
            by_level[lv] = p
        rootn = path[-1]
        depth = _int(rootn["level"], "root.level")
        if rootn["type"] != 3 or any(p["type"] == 3 for p in path[:-1]):
            raise _Bad("the last node of pathList, and only it, is the root (type 3)")
        root_hash = _hex(rootn["hash"], "root", _HEX32)
        cur_hash, cur_bal, cur_type = node, sb, side
        seen = {node}
        for lv in range(depth):
            where = f"level {lv}"
            sib = by_level.get(lv)
            if sib is None:  # MEXC: a missing level is an empty sibling on the other side
                sib_hash, sib_bal, sib_type = "", {}, 2 if cur_type == 1 else 1
            else:
                sib_type = _int(sib["type"], f"{where}.type")
                if sib_type not in (1, 2) or sib_type == cur_type:
                    raise _Bad(f"{where}: the sibling's type {sib_type} must be the other side")
                sib_bal = _mexc_balances(sib, where)
                if sib["hash"] == "":
                    if any(sib_bal.values()):
                        raise _Bad(f"{where}: an empty (padding) sibling must have zero balances")
                    sib_hash, sib_bal = "", {}
                else:
                    sib_hash = _hex(sib["hash"], where, _HEX32)
                    if sib_hash in seen:
                        raise _Bad(f"{where}: the same node appears twice in the proof")
                    seen.add(sib_hash)
            left, right = (
                ((cur_hash, cur_bal), (sib_hash, sib_bal))
                if cur_type == 1
                else ((sib_hash, sib_bal), (cur_hash, cur_bal))
            )
            merged: dict[str, Decimal] = dict(left[1])
            if right[0] != "":  # MEXC adds the right side (and the four base assets) only then
                for a in _MEXC_INIT:
                    merged.setdefault(a, Decimal(0))
                for k, v in right[1].items():
                    merged[k] = merged.get(k, Decimal(0)) + v
            cur_hash = _mexc_hash(left[0] + "," + right[0] + "," + _mexc_join(merged))
            cur_bal = merged
            parent_sib = by_level.get(lv + 1)
            cur_type = 1 if parent_sib is None or parent_sib["type"] != 1 else 2
        root_bal = _mexc_balances(rootn, "root")
        reason = None
        if cur_hash != root_hash:
            reason = f"root: the path hashes to {cur_hash}, not to the root {root_hash}"
        elif {k: v for k, v in root_bal.items() if v} != {k: v for k, v in cur_bal.items() if v}:
            reason = "root: the root's balances are not the sums on the path"
        ok = reason is None
        return LiabilityProof(
            verified=ok,
            format=fmt,
            audit_id=s["proofId"],
            leaf_balances=leaf,
            root_hash=root_hash,
            root_totals={k: _plain(v) for k, v in sorted(root_bal.items())} if ok else {},
            reason=reason,
            grade=_grade(sums_bound=False, salted=False, positions=True, btc=True, bits=128)
            if ok
            else None,
        )
    except (_Bad, LiabilityValueError) as exc:
        return _failed(fmt, str(exc), leaf)


# ------------------------------------------------------------------------------------------------
# OKX Merkle v2

_OKX3 = ("BTC", "ETH", "USDT")


def _okx3(b: Any, where: str) -> dict[str, Decimal]:
    if not isinstance(b, dict) or list(b) != list(_OKX3):
        raise _Bad(f"{where}: balances are BTC, ETH and USDT, in that order")
    return {a: canonical_decimal(b[a], f"{where}.{a}") for a in _OKX3}


def _okx3_sum(x: dict[str, Decimal], y: dict[str, Decimal]) -> dict[str, Decimal]:
    return {a: (x[a] + y[a]).quantize(_EIGHT, rounding=ROUND_DOWN) for a in _OKX3}


def _okx3_str(b: dict[str, Decimal]) -> str:
    return "".join(_okx_str(b[a]) for a in _OKX3)


_TREE_LINE = re.compile(
    r'([0-9a-f]{64}),([1-9][0-9]?),\{"BTC":"([^"]{1,40})","ETH":"([^"]{1,40})","USDT":"([^"]{1,40})"\}'
)


def _okx_v2_tree(
    text: str,
) -> tuple[list[list[tuple[str, dict[str, Decimal], dict[str, str]]]], str]:
    """Check a whole OKX v2 tree node by node.

    Returns its levels (leaves first, left to right) and the root hash.
    """
    if not text.endswith("\n"):
        text += "\n"
    rows: dict[int, list[tuple[str, dict[str, Decimal], dict[str, str]]]] = {}
    order: list[int] = []
    for n, line in enumerate(text.split("\n")[:-1], 1):
        m = _TREE_LINE.fullmatch(line)
        if m is None:
            raise _Bad(f'tree line {n}: not hash,height,{{"BTC":"..","ETH":"..","USDT":".."}}')
        h, height = m.group(1), int(m.group(2))
        raw = dict(zip(_OKX3, m.group(3, 4, 5), strict=True))
        if not order or order[-1] != height:
            if height in rows or (order and height != order[-1] - 1):
                raise _Bad(f"tree line {n}: height {height} out of order (root first, down to 1)")
            order.append(height)
            rows[height] = []
        rows[height].append((h, _okx3(raw, f"tree line {n}"), raw))
    if not order or order[-1] != 1 or len(rows[order[0]]) != 1:
        raise _Bad("the tree starts with one root and goes down to height 1")
    levels = [list(reversed(rows[h])) for h in sorted(rows)]  # each level is written right to left
    for k in range(len(levels) - 1):
        level, parents = levels[k], levels[k + 1]
        height = k + 2
        real = level
        if len(level) % 2:
            raise _Bad(f"height {k + 1}: {len(level)} nodes; an odd level is padded")
        last, before = level[-1], level[-2]
        if last[0] == before[0]:
            # OKX pads an odd level by repeating its last node's hash with zero balances
            if any(last[1].values()) or last[2] != {"BTC": "0", "ETH": "0", "USDT": "0"}:
                raise _Bad(f"height {k + 1}: the padding node must have zero balances")
            real = level[:-1]
        hashes = [x[0] for x in real]
        if len(set(hashes)) != len(hashes):
            raise _Bad(f"height {k + 1}: the same node appears twice")
        want = (len(level)) // 2
        parents_real = parents
        if k + 1 < len(levels) - 1 and len(parents) >= 2 and parents[-1][0] == parents[-2][0]:
            parents_real = parents[:-1]
        if len(parents_real) != want:
            raise _Bad(f"height {height}: {len(parents_real)} nodes where {want} belong")
        for j, par in enumerate(parents_real):
            left, right = level[2 * j], level[2 * j + 1]
            sums = _okx3_sum(left[1], right[1])
            h = _sha(left[0] + right[0] + _okx3_str(sums) + str(height))
            if h != par[0]:
                raise _Bad(f"height {height}, node {j}: its hash is not its children's")
            if {a: _okx_str(sums[a]) for a in _OKX3} != par[2]:
                raise _Bad(f"height {height}, node {j}: its balances are not its children's sums")
        if len(levels) - 1 > MAX_DEPTH:
            raise _Bad(f"a tree over {MAX_DEPTH} levels")
    return levels, levels[-1][0][0]


def verify_okx_v2(user: dict[str, Any] | None, tree: str | None) -> LiabilityProof:
    """Verify an OKX v2 user info file against the whole published tree.

    Either may be alone: the tree alone is checked node by node; a user info file alone cannot
    prove inclusion.

    Stricter than OKX's verifier (which only looks the leaves up and sums the whole leaf level):
    every parent's hash and balances, padding exactly as built, levels complete, canonical
    decimals, each of the user's leaves found once with the same balances.
    """
    fmt = "okx-v2" if user is not None else "okx-v2-tree"
    leaf: dict[str, str] = {}
    try:
        user_leaves: list[tuple[str, dict[str, str]]] = []
        if user is not None:
            _keys(user, "user info", {"hash", "nodes", "nonce", "totalBalances"})
            total = _okx3(user["totalBalances"], "totalBalances")
            leaf = {a: _okx_str(v) for a, v in total.items()}
            nonce = user["nonce"]
            if not isinstance(nonce, str) or not nonce:
                raise _Bad("nonce is missing")
            uh = _hex(user["hash"], "hash")
            tb = user["totalBalances"]
            if _sha(nonce + json.dumps(tb, separators=(",", ":"))) != uh:
                raise _Bad("hash: not sha256(nonce + totalBalances JSON)")
            nodes = user["nodes"]
            if not isinstance(nodes, list) or not 1 <= len(nodes) <= 1 << 16:
                raise _Bad("nodes: a list of the user's leaves")
            acc = {a: Decimal(0) for a in _OKX3}
            for i, n in enumerate(nodes):
                _keys(n, f"nodes[{i}]", {"balances", "hash"})
                b = _okx3(n["balances"], f"nodes[{i}]")
                h = _hex(n["hash"], f"nodes[{i}]")
                raw = n["balances"]
                if _sha(uh + raw["BTC"] + raw["ETH"] + raw["USDT"]) != h:
                    raise _Bad(f"nodes[{i}]: not sha256(user hash + BTC + ETH + USDT)")
                acc = _okx3_sum(acc, b)
                user_leaves.append((h, raw))
            if len({h for h, _ in user_leaves}) != len(user_leaves):
                raise _Bad("nodes: the same leaf twice")
            if {a: _okx_str(acc[a]) for a in _OKX3} != tb:
                raise _Bad("totalBalances: not the sum of the user's leaves")
        if tree is None:
            return _failed(
                fmt,
                "an OKX v2 user info file proves inclusion only against the whole published"
                " tree: give it (tree= / --tree FILE)",
                leaf,
            )
        levels, root_hash = _okx_v2_tree(tree)
        leaves: dict[str, dict[str, str]] = {}
        for h, _, raw in levels[0]:  # the real leaf comes before its padding copy
            leaves.setdefault(h, raw)
        for h, raw in user_leaves:
            if leaves.get(h) != raw:
                raise _Bad(f"leaf {h} is not in the tree with these balances")
        root_raw = levels[-1][0][2]
        return LiabilityProof(
            verified=True,
            format=fmt,
            leaf_balances=leaf,
            root_hash=root_hash,
            root_totals=dict(root_raw),
            grade=_grade(sums_bound=False, salted=True, positions=True, btc=True, bits=256),
        )
    except (_Bad, LiabilityValueError) as exc:
        return _failed(fmt, str(exc), leaf)


# ------------------------------------------------------------------------------------------------
# BitMEX / River whole-tree CSV


def _le8(v: int) -> bytes:
    return v.to_bytes(8, "little")


def bitmex_sub_nonce(account_nonce: bytes, block_height: int, account: int) -> bytes:
    """The per-snapshot key: sha256(account nonce ‖ height ‖ account id), 8-byte little-endian."""
    return hashlib.sha256(account_nonce + _le8(block_height) + _le8(account)).digest()


def bitmex_leaf(value: int, sub_nonce: bytes, index: int) -> bytes:
    """HMAC-SHA256(sub nonce, value ‖ leaf index), 8-byte little-endian."""
    return hmac.new(sub_nonce, _le8(value) + _le8(index), hashlib.sha256).digest()


def bitmex_parent(lh: bytes, lv: int, rh: bytes, rv: int) -> bytes:
    """sha256(left hash ‖ left sats ‖ right hash ‖ right sats): both children's values bound."""
    return hashlib.sha256(lh + _le8(lv) + rh + _le8(rv)).digest()


def verify_bitmex(
    text: str, *, account: int | None = None, account_nonce: str | None = None
) -> LiabilityProof:
    """Check a BitMEX/River whole tree node by node, and find the user's leaves.

    The leaves are found when the account id and account nonce are given (the nonce is a
    secret: it is never echoed).
    """
    fmt = "bitmex"
    try:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        m = re.fullmatch(r"block_height:(0|[1-9][0-9]{0,9})", lines[0] if lines else "")
        if m is None:
            raise _Bad("line 1 must be block_height:N")
        height = int(m.group(1))
        nodes: list[tuple[bytes, int]] = []
        for n, line in enumerate(lines[1:], 2):
            parts = line.split(",")
            if len(parts) != 2 or _HEX64.fullmatch(parts[0]) is None:
                raise _Bad(f"line {n}: not hash,sats (64 lowercase hex, whole satoshis)")
            if _SATS.fullmatch(parts[1]) is None:
                raise LiabilityValueError(f"line {n}: {parts[1][:30]!r} is not whole satoshis")
            v = int(parts[1])
            if v > MAX_SATS:
                raise LiabilityValueError(f"line {n}: {v} sats is 2**64 or more")
            nodes.append((bytes.fromhex(parts[0]), v))
        count = len(nodes)
        if count == 0 or (count + 1) & count:
            raise _Bad(f"{count} nodes: a full binary tree has 2**k - 1")
        leaves_at = count // 2
        # node i's children are 2i+1 and 2i+2 (root first, breadth first)
        for i in range(leaves_at):
            (lh, lv), (rh, rv) = nodes[2 * i + 1], nodes[2 * i + 2]
            if lv + rv > MAX_SATS:
                raise LiabilityValueError(f"line {i + 2}: the sum is 2**64 or more")
            if nodes[i][1] != lv + rv:
                raise _Bad(f"line {i + 2}: {nodes[i][1]} sats, its children hold {lv + rv}")
            if bitmex_parent(lh, lv, rh, rv) != nodes[i][0]:
                raise _Bad(f"line {i + 2}: its hash is not its children's (hashes and values)")
        leaf_sats = 0
        found = 0
        unproven = ["block_height"]
        if account is not None or account_nonce is not None:
            if account is None or account_nonce is None:
                raise LiabilityProofError("give both the account id and the account nonce")
            if re.fullmatch(r"[0-9a-fA-F]{2,256}", account_nonce) is None or len(account_nonce) % 2:
                raise LiabilityProofError("the account nonce must be hex (it is not shown)")
            if not 0 <= account <= MAX_SATS:
                raise LiabilityProofError("the account id must be a whole number below 2**64")
            key = bitmex_sub_nonce(bytes.fromhex(account_nonce), height, account)
            for j in range(leaves_at, count):
                h, v = nodes[j]
                if bitmex_leaf(v, key, j - leaves_at) == h:
                    leaf_sats += v
                    found += 1
            if not found:
                raise _Bad("no leaf of this account (id and nonce) is in the tree")
            unproven = []  # the height is in every one of the user's leaves
        root_h, root_v = nodes[0]
        return LiabilityProof(
            verified=True,
            format=fmt,
            snapshot_height=height,
            leaf_balances={"BTC": _okx_str(Decimal(leaf_sats) / 100_000_000)} if found else {},
            root_hash=root_h.hex(),
            root_totals={"BTC": _okx_str(Decimal(root_v) / 100_000_000)},
            grade=_grade(sums_bound=True, salted=True, positions=True, btc=True, bits=256),
            unproven=unproven,
        )
    except (_Bad, LiabilityValueError) as exc:
        return _failed(fmt, str(exc))
