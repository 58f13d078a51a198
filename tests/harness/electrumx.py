"""Run the real ElectrumX (PyPI ``e-x``) against the bitcoind stand-in, on free local ports.

``make test`` installs ElectrumX into ``.venv-electrumx/`` (its dependencies are kept apart from
ours); ``UTXO_TRUTH_ELECTRUMX`` may point at another ``electrumx_server``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def find_electrumx() -> str | None:
    env = os.environ.get("UTXO_TRUTH_ELECTRUMX")
    if env:
        return env
    local = ROOT / ".venv-electrumx" / "bin" / "electrumx_server"
    if local.exists():
        return str(local)
    return shutil.which("electrumx_server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificate(directory: Path) -> tuple[Path, Path, str]:
    """A throw-away self-signed certificate; returns (cert, key, sha256 fingerprint hex)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    return cert, key, hashlib.sha256(der).hexdigest()


def raw_call(port: int, method: str, params: list[Any], timeout: float = 5.0) -> Any:
    """One JSON-RPC call over plain TCP, without our client (used to wait for readiness).

    ElectrumX 2 wants ``server.version`` first and sends notifications unasked; both handled.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        hello = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "server.version",
            "params": ["harness", ["1.4", "1.6"]],
        }
        ask = {"jsonrpc": "2.0", "id": 2, "method": method, "params": params}
        s.sendall(json.dumps(hello).encode() + b"\n" + json.dumps(ask).encode() + b"\n")
        buf = b""
        while True:
            while b"\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                buf += chunk
            line, buf = buf.split(b"\n", 1)
            if not line.strip():
                continue
            reply = json.loads(line)
            if reply.get("id") != 2:
                continue
            if reply.get("error"):
                raise RuntimeError(reply["error"])
            return reply["result"]


class ElectrumX:
    """``net`` is ElectrumX's NET (regtest, mainnet, testnet4, signet, with COIN=Bitcoin);
    ``default_limits`` leaves ElectrumX's own session cost limits (soft 1,000, hard 10,000,
    10 concurrent requests, 2.5 s request sleep, 30 s request timeout) instead of turning them off.
    """

    def __init__(
        self,
        daemon_port: int,
        *,
        log_name: str = "electrumx",
        net: str = "regtest",
        default_limits: bool = False,
    ) -> None:
        exe = find_electrumx()
        if exe is None:
            raise FileNotFoundError(
                "electrumx_server not found: run `make test`, which installs ElectrumX into .venv-electrumx"
            )
        self.dir = Path(tempfile.mkdtemp(prefix="utxo-truth-ex-"))
        (self.dir / "db").mkdir()
        self.cert, self.key, self.fingerprint = make_certificate(self.dir)
        self.tcp_port = free_port()
        self.ssl_port = free_port()
        env = {
            **os.environ,
            "ALLOW_ROOT": "1",
            "COIN": "Bitcoin",
            "NET": net,
            "DAEMON_URL": f"http://user:pass@127.0.0.1:{daemon_port}/",
            "DB_DIRECTORY": str(self.dir / "db"),
            "DB_ENGINE": "leveldb",
            "SERVICES": f"tcp://127.0.0.1:{self.tcp_port},ssl://127.0.0.1:{self.ssl_port}",
            "SSL_CERTFILE": str(self.cert),
            "SSL_KEYFILE": str(self.key),
            "PEER_DISCOVERY": "off",
            "PEER_ANNOUNCE": "",
            "LOG_LEVEL": "warning",
            "CACHE_MB": "100",
            "DAEMON_POLL_INTERVAL_BLOCKS": "200",
            "DAEMON_POLL_INTERVAL_MEMPOOL": "200",
        }
        if not default_limits:
            # the same relaxed resource limits for every client measured against this server
            env.update(COST_SOFT_LIMIT="0", COST_HARD_LIMIT="0", INITIAL_CONCURRENT="50")
        self.log = (self.dir / f"{log_name}.log").open("wb")
        self.proc = subprocess.Popen([exe], env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_for_height(self, height: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"ElectrumX exited with {self.proc.returncode}: {self.log_tail()}"
                )
            try:
                last = raw_call(self.tcp_port, "blockchain.headers.subscribe", [])
                if last["height"] == height:
                    return
            except (OSError, RuntimeError, ValueError) as exc:
                last = exc
            time.sleep(0.2)
        raise TimeoutError(
            f"ElectrumX did not reach height {height} in {timeout}s (last: {last!r}): {self.log_tail()}"
        )

    def log_tail(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (
            (self.dir / "electrumx.log").read_text(errors="replace")[-2000:]
            if (self.dir / "electrumx.log").exists()
            else ""
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        tail = self.log_tail()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.last_log = tail
