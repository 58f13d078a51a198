"""Parse what a user watches into scriptPubKeys with their origin.

Accepted, always for one explicit network:

* extended public keys of every SLIP-132 flavour: ``xpub/tpub`` (P2PKH, BIP44), ``ypub/upub``
  (P2SH-P2WPKH, BIP49), ``zpub/vpub`` (P2WPKH, BIP84); they are watched on their receive (``/0/*``)
  and change (``/1/*``) chains. A plain ``xpub/tpub`` says no script type: with
  ``script_type="any"`` (what :func:`utxo_truth.scan` asks) it is watched as each of ``pkh``,
  ``sh(wpkh)``, ``wpkh`` and ``tr``. ``Ypub/Zpub/Upub/Vpub`` are one cosigner of a multisig and are
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

from ._derive import (
    child_pubkey,
    derive_xpub_path,
    hash160,
    parse_pubkey,
    taproot_output_key,
)
from ._derive import fast as _have_secp  # libsecp256k1 loaded at the first key, not at import
from ._exceptions import (
    ChecksumError,
    DescriptorError,
    MultisigNeedsDescriptorError,
    NetworkMismatchError,
    PrivateKeyError,
    TargetError,
)
from ._network import Network, parse_network
from ._script import address_of, bech32_parse, script_type_of, segwit_decode

__all__ = [
    "SINGLE_KEY_TYPES",
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


_ALNUM_RUN = re.compile(r"[A-Za-z0-9]{20,}")
# Characters a key is mistyped with or cut by: a key with one of them inside is still a key.
_CUTTERS = re.compile(r"[#@:'\"`\s]")
_PUBLIC_PREFIXES = tuple(v[0] for v in _PUBLIC_VERSIONS.values())


def _probably_private(token: str) -> str | None:
    """Like :func:`_looks_private`, also for a key with a typo.

    A character deleted, changed or not base58: the rest of it is still most of a secret.
    """
    what = _looks_private(token)
    if what:
        return what
    if (
        100 <= len(token) <= 115
        and not token.startswith(_PUBLIC_PREFIXES)
        and not set(token) <= _HEX  # raw(HEX) of a 50-57 byte script is not a key
    ):
        # xprv/tprv... are 111 characters; an extended key that is not a public one
        return "what looks like an extended private key (mistyped?)"
    if 49 <= len(token) <= 53 and token[0] in "5KL9c" and not set(token) <= _HEX:
        return "what looks like a WIF private key (mistyped?)"
    return None


def _refuse_private(text: str) -> None:
    # every run of letters and digits, in the text as given and with the cutting characters
    # taken out (a '#' typed inside an xprv must not split it into harmless-looking halves)
    candidates = _ALNUM_RUN.findall(text) + _ALNUM_RUN.findall(_CUTTERS.sub("", text))
    for token in candidates:
        what = _probably_private(token)
        if what:
            raise PrivateKeyError(
                f"refused: the input holds {what}. utxo_truth only watches: give the matching "
                "public key (xpub/tpub, or a descriptor from `getdescriptorinfo`/a wallet's "
                "'export public descriptor'). The secret was not stored, printed or sent."
            )
    squeezed = _CUTTERS.sub("", text)
    non_hex = sum(1 for c in squeezed if c not in _HEX)
    if 62 <= len(squeezed) <= 66 and non_hex <= 2 and not _is_pubkey_hex(squeezed):
        raise PrivateKeyError(
            "refused: a bare 32-byte hex string may be a raw private key and is not a script. "
            "To watch an arbitrary script use raw(HEX); for a key use a descriptor like pk(...)."
        )


def _is_pubkey_hex(text: str) -> bool:
    return len(text) == 66 and text[:2] in ("02", "03") and set(text) <= _HEX


def _describe(text: str) -> str:
    """A safe short description of an input for error messages.

    An input that could be key material is quoted by at most its first 6 characters, and never
    past a ``#``, ``@`` or ``:`` in it.
    """
    t = text.strip()
    shown = re.split(r"[#@:]", t, maxsplit=1)[0][:6]
    if shown == t:
        return repr(t)
    return f"{shown!r}... ({len(t)} characters)"


# ---------------------------------------------------------------------------------------------
# Scripts and addresses


_HRP_NETWORKS = {"bc": "mainnet", "tb": "testnet/signet", "bcrt": "regtest"}


def _address_script(text: str, network: Network) -> bytes:
    p = network.params
    lowered = text.lower()
    hrp = lowered.rsplit("1", 1)[0] if "1" in lowered else ""
    if hrp in _HRP_NETWORKS and text in (lowered, text.upper()):
        # valid first, then of which network: a typo in a mainnet address is a typo, not a
        # "mainnet address" (BIP173/BIP350 checksum before the human-readable part is trusted)
        if bech32_parse(lowered) is None:
            raise ChecksumError(
                f"{_describe(text)} is not a valid address: its bech32/bech32m checksum does not "
                "match (a typo?)"
            )
        if hrp != p.hrp:
            raise NetworkMismatchError(
                f"address {_describe(text)} is a {_HRP_NETWORKS[hrp]} address, but the network "
                f"is {network.label}: pass --network matching the address",
                expected=network.label,
                found=_HRP_NETWORKS[hrp],
            )
        decoded = segwit_decode(p.hrp, lowered)
        if decoded is None:
            raise TargetError(
                f"address {_describe(text)} is not a valid segwit address (BIP173/BIP350: wrong "
                "program length, or bech32 used where bech32m is required)"
            )
        version, program = decoded
        return bytes([0 if version == 0 else 0x50 + version, len(program)]) + program
    payload, ok = _b58check(text)
    if payload is None or len(payload) != 21:
        raise TargetError(
            f"{_describe(text)} is not an address, extended public key, descriptor or script hex "
            "that utxo_truth can read"
        )
    if not ok:  # checked before the version byte says which network it is for
        raise ChecksumError(
            f"{_describe(text)} is not a valid address: its base58 checksum does not match "
            "(a typo?)"
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
    """The target as a descriptor without checksum (``addr()``/``raw()`` for single scripts);
    empty for a plain xpub scanned under several script types (see ``scanned_as``)."""
    scanned_as: tuple[str, ...] = ()
    """A plain xpub/tpub, which does not say its script type: the single-key types it is
    scanned under (``pkh``, ``sh-wpkh``, ``wpkh``, ``tr``), one receive and one change branch
    each, in that order. Empty when the input says its type."""
    branch_types: tuple[str, ...] = ()
    """With ``scanned_as``: the script type of each branch."""
    _branch_descriptors: tuple[str, ...] = field(default=(), repr=False)

    def scan_descriptor(self, branch: int | None = None) -> str:
        """The descriptor of one branch, with its checksum: what a node is asked to scan."""
        if self._branch_descriptors:
            if branch is None:
                raise TypeError(f"{self.text[:6]}... is scanned per branch: give the branch")
            body = self._branch_descriptors[branch]
            return f"{body}#{descriptor_checksum(body)}"
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


SINGLE_KEY_TYPES = ("pkh", "sh-wpkh", "wpkh", "tr")
"""The script types a single extended key can stand for (BIP44, BIP49, BIP84, BIP86)."""

_TYPE_DESCRIPTORS = {
    "pkh": "pkh({})",
    "sh-wpkh": "sh(wpkh({}))",
    "wpkh": "wpkh({})",
    "tr": "tr({})",
}


def parse_targets(
    texts: Sequence[str], network: Network | str, *, script_type: str | None = None
) -> list[Target]:
    """Parse several targets for one network (see :func:`parse_target`)."""
    return [parse_target(t, network, script_type=script_type) for t in texts]


def parse_target(text: str, network: Network | str, *, script_type: str | None = None) -> Target:
    """Turn an xpub, descriptor, address or script hex into a :class:`Target`.

    ``script_type`` says what a plain ``xpub``/``tpub`` (which carries no SLIP-132 hint) stands
    for: ``None`` reads it as SLIP-132 does (BIP44 P2PKH), one of :data:`SINGLE_KEY_TYPES`
    names its type, ``"any"`` scans it under all four (``Target.scanned_as``; what
    :func:`utxo_truth.scan` does by default, as wallets such as Ledger export a BIP84 account
    as a plain xpub). A ``ypub``/``zpub`` says its own type: a different ``script_type`` is
    refused. Descriptors, addresses and scripts say theirs, and ignore it.

    Example:
        >>> t = parse_target("tpubDD8aVRaGadAXsoaYJz6A2YL7UFhC1TCtMgQJJY8rWs3Po6NWuQ6pWrpJWEfca8DWqSGVqCnQSCi8Q13caSQdV13pSsbGRheCFqxnXEZ8ri7", "regtest", script_type="any")
        >>> t.scanned_as, t.branches[4:6]
        (('pkh', 'sh-wpkh', 'wpkh', 'tr'), ('wpkh receive', 'wpkh change'))

    Raises:
        PrivateKeyError: the input holds private key material.
        NetworkMismatchError: a key or address of another network.
        ChecksumError: a descriptor/base58/bech32 checksum is wrong.
        MultisigNeedsDescriptorError: a lone Ypub/Zpub/Upub/Vpub.
        DescriptorError: a malformed or unsupported descriptor.
        TargetError: anything else we cannot read.
    """
    net = parse_network(network)
    if script_type is not None and script_type not in (*SINGLE_KEY_TYPES, "any"):
        raise TargetError(
            f"unknown script type {str(script_type)[:12]!r}: use one of "
            f"{', '.join(SINGLE_KEY_TYPES)}, or 'any'"
        )
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
        return _parse_xpub(t, net, script_type)
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


def _parse_xpub(text: str, net: Network, script_type: str | None = None) -> Target:
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

    plain = prefix in ("xpub", "tpub")  # standard BIP32 versions: no script type said
    if script_type not in (None, "any"):
        if not plain and script_type != kind:
            raise TargetError(
                f"{prefix} keys are {kind} (SLIP-132), but the script type asked is "
                f"{script_type}: give the key as a plain {'xpub' if family == 'main' else 'tpub'}, "
                "or a descriptor, to scan it as another type"
            )
        kind = script_type
    standard = base58.encode_check(_STANDARD_PUB[family] + payload[4:])
    inner = f"{standard}/<0;1>/*"
    if plain and script_type == "any":
        return _any_type_xpub(text, inner, net)
    target = _parse_descriptor(_TYPE_DESCRIPTORS[kind].format(inner), net)
    return Target(
        text=text,
        kind="xpub",
        script_type=kind,
        network=net,
        branches=target.branches,
        _derive=target._derive,
        descriptor=target.descriptor,
    )


def _any_type_xpub(text: str, inner: str, net: Network) -> Target:
    """A plain xpub as every single-key type: a receive and a change branch per type."""
    names: list[str] = []
    derive: list[ScriptsFn] = []
    types: list[str] = []
    bodies: list[str] = []
    for kind in SINGLE_KEY_TYPES:
        one = _parse_descriptor(_TYPE_DESCRIPTORS[kind].format(inner), net)
        for b, name in enumerate(one.branches):
            names.append(f"{kind} {name}")
            derive.append(one._derive[b])
            types.append(kind)
            bodies.append(one.scan_descriptor(b).partition("#")[0])
    shared = _shared_key_derivers(inner)
    return Target(
        text=text,
        kind="xpub",
        script_type="any",
        network=net,
        branches=tuple(names),
        _derive=shared if shared is not None else tuple(derive),
        scanned_as=SINGLE_KEY_TYPES,
        branch_types=tuple(types),
        _branch_descriptors=tuple(bodies),
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
        parse_pubkey(key) if _have_secp() else _embit_pubkey(key)
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
    # never quote what follows the '#': in a mistyped key it is part of the secret
    if len(given) != 8 or any(c not in _CHECKSUM_CHARSET for c in given):
        raise ChecksumError(
            f"the descriptor checksum after '#' is malformed ({len(given)} characters): it must "
            "be 8 characters of the bech32 alphabet (or leave it out and utxo_truth computes it)"
        )
    expected = descriptor_checksum(body)
    if given != expected:
        raise ChecksumError(
            "the descriptor checksum after '#' does not match the descriptor: the descriptor "
            "was changed or mistyped"
        )
    return body


_FUNCTIONS = ("pk", "pkh", "wpkh", "sh", "wsh", "tr", "multi", "sortedmulti", "addr", "raw")
"""The descriptor functions read here (BIP381-386), as listed back in a message."""
_REFUSED_FUNCTIONS = ("combo", "rawtr", "musig")  # known, refused with their own message
# miniscript fragments, inside wsh() or tr() (embit reads them)
_MINISCRIPT = frozenset(
    [
        "pk_k",
        "pk_h",
        "older",
        "after",
        "sha256",
        "hash256",
        "ripemd160",
        "hash160",
        "andor",
        "and_v",
        "and_b",
        "and_n",
        "or_b",
        "or_c",
        "or_d",
        "or_i",
        "thresh",
        "multi_a",
        "sortedmulti_a",
    ]
)
# a function name: at the start or after ( , { ; with a miniscript wrapper prefix such as v:
_FUNCTION_AT = re.compile(r"(?:^|(?<=[(,{]))(?:[a-z]+:)?([A-Za-z0-9_]+)\(")
_PATH_AFTER_KEY = re.compile(r"(?:/[^/,(){}\[\]#]*)*")
_STEP = re.compile(r"(?:[0-9]+|\*)[h'H]?")
_MULTIPATH = re.compile(r"<[0-9]+[h'H]?(?:;[0-9]+[h'H]?)+>")


# an extended key where a key expression starts: after "(", "," or a key origin's "]"
_KEY_AT = re.compile(rf"(?:^|(?<=[(,\]]))(?:{'|'.join(_PUBLIC_PREFIXES)})[{_B58}]*")


def _quote_step(step: str) -> str:
    """A path step as shown in a message: whole when short, else only its length."""
    if len(step) <= 6 or (step.isdigit() and len(step) <= 12):
        return f"`{step}`"
    return f"a step of {len(step)} characters"


def _check_steps(steps: list[str], where: str) -> None:
    """Each step of a key's path (BIP32 indexes; BIP380 ``*``; BIP389 ``<a;b>``)."""
    for step in steps:
        if not step:
            raise DescriptorError(f"an empty step (`//` or a trailing `/`) in {where}")
        if _STEP.fullmatch(step) or _MULTIPATH.fullmatch(step):
            numbers = re.findall(r"[0-9]+", step)
            big = next((n for n in numbers if int(n) >= 0x80000000), None)
            if big is not None:
                raise DescriptorError(
                    f"{_quote_step(big)} in {where} is out of range: an index is 0..2147483647 "
                    "(add h for a hardened one, BIP32)"
                )
            continue
        raise DescriptorError(
            f"{_quote_step(step)} is not an index ({where}): a step is a number such as 0 or "
            "84h, * as the last step, or <0;1> for receive and change"
        )


def _check_descriptor_text(body: str) -> None:
    """What embit's parser would refuse in its own words, said in the user's terms first.

    Unknown function names, key expressions (BIP380): a base58 key with a bad checksum or of
    the wrong length, a path step that is not an index, a key origin without its fingerprint.
    Only short pieces of the input are quoted (a key never past its 4-letter prefix).
    """
    for m in _FUNCTION_AT.finditer(body):
        name = m.group(1)
        if name in _FUNCTIONS or name in _REFUSED_FUNCTIONS or name in _MINISCRIPT:
            continue
        known = ", ".join(_FUNCTIONS)
        if name.lower() in _FUNCTIONS:
            raise DescriptorError(
                f"unknown function `{name}`: descriptor functions are written in lowercase, "
                f"`{name.lower()}`"
            )
        shown = (
            f"`{name}`"
            if len(name) <= 12 and re.fullmatch(r"[a-z_]+", name)
            else (f"of {len(name)} characters")
        )
        raise DescriptorError(
            f"unknown function {shown} at position {m.start(1) + 1} — known: {known} (and "
            "miniscript inside wsh() and tr())"
        )
    for m in re.finditer(r"\[([^\]]*)\]", body):
        fingerprint, *steps = m.group(1).split("/")
        where = f"the key origin at position {m.start() + 1}"
        if not re.fullmatch(r"[0-9a-fA-F]{8}", fingerprint):
            raise DescriptorError(
                f"{where} must start with the master key's fingerprint, 8 hex digits, as in "
                "[d34db33f/84h/0h/0h]"
            )
        _check_steps(steps, where)
    if body.startswith(("addr(", "raw(")):
        return  # an address or a script, not key expressions: their own checks follow
    for m in _KEY_AT.finditer(body):
        key = m.group(0)
        at = m.start() + 1
        payload, ok = _b58check(key)
        if payload is None or len(payload) != 78:
            raise DescriptorError(
                f"the key at position {at} ({key[:4]}..., {len(key)} characters) is not a whole "
                "extended key (111 characters): a character missing or extra?"
            )
        if not ok:
            raise ChecksumError(
                f"bad base58 checksum in the key at position {at} ({key[:4]}..., {len(key)} "
                "characters): a character of it was changed or mistyped; copy the key again"
            )
        path = _PATH_AFTER_KEY.match(body, m.end())
        steps = path.group(0).split("/")[1:] if path else []
        _check_steps(steps, f"the path of the key at position {at}")


def _outer(body: str) -> tuple[str, str]:
    m = re.fullmatch(r"([a-z]+)\((.*)\)", body, re.S)
    if not m:
        raise DescriptorError(
            f"descriptor {_describe(body)} is not of the form NAME(...) with balanced parentheses"
        )
    return m.group(1), m.group(2)


def _parse_descriptor(text: str, net: Network) -> Target:
    body = _split_checksum(text)
    _check_descriptor_text(body)
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
            f"malformed descriptor {_describe(body)} (its parser, embit, refused it with "
            f"{type(exc).__name__}): check the key expressions and parentheses (BIP380)"
        ) from None
    for key in desc.keys:
        _check_key(key, net)
    script_type = _descriptor_type(name, desc)
    if bare and name != "pk" and len(desc.keys) > 3:
        raise DescriptorError("bare multi() holds at most 3 keys (Bitcoin Core's rule); use wsh()")
    _check_key_paths(desc)
    if not desc.is_wildcard:
        if desc.num_branches > 1:
            raise DescriptorError(
                "a multipath key expression without /* stands for one fixed key per branch: "
                "give each branch as its own descriptor (BIP389), e.g. .../0 and .../1"
            )
        try:
            script = _fixed_script(desc, bare)
        except Exception as exc:
            raise DescriptorError(
                f"cannot derive {_describe(body)} ({type(exc).__name__}): a hardened step "
                "after a public key, or an invalid child (BIP32)"
            ) from None
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
            raise DescriptorError(
                f"cannot derive {_describe(body)} ({type(exc).__name__}): a hardened step "
                "after a public key, or an invalid child (BIP32)"
            ) from None
    return Target(
        shown, "descriptor", script_type, net, branches=names, _derive=derivers, descriptor=body
    )


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


def _check_key_paths(desc: Any) -> None:
    """BIP380 key expressions: a ``/*`` wildcard may only be the last step of a path."""
    for key in desc.keys:
        indexes = key.allowed_derivation.indexes if key.allowed_derivation else []
        for i, step in enumerate(indexes):
            if (step is None or (isinstance(step, list) and None in step)) and i != len(
                indexes
            ) - 1:
                raise DescriptorError(
                    "a /* wildcard must be the last step of a key's path (BIP380)"
                )


def _fixed_script(desc: Any, bare: bool) -> bytes:
    """The script of a descriptor without wildcard, every key's fixed path derived.

    ``Descriptor.script_pubkey()`` of embit uses a key such as ``tpub.../0/1`` as if it had no
    path; Bitcoin Core (BIP380) derives ``/0/1`` first. Our own derivation is used for the usual
    shapes, embit's ``derive`` (which does follow fixed paths) for the others.
    """
    fast = _fast_deriver(desc, None, bare) if _have_secp() else None
    if fast is not None:
        return fast(0, 1)[0]
    return _embit_script(desc, None, bare, 0)


def _embit_script(desc: Any, branch: int | None, bare: bool, index: int) -> bytes:
    # derive() also follows fixed (non-wildcard) path steps; script_pubkey() alone does not
    d = desc.derive(index, branch_index=branch)
    data: bytes = (d.witness_script() if bare else d.script_pubkey()).data
    return data


def _make_deriver(desc: Any, branch: int | None, bare: bool) -> ScriptsFn:
    fast = _fast_deriver(desc, branch, bare) if _have_secp() else None
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
    wildcard = bool(indexes) and indexes[-1] is None
    fixed = indexes[:-1] if wildcard else indexes
    if any(i is None or i >= 0x80000000 for i in fixed):
        return None
    root: bytes = key.key.key.sec()
    if len(root) != 33:
        return None
    # every fixed step of the key expression, derived here (BIP32 CKDpub), not by embit
    psec, chain_code = derive_xpub_path(root, bytes(key.key.chain_code), list(fixed))
    if not wildcard:
        return lambda _i: psec
    ppub = parse_pubkey(psec)
    return lambda i: child_pubkey(psec, ppub, chain_code, i)


_SINGLE_KEY_SCRIPT: dict[str, Callable[[bytes], bytes]] = {
    # scriptPubKey of one compressed public key, per single-key type
    "pkh": lambda k: b"\x76\xa9\x14" + hash160(k) + b"\x88\xac",  # BIP44 P2PKH
    "sh-wpkh": lambda k: b"\xa9\x14" + hash160(b"\x00\x14" + hash160(k)) + b"\x87",  # BIP49
    "wpkh": lambda k: b"\x00\x14" + hash160(k),  # BIP84 P2WPKH
    "tr": lambda k: b"\x51\x20" + taproot_output_key(k),  # BIP86: key path only, no tree
}


def _shared_key_derivers(inner: str) -> tuple[ScriptsFn, ...] | None:
    """For a plain xpub as every single-key type: each child key derived once, not four times.

    One (cached) child-key function per chain, receive and change, and the four script types
    built from it, in the order of :data:`SINGLE_KEY_TYPES`. None without the fast path.
    """
    if not _have_secp():
        return None
    from embit.descriptor import Descriptor

    key = Descriptor.from_string(f"wpkh({inner})").key
    chains: list[KeyFn] = []
    for b in (0, 1):
        maybe = _key_fn(key, b)
        if maybe is None:
            return None
        chains.append(_cached(maybe))
    return tuple(
        _scripts_from(chains[b], _SINGLE_KEY_SCRIPT[kind])
        for kind in SINGLE_KEY_TYPES
        for b in (0, 1)
    )


def _cached(fn: KeyFn) -> KeyFn:
    cache: dict[int, bytes] = {}

    def child(i: int) -> bytes:
        k = cache.get(i)
        if k is None:
            k = cache[i] = fn(i)
        return k

    return child


def _scripts_from(key: KeyFn, script_of: Callable[[bytes], bytes]) -> ScriptsFn:
    return lambda a, b: [script_of(key(i)) for i in range(a, b)]


def _fast_deriver(desc: Any, branch: int | None, bare: bool) -> ScriptsFn | None:
    if desc.taproot or desc.miniscript is None:
        maybe = None if desc.taptree else _key_fn(desc.key, branch)
        if maybe is None:
            return None
        kf: KeyFn = maybe
        kind = "tr" if desc.taproot else "sh-wpkh" if desc.sh else "wpkh" if desc.wpkh else "pkh"
        script_of = _SINGLE_KEY_SCRIPT[kind]
        return lambda a, b: [script_of(kf(i)) for i in range(a, b)]
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
