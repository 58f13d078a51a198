"""Several sources held against each other: real snapshot files and the real ElectrumX."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT, WALLETS, Server, coin_key, start_server
from harness.proxy import LyingProxy
from test_electrum_lies import CAROL_SCRIPT, for_script

from utxo_truth import ElectrumSource, InconsistentTipError, InputError, SnapshotSource, scan
from utxo_truth.cli import main
from utxo_truth.sources.snapshot import _varint_at


def electrum(server: Any, port: int | None = None) -> ElectrumSource:
    return ElectrumSource("127.0.0.1", port or server.ex.tcp_port, network="regtest", tls=False)


@pytest.fixture
def hiding_proxy(electrumx: Any) -> Iterator[LyingProxy]:
    """Hides carol's coin completely: no history, no listing, no balance — SPV cannot notice."""

    def lie(method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        if for_script(params, CAROL_SCRIPT):
            reply = copy.deepcopy(reply)
            if method in ("blockchain.scripthash.get_history", "blockchain.scripthash.listunspent"):
                reply["result"] = []
            elif method == "blockchain.scripthash.get_balance":
                reply["result"] = {"confirmed": 0, "unconfirmed": 0}
        return reply

    proxy = LyingProxy(electrumx.ex.tcp_port, rewrite=lie)
    yield proxy
    proxy.close()


def test_snapshot_and_electrum_agree_on_every_wallet(
    electrumx: Any, oracle: dict[str, Any]
) -> None:
    targets = [d for w in WALLETS for d in oracle["wallets"][w]["descriptors"]]
    h = scan(
        targets,
        network="regtest",
        sources=[SnapshotSource(SNAPSHOT, "regtest"), electrum(electrumx)],
        gap=25,
    )
    c = h.consensus
    assert c is not None and c.agreed and c.disagreements == ()
    assert [a.block for a in c.sources] == [h.block, h.block] and all(
        a.error is None for a in c.sources
    )
    assert h.total_sats == sum(oracle["wallets"][w]["scantxoutset"]["total_sats"] for w in WALLETS)
    assert h.complete


def test_a_hidden_coin_is_named_with_its_source(
    electrumx: Any, oracle: dict[str, Any], hiding_proxy: LyingProxy
) -> None:
    carol = oracle["wallets"]["carol"]
    liar = electrum(electrumx, hiding_proxy.port)
    alone = scan(carol["descriptors"], network="regtest", source=liar)
    assert alone.complete  # on its own, the lie is invisible
    h = scan(
        carol["descriptors"], network="regtest", sources=[SnapshotSource(SNAPSHOT, "regtest"), liar]
    )
    c = h.consensus
    assert c is not None and not c.agreed and not h.complete
    [d] = c.disagreements
    assert d.script_pubkey == CAROL_SCRIPT and d.address == "2N7qcRE579cU5cXK9iiHccdfxZqJZ6xftVq"
    assert d.by_source[liar.describe()] == ()
    assert len(d.by_source[f"snapshot:{SNAPSHOT}"]) == 1
    assert any("sources disagree on 2N7qcRE579cU5cXK9iiHccdfxZqJZ6xftVq" in p for p in h.problems)


def test_quorum_follows_the_majority_and_still_names_the_liar(
    electrumx: Any, oracle: dict[str, Any], hiding_proxy: LyingProxy
) -> None:
    carol = oracle["wallets"]["carol"]
    liar = electrum(electrumx, hiding_proxy.port)
    h = scan(
        carol["descriptors"],
        network="regtest",
        policy="quorum",
        sources=[liar, SnapshotSource(SNAPSHOT, "regtest"), electrum(electrumx)],
    )
    assert h.consensus is not None and h.consensus.agreed
    assert sorted(coin_key(u) for u in h.utxos) == sorted(
        coin_key(u) for u in carol["scantxoutset"]["unspents"]
    )
    assert h.consensus.disagreements[0].by_source[liar.describe()] == ()


def _compact_at(data: bytearray, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 253:
        return first, pos + 1
    width = {253: 2, 254: 4, 255: 8}[first]
    return int.from_bytes(data[pos + 1 : pos + 1 + width], "little"), pos + 1 + width


def _alter_coin(tmp_path: Path, txid: str, vout: int) -> Path:
    """A copy of the real snapshot with one coin's amount changed by one step (still parses)."""
    data = bytearray(SNAPSHOT.read_bytes())
    pos = 51
    want = bytes.fromhex(txid)[::-1]
    while pos < len(data):
        group = bytes(data[pos : pos + 32])
        pos += 32
        count, pos = _compact_at(data, pos)
        for _ in range(count):
            this_vout, pos = _compact_at(data, pos)
            _, pos = _varint_at(bytes(data), pos)
            _, end = _varint_at(bytes(data), pos)
            if group == want and this_vout == vout:
                data[end - 1] ^= 0x01
                path = tmp_path / "altered-coin.dat"
                path.write_bytes(bytes(data))
                return path
            size, pos = _varint_at(bytes(data), end)
            pos += (20 if size < 2 else 32) if size < 6 else size - 6
    raise AssertionError("coin not found")


def test_an_altered_value_is_named(tmp_path: Path, electrumx: Any, oracle: dict[str, Any]) -> None:
    coin = oracle["wallets"]["vault"]["scantxoutset"]["unspents"][0]
    altered = SnapshotSource(_alter_coin(tmp_path, coin["txid"], coin["vout"]), "regtest")
    targets = [d for w in WALLETS for d in oracle["wallets"][w]["descriptors"]]
    h = scan(
        targets,
        network="regtest",
        sources=[SnapshotSource(SNAPSHOT, "regtest"), altered, electrum(electrumx)],
        gap=25,
        policy="quorum",
    )
    c = h.consensus
    assert c is not None and c.agreed and len(c.disagreements) == 1
    d = c.disagreements[0]
    honest = d.by_source[f"snapshot:{SNAPSHOT}"]
    assert (
        d.by_source[electrum(electrumx).describe()] == honest
        and d.by_source[altered.describe()] != honest
    )
    assert h.total_sats == sum(oracle["wallets"][w]["scantxoutset"]["total_sats"] for w in WALLETS)


def test_a_failed_source_is_named_not_skipped(oracle: dict[str, Any]) -> None:
    dead = ElectrumSource("127.0.0.1", 1, network="regtest", tls=False)
    h = scan(
        oracle["wallets"]["bob"]["descriptors"],
        network="regtest",
        sources=[SnapshotSource(SNAPSHOT, "regtest"), dead],
        policy="quorum",  # under "all" a failed source is an error (test_sweep.py)
    )
    c = h.consensus
    assert c is not None and not c.agreed
    failed = [a for a in c.sources if a.error]
    assert [a.source for a in failed] == [
        "electrum://127.0.0.1:1"
    ] and "SourceUnavailableError" in (failed[0].error or "")
    assert any("electrum://127.0.0.1:1 failed" in p for p in h.problems)
    assert (
        h.total_sats == oracle["wallets"]["bob"]["scantxoutset"]["total_sats"]
    )  # the answer that came, named as partial


@pytest.fixture(scope="module")
def moved_server() -> Iterator[Server]:
    s = start_server()
    s.chain.set_state("branch")
    s.ex.wait_for_height(s.chain.height, timeout=60)
    yield s
    s.stop()


def test_sources_at_different_tips_are_refused(
    moved_server: Server, oracle: dict[str, Any]
) -> None:
    with pytest.raises(InconsistentTipError, match="different tips"):
        scan(
            oracle["wallets"]["bob"]["descriptors"],
            network="regtest",
            sources=[SnapshotSource(SNAPSHOT, "regtest"), electrum(moved_server)],
        )


def test_one_source_or_several_not_both(oracle: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="one chain source"):
        scan(
            oracle["wallets"]["bob"]["descriptors"],
            network="regtest",
            source=SnapshotSource(SNAPSHOT, "regtest"),
            sources=[SnapshotSource(SNAPSHOT, "regtest")],
        )
    with pytest.raises(InputError, match="at least two"):
        scan(
            oracle["wallets"]["bob"]["descriptors"],
            network="regtest",
            sources=[SnapshotSource(SNAPSHOT, "regtest")],
        )


def test_cli_several_sources(
    electrumx: Any, oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "scan",
            *oracle["wallets"]["vault"]["descriptors"],
            "--network",
            "regtest",
            "--snapshot",
            str(SNAPSHOT),
            "--source",
            f"electrum://127.0.0.1:{electrumx.ex.tcp_port}",
            "--policy",
            "all",
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["consensus"]["agreed"] is True and len(data["consensus"]["sources"]) == 2
