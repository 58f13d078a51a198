"""Every network's difficulty and header-time rules, as pure functions of the headers before.

Bitcoin Core ``src/pow.cpp`` (``GetNextWorkRequired``, ``CalculateNextWorkRequired``) and
``src/validation.cpp`` (``ContextualCheckBlockHeader``), per network:

* mainnet, signet: the bits are unchanged inside a 2016-block period and retargeted at its start
  from the parent's target and the time the period took (clamped to ×¼..×4);
* testnet3: the same, plus the 20-minute rule: a block more than 20 minutes after its parent
  must have the minimum difficulty, any other block the bits of the last block that is not at
  the minimum (the walk-back), stopping at a period's first block;
* testnet4 (BIP-94): testnet3's rules, but the retarget starts from the bits of the *first*
  block of the ending period, and a period's first block may not be more than 600 s earlier
  than its parent (the time-warp rule);
* regtest: never retargets;
* every network: a header's time is above the median of its last 11 ancestors' times.

A rule that cannot be decided from the run given (its first block is not in it) is skipped;
the caller anchors the run to a checkpoint whose bits are known.

Example:
    >>> from utxo_truth._network import Network
    >>> required_bits(Network.MAIN, [bytes(72) + (0x1D00FFFF).to_bytes(4, "little") + bytes(4)],
    ...               1, 0) == 0x1D00FFFF
    True
"""

from __future__ import annotations

from collections.abc import Sequence

from ._exceptions import VerificationError
from ._network import Network

__all__ = [
    "MAX_TIMEWARP",
    "POW_LIMIT",
    "RETARGET_INTERVAL",
    "TARGET_SPACING",
    "TARGET_TIMESPAN",
    "bits_to_target",
    "check_header_rules",
    "required_bits",
    "target_to_bits",
]

POW_LIMIT = {
    Network.MAIN: 0x00000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    Network.TESTNET: 0x00000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    Network.TESTNET4: 0x00000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    Network.SIGNET: 0x00000377AE000000000000000000000000000000000000000000000000000000,
    Network.REGTEST: 0x7FFFFF0000000000000000000000000000000000000000000000000000000000,
}
"""``consensus.powLimit`` of each network (Bitcoin Core ``kernel/chainparams.cpp``)."""

RETARGET_INTERVAL = 2016  # DifficultyAdjustmentInterval()
TARGET_TIMESPAN = 14 * 24 * 60 * 60  # nPowTargetTimespan
TARGET_SPACING = 10 * 60  # nPowTargetSpacing
MAX_TIMEWARP = 600  # BIP-94 / validation.cpp MAX_TIMEWARP
MEDIAN_TIME_SPAN = 11  # CBlockIndex::nMedianTimeSpan

_MIN_DIFFICULTY_BLOCKS = frozenset(
    {Network.TESTNET, Network.TESTNET4}
)  # fPowAllowMinDifficultyBlocks
_BIP94 = frozenset({Network.TESTNET4})  # enforce_BIP94


def _bits(h: bytes) -> int:
    return int.from_bytes(h[72:76], "little")


def _time(h: bytes) -> int:
    return int.from_bytes(h[68:72], "little")


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


_compact = target_to_bits
_target = bits_to_target


def required_bits(
    network: Network, before: Sequence[bytes], first_height: int, new_time: int
) -> int | None:
    """The bits the block after ``before`` must carry (``GetNextWorkRequired``).

    ``before[k]`` is the header at height ``first_height + k``; the new block is at
    ``first_height + len(before)`` with time ``new_time``. None when the rule needs a header
    that is not in ``before``.
    """
    if not before:
        return None
    return _required(network, before, first_height, len(before), new_time)


def _walk_back(
    headers: Sequence[bytes], start: int, k: int, limit_bits: int, memo: dict[int, int | None]
) -> int | None:
    """Bits of the last non-minimum block at or before run index ``k`` within its period."""
    seen: list[int] = []
    result: int | None
    while True:
        if k in memo:
            result = memo[k]
            break
        if (start + k) % RETARGET_INTERVAL == 0 or _bits(headers[k]) != limit_bits:
            result = _bits(headers[k])
            break
        seen.append(k)
        if k == 0:
            result = None  # the walk-back leaves the run
            break
        k -= 1
    memo[k] = result
    for j in seen:  # every block walked over shares the answer (memoised: O(1) per header)
        memo[j] = result
    return result


def _required(
    network: Network,
    headers: Sequence[bytes],
    start: int,
    i: int,
    new_time: int,
    memo: dict[int, int | None] | None = None,
) -> int | None:
    """Bits required of the header at run index ``i`` (``headers[:i]`` before it)."""
    height = start + i
    last = headers[i - 1]
    if memo is None:
        memo = {}
    limit_bits = _compact(POW_LIMIT[network])
    if network is Network.REGTEST:
        return _bits(last)  # fPowNoRetargeting: regtest's difficulty never changes
    if height % RETARGET_INTERVAL:
        if network in _MIN_DIFFICULTY_BLOCKS:
            # testnet's 20-minute rule (pow.cpp): a block more than 2 × 10 minutes after its
            # parent must be at the minimum difficulty ...
            if new_time > _time(last) + 2 * TARGET_SPACING:
                return limit_bits
            # ... any other one carries the bits of the last block that is not a
            # minimum-difficulty exception (the walk-back), stopping at a period's first block.
            return _walk_back(headers, start, i - 1, limit_bits, memo)
        return _bits(last)  # no retarget inside a period
    # Retarget (CalculateNextWorkRequired): the period that ends at `last` began 2015 blocks
    # before it.
    first = i - RETARGET_INTERVAL
    if first < 0:
        return None
    span = _time(last) - _time(headers[first])
    span = min(max(span, TARGET_TIMESPAN // 4), TARGET_TIMESPAN * 4)
    # BIP-94: retarget from the bits of the period's first block (which cannot be a
    # min-difficulty exception), not from the last block's, so a last block at the minimum
    # cannot drag the next period down (testnet3's "block storm").
    base = _bits(headers[first]) if network in _BIP94 else _bits(last)
    target = min(_target(base) * span // TARGET_TIMESPAN, POW_LIMIT[network])
    return _compact(target)


def check_header_rules(
    network: Network,
    headers: Sequence[bytes],
    start: int,
    i: int,
    memo: dict[int, int | None] | None = None,
    times: Sequence[int] | None = None,
) -> None:
    """Check the header at run index ``i`` (height ``start + i``) against the headers before it.

    ``memo``: one dict kept across the calls for one run makes the walk-back O(1) per header;
    ``times``: the run's header times, if the caller has them.

    Raises:
        VerificationError: naming the height and Bitcoin Core's name of the rule broken.
    """
    height = start + i
    if i == 0:
        return
    h = headers[i]
    t = _time(h)
    # time-too-old (ContextualCheckBlockHeader): above the median time of the last 11 blocks;
    # near the genesis block the median is taken over the blocks there are.
    if i >= MEDIAN_TIME_SPAN or start == 0:
        lo = max(0, i - MEDIAN_TIME_SPAN)
        window = sorted(times[lo:i] if times is not None else [_time(x) for x in headers[lo:i]])
        median = window[len(window) // 2]
        if t <= median:
            raise VerificationError(
                f"header at height {height} breaks time-too-old: its time {t} is not above the "
                f"median time of the 11 blocks before it ({median})"
            )
    # BIP-94 time-warp rule: a period's first block is at most 600 s earlier than its parent.
    if (
        network in _BIP94
        and height % RETARGET_INTERVAL == 0
        and t < _time(headers[i - 1]) - MAX_TIMEWARP
    ):
        raise VerificationError(
            f"header at height {height} breaks time-timewarp-attack (BIP-94): its time {t} "
            f"is more than {MAX_TIMEWARP} s before its parent's ({_time(headers[i - 1])})"
        )
    want = _required(network, headers, start, i, t, memo)
    if want is not None and _bits(h) != want:
        # bad-diffbits: nBits must equal GetNextWorkRequired exactly
        raise VerificationError(
            f"header at height {height} breaks bad-diffbits: bits {_bits(h):08x}, the "
            f"{network.value} difficulty rule requires {want:08x}"
        )
