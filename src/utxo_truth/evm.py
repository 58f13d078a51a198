"""A small EVM JSON-RPC client: an ERC-20's ``totalSupply()`` at a named block, in satoshis.

Wrapped bitcoin (WBTC, cbBTC) is a claim whose supply is public on an EVM chain. This module reads
it from the user's own RPC endpoint (``--evm-rpc URL``), and believes nothing it was not asked:

* ``eth_chainId`` must be the chain the caller named (a node of another chain is refused);
* the block is fetched first (``eth_getBlockByNumber``: number, hash, time; its number must be
  the one asked), then ``eth_call`` is bound to that block *by hash* (EIP-1898), so the supply
  and the block named in the answer are the same block even if the node's head moves or reorgs;
* every field is checked: JSON-RPC 2.0 envelope and id, hex quantities without leading zeros,
  32-byte hashes, ABI words of exactly 32 bytes, ``decimals()`` below 78; replies are capped at
  :data:`MAX_REPLY` bytes;
* the amount is an integer of the token's base units scaled to satoshis (8 decimals) exactly:
  fewer decimals are multiplied, more are divided only when nothing is left over
  (:class:`~utxo_truth._exceptions.InexactAmountError` otherwise) - never a float.

Politeness is that of the Esplora source: 429 and 503 (and JSON-RPC ``-32005`` "limit
exceeded") are retried with exponential backoff and full jitter, honouring ``Retry-After`` up to
``max_wait`` seconds; dropped connections and other 5xx are retried ``retries`` times. The URL
is shown as ``scheme://host:port`` only: a key in its path (``/v3/KEY``), query or user-info is
never printed.

>>> to_sats(150_000_000, 8), to_sats(15, 7), to_sats(10**18, 18)
(150000000, 150, 100000000)
>>> chain_id_of("ethereum"), chain_id_of("base"), chain_id_of("eip155:31337")
(1, 8453, 31337)
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from utxo_truth._exceptions import (
    ChainMismatchError,
    ContractCallError,
    InexactAmountError,
    InputError,
    ServerBusyError,
    ServerRefusedError,
    SourceError,
    SourceProtocolError,
    SourceTimeoutError,
    SourceUnavailableError,
)

__all__ = [
    "CHAIN_IDS",
    "MAX_REPLY",
    "EvmBlock",
    "EvmRpc",
    "TokenSupply",
    "chain_id_of",
    "to_sats",
]

MAX_REPLY = 4 << 20
"""The largest JSON-RPC reply read (a block header object is a few kB)."""

SATS_DECIMALS = 8
"""Bitcoin's scale: 1 BTC = 10**8 satoshis; WBTC and cbBTC use the same 8 decimals."""

SEL_TOTAL_SUPPLY = "0x18160ddd"  # ERC-20 (EIP-20) totalSupply(): keccak256("totalSupply()")[:4]
SEL_DECIMALS = "0x313ce567"  # ERC-20 (EIP-20) decimals(): keccak256("decimals()")[:4]

CHAIN_IDS: dict[str, int] = {
    "ethereum": 1,
    "mainnet": 1,
    "optimism": 10,
    "bsc": 56,
    "gnosis": 100,
    "polygon": 137,
    "base": 8453,
    "arbitrum": 42161,
    "avalanche": 43114,
    "sepolia": 11155111,
    "holesky": 17000,
    "anvil": 31337,
}
"""Chain names accepted in ``CHAIN:CONTRACT`` (EIP-155 chain ids); ``eip155:N`` or ``N`` also."""

_QUANTITY = re.compile(r"0x(?:0|[1-9a-f][0-9a-f]*)")  # Ethereum JSON-RPC: no leading zeros
_DATA = re.compile(r"0x(?:[0-9a-f]{2})*")  # Ethereum JSON-RPC: unformatted data, even length
_HASH = re.compile(r"0x[0-9a-f]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_MAX_DECIMALS = 77  # 10**78 > 2**256: a uint256 cannot hold one whole unit beyond this


def chain_id_of(chain: str | int) -> int:
    """The EIP-155 chain id of ``chain`` (a name of :data:`CHAIN_IDS`, ``eip155:N`` or ``N``).

    >>> chain_id_of("arbitrum")
    42161
    """
    if isinstance(chain, int) and not isinstance(chain, bool):
        if chain <= 0:
            raise InputError(f"chain id {chain} is not positive")
        return chain
    text = str(chain).strip().lower()
    if text.startswith("eip155:"):
        text = text[7:]
    if text.isdigit() and int(text) > 0:
        return int(text)
    if text in CHAIN_IDS:
        return CHAIN_IDS[text]
    raise InputError(
        f"unknown EVM chain {str(chain)[:40]!r}: use one of {', '.join(sorted(CHAIN_IDS))}, "
        "or eip155:CHAIN_ID"
    )


def to_sats(units: int, decimals: int) -> int:
    """``units`` of a token with ``decimals`` decimals, in satoshis (10**-8), exactly.

    Raises :class:`InexactAmountError` when a finer-scaled amount is not a whole number of
    satoshis (rounding would invent or hide value).

    >>> to_sats(123, 8)
    123
    """
    if not 0 <= decimals <= _MAX_DECIMALS:
        raise InexactAmountError(f"decimals() = {decimals} is not a usable token scale")
    if units < 0:
        raise InexactAmountError(f"a negative token amount ({units}) is not a supply")
    if decimals <= SATS_DECIMALS:
        return int(units * 10 ** (SATS_DECIMALS - decimals))
    whole, rest = divmod(units, int(10 ** (decimals - SATS_DECIMALS)))
    if rest:
        raise InexactAmountError(
            f"{units} units at {decimals} decimals is not a whole number of satoshis "
            f"({rest} units left over); refusing to round"
        )
    return whole


@dataclass(frozen=True, slots=True)
class EvmBlock:
    """One block of an EVM chain: what every supply is measured at.

    >>> EvmBlock(chain_id=1, number=1, hash="0x" + "ab" * 32, timestamp=1438269988).number
    1
    """

    chain_id: int
    number: int
    hash: str
    timestamp: int
    """Unix seconds of the block header."""


@dataclass(frozen=True, slots=True)
class TokenSupply:
    """An ERC-20's ``totalSupply()`` at one block, in base units and in satoshis.

    >>> b = EvmBlock(chain_id=1, number=9, hash="0x" + "00" * 32, timestamp=0)
    >>> TokenSupply("0x" + "11" * 20, b, 8, 5, 5).sats
    5
    """

    contract: str
    block: EvmBlock
    decimals: int
    units: int
    sats: int


def _where(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: its path, query and user-info may hold a key."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return int(value.strip())  # RFC 9110 Retry-After: delay-seconds
    return None


class _Retry(Exception):
    def __init__(
        self, message: str, error: type[SourceError], *, busy: bool, wait: float | None = None
    ) -> None:
        super().__init__(message)
        self.error, self.busy, self.wait = error, busy, wait


class EvmRpc:
    """A JSON-RPC 2.0 client of one EVM node, checked to serve ``chain``.

    Args:
        url: the node's HTTP(S) endpoint (the user's own, or a provider's with a key in it).
        chain: the chain it must serve (name, ``eip155:N`` or the id); checked on first use.
        timeout: seconds per request.
        retries: extra attempts after a dropped connection, 5xx or garbled reply.
        max_wait: the longest total wait on 429/503; a server asking for more is "busy" at once.
        backoff: the first backoff pause (doubled each time, full jitter).

    Example (needs a node, so not run here)::

        rpc = EvmRpc("http://127.0.0.1:8545", chain="ethereum")
        supply = rpc.total_supply("0x2260fac5e5542a773aa44fbcfedf7c193bc2c599", "finalized")
    """

    def __init__(
        self,
        url: str,
        *,
        chain: str | int,
        timeout: float = 20.0,
        retries: int = 3,
        max_wait: float = 60.0,
        backoff: float = 0.5,
        session: requests.Session | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(
                f"EVM RPC URL {_where(url) if parts.hostname else 'given'} is not http(s)://HOST"
                "/...: give your node's JSON-RPC endpoint, e.g. http://127.0.0.1:8545"
            )
        if timeout <= 0 or retries < 0 or max_wait < 0 or backoff < 0:
            raise InputError("timeout must be positive; retries, max_wait and backoff >= 0")
        self.url = url
        self.where = _where(url)
        self.chain_id = chain_id_of(chain)
        self.timeout, self.retries, self.max_wait, self.backoff = (
            timeout,
            retries,
            max_wait,
            backoff,
        )
        self.session = session or requests.Session()
        self.retried = 0
        self._next_id = 0
        self._lock = threading.Lock()
        self._checked = False

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> EvmRpc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the questions -------------------------------------------------------------------------
    def check_chain(self) -> None:
        """Raise :class:`ChainMismatchError` unless the node serves the chain named."""
        found = _quantity(self.call_raw("eth_chainId", []), "eth_chainId")
        if found != self.chain_id:
            raise ChainMismatchError(
                f"{self.where} serves chain id {found}, not {self.chain_id}: point --evm-rpc at "
                "a node of the chain named, or name the chain it serves",
                expected=str(self.chain_id),
                found=str(found),
            )
        self._checked = True

    def block(self, tag: int | str = "finalized") -> EvmBlock:
        """The block ``tag`` (a number, ``latest``, ``safe`` or ``finalized``): number, hash, time."""
        if isinstance(tag, int):
            if tag < 0:
                raise InputError(f"block number {tag} is negative")
            param = hex(tag)
        elif tag in ("latest", "safe", "finalized", "earliest"):
            param = tag
        else:
            raise InputError(f"block {str(tag)[:20]!r}: give a number, latest, safe or finalized")
        if not self._checked:
            self.check_chain()
        reply = self.call_raw("eth_getBlockByNumber", [param, False])
        if reply is None:
            raise ServerRefusedError(f"{self.where}: has no block {param} (not yet mined?)")
        if not isinstance(reply, dict):
            raise SourceProtocolError(f"{self.where}: eth_getBlockByNumber: not a block object")
        number = _quantity(reply.get("number"), "block number")
        if isinstance(tag, int) and number != tag:
            raise SourceProtocolError(
                f"{self.where}: asked for block {tag}, the node answered block {number}"
            )
        block_hash = reply.get("hash")
        if not isinstance(block_hash, str) or not _HASH.fullmatch(block_hash):
            raise SourceProtocolError(f"{self.where}: block {number}: hash is not 32 bytes hex")
        timestamp = _quantity(reply.get("timestamp"), "block timestamp")
        return EvmBlock(self.chain_id, number, block_hash, timestamp)

    def eth_call(self, to: str, data: str, block: EvmBlock) -> bytes:
        """The bytes ``to`` returns for ``data`` at ``block`` (bound by hash, EIP-1898)."""
        if block.chain_id != self.chain_id:
            raise InputError(
                f"block of chain {block.chain_id} given to a chain {self.chain_id} node"
            )
        reply = self.call_raw(
            "eth_call",
            [
                {"to": _address(to), "data": data},
                {"blockHash": block.hash, "requireCanonical": True},
            ],
        )
        if not isinstance(reply, str) or not _DATA.fullmatch(reply):
            raise SourceProtocolError(f"{self.where}: eth_call: the result is not hex data")
        return bytes.fromhex(reply[2:])

    def total_supply(self, contract: str, block: int | str | EvmBlock = "finalized") -> TokenSupply:
        """``totalSupply()`` and ``decimals()`` of ``contract`` at ``block``, scaled to satoshis.

        Raises :class:`ContractCallError` for a revert or a contract (or empty address) that has
        no such function, :class:`InexactAmountError` for a supply finer than a satoshi.
        """
        contract = _address(contract)
        at = block if isinstance(block, EvmBlock) else self.block(block)
        decimals = self._word(contract, SEL_DECIMALS, "decimals()", at)
        if decimals > _MAX_DECIMALS:
            raise InexactAmountError(f"{contract}: decimals() = {decimals} is not a token scale")
        units = self._word(contract, SEL_TOTAL_SUPPLY, "totalSupply()", at)
        return TokenSupply(contract, at, decimals, units, to_sats(units, decimals))

    def _word(self, contract: str, selector: str, name: str, at: EvmBlock) -> int:
        out = self.eth_call(contract, selector, at)
        if not out:
            code = self.call_raw("eth_getCode", [contract, {"blockHash": at.hash}])
            what = (
                "there is no contract at that address on this chain"
                if code in ("0x", "0x0")
                else "the contract has no such function (is it an ERC-20?)"
            )
            raise ContractCallError(
                f"{contract}: {name} returned nothing at block {at.number}: {what}"
            )
        if len(out) != 32:  # Solidity ABI: a static uint return value is one 32-byte word
            raise ContractCallError(
                f"{contract}: {name} returned {len(out)} bytes, not one 32-byte ABI word"
            )
        return int.from_bytes(out, "big")

    # --- transport -----------------------------------------------------------------------------
    def call_raw(self, method: str, params: list[Any]) -> Any:
        """``method(params)``'s ``result``, with retries; typed errors for everything else."""
        spent = 0.0
        failures = 0
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(method, params)
            except _Retry as exc:
                self.retried += 1
                if exc.busy:
                    pause = exc.wait
                    if pause is None:
                        pause = random.uniform(0, self.backoff * 2 ** min(attempt - 1, 10))
                    if spent + pause > self.max_wait:
                        raise ServerBusyError(
                            f"{self.where}: {method}: rate-limited ({exc}) beyond "
                            f"max_wait={self.max_wait:g}s; wait, or use your own node",
                            code=429,
                        ) from None
                    spent += pause
                else:
                    failures += 1
                    if failures > self.retries:
                        raise exc.error(
                            f"{self.where}: {method}: {exc} ({self.retries + 1} attempts)"
                        ) from None
                    pause = random.uniform(0, self.backoff * 2 ** (failures - 1))
                time.sleep(pause)

    def _once(self, method: str, params: list[Any]) -> Any:
        with self._lock:
            self._next_id += 1
            rid = self._next_id
        body = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        try:
            r = self.session.post(self.url, json=body, timeout=self.timeout, stream=True)
        except requests.Timeout:
            raise _Retry(
                f"no answer in {self.timeout:g}s", SourceTimeoutError, busy=False
            ) from None
        except requests.ConnectionError:
            raise _Retry("connection failed", SourceUnavailableError, busy=False) from None
        except requests.RequestException as exc:
            raise SourceUnavailableError(f"{self.where}: {type(exc).__name__}") from None
        try:
            raw = self._read(r)
        finally:
            r.close()
        if r.status_code in (429, 503):
            raise _Retry(
                f"HTTP {r.status_code}",
                ServerBusyError,
                busy=True,
                wait=_retry_after(r.headers.get("Retry-After")),
            )
        if r.status_code >= 500:
            raise _Retry(f"HTTP {r.status_code}", ServerRefusedError, busy=False)
        if r.status_code in (401, 403):
            raise ServerRefusedError(
                f"{self.where}: access denied (HTTP {r.status_code}); check the RPC URL's key",
                code=r.status_code,
            )
        if r.status_code != 200:
            raise ServerRefusedError(f"{self.where}: HTTP {r.status_code}", code=r.status_code)
        try:
            reply = json.loads(raw)
        except ValueError:
            raise _Retry("the reply is not JSON", SourceProtocolError, busy=False) from None
        if (
            not isinstance(reply, dict)
            or reply.get("jsonrpc") != "2.0"
            or reply.get("id") != rid
            or ("result" in reply) == ("error" in reply)
        ):
            raise SourceProtocolError(
                f"{self.where}: {method}: not a JSON-RPC 2.0 reply to this request"
            )
        if "error" in reply:
            err = reply["error"]
            code = err.get("code") if isinstance(err, dict) else None
            message = err.get("message") if isinstance(err, dict) else None
            text = self._scrub(str(message)[:160]) if message is not None else "?"
            if code == -32005 or (isinstance(message, str) and "rate limit" in message.lower()):
                raise _Retry(f"JSON-RPC {code}: {text}", ServerBusyError, busy=True)
            if code == 3 or (isinstance(message, str) and "revert" in message.lower()):
                raise ContractCallError(f"{self.where}: {method}: the call reverted: {text}")
            raise ServerRefusedError(f"{self.where}: {method}: error {code}: {text}", code=code)
        return reply["result"]

    def _read(self, r: requests.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + self.timeout
        try:
            for chunk in r.iter_content(1 << 16):
                if time.monotonic() > deadline:  # a server trickling bytes is cut off
                    raise _Retry(
                        f"no whole answer in {self.timeout:g}s", SourceTimeoutError, busy=False
                    )
                size += len(chunk)
                if size > MAX_REPLY:
                    raise SourceProtocolError(
                        f"{self.where}: a reply over {MAX_REPLY >> 20} MiB; refusing it"
                    )
                chunks.append(chunk)
        except requests.RequestException:
            raise _Retry("the reply was cut off", SourceProtocolError, busy=False) from None
        return b"".join(chunks)

    def _scrub(self, text: str) -> str:
        """A server's message without the URL's secret parts, should it echo them."""
        parts = urlsplit(self.url)
        for secret in (parts.password, parts.username, parts.query, parts.path.strip("/")):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        for piece in parts.path.split("/"):
            if len(piece) >= 8:
                text = text.replace(piece, "***")
        return text


def _quantity(value: object, what: str) -> int:
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value) or len(value) > 66:
        raise SourceProtocolError(f"{what}: {str(value)[:40]!r} is not a hex quantity")
    return int(value, 16)


def _address(value: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value.strip()):
        raise InputError(f"{str(value)[:50]!r} is not an EVM address (0x and 40 hex digits)")
    return value.strip().lower()
