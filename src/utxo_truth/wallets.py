"""Read the wallet files people already have into watch targets.

:func:`load_wallet_file` reads one export and returns a :class:`WalletFile`: the wallet's name,
its threshold, its keys with their origins, and its watch targets as descriptors with key
origins covering the receive (``/0/*``) and change (``/1/*``) chains. Formats understood (the
format is recognised from the content, never from the file name):

* Coldcard generic JSON export (``bip44``/``bip49``/``bip84``/``bip86``; ``bip48_*``/``bip45``
  are cosigner keys, listed but not watched alone). Each section's ``first`` address is checked
  against the address we derive;
* Coldcard multisig setup text (``Name``, ``Policy``, ``Derivation``, ``Format``, ``XFP: key``);
* output-descriptor text files as Sparrow and Bitcoin Core write them (one descriptor, a
  receive/change pair, multipath ``/<0;1>/*``, ``#`` comments, ``Label: descriptor`` lines), and
  Bitcoin Core's ``listdescriptors`` JSON (public descriptors only);
* Electrum wallet files (``standard`` and ``MofN``); SLIP-132 keys (ypub/zpub/Ypub/Zpub...) give
  the script type. An encrypted file is refused with :class:`EncryptedWalletError`;
* Specter Desktop wallet JSON (single and multisig), Specter-DIY ``addwallet`` exports and key
  files; Cobo/Keystone keystore files; Caravan multisig JSON;
* BSMS (BIP-129) 1.0 descriptor records: the first-address line is checked; a mismatch, a
  missing address or a threshold of 0 is refused.

Anything holding a seed, a mnemonic or a private key is refused with :class:`PrivateKeyError`;
the message names the file and the field, never the secret. Every other problem is a
:class:`WalletFileError` (or a more precise :class:`InputError` subclass) naming the file and
the field.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "w.txt"
    >>> _ = d.write_text("wpkh([a262308d/84h/0h/0h]xpub6DM7CYgaTMdMbhTcLTUWmNUE5WLXK5hx8ZMa4sRw8q"
    ...                  "YJPqtqKYiKnwsmT8A6AijDVAUZRivdBnXdR8QE7Y9vVnqvzPL3fXCmu1WtCRLdAoz/<0;1>/*)")
    >>> w = load_wallet_file(d, network="main")
    >>> w.format, w.first_address
    ('descriptor', 'bc1qg6stutzna28k472gr2hfnvvz63503qv8x2hsv9')
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from ._derive import hash160
from ._exceptions import (
    EncryptedWalletError,
    InputError,
    MultisigNeedsDescriptorError,
    NetworkMismatchError,
    PrivateKeyError,
    WalletFileError,
)
from ._network import Network, parse_network
from ._script import address_of
from .targets import (
    _FAMILY_TITLE,
    _PRIVATE_PREFIXES,
    _PRIVATE_VERSIONS,
    _PUBLIC_VERSIONS,
    _STANDARD_PUB,
    Target,
    _b58check,
    _check_xpub_payload,
    _looks_private,
    parse_target,
)

__all__ = ["WalletFile", "load_wallet_file", "parse_wallet_file"]

MAX_WALLET_FILE = 1_000_000
"""Bytes: no real export of public keys is anywhere near this; bigger files are refused."""


@dataclass(frozen=True)
class WalletFile:
    """What a wallet file says: name, script policy, keys and the targets to watch."""

    path: str
    """The file it was read from (as given)."""
    format: str
    """``coldcard-json``, ``coldcard-multisig``, ``descriptor``, ``core-descriptors``,
    ``electrum``, ``specter``, ``specter-diy``, ``cobo``, ``caravan`` or ``bsms``."""
    name: str
    network: Network
    targets: tuple[Target, ...]
    """Ranged targets with receive and change branches (one per account or policy)."""
    threshold: int | None = None
    """``m`` of an m-of-n multisig; None for single-signature wallets."""
    keys: tuple[str, ...] = ()
    """Every key with its origin, ``[fingerprint/path]xpub``."""
    notes: tuple[str, ...] = ()
    """What was read but not watched (cosigner keys, silent-payment keys), and assumptions."""

    @property
    def descriptors(self) -> tuple[str, ...]:
        """The watch targets as descriptors with checksums."""
        return tuple(t.text for t in self.targets)

    @property
    def first_address(self) -> str | None:
        """The first receive address of the first target (what wallets show to compare)."""
        if not self.targets:
            return None
        return _first_address(self.targets[0])


# ---------------------------------------------------------------------------------------------
# Entry points


def load_wallet_file(path: str | Path, *, network: Network | str) -> WalletFile:
    """Read a wallet export file (see the module docstring for the formats).

    Example:
        >>> w = load_wallet_file("vault.bsms", network="main")  # doctest: +SKIP
        >>> w.name, w.threshold, w.first_address, w.descriptors  # doctest: +SKIP
        ('vault', 2, 'bc1q...', ('wsh(sortedmulti(2,[8188029f/48h/0h/0h/2h]xpub.../<0;1>/*,...))#...',))

    Raises:
        PrivateKeyError: the file holds a seed, mnemonic or private key (never echoed).
        EncryptedWalletError: the file is encrypted; export the public keys instead.
        NetworkMismatchError: a key or address of another network than ``network``.
        WalletFileError: anything else wrong, naming the file and the field.
    """
    name = str(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_WALLET_FILE + 1)
    except OSError as exc:
        raise WalletFileError(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    return parse_wallet_file(data, network=network, path=name)


def parse_wallet_file(
    data: bytes | str, *, network: Network | str, path: str = "<wallet file>"
) -> WalletFile:
    r"""Read a wallet export given as bytes or text; ``path`` names it in messages.

    Example:
        >>> w = parse_wallet_file('{"ExtPubKey": "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYf'
        ...     'G1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs", '
        ...     '"MasterFingerprint": "73C5DA0A", "AccountKeyPath": "84h/0h/0h"}',
        ...     network="main")
        >>> w.format, w.first_address
        ('cobo', 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu')
    """
    net = parse_network(network)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, bytes):
        raise WalletFileError(f"{path}: a wallet file is bytes or text, not {type(data).__name__}")
    if len(data) > MAX_WALLET_FILE:
        raise WalletFileError(
            f"{path}: the file is larger than {MAX_WALLET_FILE} bytes; a wallet export of public "
            "keys is a few kilobytes: is this the right file?"
        )
    if not data.strip():
        raise WalletFileError(f"{path}: the file is empty")
    head = data.lstrip()[:8]
    if head.startswith(b"QklFMQ") or head.startswith(b"BIE1"):
        raise EncryptedWalletError(
            f"{path}: this is an encrypted Electrum wallet file. utxo_truth does not decrypt "
            "wallets: in Electrum open it and use Wallet > Information to copy the master public "
            "key, or export a watch-only copy, and give that instead"
        )
    if head.startswith(b"U1BSVzE") or head.startswith(b"SPRW1"):
        raise EncryptedWalletError(
            f"{path}: this is an encrypted Sparrow wallet file. utxo_truth does not decrypt "
            "wallets: in Sparrow use File > Export Wallet > Output Descriptor and give that file"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise WalletFileError(
            f"{path}: the file is not UTF-8 text (binary or encrypted?): give a wallet export"
        ) from None
    if "\x00" in text:
        raise WalletFileError(f"{path}: the file holds NUL bytes: not a text wallet export")
    stripped = text.strip()
    if stripped.startswith("{") or (stripped.startswith("[") and not stripped[1:9].isalnum()):
        try:
            obj = json.loads(stripped)
        except (ValueError, RecursionError) as exc:
            raise WalletFileError(f"{path}: the file looks like JSON but is not: {exc}") from None
        _refuse_secrets_json(obj, path, "")
        if not isinstance(obj, dict):
            raise WalletFileError(f"{path}: the top level of the JSON must be an object")
        return _named(lambda: _from_json(obj, net, path), path)
    _refuse_secrets_text(text, path)
    return _named(lambda: _from_text(text, net, path), path)


def _named(read: Callable[[], WalletFile], path: str) -> WalletFile:
    """Run a reader; an error that does not name the file yet is given its name."""
    try:
        return read()
    except InputError as exc:
        if str(exc).startswith(f"{path}: "):
            raise
        _rewrap(exc, path, "content")


# ---------------------------------------------------------------------------------------------
# Secrets: refused, never echoed

_SECRET_FIELDS = {
    "seed",
    "mnemonic",
    "xprv",
    "tprv",
    "passphrase",
    "private_key",
    "privkey",
    "privatekey",
    "prv",
    "wif",
    "entropy",
    "words",
    "bip39",
    "master_private_key",
    "keystore_seed",
    "seed_words",
}


def _bip39_words() -> frozenset[str]:
    from embit.wordlists.bip39 import WORDLIST

    return frozenset(WORDLIST)


def _looks_mnemonic(value: str) -> bool:
    words = value.split()
    # BIP-39: a mnemonic is 12, 15, 18, 21 or 24 words of its list; refuse 12+ list words.
    if len(words) < 12:
        return False
    vocab = _bip39_words()
    return sum(w.lower() in vocab for w in words) >= 12


def _secret_kind(value: str) -> str | None:
    for token in re.findall(r"[1-9A-HJ-NP-Za-km-z]{50,}", value):
        what = _looks_private(token)
        if what:
            return what
    if _looks_mnemonic(value):
        return "a mnemonic (seed words)"
    return None


def _refuse(path: str, where: str, what: str) -> NoReturn:
    raise PrivateKeyError(
        f"{path}: {where} holds {what}. utxo_truth only watches public keys and refuses files "
        "with secrets: export the watch-only / public part of the wallet instead. The secret was "
        "not stored, printed or sent."
    )


def _refuse_secrets_json(obj: Any, path: str, where: str) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            field = f"{where}.{k}" if where else str(k)
            if str(k).lower() in _SECRET_FIELDS and v not in (None, "", [], {}, False):
                _refuse(path, f"field {field!r}", "a seed, mnemonic or private key")
            _refuse_secrets_json(v, path, field)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _refuse_secrets_json(v, path, f"{where}[{i}]")
    elif isinstance(obj, str):
        what = _secret_kind(obj)
        if what:
            _refuse(path, f"field {where or '(top level)'!r}", what)


def _refuse_secrets_text(text: str, path: str) -> None:
    for n, line in enumerate(text.splitlines(), 1):
        what = _secret_kind(line)
        if what:
            _refuse(path, f"line {n}", what)
        if re.search(r"\b(seed|mnemonic|xprv|tprv)\s*[:=]", line, re.I):
            _refuse(path, f"line {n}", "what is labelled as a seed or private key")


# ---------------------------------------------------------------------------------------------
# Small checked readers


def _err(path: str, where: str, message: str) -> NoReturn:
    raise WalletFileError(f"{path}: {where}: {message}")


def _rewrap(exc: InputError, path: str, where: str) -> NoReturn:
    message = f"{path}: {where}: {exc}"
    new: InputError
    if isinstance(exc, NetworkMismatchError):
        new = NetworkMismatchError(message, expected=exc.expected, found=exc.found)
    elif isinstance(exc, (PrivateKeyError, MultisigNeedsDescriptorError)):
        new = type(exc)(message)
    else:
        new = WalletFileError(message)
    raise new from None


def _str(obj: Mapping[str, Any], key: str, path: str, where: str, *, required: bool = True) -> str:
    v = obj.get(key)
    if v is None and not required:
        return ""
    if not isinstance(v, str) or not v.strip():
        missing = "is missing" if key not in obj else f"must be a non-empty string, not {v!r:.40}"
        _err(path, f"{where}{key}", missing)
    return v.strip()


def _int(obj: Mapping[str, Any], key: str, path: str, where: str, lo: int, hi: int) -> int:
    v = obj.get(key)
    if key not in obj:
        _err(path, f"{where}{key}", "is missing")
    if isinstance(v, bool) or not isinstance(v, int):
        _err(path, f"{where}{key}", f"must be an integer, not {type(v).__name__}")
    if not lo <= v <= hi:
        _err(path, f"{where}{key}", f"{v} is outside {lo}..{hi}")
    return v


def _dict(obj: Mapping[str, Any], key: str, path: str, where: str) -> Mapping[str, Any]:
    v = obj.get(key)
    if not isinstance(v, dict):
        missing = "is missing" if key not in obj else f"must be an object, not {type(v).__name__}"
        _err(path, f"{where}{key}", missing)
    return v


def _xfp(value: Any, path: str, where: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{8}", value.strip()):
        _err(path, where, f"a master key fingerprint is 8 hex digits, not {value!r:.20}")
    return value.strip().lower()


_PURPOSE_KIND = {44: "pkh", 49: "sh-wpkh", 84: "wpkh", 86: "tr"}


def _derivation(value: Any, path: str, where: str) -> list[str]:
    """``m/84'/0'/0'`` (or without ``m/``, or with ``h``) as ``['84h', '0h', '0h']``."""
    if not isinstance(value, str):
        _err(path, where, f"a derivation path must be a string like m/84'/0'/0', not {value!r:.30}")
    text = value.strip()
    if text in ("m", "M", ""):
        return []
    parts = text.split("/")
    if parts[0] in ("m", "M"):
        parts = parts[1:]
    out = []
    for p in parts:
        m = re.fullmatch(r"(\d{1,10})(['hH]?)", p)
        if not m or int(m.group(1)) >= 0x80000000:
            _err(path, where, f"{value!r:.60} is not a BIP32 derivation path (bad step {p!r:.12})")
        out.append(m.group(1) + ("h" if m.group(2) else ""))
    return out


def _coin_check(steps: list[str], net: Network, path: str, where: str) -> None:
    # BIP-44 coin_type: 0' is mainnet, 1' is every test network.
    if len(steps) >= 2 and steps[0] in ("44h", "49h", "84h", "86h", "48h"):
        want = "0h" if net is Network.MAIN else "1h"
        if steps[1] != want:
            raise NetworkMismatchError(
                f"{path}: {where}: coin type {steps[1]} in the derivation path is for "
                f"{'mainnet' if steps[1] == '0h' else 'test networks'}, but the network is "
                f"{net.label}",
                expected=net.label,
                found="mainnet" if steps[1] == "0h" else "testnet",
            )


def _ext_key(value: Any, net: Network, path: str, where: str) -> tuple[str, str, int]:
    """An extended public key: (standard xpub/tpub text, SLIP-132 script kind, depth)."""
    from embit import base58

    if not isinstance(value, str) or not value.strip():
        _err(path, where, "an extended public key (xpub/tpub/...) is missing")
    text = value.strip()
    if text.startswith(_PRIVATE_PREFIXES):
        _refuse(path, where, "an extended private key")
    payload, ok = _b58check(text)
    if payload is None or len(payload) != 78:
        _err(path, where, "is not an extended public key (not 78 bytes of base58)")
    if not ok:
        _err(path, where, "the extended public key has a bad base58 checksum (a typo?)")
    if payload[:4] in _PRIVATE_VERSIONS:
        _refuse(path, where, "an extended private key")
    if payload[:4] not in _PUBLIC_VERSIONS:
        _err(path, where, f"unknown extended key version {payload[:4].hex()}")
    prefix, family, kind = _PUBLIC_VERSIONS[payload[:4]]
    if family != net.params.family:
        found = _FAMILY_TITLE[family]
        raise NetworkMismatchError(
            f"{path}: {where}: {prefix} is a {found} key, but the network is {net.label}",
            expected=net.label,
            found=found,
        )
    try:
        _check_xpub_payload(payload, text[:4] + "...")
    except InputError as exc:
        _rewrap(exc, path, where)
    standard = str(base58.encode_check(_STANDARD_PUB[family] + payload[4:]))
    return standard, kind, payload[4]


def _key_expr(fp: str | None, steps: list[str], key: str, depth: int, path: str, where: str) -> str:
    """``[fp/path]key``; the origin is not checked against the key's depth.

    The origin only matters for signing: a key whose BIP-32 depth is not the path's length
    (seen in real Electrum files) is kept, its scripts do not change.
    """
    if fp is None:
        return key
    return f"[{'/'.join([fp, *steps])}]{key}"


def _single(kind: str, key: str) -> str:
    inner = f"{key}/<0;1>/*"
    wrappers = {
        "pkh": f"pkh({inner})",
        "sh-wpkh": f"sh(wpkh({inner}))",
        "wpkh": f"wpkh({inner})",
        "tr": f"tr({inner})",
    }
    return wrappers[kind]


_MULTI_WRAP = {"sh": "sh({})", "sh-wsh": "sh(wsh({}))", "wsh": "wsh({})"}


def _multi(wrap: str, m: int, keys: Sequence[str], *, sort: bool = True) -> str:
    inner = ",".join(f"{k}/<0;1>/*" for k in keys)
    body = f"{'sortedmulti' if sort else 'multi'}({m},{inner})"
    return _MULTI_WRAP[wrap].format(body)


def _threshold(m: Any, n: int, path: str, where: str, wrap: str) -> int:
    if isinstance(m, bool) or not isinstance(m, int):
        _err(path, where, f"the threshold must be an integer, not {type(m).__name__}")
    # BIP-11/Core: 1 <= m <= n; P2SH holds at most 15 keys (520-byte script), P2WSH at most 20.
    limit = 15 if wrap == "sh" else 20
    if not 1 <= m <= n:
        _err(path, where, f"threshold {m} of {n} keys is impossible (it must be 1..{n})")
    if n > limit:
        _err(path, where, f"{n} keys is more than {limit}, the most a {wrap} multisig can hold")
    return m


def _target(desc: str, net: Network, path: str, where: str) -> Target:
    try:
        return parse_target(desc, net)
    except InputError as exc:
        _rewrap(exc, path, where)


def _first_address(t: Target) -> str | None:
    script = t.scripts(0, 0, 1)[0] if t.ranged else t.script()
    return address_of(script, t.network)


def _check_first(t: Target, given: Any, net: Network, path: str, where: str) -> None:
    """A file's own first address must be the first receive address we derive."""
    if not isinstance(given, str) or not given.strip():
        _err(path, where, "the first address is missing or not a string")
    expected = _first_address(t)
    got = _target(given.strip(), net, path, where)
    if got.ranged or got.script() != (t.scripts(0, 0, 1)[0] if t.ranged else t.script()):
        _err(
            path,
            where,
            f"the file says the first address is {given.strip()!r:.100} but its keys give "
            f"{expected}: the file was edited, or its keys or script type are wrong. Not watched.",
        )


# ---------------------------------------------------------------------------------------------
# JSON formats


def _from_json(obj: Mapping[str, Any], net: Network, path: str) -> WalletFile:
    if "keystore" in obj or "wallet_type" in obj:
        return _electrum(obj, net, path)
    if "ExtPubKey" in obj:
        return _cobo(obj, net, path)
    if "quorum" in obj or "extendedPublicKeys" in obj:
        return _caravan(obj, net, path)
    if "descriptors" in obj:
        return _core(obj, net, path)
    if "descriptor" in obj:
        return _specter(obj, net, path)
    if "xfp" in obj and any(k in obj for k in ("p2wsh", "p2sh", "p2wsh_p2sh", "p2sh_p2wsh")):
        raise MultisigNeedsDescriptorError(
            f"{path}: this is one Coldcard's multisig cosigner key file (p2sh/p2wsh keys), not a "
            "wallet: its scripts need every cosigner's key. Give the wallet's multisig setup file "
            "(Coldcard 'Export Wallet', a BSMS or descriptor file) instead"
        )
    if "xfp" in obj or any(re.fullmatch(r"bip\d+(_\d+)?", str(k)) for k in obj):
        return _coldcard(obj, net, path)
    raise WalletFileError(
        f"{path}: a JSON file utxo_truth does not recognise (keys: "
        f"{', '.join(sorted(map(str, obj))[:8])}). Supported: Coldcard, Electrum, Specter, "
        "Caravan, Cobo/Keystone, Bitcoin Core listdescriptors, or a descriptor text file"
    )


_CC_CHAIN = {"BTC": "main", "XTN": "test", "XRT": "test"}


def _coldcard(obj: Mapping[str, Any], net: Network, path: str) -> WalletFile:
    chain = _str(obj, "chain", path, "")
    if chain not in _CC_CHAIN:
        _err(path, "chain", f"{chain!r:.10} is not BTC, XTN or XRT")
    if _CC_CHAIN[chain] != net.params.family:
        found = "mainnet" if chain == "BTC" else "testnet"
        raise NetworkMismatchError(
            f"{path}: chain: the export is for {found} ({chain}) but the network is {net.label}",
            expected=net.label,
            found=found,
        )
    fp = _xfp(obj.get("xfp"), path, "xfp")
    if "xpub" in obj:
        _key, _kind, depth = _ext_key(obj["xpub"], net, path, "xpub")
        if depth != 0:
            _err(path, "xpub", "the top-level xpub must be the master key (depth 0)")
    account = None
    if "account" in obj:
        account = _int(obj, "account", path, "", 0, 0x7FFFFFFF)
    targets: list[Target] = []
    keys: list[str] = []
    notes: list[str] = []
    for section in sorted(k for k in obj if str(k).startswith("bip")):
        where = f"{section}."
        sec = _dict(obj, section, path, "")
        m = re.fullmatch(r"bip(44|49|84|86|48_1|48_2|45|352)", section)
        if not m:
            notes.append(f"{section}: not a known section, ignored")
            continue
        if section == "bip352":
            notes.append("bip352: a silent-payment scan key cannot be scanned as a UTXO set")
            continue
        steps = _derivation(_str(sec, "deriv", path, where), path, f"{where}deriv")
        purpose = section[3:].split("_")[0]
        if not steps or steps[0] != f"{purpose}h":
            _err(path, f"{where}deriv", f"a {section} path must start m/{purpose}'")
        _coin_check(steps, net, path, f"{where}deriv")
        if account is not None and purpose != "45" and steps[2:3] != [f"{account}h"]:
            _err(path, f"{where}deriv", f"the account step is not {account}' (field 'account')")
        key, _kind, depth = _ext_key(sec.get("xpub"), net, path, f"{where}xpub")
        if "_pub" in sec:
            other, _k, _d = _ext_key(sec["_pub"], net, path, f"{where}_pub")
            if other != key:
                _err(path, f"{where}_pub", "is not the same key as xpub")
        if "xfp" in sec and _xfp(sec["xfp"], path, f"{where}xfp") != _key_id(key):
            _err(path, f"{where}xfp", "is not the fingerprint of the section's xpub")
        if "name" in sec:
            _str(sec, "name", path, where)
        expr = _key_expr(fp, steps, key, depth, path, f"{where}xpub")
        keys.append(expr)
        if purpose in ("48", "45"):
            notes.append(
                f"{section}: a multisig cosigner key, listed in keys but not watched alone"
            )
            continue
        t = _target(_single(_PURPOSE_KIND[int(purpose)], expr), net, path, section)
        if "first" in sec:
            _check_first(t, sec["first"], net, path, f"{where}first")
        targets.append(t)
    if not targets:
        if keys:
            raise MultisigNeedsDescriptorError(
                f"{path}: the export holds only multisig cosigner keys: give the wallet's "
                "multisig setup file (or a descriptor) holding every cosigner's key"
            )
        _err(path, "bip44/bip49/bip84/bip86", "no account section: nothing to watch")
    name = obj.get("name") if isinstance(obj.get("name"), str) else f"Coldcard {fp}"
    return WalletFile(
        path, "coldcard-json", str(name), net, tuple(targets), None, tuple(keys), tuple(notes)
    )


def _electrum(obj: Mapping[str, Any], net: Network, path: str) -> WalletFile:
    wtype = obj.get("wallet_type")
    if not isinstance(wtype, str):
        _err(path, "wallet_type", "is missing or not a string")
    if obj.get("use_encryption") not in (None, False):
        raise EncryptedWalletError(
            f"{path}: use_encryption: the wallet's keystore is password-encrypted. Open it in "
            "Electrum and give its master public key (Wallet > Information) instead"
        )
    if "seed_version" in obj:
        _int(obj, "seed_version", path, "", 1, 1000)
    name = Path(path).name
    if wtype == "standard":
        ks = _dict(obj, "keystore", path, "")
        kst = _str(ks, "type", path, "keystore.")
        if kst not in ("hardware", "bip32"):
            _err(
                path, "keystore.type", f"{kst!r:.20} keystores are not supported (hardware, bip32)"
            )
        key, kind, depth = _ext_key(ks.get("xpub"), net, path, "keystore.xpub")
        if kind.endswith("multi"):
            _err(path, "keystore.xpub", "a multisig (Ypub/Zpub) key in a standard wallet")
        expr, steps = _electrum_origin(ks, key, depth, net, path, "keystore.")
        kind = _electrum_kind(kind, steps, path, "keystore.xpub")
        t = _target(_single(kind, expr), net, path, "keystore")
        label = ks.get("label")
        return WalletFile(
            path,
            "electrum",
            str(label) if isinstance(label, str) and label else name,
            net,
            (t,),
            None,
            (expr,),
        )
    m = re.fullmatch(r"(\d{1,2})of(\d{1,2})", wtype)
    if not m:
        _err(path, "wallet_type", f"{wtype!r:.20} is not supported (standard or MofN multisig)")
    mm, n = int(m.group(1)), int(m.group(2))
    exprs: list[str] = []
    kinds: set[str] = set()
    for i in range(1, n + 1):
        where = f"x{i}/."
        ks = _dict(obj, f"x{i}/", path, "")
        key, kind, depth = _ext_key(ks.get("xpub"), net, path, f"{where}xpub")
        kinds.add(kind)
        expr, _steps = _electrum_origin(ks, key, depth, net, path, where)
        exprs.append(expr)
    extra = [k for k in obj if re.fullmatch(r"x\d+/", str(k)) and int(str(k)[1:-1]) > n]
    if extra:
        _err(path, extra[0], f"a cosigner beyond the {n} of wallet_type {wtype}")
    # Electrum's SLIP-132 multisig versions: xpub/tpub p2sh, Ypub/Upub p2wsh-p2sh, Zpub/Vpub p2wsh.
    wraps = {"pkh": "sh", "sh-wsh-multi": "sh-wsh", "wsh-multi": "wsh"}
    if len(kinds) != 1 or next(iter(kinds)) not in wraps:
        _err(path, "x1/.xpub", f"cosigner keys of different or single-sig types: {sorted(kinds)}")
    wrap = wraps[next(iter(kinds))]
    _threshold(mm, n, path, "wallet_type", wrap)
    # Electrum sorts the cosigners' public keys (BIP-67), as sortedmulti() does.
    t = _target(_multi(wrap, mm, exprs), net, path, "wallet_type")
    return WalletFile(path, "electrum", name, net, (t,), mm, tuple(exprs))


def _electrum_origin(
    ks: Mapping[str, Any], key: str, depth: int, net: Network, path: str, where: str
) -> tuple[str, list[str]]:
    deriv = ks.get("derivation")
    fp_raw: Any = ks.get("root_fingerprint")
    if "ckcc_xfp" in ks:
        x = ks["ckcc_xfp"]
        if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x <= 0xFFFFFFFF:
            _err(path, f"{where}ckcc_xfp", "must be a 32-bit integer")
        cc = struct.pack("<I", x).hex()  # Coldcard stores its fingerprint little-endian
        if fp_raw is not None and _xfp(fp_raw, path, f"{where}root_fingerprint") != cc:
            _err(path, f"{where}ckcc_xfp", "does not match root_fingerprint")
        fp_raw = cc
    if deriv is None or fp_raw is None:
        return key, []
    steps = _derivation(deriv, path, f"{where}derivation")
    _coin_check(steps, net, path, f"{where}derivation")
    fp = _xfp(fp_raw, path, f"{where}root_fingerprint")
    return _key_expr(fp, steps, key, depth, path, f"{where}xpub"), steps


def _electrum_kind(kind: str, steps: list[str], path: str, where: str) -> str:
    if kind != "pkh" or not steps:  # ypub/zpub say it; xpub/tpub are p2pkh in Electrum
        return kind
    purpose = _PURPOSE_KIND.get(int(steps[0].rstrip("h"))) if steps[0].endswith("h") else None
    if purpose not in (None, "pkh"):
        _err(path, where, f"an xpub at an m/{steps[0]} path: Electrum would use p2pkh; ambiguous")
    return "pkh"


def _cobo(obj: Mapping[str, Any], net: Network, path: str) -> WalletFile:
    fp = _xfp(obj.get("MasterFingerprint"), path, "MasterFingerprint")
    steps = _derivation(_str(obj, "AccountKeyPath", path, ""), path, "AccountKeyPath")
    _coin_check(steps, net, path, "AccountKeyPath")
    key, kind, depth = _ext_key(obj.get("ExtPubKey"), net, path, "ExtPubKey")
    kind = _kind_from(kind, steps, path, "ExtPubKey")
    if "CoboVaultFirmwareVersion" in obj:
        _str(obj, "CoboVaultFirmwareVersion", path, "")
    expr = _key_expr(fp, steps, key, depth, path, "ExtPubKey")
    t = _target(_single(kind, expr), net, path, "ExtPubKey")
    return WalletFile(path, "cobo", f"Cobo {fp}", net, (t,), None, (expr,))


def _kind_from(kind: str, steps: list[str], path: str, where: str) -> str:
    """Script type from a SLIP-132 version and the BIP-44/49/84/86 purpose; they must agree."""
    if kind.endswith("multi"):
        raise MultisigNeedsDescriptorError(
            f"{path}: {where}: a multisig cosigner key alone does not define a wallet"
        )
    purpose = None
    if steps and steps[0].endswith("h") and steps[0][:-1].isdigit():
        purpose = _PURPOSE_KIND.get(int(steps[0][:-1]))
    if kind != "pkh":
        if purpose is not None and purpose != kind:
            _err(path, where, f"a {kind} key (SLIP-132) at an m/{steps[0]} ({purpose}) path")
        return kind
    if purpose is None:
        _err(path, where, "an xpub/tpub whose path does not say the script type (44/49/84/86)")
    return purpose


def _caravan(obj: Mapping[str, Any], net: Network, path: str) -> WalletFile:
    name = _str(obj, "name", path, "")
    atype = _str(obj, "addressType", path, "")
    wraps = {"P2SH": "sh", "P2SH-P2WSH": "sh-wsh", "P2SH_P2WSH": "sh-wsh", "P2WSH": "wsh"}
    if atype not in wraps:
        _err(path, "addressType", f"{atype!r:.20} is not P2SH, P2SH-P2WSH or P2WSH")
    wrap = wraps[atype]
    fam = {"mainnet": "main", "testnet": "test", "regtest": "test", "signet": "test"}
    cnet = _str(obj, "network", path, "")
    if cnet not in fam:
        _err(path, "network", f"{cnet!r:.20} is not mainnet, testnet, signet or regtest")
    if fam[cnet] != net.params.family:
        raise NetworkMismatchError(
            f"{path}: network: the file is for {cnet} but the network is {net.label}",
            expected=net.label,
            found=cnet,
        )
    quorum = _dict(obj, "quorum", path, "")
    keys_raw = obj.get("extendedPublicKeys")
    if not isinstance(keys_raw, list) or not keys_raw:
        _err(path, "extendedPublicKeys", "must be a non-empty list")
    n = _int(quorum, "totalSigners", path, "quorum.", 1, 20)
    if n != len(keys_raw):
        _err(path, "quorum.totalSigners", f"says {n} but extendedPublicKeys has {len(keys_raw)}")
    m = quorum.get("requiredSigners")
    if "requiredSigners" not in quorum:
        _err(path, "quorum.requiredSigners", "is missing")
    m = _threshold(m, n, path, "quorum.requiredSigners", wrap)
    if "startingAddressIndex" in obj:
        start = _int(obj, "startingAddressIndex", path, "", 0, 0x7FFFFFFF)
        if start:
            _err(path, "startingAddressIndex", "only wallets starting at index 0 are supported")
    exprs = []
    for i, k in enumerate(keys_raw):
        where = f"extendedPublicKeys[{i}]."
        if not isinstance(k, dict):
            _err(path, where[:-1], "must be an object")
        key, _kind, depth = _ext_key(k.get("xpub"), net, path, f"{where}xpub")
        bip32 = _str(k, "bip32Path", path, where, required=False)
        xfp = k.get("xfp")
        if xfp is None or not bip32 or bip32.lower() == "unknown":
            exprs.append(key)
            continue
        steps = _derivation(bip32, path, f"{where}bip32Path")
        _coin_check(steps, net, path, f"{where}bip32Path")
        fp = _xfp(xfp, path, f"{where}xfp")
        exprs.append(_key_expr(fp, steps, key, depth, path, f"{where}xpub"))
    if len(set(exprs)) != len(exprs):
        _err(path, "extendedPublicKeys", "the same key is listed twice")
    # Caravan builds its scripts with BIP-67 sorted keys: sortedmulti().
    t = _target(_multi(wrap, m, exprs), net, path, "extendedPublicKeys")
    return WalletFile(path, "caravan", name, net, (t,), m, tuple(exprs))


def _specter(obj: Mapping[str, Any], net: Network, path: str) -> WalletFile:
    name = _str(obj, "label", path, "", required=False) or _str(obj, "name", path, "")
    if "blockheight" in obj:
        _int(obj, "blockheight", path, "", 0, 10_000_000)
    desc = _str(obj, "descriptor", path, "")
    t, m, keys = _descriptor_wallet(desc, net, path, "descriptor", widen=True)
    return WalletFile(path, "specter", name, net, (t,), m, keys)


def _core(obj: Mapping[str, Any], net: Network, path: str) -> WalletFile:
    name = _str(obj, "wallet_name", path, "", required=False) or Path(path).name
    items = obj.get("descriptors")
    if not isinstance(items, list) or not items:
        _err(path, "descriptors", "must be a non-empty list")
    descs = []
    for i, d in enumerate(items):
        where = f"descriptors[{i}]"
        if not isinstance(d, dict):
            _err(path, where, "must be an object with a 'desc'")
        descs.append((_str(d, "desc", path, f"{where}."), where))
        for flag in ("active", "internal"):
            if flag in d and not isinstance(d[flag], bool):
                _err(path, f"{where}.{flag}", "must be true or false")
        if "range" in d:
            r = d["range"]
            ok = isinstance(r, list) and len(r) == 2 and all(type(x) is int and x >= 0 for x in r)
            if not ok or r[0] > r[1]:
                _err(path, f"{where}.range", "must be [start, end] with 0 <= start <= end")
        if "timestamp" in d and not (d["timestamp"] == "now" or type(d["timestamp"]) is int):
            _err(path, f"{where}.timestamp", "must be an integer or 'now'")
    targets, m, keys = _merge_descriptors(descs, net, path, widen=False)
    return WalletFile(path, "core-descriptors", name, net, targets, m, keys)


# ---------------------------------------------------------------------------------------------
# Descriptors in files

_KEY_RE = re.compile(
    r"(\[[0-9a-fA-F]{8}(?:/[0-9]+['hH]?)*\])?"
    r"([xtyzuvYZUV]pub[1-9A-HJ-NP-Za-km-z]{100,112})"
    r"((?:/(?:<[0-9;]+>|[0-9]+['hH]?|\*\*|\*))*)"
)


def _normalise(desc: str, net: Network, path: str, where: str, *, widen: bool) -> str:
    """Standard xpub/tpub keys, ``/**`` as ``/<0;1>/*``; with ``widen``, accounts get both chains.

    ``widen`` turns a key without a suffix (Specter) and a lone ``/0/*`` or ``/1/*`` (a file
    with one chain of an account) into ``/<0;1>/*``: a wallet has both chains.
    """
    body = desc.strip()
    if "#" in body:
        body, _, given = body.rpartition("#")
        from .targets import descriptor_checksum

        if given.strip() != descriptor_checksum(body):
            _err(path, where, f"the descriptor checksum #{given.strip():.8} does not match")

    def repl(m: re.Match[str]) -> str:
        origin, key, suffix = m.group(1) or "", m.group(2), m.group(3)
        std, _kind, _d = _ext_key(key, net, path, where)
        origin = origin.replace("'", "h").replace("H", "h").lower()
        # BIP-389 / BIP-129: "/**" is short for "/<0;1>/*".
        if suffix == "/**" or (widen and suffix in ("", "/0/*", "/1/*")):
            suffix = "/<0;1>/*"
        return f"{origin}{std}{suffix}"

    return _KEY_RE.sub(repl, body)


def _threshold_of(desc: str) -> tuple[int | None, int]:
    m = re.search(r"(?:sorted)?multi(?:_a)?\((\d+),", desc)
    n = len(_KEY_RE.findall(desc))
    return (int(m.group(1)) if m else None), n


def _descriptor_wallet(
    desc: str, net: Network, path: str, where: str, *, widen: bool
) -> tuple[Target, int | None, tuple[str, ...]]:
    norm = _normalise(desc, net, path, where, widen=widen)
    m, n = _threshold_of(norm)
    if m is not None:
        wrap = "sh" if norm.startswith("sh(multi") or norm.startswith("sh(sortedmulti") else "wsh"
        _threshold(m, n, path, where, wrap)
    t = _target(norm, net, path, where)
    keys = tuple(f"{g[0]}{g[1]}" for g in _KEY_RE.findall(norm))
    return t, m, keys


def _merge_descriptors(
    descs: Sequence[tuple[str, str]], net: Network, path: str, *, widen: bool
) -> tuple[tuple[Target, ...], int | None, tuple[str, ...]]:
    """Descriptors of one file; a receive/change pair becomes one ``/<0;1>/*`` target."""
    norms = [(_normalise(d, net, path, w, widen=False), w) for d, w in descs]
    merged: list[tuple[str, str]] = []
    used: set[int] = set()
    for i, (d, w) in enumerate(norms):
        if i in used:
            continue
        if "/0/*" in d:
            twin = d.replace("/0/*", "/1/*")
            j = next((j for j, (e, _w) in enumerate(norms) if e == twin and j not in used), None)
            if j is not None:
                used.add(j)
                merged.append((d.replace("/0/*", "/<0;1>/*"), w))
                continue
        merged.append((d, w))
    targets: list[Target] = []
    keys: list[str] = []
    threshold = None
    for d, w in merged:
        t, m, k = _descriptor_wallet(d, net, path, w, widen=widen)
        if any(x.descriptor == t.descriptor for x in targets):
            _err(path, w, "the same descriptor is listed twice")
        targets.append(t)
        keys += [x for x in k if x not in keys]
        threshold = m if m is not None else threshold
    return tuple(targets), threshold, tuple(keys)


# ---------------------------------------------------------------------------------------------
# Text formats


def _from_text(text: str, net: Network, path: str) -> WalletFile:
    lines = text.splitlines()
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    if first.startswith("BSMS"):
        return _bsms(lines, net, path)
    if first.startswith("addwallet "):
        return _specter_diy(first, net, path)
    if re.search(r"^\s*(Policy|Format)\s*:", text, re.M | re.I):
        return _coldcard_multisig(lines, net, path)
    if "spscan1" in text:
        _err(path, "line 1", "a silent-payment scan key: it cannot be scanned as a UTXO set")
    if re.fullmatch(r"\[[0-9a-fA-F]{8}(/[0-9]+['hH]?)*\][1-9A-HJ-NP-Za-km-z]+", first):
        return _key_file(first, net, path)
    return _descriptor_text(lines, net, path)


def _key_file(line: str, net: Network, path: str) -> WalletFile:
    """A Specter-DIY style ``[fingerprint/path]key`` line: one single-sig account."""
    origin, key = line[1:].split("]", 1)
    fp, *rest = origin.split("/")
    steps = _derivation("/".join(rest), path, "line 1 (origin)")
    _coin_check(steps, net, path, "line 1 (origin)")
    std, kind, depth = _ext_key(key, net, path, "line 1 (key)")
    kind = _kind_from(kind, steps, path, "line 1 (key)")
    expr = _key_expr(_xfp(fp, path, "line 1"), steps, std, depth, path, "line 1")
    t = _target(_single(kind, expr), net, path, "line 1")
    return WalletFile(path, "specter-diy", f"Specter-DIY {fp.lower()}", net, (t,), None, (expr,))


def _specter_diy(line: str, net: Network, path: str) -> WalletFile:
    rest = line[len("addwallet ") :]
    if "&" not in rest:
        _err(path, "line 1", "an addwallet line is 'addwallet NAME&DESCRIPTOR'")
    name, desc = rest.split("&", 1)
    if not name.strip():
        _err(path, "line 1", "the wallet name is empty")
    t, m, keys = _descriptor_wallet(desc, net, path, "line 1 (descriptor)", widen=True)
    return WalletFile(path, "specter-diy", name.strip(), net, (t,), m, keys)


_LABEL_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9 _-]{0,40}:\s*(?=[a-z]+\()")


def _descriptor_text(lines: Sequence[str], net: Network, path: str) -> WalletFile:
    descs: list[tuple[str, str]] = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = _LABEL_PREFIX.sub("", line)
        if not re.match(r"[a-z]+\(", line):
            _err(
                path,
                f"line {n}",
                "not a descriptor, and not a format utxo_truth recognises (Coldcard, Electrum, "
                "Specter, Caravan, Cobo/Keystone, BSMS, Core listdescriptors, descriptors)",
            )
        descs.append((line, f"line {n}"))
    if not descs:
        _err(path, "content", "no descriptor found (only comments or blank lines)")
    targets, m, keys = _merge_descriptors(descs, net, path, widen=True)
    return WalletFile(path, "descriptor", Path(path).stem, net, targets, m, keys)


_CC_FORMATS = {"P2SH": "sh", "P2SH-P2WSH": "sh-wsh", "P2WSH-P2SH": "sh-wsh", "P2WSH": "wsh"}


def _coldcard_multisig(lines: Sequence[str], net: Network, path: str) -> WalletFile:
    name = policy = fmt = None
    deriv: list[str] | None = None
    exprs: list[str] = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"line {n}"
        if ":" not in line:
            _err(path, where, "expected 'Key: value' or 'XFP: xpub'")
        k, v = (s.strip() for s in line.split(":", 1))
        lk = k.lower()
        if lk == "name":
            name = v
        elif lk == "policy":
            policy = v
        elif lk == "format":
            fmt = v.upper()
        elif lk == "derivation":
            deriv = _derivation(v, path, f"{where} (Derivation)")
            _coin_check(deriv, net, path, f"{where} (Derivation)")
        elif re.fullmatch(r"[0-9A-Fa-f]{8}", k):
            if deriv is None:
                _err(path, where, "a key before any 'Derivation:' line")
            std, _kind, depth = _ext_key(v, net, path, f"{where} (key of {k.upper()})")
            exprs.append(_key_expr(k.lower(), deriv, std, depth, path, where))
        else:
            _err(path, where, f"unknown field {k!r:.20}")
    if not name:
        _err(path, "Name", "is missing")
    if policy is None:
        _err(path, "Policy", "is missing")
    pm = re.fullmatch(r"(\d{1,2})\s*(?:of|/)\s*(\d{1,2})", policy, re.I)
    if not pm:
        _err(path, "Policy", f"{policy!r:.20} is not 'M of N'")
    m, n = int(pm.group(1)), int(pm.group(2))
    fmt = fmt or "P2SH"
    if fmt not in _CC_FORMATS:
        _err(path, "Format", f"{fmt!r:.20} is not P2SH, P2SH-P2WSH or P2WSH")
    wrap = _CC_FORMATS[fmt]
    if n != len(exprs):
        _err(path, "Policy", f"says {n} keys but the file lists {len(exprs)}")
    if len({e.split("]")[-1] for e in exprs}) != len(exprs):
        _err(path, "keys", "the same key is listed twice")
    _threshold(m, n, path, "Policy", wrap)
    # Coldcard multisig wallets use BIP-67 sorted keys: sortedmulti().
    t = _target(_multi(wrap, m, exprs), net, path, "keys")
    return WalletFile(path, "coldcard-multisig", name, net, (t,), m, tuple(exprs))


def _bsms(lines: Sequence[str], net: Network, path: str) -> WalletFile:
    rows = [ln.strip() for ln in lines]
    while rows and not rows[-1]:
        rows.pop()
    # BIP-129 descriptor record: "BSMS 1.0", descriptor, path restrictions, first address.
    if rows[0] != "BSMS 1.0":
        _err(path, "line 1", f"{rows[0]!r:.20} is not 'BSMS 1.0' (the only version defined)")
    if len(rows) < 2 or not rows[1]:
        _err(path, "line 2", "the descriptor is missing")
    if len(rows) > 4:
        _err(path, "line 5", "a BSMS 1.0 descriptor record has 4 lines")
    desc = rows[1]
    restrictions = rows[2] if len(rows) > 2 else ""
    address = rows[3] if len(rows) > 3 else ""
    m_thr = re.search(r"(?:sorted)?multi\((\d+),", desc)
    if m_thr and int(m_thr.group(1)) == 0:
        # BIP-129 / Core: a multisig threshold must be at least 1; 0 would let anyone spend.
        _err(path, "line 2", "the multisig threshold is 0: refused (it must be 1..n)")
    if restrictions not in ("", "No path restrictions", "/0/*,/1/*"):
        _err(
            path,
            "line 3",
            f"path restrictions {restrictions!r:.40}: utxo_truth watches the standard receive "
            "and change derivation (/0/*,/1/*) only",
        )
    if not address:
        _err(
            path,
            "line 4",
            "the record does not provide a first address (BIP-129 requires it, so the "
            "descriptor can be checked against the other signers')",
        )
    try:
        given = parse_target(address, net)
    except InputError as exc:
        if isinstance(exc, NetworkMismatchError):
            _rewrap(exc, path, "line 4")
        _err(path, "line 4", f"{address!r:.100} is not a valid address: {exc}")
    if given.ranged:
        _err(path, "line 4", f"{address!r:.100} is not a valid address")
    suffixes = {m.group(3) for m in _KEY_RE.finditer(desc)}
    fixed: str | None = None
    if suffixes != {"/**"}:
        if len(suffixes) != 1 or not re.fullmatch(r"/[01]/\d+", next(iter(suffixes))):
            _err(
                path,
                "line 2",
                "every key must end /** or one fixed /0/N or /1/N (the standard receive and "
                "change derivation): other derivations cannot be watched",
            )
        fixed = next(iter(suffixes))
    if fixed is None:
        t, m, keys = _descriptor_wallet(desc, net, path, "line 2", widen=False)
        check_script = t.scripts(0, 0, 1)[0]
    else:
        exact, _m, _k = _descriptor_wallet(desc, net, path, "line 2", widen=False)
        check_script = exact.script()
        wide = desc.replace(fixed, "/<0;1>/*")
        t, m, keys = _descriptor_wallet(wide, net, path, "line 2", widen=False)
        chain, index = (int(x) for x in fixed[1:].split("/"))
        if t.scripts(chain, index, index + 1)[0] != check_script:
            _err(path, "line 2", "the fixed path is not on the wallet's chains")  # pragma: no cover
    if given.script() != check_script:
        _err(
            path,
            "line 4",
            f"the first address {address!r:.100} is not what the descriptor gives "
            f"({address_of(check_script, net)}): the record was made with a different set of "
            "keys or edited. Not watched.",
        )
    return WalletFile(path, "bsms", Path(path).stem, net, (t,), m, keys)


def _key_id(xpub: str) -> str:
    """The fingerprint of an extended key itself (hash160 of its public key, first 4 bytes)."""
    payload, _ok = _b58check(xpub)
    assert payload is not None
    return hash160(payload[45:78])[:4].hex()
