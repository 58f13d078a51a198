"""Reading outside files safely: a size limit, UTF-8, and a nesting limit before any parser runs.

Every reader of a user's or a server's file goes through :func:`read_text`, and a TOML or JSON
text through :func:`check_nesting` before ``tomllib``/``json`` sees it: a 5,000-deep array makes
those parsers raise ``RecursionError``, which must never reach the caller. The error raised is
the caller's own typed error (``error=``), naming the file and what was wrong, never quoting the
file's bytes (it may hold key material).
"""

from __future__ import annotations

from pathlib import Path

from ._exceptions import UtxoTruthError

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "check_nesting", "read_text"]

MAX_FILE_BYTES = 64 << 20
"""Portfolios, reserve files and target lists above this are refused unread."""
MAX_DEPTH = 64
"""Deepest nesting of arrays/tables accepted in TOML and JSON (real files use 3 or 4)."""


def read_text(
    path: Path,
    *,
    what: str,
    error: type[UtxoTruthError],
    limit: int = MAX_FILE_BYTES,
    encoding: str = "utf-8",
) -> str:
    """The text of ``path``, or ``error`` saying why not (unreadable, too large, not UTF-8).

    Example:
        >>> from utxo_truth import InputError
        >>> read_text(Path("/nonexistent"), what="portfolio", error=InputError)
        Traceback (most recent call last):
        ...
        utxo_truth._exceptions.InputError: /nonexistent: cannot read the portfolio: No such file or directory
    """
    try:
        with path.open("rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from exc
    if len(raw) > limit:
        raise error(f"{path}: the {what} is over {limit} bytes: refused unread")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise error(
            f"{path}: the {what} is not UTF-8 text (byte {exc.start} is not); save it as UTF-8"
        ) from None


def check_nesting(text: str, *, where: str, error: type[UtxoTruthError]) -> None:
    """Refuse TOML/JSON nested deeper than :data:`MAX_DEPTH` before parsing it.

    Brackets inside quoted strings are skipped (``"`` and ``'`` strings, with backslash escapes
    in ``"`` ones); a file this check lets through still goes to a parser that checks it fully.

    Example:
        >>> check_nesting('a = [[1], {b = 2}]', where="x", error=UtxoTruthError)
    """
    depth = 0
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise error(f"{where}: nested more than {MAX_DEPTH} levels deep: refused")
        elif ch in "]}":
            depth = max(0, depth - 1)
