"""Every network's difficulty rules (``_pow``), on real chains and on edited headers.

On the edited headers the proof of work is not under test: the rules are pure functions of the
headers before, called directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from utxo_truth import VerificationError
from utxo_truth._network import Network
from utxo_truth._pow import (
    POW_LIMIT,
    TARGET_TIMESPAN,
    bits_to_target,
    check_header_rules,
    required_bits,
    target_to_bits,
)
from utxo_truth.verify import check_header_chain, header_hash

DATA = Path(__file__).parents[1] / "data" / "chains"
MIN_BITS = 0x1D00FFFF  # powLimit of mainnet, testnet3, testnet4 in compact form


def hdr(time: int, bits: int) -> bytes:
    return (
        (0x20000000).to_bytes(4, "little")
        + bytes(64)
        + time.to_bytes(4, "little")
        + bits.to_bytes(4, "little")
        + bytes(4)
    )


def period(start_time: int, spacing: int, bits: int, n: int = 2016) -> list[bytes]:
    return [hdr(start_time + k * spacing, bits) for k in range(n)]


# --- real chains ---------------------------------------------------------------------------


def _testnet4_headers() -> list[bytes]:
    lines = (DATA / "testnet4-blocks-0-2015.hex").read_text().split()
    return [bytes.fromhex(x[:160]) for x in lines]


def test_testnet4_whole_epoch_verifies_under_bip94_and_meets_checkpoint_0() -> None:
    headers = _testnet4_headers()
    assert len(headers) == 2016
    chain = check_header_chain(headers, 0, Network.TESTNET4)
    checkpoint0 = json.loads((DATA / "electrum-checkpoints-testnet4.json").read_text())[0]
    assert chain.hash(2015) == checkpoint0[0]
    for i in range(1, 2016):  # the rules hold on every header, checked one by one
        check_header_rules(Network.TESTNET4, headers, 0, i)


def test_mainnet_blocks_0_to_438_verify() -> None:
    raw = (DATA / "mainnet-blocks-0-438.dat").read_bytes()
    headers, i = [], 0
    while i < len(raw):
        assert raw[i : i + 4] == bytes.fromhex("f9beb4d9")
        n = int.from_bytes(raw[i + 4 : i + 8], "little")
        headers.append(raw[i + 8 : i + 88])
        i += 8 + n
    assert len(headers) == 439
    chain = check_header_chain(headers, 0, Network.MAIN)
    assert chain.hash(0) == header_hash(headers[0])


def test_a_real_testnet4_header_with_a_time_before_the_median_fails() -> None:
    headers = _testnet4_headers()[:30]
    t = int.from_bytes(headers[5][68:72], "little")
    edited = headers[20][:68] + t.to_bytes(4, "little") + headers[20][72:]
    with pytest.raises(VerificationError, match="height 20 breaks time-too-old"):
        check_header_rules(Network.TESTNET4, [*headers[:20], edited], 0, 20)


# --- mainnet retarget ----------------------------------------------------------------------

BITS = 0x1C0FFFFF  # a period's bits, well above the minimum difficulty


@pytest.mark.parametrize("spacing", [150, 300, 600, 900, 3000])
def test_mainnet_retarget_follows_the_time_the_period_took(spacing: int) -> None:
    before = period(1_600_000_000, spacing, BITS)
    span = min(max(2015 * spacing, TARGET_TIMESPAN // 4), TARGET_TIMESPAN * 4)
    want = target_to_bits(bits_to_target(BITS) * span // TARGET_TIMESPAN)
    assert required_bits(Network.MAIN, before, 2016, 1_600_000_000 + 2016 * spacing) == want
    new = hdr(1_600_000_000 + 2016 * spacing, want)
    check_header_rules(Network.MAIN, [*before, new], 2016, 2016)
    with pytest.raises(VerificationError, match="height 4032 breaks bad-diffbits"):
        check_header_rules(
            Network.MAIN, [*before, hdr(1_600_000_000 + 2016 * spacing, BITS + 1)], 2016, 2016
        )


def test_mainnet_retarget_is_clamped_and_capped_at_the_limit() -> None:
    slow = period(1_600_000_000, 6000, MIN_BITS)  # 10x slower, clamped to 4x, capped at limit
    assert required_bits(Network.MAIN, slow, 0, 0) == target_to_bits(POW_LIMIT[Network.MAIN])
    fast = period(1_600_000_000, 1, BITS)  # clamped to a quarter
    assert required_bits(Network.MAIN, fast, 0, 0) == target_to_bits(bits_to_target(BITS) // 4)


def test_mainnet_bits_unchanged_inside_a_period_even_after_20_minutes() -> None:
    before = period(1_600_000_000, 600, BITS, n=10)
    late = hdr(1_600_000_000 + 10 * 600 + 5000, MIN_BITS)
    with pytest.raises(VerificationError, match="height 10 breaks bad-diffbits"):
        check_header_rules(Network.MAIN, [*before, late], 0, 10)


def test_retarget_undecidable_without_the_period_start() -> None:
    assert required_bits(Network.MAIN, period(0, 600, BITS, n=100), 2016 * 3 - 100, 0) is None


# --- testnet3: 20-minute rule and walk-back ------------------------------------------------


def test_testnet3_twenty_minute_rule() -> None:
    before = period(1_600_000_000, 600, BITS, n=5)
    last_t = 1_600_000_000 + 4 * 600
    assert required_bits(Network.TESTNET, before, 2016, last_t + 1201) == MIN_BITS
    assert required_bits(Network.TESTNET, before, 2016, last_t + 1200) == BITS
    # after more than 20 minutes the minimum is required, not merely allowed
    with pytest.raises(VerificationError, match="height 2021 breaks bad-diffbits"):
        check_header_rules(Network.TESTNET, [*before, hdr(last_t + 1201, BITS)], 2016, 5)
    check_header_rules(Network.TESTNET, [*before, hdr(last_t + 1201, MIN_BITS)], 2016, 5)


def test_testnet3_walk_back_to_the_last_non_minimum_block() -> None:
    t0 = 1_600_000_000
    run = [hdr(t0, BITS), hdr(t0 + 600, BITS - 5)]
    run += [hdr(t0 + 600 + 1300 * k, MIN_BITS) for k in range(1, 6)]  # five min-difficulty blocks
    new_t = int.from_bytes(run[-1][68:72], "little") + 60
    assert required_bits(Network.TESTNET, run, 2016, new_t) == BITS - 5
    with pytest.raises(VerificationError, match="breaks bad-diffbits"):
        check_header_rules(Network.TESTNET, [*run, hdr(new_t, MIN_BITS)], 2016, len(run))
    check_header_rules(Network.TESTNET, [*run, hdr(new_t, BITS - 5)], 2016, len(run))


def test_testnet3_walk_back_stops_at_the_period_start() -> None:
    t0 = 1_600_000_000
    run = [hdr(t0 + k, MIN_BITS) for k in range(3)]  # period start itself at the minimum
    assert required_bits(Network.TESTNET, run, 2016, t0 + 10) == MIN_BITS
    # a walk-back that leaves the run cannot be decided
    assert required_bits(Network.TESTNET, run, 2017, t0 + 10) is None


def test_mainnet_has_no_walk_back() -> None:
    run = [hdr(1_600_000_000, BITS), hdr(1_600_000_600, MIN_BITS)]
    assert required_bits(Network.MAIN, run, 2016, 1_600_000_700) == MIN_BITS


# --- testnet4: BIP-94 ----------------------------------------------------------------------


def test_bip94_retarget_from_the_first_block_of_the_period() -> None:
    before = period(1_600_000_000, 600, BITS)
    before[-1] = hdr(1_600_000_000 + 2015 * 600, MIN_BITS)  # the last block a 20-minute exception
    span = 2015 * 600
    bip94 = target_to_bits(bits_to_target(BITS) * span // TARGET_TIMESPAN)
    testnet3 = target_to_bits(
        min(bits_to_target(MIN_BITS) * span // TARGET_TIMESPAN, POW_LIMIT[Network.TESTNET])
    )
    assert required_bits(Network.TESTNET4, before, 2016, 1_600_000_000 + 2016 * 600) == bip94
    assert required_bits(Network.TESTNET, before, 2016, 1_600_000_000 + 2016 * 600) == testnet3
    assert bip94 != testnet3


def test_bip94_twenty_minute_rule() -> None:
    before = period(1_600_000_000, 600, BITS, n=3)
    last_t = 1_600_000_000 + 2 * 600
    assert required_bits(Network.TESTNET4, before, 0, last_t + 1201) == MIN_BITS
    assert required_bits(Network.TESTNET4, before, 0, last_t + 1199) == BITS


def test_bip94_time_warp_rule() -> None:
    before = period(1_600_000_000, 600, MIN_BITS)
    last_t = 1_600_000_000 + 2015 * 600
    bits = required_bits(Network.TESTNET4, before, 0, last_t - 600)
    assert bits is not None
    ok = hdr(last_t - 600, bits)
    check_header_rules(Network.TESTNET4, [*before, ok], 0, 2016)
    warped = hdr(last_t - 601, bits)
    with pytest.raises(VerificationError, match="height 2016 breaks time-timewarp-attack"):
        check_header_rules(Network.TESTNET4, [*before, warped], 0, 2016)
    check_header_rules(Network.TESTNET, [*before, warped], 0, 2016)  # testnet3 has no such rule
