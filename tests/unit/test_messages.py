"""BIP-322 / BIP-137 / multisig-row verification (utxo_truth.messages).

Official vectors come from bitcoin/bips (copied into tests/data/proofs-of-control). Our own
signatures are made here with embit's signer and embit's *own* sighash code (legacy, BIP-143,
BIP-341), so the verifier's sighashes are checked against an independent implementation; the
PyPI ``bip322`` package (Rust) is a second, independent verifier for p2wpkh and p2tr.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from embit import ec, script
from embit.transaction import SIGHASH, Transaction, TransactionInput, TransactionOutput
from embit.util import secp256k1 as secp

from utxo_truth._script import compact_size
from utxo_truth._txcodec import ser_bytes
from utxo_truth.messages import (
    ProofStatus,
    bip322_message_hash,
    freshness,
    legacy_message_hash,
    to_sign_tx,
    to_spend_tx,
    verify_message,
    verify_multisig_signatures,
)

DATA = Path(__file__).parents[1] / "data" / "proofs-of-control"
BASIC = json.loads((DATA / "bip322-basic-test-vectors.json").read_text())
GENERATED = json.loads((DATA / "bip322-generated-test-vectors.json").read_text())


def _valid_cases() -> list[tuple[str, str, str, str]]:
    out = []
    for doc in (BASIC, GENERATED):
        for kind in ("simple", "full", "proof_of_funds"):
            for v in doc.get(kind, []):
                for sig in v["bip322_signatures"]:
                    out.append((f"{kind}-{v['type']}", v["address"], v["message"], sig))
    return out


def _error_cases() -> list[tuple[str, str, str, str, str]]:
    return [
        (v["description"], v["address"], v["message"], v["signature"], v["error_substr"])
        for doc in (BASIC, GENERATED)
        for v in doc["error"]
    ]


@pytest.mark.parametrize(("kind", "address", "message", "sig"), _valid_cases())
def test_official_valid_vectors(kind: str, address: str, message: str, sig: str) -> None:
    proof = verify_message(address, message, sig, "main")
    assert proof.status is ProofStatus.VALID, (kind, proof.reason)
    assert proof.signers  # at least one key's signature was checked
    if kind.startswith("full"):
        assert (proof.lock_time, proof.sequence) == (2016, 2016)  # "valid at time T and age S"
    if kind.startswith("proof_of_funds"):
        assert proof.format == "pof" and proof.coins
        assert all(c.value_sats == 345678 for c in proof.coins)


@pytest.mark.parametrize(("desc", "address", "message", "sig", "substr"), _error_cases())
def test_official_error_vectors(
    desc: str, address: str, message: str, sig: str, substr: str
) -> None:
    proof = verify_message(address, message, sig, "main")
    assert proof.status is ProofStatus.INVALID, desc
    assert substr in proof.reason, (desc, proof.reason)


def test_official_tx_hashes() -> None:
    for v in BASIC["tx_hashes"]:
        from embit.script import address_to_scriptpubkey

        spk = address_to_scriptpubkey(v["address"]).data
        msg = v["message"].encode()
        assert bip322_message_hash(msg).hex() == v["message_hash"]
        spend = to_spend_tx(msg, spk)
        assert spend.txid()[::-1].hex() == v["to_spend_tx_hash"]
        assert to_sign_tx(spend, []).txid()[::-1].hex() == v["to_sign_tx_hash"]


# ------------------------------------------------------------------------------------------
# Our own keys, signed with embit's sighash code


def _key(i: int) -> ec.PrivateKey:
    return ec.PrivateKey(hashlib.sha256(b"utxo_truth messages test key %d" % i).digest())


def _embit_to_sign(message: str, spk: bytes) -> tuple[Transaction, bytes]:
    spend = to_spend_tx(message.encode(), spk)
    tx = Transaction(
        version=0,
        vin=[TransactionInput(spend.txid()[::-1], 0, sequence=0)],
        vout=[TransactionOutput(0, script.Script(b"\x6a"))],
        locktime=0,
    )
    return tx, spk


def _der(k: ec.PrivateKey, h: bytes) -> bytes:
    return k.sign(h).serialize() + b"\x01"


def _simple(items: list[bytes]) -> str:
    raw = compact_size(len(items)) + b"".join(ser_bytes(x) for x in items)
    return "smp" + base64.b64encode(raw).decode()


def sign_p2wpkh(k: ec.PrivateKey, message: str) -> tuple[str, str]:
    spk = script.p2wpkh(k.get_public_key())
    tx, _ = _embit_to_sign(message, spk.data)
    h = tx.sighash_segwit(0, script.p2pkh(k.get_public_key()), 0)
    return spk.address(), _simple([_der(k, h), k.get_public_key().sec()])


def sign_p2tr(k: ec.PrivateKey, message: str) -> tuple[str, str]:
    spk = script.p2tr(k.get_public_key())
    tx, _ = _embit_to_sign(message, spk.data)
    h = tx.sighash_taproot(0, [spk], [0], sighash=SIGHASH.DEFAULT)
    sig = k.taproot_tweak(b"").schnorr_sign(h).serialize()
    return spk.address(), _simple([sig])


def sign_p2wsh_multisig(
    keys: list[ec.PrivateKey], m: int, message: str, signers: list[int]
) -> tuple[str, str, bytes]:
    ms = script.multisig(m, [k.get_public_key() for k in keys])
    spk = script.p2wsh(ms)
    tx, _ = _embit_to_sign(message, spk.data)
    h = tx.sighash_segwit(0, ms, 0)
    return spk.address(), _simple([b""] + [_der(keys[i], h) for i in signers] + [ms.data]), ms.data


def _full(tx: Transaction) -> str:
    return "ful" + base64.b64encode(tx.serialize()).decode()


def sign_p2sh_p2wpkh(k: ec.PrivateKey, message: str) -> tuple[str, str]:
    redeem = script.p2wpkh(k.get_public_key())
    spk = script.p2sh(redeem)
    tx, _ = _embit_to_sign(message, spk.data)
    h = tx.sighash_segwit(0, script.p2pkh(k.get_public_key()), 0)
    tx.vin[0].script_sig = script.Script(ser_bytes(redeem.data))
    tx.vin[0].witness = script.Witness([_der(k, h), k.get_public_key().sec()])
    return spk.address(), _full(tx)


def sign_p2pkh(k: ec.PrivateKey, message: str) -> tuple[str, str]:
    spk = script.p2pkh(k.get_public_key())
    tx, _ = _embit_to_sign(message, spk.data)
    h = tx.sighash_legacy(0, spk)
    tx.vin[0].script_sig = script.Script(
        ser_bytes(_der(k, h)) + ser_bytes(k.get_public_key().sec())
    )
    return spk.address(), _full(tx)


SIGNERS = {
    "p2wpkh": lambda msg: sign_p2wpkh(_key(1), msg),
    "p2tr": lambda msg: sign_p2tr(_key(2), msg),
    "p2sh-p2wpkh": lambda msg: sign_p2sh_p2wpkh(_key(3), msg),
    "p2pkh": lambda msg: sign_p2pkh(_key(4), msg),
    "p2wsh-2of3": lambda msg: sign_p2wsh_multisig([_key(5), _key(6), _key(7)], 2, msg, [0, 2])[:2],
}

MSG = "utxo_truth proof of control 101 0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"


@pytest.mark.parametrize("kind", sorted(SIGNERS))
def test_own_keys_valid_and_each_tamper_invalid(kind: str) -> None:
    address, sig = SIGNERS[kind](MSG)
    assert verify_message(address, MSG, sig, "main").status is ProofStatus.VALID
    # one changed byte in the message
    assert verify_message(address, MSG[:-1] + "7", sig, "main").status is ProofStatus.INVALID
    # another address (same type, another key)
    other, _ = SIGNERS["p2wpkh"]("other") if kind != "p2wpkh" else sign_p2wpkh(_key(9), "x")
    assert verify_message(other, MSG, sig, "main").status is ProofStatus.INVALID
    # one changed byte in the signature (every position near the end: the signature bytes)
    raw = bytearray(base64.b64decode(sig[3:]))
    for pos in (len(raw) // 2, len(raw) - 40):
        bad = bytearray(raw)
        bad[pos] ^= 0x01
        tampered = sig[:3] + base64.b64encode(bytes(bad)).decode()
        assert verify_message(address, MSG, tampered, "main").status is not ProofStatus.VALID


@pytest.mark.parametrize("kind", ["p2wpkh", "p2tr"])
def test_bip322_package_agrees(kind: str) -> None:
    bip322 = pytest.importorskip("bip322")
    address, sig = SIGNERS[kind](MSG)
    body = sig[3:]  # the package reads the prefix-less simple encoding
    bip322.verify_simple_encoded(address, MSG, body)  # raises if the Rust verifier disagrees
    assert verify_message(address, MSG, body, "main").status is ProofStatus.VALID
    with pytest.raises(bip322.VerificationError):
        bip322.verify_simple_encoded(address, MSG + "!", body)
    assert verify_message(address, MSG + "!", body, "main").status is ProofStatus.INVALID


def test_multisig_key_order_matters() -> None:
    keys = [_key(5), _key(6), _key(7)]
    address, sig, _ms = sign_p2wsh_multisig(keys, 2, MSG, [2, 0])  # signatures out of order
    assert verify_message(address, MSG, sig, "main").status is ProofStatus.INVALID
    swapped = script.multisig(
        2, [keys[1].get_public_key(), keys[0].get_public_key(), keys[2].get_public_key()]
    )
    assert script.p2wsh(swapped).address() != address  # key order changes the address


def test_unknown_scripts_are_inconclusive() -> None:
    # p2wsh with an upgrade NOP / an opcode we do not evaluate (OP_WITHIN)
    for ws in (bytes([0x51, 0xB3]), bytes([0x51, 0x51, 0x52, 0xA5])):
        spk = b"\x00\x20" + hashlib.sha256(ws).digest()
        address = script.Script(spk).address()
        sig = _simple([ws])
        assert verify_message(address, "m", sig, "main").status is ProofStatus.INCONCLUSIVE
    # segwit v2: never valid
    from embit import bech32

    addr_v2 = bech32.encode("bc", 2, b"\x11" * 32)
    assert (
        verify_message(addr_v2, "m", _simple([b"\x01"]), "main").status is ProofStatus.INCONCLUSIVE
    )


def test_anyone_can_spend_p2wsh_is_valid_but_signs_nothing() -> None:
    ws = b"\x51"  # OP_TRUE: valid by the rules, no key involved
    address = script.Script(b"\x00\x20" + hashlib.sha256(ws).digest()).address()
    proof = verify_message(address, "m", _simple([ws]), "main")
    assert proof.status is ProofStatus.VALID and proof.signers == ()


# ------------------------------------------------------------------------------------------
# Legacy BIP-137 / Electrum


def legacy_sign(k: ec.PrivateKey, message: str, header_base: int) -> str:
    rsig = secp.ecdsa_sign_recoverable(legacy_message_hash(message.encode()), k.secret)
    compact, recid = secp.ecdsa_recoverable_signature_serialize_compact(rsig)
    return base64.b64encode(bytes([header_base + recid]) + compact).decode()


@pytest.mark.parametrize(
    ("maker", "header", "ok"),
    [
        (lambda k: script.p2pkh(k.get_public_key()), 31, True),
        (lambda k: script.p2sh(script.p2wpkh(k.get_public_key())), 35, True),
        (lambda k: script.p2wpkh(k.get_public_key()), 39, True),
        (lambda k: script.p2wpkh(k.get_public_key()), 31, True),  # Electrum: p2pkh header
        (lambda k: script.p2sh(script.p2wpkh(k.get_public_key())), 31, True),  # Electrum
        (lambda k: script.p2pkh(k.get_public_key()), 39, False),  # header names p2wpkh
        (lambda k: script.p2wpkh(k.get_public_key()), 35, False),  # header names p2sh-p2wpkh
    ],
)
def test_legacy_headers(maker: object, header: int, ok: bool) -> None:
    k = _key(11)
    assert callable(maker)
    address = maker(k).address()
    sig = legacy_sign(k, MSG, header)
    proof = verify_message(address, MSG, sig, "main")
    assert proof.status is (ProofStatus.VALID if ok else ProofStatus.INVALID), proof.reason
    assert verify_message(address, MSG + " ", sig, "main").status is ProofStatus.INVALID


def test_legacy_uncompressed_p2pkh() -> None:
    k = _key(12)
    pub = ec.PublicKey.parse(k.get_public_key().sec())
    pub.compressed = False
    address = script.p2pkh(pub).address()
    assert verify_message(address, MSG, legacy_sign(k, MSG, 27), "main").valid
    # compressed header on the uncompressed address: another key hash
    assert not verify_message(address, MSG, legacy_sign(k, MSG, 31), "main").valid


# ------------------------------------------------------------------------------------------
# Multisig rows (OKX style)


def test_multisig_rows_need_m_distinct_keys() -> None:
    keys = [_key(21), _key(22), _key(23)]
    ms = script.multisig(2, [k.get_public_key() for k in keys])
    for spk in (script.p2sh(ms), script.p2wsh(ms), script.p2sh(script.p2wsh(ms))):
        address = spk.address()
        s0, s1 = (
            legacy_sign(keys[0], "I am an OKX address", 31),
            legacy_sign(keys[2], "I am an OKX address", 31),
        )
        good = verify_multisig_signatures(
            address, "I am an OKX address", [s0, s1], ms.data.hex(), "main"
        )
        assert good.valid and good.threshold == 2 and len(good.signed_by) == 2
        # the same signature twice counts once (OKX's checker accepts it)
        twice = verify_multisig_signatures(
            address, "I am an OKX address", [s0, s0], ms.data.hex(), "main"
        )
        assert twice.status is ProofStatus.INVALID and "1 distinct" in twice.reason
        # a script that does not hash to the address
        other = script.multisig(2, [k.get_public_key() for k in reversed(keys)])
        wrong = verify_multisig_signatures(
            address, "I am an OKX address", [s0, s1], other.data.hex(), "main"
        )
        assert wrong.status is ProofStatus.INVALID and "does not hash" in wrong.reason
    # a 3-of-3: two signatures are not enough (OKX's checker checks two whatever m is)
    ms3 = script.multisig(3, [k.get_public_key() for k in keys])
    addr3 = script.p2wsh(ms3).address()
    sigs = [legacy_sign(keys[i], "x", 31) for i in (0, 1)]
    assert not verify_multisig_signatures(addr3, "x", sigs, ms3.data.hex(), "main").valid
    sigs.append(legacy_sign(keys[2], "x", 31))
    assert verify_multisig_signatures(addr3, "x", sigs, ms3.data.hex(), "main").valid


# ------------------------------------------------------------------------------------------
# Freshness


def test_freshness() -> None:
    f = freshness(MSG)
    assert f.height == 101 and f.block_hash and f.block_hash.startswith("0f9188f1")
    assert not f.replayable
    assert freshness("I am an OKX address").replayable
    assert freshness("block 12 but no hash").replayable
