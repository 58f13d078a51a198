"""Fast non-hardened BIP32 public derivation and script building.

embit derives a descriptor at about 3,000 scripts a second, most of it Python object overhead.
Scanning a wallet over Bitcoin Core's default range (0..999 on two chains) wants faster, so for
the common shapes — one extended key (pkh, wpkh, sh(wpkh), tr key path, pk) or a multisig of
extended keys — we call the libsecp256k1 that embit already loaded, directly, once per child.
Anything else goes through embit's own ``Descriptor.derive``; tests check that both paths give
the same scripts, and ``bitcoinlib`` (an independent implementation) checks both.
"""

from __future__ import annotations

import hashlib
import hmac
from ctypes import byref, c_size_t, create_string_buffer
from typing import Any

__all__ = [
    "child_pubkey",
    "child_xpub",
    "decompress_pubkey",
    "derive_xpub_path",
    "fast",
    "hash160",
    "taproot_output_key",
]

_EC_COMPRESSED = 0b0100000010

_lib: Any = None
_ctx: Any = None
_fast: bool | None = None


def fast() -> bool:
    """Whether libsecp256k1 is usable here; loaded at the first call (``FAST`` says the same).

    Loaded when first needed, not at import: an address or script target never derives a key,
    and loading embit's library (ctypes, a search for the shared object) costs more than a
    snapshot scan's whole start.

    Example:
        >>> isinstance(fast(), bool)
        True
    """
    global _lib, _ctx, _fast
    if _fast is None:
        try:  # embit loads its prebuilt libsecp256k1 (or a system one) through ctypes
            from embit.util import ctypes_secp256k1 as _ct

            _lib, _ctx, _fast = _ct._secp, _ct._secp.ctx, True
        except Exception:  # pragma: no cover - only without a usable libsecp256k1
            _fast = False
    return _fast


def __getattr__(name: str) -> Any:
    if name == "FAST":  # PEP 562: the library is loaded when FAST is first read
        return fast()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TAPTWEAK_TAG = hashlib.sha256(b"TapTweak").digest()


def hash160(data: bytes) -> bytes:
    """RIPEMD160(SHA256(data))."""
    sha = hashlib.sha256(data).digest()
    try:
        return hashlib.new("ripemd160", sha).digest()
    except ValueError:  # pragma: no cover - OpenSSL builds without ripemd160
        from embit.hashes import ripemd160

        out: bytes = ripemd160(sha)
        return out


def _parse(sec: bytes) -> Any:
    if _lib is None:
        fast()  # every use of the library starts with a key parsed here
    pub = create_string_buffer(64)
    if not _lib.secp256k1_ec_pubkey_parse(_ctx, pub, sec, len(sec)):
        raise ValueError("invalid public key")
    return pub


def _serialize(pub: Any) -> bytes:
    out = create_string_buffer(33)
    size = c_size_t(33)
    _lib.secp256k1_ec_pubkey_serialize(_ctx, out, byref(size), pub, _EC_COMPRESSED)
    return out.raw


def child_pubkey(parent_sec: bytes, parent_pub: Any, chain_code: bytes, index: int) -> bytes:
    """Compressed public key of non-hardened child ``index`` (BIP32 CKDpub).

    ``parent_pub`` is the parsed parent (from :func:`parse_pubkey`), reused across children.
    """
    digest = hmac.digest(chain_code, parent_sec + index.to_bytes(4, "big"), "sha512")
    pub = create_string_buffer(parent_pub.raw, 64)
    if not _lib.secp256k1_ec_pubkey_tweak_add(_ctx, pub, digest[:32]):
        # probability about 2**-127; BIP32 says to skip such an index, which no wallet does
        raise ValueError(f"BIP32 child {index} is invalid")
    return _serialize(pub)


def child_xpub(parent_sec: bytes, chain_code: bytes, index: int) -> tuple[bytes, bytes]:
    """BIP32 CKDpub: the (compressed key, chain code) of non-hardened child ``index``."""
    # BIP32 "Public parent key -> public child key": hardened children (i >= 2**31) need the
    # private key, so a public key expression cannot derive them.
    if not 0 <= index < 0x80000000:
        raise ValueError("a public extended key has no hardened children (BIP32)")
    digest = hmac.digest(chain_code, parent_sec + index.to_bytes(4, "big"), "sha512")
    pub = _parse(parent_sec)
    # BIP32: parse256(IL) >= n or a point at infinity makes the index invalid
    if not _lib.secp256k1_ec_pubkey_tweak_add(_ctx, pub, digest[:32]):
        raise ValueError(f"BIP32 child {index} is invalid")
    return _serialize(pub), digest[32:]


def derive_xpub_path(sec: bytes, chain_code: bytes, path: list[int]) -> tuple[bytes, bytes]:
    """Follow a whole non-hardened ``path`` from an extended public key (BIP32 CKDpub each step).

    Example:
        >>> g = bytes.fromhex("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
        >>> derive_xpub_path(g, bytes(32), [0, 1])[0] != derive_xpub_path(g, bytes(32), [1, 0])[0]
        True
    """
    for index in path:
        sec, chain_code = child_xpub(sec, chain_code, index)
    return sec, chain_code


def decompress_pubkey(sec: bytes) -> bytes:
    """The 65-byte uncompressed form of a compressed public key."""
    if fast():
        pub = _parse(sec)
        out = create_string_buffer(65)
        size = c_size_t(65)
        _lib.secp256k1_ec_pubkey_serialize(_ctx, out, byref(size), pub, 0b0000000010)
        return bytes(out.raw)
    from embit import ec  # pragma: no cover - only without libsecp256k1

    key = ec.PublicKey.parse(sec)
    key.compressed = False
    data: bytes = key.sec()
    return data


def parse_pubkey(sec: bytes) -> Any:
    """Parse a compressed or uncompressed public key for :func:`child_pubkey`."""
    return _parse(sec)


def taproot_output_key(sec: bytes) -> bytes:
    """BIP86 key-path output key (x-only, 32 bytes) of the internal key ``sec`` (compressed).

    Q = lift_x(P) + H_TapTweak(x(P))·G, with no script tree.
    """
    xonly = sec[1:33]
    tweak = hashlib.sha256(_TAPTWEAK_TAG + _TAPTWEAK_TAG + xonly).digest()
    pub = _parse(b"\x02" + xonly)
    if not _lib.secp256k1_ec_pubkey_tweak_add(_ctx, pub, tweak):
        raise ValueError("taproot tweak out of range")
    return _serialize(pub)[1:]
