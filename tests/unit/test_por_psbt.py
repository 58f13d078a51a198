"""BIP-127 proof-of-reserves PSBTs (utxo_truth.por_psbt): bdk-reserves' own proofs and ours."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from embit import script
from embit.transaction import SIGHASH, Transaction, TransactionInput, TransactionOutput
from test_messages import _der, _key
from test_reconcile_proofs import _extended_snapshot

from utxo_truth import SnapshotSource
from utxo_truth._script import compact_size
from utxo_truth._txcodec import ser_bytes
from utxo_truth.por_psbt import BDK_UNSPENDABLE, check_por_coins, por_commitment, verify_por_psbt

BDK = json.loads(
    (Path(__file__).parents[1] / "data/proofs-of-control/bdk-reserves-vectors.json").read_text()
)


def test_bdk_reserves_signed_proofs() -> None:
    for psbt in BDK["signed_psbts"]:
        proof = verify_por_psbt(psbt, BDK["message"])
        assert proof.valid, proof.reason
        assert proof.commitment == "bdk-reserves" and proof.total_sats == BDK["spendable_sats"]
        assert proof.output_script == BDK_UNSPENDABLE.hex()
        assert not verify_por_psbt(psbt, BDK["message"] + " ").valid  # another message
    unsigned = verify_por_psbt(BDK["unsigned_psbt"], BDK["message"])
    assert not unsigned.valid and "not signed" in unsigned.reason


def _psbt(tx: Transaction, inputs: list[dict[int, bytes]]) -> str:
    def kv(key: bytes, value: bytes) -> bytes:
        return ser_bytes(key) + ser_bytes(value)

    raw = bytearray(b"psbt\xff" + kv(b"\x00", tx.serialize()) + b"\x00")
    for fields in inputs:
        for k, v in fields.items():
            raw += kv(bytes([k]), v)
        raw += b"\x00"
    raw += b"\x00"  # the one output's empty map
    return base64.b64encode(bytes(raw)).decode()


def _our_proof(message: str, coins: list[tuple[str, int]], *, fee: int = 0) -> str:
    """A BIP-127 proof (single SHA-256 commitment) over p2wpkh / p2tr coins of our keys."""
    keys = [_key(200 + i) for i in range(len(coins))]
    spks = [
        script.p2wpkh(k.get_public_key()) if kind == "p2wpkh" else script.p2tr(k.get_public_key())
        for k, (kind, _) in zip(keys, coins, strict=True)
    ]
    total = sum(v for _, v in coins)
    vin = [TransactionInput(por_commitment(message)["bip127"][::-1], 0)]
    # txids as _extended_snapshot writes them (internal order ff..ff0i; embit takes display order)
    vin += [TransactionInput(bytes([i] + [0xFF] * 31), 0) for i in range(len(coins))]
    tx = Transaction(
        version=2, vin=vin, vout=[TransactionOutput(total - fee, script.Script(BDK_UNSPENDABLE))]
    )
    values = [0] + [v for _, v in coins]
    all_spks = [script.Script(b"\x51"), *spks]
    witnesses = []
    for i, (k, (kind, value)) in enumerate(zip(keys, coins, strict=True), start=1):
        if kind == "p2wpkh":
            h = tx.sighash_segwit(i, script.p2pkh(k.get_public_key()), value)
            witnesses.append([_der(k, h), k.get_public_key().sec()])
        else:
            h = tx.sighash_taproot(i, all_spks, values, sighash=SIGHASH.DEFAULT)
            witnesses.append([k.taproot_tweak(b"").schnorr_sign(h).serialize()])
    inputs = [{0x01: (0).to_bytes(8, "little") + ser_bytes(b"\x51"), 0x07: b""}]
    for spk, (_, value), wit in zip(spks, coins, witnesses, strict=True):
        wire = compact_size(len(wit)) + b"".join(ser_bytes(w) for w in wit)
        inputs.append({0x01: value.to_bytes(8, "little") + ser_bytes(spk.data), 0x08: wire})
    return _psbt(tx, inputs)


def test_our_proof_and_chain_check(tmp_path: Path) -> None:
    msg = "X reserves 295 174dcc4130f8d2aa85a4e0acdf74cacf1682f21df6756b379075576f29f63da6"
    coins = [("p2wpkh", 1_000_000), ("p2tr", 2_000_000), ("p2wpkh", 30_000)]
    proof = verify_por_psbt(_our_proof(msg, coins), msg)
    assert proof.valid and proof.commitment == "bip127", proof.reason
    assert proof.total_sats == 3_030_000 and len(proof.coins) == 3
    # the chain holds the first two coins only (the third was "spent"): proven = their sum
    on_chain = [(bytes.fromhex(c.script_hex), c.value_sats) for c in proof.coins[:2]]
    snap = _extended_snapshot(tmp_path, on_chain)
    check = check_por_coins(proof, SnapshotSource(snap, "regtest"))
    assert check.block.height == 295
    assert check.proven_sats == 3_000_000 and len(check.missing) == 1
    # tampering: a fee, another message
    assert "exact sum" in verify_por_psbt(_our_proof(msg, coins, fee=1), msg).reason
    assert not verify_por_psbt(_our_proof(msg, coins), msg + ".").valid


def test_hostile_por_psbts() -> None:
    good = base64.b64decode(BDK["signed_psbts"][0])
    cases = ["", "!!", "cHNidP8=", base64.b64encode(good[:-3]).decode()]
    cases += [base64.b64encode(good[:n]).decode() for n in range(5, len(good), 17)]
    for i in range(40, len(good), 29):
        bad = bytearray(good)
        bad[i] ^= 0x04
        cases.append(base64.b64encode(bytes(bad)).decode())
    for c in cases:
        assert not verify_por_psbt(c, BDK["message"]).valid
