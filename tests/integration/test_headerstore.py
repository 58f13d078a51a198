"""The on-disk header store: verified when written, re-verified when read, shared safely."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from utxo_truth import VerificationError
from utxo_truth._checkpoints import CheckpointTable
from utxo_truth._network import Network
from utxo_truth.sources._headerstore import HeaderStore, default_cache_dir
from utxo_truth.verify import header_hash

DATA = Path(__file__).parents[1] / "data"
TESTNET4 = [
    bytes.fromhex(x[:160])
    for x in (DATA / "chains" / "testnet4-blocks-0-2015.hex").read_text().split()
]
REGTEST = [bytes.fromhex(x[:160]) for x in (DATA / "blocks.hex").read_text().split()]


def store(tmp_path: Path, network: Network = Network.TESTNET4) -> HeaderStore:
    return HeaderStore(network, cache_dir=tmp_path)


# --- chunks ----------------------------------------------------------------------------------


def test_a_chunk_round_trips_and_is_verified_when_read(tmp_path: Path) -> None:
    s = store(tmp_path)
    assert s.chunk(0) is None
    s.put_chunk(0, TESTNET4)
    chain = s.chunk(0)
    assert chain is not None and chain.tip_height == 2015 and chain.headers == tuple(TESTNET4)
    assert (tmp_path / "headers" / "testnet4" / "chunk-000000.bin").stat().st_size == 2016 * 80
    assert s.dropped == []


def test_a_bad_chunk_is_never_stored(tmp_path: Path) -> None:
    s = store(tmp_path)
    with pytest.raises(VerificationError):
        s.put_chunk(0, [*TESTNET4[:100], *TESTNET4[101:], TESTNET4[100]])
    assert s.chunk(0) is None


def _corrupt(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flip":
        data[80 * 1000 + 50] ^= 0x10
    elif how == "truncate":
        data = data[:-7]
    elif how == "swap":
        a, b = 80 * 500, 80 * 501
        data[a:b], data[b : b + 80] = data[b : b + 80], data[a:b]
    elif how == "other":  # a header from elsewhere in the chain in place of one
        data[80 * 700 : 80 * 701] = data[80 * 900 : 80 * 901]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flip", "truncate", "swap", "other"])
def test_a_corrupt_chunk_is_detected_dropped_and_refetched(tmp_path: Path, how: str) -> None:
    s = store(tmp_path)
    s.put_chunk(0, TESTNET4)
    path = s.dir / "chunk-000000.bin"
    _corrupt(path, how)
    assert s.chunk(0) is None  # never believed
    assert not path.exists()
    assert len(s.dropped) == 1 and "chunk-000000.bin" in s.dropped[0]
    s.put_chunk(0, TESTNET4)  # fetched again
    assert s.chunk(0) is not None


# --- the tail (regtest: no checkpoints, so it hangs from genesis) -----------------------------


def test_tail_round_trips_and_each_corruption_is_detected(tmp_path: Path) -> None:
    s = store(tmp_path, Network.REGTEST)
    s.put_tail(0, REGTEST)
    chain = s.tail()
    assert chain is not None and chain.tip_height == len(REGTEST) - 1
    for how in ("flip", "truncate", "swap"):
        s.put_tail(0, REGTEST)
        data = bytearray((s.dir / "tail.bin").read_bytes())
        if how == "flip":
            data[8 + 80 * 150 + 3] ^= 1
        elif how == "truncate":
            data = data[:-1]
        else:
            a = 8 + 80 * 20
            data[a : a + 80], data[a + 80 : a + 160] = data[a + 80 : a + 160], data[a : a + 80]
        (s.dir / "tail.bin").write_bytes(bytes(data))
        assert s.tail() is None, how
        assert not (s.dir / "tail.bin").exists()
    assert len(s.dropped) == 3


def test_a_tail_must_hang_from_the_last_checkpoint(tmp_path: Path) -> None:
    # with no checkpoint (an empty table) a tail hangs from genesis, nowhere else
    table = CheckpointTable(Network.TESTNET4, (), {})
    s = HeaderStore(Network.TESTNET4, cache_dir=tmp_path, table=table)
    with pytest.raises(VerificationError, match="starts at genesis"):
        s.put_tail(5, TESTNET4[5:])
    s.put_tail(0, TESTNET4)
    assert s.tail() is not None


def _mine_regtest(prev: bytes, time: int, tag: int) -> bytes:
    merkle = hashlib.sha256(tag.to_bytes(8, "little")).digest()
    for nonce in range(1000):
        h = (
            (0x20000000).to_bytes(4, "little")
            + hashlib.sha256(hashlib.sha256(prev).digest()).digest()
            + merkle
            + time.to_bytes(4, "little")
            + (0x207FFFFF).to_bytes(4, "little")
            + nonce.to_bytes(4, "little")
        )
        if int(header_hash(h), 16) <= 0x7FFFFF << 232:
            return h
    raise AssertionError("no nonce")


def test_a_reorg_drops_the_stored_tail_back_to_the_fork_point(tmp_path: Path) -> None:
    s = store(tmp_path, Network.REGTEST)
    s.put_tail(0, REGTEST)
    fork_at = 200
    fork = list(REGTEST[:fork_at])
    t = int.from_bytes(REGTEST[fork_at - 1][68:72], "little")
    for k in range(len(REGTEST) - fork_at + 3):
        fork.append(_mine_regtest(fork[-1], t + 1 + k, k))
    server = [header_hash(h) for h in fork]

    def server_hash(height: int) -> str | None:
        return server[height] if height < len(server) else None

    assert s.drop_tail_to_fork(server_hash) == fork_at - 1
    chain = s.tail()
    assert chain is not None and chain.tip_height == fork_at - 1
    s.put_tail(0, fork)  # the server's chain replaces the stored tail
    chain = s.tail()
    assert chain is not None and chain.hash(chain.tip_height) == server[-1]
    assert s.drop_tail_to_fork(server_hash) == len(fork) - 1  # nothing to drop now


def test_default_cache_dir_is_the_users_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "utxo-truth"
    s = HeaderStore(Network.TESTNET4)
    assert s.dir == tmp_path / "utxo-truth" / "headers" / "testnet4"


# --- two processes at once ---------------------------------------------------------------------

WORKER = """
import sys
from pathlib import Path
from utxo_truth._network import Network
from utxo_truth.sources._headerstore import HeaderStore
d = Path(sys.argv[1])
t4 = [bytes.fromhex(x[:160]) for x in Path(sys.argv[2]).read_text().split()]
rt = [bytes.fromhex(x[:160]) for x in Path(sys.argv[3]).read_text().split()]
a, b = HeaderStore(Network.TESTNET4, cache_dir=d), HeaderStore(Network.REGTEST, cache_dir=d)
for k in range(15):
    a.put_chunk(0, t4)
    assert a.chunk(0) is not None
    b.put_tail(0, rt[: 150 + 10 * (k % 5)])
    assert b.tail() is not None
assert a.dropped == [] and b.dropped == [], (a.dropped, b.dropped)
print("ok")
"""


def test_two_processes_using_the_store_at_once_both_finish_right(tmp_path: Path) -> None:
    args = [
        sys.executable,
        "-c",
        WORKER,
        str(tmp_path),
        str(DATA / "chains" / "testnet4-blocks-0-2015.hex"),
        str(DATA / "blocks.hex"),
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for _ in range(2)
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
        assert out.decode().strip() == "ok"
    s = store(tmp_path)
    assert s.chunk(0) is not None
    assert not list(s.dir.glob(".chunk-*"))  # no temporary file left behind
