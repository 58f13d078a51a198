"""A small, strict Bitcoin Script interpreter for BIP-322 verification (pure, no I/O).

It evaluates the script types BIP-322 proofs use (p2pkh, p2sh, p2wpkh, p2wsh, p2sh-wrapped
segwit, p2tr key path and tapscript leaves of version 0xc0) with the opcodes such scripts need:
pushes, flow control, stack moves, hashes, signature checks, CHECKLOCKTIMEVERIFY and
CHECKSEQUENCEVERIFY. Anything else raises :class:`Inconclusive`, never success: a script this
module cannot evaluate proves nothing. Signatures are checked with libsecp256k1 through embit;
the sighashes (legacy, BIP-143, BIP-341) are computed here.

>>> Inconclusive("OP_CAT").reason
'OP_CAT'
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from embit.util import secp256k1 as _secp

from ._script import compact_size
from ._txcodec import Tx, TxOut, hash256, ser_bytes, sha256

__all__ = ["Inconclusive", "Invalid", "SpendChecker", "verify_input"]

SIGHASH_DEFAULT = 0x00
SIGHASH_ALL = 0x01
MAX_SCRIPT_ELEMENT_SIZE = 520  # consensus: script.h MAX_SCRIPT_ELEMENT_SIZE
MAX_STACK_SIZE = 1000  # consensus: script.h MAX_STACK_SIZE (stack + altstack)
MAX_OPS_PER_SCRIPT = 201  # consensus: script.h MAX_OPS_PER_SCRIPT (not in tapscript)
MAX_SCRIPT_SIZE = 10000  # consensus: script.h MAX_SCRIPT_SIZE (not in tapscript)
LOCKTIME_THRESHOLD = 500_000_000  # consensus: script.h LOCKTIME_THRESHOLD
SEQUENCE_FINAL = 0xFFFFFFFF
SEQ_DISABLE = 1 << 31  # BIP-68 / BIP-112 disable flag
SEQ_TYPE = 1 << 22  # BIP-68 / BIP-112 type flag (time-based)
SEQ_MASK = 0x0000FFFF  # BIP-68 / BIP-112 value mask

BASE, WITNESS_V0, TAPSCRIPT = "base", "witness_v0", "tapscript"


class Invalid(Exception):
    """Some check failed: the proof is invalid."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Inconclusive(Exception):
    """A script or rule this interpreter does not evaluate: the proof proves nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def tagged_hash(tag: str, data: bytes) -> bytes:
    """BIP-340 tagged hash: sha256(sha256(tag) || sha256(tag) || data)."""
    t = sha256(tag.encode())
    return sha256(t + t + data)


def hash160(b: bytes) -> bytes:
    return hashlib.new("ripemd160", sha256(b)).digest()


# --------------------------------------------------------------------------------------------
# Script numbers and encodings


def _decode_num(b: bytes, max_size: int = 4) -> int:
    if len(b) > max_size:
        raise Invalid("script number overflow")
    # MINIMALDATA (BIP-62 rule 4, required by BIP-322): numbers must be minimally encoded
    if b and (b[-1] & 0x7F) == 0 and (len(b) == 1 or not (b[-2] & 0x80)):
        raise Invalid("non-minimally encoded script number (MINIMALDATA)")
    if not b:
        return 0
    n = int.from_bytes(b, "little")
    if b[-1] & 0x80:
        return -(n & ~(0x80 << (8 * (len(b) - 1))))
    return n


def _encode_num(n: int) -> bytes:
    if n == 0:
        return b""
    neg, a = n < 0, abs(n)
    out = bytearray()
    while a:
        out.append(a & 0xFF)
        a >>= 8
    if out[-1] & 0x80:
        out.append(0x80 if neg else 0)
    elif neg:
        out[-1] |= 0x80
    return bytes(out)


def _truthy(b: bytes) -> bool:
    for i, c in enumerate(b):
        if c:
            return not (i == len(b) - 1 and c == 0x80)
    return False


def is_strict_der(sig: bytes) -> bool:
    """BIP-66 IsValidSignatureEncoding (``sig`` includes the trailing sighash byte)."""
    if len(sig) < 9 or len(sig) > 73 or sig[0] != 0x30 or sig[1] != len(sig) - 3:
        return False
    len_r = sig[3]
    if 5 + len_r >= len(sig):
        return False
    len_s = sig[5 + len_r]
    if len_r + len_s + 7 != len(sig) or sig[2] != 0x02 or len_r == 0 or sig[4] & 0x80:
        return False
    if len_r > 1 and sig[4] == 0 and not sig[5] & 0x80:
        return False
    if sig[len_r + 4] != 0x02 or len_s == 0 or sig[len_r + 6] & 0x80:
        return False
    return not (len_s > 1 and sig[len_r + 6] == 0 and not sig[len_r + 7] & 0x80)


_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def _is_low_s(der: bytes) -> bool:
    len_r = der[3]
    s = int.from_bytes(der[6 + len_r : 6 + len_r + der[5 + len_r]], "big")
    return 0 < s <= _HALF_N


def ecdsa_ok(pubkey: bytes, der: bytes, msg32: bytes) -> bool:
    """libsecp256k1 ECDSA verification of a DER signature (no sighash byte)."""
    try:
        pub = _secp.ec_pubkey_parse(pubkey)
        sig = _secp.ecdsa_signature_parse_der(der)
    except (ValueError, TypeError):
        return False
    return bool(_secp.ecdsa_verify(sig, msg32, pub))


def schnorr_ok(xonly: bytes, sig64: bytes, msg32: bytes) -> bool:
    """libsecp256k1 BIP-340 verification."""
    try:
        pub, _ = _secp.xonly_pubkey_from_pubkey(_secp.ec_pubkey_parse(b"\x02" + xonly))
    except (ValueError, TypeError):
        return False
    return bool(_secp.schnorrsig_verify(sig64, msg32, pub))


def taproot_tweak(internal: bytes, merkle_root: bytes) -> tuple[bytes, int] | None:
    """BIP-341 taproot_tweak_pubkey: (x-only output key, parity) or None if invalid."""
    t = tagged_hash("TapTweak", internal + merkle_root)
    try:
        p = _secp.ec_pubkey_parse(b"\x02" + internal)  # BIP-340 lift_x: the even-y point
        _secp.ec_pubkey_tweak_add(p, t)  # Q = P + t*G (BIP-341); embit tweaks p in place
        sec = _secp.ec_pubkey_serialize(p)
    except (ValueError, TypeError):
        return None
    return sec[1:], sec[0] & 1


# --------------------------------------------------------------------------------------------
# Sighashes


@dataclass
class SpendChecker:
    """Computes sighashes of ``tx`` input ``index`` and records the keys that signed."""

    tx: Tx
    index: int
    spent: Sequence[TxOut]  # the output each input spends, in input order
    signers: list[bytes] = field(default_factory=list)

    @property
    def amount(self) -> int:
        return self.spent[self.index].value

    def legacy_sighash(self, script_code: bytes, hashtype: int) -> bytes:
        # Legacy SignatureHash (SIGHASH_ALL only): every scriptSig emptied except this input's,
        # which becomes scriptCode; the serialization is followed by the 4-byte hash type.
        tx = self.tx
        out = tx.version.to_bytes(4, "little") + compact_size(len(tx.vin))
        for i, inp in enumerate(tx.vin):
            out += inp.outpoint() + ser_bytes(script_code if i == self.index else b"")
            out += inp.sequence.to_bytes(4, "little")
        out += compact_size(len(tx.vout)) + b"".join(o.serialize() for o in tx.vout)
        out += tx.locktime.to_bytes(4, "little") + hashtype.to_bytes(4, "little")
        return hash256(out)

    def bip143_sighash(self, script_code: bytes, hashtype: int) -> bytes:
        # BIP-143 signature hash for witness v0, SIGHASH_ALL.
        tx, inp = self.tx, self.tx.vin[self.index]
        hash_prevouts = hash256(b"".join(i.outpoint() for i in tx.vin))
        hash_sequence = hash256(b"".join(i.sequence.to_bytes(4, "little") for i in tx.vin))
        hash_outputs = hash256(b"".join(o.serialize() for o in tx.vout))
        pre = (
            tx.version.to_bytes(4, "little")
            + hash_prevouts
            + hash_sequence
            + inp.outpoint()
            + ser_bytes(script_code)
            + self.amount.to_bytes(8, "little")
            + inp.sequence.to_bytes(4, "little")
            + hash_outputs
            + tx.locktime.to_bytes(4, "little")
            + hashtype.to_bytes(4, "little")
        )
        return hash256(pre)

    def bip341_sighash(
        self, hashtype: int, annex: bytes | None, leaf_hash: bytes | None = None
    ) -> bytes:
        # BIP-341 SigMsg for SIGHASH_DEFAULT / SIGHASH_ALL (no ANYONECANPAY, no NONE/SINGLE);
        # BIP-342 adds tapleaf_hash, key_version 0 and codesep_pos 0xffffffff for script path.
        tx = self.tx
        msg = bytes([0x00, hashtype])  # epoch 0, hash_type
        msg += tx.version.to_bytes(4, "little") + tx.locktime.to_bytes(4, "little")
        msg += sha256(b"".join(i.outpoint() for i in tx.vin))  # sha_prevouts
        msg += sha256(b"".join(o.value.to_bytes(8, "little") for o in self.spent))  # sha_amounts
        msg += sha256(b"".join(ser_bytes(o.script) for o in self.spent))  # sha_scriptpubkeys
        msg += sha256(b"".join(i.sequence.to_bytes(4, "little") for i in tx.vin))  # sha_sequences
        msg += sha256(b"".join(o.serialize() for o in tx.vout))  # sha_outputs
        ext_flag = 0 if leaf_hash is None else 1
        msg += bytes([ext_flag * 2 + (1 if annex is not None else 0)])  # spend_type
        msg += self.index.to_bytes(4, "little")
        if annex is not None:
            msg += sha256(ser_bytes(annex))
        if leaf_hash is not None:
            msg += leaf_hash + b"\x00" + b"\xff\xff\xff\xff"
        return tagged_hash("TapSighash", msg)


# --------------------------------------------------------------------------------------------
# The interpreter

_SUPPORTED_TAPSCRIPT_LEAF = 0xC0  # BIP-342 leaf version


@dataclass
class _Ctx:
    checker: SpendChecker
    sigversion: str
    leaf_hash: bytes | None = None
    annex: bytes | None = None
    script: bytes = b""  # the script being run: the legacy / BIP-143 scriptCode


def _parse_ops(script: bytes) -> list[tuple[int, bytes | None]]:
    ops: list[tuple[int, bytes | None]] = []
    i = 0
    while i < len(script):
        op = script[i]
        i += 1
        if op <= 0x4E:
            if op < 0x4C:
                n = op
            else:
                size = {0x4C: 1, 0x4D: 2, 0x4E: 4}[op]
                if i + size > len(script):
                    raise Invalid("script ends inside a push length")
                n = int.from_bytes(script[i : i + size], "little")
                i += size
            if i + n > len(script):
                raise Invalid("script ends inside a push")
            data = script[i : i + n]
            i += n
            # MINIMALDATA (BIP-62 rule 3, required by BIP-322): the smallest push opcode
            if (
                (len(data) == 0 and op != 0)
                or (len(data) == 1 and (1 <= data[0] <= 16 or data[0] == 0x81))
                or (len(data) <= 75 and op >= 0x4C and len(data) > 0)
                or (len(data) <= 255 and op > 0x4C)
                or (len(data) <= 65535 and op > 0x4D)
            ):
                raise Invalid("non-minimal push (MINIMALDATA)")
            ops.append((op, data))
        else:
            ops.append((op, None))
    return ops


def _is_push_only(script: bytes) -> bool:
    return all(op <= 0x60 for op, _ in _parse_ops(script))


_TAPSCRIPT_SUCCESS = (
    {0x50, 0x62, 0x89, 0x8A, 0x8D, 0x8E}
    | set(range(0x7E, 0x82))
    | set(range(0x83, 0x87))
    | set(range(0x95, 0x9A))
    | set(range(0xBB, 0xFF))
)


_DISABLED = frozenset((0x7E, 0x7F, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x8D, 0x8E, 0x95, 0x96))


def eval_script(script: bytes, stack: list[bytes], ctx: _Ctx) -> None:
    """Run ``script`` on ``stack`` (mutated) or raise Invalid / Inconclusive."""
    tap = ctx.sigversion == TAPSCRIPT
    if not tap and len(script) > MAX_SCRIPT_SIZE:
        raise Invalid("script larger than 10000 bytes")
    if tap:
        # BIP-342: any OP_SUCCESSx makes the script succeed unconditionally; an upgrade hook.
        i = 0
        while i < len(script):
            op = script[i]
            if op in _TAPSCRIPT_SUCCESS:
                raise Inconclusive(f"tapscript uses OP_SUCCESS 0x{op:02x}")
            i += 1
            if op <= 0x4E:
                size = {0x4C: 1, 0x4D: 2, 0x4E: 4}.get(op, 0)
                n = op if op < 0x4C else int.from_bytes(script[i : i + size], "little")
                i += size + n
    ops = _parse_ops(script)
    alt: list[bytes] = []
    exec_stack: list[bool] = []
    op_count = 0
    checker = ctx.checker

    def pop() -> bytes:
        if not stack:
            raise Invalid("stack underflow")
        return stack.pop()

    for op, data in ops:
        executing = all(exec_stack)
        if data is not None and len(data) > MAX_SCRIPT_ELEMENT_SIZE:
            raise Invalid("push larger than 520 bytes")
        if op > 0x60 and not tap:
            op_count += 1
            if op_count > MAX_OPS_PER_SCRIPT:
                raise Invalid("more than 201 opcodes")
        if op == 0xAB:
            # BIP-322 required rules: "The use of CODESEPARATOR or FindAndDelete is forbidden."
            raise Invalid("OP_CODESEPARATOR is forbidden by BIP-322")
        if not tap and op in _DISABLED:
            # Disabled opcodes fail the script even in an unexecuted branch (interpreter.cpp)
            raise Invalid(f"disabled opcode 0x{op:02x}")
        if data is not None:
            if executing:
                stack.append(data)
        elif 0x63 <= op <= 0x68 and op not in (0x65, 0x66):
            if op in (0x63, 0x64):  # OP_IF / OP_NOTIF
                value = False
                if executing:
                    arg = pop()
                    # MINIMALIF (BIP-322 required rule; consensus in tapscript, BIP-342)
                    if arg not in (b"", b"\x01"):
                        raise Invalid("OP_IF argument not minimal (MINIMALIF)")
                    value = arg == b"\x01"
                    if op == 0x64:
                        value = not value
                exec_stack.append(value)
            elif op == 0x67:  # OP_ELSE
                if not exec_stack:
                    raise Invalid("OP_ELSE without OP_IF")
                exec_stack[-1] = not exec_stack[-1]
            elif op == 0x68:  # OP_ENDIF
                if not exec_stack:
                    raise Invalid("OP_ENDIF without OP_IF")
                exec_stack.pop()
        elif not executing:
            continue
        elif op == 0x00 or (0x51 <= op <= 0x60) or op == 0x4F:
            stack.append(_encode_num(-1 if op == 0x4F else (0 if op == 0 else op - 0x50)))
        else:
            _exec_op(op, stack, alt, pop, ctx, checker)
        if len(stack) + len(alt) > MAX_STACK_SIZE:
            raise Invalid("stack larger than 1000 elements")
    if exec_stack:
        raise Invalid("unbalanced OP_IF")


def _exec_op(
    op: int,
    stack: list[bytes],
    alt: list[bytes],
    pop: object,
    ctx: _Ctx,
    checker: SpendChecker,
) -> None:
    assert callable(pop)
    tap = ctx.sigversion == TAPSCRIPT
    if op == 0x61:  # OP_NOP
        return
    if op == 0x69:  # OP_VERIFY
        if not _truthy(pop()):
            raise Invalid("OP_VERIFY failed")
    elif op == 0x6A:
        raise Invalid("OP_RETURN executed")
    elif op == 0x6B:
        alt.append(pop())
    elif op == 0x6C:
        if not alt:
            raise Invalid("altstack underflow")
        stack.append(alt.pop())
    elif op == 0x75:  # OP_DROP
        pop()
    elif op == 0x6D:  # OP_2DROP
        pop()
        pop()
    elif op == 0x76:  # OP_DUP
        top = pop()
        stack += [top, top]
    elif op == 0x77:  # OP_NIP
        top = pop()
        pop()
        stack.append(top)
    elif op == 0x78:  # OP_OVER
        if len(stack) < 2:
            raise Invalid("stack underflow")
        stack.append(stack[-2])
    elif op == 0x7C:  # OP_SWAP
        a, b = pop(), pop()
        stack += [a, b]
    elif op == 0x73:  # OP_IFDUP
        top = pop()
        stack += [top, top] if _truthy(top) else [top]
    elif op == 0x74:  # OP_DEPTH
        stack.append(_encode_num(len(stack)))
    elif op == 0x82:  # OP_SIZE
        if not stack:
            raise Invalid("stack underflow")
        stack.append(_encode_num(len(stack[-1])))
    elif op in (0x87, 0x88):  # OP_EQUAL / OP_EQUALVERIFY
        equal = pop() == pop()
        if op == 0x88:
            if not equal:
                raise Invalid("OP_EQUALVERIFY failed")
        else:
            stack.append(b"\x01" if equal else b"")
    elif op in (0x91, 0x92):  # OP_NOT / OP_0NOTEQUAL
        n = _decode_num(pop())
        stack.append(_encode_num(int(n == 0) if op == 0x91 else int(n != 0)))
    elif op in (0x93, 0x9C, 0x9D):  # OP_ADD / OP_NUMEQUAL / OP_NUMEQUALVERIFY
        b, a = _decode_num(pop()), _decode_num(pop())
        if op == 0x93:
            stack.append(_encode_num(a + b))
        elif op == 0x9C:
            stack.append(_encode_num(int(a == b)))
        elif a != b:
            raise Invalid("OP_NUMEQUALVERIFY failed")
    elif op == 0xA6:
        stack.append(hashlib.new("ripemd160", pop()).digest())
    elif op == 0xA8:
        stack.append(sha256(pop()))
    elif op == 0xA9:
        stack.append(hash160(pop()))
    elif op == 0xAA:
        stack.append(hash256(pop()))
    elif op in (0xAC, 0xAD):  # OP_CHECKSIG / OP_CHECKSIGVERIFY
        pubkey, sig = pop(), pop()
        ok = _checksig(sig, pubkey, ctx)
        if op == 0xAD:
            if not ok:
                raise Invalid("OP_CHECKSIGVERIFY failed")
        else:
            stack.append(b"\x01" if ok else b"")
    elif op == 0xBA:  # OP_CHECKSIGADD (BIP-342)
        if not tap:
            raise Inconclusive("OP_CHECKSIGADD outside tapscript")
        pubkey = pop()
        n = _decode_num(pop())
        sig = pop()
        stack.append(_encode_num(n + (1 if _checksig(sig, pubkey, ctx) else 0)))
    elif op in (0xAE, 0xAF):
        if tap:
            # BIP-342: OP_CHECKMULTISIG(VERIFY) are disabled in tapscript
            raise Invalid("OP_CHECKMULTISIG is disabled in tapscript")
        _checkmultisig(op, stack, pop, ctx)
    elif op == 0xB1:
        _check_locktime(stack, checker)
    elif op == 0xB2:
        _check_sequence(stack, checker)
    elif op in (0xB0, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9):
        # BIP-322 upgradeable rules: "The use of NOPs reserved for upgrades is forbidden."
        raise Inconclusive(f"reserved upgrade NOP 0x{op:02x}")
    else:
        raise Inconclusive(f"opcode 0x{op:02x} is not evaluated by utxo_truth")


def _checksig(sig: bytes, pubkey: bytes, ctx: _Ctx) -> bool:
    checker = ctx.checker
    if ctx.sigversion == TAPSCRIPT:
        if not pubkey:
            raise Invalid("empty public key in tapscript (BIP-342)")
        if not sig:
            return False
        if len(pubkey) != 32:
            # BIP-342: unknown public key types are an upgrade path (succeed unchecked)
            raise Inconclusive("tapscript public key of unknown type")
        return _schnorr_check(sig, pubkey, ctx, ctx.leaf_hash)
    if not sig:
        return False
    hashtype = sig[-1]
    # BIP-322 required rules: SIGHASH_ALL only; STRICTENC / DERSIG (BIP-66); LOW_S (BIP-62)
    if hashtype != SIGHASH_ALL:
        raise Invalid("signature does not use SIGHASH_ALL (BIP-322)")
    if not is_strict_der(sig):
        raise Invalid("signature is not strict DER (BIP-66)")
    if not _is_low_s(sig[:-1]):
        raise Invalid("signature has a high S value (LOW_S, BIP-62)")
    if not ((len(pubkey) == 33 and pubkey[0] in (2, 3)) or (len(pubkey) == 65 and pubkey[0] == 4)):
        raise Invalid("public key is not a valid encoding (STRICTENC)")
    if ctx.sigversion == WITNESS_V0 and len(pubkey) != 33:
        # WITNESS_PUBKEYTYPE (BIP-143 policy): only compressed keys in segwit v0
        raise Invalid("uncompressed public key in segwit v0")
    if ctx.sigversion == BASE:
        script_code = ctx.script
        # BIP-322: FindAndDelete is forbidden; a script that contains the signature is refused
        if ser_bytes(sig) in script_code:
            raise Invalid("script contains the signature (FindAndDelete is forbidden)")
        digest = checker.legacy_sighash(script_code, hashtype)
    else:
        digest = checker.bip143_sighash(ctx.script, hashtype)
    ok = ecdsa_ok(pubkey, sig[:-1], digest)
    if not ok:
        # NULLFAIL (BIP-146, required by BIP-322): a failed signature must be empty
        raise Invalid("signature does not verify (and NULLFAIL forbids a failing non-empty one)")
    checker.signers.append(pubkey)
    return True


def _schnorr_check(sig: bytes, xonly: bytes, ctx: _Ctx, leaf_hash: bytes | None) -> bool:
    if len(sig) == 64:
        hashtype = SIGHASH_DEFAULT
    elif len(sig) == 65:
        hashtype = sig[64]
        if hashtype == SIGHASH_DEFAULT:
            # BIP-341: a 65-byte signature with hash_type 0x00 is invalid
            raise Invalid("65-byte Schnorr signature with SIGHASH_DEFAULT")
        if hashtype != SIGHASH_ALL:
            raise Invalid("Schnorr signature neither SIGHASH_DEFAULT nor SIGHASH_ALL (BIP-322)")
    else:
        raise Invalid("Schnorr signature is not 64 or 65 bytes (BIP-341)")
    digest = ctx.checker.bip341_sighash(hashtype, ctx.annex, leaf_hash)
    if not schnorr_ok(xonly, sig[:64], digest):
        # BIP-342: a non-empty signature that fails makes the script fail
        raise Invalid("Schnorr signature does not verify")
    ctx.checker.signers.append(xonly)
    return True


def _checkmultisig(op: int, stack: list[bytes], pop: object, ctx: _Ctx) -> None:
    assert callable(pop)
    n = _decode_num(pop())
    if not 0 <= n <= 20:
        raise Invalid("CHECKMULTISIG key count out of range")
    keys = [pop() for _ in range(n)]  # top of stack is the last key of the script
    m = _decode_num(pop())
    if not 0 <= m <= n:
        raise Invalid("CHECKMULTISIG signature count out of range")
    sigs = [pop() for _ in range(m)]
    dummy = pop()
    # NULLDUMMY (BIP-147): the extra element CHECKMULTISIG pops must be empty
    if dummy:
        raise Invalid("CHECKMULTISIG dummy element is not empty (NULLDUMMY)")
    # Keys and signatures are matched in order: script order = stack order reversed.
    keys.reverse()
    sigs.reverse()
    ki = 0
    ok = True
    for sig in sigs:
        matched = False
        while ki < len(keys) and len(keys) - ki >= 1:
            key = keys[ki]
            ki += 1
            if _try_sig(sig, key, ctx):
                matched = True
                break
        if not matched:
            ok = False
            break
    if not ok and any(sigs):
        # NULLFAIL (BIP-146): if CHECKMULTISIG fails, every signature must be empty
        raise Invalid("CHECKMULTISIG failed with non-empty signatures (NULLFAIL)")
    if op == 0xAF:
        if not ok:
            raise Invalid("OP_CHECKMULTISIGVERIFY failed")
    else:
        stack.append(b"\x01" if ok else b"")


def _try_sig(sig: bytes, pubkey: bytes, ctx: _Ctx) -> bool:
    """One CHECKMULTISIG comparison: False on a mismatch (NULLFAIL is checked by the caller)."""
    try:
        return _checksig(sig, pubkey, ctx)
    except Invalid as exc:
        if "does not verify" in exc.reason:
            return False
        raise


def _check_locktime(stack: list[bytes], checker: SpendChecker) -> None:
    # BIP-65 OP_CHECKLOCKTIMEVERIFY
    if not stack:
        raise Invalid("stack underflow")
    lock = _decode_num(stack[-1], 5)
    tx_lock = checker.tx.locktime
    if lock < 0:
        raise Invalid("negative CLTV argument (BIP-65)")
    if (lock < LOCKTIME_THRESHOLD) != (tx_lock < LOCKTIME_THRESHOLD):
        raise Invalid("CLTV and nLockTime are of different kinds (BIP-65)")
    if lock > tx_lock:
        raise Invalid("CLTV lock is later than the transaction's nLockTime (BIP-65)")
    if checker.tx.vin[checker.index].sequence == SEQUENCE_FINAL:
        raise Invalid("CLTV with a final nSequence (BIP-65)")


def _check_sequence(stack: list[bytes], checker: SpendChecker) -> None:
    # BIP-112 OP_CHECKSEQUENCEVERIFY
    if not stack:
        raise Invalid("stack underflow")
    seq = _decode_num(stack[-1], 5)
    if seq < 0:
        raise Invalid("negative CSV argument (BIP-112)")
    if seq & SEQ_DISABLE:
        return
    tx_seq = checker.tx.vin[checker.index].sequence
    if checker.tx.version < 2:
        raise Invalid("CSV needs transaction version 2 (BIP-112)")
    if tx_seq & SEQ_DISABLE:
        raise Invalid("CSV with nSequence relative lock disabled (BIP-112)")
    if (seq & SEQ_TYPE) != (tx_seq & SEQ_TYPE):
        raise Invalid("CSV and nSequence are of different kinds (BIP-112)")
    if (seq & SEQ_MASK) > (tx_seq & SEQ_MASK):
        raise Invalid("CSV lock is longer than the input's nSequence (BIP-112)")


# --------------------------------------------------------------------------------------------
# Spending one input


def _run(
    script: bytes,
    stack: list[bytes],
    checker: SpendChecker,
    sigversion: str,
    leaf_hash: bytes | None = None,
    annex: bytes | None = None,
) -> None:
    eval_script(script, stack, _Ctx(checker, sigversion, leaf_hash, annex, script))


def _clean_true(stack: list[bytes], what: str) -> None:
    # CLEANSTACK (BIP-322 required rule; consensus for segwit): exactly one true element
    if len(stack) != 1 or not _truthy(stack[0]):
        raise Invalid(f"{what} does not leave exactly one true element (CLEANSTACK)")


def _witness_program(script: bytes) -> tuple[int, bytes] | None:
    if 4 <= len(script) <= 42 and script[1] == len(script) - 2:
        if script[0] == 0:
            return 0, script[2:]
        if 0x51 <= script[0] <= 0x60:
            return script[0] - 0x50, script[2:]
    return None


def _verify_witness(
    version: int, program: bytes, witness: list[bytes], checker: SpendChecker, p2sh: bool
) -> None:
    if version == 0:
        if len(program) == 20:
            # BIP-141 P2WPKH: witness is exactly <signature> <pubkey>
            if len(witness) != 2:
                raise Invalid("p2wpkh witness must have exactly 2 items (BIP-141)")
            if hash160(witness[1]) != program:
                raise Invalid("witness public key does not hash to the address (BIP-141)")
            script_code = b"\x76\xa9\x14" + program + b"\x88\xac"  # BIP-143 scriptCode
            stack = list(witness)
            _run(script_code, stack, checker, WITNESS_V0)
        elif len(program) == 32:
            # BIP-141 P2WSH: last item is the witness script, its sha256 is the program
            if not witness:
                raise Invalid("empty p2wsh witness (BIP-141)")
            wscript = witness[-1]
            if sha256(wscript) != program:
                raise Invalid("witness script does not hash to the address (BIP-141)")
            stack = list(witness[:-1])
            for item in stack:
                if len(item) > MAX_SCRIPT_ELEMENT_SIZE:
                    raise Invalid("witness item larger than 520 bytes")
            _run(wscript, stack, checker, WITNESS_V0)
        else:
            raise Invalid("witness v0 program is neither 20 nor 32 bytes (BIP-141)")
        _clean_true(stack, "witness script")
        return
    if version == 1 and len(program) == 32 and not p2sh:
        _verify_taproot(program, witness, checker)
        return
    # BIP-322 upgradeable rules: "The use of Segwit versions greater than 1 is forbidden."
    raise Inconclusive(f"segwit version {version} program of {len(program)} bytes")


def _verify_taproot(program: bytes, witness: list[bytes], checker: SpendChecker) -> None:
    stack = list(witness)
    if not stack:
        raise Invalid("empty taproot witness (BIP-341)")
    annex = None
    if len(stack) >= 2 and stack[-1] and stack[-1][0] == 0x50:
        annex = stack.pop()  # BIP-341: the last element starting with 0x50 is the annex
    if len(stack) == 1:
        # BIP-341 key path: a single Schnorr signature for the output key
        ctx = _Ctx(checker, TAPSCRIPT, None, annex)
        sig = stack[0]
        if not sig:
            raise Invalid("empty key path signature")
        _schnorr_check(sig, program, ctx, None)
        return
    control, script = stack.pop(), stack.pop()
    # BIP-341 script path: control block is 33 + 32m bytes, m <= 128
    if len(control) < 33 or (len(control) - 33) % 32 or len(control) > 33 + 32 * 128:
        raise Invalid("bad taproot control block size (BIP-341)")
    leaf_version = control[0] & 0xFE
    leaf_hash = tagged_hash("TapLeaf", bytes([leaf_version]) + ser_bytes(script))
    k = leaf_hash
    for j in range(33, len(control), 32):
        e = control[j : j + 32]
        k = tagged_hash("TapBranch", k + e if k < e else e + k)
    tweaked = taproot_tweak(control[1:33], k)
    if tweaked is None or tweaked[0] != program or tweaked[1] != control[0] & 1:
        raise Invalid("taproot control block does not commit to the output key (BIP-341)")
    if leaf_version != _SUPPORTED_TAPSCRIPT_LEAF:
        # BIP-342: unknown leaf versions are unencumbered upgrades
        raise Inconclusive(f"taproot leaf version 0x{leaf_version:02x}")
    for item in stack:
        if len(item) > MAX_SCRIPT_ELEMENT_SIZE:
            raise Invalid("witness item larger than 520 bytes")
    _run(script, stack, checker, TAPSCRIPT, leaf_hash=leaf_hash, annex=annex)
    _clean_true(stack, "tapscript")


def verify_input(checker: SpendChecker) -> None:
    """Check that input ``checker.index`` of ``checker.tx`` validly spends its output.

    Raises :class:`Invalid` or :class:`Inconclusive`; returns None when it is satisfied.
    """
    inp = checker.tx.vin[checker.index]
    spk = checker.spent[checker.index].script
    wp = _witness_program(spk)
    if wp is not None:
        if inp.script_sig:
            raise Invalid("native segwit input with a non-empty scriptSig (BIP-141)")
        _verify_witness(wp[0], wp[1], inp.witness, checker, p2sh=False)
        return
    if not _is_push_only(inp.script_sig):
        # SIGPUSHONLY (BIP-62 rule; consensus for p2sh): scriptSig only pushes data
        raise Invalid("scriptSig is not push-only")
    stack: list[bytes] = []
    _run(inp.script_sig, stack, checker, BASE)
    copy = list(stack)
    _run(spk, stack, checker, BASE)
    if not stack or not _truthy(stack[-1]):
        raise Invalid("scriptPubKey evaluated to false")
    is_p2sh = len(spk) == 23 and spk[0] == 0xA9 and spk[1] == 0x14 and spk[22] == 0x87
    if is_p2sh:
        # BIP-16: run the redeem script (last push of scriptSig) on the rest of the stack
        if not copy:
            raise Invalid("p2sh scriptSig is empty")
        redeem = copy.pop()
        wp = _witness_program(redeem)
        if wp is not None:
            # BIP-141 P2SH-wrapped segwit: scriptSig must be exactly one push of the program
            if inp.script_sig != ser_bytes(redeem) or len(redeem) > 75:
                raise Invalid("p2sh-segwit scriptSig is not a single push of the program")
            _verify_witness(wp[0], wp[1], inp.witness, checker, p2sh=True)
            return
        stack = copy
        _run(redeem, stack, checker, BASE)
    if inp.witness:
        raise Invalid("unexpected witness on a non-segwit input (BIP-141)")
    _clean_true(stack, "script")
