"""A stand-in for Bitcoin Core's JSON-RPC, answering from the recorded chain (harness.chain).

It implements the calls ElectrumX makes (see electrumx/server/daemon.py): getblockcount,
getblockhash, getbestblockhash, getblock (verbosity 0 and 1), getblockheader, getrawtransaction,
getrawmempool, getnetworkinfo, getmempoolinfo, getindexinfo, estimatesmartfee,
gettxspendingprevout, getblockchaininfo; anything else is JSON-RPC error -32601, as Core answers.
Single and batch (JSON array) requests, HTTP/1.1 keep-alive.
"""

from __future__ import annotations

import json
from http.server import ThreadingHTTPServer
from typing import Any

from .chain import Chain
from .http import serve_post

RPC_INVALID_PARAMETER = -8
RPC_INVALID_ADDRESS_OR_KEY = -5
METHOD_NOT_FOUND = -32601
RPC_METHODS = frozenset(
    [
        "getblockcount",
        "getbestblockhash",
        "getblockhash",
        "getblock",
        "getblockheader",
        "getrawtransaction",
        "getrawmempool",
        "getnetworkinfo",
        "getmempoolinfo",
        "getindexinfo",
        "estimatesmartfee",
        "gettxspendingprevout",
        "getblockchaininfo",
    ]
)


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BitcoindStandIn:
    """``chain_name`` is what ``getblockchaininfo`` reports (Core's names: main, testnet4, signet,
    regtest)."""

    def __init__(self, chain: Chain, chain_name: str = "regtest") -> None:
        self.chain = chain
        self.chain_name = chain_name
        self.calls: dict[str, int] = {}

    # --- the RPC methods -------------------------------------------------------------------
    def getblockcount(self) -> int:
        return self.chain.height

    def getbestblockhash(self) -> str:
        return self.chain.tip.hash

    def getblockhash(self, height: int) -> str:
        if not 0 <= height <= self.chain.height:
            raise RpcError(RPC_INVALID_PARAMETER, "Block height out of range")
        return self.chain.blocks[height].hash

    def _block(self, blockhash: str) -> tuple[int, Any]:
        try:
            return self.chain.by_hash[blockhash]
        except KeyError:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Block not found") from None

    def getblock(self, blockhash: str, verbosity: int | bool = 1) -> Any:
        _height, block = self._block(blockhash)
        if verbosity in (0, False):
            return block.raw.hex()
        return {
            **self.getblockheader(blockhash),
            "tx": [t.txid for t in block.txs],
            "nTx": len(block.txs),
            "time": int.from_bytes(block.header[68:72], "little"),
        }

    def getblockheader(self, blockhash: str, verbose: bool = True) -> Any:
        height, block = self._block(blockhash)
        if not verbose:
            return block.header.hex()
        return {
            "hash": block.hash,
            "height": height,
            "confirmations": self.chain.height - height + 1,
            "previousblockhash": block.prev if height else None,
            "nextblockhash": self.chain.blocks[height + 1].hash
            if height < self.chain.height
            else None,
        }

    def getrawtransaction(
        self, txid: str, verbose: int | bool = 0, blockhash: str | None = None
    ) -> Any:
        found = self.chain.txs.get(txid)
        if found is None:
            raise RpcError(
                RPC_INVALID_ADDRESS_OR_KEY,
                "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
            )
        tx, height = found
        if not verbose:
            return tx.raw.hex()
        out: dict[str, Any] = {"txid": tx.txid, "hex": tx.raw.hex()}
        if height is not None:
            out["blockhash"] = self.chain.blocks[height].hash
            out["confirmations"] = self.chain.height - height + 1
        return out

    def getrawmempool(self, verbose: bool = False) -> Any:
        return [t.txid for t in self.chain.mempool]

    def getnetworkinfo(self) -> dict[str, Any]:
        return {
            "version": 310000,
            "subversion": "/Satoshi:31.0.0(utxo_truth stand-in)/",
            "protocolversion": 70016,
            "relayfee": 0.00001,
            "incrementalfee": 0.00001,
            "networkactive": True,
        }

    def getmempoolinfo(self) -> dict[str, Any]:
        return {
            "loaded": True,
            "size": len(self.chain.mempool),
            "mempoolminfee": 0.00001,
            "minrelaytxfee": 0.00001,
            "incrementalrelayfee": 0.00001,
        }

    def getindexinfo(self, name: str | None = None) -> dict[str, Any]:
        info = {"synced": True, "best_block_height": self.chain.height}
        return {
            "txindex": dict(info),
            "txospenderindex": dict(info),
            "basic block filter index": dict(info),
        }

    def estimatesmartfee(self, conf_target: int = 6, mode: str = "conservative") -> dict[str, Any]:
        return {"feerate": 0.0001, "blocks": max(2, int(conf_target))}

    def gettxspendingprevout(
        self, outpoints: list[dict[str, Any]], options: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        out = []
        for op in outpoints:
            item = {"txid": op["txid"], "vout": op["vout"]}
            spender = self.chain.spenders.get((op["txid"], op["vout"]))
            if spender:
                item["spendingtxid"] = spender
            out.append(item)
        return out

    def getblockchaininfo(self) -> dict[str, Any]:
        return {
            "chain": self.chain_name,
            "blocks": self.chain.height,
            "headers": self.chain.height,
            "bestblockhash": self.chain.tip.hash,
            "initialblockdownload": False,
            "verificationprogress": 1,
            "pruned": False,
        }

    # --- JSON-RPC plumbing -----------------------------------------------------------------
    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        method = request.get("method")
        params = request.get("params") or []
        rid = request.get("id")
        self.calls[str(method)] = self.calls.get(str(method), 0) + 1
        fn = getattr(self, str(method)) if method in RPC_METHODS else None
        if fn is None:
            return {
                "result": None,
                "error": {"code": METHOD_NOT_FOUND, "message": "Method not found"},
                "id": rid,
            }
        try:
            with self.chain.lock:
                result = fn(*params) if isinstance(params, list) else fn(**params)
        except RpcError as e:
            return {"result": None, "error": {"code": e.code, "message": e.message}, "id": rid}
        except TypeError as e:
            return {"result": None, "error": {"code": -1, "message": str(e)}, "id": rid}
        return {"result": result, "error": None, "id": rid}

    def answer(self, body: bytes, _authorization: str | None = None) -> tuple[int, bytes]:
        """One HTTP POST: a single request or a batch, statuses as Bitcoin Core sends them."""
        try:
            payload = json.loads(body)
        except ValueError:
            error = {
                "result": None,
                "error": {"code": -32700, "message": "Parse error"},
                "id": None,
            }
            return 500, json.dumps(error).encode()
        if isinstance(payload, list):
            return 200, json.dumps([self.handle(r) for r in payload]).encode()
        reply = self.handle(payload)
        status = (
            200
            if reply["error"] is None
            else (404 if reply["error"]["code"] == METHOD_NOT_FOUND else 500)
        )
        return status, json.dumps(reply).encode()

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, int]:
        return serve_post(self.answer, host, port)
