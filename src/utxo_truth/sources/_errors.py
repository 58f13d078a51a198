"""Where a source's errors get their context: the source's name, and no secrets.

Every public method of a network source that asks a server runs inside :func:`source_errors`:
a :class:`~utxo_truth._exceptions.SourceError` leaving it carries ``.source`` (set here, once,
instead of being read back out of a message), and its message is passed through the source's
scrubber, so that nothing a server sent back (an echoed API key, a Basic header) reaches the
caller whatever check raised it.

Example:
    >>> from utxo_truth._exceptions import SourceProtocolError
    >>> try:
    ...     with source_errors("esplora+https://host/api", lambda t: t.replace("k3y", "***")):
    ...         raise SourceProtocolError("server sent a malformed tip hash: 'k3y'")
    ... except SourceProtocolError as exc:
    ...     (exc.source, str(exc))
    ('esplora+https://host/api', "server sent a malformed tip hash: '***'")
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from .._exceptions import SourceError

__all__ = ["Described", "reports_as_source", "source_errors"]

P = ParamSpec("P")
R = TypeVar("R")


class Described(Protocol):
    """A source: it can name itself without credentials."""

    def describe(self) -> str:
        """The source's name, without credentials."""
        ...


S = TypeVar("S", bound=Described)


@contextlib.contextmanager
def source_errors(source: str, scrub: Callable[[str], str] | None = None) -> Iterator[None]:
    """Attach ``source`` to a :class:`SourceError` raised inside, and scrub its message.

    An error that already names a source (raised by an inner source, as in a multi-source scan)
    keeps it.
    """
    try:
        yield
    except SourceError as exc:
        if exc.source is None:
            exc.source = source
        if scrub is not None and exc.args and isinstance(exc.args[0], str):
            exc.args = (scrub(exc.args[0]), *exc.args[1:])
        raise


def reports_as_source(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run a source's public ``method`` inside :func:`source_errors` (one line at its ``def``).

    The source's ``describe()`` names it; its ``scrub_text`` (if it has one) cleans messages.
    """

    @functools.wraps(method)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with source_errors(self.describe(), getattr(self, "scrub_text", None)):
            return method(self, *args, **kwargs)

    return wrapper
