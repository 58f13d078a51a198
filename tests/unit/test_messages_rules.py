"""The BIP-322 required / upgradeable rules and the timelock rules, one test each.

Signatures are made with embit's own BIP-143 sighash over p2wsh scripts written here, encoded as
BIP-322 ``full`` signatures; each rule turns a valid proof into an invalid (or inconclusive) one.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from embit import script
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from utxo_truth.messages import ProofStatus, to_spend_tx, verify_message

MSG = "rules"
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _key(i: int):  # type: ignore[no-untyped-def]
    from embit import ec

    return ec.PrivateKey(hashlib.sha256(b"rules key %d" % i).digest())


def _push(b: bytes) -> bytes:
    return bytes([len(b)]) + b


def _prove(
    ws: bytes,
    make_stack,  # type: ignore[no-untyped-def]
    *,
    version: int = 2,
    locktime: int = 0,
    sequence: int = 0,
) -> tuple[str, str]:
    spk = b"\x00\x20" + hashlib.sha256(ws).digest()
    address = script.Script(spk).address()
    spend = to_spend_tx(MSG.encode(), spk)
    tx = Transaction(
        version=version,
        vin=[TransactionInput(spend.txid()[::-1], 0, sequence=sequence)],
        vout=[TransactionOutput(0, script.Script(b"\x6a"))],
        locktime=locktime,
    )
    h = tx.sighash_segwit(0, script.Script(ws), 0)
    tx.vin[0].witness = script.Witness([*make_stack(h), ws])
    return address, "ful" + base64.b64encode(tx.serialize()).decode()


def _sig(h: bytes, i: int = 1, hashtype: int = 1) -> bytes:
    return _key(i).sign(h).serialize() + bytes([hashtype])


def _pk(i: int = 1) -> bytes:
    return _key(i).get_public_key().sec()


def _status(address: str, sig: str) -> ProofStatus:
    return verify_message(address, MSG, sig, "main").status


def test_csv_bip112() -> None:
    ws = b"\x02\xe0\x07" + b"\xb2\x75" + _push(_pk()) + b"\xac"  # <2016> CSV DROP <pk> CHECKSIG
    ok = _prove(ws, lambda h: [_sig(h)], sequence=2016)
    assert _status(*ok) is ProofStatus.VALID
    assert _status(*_prove(ws, lambda h: [_sig(h)], sequence=2015)) is ProofStatus.INVALID
    assert (
        _status(*_prove(ws, lambda h: [_sig(h)], sequence=2016, version=0)) is ProofStatus.INVALID
    )
    # BIP-68 type flag: a time-based sequence against a height-based CSV
    seq = (1 << 22) | 2016
    assert _status(*_prove(ws, lambda h: [_sig(h)], sequence=seq)) is ProofStatus.INVALID


def test_cltv_bip65() -> None:
    ws = b"\x02\xf4\x01" + b"\xb1\x75" + _push(_pk()) + b"\xac"  # <500> CLTV DROP <pk> CHECKSIG
    assert _status(*_prove(ws, lambda h: [_sig(h)], locktime=500)) is ProofStatus.VALID
    assert _status(*_prove(ws, lambda h: [_sig(h)], locktime=499)) is ProofStatus.INVALID
    assert (
        _status(*_prove(ws, lambda h: [_sig(h)], locktime=500, sequence=0xFFFFFFFF))
        is ProofStatus.INVALID
    )
    # a time-based nLockTime against a height-based CLTV
    assert _status(*_prove(ws, lambda h: [_sig(h)], locktime=500_000_001)) is ProofStatus.INVALID


def _high_s(sig: bytes) -> bytes:
    der = sig[:-1]
    len_r = der[3]
    r = der[4 : 4 + len_r]
    s = int.from_bytes(der[6 + len_r :], "big")
    s_bytes = (N - s).to_bytes(33, "big").lstrip(b"\x00")
    if s_bytes[0] & 0x80:
        s_bytes = b"\x00" + s_bytes
    body = b"\x02" + bytes([len(r)]) + r + b"\x02" + bytes([len(s_bytes)]) + s_bytes
    return b"\x30" + bytes([len(body)]) + body + sig[-1:]


@pytest.mark.parametrize(
    ("case", "expected", "why"),
    [
        ("valid", ProofStatus.VALID, "valid"),
        ("high-s", ProofStatus.INVALID, "LOW_S"),
        ("sighash-none", ProofStatus.INVALID, "SIGHASH_ALL"),
        ("empty-sig", ProofStatus.INVALID, "CLEANSTACK"),  # CHECKSIG pushed false
        ("wrong-key-sig", ProofStatus.INVALID, "NULLFAIL"),
    ],
)
def test_signature_rules(case: str, expected: ProofStatus, why: str) -> None:
    ws = _push(_pk()) + b"\xac"

    def stack(h: bytes) -> list[bytes]:
        return {
            "valid": [_sig(h)],
            "high-s": [_high_s(_sig(h))],
            "sighash-none": [_sig(h, hashtype=2)],
            "empty-sig": [b""],
            "wrong-key-sig": [_sig(h, i=2)],
        }[case]

    address, sig = _prove(ws, stack)
    proof = verify_message(address, MSG, sig, "main")
    assert proof.status is expected and why in proof.reason


def test_minimalif_nulldummy_codeseparator_nops() -> None:
    # OP_IF <pk> CHECKSIG OP_ELSE OP_0 OP_ENDIF
    ws = b"\x63" + _push(_pk()) + b"\xac\x67\x00\x68"
    assert _status(*_prove(ws, lambda h: [_sig(h), b"\x01"])) is ProofStatus.VALID
    assert _status(*_prove(ws, lambda h: [_sig(h), b"\x02"])) is ProofStatus.INVALID  # MINIMALIF
    # 1-of-1 CHECKMULTISIG with a non-empty dummy: NULLDUMMY
    ms = b"\x51" + _push(_pk()) + b"\x51\xae"
    assert _status(*_prove(ms, lambda h: [b"", _sig(h)])) is ProofStatus.VALID
    assert _status(*_prove(ms, lambda h: [b"\x01", _sig(h)])) is ProofStatus.INVALID
    # CODESEPARATOR is forbidden by BIP-322
    cs = b"\xab" + _push(_pk()) + b"\xac"
    assert _status(*_prove(cs, lambda h: [_sig(h)])) is ProofStatus.INVALID
    # a reserved upgrade NOP: inconclusive, never valid
    nop = b"\xb9" + _push(_pk()) + b"\xac"
    assert _status(*_prove(nop, lambda h: [_sig(h)])) is ProofStatus.INCONCLUSIVE
    # to_sign version 1 (not 0 or 2): an upgradeable rule, inconclusive
    plain = _push(_pk()) + b"\xac"
    assert _status(*_prove(plain, lambda h: [_sig(h)], version=1)) is ProofStatus.INCONCLUSIVE
