"""Our Bech32/Bech32m (utxo_truth._script): BIP-173 and BIP-350's own test vectors, and the same
answers as embit's reference-derived module (an independent implementation) on random input."""

from __future__ import annotations

import random

import pytest
from embit import bech32 as embit_bech32

from utxo_truth._network import Network
from utxo_truth._script import (
    BECH32_CONST,
    BECH32M_CONST,
    address_of,
    bech32_parse,
    segwit_address,
    segwit_decode,
)

# BIP-173 "Test vectors": valid Bech32
VALID_BECH32 = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]
# BIP-350 "Test vectors for Bech32m": valid Bech32m (so, invalid Bech32)
VALID_BECH32M = [
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
]
# BIP-173 and BIP-350: neither Bech32 nor Bech32m (reason in the BIPs)
INVALID = [
    "\x201nwldj5",  # HRP character out of range
    "\x7f1axkwrx",
    "\x801eym55h",
    "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
    "pzry9x0s0muk",  # no separator
    "1pzry9x0s0muk",  # empty HRP
    "x1b4n0q5v",  # invalid data character
    "li1dgmt3",  # too short checksum
    "de1lg7wt\xff",  # invalid character in checksum
    "A1G7SGD8",  # checksum calculated with uppercase form of HRP
    "10a06t8",  # empty HRP
    "1qzzfhee",
    "\x201xj0phk",
    "\x7f1g6xzxy",
    "\x801vctc34",
    "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
    "qyrz8wqd2c9m",
    "1qyrz8wqd2c9m",
    "y1b0jsk6g",
    "lt1igcx5c0",
    "in1muywd",
    "mm1crxm3i",
    "au1s5cgom",
    "M1VUXWEZ",
    "16plkw9",
    "1p2gdwpf",
]
# BIP-350 "Test vectors for v0-v16 native segregated witness addresses": address, scriptPubKey
VALID_SEGWIT = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
    ),
    (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    (
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
]
# BIP-350: invalid segwit addresses (for the HRP of their network)
INVALID_SEGWIT = [
    ("tb", "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut"),  # HRP
    ("bc", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd"),  # Bech32 for v1
    ("tb", "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf"),
    ("bc", "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL"),
    ("bc", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh"),  # Bech32m for v0
    ("tb", "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47"),
    ("bc", "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4"),  # checksum char
    ("bc", "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R"),  # version 17
    ("bc", "bc1pw5dgrnzv"),  # 1-byte program
    ("bc", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav"),  # 41
    ("bc", "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P"),  # 16 bytes at v0 (BIP-141)
    ("tb", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq"),  # mixed case
    ("bc", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf"),  # padding > 4
    ("tb", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j"),  # non-zero pad
    ("bc", "bc1gmk9yu"),  # empty data
]


@pytest.mark.parametrize("text", VALID_BECH32)
def test_bip173_valid(text: str) -> None:
    parsed = bech32_parse(text)
    assert parsed is not None and parsed[2] == BECH32_CONST
    assert parsed[0] == text.lower()[: text.rfind("1")]


@pytest.mark.parametrize("text", VALID_BECH32M)
def test_bip350_valid(text: str) -> None:
    parsed = bech32_parse(text)
    assert parsed is not None and parsed[2] == BECH32M_CONST


@pytest.mark.parametrize("text", INVALID)
def test_invalid_strings(text: str) -> None:
    assert bech32_parse(text) is None


@pytest.mark.parametrize(("address", "script"), VALID_SEGWIT)
def test_valid_segwit_addresses(address: str, script: str) -> None:
    hrp = address.lower()[:2]
    decoded = segwit_decode(hrp, address)
    assert decoded is not None
    version, program = decoded
    spk = bytes([0 if version == 0 else 0x50 + version, len(program)]) + program
    assert spk.hex() == script
    assert segwit_address(hrp, version, program) == address.lower()


@pytest.mark.parametrize(("hrp", "address"), INVALID_SEGWIT)
def test_invalid_segwit_addresses(hrp: str, address: str) -> None:
    assert segwit_decode(hrp, address) is None


def test_same_answers_as_embit() -> None:
    """Encoding random programs, then decoding them with one character changed."""
    rng = random.Random(19)
    encoded = 0
    for _ in range(3000):
        version = rng.choice((0, 0, 1, 1, 2, 16))
        program = rng.randbytes(rng.choice((0, 1, 2, 16, 20, 32, 40, 41)))
        hrp = rng.choice(("bc", "tb", "bcrt"))
        ours = segwit_address(hrp, version, program)
        assert ours == embit_bech32.encode(hrp, version, program)
        if ours is None:
            continue
        encoded += 1
        assert segwit_decode(hrp, ours) == (version, program)
        chars = list(ours)
        chars[rng.randrange(len(chars))] = rng.choice("qpzry9x8gf2tvdw0s3jn54khce6mua7l1B")
        typo = "".join(chars)
        v, prog = embit_bech32.decode(hrp, typo)
        assert segwit_decode(hrp, typo) == (None if v is None else (v, bytes(prog)))
        assert (bech32_parse(typo) is None) == (embit_bech32.bech32_decode(typo)[0] is None)
    assert encoded > 1000


def test_address_of_an_invalid_witness_program_is_none() -> None:
    """A v0 program of 16 bytes is consensus-valid but has no address (BIP-141: 20 or 32)."""
    script = bytes([0, 16]) + bytes(16)
    assert address_of(script, Network.MAIN) is None
    wpkh = bytes.fromhex("0014751e76e8199196d454941c45d1b3a323f1433bd6")
    assert address_of(wpkh, Network.MAIN) == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
