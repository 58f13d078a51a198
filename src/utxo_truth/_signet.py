"""Signet block signatures (BIP-325), checked from a block's coinbase and its merkle branch.

A signet block is valid only if its *signet solution* satisfies the network's *challenge*
script (Bitcoin Core ``src/signet.cpp``):

1. the solution is the data after the 4-byte header ``ecc7daa2`` in a push of the coinbase's
   witness commitment output (the last output starting ``6a24aa21a9ed``); it is a serialized
   scriptSig followed by a serialized witness stack, and nothing more;
2. that push is cut back to the bare header, and the merkle root is recomputed with this
   modified coinbase (the "signet merkle root");
3. a virtual ``to_spend`` transaction (version 0, one null input with scriptSig
   ``OP_0 <nVersion ‖ hashPrevBlock ‖ signet merkle root ‖ nTime>``, one 0-value output paying
   the challenge) is spent by a virtual ``to_sign`` transaction (version 0, scriptSig and
   witness from the solution, one 0-value ``OP_RETURN`` output);
4. the spend must pass script verification with the block flags (P2SH, WITNESS, DERSIG,
   NULLDUMMY, ...): legacy signature hashes for a bare challenge, BIP-143 ones for segwit v0.

The script evaluation here covers what signet challenges use (pushes, CHECKSIG and
CHECKMULTISIG with their VERIFY forms, DUP, HASH160, EQUAL(VERIFY), VERIFY, DROP) for bare,
P2WPKH and P2WSH challenges; a challenge needing anything else is refused with a
:class:`VerificationError` that says so (never accepted unchecked). Signatures are checked
with libsecp256k1 through embit, after Core's normalisation to low S.

Example:
    >>> len(DEFAULT_SIGNET_CHALLENGE)
    71
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ._exceptions import VerificationError
from ._script import compact_size, read_compact_size

__all__ = [
    "DEFAULT_SIGNET_CHALLENGE",
    "SIGNET_HEADER",
    "check_signet_block",
    "check_signet_solution",
]

DEFAULT_SIGNET_CHALLENGE = bytes.fromhex(
    "512103ad5e0edad18cb1f0fc0d28a3d4f1f3e445640337489abb10404f2d1e086be430210359ef5021964fe2"
    "2d6f8e05b2463c9540ce96883fe3b278760f048f5189f2e6c452ae"
)
"""The default signet's challenge (Bitcoin Core chainparams.cpp): a bare 1-of-2 multisig."""

SIGNET_HEADER = bytes.fromhex("ecc7daa2")
_COMMITMENT_PREFIX = bytes.fromhex("6a24aa21a9ed")
_RULE = "bad-signet-blksig"


def _dsha(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def _fail(height: int, why: str) -> VerificationError:
    return VerificationError(f"block at height {height} breaks {_RULE} (BIP-325): {why}")


# --- serialization -------------------------------------------------------------------------


def _read_bytes(b: bytes, i: int) -> tuple[bytes, int]:
    n, i = read_compact_size(b, i)
    if i + n > len(b):
        raise IndexError("past the end")
    return b[i : i + n], i + n


def _parse_tx(raw: bytes) -> tuple[bytes, list[bytes], list[tuple[bytes, bytes]], bytes]:
    """(version, inputs as raw bytes, outputs as (value, script), locktime); witness dropped."""
    try:
        version = raw[:4]
        i = 4
        segwit = raw[4] == 0 and raw[5] != 0
        if segwit:
            i = 6
        n_in, i = read_compact_size(raw, i)
        ins: list[bytes] = []
        for _ in range(n_in):
            s = i
            _, i = _read_bytes(raw, i + 36)
            i += 4
            ins.append(raw[s:i])
        n_out, i = read_compact_size(raw, i)
        outs: list[tuple[bytes, bytes]] = []
        for _ in range(n_out):
            value = raw[i : i + 8]
            script, i = _read_bytes(raw, i + 8)
            outs.append((value, script))
        if segwit:
            for _ in range(n_in):
                items, i = read_compact_size(raw, i)
                for _ in range(items):
                    _, i = _read_bytes(raw, i)
        locktime = raw[i : i + 4]
        if len(locktime) != 4 or i + 4 != len(raw):
            raise IndexError("bad length")
    except (IndexError, KeyError):
        raise VerificationError("the coinbase transaction cannot be parsed") from None
    return version, ins, outs, locktime


def _ser_tx(
    version: bytes, ins: Sequence[bytes], outs: Sequence[tuple[bytes, bytes]], lt: bytes
) -> bytes:
    out = version + compact_size(len(ins)) + b"".join(ins) + compact_size(len(outs))
    for value, script in outs:
        out += value + compact_size(len(script)) + script
    return out + lt


def _push(data: bytes) -> bytes:
    """``CScript << data``: the push Core writes for a byte vector."""
    n = len(data)
    if n < 0x4C:
        return bytes([n]) + data
    if n <= 0xFF:
        return b"\x4c" + bytes([n]) + data
    if n <= 0xFFFF:
        return b"\x4d" + n.to_bytes(2, "little") + data
    return b"\x4e" + n.to_bytes(4, "little") + data


def _ops(script: bytes) -> list[tuple[int, bytes | None, int, int]]:
    """``GetOp`` over a script: (opcode, pushed data or None, start, end); stops where it breaks."""
    ops: list[tuple[int, bytes | None, int, int]] = []
    i = 0
    while i < len(script):
        start, op = i, script[i]
        i += 1
        if op <= 0x4E:
            if op < 0x4C:
                n = op
            else:
                width = {0x4C: 1, 0x4D: 2, 0x4E: 4}[op]
                if i + width > len(script):
                    break
                n = int.from_bytes(script[i : i + width], "little")
                i += width
            if i + n > len(script):
                break
            ops.append((op, script[i : i + n], start, i + n))
            i += n
        else:
            ops.append((op, None, start, i))
    return ops


# --- the solution and the virtual transactions ---------------------------------------------


def _signet_txs(
    header: bytes, coinbase: bytes, branch: Sequence[str], challenge: bytes, height: int
) -> tuple[bytes, bytes, list[bytes]]:
    """(to_spend serialized, to_sign serialized without witness, to_sign's witness stack)."""
    version, ins, outs, lt = _parse_tx(coinbase)
    # GetWitnessCommitmentIndex: the last output that is a witness commitment
    cidx = None
    for k, (_, script) in enumerate(outs):
        if len(script) >= 38 and script.startswith(_COMMITMENT_PREFIX):
            cidx = k
    if cidx is None:
        raise _fail(height, "the coinbase has no witness commitment")
    # FetchAndClearCommitmentSection: take the solution out of the first push that starts with
    # the signet header and has data after it; re-write the script with that push cut to the
    # header.
    replacement = b""
    solution: bytes | None = None
    for op, data, _s, _e in _ops(outs[cidx][1]):
        if data:
            if solution is None and len(data) > 4 and data[:4] == SIGNET_HEADER:
                solution = data[4:]
                data = data[:4]
            replacement += _push(data)
        else:
            replacement += bytes([op])
    script_sig, witness = b"", []
    if solution is not None:
        outs = [*outs]
        outs[cidx] = (outs[cidx][0], replacement)
        try:
            script_sig, i = _read_bytes(solution, 0)
            items, i = read_compact_size(solution, i)
            for _ in range(items):
                item, i = _read_bytes(solution, i)
                witness.append(item)
        except (IndexError, KeyError):
            raise _fail(height, "the signet solution cannot be parsed") from None
        if i != len(solution):
            raise _fail(height, "the signet solution has extra data")
    # (no solution at all is allowed: it lets OP_TRUE be a trivial challenge)
    modified_txid = _dsha(_ser_tx(version, ins, outs, lt))
    from .verify import merkle_root_from_branch

    signet_merkle = merkle_root_from_branch(modified_txid[::-1].hex(), branch, 0)
    block_data = header[0:4] + header[4:36] + signet_merkle + header[68:72]
    to_spend = _ser_tx(
        (0).to_bytes(4, "little"),
        [
            bytes(32)
            + b"\xff\xff\xff\xff"
            + compact_size(74)
            + b"\x00"
            + _push(block_data)
            + bytes(4)
        ],
        [(bytes(8), challenge)],
        bytes(4),
    )
    prevout = _dsha(to_spend) + bytes(4)
    to_sign = _ser_tx(
        (0).to_bytes(4, "little"),
        [prevout + compact_size(len(script_sig)) + script_sig + bytes(4)],
        [(bytes(8), b"\x6a")],
        bytes(4),
    )
    return to_spend, to_sign, witness


# --- script evaluation ---------------------------------------------------------------------


class _ScriptFailed(Exception):
    pass


def _is_der(sig: bytes) -> bool:
    """BIP-66 ``IsValidSignatureEncoding`` (the signature with its hash-type byte)."""
    if len(sig) < 9 or len(sig) > 73:
        return False
    if sig[0] != 0x30 or sig[1] != len(sig) - 3:
        return False
    len_r = sig[3]
    if 5 + len_r >= len(sig):
        return False
    len_s = sig[5 + len_r]
    if len_r + len_s + 7 != len(sig):
        return False
    if sig[2] != 0x02 or len_r == 0 or sig[4] & 0x80:
        return False
    if len_r > 1 and sig[4] == 0 and not sig[5] & 0x80:
        return False
    if sig[len_r + 4] != 0x02 or len_s == 0 or sig[len_r + 6] & 0x80:
        return False
    return not (len_s > 1 and sig[len_r + 6] == 0 and not sig[len_r + 7] & 0x80)


def _num(b: bytes) -> int:
    if len(b) > 4:
        raise _ScriptFailed("number over 4 bytes")
    if not b:
        return 0
    v = int.from_bytes(b, "little")
    if b[-1] & 0x80:
        return -(v & ~(0x80 << 8 * (len(b) - 1)))
    return v


def _true(b: bytes) -> bool:
    for k, x in enumerate(b):
        if x:
            return not (k == len(b) - 1 and x == 0x80)
    return False


class _Checker:
    """Signature hashes of input 0 of ``to_sign`` spending ``to_spend``'s output 0 (value 0)."""

    def __init__(self, to_sign: bytes) -> None:
        self.version, ins, outs, self.locktime = _parse_tx(to_sign)
        raw_in = ins[0]
        self.prevout = raw_in[:36]
        self.sequence = raw_in[-4:]
        self.outs = outs

    def sighash(self, script_code: bytes, hashtype: int, witness_v0: bool) -> bytes:
        base = hashtype & 0x1F
        anyone = bool(hashtype & 0x80)
        if witness_v0:  # BIP-143
            prevouts = bytes(32) if anyone else _dsha(self.prevout)
            seqs = bytes(32) if anyone or base in (2, 3) else _dsha(self.sequence)
            if base not in (2, 3):
                outs = _dsha(_ser_tx(b"", [], self.outs, b"")[1:])
            elif base == 3:  # SINGLE, input 0 has output 0
                outs = _dsha(_ser_tx(b"", [], self.outs[:1], b"")[1:])
            else:
                outs = bytes(32)
            pre = (
                self.version + prevouts + seqs + self.prevout
                + compact_size(len(script_code)) + script_code
                + bytes(8) + self.sequence + outs + self.locktime
                + (hashtype & 0xFFFFFFFF).to_bytes(4, "little")
            )  # fmt: skip
            return _dsha(pre)
        # legacy SignatureHash: one input (ANYONECANPAY changes nothing), one output
        code = b"".join(script_code[s:e] for op, _d, s, e in _ops(script_code) if op != 0xAB)
        tx_in = self.prevout + compact_size(len(code)) + code + self.sequence
        outs_l = [] if base == 2 else self.outs  # NONE: no outputs; SINGLE: output 0 as is
        pre = _ser_tx(self.version, [tx_in], outs_l, self.locktime)
        return _dsha(pre + (hashtype & 0xFFFFFFFF).to_bytes(4, "little"))

    def check(self, sig: bytes, pub: bytes, script_code: bytes, witness_v0: bool) -> bool:
        from embit.util import secp256k1

        if not sig:
            return False
        msg = self.sighash(script_code, sig[-1], witness_v0)
        try:
            point = secp256k1.ec_pubkey_parse(pub)
            raw = secp256k1.ecdsa_signature_parse_der(sig[:-1])
        except Exception:
            return False
        raw = secp256k1.ecdsa_signature_normalize(raw)  # Core verifies the low-S form
        return bool(secp256k1.ecdsa_verify(raw, msg, point))


def _find_and_delete(script: bytes, pattern: bytes) -> bytes:
    """``FindAndDelete``: drop every op-aligned occurrence of ``pattern`` from ``script``."""
    if not pattern:
        return script
    out = b""
    ops = _ops(script)
    last = 0
    for _op, _d, s, e in ops:
        if script[s : s + len(pattern)] == pattern and s >= last:
            out += script[last:s]
            last = s + len(pattern)
        elif s < last:
            continue
        _ = e
    return out + script[last:]


_SUPPORTED = {0x61, 0x69, 0x75, 0x76, 0x87, 0x88, 0xA9, 0xAC, 0xAD, 0xAE, 0xAF}


def _eval(script: bytes, stack: list[bytes], checker: _Checker, witness_v0: bool) -> None:
    ops = _ops(script)
    if sum(e - s for _o, _d, s, e in ops) != len(script):
        raise _ScriptFailed("the script has a truncated push")
    if len(script) > 10_000:
        raise _ScriptFailed("script over 10,000 bytes")
    n_ops = 0
    for op, data, _s, _e in ops:
        if data is not None:
            if len(data) > 520:
                raise _ScriptFailed("push over 520 bytes")
            stack.append(data)
            continue
        if op > 0x60:
            n_ops += 1
        if op == 0x4F or 0x51 <= op <= 0x60:  # OP_1NEGATE, OP_1..OP_16
            stack.append(b"\x81" if op == 0x4F else bytes([op - 0x50]))
            continue
        if op not in _SUPPORTED:
            raise VerificationError(
                f"signet challenge uses opcode 0x{op:02x}, which this library does not evaluate"
            )
        if op == 0x61:  # OP_NOP
            continue
        if op in (0x69, 0x75, 0x76, 0xA9) and not stack:
            raise _ScriptFailed("empty stack")
        if op == 0x69:  # OP_VERIFY
            if not _true(stack.pop()):
                raise _ScriptFailed("OP_VERIFY failed")
        elif op == 0x75:
            stack.pop()
        elif op == 0x76:
            stack.append(stack[-1])
        elif op == 0xA9:
            stack.append(hashlib.new("ripemd160", hashlib.sha256(stack.pop()).digest()).digest())
        elif op in (0x87, 0x88):
            if len(stack) < 2:
                raise _ScriptFailed("empty stack")
            eq = stack.pop() == stack.pop()
            if op == 0x88:
                if not eq:
                    raise _ScriptFailed("OP_EQUALVERIFY failed")
            else:
                stack.append(b"\x01" if eq else b"")
        elif op in (0xAC, 0xAD):  # OP_CHECKSIG(VERIFY)
            if len(stack) < 2:
                raise _ScriptFailed("empty stack")
            pub, sig = stack.pop(), stack.pop()
            if sig and not _is_der(sig):  # BIP-66 (SCRIPT_VERIFY_DERSIG)
                raise _ScriptFailed("non-DER signature")
            code = script if witness_v0 else _find_and_delete(script, _push(sig))
            ok = checker.check(sig, pub, code, witness_v0)
            if op == 0xAD:
                if not ok:
                    raise _ScriptFailed("OP_CHECKSIGVERIFY failed")
            else:
                stack.append(b"\x01" if ok else b"")
        else:  # OP_CHECKMULTISIG(VERIFY), as interpreter.cpp walks it
            i = 1
            if len(stack) < i:
                raise _ScriptFailed("empty stack")
            n_keys = _num(stack[-i])
            if not 0 <= n_keys <= 20:
                raise _ScriptFailed("bad key count")
            n_ops += n_keys
            ikey = i = i + 1
            i += n_keys
            if len(stack) < i:
                raise _ScriptFailed("empty stack")
            n_sigs = _num(stack[-i])
            if not 0 <= n_sigs <= n_keys:
                raise _ScriptFailed("bad signature count")
            isig = i = i + 1
            i += n_sigs
            if len(stack) < i:
                raise _ScriptFailed("empty stack")
            code = script
            if not witness_v0:  # pre-segwit scripts drop the signatures from the script code
                for k in range(n_sigs):
                    code = _find_and_delete(code, _push(stack[-isig - k]))
            success = True
            while success and n_sigs > 0:
                sig, pub = stack[-isig], stack[-ikey]
                if sig and not _is_der(sig):  # BIP-66 (SCRIPT_VERIFY_DERSIG)
                    raise _ScriptFailed("non-DER signature")
                if checker.check(sig, pub, code, witness_v0):
                    isig += 1
                    n_sigs -= 1
                ikey += 1
                n_keys -= 1
                if n_sigs > n_keys:
                    success = False
            del stack[len(stack) - (i - 1) :]
            if not stack:
                raise _ScriptFailed("no dummy element")
            if stack.pop():  # BIP-147 NULLDUMMY: the extra element must be empty
                raise _ScriptFailed("non-null dummy (NULLDUMMY)")
            if op == 0xAF:
                if not success:
                    raise _ScriptFailed("OP_CHECKMULTISIGVERIFY failed")
            else:
                stack.append(b"\x01" if success else b"")
        if n_ops > 201:
            raise _ScriptFailed("over 201 opcodes")
        if len(stack) > 1000:
            raise _ScriptFailed("stack over 1000 elements")


def _verify_script(
    script_sig: bytes, challenge: bytes, witness: list[bytes], checker: _Checker
) -> None:
    """``VerifyScript`` with the block flags, for the challenge kinds evaluated here."""
    stack: list[bytes] = []
    _eval(script_sig, stack, checker, False)
    _eval(challenge, stack, checker, False)
    if not stack or not _true(stack[-1]):
        raise _ScriptFailed("the challenge evaluates to false")
    ops = _ops(challenge)
    is_program = (
        4 <= len(challenge) <= 42
        and (challenge[0] == 0 or 0x51 <= challenge[0] <= 0x60)
        and challenge[1] + 2 == len(challenge)
    )
    if is_program:
        version = 0 if challenge[0] == 0 else challenge[0] - 0x50
        program = challenge[2:]
        if script_sig:
            raise _ScriptFailed("a witness program needs an empty scriptSig")
        if version != 0 or len(program) not in (20, 32):
            raise VerificationError(
                "signet challenge is a witness program this library does not evaluate "
                f"(version {version}, {len(program)} bytes)"
            )
        if len(program) == 32:  # P2WSH
            if not witness:
                raise _ScriptFailed("empty witness")
            script, wstack = witness[-1], list(witness[:-1])
            if hashlib.sha256(script).digest() != program:
                raise _ScriptFailed("witness script does not match the program")
        else:  # P2WPKH
            if len(witness) != 2:
                raise _ScriptFailed("P2WPKH witness is not two items")
            script = b"\x76\xa9\x14" + program + b"\x88\xac"
            wstack = list(witness)
        if any(len(x) > 520 for x in wstack):
            raise _ScriptFailed("witness item over 520 bytes")
        _eval(script, wstack, checker, True)
        if len(wstack) != 1 or not _true(wstack[0]):  # segwit's implicit clean stack
            raise _ScriptFailed("witness script does not leave exactly one true element")
        return
    if len(ops) == 3 and challenge[:2] == b"\xa9\x14" and challenge[-1:] == b"\x87":
        raise VerificationError("a P2SH signet challenge is not evaluated by this library")
    if witness:
        raise _ScriptFailed("witness given for a challenge that is not a witness program")


def check_signet_solution(
    header: bytes,
    coinbase: bytes,
    coinbase_branch: Sequence[str],
    height: int,
    challenge: bytes = DEFAULT_SIGNET_CHALLENGE,
) -> None:
    """Check a signet block's signature from its header, coinbase and the coinbase's branch.

    ``coinbase_branch`` is the coinbase's merkle branch (position 0, display hex); the coinbase
    must hash into ``header`` through it before its solution is believed.

    Raises:
        VerificationError: ``bad-signet-blksig``, naming the height, or a challenge kind this
            library cannot evaluate.
    """
    from .verify import merkle_root_from_branch

    if len(header) != 80:
        raise VerificationError("a block header is 80 bytes")
    _parse_tx(coinbase)
    if (
        merkle_root_from_branch(
            _dsha(_ser_tx(*_parse_tx(coinbase)))[::-1].hex(), coinbase_branch, 0
        )
        != header[36:68]
    ):
        raise _fail(height, "the coinbase and its branch do not reach the header's merkle root")
    to_spend, to_sign, witness = _signet_txs(header, coinbase, coinbase_branch, challenge, height)
    del to_spend
    _v, ins, _o, _l = _parse_tx(to_sign)
    script_sig, _ = _read_bytes(ins[0], 36)
    try:
        _verify_script(script_sig, challenge, witness, _Checker(to_sign))
    except _ScriptFailed as exc:
        raise _fail(height, f"the block signature does not satisfy the challenge ({exc})") from None


def check_signet_block(
    block: bytes, height: int, challenge: bytes = DEFAULT_SIGNET_CHALLENGE
) -> None:
    """Check a whole signet block's signature (see :func:`check_signet_solution`).

    Example:
        >>> check_signet_block(b"", 1)
        Traceback (most recent call last):
        ...
        utxo_truth._exceptions.VerificationError: a block is at least an 80-byte header and a transaction count
    """
    from .verify import block_txids, merkle_branch

    header, txids = block_txids(block)
    _n, i = read_compact_size(block, 80)
    # the coinbase's serialized length: re-parse from its start with the block's own reader
    end = _tx_end(block, i)
    check_signet_solution(header, block[i:end], merkle_branch(txids, 0), height, challenge)


def _tx_end(b: bytes, i: int) -> int:
    segwit = b[i + 4] == 0 and b[i + 5] != 0
    j = i + 6 if segwit else i + 4
    n_in, j = read_compact_size(b, j)
    for _ in range(n_in):
        _, j = _read_bytes(b, j + 36)
        j += 4
    n_out, j = read_compact_size(b, j)
    for _ in range(n_out):
        _, j = _read_bytes(b, j + 8)
    if segwit:
        for _ in range(n_in):
            items, j = read_compact_size(b, j)
            for _ in range(items):
                _, j = _read_bytes(b, j)
    return j + 4
