"""Reserve files with proofs of control (utxo_truth.reserve_proofs) and their CLI commands."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, SNAPSHOT
from embit import ec, script
from embit.networks import NETWORKS
from harness.snapshot_writer import write_snapshot
from test_messages import legacy_sign, sign_p2tr, sign_p2wpkh

from utxo_truth import cli
from utxo_truth._api import scan_reserve_proofs
from utxo_truth._script import address_of
from utxo_truth.reserve_proofs import (
    ReserveFileError,
    load_reserve_proofs,
    parse_reserve_proofs,
)

REG = NETWORKS["regtest"]
FRESH = (
    "utxo_truth reserves at 295 174dcc4130f8d2aa85a4e0acdf74cacf1682f21df6756b379075576f29f63da6"
)


def _key(i: int) -> ec.PrivateKey:
    return ec.PrivateKey(hashlib.sha256(b"utxo_truth reserve test key %d" % i).digest())


def _sign_simple_regtest(k: ec.PrivateKey, message: str, kind: str) -> tuple[str, str]:
    """Sign with the test helpers (mainnet addresses), then re-encode the address for regtest."""
    address, sig = (sign_p2wpkh if kind == "p2wpkh" else sign_p2tr)(k, message)
    spk = script.Script.from_address(address)
    return spk.address(REG), sig


# ------------------------------------------------------------------------------------------
# OKX


OKX_HEADER = (
    "coin,Network,Snapshot Height,address,amount,message,signature1,signature2,"
    "redeem script/ public key, eoa1, eoa2\n"
)


def test_okx_example_has_no_btc_address_rows() -> None:
    """OKX's published example: every address row is another chain; none is counted as BTC."""
    proofs = load_reserve_proofs(DATA / "por" / "okx-por-reserves-example.csv", "main")
    assert proofs.format == "okx"
    assert [r.status for r in proofs.rows] == ["skipped"] * 5
    assert {r.reason for r in proofs.rows} == {"ETH row", "USDT-TON row", "APTOS row"}


def test_okx_btc_rows_each_outcome() -> None:
    """OKX-shaped BTC rows, one per weakness of OKX's own address checker."""
    keys = [_key(i) for i in range(3)]
    pubs = [k.get_public_key() for k in keys]
    okx = "I am an OKX address"
    single = script.p2pkh(pubs[0]).address()
    ms2 = script.multisig(2, pubs)
    ms3 = script.multisig(3, pubs)
    a2, a3 = script.p2sh(ms2).address(), script.p2wsh(ms3).address()
    s = [legacy_sign(k, okx, 31) for k in keys]
    rows = [
        # 1. single-sig, fixed text: valid but replayable (OKX: "verified")
        f"BTC,BTC,763861,{single},1.5,{okx},{s[0]},,",
        # 2. 2-of-3 with two distinct keys: valid, replayable (OKX: verified)
        f"BTC,BTC,763861,{a2},2,{okx},{s[0]},{s[2]},{ms2.data.hex()}",
        # 3. the same signature twice: one key only (OKX's checker accepts it)
        f"BTC,BTC,763861,{a2},2,{okx},{s[1]},{s[1]},{ms2.data.hex()}",
        # 4. 3-of-3 with two signatures (OKX checks two whatever m is)
        f"BTC,BTC,763861,{a3},3,{okx},{s[0]},{s[1]},{ms3.data.hex()}",
        # 5. an address nobody can decode (OKX reports it verified)
        f"BTC,BTC,763861,1NotAnAddressAtAll,4,{okx},{s[0]},,",
        # 6. no signature: unsigned, never counted as proven
        f"BTC,BTC,763861,{single},0.00000001,{okx},,,",
        # 7. a script that does not hash to the address
        f"BTC,BTC,763861,{a2},2,{okx},{s[0]},{s[1]},{ms3.data.hex()}",
    ]
    proofs = parse_reserve_proofs(OKX_HEADER + "\n".join(rows) + "\n", "main")
    got = [r.status for r in proofs.rows]
    assert got == [
        "replayable",
        "replayable",
        "invalid",
        "invalid",
        "invalid",
        "unsigned",
        "invalid",
    ]
    r = proofs.rows
    assert r[0].claimed_sats == 150_000_000 and r[5].claimed_sats == 1
    assert "1 distinct" in r[2].reason and "needs 3" in r[3].reason
    assert "does not hash" in r[6].reason
    assert len(r[1].signers) == 2


# ------------------------------------------------------------------------------------------
# HTX and ours


def test_htx_and_our_csv_and_json() -> None:
    k1, k2 = _key(10), _key(11)
    a1, s1 = _sign_simple_regtest(k1, FRESH, "p2wpkh")
    a2, s2 = _sign_simple_regtest(k2, "I am an HTX address", "p2tr")
    htx = f"address,balance,message,signature\n{a1},0.5,{FRESH},{s1}\n{a2},1,x,{s2}\n"
    p = parse_reserve_proofs(htx, "regtest")
    assert p.format == "htx"
    # row 2: a signature over another text than the row's message
    assert [r.status for r in p.rows] == ["valid", "invalid"]
    assert p.rows[0].block_height == 295 and p.rows[0].claimed_sats == 50_000_000
    ours = f"address,message,signature\n{a1},{FRESH},{s1}\n{a2},,\n"
    assert [r.status for r in parse_reserve_proofs(ours, "regtest").rows] == ["valid", "unsigned"]
    doc = {
        "format": "utxo_truth-reserve-proofs/1",
        "rows": [{"address": a1, "message": FRESH, "signature": s1}, {"address": a2}],
    }
    pj = parse_reserve_proofs(json.dumps(doc), "regtest")
    assert pj.counts["valid"] == 1 and pj.counts["unsigned"] == 1
    # the same file read as mainnet: the addresses are of another network, rows invalid
    assert {r.status for r in parse_reserve_proofs(ours, "main").rows} == {"invalid"}


# ------------------------------------------------------------------------------------------
# With a chain source


def _custodian_addresses(oracle: dict[str, Any]) -> list[str]:
    scripts = sorted(
        {u["script_pubkey"] for u in oracle["wallets"]["custodian"]["scantxoutset"]["unspents"]}
    )
    out = [address_of(bytes.fromhex(s), "regtest") for s in scripts]
    assert all(out)
    return [a for a in out if a]


def test_shared_regtest_listed_total_is_cores(oracle: dict[str, Any], tmp_path: Path) -> None:
    """The custodian's 150+ reserve addresses, unsigned: listed = Core's total, proven = 0."""
    addrs = _custodian_addresses(oracle)
    k = _key(20)
    own, sig = _sign_simple_regtest(k, FRESH, "p2wpkh")  # signed, but holds nothing
    text = (
        "address,message,signature\n"
        + "".join(f"{a},,\n" for a in addrs)
        + f"{own},{FRESH},{sig}\n"
    )
    proofs = parse_reserve_proofs(text, "regtest")
    scanned = scan_reserve_proofs(proofs, f"snapshot:{SNAPSHOT}")
    core = oracle["wallets"]["custodian"]["scantxoutset"]
    assert scanned.block.height == core["height"] and scanned.block.hash == core["bestblock"]
    assert scanned.listed_sats == core["total_sats"]
    assert scanned.proven_sats == 0 and scanned.balances[own] == 0
    assert proofs.counts["unsigned"] == len(addrs) and proofs.counts["valid"] == 1


def _own_chain(tmp_path: Path) -> tuple[Path, list[tuple[str, str, str, int]]]:
    """A snapshot at the regtest tip paying our own keys: (address, message, sig, sats) rows."""
    rows = []
    groups = []
    for i, (kind, msg, sats) in enumerate(
        [
            ("p2wpkh", FRESH, 12_345),
            ("p2tr", FRESH, 70_000),
            ("p2wpkh", "fixed", 5),
            ("p2tr", "", 9),
        ]
    ):
        a, s = _sign_simple_regtest(_key(30 + i), msg, kind)
        spk = script.Script.from_address(a).data
        groups.append((hashlib.sha256(b"own%d" % i).digest(), [(0, 290, False, sats, spk)]))
        rows.append((a, msg, s if msg else "", sats))
    path = tmp_path / "own.dat"
    write_snapshot(
        path, "regtest", "174dcc4130f8d2aa85a4e0acdf74cacf1682f21df6756b379075576f29f63da6", groups
    )
    return path, rows


def test_cli_verify_reserves_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap, rows = _own_chain(tmp_path)
    f = tmp_path / "reserves.csv"
    f.write_text("address,message,signature\n" + "".join(f"{a},{m},{s}\n" for a, m, s, _ in rows))
    assert (
        cli.main(
            ["verify-reserves", str(f), "--network", "regtest", "--snapshot", str(snap), "--json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in out["rows"]] == ["valid", "valid", "replayable", "unsigned"]
    assert [r["balance_sats"] for r in out["rows"]] == [r[3] for r in rows]
    assert out["proven_sats"] == 12_345 + 70_000
    assert out["replayable_sats"] == 5
    assert out["listed_sats"] == sum(r[3] for r in rows)
    assert out["block"]["height"] == 290  # the snapshot's block: its highest coin here
    assert cli.main(["verify-reserves", str(f), "--network", "regtest"]) == 0
    text = capsys.readouterr().out
    assert "valid" in text and "unsigned" in text


def test_cli_verify_message(capsys: pytest.CaptureFixture[str]) -> None:
    a, s = sign_p2wpkh(_key(40), FRESH)
    assert cli.main(["verify-message", a, FRESH, s, "--network", "main"]) == 0
    assert "at or after block 295" in capsys.readouterr().out
    assert cli.main(["verify-message", a, FRESH + "x", s, "--network", "main", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "invalid"
    assert cli.main(["verify-message", a, FRESH, s, "--network", "regtest"]) == 2  # other network
    err = capsys.readouterr().err
    assert "NetworkMismatchError" in err and "Traceback" not in err


def test_reserve_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ReserveFileError, match="not a reserve-proof file"):
        parse_reserve_proofs("hello,world\n1,2\n", "main")
    with pytest.raises(ReserveFileError, match="cannot read"):
        load_reserve_proofs(tmp_path / "missing.csv", "main")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ReserveFileError, match="not UTF-8"):
        load_reserve_proofs(tmp_path / "bin.csv", "main")


@pytest.mark.parametrize(
    "argv",
    [
        ["verify-message", "bc1qnotanaddress", "m", "smpAA==", "--network", "main"],
        [
            "verify-message",
            "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l",
            "m",
            "x",
            "--network",
            "mars",
        ],
        ["verify-reserves", "/nonexistent/reserves.csv", "--network", "main"],
    ],
)
def test_cli_errors_are_typed_without_traceback(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("utxo-truth: input error") and "Traceback" not in err


def test_cli_bad_reserve_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "r.csv"
    f.write_text("what,is,this\n")
    assert cli.main(["verify-reserves", str(f), "--network", "main"]) == 2
    assert "ReserveFileError" in capsys.readouterr().err
