"""One SOCKS5 proxy setting for every network source (Electrum and Esplora): read, checked.

A proxy is written ``socks5h://HOST:PORT`` (the proxy resolves host names: what Tor needs for
``.onion`` and what keeps names off the local resolver) or ``socks5://HOST:PORT`` (for Esplora,
names are resolved here first; Electrum's own SOCKS client always lets the proxy resolve).
``user:password@`` may be given (Tor's stream isolation, a proxy that checks them); like every
credential, it never appears in a message.

Example:
    >>> p = parse_proxy("socks5h://tor:s3cret@127.0.0.1:9050")
    >>> p.host, p.port, p.url == "socks5h://tor:s3cret@127.0.0.1:9050", p.shown
    ('127.0.0.1', 9050, True, 'socks5h://***@127.0.0.1:9050')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from .._exceptions import SourceSpecError

__all__ = ["Proxy", "electrum_proxy", "parse_proxy"]

_USAGE = "a proxy is socks5h://HOST:PORT (or socks5://HOST:PORT), e.g. socks5h://127.0.0.1:9050"


@dataclass(frozen=True)
class Proxy:
    """A SOCKS5 proxy; ``url`` holds the credentials (to connect), ``shown`` never does."""

    scheme: str
    host: str
    port: int
    url: str = field(repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def shown(self) -> str:
        """The proxy as it may be shown: credentials replaced by ``***``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        auth = "***@" if self.username is not None else ""
        return f"{self.scheme}://{auth}{host}:{self.port}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What a message must never contain (for a scrubber)."""
        return tuple(s for s in (self.username, self.password) if s)


def parse_proxy(text: str) -> Proxy:
    """Read ``socks5h://[user:password@]HOST:PORT``; nothing of it is quoted when refused."""
    if not isinstance(text, str) or len(text) > 1024:
        raise SourceSpecError(_USAGE)
    scheme, sep, _rest = text.partition("://")
    if not sep or scheme.lower() not in ("socks5", "socks5h"):
        shown = scheme.lower() if sep and scheme.isalnum() and len(scheme) <= 10 else None
        what = f"not {shown}://" if shown else "only SOCKS5"
        raise SourceSpecError(f"{_USAGE} ({what}: Electrum and Esplora both speak SOCKS5)")
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
        username, password = parts.username, parts.password
    except ValueError:
        raise SourceSpecError(f"{_USAGE}: its host or port cannot be read") from None
    if not host or port is None or not 1 <= port <= 65535:
        raise SourceSpecError(f"{_USAGE}: the host and a port 1..65535 are needed")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SourceSpecError(f"{_USAGE}: nothing after the port")
    return Proxy(
        scheme=scheme.lower(),
        host=host,
        port=port,
        url=text,
        username=None if username is None else unquote(username),
        password=None if password is None else unquote(password),
    )


def electrum_proxy(proxy: Proxy) -> tuple[str, int]:
    """``(host, port)`` for the Electrum source's SOCKS5 client, which has no authentication.

    Example:
        >>> electrum_proxy(parse_proxy("socks5h://127.0.0.1:9050"))
        ('127.0.0.1', 9050)
    """
    if proxy.username is not None:
        raise SourceSpecError(
            "the Electrum source's SOCKS5 client connects without authentication: give "
            "the proxy without user:password (the credentials were not used or shown)"
        )
    return proxy.host, proxy.port
