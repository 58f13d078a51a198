"""Foundry's ``anvil`` (a real local Ethereum node) on a free loopback port, and a test ERC-20.

``make test`` installs anvil from npm into ``.anvil/`` (``@foundry-rs/anvil``, whose platform
package ``@foundry-rs/anvil-linux-amd64`` carries the binary); ``UTXO_TRUTH_ANVIL`` may point at
another ``anvil`` binary.

The token is EVM bytecode assembled here (no compiler needed): ``totalSupply()`` is storage slot 0,
``decimals()`` a constant, ``mint(uint256)`` and ``burn(uint256)`` change slot 0 (overflow and
underflow revert), any other call reverts. It is installed with ``anvil_setCode`` and minted and
burnt by real transactions, one block each (anvil mines a block per transaction).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

SEL_TOTAL_SUPPLY = "18160ddd"
SEL_DECIMALS = "313ce567"
SEL_MINT = "a0712d68"  # mint(uint256)
SEL_BURN = "42966c68"  # burn(uint256)

OPS = {
    "STOP": 0x00, "ADD": 0x01, "SUB": 0x03, "LT": 0x10, "EQ": 0x14, "SHR": 0x1C,
    "CALLDATALOAD": 0x35, "MSTORE": 0x52, "SLOAD": 0x54, "SSTORE": 0x55, "JUMPI": 0x57,
    "JUMPDEST": 0x5B, "DUP1": 0x80, "DUP2": 0x81, "SWAP1": 0x90, "RETURN": 0xF3, "REVERT": 0xFD,
}  # fmt: skip


def assemble(program: list[str | tuple[str, int | str]]) -> bytes:
    """Bytecode from ops, ``("PUSHn", value)``, ``("LABEL", name)`` and ``("JUMPTO", name)``.

    ``JUMPTO`` is a PUSH2 of the label's offset; a label is a JUMPDEST.
    """

    def size(item: str | tuple[str, int | str]) -> int:
        if isinstance(item, str):
            return 1
        op, _ = item
        if op == "LABEL":
            return 1
        if op == "JUMPTO":
            return 3
        return 1 + int(op[4:])

    labels: dict[str, int] = {}
    offset = 0
    for item in program:
        if isinstance(item, tuple) and item[0] == "LABEL":
            labels[str(item[1])] = offset
        offset += size(item)
    out = bytearray()
    for item in program:
        if isinstance(item, str):
            out.append(OPS[item])
            continue
        op, arg = item
        if op == "LABEL":
            out.append(OPS["JUMPDEST"])
        elif op == "JUMPTO":
            out += bytes([0x61]) + labels[str(arg)].to_bytes(2, "big")
        else:
            n = int(op[4:])
            out += bytes([0x5F + n]) + int(arg).to_bytes(n, "big")
    return bytes(out)


def token_code(decimals: int = 8) -> bytes:
    """Runtime bytecode of the test ERC-20 (supply in slot 0)."""
    dispatch: list[str | tuple[str, int | str]] = [
        ("PUSH1", 0),
        "CALLDATALOAD",
        ("PUSH1", 0xE0),
        "SHR",
    ]
    for sel, label in (
        (SEL_TOTAL_SUPPLY, "supply"),
        (SEL_DECIMALS, "decimals"),
        (SEL_MINT, "mint"),
        (SEL_BURN, "burn"),
    ):
        dispatch += ["DUP1", ("PUSH4", int(sel, 16)), "EQ", ("JUMPTO", label), "JUMPI"]
    ret_word = [("PUSH1", 0), "MSTORE", ("PUSH1", 32), ("PUSH1", 0), "RETURN"]
    program: list[str | tuple[str, int | str]] = [
        *dispatch,
        ("LABEL", "fail"), ("PUSH1", 0), ("PUSH1", 0), "REVERT",
        ("LABEL", "supply"), ("PUSH1", 0), "SLOAD", *ret_word,
        ("LABEL", "decimals"), ("PUSH1", decimals), *ret_word,
        # mint: new = old + amount; new < old (overflow) reverts
        ("LABEL", "mint"), ("PUSH1", 4), "CALLDATALOAD", ("PUSH1", 0), "SLOAD", "DUP2", "ADD",
        "DUP1", ("PUSH1", 0), "SLOAD", "SWAP1", "LT", ("JUMPTO", "fail"), "JUMPI",
        ("PUSH1", 0), "SSTORE", "STOP",
        # burn: old < amount reverts; new = old - amount
        ("LABEL", "burn"), ("PUSH1", 4), "CALLDATALOAD", ("PUSH1", 0), "SLOAD", "DUP2", "DUP2",
        "LT", ("JUMPTO", "fail"), "JUMPI", "SUB", ("PUSH1", 0), "SSTORE", "STOP",
    ]  # fmt: skip
    return assemble(program)


REVERTING_CODE = assemble([("PUSH1", 0), ("PUSH1", 0), "REVERT"])
"""A contract that reverts on every call."""
SHORT_REPLY_CODE = assemble([("PUSH1", 7), ("PUSH1", 0), "MSTORE", ("PUSH1", 5), ("PUSH1", 27), "RETURN"])  # fmt: skip
"""A contract that answers every call with 5 bytes (not an ABI word)."""


def find_anvil() -> str | None:
    env = os.environ.get("UTXO_TRUTH_ANVIL")
    if env:
        return env
    local = ROOT / ".anvil" / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    if local.exists():
        return str(local)
    return shutil.which("anvil")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Anvil:
    """A running anvil with ``chain_id``; ``rpc(method, *params)`` talks to it directly."""

    def __init__(self, binary: str, chain_id: int) -> None:
        self.chain_id = chain_id
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", str(self.port), "--chain-id",
             str(chain_id), "--accounts", "1", "--silent"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                if int(self.rpc("eth_chainId"), 16) == chain_id:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                self.stop()
                raise RuntimeError(f"anvil did not start: {err[-500:]}")
            time.sleep(0.05)
        self.account: str = self.rpc("eth_accounts")[0]

    def rpc(self, method: str, *params: Any) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        req = urllib.request.Request(self.url, body.encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            reply = json.loads(r.read())
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def set_code(self, address: str, code: bytes) -> None:
        self.rpc("anvil_setCode", address, "0x" + code.hex())
        self.rpc("evm_mine")

    def send(self, to: str, data: str) -> dict[str, Any]:
        """A real transaction from the dev account; returns its receipt (its own block)."""
        tx = self.rpc("eth_sendTransaction", {"from": self.account, "to": to, "data": data})
        deadline = time.monotonic() + 10
        while True:  # anvil mines at once, but may publish the receipt a moment later
            receipt: dict[str, Any] | None = self.rpc("eth_getTransactionReceipt", tx)
            if receipt is not None:
                return receipt
            if time.monotonic() > deadline:
                raise RuntimeError(f"transaction {tx} was not mined")
            time.sleep(0.02)

    def mint(self, token: str, amount: int) -> int:
        """Mint ``amount`` base units; the block number it landed in (status checked)."""
        return self._change(token, SEL_MINT, amount)

    def burn(self, token: str, amount: int) -> int:
        return self._change(token, SEL_BURN, amount)

    def _change(self, token: str, selector: str, amount: int) -> int:
        receipt = self.send(token, "0x" + selector + amount.to_bytes(32, "big").hex())
        if receipt["status"] != "0x1":
            raise RuntimeError(f"{selector} of {amount} reverted")
        return int(receipt["blockNumber"], 16)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


def start(chain_id: int) -> Anvil:
    """An anvil on a free port, or a skip when no binary is installed (``make test`` installs it)."""
    import pytest

    binary = find_anvil()
    if binary is None and os.environ.get("CI"):
        pytest.fail("anvil is not installed: `make test` installs it into .anvil/")
    if binary is None:
        pytest.skip(
            "anvil is not installed: run `make .anvil/...` (make test does) or set UTXO_TRUTH_ANVIL"
        )
    return Anvil(binary, chain_id)
