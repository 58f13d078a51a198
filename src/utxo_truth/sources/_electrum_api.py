"""What an Electrum server sends, typed and checked at the boundary.

One frozen dataclass (and its parser) per reply shape of the Electrum protocol 1.4-1.6
(https://electrum-protocol.readthedocs.io/en/latest/protocol-methods.html), as ElectrumX,
Fulcrum and electrs send them: ``server.version`` (:class:`ServerVersion`), ``server.features``
(:class:`ServerFeatures`), ``blockchain.headers.subscribe`` (:class:`Tip`),
``blockchain.block.header`` (:func:`parse_header`), ``blockchain.block.headers``
(:class:`HeadersChunk`, both the 1.4 ``hex`` and the 1.6 ``headers`` form),
``blockchain.scripthash.get_history`` (:class:`HistoryItem`), ``listunspent``
(:class:`UnspentItem`), ``get_balance`` (:class:`Balance`) and
``blockchain.transaction.get_merkle`` (:class:`MerkleProof`). Nothing here does I/O; a reply that
does not fit is a :class:`~utxo_truth._exceptions.SourceProtocolError` whose message begins with
the caller's ``what`` (or None where the caller can do without it).

Example:
    >>> parse_history([{"tx_hash": "ab" * 32, "height": 7}], "history")
    (HistoryItem(tx_hash='abab...abab', height=7, fee=None),)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._exceptions import SourceProtocolError
from ._spv import hex32, is_int

__all__ = [
    "Balance",
    "HeadersChunk",
    "HistoryItem",
    "MerkleProof",
    "ServerFeatures",
    "ServerVersion",
    "Tip",
    "UnspentItem",
    "parse_balance",
    "parse_features",
    "parse_header",
    "parse_headers_chunk",
    "parse_history",
    "parse_listunspent",
    "parse_merkle_proof",
    "parse_tip",
    "parse_version",
]


def _bad(what: str, x: Any) -> SourceProtocolError:
    return SourceProtocolError(f"{what}: {str(x)[:80]}")


def _header_bytes(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise _bad(f"{what} is not hex", text)
    try:
        header = bytes.fromhex(text)
    except ValueError:
        raise _bad(f"{what} is not hex", text) from None
    if len(header) != 80:
        raise SourceProtocolError(f"{what} is {len(header)} bytes, not 80")
    return header


@dataclass(frozen=True, slots=True)
class ServerVersion:
    """``server.version``: the server's software and the protocol version agreed."""

    software: str
    protocol: str


def parse_version(r: Any, what: str) -> ServerVersion:
    """``[software, protocol]``.

    Example:
        >>> parse_version(["ElectrumX 1.18.0", "1.4"], "version")
        ServerVersion(software='ElectrumX 1.18.0', protocol='1.4')
    """
    if not (isinstance(r, list) and len(r) == 2 and all(isinstance(x, str) for x in r)):
        raise _bad(what, r)
    return ServerVersion(r[0], r[1])


@dataclass(frozen=True, slots=True)
class ServerFeatures:
    """``server.features``: what the server says it serves (its genesis hash names the network)."""

    genesis_hash: str
    protocol_min: str
    protocol_max: str
    server_version: str
    hash_function: str
    pruning: int | None


def parse_features(r: Any, what: str) -> ServerFeatures:
    """The fields of ``server.features`` this library reads (``hash_function`` defaults to sha256).

    Example:
        >>> parse_features({"genesis_hash": "00" * 32, "protocol_min": "1.4",
        ...                 "protocol_max": "1.6", "server_version": "x"}, "features").pruning
    """
    if not isinstance(r, dict):
        raise _bad(what, r)
    strings = ("protocol_min", "protocol_max", "server_version")
    if not all(isinstance(r.get(k), str) for k in strings):
        raise _bad(what, r)
    pruning = r.get("pruning")
    if pruning is not None and not is_int(pruning):
        raise _bad(f"{what} (pruning)", pruning)
    hash_function = r.get("hash_function", "sha256")
    if not isinstance(hash_function, str):
        raise _bad(f"{what} (hash_function)", hash_function)
    return ServerFeatures(
        genesis_hash=hex32(r.get("genesis_hash"), "genesis hash"),
        protocol_min=r["protocol_min"],
        protocol_max=r["protocol_max"],
        server_version=r["server_version"],
        hash_function=hash_function,
        pruning=pruning,
    )


@dataclass(frozen=True, slots=True)
class Tip:
    """``blockchain.headers.subscribe`` (and its notification): the tip's height and header."""

    height: int
    header: bytes


def parse_tip(r: Any, what: str) -> Tip:
    """``{"height": n, "hex": header}``.

    Example:
        >>> parse_tip({"height": 0, "hex": "00" * 80}, "tip").height
        0
    """
    if not (isinstance(r, dict) and is_int(r.get("height")) and isinstance(r.get("hex"), str)):
        raise _bad(what, r)
    if r["height"] < 0:
        raise _bad(f"{what} (negative height)", r["height"])
    return Tip(r["height"], _header_bytes(r["hex"], f"{what} header"))


def parse_header(r: Any, what: str) -> bytes:
    """``blockchain.block.header``: the header in hex (or ``{"header": hex, ...}`` with a proof).

    Example:
        >>> len(parse_header("00" * 80, "header"))
        80
    """
    if isinstance(r, dict):
        r = r.get("header")
    return _header_bytes(r, what)


@dataclass(frozen=True, slots=True)
class HeadersChunk:
    """``blockchain.block.headers``: ``count`` headers from the height asked."""

    count: int
    headers: tuple[bytes, ...]
    max: int | None = None
    """The most the server sends in one reply, when it says."""


def parse_headers_chunk(r: Any, what: str) -> HeadersChunk:
    """Protocol 1.4's ``{"hex": concatenated, "count", "max"}`` or 1.6's ``{"headers": [...]}``.

    Example:
        >>> parse_headers_chunk({"count": 2, "hex": "00" * 160, "max": 2016}, "headers").count
        2
    """
    if not isinstance(r, dict):
        raise _bad(what, r)
    if isinstance(r.get("headers"), list):
        headers = tuple(_header_bytes(h, f"{what} header") for h in r["headers"])
    elif isinstance(r.get("hex"), str):
        try:
            blob = bytes.fromhex(r["hex"])
        except ValueError:
            raise _bad(f"{what} is not hex", r["hex"]) from None
        if len(blob) % 80:
            raise SourceProtocolError(f"{what}: {len(blob)} bytes is not a whole number of headers")
        headers = tuple(blob[i : i + 80] for i in range(0, len(blob), 80))
    else:
        raise SourceProtocolError(f"{what} without 'hex' or 'headers'")
    count = r.get("count", len(headers))
    if not is_int(count) or count != len(headers):
        raise SourceProtocolError(f"{what}: count {count!r} but {len(headers)} headers")
    most = r.get("max")
    return HeadersChunk(count, headers, most if is_int(most) else None)


@dataclass(frozen=True, slots=True, repr=False)
class HistoryItem:
    """One entry of ``get_history``: a transaction touching the script and its height.

    ``height`` is 0 for an unconfirmed transaction, -1 for one with unconfirmed inputs.
    """

    tx_hash: str
    height: int
    fee: int | None = None

    def __repr__(self) -> str:
        short = f"{self.tx_hash[:4]}...{self.tx_hash[-4:]}"
        return f"HistoryItem(tx_hash={short!r}, height={self.height}, fee={self.fee})"


def parse_history(r: Any, what: str) -> tuple[HistoryItem, ...]:
    """``[{"tx_hash", "height"[, "fee"]}, ...]``."""
    if not isinstance(r, list):
        raise _bad(what, r)
    out = []
    for item in r:
        if not (isinstance(item, dict) and is_int(item.get("height")) and item["height"] >= -1):
            raise _bad(f"{what} item", item)
        fee = item.get("fee")
        out.append(
            HistoryItem(
                hex32(item.get("tx_hash"), "tx_hash"),
                item["height"],
                fee if is_int(fee) else None,
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class UnspentItem:
    """One entry of ``listunspent``: an output the server says is unspent (0: unconfirmed)."""

    tx_hash: str
    tx_pos: int
    value: int
    height: int


def parse_listunspent(r: Any, what: str) -> tuple[UnspentItem, ...]:
    """``[{"tx_hash", "tx_pos", "value", "height"}, ...]``; values are satoshis.

    Example:
        >>> parse_listunspent([{"tx_hash": "cd" * 32, "tx_pos": 1, "value": 5, "height": 9}],
        ...                   "listunspent")[0].value
        5
    """
    if not isinstance(r, list):
        raise _bad(what, r)
    out = []
    for item in r:
        ok = (
            isinstance(item, dict)
            and is_int(item.get("tx_pos"))
            and item["tx_pos"] >= 0
            and is_int(item.get("value"))
            and item["value"] >= 0
            and is_int(item.get("height"))
            and item["height"] >= -1
        )
        if not ok:
            raise _bad(f"{what} item", item)
        out.append(
            UnspentItem(
                hex32(item.get("tx_hash"), "tx_hash"), item["tx_pos"], item["value"], item["height"]
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Balance:
    """``get_balance``: confirmed and unconfirmed satoshis (the latter may be negative)."""

    confirmed: int
    unconfirmed: int


def parse_balance(r: Any) -> Balance | None:
    """``{"confirmed", "unconfirmed"}``; None when malformed (the balance is only a cross-check).

    Example:
        >>> parse_balance({"confirmed": 3, "unconfirmed": -1})
        Balance(confirmed=3, unconfirmed=-1)
        >>> parse_balance("3") is None
        True
    """
    if not (isinstance(r, dict) and is_int(r.get("confirmed")) and is_int(r.get("unconfirmed", 0))):
        return None
    return Balance(r["confirmed"], r.get("unconfirmed", 0))


@dataclass(frozen=True, slots=True)
class MerkleProof:
    """``blockchain.transaction.get_merkle``: the branch from a txid to its block's merkle root."""

    block_height: int
    merkle: tuple[str, ...]
    pos: int


def parse_merkle_proof(r: Any) -> MerkleProof | None:
    """``{"block_height", "merkle": [hex, ...], "pos"}``; None when malformed (said by the caller).

    Example:
        >>> parse_merkle_proof({"block_height": 5, "merkle": [], "pos": 0})
        MerkleProof(block_height=5, merkle=(), pos=0)
    """
    if not (
        isinstance(r, dict)
        and isinstance(r.get("merkle"), list)
        and is_int(r.get("pos"))
        and r["pos"] >= 0
        and is_int(r.get("block_height", 0))
    ):
        return None
    try:
        branch = tuple(hex32(x, "merkle hash") for x in r["merkle"])
    except SourceProtocolError:
        return None
    return MerkleProof(r.get("block_height", -1), branch, r["pos"])
