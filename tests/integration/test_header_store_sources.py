"""The header store behind both network sources: a second scan asks for no header it holds,
corruption on disk is found and fetched again, a reorganisation cuts the stored tail back.

Against the real ElectrumX (through a counting proxy) and the Esplora test server, on the
recorded regtest chain; the answers must stay Bitcoin Core's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_equals_core, coin_key
from harness.proxy import LyingProxy

from utxo_truth import ElectrumSource, EsploraSource, scan

HEADER_PATHS = ("/blocks/", "/block-height/", "/block/")


def header_requests(paths: list[str]) -> int:
    """Esplora requests that fetch headers (the tip reads are not header fetches)."""
    return sum(p.startswith(HEADER_PATHS) and not p.startswith("/blocks/tip") for p in paths)


def tail_file(cache: Path) -> Path:
    return cache / "headers" / "regtest" / "tail.bin"


# ---- Electrum (the real ElectrumX) -----------------------------------------------------------


class Counter:
    """Counts the headers asked through the proxy (``block.headers`` counts, ``block.header``)."""

    def __init__(self) -> None:
        self.headers = 0
        self.calls = 0

    def __call__(self, method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        if method == "blockchain.block.headers":
            self.headers += int(params[1])
            self.calls += 1
        elif method == "blockchain.block.header":
            self.headers += 1
            self.calls += 1
        return reply


@pytest.fixture
def counted(electrumx: Any) -> Iterator[tuple[LyingProxy, Counter]]:
    count = Counter()
    proxy = LyingProxy(electrumx.ex.tcp_port, rewrite=count)
    yield proxy, count
    proxy.close()


def electrum(proxy: LyingProxy, cache: Path | bool) -> ElectrumSource:
    return ElectrumSource("127.0.0.1", proxy.port, network="regtest", tls=False, cache_dir=cache)


def test_electrum_second_scan_asks_for_no_header(
    counted: tuple[LyingProxy, Counter], oracle: dict[str, Any], tmp_path: Path
) -> None:
    proxy, count = counted
    first = scan(
        oracle["wallets"]["alice"]["descriptors"],
        network="regtest",
        source=electrum(proxy, tmp_path),
        gap=25,
    )
    assert_equals_core(first, oracle, "alice")
    assert count.headers == oracle["tip"]["height"] + 1  # genesis to the tip, once
    asked = count.headers
    # a new source, as a second run of the program would make: the store answers
    again = scan(
        oracle["wallets"]["alice"]["descriptors"],
        network="regtest",
        source=electrum(proxy, tmp_path),
        gap=25,
    )
    assert_equals_core(again, oracle, "alice")
    assert count.headers == asked, "the second scan asked for headers the store holds"
    # without the store every run pays for the chain again
    scan(
        oracle["wallets"]["alice"]["descriptors"],
        network="regtest",
        source=electrum(proxy, False),
        gap=25,
    )
    assert count.headers == 2 * asked
    assert not (tmp_path / "headers" / "regtest" / "chunk-000000.bin").exists()


@pytest.mark.parametrize("how", ["flip", "truncate", "swap"])
def test_electrum_corrupt_store_is_detected_and_fetched_again(
    counted: tuple[LyingProxy, Counter], oracle: dict[str, Any], tmp_path: Path, how: str
) -> None:
    proxy, count = counted
    descs = oracle["wallets"]["bob"]["descriptors"]
    scan(descs, network="regtest", source=electrum(proxy, tmp_path), gap=25)
    asked = count.headers
    corrupt(tail_file(tmp_path), how)
    src = electrum(proxy, tmp_path)
    h = scan(descs, network="regtest", source=src, gap=25)
    assert_equals_core(h, oracle, "bob")
    assert count.headers == 2 * asked  # the whole tail fetched again, never believed
    assert any("tail.bin" in r and "fetched again" in r for r in src.headers.repaired())


# ---- Esplora (the test server) ---------------------------------------------------------------


def esplora_source(esplora: Any, cache: Path | bool) -> EsploraSource:
    return EsploraSource(esplora.url, network="regtest", cache_dir=cache)


def test_esplora_second_scan_asks_for_no_header(
    esplora: Any, oracle: dict[str, Any], tmp_path: Path
) -> None:
    descs = oracle["wallets"]["carol"]["descriptors"]
    first = scan(descs, network="regtest", source=esplora_source(esplora, tmp_path), gap=25)
    assert_equals_core(first, oracle, "carol")
    n_first = header_requests(esplora.paths)
    assert n_first > 0 and tail_file(tmp_path).stat().st_size == 8 + 80 * (
        oracle["tip"]["height"] + 1
    )
    before = len(esplora.paths)
    again = scan(descs, network="regtest", source=esplora_source(esplora, tmp_path), gap=25)
    assert_equals_core(again, oracle, "carol")
    assert header_requests(esplora.paths[before:]) == 0
    # nor the merkle proofs it checked last time (each checked again against its header)
    assert not [p for p in esplora.paths[before:] if p.endswith("/merkle-proof")]
    before = len(esplora.paths)
    scan(descs, network="regtest", source=esplora_source(esplora, False), gap=25)
    assert header_requests(esplora.paths[before:]) == n_first


def corrupt(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "flip":
        data[8 + 80 * 100 + 40] ^= 0x01  # a bit of a merkle root, in the middle of the tail
    elif how == "truncate":
        del data[-37:]
    else:  # two headers swapped: each still hashes, the chain no longer links
        a, b = 8 + 80 * 50, 8 + 80 * 51
        data[a : a + 80], data[b : b + 80] = data[b : b + 80], data[a : a + 80]
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["flip", "truncate", "swap"])
def test_esplora_corrupt_store_is_detected_and_fetched_again(
    esplora: Any, oracle: dict[str, Any], tmp_path: Path, how: str
) -> None:
    descs = oracle["wallets"]["dave"]["descriptors"]
    scan(descs, network="regtest", source=esplora_source(esplora, tmp_path), gap=25)
    n_first = header_requests(esplora.paths)
    corrupt(tail_file(tmp_path), how)
    before = len(esplora.paths)
    src = esplora_source(esplora, tmp_path)
    h = scan(descs, network="regtest", source=src, gap=25)
    assert_equals_core(h, oracle, "dave")
    assert header_requests(esplora.paths[before:]) == n_first  # fetched again, never believed
    assert any("tail.bin" in r for r in src.headers.repaired())
    assert src.headers.store is not None and src.headers.store.tail() is not None  # repaired


def test_esplora_reorg_cuts_the_stored_tail_back_to_the_fork(
    esplora: Any, oracle: dict[str, Any], tmp_path: Path
) -> None:
    reorg = esplora.chain.reorg
    descs = oracle["wallets"]["alice"]["descriptors"]
    esplora.chain.set_state("stale")
    at_stale = scan(descs, network="regtest", source=esplora_source(esplora, tmp_path), gap=25)
    assert at_stale.block.height == reorg["height_a"] + 1
    esplora.chain.set_state("branch")
    before = len(esplora.paths)
    src = esplora_source(esplora, tmp_path)  # a later run: the store holds the stale block
    after = scan(descs, network="regtest", source=src, gap=25)
    expected = reorg["after"]["alice"]
    assert after.block.hash == expected["bestblock"] and after.block.height == expected["height"]
    assert sorted(coin_key(u) for u in after.utxos) == sorted(
        coin_key(u) for u in expected["unspents"]
    )
    assert not [u for u in after.utxos if u.address == reorg["victim_address"]]
    assert all(u.verification == "spv" for u in after.utxos)
    # the stored tail now ends on the branch, and only the headers above the fork were fetched
    stored = src.headers.store.tail() if src.headers.store else None
    assert stored is not None and stored.hash(stored.tip_height) == expected["bestblock"]
    after_reorg = esplora.paths[before:]
    before = len(esplora.paths)
    scan(descs, network="regtest", source=esplora_source(esplora, False), gap=25)
    cold = header_requests(esplora.paths[before:])
    assert 0 < header_requests(after_reorg) < cold


def test_esplora_a_tampered_kept_proof_is_not_believed(
    esplora: Any, oracle: dict[str, Any], tmp_path: Path
) -> None:
    import json

    descs = oracle["wallets"]["alice"]["descriptors"]
    scan(descs, network="regtest", source=esplora_source(esplora, tmp_path), gap=25)
    kept = tmp_path / "headers" / "regtest" / "proofs.json"
    table = json.loads(kept.read_text())
    victim = sorted(table)[0]
    table[victim][3] = ["11" * 32, *table[victim][3][1:]] if table[victim][3] else ["11" * 32]
    kept.write_text(json.dumps(table))
    before = len(esplora.paths)
    h = scan(descs, network="regtest", source=esplora_source(esplora, tmp_path), gap=25)
    assert_equals_core(h, oracle, "alice")  # every coin still proven
    asked = [p for p in esplora.paths[before:] if p.endswith("/merkle-proof")]
    assert asked == [f"/tx/{victim}/merkle-proof"]  # that one asked again, the others not
    kept.write_text("{not json")
    h = scan(descs, network="regtest", source=esplora_source(esplora, tmp_path), gap=25)
    assert_equals_core(h, oracle, "alice")


def test_cli_cache_dir_and_no_cache(
    esplora: Any, oracle: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import os

    from utxo_truth.cli import main

    argv = ["scan", "--network", "regtest", "--source", f"esplora+{esplora.url}", "--json"]
    descs = oracle["wallets"]["bob"]["descriptors"]
    assert main([*argv, "--cache-dir", str(tmp_path / "c"), *descs]) == 0
    assert (
        json.loads(capsys.readouterr().out)["total_sats"]
        == (oracle["wallets"]["bob"]["scantxoutset"]["total_sats"])
    )
    assert tail_file(tmp_path / "c").exists()
    before = len(esplora.paths)
    assert main([*argv, "--cache-dir", str(tmp_path / "c"), *descs]) == 0
    assert header_requests(esplora.paths[before:]) == 0
    # --no-cache: nothing written under the user's cache directory (XDG_CACHE_HOME here)
    assert main([*argv, "--no-cache", *descs]) == 0
    assert not (Path(os.environ["XDG_CACHE_HOME"]) / "utxo-truth").exists()
    capsys.readouterr()
    with pytest.raises(SystemExit):  # the two are exclusive
        main([*argv, "--no-cache", "--cache-dir", str(tmp_path), *descs])


def test_one_store_serves_both_sources(
    counted: tuple[LyingProxy, Counter], esplora: Any, oracle: dict[str, Any], tmp_path: Path
) -> None:
    proxy, count = counted
    descs = oracle["wallets"]["vault"]["descriptors"]
    scan(descs, network="regtest", source=esplora_source(esplora, tmp_path), gap=25)
    assert header_requests(esplora.paths) > 0
    h = scan(descs, network="regtest", source=electrum(proxy, tmp_path), gap=25)
    assert_equals_core(h, oracle, "vault")
    assert count.headers == 0  # Electrum found every header Esplora had stored
