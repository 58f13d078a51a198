"""A watch list: a file of addresses and scripts (an exchange's whole list), looked up in one pass.

The file holds one entry a line: an address of the scan's network (base58check P2PKH/P2SH,
bech32 segwit v0, bech32m v1+) or the hex of a scriptPubKey of a recognised form (what
``parse_target`` takes as script hex). Blank lines and lines starting with ``#`` are skipped;
spaces, tabs and carriage returns around an entry are ignored, and a UTF-8 byte order mark at the start.
Nothing else is allowed on a line (no trailing comment, label or second column), and no
descriptors or extended keys (give those as targets or with ``scan --file``). A line repeating
an earlier line's script is counted (``repeats``) and watched once, under its first line.

Where the compiled scanner is built (``_snapscan.c``), the file is read in C straight into a
hash set of the scripts' stored (compressed) forms: no Python object per script, about 46
bytes a script (:attr:`WatchList.memory_bytes`), and the file may be of any size (it is read in
1 MiB pieces). Without a compiler, or with ``UTXO_TRUTH_PURE_PYTHON=1``, the pure-Python reader
here gives the same answer (several hundred bytes a script). Any line the compiled reader does
not take whole is handed to the Python reader's own function, so every error is the same.

A bad line is an error naming the line number and what is wrong, and the whole list is refused:
a private key (WIF, xprv) or seed words on a line are refused with
:class:`~utxo_truth.PrivateKeyError` and never echoed.

Example:
    >>> from utxo_truth import read_watch_list
    >>> w = read_watch_list("tests/data/watchlist-regtest.txt", "regtest")
    >>> len(w), w.lines
    (6, 7)
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._exceptions import (
    ChecksumError,
    InputError,
    NetworkMismatchError,
    PrivateKeyError,
    TargetError,
    UtxoTruthError,
)
from ._network import Network, parse_network
from ._script import script_type_of
from .sources import _snapfast
from .sources.snapshot import _raw_form as raw_form
from .sources.snapshot import compress_script
from .targets import _PUBLIC_PREFIXES, _address_script, _refuse_private

__all__ = ["MAX_LINE", "WatchList", "read_watch_list"]

MAX_LINE = 65_536
"""The longest line (bytes, before spaces are taken off) a watch list may hold."""
_MAX_TEXT = 20_000  # as parse_target: the hex of a 10,000-byte script
_HEX = frozenset("0123456789abcdefABCDEF")
_CHUNK = 1 << 20
_RUN = re.compile(r"[A-Za-z0-9]+")
_WORDS = re.compile(r"[\s,;]+")  # seed words are written apart by spaces, commas or semicolons
_SEED = (
    "refused: it holds what looks like seed words (a BIP-39 mnemonic). A watch list holds "
    "addresses only. The words were not stored, printed or sent."
)
_RAW_KEY = (
    "refused: it holds a 32-byte hex string, which may be a raw private key and is not a "
    "script. A watch list holds addresses and script hex only. It was not stored, printed or sent."
)


@functools.cache
def _seed_words() -> frozenset[str]:
    from embit.wordlists.bip39 import WORDLIST

    return frozenset(WORDLIST)


def _is_seed_word(word: str) -> bool:
    """BIP-39: a word of the English list (a line of one is a seed written one word a line)."""
    return word.lower() in _seed_words()


def _looks_mnemonic(words: list[str]) -> bool:
    """BIP-39: a mnemonic is 12-24 words of its list; 12 or more list words are refused."""
    if len(words) < 12:
        return False
    vocab = _seed_words()
    return sum(w.lower() in vocab for w in words) >= 12


def line_script(raw: bytes | None, network: Network) -> bytes | None:
    """The script of one watch-list line (None for a blank line or a comment): the reference.

    ``raw`` is the line without its newline (None for one over :data:`MAX_LINE` bytes). Raises
    the typed error, without the line number (:func:`read_watch_list` adds it).
    """
    if raw is None:
        raise TargetError(f"over {MAX_LINE:,} bytes long: not one address or script hex")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # never quoted: it may be key material
        raise TargetError("not UTF-8 text (not shown)") from None
    t = text.strip()
    if not t or t.startswith("#"):
        return None
    _refuse_private(t)  # a WIF, an xprv, a bare 32-byte hex: refused, never echoed
    for run in _RUN.findall(t):  # a 32-byte hex with a label or a comma attached ("<hex>,cold")
        if (
            62 <= len(run) <= 66
            and sum(c not in _HEX for c in run) <= 2
            and not (
                len(run) == 66 and run[:2] in ("02", "03")  # a compressed public key
            )
        ):
            raise PrivateKeyError(_RAW_KEY)
    words = _WORDS.split(t)
    if len(words) == 1 and t.isalpha() and len(t) <= 8 and _is_seed_word(t):
        raise PrivateKeyError(_SEED)  # seed words one a line: a backup, not a watch list
    if len(words) > 1:
        if _looks_mnemonic(words):
            raise PrivateKeyError(_SEED)
        raise TargetError(
            f"holds {len(words)} words (not shown): a watch list has one address or script hex "
            "a line, and a # comment takes a whole line"
        )
    if len(t) > _MAX_TEXT:
        raise TargetError(f"{len(t):,} characters: too long to be an address or a script")
    if "(" in t or "#" in t or t[:4] in _PUBLIC_PREFIXES:
        raise TargetError(
            "a watch list holds addresses and script hex only: give descriptors and extended "
            "public keys as scan targets or with --file (a # comment takes a whole line)"
        )
    if set(t) <= _HEX and len(t) % 2 == 0:
        script = bytes.fromhex(t)
        if script_type_of(script) == "nonstandard":
            raise TargetError(f"hex of {len(script)} bytes that is not a recognised scriptPubKey")
        return script
    try:
        return _address_script(t, network)
    except PrivateKeyError:
        raise
    except UtxoTruthError as exc:  # its message quotes the start of the text: never here
        message = (
            f"not an address of {network.label} nor the hex of a script ({_why(exc)}; the line "
            "is not shown: a watch list's bad line may be key material)"
        )
        if isinstance(exc, NetworkMismatchError):
            raise NetworkMismatchError(message, expected=exc.expected, found=exc.found) from None
        raise type(exc)(message) from None


def _why(exc: UtxoTruthError) -> str:
    """What kind of failure, without any of the text that failed."""
    if isinstance(exc, ChecksumError):
        return "its checksum is wrong: a typo?"
    if isinstance(exc, NetworkMismatchError):
        return f"an address of {exc.found}"
    return "not a form an address takes"


class _PyWatchSet:
    """The pure-Python twin of ``_snapscan.WatchSet``: the same look-ups, in dicts."""

    def __init__(self) -> None:
        self._line: dict[bytes, int] = {}  # script -> its first line
        self._order: list[tuple[int, bytes]] = []  # (first line, script), in the file's order
        self._forms: dict[bytes, bytes] = {}  # stored form -> script
        self.lines = 0
        self.repeats = 0

    def add(self, script: bytes, line: int) -> None:
        self.lines += 1
        if script in self._line:
            self.repeats += 1
            return
        self._line[script] = line
        self._order.append((line, script))
        self._forms.setdefault(compress_script(script), script)
        if _uncompressed_pk(script):  # Core stores it raw when the key is not on the curve
            self._forms.setdefault(raw_form(script), script)

    def __len__(self) -> int:
        return len(self._line)

    def line_of(self, script: bytes) -> int | None:
        return self._line.get(script)

    def chunk(self, offset: int, n: int) -> tuple[list[tuple[int, bytes]], int]:
        items = self._order[offset : offset + n]  # a slice: batches cost O(n) each, not O(all)
        return items, offset + len(items)

    @property
    def memory(self) -> int:
        import sys

        return (
            sys.getsizeof(self._line)
            + sys.getsizeof(self._forms)
            + sum(sys.getsizeof(k) for k in self._forms)
            + sum(sys.getsizeof(s) for s in self._line)
        )

    def stored_forms(self) -> dict[bytes, bytes]:
        return self._forms


def _uncompressed_pk(script: bytes) -> bool:
    return len(script) == 67 and script[0] == 65 and script[1] == 4 and script[66] == 0xAC


class WatchList:
    """The scripts of a watch-list file, read for one network (see :func:`read_watch_list`).

    ``len()`` is the number of distinct scripts; :attr:`lines` the lines holding one
    (repeats included). Pass it to :func:`utxo_truth.scan` as ``watch_list=``.

    Example:
        >>> from utxo_truth import read_watch_list
        >>> w = read_watch_list("tests/data/watchlist-regtest.txt", "regtest")
        >>> w.line_of(bytes.fromhex("0014756535a3319c6d8933ff03fa30285105d895a189"))
        3
    """

    def __init__(self, path: Path, network: Network, watched: Any) -> None:
        self.path = path
        self.network = network
        self._set = watched

    @property
    def name(self) -> str:
        """The file's name, as answers show it (never its contents)."""
        return self.path.name

    @property
    def label(self) -> str:
        """What a result calls the list: ``list:NAME (N scripts)``."""
        return f"list:{self.name} ({len(self):,} scripts)"

    @property
    def lines(self) -> int:
        """Lines holding a script, repeats included (blank lines and comments not)."""
        return int(self._set.lines)

    @property
    def repeats(self) -> int:
        """Lines whose script an earlier line already holds (watched once, under the first)."""
        return int(self._set.repeats)

    @property
    def memory_bytes(self) -> int:
        """Bytes the set holds: in C its slots, records and filter (an estimate in Python)."""
        return int(self._set.memory)

    @property
    def compiled(self) -> object | None:
        """The compiled set (``_snapscan.WatchSet``) the snapshot scanner reads, or None."""
        return None if isinstance(self._set, _PyWatchSet) else self._set

    def __len__(self) -> int:
        return len(self._set)

    def line_of(self, script: bytes) -> int | None:
        """The line (1-based) where ``script`` first appears, or None if it is not watched."""
        line: int | None = self._set.line_of(script)
        return line

    def batches(self, size: int = 10_000) -> Iterator[list[bytes]]:
        """The scripts in the file's order, ``size`` at a time (sources asked in batches)."""
        offset = 0
        while True:
            items, offset = self._set.chunk(offset, size)
            if not items:
                return
            yield [s for _, s in items]

    def stored_forms(self) -> dict[bytes, bytes]:
        """Every stored form in a snapshot -> its script (for the pure-Python snapshot reader)."""
        if isinstance(self._set, _PyWatchSet):
            return self._set.stored_forms()
        forms: dict[bytes, bytes] = {}
        for batch in self.batches(100_000):
            for s in batch:
                forms.setdefault(compress_script(s), s)
                if _uncompressed_pk(s):
                    forms.setdefault(raw_form(s), s)
        return forms


def read_watch_list(path: str | os.PathLike[str], network: Network | str) -> WatchList:
    """Read a watch-list file (one address or script hex a line) for ``network``.

    In C where the compiled scanner is built (no Python object per script), else in Python;
    both give the same scripts, line numbers and errors.

    Raises:
        PrivateKeyError: a line holds a private key or seed words (never echoed).
        ChecksumError: an address with a bad base58check or bech32/bech32m checksum.
        NetworkMismatchError: an address of another network.
        TargetError: any other bad line, or a list with no script at all.
        InputError: the file cannot be read.

    Example:
        >>> w = read_watch_list("tests/data/watchlist-regtest.txt", "regtest")
        >>> w.label, w.repeats
        ('list:watchlist-regtest.txt (6 scripts)', 1)
    """
    net = parse_network(network)
    where = Path(path)
    if "\0" in str(where):  # the OS cannot open it; say so as a typed error
        raise InputError("a watch list's path cannot hold a NUL character: give the file's path")

    def fallback(number: int, raw: bytes | None) -> bytes | None:
        try:
            return line_script(raw, net)
        except InputError as exc:  # the same error, with where it is (its type is kept)
            exc.args = (f"watch list {where.name} line {number}: {exc}", *exc.args[1:])
            raise

    watched: Any
    try:
        compiled = _snapfast.watch_list(
            where, net.params.hrp, net.params.p2pkh, net.params.p2sh, fallback
        )
        watched = compiled if compiled is not None else _read_python(where, fallback)
    except OSError as exc:
        raise InputError(f"cannot read watch list {where}: {exc.strerror or exc}") from exc
    except OverflowError:
        raise TargetError(f"watch list {where.name}: more than 2**32-1 lines") from None
    if not len(watched):
        raise TargetError(
            f"watch list {where.name} holds no address or script (only blank lines and comments)"
        )
    return WatchList(where, net, watched)


def _read_python(path: Path, fallback: Any) -> _PyWatchSet:
    """The pure-Python reader: the same lines as the C one (split at newlines only)."""
    out = _PyWatchSet()
    number = 0
    rest = b""
    first = True
    with path.open("rb") as f:
        while True:
            data = f.read(_CHUNK)
            if first:
                first = False
                if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark
                    data = data[3:]
            if not data:
                break
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            for raw in lines:
                number += 1
                _add(out, fallback, number, raw)
            if len(rest) > MAX_LINE:
                fallback(number + 1, None)
    if rest:
        number += 1
        _add(out, fallback, number, rest)
    return out


def _add(out: _PyWatchSet, fallback: Any, number: int, raw: bytes) -> None:
    if number > 0xFFFFFFFF:
        raise OverflowError
    script = fallback(number, raw if len(raw) <= MAX_LINE else None)
    if script is not None:
        out.add(script, number)
