"""The SPV middle shared by the network sources (Electrum, Esplora): headers, proofs, the tip.

* :class:`HeaderCache`: the verified headers a source holds, the on-disk
  :class:`~._headerstore.HeaderStore` behind them, which span proves which coin (the chain from
  the last embedded checkpoint, or genesis, to the tip; an epoch's chunk; a user's
  checkpoint), and what a failed check means (a reorg: drop to the fork and look again; or a
  server that is wrong or lying). The sources only fetch what it says is missing;
* :func:`proof_problem` / :func:`merkle_problem`: why a merkle proof does not put a transaction
  in the verified header at its height;
* :func:`pinned`: run a look-up until the tip it began at is still the tip at its end;
* :func:`hex32` and :func:`is_int`: the shape checks every reply goes through.

The checks themselves are :mod:`utxo_truth.verify`'s and :mod:`utxo_truth._checkpoints`'.
(Formerly ``_checks.py``, which re-exports the tip and shape names.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from .._checkpoints import chunk_assurance, load_checkpoints
from .._exceptions import InconsistentTipError, SourceProtocolError, VerificationError
from .._models import BlockRef
from .._network import Network
from .._pow import RETARGET_INTERVAL
from ..verify import GENESIS, HeaderChain, check_header_chain, header_hash, merkle_root_from_branch
from ._base import Lookup
from ._headerstore import HeaderStore, check_tail

__all__ = [
    "CacheDir",
    "HeaderCache",
    "Restart",
    "hex32",
    "is_int",
    "merkle_problem",
    "pinned",
    "proof_problem",
]

CacheDir = str | os.PathLike[str] | Literal[False] | None
"""Where a source keeps verified headers: a directory, None for the user's cache directory
(``platformdirs``), or False for none (headers are then held for the source's life only)."""


class Restart(Exception):
    """The server's chain changed under a look-up (a reorg, a new block): start it again."""


def pinned(once: Callable[[], tuple[Lookup, str]], where: str, attempts: int = 3) -> Lookup:
    """Run a look-up until the tip it read at the start is still the tip at its end.

    ``once`` returns its answer and the tip hash read last; it raises :class:`Restart` when it
    sees the chain change under it.
    """
    for _attempt in range(attempts):
        try:
            answer, tip_after = once()
        except Restart:
            continue
        if tip_after == answer.block.hash:
            return answer
    raise InconsistentTipError(f"{where}: the tip kept moving during the look-up; scan again later")


_HEX = frozenset("0123456789abcdefABCDEF")


def is_int(x: Any) -> bool:
    """An ``int`` from JSON, not a ``bool``."""
    return isinstance(x, int) and not isinstance(x, bool)


def hex32(x: Any, what: str) -> str:
    """``x`` as a lower-case 32-byte hex string (a txid, a block hash), or a protocol error."""
    if not (isinstance(x, str) and len(x) == 64 and set(x) <= _HEX):
        raise SourceProtocolError(f"server sent a malformed {what}: {str(x)[:80]!r}")
    return x.lower()


def merkle_problem(txid: str, height: int, merkle: Any, pos: Any, chain: HeaderChain) -> str | None:
    """Why a merkle proof does not put ``txid`` in the verified block at ``height``.

    The proof is in Electrum's format (a ``merkle`` branch and ``pos``; Esplora uses it too).
    None when it does put it there.
    """
    if not (isinstance(merkle, list) and is_int(pos)):
        return "malformed merkle proof"
    if height < chain.start:
        return (
            f"not verified: height {height} is below the checkpoint ({chain.start}); pass an "
            "older checkpoint"
        )
    if height > chain.tip_height:
        return f"height {height} is above the verified tip"
    try:
        branch = [hex32(x, "merkle hash") for x in merkle]
        if merkle_root_from_branch(txid, branch, pos) != chain.merkle_root(height):
            return f"merkle proof does not reach the block at height {height}"
    except (VerificationError, SourceProtocolError) as exc:
        return f"bad merkle proof: {exc}"
    return None


def proof_problem(
    txid: str, height: int, proof: Any, chain: HeaderChain | None, chain_problem: str | None
) -> str | None:
    """Why ``proof`` does not put ``txid`` in ``chain`` at ``height``; None when it does.

    ``proof`` is in Electrum's shape (``merkle``, ``pos``; Esplora adds ``block_height``).
    ``chain`` None: ``chain_problem`` says why there is no verified chain there.

    Example:
        >>> proof_problem("00" * 32, 5, None, None, "not verified (verification is off)")
        'not verified (verification is off)'
    """
    if chain is None:
        return chain_problem or "not verified: no header chain"
    if proof is None:
        return "no merkle proof: the server says it is not confirmed"
    if not isinstance(proof, dict):
        return "malformed merkle proof"
    said = proof.get("block_height")
    if said is not None:
        if not is_int(said):
            return "malformed merkle proof"
        if said != height:
            return f"the merkle proof is for height {said}, not {height}"
    return merkle_problem(txid, height, proof.get("merkle"), proof.get("pos"), chain)


Span = Literal["tail", "user", "legacy", "top"]


class HeaderCache:
    """The verified headers of one network source, with the header store behind them.

    Which headers prove a coin at height ``h`` (:meth:`plan`, :meth:`covering`):

    * with a ``checkpoint`` the user gave: the chain from it to the tip (``assurance="chain"``);
    * on a network with embedded checkpoints, a tip above the last one: the chain from the last
      checkpoint to the tip (the store's *tail*) for a coin above it, and for one below it its
      epoch's 2016-header chunk (:func:`~utxo_truth._checkpoints.chunk_assurance`,
      ``assurance="chunk"``; Electrum) or its header alone (``"header"``; Esplora, see
      :mod:`._assurance`);
    * a tip *at* the last checkpoint: the tip's header alone, whose hash must be the checkpoint's
      (``"top"``); every coin is then below it and proven by its epoch's chunk;
    * a tip below the last checkpoint (a stale server): the chain from genesis, as on a
      network without checkpoints (regtest, where it is the store's tail).

    Held headers come from the store (verified again when read) and from the server; a second
    look-up asks the server for none it holds. A chain that no longer checks with held headers
    in it means the server's chain moved: the stored tail is cut back to the fork point
    (``hash_at`` asks the server's hash at a height) and the look-up is made again
    (:class:`Restart`); one that fails with fresh headers only is the server's fault.

    Example:
        >>> cache = HeaderCache(Network.REGTEST, checkpoint=None, cache_dir=False, where="x")
        >>> cache.plan(5)
        (0, 'tail')
        >>> cache.missing(0, 2)
        [0, 1, 2]
    """

    def __init__(
        self,
        network: Network,
        *,
        checkpoint: tuple[int, str] | None,
        cache_dir: CacheDir,
        where: str,
    ) -> None:
        self.network = network
        self.where = where
        self.user_checkpoint = checkpoint
        self.table = load_checkpoints(network)
        self.store: HeaderStore | None = None
        self.store_problem: str | None = None
        if cache_dir is not False:
            try:
                self.store = HeaderStore(network, cache_dir=cache_dir, table=self.table)
            except OSError as exc:  # a read-only home: verify all the same, from the server
                self.store_problem = f"the header store cannot be used ({exc.strerror})"
        self.held: dict[int, bytes] = {}
        self.fresh: set[int] = set()
        """Heights fetched from the server since :meth:`begin` (not held before)."""
        self.chunks: dict[int, HeaderChain] = {}
        self._loaded = False
        self._proofs: dict[str, tuple[int, str, int, tuple[str, ...]]] | None = None
        self._new_proofs: dict[str, tuple[int, str, int, tuple[str, ...]]] = {}
        self._assured: dict[int, bytes] | None = None
        self._new_assured: dict[int, bytes] = {}
        self.fetched = 0
        """Headers asked of the server over the source's life (tests, benchmarks)."""

    @property
    def anchor(self) -> tuple[int, str]:
        """The checkpoint a ``legacy``/``user`` chain is anchored at."""
        return self.user_checkpoint or (0, GENESIS[self.network])

    def begin(self) -> None:
        """A look-up starts: what is held now is 'held from before'."""
        self.fresh = set()

    # --- which headers -----------------------------------------------------------------------
    def plan(self, tip_height: int, lowest: int | None = None) -> tuple[int, Span]:
        """(first height, kind) of the chain to the tip this look-up verifies.

        ``lowest``: the lowest coin height a ``user`` chain must reach (Electrum fetches down
        to it, below the checkpoint).
        """
        if self.user_checkpoint is not None:
            low = self.user_checkpoint[0]
            return (min(low, lowest) if lowest is not None else low), "user"
        if not self.table.epochs:
            return 0, "tail"
        if tip_height > self.table.last_height:
            return self.table.last_height + 1, "tail"
        if tip_height == self.table.last_height:
            return tip_height, "top"  # the tip is the checkpoint: chunks prove the coins
        return 0, "legacy"

    def chunk_epoch(self, height: int, tip_height: int) -> int | None:
        """The epoch whose chunk proves a coin at ``height`` (None: the chain to the tip does)."""
        if self.user_checkpoint is not None or not self.table.epochs:
            return None
        epoch = height // RETARGET_INTERVAL
        end = (epoch + 1) * RETARGET_INTERVAL - 1
        if end > self.table.last_height or end > tip_height:
            return None  # above the last checkpoint: the chain from it to the tip proves it
        if self.plan(tip_height)[1] == "legacy":
            return None  # a stale tip: the chain from genesis proves every coin (as before)
        return epoch

    def missing(self, low: int, tip_height: int) -> list[int]:
        """Heights ``low..tip_height`` not held (the store's tail is read on first use)."""
        self._load(low)
        return [h for h in range(low, tip_height + 1) if h not in self.held]

    def _load(self, low: int) -> None:
        if self._loaded or self.store is None:
            return
        self._loaded = True
        stored = self.store.tail()
        if stored is not None:
            for k, h in enumerate(stored.headers):
                self.held.setdefault(stored.start + k, h)

    def add(self, run: Mapping[int, bytes]) -> None:
        """Headers the server sent (checked in :meth:`chain`)."""
        for height, header in run.items():
            if height not in self.held or height in self.fresh:
                self.held[height] = header
                self.fresh.add(height)
                self.fetched += 1

    # --- checking ------------------------------------------------------------------------------
    def chain(
        self,
        tip: BlockRef,
        low: int,
        kind: Span,
        hash_at: Callable[[int], str | None],
        tip_header: bytes | None = None,
    ) -> HeaderChain:
        """The verified chain ``low..tip`` from what is held; stored when it is the tail.

        ``tip_header``: the header the server announced with its tip (Electrum); it must be on
        the chain.

        Raises:
            Restart: held headers no longer agree with the server (a reorg): the stored tail is
                cut back to the fork point; look again.
            VerificationError: headers fresh from the server fail: it is wrong or lying.
        """
        heights = range(low, tip.height + 1)
        if any(h not in self.held for h in heights):
            raise Restart  # the server sent fewer headers than asked: its chain moved
        headers = [self.held[h] for h in heights]
        from_before = any(h not in self.fresh for h in heights)
        try:
            chain = self._check(kind, low, headers)
        except VerificationError as exc:
            if from_before:
                self._fork(hash_at)
                raise Restart from None
            self._forget_fresh()
            raise VerificationError(
                f"{self.where}: {exc}. The server is wrong or lying: use another server"
            ) from None
        on_chain = chain.hash(tip.height) == tip.hash and (
            tip_header is None or chain.header(tip.height) == tip_header
        )
        if not on_chain:
            if tip.height not in self.fresh:
                self._fork(hash_at)
                raise Restart
            self._forget_fresh()
            if tip_header is not None:
                raise VerificationError(
                    f"{self.where}: the tip it announced is not on its own header chain"
                )
            raise Restart  # a block found between the tip read and the headers read
        if kind == "tail" and self.store is not None and self.fresh & set(heights):
            self.store.put_tail(low, headers)
        return chain

    def _check(self, kind: Span, low: int, headers: Sequence[bytes]) -> HeaderChain:
        if kind == "tail":
            return check_tail(self.network, self.table, low, headers)
        if kind == "top":  # one header, whose hash must be the last checkpoint's
            return check_header_chain(
                headers, low, self.network, anchor=(low, self.table.epochs[-1][0])
            )
        return check_header_chain(headers, low, self.network, anchor=self.anchor)

    def _forget_fresh(self) -> None:
        for h in self.fresh:
            self.held.pop(h, None)
        self.fresh = set()

    def _fork(self, hash_at: Callable[[int], str | None]) -> None:
        """Cut what is held back to the last height the server's chain still has."""
        self.held.clear()
        self.fresh = set()
        if self.store is None:
            return
        self.store.drop_tail_to_fork(hash_at)
        self._loaded = False

    # --- chunks (Electrum) ---------------------------------------------------------------------
    def chunk(self, epoch: int) -> HeaderChain | None:
        """Epoch ``epoch``'s verified chunk, if held (in memory, or in the store: re-verified)."""
        if epoch not in self.chunks and self.store is not None:
            stored = self.store.chunk(epoch)
            if stored is not None:
                self.chunks[epoch] = stored
        return self.chunks.get(epoch)

    def put_chunk(self, epoch: int, headers: Sequence[bytes]) -> HeaderChain:
        """Check epoch ``epoch``'s 2016 headers (chunk assurance), keep and store them.

        Raises:
            VerificationError: the chunk fails: the server is wrong or lying.
        """
        self.fetched += len(headers)
        try:
            if self.store is not None:
                chain = self.store.put_chunk(epoch, headers)
            else:
                chain = chunk_assurance(headers, epoch, self.network, self.table)
        except VerificationError as exc:
            raise VerificationError(
                f"{self.where}: epoch {epoch}'s headers fail chunk assurance ({exc}). The "
                "server is wrong or lying: use another server"
            ) from None
        self.chunks[epoch] = chain
        return chain

    # --- merkle proofs of coins in held blocks ------------------------------------------------
    def proof(self, txid: str, height: int) -> dict[str, Any] | None:
        """A kept merkle proof of ``txid`` at ``height``, if it still reaches the held header.

        In Esplora's shape (``block_height``, ``merkle``, ``pos``). It is checked again, like a
        fresh one, once the chain is verified; a held header that a reorg replaced has another
        hash, and the proof is then not used.
        """
        if self._proofs is None:
            self._proofs = self.store.proofs() if self.store is not None else {}
        kept = self._proofs.get(txid)
        header = self.held.get(height)
        if kept is None or header is None or kept[0] != height:
            return None
        _h, block, pos, branch = kept
        try:
            if header_hash(header) != block or (
                merkle_root_from_branch(txid, branch, pos) != header[36:68]
            ):
                return None
        except VerificationError:
            return None
        return {"block_height": height, "merkle": list(branch), "pos": pos}

    def keep_proof(self, txid: str, height: int, chain: HeaderChain, proof: Any) -> None:
        """Keep a proof that was just checked against ``chain`` (saved by :meth:`save`)."""
        if self.store is None or not isinstance(proof, dict):
            return
        if self._proofs is not None and txid in self._proofs:
            return
        self._new_proofs[txid] = (height, chain.hash(height), proof["pos"], tuple(proof["merkle"]))

    def save(self) -> None:
        """Write the proofs and assured headers kept in this look-up to the store."""
        if self.store is not None and self._new_assured:
            self.store.put_assured(self._new_assured)
            if self._assured is not None:
                self._assured.update(self._new_assured)
            self._new_assured = {}
        if self.store is not None and self._new_proofs:
            self.store.put_proofs(self._new_proofs)
            if self._proofs is not None:
                self._proofs.update(self._new_proofs)
            self._new_proofs = {}

    # --- single headers of header assurance -----------------------------------------------
    def assured_header(self, height: int) -> bytes | None:
        """A header kept from an earlier header assurance at ``height`` (verified when read)."""
        if height in self._new_assured:  # assured in this run (kept in memory, store or not)
            return self._new_assured[height]
        if self._assured is None:
            self._assured = self.store.assured() if self.store is not None else {}
        return self._assured.get(height)

    def keep_assured(self, height: int, header: bytes) -> None:
        """Keep a header that just passed header assurance (saved by :meth:`save`).

        Kept in memory with or without a store: the signet step reads the very header a coin
        was assured against from here, never a second fetch from the server.
        """
        if (self._assured or {}).get(height) != header:
            self._new_assured[height] = header  # new, or in place of a kept one that failed

    def repaired(self) -> list[str]:
        """What the store found corrupt and fetched again, and why it is not used if it is not.

        Not a problem of an answer (nothing read from the store is believed unverified): said
        for the curious, e.g. ``--debug``.
        """
        out = [self.store_problem] if self.store_problem else []
        return out + (self.store.dropped if self.store is not None else [])
