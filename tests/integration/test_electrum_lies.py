"""A server that lies or fails: every lie is detected and reported, and no lie adds to the
verified total; every fault ends in a typed error or a successful retry, bounded in time."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from harness.proxy import LyingProxy

from utxo_truth import (
    ElectrumSource,
    HistoryTooLargeError,
    ServerBusyError,
    SourceProtocolError,
    SourceTimeoutError,
    VerificationError,
    scan,
)
from utxo_truth.sources import electrum as electrum_mod
from utxo_truth.sources.electrum import scripthash

CAROL_SCRIPT = "a914a012a0987d364598f38642ac9ea9073500a183d287"  # carol receive 1, one coin


@pytest.fixture
def carol(oracle: dict[str, Any]) -> dict[str, Any]:
    return oracle["wallets"]["carol"]


@pytest.fixture
def proxies() -> Iterator[list[LyingProxy]]:
    made: list[LyingProxy] = []
    yield made
    for p in made:
        p.close()


def through(
    electrumx: Any,
    proxies: list[LyingProxy],
    rewrite: Any = None,
    fault: str | None = None,
    **kw: Any,
) -> ElectrumSource:
    p = LyingProxy(electrumx.ex.tcp_port, rewrite=rewrite, fault=fault)
    proxies.append(p)
    return ElectrumSource("127.0.0.1", p.port, network="regtest", tls=False, **kw)


def for_script(params: list[Any], script_hex: str) -> bool:
    return bool(params) and params[0] == scripthash(bytes.fromhex(script_hex))


def test_honest_proxy_changes_nothing(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    h = scan(
        carol["descriptors"],
        network="regtest",
        source=through(electrumx, proxies, rewrite=lambda m, p, r: r),
    )
    assert h.verified_sats == carol["scantxoutset"]["total_sats"] and h.complete


def test_changed_value_is_detected(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    def lie(method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        if method == "blockchain.scripthash.listunspent" and for_script(params, CAROL_SCRIPT):
            reply = copy.deepcopy(reply)
            reply["result"][0]["value"] += 100_000_000
        return reply

    h = scan(carol["descriptors"], network="regtest", source=through(electrumx, proxies, lie))
    assert (
        h.verified_sats == carol["scantxoutset"]["total_sats"]
    )  # values come from the transactions
    assert any("transaction says" in p for p in h.problems)
    assert not h.complete


def test_invented_coin_is_detected(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    fake = {"tx_hash": "ab" * 32, "tx_pos": 0, "height": 200, "value": 7 * 10**8}

    def lie(method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        if method == "blockchain.scripthash.listunspent" and for_script(params, CAROL_SCRIPT):
            reply = copy.deepcopy(reply)
            reply["result"].append(fake)
        return reply

    h = scan(carol["descriptors"], network="regtest", source=through(electrumx, proxies, lie))
    assert h.verified_sats == carol["scantxoutset"]["total_sats"]
    assert h.unverified_sats == 7 * 10**8
    invented = [u for u in h.utxos if u.txid == "ab" * 32]
    assert (
        invented
        and invented[0].verification == "unverified"
        and "history" in (invented[0].problem or "")
    )


def test_forged_merkle_branch_is_detected(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    target = carol["scantxoutset"]["unspents"][0]

    def lie(method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        if method == "blockchain.transaction.get_merkle" and params[0] == target["txid"]:
            reply = copy.deepcopy(reply)
            branch = reply["result"]["merkle"]
            branch[0] = ("00" if branch[0][:2] != "00" else "11") + branch[0][2:]
        return reply

    h = scan(carol["descriptors"], network="regtest", source=through(electrumx, proxies, lie))
    forged = [u for u in h.utxos if u.txid == target["txid"] and u.vout == target["vout"]]
    assert forged[0].verification == "unverified" and "merkle" in (forged[0].problem or "")
    assert h.verified_sats == carol["scantxoutset"]["total_sats"] - target["value"]
    assert h.unverified_sats == target["value"]  # reported, not dropped, not counted as real
    assert h.total_sats == carol["scantxoutset"]["total_sats"]


def test_header_without_proof_of_work_is_refused(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    from utxo_truth import Network
    from utxo_truth.verify import POW_LIMIT, header_hash

    def lie(method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        if method == "blockchain.block.headers" and params[0] == 0:
            reply = copy.deepcopy(reply)
            res = reply["result"]
            key = "headers" if "headers" in res else "hex"
            blob = (
                bytes.fromhex("".join(res["headers"]))
                if key == "headers"
                else bytes.fromhex(res["hex"])
            )
            h = bytearray(blob[150 * 80 : 151 * 80])
            for nonce in range(1, 1000):  # find a nonce whose hash misses the target
                h[76:80] = nonce.to_bytes(4, "little")
                if int(header_hash(bytes(h)), 16) > POW_LIMIT[Network.REGTEST]:
                    break
            blob = blob[: 150 * 80] + bytes(h) + blob[151 * 80 :]
            if key == "headers":
                res["headers"] = [blob[i : i + 80].hex() for i in range(0, len(blob), 80)]
            else:
                res["hex"] = blob.hex()
        return reply

    with pytest.raises(VerificationError, match="proof-of-work"):
        scan(carol["descriptors"], network="regtest", source=through(electrumx, proxies, lie))


def test_omitted_coin_is_detected(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    def lie(method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        if method == "blockchain.scripthash.listunspent" and for_script(params, CAROL_SCRIPT):
            reply = copy.deepcopy(reply)
            reply["result"] = []
        return reply

    h = scan(carol["descriptors"], network="regtest", source=through(electrumx, proxies, lie))
    assert h.verified_sats == carol["scantxoutset"]["total_sats"]  # the history proves it
    assert any("omitted by listunspent" in p for p in h.problems)
    assert not h.complete


def test_history_too_large_names_the_address(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    def lie(method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        if method == "blockchain.scripthash.get_history" and for_script(params, CAROL_SCRIPT):
            return {
                "jsonrpc": "2.0",
                "id": reply["id"],
                "error": {"code": 1, "message": "history too large"},
            }
        return reply

    with pytest.raises(HistoryTooLargeError, match="2N7qcRE579cU5cXK9iiHccdfxZqJZ6xftVq"):
        scan(carol["descriptors"], network="regtest", source=through(electrumx, proxies, lie))


def test_excessive_resource_usage_is_server_busy(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    def lie(method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        if method == "blockchain.scripthash.get_history":
            return {
                "jsonrpc": "2.0",
                "id": reply["id"],
                "error": {"code": -101, "message": "excessive resource usage"},
            }
        return reply

    # a server that goes on refusing is asked again, paced, until max_wait: then a typed error
    started = time.monotonic()
    with pytest.raises(ServerBusyError, match=r"gave up after \d+ s \(max_wait=3 s\)"):
        scan(
            carol["descriptors"],
            network="regtest",
            source=through(electrumx, proxies, lie, max_wait=3.0),
        )
    assert time.monotonic() - started < 3.0 + 10.0  # the wait, and the look-up's own work


def test_a_refused_request_is_asked_again_alone_and_the_scan_finishes(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    asked: list[tuple[str, str]] = []
    refused: set[str] = set()

    def lie(method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        asked.append((method, json.dumps(params)))
        if method == "blockchain.transaction.get_merkle" and params[0] not in refused:
            refused.add(params[0])  # each proof refused once, as ElectrumX past its timeout
            return {
                "jsonrpc": "2.0",
                "id": reply["id"],
                "error": {"code": -102, "message": "server busy - request timed out"},
            }
        return reply

    src = through(electrumx, proxies, lie)
    h = scan(carol["descriptors"], network="regtest", source=src)
    assert h.verified_sats == carol["scantxoutset"]["total_sats"]
    assert all(u.verification == "spv" for u in h.utxos)
    assert refused and src._pacer.resent == len(refused)
    proofs = [p for m, p in asked if m == "blockchain.transaction.get_merkle"]
    assert len(proofs) == 2 * len(set(proofs))  # each asked twice: refused, then answered
    # nothing else was asked again: the look-up resumed where the refusal stopped
    for method in ("blockchain.scripthash.get_history", "blockchain.transaction.get"):
        mine = [p for m, p in asked if m == method]
        assert len(mine) == len(set(mine)), method


def test_dropped_connection_is_retried(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    src = through(electrumx, proxies, fault="drop-once")
    h = scan(carol["descriptors"], network="regtest", source=src)
    assert proxies[0].dropped and proxies[0].connections == 2
    assert h.verified_sats == carol["scantxoutset"]["total_sats"]


def test_malformed_json_is_a_protocol_error(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    with pytest.raises(SourceProtocolError, match="not JSON"):
        scan(
            carol["descriptors"],
            network="regtest",
            source=through(electrumx, proxies, fault="garbage"),
        )


def test_silent_server_times_out(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    t0 = time.monotonic()
    with pytest.raises(SourceTimeoutError):
        scan(
            carol["descriptors"],
            network="regtest",
            source=through(electrumx, proxies, fault="silent", timeout=1.5),
        )
    assert time.monotonic() - t0 < 10


def test_unsupported_protocol_version(
    electrumx: Any, monkeypatch: pytest.MonkeyPatch, carol: dict[str, Any]
) -> None:
    monkeypatch.setattr(electrum_mod, "PROTOCOL_MIN", "1.0")
    monkeypatch.setattr(electrum_mod, "PROTOCOL_MAX", "1.2")
    src = ElectrumSource("127.0.0.1", electrumx.ex.tcp_port, network="regtest", tls=False)
    with pytest.raises(SourceProtocolError, match="protocol"):
        scan(carol["descriptors"], network="regtest", source=src)


def test_malformed_fields_are_refused(
    electrumx: Any, proxies: list[LyingProxy], carol: dict[str, Any]
) -> None:
    def lie(method: str, params: list[Any], reply: dict[str, Any]) -> dict[str, Any]:
        if method == "blockchain.scripthash.listunspent" and for_script(params, CAROL_SCRIPT):
            reply = copy.deepcopy(reply)
            reply["result"][0]["value"] = -5
        return reply

    with pytest.raises(SourceProtocolError, match="malformed"):
        scan(carol["descriptors"], network="regtest", source=through(electrumx, proxies, lie))
