"""Embedded per-epoch checkpoints, and the two assurances they give without the whole chain.

The table of each network is package data (``data/checkpoints-<net>.json``), built from
Electrum's ``checkpoints.json`` (``[hash, target]`` per epoch) and bitcoinj's checkpoint file
(the full header at every epoch start); see ``docs/verification.md`` for how it is refreshed
and checked.

* :func:`chunk_assurance`: an epoch's 2016 headers, each linked, each with proof of work, its
  bits equal to the checkpointed target (mainnet, signet) or following the network's rules
  (testnets), the first linked to the checkpoint before it and the last equal to its checkpoint.
* :func:`header_assurance`: one header alone, its bits equal to its epoch's checkpointed
  target and its hash below it (mainnet, signet); forging one costs a real block's work at that
  height.

Table layout: ``epochs[i] = [hash, target]``: the hash of block ``(i + 1) * 2016 - 1`` (the last
of epoch ``i``) and the target of epoch ``i + 1`` (``null`` when neither source gives it);
``headers`` maps an epoch start height to its full header (hex).

Example:
    >>> from utxo_truth._network import Network
    >>> load_checkpoints(Network.MAIN).last_height
    953567
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ._exceptions import VerificationError
from ._network import Network
from ._pow import POW_LIMIT, RETARGET_INTERVAL, bits_to_target, target_to_bits
from .verify import GENESIS, HeaderChain, check_header_chain, header_hash, merkle_root_from_branch

__all__ = [
    "STALE_AFTER",
    "CheckpointTable",
    "build_table",
    "chunk_assurance",
    "drop_genesis_outputs",
    "header_assurance",
    "header_time",
    "load_checkpoints",
    "parse_bitcoinj",
    "tip_problems",
]

_FILE_NAMES = {
    Network.MAIN: "mainnet",
    Network.TESTNET: "testnet",
    Network.TESTNET4: "testnet4",
    Network.SIGNET: "signet",
}
_HEADER_ASSURED = frozenset({Network.MAIN, Network.SIGNET})  # no min-difficulty exceptions


@dataclass(frozen=True)
class CheckpointTable:
    """One network's checkpoints.

    ``epochs[i]`` = (hash of the last block of epoch i, target of epoch i + 1 or None);
    ``headers``: epoch-start height → 80-byte header.
    """

    network: Network
    epochs: tuple[tuple[str, int | None], ...]
    headers: dict[int, bytes]

    @property
    def last_height(self) -> int:
        """Height of the last checkpointed block."""
        return len(self.epochs) * RETARGET_INTERVAL - 1

    def epoch_hash(self, epoch: int) -> str:
        """Hash of the last block of ``epoch``."""
        if not 0 <= epoch < len(self.epochs):
            raise VerificationError(f"no checkpoint for epoch {epoch} on {self.network.value}")
        return self.epochs[epoch][0]

    def epoch_target(self, epoch: int) -> int | None:
        """The target every block of ``epoch`` must have (mainnet, signet), if known."""
        if epoch == 0:
            # the genesis block's bits: the network's limit in compact form
            return bits_to_target(target_to_bits(POW_LIMIT[self.network]))
        if not 0 < epoch <= len(self.epochs):
            return None
        return self.epochs[epoch - 1][1]


def parse_bitcoinj(text: str) -> dict[int, bytes]:
    """The headers of a bitcoinj ``TXT CHECKPOINTS 1`` file: height → 80-byte header.

    Each record is 96 bytes of base64: 12-byte chain work, 4-byte big-endian height, header.
    """
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    if not lines or lines[0] != "TXT CHECKPOINTS 1":
        raise VerificationError("not a bitcoinj TXT CHECKPOINTS 1 file")
    n_sigs = int(lines[1])
    count = int(lines[2 + n_sigs])
    records = lines[3 + n_sigs :]
    if len(records) != count:
        raise VerificationError(f"bitcoinj file says {count} records, holds {len(records)}")
    out: dict[int, bytes] = {}
    for rec in records:
        raw = base64.b64decode(rec)
        if len(raw) != 96:
            raise VerificationError("a bitcoinj checkpoint record is not 96 bytes")
        out[int.from_bytes(raw[12:16], "big")] = raw[16:]
    return out


def build_table(
    network: Network, electrum: Sequence[Sequence[Any]], bitcoinj: dict[int, bytes] | None
) -> dict[str, Any]:
    """The JSON table for ``network`` from Electrum's list and bitcoinj's headers.

    A target Electrum does not give (0 on test networks) is taken from the bits of bitcoinj's
    header at the next epoch's start, when there is one.
    """
    bitcoinj = bitcoinj or {}
    epochs: list[list[Any]] = []
    for i, (hash_, target) in enumerate(electrum):
        t: int | None = int(target) or None
        start = (i + 1) * RETARGET_INTERVAL
        if t is None and start in bitcoinj:
            t = bits_to_target(int.from_bytes(bitcoinj[start][72:76], "little"))
        epochs.append([str(hash_), t])
    return {
        "network": network.value,
        "about": "epochs[i] = [hash of block (i+1)*2016-1, target of epoch i+1 or null]; "
        "headers: epoch-start height -> 80-byte header (hex). Built by "
        "utxo_truth._checkpoints.build_table from Electrum's and bitcoinj's checkpoint files.",
        "epochs": epochs,
        "headers": {str(h): bitcoinj[h].hex() for h in sorted(bitcoinj)},
    }


@cache
def load_checkpoints(network: Network) -> CheckpointTable:
    """The checkpoint table shipped for ``network`` (regtest has none: an empty table)."""
    if network not in _FILE_NAMES:
        return CheckpointTable(network, (), {})
    name = f"checkpoints-{_FILE_NAMES[network]}.json"
    data = json.loads(resources.files("utxo_truth").joinpath("data", name).read_text())
    epochs = tuple((str(h), None if t is None else int(t)) for h, t in data["epochs"])
    headers = {int(h): bytes.fromhex(x) for h, x in data["headers"].items()}
    return CheckpointTable(network, epochs, headers)


def chunk_assurance(
    headers: Sequence[bytes], epoch: int, network: Network, table: CheckpointTable | None = None
) -> HeaderChain:
    """Check epoch ``epoch``'s 2016 headers against the checkpoints; return the HeaderChain.

    Raises:
        VerificationError: naming the height and what failed.

    Example:
        >>> chunk_assurance([], 0, Network.MAIN)
        Traceback (most recent call last):
        ...
        utxo_truth._exceptions.VerificationError: epoch 0 on main is 2016 headers, got 0
    """
    table = table or load_checkpoints(network)
    if len(headers) != RETARGET_INTERVAL:
        raise VerificationError(
            f"epoch {epoch} on {network.value} is {RETARGET_INTERVAL} headers, got {len(headers)}"
        )
    start = epoch * RETARGET_INTERVAL
    last = start + RETARGET_INTERVAL - 1
    anchor = (last, table.epoch_hash(epoch))
    chain = check_header_chain(headers, start, network, anchor=anchor)
    if epoch == 0:
        if chain.hash(0) != GENESIS[network]:
            raise VerificationError(f"header 0 is not the {network.value} genesis block")
    elif headers[0][4:36] != bytes.fromhex(table.epoch_hash(epoch - 1))[::-1]:
        raise VerificationError(
            f"header at height {start} does not link to the checkpoint at height {start - 1}"
        )
    target = table.epoch_target(epoch)
    if target is not None:
        for i, h in enumerate(headers):
            bits = int.from_bytes(h[72:76], "little")
            # testnets: only the epoch's first block (later ones may be 20-minute exceptions)
            if (network in _HEADER_ASSURED or i == 0) and bits_to_target(bits) != target:
                raise VerificationError(
                    f"header at height {start + i} has bits {bits:08x}, not the checkpointed "
                    f"target of epoch {epoch}"
                )
    return chain


def header_assurance(
    header: bytes,
    height: int,
    network: Network,
    table: CheckpointTable | None = None,
    *,
    txid: str | None = None,
    branch: Sequence[str] = (),
    pos: int = 0,
) -> str:
    """Check one header against its epoch's checkpointed target; return its hash.

    With ``txid``, also check that ``branch`` at ``pos`` takes it to the header's merkle root.

    Raises:
        VerificationError: the header's bits are not its epoch's target, its hash is above it,
            the height is past the checkpoints, the network has min-difficulty blocks (testnets:
            a header alone proves nothing there), or the branch does not reach the header.
    """
    table = table or load_checkpoints(network)
    if network not in _HEADER_ASSURED:
        raise VerificationError(
            f"header assurance does not exist on {network.value}: its minimum-difficulty blocks "
            "cost nothing; use chunk assurance"
        )
    digest = header_hash(header)
    epoch = height // RETARGET_INTERVAL
    target = table.epoch_target(epoch)
    if target is None:
        raise VerificationError(
            f"height {height} is past the last checkpoint ({table.last_height}): verify the "
            "headers from the checkpoint to the tip instead"
        )
    bits = int.from_bytes(header[72:76], "little")
    if bits_to_target(bits) != target:
        raise VerificationError(
            f"header at height {height} has bits {bits:08x}, not the checkpointed target of "
            f"epoch {epoch}"
        )
    if int(digest, 16) > target:
        raise VerificationError(f"header at height {height} does not meet its proof-of-work target")
    if txid is not None and merkle_root_from_branch(txid, branch, pos) != header[36:68]:
        raise VerificationError(
            f"merkle proof of {txid} does not reach the header at height {height}"
        )
    return digest


STALE_AFTER = 6 * 60 * 60
"""A tip older than this (by its header time, against the local clock) is said to be stale:
Bitcoin's longest gap between blocks in years is about two hours; six hours leaves room for
test networks' irregular blocks and for clock skew."""


def header_time(header: bytes) -> int:
    """The time field of an 80-byte header."""
    return int.from_bytes(header[68:72], "little")


def tip_problems(
    network: Network, tip_height: int, tip_time: int | None, now: float | None = None
) -> list[str]:
    """What is wrong with a server's tip: far behind the clock, or below the last checkpoint.

    ``tip_time`` None (the tip's header was not read): only the checkpoint is compared.

    Either means a stale or eclipsed server: its answers are true of an old chain.

    Example:
        >>> tip_problems(Network.MAIN, 438, 1231731025, now=1231731025)[0][:40]
        "the server's tip (height 438) is below t"
    """
    import time

    if network is Network.REGTEST:
        return []
    out: list[str] = []
    table = load_checkpoints(network)
    if table.epochs and tip_height < table.last_height:
        out.append(
            f"the server's tip (height {tip_height:,}) is below the last embedded checkpoint "
            f"(height {table.last_height:,}): the server is stale or eclipsed; its answers are "
            "true of an old chain, not of today's"
        )
    if tip_time is None:
        return out
    clock = time.time() if now is None else now
    behind = int(clock) - tip_time
    if behind > STALE_AFTER:
        out.append(
            f"the server's tip (height {tip_height:,}) is {behind // 3600:,} hours older than "
            "the local clock: the server is stale or eclipsed (or the clock is wrong)"
        )
    return out


def drop_genesis_outputs(coins: dict[bytes, Any], problems: list[str]) -> dict[bytes, Any]:
    """``coins`` (script → sequence of coins) without outputs of the genesis block, said.

    Bitcoin Core never adds the genesis block's coinbase to the UTXO set (``ConnectBlock``
    skips the genesis block's transactions): its 50 BTC can never be spent, so a server that
    lists it lists a coin that does not exist.

    Example:
        >>> drop_genesis_outputs({}, [])
        {}
    """
    out: dict[bytes, Any] = {}
    for script, group in coins.items():
        kept = [c for c in group if c.height != 0]
        for c in group:
            if c.height == 0:
                problems.append(
                    f"{c.txid}:{c.vout}: an output of the genesis block, which Bitcoin Core never "
                    "adds to the UTXO set (it can never be spent): not counted"
                )
        out[script] = type(group)(kept) if isinstance(group, tuple) else kept
    return out
