"""Pure checks of what a chain source says. No I/O: sources fetch, discovery orchestrates.

* a header chain: each header links to the previous one, its hash meets its own target, the
  target is within the network's proof-of-work limit, and its bits and time follow its
  network's rules (``_pow``: mainnet/signet retarget, testnet3's 20-minute rule, testnet4's
  BIP-94, regtest's fixed difficulty, the median-time rule);
* a merkle branch: a txid at a position hashes up to the merkle root in its block's header;
* a raw transaction: it hashes to the txid asked for, and it has the output claimed.

Example:
    >>> bits_to_target(0x1D00FFFF) == 0xFFFF << 208
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ._exceptions import VerificationError
from ._network import Network
from ._pow import (
    POW_LIMIT,
    RETARGET_INTERVAL,
    TARGET_TIMESPAN,
    bits_to_target,
    check_header_rules,
    target_to_bits,
)
from ._script import read_compact_size

__all__ = [
    "GENESIS",
    "MAX_MERKLE_BRANCH",
    "POW_LIMIT",
    "RETARGET_INTERVAL",
    "TARGET_TIMESPAN",
    "HeaderChain",
    "TxOutputs",
    "VerificationError",
    "bits_to_target",
    "block_txids",
    "check_header_chain",
    "header_hash",
    "merkle_branch",
    "merkle_branches",
    "merkle_root",
    "merkle_root_from_branch",
    "parses_as_transaction",
    "target_to_bits",
    "tx_output",
    "tx_outputs",
]


GENESIS = {
    Network.MAIN: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    Network.TESTNET: "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    Network.TESTNET4: "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
    Network.SIGNET: "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
    Network.REGTEST: "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
}
"""Genesis block hashes: the default checkpoint a header chain is anchored to."""


def _dsha(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def header_hash(header: bytes) -> str:
    """Block hash (display hex) of an 80-byte header."""
    if len(header) != 80:
        raise VerificationError(f"a block header is 80 bytes, got {len(header)}")
    return _dsha(header)[::-1].hex()


@dataclass(frozen=True)
class HeaderChain:
    """A checked run of headers: ``headers[i]`` is at height ``start + i``."""

    start: int
    headers: tuple[bytes, ...]
    hashes: tuple[str, ...]

    @property
    def tip_height(self) -> int:
        """Height of the last header."""
        return self.start + len(self.headers) - 1

    def header(self, height: int) -> bytes:
        """The header at ``height`` (which must be in the run)."""
        if not self.start <= height <= self.tip_height:
            raise VerificationError(f"no verified header at height {height}")
        return self.headers[height - self.start]

    def hash(self, height: int) -> str:
        """The hash of the header at ``height``."""
        self.header(height)
        return self.hashes[height - self.start]

    def merkle_root(self, height: int) -> bytes:
        """Merkle root (internal byte order) of the block at ``height``."""
        return self.header(height)[36:68]


def check_header_chain(
    headers: Sequence[bytes],
    start: int,
    network: Network,
    *,
    anchor: tuple[int, str] | None = None,
) -> HeaderChain:
    """Check ``headers`` (heights ``start``..) link up, meet proof of work and difficulty rules.

    ``anchor`` (height, hash) must lie in the run and match: by default the network's genesis,
    which requires ``start == 0``.

    Raises:
        VerificationError: naming the height and the rule broken.
    """
    if not headers:
        raise VerificationError("no headers to check")
    if anchor is None:
        anchor = (0, GENESIS[network])
    limit = POW_LIMIT[network]
    hashes: list[str] = []
    memo: dict[int, int | None] = {}
    times = [int.from_bytes(h[68:72], "little") for h in headers]
    prev_raw = b""
    for i, h in enumerate(headers):
        height = start + i
        if len(h) != 80:
            raise VerificationError(f"a block header is 80 bytes, got {len(h)}")
        raw = _dsha(h)
        digest = raw[::-1].hex()
        if i and h[4:36] != prev_raw:
            raise VerificationError(f"header at height {height} does not link to the one before it")
        bits = int.from_bytes(h[72:76], "little")
        target = bits_to_target(bits)
        if target == 0 or target > limit:
            raise VerificationError(
                f"header at height {height} has a target outside the network's limit"
            )
        if int.from_bytes(raw, "little") > target:
            raise VerificationError(
                f"header at height {height} does not meet its own proof-of-work target"
            )
        if i:
            check_header_rules(network, headers, start, i, memo, times)
        hashes.append(digest)
        prev_raw = raw
    chain = HeaderChain(start, tuple(headers), tuple(hashes))
    a_height, a_hash = anchor
    if not start <= a_height <= chain.tip_height:
        raise VerificationError(
            f"checkpoint height {a_height} is not in headers {start}..{chain.tip_height}"
        )
    if chain.hash(a_height) != a_hash:
        raise VerificationError(
            f"header at checkpoint height {a_height} is {chain.hash(a_height)}, "
            f"not the checkpoint {a_hash}"
        )
    return chain


MAX_MERKLE_BRANCH = 24
"""Longest merkle branch believed. A block holds at most 4,000,000 weight units and a
transaction weighs at least 240 (60 bytes of non-witness data), so a block has fewer than
16,667 < 2**15 transactions and a branch at most 15 hashes; 24 leaves room and refuses a
branch padded to push a leaf far out of any real tree."""


def parses_as_transaction(raw: bytes) -> bool:
    """Whether ``raw`` is exactly one serialized (non-witness) transaction.

    A txid is the double SHA-256 of exactly this serialization, so 64 bytes that parse are a
    transaction whose txid is also an inner merkle node (CVE-2017-12842).

    Example:
        >>> parses_as_transaction(bytes(64))
        False
    """
    try:
        i = 4  # version
        n_in, i = read_compact_size(raw, i)
        if n_in == 0:
            return False  # a witness marker, or no input: not a txid-hashed serialization
        for _ in range(n_in):
            i += 36  # prevout
            length, i = read_compact_size(raw, i)
            i += length + 4  # scriptSig, nSequence
        n_out, i = read_compact_size(raw, i)
        for _ in range(n_out):
            i += 8
            length, i = read_compact_size(raw, i)
            i += length
        i += 4  # nLockTime
    except (IndexError, KeyError):
        return False
    return i == len(raw)


def merkle_root_from_branch(txid: str, branch: Sequence[str], pos: int) -> bytes:
    """The merkle root (internal byte order) that ``txid`` at ``pos`` with ``branch`` implies.

    Raises:
        VerificationError: a branch no honest block can produce (see the guards below).

    Example:
        >>> a, b = "11" * 32, "22" * 32
        >>> merkle_root_from_branch(a, [b], 0) == merkle_root([a, b])
        True
    """
    # Branch cap (Electrum verifier.py does the same): no real block is this deep.
    if len(branch) > MAX_MERKLE_BRANCH:
        raise VerificationError(
            f"merkle branch of {len(branch)} hashes is longer than any block's "
            f"({MAX_MERKLE_BRANCH})"
        )
    if pos < 0 or pos >= 1 << len(branch):
        raise VerificationError(f"merkle position {pos} does not fit a branch of {len(branch)}")
    h = bytes.fromhex(txid)[::-1]
    for level, sibling_hex in enumerate(branch):
        sibling = bytes.fromhex(sibling_hex)[::-1]
        if len(sibling) != 32:
            raise VerificationError("a merkle branch hash is not 32 bytes")
        right = (pos >> level) & 1
        # CVE-2012-2459: Bitcoin duplicates the *last* node of an odd level, so a node's copy is
        # only ever its right sibling. A left sibling equal to the node is a phantom leaf.
        if right and sibling == h:
            raise VerificationError(
                f"merkle branch has a duplicated left sibling at level {level} "
                "(a phantom leaf, CVE-2012-2459)"
            )
        inner = sibling + h if right else h + sibling
        # CVE-2017-12842: 64 bytes that parse as a transaction make its txid an inner node, so a
        # "proof" could stop half way down the tree. No honest inner node parses (Electrum refuses
        # the same); the chance that one does by accident is negligible.
        if parses_as_transaction(inner):
            raise VerificationError(
                f"merkle branch inner node at level {level} parses as a 64-byte transaction "
                "(CVE-2017-12842)"
            )
        h = _dsha(inner)
    return h


def merkle_root(txids: Sequence[str]) -> bytes:
    """Merkle root (internal byte order) of a block's txids (display hex), as Bitcoin builds it.

    Example:
        >>> merkle_root(["11" * 32]).hex() == "11" * 32
        True
    """
    if not txids:
        raise VerificationError("a block has at least one transaction")
    level = [bytes.fromhex(t)[::-1] for t in txids]
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [_dsha(level[k] + level[k + 1]) for k in range(0, len(level), 2)]
    return level[0]


def merkle_branches(txids: Sequence[str]) -> list[list[str]]:
    """The branch (display hex, Electrum's order) of every transaction of a block, in one pass.

    Example:
        >>> t = ["11" * 32, "22" * 32, "33" * 32]
        >>> all(merkle_root_from_branch(x, b, i) == merkle_root(t)
        ...     for i, (x, b) in enumerate(zip(t, merkle_branches(t))))
        True
    """
    if not txids:
        raise VerificationError("a block has at least one transaction")
    level = [bytes.fromhex(t)[::-1] for t in txids]
    branches: list[list[str]] = [[] for _ in txids]
    width = 1  # leaves under one node of the current level
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        for pos in range(len(txids)):
            branches[pos].append(level[(pos // width) ^ 1][::-1].hex())
        level = [_dsha(level[k] + level[k + 1]) for k in range(0, len(level), 2)]
        width *= 2
    return branches


def merkle_branch(txids: Sequence[str], pos: int) -> list[str]:
    """The branch (display hex, Electrum's order) proving ``txids[pos]`` into the block's root.

    Example:
        >>> t = ["11" * 32, "22" * 32, "33" * 32]
        >>> merkle_root_from_branch(t[2], merkle_branch(t, 2), 2) == merkle_root(t)
        True
    """
    if not 0 <= pos < len(txids):
        raise VerificationError(f"no transaction {pos} in a block of {len(txids)}")
    level = [bytes.fromhex(t)[::-1] for t in txids]
    branch: list[str] = []
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        branch.append(level[pos ^ 1][::-1].hex())
        level = [_dsha(level[k] + level[k + 1]) for k in range(0, len(level), 2)]
        pos >>= 1
    return branch


def block_txids(block: bytes) -> tuple[bytes, list[str]]:
    """Split a serialized block into its header and its txids (display hex, block order).

    Example:
        >>> block_txids(b"")
        Traceback (most recent call last):
        ...
        utxo_truth._exceptions.VerificationError: a block is at least an 80-byte header and a transaction count
    """
    if len(block) < 81:
        raise VerificationError("a block is at least an 80-byte header and a transaction count")
    try:
        n, i = read_compact_size(block, 80)
        txids: list[str] = []
        for _ in range(n):
            start = i
            segwit = block[i + 4] == 0 and block[i + 5] != 0
            j = i + 6 if segwit else i + 4
            body_start = j
            n_in, j = read_compact_size(block, j)
            for _ in range(n_in):
                j += 36
                length, j = read_compact_size(block, j)
                j += length + 4
            n_out, j = read_compact_size(block, j)
            for _ in range(n_out):
                j += 8
                length, j = read_compact_size(block, j)
                j += length
            body_end = j
            if segwit:
                for _ in range(n_in):
                    items, j = read_compact_size(block, j)
                    for _ in range(items):
                        length, j = read_compact_size(block, j)
                        j += length
            j += 4
            if j > len(block):
                raise IndexError("transaction runs past the end of the block")
            stripped = block[start : start + 4] + block[body_start:body_end] + block[j - 4 : j]
            txids.append(_dsha(stripped)[::-1].hex())
            i = j
    except (IndexError, KeyError):
        raise VerificationError("the block is truncated or malformed") from None
    if i != len(block):
        raise VerificationError("the block has bytes after its last transaction")
    return block[:80], txids


@dataclass(frozen=True, slots=True)
class TxOutputs:
    """What a coin check needs of a transaction known from bytes that hash to its txid."""

    txid: str
    outputs: tuple[tuple[bytes, int], ...]
    """(scriptPubKey, value in satoshis) of each output, in order."""
    spends: tuple[tuple[str, int], ...]
    """The outpoints (txid, vout) its inputs spend; empty for a coinbase."""
    coinbase: bool


_NULL_OUTPOINT = (b"\x00" * 32, 0xFFFFFFFF)


def tx_outputs(raw: bytes, txid: str) -> TxOutputs:
    """Parse ``raw`` (strict, bounded), check it hashes to ``txid``; its outputs and spends.

    The one transaction parser of the sources (Electrum's ``transaction.get``, Esplora's
    ``/tx/:txid/hex``).

    Raises:
        VerificationError: the bytes are not one transaction, or it hashes to another txid.

    Example:
        >>> raw = bytes.fromhex("01000000" "01" + "00" * 32 + "ffffffff" "00" "ffffffff"
        ...                     "01" "0100000000000000" "016a" "00000000")
        >>> t = tx_outputs(raw, _dsha(raw)[::-1].hex())
        >>> t.outputs, t.coinbase, t.spends
        (((b'j', 1),), True, ())
    """
    from ._txcodec import DecodeError, parse_tx

    try:
        tx = parse_tx(raw)
    except DecodeError:
        raise VerificationError(f"transaction {txid} cannot be parsed") from None
    got = tx.txid()[::-1].hex()
    if got != txid:
        raise VerificationError(f"the transaction sent for {txid} hashes to {got}")
    # a coinbase has one input spending the null outpoint (Core: CTransaction::IsCoinBase)
    coinbase = len(tx.vin) == 1 and (tx.vin[0].prev_txid, tx.vin[0].prev_vout) == _NULL_OUTPOINT
    spends = () if coinbase else tuple((i.prev_txid[::-1].hex(), i.prev_vout) for i in tx.vin)
    return TxOutputs(txid, tuple((o.script, o.value) for o in tx.vout), spends, coinbase)


def tx_output(raw: bytes, txid: str, vout: int) -> tuple[int, bytes]:
    """Parse ``raw``, check it hashes to ``txid``, and return (value, script) of ``vout``.

    Raises:
        VerificationError: the transaction does not hash to ``txid`` or has no such output.
    """
    t = tx_outputs(raw, txid)
    if not 0 <= vout < len(t.outputs):
        raise VerificationError(f"transaction {txid} has no output {vout}")
    script, value = t.outputs[vout]
    return value, script
