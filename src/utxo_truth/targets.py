"""Parse what a user watches into scriptPubKeys with their origin.

Accepted, always for one explicit network:

* extended public keys of every SLIP-132 flavour: ``xpub/tpub`` (P2PKH, BIP44), ``ypub/upub``
  (P2SH-P2WPKH, BIP49), ``zpub/vpub`` (P2WPKH, BIP84); they are watched on their receive (``/0/*``)
  and change (``/1/*``) chains. ``Ypub/Zpub/Upub/Vpub`` are one cosigner of a multisig and are
  refused with :class:`MultisigNeedsDescriptorError`: pass the wallet's descriptor;
* output descriptors (BIP380-386): ``pk pkh wpkh sh(wpkh) tr wsh sh(wsh) sh multi sortedmulti
  addr raw``, key origins, ranged ``/*`` and multipath ``/<0;1>/*``. A ``#checksum`` is verified
  when given (Bitcoin Core's algorithm) and added when absent;
* addresses of every kind (base58 P2PKH/P2SH, bech32 v0, bech32m v1+);
* raw scriptPubKey hex of a recognised form (bare P2PK has no address; ``raw(HEX)`` takes any).

Private material — xprv/tprv and their SLIP-132 siblings, WIF keys, descriptors holding them —
is refused with :class:`PrivateKeyError`. Such an input is never echoed in a message (not even in
part), and nothing derived from it leaves this module.

Example:
    >>> t = parse_target("bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f", "regtest")
    >>> t.kind, t.script_type, t.script().hex()
    ('address', 'p2wpkh', '0014756535a3319c6d8933ff03fa30285105d895a189')
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._derive import FAST, child_pubkey, hash160, parse_pubkey, taproot_output_key
from ._exceptions import (
    ChecksumError,
    DescriptorError,
    MultisigNeedsDescriptorError,
    NetworkMismatchError,
    PrivateKeyError,
    TargetError,
)
from ._network import Network, parse_network
from ._script import address_of, script_type_of

__all__ = [
    "Target",
    "address_of",
    "descriptor_checksum",
    "parse_target",
    "parse_targets",
    "script_type_of",
]

TargetKind = Literal["xpub", "descriptor", "address", "script"]

# ---------------------------------------------------------------------------------------------
# Descriptor checksum (BIP380; the algorithm of Bitcoin Core's DescriptorChecksum)

_INPUT_CHARSET = (
    "0123456789()[],'/*abcdefgh@:$%{}"
    "IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~"
    'ijklmnopqrstuvwxyzABCDEFGH`#"\\ '
)
_CHECKSUM_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD)


def _polymod(c: int, val: int) -> int:
    top = c >> 35
    c = ((c & 0x7FFFFFFFF) << 5) ^ val
    for i, g in enumerate(_GENERATOR):
        if (top >> i) & 1:
            c ^= g
    return c


def descriptor_checksum(desc: str) -> str:
    """The 8-character checksum of a descriptor (without its ``#...`` part).

    Example:
        >>> descriptor_checksum("raw(deadbeef)")
        '89f8spxm'
    """
    c = 1
    cls = 0
    count = 0
    for ch in desc:
        pos = _INPUT_CHARSET.find(ch)
        if pos < 0:
            raise DescriptorError(
                f"descriptor contains a character that descriptors cannot hold: {ch!r}"
            )
        c = _polymod(c, pos & 31)
        cls = cls * 3 + (pos >> 5)
        count += 1
        if count == 3:
            c = _polymod(c, cls)
            cls = 0
            count = 0
    if count:
        c = _polymod(c, cls)
    for _ in range(8):
        c = _polymod(c, 0)
    c ^= 1
    return "".join(_CHECKSUM_CHARSET[(c >> (5 * (7 - j))) & 31] for j in range(8))


# ---------------------------------------------------------------------------------------------
# Extended keys and SLIP-132 versions

_PUBLIC_VERSIONS: dict[bytes, tuple[str, str, str]] = {
    # version: (prefix, family, script type)
    bytes.fromhex("0488b21e"): ("xpub", "main", "pkh"),
    bytes.fromhex("049d7cb2"): ("ypub", "main", "sh-wpkh"),
    bytes.fromhex("04b24746"): ("zpub", "main", "wpkh"),
    bytes.fromhex("0295b43f"): ("Ypub", "main", "sh-wsh-multi"),
    bytes.fromhex("02aa7ed3"): ("Zpub", "main", "wsh-multi"),
    bytes.fromhex("043587cf"): ("tpub", "test", "pkh"),
    bytes.fromhex("044a5262"): ("upub", "test", "sh-wpkh"),
    bytes.fromhex("045f1cf6"): ("vpub", "test", "wpkh"),
    bytes.fromhex("024289ef"): ("Upub", "test", "sh-wsh-multi"),
    bytes.fromhex("02575483"): ("Vpub", "test", "wsh-multi"),
}
_PRIVATE_VERSIONS = {
    bytes.fromhex(v)
    for v in [
        "0488ade4",
        "049d7878",
        "04b2430c",
        "0295b005",
        "02aa7a99",
        "04358394",
        "044a4e28",
        "045f18bc",
        "024285b5",
        "02575048",
    ]
}
_PRIVATE_PREFIXES = ("xprv", "yprv", "zprv", "Yprv", "Zprv", "tprv", "uprv", "vprv", "Uprv", "Vprv")
_STANDARD_PUB = {"main": bytes.fromhex("0488b21e"), "test": bytes.fromhex("043587cf")}
_FAMILY_TITLE = {"main": "mainnet", "test": "testnet/signet/regtest"}

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_TOKEN = re.compile(f"[{_B58}]{{50,}}")
_HEX = set(string.hexdigits)


def _b58decode(s: str) -> bytes | None:
    """Base58 decode without checksum; None if ``s`` has a non-base58 character."""
    n = 0
    for ch in s:
        i = _B58.find(ch)
        if i < 0:
            return None
        n = n * 58 + i
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    pad = len(s) - len(s.lstrip("1"))
    return b"\x00" * pad + raw


def _b58check(s: str) -> tuple[bytes | None, bool]:
    """(payload, checksum ok). payload is None when ``s`` is not base58 at all."""
    import hashlib

    raw = _b58decode(s)
    if raw is None or len(raw) < 5:
        return None, False
    payload, check = raw[:-4], raw[-4:]
    ok = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == check
    return payload, ok


def _looks_private(token: str) -> str | None:
    """A description of the private material ``token`` seems to be, or None."""
    if token.startswith(_PRIVATE_PREFIXES):
        return "an extended private key"
    payload, _ = _b58check(token)
    if payload is not None:
        if len(payload) == 78 and payload[:4] in _PRIVATE_VERSIONS:
            return "an extended private key"
        wif_sized = len(payload) == 33 or (len(payload) == 34 and payload[33] == 0x01)
        if wif_sized and payload[0] in (0x80, 0xEF):
            return "a WIF private key"
    # A WIF with a typo still holds most of a secret: refuse the shape, not just the valid ones.
    if len(token) in (51, 52) and token[0] in "5KL9c" and not set(token) <= _HEX:
        return "what looks like a WIF private key"
    return None


def _refuse_private(text: str) -> None:
    for token in _B58_TOKEN.findall(text):
        what = _looks_private(token)
        if what:
            raise PrivateKeyError(
                f"refused: the input holds {what}. utxo_truth only watches: give the matching "
                "public key (xpub/tpub, or a descriptor from `getdescriptorinfo`/a wallet's "
                "'export public descriptor'). The secret was not stored, printed or sent."
            )
    stripped = text.strip()
    if len(stripped) == 64 and set(stripped) <= _HEX:
        raise PrivateKeyError(
            "refused: a bare 32-byte hex string may be a raw private key and is not a script. "
            "To watch an arbitrary script use raw(HEX); for a key use a descriptor like pk(...)."
        )


def _describe(text: str) -> str:
    """A safe short description of an input for error messages."""
    t = text.strip()
    if len(t) <= 16:
        return repr(t)
    return f"{t[:8]!r}... ({len(t)} characters)"


# ---------------------------------------------------------------------------------------------
# Scripts and addresses


_HRP_NETWORKS = {"bc": "mainnet", "tb": "testnet/signet", "bcrt": "regtest"}


def _address_script(text: str, network: Network) -> bytes:
    from embit import bech32

    p = network.params
    lowered = text.lower()
    hrp = lowered.rsplit("1", 1)[0] if "1" in lowered else ""
    if hrp in _HRP_NETWORKS and text in (lowered, text.upper()):
        if hrp != p.hrp:
            raise NetworkMismatchError(
                f"address {_describe(text)} is a {_HRP_NETWORKS[hrp]} address, but the network "
                f"is {network.label}: pass --network matching the address",
                expected=network.label,
                found=_HRP_NETWORKS[hrp],
            )
        hrp_, _data, _spec = bech32.bech32_decode(lowered)
        if hrp_ is None:
            raise ChecksumError(
                f"address {_describe(text)} has a bad bech32/bech32m checksum: check it for a typo"
            )
        version, program = bech32.decode(p.hrp, lowered)
        if version is None:
            raise TargetError(
                f"address {_describe(text)} is not a valid segwit address (BIP173/BIP350: wrong "
                "program length, or bech32 used where bech32m is required)"
            )
        return bytes([0 if version == 0 else 0x50 + version, len(program)]) + bytes(program)
    payload, ok = _b58check(text)
    if payload is None or len(payload) != 21:
        raise TargetError(
            f"{_describe(text)} is not an address, extended public key, descriptor or script hex "
            "that utxo_truth can read"
        )
    if not ok:
        raise ChecksumError(
            f"address {_describe(text)} has a bad base58 checksum: check for a typo"
        )
    version = payload[0]
    if version == p.p2pkh:
        return b"\x76\xa9\x14" + payload[1:] + b"\x88\xac"
    if version == p.p2sh:
        return b"\xa9\x14" + payload[1:] + b"\x87"
    found = {
        0x00: "mainnet",
        0x05: "mainnet",
        0x6F: "testnet/signet/regtest",
        0xC4: "testnet/signet/regtest",
    }
    raise NetworkMismatchError(
        f"address {_describe(text)} is a {found.get(version, f'version-{version}')} address, but "
        f"the network is {network.label}",
        expected=network.label,
        found=found.get(version, f"version byte {version}"),
    )


# ---------------------------------------------------------------------------------------------
# Targets

ScriptsFn = Callable[[int, int], list[bytes]]


@dataclass(frozen=True, eq=False)
class Target:
    """One thing to watch, turned into scripts.

    ``branches`` names the chains of a ranged target (``("receive", "change")`` for an xpub or a
    ``/<0;1>/*`` descriptor); it is empty for a target that is a single script.
    """

    text: str
    """The target as shown back to the user: descriptors with their checksum."""
    kind: TargetKind
    script_type: str
    network: Network
    branches: tuple[str, ...] = ()
    _single: bytes | None = field(default=None, repr=False)
    _derive: tuple[ScriptsFn, ...] = field(default=(), repr=False)
    descriptor: str = ""
    """The target as a descriptor without checksum (``addr()``/``raw()`` for single scripts)."""

    def scan_descriptor(self, branch: int | None = None) -> str:
        """The descriptor of one branch, with its checksum: what a node is asked to scan."""
        body = self.descriptor
        if branch is not None and "<" in body:
            body = re.sub(r"<([0-9;]+)>", lambda m: m.group(1).split(";")[branch], body)
        return f"{body}#{descriptor_checksum(body)}"

    @property
    def ranged(self) -> bool:
        """True when the target stands for an unbounded sequence of scripts per branch."""
        return bool(self.branches)

    def script(self) -> bytes:
        """The single script of a non-ranged target."""
        if self._single is None:
            raise TypeError(f"{self.text} is ranged: use scripts(branch, start, stop)")
        return self._single

    def scripts(self, branch: int, start: int, stop: int) -> list[bytes]:
        """Scripts at indexes ``start`` .. ``stop - 1`` of ``branch``."""
        if not 0 <= start <= stop <= 0x80000000:
            raise ValueError(f"index range {start}..{stop} is outside 0..2**31")
        return self._derive[branch](start, stop)


def parse_targets(texts: Sequence[str], network: Network | str) -> list[Target]:
    """Parse several targets for one network (see :func:`parse_target`)."""
    return [parse_target(t, network) for t in texts]


def parse_target(text: str, network: Network | str) -> Target:
    """Turn an xpub, descriptor, address or script hex into a :class:`Target`.

    Raises:
        PrivateKeyError: the input holds private key material.
        NetworkMismatchError: a key or address of another network.
        ChecksumError: a descriptor/base58/bech32 checksum is wrong.
        MultisigNeedsDescriptorError: a lone Ypub/Zpub/Upub/Vpub.
        DescriptorError: a malformed or unsupported descriptor.
        TargetError: anything else we cannot read.
    """
    net = parse_network(network)
    if not isinstance(text, str):
        raise TargetError(f"a target must be a string, not {type(text).__name__}")
    _refuse_private(text)
    t = text.strip()
    if not t:
        raise TargetError("empty target: give an xpub, a descriptor, an address or script hex")
    if len(t) > 20_000:
        raise TargetError(f"target of {len(t)} characters is too long to be a key or descriptor")
    if "(" in t or "#" in t:
        return _parse_descriptor(t, net)
    if t[:4] in {v[0] for v in _PUBLIC_VERSIONS.values()}:
        return _parse_xpub(t, net)
    if set(t) <= _HEX and len(t) % 2 == 0 and len(t) >= 2:
        script = bytes.fromhex(t)
        kind = script_type_of(script)
        if kind == "nonstandard":
            raise TargetError(
                f"hex {_describe(t)} is not a recognised scriptPubKey; wrap it as raw(HEX) to "
                "watch an arbitrary script"
            )
        return Target(
            text=t.lower(),
            kind="script",
            script_type=kind,
            network=net,
            _single=script,
            descriptor=f"raw({t.lower()})",
        )
    script = _address_script(t, net)
    return Target(
        text=t,
        kind="address",
        script_type=script_type_of(script),
        network=net,
        _single=script,
        descriptor=f"addr({t})",
    )


def _parse_xpub(text: str, net: Network) -> Target:
    payload, ok = _b58check(text)
    if payload is None or len(payload) != 78:
        raise TargetError(
            f"{_describe(text)} looks like an extended public key but is not 78 bytes of base58 "
            "(truncated or not a key)"
        )
    if not ok:
        raise ChecksumError(f"extended public key {_describe(text)} has a bad checksum: a typo?")
    prefix, family, kind = _PUBLIC_VERSIONS.get(payload[:4], ("?", "?", "?"))
    if family != net.params.family:
        raise NetworkMismatchError(
            f"{prefix} {_describe(text)} is a {_FAMILY_TITLE.get(family, family)} key, but the "
            f"network is {net.label}",
            expected=net.label,
            found=_FAMILY_TITLE.get(family, family),
        )
    if kind.endswith("multi"):
        raise MultisigNeedsDescriptorError(
            f"{prefix} is one cosigner of a {kind} multisig: its scripts need every cosigner's "
            "key. Pass the wallet's descriptor, e.g. wsh(sortedmulti(2,KEY1/<0;1>/*,KEY2/<0;1>/*,"
            "...)), with each key in standard xpub/tpub form"
        )
    _check_xpub_payload(payload, text)
    from embit import base58

    standard = base58.encode_check(_STANDARD_PUB[family] + payload[4:])
    inner = f"{standard}/<0;1>/*"
    desc = {"pkh": f"pkh({inner})", "sh-wpkh": f"sh(wpkh({inner}))", "wpkh": f"wpkh({inner})"}[kind]
    target = _parse_descriptor(desc, net)
    return Target(
        text=text,
        kind="xpub",
        script_type=kind,
        network=net,
        branches=target.branches,
        _derive=target._derive,
        descriptor=target.descriptor,
    )


def _check_xpub_payload(payload: bytes, text: str) -> None:
    """BIP32 serialization rules (test vector 5): depth 0 means no parent, the key is a point."""
    depth, parent, index, key = payload[4], payload[5:9], payload[9:13], payload[45:78]
    if depth == 0 and parent != b"\0\0\0\0":
        raise TargetError(f"extended key {_describe(text)} has depth 0 but a parent fingerprint")
    if depth == 0 and index != b"\0\0\0\0":
        raise TargetError(f"extended key {_describe(text)} has depth 0 but a child index")
    if key[0] not in (2, 3):
        raise TargetError(
            f"extended key {_describe(text)} does not hold a compressed public key (first byte "
            f"{key[0]:02x}; a public version with private key data?)"
        )
    try:
        parse_pubkey(key) if FAST else _embit_pubkey(key)
    except Exception:
        raise TargetError(
            f"extended key {_describe(text)} holds a public key that is not on the curve"
        ) from None


def _embit_pubkey(sec: bytes) -> None:
    from embit import ec

    ec.PublicKey.parse(sec)


def _split_checksum(text: str) -> str:
    if "#" not in text:
        return text
    body, _, given = text.rpartition("#")
    if len(given) != 8 or any(c not in _CHECKSUM_CHARSET for c in given):
        raise ChecksumError(
            f"descriptor checksum {given!r} is malformed: it must be 8 characters of the bech32 "
            "alphabet (or leave it out and utxo_truth computes it)"
        )
    expected = descriptor_checksum(body)
    if given != expected:
        raise ChecksumError(
            f"descriptor checksum #{given} does not match the descriptor (computed #{expected}): "
            "the descriptor was changed or mistyped"
        )
    return body


def _outer(body: str) -> tuple[str, str]:
    m = re.fullmatch(r"([a-z]+)\((.*)\)", body, re.S)
    if not m:
        raise DescriptorError(
            f"descriptor {_describe(body)} is not of the form NAME(...) with balanced parentheses"
        )
    return m.group(1), m.group(2)


def _parse_descriptor(text: str, net: Network) -> Target:
    body = _split_checksum(text)
    shown = f"{body}#{descriptor_checksum(body)}"
    name, inner = _outer(body)
    if name == "addr":
        script = _address_script(inner, net)
        return Target(
            shown, "descriptor", script_type_of(script), net, _single=script, descriptor=body
        )
    if name == "raw":
        if not (set(inner) <= _HEX and len(inner) % 2 == 0):
            raise DescriptorError("raw(...) takes the script as an even number of hex digits")
        script = bytes.fromhex(inner)
        return Target(
            shown, "descriptor", script_type_of(script), net, _single=script, descriptor=body
        )
    if name in ("combo", "rawtr", "musig"):
        raise DescriptorError(
            f"{name}() descriptors are not supported: list the scripts you mean with pkh(), "
            "wpkh(), sh(wpkh()) or tr() instead"
        )
    bare = name in ("pk", "multi", "sortedmulti")
    from embit.descriptor import Descriptor

    try:
        desc: Any = Descriptor.from_string(f"wsh({body})" if bare else body)
    except Exception as exc:  # embit raises ValueError, its own errors, or worse on garbage
        raise DescriptorError(
            f"malformed descriptor {_describe(body)}: {type(exc).__name__}: {_safe(str(exc))}"
        ) from None
    for key in desc.keys:
        _check_key(key, net)
    script_type = _descriptor_type(name, desc)
    if bare and name != "pk" and len(desc.keys) > 3:
        raise DescriptorError("bare multi() holds at most 3 keys (Bitcoin Core's rule); use wsh()")
    if not desc.is_wildcard:
        try:
            script = _embit_script(desc, None, bare, 0)
        except Exception as exc:
            raise DescriptorError(f"cannot derive {_describe(body)}: {_safe(str(exc))}") from None
        return Target(shown, "descriptor", script_type, net, _single=script, descriptor=body)
    n = desc.num_branches
    names = ("receive", "change") if n == 2 else tuple(f"branch {i}" for i in range(n))
    if n == 1:
        names = (_chain_name(desc),)
    derivers = tuple(_make_deriver(desc, b if n > 1 else None, bare) for b in range(n))
    for d in derivers:  # fail now, not in the middle of a scan (e.g. hardened after an xpub)
        try:
            d(0, 1)
        except Exception as exc:
            raise DescriptorError(f"cannot derive {_describe(body)}: {_safe(str(exc))}") from None
    return Target(
        shown, "descriptor", script_type, net, branches=names, _derive=derivers, descriptor=body
    )


def _safe(message: str) -> str:
    """A third-party message with anything key-like cut out."""
    message = _B58_TOKEN.sub("<key>", message)
    return re.sub(r"[0-9a-fA-F]{40,}", "<hex>", message)[:200]


def _check_key(key: Any, net: Network) -> None:
    if getattr(key, "is_private", False):
        raise PrivateKeyError(
            "refused: the descriptor holds a private key. Give the public descriptor instead. "
            "The secret was not stored, printed or sent."
        )
    if key.is_extended:
        version = bytes(key.key.version)
        family = _PUBLIC_VERSIONS.get(version, ("", "", ""))[1]
        if family and family != net.params.family:
            raise NetworkMismatchError(
                f"the descriptor holds a {_FAMILY_TITLE[family]} key, but the network is "
                f"{net.label}",
                expected=net.label,
                found=_FAMILY_TITLE[family],
            )
        if version != _STANDARD_PUB.get(net.params.family):
            raise DescriptorError(
                "keys inside descriptors must be in standard xpub/tpub form, not SLIP-132 "
                "(ypub/zpub/...): the descriptor itself says the script type"
            )


def _descriptor_type(name: str, desc: Any) -> str:
    if name in ("pk", "multi", "sortedmulti"):
        return name
    if desc.taproot:
        return "tr" if not desc.taptree else "tr-tree"
    if desc.miniscript is not None:
        inner = type(desc.miniscript).__name__.lower()
        inner = inner if inner in ("multi", "sortedmulti") else "script"
        prefix = ("sh-" if desc.sh else "") + ("wsh-" if desc.wsh else "")
        return prefix + inner
    return "sh-wpkh" if desc.sh else ("wpkh" if desc.wpkh else "pkh")


def _chain_name(desc: Any) -> str:
    idx = desc.keys[0].allowed_derivation.indexes if desc.keys[0].is_extended else []
    if len(idx) >= 2 and idx[-1] is None and idx[-2] in (0, 1):
        return ("receive", "change")[idx[-2]]
    return "branch 0"


def _embit_script(desc: Any, branch: int | None, bare: bool, index: int) -> bytes:
    # A fixed path (xpub/0/5) must be applied too: embit's script_pubkey() on an underived
    # descriptor uses the bare xpub, silently giving another script.
    fixed = any(k.is_extended for k in desc.keys)
    d = desc.derive(index, branch_index=branch) if desc.is_wildcard or fixed else desc
    data: bytes = (d.witness_script() if bare else d.script_pubkey()).data
    return data


def _make_deriver(desc: Any, branch: int | None, bare: bool) -> ScriptsFn:
    fast = _fast_deriver(desc, branch, bare) if FAST else None
    if fast is not None:
        return fast

    def slow(start: int, stop: int) -> list[bytes]:
        return [_embit_script(desc, branch, bare, i) for i in range(start, stop)]

    return slow


KeyFn = Callable[[int], bytes]


def _key_fn(key: Any, branch: int | None) -> KeyFn | None:
    """Child-pubkey function for one descriptor key, or None when the fast path cannot help."""
    if not key.is_extended:
        sec: bytes = key.sec()
        return lambda _i: sec
    indexes = key.allowed_derivation.fill(None, branch) if key.allowed_derivation else []
    if not indexes or indexes[-1] is not None:  # wildcard must be last (the usual .../*)
        return None
    if any(i is None or i >= 0x80000000 for i in indexes[:-1]):
        return None
    parent = key.key.derive(indexes[:-1]) if len(indexes) > 1 else key.key
    psec: bytes = parent.key.sec()
    if len(psec) != 33:
        return None
    ppub = parse_pubkey(psec)
    chain_code: bytes = parent.chain_code
    return lambda i: child_pubkey(psec, ppub, chain_code, i)


def _fast_deriver(desc: Any, branch: int | None, bare: bool) -> ScriptsFn | None:
    if desc.taproot or desc.miniscript is None:
        maybe = None if desc.taptree else _key_fn(desc.key, branch)
        if maybe is None:
            return None
        kf: KeyFn = maybe
        if desc.taproot:
            return lambda a, b: [b"\x51\x20" + taproot_output_key(kf(i)) for i in range(a, b)]
        if desc.sh:
            return lambda a, b: [
                b"\xa9\x14" + hash160(b"\x00\x14" + hash160(kf(i))) + b"\x87" for i in range(a, b)
            ]
        if desc.wpkh:
            return lambda a, b: [b"\x00\x14" + hash160(kf(i)) for i in range(a, b)]
        return lambda a, b: [b"\x76\xa9\x14" + hash160(kf(i)) + b"\x88\xac" for i in range(a, b)]
    ms = desc.miniscript
    kind = type(ms).__name__
    if kind == "Pk" and bare:
        pk_fn = _key_fn(ms.args[0], branch)
        if pk_fn is None:
            return None
        key_fn: KeyFn = pk_fn
        return lambda a, b: [b"\x21" + key_fn(i) + b"\xac" for i in range(a, b)]
    if kind not in ("Multi", "Sortedmulti"):
        return None
    threshold = int(ms.args[0].num)
    fns = [_key_fn(k, branch) for k in ms.args[1:]]
    if any(f is None for f in fns) or not 1 <= threshold <= len(fns) <= 16:
        return None
    key_fns: list[KeyFn] = [f for f in fns if f is not None]
    sort = kind == "Sortedmulti"

    def multisig(i: int) -> bytes:
        keys = [f(i) for f in key_fns]
        if sort:
            keys.sort()
        return (
            bytes([0x50 + threshold])
            + b"".join(b"\x21" + k for k in keys)
            + bytes([0x50 + len(keys), 0xAE])
        )

    def wrap(ws: bytes) -> bytes:
        if bare:
            return ws
        import hashlib

        if desc.wsh:
            p2wsh = b"\x00\x20" + hashlib.sha256(ws).digest()
            return b"\xa9\x14" + hash160(p2wsh) + b"\x87" if desc.sh else p2wsh
        return b"\xa9\x14" + hash160(ws) + b"\x87"

    return lambda a, b: [wrap(multisig(i)) for i in range(a, b)]
