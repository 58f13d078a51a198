"""How far a pass over a file has read, for a progress bar: ``(bytes read, bytes to read)``.

The snapshot's passes run in compiled code (or in a tight Python loop) that reports nothing
while it reads. Instead of a callback inside the loop, a watcher thread reads, five times a
second, the offset of the descriptor the reader opened on the file (found by its device and
inode in ``/proc/self/fd`` or ``/dev/fd``). The total (the file's size times the passes) is
known before the first byte. Where no descriptor list exists, only the start and the end of
each pass are reported.

Example:
    >>> seen = []
    >>> with FileProgress(__file__, 1, lambda done, total: seen.append((done, total))):
    ...     pass
    >>> seen[0][0], seen[-1][0] == seen[-1][1]
    (0, True)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

__all__ = ["FileProgress"]

_FDS = next((p for p in (Path("/proc/self/fd"), Path("/dev/fd")) if p.is_dir()), None)
"""Where the process's open descriptors are listed (Linux, macOS); None: only start and end."""


class FileProgress:
    """Report ``(done, total)`` bytes of ``passes`` reads of ``path`` to ``report``.

    A context manager: on entry ``(0, total)``; while it is open, the offset of the newest
    descriptor on the file every ``interval`` seconds; :meth:`next_pass` between passes; on a
    clean exit ``(total, total)``. ``done`` never decreases. With ``report=None`` it does nothing.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        passes: int,
        report: Callable[[int, int], None] | None,
        *,
        interval: float = 0.2,
    ) -> None:
        self._report = report
        self._interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._fd: int | None = None
        self._base = 0
        self._last = -1
        self._size = self._total = 0
        self._id = (0, 0)
        if report is not None:
            st = os.stat(path)
            self._id = (st.st_dev, st.st_ino)
            self._size = st.st_size
            self._total = st.st_size * max(passes, 1)

    def __enter__(self) -> FileProgress:
        if self._report is not None:
            self._emit(0)
            if _FDS is not None:
                self._thread = threading.Thread(
                    target=self._watch, name="utxo-truth-read", daemon=True
                )
                self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if kind is None and self._report is not None:
            self._emit(self._total)

    def next_pass(self) -> None:
        """One pass is over: the next one counts from the end of it."""
        if self._report is not None:
            with self._lock:
                self._base = min(self._base + self._size, self._total)
            self._emit(self._base)

    def _emit(self, done: int) -> None:
        assert self._report is not None
        with self._lock:
            done = min(max(done, self._last), self._total)
            if done == self._last:
                return
            self._last = done
            self._report(done, self._total)

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            pos = self._position()
            if pos is not None:
                with self._lock:
                    base = self._base
                self._emit(base + min(pos, self._size))

    def _is_ours(self, fd: int) -> bool:
        try:
            st = os.fstat(fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self._id

    def _position(self) -> int | None:
        """The offset of the newest descriptor open on the file (None: none is open).

        The descriptor is the reader's own (the process shares them): ``lseek(fd, 0, SEEK_CUR)``
        only reads its offset. Two system calls a tick once it is found.
        """
        fd = self._fd
        if fd is None or not self._is_ours(fd):
            try:
                fds = sorted((int(n) for n in os.listdir(_FDS)), reverse=True)
            except (OSError, ValueError):
                return None
            fd = self._fd = next((n for n in fds if self._is_ours(n)), None)
            if fd is None:
                return None
        try:
            return os.lseek(fd, 0, os.SEEK_CUR)
        except OSError:
            return None
