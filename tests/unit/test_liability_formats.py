"""The exchanges' formats (Bybit, MEXC, OKX Merkle v2, BitMEX/River): each public sample verifies
with the figures it implies, every single-field mutation is refused (or, where the format cannot
see it, the result says so), trees built here in each format verify leaf by leaf, the max attack
passes a sum-only format (graded "sums not binding") and fails on BitMEX's layout."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import random
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA

from utxo_truth import LiabilityProofError, load_liability_proof, verify_liability_proof
from utxo_truth._liability_formats import BYBIT_V5_ASSETS, verify_raw
from utxo_truth.cli import main
from utxo_truth.reconcile import liability_grade_checks

L = DATA / "liabilities"
BYBIT = L / "bybit-mock-proof-v5.json"
MEXC = L / "mexc-sample-proof.json"
OKX2_USER = L / "okx-v2-merkle-user-info.json"
OKX2_TREE = L / "okx-v2-merkle-full-tree.txt"
RIVER = L / "river-bitmex-style-tree.csv"
BINANCE = L / "binance-zk-user-proof-sample.json"
EIGHT = Decimal("0.00000001")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def plain(d: Decimal) -> str:
    return "0" if d == 0 else format(d.normalize(), "f")


# ---- every sample verifies with the figures it implies -------------------------------------


def test_bybit_sample() -> None:
    r = load_liability_proof(BYBIT)
    assert r.verified, r.reason
    assert r.format == "bybit" and r.audit_id == "2025061709"
    assert r.leaf_balances["BTC"] == "6.6936526" and r.leaf_btc_sats == 669_365_260
    assert r.root_totals["BTC"] == "23961.87095294"
    assert len(r.leaf_balances) == 40 and r.unproven == ["auditId", "nonce"]
    g = r.grade
    assert g is not None and not g.sums_bound and g.salted and g.hash_bits == 256
    assert g.positions_checked and g.btc_isolated and not g.root_pinned


def test_mexc_sample() -> None:
    r = load_liability_proof(MEXC)
    assert r.verified, r.reason
    assert r.format == "mexc" and r.leaf_balances == {"ETH": "195462.73"}
    # root BTC = the two non-empty siblings' BTC (1523108.27 + 2863723.1)
    assert r.root_totals["BTC"] == "4386831.37" and r.root_totals["ETH"] == "5001729.74"
    g = r.grade
    assert g is not None and (g.sums_bound, g.salted, g.hash_bits) == (False, False, 128)


def test_okx_v2_sample_user_info_with_whole_tree() -> None:
    r = load_liability_proof(OKX2_USER, tree=OKX2_TREE)
    assert r.verified, r.reason
    assert r.format == "okx-v2"
    assert r.leaf_balances == {"BTC": "0.00005", "ETH": "0", "USDT": "0"}
    assert r.root_totals == {"BTC": "0.00005", "ETH": "0.1", "USDT": "1.42045977"}
    assert r.root_hash == "9e98ebde32ef22ded88a5fb2d5e53d76ed57cb9c6b2c966f250721defe6ab041"
    assert r.grade is not None and not r.grade.sums_bound and r.grade.positions_checked


def test_okx_v2_user_info_alone_cannot_prove_inclusion() -> None:
    r = load_liability_proof(OKX2_USER)
    assert not r.verified and "whole published tree" in (r.reason or "")


def test_okx_v2_whole_tree_alone_is_checked_node_by_node() -> None:
    r = load_liability_proof(OKX2_TREE)
    assert r.verified and r.format == "okx-v2-tree" and r.leaf_balances == {}
    assert r.root_totals["USDT"] == "1.42045977"


def test_river_sample_whole_tree() -> None:
    r = load_liability_proof(RIVER)
    assert r.verified and r.format == "bitmex" and r.snapshot_height == 420
    assert r.root_btc_sats == 1_000_643_641_021
    assert r.root_hash == "60f88b597c9fa10bd1d8e2fc6ba59b2f9a47913735d31a07e95c7d465e28d8b2"
    g = r.grade
    assert g is not None and g.sums_bound and g.salted and g.hash_bits == 256
    # without the user's nonce no leaf binds the height
    assert r.unproven == ["block_height"]


def test_binance_zk_sample_is_refused_by_name() -> None:
    with pytest.raises(LiabilityProofError, match="Binance/Gate zk"):
        load_liability_proof(BINANCE)


# ---- every single-field mutation -----------------------------------------------------------


def _flip(h: str) -> str:
    return h[:7] + ("0" if h[7] != "0" else "1") + h[8:]


def _json_mutants(doc: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []

    def walk(node: Any, trail: tuple[Any, ...]) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in list(items):
            if isinstance(v, (dict, list)):
                walk(v, (*trail, k))
                continue
            news: list[Any]
            if isinstance(v, bool) or v is None:
                news = []
            elif isinstance(v, int):
                news = [v + 1, v - 1]
            elif k in ("hash", "userHash") or (isinstance(v, str) and len(v) in (32, 64)):
                news = [_flip(v) if v else "0" * 32]
            elif isinstance(v, str) and v.replace(".", "").isdigit():
                d = Decimal(v)
                step = Decimal(1).scaleb(min(d.as_tuple().exponent, -2))  # type: ignore[arg-type]
                news = [str(d + step)]
            else:
                news = [v + "x"]
            for new in news:
                m = copy.deepcopy(doc)
                target = m
                for t in trail:
                    target = target[t]
                target[k] = new
                out.append((".".join(map(str, (*trail, k))) + f"={new!r}", m))

    walk(doc, ())
    return out


def test_every_single_field_mutation_of_the_bybit_sample() -> None:
    mutants = _json_mutants(json.loads(BYBIT.read_text()))
    assert len(mutants) > 600
    accepted = {}
    for label, m in mutants:
        r = verify_liability_proof(m)
        if r.verified:
            accepted[label.split("=")[0]] = r
    # Bybit hashes neither the audit id nor the nonce (the leaf commits to userHash): those two
    # changes verify, and the result lists them as unproven; every other change is refused
    assert set(accepted) == {"self.auditId", "self.nonce"}
    assert all(r.unproven == ["auditId", "nonce"] for r in accepted.values())


def test_every_single_field_mutation_of_the_mexc_sample() -> None:
    mutants = _json_mutants(json.loads(MEXC.read_text()))
    assert len(mutants) > 30
    accepted = [label for label, m in mutants if verify_liability_proof(m).verified]
    # pathList[0] is an explicit empty sibling at level 1; moving it to level 0 makes level 1
    # the implicit empty sibling: the same tree, the same hashes, spelled otherwise
    assert accepted == ["pathList.0.level=0"]
    same = verify_liability_proof(dict(mutants[[x for x, _ in mutants].index(accepted[0])][1]))
    orig = load_liability_proof(MEXC)
    assert (same.root_totals, same.leaf_balances) == (orig.root_totals, orig.leaf_balances)


def _tree_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_every_single_field_mutation_of_the_okx_v2_sample() -> None:
    user = json.loads(OKX2_USER.read_text())
    tree = OKX2_TREE.read_bytes()
    refused = 0
    for label, m in _json_mutants(user):
        r = verify_raw(json.dumps(m).encode(), tree=tree)
        assert not r.verified, label
        refused += 1
    lines = _tree_lines(OKX2_TREE)
    for i, line in enumerate(lines):
        h, height, bal = line.split(",", 2)
        b = json.loads(bal)
        changes = [f"{_flip(h)},{height},{bal}", f"{h},{int(height) + 1},{bal}"]
        for a in ("BTC", "ETH", "USDT"):
            b2 = dict(b)
            b2[a] = plain(Decimal(b[a]) + EIGHT)
            changes.append(f"{h},{height},{json.dumps(b2, separators=(',', ':'))}")
        for new in changes:
            text = "\n".join([*lines[:i], new, *lines[i + 1 :]]) + "\n"
            r = verify_raw(OKX2_USER.read_bytes(), tree=text.encode())
            assert not r.verified, (i, new)
            refused += 1
    assert refused >= 240  # 47 tree lines x 5 changes + every field of the user info file


def test_every_single_field_mutation_of_the_river_sample() -> None:
    lines = _tree_lines(RIVER)
    for i, line in enumerate(lines[1:], 1):
        h, v = line.split(",")
        for new in (f"{_flip(h)},{v}", f"{h},{int(v) + 1}", f"{h},{int(v) - 1}"):
            text = "\n".join([*lines[:i], new, *lines[i + 1 :]]) + "\n"
            r = verify_raw(text.encode())
            assert not r.verified, (i, new)
    # the height is in no hash of a whole tree read without the user's nonce: it verifies and
    # says so (with the nonce, the user's leaves bind it: see the BitMEX builder test)
    r = verify_raw(("block_height:421\n" + "\n".join(lines[1:]) + "\n").encode())
    assert r.verified and r.snapshot_height == 421 and r.unproven == ["block_height"]


# ---- builders: trees of 1 ... 10,000 leaves in each format ----------------------------------


def build_bitmex(
    values: list[int], height: int, account: int, nonce: bytes, rng: random.Random
) -> str:
    key = hashlib.sha256(
        nonce + height.to_bytes(8, "little") + account.to_bytes(8, "little")
    ).digest()
    size = 1
    while size < len(values):
        size *= 2
    leaves = []
    for i in range(size):
        if i < len(values):
            msg = values[i].to_bytes(8, "little") + i.to_bytes(8, "little")
            leaves.append((hmac.new(key, msg, hashlib.sha256).digest(), values[i]))
        else:  # a dummy leaf: random hash, no value
            leaves.append((rng.randbytes(32), 0))
    levels = [leaves]
    while len(levels[-1]) > 1:
        lv = levels[-1]
        levels.append(
            [
                (
                    hashlib.sha256(
                        a[0] + a[1].to_bytes(8, "little") + b[0] + b[1].to_bytes(8, "little")
                    ).digest(),
                    a[1] + b[1],
                )
                for a, b in zip(lv[::2], lv[1::2], strict=True)
            ]
        )
    rows = [f"{h.hex()},{v}" for lv in reversed(levels) for h, v in lv]
    return f"block_height:{height}\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 100, 10_000])
def test_bitmex_trees_built_here_verify(n: int) -> None:
    rng = random.Random(n)
    nonce = rng.randbytes(32)
    values = [rng.randrange(0, 10**10) for _ in range(n)]
    text = build_bitmex(values, 800_000, 42, nonce, rng)
    r = verify_raw(text.encode(), account=42, account_nonce=nonce.hex())
    assert r.verified, r.reason
    assert r.leaf_btc_sats == sum(values) and r.root_btc_sats == sum(values)
    assert r.unproven == [] and r.snapshot_height == 800_000
    # another height: the user's leaves are not found
    other = text.replace("block_height:800000", "block_height:800001")
    assert not verify_raw(other.encode(), account=42, account_nonce=nonce.hex()).verified
    # one changed value fails
    lines = text.splitlines()
    j = len(lines) - 1 - rng.randrange(min(n, len(lines) - 1))
    h, v = lines[j].split(",")
    lines[j] = f"{h},{int(v) + 1}"
    changed = ("\n".join(lines) + "\n").encode()
    assert not verify_raw(changed, account=42, account_nonce=nonce.hex()).verified


def build_bybit(
    rows: list[dict[str, Decimal]], rng: random.Random, assets: list[str] = BYBIT_V5_ASSETS
) -> list[dict[str, Any]]:
    """A Bybit tree (odd levels padded with a zero-balance dummy leaf) and every user's proof."""

    def bstr(b: dict[str, Decimal]) -> dict[str, str]:
        return {a: f"{b[a]:.8f}" for a in assets}

    leaves = []
    for b in rows:
        uh = rng.randbytes(32).hex()
        leaves.append((sha(uh + "".join(bstr(b).values())), b, uh))
    size = 1
    while size < len(leaves):
        size *= 2
    zero = {a: Decimal(0) for a in assets}
    while len(leaves) < max(size, 2):
        uh = rng.randbytes(32).hex()
        leaves.append((sha(uh + "".join(bstr(zero).values())), zero, uh))
    levels = [[(h, b) for h, b, _ in leaves]]
    while len(levels[-1]) > 1:
        lv = levels[-1]
        height = len(levels) + 1
        nxt = []
        for (lh, lb), (rh, rb) in zip(lv[::2], lv[1::2], strict=True):
            s = {a: (lb[a] + rb[a]).quantize(EIGHT, rounding=ROUND_DOWN) for a in assets}
            nxt.append((sha(lh + rh + "".join(bstr(s).values()) + str(height)), s))
        levels.append(nxt)
    proofs = []
    for i in range(len(rows)):
        h, b, uh = leaves[i]
        self_node = {
            "auditId": "t",
            "type": 1 if i % 2 == 0 else 2,
            "hash": h,
            "height": 1,
            "nonce": "n",
            "userHash": uh,
            "balance": bstr(b),
        }
        path = []
        pos = i
        for k, lv in enumerate(levels[:-1]):
            sib = pos ^ 1
            path.append(
                {
                    "type": 1 if sib % 2 == 0 else 2,
                    "hash": lv[sib][0],
                    "height": k + 1,
                    "balance": bstr(lv[sib][1]),
                }
            )
            pos //= 2
        top = levels[-1][0]
        path.append({"type": 3, "hash": top[0], "height": len(levels), "balance": bstr(top[1])})
        proofs.append({"self": self_node, "path": path})
    return proofs


def _rows(n: int, rng: random.Random) -> list[dict[str, Decimal]]:
    return [
        {
            a: Decimal(rng.randrange(0, 10**9)) * EIGHT if rng.random() < 0.3 else Decimal(0)
            for a in BYBIT_V5_ASSETS
        }
        for _ in range(n)
    ]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 33, 2_000])
def test_bybit_trees_built_here_verify(n: int) -> None:
    rng = random.Random(n)
    rows = _rows(n, rng)
    proofs = build_bybit(rows, rng)
    check = range(n) if n <= 64 else rng.sample(range(n), 40)
    for i in check:
        r = verify_liability_proof(proofs[i])
        assert r.verified, (i, r.reason)
        assert r.leaf_balances["BTC"] == plain(rows[i]["BTC"])
    m = copy.deepcopy(proofs[0])
    m["path"][0]["balance"]["BTC"] = f"{Decimal(m['path'][0]['balance']['BTC']) + EIGHT:.8f}"
    assert not verify_liability_proof(m).verified


def build_mexc(rows: list[dict[str, Decimal]]) -> list[dict[str, Any]]:
    """A MEXC tree: an odd node out has the empty sibling (hash ""), left out of pathList."""

    def join(b: dict[str, Decimal]) -> str:
        return ",".join(f"{k}:{plain(b[k])}" for k in sorted(b))

    def h32(t: str) -> str:
        return sha(t)[:32]

    level: list[tuple[str, dict[str, Decimal]]] = []
    for i, b in enumerate(rows):
        raw = {k: plain(v) for k, v in b.items()}
        level.append((h32(f"P1,{i}," + ",".join(f"{k}:{raw[k]}" for k in sorted(raw))), b))
    levels = [level]
    while len(levels[-1]) > 1:
        lv = levels[-1]
        nxt = []
        for j in range(0, len(lv), 2):
            (lh, lb) = lv[j]
            merged = dict(lb)
            if j + 1 < len(lv):
                rh, rb = lv[j + 1]
                for a in ("BTC", "USDT", "ETH", "USDC"):
                    merged.setdefault(a, Decimal(0))
                for k, v in rb.items():
                    merged[k] = merged.get(k, Decimal(0)) + v
            else:
                rh = ""
            nxt.append((h32(lh + "," + rh + "," + join(merged)), merged))
        levels.append(nxt)
    if len(levels) == 1:  # one leaf: its root is the leaf with the empty sibling
        lh, lb = levels[0][0]
        levels.append([(h32(lh + ",," + join(lb)), dict(lb))])
    proofs = []
    for i, b in enumerate(rows):
        path = []
        pos = i
        for k, lv in enumerate(levels[:-1]):
            sib = pos ^ 1
            if sib < len(lv):
                sh, sb = lv[sib]
                path.append(
                    {
                        "level": k,
                        "type": 1 if sib % 2 == 0 else 2,
                        "hash": sh,
                        "balances": {a: plain(v) for a, v in sb.items()},
                    }
                )
            pos //= 2
        top_h, top_b = levels[-1][0]
        path.append(
            {
                "level": len(levels) - 1,
                "type": 3,
                "hash": top_h,
                "balances": {a: plain(v) for a, v in top_b.items()},
            }
        )
        proofs.append(
            {
                "self": {
                    "level": 0,
                    "type": 1 if i % 2 == 0 else 2,
                    "hash": levels[0][i][0],
                    "balances": {k: plain(v) for k, v in b.items()},
                    "proofId": "P1",
                    "accountId": str(i),
                },
                "pathList": path,
            }
        )
    return proofs


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 17, 1_000, 10_000])
def test_mexc_trees_built_here_verify(n: int) -> None:
    rng = random.Random(n)
    rows = [
        {a: Decimal(rng.randrange(1, 10**6)) / 100 for a in rng.sample(["BTC", "ETH", "USDT"], 2)}
        for _ in range(n)
    ]
    proofs = build_mexc(rows)
    check = range(n) if n <= 100 else rng.sample(range(n), 50)
    total = sum((r.get("BTC", Decimal(0)) for r in rows), Decimal(0))
    for i in check:
        r = verify_liability_proof(proofs[i])
        assert r.verified, (i, r.reason)
        assert Decimal(r.root_totals.get("BTC", "0")) == total
    m = copy.deepcopy(proofs[-1])
    m["self"]["accountId"] = "someone else"
    assert not verify_liability_proof(m).verified


def build_okx_v2(users: list[list[dict[str, str]]], rng: random.Random) -> tuple[list[Any], str]:
    """User info files (each user's balance split over several leaves) and the whole tree."""
    infos, leaves = [], []
    for parts in users:
        total = {a: Decimal(0) for a in ("BTC", "ETH", "USDT")}
        for p in parts:
            total = {a: (total[a] + Decimal(p[a])).quantize(EIGHT, ROUND_DOWN) for a in total}
        tb = {a: plain(v) for a, v in total.items()}
        nonce = rng.randbytes(32).hex()
        uh = sha(nonce + json.dumps(tb, separators=(",", ":")))
        nodes = [{"balances": p, "hash": sha(uh + p["BTC"] + p["ETH"] + p["USDT"])} for p in parts]
        infos.append({"hash": uh, "nodes": nodes, "nonce": nonce, "totalBalances": tb})
        leaves += [(n["hash"], {a: Decimal(v) for a, v in n["balances"].items()}) for n in nodes]
    zero = {a: Decimal(0) for a in ("BTC", "ETH", "USDT")}
    levels = [leaves]
    while True:
        lv = levels[-1]
        if len(lv) > 1 and len(lv) % 2:
            lv.append((lv[-1][0], zero))  # OKX pads by repeating the last hash, zero balances
        if len(lv) == 1:
            break
        height = len(levels) + 1
        nxt = []
        for (lh, lb), (rh, rb) in zip(lv[::2], lv[1::2], strict=True):
            s = {a: (lb[a] + rb[a]).quantize(EIGHT, ROUND_DOWN) for a in lb}
            nxt.append((sha(lh + rh + "".join(plain(s[a]) for a in s) + str(height)), s))
        levels.append(nxt)
    out = []
    for height in range(len(levels), 0, -1):
        for h, b in reversed(levels[height - 1]):  # each level written right to left
            bal = json.dumps({a: plain(v) for a, v in b.items()}, separators=(",", ":"))
            out.append(f"{h},{height},{bal}")
    return infos, "\n".join(out) + "\n"


@pytest.mark.parametrize("n", [1, 2, 3, 5, 9, 100, 3_000])
def test_okx_v2_trees_built_here_verify(n: int) -> None:
    rng = random.Random(n)
    users = [
        [
            {a: plain(Decimal(rng.randrange(0, 10**7)) * EIGHT) for a in ("BTC", "ETH", "USDT")}
            for _ in range(rng.randint(1, 3))
        ]
        for _ in range(n)
    ]
    infos, tree = build_okx_v2(users, rng)
    check = range(n) if n <= 10 else rng.sample(range(n), 5)
    for i in check:
        r = verify_raw(json.dumps(infos[i]).encode(), tree=tree.encode())
        assert r.verified, (i, r.reason)
        assert r.leaf_balances == infos[i]["totalBalances"]
    m = copy.deepcopy(infos[0])
    m["nodes"][0]["balances"]["BTC"] = plain(Decimal(m["nodes"][0]["balances"]["BTC"]) + EIGHT)
    assert not verify_raw(json.dumps(m).encode(), tree=tree.encode()).verified


# ---- the max attack ------------------------------------------------------------------------


def test_max_attack_passes_a_sum_only_format_and_the_grade_says_so() -> None:
    """Broken Proofs of Solvency's attack on a sum-only tree: the exchange publishes, for the
    victim, a sibling whose balance is lowered (to zero) while its hash stays whatever it likes;
    the victim's path still verifies and the root total is lowered by the sibling's whole sum."""
    rng = random.Random(7)
    rows = _rows(4, rng)
    for i, row in enumerate(rows):
        row["BTC"] = Decimal(i + 1)
    honest = build_bybit(rows, rng)[0]
    assets = BYBIT_V5_ASSETS
    forged = copy.deepcopy(honest)
    zero = {a: "0.00000000" for a in assets}
    forged["path"][1]["balance"] = dict(zero)  # the whole right half "owes nothing"
    # recompute the parents from the victim's side only: nothing else is checked
    node_h, node_b = forged["self"]["hash"], {a: Decimal(v) for a, v in rows[0].items()}
    for k, p in enumerate(forged["path"][:-1]):
        s = {a: (node_b[a] + Decimal(p["balance"][a])).quantize(EIGHT, ROUND_DOWN) for a in assets}
        left, right = (node_h, p["hash"]) if p["type"] == 2 else (p["hash"], node_h)
        node_h = sha(left + right + "".join(f"{s[a]:.8f}" for a in assets) + str(k + 2))
        node_b = s
    forged["path"][-1]["hash"] = node_h
    forged["path"][-1]["balance"] = {a: f"{node_b[a]:.8f}" for a in assets}
    r = verify_liability_proof(forged)
    honest_r = verify_liability_proof(honest)
    assert r.verified and honest_r.verified
    assert Decimal(r.root_totals["BTC"]) < Decimal(honest_r.root_totals["BTC"])
    assert r.grade is not None and not r.grade.sums_bound
    ids = [c.id for c in liability_grade_checks("X", r)]
    assert "liability-sum-not-binding" in ids


def test_max_attack_fails_on_bitmex_layout() -> None:
    rng = random.Random(8)
    nonce = rng.randbytes(32)
    text = build_bitmex([5, 7, 9, 11], 100, 1, nonce, rng)
    lines = text.splitlines()
    # lower the right half's value (line 3 = node 2): its parent commits to it
    h, v = lines[3].split(",")
    lines[3] = f"{h},0"
    root_h, root_v = lines[1].split(",")
    lines[1] = f"{root_h},{int(root_v) - int(v)}"
    r = verify_raw(("\n".join(lines) + "\n").encode(), account=1, account_nonce=nonce.hex())
    assert not r.verified and "children" in (r.reason or "")


# ---- recognition, pinning, errors, CLI -----------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    [
        {"self": {}, "path": [], "pathList": []},
        {"hash": "x", "nodes": [], "nonce": "n", "totalBalances": {}, "pathList": [], "self": {}},
        {"something": 1},
        [1, 2],
    ],
)
def test_unknown_or_mixed_json_is_one_clear_error(doc: Any) -> None:
    with pytest.raises(LiabilityProofError, match="expected one of"):
        verify_liability_proof(doc)


def test_unknown_text_is_one_clear_error() -> None:
    with pytest.raises(LiabilityProofError, match="expected one of"):
        verify_raw(b"hello,world\n")


def test_format_named_must_match() -> None:
    assert load_liability_proof(MEXC, format="mexc").verified
    with pytest.raises(LiabilityProofError, match="'bybit' was asked for"):
        load_liability_proof(MEXC, format="bybit")
    with pytest.raises(LiabilityProofError, match="unknown format"):
        load_liability_proof(MEXC, format="nope")


def test_root_pinning() -> None:
    root = load_liability_proof(RIVER).root_hash
    assert root is not None
    r = load_liability_proof(RIVER, root=root.upper())
    assert r.verified and r.grade is not None and r.grade.root_pinned
    assert "liability-root-unpinned" not in [c.id for c in liability_grade_checks("X", r)]
    bad = load_liability_proof(RIVER, root="00" * 32)
    assert not bad.verified and "pinned" in (bad.reason or "")
    with pytest.raises(LiabilityProofError, match="hex"):
        load_liability_proof(RIVER, root="xyz")


def test_mexc_grade_becomes_checks() -> None:
    ids = [c.id for c in liability_grade_checks("MEXC", load_liability_proof(MEXC))]
    assert ids == [
        "liability-sum-not-binding",
        "liability-hash-truncated",
        "liability-unsalted",
        "liability-root-unpinned",
    ]


def test_cli_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify-liabilities", str(BYBIT), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verified"] and out["format"] == "bybit"
    assert out["root_totals"]["BTC"] == "23961.87095294"
    assert set(out["grade"]) == {
        "sums_bound",
        "salted",
        "positions_checked",
        "btc_isolated",
        "root_pinned",
        "hash_bits",
    }
    assert out["grade"]["hash_bits"] == 256 and out["grade"]["sums_bound"] is False
    assert main(["verify-liabilities", str(MEXC)]) == 0
    text = capsys.readouterr().out
    assert "format mexc" in text and "NOT salted" in text and "128-bit hashes (truncated)" in text
    assert main(["verify-liabilities", str(OKX2_USER), "--tree", str(OKX2_TREE)]) == 0
    capsys.readouterr()
    assert main(["verify-liabilities", str(OKX2_USER)]) == 1
    capsys.readouterr()
    root = "60f88b597c9fa10bd1d8e2fc6ba59b2f9a47913735d31a07e95c7d465e28d8b2"
    assert main(["verify-liabilities", str(RIVER), "--root", root, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["grade"]["root_pinned"] is True
    assert main(["verify-liabilities", str(RIVER), "--root", "11" * 32]) == 1
    capsys.readouterr()
    assert main(["verify-liabilities", str(BINANCE)]) == 2
    assert "Binance" in capsys.readouterr().err


def test_cli_never_shows_the_account_nonce(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(3)
    nonce = rng.randbytes(32)
    f = tmp_path / "tree.csv"
    f.write_text(build_bitmex([1000, 2000], 5, 9, nonce, rng))
    assert (
        main(["verify-liabilities", str(f), "--account", "9", "--account-nonce", nonce.hex()]) == 0
    )
    out = capsys.readouterr()
    assert "0.00003" in out.out and nonce.hex()[:8] not in out.out + out.err
    wrong = rng.randbytes(32).hex()
    assert main(["verify-liabilities", str(f), "--account", "9", "--account-nonce", wrong]) == 1
    out = capsys.readouterr()
    assert wrong[:8] not in out.out + out.err


def test_reconcile_turns_the_grade_into_checks(tmp_path: Path, oracle: dict[str, Any]) -> None:
    from conftest import SNAPSHOT

    from utxo_truth import SnapshotSource, build_tree, load_portfolio, reconcile

    reserves = json.dumps(oracle["wallets"]["custodian"]["descriptors"])

    def run(proof: Path, extra: str = "") -> set[str]:
        f = tmp_path / "p.toml"
        f.write_text(
            f'network = "regtest"\n[[custodians]]\nname = "X"\nliabilities_proof = "{proof}"\n'
            f"{extra}reserves = {reserves}\n"
        )
        r = reconcile(load_portfolio(f), source=SnapshotSource(SNAPSHOT, "regtest"))
        assert r.custodians[0].liabilities_proven
        return {c.id for c in r.checks if c.id.startswith("liability-")}

    out = run(MEXC)
    f = tmp_path / "p.toml"
    x = reconcile(load_portfolio(f), source=SnapshotSource(SNAPSHOT, "regtest")).custodians[0]
    assert x.liabilities_format == "mexc" and x.liabilities_grade is not None
    assert x.liabilities_grade.hash_bits == 128
    assert out == {
        "liability-sum-not-binding",
        "liability-hash-truncated",
        "liability-unsalted",
        "liability-root-unpinned",
    }
    root, _, proofs = build_tree([("a", 10**8), ("b", 2 * 10**8)], salt=b"q")
    own = tmp_path / "own.json"
    own.write_text(json.dumps(proofs["a"]))
    assert run(own) == {"liability-root-unpinned"}
    assert run(own, f'liabilities_root = "{root}"\n') == set()


@pytest.mark.parametrize("version", ["50", "40", "32", "Mnt20", "20"])
def test_bybit_older_asset_lists_are_picked_from_the_file(version: str) -> None:
    from utxo_truth._liability_formats import _BYBIT_VERSIONS

    assets = _BYBIT_VERSIONS[version]
    rng = random.Random(version)
    rows = [{a: Decimal(rng.randrange(0, 10**8)) * EIGHT for a in assets} for _ in range(5)]
    proofs = build_bybit(rows, rng, assets)
    for i, p in enumerate(proofs):
        r = verify_liability_proof(p)
        assert r.verified, (version, i, r.reason)
    m = copy.deepcopy(proofs[0])
    m["self"]["balance"] = dict(reversed(list(m["self"]["balance"].items())))
    r = verify_liability_proof(m)
    assert not r.verified and "none of Bybit's" in (r.reason or "")


# ---- Bitget (their verifier's own sample: BitgetLimited/proof-of-reserves merkel_tree_bg.json)

BITGET = L / "bitget-merkel-tree-bg.json"
CONSISTENT = "the hashes otherwise check out"


def test_bitget_sample_hashes_exactly_but_holds_negative_sums() -> None:
    r = load_liability_proof(BITGET)
    # every 64-bit hash and every sum of the 27 levels checks out, but two interior nodes hold
    # negative USDC: a negative node hides liabilities, so the proof is refused, saying where
    assert not r.verified
    assert r.reason == (
        "negative balance path[10].USDC = -1536.70659782; path[13].USDC = -20885.31318921 "
        f"({CONSISTENT})"
    )
    assert r.leaf_balances == {"BTC": "0", "ETH": "0", "USDT": "0.00012635", "USDC": "0"}


def test_every_single_field_mutation_of_the_bitget_sample_breaks_its_hashes() -> None:
    mutants = _json_mutants(json.loads(BITGET.read_text()))
    assert len(mutants) > 200
    for label, m in mutants:
        r = verify_liability_proof(m)
        assert not r.verified and CONSISTENT not in (r.reason or ""), label


def build_bitget(rows: list[dict[str, Decimal]], rng: random.Random) -> list[dict[str, Any]]:
    """A Bitget tree: an odd node out is paired with its empty copy (role 0, zero balances)."""
    from utxo_truth._liability_formats import _bitget_json

    def h16(t: str) -> str:
        return sha(t)[:16]

    depth = 1
    while (1 << (depth - 1)) < len(rows):
        depth += 1
    depth = max(depth, 2)
    keys = list(rows[0])
    level = []
    for b in rows:
        uid, nonce = rng.randbytes(32).hex(), rng.randbytes(32).hex()
        level.append((h16(f"{uid},{nonce},{_bitget_json(b, keys)}"), b, uid, nonce))
    levels: list[list[tuple[str, dict[str, Decimal], int]]] = [[(h, b, 0) for h, b, _, _ in level]]
    lv_no = depth
    while lv_no > 1:
        cur = levels[-1]
        nxt = []
        for j in range(0, len(cur), 2):
            left = cur[j]
            right = (
                cur[j + 1] if j + 1 < len(cur) else (left[0], dict.fromkeys(keys, Decimal(0)), 0)
            )
            s = {k: left[1][k] + right[1][k] for k in keys}
            nxt.append(
                (h16(left[0] + right[0] + "," + _bitget_json(s, keys) + f",{lv_no - 1}"), s, 0)
            )
        levels.append(nxt)
        lv_no -= 1
    proofs = []
    for i, (h, b, uid, nonce) in enumerate(level):
        path = []
        pos = i
        for k, cur in enumerate(levels[:-1]):
            sib = pos ^ 1
            empty = sib >= len(cur)
            sh, sb = (cur[pos][0], dict.fromkeys(keys, Decimal(0))) if empty else cur[sib][:2]
            path.append(
                {
                    "auditId": "A1",
                    "balances": {x: plain(v) for x, v in sb.items()},
                    "level": depth - k,
                    "merkelLeaf": sh,
                    "role": 0 if empty else (1 if sib % 2 == 0 else 2),
                }
            )
            pos //= 2
        top = levels[-1][0]
        path.append(
            {
                "auditId": "A1",
                "balances": {x: plain(v) for x, v in top[1].items()},
                "level": 1,
                "merkelLeaf": top[0],
            }
        )
        self_node = {
            "auditId": "A1",
            "balances": {x: plain(v) for x, v in b.items()},
            "encryptUid": uid,
            "level": depth,
            "merkelLeaf": h,
            "nonce": nonce,
            "role": 1 if i % 2 == 0 else 2,
        }
        proofs.append({"path": path, "self": self_node})
    return proofs


@pytest.mark.parametrize("n", [2, 3, 5, 17, 1_000, 10_000])
def test_bitget_trees_built_here_verify(n: int) -> None:
    rng = random.Random(n)
    rows = [
        {a: Decimal(rng.randrange(0, 10**9)) * EIGHT for a in ("BTC", "ETH", "USDT", "USDC")}
        for _ in range(n)
    ]
    proofs = build_bitget(rows, rng)
    check = range(n) if n <= 20 else rng.sample(range(n), 30)
    total = sum((r["BTC"] for r in rows), Decimal(0))
    for i in check:
        r = verify_liability_proof(proofs[i])
        assert r.verified, (i, r.reason)
        assert Decimal(r.root_totals["BTC"]) == total
        assert r.grade is not None and r.grade.hash_bits == 64 and not r.grade.sums_bound
    m = copy.deepcopy(proofs[0])
    m["self"]["nonce"] = "x" + m["self"]["nonce"][1:]
    assert not verify_liability_proof(m).verified
