"""Signed messages that prove control of an address: BIP-322, BIP-137 and multisig rows.

Pure (no I/O). :func:`verify_message` reads any of

- **BIP-322** v2 signatures (bitcoin/bips ``bip-0322.mediawiki``): ``smp`` (simple: a witness
  stack), ``ful`` (full: the signed ``to_sign`` transaction) and ``pof`` (proof of funds: a
  finalized PSBT whose extra inputs are coins the signer proves it can spend), with the prefix or,
  for backward compatibility, a prefix-less simple signature;
- **legacy** signed messages (65-byte recoverable ECDSA, base64): BIP-137 header bytes for p2pkh,
  p2sh-p2wpkh and p2wpkh, and Electrum's convention of signing a segwit address with the p2pkh
  header (accepted when the recovered key's segwit address is the one given).

The answer is a :class:`MessageProof` whose ``status`` is ``valid``, ``invalid`` or
``inconclusive``. A script this library cannot evaluate is ``inconclusive``, never ``valid``.
:func:`freshness` says whether a message names a block (the bip322-audit convention: the text
ends with a block height and hash) or is a fixed, ``replayable`` text.

>>> p = verify_message("bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l", "Hello World",
...     "smpAkcwRAIgZRfIY3p7/DoVTty6YZbWS71bc5Vct9p9Fia83eRmw2QCICK/ENGfwLtptFluMGs2KsqoNSk89pO7"
...     "F29zJLUx9a/sASECx/EgAxlkQpQ9hYjgGu6EBCPMVPwVIVJqO4XCsMvViHI=", "main")
>>> p.status.value, p.format
('valid', 'simple')
>>> freshness("I am an OKX address").replayable
True
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from enum import StrEnum

from embit.util import secp256k1 as _secp

from . import _interp
from ._interp import Inconclusive, Invalid, SpendChecker, hash160, tagged_hash
from ._network import Network, parse_network
from ._txcodec import (
    DecodeError,
    Tx,
    TxIn,
    TxOut,
    hash256,
    parse_psbt,
    parse_tx,
    parse_witness,
    ser_bytes,
    sha256,
)
from .targets import _address_script, _refuse_private

__all__ = [
    "Freshness",
    "MessageProof",
    "MultisigProof",
    "ProofStatus",
    "ProvenCoin",
    "bip322_message_hash",
    "freshness",
    "legacy_message_hash",
    "read_address",
    "to_sign_tx",
    "to_spend_tx",
    "verify_message",
    "verify_multisig_signatures",
]

MAX_SIGNATURE_CHARS = 400_000  # a proof of funds of ~2000 inputs; more is refused unread
MAX_MESSAGE_BYTES = 100_000


class ProofStatus(StrEnum):
    """BIP-322 verification states (``valid at time T and age S`` is ``valid`` + fields)."""

    VALID = "valid"
    INVALID = "invalid"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class ProvenCoin:
    """A coin a proof-of-funds signature shows the signer can spend (not that it is unspent)."""

    txid: str  # display order (as block explorers show it)
    vout: int
    value_sats: int
    script_hex: str


@dataclass(frozen=True)
class MessageProof:
    """The outcome of verifying one signed message.

    ``signers`` are the public keys (hex; 32-byte x-only for taproot) whose signatures were
    checked and held. ``lock_time``/``sequence`` are BIP-322's *T* and *S* ("valid at time T and
    age S"). ``coins`` lists proof-of-funds inputs; a validator must still check they are unspent.
    """

    status: ProofStatus
    address: str
    format: str  # "simple" | "full" | "pof" | "legacy" | "unknown"
    reason: str
    signers: tuple[str, ...] = ()
    lock_time: int = 0
    sequence: int = 0
    coins: tuple[ProvenCoin, ...] = field(default_factory=tuple)

    @property
    def valid(self) -> bool:
        """True only for ``valid`` (never for ``inconclusive``)."""
        return self.status is ProofStatus.VALID


def bip322_message_hash(message: bytes) -> bytes:
    """BIP-322: ``message_hash = sha256_tag("BIP0322-signed-message", m)``.

    >>> bip322_message_hash(b"").hex()[:16]
    'c90c269c4f8fcbe6'
    """
    return tagged_hash("BIP0322-signed-message", message)


def to_spend_tx(message: bytes, script_pubkey: bytes) -> Tx:
    """BIP-322 ``to_spend``: the virtual transaction whose only output is the challenge."""
    return Tx(
        version=0,  # BIP-322: nVersion = 0
        vin=[
            TxIn(
                prev_txid=b"\x00" * 32,  # BIP-322: prevout.hash = 0000...000
                prev_vout=0xFFFFFFFF,  # BIP-322: prevout.n = 0xFFFFFFFF
                # BIP-322: scriptSig = OP_0 PUSH32[message_hash]
                script_sig=b"\x00\x20" + bip322_message_hash(message),
                sequence=0,  # BIP-322: nSequence = 0
            )
        ],
        vout=[TxOut(0, script_pubkey)],  # BIP-322: nValue = 0, scriptPubKey = message_challenge
        locktime=0,  # BIP-322: nLockTime = 0
    )


def to_sign_tx(to_spend: Tx, witness: list[bytes]) -> Tx:
    """BIP-322 ``to_sign`` with default fields (the *simple* variant) and ``witness``."""
    return Tx(
        version=0,
        vin=[TxIn(to_spend.txid(), 0, b"", 0, list(witness))],  # spends to_spend:0
        vout=[TxOut(0, b"\x6a")],  # BIP-322: nValue = 0, scriptPubKey = OP_RETURN
        locktime=0,
    )


def read_address(address: str, network: Network | str) -> bytes:
    """The scriptPubKey of ``address``; private keys are refused unechoed (PrivateKeyError).

    >>> read_address("bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l", "main").hex()[:4]
    '0014'
    """
    _refuse_private(address)
    return _address_script(address.strip(), parse_network(network))


def _fail(address: str, fmt: str, reason: str) -> MessageProof:
    return MessageProof(ProofStatus.INVALID, address, fmt, reason)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("error decoding signature as base64") from exc


def verify_message(
    address: str, message: str | bytes, signature: str, network: Network | str
) -> MessageProof:
    """Verify ``signature`` of ``message`` for ``address`` (BIP-322 or legacy BIP-137).

    Raises a typed :class:`~utxo_truth.InputError` for an address that cannot be read or is of
    another network; a malformed or wrong signature is an ``invalid`` result, with the reason.

    >>> verify_message("bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l", "", "smpAA==", "main").status
    <ProofStatus.INVALID: 'invalid'>
    """
    net = parse_network(network)
    address = address.strip()
    spk = read_address(address, net)
    msg = message.encode("utf-8") if isinstance(message, str) else bytes(message)
    if len(msg) > MAX_MESSAGE_BYTES:
        return _fail(address, "unknown", f"message longer than {MAX_MESSAGE_BYTES} bytes")
    sig = signature.strip()
    if not sig:
        return _fail(address, "unknown", "signature too short (empty)")
    if len(sig) > MAX_SIGNATURE_CHARS:
        return _fail(address, "unknown", f"signature longer than {MAX_SIGNATURE_CHARS} characters")
    prefix = sig[:3]
    try:
        if prefix == "smp":
            return _verify_simple(address, msg, spk, parse_witness(_b64(sig[3:])))
        if prefix == "ful":
            raw = _b64(sig[3:])
            try:
                tx = parse_tx(raw)
            except DecodeError as exc:
                raise DecodeError(f"error parsing signature as full variant: {exc}") from exc
            return _verify_full(address, msg, spk, tx, "full")
        if prefix == "pof":
            raw = _b64(sig[3:])
            return _verify_pof(address, msg, spk, raw)
        raw = _b64(sig)
        if len(raw) == 65 and 27 <= raw[0] <= 42:
            return _verify_legacy(address, msg, spk, raw, net)
        # BIP-322: "a verifier might assume the simple variant in the absence of a prefix"
        return _verify_simple(address, msg, spk, parse_witness(raw))
    except DecodeError as exc:
        return _fail(address, "unknown", str(exc))


def _outcome(
    address: str, fmt: str, tx: Tx, checkers: list[SpendChecker], coins: tuple[ProvenCoin, ...] = ()
) -> MessageProof:
    try:
        for c in checkers:
            _interp.verify_input(c)
    except Invalid as exc:
        return _fail(address, fmt, f"invalid signature: {exc.reason}")
    except Inconclusive as exc:
        return MessageProof(
            ProofStatus.INCONCLUSIVE, address, fmt, f"cannot evaluate: {exc.reason}"
        )
    # BIP-322 upgradeable rules: "The version of to_sign must be 0 or 2." (else inconclusive)
    if tx.version not in (0, 2):
        return MessageProof(ProofStatus.INCONCLUSIVE, address, fmt, f"to_sign version {tx.version}")
    signers: list[str] = []
    for key in checkers[0].signers:
        if key.hex() not in signers:
            signers.append(key.hex())
    return MessageProof(
        ProofStatus.VALID,
        address,
        fmt,
        "signature valid"
        + (
            f" at time {tx.locktime} and age {tx.vin[0].sequence}"
            if tx.locktime or tx.vin[0].sequence
            else ""
        ),
        tuple(signers),
        tx.locktime,
        tx.vin[0].sequence,
        coins,
    )


def _verify_simple(address: str, msg: bytes, spk: bytes, witness: list[bytes]) -> MessageProof:
    if not witness:
        return _fail(address, "simple", "invalid signature: empty witness stack")
    to_spend = to_spend_tx(msg, spk)
    tx = to_sign_tx(to_spend, witness)
    return _outcome(address, "simple", tx, [SpendChecker(tx, 0, [to_spend.vout[0]])])


def _check_shape(tx: Tx, to_spend: Tx, fmt: str) -> str | None:
    # BIP-322 basic validation: first input spends to_spend:0, exactly one OP_RETURN output
    if not tx.vin:
        return "to_sign has no input"
    if tx.vin[0].prev_txid != to_spend.txid() or tx.vin[0].prev_vout != 0:
        return "invalid signature: to_sign's first input does not spend to_spend (wrong message or address)"
    if len(tx.vout) != 1 or tx.vout[0].value != 0 or tx.vout[0].script != b"\x6a":
        return "to_sign must have exactly one output: 0 sats to OP_RETURN"
    if fmt == "full" and len(tx.vin) != 1:
        return "a full signature has exactly one input (use pof for more)"
    return None


def _verify_full(address: str, msg: bytes, spk: bytes, tx: Tx, fmt: str) -> MessageProof:
    to_spend = to_spend_tx(msg, spk)
    problem = _check_shape(tx, to_spend, fmt)
    if problem:
        return _fail(address, fmt, problem)
    return _outcome(address, fmt, tx, [SpendChecker(tx, 0, [to_spend.vout[0]])])


def _verify_pof(address: str, msg: bytes, spk: bytes, raw: bytes) -> MessageProof:
    try:
        psbt = parse_psbt(raw)
    except DecodeError as exc:
        raise DecodeError(f"error parsing signature as proof-of-funds PSBT: {exc}") from exc
    tx = psbt.tx
    to_spend = to_spend_tx(msg, spk)
    problem = _check_shape(tx, to_spend, "pof")
    if problem:
        return _fail(address, "pof", problem)
    spent: list[TxOut] = [to_spend.vout[0]]
    coins: list[ProvenCoin] = []
    prev_txs: dict[bytes, Tx] = {}
    for i, (inp, pin) in enumerate(zip(tx.vin, psbt.inputs, strict=True)):
        inp.script_sig = pin.final_script_sig or b""
        inp.witness = list(pin.final_witness or [])
        if i == 0:
            continue
        if pin.non_witness_utxo is not None:
            if pin.non_witness_utxo.txid() != inp.prev_txid:
                return _fail(address, "pof", f"input {i}: non-witness UTXO is not the spent tx")
            prev_txs[inp.prev_txid] = pin.non_witness_utxo
        utxo: TxOut | None = None
        if inp.prev_txid in prev_txs:
            prev = prev_txs[inp.prev_txid]
            if inp.prev_vout >= len(prev.vout):
                return _fail(address, "pof", f"input {i}: spent output index out of range")
            utxo = prev.vout[inp.prev_vout]
            if pin.witness_utxo is not None and pin.witness_utxo != utxo:
                return _fail(address, "pof", f"input {i}: witness and non-witness UTXO differ")
        elif pin.witness_utxo is not None:
            utxo = pin.witness_utxo
        if utxo is None:
            # BIP-322: fail validation if no (Non-)Witness UTXO can be found for an input
            return _fail(address, "pof", f"input {i}: no UTXO given for the coin it spends")
        if inp.prev_txid not in prev_txs and not inp.witness:
            # BIP-322 (pof): a non-witness input needs its Non-Witness UTXO; its value is not
            # signed by a legacy sighash, so a bare witness UTXO could claim any amount
            return _fail(
                address, "pof", f"input {i}: a non-segwit input needs its full previous tx"
            )
        spent.append(utxo)
        coins.append(
            ProvenCoin(inp.prev_txid[::-1].hex(), inp.prev_vout, utxo.value, utxo.script.hex())
        )
    checkers = [SpendChecker(tx, i, spent) for i in range(len(tx.vin))]
    return _outcome(address, "pof", tx, checkers, tuple(coins))


# --------------------------------------------------------------------------------------------
# Legacy signed messages (BIP-137 / Bitcoin Core signmessage / Electrum)


def legacy_message_hash(message: bytes) -> bytes:
    r"""``hash256(varstr("Bitcoin Signed Message:\\n") + varstr(message))`` (Core's MessageHash)."""
    return hash256(ser_bytes(b"Bitcoin Signed Message:\n") + ser_bytes(message))


def _recover(raw: bytes, digest: bytes) -> bytes | None:
    recid = (raw[0] - 27) & 3  # BIP-137: header = 27 + recid (+4 compressed, +8/+12 segwit)
    try:
        rsig = _secp.ecdsa_recoverable_signature_parse_compact(raw[1:], recid)
        pub = _secp.ecdsa_recover(rsig, digest)
        compressed = raw[0] >= 31
        flag = _secp.EC_COMPRESSED if compressed else _secp.EC_UNCOMPRESSED
        return bytes(_secp.ec_pubkey_serialize(pub, flag))
    except (ValueError, TypeError):
        return None


def _verify_legacy(address: str, msg: bytes, spk: bytes, raw: bytes, net: Network) -> MessageProof:
    header = raw[0]
    pub = _recover(raw, legacy_message_hash(msg))
    if pub is None:
        return _fail(address, "legacy", "invalid signature: no public key can be recovered")
    h = hash160(pub)
    p2pkh = b"\x76\xa9\x14" + h + b"\x88\xac"
    p2wpkh = b"\x00\x14" + h
    p2sh_p2wpkh = b"\xa9\x14" + hash160(p2wpkh) + b"\x87"
    if header <= 30:  # BIP-137: 27-30 p2pkh, uncompressed key
        allowed = {p2pkh: "p2pkh (uncompressed)"}
    elif header <= 34:
        # BIP-137: 31-34 p2pkh compressed; Electrum also signs p2wpkh / p2sh-p2wpkh with it
        allowed = {
            p2pkh: "p2pkh",
            p2wpkh: "p2wpkh (Electrum header)",
            p2sh_p2wpkh: "p2sh-p2wpkh (Electrum header)",
        }
    elif header <= 38:  # BIP-137: 35-38 p2sh-p2wpkh
        allowed = {p2sh_p2wpkh: "p2sh-p2wpkh"}
    else:  # BIP-137: 39-42 p2wpkh
        allowed = {p2wpkh: "p2wpkh"}
    if spk not in allowed:
        return _fail(
            address,
            "legacy",
            "invalid signature: the recovered key is not this address's key (or header byte names another address type)",
        )
    return MessageProof(
        ProofStatus.VALID,
        address,
        "legacy",
        f"legacy signature valid ({allowed[spk]})",
        (pub.hex(),),
    )


# --------------------------------------------------------------------------------------------
# Multisig reserve rows (OKX style: redeem script + one legacy signature per cosigner)


@dataclass(frozen=True)
class MultisigProof:
    """The outcome of a multisig row: ``m`` distinct keys of the script must have signed."""

    status: ProofStatus
    address: str
    reason: str
    threshold: int
    keys: tuple[str, ...]
    signed_by: tuple[str, ...]

    @property
    def valid(self) -> bool:
        """True only for ``valid`` (never for ``inconclusive``)."""
        return self.status is ProofStatus.VALID


def parse_multisig(script: bytes) -> tuple[int, list[bytes]] | None:
    """``OP_m <key>... OP_n OP_CHECKMULTISIG`` → (m, keys), or None if it is not that shape."""
    if len(script) < 37 or script[-1] != 0xAE:
        return None
    m, n = script[0] - 0x50, script[-2] - 0x50
    keys = []
    i = 1
    while i < len(script) - 2:
        size = script[i]
        if size not in (33, 65) or i + 1 + size > len(script) - 2:
            return None
        keys.append(script[i + 1 : i + 1 + size])
        i += 1 + size
    if not (1 <= m <= n <= 20) or len(keys) != n:
        return None
    return m, keys


def verify_multisig_signatures(
    address: str,
    message: str,
    signatures: list[str],
    script_hex: str,
    network: Network | str,
) -> MultisigProof:
    """Check a multisig reserve row: the script hashes to ``address`` and m distinct keys signed.

    Each signature is a legacy (BIP-137 style) signature by one cosigner key; the same signature
    (or two signatures of the same key) counts once.

    >>> verify_multisig_signatures("3Nye4j1GUFqCEBR3do2KEFZAs9oLe8NZ6X", "m", [], "00", "main").status
    <ProofStatus.INVALID: 'invalid'>
    """
    net = parse_network(network)
    spk = read_address(address, net)
    try:
        script = bytes.fromhex(script_hex.strip())
    except ValueError:
        return MultisigProof(
            ProofStatus.INVALID, address, "redeem/witness script is not hex", 0, (), ()
        )
    wsh = b"\x00\x20" + sha256(script)
    candidates = {
        b"\xa9\x14" + hash160(script) + b"\x87",  # BIP-16 p2sh
        wsh,  # BIP-141 p2wsh
        b"\xa9\x14" + hash160(wsh) + b"\x87",  # BIP-141 p2sh-p2wsh
    }
    if spk not in candidates:
        return MultisigProof(
            ProofStatus.INVALID, address, "the script does not hash to the address", 0, (), ()
        )
    parsed = parse_multisig(script)
    if parsed is None:
        return MultisigProof(
            ProofStatus.INCONCLUSIVE,
            address,
            "the script is not a bare m-of-n CHECKMULTISIG this library reads",
            0,
            (),
            (),
        )
    m, keys = parsed
    hex_keys = tuple(k.hex() for k in keys)
    digest = legacy_message_hash(message.encode("utf-8"))
    signed: list[str] = []
    for sig in signatures:
        sig = sig.strip()
        if not sig:
            continue
        try:
            raw = _b64(sig)
        except DecodeError:
            return MultisigProof(
                ProofStatus.INVALID,
                address,
                "a signature is not base64",
                m,
                hex_keys,
                tuple(signed),
            )
        if len(raw) != 65 or not 27 <= raw[0] <= 42:
            return MultisigProof(
                ProofStatus.INVALID,
                address,
                "a signature is not a 65-byte recoverable signature",
                m,
                hex_keys,
                tuple(signed),
            )
        pub = _recover(raw, digest)
        if pub is None or pub not in keys:
            return MultisigProof(
                ProofStatus.INVALID,
                address,
                "a signature is not by any key of the script",
                m,
                hex_keys,
                tuple(signed),
            )
        if pub.hex() not in signed:  # distinct keys only: the same signature twice counts once
            signed.append(pub.hex())
    if len(signed) < m:
        return MultisigProof(
            ProofStatus.INVALID,
            address,
            f"{len(signed)} distinct key(s) signed, the script needs {m}",
            m,
            hex_keys,
            tuple(signed),
        )
    return MultisigProof(
        ProofStatus.VALID,
        address,
        f"{len(signed)} of {len(keys)} keys signed (needs {m})",
        m,
        hex_keys,
        tuple(signed),
    )


# --------------------------------------------------------------------------------------------
# Freshness

_BLOCK_SUFFIX = re.compile(r"(?:^|\D)(\d{1,9})\D{1,3}(?:0x)?([0-9a-fA-F]{64})\s*$")


@dataclass(frozen=True)
class Freshness:
    """Whether a message names a block: proof of control at or after ``height``/``block_hash``."""

    height: int | None
    block_hash: str | None

    @property
    def replayable(self) -> bool:
        """A fixed text: the signature may be older than any coin and proves nothing about when."""
        return self.height is None


def freshness(message: str) -> Freshness:
    """Read the bip322-audit convention: the message ends with a block height and hash.

    >>> freshness("utxo_truth reserves 800000 " + "00" * 32).height
    800000
    """
    m = _BLOCK_SUFFIX.search(message)
    if not m:
        return Freshness(None, None)
    return Freshness(int(m.group(1)), m.group(2).lower())
