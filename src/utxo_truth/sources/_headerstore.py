"""A header store on disk, shared by the Electrum and Esplora sources: verified, re-verified.

Per network, under the user's cache directory (``platformdirs``) or ``cache_dir``:

* ``chunk-EEEEEE.bin``: a whole epoch's 2016 headers, stored only after
  :func:`~utxo_truth._checkpoints.chunk_assurance` passed;
* ``proofs.json``: merkle proofs of coins in stored blocks (txid → height, block hash,
  position, branch), each checked against its verified header again before it is used;
* ``assured.json``: single headers below the last checkpoint that passed header assurance
  (Esplora), each checked against its epoch's target again when read;
* ``tail.bin``: the headers above the last embedded checkpoint (from genesis where there are
  none, as on regtest): 8-byte little-endian start height, then the headers; stored after
  :func:`~utxo_truth.verify.check_header_chain` anchored at the checkpoint passed.

Every write goes to a temporary file that replaces the old one (``os.replace``: atomic), under an
exclusive ``flock`` on ``.lock``; reads take a shared lock. Nothing read is believed: a chunk or
tail is verified again when read, and one that fails (a flipped byte, a truncated file, a header
swapped for another) is deleted and reported missing, so the caller fetches it again.

Example:
    >>> import tempfile
    >>> from utxo_truth._network import Network
    >>> store = HeaderStore(Network.TESTNET4, cache_dir=tempfile.mkdtemp())
    >>> store.chunk(0) is None
    True
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .._checkpoints import CheckpointTable, chunk_assurance, load_checkpoints
from .._exceptions import VerificationError
from .._network import Network
from .._pow import RETARGET_INTERVAL, bits_to_target
from ..verify import GENESIS, HeaderChain, check_header_chain

__all__ = ["HeaderStore", "check_tail", "default_cache_dir"]

_CHUNK_BYTES = RETARGET_INTERVAL * 80


def default_cache_dir() -> Path:
    """The user's cache directory for utxo_truth (``platformdirs.user_cache_dir``)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("utxo-truth", appauthor=False))


class HeaderStore:
    """Verified header chunks and the verified tail of one network, on disk."""

    def __init__(
        self,
        network: Network,
        cache_dir: str | os.PathLike[str] | None = None,
        table: CheckpointTable | None = None,
    ) -> None:
        self.network = network
        self.table = table if table is not None else load_checkpoints(network)
        root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.dir = root / "headers" / network.value
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dropped: list[str] = []
        """What was found corrupt and deleted (file name and why), for ``problems``."""
        self._held = threading.local()  # this thread holds the exclusive lock: nested calls pass

    # --- locking and atomic files ------------------------------------------------------------

    @contextmanager
    def _lock(self, exclusive: bool) -> Iterator[None]:
        if getattr(self._held, "exclusive", False):
            yield  # inside a read-merge-write that holds it already (flock is not reentrant)
            return
        with open(self.dir / ".lock", "a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            self._held.exclusive = exclusive
            try:
                yield
            finally:
                self._held.exclusive = False
                fcntl.flock(f, fcntl.LOCK_UN)

    def _write(self, name: str, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.dir / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _read(self, name: str) -> bytes | None:
        try:
            return (self.dir / name).read_bytes()
        except FileNotFoundError:
            return None

    def _drop(self, name: str, why: str) -> None:
        with self._lock(exclusive=True):
            (self.dir / name).unlink(missing_ok=True)
        self.dropped.append(f"{self.network.value}/{name}: {why}; fetched again")

    # --- chunks ----------------------------------------------------------------------------

    @staticmethod
    def _chunk_name(epoch: int) -> str:
        return f"chunk-{epoch:06d}.bin"

    def put_chunk(self, epoch: int, headers: Sequence[bytes]) -> HeaderChain:
        """Verify epoch ``epoch``'s headers (chunk assurance) and store them.

        Raises:
            VerificationError: the chunk fails; nothing is stored.
        """
        chain = chunk_assurance(headers, epoch, self.network, self.table)
        with self._lock(exclusive=True):
            self._write(self._chunk_name(epoch), b"".join(headers))
        return chain

    def chunk(self, epoch: int) -> HeaderChain | None:
        """The stored chunk ``epoch``, verified again; None if absent or found corrupt."""
        name = self._chunk_name(epoch)
        with self._lock(exclusive=False):
            data = self._read(name)
        if data is None:
            return None
        if len(data) != _CHUNK_BYTES:
            self._drop(name, f"{len(data)} bytes, not {_CHUNK_BYTES} (truncated)")
            return None
        headers = [data[k : k + 80] for k in range(0, _CHUNK_BYTES, 80)]
        try:
            return chunk_assurance(headers, epoch, self.network, self.table)
        except VerificationError as exc:
            self._drop(name, f"fails verification ({exc})")
            return None

    # --- the tail above the last checkpoint ------------------------------------------------

    def _check_tail(self, start: int, headers: Sequence[bytes]) -> HeaderChain:
        return check_tail(self.network, self.table, start, headers)

    def put_tail(self, start: int, headers: Sequence[bytes]) -> HeaderChain:
        """Verify the headers above the last checkpoint (or from genesis) and store them.

        Raises:
            VerificationError: they fail; nothing is stored.
        """
        chain = self._check_tail(start, headers)
        with self._lock(exclusive=True):
            self._write("tail.bin", start.to_bytes(8, "little") + b"".join(headers))
        return chain

    def tail(self) -> HeaderChain | None:
        """The stored tail, verified again; None if absent or found corrupt."""
        with self._lock(exclusive=False):
            data = self._read("tail.bin")
        if data is None:
            return None
        if len(data) < 88 or (len(data) - 8) % 80:
            self._drop("tail.bin", f"{len(data)} bytes is not a whole number of headers")
            return None
        start = int.from_bytes(data[:8], "little")
        headers = [data[k : k + 80] for k in range(8, len(data), 80)]
        try:
            return self._check_tail(start, headers)
        except VerificationError as exc:
            self._drop("tail.bin", f"fails verification ({exc})")
            return None

    # --- merkle proofs of coins in stored blocks ---------------------------------------------

    def proofs(self) -> dict[str, tuple[int, str, int, tuple[str, ...]]]:
        """Merkle proofs kept: txid → (height, block hash, position, branch).

        Believed by no one: the caller checks each against a verified header before using it
        (:meth:`._spv.HeaderCache.proof`). A file that is not such a table is dropped.
        """
        with self._lock(exclusive=False):
            data = self._read("proofs.json")
        if data is None:
            return {}
        out: dict[str, tuple[int, str, int, tuple[str, ...]]] = {}
        try:
            table = json.loads(data)
            for txid, (height, block, pos, branch) in table.items():
                if not (
                    isinstance(txid, str)
                    and isinstance(height, int)
                    and isinstance(block, str)
                    and isinstance(pos, int)
                    and isinstance(branch, list)
                    and all(isinstance(x, str) for x in branch)
                ):
                    raise ValueError("a proof of the wrong shape")
                out[txid] = (height, block, pos, tuple(branch))
        except (ValueError, TypeError, AttributeError) as exc:
            self._drop("proofs.json", f"not a table of proofs ({exc})")
            return {}
        return out

    def put_proofs(self, new: dict[str, tuple[int, str, int, tuple[str, ...]]]) -> None:
        """Add checked proofs to the kept ones (a later run re-checks them before use)."""
        with self._lock(exclusive=True):  # read, merge and write as one: no entry of another lost
            kept = self.proofs()
            kept.update(new)
            text = json.dumps({t: [h, b, p, list(br)] for t, (h, b, p, br) in sorted(kept.items())})
            self._write("proofs.json", text.encode())

    # --- single headers of header assurance (below the last checkpoint) ---------------------

    def assured(self) -> dict[int, bytes]:
        """Single headers kept for header assurance: height → header, each verified again.

        Each must still carry its epoch's checkpointed target and meet it
        (:func:`~utxo_truth._checkpoints.header_assurance`); a file with one that does not, or
        that is not such a table, is dropped.
        """
        from .._checkpoints import header_assurance

        with self._lock(exclusive=False):
            data = self._read("assured.json")
        if data is None:
            return {}
        try:
            out = {int(h): bytes.fromhex(x) for h, x in json.loads(data).items()}
            for height, header in out.items():
                header_assurance(header, height, self.network, self.table)
        except (ValueError, TypeError, AttributeError, VerificationError) as exc:
            self._drop("assured.json", f"fails verification ({exc})")
            return {}
        return out

    def put_assured(self, new: dict[int, bytes]) -> None:
        """Add headers that just passed header assurance to the kept ones."""
        with self._lock(exclusive=True):  # read, merge and write as one: no entry of another lost
            kept = self.assured()
            kept.update(new)
            text = json.dumps({str(h): kept[h].hex() for h in sorted(kept)})
            self._write("assured.json", text.encode())

    def drop_tail_to_fork(self, server_hash: Callable[[int], str | None]) -> int | None:
        """Cut the stored tail back to the last height whose hash the server still has.

        ``server_hash(height)`` is the server's block hash at ``height`` (None above its tip).
        Returns the height the tail now ends at (None when nothing of it is left).
        """
        chain = self.tail()
        if chain is None:
            return None
        lo, hi = chain.start - 1, chain.tip_height  # invariant: lo agrees (or is the anchor)
        if server_hash(hi) == chain.hash(hi):
            return hi
        while hi - lo > 1:  # the chains agree up to a fork point, and differ after it
            mid = (lo + hi) // 2
            if server_hash(mid) == chain.hash(mid):
                lo = mid
            else:
                hi = mid
        if lo < chain.start:
            with self._lock(exclusive=True):
                (self.dir / "tail.bin").unlink(missing_ok=True)
            return None
        self.put_tail(chain.start, chain.headers[: lo - chain.start + 1])
        return lo


def check_tail(
    network: Network, table: CheckpointTable, start: int, headers: Sequence[bytes]
) -> HeaderChain:
    """Check a run of headers hanging from the last checkpoint (from genesis where there is none).

    The first header links to the last checkpoint's hash and carries that epoch's checkpointed
    target; the run links up with proof of work and the network's difficulty rules.

    Raises:
        VerificationError: naming the height and what failed.
    """
    if not table.epochs:
        if start != 0:
            raise VerificationError("with no checkpoint the stored tail starts at genesis")
        return check_header_chain(headers, 0, network, anchor=(0, GENESIS[network]))
    a_height, a_hash = table.last_height, table.epochs[-1][0]
    if start != a_height + 1:
        raise VerificationError(f"the tail starts at {start}, not above the checkpoint")
    if not headers or headers[0][4:36] != bytes.fromhex(a_hash)[::-1]:
        raise VerificationError(
            f"header at height {start} does not link to the checkpoint at {a_height}"
        )
    chain = check_header_chain(headers, start, network, anchor=(start, _hash(headers[0])))
    target = table.epoch_target(start // RETARGET_INTERVAL)
    if target is not None and bits_to_target(int.from_bytes(headers[0][72:76], "little")) != (
        target
    ):
        raise VerificationError(f"header at height {start} does not carry the checkpointed target")
    return chain


def _hash(header: bytes) -> str:
    from ..verify import header_hash

    return header_hash(header)
