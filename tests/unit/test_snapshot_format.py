"""The snapshot reader against an independent writer: every script compression, amount and
VARINT edge, uncompressed P2PK included, and the chunk boundaries of a streaming read."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from conftest import DATA
from embit import ec
from harness.snapshot_writer import compress_amount, varint, write_snapshot

from utxo_truth import SnapshotSource
from utxo_truth.sources import snapshot as snap
from utxo_truth.sources.snapshot import decompress_amount

BLOCK = "11" * 32


def _key(i: int) -> ec.PublicKey:
    return ec.PrivateKey(hashlib.sha256(b"k%d" % i).digest()).get_public_key()


def _scripts() -> dict[str, bytes]:
    k = _key(1)
    unc = _key(2)
    unc.compressed = False
    unc_odd = next(x for x in (_key(i) for i in range(3, 40)) if x.sec()[0] == 3)
    unc_odd.compressed = False
    return {
        "p2pkh": b"\x76\xa9\x14" + b"\x01" * 20 + b"\x88\xac",
        "p2sh": b"\xa9\x14" + b"\x02" * 20 + b"\x87",
        "p2pk-compressed": b"\x21" + k.sec() + b"\xac",
        "p2pk-uncompressed-even": b"\x41" + unc.sec() + b"\xac",
        "p2pk-uncompressed-odd": b"\x41" + unc_odd.sec() + b"\xac",
        "p2pk-uncompressed-not-on-curve": b"\x41\x04" + b"\x07" * 64 + b"\xac",  # stored raw
        "p2wpkh": b"\x00\x14" + b"\x03" * 20,
        "p2wsh": b"\x00\x20" + b"\x04" * 32,
        "p2tr": b"\x51\x20" + b"\x05" * 32,
        "bare-multisig": b"\x51\x21" + k.sec() + b"\x51\xae",
        "long-nonstandard": b"\x6a" + b"\x00" * 200,  # VARINT size over 127
        "empty": b"",
    }


@pytest.mark.parametrize(
    "value",
    [
        0,
        1,
        9,
        10,
        546,
        1_000,
        100_000_000,
        2_099_999_997_690_000,
        21_000_000 * 10**8,
        123_456_789,
        5_000_000_000,
    ],
)
def test_amount_compression_round_trip(value: int) -> None:
    assert decompress_amount(compress_amount(value)) == value


@pytest.mark.parametrize("n", [0, 1, 127, 128, 255, 16383, 16384, 2**32, 2**63])
def test_varint_matches_reader(n: int) -> None:
    assert snap._varint_at(varint(n), 0) == (n, len(varint(n)))
    assert snap._core_varint(n) == varint(n)


def test_every_script_kind_round_trips(tmp_path: Path) -> None:
    scripts = _scripts()
    rng = random.Random(1)
    groups = []
    expected = {}
    for i, (name, script) in enumerate(scripts.items()):
        txid = hashlib.sha256(name.encode()).digest()
        coins = [
            (vout, 100 + i, vout == 0, rng.randrange(1, 10**12), script)
            for vout in (0, 1, 300, 70000)
        ]
        groups.append((txid, coins))
        expected[script] = {(txid[::-1].hex(), c[0], c[3], c[1], c[2]) for c in coins}
    path = tmp_path / "kinds.dat"
    write_snapshot(path, "regtest", BLOCK, groups)
    src = SnapshotSource(path, "regtest")
    got = src.lookup(list(scripts.values()))
    assert got.block.hash == BLOCK and got.block.height == 100 + len(scripts) - 1
    for name, script in scripts.items():
        found = {(c.txid, c.vout, c.value, c.height, c.coinbase) for c in got.coins[script]}
        assert found == expected[script], name


def test_uncompressed_p2pk_is_matched_by_its_full_script(tmp_path: Path) -> None:
    scripts = _scripts()
    script = scripts["p2pk-uncompressed-odd"]
    path = tmp_path / "unc.dat"
    write_snapshot(path, "regtest", BLOCK, [(b"\x09" * 32, [(0, 5, True, 50 * 10**8, script)])])
    raw = path.read_bytes()
    assert bytes([0x05]) + script[2:34] in raw  # stored compressed with the odd-y tag
    got = SnapshotSource(path, "regtest").lookup([script])
    assert [c.value for c in got.coins[script]] == [50 * 10**8]


def test_chunk_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small chunks force coins and txid groups to straddle every possible boundary."""
    rng = random.Random(7)
    scripts = list(_scripts().values())
    groups = []
    for g in range(400):
        coins = [
            (v, rng.randrange(1, 10**6), False, rng.randrange(0, 10**10), rng.choice(scripts))
            for v in range(rng.randint(1, 4))
        ]
        groups.append((hashlib.sha256(b"g%d" % g).digest(), coins))
    path = tmp_path / "chunks.dat"
    write_snapshot(path, "regtest", BLOCK, groups)
    full = SnapshotSource(path, "regtest").lookup(scripts)
    monkeypatch.setattr(snap, "_MARGIN", 300)
    for chunk in (311, 512, 1000, 4099):
        monkeypatch.setattr(snap, "CHUNK", chunk)
        again = SnapshotSource(path, "regtest").lookup(scripts)
        assert again == full, chunk
    assert sum(len(v) for v in full.coins.values()) == sum(len(c) for _, c in groups)


def test_real_snapshot_total_equals_gettxoutsetinfo(oracle: dict) -> None:  # type: ignore[type-arg]
    """Reading every coin of Core's own file gives the UTXO set's count and total."""
    path = DATA / "utxo-snapshot.dat"
    src = SnapshotSource(path, "regtest")
    assert src.header.coins == oracle["utxo_set"]["txouts"]
    assert src.block_hash == oracle["utxo_set"]["bestblock"]
