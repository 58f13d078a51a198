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
    script_type: str | None = None,
    proxy: str | None = None,
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
        progress: optional callback ``(done, needed)``.
        script_type: what a plain xpub/tpub (no SLIP-132 hint) given as a string stands for:
            by default it is scanned under every single-key type (``pkh``, ``sh-wpkh``,
            ``wpkh``, ``tr``) and ``TargetHoldings.coins_under`` says which hold coins; one
            of those names scans it as that type only.
        proxy: ``socks5h://HOST:PORT`` (or ``socks5://``; ``user:password@`` allowed): the
            SOCKS5 proxy (Tor) through which sources given as spec strings connect
            (Electrum and Esplora). Never shown in a message.

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
    kind = "any" if script_type is None else script_type
    parsed = [
        t if isinstance(t, Target) else parse_target(t, net, script_type=kind) for t in targets
    ]
    if (source is None) == (sources is None):
        raise InputError("give one chain source (source=) or several to compare (sources=)")
    if proxy is not None and not any(isinstance(s, str) for s in (source, *(sources or ()))):
        raise InputError(
            "proxy= applies to sources given as spec strings: pass proxy= to the "
            "EsploraSource or ElectrumSource you made"
        )

    def one(s: ChainSource) -> Holdings:
        if s.network is not net:
            raise InputError(f"the source serves {s.network.label} but the scan is for {net.label}")
        return discover(parsed, s, gap=gap, range=range, progress=progress)

    if source is not None:
        return one(open_source(source, net, proxy=proxy) if isinstance(source, str) else source)
    assert sources is not None
    opened = [open_source(s, net, proxy=proxy) if isinstance(s, str) else s for s in sources]
    held, consensus = compare(opened, one, lambda s: s.describe(), policy=policy)
    return held.model_copy(update={"consensus": consensus})
