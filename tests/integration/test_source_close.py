"""Sources as context managers: ``with EsploraSource(...) as s:`` closes its connections.

Checked on the real servers the tests run (the Esplora test server, ElectrumX) through the
kernel's own table of TCP sockets (/proc/net/tcp): inside the block the source holds an open
(keep-alive) connection; after it, that connection is closed on both ends (our end leaves
ESTABLISHED and reaches TIME_WAIT, which only happens once the server closed its end too).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT, load_oracle

from utxo_truth import ElectrumSource, EsploraSource, SnapshotSource, scan
from utxo_truth.sources import BitcoindSource

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads Linux's /proc/net/tcp"
)

ESTABLISHED, TIME_WAIT = "01", "06"
ALICE = load_oracle()["wallets"]["alice"]
SCRIPTS = [bytes.fromhex(u["script_pubkey"]) for u in ALICE["scantxoutset"]["unspents"][:3]]


def sockets_to(port: int) -> dict[int, str]:
    """Our ends of TCP connections to ``port`` on this machine: {local port: state}."""
    out: dict[int, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if int(remote.rsplit(":", 1)[1], 16) == port:
                out[int(local.rsplit(":", 1)[1], 16)] = state
    return out


def opened_during(port: int, before: dict[int, str]) -> set[int]:
    return {
        p
        for p, st in sockets_to(port).items()
        if st == ESTABLISHED and before.get(p) != ESTABLISHED
    }


def closed_on_both_ends(port: int, ours: set[int], timeout: float = 10.0) -> dict[int, str]:
    """Wait until every one of ``ours`` is in TIME_WAIT or gone; what is left otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        now = sockets_to(port)
        left = {p: now[p] for p in ours if p in now and now[p] != TIME_WAIT}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_esplora_source_closes_its_connections(esplora: Any) -> None:
    before = sockets_to(esplora.port)
    with EsploraSource(esplora.url, network="regtest") as src:
        lookup = src.lookup(SCRIPTS)
        assert sum(len(c) for c in lookup.coins.values()) == len(SCRIPTS)
        ours = opened_during(esplora.port, before)
        assert ours, "the pooled keep-alive connections are open inside the block"
    assert closed_on_both_ends(esplora.port, ours) == {}
    # a closed source may be used again: it connects anew
    again = src.lookup(SCRIPTS[:1])
    assert again.block == lookup.block
    src.close()


def test_esplora_source_closes_on_an_error_too(esplora: Any) -> None:
    before = sockets_to(esplora.port)
    with (
        pytest.raises(RuntimeError, match="the caller's own error"),
        EsploraSource(esplora.url, network="regtest") as src,
    ):
        src.lookup(SCRIPTS[:1])
        ours = opened_during(esplora.port, before)
        assert ours
        raise RuntimeError("the caller's own error")
    assert closed_on_both_ends(esplora.port, ours) == {}


def test_electrum_source_closes_its_socket(electrumx: Any) -> None:
    port = electrumx.ex.tcp_port
    before = sockets_to(port)
    with ElectrumSource("127.0.0.1", port, network="regtest", tls=False) as src:
        lookup = src.lookup(SCRIPTS)
        assert sum(len(c) for c in lookup.coins.values()) == len(SCRIPTS)
        ours = opened_during(port, before)
        assert len(ours) == 1, "one socket to the server inside the block"
    assert closed_on_both_ends(port, ours) == {}
    assert src.conn.sock is None


def test_scan_inside_a_with_block(electrumx: Any) -> None:
    port = electrumx.ex.tcp_port
    before = sockets_to(port)
    with ElectrumSource("127.0.0.1", port, network="regtest", tls=False) as src:
        h = scan(ALICE["descriptors"], network="regtest", source=src)
        ours = opened_during(port, before)
    assert h.total_sats > 0 and ours
    assert closed_on_both_ends(port, ours) == {}


def test_bitcoind_source_closes_its_http_pool() -> None:
    from harness.replay import Replay

    replay = Replay()
    server, port = replay.serve()
    try:
        with BitcoindSource(
            "127.0.0.1",
            port,
            network="regtest",
            user="alice",
            password="s3cret-pw",
            gap_discovery=False,
        ) as src:
            h = scan(ALICE["descriptors"], network="regtest", source=src)
            pools = src._session.adapters["http://"].poolmanager.pools
            assert len(pools) == 1  # the node's connection pool, kept for the next call
        assert len(pools) == 0  # closed with the session
        assert h.total_sats == ALICE["scantxoutset"]["total_sats"]
    finally:
        server.shutdown()
        server.server_close()


def test_snapshot_source_is_a_context_manager_holding_nothing_open() -> None:
    def open_files() -> list[str]:
        fds = Path("/proc/self/fd")
        out = []
        for fd in fds.iterdir():
            try:
                out.append(str(fd.readlink()))
            except OSError:
                continue
        return out

    with SnapshotSource(SNAPSHOT, network="regtest") as src:
        lookup = src.lookup(SCRIPTS)
        assert sum(len(c) for c in lookup.coins.values()) == len(SCRIPTS)
        assert str(SNAPSHOT.resolve()) not in open_files()  # opened per pass, closed after
    assert str(SNAPSHOT.resolve()) not in open_files()
    assert src.lookup(SCRIPTS).block == lookup.block
