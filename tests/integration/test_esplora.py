"""The Esplora source against the Esplora test server over Bitcoin Core's recorded chain.

Core's own answers (``scantxoutset``, wallet ``listunspent``) are the oracle; the server's
replies are computed from Core's blocks. Faults and lies are injected on the server side.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import SNAPSHOT, WALLETS, assert_equals_core, coin_key

from utxo_truth import (
    EsploraSource,
    InconsistentTipError,
    ServerBusyError,
    ServerRefusedError,
    SourceProtocolError,
    SourceSpecError,
    SourceTimeoutError,
    SourceUnavailableError,
    VerificationError,
    open_source,
    scan,
)
from utxo_truth.cli import main as cli_main


def source(esplora: Any, **kw: Any) -> EsploraSource:
    kw.setdefault("parallel", 8)
    kw.setdefault("backoff", 0.05)
    return EsploraSource(esplora.url, network="regtest", **kw)


def expected_confirmed(oracle: dict[str, Any], wallet: str) -> list[Any]:
    return sorted(coin_key(u) for u in oracle["wallets"][wallet]["scantxoutset"]["unspents"])


# ---- answers equal Bitcoin Core's ---------------------------------------------------------------


@pytest.mark.parametrize("prefer_history", [True, False], ids=["history", "listing"])
@pytest.mark.parametrize("wallet", WALLETS)
def test_every_wallet_equals_core(
    esplora: Any, oracle: dict[str, Any], wallet: str, prefer_history: bool
) -> None:
    w = oracle["wallets"][wallet]
    src = source(esplora, prefer_history=prefer_history)
    h = scan(w["descriptors"], network="regtest", source=src, gap=25)
    kinds = esplora.counts()
    if prefer_history:  # one request a script, plus one stats probe of the page size
        assert kinds["scripthash"] <= 2 and kinds["scripthash/utxo"] <= 1
    else:
        assert kinds["scripthash/utxo"] == kinds["scripthash"] > 0
    assert_equals_core(h, oracle, wallet)


def test_gap_20_over_history_finds_39_not_61(esplora: Any, oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["alice"]
    h = scan(w["descriptors"], network="regtest", source=source(esplora), gap=20)
    receive = h.targets[0].chains[0]
    assert receive.used_indexes == tuple(
        i for i in w["used_receive_indexes_with_mempool"] if i < 61
    )
    assert receive.scanned == 60
    h22 = scan(w["descriptors"], network="regtest", source=source(esplora), gap=22)
    assert list(h22.targets[0].chains[0].used_indexes) == w["used_receive_indexes_with_mempool"]
    assert list(h22.targets[1].chains[0].used_indexes) == w["used_change_indexes_with_mempool"]


def test_bare_p2pk_by_script_hash(esplora: Any, oracle: dict[str, Any]) -> None:
    bare = oracle["bare_p2pk"]
    h = scan([bare["descriptor"]], network="regtest", source=source(esplora))
    assert [coin_key(u) for u in h.utxos] == [coin_key(u) for u in bare["scantxoutset"]["unspents"]]
    assert h.utxos[0].verification == "spv" and h.utxos[0].address is None


def test_esplora_electrum_and_snapshot_agree(
    esplora: Any, electrumx: Any, oracle: dict[str, Any]
) -> None:
    targets = [d for w in WALLETS for d in oracle["wallets"][w]["descriptors"]]
    electrum = f"electrum://127.0.0.1:{electrumx.ex.tcp_port}"
    h = scan(
        targets,
        network="regtest",
        sources=[source(esplora), electrum, f"snapshot:{SNAPSHOT}"],
        gap=25,
    )
    assert h.consensus is not None and h.consensus.agreed, h.problems
    assert [a.block for a in h.consensus.sources] == [h.block] * 3
    assert {a.total_sats for a in h.consensus.sources} == {h.total_sats}
    assert h.block.hash == oracle["tip"]["hash"]


def test_no_request_names_a_key_or_an_address(esplora: Any, oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["alice"]
    scan(w["descriptors"], network="regtest", source=source(esplora), gap=20)
    sent = " ".join(p for p, _auth in esplora.seen)
    assert w["xpub"] not in sent and "bcrt1" not in sent and "tpub" not in sent
    assert {p.split("/")[1] for p in esplora.paths} <= {
        "scripthash",
        "tx",
        "block",
        "blocks",
        "block-height",
    }


# ---- the utxo limit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message", ["Too many history entries", "Too many unspent transaction outputs"]
)
def test_600_output_address_behind_a_limit_of_500(
    esplora: Any, oracle: dict[str, Any], message: str
) -> None:
    esplora.faults.utxo_limit = 500
    esplora.faults.limit_message = message
    w = oracle["wallets"]["custodian"]["descriptors"]
    # asked by history (the default) the address needs no listing: its one transaction is
    # its whole history
    h = scan(w, network="regtest", source=source(esplora), gap=25)
    assert sorted(coin_key(u) for u in h.utxos) == expected_confirmed(oracle, "custodian")
    assert h.problems == () and esplora.counts()["scripthash/utxo"] <= 1
    # asked by listing, the server refuses it; its coins are rebuilt from history + outspends
    esplora.paths.clear()
    src = source(esplora, prefer_history=False)
    h = scan(w, network="regtest", source=src, gap=25)
    assert src.rebuilt == 1  # the one reserve address over the limit, rebuilt from history
    counts = esplora.counts()
    assert counts["scripthash/txs/chain"] >= 1 and counts["tx/outspends"] > 0
    assert sorted(coin_key(u) for u in h.utxos) == expected_confirmed(oracle, "custodian")
    assert all(u.verification == "spv" for u in h.utxos)
    assert h.problems == () and h.complete
    big = max(
        h.targets[0].utxos, key=lambda u: sum(x.script_pubkey == u.script_pubkey for x in h.utxos)
    )
    assert sum(u.script_pubkey == big.script_pubkey for u in h.utxos) == 600


def test_limit_on_a_reused_address_with_mempool_spends(
    esplora: Any, oracle: dict[str, Any]
) -> None:
    # every used script over the limit: the rebuild must also get mempool spends right
    esplora.faults.utxo_limit = 0
    for wallet in ("carol", "alice", "custodian"):
        w = oracle["wallets"][wallet]
        src = source(esplora, prefer_history=False)
        h = scan(w["descriptors"], network="regtest", source=src, gap=25)
        assert src.rebuilt > 0
        assert_equals_core(h, oracle, wallet)
    # the custodian's hot address has over 300 transactions: its history came in pages of 25
    assert esplora.counts()["scripthash/txs/chain"] > 300 // 25


# ---- faults: a correct answer after retries, or a typed error, in bounded time ----------------------


def alice(oracle: dict[str, Any]) -> list[str]:
    return list(oracle["wallets"]["alice"]["descriptors"])


def check_alice(h: Any, oracle: dict[str, Any]) -> None:
    assert sorted(coin_key(u) for u in h.utxos) == expected_confirmed(oracle, "alice")
    assert h.problems == () and all(u.verification == "spv" for u in h.utxos)


def test_429_with_retry_after_is_honoured(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.burst(429, 2, match="/txs$", **{"Retry-After": "1"})
    src = source(esplora)
    t0 = time.monotonic()
    check_alice(scan(alice(oracle), network="regtest", source=src, gap=25), oracle)
    assert 1.0 <= time.monotonic() - t0 < 15
    assert src.retried == 2


def test_429_html_without_retry_after_backs_off(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.burst(429, 6)  # mempool.space's 429 is an HTML page, no Retry-After
    src = source(esplora)
    check_alice(scan(alice(oracle), network="regtest", source=src, gap=25), oracle)
    assert src.retried == 6


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_bursts_are_retried(esplora: Any, oracle: dict[str, Any], status: int) -> None:
    esplora.faults.burst(status, 3, match="/scripthash/")
    src = source(esplora)
    check_alice(scan(alice(oracle), network="regtest", source=src, gap=25), oracle)
    assert src.retried == 3


def test_500_beyond_the_retries_is_a_typed_error(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.burst(500, 50, match="/merkle-proof")
    t0 = time.monotonic()
    with pytest.raises(SourceUnavailableError, match=r"HTTP 500 \(3 attempts\)"):
        scan(alice(oracle), network="regtest", source=source(esplora, retries=2), gap=20)
    assert time.monotonic() - t0 < 10


def test_one_failure_stops_the_others_waiting(esplora: Any, oracle: dict[str, Any]) -> None:
    # most first-page requests are told to come back in 20 s; one meets a hard error: the
    # error is raised at once instead of after the others' wait
    esplora.faults.burst(429, 5, match="/txs$", **{"Retry-After": "20"})
    esplora.faults.burst(404, 1, match="/txs$")
    esplora.faults.burst(429, 30, match="/txs$", **{"Retry-After": "20"})
    src = source(esplora)
    t0 = time.monotonic()
    with pytest.raises(ServerRefusedError, match="HTTP 404"):
        scan(alice(oracle), network="regtest", source=src)
    assert time.monotonic() - t0 < 5


def test_rate_limited_beyond_max_wait_is_server_busy(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.burst(429, 1000)
    t0 = time.monotonic()
    with pytest.raises(ServerBusyError, match="max_wait"):
        scan(alice(oracle), network="regtest", source=source(esplora, max_wait=1.0), gap=20)
    assert time.monotonic() - t0 < 5


def test_retry_after_longer_than_max_wait_fails_at_once(
    esplora: Any, oracle: dict[str, Any]
) -> None:
    esplora.faults.burst(503, 1, **{"Retry-After": "3600"})
    t0 = time.monotonic()
    with pytest.raises(ServerBusyError):
        scan(alice(oracle), network="regtest", source=source(esplora, max_wait=30), gap=20)
    assert time.monotonic() - t0 < 2


def test_slow_server_times_out(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.delay = 0.5
    t0 = time.monotonic()
    with pytest.raises(SourceTimeoutError, match=r"no answer within 0\.2s"):
        scan(alice(oracle), network="regtest", source=source(esplora, timeout=0.2, retries=1))
    assert time.monotonic() - t0 < 5


def test_trickling_server_is_cut_off(esplora: Any, oracle: dict[str, Any]) -> None:
    # a byte every 50 ms never trips a between-bytes timeout; the whole-reply deadline does
    esplora.faults.trickle = 100
    t0 = time.monotonic()
    with pytest.raises(SourceTimeoutError, match=r"no whole answer within 0\.5s"):
        scan(alice(oracle), network="regtest", source=source(esplora, timeout=0.5, retries=1))
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize(("gzip", "chunked"), [(True, False), (False, True), (True, True)])
def test_compressed_and_chunked_replies(
    esplora: Any, oracle: dict[str, Any], gzip: bool, chunked: bool
) -> None:
    esplora.faults.gzip, esplora.faults.chunked = gzip, chunked
    for wallet in ("alice", "custodian"):
        w = oracle["wallets"][wallet]
        h = scan(w["descriptors"], network="regtest", source=source(esplora), gap=25)
        assert sorted(coin_key(u) for u in h.utxos) == expected_confirmed(oracle, wallet)
        assert h.problems == () and all(u.verification == "spv" for u in h.utxos)


def test_slow_but_within_timeout_answers(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.delay = 0.01
    check_alice(scan(alice(oracle), network="regtest", source=source(esplora), gap=25), oracle)


def test_truncated_bodies_are_retried(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.truncate = 3  # within the retries even if one request meets all three
    src = source(esplora)
    check_alice(scan(alice(oracle), network="regtest", source=src, gap=25), oracle)
    assert src.retried == 3


def test_garbage_is_retried_then_refused(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.garbage = 2
    check_alice(scan(alice(oracle), network="regtest", source=source(esplora), gap=25), oracle)
    esplora.faults.garbage = 1000
    with pytest.raises(SourceProtocolError, match="not JSON"):
        scan(alice(oracle), network="regtest", source=source(esplora, retries=1), gap=20)


def test_unreachable_server_is_an_error_not_zero(oracle: dict[str, Any]) -> None:
    src = EsploraSource("http://127.0.0.1:9", network="regtest", retries=1, backoff=0.01)
    with pytest.raises(SourceUnavailableError, match="connection failed"):
        scan(alice(oracle), network="regtest", source=src)


def test_4xx_is_typed_at_once(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.burst(404, 1, match="/scripthash/")
    with pytest.raises(ServerRefusedError, match="HTTP 404") as exc:
        scan(alice(oracle), network="regtest", source=source(esplora))
    assert exc.value.code == 404
    esplora.faults.burst(403, 1)
    with pytest.raises(ServerRefusedError, match="API key"):
        scan(alice(oracle), network="regtest", source=source(esplora))


def test_malformed_shapes_are_protocol_errors(esplora: Any, oracle: dict[str, Any]) -> None:
    def bad_stats(path: str, value: Any) -> Any:
        if path.count("/") == 2 and path.startswith("/scripthash/"):
            return {"chain_stats": {"tx_count": "1"}}
        return value

    esplora.faults.edit = bad_stats
    with pytest.raises(SourceProtocolError, match="malformed stats"):
        scan(alice(oracle), network="regtest", source=source(esplora))


# ---- the tip: pinned, and reorganisations ---------------------------------------------------------


def test_reorg_during_a_look_up_restarts_it(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.reorg_after = 20  # the chain switches to the branch in the middle
    reorg = esplora.chain.reorg
    h = scan(alice(oracle), network="regtest", source=source(esplora), gap=25)
    expected = reorg["after"]["alice"]
    assert h.block.hash == expected["bestblock"] and h.block.height == expected["height"]
    assert sorted(coin_key(u) for u in h.utxos) == sorted(coin_key(u) for u in expected["unspents"])
    assert h.problems == ()


def test_reorg_between_rounds_is_noticed(esplora: Any, oracle: dict[str, Any]) -> None:
    src = source(esplora)
    reorg = esplora.chain.reorg
    esplora.chain.set_state("stale")
    at_stale = scan(alice(oracle), network="regtest", source=src, gap=25)
    victim = [u for u in at_stale.utxos if u.address == reorg["victim_address"]]
    assert victim and victim[0].verification == "spv"
    assert src.block_status(at_stale.block) == "tip"
    esplora.chain.set_state("branch")
    assert src.block_status(at_stale.block) == "stale"
    at_a = at_stale.block.model_copy(update={"height": reorg["height_a"], "hash": reorg["tip_a"]})
    assert src.block_status(at_a) == "behind"
    after = scan(alice(oracle), network="regtest", source=src, gap=25)  # cached headers reused
    expected = reorg["after"]["alice"]
    assert after.block.hash == expected["bestblock"]
    assert not [u for u in after.utxos if u.address == reorg["victim_address"]]
    assert sorted(coin_key(u) for u in after.utxos) == sorted(
        coin_key(u) for u in expected["unspents"]
    )


def test_a_tip_that_never_settles(esplora: Any, oracle: dict[str, Any]) -> None:
    flip = {"n": 0}

    def moving_tip(path: str, value: Any) -> Any:
        if path == "/blocks/tip/hash":
            flip["n"] += 1
            return value if flip["n"] % 2 else "00" * 32
        return value

    esplora.faults.edit = moving_tip
    with pytest.raises(InconsistentTipError, match="kept moving"):
        scan(alice(oracle), network="regtest", source=source(esplora))


# ---- lies are caught by verification ------------------------------------------------------------


def test_changed_value_is_caught_in_a_listing(esplora: Any, oracle: dict[str, Any]) -> None:
    def inflate(path: str, value: Any) -> Any:
        if path.endswith("/utxo"):
            return [dict(u, value=u["value"] + 100_000_000) for u in value]
        return value

    esplora.faults.edit = inflate
    src = source(esplora, prefer_history=False)
    h = scan(alice(oracle), network="regtest", source=src, gap=25)
    # values are read from the transactions; the listing's lie is reported
    assert sorted(coin_key(u) for u in h.utxos) == expected_confirmed(oracle, "alice")
    assert any("the transaction says" in p for p in h.problems) and not h.complete


def test_changed_value_is_caught_in_a_history(esplora: Any, oracle: dict[str, Any]) -> None:
    def inflate(path: str, value: Any) -> Any:
        if path.endswith("/txs"):
            return [
                dict(t, vout=[dict(o, value=o["value"] + 10**8) for o in t["vout"]]) for t in value
            ]
        return value

    esplora.faults.edit = inflate
    h = scan(alice(oracle), network="regtest", source=source(esplora), gap=25)
    # the edited objects no longer hash to their txids: the raw transactions are fetched and
    # their values used; every coin is reported as mislisted
    assert sorted(coin_key(u) for u in h.utxos) == expected_confirmed(oracle, "alice")
    assert esplora.counts()["tx/hex"] > 0
    assert any("the transaction says" in p for p in h.problems) and not h.complete


def test_invented_coin_is_not_verified(esplora: Any, oracle: dict[str, Any]) -> None:
    real = oracle["wallets"]["alice"]["scantxoutset"]["unspents"][0]
    other = oracle["wallets"]["bob"]["scantxoutset"]["unspents"][0]

    def invent(path: str, value: Any) -> Any:
        if path.endswith("/utxo") and any(u["txid"] == real["txid"] for u in value):
            status = value[0]["status"]
            fake = {"txid": "ab" * 32, "vout": 0, "value": 10**8, "status": status}
            stolen = {
                "txid": other["txid"],
                "vout": other["vout"],
                "value": 10**8,
                "status": status,
            }
            return [*value, fake, stolen]
        return value

    esplora.faults.edit = invent
    src = source(esplora, prefer_history=False)
    h = scan(alice(oracle), network="regtest", source=src, gap=25)
    invented = [u for u in h.utxos if u.txid in ("ab" * 32, other["txid"])]
    assert len(invented) == 2 and all(u.verification == "unverified" for u in invented)
    assert h.verified_sats == oracle["wallets"]["alice"]["scantxoutset"]["total_sats"]
    assert h.total_sats == h.verified_sats + 2 * 10**8 and not h.complete


def test_invented_transaction_in_a_history_is_not_verified(
    esplora: Any, oracle: dict[str, Any]
) -> None:
    real = oracle["wallets"]["alice"]["scantxoutset"]["unspents"][0]

    def invent(path: str, value: Any) -> Any:
        if path.endswith("/txs"):
            for t in value:
                for o in t["vout"]:
                    if t["txid"] == real["txid"] and o["scriptpubkey"] == real["script_pubkey"]:
                        fake = dict(t, txid="cd" * 32, vout=[dict(o, value=10**8)])
                        return [fake, *value]
        return value

    esplora.faults.edit = invent
    h = scan(alice(oracle), network="regtest", source=source(esplora), gap=25)
    fake = [u for u in h.utxos if u.txid == "cd" * 32]
    assert len(fake) == 1 and fake[0].verification == "unverified"
    assert h.verified_sats == oracle["wallets"]["alice"]["scantxoutset"]["total_sats"]
    assert any("does not hash to its txid" in p for p in h.problems) and not h.complete


def test_bad_merkle_proof_leaves_the_coin_unverified(esplora: Any, oracle: dict[str, Any]) -> None:
    def shift(path: str, value: Any) -> Any:
        if path.endswith("/merkle-proof"):
            return dict(value, pos=value["pos"] ^ 1)
        return value

    esplora.faults.edit = shift
    h = scan(alice(oracle), network="regtest", source=source(esplora), gap=20)
    assert h.utxos and all(u.verification == "unverified" for u in h.utxos)
    assert h.verified_sats == 0 and h.total_sats > 0
    assert any("merkle" in p for p in h.problems)


def test_forged_header_is_a_verification_error(esplora: Any, oracle: dict[str, Any]) -> None:
    def forge_summary(path: str, value: Any) -> Any:
        if path.startswith("/blocks/") and isinstance(value, list):
            return [dict(b, nonce=b["nonce"] + 1) if b["height"] == 200 else b for b in value]
        return value

    esplora.faults.edit = forge_summary
    with pytest.raises(VerificationError, match="does not hash to its id"):
        scan(alice(oracle), network="regtest", source=source(esplora), gap=20)

    tip = oracle["tip"]["hash"]

    def forge_header(path: str, value: Any) -> Any:
        if path == f"/block/{tip}/header":
            return value[:-2] + ("00" if value[-2:] != "00" else "01")
        return value

    esplora.reset()
    esplora.faults.burst(404, 100, match="^/blocks/[0-9]")  # the header walk instead
    esplora.faults.edit = forge_header
    with pytest.raises(VerificationError, match="not that block's header"):
        scan(alice(oracle), network="regtest", source=source(esplora), gap=20)


def test_omitted_coin_is_reported(esplora: Any, oracle: dict[str, Any]) -> None:
    def omit(path: str, value: Any) -> Any:
        if path.endswith("/utxo") and len(value) > 0:
            return value[1:]
        return value

    esplora.faults.edit = omit
    src = source(esplora, prefer_history=False)
    h = scan(alice(oracle), network="regtest", source=src, gap=20)
    assert any("chain_stats imply" in p or "mempool_stats" in p for p in h.problems)
    assert not h.complete


# ---- verification settings ------------------------------------------------------------------------


def test_verify_off_gives_the_same_coins_unverified(esplora: Any, oracle: dict[str, Any]) -> None:
    src = source(esplora, verify=False)
    h = scan(oracle["wallets"]["carol"]["descriptors"], network="regtest", source=src, gap=20)
    assert sorted(coin_key(u) for u in h.utxos) == expected_confirmed(oracle, "carol")
    assert all(u.verification == "unverified" for u in h.utxos)
    assert esplora.counts()["block/header"] == 0


def test_checkpoint_and_max_headers(esplora: Any, oracle: dict[str, Any]) -> None:
    w = oracle["wallets"]["dave"]
    too_long = scan(w["descriptors"], network="regtest", source=source(esplora, max_headers=100))
    assert too_long.verified_sats == 0 and not too_long.complete
    assert any("max_headers=100" in p for p in too_long.problems)

    cut = 156  # dave's coins are at 155, 156, 157 and 292
    cp = (cut, esplora.chain.blocks[cut].hash)
    src = source(esplora, checkpoint=cp)
    h = scan(w["descriptors"], network="regtest", source=src, gap=20)
    assert sorted(coin_key(u) for u in h.utxos) == expected_confirmed(oracle, "dave")
    heights = [(u.height or 0, u.verification) for u in h.utxos]
    assert all((v == "spv") == (height >= cut) for height, v in heights)
    assert any(height < cut for height, _v in heights) and any(
        height >= cut for height, _v in heights
    )
    assert esplora.counts()["blocks"] == -(-(oracle["tip"]["height"] - cut + 1) // 10)

    wrong = (cut, esplora.chain.blocks[cut + 1].hash)
    with pytest.raises(VerificationError, match="checkpoint"):
        scan(w["descriptors"], network="regtest", source=source(esplora, checkpoint=wrong))


def test_headers_are_fetched_once_per_source(esplora: Any, oracle: dict[str, Any]) -> None:
    src = source(esplora)
    for _ in range(2):
        scan(alice(oracle), network="regtest", source=src, gap=20)
    # /blocks/:start sends 10 headers: the 296 of the chain in 30 requests, once
    assert esplora.counts()["blocks"] == -(-(oracle["tip"]["height"] + 1) // 10)
    assert esplora.counts()["block/header"] == 0


def test_header_walk_when_blocks_is_not_served(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.burst(404, 100, match="^/blocks/[0-9]")
    src = source(esplora)
    check_alice(scan(alice(oracle), network="regtest", source=src, gap=25), oracle)
    # one header a request, walked back from a /block-height look-up per segment
    assert esplora.counts()["block/header"] == oracle["tip"]["height"] + 1


def test_progress_reports_done_and_to_do(esplora: Any, oracle: dict[str, Any]) -> None:
    seen: list[tuple[int, int]] = []
    src = source(esplora, progress=lambda done, todo: seen.append((done, todo)))
    scan(alice(oracle), network="regtest", source=src, gap=20)
    assert seen and all(0 < d <= t for d, t in seen)
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)


# ---- URLs, credentials, the CLI ---------------------------------------------------------------------


def test_credentials_never_shown_and_sent_as_auth(esplora: Any, oracle: dict[str, Any]) -> None:
    url = esplora.url.replace("http://", "http://user:s3cret@") + "/?key=t0ken"
    src = EsploraSource(url, network="regtest", api_key=None)
    assert src.describe() == f"esplora+{esplora.url}"
    h = scan(alice(oracle), network="regtest", source=src, gap=20)
    assert "s3cret" not in h.model_dump_json() and "t0ken" not in h.model_dump_json()
    path, auth = esplora.seen[-1]
    assert path.endswith("?key=t0ken") and auth is not None and auth.startswith("Basic ")
    esplora.faults.burst(500, 100)
    with pytest.raises(SourceUnavailableError) as exc:
        scan(
            alice(oracle),
            network="regtest",
            source=EsploraSource(url, network="regtest", retries=0),
        )
    assert "s3cret" not in str(exc.value) and "t0ken" not in str(exc.value)


def test_api_key_is_a_bearer_header(esplora: Any, oracle: dict[str, Any]) -> None:
    src = source(esplora, api_key="k3y")
    scan([oracle["bare_p2pk"]["descriptor"]], network="regtest", source=src)
    assert {auth for _p, auth in esplora.seen} == {"Bearer k3y"}
    assert "k3y" not in src.describe()


@pytest.mark.parametrize(
    "url",
    ["ftp://host/api", "file:///etc/passwd", "host/api", "http://", "javascript:alert(1)"],
)
def test_only_http_urls(url: str) -> None:
    with pytest.raises(SourceSpecError, match="http"):
        EsploraSource(url, network="regtest")


def test_open_source_spec(esplora: Any) -> None:
    src = open_source(f"esplora+{esplora.url}", "regtest")
    assert isinstance(src, EsploraSource) and src.describe() == f"esplora+{esplora.url}"
    with pytest.raises(SourceSpecError):
        open_source("esplora+ftp://x/api", "regtest")


def test_cli_scan_over_esplora(
    esplora: Any, oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    w = oracle["wallets"]["bob"]
    code = cli_main(
        [
            "scan",
            "--network",
            "regtest",
            "--source",
            f"esplora+{esplora.url}",
            "--json",
            *w["descriptors"],
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["block"]["hash"] == oracle["tip"]["hash"]
    assert out["total_sats"] == w["scantxoutset"]["total_sats"]


# ---- the test server speaks Esplora as an independent client understands it --------------------


def test_script_hash_is_plain_sha256(esplora: Any, oracle: dict[str, Any]) -> None:
    import hashlib

    bare = oracle["bare_p2pk"]
    scan([bare["descriptor"]], network="regtest", source=source(esplora))
    script = bytes.fromhex(bare["scantxoutset"]["unspents"][0]["script_pubkey"])
    assert f"/scripthash/{hashlib.sha256(script).hexdigest()}" in esplora.paths


@pytest.mark.parametrize("wallet", ["alice", "carol", "custodian"])
def test_bdk_reads_the_test_server_like_core(
    esplora: Any, oracle: dict[str, Any], wallet: str
) -> None:
    bdk = pytest.importorskip("bdkpython")
    w = oracle["wallets"][wallet]
    d0, d1 = (bdk.Descriptor(d, bdk.NetworkKind.TEST) for d in w["descriptors"])
    bdk_wallet = bdk.Wallet(d0, d1, bdk.Network.REGTEST, bdk.Persister.new_in_memory())
    client = bdk.EsploraClient(esplora.url)
    bdk_wallet.apply_update(client.full_scan(bdk_wallet.start_full_scan().build(), 25, 4))
    # these wallets hold no coinbase coins: BDK's total is Core's `listunspent 0` total
    assert bdk_wallet.balance().total.to_sat() == sum(
        u["value"] for u in w["listunspent_with_mempool"]
    )
    tip = bdk_wallet.latest_checkpoint()
    assert (tip.height, str(tip.hash)) == (oracle["tip"]["height"], oracle["tip"]["hash"])


@pytest.mark.parametrize("page_size", [3, 10])
def test_a_server_with_shorter_pages_is_noticed(
    esplora: Any, oracle: dict[str, Any], page_size: int
) -> None:
    # mempool's electrs lets its operator shorten history pages; a short page read as a whole
    # history would lose coins, so the fullest page of each look-up is checked against stats
    esplora.faults.page_size = page_size
    for wallet in ("alice", "custodian"):
        w = oracle["wallets"][wallet]
        src = source(esplora)
        h = scan(w["descriptors"], network="regtest", source=src, gap=25)
        if wallet == "custodian":  # its hot address has 309 transactions: a full page
            assert src.page_size == page_size
        assert sorted(coin_key(u) for u in h.utxos) == expected_confirmed(oracle, wallet)
        assert h.problems == () and all(u.verification == "spv" for u in h.utxos)
    esplora.faults.utxo_limit = 0  # and paging through the whole history with short pages
    h = scan(
        oracle["wallets"]["custodian"]["descriptors"],
        network="regtest",
        source=source(esplora, page_size=page_size),
        gap=25,
    )
    assert sorted(coin_key(u) for u in h.utxos) == expected_confirmed(oracle, "custodian")
    assert h.problems == ()


# ---- politeness and plumbing ---------------------------------------------------------------------


@pytest.mark.parametrize("parallel", [1, 3])
def test_parallelism_is_bounded(esplora: Any, oracle: dict[str, Any], parallel: int) -> None:
    esplora.faults.delay = 0.005  # long enough for requests to overlap
    check_alice(
        scan(alice(oracle), network="regtest", source=source(esplora, parallel=parallel), gap=25),
        oracle,
    )
    assert esplora.max_inflight == parallel


def test_a_session_of_the_callers_is_used(esplora: Any, oracle: dict[str, Any]) -> None:
    import requests

    session = requests.Session()
    session.headers["X-Caller"] = "mine"
    sent: list[str] = []
    session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request.headers["X-Caller"]))
    src = EsploraSource(esplora.url, network="regtest", session=session)
    scan([oracle["bare_p2pk"]["descriptor"]], network="regtest", source=src)
    src.close()
    assert sent and set(sent) == {"mine"}
    assert session.get(esplora.url + "/blocks/tip/height", timeout=5).ok  # still open: the caller's


def test_retry_after_as_an_http_date(esplora: Any, oracle: dict[str, Any]) -> None:
    from email.utils import formatdate

    esplora.faults.burst(503, 1, **{"Retry-After": formatdate(time.time() + 2, usegmt=True)})
    t0 = time.monotonic()
    check_alice(scan(alice(oracle), network="regtest", source=source(esplora), gap=25), oracle)
    assert 0.5 <= time.monotonic() - t0 < 10


@pytest.mark.parametrize(
    ("path", "reply", "message"),
    [
        ("/blocks/tip/height", "tall", "malformed tip height"),
        ("/blocks/tip/hash", "not-a-hash", "malformed tip hash"),
    ],
)
def test_garbled_tip_is_a_protocol_error(
    esplora: Any, oracle: dict[str, Any], path: str, reply: str, message: str
) -> None:
    esplora.faults.edit = lambda p, v: reply if p == path else v
    with pytest.raises(SourceProtocolError, match=message):
        scan(alice(oracle), network="regtest", source=source(esplora))


def test_malformed_history_is_a_protocol_error(esplora: Any, oracle: dict[str, Any]) -> None:
    esplora.faults.edit = lambda p, v: [{"txid": "zz"}] if p.endswith("/txs") else v
    with pytest.raises(SourceProtocolError, match="malformed transaction"):
        scan(alice(oracle), network="regtest", source=source(esplora))


def test_cli_checkpoint(
    esplora: Any, oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    w = oracle["wallets"]["dave"]
    cut = 156  # dave's coins are at 155, 156, 157 and 292
    spec = f"esplora+{esplora.url}"
    checkpoint = f"{cut}:{esplora.chain.blocks[cut].hash}"
    argv = ["scan", "--network", "regtest", "--source", spec, "--checkpoint", checkpoint]
    code = cli_main([*argv, "--json", *w["descriptors"]])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    utxos = out["utxos"]  # schema 2: each coin once, at the top
    assert utxos and all((u["verification"] == "spv") == (u["height"] >= cut) for u in utxos)
    for argv, message in [
        (["--source", spec, "--checkpoint", "156"], "HEIGHT:HASH"),
        (["--snapshot", str(SNAPSHOT), "--checkpoint", checkpoint], "applies to electrum"),
    ]:
        assert cli_main(["scan", "--network", "regtest", *argv, w["descriptors"][0]]) == 2
        assert message in capsys.readouterr().err


def test_a_server_echoing_the_key_does_not_leak_it(esplora: Any, oracle: dict[str, Any]) -> None:
    from harness.esplora import Fault

    esplora.faults.queue.append(Fault(400, b"invalid API key k3y-s3cret for user bob:pa55w0rd"))
    url = esplora.url.replace("http://", "http://bob:pa55w0rd@")
    src = EsploraSource(url, network="regtest", api_key="k3y-s3cret")
    with pytest.raises(ServerRefusedError) as exc:
        scan(alice(oracle), network="regtest", source=src)
    assert "k3y-s3cret" not in str(exc.value) and "pa55w0rd" not in str(exc.value)
    assert "invalid API key ***" in str(exc.value)


def test_history_cut_short_or_refused(esplora: Any, oracle: dict[str, Any]) -> None:
    from harness.esplora import Fault

    from utxo_truth import HistoryTooLargeError

    w = oracle["wallets"]["custodian"]["descriptors"]
    esplora.faults.utxo_limit = 0
    esplora.faults.edit = lambda p, v: [] if p.count("/") == 5 and "/txs/chain/" in p else v
    h = scan(w, network="regtest", source=source(esplora, prefer_history=False), gap=25)
    assert any("coins may be missing" in p for p in h.problems) and not h.complete

    esplora.reset()
    esplora.faults.utxo_limit = 0
    esplora.faults.queue.append(Fault(400, b"Too many history entries", match="/txs/chain"))
    with pytest.raises(HistoryTooLargeError, match="refuses to list its coins and to page") as exc:
        scan(w, network="regtest", source=source(esplora, prefer_history=False), gap=25)
    assert "bcrt1" in str(exc.value)  # the address is named
