"""The real chains in tests/data/chains, served by the real ElectrumX on their own networks.

* mainnet blocks 0..438 (bitcoinj's ``first-100k-blocks.dat``, blk*.dat framing), ``NET=mainnet``;
* testnet4 blocks 0..2015 (Bitcoin Core's ``testnet4.hex``), ``NET=testnet4``;
* signet blocks 1..10 (Bitcoin Core's ``feature_signet.py``) on top of the signet genesis block,
  which is mainnet's genesis block with time 1598918400, bits 0x1e0377ae and nonce 52613770
  (Bitcoin Core ``chainparams.cpp``: ``CreateGenesisBlock(1598918400, 52613770, 0x1e0377ae, 1,
  50 * COIN)``), ``NET=signet``.

The Bitcoin Core stand-in reports the matching chain name (``main``, ``testnet4``, ``signet``);
ElectrumX checks block 0 against its own genesis hash for the network, so a wrong chain is
refused by ElectrumX itself.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from .bitcoind import BitcoindStandIn
from .chain import Block, Chain, parse_block
from .electrumx import ElectrumX

CHAINS = Path(__file__).resolve().parent.parent / "data" / "chains"

SIGNET_TIME, SIGNET_BITS, SIGNET_NONCE = 1598918400, 0x1E0377AE, 52613770


def mainnet_blocks() -> list[bytes]:
    """Real mainnet blocks 0..438, unframed from blk*.dat (magic, length, block)."""
    raw = (CHAINS / "mainnet-blocks-0-438.dat").read_bytes()
    out, i = [], 0
    while i < len(raw):
        n = int.from_bytes(raw[i + 4 : i + 8], "little")
        out.append(raw[i + 8 : i + 8 + n])
        i += 8 + n
    return out


def testnet4_blocks() -> list[bytes]:
    """Real testnet4 blocks 0..2015 (a whole epoch)."""
    return [bytes.fromhex(x) for x in (CHAINS / "testnet4-blocks-0-2015.hex").read_text().split()]


def signet_data() -> dict[str, object]:
    """The signet file: blocks 1..10, the default challenge and the 2-of-2 one they fail."""
    data: dict[str, object] = json.loads((CHAINS / "signet-blocks-1-10.json").read_text())
    return data


def signet_genesis_block() -> bytes:
    """Mainnet's genesis block with the signet header fields (the coinbase is the same)."""
    genesis = mainnet_blocks()[0]
    header = (
        genesis[:68]
        + SIGNET_TIME.to_bytes(4, "little")
        + SIGNET_BITS.to_bytes(4, "little")
        + SIGNET_NONCE.to_bytes(4, "little")
    )
    return header + genesis[80:]


def signet_blocks() -> list[bytes]:
    """Signet blocks 0..10: the genesis block built above, then the real blocks 1..10."""
    blocks = signet_data()["blocks"]
    assert isinstance(blocks, list)
    return [signet_genesis_block(), *(bytes.fromhex(str(b)) for b in blocks)]


class RealChain(Chain):
    """A harness chain over real blocks (no mempool, no reorg states)."""

    def __init__(self, blocks: list[bytes]) -> None:
        self.lock = threading.RLock()
        self.base: list[Block] = [parse_block(b.hex()) for b in blocks]
        self.base_mempool = []
        self.reorg = {}
        self.stale = self.base[-1]
        self.branch = []
        self.set_state("A")


# network name: (ElectrumX NET, Bitcoin Core's chain name, the blocks)
NETWORKS = {
    "main": ("mainnet", "main", mainnet_blocks),
    "testnet4": ("testnet4", "testnet4", testnet4_blocks),
    "signet": ("signet", "signet", signet_blocks),
}


class RealServer:
    """The Bitcoin Core stand-in over a real chain, and the real ElectrumX indexing it."""

    def __init__(self, network: str, *, default_limits: bool = False) -> None:
        net, chain_name, blocks = NETWORKS[network]
        self.chain = RealChain(blocks())
        self.rpc = BitcoindStandIn(self.chain, chain_name=chain_name)
        self.http, self.rpc_port = self.rpc.serve()
        try:
            self.ex = ElectrumX(
                self.rpc_port, net=net, default_limits=default_limits, log_name="electrumx"
            )
            self.ex.wait_for_height(self.chain.height, timeout=300.0)
        except BaseException:
            if hasattr(self, "ex"):
                self.ex.stop()
            self.http.shutdown()
            raise

    def stop(self) -> None:
        self.ex.stop()
        self.http.shutdown()
