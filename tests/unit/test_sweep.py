"""One test per example of issue 11 (the hostile-input campaign), by its exact input.

Each class of fault has its own section; property tests over the same readers are in
``test_sweep_properties.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT
from harness.snapshot_writer import hash_serialized_3, write_snapshot

from utxo_truth import (
    AllSourcesFailedError,
    ElectrumSource,
    PolicyFailedError,
    SnapshotFormatError,
    SnapshotSource,
    SourceError,
    VerificationError,
    scan,
)
from utxo_truth.cli import main

ALICE = "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f"
DEAD = "electrum://127.0.0.1:1"

# --- 1. silent wrong answers: --policy all, all sources failed --------------------------------


def test_policy_all_with_a_failed_source_is_an_error_naming_it() -> None:
    dead = ElectrumSource("127.0.0.1", 1, network="regtest", tls=False)
    with pytest.raises(PolicyFailedError) as exc:
        scan([ALICE], network="regtest", sources=[SnapshotSource(SNAPSHOT, "regtest"), dead])
    assert isinstance(exc.value, SourceError)
    assert DEAD in str(exc.value) and list(exc.value.failures) == [DEAD]


def test_cli_policy_all_with_a_failed_source_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["scan", ALICE, "--network", "regtest", "--snapshot", str(SNAPSHOT)]
    code = main([*argv, "--source", DEAD, "--policy", "all"])
    err = capsys.readouterr().err
    assert code == 3 and "PolicyFailedError" in err and DEAD in err


def test_cli_quorum_says_which_source_failed(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["scan", ALICE, "--network", "regtest", "--snapshot", str(SNAPSHOT)]
    code = main([*argv, "--source", DEAD, "--policy", "quorum"])
    captured = capsys.readouterr()
    assert code == 0 and "8857143" in captured.out
    assert "warning" in captured.err and f"{DEAD} failed" in captured.err


def test_all_sources_failed_is_a_source_error_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(AllSourcesFailedError) as exc:
        scan(
            [ALICE],
            network="regtest",
            sources=[DEAD, "electrum://127.0.0.1:2"],
            policy="quorum",
        )
    assert set(exc.value.failures) == {DEAD, "electrum://127.0.0.1:2"}
    code = main(
        [
            "scan",
            ALICE,
            "--network",
            "regtest",
            "--source",
            DEAD,
            "--source",
            "electrum://127.0.0.1:2",
        ]
    )
    err = capsys.readouterr().err
    assert code == 3 and "AllSourcesFailedError" in err


# --- 1. the UTXO-set hash binds the snapshot's block -----------------------------------------


def _zeroed_block(tmp_path: Path) -> Path:
    raw = bytearray(SNAPSHOT.read_bytes())
    raw[11:43] = bytes(32)  # the header's base block hash
    path = tmp_path / "zeroed-block.dat"
    path.write_bytes(bytes(raw))
    return path


def test_zeroed_block_hash_fails_a_bound_snapshot_hash(
    tmp_path: Path, oracle: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    u = oracle["utxo_set"]
    path = _zeroed_block(tmp_path)
    with pytest.raises(VerificationError, match="base block"):
        SnapshotSource(path, "regtest", expected_hash=f"{u['bestblock']}:{u['hash_serialized_3']}")
    argv = ["scan", ALICE, "--network", "regtest", "--snapshot", str(path), "--snapshot-hash"]
    full = f"{u['height']}:{u['bestblock']}:{u['hash_serialized_3']}"
    assert main([*argv, full]) == 3
    assert "VerificationError" in capsys.readouterr().err
    # a bare UTXO set hash for a block outside the assumeutxo table binds nothing: refused
    assert main([*argv, u["hash_serialized_3"]]) == 2
    assert "does not cover the snapshot's block" in capsys.readouterr().err


def test_a_bare_hash_through_the_api_says_the_block_is_not_verified(
    tmp_path: Path, oracle: dict[str, Any]
) -> None:
    path = _zeroed_block(tmp_path)
    src = SnapshotSource(path, "regtest", expected_hash=oracle["utxo_set"]["hash_serialized_3"])
    h = scan([ALICE], network="regtest", source=src)
    assert "NOT verified" in h.source and "hash verified" not in h.source
    assert any("does not cover the base block" in p for p in h.problems)
    assert not h.complete


def test_a_bound_hash_says_what_was_verified(oracle: dict[str, Any]) -> None:
    u = oracle["utxo_set"]
    src = SnapshotSource(
        SNAPSHOT,
        "regtest",
        expected_hash=f"{u['height']}:{u['bestblock']}:{u['hash_serialized_3']}",
    )
    h = scan([ALICE], network="regtest", source=src)
    assert "coins match" in h.source and "base block" in h.source and "--snapshot-hash" in h.source
    assert h.block.hash == u["bestblock"] and h.block.height == u["height"]


# --- 3. crashes: snapshot fields out of range -------------------------------------------------

P2WPKH = b"\x00\x14" + b"\x07" * 20


@pytest.mark.parametrize(
    ("coin", "what"),
    [
        ((2**32, 10, False, 1000, P2WPKH), "output index"),  # vout of 2**32
        ((0, 2**31, False, 1000, P2WPKH), "height code"),  # height code of 2**32
        ((0, 10, False, 2**63, P2WPKH), "MAX_MONEY"),  # value of 2**63
        ((0, 10, False, 21_000_000 * 100_000_000 + 1, P2WPKH), "MAX_MONEY"),  # above MAX_MONEY
    ],
)
def test_snapshot_fields_out_of_range_are_format_errors(
    tmp_path: Path, coin: tuple[int, int, bool, int, bytes], what: str
) -> None:
    groups = [(b"\x01" * 32, [coin])]
    path = tmp_path / "bad.dat"
    write_snapshot(path, "regtest", "22" * 32, groups)
    src = SnapshotSource(path, "regtest")
    with pytest.raises(SnapshotFormatError, match=what):
        src.verify_hash()  # the UTXO-set hash path (was OverflowError)
    with pytest.raises(SnapshotFormatError, match=what):
        src.lookup([P2WPKH])  # the scan path (was a pydantic ValidationError)
    checked = SnapshotSource(path, "regtest", expected_hash=hash_serialized_3([]))
    with pytest.raises(SnapshotFormatError):
        scan([f"raw({P2WPKH.hex()})"], network="regtest", source=checked)


# --- 2. secrets never echoed -------------------------------------------------------------------

# BIP32 test vector 1 master key, BIP381's WIF, and BIP32 vector 1's master secret in hex
XPRV = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
WIF = "L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1"
HEXKEY = "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35"


def _grams(text: str, n: int = 7) -> set[str]:
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def assert_no_secret(secret: str, *texts: str) -> None:
    """No run of 7 or more characters of ``secret`` in any of ``texts``."""
    grams = _grams(secret)
    for text in texts:
        leaked = grams & _grams(text)
        assert not leaked, f"{sorted(leaked)[:3]} of the secret in: {text[:300]}"


def _outcome(text: str) -> list[str]:
    from utxo_truth import UtxoTruthError, parse_target

    try:
        t = parse_target(text, "regtest")
    except UtxoTruthError as exc:
        return [str(exc), repr(exc)]
    return [repr(t), t.text, t.descriptor]


def _mutations(secret: str, count: int, seed: int) -> list[str]:
    """``count`` typed-wrong variants: a character deleted, changed, inserted (#, @, :, non-base58),
    and the result wrapped in a descriptor or given a checksum."""
    import random

    rng = random.Random(seed)
    alphabet = "#@:0OIl!/ x'h*" + "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    out = []
    for _ in range(count):
        s = secret
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            i = rng.randrange(len(s))
            op = rng.randrange(3)
            c = rng.choice(alphabet)
            s = s[:i] + s[i + 1 :] if op == 0 else s[:i] + c + s[i + op - 1 :]
        wrap = rng.randrange(5)
        if wrap == 1:
            s = f"wpkh({s})"
        elif wrap == 2:
            s = f"wpkh({s}/0/*)#qqqqqqqq"
        elif wrap == 3:
            s = f"{s}#{secret[:8]}"
        out.append(s)
    return out


@pytest.mark.parametrize(
    "text",
    [
        XPRV[:31] + "#" + XPRV[31:],  # the example: '#' inside an xprv (80 chars echoed)
        WIF[:11] + "#" + WIF[11:],  # '#' inside a WIF (41 chars echoed)
        WIF[:20] + WIF[21:],  # a WIF with one character deleted
        WIF[:20] + "0" + WIF[21:],  # a WIF with a character that is not base58
        XPRV[:50] + XPRV[51:],  # an xprv with one character deleted
        XPRV[:50] + "l" + XPRV[51:],  # an xprv with a character that is not base58
        f"wpkh({XPRV[:60]}O{XPRV[61:]}/0/*)",  # and inside a descriptor (embit's text)
    ],
)
def test_mistyped_keys_are_refused_and_not_echoed(text: str) -> None:
    from utxo_truth import PrivateKeyError, parse_target

    with pytest.raises(PrivateKeyError) as exc:
        parse_target(text, "regtest")
    for secret in (XPRV, WIF):
        assert_no_secret(secret, str(exc.value), repr(exc.value))


@pytest.mark.parametrize(("secret", "count"), [(HEXKEY, 10_000), (XPRV, 2_000), (WIF, 2_000)])
def test_mutated_secrets_never_echoed(secret: str, count: int) -> None:
    for text in _mutations(secret, count, seed=11):
        assert_no_secret(secret, *_outcome(text))


def test_mutated_secrets_not_in_cli_output(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--network", "regtest", "--snapshot", str(SNAPSHOT)]
    for secret in (XPRV, WIF, HEXKEY):
        for text in _mutations(secret, 15, seed=12):
            code = main(["scan", text, *argv])
            captured = capsys.readouterr()
            assert code in (0, 2, 3)
            assert_no_secret(secret, captured.out, captured.err)


def test_source_without_scheme_does_not_echo_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["scan", ALICE, "--network", "regtest", "--source", "user:s3cr3t@host"])
    err = capsys.readouterr().err
    assert code == 2 and "s3cr3t" not in err and "SourceSpecError" in err
    from utxo_truth.sources import redact

    assert "s3cr3t" not in redact("user:s3cr3t@host")


# --- 3. crashes: CLI inputs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec", ["electrum://127.0.0.1:notaport", "electrum://127.0.0.1:99999", "electrum://[::1"]
)
def test_cli_bad_host_port_is_an_input_error(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", ALICE, "--network", "regtest", "--source", spec])
    err = capsys.readouterr().err
    assert code == 2 and "SourceSpecError" in err and "Traceback" not in err


def test_cli_cookie_file_that_is_not_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cookie = tmp_path / ".cookie"
    cookie.write_bytes(b"\xff\xfe\x00__cookie__:\x80\x81" + bytes(range(256)))
    spec = f"bitcoind://127.0.0.1:18443?cookie={cookie}"
    code = main(["scan", ALICE, "--network", "regtest", "--source", spec])
    err = capsys.readouterr().err
    assert code == 2 and "cookie file is not a Bitcoin Core cookie" in err


def test_cli_targets_file_that_is_binary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "targets.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    code = main(
        ["scan", "--file", str(binary), "--network", "regtest", "--snapshot", str(SNAPSHOT)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "not UTF-8 text" in err


# --- 3. crashes and 5. accepted without a word: portfolios ----------------------------------

BASE = 'network = "regtest"\n[[custodians]]\nname = "ex"\n[[positions]]\nname = "p"\ncustodian = "ex"\n'


def _load(tmp_path: Path, text: str | bytes) -> Any:
    from utxo_truth.claims import load_portfolio

    f = tmp_path / "p.toml"
    f.write_bytes(text.encode() if isinstance(text, str) else text)
    return load_portfolio(f)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ('kind = "exchange"\namount = "1e21"\n', "more than 21 million"),  # was InvalidOperation
        ('kind = "exchange"\namount = "1e999999999"\n', "more than 21 million|not a"),
        ('kind = "etf"\nshares = "1000000000"\nbtc_per_share = "1"\n', "more than 21 million"),
        ('kind = "exchange"\namount = "1"\nas_of = 2024-01-01T10:00:00Z\n', "not a date and time"),
        ('kind = "exchange"\namount = "٠.٥"\n', "ASCII digits"),  # Arabic-Indic 0.5
        ('kind = "exchange"\namount = "０.５"\n', "ASCII digits"),  # full-width 0.5
        (
            'kind = "exchange"\namount = "1"\nexit_path = [{action = "a", decided_by = "you", typical_delay = ["x"]}]\n',
            "typical_delay",
        ),
    ],
)
def test_portfolio_values_are_typed_errors(tmp_path: Path, body: str, match: str) -> None:
    from utxo_truth import PortfolioError

    with pytest.raises(PortfolioError, match=match):
        _load(tmp_path, BASE + body)


def test_portfolio_bad_checks_value_names_its_place(tmp_path: Path) -> None:
    from utxo_truth import PortfolioError

    for bad in ('"abc"', '"-1"', "[1]"):
        with pytest.raises(PortfolioError, match=r"checks\.") as exc:
            _load(
                tmp_path,
                BASE + f'kind = "exchange"\namount = "1"\n[checks]\ncoverage_min = {bad}\n',
            )
        assert "p.toml" in str(exc.value)


def test_portfolio_not_utf8_and_deep_nesting(tmp_path: Path) -> None:
    from utxo_truth import PortfolioError

    with pytest.raises(PortfolioError, match="not UTF-8"):
        _load(tmp_path, BASE.encode() + b'kind = "exchange"\namount = "\xff\xfe"\n')
    with pytest.raises(PortfolioError, match="nested"):
        _load(tmp_path, BASE + "x = " + "[" * 5000 + "]" * 5000 + "\n")  # was RecursionError
    with pytest.raises(PortfolioError, match="nested"):
        _load(tmp_path, "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n")


def test_cli_reconcile_hostile_portfolio_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "deep.toml"
    f.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    assert main(["reconcile", str(f)]) == 2
    assert "PortfolioError" in capsys.readouterr().err


# --- 4. time, and 5. options accepted without a word --------------------------------------------


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (
            ["--range", "2147483648"],
            "--range must be 1..100000",
        ),  # the documented maximum ran for minutes
        (["--gap", "5"], "--gap applies to sources that know history"),  # snapshot: no history
        (["--gap", "99999999"], "--gap must be 0..10000"),
        (["--checkpoint", ""], "checkpoint"),
        (["--timeout", "-1"], "--timeout"),
    ],
)
def test_cli_options_that_cannot_apply_are_refused(
    extra: list[str], match: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["scan", ALICE, "--network", "regtest", "--snapshot", str(SNAPSHOT), *extra])
    err = capsys.readouterr().err
    assert code == 2 and match in err


def test_cli_timeout_bounds_a_server_that_never_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket
    import threading
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])  # accept, then never say a word
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    spec = f"electrum://127.0.0.1:{server.getsockname()[1]}"
    started = time.monotonic()
    try:
        code = main(["scan", ALICE, "--network", "regtest", "--source", spec, "--timeout", "1.5"])
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        server.close()
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 3 and elapsed < 5
    assert f"waiting for {spec}" in err and "SourceTimeoutError" in err and "--timeout 1.5 s" in err


def test_cli_empty_checkpoint_refused_for_a_verifying_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["scan", ALICE, "--network", "regtest", "--source", DEAD, "--checkpoint", ""])
    assert code == 2 and "a checkpoint is HEIGHT:HASH" in capsys.readouterr().err
