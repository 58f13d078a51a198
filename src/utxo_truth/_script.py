"""Scripts and their addresses: classification and encoding, shared by targets and sources."""

from __future__ import annotations

from ._network import Network, parse_network

__all__ = ["NULL_TXID", "address_of", "compact_size", "read_compact_size", "script_type_of"]

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
    from embit import base58, bech32

    p = parse_network(network).params
    kind = script_type_of(script)
    if kind == "p2pkh":
        return str(base58.encode_check(bytes([p.p2pkh]) + script[3:23]))
    if kind == "p2sh":
        return str(base58.encode_check(bytes([p.p2sh]) + script[2:22]))
    if kind in ("p2wpkh", "p2wsh", "p2tr") or kind.startswith("witness_v"):
        version = 0 if script[0] == 0 else script[0] - 0x50
        return str(bech32.encode(p.hrp, version, script[2:]))
    return None
