"""Hostile Esplora replies against the real harness server: nesting, echoed secrets, path keys."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import pytest
from harness.esplora import Fault

from utxo_truth import scan
from utxo_truth._exceptions import ServerRefusedError, SourceError, SourceProtocolError
from utxo_truth.sources import EsploraSource


def _alice(oracle: dict[str, Any]) -> list[str]:
    return list(oracle["wallets"]["alice"]["descriptors"])


def test_a_deeply_nested_reply_is_a_typed_error(esplora: Any, oracle: dict[str, Any]) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000  # json.loads alone would raise RecursionError
    esplora.faults.queue.append(Fault(200, deep, {"Content-Type": "application/json"}, "/txs"))
    src = EsploraSource(esplora.url, network="regtest", retries=0)
    with pytest.raises(SourceProtocolError, match="nests deeper than 64") as exc:
        scan(_alice(oracle), network="regtest", source=src, gap=20)
    assert exc.value.source == f"esplora+{esplora.url}"


@pytest.mark.parametrize(
    "echo",
    [
        lambda u, p: f"bad login {quote(u)}:{quote(p, safe='')}",
        lambda u, p: "Authorization: Basic " + base64.b64encode(f"{u}:{p}".encode()).decode(),
        lambda u, p: f"bad password {p}",
    ],
)
def test_echoed_credentials_are_scrubbed_in_every_form(
    esplora: Any, oracle: dict[str, Any], echo: Any
) -> None:
    user, password = "bob", "pa55/w0rd+1"
    esplora.faults.queue.append(Fault(400, echo(user, password).encode()))
    url = esplora.url.replace("http://", f"http://{user}:{quote(password, safe='')}@")
    src = EsploraSource(url, network="regtest")
    with pytest.raises(ServerRefusedError) as exc:
        scan(_alice(oracle), network="regtest", source=src, gap=20)
    text = str(exc.value)
    assert "***" in text
    for form in (password, quote(password, safe=""), base64.b64encode(b"bob:pa55/w0rd+1").decode()):
        assert form not in text


def test_a_key_echoed_where_a_hash_belongs_is_scrubbed(
    esplora: Any, oracle: dict[str, Any]
) -> None:
    key = "k3y-s3cret-123"
    esplora.faults.queue.append(Fault(200, f"no-such-key-{key}".encode(), {}, "/blocks/tip/hash"))
    src = EsploraSource(esplora.url + f"/?key={key}", network="regtest")
    with pytest.raises(SourceProtocolError, match="malformed tip hash") as exc:
        scan(_alice(oracle), network="regtest", source=src, gap=20)
    assert key not in str(exc.value) and "***" in str(exc.value)
    assert exc.value.source == f"esplora+{esplora.url}"


def test_a_key_in_the_url_path_is_never_shown() -> None:
    key = "9f86d081884c7d659a2feaa0c55ad015"
    src = EsploraSource(f"http://127.0.0.1:9/btc/{key}/api", network="regtest", retries=0)
    assert src.describe() == "esplora+http://127.0.0.1:9/btc/***/api"
    with pytest.raises(SourceError) as exc:
        src.lookup([bytes.fromhex("0014" + "11" * 20)])
    assert key not in str(exc.value) and key not in repr(exc.value.source)
