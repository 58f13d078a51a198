"""Scripts and their addresses: classification and encoding, shared by targets and sources."""

from __future__ import annotations

from collections.abc import Iterable

from ._network import Network, parse_network

__all__ = [
    "NULL_TXID",
    "address_of",
    "bech32_parse",
    "compact_size",
    "read_compact_size",
    "script_type_of",
    "segwit_address",
    "segwit_decode",
]

NULL_TXID = b"\x00" * 32
"""The txid of the null outpoint a coinbase input spends (consensus: CTransaction::IsCoinBase)."""


def compact_size(n: int) -> bytes:
    """Bitcoin's CompactSize length prefix (serialize.h ``WriteCompactSize``).

    Not Core's VARINT, which the UTXO snapshot uses for heights and amounts.

    Example:
        >>> compact_size(252).hex(), compact_size(253).hex(), compact_size(2**32).hex()
        ('fc', 'fdfd00', 'ff0000000001000000')
    """
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def read_compact_size(b: bytes, i: int) -> tuple[int, int]:
    """Read a CompactSize at ``b[i]``: (value, next index); ``IndexError`` past the end.

    Example:
        >>> read_compact_size(bytes.fromhex("fdfd00ff"), 0)
        (253, 3)
    """
    first = b[i]
    if first < 0xFD:
        return first, i + 1
    width = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
    if i + 1 + width > len(b):
        raise IndexError("CompactSize runs past the end")
    return int.from_bytes(b[i + 1 : i + 1 + width], "little"), i + 1 + width


def script_type_of(script: bytes) -> str:
    """Classify a scriptPubKey.

    One of p2pkh, p2sh, p2wpkh, p2wsh, p2tr, witness_vN, p2pk, multisig, nulldata, nonstandard.
    """
    n = len(script)
    if n == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return "p2pkh"
    if n == 23 and script[:2] == b"\xa9\x14" and script[22] == 0x87:
        return "p2sh"
    if n == 22 and script[:2] == b"\x00\x14":
        return "p2wpkh"
    if n == 34 and script[:2] == b"\x00\x20":
        return "p2wsh"
    if n == 34 and script[:2] == b"\x51\x20":
        return "p2tr"
    if 4 <= n <= 42 and (script[0] == 0 or 0x51 <= script[0] <= 0x60) and script[1] == n - 2:
        return f"witness_v{0 if script[0] == 0 else script[0] - 0x50}"
    compressed_pk = n == 35 and script[0] == 33 and script[1] in (2, 3)
    uncompressed_pk = n == 67 and script[0] == 65 and script[1] == 4
    if (compressed_pk or uncompressed_pk) and script[-1] == 0xAC:
        return "p2pk"
    if n >= 37 and script[-1] == 0xAE and 0x51 <= script[0] <= 0x60 and 0x51 <= script[-2] <= 0x60:
        return "multisig"
    if n >= 1 and script[0] == 0x6A:
        return "nulldata"
    return "nonstandard"


def address_of(script: bytes, network: Network | str) -> str | None:
    """The address of ``script`` on ``network``, or None where no address exists.

    Example:
        >>> address_of(bytes.fromhex("0014756535a3319c6d8933ff03fa30285105d895a189"), "regtest")
        'bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f'
    """
    p = parse_network(network).params
    kind = script_type_of(script)
    if kind in ("p2pkh", "p2sh"):
        from embit import base58  # hashlib only (not embit's libsecp256k1)

        prefix, body = (p.p2pkh, script[3:23]) if kind == "p2pkh" else (p.p2sh, script[2:22])
        return str(base58.encode_check(bytes([prefix]) + body))
    if kind in ("p2wpkh", "p2wsh", "p2tr") or kind.startswith("witness_v"):
        version = 0 if script[0] == 0 else script[0] - 0x50
        return segwit_address(p.hrp, version, script[2:])  # None: no valid witness program
    return None


# Bech32 (BIP-173) and Bech32m (BIP-350), our own: embit's module would load its libsecp256k1
# through ctypes at the first address, which costs more than a snapshot scan's whole start.

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUE = {c: i for i, c in enumerate(_CHARSET)}
BECH32_CONST = 1
"""BIP-173: what the checksum of a valid Bech32 string leaves."""
BECH32M_CONST = 0x2BC830A3
"""BIP-350: what the checksum of a valid Bech32m string leaves."""
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: Iterable[int]) -> int:
    """BIP-173's checksum: the BCH code's remainder over GF(32) of the 5-bit values."""
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, g in enumerate(_GENERATOR):
            if top >> i & 1:
                chk ^= g
    return chk


def _hrp_values(hrp: str) -> list[int]:
    """BIP-173: the human-readable part as checksummed (high bits, a zero, low bits)."""
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _regroup(values: Iterable[int], width: int, to: int, pad: bool) -> list[int] | None:
    """Values of ``width`` bits as values of ``to`` bits, big-endian (None: bad padding)."""
    acc = bits = 0
    out = []
    mask = (1 << to) - 1
    for value in values:
        acc = (acc << width | value) & ((1 << (width + to - 1)) - 1)
        bits += width
        while bits >= to:
            bits -= to
            out.append(acc >> bits & mask)
    if pad:
        if bits:
            out.append(acc << (to - bits) & mask)
    elif bits >= width or acc << (to - bits) & mask:
        return None  # BIP-173: at most 4 bits of padding, all of them zero
    return out


def bech32_parse(text: str) -> tuple[str, list[int], int] | None:
    """The HRP, data values (checksum left out) and checksum constant of a Bech32(m) string.

    None when ``text`` is neither Bech32 nor Bech32m (BIP-173 and BIP-350's rules).

    Example:
        >>> bech32_parse("a1lqfn3a") == ("a", [], BECH32M_CONST)
        True
    """
    if any(not 33 <= ord(c) <= 126 for c in text):  # BIP-173: characters 33..126 only
        return None
    if text != text.lower() and text != text.upper():  # BIP-173: never mixed case
        return None
    text = text.lower()
    pos = text.rfind("1")  # BIP-173: the separator is the last "1"
    # BIP-173: a non-empty HRP, a 6-character checksum, at most 90 characters in all
    if pos < 1 or pos + 7 > len(text) or len(text) > 90:
        return None
    data = [_VALUE.get(c, -1) for c in text[pos + 1 :]]
    if -1 in data:
        return None
    hrp = text[:pos]
    const = _polymod(_hrp_values(hrp) + data)
    if const not in (BECH32_CONST, BECH32M_CONST):
        return None
    return hrp, data[:-6], const


def segwit_decode(hrp: str, text: str) -> tuple[int, bytes] | None:
    """The witness version and program of segwit address ``text`` for ``hrp`` (None: not one).

    Example:
        >>> v, prog = segwit_decode("bc", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")
        >>> v, prog.hex()
        (0, '751e76e8199196d454941c45d1b3a323f1433bd6')
    """
    parsed = bech32_parse(text)
    if parsed is None or parsed[0] != hrp or not parsed[1]:
        return None
    _, data, const = parsed
    version = data[0]
    program = _regroup(data[1:], 5, 8, pad=False)
    if program is None or not 2 <= len(program) <= 40:  # BIP-141: programs of 2 to 40 bytes
        return None
    if version > 16:  # BIP-141: witness versions 0 to 16
        return None
    if version == 0 and len(program) not in (20, 32):  # BIP-141: v0 is P2WPKH or P2WSH
        return None
    if const != (BECH32_CONST if version == 0 else BECH32M_CONST):  # BIP-350: v1+ is Bech32m
        return None
    return version, bytes(program)


def segwit_address(hrp: str, version: int, program: bytes) -> str | None:
    """The segwit address of a witness program: Bech32 for v0, Bech32m for v1+ (BIP-350).

    None when it is not a valid witness program (BIP-141: version 0..16, 2 to 40 bytes, 20 or
    32 at version 0).

    Example:
        >>> segwit_address("bc", 1, bytes.fromhex("751e"))
        'bc1pw50q7ulhnr'
    """
    if not 0 <= version <= 16 or not 2 <= len(program) <= 40:  # BIP-141
        return None
    if version == 0 and len(program) not in (20, 32):  # BIP-141: P2WPKH or P2WSH
        return None
    data = [version, *(_regroup(program, 8, 5, pad=True) or ())]
    const = BECH32_CONST if version == 0 else BECH32M_CONST  # BIP-350
    chk = _polymod([*_hrp_values(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ const
    text = hrp + "1" + "".join(_CHARSET[d] for d in data)
    text += "".join(_CHARSET[chk >> 5 * (5 - i) & 31] for i in range(6))
    return text if len(text) <= 90 else None  # BIP-173: at most 90 characters
