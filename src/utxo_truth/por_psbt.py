"""BIP-127 proof-of-reserves PSBTs, as bdk-reserves makes them: which coins are spendable together.

A BIP-127 proof is a transaction that can never confirm: its first input (the *commitment
input*) spends ``SHA-256("Proof-of-Reserves: " + message):0``, an outpoint that does not exist;
every other input spends a coin of the prover, signed with SIGHASH_ALL (so it commits to the
message); the single output carries exactly the sum of the inputs (no fee). bdk-reserves
commits with a *double* SHA-256 and pays an unspendable p2pkh (``hash160(0x00)``); both commitment
hashes are accepted and reported.

:func:`verify_por_psbt` checks the signatures offline against the UTXOs the PSBT itself declares
(pure). Those are only claims: :func:`check_por_coins` asks a chain source whether each coin is
unspent, with that value and script, at one block — only then is the total proven.

>>> verify_por_psbt("cHNidP8=", "m").status.value
'invalid'
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import _interp
from ._interp import Inconclusive, Invalid, SpendChecker, hash160
from ._txcodec import DecodeError, TxOut, hash256, parse_psbt, sha256
from .messages import ProofStatus, ProvenCoin

if TYPE_CHECKING:
    from ._models import BlockRef
    from .sources import ChainSource

__all__ = ["PorCheck", "PorProof", "check_por_coins", "por_commitment", "verify_por_psbt"]

BDK_UNSPENDABLE = b"\x76\xa9\x14" + hash160(b"\x00") + b"\x88\xac"


def por_commitment(message: str) -> dict[str, bytes]:
    """The commitment txids (internal byte order): BIP-127 single SHA-256 and bdk's double."""
    data = ("Proof-of-Reserves: " + message).encode("utf-8")
    return {"bip127": sha256(data), "bdk-reserves": hash256(data)}


@dataclass(frozen=True)
class PorProof:
    """The offline outcome: signatures over the declared coins, and the declared total."""

    status: ProofStatus
    reason: str
    commitment: str  # "bip127" | "bdk-reserves" | ""
    coins: tuple[ProvenCoin, ...] = ()
    total_sats: int = 0
    output_script: str = ""

    @property
    def valid(self) -> bool:
        """True only when every signature holds (the coins still need a chain check)."""
        return self.status is ProofStatus.VALID


def _bad(reason: str, commitment: str = "") -> PorProof:
    return PorProof(ProofStatus.INVALID, reason, commitment)


def verify_por_psbt(psbt_text: str, message: str) -> PorProof:
    """Verify a BIP-127 proof-of-reserves PSBT (base64) committing to ``message``."""
    try:
        raw = base64.b64decode(psbt_text.strip(), validate=True)
        psbt = parse_psbt(raw)
    except (binascii.Error, ValueError) as exc:
        reason = str(exc) if isinstance(exc, DecodeError) else "not base64"
        return _bad(f"not a PSBT: {reason}")
    tx = psbt.tx
    if len(tx.vin) < 2:
        return _bad("a proof needs the commitment input and at least one coin")
    if len(tx.vout) != 1:
        return _bad("a proof has exactly one output (BIP-127)")
    kinds = {v: k for k, v in por_commitment(message).items()}
    first = tx.vin[0]
    # BIP-127: the first input's prevout is (SHA-256("Proof-of-Reserves: " + message), 0)
    commitment = kinds.get(first.prev_txid, "")
    if not commitment or first.prev_vout != 0:
        return _bad("the commitment input does not commit to this message (BIP-127)")
    challenge = psbt.inputs[0].witness_utxo or TxOut(0, b"\x51")
    if challenge.value != 0:
        return _bad("the commitment input must have no value (BIP-127)", commitment)
    spent = [challenge]
    coins = []
    prev_txs = {}
    for i in range(1, len(tx.vin)):
        inp, pin = tx.vin[i], psbt.inputs[i]
        inp.script_sig = pin.final_script_sig or b""
        inp.witness = list(pin.final_witness or [])
        if not inp.script_sig and not inp.witness:
            return _bad(f"input {i} is not signed", commitment)
        utxo = None
        if pin.non_witness_utxo is not None:
            if pin.non_witness_utxo.txid() != inp.prev_txid:
                return _bad(f"input {i}: its previous transaction is another one", commitment)
            prev_txs[inp.prev_txid] = pin.non_witness_utxo
        if inp.prev_txid in prev_txs:
            prev = prev_txs[inp.prev_txid]
            if inp.prev_vout >= len(prev.vout):
                return _bad(f"input {i}: output index out of range", commitment)
            utxo = prev.vout[inp.prev_vout]
        elif pin.witness_utxo is not None:
            utxo = pin.witness_utxo
        if utxo is None:
            return _bad(f"input {i}: the PSBT does not say which coin it spends", commitment)
        spent.append(utxo)
        coins.append(
            ProvenCoin(inp.prev_txid[::-1].hex(), inp.prev_vout, utxo.value, utxo.script.hex())
        )
    total = sum(c.value_sats for c in coins)
    # BIP-127: "a single output that is the exact sum of all the inputs" (no miner fee)
    if tx.vout[0].value != total:
        return _bad("the output is not the exact sum of the inputs (BIP-127: no fee)", commitment)
    try:
        for i in range(1, len(tx.vin)):
            _interp.verify_input(SpendChecker(tx, i, spent))
    except Invalid as exc:
        return _bad(f"invalid signature: {exc.reason}", commitment)
    except Inconclusive as exc:
        return PorProof(ProofStatus.INCONCLUSIVE, f"cannot evaluate: {exc.reason}", commitment)
    note = "" if tx.vout[0].script == BDK_UNSPENDABLE else " (output is not bdk's unspendable one)"
    return PorProof(
        ProofStatus.VALID,
        f"{len(coins)} coin(s) signed together{note}; check them on-chain",
        commitment,
        tuple(coins),
        total,
        tx.vout[0].script.hex(),
    )


@dataclass(frozen=True)
class PorCheck:
    """Which declared coins a chain source holds unspent, as declared, at one block."""

    block: BlockRef
    source: str
    proven_sats: int
    unspent: tuple[ProvenCoin, ...]
    missing: tuple[ProvenCoin, ...]


def check_por_coins(proof: PorProof, source: ChainSource) -> PorCheck:
    """Look every coin of a valid proof up at one block: spent or altered coins prove nothing."""
    if not proof.valid:
        raise ValueError("only a valid proof's coins can be checked")
    scripts = list(dict.fromkeys(bytes.fromhex(c.script_hex) for c in proof.coins))
    found = source.lookup(scripts)
    on_chain = {(u.txid, u.vout, u.value, s.hex()) for s in scripts for u in found.coins.get(s, ())}
    unspent = tuple(
        c for c in proof.coins if (c.txid, c.vout, c.value_sats, c.script_hex) in on_chain
    )
    missing = tuple(c for c in proof.coins if c not in unspent)
    return PorCheck(
        found.block, source.describe(), sum(c.value_sats for c in unspent), unspent, missing
    )
