"""The top-level verbs: :func:`scan`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ._exceptions import InputError
from ._models import Holdings
from ._multi import compare
from ._network import Network, parse_network
from .discovery import DEFAULT_GAP, DEFAULT_RANGE, Progress, discover
from .sources import ChainSource, open_source
from .targets import Target, parse_target

__all__ = ["scan"]


def scan(
    targets: str | Target | Sequence[str | Target],
    *,
    network: Network | str,
    source: ChainSource | str | None = None,
    sources: Sequence[ChainSource | str] | None = None,
    policy: Literal["all", "quorum"] = "all",
    gap: int = DEFAULT_GAP,
    range: int = DEFAULT_RANGE,
    progress: Progress | None = None,
) -> Holdings:
    """Find the unspent outputs of xpubs, descriptors, addresses or scripts at one block.

    Args:
        targets: one target or several (strings are parsed with :func:`parse_target`).
        network: ``main``, ``testnet``, ``testnet4``, ``signet`` or ``regtest``; never implied.
        source: a :class:`ChainSource`, or a spec string such as ``snapshot:utxo.dat``.
        sources: several sources to ask and compare (instead of ``source``): pinned to one tip,
            compared script by script; ``Holdings.consensus`` says who said what.
        policy: with ``sources``: ``all`` must agree (default) or a ``quorum`` (majority).
        gap: stop gap on sources that know history (0 is treated as 1).
        range: indexes 0..range-1 per chain on sources that know only unspent coins.
        progress: optional callback ``(done, total)``, the total known before the work it
            counts: bytes of the file over a snapshot, else scripts looked up (see
            :data:`utxo_truth.discovery.Progress`).

    Returns:
        :class:`Holdings`: every UTXO with its origin, totals in satoshis, and the block
        (height and hash) the answer is true at.

    Example:
        >>> h = scan(["bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f"], network="regtest",
        ...          source="snapshot:examples/regtest/utxo-snapshot.dat")  # doctest: +SKIP
        >>> h.total_sats, h.block.height  # doctest: +SKIP
        (3857143, 295)
    """
    net = parse_network(network)
    if isinstance(targets, (str, Target)):
        targets = [targets]
    if not targets:
        raise InputError("nothing to scan: give at least one xpub, descriptor, address or script")
    parsed = [t if isinstance(t, Target) else parse_target(t, net) for t in targets]
    if (source is None) == (sources is None):
        raise InputError("give one chain source (source=) or several to compare (sources=)")

    def one(s: ChainSource) -> Holdings:
        if s.network is not net:
            raise InputError(f"the source serves {s.network.label} but the scan is for {net.label}")
        return discover(parsed, s, gap=gap, range=range, progress=progress)

    if source is not None:
        return one(open_source(source, net) if isinstance(source, str) else source)
    assert sources is not None
    opened = [open_source(s, net) if isinstance(s, str) else s for s in sources]
    held, consensus = compare(opened, one, lambda s: s.describe(), policy=policy)
    return held.model_copy(update={"consensus": consensus})
