"""The EVM JSON-RPC client against a real anvil node (and a lying proxy in front of it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from harness.anvil import REVERTING_CODE, SHORT_REPLY_CODE, Anvil, start, token_code
from harness.evm_proxy import EvmProxy

from utxo_truth._exceptions import (
    ChainMismatchError,
    ContractCallError,
    InexactAmountError,
    InputError,
    ServerBusyError,
    ServerRefusedError,
    SourceProtocolError,
)
from utxo_truth.evm import EvmRpc, chain_id_of, to_sats

TOKEN = "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    a = start(31337)
    try:
        a.set_code(TOKEN, token_code(8))
        yield a
    finally:
        a.stop()


def test_supply_at_several_blocks_is_what_was_minted_by_then(node: Anvil) -> None:
    steps = [("mint", 150_000_000), ("mint", 2_500_000_001), ("burn", 700_000_000), ("mint", 1)]
    minted_by: list[tuple[int, int]] = []
    total = 0
    for kind, amount in steps:
        block = node.mint(TOKEN, amount) if kind == "mint" else node.burn(TOKEN, amount)
        total += amount if kind == "mint" else -amount
        minted_by.append((block, total))
    rpc = EvmRpc(node.url, chain="anvil")
    for block, expected in minted_by:
        s = rpc.total_supply(TOKEN, block)
        assert (s.units, s.sats, s.decimals) == (expected, expected, 8)
        raw = node.rpc("eth_getBlockByNumber", hex(block), False)
        assert (s.block.number, s.block.hash) == (block, raw["hash"])
        assert s.block.timestamp == int(raw["timestamp"], 16)
    # before the first mint the supply is 0, and says so (not "unknown", not an error)
    assert rpc.total_supply(TOKEN, minted_by[0][0] - 1).sats == 0
    assert rpc.total_supply(TOKEN, "latest").sats == total
    # the default is the finalized block, which on anvil trails the head: its own, named supply
    final = rpc.total_supply(TOKEN)
    head = node.block_number()
    assert final.block.number < head
    assert final.sats == max([t for b, t in minted_by if b <= final.block.number], default=0)


def test_other_scales_are_converted_exactly_or_refused(node: Anvil) -> None:
    six, eighteen = "0x" + "06" * 20, "0x" + "12" * 20
    node.set_code(six, token_code(6))
    node.set_code(eighteen, token_code(18))
    node.mint(six, 1_234_567)  # 1.234567 BTC
    node.mint(eighteen, 3 * 10**18 + 10**10)  # 3.00000001 BTC
    rpc = EvmRpc(node.url, chain=31337)
    assert rpc.total_supply(six, "latest").sats == 123_456_700
    assert rpc.total_supply(eighteen, "latest").sats == 300_000_001
    node.mint(eighteen, 1)  # one wei: not a whole satoshi
    with pytest.raises(InexactAmountError, match="left over"):
        rpc.total_supply(eighteen, "latest")


def test_to_sats_is_exact() -> None:
    units_list = [0, 1, 9, 10, 10**10, 21 * 10**14, 2**256 - 1, 12_345_678_900_000_000_000]
    for units in units_list:
        for decimals in range(0, 31):
            try:
                sats = to_sats(units, decimals)
            except InexactAmountError:
                assert decimals > 8 and units % 10 ** (decimals - 8)
            else:
                assert sats * 10**decimals == units * 10**8
    with pytest.raises(InexactAmountError):
        to_sats(-1, 8)


def test_wrong_chain_id_is_refused(node: Anvil) -> None:
    with pytest.raises(ChainMismatchError, match="serves chain id 31337, not 1") as e:
        EvmRpc(node.url, chain="ethereum").total_supply(TOKEN, "latest")
    assert (e.value.expected, e.value.found) == ("1", "31337")


def test_contract_faults_are_typed(node: Anvil) -> None:
    rpc = EvmRpc(node.url, chain="anvil")
    with pytest.raises(ContractCallError, match="no contract at that address"):
        rpc.total_supply("0x" + "00" * 19 + "99", "latest")
    reverting, short, no_supply = "0x" + "fd" * 20, "0x" + "05" * 20, "0x" + "0e" * 20
    node.set_code(reverting, REVERTING_CODE)
    node.set_code(short, SHORT_REPLY_CODE)
    node.set_code(no_supply, bytes([0x00]))  # code that STOPs: returns nothing for any call
    with pytest.raises(ContractCallError, match="reverted"):
        rpc.total_supply(reverting, "latest")
    with pytest.raises(ContractCallError, match="not one 32-byte ABI word"):
        rpc.total_supply(short, "latest")
    with pytest.raises(ContractCallError, match="no such function"):
        rpc.total_supply(no_supply, "latest")
    with pytest.raises(InputError, match="not an EVM address"):
        rpc.total_supply("0x1234", "latest")


def _proxy(node: Anvil, **kw: Any) -> EvmProxy:
    return EvmProxy(node.url, **kw)


def test_429_with_retry_after_is_waited_out_then_answered(node: Anvil) -> None:
    calls = {"n": 0}

    def busy_twice(req: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
        calls["n"] += 1
        if calls["n"] <= 2:
            return 429, {"Retry-After": "0"}, b"slow down"
        return None

    p = _proxy(node, hook=busy_twice)
    try:
        rpc = EvmRpc(p.url, chain="anvil", backoff=0.01)
        assert rpc.total_supply(TOKEN, "latest").decimals == 8
        assert rpc.retried == 2
    finally:
        p.close()


def test_429_beyond_max_wait_is_server_busy(node: Anvil) -> None:
    p = _proxy(node, hook=lambda req: (429, {"Retry-After": "120"}, b""))
    try:
        with pytest.raises(ServerBusyError, match="rate-limited"):
            EvmRpc(p.url, chain="anvil", max_wait=5).total_supply(TOKEN, "latest")
    finally:
        p.close()


@pytest.mark.parametrize(
    "garbage",
    [
        b"<html>502 bad gateway</html>",
        json.dumps({"jsonrpc": "2.0", "id": 999, "result": "0x7a69"}).encode(),  # wrong id
        json.dumps({"jsonrpc": "2.0", "id": 1, "result": "0x007a69"}).encode(),  # leading zero
        json.dumps({"jsonrpc": "2.0", "id": 1, "result": 31337}).encode(),  # not hex
        b"[" * 5_000_000,  # over the size limit
    ],
)
def test_garbage_is_a_protocol_error(node: Anvil, garbage: bytes) -> None:
    p = _proxy(node, hook=lambda req: (200, {}, garbage))
    try:
        with pytest.raises(SourceProtocolError):
            EvmRpc(p.url, chain="anvil", retries=1, backoff=0.01).total_supply(TOKEN, "latest")
    finally:
        p.close()


def test_a_node_lying_about_the_block_is_caught(node: Anvil) -> None:
    def other_block(req: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        if req["method"] == "eth_getBlockByNumber":
            reply["result"]["number"] = hex(int(reply["result"]["number"], 16) + 1)
        return reply

    p = _proxy(node, rewrite=other_block)
    try:
        with pytest.raises(SourceProtocolError, match="asked for block 3, the node answered"):
            EvmRpc(p.url, chain="anvil").total_supply(TOKEN, 3)
    finally:
        p.close()

    def bad_hash(req: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        if req["method"] == "eth_getBlockByNumber":
            reply["result"]["hash"] = reply["result"]["hash"][:-2]
        return reply

    p = _proxy(node, rewrite=bad_hash)
    try:
        with pytest.raises(SourceProtocolError, match="not 32 bytes"):
            EvmRpc(p.url, chain="anvil").total_supply(TOKEN, 3)
    finally:
        p.close()


def test_a_block_hash_the_node_does_not_have_is_refused(node: Anvil) -> None:
    """eth_call is bound to the block by hash: a made-up hash is not answered from another."""

    def fake_hash(req: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        if req["method"] == "eth_getBlockByNumber":
            reply["result"]["hash"] = "0x" + "ab" * 32
        return reply

    p = _proxy(node, rewrite=fake_hash)
    try:
        with pytest.raises(ServerRefusedError, match="not found"):
            EvmRpc(p.url, chain="anvil").total_supply(TOKEN, 3)
    finally:
        p.close()


def test_credentials_in_the_url_are_never_shown(node: Anvil) -> None:
    secret = "s3cr3tAPIkey0123456789"
    port = node.url.rsplit(":", 1)[1]
    url = f"http://user:{secret}@127.0.0.1:{port}/v3/{secret}?key={secret}"
    p = _proxy(node, hook=lambda req: (500, {}, secret.encode()))
    try:
        for u in (url, p.url + f"/v3/{secret}"):
            with pytest.raises(Exception) as e:
                EvmRpc(u, chain="ethereum", retries=0).total_supply(TOKEN, "latest")
            assert secret not in str(e.value)
        with pytest.raises(InputError) as e2:
            EvmRpc(f"ftp://u:{secret}@h/{secret}", chain=1)
        assert secret not in str(e2.value)
    finally:
        p.close()


def test_chain_names() -> None:
    assert chain_id_of("Base") == 8453 and chain_id_of(42161) == 42161
    with pytest.raises(InputError, match="unknown EVM chain"):
        chain_id_of("dogechain-ish")


def test_503_and_json_rpc_limit_errors_are_backed_off_then_answered(node: Anvil) -> None:
    answers = [
        (503, {}, b"upstream busy"),
        (200, {}, b""),  # placeholder: replaced by a JSON-RPC -32005 for the request's id
    ]

    def hook(req: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
        if not answers:
            return None
        status, headers, body = answers.pop(0)
        if status == 200:
            err = {"code": -32005, "message": "limit exceeded"}
            body = json.dumps({"jsonrpc": "2.0", "id": req["id"], "error": err}).encode()
        return status, headers, body

    p = _proxy(node, hook=hook)
    try:
        rpc = EvmRpc(p.url, chain="anvil", backoff=0.01)
        assert rpc.total_supply(TOKEN, "latest").decimals == 8 and rpc.retried == 2
    finally:
        p.close()


def test_a_dead_node_is_unavailable_not_zero() -> None:
    from harness.anvil import free_port

    from utxo_truth._exceptions import SourceUnavailableError

    with pytest.raises(SourceUnavailableError, match="3 attempts"):
        EvmRpc(f"http://127.0.0.1:{free_port()}", chain=1, retries=2, backoff=0.01).total_supply(
            TOKEN, "latest"
        )
