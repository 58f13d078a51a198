"""Chain sources, and :func:`open_source` to make one from a ``--source`` string.

Spec strings (a URL-like form; there is no silent default server, nothing is ever sent to a
third party the user did not name):

* ``snapshot:PATH`` — a Bitcoin Core ``dumptxoutset`` file, offline (the embedded default);
* ``parquet:DIR`` — the coin files ``utxo-truth snapshot export SNAPSHOT --parquet DIR`` wrote,
  answered through DuckDB (the optional extra ``parquet``; :mod:`.parquet`);
* ``electrum://host:port`` (plain TCP) and ``electrums://host:port[?fingerprint=HEX]`` (TLS,
  certificate checked, or pinned by its SHA-256 fingerprint) — an Electrum server, verified;
* ``bitcoind://user:pass@host:port`` or ``bitcoind://host:port?cookie=PATH`` — your own Bitcoin
  Core node (``scantxoutset``; ``scanblocks`` for gap discovery when it has block filters);
* ``esplora+https://host/api`` (``esplora+http://`` for a server of your own) — an Esplora REST
  server (Blockstream's esplora/electrs, mempool.space), verified like Electrum.
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._exceptions import SourceSpecError
from .._network import Network, parse_network
from ._base import ChainSource, Coin, DescriptorSource, Lookup
from ._proxy import electrum_proxy, parse_proxy

if TYPE_CHECKING:
    from ._spv import CacheDir
    from .bitcoind import BitcoindSource
    from .electrum import ElectrumSource
    from .esplora import EsploraSource
    from .snapshot import SnapshotSource

# Loaded when first used (PEP 562), so that a snapshot scan never imports requests or TLS.
_LAZY = {
    "BitcoindSource": "bitcoind",
    "ElectrumSource": "electrum",
    "EsploraSource": "esplora",
    "SnapshotSource": "snapshot",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "BitcoindSource",
    "ChainSource",
    "Coin",
    "DescriptorSource",
    "ElectrumSource",
    "EsploraSource",
    "Lookup",
    "SnapshotSource",
    "open_source",
    "parse_checkpoint",
    "redact",
]


def redact(spec: str) -> str:
    """``spec`` with any ``user:password@`` and query-string secrets replaced by ``***``.

    Also without a scheme (``user:s3cr3t@host``): everything before the last ``@`` of the
    authority is a credential.

    Example:
        >>> redact("user:s3cr3t@host:50001")
        '***@host:50001'
    """
    if "://" in spec:
        spec = re.sub(r"(?<=://)[^/?#]*@", "***@", spec)
    else:
        spec = re.sub(r"^[^/?#]*@", "***@", spec)
    return re.sub(r"(?i)((?:password|pass|token|key|apikey|cookie)=)[^&]*", r"\1***", spec)


def _check_authority(spec: str) -> None:
    """HOST:PORT of a network source readable, before any URL library sees it.

    urllib raises a bare ``ValueError`` for ``HOST:notaport``, ``:99999`` or ``[::1``; here
    that is a :class:`SourceSpecError`, and nothing of the spec is echoed (it may hold a
    password).
    """
    scheme, sep, rest = spec.partition("://")
    if not sep or not re.fullmatch(r"[a-z0-9+]{1,20}", scheme):
        return  # not URL-shaped: the source's own parser refuses it, without echoing it
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    usage = f"{scheme}:// sources are written {scheme}://HOST:PORT"
    try:
        parts = urlsplit(f"//{authority}")
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise SourceSpecError(
            f"{usage}: its host or port cannot be read (an IPv6 host is written [::1]:PORT, the "
            "port is a number 1..65535)"
        ) from None
    if not host:
        raise SourceSpecError(f"{usage}: the host is missing")
    if port is not None and not 1 <= port <= 65535:
        raise SourceSpecError(f"{usage}: the port must be 1..65535")


def parse_checkpoint(text: str) -> tuple[int, str]:
    """``HEIGHT:HASH`` (a block you trust) as ``(height, hash)``, for header verification."""
    height, _, block_hash = text.strip().partition(":")
    block_hash = block_hash.lower()
    if not (
        height.isdigit()
        and len(block_hash) == 64
        and all(c in "0123456789abcdef" for c in block_hash)
    ):
        raise SourceSpecError(
            "a checkpoint is HEIGHT:HASH, the height and hash of a block you trust, e.g. "
            "840000:0000000000000000000320283a032748cef8227873ff4872689bf23f1cda83a5"
        )
    return int(height), block_hash


def open_source(
    spec: str,
    network: Network | str,
    *,
    snapshot_hash: str | None = None,
    checkpoint: tuple[int, str] | None = None,
    cache_dir: CacheDir = None,
    proxy: str | None = None,
    signet_challenge: str | None = None,
) -> ChainSource:
    """Make a chain source from a spec string such as ``snapshot:utxo.dat``.

    ``checkpoint`` anchors an Electrum or Esplora source's header chain at a block you trust
    instead of genesis (see :func:`parse_checkpoint`). ``cache_dir`` is where those two keep
    verified headers (None: the user's cache directory; False: nowhere). ``proxy``
    (``socks5h://HOST:PORT``) is the SOCKS5 proxy (Tor) Electrum and Esplora sources connect
    through; a snapshot has no use for one, and a ``bitcoind://`` source cannot use one
    (refused, not ignored). ``signet_challenge`` (hex) is the challenge an Electrum or Esplora
    source checks signet block signatures against (BIP-325; the default signet's when not
    given).

    Example:
        >>> open_source("snapshot:examples/regtest/utxo-snapshot.dat", "regtest")  # doctest: +SKIP
        <utxo_truth.sources.snapshot.SnapshotSource object at ...>
    """
    net = parse_network(network)
    socks = parse_proxy(proxy) if proxy is not None else None
    if spec.startswith("snapshot:"):
        path = spec[len("snapshot:") :]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise SourceSpecError("snapshot: needs a path, as in snapshot:/data/utxo.dat")
        if checkpoint is not None:
            raise SourceSpecError("a checkpoint applies to electrum(s):// and esplora+ sources")
        from .snapshot import SnapshotSource

        return SnapshotSource(path, net, expected_hash=snapshot_hash)
    if spec.startswith("parquet:"):
        directory = spec[len("parquet:") :].removeprefix("//")
        if not directory:
            raise SourceSpecError("parquet: needs a directory, as in parquet:/data/coins")
        if snapshot_hash is not None or checkpoint is not None:
            raise SourceSpecError(
                "--snapshot-hash and --checkpoint do not apply to a parquet: source (the export "
                "checked the snapshot's hash; its metadata says how)"
            )
        from .parquet import ParquetSource  # pyarrow and DuckDB: loaded only for this source

        return ParquetSource(directory, net)
    if snapshot_hash is not None:
        raise SourceSpecError("--snapshot-hash applies to a snapshot: source only")
    if not isinstance(spec, str) or len(spec) > 4096:
        raise SourceSpecError("a source spec is a string of at most 4096 characters")
    if spec.startswith(("electrum://", "electrums://", "esplora+", "bitcoind://")):
        _check_authority(spec)
    if spec.startswith(("electrum://", "electrums://")):
        from .electrum import ElectrumSource

        if socks is None:
            return ElectrumSource.from_url(
                spec,
                net,
                checkpoint=checkpoint,
                cache_dir=cache_dir,
                signet_challenge=signet_challenge,
            )
        if "proxy=" in spec:
            raise SourceSpecError("the proxy is given twice (in the spec and as proxy=): once")
        return ElectrumSource.from_url(
            spec,
            net,
            checkpoint=checkpoint,
            cache_dir=cache_dir,
            proxy=electrum_proxy(socks),
            signet_challenge=signet_challenge,
        )
    if spec.startswith("esplora+"):
        from .esplora import EsploraSource

        return EsploraSource.from_url(
            spec,
            net,
            checkpoint=checkpoint,
            cache_dir=cache_dir,
            proxy=proxy,
            signet_challenge=signet_challenge,
        )
    if signet_challenge is not None:
        raise SourceSpecError("a signet challenge applies to electrum(s):// and esplora+ sources")
    if checkpoint is not None:
        raise SourceSpecError("a checkpoint applies to electrum(s):// and esplora+ sources")
    if socks is not None and spec.startswith("bitcoind://"):
        raise SourceSpecError(
            "a bitcoind:// source connects directly (your own node): it cannot use the proxy"
        )
    if spec.startswith("bitcoind://"):
        from .bitcoind import BitcoindSource

        return BitcoindSource.from_url(spec, net)
    kind = spec.split(":", 1)[0] if ":" in spec else ""
    # never quote the spec itself: a mistyped one may be a password or a key
    named = f"kind {kind!r}" if kind.isalpha() and len(kind) <= 12 else f"of {len(spec)} characters"
    raise SourceSpecError(
        f"unknown source ({named}): use snapshot:PATH (a Bitcoin Core dumptxoutset file), "
        "parquet:DIR (its Parquet export), electrum(s)://HOST:PORT, esplora+https://HOST/PATH "
        "or bitcoind://HOST:PORT"
    )
