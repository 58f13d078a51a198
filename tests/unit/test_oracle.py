"""Our answers against Bitcoin Core's own, on the shared regtest chain (tests/data/oracle.json)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import DATA, SNAPSHOT, WALLETS, coin_key, desc_path
from embit.transaction import Transaction

from utxo_truth import Holdings, SnapshotSource, parse_target, scan
from utxo_truth.targets import _embit_script


@pytest.fixture(scope="module")
def source() -> SnapshotSource:
    return SnapshotSource(SNAPSHOT, "regtest")


@pytest.mark.parametrize("wallet", WALLETS)
def test_scripts_at_used_indexes_equal_core(oracle: dict[str, Any], wallet: str) -> None:
    w = oracle["wallets"][wallet]
    # descriptors are listed receive (/0/*) first, change (/1/*) second
    targets = {chain: parse_target(d, "regtest") for chain, d in enumerate(w["descriptors"])}
    checked = 0
    for u in w["scantxoutset"]["unspents"]:
        chain, index = desc_path(u["desc"])
        assert targets[chain].scripts(0, index, index + 1)[0].hex() == u["script_pubkey"]
        checked += 1
    assert checked == len(w["scantxoutset"]["unspents"]) > 0


@pytest.mark.parametrize("wallet", WALLETS)
def test_fast_and_embit_derivation_agree(oracle: dict[str, Any], wallet: str) -> None:
    from embit.descriptor import Descriptor

    for d in oracle["wallets"][wallet]["descriptors"]:
        t = parse_target(d, "regtest")
        desc = Descriptor.from_string(d.split("#")[0])
        fast = t.scripts(0, 0, 40)
        assert fast == [_embit_script(desc, None, False, i) for i in range(40)]


@pytest.mark.parametrize("wallet", WALLETS)
def test_snapshot_scan_equals_scantxoutset(
    oracle: dict[str, Any], source: SnapshotSource, wallet: str
) -> None:
    w = oracle["wallets"][wallet]
    core = w["scantxoutset"]
    h = scan(w["descriptors"], network="regtest", source=source)
    assert h.block.height == core["height"] == oracle["tip"]["height"]
    assert h.block.hash == core["bestblock"] == oracle["tip"]["hash"]
    assert sorted(coin_key(u) for u in h.utxos) == sorted(coin_key(u) for u in core["unspents"])
    assert h.total_sats == core["total_sats"]
    by_outpoint = {(u["txid"], u["vout"]): u for u in core["unspents"]}
    for u in h.utxos:
        core_u = by_outpoint[(u.txid, u.vout)]
        assert u.script_pubkey == core_u["script_pubkey"]
        assert u.origin is not None
        assert (u.origin.index is not None) and desc_path(core_u["desc"])[1] == u.origin.index
    for t in h.targets:
        assert t.method == "range" and t.bound == 1000
        assert all(c.scanned == 1000 for c in t.chains)


def test_snapshot_scan_of_everything_at_once(
    oracle: dict[str, Any], source: SnapshotSource
) -> None:
    targets = [d for w in WALLETS for d in oracle["wallets"][w]["descriptors"]]
    h = scan(targets, network="regtest", source=source)
    expected = sum(oracle["wallets"][w]["scantxoutset"]["total_sats"] for w in WALLETS)
    assert h.total_sats == expected
    assert len(h.utxos) == sum(
        len(oracle["wallets"][w]["scantxoutset"]["unspents"]) for w in WALLETS
    )


@pytest.mark.parametrize("range_", [1, 2, 6, 40, 62, 140])
@pytest.mark.parametrize("wallet", ["alice", "custodian", "vault"])
def test_smaller_range_gives_exact_subset(
    oracle: dict[str, Any], source: SnapshotSource, wallet: str, range_: int
) -> None:
    w = oracle["wallets"][wallet]
    h = scan(w["descriptors"], network="regtest", source=source, range=range_)
    expected = [u for u in w["scantxoutset"]["unspents"] if desc_path(u["desc"])[1] < range_]
    assert sorted(coin_key(u) for u in h.utxos) == sorted(coin_key(u) for u in expected)
    for t in h.targets:
        assert t.bound == range_
        for c in t.chains:
            assert all(i < range_ for i in c.used_indexes)


def test_alice_range_finds_coins_a_gap_would_miss(
    oracle: dict[str, Any], source: SnapshotSource
) -> None:
    w = oracle["wallets"]["alice"]
    h = scan(w["descriptors"], network="regtest", source=source)
    receive = h.targets[0].chains[0]
    # coins remain at receive 1, 5, 39 and 61 (0, 2 and 19 were spent): see the data README
    assert receive.used_indexes == (1, 5, 39, 61)
    assert receive.last_used_index == 61


def test_bare_p2pk_found_from_raw_script(oracle: dict[str, Any], source: SnapshotSource) -> None:
    bare = oracle["bare_p2pk"]
    want = bare["scantxoutset"]["unspents"]
    script = want[0]["script_pubkey"]
    for target in (script, f"raw({script})", bare["descriptor"]):
        h = scan([target], network="regtest", source=source)
        assert [coin_key(u) for u in h.utxos] == [coin_key(u) for u in want]
        assert h.utxos[0].address is None  # P2PK has no address
        assert h.total_sats == bare["scantxoutset"]["total_sats"]


def test_custodian_reused_address_and_600_outputs(
    oracle: dict[str, Any], source: SnapshotSource
) -> None:
    w = oracle["wallets"]["custodian"]
    h = scan(w["descriptors"], network="regtest", source=source)
    per_script: dict[str, int] = {}
    for u in h.utxos:
        per_script[u.script_pubkey] = per_script.get(u.script_pubkey, 0) + 1
    assert max(per_script.values()) == 600
    assert h.total_sats == w["scantxoutset"]["total_sats"]


def _mempool_spends() -> set[tuple[str, int]]:
    spent = set()
    for line in (DATA / "mempool.hex").read_text().split():
        tx = Transaction.from_string(line)
        for vin in tx.vin:
            spent.add((vin.txid.hex(), vin.vout))
    return spent


@pytest.mark.parametrize("wallet", WALLETS)
def test_relation_to_core_listunspent(
    oracle: dict[str, Any], source: SnapshotSource, wallet: str
) -> None:
    """Core's wallet listunspent (with mempool) = our confirmed coins - immature coinbase -
    coins spent in the mempool + new mempool receipts (which a snapshot cannot know)."""
    w = oracle["wallets"][wallet]
    h: Holdings = scan(w["descriptors"], network="regtest", source=source)
    spent = _mempool_spends()
    ours = {(u.txid, u.vout) for u in h.utxos if not u.immature and (u.txid, u.vout) not in spent}
    core_confirmed = {
        (u["txid"], u["vout"]) for u in w["listunspent_with_mempool"] if u["confirmations"] > 0
    }
    assert ours == core_confirmed
    if wallet == "dave":
        assert h.immature_sats == 2_500_000_000  # the coinbase still immature at the tip
    if wallet == "carol":
        assert any((u.txid, u.vout) in spent for u in h.utxos)  # spent by a mempool transaction
