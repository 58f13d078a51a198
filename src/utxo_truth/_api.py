"""The top-level verbs: :func:`scan`."""

from __future__ import annotations

from collections.abc import Sequence

from ._exceptions import InputError
from ._models import Holdings
from ._network import Network, parse_network
from .discovery import DEFAULT_GAP, DEFAULT_RANGE, Progress, discover
from .sources import ChainSource, open_source
from .targets import Target, parse_target

__all__ = ["scan"]


def scan(
    targets: str | Target | Sequence[str | Target],
    *,
    network: Network | str,
    source: ChainSource | str,
    gap: int = DEFAULT_GAP,
    range: int = DEFAULT_RANGE,
    progress: Progress | None = None,
) -> Holdings:
    """Find the unspent outputs of xpubs, descriptors, addresses or scripts at one block.

    Args:
        targets: one target or several (strings are parsed with :func:`parse_target`).
        network: ``main``, ``testnet``, ``testnet4``, ``signet`` or ``regtest``; never implied.
        source: a :class:`ChainSource`, or a spec string such as ``snapshot:utxo.dat``.
        gap: stop gap on sources that know history (0 is treated as 1).
        range: indexes 0..range-1 per chain on sources that know only unspent coins.
        progress: optional callback ``(done, needed)``.

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
    src = open_source(source, net) if isinstance(source, str) else source
    if src.network is not net:
        raise InputError(f"the source serves {src.network.label} but the scan is for {net.label}")
    return discover(parsed, src, gap=gap, range_=range, progress=progress)
