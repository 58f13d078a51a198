"""The Esplora transport's pure parts (sources/_http.py): scrubbing, nesting cap, status table."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from utxo_truth._exceptions import (
    AccessDeniedError,
    HistoryTooLargeError,
    ServerRefusedError,
    SourceProtocolError,
)
from utxo_truth.sources._http import (
    MAX_DEPTH,
    _refusal_for,
    json_depth_exceeds,
    redact_path,
    scrubber,
    secret_path_segments,
)

SECRET = "pa55/w0rd+key=1"


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote(SECRET),
        quote_plus(SECRET),
        base64.b64encode(SECRET.encode()).decode(),
        base64.b64encode(SECRET.encode()).decode().rstrip("="),
    ],
)
def test_every_echoed_form_of_a_secret_is_scrubbed(form: str) -> None:
    out = scrubber([SECRET])(f"you sent {form} which is wrong")
    assert out == "you sent *** which is wrong"


def test_basic_auth_header_echo_is_scrubbed() -> None:
    header = base64.b64encode(b"bob:pa55w0rd").decode()
    out = scrubber(["bob", "pa55w0rd", "bob:pa55w0rd"])(f"Authorization: Basic {header}")
    assert header not in out and "pa55w0rd" not in out


def test_short_and_missing_secrets_are_not_scrubbed() -> None:
    assert scrubber([None, "", "ab"])("ab cd") == "ab cd"


@pytest.mark.parametrize("depth", [1, 5, MAX_DEPTH])
def test_nesting_up_to_the_cap_is_accepted(depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    assert not json_depth_exceeds(body)
    assert json.loads(body) is not None


@pytest.mark.parametrize(
    "body",
    [
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,  # would be a RecursionError in json.loads
        b"[{" * 40 + b"}]" * 40,
    ],
)
def test_nesting_past_the_cap_is_caught_before_parsing(body: bytes) -> None:
    assert json_depth_exceeds(body)


def test_brackets_inside_strings_do_not_count() -> None:
    body = json.dumps({"a": ["[" * 500, '\\"[[[', "}}}"]}).encode()
    assert not json_depth_exceeds(body)


def test_mismatched_brackets_are_left_to_the_parser() -> None:
    assert not json_depth_exceeds(b"[[[}")


def test_key_like_path_segments_are_found_and_redacted() -> None:
    key = "9f86d081884c7d659a2feaa0c55ad015"
    assert secret_path_segments(f"/btc/{key}/api") == [key]
    assert redact_path(f"/btc/{key}/api") == "/btc/***/api"
    for path in ("/api", "/testnet/api", "/signet/api/v1", "/mempool-space/api"):
        assert secret_path_segments(path) == [] and redact_path(path) == path


@pytest.mark.parametrize(
    ("status", "text", "error"),
    [
        (400, "Too many history entries", HistoryTooLargeError),
        (400, "Too many unspent transaction outputs (>500)", HistoryTooLargeError),
        (400, "too many requests from your address", ServerRefusedError),  # not the utxo limit
        (401, "", AccessDeniedError),
        (403, "", AccessDeniedError),
        (404, "Not Found", ServerRefusedError),
        (302, "", SourceProtocolError),
    ],
)
def test_status_table(status: int, text: str, error: type[Exception]) -> None:
    err = _refusal_for(status, text, "esplora+http://host")
    assert type(err) is error
    if isinstance(err, ServerRefusedError):
        assert err.code == status


def test_200_is_no_refusal() -> None:
    assert _refusal_for(200, "", "esplora+http://host") is None
