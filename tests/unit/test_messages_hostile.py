"""Hostile inputs to proof-of-control verification: typed errors or a non-valid result, always.

Nothing may raise anything but an :class:`InputError`, nothing hostile may come out ``valid``,
and no message may echo a private key or a long piece of the input.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from pathlib import Path

import pytest
from embit import ec

from utxo_truth import InputError, PrivateKeyError
from utxo_truth.messages import ProofStatus, verify_message, verify_multisig_signatures
from utxo_truth.reserve_proofs import ReserveFileError, parse_reserve_proofs

DATA = Path(__file__).parents[1] / "data" / "proofs-of-control"
GEN = json.loads((DATA / "bip322-generated-test-vectors.json").read_text())
ADDR = "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l"
WIF = ec.PrivateKey(hashlib.sha256(b"hostile").digest()).wif()
XPRV = (
    "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TG"
    "tRBeJgk33yuGBxrMPHi"
)


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _signature_cases() -> list[tuple[str, str, str]]:
    """(address, message, signature) triples that must never be valid."""
    rng = random.Random(14)
    cases: list[tuple[str, str, str]] = []
    valid = [
        (v["address"], v["message"], s)
        for kind in ("simple", "full", "proof_of_funds")
        for v in GEN[kind]
        for s in v["bip322_signatures"]
    ]
    for address, message, sig in valid:
        raw = base64.b64decode(sig[3:])
        # truncated at three points
        for cut in (1, len(raw) // 2, len(raw) - 1):
            cases.append((address, message, sig[:3] + _b64(raw[:cut])))
        # trailing garbage
        cases.append((address, message, sig[:3] + _b64(raw + b"\x00")))
        # one random byte flipped
        bad = bytearray(raw)
        bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        cases.append((address, message, sig[:3] + _b64(bytes(bad))))
        # the right bytes under the wrong prefix
        other = {"smp": "ful", "ful": "pof", "pof": "smp"}[sig[:3]]
        cases.append((address, message, other + sig[3:]))
    for junk in (
        "smp",
        "ful",
        "pof",
        "smp====",
        "smp!!!!",
        "pof" + _b64(b"psbt\xff"),
        "pof" + _b64(b"psbt\xff\x01\x00\xff" + b"\xff" * 8),
        "ful" + _b64(b"\x02\x00\x00\x00\x00\x01"),
        "smp" + _b64(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
        "smp" + _b64(b"\xfd\x00\x00"),  # non-canonical compact size
        "smp" + _b64(b"\x01\xfe\xff\xff\xff\x7f"),  # a 2 GB item claimed in 6 bytes
        _b64(b"\x1f" + b"\x00" * 64),  # legacy header, r = s = 0
        _b64(b"\x2b" + b"\x01" * 64),  # header 43: out of range
        _b64(bytes(range(65))),
        "G" * 88,
        " " * 10,
        "\x00" * 10,
        "smp" + "A" * 1001,
        "x" * 500_001,
    ):
        cases.append((ADDR, "", junk))
    for _ in range(20):
        cases.append((ADDR, "", "smp" + _b64(rng.randbytes(rng.randrange(1, 200)))))
        cases.append((ADDR, "", "ful" + _b64(rng.randbytes(rng.randrange(1, 200)))))
    return cases


CASES = _signature_cases()


def test_at_least_100_hostile_cases() -> None:
    assert len(CASES) + len(BAD_ADDRESSES) + len(BAD_FILES) >= 100


@pytest.mark.parametrize(("address", "message", "sig"), CASES)
def test_hostile_signature_is_never_valid(address: str, message: str, sig: str) -> None:
    proof = verify_message(address, message, sig, "main")
    assert proof.status is not ProofStatus.VALID
    assert len(proof.reason) < 300
    if len(sig) > 40:
        assert sig[3:40] not in proof.reason  # the input is not echoed back


BAD_ADDRESSES = [
    WIF,
    XPRV,
    "L" + WIF[1:],
    "",
    "bc1",
    "bc1qqqqqqq",
    "tb1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l",  # bad checksum on testnet hrp
    "bcrt1qqthe0hz8klx90e7stf6shclhsvqd5ly96pn53v",
    "1BxMhvfWLnGLqVhJ3j39oDBk7qf5D86BFf",  # base58 checksum broken
    "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",  # testnet p2pkh on main
    "0x0cdcdb19a857c2ac24818ca4fdfe38cce071483e",
    "a" * 10_000,
    "\u202e" + ADDR,
]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_bad_address_is_a_typed_error_without_secrets(address: str) -> None:
    sig = GEN["simple"][0]["bip322_signatures"][0]
    with pytest.raises(InputError) as info:
        verify_message(address, "m", sig, "main")
    text = str(info.value)
    assert WIF not in text and WIF[:12] not in text and XPRV[:12] not in text
    assert len(text) < 400
    if address in (WIF, XPRV):
        assert isinstance(info.value, PrivateKeyError)


def test_multisig_hostile_scripts() -> None:
    a = "3Nye4j1GUFqCEBR3do2KEFZAs9oLe8NZ6X"
    for script_hex in ("", "zz", "00" * 5000, "ae", "52" + "21" + "02" * 33 + "51ae"):
        proof = verify_multisig_signatures(a, "m", ["AAAA", "!!"], script_hex, "main")
        assert proof.status is not ProofStatus.VALID


BAD_FILES = [
    "",
    "\x00\x01",
    "{",
    "[1, 2]",
    '{"format": "utxo_truth-reserve-proofs/1", "rows": 5}',
    '{"format": "utxo_truth-reserve-proofs/1", "rows": [5]}',
    '{"format": "utxo_truth-reserve-proofs/1", "rows": [{"address": 5}]}',
    '{"format": "utxo_truth-reserve-proofs/1", "rows": [{"address": "x", "signature": 5}]}',
    '{"format": "utxo_truth-reserve-proofs/1", "rows": [{"address": "x", "claimed_sats": 1.5}]}',
    '{"format": "other"}',
    "[" * 100_000,
    "address,balance,message,signature\nx,NaN-ish,m,s\n",
    "address,balance,message,signature\nx,0.000000001,m,s\n",
    "address,balance,message,signature\nx,-1,m,s\n",
    "coin,Network,address,amount,message\nBTC,BTC,x,1e400000,m\n",
    "coin,Network,address\nBTC,BTC,x\n",
    "address\n" + "x\n",
    "a" * (64 * 1024 * 1024 + 1),
]


@pytest.mark.parametrize("text", BAD_FILES, ids=range(len(BAD_FILES)))
def test_bad_reserve_files(text: str) -> None:
    with pytest.raises(ReserveFileError) as info:
        parse_reserve_proofs(text, "main")
    assert len(str(info.value)) < 400


def test_private_key_in_a_reserve_row_is_not_echoed() -> None:
    proofs = parse_reserve_proofs(f"address,message,signature\n{WIF},m,sig\n", "main")
    row = proofs.rows[0]
    assert row.status == "invalid"
    assert WIF not in row.reason and WIF[:12] not in row.reason
