"""How an Esplora server's block headers are fetched for :class:`._spv.HeaderCache`.

Only the heights the cache says are missing: ``/blocks/:start`` (10 block summaries a request,
each rebuilt into its header and checked against its id), and where a server does not serve it,
a walk back header by header (``/block-height/:h``, then ``/block/:hash/header``, each header
hashing to the hash asked and naming its parent's), in as many segments as requests in flight.
The checking of the assembled run is the cache's (:meth:`._spv.HeaderCache.chain`).
"""

from __future__ import annotations

from collections.abc import Callable

from .._exceptions import VerificationError
from .._models import BlockRef
from ..verify import HeaderChain, header_hash
from ._esplora_api import header_from_summary as _header_from_summary
from ._http import HttpTransport
from ._spv import HeaderCache, Restart, hex32

__all__ = ["BLOCKS_PAGE", "SEGMENT", "EsploraHeaders"]

SEGMENT = 16
"""The fewest headers walked back from one ``/block-height`` look-up (a worker walks a segment;
there are as many segments as workers, so that the walk takes ``headers / parallel`` requests'
time)."""
BLOCKS_PAGE = 10
"""Block summaries per ``/blocks/:start`` reply."""


class EsploraHeaders:
    """The header fetching of one Esplora source, into its :class:`._spv.HeaderCache`."""

    def __init__(
        self,
        http: HttpTransport,
        cache: HeaderCache,
        *,
        where: str,
        parallel: int,
        max_headers: int,
    ) -> None:
        self._http = http
        self.cache = cache
        self.where = where
        self.parallel = parallel
        self.max_headers = max_headers
        self.blocks_endpoint = True
        """False once the server is found not to serve ``/blocks/:start``."""

    def chain(self, tip: BlockRef) -> tuple[HeaderChain | None, str | None]:
        """The verified chain to ``tip`` (:class:`._spv.HeaderCache` says from where), or why not.

        Only the headers not held (in memory or in the header store) are fetched.
        """
        low, kind = self.cache.plan(tip.height)
        if tip.height < low:
            raise VerificationError(
                f"{self.where}: its tip {tip.height} is below the checkpoint height {low}"
            )
        missing = self.cache.missing(low, tip.height)
        if len(missing) > self.max_headers:
            return None, (
                f"not verified: the {len(missing):,} headers from height {low} to the tip "
                f"exceed max_headers={self.max_headers:,} (Esplora sends at most 10 headers a "
                "request); pass a checkpoint=(height, hash) at or below your oldest coin, or "
                "verify through an Electrum server"
            )
        self.fetch(missing, tip)
        return self.cache.chain(tip, low, kind, self.hash_at), None

    def hash_at(self, height: int) -> str | None:
        """The server's block hash at ``height`` (None above its tip): finds a fork point."""
        at = self._http.get(f"/block-height/{height}", json_reply=False, missing_ok=True)
        return None if at is None else hex32(at, "block hash")

    def fetch(self, missing: list[int], tip: BlockRef) -> None:
        """Fetch the heights ``missing`` (ascending) into the cache.

        ``/blocks/:start`` gives 10 a request; what it does not give is walked back header by
        header from ``/block-height`` in segments.
        """
        for run in self._http.many(self.blocks_jobs(tip)):
            self.cache.add(run)
        missing = [h for h in missing if h not in self.cache.held]
        if not missing:
            return
        # one worker walks a segment back header by header: as many segments as workers
        size = min(max(-(-len(missing) // self.parallel), SEGMENT), 1000)
        segments: list[tuple[int, int]] = []
        start = missing[0]
        for a, b in zip(missing, [*missing[1:], None], strict=True):
            if b != a + 1 or a - start + 1 == size:
                segments.append((start, a))
                if b is not None:
                    start = b
        for run in self._http.many([self._segment_job(lo, hi, tip) for lo, hi in segments]):
            self.cache.add(run)

    def blocks_jobs(self, tip: BlockRef) -> list[Callable[[], dict[int, bytes]]]:
        """``/blocks/:start`` requests for the headers to ``tip`` not held."""
        low, _kind = self.cache.plan(tip.height)
        if not self.blocks_endpoint or tip.height < low:
            return []
        missing = self.cache.missing(low, tip.height)
        if len(missing) > self.max_headers:
            return []
        starts = []
        i = len(missing) - 1
        while i >= 0:
            starts.append(missing[i])
            top = missing[i]
            while i >= 0 and missing[i] > top - BLOCKS_PAGE:
                i -= 1
        return [self._blocks_job(h, low) for h in starts]

    def _blocks_job(self, start: int, low: int) -> Callable[[], dict[int, bytes]]:
        """Headers rebuilt from ``/blocks/:start`` summaries, each checked against its id."""

        def job() -> dict[int, bytes]:
            r = self._http.get(f"/blocks/{start}", json_reply=True, missing_ok=True)
            if not isinstance(r, list):
                self.blocks_endpoint = False  # not served: walk header by header instead
                return {}
            out: dict[int, bytes] = {}
            for b in r:
                built = _header_from_summary(b)
                if built is None:
                    self.blocks_endpoint = False
                    return {}
                height, block_id, header = built
                if header_hash(header) != block_id:
                    raise VerificationError(
                        f"{self.where}: the block summary at height {height} does not hash to "
                        "its id. The server is wrong or lying"
                    )
                if low <= height <= start:
                    out[height] = header
            return out

        return job

    def _segment_job(self, lo: int, hi: int, tip: BlockRef) -> Callable[[], dict[int, bytes]]:
        def job() -> dict[int, bytes]:
            if hi == tip.height:
                block_hash = tip.hash
            else:
                at = self._http.get(f"/block-height/{hi}", json_reply=False, missing_ok=True)
                if at is None:
                    raise Restart  # the chain got shorter: a reorg
                block_hash = hex32(at, "block hash")
            out: dict[int, bytes] = {}
            for height in range(hi, lo - 1, -1):
                text = self._http.get(f"/block/{block_hash}/header", json_reply=False)
                try:
                    header = bytes.fromhex(text)
                except ValueError:
                    header = b""
                if len(header) != 80 or header_hash(header) != block_hash:
                    raise VerificationError(
                        f"{self.where}: the header sent for block {block_hash} at height "
                        f"{height} is not that block's header. The server is wrong or lying"
                    )
                out[height] = header
                block_hash = header[4:36][::-1].hex()
            return out

        return job

    def header_at(self, height: int) -> bytes | None:
        """The header the server has at ``height`` (checked by the caller: header assurance)."""
        at = self._http.get(f"/block-height/{height}", json_reply=False, missing_ok=True)
        if at is None:
            return None
        text = self._http.get(f"/block/{hex32(at, 'block hash')}/header", json_reply=False)
        try:
            header = bytes.fromhex(text)
        except ValueError:
            return None
        return header if len(header) == 80 and header_hash(header) == at else None
