"""Strict, bounded decoding of Bitcoin transactions and PSBTs (pure, no I/O).

Used by :mod:`utxo_truth.messages` to read BIP-322 ``full`` and ``pof`` signatures. Every
decoder consumes its input exactly (trailing bytes are an error) and bounds every length it
reads by the bytes that remain, so a hostile length prefix cannot allocate memory.

>>> tx = parse_tx(bytes.fromhex("00000000" "01" + "00" * 32 + "00000000" "00" "00000000"
...                              "01" "0000000000000000" "016a" "00000000"))
>>> tx.version, len(tx.vin), tx.vout[0].script.hex()
(0, 1, '6a')
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ._script import compact_size

__all__ = ["DecodeError", "Psbt", "Tx", "TxIn", "TxOut", "parse_psbt", "parse_tx"]


class DecodeError(ValueError):
    """Bytes that are not a well-formed transaction / PSBT / witness stack."""


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def hash256(b: bytes) -> bytes:
    return sha256(sha256(b))


def ser_bytes(b: bytes) -> bytes:
    return compact_size(len(b)) + b


class Reader:
    """A cursor over bytes whose every read is bounded by what remains."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def left(self) -> int:
        return len(self.data) - self.pos

    def read(self, n: int) -> bytes:
        if n < 0 or n > self.left():
            raise DecodeError(f"truncated: wanted {n} bytes, {self.left()} left")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.read(1)[0]

    def u32(self) -> int:
        return int.from_bytes(self.read(4), "little")

    def u64(self) -> int:
        return int.from_bytes(self.read(8), "little")

    def varint(self) -> int:
        first = self.u8()
        if first < 0xFD:
            return first
        size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
        n = int.from_bytes(self.read(size), "little")
        # CompactSize must be minimal (Bitcoin Core ReadCompactSize: "non-canonical ReadCompactSize()")
        if n < {2: 0xFD, 4: 0x10000, 8: 0x100000000}[size]:
            raise DecodeError("non-canonical compact size")
        return n

    def count(self, min_item_size: int) -> int:
        n = self.varint()
        if n * max(min_item_size, 1) > self.left():
            raise DecodeError(f"count {n} larger than the {self.left()} bytes that remain")
        return n

    def var_bytes(self) -> bytes:
        return self.read(self.count(1))

    def end(self) -> None:
        if self.left():
            raise DecodeError(f"{self.left()} unexpected trailing bytes")


@dataclass
class TxIn:
    prev_txid: bytes  # internal byte order (as serialized)
    prev_vout: int
    script_sig: bytes
    sequence: int
    witness: list[bytes] = field(default_factory=list)

    def outpoint(self) -> bytes:
        return self.prev_txid + self.prev_vout.to_bytes(4, "little")


@dataclass
class TxOut:
    value: int
    script: bytes

    def serialize(self) -> bytes:
        return self.value.to_bytes(8, "little") + ser_bytes(self.script)


@dataclass
class Tx:
    version: int
    vin: list[TxIn]
    vout: list[TxOut]
    locktime: int

    def serialize(self, *, witness: bool = True) -> bytes:
        has_wit = witness and any(i.witness for i in self.vin)
        out = self.version.to_bytes(4, "little")
        if has_wit:
            out += b"\x00\x01"  # BIP-144 marker and flag
        out += compact_size(len(self.vin))
        for i in self.vin:
            out += i.outpoint() + ser_bytes(i.script_sig) + i.sequence.to_bytes(4, "little")
        out += compact_size(len(self.vout))
        for o in self.vout:
            out += o.serialize()
        if has_wit:
            for i in self.vin:
                out += compact_size(len(i.witness)) + b"".join(ser_bytes(w) for w in i.witness)
        return out + self.locktime.to_bytes(4, "little")

    def txid(self) -> bytes:
        """The txid in internal byte order (BIP-144: hash of the serialization without witness)."""
        return hash256(self.serialize(witness=False))


def read_witness(r: Reader) -> list[bytes]:
    return [r.var_bytes() for _ in range(r.count(1))]


def parse_witness(data: bytes) -> list[bytes]:
    """A consensus-encoded witness stack (vector of byte vectors), consumed exactly."""
    r = Reader(data)
    items = read_witness(r)
    r.end()
    return items


def read_tx(r: Reader) -> Tx:
    version = r.u32()
    segwit = False
    if r.left() >= 2 and r.data[r.pos] == 0 and r.data[r.pos + 1] == 1:
        r.read(2)  # BIP-144 marker 0x00, flag 0x01
        segwit = True
    vin = []
    for _ in range(r.count(41)):
        txid = r.read(32)
        n = r.u32()
        vin.append(TxIn(txid, n, r.var_bytes(), r.u32()))
    vout = [TxOut(r.u64(), r.var_bytes()) for _ in range(r.count(9))]
    if segwit:
        for i in vin:
            i.witness = read_witness(r)
        # BIP-144: a transaction with the segwit flag must carry some witness data
        if not any(i.witness for i in vin):
            raise DecodeError("segwit marker set but every witness is empty")
    return Tx(version, vin, vout, r.u32())


def parse_tx(data: bytes) -> Tx:
    """Decode one transaction, consuming ``data`` exactly."""
    r = Reader(data)
    tx = read_tx(r)
    r.end()
    return tx


@dataclass
class PsbtInput:
    non_witness_utxo: Tx | None = None
    witness_utxo: TxOut | None = None
    final_script_sig: bytes | None = None
    final_witness: list[bytes] | None = None


@dataclass
class Psbt:
    tx: Tx
    inputs: list[PsbtInput]


def _read_map(r: Reader) -> list[tuple[bytes, bytes]]:
    pairs: list[tuple[bytes, bytes]] = []
    seen: set[bytes] = set()
    while True:
        key = r.var_bytes()
        if not key:
            return pairs
        if key in seen:  # BIP-174: keys within a map must be unique
            raise DecodeError("duplicate key in a PSBT map")
        seen.add(key)
        pairs.append((key, r.var_bytes()))


def parse_psbt(data: bytes) -> Psbt:
    """Decode a version-0 PSBT (BIP-174): the unsigned tx and each input's UTXO / final fields."""
    r = Reader(data)
    if r.read(5) != b"psbt\xff":  # BIP-174 magic
        raise DecodeError("not a PSBT (magic bytes 'psbt\\xff' missing)")
    tx: Tx | None = None
    for key, value in _read_map(r):
        if key == b"\x00":  # PSBT_GLOBAL_UNSIGNED_TX
            tx = parse_tx(value)
    if tx is None:
        raise DecodeError("PSBT has no unsigned transaction (only version 0 is supported)")
    if any(i.script_sig or i.witness for i in tx.vin):
        raise DecodeError("PSBT unsigned transaction has scriptSigs or witnesses")
    inputs = []
    for _ in tx.vin:
        inp = PsbtInput()
        for key, value in _read_map(r):
            kt = key[0]
            if kt == 0x00 and len(key) == 1:  # PSBT_IN_NON_WITNESS_UTXO
                inp.non_witness_utxo = parse_tx(value)
            elif kt == 0x01 and len(key) == 1:  # PSBT_IN_WITNESS_UTXO
                vr = Reader(value)
                inp.witness_utxo = TxOut(vr.u64(), vr.var_bytes())
                vr.end()
            elif kt == 0x07 and len(key) == 1:  # PSBT_IN_FINAL_SCRIPTSIG
                inp.final_script_sig = value
            elif kt == 0x08 and len(key) == 1:  # PSBT_IN_FINAL_SCRIPTWITNESS
                inp.final_witness = parse_witness(value)
        inputs.append(inp)
    for _ in tx.vout:
        _read_map(r)
    r.end()
    return Psbt(tx, inputs)
