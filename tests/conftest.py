"""Shared fixtures: Bitcoin Core's own answers on the regtest chain (copied from shared/regtest)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
# tests/unit (no servers) and tests/integration (the harness's servers) share a few helpers
# across the split (signers, chain builders): both folders are importable by module name
for _folder in ("unit", "integration"):
    if str(Path(__file__).parent / _folder) not in sys.path:
        sys.path.append(str(Path(__file__).parent / _folder))
SNAPSHOT = DATA / "utxo-snapshot.dat"
WALLETS = ("alice", "bob", "carol", "dave", "vault", "custodian")


def load_oracle() -> dict[str, Any]:
    return json.loads((DATA / "oracle.json").read_text())


@pytest.fixture(autouse=True)
def _own_header_store(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test gets its own user cache directory: the header store (platformdirs) starts
    empty, and the user's real cache is never touched."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def oracle() -> dict[str, Any]:
    return load_oracle()


def desc_path(desc: str) -> tuple[int, int]:
    """(chain, index) from a scantxoutset 'desc' such as wpkh([d4eedd3c/84h/1h/0h/0/1]03...)."""
    m = re.search(r"/(\d+)/(\d+)\]", desc)
    assert m, desc
    return int(m.group(1)), int(m.group(2))


def coin_key(u: Any) -> tuple[str, int, int, int, bool]:
    if isinstance(u, dict):
        return (u["txid"], u["vout"], u["value"], u["height"], u["coinbase"])
    return (u.txid, u.vout, u.value, u.height, u.coinbase)


def assert_equals_core(h: Any, oracle: dict[str, Any], wallet: str) -> None:
    """A history source's scan of an oracle wallet is exactly Bitcoin Core's answer.

    Confirmed: ``scantxoutset``, every coin proven (``spv``). With the mempool: the wallet's
    ``listunspent 0`` = mature confirmed coins not spent in the mempool, plus the receipts.
    """
    w = oracle["wallets"][wallet]
    assert h.block.height == oracle["tip"]["height"] and h.block.hash == oracle["tip"]["hash"]
    assert sorted(coin_key(u) for u in h.utxos) == sorted(
        coin_key(u) for u in w["scantxoutset"]["unspents"]
    )
    assert h.verified_sats == h.total_sats == w["scantxoutset"]["total_sats"]
    assert all(u.verification == "spv" for u in h.utxos)
    assert h.problems == () and h.complete
    expected = {(u["txid"], u["vout"], u["value"]) for u in w["listunspent_with_mempool"]}
    ours = {(u.txid, u.vout, u.value) for u in h.utxos if not u.immature and not u.spent_by}
    ours |= {(u.txid, u.vout, u.value) for u in h.pending}
    assert ours == expected
    pending_core = {
        (u["txid"], u["vout"]) for u in w["listunspent_with_mempool"] if u["confirmations"] == 0
    }
    assert {(u.txid, u.vout) for u in h.pending} == pending_core
    if wallet == "carol":  # its coin spent by an unconfirmed transaction: kept, marked
        assert h.spent_in_mempool_sats > 0
    # spendable: verified, mature, not being spent = Core's listunspent minus mempool receipts
    assert h.spendable_sats == sum(
        u["value"] for u in w["listunspent_with_mempool"] if u["confirmations"] > 0
    )
    if wallet in ("alice", "bob"):
        assert h.pending_sats > 0


# ---- the real ElectrumX, indexing the recorded chain through a Bitcoin Core stand-in ---------


class Server:
    """A running bitcoind stand-in + ElectrumX pair."""

    def __init__(self) -> None:
        from harness.bitcoind import BitcoindStandIn
        from harness.chain import Chain
        from harness.electrumx import ElectrumX

        self.chain = Chain()
        self.rpc = BitcoindStandIn(self.chain)
        self.http, self.rpc_port = self.rpc.serve()
        self.ex = ElectrumX(self.rpc_port)
        self.ex.wait_for_height(self.chain.height)

    def stop(self) -> None:
        self.ex.stop()
        self.http.shutdown()


def start_server() -> Server:
    import os

    from harness.electrumx import find_electrumx

    if find_electrumx() is None:
        message = "ElectrumX is not installed: `make test` installs it into .venv-electrumx"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return Server()


@pytest.fixture(scope="session")
def electrumx() -> Any:
    server = start_server()
    yield server
    server.stop()


# ---- the Esplora test server over the same recorded chain -------------------------------------


@pytest.fixture(scope="session")
def _esplora_server() -> Any:
    from harness.esplora import EsploraServer

    server = EsploraServer().serve()
    yield server
    server.stop()


@pytest.fixture
def esplora(_esplora_server: Any) -> Any:
    """The Esplora server, with no faults and chain A; reset again after the test."""
    _esplora_server.reset()
    yield _esplora_server
    _esplora_server.reset()
