"""The SPV middle shared by the network sources (Electrum, Esplora): tip pinning, proof checks.

:func:`pinned` runs a look-up until the tip it began at is still the tip at its end;
:func:`merkle_problem` says why a merkle branch does not put a transaction in the verified
header at its height; :func:`hex32` and :func:`is_int` are the shape checks every reply goes
through. The header chain itself is checked by :func:`utxo_truth.verify.check_header_chain`.
(Formerly ``_checks.py``, which re-exports these names.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._exceptions import InconsistentTipError, SourceProtocolError, VerificationError
from ..verify import HeaderChain, merkle_root_from_branch
from ._base import Lookup

__all__ = ["Restart", "hex32", "is_int", "merkle_problem", "pinned"]


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
