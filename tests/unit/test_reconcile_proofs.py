"""Reconcile with reserve proofs: proven vs listed-only reserves on the shared regtest chain.

The chain is the shared one (Bitcoin Core's UTXO snapshot at the tip, 295). We hold no key of
its custodian wallet, so the snapshot is extended with a few coins at the tip's block paying keys
made here (appended groups, header count patched): the custodian lists Core's reserve addresses
unsigned and signs for ours. Proven = our signed coins exactly; listed = Core's total + ours.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT
from embit import script
from embit.networks import NETWORKS
from harness.snapshot_writer import coin_bytes, compact
from test_messages import legacy_sign, sign_p2tr, sign_p2wpkh
from test_reconcile import to_toml
from test_reserves_proofs import _custodian_addresses, _key

from utxo_truth import SnapshotSource, load_portfolio, reconcile
from utxo_truth.claims import Portfolio

REG = NETWORKS["regtest"]
TIP = 295
TIP_HASH = "174dcc4130f8d2aa85a4e0acdf74cacf1682f21df6756b379075576f29f63da6"
FRESH = f"X reserves {TIP} {TIP_HASH}"


def _regtest(address: str) -> str:
    return script.Script.from_address(address).address(REG)


def _extended_snapshot(tmp_path: Path, coins: list[tuple[bytes, int]]) -> Path:
    raw = bytearray(SNAPSHOT.read_bytes())
    count = struct.unpack_from("<Q", raw, 43)[0]
    struct.pack_into("<Q", raw, 43, count + len(coins))
    for i, (spk, value) in enumerate(coins):
        txid = b"\xff" * 31 + bytes([i])  # after every real txid: the file stays sorted
        raw += txid + compact(1) + coin_bytes(0, TIP - 1, False, value, spk)
    path = tmp_path / "extended.dat"
    path.write_bytes(bytes(raw))
    return path


@pytest.fixture()
def setup(tmp_path: Path, oracle: dict[str, Any]) -> dict[str, Any]:
    own = []  # (address, message, signature, sats, proven?)
    specs = [
        (sign_p2wpkh, FRESH, 1_000_000, True),
        (sign_p2tr, FRESH, 2_500_000, True),
        (sign_p2wpkh, "I am an X address", 400_000, False),  # replayable
        (sign_p2wpkh, f"X reserves 10 {'ab' * 32}", 77_000, False),  # stale (policy: 100)
        (sign_p2tr, f"X reserves 400 {'cd' * 32}", 55_000, False),  # after the scan's block
    ]
    for i, (signer, msg, sats, proven) in enumerate(specs):
        a, s = signer(_key(100 + i), msg)
        own.append((_regtest(a), msg, s, sats, proven))
    # a row whose signature is over another message: invalid
    a_bad, s_bad = sign_p2wpkh(_key(120), FRESH)
    own.append((_regtest(a_bad), FRESH + " (edited)", s_bad, 3_000, False))
    coins = [(script.Script.from_address(a).data, sats) for a, _, _, sats, _ in own]
    snap = _extended_snapshot(tmp_path, coins)
    lines = ["address,message,signature"]
    lines += [f"{a},,," for a in _custodian_addresses(oracle)]
    lines += [f"{a},{m},{s}" for a, m, s, _, _ in own]
    (tmp_path / "x-proofs.csv").write_text("\n".join(lines) + "\n")
    return {"snap": snap, "own": own}


def _portfolio(tmp_path: Path, custodians: list[dict[str, Any]]) -> Portfolio:
    data = {
        "network": "regtest",
        "custodians": custodians,
        "positions": [],
        "checks": {"evidence_max_blocks": 100},
    }
    p = tmp_path / "p.toml"
    p.write_text(to_toml(data))
    return load_portfolio(p)


def test_proven_and_listed_exact_against_core(
    tmp_path: Path, oracle: dict[str, Any], setup: dict[str, Any]
) -> None:
    liabilities = 50 * 10**8
    pf = _portfolio(
        tmp_path,
        [
            {
                "name": "X",
                "liabilities": "50",
                "reserve_proofs": "x-proofs.csv",
                "evidence_height": TIP,
            }
        ],
    )
    r = reconcile(pf, source=SnapshotSource(setup["snap"], "regtest"))
    assert r.block.height == TIP and r.block.hash == TIP_HASH
    core = oracle["wallets"]["custodian"]["scantxoutset"]["total_sats"]
    own = setup["own"]
    proven = sum(sats for *_, sats, ok in own if ok)
    x = r.custodians[0]
    assert proven == 3_500_000
    assert x.proven_reserves_sats == proven
    assert x.verified_reserves_sats == core + sum(o[3] for o in own)
    assert x.listed_only_reserves_sats == x.verified_reserves_sats - proven
    assert x.proven_coverage == pytest.approx(proven / liabilities)
    assert x.coverage == pytest.approx(x.verified_reserves_sats / liabilities)
    assert x.proof_counts == {
        "valid": 4,
        "replayable": 1,
        "invalid": 1,
        "inconclusive": 0,
        "unsigned": len(_custodian_addresses(oracle)),
    }
    fired = {c.id for c in r.checks}
    assert {
        "unsigned-reserves",
        "invalid-reserve-signature",
        "replayable-reserve-message",
        "reserve-proof-stale",
        "reserve-proof-after-scan",
    } <= fired
    assert "shared-reserve-key" not in fired
    assert any("does not prove the key is not shared" in c for c in r.caveats)
    assert not any("no signed message is checked" in c for c in r.caveats)


def test_same_key_for_two_custodians(tmp_path: Path, setup: dict[str, Any]) -> None:
    a, m, s, _, _ = setup["own"][0]
    # Y lists the very address X signed for, with X's own signature (a replay)
    (tmp_path / "y-proofs.csv").write_text(f"address,message,signature\n{a},{m},{s}\n")
    # Z signs another address with the same key, legacy style
    k = _key(100)
    z_addr = script.p2pkh(k.get_public_key()).address(REG)
    (tmp_path / "z-proofs.csv").write_text(
        f"address,message,signature\n{z_addr},{FRESH},{legacy_sign(k, FRESH, 31)}\n"
    )
    pf = _portfolio(
        tmp_path,
        [
            {"name": "X", "liabilities": "1", "reserve_proofs": "x-proofs.csv"},
            {"name": "Y", "liabilities": "1", "reserve_proofs": "y-proofs.csv"},
            {"name": "Z", "liabilities": "1", "reserve_proofs": "z-proofs.csv"},
        ],
    )
    r = reconcile(pf, source=SnapshotSource(setup["snap"], "regtest"))
    shared = [c for c in r.checks if c.id == "shared-reserve-key"]
    assert len(shared) == 1 and shared[0].subject == "X and Y and Z"
    y = r.custodians[1]
    assert y.proven_reserves_sats == 1_000_000  # the replay still "proves" Y: the check says why
    assert "X and Y and Z show signatures by the same key" in shared[0].message


def test_reconcile_without_proofs_keeps_old_caveat(tmp_path: Path, oracle: dict[str, Any]) -> None:
    pf = _portfolio(
        tmp_path,
        [
            {
                "name": "X",
                "liabilities": "1",
                "reserves": oracle["wallets"]["custodian"]["descriptors"],
            }
        ],
    )
    r = reconcile(pf, source=SnapshotSource(SNAPSHOT, "regtest"))
    assert r.custodians[0].proven_reserves_sats is None
    assert any("no signed message is checked" in c for c in r.caveats)
