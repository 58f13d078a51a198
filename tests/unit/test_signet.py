"""BIP-325 signet block signatures on the real default-signet blocks 1..10."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from utxo_truth import VerificationError
from utxo_truth._network import Network
from utxo_truth._signet import DEFAULT_SIGNET_CHALLENGE, check_signet_block, check_signet_solution
from utxo_truth.verify import GENESIS, block_txids, check_header_chain, header_hash, merkle_branch

DATA = json.loads(
    (Path(__file__).parents[1] / "data" / "chains" / "signet-blocks-1-10.json").read_text()
)
BLOCKS = [bytes.fromhex(b) for b in DATA["blocks"]]
TWO_OF_TWO = bytes.fromhex(DATA["must_fail_under_challenge"])
MAINNET_GENESIS = bytes.fromhex(
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e"
    "67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c"
)


def signet_genesis() -> bytes:
    # mainnet's genesis block with time 1598918400, bits 0x1e0377ae, nonce 52613770
    return (
        MAINNET_GENESIS[:68]
        + (1598918400).to_bytes(4, "little")
        + (0x1E0377AE).to_bytes(4, "little")
        + (52613770).to_bytes(4, "little")
    )


def test_the_data_names_the_default_challenge() -> None:
    assert bytes.fromhex(DATA["default_challenge"]) == DEFAULT_SIGNET_CHALLENGE


def test_signet_headers_0_to_10_verify() -> None:
    assert header_hash(signet_genesis()) == GENESIS[Network.SIGNET]
    chain = check_header_chain([signet_genesis(), *(b[:80] for b in BLOCKS)], 0, Network.SIGNET)
    assert chain.tip_height == 10


@pytest.mark.parametrize("height", range(1, 11))
def test_signet_block_verifies_under_the_default_challenge(height: int) -> None:
    check_signet_block(BLOCKS[height - 1], height)
    check_signet_block(BLOCKS[height - 1], height, DEFAULT_SIGNET_CHALLENGE)


@pytest.mark.parametrize("height", range(1, 11))
def test_signet_block_fails_under_the_2_of_2_challenge(height: int) -> None:
    with pytest.raises(VerificationError, match=f"height {height} breaks bad-signet-blksig"):
        check_signet_block(BLOCKS[height - 1], height, TWO_OF_TWO)


def _coinbase(block: bytes) -> tuple[bytes, bytes, list[str]]:
    from utxo_truth._script import read_compact_size as _read_size
    from utxo_truth._signet import _tx_end

    header, txids = block_txids(block)
    _, i = _read_size(block, 80)
    return header, block[i : _tx_end(block, i)], merkle_branch(txids, 0)


def test_an_edited_header_time_breaks_the_signature() -> None:
    header, cb, branch = _coinbase(BLOCKS[0])
    check_signet_solution(header, cb, branch, 1)
    t = int.from_bytes(header[68:72], "little") + 1
    edited = header[:68] + t.to_bytes(4, "little") + header[72:]
    with pytest.raises(VerificationError, match=r"bad-signet-blksig.*does not satisfy"):
        check_signet_solution(edited, cb, branch, 1)


def test_an_edited_signature_fails() -> None:
    header, cb, branch = _coinbase(BLOCKS[2])
    k = cb.index(bytes.fromhex("ecc7daa2"))
    # flip a byte inside the DER signature (well after the header and the scriptSig length)
    forged = cb[: k + 20] + bytes([cb[k + 20] ^ 1]) + cb[k + 21 :]
    with pytest.raises(VerificationError, match="bad-signet-blksig"):
        check_signet_solution(header, forged, branch, 3)


def test_a_coinbase_not_in_the_header_fails() -> None:
    header, _, branch = _coinbase(BLOCKS[0])
    _, other_cb, _ = _coinbase(BLOCKS[1])
    with pytest.raises(VerificationError, match="do not reach the header"):
        check_signet_solution(header, other_cb, branch, 1)


def test_a_trivial_op_true_challenge_passes() -> None:
    # BIP-325: a block with no solution is checked with an empty scriptSig and witness
    check_signet_block(BLOCKS[0], 1, b"\x51")


def test_an_unsupported_challenge_is_refused_not_accepted() -> None:
    with pytest.raises(VerificationError, match="does not evaluate"):
        check_signet_block(BLOCKS[0], 1, b"\x63\x51\x68")  # OP_IF OP_1 OP_ENDIF


# --- segwit v0 challenges (BIP-143 sighash): a block signed here with a fresh key ------------


def _signed_block(challenge: bytes, make_witness: object) -> tuple[bytes, bytes]:
    """A one-transaction block whose coinbase carries a solution for ``challenge``.

    The solution is built as a signer would: the signet merkle root leaves the solution out,
    so the to_sign hash is known before the signature is put in.
    """
    from utxo_truth._signet import _Checker, _push, _signet_txs

    header, cb, _ = _coinbase(BLOCKS[0])
    commit_len_at = cb.rindex(bytes.fromhex("6a24aa21a9ed")) - 1  # the script's length byte
    commit_script = bytes.fromhex("6a24aa21a9ed") + cb[commit_len_at + 7 : commit_len_at + 7 + 32]

    def coinbase_with(solution: bytes | None) -> bytes:
        script = commit_script + (_push(bytes.fromhex("ecc7daa2") + solution) if solution else b"")
        return _rebuild(cb, commit_len_at, script)

    # 1. the to_sign hash, from the block with an empty solution section (the header alone)
    unsigned = coinbase_with(b"\x00\x00")  # scriptSig empty, witness empty: parse OK
    txid = hashlib_dsha(unsigned)
    header = header[:36] + txid + header[68:]
    _, to_sign, _ = _signet_txs(header, unsigned, [], challenge, 1)
    checker = _Checker(to_sign)
    solution = make_witness(checker)  # type: ignore[operator]
    signed = coinbase_with(solution)
    header = header[:36] + hashlib_dsha(signed) + header[68:]
    return header, signed


def hashlib_dsha(raw: bytes) -> bytes:
    import hashlib

    from utxo_truth._signet import _parse_tx, _ser_tx

    return hashlib.sha256(hashlib.sha256(_ser_tx(*_parse_tx(raw))).digest()).digest()


def _rebuild(cb: bytes, commit_len_at: int, script: bytes) -> bytes:
    """``cb`` with the output script whose length byte is at ``commit_len_at`` replaced."""
    from utxo_truth._script import compact_size as _ser_size
    from utxo_truth._signet import _read_bytes

    old, end = _read_bytes(cb, commit_len_at)
    del old
    return cb[:commit_len_at] + _ser_size(len(script)) + script + cb[end:]


def _sign(checker: object, script_code: bytes, secret: bytes) -> bytes:
    from embit.util import secp256k1

    digest = checker.sighash(script_code, 1, True)  # type: ignore[attr-defined]
    sig = secp256k1.ecdsa_signature_serialize_der(secp256k1.ecdsa_sign(digest, secret))
    return sig + b"\x01"


SECRET = bytes(31) + b"\x07"


def _pub() -> bytes:
    from embit.util import secp256k1

    return secp256k1.ec_pubkey_serialize(secp256k1.ec_pubkey_create(SECRET))


def test_a_p2wpkh_challenge_is_checked_with_bip143() -> None:
    import hashlib

    from utxo_truth._script import compact_size as _ser_size

    pub = _pub()
    h160 = hashlib.new("ripemd160", hashlib.sha256(pub).digest()).digest()
    challenge = b"\x00\x14" + h160
    code = b"\x76\xa9\x14" + h160 + b"\x88\xac"

    def witness(checker: object) -> bytes:
        sig = _sign(checker, code, SECRET)
        return b"\x00" + b"\x02" + _ser_size(len(sig)) + sig + _ser_size(len(pub)) + pub

    header, cb = _signed_block(challenge, witness)
    check_signet_solution(header, cb, [], 1, challenge)
    other = b"\x00\x14" + bytes(20)
    with pytest.raises(VerificationError, match="bad-signet-blksig"):
        check_signet_solution(header, cb, [], 1, other)


def test_a_p2wsh_1_of_1_multisig_challenge_is_checked_with_bip143() -> None:
    import hashlib

    from utxo_truth._script import compact_size as _ser_size

    pub = _pub()
    wscript = b"\x51\x21" + pub + b"\x51\xae"
    challenge = b"\x00\x20" + hashlib.sha256(wscript).digest()

    def witness(checker: object) -> bytes:
        sig = _sign(checker, wscript, SECRET)
        items = [b"", sig, wscript]
        return b"\x00" + _ser_size(len(items)) + b"".join(_ser_size(len(x)) + x for x in items)

    header, cb = _signed_block(challenge, witness)
    check_signet_solution(header, cb, [], 1, challenge)
    # the same witness with a signature over another hash type byte fails
    bad_header, bad_cb = _signed_block(
        challenge, lambda c: witness(c).replace(b"\x01\x25\x51", b"\x02\x25\x51")
    )
    with pytest.raises(VerificationError, match="bad-signet-blksig"):
        check_signet_solution(bad_header, bad_cb, [], 1, challenge)
