"""Pure checks of what a chain source says. No I/O: sources fetch, discovery orchestrates.

* a header chain: each header links to the previous one, its hash meets its own target, the
  target is within the network's proof-of-work limit, and (mainnet, regtest) its difficulty
  follows the consensus rule: unchanged inside a 2016-block period, retargeted at its end;
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

__all__ = [
    "GENESIS",
    "HeaderChain",
    "VerificationError",
    "bits_to_target",
    "check_header_chain",
    "header_hash",
    "merkle_root_from_branch",
    "target_to_bits",
    "tx_output",
]


GENESIS = {
    Network.MAIN: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    Network.TESTNET: "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    Network.TESTNET4: "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
    Network.SIGNET: "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
    Network.REGTEST: "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
}
"""Genesis block hashes: the default checkpoint a header chain is anchored to."""

POW_LIMIT = {
    Network.MAIN: 0x00000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    Network.TESTNET: 0x00000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    Network.TESTNET4: 0x00000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    Network.SIGNET: 0x00000377AE000000000000000000000000000000000000000000000000000000,
    Network.REGTEST: 0x7FFFFF0000000000000000000000000000000000000000000000000000000000,
}
RETARGET_INTERVAL = 2016
TARGET_TIMESPAN = 14 * 24 * 60 * 60


def _dsha(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def header_hash(header: bytes) -> str:
    """Block hash (display hex) of an 80-byte header."""
    if len(header) != 80:
        raise VerificationError(f"a block header is 80 bytes, got {len(header)}")
    return _dsha(header)[::-1].hex()


def bits_to_target(bits: int) -> int:
    """The target encoded by compact ``bits`` (``arith_uint256::SetCompact``)."""
    size = bits >> 24
    word = bits & 0x007FFFFF
    if bits & 0x00800000:
        raise VerificationError(f"negative compact target {bits:08x}")
    target = word >> 8 * (3 - size) if size <= 3 else word << 8 * (size - 3)
    if word and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)):
        raise VerificationError(f"compact target {bits:08x} overflows 256 bits")
    return target


def target_to_bits(target: int) -> int:
    """Compact encoding of ``target`` (``arith_uint256::GetCompact``)."""
    size = (target.bit_length() + 7) // 8
    compact = target << 8 * (3 - size) if size <= 3 else target >> 8 * (size - 3)
    if compact & 0x00800000:
        compact >>= 8
        size += 1
    return compact | size << 24


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
    for i, h in enumerate(headers):
        height = start + i
        digest = header_hash(h)
        if i and h[4:36] != bytes.fromhex(hashes[-1])[::-1]:
            raise VerificationError(f"header at height {height} does not link to the one before it")
        bits = int.from_bytes(h[72:76], "little")
        target = bits_to_target(bits)
        if target == 0 or target > limit:
            raise VerificationError(
                f"header at height {height} has a target outside the network's limit"
            )
        if int(digest, 16) > target:
            raise VerificationError(
                f"header at height {height} does not meet its own proof-of-work target"
            )
        if i:
            _check_difficulty(network, headers, start, i, bits)
        hashes.append(digest)
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


def _bits(h: bytes) -> int:
    return int.from_bytes(h[72:76], "little")


def _time(h: bytes) -> int:
    return int.from_bytes(h[68:72], "little")


def _check_difficulty(
    network: Network, headers: Sequence[bytes], start: int, i: int, bits: int
) -> None:
    height = start + i
    prev_bits = _bits(headers[i - 1])
    if network is Network.REGTEST:
        if bits != prev_bits:  # regtest never retargets (fPowNoRetargeting)
            raise VerificationError(f"header at height {height} changes difficulty on regtest")
        return
    if network is not Network.MAIN:
        return  # testnets allow minimum-difficulty blocks; signet's block signature is not checked
    if height % RETARGET_INTERVAL:
        if bits != prev_bits:
            raise VerificationError(f"header at height {height} changes difficulty inside a period")
        return
    first = i - RETARGET_INTERVAL
    if first < 0:
        return  # the period's first header is not in this run: cannot recompute here
    span = _time(headers[i - 1]) - _time(headers[first])
    span = min(max(span, TARGET_TIMESPAN // 4), TARGET_TIMESPAN * 4)
    expected = min(bits_to_target(prev_bits) * span // TARGET_TIMESPAN, POW_LIMIT[network])
    if bits != target_to_bits(expected):
        raise VerificationError(f"header at height {height} has the wrong retarget difficulty")


def merkle_root_from_branch(txid: str, branch: Sequence[str], pos: int) -> bytes:
    """The merkle root (internal byte order) that ``txid`` at ``pos`` with ``branch`` implies."""
    if pos < 0 or pos >= 1 << len(branch):
        raise VerificationError(f"merkle position {pos} does not fit a branch of {len(branch)}")
    h = bytes.fromhex(txid)[::-1]
    for level, sibling_hex in enumerate(branch):
        sibling = bytes.fromhex(sibling_hex)[::-1]
        if len(sibling) != 32:
            raise VerificationError("a merkle branch hash is not 32 bytes")
        h = _dsha(sibling + h) if (pos >> level) & 1 else _dsha(h + sibling)
    return h


def tx_output(raw: bytes, txid: str, vout: int) -> tuple[int, bytes, object]:
    """Parse ``raw``, check it hashes to ``txid``, and return (value, script, tx) of ``vout``.

    Raises:
        VerificationError: the transaction does not hash to ``txid`` or has no such output.
    """
    from embit.transaction import Transaction

    try:
        tx = Transaction.parse(raw)
    except Exception:
        raise VerificationError(f"transaction {txid} cannot be parsed") from None
    if tx.txid().hex() != txid:
        raise VerificationError(f"the transaction sent for {txid} hashes to {tx.txid().hex()}")
    if not 0 <= vout < len(tx.vout):
        raise VerificationError(f"transaction {txid} has no output {vout}")
    out = tx.vout[vout]
    return int(out.value), bytes(out.script_pubkey.data), tx
