"""Issue 16 item 8: one SOCKS5 proxy option for Electrum and Esplora, through a real proxy.

``harness.socks5.Socks5Proxy`` is a SOCKS5 server we run: it relays the real bytes between the
source and the real test servers (the Esplora test server, ElectrumX) and records each CONNECT.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from conftest import SNAPSHOT, assert_equals_core, load_oracle
from harness.socks5 import Socks5Proxy

from utxo_truth import (
    EsploraSource,
    InputError,
    SourceSpecError,
    SourceUnavailableError,
    open_source,
    scan,
)
from utxo_truth.cli import main

ORACLE = load_oracle()
ALICE = ORACLE["wallets"]["alice"]["descriptors"]
USER, SECRET = "tor-user", "pr0xy-s3cret-pw"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def test_esplora_through_socks5h_equals_core_and_the_proxy_resolved_the_name(
    esplora: Any,
) -> None:
    with Socks5Proxy() as proxy:
        src = EsploraSource(
            f"http://localhost:{esplora.port}",
            network="regtest",
            parallel=4,
            backoff=0.05,
            proxy=proxy.url("socks5h"),
        )
        h = scan(ALICE, network="regtest", source=src, gap=25)
        src.close()
    assert_equals_core(h, ORACLE, "alice")
    assert proxy.requests, "the proxy was not used"
    # socks5h: the name went to the proxy, which resolved it (nothing resolved here)
    assert {(r.host, r.port, r.by_name) for r in proxy.requests} == {
        ("localhost", esplora.port, True)
    }
    assert proxy.relayed > 10_000  # the replies came through it


def test_esplora_through_socks5_resolves_here(esplora: Any) -> None:
    with Socks5Proxy() as proxy:
        h = scan(
            ALICE,
            network="regtest",
            source=f"esplora+http://localhost:{esplora.port}",
            proxy=proxy.url("socks5"),
            gap=25,
        )
    assert_equals_core(h, ORACLE, "alice")
    assert proxy.requests and not any(r.by_name for r in proxy.requests)


def test_cli_proxy_for_esplora_with_credentials_never_shown(
    esplora: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with Socks5Proxy(credentials=(USER, SECRET)) as proxy:
        code, out, err = run(
            capsys,
            "scan",
            *ALICE,
            "--network",
            "regtest",
            "--source",
            f"esplora+http://localhost:{esplora.port}",
            "--proxy",
            proxy.url(),
            "--gap",
            "25",
            "--json",
        )
    assert code == 0, err
    assert json.loads(out)["total_sats"] == ORACLE["wallets"]["alice"]["scantxoutset"]["total_sats"]
    assert proxy.requests and all(r.user == USER for r in proxy.requests)
    assert SECRET not in out + err and USER not in out + err


def test_wrong_proxy_credentials_and_a_dead_proxy_are_source_errors_without_them(
    esplora: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with Socks5Proxy(credentials=(USER, "another-password")) as proxy:
        bad = f"socks5h://{USER}:{SECRET}@127.0.0.1:{proxy.port}"
        src = EsploraSource(
            f"http://localhost:{esplora.port}",
            network="regtest",
            retries=0,
            proxy=bad,
        )
        with pytest.raises(SourceUnavailableError) as exc:
            scan(ALICE, network="regtest", source=src)
        assert proxy.refused_auth >= 1 and not proxy.requests
    assert SECRET not in str(exc.value) and USER not in str(exc.value)
    dead = f"socks5h://{USER}:{SECRET}@127.0.0.1:{_closed_port()}"
    code, out, err = run(
        capsys,
        "scan",
        *ALICE,
        "--network",
        "regtest",
        "--source",
        f"esplora+http://localhost:{esplora.port}",
        "--proxy",
        dead,
        "--timeout",
        "20",
    )
    assert code == 3 and out == "" and "SourceUnavailableError" in err
    assert SECRET not in err and USER not in err


def test_electrum_through_the_same_proxy_option(
    electrumx: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with Socks5Proxy() as proxy:
        code, out, err = run(
            capsys,
            "scan",
            *ALICE,
            "--network",
            "regtest",
            "--source",
            f"electrum://127.0.0.1:{electrumx.ex.tcp_port}",
            "--proxy",
            proxy.url(),
            "--gap",
            "25",
            "--json",
        )
    assert code == 0, err
    data = json.loads(out)
    assert data["total_sats"] == ORACLE["wallets"]["alice"]["scantxoutset"]["total_sats"]
    assert data["verified_sats"] == data["total_sats"]
    # Electrum's SOCKS client always lets the proxy resolve the name
    assert {(r.host, r.port, r.by_name) for r in proxy.requests} == {
        ("127.0.0.1", electrumx.ex.tcp_port, True)
    }


def test_electrum_refuses_proxy_credentials_without_showing_them() -> None:
    with pytest.raises(SourceSpecError) as exc:
        open_source(
            "electrum://127.0.0.1:50001", "regtest", proxy=f"socks5h://{USER}:{SECRET}@h:9050"
        )
    assert str(exc.value) == (
        "the Electrum source's SOCKS5 client connects without authentication: give the proxy "
        "without user:password (the credentials were not used or shown)"
    )
    with pytest.raises(SourceSpecError, match="given twice"):
        open_source(
            "electrum://127.0.0.1:50001?proxy=socks5://127.0.0.1:9050",
            "regtest",
            proxy="socks5h://127.0.0.1:9050",
        )


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        (
            f"http://{USER}:{SECRET}@127.0.0.1:8080",
            "a proxy is socks5h://HOST:PORT (or socks5://HOST:PORT), e.g. "
            "socks5h://127.0.0.1:9050 (not http://: Electrum and Esplora both speak SOCKS5)",
        ),
        (
            f"socks5h://{USER}:{SECRET}@127.0.0.1",
            "a proxy is socks5h://HOST:PORT (or socks5://HOST:PORT), e.g. "
            "socks5h://127.0.0.1:9050: the host and a port 1..65535 are needed",
        ),
        (
            f"socks5h://{USER}:{SECRET}@127.0.0.1:notaport",
            "a proxy is socks5h://HOST:PORT (or socks5://HOST:PORT), e.g. "
            "socks5h://127.0.0.1:9050: its host or port cannot be read",
        ),
        (
            f"{USER}:{SECRET}@127.0.0.1:9050",
            "a proxy is socks5h://HOST:PORT (or socks5://HOST:PORT), e.g. "
            "socks5h://127.0.0.1:9050 (only SOCKS5: Electrum and Esplora both speak SOCKS5)",
        ),
    ],
)
def test_a_proxy_that_cannot_be_used_is_refused_as_written(proxy: str, message: str) -> None:
    with pytest.raises(SourceSpecError) as exc:
        EsploraSource("http://127.0.0.1:3002", network="regtest", proxy=proxy)
    assert str(exc.value) == message


def test_cli_proxy_on_sources_that_cannot_use_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "scan",
        *ALICE,
        "--network",
        "regtest",
        "--snapshot",
        str(SNAPSHOT),
        "--proxy",
        "socks5h://127.0.0.1:9050",
    )
    assert (code, out) == (2, "")
    assert err == (
        "utxo-truth: input error (InputError): --proxy applies to electrum(s):// and esplora+ "
        "sources\n"
    )
    with pytest.raises(SourceSpecError, match="bitcoind:// source connects directly"):
        open_source("bitcoind://127.0.0.1:18443", "regtest", proxy="socks5h://127.0.0.1:9050")
    with pytest.raises(InputError, match="proxy= applies to sources given as spec strings"):
        scan(
            ALICE,
            network="regtest",
            source=EsploraSource("http://h:1", network="regtest"),
            proxy="socks5h://127.0.0.1:9050",
        )
