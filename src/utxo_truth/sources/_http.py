"""The HTTP transport of the Esplora source: GETs that come back whole, typed, or not at all.

One pooled session, a whole-reply deadline, a size and nesting cap, typed failures, credentials
scrubbed, bounded parallel requests.

Nothing here knows what Esplora's replies mean (that is :mod:`._esplora_api` and
``esplora.py``); everything here is about getting a body back safely:

* status codes are mapped to errors by a table (:func:`_refusal_for`): 429/503 are *busy* and
  waited out, other 5xx, dropped connections, timeouts and truncated or garbled bodies are
  *failures* and retried (both under :class:`~._retry.RetryPolicy`), 401/403 are
  :class:`AccessDeniedError` (as for every source), a 400 naming electrs' utxo or history
  limit is :class:`HistoryTooLargeError`;
* a reply over :data:`MAX_BODY` bytes or nested deeper than :data:`MAX_DEPTH` is a
  :class:`SourceProtocolError` before it is parsed (no ``RecursionError`` reaches the caller);
* whatever a server sends back that ends up in a message is scrubbed of the credentials in
  every form it could echo them (plain, URL-encoded, base64 of the Basic ``user:password``).

The transport is injectable: ``EsploraSource(session=...)`` keeps the caller's session.

Example:
    >>> scrub = scrubber(["s3cret/key"])
    >>> scrub("echo: s3cret%2Fkey and s3cret/key")
    'echo: *** and ***'
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

import requests
import urllib3

from .._exceptions import (
    AccessDeniedError,
    HistoryTooLargeError,
    ServerBusyError,
    ServerRefusedError,
    SourceError,
    SourceProtocolError,
    SourceTimeoutError,
    SourceUnavailableError,
)
from ._retry import RetryPolicy, retry_after_seconds

__all__ = [
    "MAX_BODY",
    "MAX_DEPTH",
    "Aborted",
    "HttpTransport",
    "Retryable",
    "json_depth_exceeds",
    "redact_path",
    "scrubber",
    "secret_path_segments",
]

T = TypeVar("T")
Progress = Callable[[int, int], None]

MAX_BODY = 64 << 20
"""The largest reply read (a history page of 25 large transactions is a few MiB)."""
MAX_DEPTH = 64
"""The deepest JSON nesting accepted (an Esplora transaction object is 4 levels deep)."""
_LIMIT_WORDS = ("too many history entries", "too many unspent transaction outputs")
"""electrs' own words for its utxo/history limits (a 400 has no finer code to read)."""
_BUSY = frozenset({429, 503})
_DENIED = frozenset({401, 403})


class Aborted(Exception):
    """Another request of the same step failed: this one gives up (its caller has an error)."""


class Retryable(Exception):
    """A reply worth asking again (busy, 5xx, dropped, truncated, garbled)."""

    def __init__(
        self,
        message: str,
        error: type[SourceError] = SourceUnavailableError,
        *,
        wait_seconds: float | None = None,
        busy: bool = False,
    ) -> None:
        super().__init__(message)
        self.error = error
        """What to raise when the retries run out."""
        self.wait_seconds = wait_seconds
        self.busy = busy


def scrubber(secrets: Iterable[str | None]) -> Callable[[str], str]:
    """A function removing every form of ``secrets`` a server might echo from a text.

    Each secret of 4 characters or more is replaced as given, URL-encoded (``quote`` and
    ``quote_plus``) and base64-encoded; pass ``"user:password"`` too, for the Basic header.

    Example:
        >>> scrubber(["alice:pw12"])("Basic YWxpY2U6cHcxMg==")
        'Basic ***'
    """
    forms: set[str] = set()
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        forms |= {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
        b64 = base64.b64encode(secret.encode()).decode()
        forms |= {b64, b64.rstrip("=")}
    # the longest first, so that a form containing another is replaced whole
    ordered = sorted(forms, key=len, reverse=True)

    def scrub(text: str) -> str:
        for form in ordered:
            if form in text:
                text = text.replace(form, "***")
        return text

    return scrub


_KEYLIKE = re.compile(r"(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-.~%]{16,}")


def secret_path_segments(path: str) -> list[str]:
    """The segments of a URL path that look like an API key (providers put keys there).

    A segment of 16 or more characters mixing letters and digits is taken for one; words such
    as ``api``, ``testnet`` or ``v1`` are not.

    Example:
        >>> secret_path_segments("/btc/9f86d081884c7d659a2feaa0c55ad015/api")
        ['9f86d081884c7d659a2feaa0c55ad015']
    """
    return [seg for seg in path.split("/") if _KEYLIKE.fullmatch(seg)]


def redact_path(path: str) -> str:
    """``path`` with its key-like segments (:func:`secret_path_segments`) shown as ``***``.

    Example:
        >>> redact_path("/btc/9f86d081884c7d659a2feaa0c55ad015/api")
        '/btc/***/api'
    """
    secrets = set(secret_path_segments(path))
    return "/".join("***" if seg in secrets else seg for seg in path.split("/"))


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_OPENERS = frozenset(b"[{")
_CHUNK = 64
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth_exceeds(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when the JSON text ``body`` nests arrays/objects deeper than ``limit``.

    Read without parsing, so that a hostile reply cannot exhaust the parser's recursion: the
    depth is followed a chunk of brackets at a time (counted by ``bytes.count``; a chunk is
    walked bracket by bracket only when it could pass the limit). Brackets inside strings are
    counted too at first (Esplora's strings are hex and words: stripping them would cost a
    third of the parse); only a reply found too deep that way is read again without its
    strings. Mismatched brackets are left to the parser (a garbled reply), which also turns a
    ``RecursionError`` into a typed error, should a string's closing brackets hide depth here.

    Example:
        >>> json_depth_exceeds(b'{"a": [[1], "[[["]}', limit=3), json_depth_exceeds(b"[[[[]]]]", 3)
        (False, True)
    """
    return _deeper(body.translate(None, _NOT_BRACKETS), limit) and _deeper(
        _STRING.sub(b"", body).translate(None, _NOT_BRACKETS), limit
    )


def _deeper(brackets: bytes, limit: int) -> bool:
    depth = 0
    for start in range(0, len(brackets), _CHUNK):
        chunk = brackets[start : start + _CHUNK]
        opens = chunk.count(b"[") + chunk.count(b"{")
        if depth + opens <= limit:
            depth += 2 * opens - len(chunk)
            continue
        for c in chunk:
            depth += 1 if c in _OPENERS else -1
            if depth > limit:
                return True
    return False


def _refusal_for(status: int, text: str, where: str) -> SourceError | None:
    """The typed error for a final (not retried) HTTP status; None for 200."""
    if status == 200:
        return None
    low = text.lower()
    if status == 400 and any(w in low for w in _LIMIT_WORDS):
        return HistoryTooLargeError(f"{where}: the server refuses: {text[:160]}", code=status)
    if status in _DENIED:
        return AccessDeniedError(
            f"{where}: access denied (HTTP {status}); check the API key or credentials",
            code=status,
        )
    if status >= 400:
        if "<html" in low:
            text = "an HTML page"
        return ServerRefusedError(f"{where}: HTTP {status}: {text[:160]}", code=status)
    return SourceProtocolError(f"{where}: unexpected HTTP {status}")


class HttpTransport:
    """GETs against one API root, retried under a :class:`RetryPolicy`, run ``parallel`` at once.

    Args:
        root: the API root (no credentials, no query string).
        where: how the source is named in messages (never with a secret).
        session: the ``requests.Session`` to use; by default a pooled one sized for
            ``parallel`` (then closed by :meth:`close`).
        parallel: requests in flight at once.
        timeout: seconds a request may take in all, from connecting to the reply's last byte.
        policy: the retry policy.
        params: the query string sent with every request.
        auth: HTTP basic credentials.
        headers: headers sent with every request.
        secrets: further secrets to scrub from what the server sends (an API key, a path key).
        progress: called as ``(done, to_do)`` as requests end.
    """

    def __init__(
        self,
        root: str,
        *,
        where: str,
        session: requests.Session | None,
        parallel: int,
        timeout: float,
        policy: RetryPolicy,
        params: dict[str, str],
        auth: tuple[str, str] | None,
        headers: dict[str, str],
        secrets: Sequence[str | None] = (),
        progress: Progress | None = None,
    ) -> None:
        self.root, self.where = root, where
        self.parallel, self.timeout, self.policy = parallel, timeout, policy
        self.params, self.auth, self.headers = params, auth, headers
        self.progress = progress
        self.own_session = session is None
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(
                pool_connections=1, pool_maxsize=parallel, max_retries=0
            )
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            # proxies from the environment are read once, here; requests would otherwise read
            # them (and ~/.netrc) again for every request, a third of its time per request
            session.proxies = requests.utils.get_environ_proxies(root)
            session.trust_env = False
        self.session = session
        basic = f"{auth[0]}:{auth[1]}" if auth else None
        self.scrub = scrubber([*params.values(), *(auth or ()), basic, *secrets])
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._abort = threading.Event()
        self.retried = 0
        self._done = 0
        self._to_do = 0

    def close(self) -> None:
        """Stop the worker threads and close the session (if it was ours)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self.own_session:
            self.session.close()

    def get(self, path: str, *, json_reply: bool, missing_ok: bool = False) -> Any:
        """GET ``path`` with retries; the body as text or parsed JSON; None for an allowed 404."""
        url = self.root + path
        attempts = self.policy.start()
        while True:
            if self._abort.is_set():
                raise Aborted
            try:
                return self._get_once(url, path, json_reply=json_reply, missing_ok=missing_ok)
            except Retryable as exc:
                with self._lock:
                    self.retried += 1
                if exc.busy:
                    pause = attempts.after_busy(exc.wait_seconds)
                    if pause is None:
                        raise ServerBusyError(
                            f"{self.where}{path}: the server is rate-limiting this client "
                            f"({exc}) beyond max_wait={self.policy.max_wait:g}s. Wait and retry, "
                            "lower parallel, or use your own server",
                            code=429,
                        ) from None
                else:
                    pause = attempts.after_failure()
                    if pause is None:
                        raise exc.error(
                            f"{self.where}{path}: {exc} ({self.policy.retries + 1} attempts)"
                        ) from None
                if self._abort.wait(pause):
                    raise Aborted from None

    def _get_once(self, url: str, path: str, *, json_reply: bool, missing_ok: bool) -> Any:
        deadline = time.monotonic() + self.timeout
        # requests' exceptions are not chained (``from None``): they carry the URL with the
        # query string, where an API key (``?key=``) may be
        try:
            r = self.session.get(
                url,
                params=self.params or None,
                headers=self.headers,
                auth=self.auth,
                timeout=self.timeout,
                stream=True,
            )
        except requests.Timeout:
            raise Retryable(f"no answer within {self.timeout:g}s", SourceTimeoutError) from None
        except requests.ConnectionError:
            raise Retryable("connection failed or dropped") from None
        except requests.RequestException as exc:
            raise SourceUnavailableError(
                f"{self.where}{path}: request failed: {type(exc).__name__}"
            ) from None
        body = self._read_body(r, path, deadline)
        status = r.status_code
        if status in _BUSY:
            raise Retryable(
                f"HTTP {status}",
                ServerBusyError,
                wait_seconds=retry_after_seconds(r.headers.get("Retry-After")),
                busy=True,
            )
        if status >= 500:
            raise Retryable(f"HTTP {status}")
        if status == 404 and missing_ok:
            return None
        text = self.scrub(body[:300].decode("utf-8", "replace").strip())
        refusal = _refusal_for(status, text, f"{self.where}{path}")
        if refusal is not None:
            raise refusal
        if not json_reply:
            return body.decode("utf-8", "replace").strip()
        if json_depth_exceeds(body):
            raise SourceProtocolError(
                f"{self.where}{path}: the reply nests deeper than {MAX_DEPTH} levels"
            )
        try:
            return json.loads(body)
        except RecursionError:  # mismatched and deep: the pre-check leaves it to the parser
            raise SourceProtocolError(
                f"{self.where}{path}: the reply nests deeper than the parser can follow"
            ) from None
        except ValueError:
            raise Retryable(
                "the reply is not JSON (truncated or garbled)", SourceProtocolError
            ) from None

    def _read_body(self, r: requests.Response, path: str, deadline_seconds: float) -> bytes:
        """The whole body by ``deadline``, at most :data:`MAX_BODY` bytes.

        Read as bytes arrive (``read1``), so that a server trickling them is cut off at the
        deadline rather than holding a worker for as long as it likes.
        """
        raw = r.raw
        read1 = getattr(raw, "read1", None)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                if time.monotonic() > deadline_seconds:
                    raise Retryable(f"no whole answer within {self.timeout:g}s", SourceTimeoutError)
                chunk = read1(1 << 16, decode_content=True) if read1 else raw.read(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY:
                    raise SourceProtocolError(
                        f"{self.where}{path}: the reply is over {MAX_BODY >> 20} MiB"
                    )
        except urllib3.exceptions.ReadTimeoutError:
            raise Retryable(
                f"the reply stalled for {self.timeout:g}s", SourceTimeoutError
            ) from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError, OSError):
            raise Retryable("the reply was truncated", SourceProtocolError) from None
        finally:
            r.close()
        return b"".join(chunks)

    def many(self, jobs: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``jobs`` ``parallel`` at a time; results in order; the first error is raised."""
        if not jobs:
            return []
        with self._lock:
            self._to_do += len(jobs)
        if self.parallel == 1 or len(jobs) == 1:
            results = []
            for job in jobs:
                results.append(job())
                self._tick()
            return results
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.parallel, thread_name_prefix="esplora")
        futures = [self._pool.submit(job) for job in jobs]
        try:
            for f in as_completed(futures):  # as they end: the first failure is seen at once
                error = f.exception()
                if error is not None:
                    raise error
                self._tick()
            return [f.result() for f in futures]
        except BaseException:
            # nothing may go on asking the server behind the caller's back: queued jobs are
            # dropped, running ones stop at their next request or pause
            self._abort.set()
            raise
        finally:
            for f in futures:
                f.cancel()
            wait(futures)
            self._abort.clear()

    def _tick(self) -> None:
        with self._lock:
            self._done += 1
            done, to_do = self._done, self._to_do
        if self.progress is not None:
            self.progress(done, to_do)
