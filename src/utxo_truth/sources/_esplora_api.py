"""What an Esplora server sends, typed and checked at the boundary.

One function or frozen dataclass per reply shape of Blockstream's Esplora HTTP API
(https://github.com/Blockstream/esplora/blob/master/API.md), in the spirit of
rust-esplora-client's ``api.rs``: ``/scripthash/:h`` stats (:class:`ScriptStats`), transaction
objects re-serialised to their txid (:func:`txid_of_json`, :func:`outs_from_object`), raw
transactions (:func:`outs_from_hex`) and ``/blocks`` summaries rebuilt into headers
(:func:`header_from_summary`). Nothing here does I/O; a reply that does not fit is a
:class:`~utxo_truth._exceptions.SourceProtocolError` (or None where the caller falls back).

Example:
    >>> stats = parse_stats(
    ...     {"chain_stats": {"funded_txo_sum": 5, "spent_txo_sum": 2, "tx_count": 3},
    ...      "mempool_stats": {"funded_txo_sum": 0, "spent_txo_sum": 0, "tx_count": 1}},
    ...     "malformed stats",
    ... )
    >>> stats.chain.balance, stats.tx_count
    (3, 4)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .._exceptions import SourceProtocolError
from .._script import NULL_TXID, compact_size
from ._spv import hex32, is_int

__all__ = [
    "ScriptStats",
    "Stats",
    "TxOuts",
    "compact_size",
    "counts",
    "header_from_summary",
    "outs_from_hex",
    "outs_from_object",
    "parse_stats",
    "scripthash",
    "txid_of_json",
]

_STATS_FIELDS = ("funded_txo_sum", "spent_txo_sum", "tx_count")


@dataclass(frozen=True, slots=True)
class Stats:
    """One half of ``/scripthash/:h``: ``chain_stats`` or ``mempool_stats``."""

    funded_txo_sum: int
    """Satoshis ever paid to the script (in this half)."""
    spent_txo_sum: int
    """Satoshis of the script's outputs ever spent (in this half)."""
    tx_count: int
    """Transactions touching the script (in this half)."""

    @property
    def balance(self) -> int:
        """Funded minus spent."""
        return self.funded_txo_sum - self.spent_txo_sum


@dataclass(frozen=True, slots=True)
class ScriptStats:
    """The reply of ``/scripthash/:h``: the script's confirmed and mempool statistics."""

    chain: Stats
    mempool: Stats

    @property
    def tx_count(self) -> int:
        """Transactions touching the script, confirmed or not."""
        return self.chain.tx_count + self.mempool.tx_count


def parse_stats(r: Any, malformed: str) -> ScriptStats:
    """``/scripthash/:h`` as :class:`ScriptStats`; ``malformed`` begins the error message."""
    halves: list[Stats] = []
    for key in ("chain_stats", "mempool_stats"):
        part = r.get(key) if isinstance(r, dict) else None
        if not (isinstance(part, dict) and all(is_int(part.get(f)) for f in _STATS_FIELDS)):
            raise SourceProtocolError(f"{malformed}: {str(r)[:80]}")
        halves.append(Stats(*(part[f] for f in _STATS_FIELDS)))
    return ScriptStats(*halves)


def scripthash(script: bytes) -> str:
    """Esplora's script hash: sha256 of the scriptPubKey in hex, *not* byte-reversed.

    Electrum's is reversed (see esplora issue #460).
    """
    return hashlib.sha256(script).hexdigest()


@dataclass(frozen=True, slots=True)
class TxOuts:
    """A transaction's outputs (script, value), known from bytes that hash to its txid."""

    outputs: tuple[tuple[bytes, int], ...]
    coinbase: bool


def counts(page: list[dict[str, Any]]) -> tuple[int, int]:
    """(confirmed, mempool) transactions on a history page."""
    confirmed = sum(t["height"] is not None for t in page)
    return confirmed, len(page) - confirmed


def txid_of_json(t: dict[str, Any]) -> str | None:
    """The txid an Esplora transaction object serialises to (without witness).

    None when a field needed for that is missing or malformed.
    """
    try:
        parts = [(t["version"] & 0xFFFFFFFF).to_bytes(4, "little"), compact_size(len(t["vin"]))]
        for i in t["vin"]:
            sig = bytes.fromhex(i["scriptsig"])
            parts += [
                bytes.fromhex(i["txid"])[::-1],
                (i["vout"] & 0xFFFFFFFF).to_bytes(4, "little"),
                compact_size(len(sig)),
                sig,
                i["sequence"].to_bytes(4, "little"),
            ]
        parts.append(compact_size(len(t["vout"])))
        for o in t["vout"]:
            spk = bytes.fromhex(o["scriptpubkey"])
            parts += [o["value"].to_bytes(8, "little"), compact_size(len(spk)), spk]
        parts.append(t["locktime"].to_bytes(4, "little"))
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return None
    raw = b"".join(parts)
    return hashlib.sha256(hashlib.sha256(raw).digest()).digest()[::-1].hex()


def outs_from_object(t: dict[str, Any]) -> TxOuts | None:
    """Outputs of a parsed Esplora transaction object, if it serialises to its txid.

    Only then are its outputs' values and scripts the transaction's own.
    """
    if txid_of_json(t["json"]) != t["txid"]:
        return None
    coinbase = any(isinstance(i, dict) and i.get("is_coinbase") is True for i in t["json"]["vin"])
    return TxOuts(tuple(t["vout"]), coinbase)


def outs_from_hex(text: str | None, txid: str) -> TxOuts | None:
    """Outputs of a raw transaction (hex) that hashes to ``txid``; None otherwise."""
    from embit.transaction import Transaction

    try:
        tx = Transaction.parse(bytes.fromhex(text or ""))
    except Exception:
        return None
    if tx.txid().hex() != txid:
        return None
    coinbase = len(tx.vin) == 1 and bytes(tx.vin[0].txid) == NULL_TXID
    outs = tuple((bytes(o.script_pubkey.data), int(o.value)) for o in tx.vout)
    return TxOuts(outs, coinbase)


def header_from_summary(b: Any) -> tuple[int, str, bytes] | None:
    """(height, id, 80-byte header) rebuilt from a ``/blocks`` item; None if fields are missing."""
    try:
        prev = b.get("previousblockhash") or "00" * 32
        header = b"".join(
            [
                (b["version"] & 0xFFFFFFFF).to_bytes(4, "little"),
                bytes.fromhex(prev)[::-1],
                bytes.fromhex(b["merkle_root"])[::-1],
                b["timestamp"].to_bytes(4, "little"),
                b["bits"].to_bytes(4, "little"),
                b["nonce"].to_bytes(4, "little"),
            ]
        )
        height, block_id = b["height"], hex32(b["id"], "block id")
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, SourceProtocolError):
        return None
    if len(header) != 80 or not is_int(height):
        return None
    return height, block_id, header
