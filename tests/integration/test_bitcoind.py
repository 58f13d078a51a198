"""The Bitcoin Core source against Bitcoin Core's own recorded replies (rpc-transcript.jsonl)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT, WALLETS, coin_key
from harness.replay import Replay

from utxo_truth import (
    NetworkMismatchError,
    ServerRefusedError,
    SnapshotSource,
    SourceUnavailableError,
    scan,
)
from utxo_truth.cli import main
from utxo_truth.sources import BitcoindSource


@pytest.fixture
def replay() -> Iterator[tuple[Replay, int]]:
    r = Replay()
    server, port = r.serve()
    yield r, port
    server.shutdown()


def node(port: int, **kw: Any) -> BitcoindSource:
    return BitcoindSource(
        "127.0.0.1", port, network="regtest", user="alice", password="s3cret-pw", **kw
    )


@pytest.mark.parametrize("wallet", WALLETS)
def test_scantxoutset_replay_equals_the_oracle(
    replay: tuple[Replay, int], oracle: dict[str, Any], wallet: str
) -> None:
    r, port = replay
    w = oracle["wallets"][wallet]
    h = scan(w["descriptors"], network="regtest", source=node(port, gap_discovery=False))
    assert sorted(coin_key(u) for u in h.utxos) == sorted(
        coin_key(u) for u in w["scantxoutset"]["unspents"]
    )
    assert h.total_sats == w["scantxoutset"]["total_sats"]  # exact sats, no float on the way
    assert h.block.height == oracle["tip"]["height"] and h.block.hash == oracle["tip"]["hash"]
    assert all(u.verification == "node" for u in h.utxos)
    assert (
        h.targets[0].method == "range" and h.targets[0].chains[0].scanned == 1001
    )  # Core's [0, 1000]
    spent = {(u.txid, u.vout) for u in h.utxos if u.spent_by}
    core = {(u["txid"], u["vout"]) for u in w["listunspent_with_mempool"]}
    mature = {(u.txid, u.vout) for u in h.utxos if not u.immature}
    assert mature - spent == {
        k for k in core if k in mature
    }  # spent in the mempool: gone from Core's wallet
    assert r.unmatched == []


def test_gap_discovery_with_block_filters(
    replay: tuple[Replay, int], oracle: dict[str, Any]
) -> None:
    r, port = replay
    alice = oracle["wallets"]["alice"]
    src = node(port)
    assert src.has_history
    h20 = scan(alice["descriptors"], network="regtest", source=src, gap=20)
    assert h20.targets[0].method == "gap"
    # scanblocks + getdescriptoractivity include the mempool, where receive index 3 was just paid
    assert list(h20.targets[0].chains[0].used_indexes) == [
        i for i in alice["used_receive_indexes_with_mempool"] if i < 61
    ]
    assert 61 not in {u.origin.index for u in h20.utxos if u.origin}
    h22 = scan(alice["descriptors"], network="regtest", source=src, gap=22)
    assert list(h22.targets[0].chains[0].used_indexes) == alice["used_receive_indexes_with_mempool"]
    assert list(h22.targets[1].chains[0].used_indexes) == alice["used_change_indexes_with_mempool"]
    assert sorted(coin_key(u) for u in h22.utxos) == sorted(
        coin_key(u) for u in alice["scantxoutset"]["unspents"]
    )
    for wallet in ("bob", "carol", "dave", "vault"):
        w = oracle["wallets"][wallet]
        h = scan(w["descriptors"], network="regtest", source=src, gap=20)
        assert sorted(coin_key(u) for u in h.utxos) == sorted(
            coin_key(u) for u in w["scantxoutset"]["unspents"]
        ), wallet
    assert r.unmatched == []


def test_credentials_are_sent_and_never_shown(replay: tuple[Replay, int], tmp_path: Path) -> None:
    r, port = replay
    node(port, gap_discovery=False).check()
    assert r.authorization[0] == "Basic " + base64.b64encode(b"alice:s3cret-pw").decode()
    cookie = tmp_path / ".cookie"
    cookie.write_text("__cookie__:abcdef0123")
    BitcoindSource("127.0.0.1", port, network="regtest", cookie=str(cookie)).check()
    assert r.authorization[-1] == "Basic " + base64.b64encode(b"__cookie__:abcdef0123").decode()
    with pytest.raises(SourceUnavailableError) as exc:
        BitcoindSource.from_url("bitcoind://alice:s3cret-pw@127.0.0.1:1", "regtest").check()
    assert "s3cret-pw" not in str(exc.value)


def test_core_error_replies_are_typed(replay: tuple[Replay, int]) -> None:
    _, port = replay
    src = node(port)
    with pytest.raises(ServerRefusedError, match="key 'not-a-key' is not valid") as exc:
        src.call("scantxoutset", "start", ["wpkh(not-a-key)"])
    assert exc.value.code == -5
    with pytest.raises(ServerRefusedError, match="Block not found"):
        src.call("getblockheader", "00" * 32)


def _overridden(body: dict[str, Any], method: str) -> Iterator[int]:
    r = Replay({method: json.dumps({"result": body, "error": None, "id": 1})})
    server, port = r.serve()
    yield port
    server.shutdown()


def test_a_syncing_node_is_refused(oracle: dict[str, Any]) -> None:
    info = {"chain": "regtest", "blocks": 100, "headers": 295, "initialblockdownload": True}
    for port in _overridden(info, "getblockchaininfo"):
        with pytest.raises(SourceUnavailableError, match="still syncing"):
            scan(oracle["wallets"]["bob"]["descriptors"], network="regtest", source=node(port))


def test_a_node_on_another_network_is_refused(oracle: dict[str, Any]) -> None:
    info = {"chain": "main", "blocks": 900000, "headers": 900000, "initialblockdownload": False}
    for port in _overridden(info, "getblockchaininfo"):
        with pytest.raises(NetworkMismatchError, match="main"):
            scan(oracle["wallets"]["bob"]["descriptors"], network="regtest", source=node(port))


def test_without_block_filters_discovery_falls_back_to_a_range(oracle: dict[str, Any]) -> None:
    for port in _overridden(
        {"txindex": {"synced": True, "best_block_height": 295}}, "getindexinfo"
    ):
        src = node(port)
        assert not src.has_history
        h = scan(oracle["wallets"]["bob"]["descriptors"], network="regtest", source=src)
        assert (
            h.targets[0].method == "range"
            and h.total_sats == oracle["wallets"]["bob"]["scantxoutset"]["total_sats"]
        )


def test_node_and_snapshot_agree(replay: tuple[Replay, int], oracle: dict[str, Any]) -> None:
    _, port = replay
    h = scan(
        oracle["wallets"]["vault"]["descriptors"],
        network="regtest",
        sources=[SnapshotSource(SNAPSHOT, "regtest"), node(port, gap_discovery=False)],
    )
    assert h.consensus is not None and h.consensus.agreed


def test_cli_bitcoind_source(
    replay: tuple[Replay, int], oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _, port = replay
    code = main(
        [
            "scan",
            *oracle["wallets"]["dave"]["descriptors"],
            "--network",
            "regtest",
            "--source",
            f"bitcoind://alice:s3cret-pw@127.0.0.1:{port}",
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "s3cret-pw" not in out
    data = json.loads(out)
    assert data["total_sats"] == oracle["wallets"]["dave"]["scantxoutset"]["total_sats"]
    assert data["source"] == f"bitcoind://127.0.0.1:{port}"


def test_a_pruned_node_scans_a_range_and_says_so(oracle: dict[str, Any]) -> None:
    info = {
        "chain": "regtest",
        "blocks": 295,
        "headers": 295,
        "initialblockdownload": False,
        "pruned": True,
        "pruneheight": 200,
    }
    for port in _overridden(info, "getblockchaininfo"):
        src = node(port)
        assert not src.has_history
        h = scan(oracle["wallets"]["bob"]["descriptors"], network="regtest", source=src)
        assert h.targets[0].method == "range" and "pruned" in h.source


def test_snapshot_electrum_and_node_agree(
    replay: tuple[Replay, int], electrumx: Any, oracle: dict[str, Any]
) -> None:
    from utxo_truth import ElectrumSource

    _, port = replay
    for wallet in WALLETS:  # the transcript holds one scantxoutset per wallet
        h = scan(
            oracle["wallets"][wallet]["descriptors"],
            network="regtest",
            gap=25,
            sources=[
                SnapshotSource(SNAPSHOT, "regtest"),
                ElectrumSource("127.0.0.1", electrumx.ex.tcp_port, network="regtest", tls=False),
                node(port, gap_discovery=False),
            ],
        )
        assert h.consensus is not None and h.consensus.agreed, (wallet, h.problems)
        assert len(h.consensus.sources) == 3 and len({a.block for a in h.consensus.sources}) == 1
        assert h.total_sats == oracle["wallets"][wallet]["scantxoutset"]["total_sats"]
