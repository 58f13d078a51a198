"""The recorded regtest chain (tests/data) as an index the test servers answer from.

Blocks, transactions and the mempool are Bitcoin Core's own, byte for byte. ``Chain`` can switch
to the recorded reorganisation (``reorg.json``): first chain A plus the stale block, then the
longer branch that double-spends one coin.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from embit.transaction import Transaction

DATA = Path(__file__).resolve().parent.parent / "data"


def dsha(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def _compact(s: io.BytesIO) -> int:
    b = s.read(1)[0]
    if b < 253:
        return b
    return int.from_bytes(s.read({253: 2, 254: 4, 255: 8}[b]), "little")


@dataclass(frozen=True)
class Tx:
    txid: str
    raw: bytes
    tx: Transaction = field(repr=False)


@dataclass(frozen=True)
class Block:
    raw: bytes
    header: bytes
    hash: str
    txs: tuple[Tx, ...]

    @property
    def prev(self) -> str:
        return self.header[4:36][::-1].hex()


def parse_tx(raw: bytes) -> Tx:
    tx = Transaction.parse(raw)
    return Tx(tx.txid().hex(), raw, tx)


def parse_block(raw_hex: str) -> Block:
    raw = bytes.fromhex(raw_hex.strip())
    s = io.BytesIO(raw)
    header = s.read(80)
    txs = []
    for _ in range(_compact(s)):
        start = s.tell()
        tx = Transaction.read_from(s)
        txs.append(Tx(tx.txid().hex(), raw[start : s.tell()], tx))
    assert s.read() == b"", "trailing bytes after the block's transactions"
    return Block(raw, header, dsha(header)[::-1].hex(), tuple(txs))


class Chain:
    """A best chain plus a mempool, switchable between the recorded states."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.base = [parse_block(line) for line in (DATA / "blocks.hex").read_text().split()]
        self.base_mempool = [
            parse_tx(bytes.fromhex(h)) for h in (DATA / "mempool.hex").read_text().split()
        ]
        reorg = json.loads((DATA / "reorg.json").read_text())
        self.reorg = reorg
        self.stale = parse_block(reorg["stale_block"])
        self.branch = [parse_block(b) for b in reorg["branch_blocks"]]
        self.set_state("A")

    def set_state(self, state: str) -> None:
        """``A`` (the recorded tip and mempool), ``stale`` (A + stale block) or ``branch``."""
        with self.lock:
            if state == "A":
                blocks, mempool = list(self.base), list(self.base_mempool)
            elif state == "stale":
                blocks = [*self.base, self.stale]
                mempool = self._left_over(blocks)
            elif state == "branch":
                blocks = [*self.base, *self.branch]
                mempool = self._left_over(blocks)
            else:
                raise ValueError(state)
            self.state = state
            self.blocks = blocks
            self.mempool = mempool
            self.by_hash = {b.hash: (h, b) for h, b in enumerate(blocks)}
            self.txs: dict[str, tuple[Tx, int | None]] = {}
            for h, b in enumerate(blocks):
                for t in b.txs:
                    self.txs[t.txid] = (t, h)
            for t in mempool:
                self.txs.setdefault(t.txid, (t, None))
            self.spenders: dict[tuple[str, int], str] = {}
            for t, _h in self.txs.values():
                for vin in t.tx.vin:
                    self.spenders[(vin.txid.hex(), vin.vout)] = t.txid

    def _left_over(self, blocks: list[Block]) -> list[Tx]:
        confirmed = {t.txid for b in blocks for t in b.txs}
        return [t for t in self.base_mempool if t.txid not in confirmed]

    @property
    def height(self) -> int:
        return len(self.blocks) - 1

    @property
    def tip(self) -> Block:
        return self.blocks[-1]
