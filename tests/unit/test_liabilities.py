"""Liability proofs: OKX's public example, every single-field mutation, trees of 1 to 10,000
leaves in both formats, the refusals of "Broken Proofs of Solvency", reconcile and the CLI."""

from __future__ import annotations

import copy
import hashlib
import json
import random
from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, SNAPSHOT

from utxo_truth import (
    SnapshotSource,
    build_tree,
    load_liability_proof,
    load_portfolio,
    reconcile,
    verify_liability_proof,
)
from utxo_truth.cli import main

OKX = DATA / "liabilities" / "okx_merkle_proof_file.json"


def okx_example() -> dict[str, Any]:
    return json.loads(OKX.read_text())


def test_okx_example_verifies() -> None:
    proof = load_liability_proof(OKX)
    assert proof.verified, proof.reason
    assert proof.format == "okx-v1" and proof.audit_id == "499930592"
    assert proof.root_totals["BTC"] == "95088.55505656"
    assert proof.root_btc_sats == 9_508_855_505_656
    assert proof.leaf_balances == {"BTC": "1.000069", "ETH": "0.99908176", "USDT": "19398.33550812"}
    assert proof.leaf_btc_sats == 100_006_900


# ---- every single-field mutation of the public example ------------------------------------


def _mutations(value: Any, key: str) -> list[Any]:
    if key == "type":
        return [t for t in (1, 2, 3, 4) if t != value]
    if key == "height":
        return [value + 1, value - 1]
    if key in ("hash", "nonce"):
        return [value[:5] + ("0" if value[5] != "0" else "1") + value[6:], value[:-1]]
    if key in ("BTC", "ETH", "USDT"):
        return [str(Decimal(value) + Decimal("0.00000001"))]
    if key == "auditId":
        return [value + "1"]
    raise AssertionError(key)


def _fields(node: Any, trail: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (dict, list)):
                yield from _fields(v, (*trail, k))
            else:
                yield (*trail, k), k, v
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _fields(v, (*trail, i))


def _set(doc: Any, trail: tuple[Any, ...], value: Any) -> None:
    for k in trail[:-1]:
        doc = doc[k]
    doc[trail[-1]] = value


def _all_mutants(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for trail, key, value in _fields(doc):
        for new in _mutations(value, key):
            m = copy.deepcopy(doc)
            _set(m, trail, new)
            out.append((f"{'.'.join(map(str, trail))}={new!r}", m))
    return out


def test_every_single_field_mutation_of_the_okx_example_is_rejected() -> None:
    mutants = _all_mutants(okx_example())
    assert len(mutants) > 250  # 25 nodes x (hash, balances, type, height, audit id) + the nonces
    accepted = [label for label, m in mutants if verify_liability_proof(m).verified]
    assert accepted == []
    # and each rejection names where it failed
    assert all(verify_liability_proof(m).reason for _, m in mutants)


# ---- our own format: trees of 1 to 10,000 leaves ---------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, 1000, 10_000])
def test_generic_trees_verify_for_every_leaf(n: int) -> None:
    rng = random.Random(n)
    balances = [(f"user-{i}", rng.randrange(0, 10**9)) for i in range(n)]
    root, total, proofs = build_tree(balances, audit_id="a1", snapshot_height=290, salt=b"seed")
    assert total == sum(v for _, v in balances)
    for account, sats in balances:
        r = verify_liability_proof(proofs[account])
        assert r.verified, (account, r.reason)
        assert r.root_hash == root and r.root_btc_sats == total and r.leaf_btc_sats == sats


@pytest.mark.parametrize("n", [1, 2, 5, 17, 100])
def test_generic_tree_mutations_are_rejected(n: int) -> None:
    rng = random.Random(n)
    balances = [(f"u{i}", rng.randrange(1, 10**8)) for i in range(n)]
    _, _, proofs = build_tree(balances, salt=b"m")
    proof = proofs[f"u{n // 2}"]
    mutants = []
    for trail, key, value in _fields(proof):
        if (
            key in ("format", "audit_id", "snapshot_time", "snapshot_height", "account")
            or value is None
        ):
            changes = [value + "x"] if key == "account" else []
        elif key == "side":
            changes = ["right" if value == "left" else "left"]
        elif key in ("hash", "salt"):
            changes = [value[:3] + ("0" if value[3] != "0" else "1") + value[4:]]
        else:  # sums and the balance
            changes = [value + 1] + ([value - 1] if value > 0 else [])
        for new in changes:
            m = copy.deepcopy(proof)
            _set(m, trail, new)
            mutants.append((trail, m))
    assert mutants
    assert [t for t, m in mutants if verify_liability_proof(m).verified] == []


def _own_refusal(mutate: Any) -> str:
    _, _, proofs = build_tree([("a", 5), ("b", 7), ("c", 9)], salt=b"r")
    p = copy.deepcopy(proofs["a"])
    mutate(p)
    r = verify_liability_proof(p)
    assert not r.verified
    return r.reason or ""


def test_refusals_of_broken_proofs() -> None:
    assert "negative" in _own_refusal(lambda p: p["leaf"].__setitem__("balance_sats", -5))
    assert "negative" in _own_refusal(lambda p: p["path"][0].__setitem__("sum_sats", -7))
    assert "truncated" in _own_refusal(
        lambda p: p["path"][0].__setitem__("hash", p["path"][0]["hash"][:40])
    )
    assert "longer than" in _own_refusal(lambda p: p.__setitem__("path", p["path"] * 40))
    assert "twice" in _own_refusal(lambda p: p["path"].append(dict(p["path"][0])))
    # the root's sum is not in its hash: a wrong total is caught by adding up the path
    assert "add up" in _own_refusal(
        lambda p: p["root"].__setitem__("sum_sats", p["root"]["sum_sats"] + 1)
    )
    # OKX format: a negative sibling balance, a truncated hash, a duplicated node
    for change, needle in (
        (lambda d: d["path"][3]["balances"].__setitem__("BTC", "-0.5"), "negative"),
        (lambda d: d["path"][5].__setitem__("hash", d["path"][5]["hash"][:32]), "truncated"),
        (lambda d: d["path"].insert(6, dict(d["path"][5], height=7)), "twice"),
        (lambda d: d["path"][21]["balances"].__setitem__("BTC", "0.1"), "padding"),
        (lambda d: d.__setitem__("path", d["path"] * 3), "longer than"),
    ):
        doc = okx_example()
        change(doc)
        r = verify_liability_proof(doc)
        assert not r.verified and needle in (r.reason or ""), r.reason


# ---- OKX-format trees built here, 2 to 10,000 leaves ---------------------------------------------


def _fmt(d: Decimal) -> str:
    return "0" if d == 0 else format(d.normalize(), "f")


def _okx_tree(n: int, seed: int) -> list[dict[str, Any]]:
    """Build an OKX v1 tree (merkle.go's rules) and return every leaf's proof document."""
    rng = random.Random(seed)
    assets = ("BTC", "ETH", "USDT")
    leaves = []
    for i in range(n):
        bal = {a: _fmt(Decimal(rng.randrange(1, 10**9)) / 10**8) for a in assets}
        nonce = hashlib.sha256(b"n%d-%d" % (seed, i)).hexdigest()
        h = hashlib.sha256(
            (
                nonce
                + '{"BTC":"'
                + bal["BTC"]
                + '","ETH":"'
                + bal["ETH"]
                + '","USDT":"'
                + bal["USDT"]
                + '"}'
            ).encode()
        ).hexdigest()
        leaves.append(
            {
                "hash": h,
                "bal": {a: Decimal(bal[a]) for a in assets},
                "raw": bal,
                "nonce": nonce,
                "pad": False,
            }
        )
    levels = [leaves]
    while len(levels[-1]) > 1:
        cur = levels[-1]
        if len(cur) % 2:
            cur.append(
                {"hash": cur[-1]["hash"], "bal": {a: Decimal(0) for a in assets}, "pad": True}
            )  # OKX repeats the node
        height = len(levels) + 1
        nxt = []
        for i in range(0, len(cur), 2):
            left, right = cur[i], cur[i + 1]
            s = {
                a: (left["bal"][a] + right["bal"][a]).quantize(
                    Decimal("0.00000001"), rounding=ROUND_DOWN
                )
                for a in assets
            }
            data = left["hash"] + right["hash"] + "".join(_fmt(s[a]) for a in assets) + str(height)
            nxt.append({"hash": hashlib.sha256(data.encode()).hexdigest(), "bal": s, "pad": False})
        levels.append(nxt)
    root = levels[-1][0]
    docs = []
    for index in range(n):
        pos = index
        leaf = levels[0][pos]
        doc: dict[str, Any] = {
            "self": {
                "auditId": "t",
                "balances": leaf["raw"],
                "type": 1 if pos % 2 == 0 else 2,
                "nonce": leaf["nonce"],
                "hash": leaf["hash"],
                "height": 1,
            },
            "path": [],
        }
        for lvl in range(len(levels) - 1):
            sib = levels[lvl][pos ^ 1]
            node = {
                "auditId": "t",
                "balances": {a: _fmt(sib["bal"][a]) for a in assets},
                "type": 4 if sib["pad"] else (1 if (pos ^ 1) < pos else 2),
                "hash": sib["hash"],
                "height": lvl + 1,
            }
            if lvl == 0 and not sib["pad"]:
                node["nonce"] = sib["nonce"]
            doc["path"].append(node)
            pos //= 2
        doc["path"].append(
            {
                "auditId": "t",
                "balances": {a: _fmt(root["bal"][a]) for a in assets},
                "type": 3,
                "hash": root["hash"],
                "height": len(levels),
            }
        )
        docs.append(doc)
    return docs


@pytest.mark.parametrize("n", [2, 3, 5, 8, 100, 1000, 10_000])
def test_okx_format_trees_built_here_verify(n: int) -> None:
    docs = _okx_tree(n, seed=n)
    sample = docs if n <= 1000 else random.Random(1).sample(docs, 300)
    for d in sample:
        r = verify_liability_proof(d)
        assert r.verified, r.reason
    first = verify_liability_proof(docs[0])
    assert all(verify_liability_proof(d).root_totals == first.root_totals for d in docs[:3])
    # and fail after any mutation
    for _label, m in _all_mutants(docs[n // 2])[:400]:
        assert not verify_liability_proof(m).verified


# ---- in reconcile -----------------------------------------------------------------------------


def _write(tmp: Path, name: str, obj: Any) -> Path:
    p = tmp / name
    p.write_text(json.dumps(obj))
    return p


def test_reconcile_with_liabilities_from_a_generated_proof(
    tmp_path: Path, oracle: dict[str, Any]
) -> None:
    rng = random.Random(7)
    balances = [("me", 50_000_000)] + [(f"c{i}", rng.randrange(10**6, 10**9)) for i in range(499)]
    root, total, proofs = build_tree(balances, audit_id="2026-11", snapshot_height=294, salt=b"r")
    mine = _write(tmp_path, "mine.json", proofs["me"])
    published = _write(tmp_path, "root.json", proofs["c1"])
    w = oracle["wallets"]
    toml = f'''network = "regtest"
[[wallets]]
name = "alice"
targets = {json.dumps(w["alice"]["descriptors"])}
[[custodians]]
name = "X"
liabilities_proof = "{published}"
reserves = {json.dumps(w["custodian"]["descriptors"])}
evidence_height = 295
[[positions]]
name = "spot"
custodian = "X"
kind = "exchange"
amount_sats = 50000000
liability_proof = "{mine}"
'''
    f = tmp_path / "p.toml"
    f.write_text(toml)
    r = reconcile(load_portfolio(f), source=SnapshotSource(SNAPSHOT, "regtest"))
    x = r.custodians[0]
    reserves = w["custodian"]["scantxoutset"]["total_sats"]
    assert x.liabilities_proven and x.liabilities_sats == total and x.liabilities_root == root
    assert x.coverage == pytest.approx(reserves / total)
    assert x.liabilities_snapshot_height == 294
    pos = r.positions[0]
    assert (
        pos.liability_included
        and pos.liability_leaf_sats == 50_000_000
        and pos.liability_root == root
    )
    assert not {"liability-mismatch", "liability-proof-invalid", "liability-root-differs"} & {
        c.id for c in r.checks
    }

    # the same, claiming more than the books hold: a mismatch is a check
    f.write_text(toml.replace("amount_sats = 50000000", "amount_sats = 60000000"))
    r2 = reconcile(load_portfolio(f), source=SnapshotSource(SNAPSHOT, "regtest"))
    assert "liability-mismatch" in {c.id for c in r2.checks}

    # a forged proof: critical, and the custodian's liabilities become unknown
    forged = copy.deepcopy(proofs["c1"])
    forged["root"]["sum_sats"] -= 10**8
    _write(tmp_path, "root.json", forged)
    f.write_text(toml)
    r3 = reconcile(load_portfolio(f), source=SnapshotSource(SNAPSHOT, "regtest"))
    assert r3.custodians[0].liabilities_sats is None and r3.custodians[0].coverage is None
    assert "liability-proof-invalid" in {c.id for c in r3.checks}


def test_snapshot_gap_between_halves_is_a_check(tmp_path: Path, oracle: dict[str, Any]) -> None:
    _, _, proofs = build_tree([("me", 1), ("you", 2)], snapshot_height=10, salt=b"g")
    published = _write(tmp_path, "root.json", proofs["you"])
    f = tmp_path / "p.toml"
    f.write_text(
        f'network = "regtest"\n[[custodians]]\nname = "X"\nliabilities_proof = "{published}"\n'
        f"reserves = {json.dumps(oracle['wallets']['custodian']['descriptors'])}\nevidence_height = 9000\n"
    )
    r = reconcile(load_portfolio(f), source=SnapshotSource(SNAPSHOT, "regtest"))
    assert "snapshot-gap" in {c.id for c in r.checks}


def test_both_liabilities_and_proof_is_an_error(tmp_path: Path) -> None:
    _, _, proofs = build_tree([("a", 1)], salt=b"x")
    p = _write(tmp_path, "p.json", proofs["a"])
    f = tmp_path / "p.toml"
    f.write_text(
        f'network = "regtest"\n[[custodians]]\nname = "X"\nliabilities = "1"\nliabilities_proof = "{p}"\n'
    )
    with pytest.raises(Exception, match="not both"):
        load_portfolio(f)


# ---- the command line ---------------------------------------------------------------------------


def test_cli_verify_liabilities(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify-liabilities", str(OKX), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verified"] is True and data["format"] == "okx-v1"
    assert data["root_hash"] == "ac6b39d2a0aa8112bd1aadff5e7d4b5c2b91cd54d595262ba4367f5d2db4160d"
    assert (
        data["root_totals"]["BTC"] == "95088.55505656"
        and data["leaf_balances"]["BTC"] == "1.000069"
    )

    doc = okx_example()
    doc["path"][4]["balances"]["BTC"] = "0.1"
    bad = _write(tmp_path, "bad.json", doc)
    assert main(["verify-liabilities", str(bad), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["verified"] is False and ("root" in data["reason"] or "path[" in data["reason"])

    junk = tmp_path / "junk.json"
    junk.write_text("not json")
    assert main(["verify-liabilities", str(junk)]) == 2
    assert "LiabilityProofError" in capsys.readouterr().err
