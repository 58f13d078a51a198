"""Proving a coin below the last embedded checkpoint without the chain to the tip (issue 13).

Called by the sources where a whole header chain is too dear (Esplora on mainnet: one header a
request). Header assurance: the block's header, fetched alone, must carry its epoch's
checkpointed target and meet it, and the coin's merkle branch must reach its merkle root
(``_checkpoints.header_assurance``). Forging that costs a real block's work at that height.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._checkpoints import header_assurance, load_checkpoints
from .._exceptions import SourceProtocolError, VerificationError
from .._network import Network
from ._checks import hex32, is_int

__all__ = ["header_assured"]


def header_assured(
    network: Network,
    txid: str,
    height: int,
    proof: Any,
    header_at: Callable[[int], bytes | None],
) -> str | None:
    """None when ``txid`` at ``height`` is proven by header assurance, else why not.

    ``proof`` is an Electrum-style merkle proof (``merkle``, ``pos``, and for Esplora
    ``block_height``); ``header_at(height)`` fetches the server's header there.

    Example:
        >>> header_assured(Network.REGTEST, "00" * 32, 1, {}, lambda h: None)
        'header assurance needs embedded checkpoints (none on regtest)'
    """
    table = load_checkpoints(network)
    if not table.epochs:
        return f"header assurance needs embedded checkpoints (none on {network.value})"
    if height > table.last_height:
        return f"height {height} is above the last embedded checkpoint ({table.last_height:,})"
    if not (isinstance(proof, dict) and isinstance(proof.get("merkle"), list)):
        return "no merkle proof"
    if is_int(proof.get("block_height")) and proof["block_height"] != height:
        return f"the merkle proof is for height {proof['block_height']}, not {height}"
    pos = proof.get("pos")
    if not isinstance(pos, int) or isinstance(pos, bool):
        return "malformed merkle proof"
    try:
        branch = [hex32(x, "merkle hash") for x in proof["merkle"]]
        header = header_at(height)
        if header is None:
            return f"the server sent no valid header at height {height}"
        header_assurance(header, height, network, table, txid=txid, branch=branch, pos=pos)
    except (VerificationError, SourceProtocolError) as exc:
        return f"header assurance failed: {exc}"
    return None
