"""Watch lists (issue 19 item 4): a file of addresses/script hex read into the compiled set.

The compiled reader (``_snapscan.watch_list``) and the pure-Python one (``UTXO_TRUTH_PURE_PYTHON``)
are tested equal: on real addresses of every type for main, testnet and regtest (decoded by
embit and bitcoinlib too), on mutated lines (every accepted script and every error the same),
and on the scan of Bitcoin Core's regtest dump, which is Core's own ``scantxoutset`` answer.
"""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, SNAPSHOT, coin_key
from embit import base58, bech32
from embit.networks import NETWORKS
from embit.script import address_to_scriptpubkey

from utxo_truth import (
    ChecksumError,
    InputError,
    NetworkMismatchError,
    PrivateKeyError,
    SnapshotSource,
    TargetError,
    WatchList,
    holdings_from_json,
    read_watch_list,
    scan,
)
from utxo_truth._network import Network
from utxo_truth._script import address_of
from utxo_truth.cli import main
from utxo_truth.discovery import discover_watch_list
from utxo_truth.sources import _snapfast
from utxo_truth.watchlist import _PyWatchSet, line_script

warnings.filterwarnings("ignore")
from bitcoinlib.keys import Address  # noqa: E402

LIST = DATA / "watchlist-regtest.txt"
compiled = pytest.mark.skipif(not _snapfast.available(), reason="the compiled scanner is not built")
WIF = "L1aW4aubDFB7yfras2S1mN3bqg7nwhhvyBHjDi3s6qKEdwE4eKJB"
XPRV = (
    "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNN"
    "U3TGtRBeJgk33yuGBxrMPHi"
)
SEED = "abandon " * 11 + "about"


def pure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_snapfast.ENV_PURE, "1")


def both(path: Path, network: str, monkeypatch: pytest.MonkeyPatch) -> tuple[WatchList, WatchList]:
    """The list read by the compiled reader and by the pure-Python one."""
    c = read_watch_list(path, network)
    with monkeypatch.context() as m:
        pure(m)
        p = read_watch_list(path, network)
    assert p.compiled is None
    return c, p


def contents(w: WatchList) -> list[tuple[int, bytes]]:
    return [(w.line_of(s) or 0, s) for batch in w.batches(7) for s in batch]


def test_the_example_list(monkeypatch: pytest.MonkeyPatch) -> None:
    c, p = both(LIST, "regtest", monkeypatch)
    for w in (c, p):
        assert (len(w), w.lines, w.repeats) == (6, 7, 1)
        assert w.label == "list:watchlist-regtest.txt (6 scripts)"
        # the P2WPKH address on line 3; its script hex (upper case) repeats it on line 9
        assert w.line_of(bytes.fromhex("0014756535a3319c6d8933ff03fa30285105d895a189")) == 3
        assert w.line_of(b"\x00\x14" + b"\x99" * 20) is None
    assert contents(c) == contents(p)
    assert [line for line, _ in contents(c)] == [3, 4, 5, 6, 8, 10]


# ---- real addresses of every type, three networks, three decoders ---------------------------


def _scripts(rng: random.Random, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        h, h32 = rng.randbytes(20), rng.randbytes(32)
        size, version = rng.randrange(2, 41), rng.randrange(1, 17)
        out += [
            b"\x76\xa9\x14" + h + b"\x88\xac",  # P2PKH
            b"\xa9\x14" + h + b"\x87",  # P2SH
            b"\x00\x14" + h,  # P2WPKH
            b"\x00\x20" + h32,  # P2WSH
            b"\x51\x20" + h32,  # P2TR
            bytes([0x50 + version, size]) + rng.randbytes(size),  # future witness versions
        ]
    return out


def _embit_script(address: str, hrp: str) -> bytes:
    """embit's decoding: base58check, else BIP173/BIP350 segwit (any version)."""
    try:
        data = base58.decode_check(address)
    except Exception:
        version, program = bech32.decode(hrp, address)
        assert version is not None
        return bytes([0x50 + version if version else 0, len(program)]) + bytes(program)
    if data[0] in (0x00, 0x6F):
        return b"\x76\xa9\x14" + data[1:] + b"\x88\xac"
    return b"\xa9\x14" + data[1:] + b"\x87"


def _bitcoinlib_script(address: str) -> bytes:
    a = Address.parse(address)
    h = a.hash_bytes
    return {
        "p2pkh": b"\x76\xa9\x14" + h + b"\x88\xac",
        "p2sh": b"\xa9\x14" + h + b"\x87",
        "p2wpkh": b"\x00\x14" + h,
        "p2wsh": b"\x00\x20" + h,
        "p2tr": b"\x51\x20" + h,
    }[a.script_type]


@pytest.mark.parametrize("network", ["main", "test", "regtest"])
def test_real_addresses_decode_as_embit_and_bitcoinlib_do(
    network: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, oracle: dict[str, Any]
) -> None:
    rng = random.Random(network)
    scripts = _scripts(rng, 200)
    addresses = [address_of(s, network) for s in scripts]
    if network == "regtest":  # and Bitcoin Core's own addresses of the regtest chain
        for w in oracle["wallets"].values():
            for u in w.get("listunspent_with_mempool", []):
                if u.get("address"):
                    addresses.append(u["address"])
                    scripts.append(address_to_scriptpubkey(u["address"]).data)
    path = tmp_path / "list.txt"
    path.write_text("\n".join(a or "" for a in addresses) + "\n")
    c, p = both(path, network, monkeypatch)
    assert contents(c) == contents(p)
    net = NETWORKS[Network(network).params.embit]
    for line, (a, s) in enumerate(zip(addresses, scripts, strict=True), start=1):
        assert a is not None
        first = c.line_of(s)
        assert first is not None and first <= line  # a repeat keeps its first line
        assert _embit_script(a, Network(network).params.hrp) == s  # embit's decoding
        if s[0] in (0x00, 0x76, 0xA9) or s[:2] == b"\x51\x20":  # the types bitcoinlib knows
            assert _bitcoinlib_script(a) == s
    assert net is not None
    assert len(c) == len(set(scripts))


@compiled
def test_the_compiled_reader_takes_plain_lines_itself(tmp_path: Path) -> None:
    """Addresses and script hex of the common forms never reach the Python fallback."""
    rng = random.Random(4)
    lines = []
    fixed = [s for i, s in enumerate(_scripts(rng, 100)) if i % 6 != 5]  # the 5 common types
    for s in fixed:
        lines += [address_of(s, "regtest") or "", s.hex(), s.hex().upper(), f"  {s.hex()}\t\r"]
    lines += ["# a comment", "", "   "]
    path = tmp_path / "plain.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode())  # a BOM, no final newline
    called: list[int] = []
    p = Network.REGTEST.params

    def fallback(number: int, raw: bytes | None) -> bytes | None:
        called.append(number)
        return line_script(raw, Network.REGTEST)

    ws = _snapfast.watch_list(path, p.hrp, p.p2pkh, p.p2sh, fallback)
    assert called == []
    assert len(ws) == 500 and ws.lines == 2000 and ws.repeats == 1500


# ---- mutated lines: the same scripts and the same errors from both readers ------------------


def _mutate(rng: random.Random, text: str) -> str:
    t = list(text)
    r = rng.random()
    if r < 0.3 and t:
        t[rng.randrange(len(t))] = rng.choice("qpzry9x8gf2tvdw0s3jn54khce6mua7l1ABCXYZmn0 #(")
    elif r < 0.5 and t:
        del t[rng.randrange(len(t))]
    elif r < 0.6:
        t = list(text.upper())
    elif r < 0.7 and t:
        i = rng.randrange(len(t))
        t[i] = t[i].swapcase()
    elif r < 0.8:
        t.insert(rng.randrange(len(t) + 1), rng.choice("q1\t \x0b\r"))
    return "".join(t)


@compiled
@pytest.mark.parametrize("network", ["main", "test", "regtest", "signet", "testnet4"])
def test_both_readers_agree_line_by_line_on_mutated_lines(network: str, tmp_path: Path) -> None:
    rng = random.Random(f"mutate {network}")
    lines = []
    long_ones = [
        b"\x41\x04" + rng.randbytes(64) + b"\xac",  # uncompressed P2PK: two stored forms
        b"\x6a" + bytes(range(200)),  # a raw form whose VARINT size takes two bytes
        b"\x51" + (b"\x21\x02" + rng.randbytes(32)) * 3 + b"\x53\xae",  # bare 1-of-3
    ]
    for s in [*_scripts(rng, 60), b"\x21\x02" + bytes(32) + b"\xac", b"\x6a\x04abcd", *long_ones]:
        for other in ("main", "test", "regtest"):
            a = address_of(s, other)
            if a:
                lines += [a, _mutate(rng, a)]
        lines += [s.hex(), _mutate(rng, s.hex())]
    lines += [WIF, XPRV, "ab" * 32, SEED, "", "#", "bc1 # x", "5120" + "ab" * 30]
    rng.shuffle(lines)
    path = tmp_path / "mutated.txt"
    path.write_text("\n".join(lines) + "\n")
    net = Network(network)
    errors: dict[int, tuple[str, str]] = {}

    def fallback(number: int, raw: bytes | None) -> bytes | None:
        try:
            return line_script(raw, net)
        except InputError as exc:  # kept, and the line skipped, so that every line is compared
            errors[number] = (type(exc).__name__, str(exc))
            return None

    ws = _snapfast.watch_list(path, net.params.hrp, net.params.p2pkh, net.params.p2sh, fallback)
    from_c, errors = dict(errors), {}
    py = _PyWatchSet()
    for number, raw in enumerate(path.read_bytes().split(b"\n")[:-1], start=1):
        s = fallback(number, raw)
        if s is not None:
            py.add(s, number)
    assert ws.chunk(0, 10**6)[0] == py.chunk(0, 10**6)[0]
    assert from_c == errors
    assert (len(ws), ws.lines, ws.repeats) == (len(py), py.lines, py.repeats)
    kinds = {k for k, _ in errors.values()}
    assert {"ChecksumError", "TargetError", "PrivateKeyError"} <= kinds
    assert len(ws) > 100
    for s in long_ones:
        assert ws.line_of(s) == py.line_of(s) is not None


# ---- bad lines: typed, with the line number, never echoing a secret -------------------------


@pytest.mark.parametrize(
    ("line", "error", "says"),
    [
        (WIF, PrivateKeyError, "WIF private key"),
        (XPRV, PrivateKeyError, "extended private key"),
        ("ab" * 32, PrivateKeyError, "raw private key"),
        (SEED, PrivateKeyError, "seed words"),
        ("bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8g", ChecksumError, "checksum"),
        ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", NetworkMismatchError, "mainnet"),
        ("BCRT1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f", TargetError, "not an address"),
        ("wpkh(02" + "11" * 32 + ")", TargetError, "descriptors"),
        ("ff00ab", TargetError, "not a recognised scriptPubKey"),
        ("bcrt1q... # label", TargetError, "words"),
    ],
)
@pytest.mark.parametrize("reader", ["compiled", "pure"])
def test_a_bad_line_is_a_typed_error_naming_its_line(
    line: str,
    error: type[Exception],
    says: str,
    reader: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if reader == "pure":
        pure(monkeypatch)
    elif not _snapfast.available():
        pytest.skip("the compiled scanner is not built")
    path = tmp_path / "bad.txt"
    path.write_text(f"# header\nbcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f\n\n{line}\n")
    with pytest.raises(error) as caught:
        read_watch_list(path, "regtest")
    message = str(caught.value)
    assert message.startswith("watch list bad.txt line 4: ")
    assert says in message
    if error is PrivateKeyError:  # not even a part of it
        secret = line.replace(" ", "")
        assert not any(
            secret[i : i + 6] in message.replace(" ", "") for i in range(len(secret) - 5)
        )


@pytest.mark.parametrize("reader", ["compiled", "pure"])
def test_files_that_are_not_lists(
    reader: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if reader == "pure":
        pure(monkeypatch)
    elif not _snapfast.available():
        pytest.skip("the compiled scanner is not built")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(TargetError, match="holds no address or script"):
        read_watch_list(empty, "regtest")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f\n\xff\xfe secret\n")
    with pytest.raises(TargetError, match=r"line 2: not UTF-8 text \(not shown\)"):
        read_watch_list(binary, "regtest")
    long = tmp_path / "long.txt"
    long.write_bytes(b"0014" + b"ab" * 40_000 + b"\n")
    with pytest.raises(TargetError, match="line 1: over 65,536 bytes"):
        read_watch_list(long, "regtest")
    with pytest.raises(InputError, match="cannot read watch list"):
        read_watch_list(tmp_path / "missing.txt", "regtest")


# ---- the scan: one pass, one result, Core's answer ------------------------------------------


def _core_coins(oracle: dict[str, Any], scripts: set[str]) -> set[tuple[Any, ...]]:
    return {
        coin_key(u)
        for w in oracle["wallets"].values()
        for u in w["scantxoutset"]["unspents"]
        if u["script_pubkey"] in scripts
    }


@pytest.mark.parametrize("reader", ["compiled", "pure"])
def test_scanning_a_list_gives_cores_answer_with_each_coins_line(
    reader: str, oracle: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    if reader == "pure":
        pure(monkeypatch)
    elif not _snapfast.available():
        pytest.skip("the compiled scanner is not built")
    h = scan(watch_list=LIST, network="regtest", source=f"snapshot:{SNAPSHOT}")
    assert (h.block.height, h.block.hash) == (oracle["tip"]["height"], oracle["tip"]["hash"])
    (t,) = h.targets
    assert (t.kind, t.method, t.scripts_watched, t.scripts_holding) == ("list", "list", 6, 4)
    assert "bcrt1" not in t.target  # the file's name and count, never its contents
    w = read_watch_list(LIST, "regtest")
    scripts = {s.hex() for batch in w.batches() for s in batch}
    assert {coin_key(u) for u in h.utxos} == _core_coins(oracle, scripts)
    assert h.total_sats == sum(u.value for u in h.utxos) == t.total_sats
    for u in h.utxos:
        assert u.origin is not None and u.origin.target == 0 and u.origin.chain is None
        assert u.origin.index == w.line_of(bytes.fromhex(u.script_pubkey))
    # the same coins as the targets one by one, and a round trip through scan --json
    one_by_one = scan(
        [s for batch in w.batches() for s in (b.hex() for b in batch)],
        network="regtest",
        source=f"snapshot:{SNAPSHOT}",
    )
    assert {coin_key(u) for u in one_by_one.utxos} == {coin_key(u) for u in h.utxos}
    assert h.model_dump() == holdings_from_json(_json_of(h)).model_dump()


def _json_of(h: Any) -> str:
    import io

    from utxo_truth._scanjson import write_scan_json

    buf = io.StringIO()
    write_scan_json(h, buf)
    return buf.getvalue()


@compiled
def test_a_compiled_list_scanned_by_the_pure_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    w = read_watch_list(LIST, "regtest")
    assert w.compiled is not None
    src = SnapshotSource(SNAPSHOT, "regtest")
    fast = discover_watch_list(w, src)
    pure(monkeypatch)
    slow = discover_watch_list(w, src)
    assert fast.model_dump() == slow.model_dump()


@compiled
def test_a_list_over_16_mb_is_streamed(tmp_path: Path, oracle: dict[str, Any]) -> None:
    """400,000 lines (18 MB, over --file's 16 MB cap), Core's holders among them."""
    rng = random.Random(16)
    holders = [line for line in LIST.read_text().splitlines() if line and line[0] != "#"]
    path = tmp_path / "big.txt"
    with path.open("w") as f:
        for i in range(400_000):
            if i % 80_000 == 7:
                f.write(holders[i // 80_000] + "\n")
            f.write(f"0014{rng.randbytes(20).hex()}\n")
    assert path.stat().st_size > 16 << 20
    w = read_watch_list(path, "regtest")
    assert len(w) == 400_005 and w.memory_bytes < 60 * len(w)
    h = scan(watch_list=w, network="regtest", source=f"snapshot:{SNAPSHOT}")
    small = scan(watch_list=LIST, network="regtest", source=f"snapshot:{SNAPSHOT}")
    held = {u.script_pubkey for u in small.utxos}  # the example's 4 holders are among the 5
    assert {u.script_pubkey for u in h.utxos} == held
    assert h.targets[0].scripts_holding == len(held)


def test_other_sources_are_asked_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Parquet export of the same dump, asked two scripts at a time: the same answer."""
    pytest.importorskip("duckdb")
    from utxo_truth.sources.parquet import ParquetSource, export_parquet

    out = tmp_path / "coins"
    export_parquet(SNAPSHOT, out, "regtest")
    w = read_watch_list(LIST, "regtest")
    by_parquet = discover_watch_list(w, ParquetSource(out, "regtest"), batch=2)
    by_snapshot = discover_watch_list(w, SnapshotSource(SNAPSHOT, "regtest"))
    assert [coin_key(u) for u in by_parquet.utxos] == [coin_key(u) for u in by_snapshot.utxos]
    assert [u.origin for u in by_parquet.utxos] == [u.origin for u in by_snapshot.utxos]
    assert by_parquet.block == by_snapshot.block
    assert by_parquet.targets[0].scripts_holding == 4
    seen: list[tuple[int, int]] = []
    discover_watch_list(
        w, ParquetSource(out, "regtest"), batch=4, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (6, 6) and (4, 6) in seen


def test_what_a_list_is_not_scanned_with(tmp_path: Path) -> None:
    src = f"snapshot:{SNAPSHOT}"
    with pytest.raises(InputError, match="on its own"):
        scan(
            ["bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f"],
            watch_list=LIST,
            network="regtest",
            source=src,
        )
    with pytest.raises(InputError, match="one chain source"):
        scan(watch_list=LIST, network="regtest", sources=[src, src])
    with pytest.raises(InputError, match="read for regtest"):
        discover_watch_list(read_watch_list(LIST, "regtest"), _MainSource())  # type: ignore[arg-type]


class _MainSource:
    """A source of another network (only its network is read before the refusal)."""

    network = Network.MAIN
    has_history = False

    def describe(self) -> str:
        return "main"

    def lookup(self, scripts: Any) -> Any:
        raise AssertionError("not asked")


# ---- the command line -----------------------------------------------------------------------


def test_cli_watch_list(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = ["scan", "--snapshot", str(SNAPSHOT), "--network", "regtest"]
    assert main([*base, "--watch-list", str(LIST), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["targets"][0]["kind"] == "list" and doc["targets"][0]["scripts_holding"] == 4
    assert {u["origin"]["index"] for u in doc["utxos"]} == {3, 4, 5, 6}
    assert main([*base, "--watch-list", str(LIST), "--utxos"]) == 0
    text = capsys.readouterr().out
    assert "4 of 6 scripts hold coins" in text and "line 3" in text
    assert (
        main([*base, "--watch-list", str(LIST), "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f"])
        == 2
    )
    assert "--watch-list is scanned on its own" in capsys.readouterr().err
    bad = tmp_path / "keys.txt"
    bad.write_text(f"{WIF}\n")
    assert main([*base, "--watch-list", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "PrivateKeyError" in err and "line 1" in err and WIF[:6] not in err


def test_the_list_model_is_checked() -> None:
    from utxo_truth import TargetHoldings

    fields: dict[str, Any] = {
        "target": "list:x (1 scripts)",
        "kind": "list",
        "script_type": "mixed",
        "method": "list",
        "bound": 0,
        "chains": (),
        "utxos": (),
    }
    with pytest.raises(ValueError, match="watch list's"):
        TargetHoldings(**fields)
    with pytest.raises(ValueError, match="count the lines"):
        TargetHoldings(**fields, scripts_watched=1, scripts_holding=1)
    assert TargetHoldings(**fields, scripts_watched=1, scripts_holding=0).total_sats == 0


@pytest.mark.parametrize("reader", ["compiled", "pure"])
def test_a_bare_p2pk_line_finds_cores_coin(
    reader: str, oracle: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Script hex of a bare P2PK (no address): stored compressed in the dump, found as Core did."""
    if reader == "pure":
        pure(monkeypatch)
    elif not _snapfast.available():
        pytest.skip("the compiled scanner is not built")
    core = oracle["bare_p2pk"]["scantxoutset"]
    path = tmp_path / "p2pk.txt"
    path.write_text(core["unspents"][0]["script_pubkey"] + "\n")
    h = scan(watch_list=path, network="regtest", source=f"snapshot:{SNAPSHOT}")
    assert [coin_key(u) for u in h.utxos] == [coin_key(u) for u in core["unspents"]]
    assert h.total_sats == core["total_sats"] and h.utxos[0].origin.index == 1  # type: ignore[union-attr]
    assert h.utxos[0].address is None and h.block.height == core["height"]


def test_a_snapshot_answers_a_list_as_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list's snapshot answer is held as columns (no object per coin, issue 19 item 2).

    The labels cover only the scripts holding coins, in the order they first match, the same in
    both readers; both stored forms of an uncompressed P2PK (a file may hold either) are one
    script, on its line.
    """
    from embit import ec
    from harness.snapshot_writer import compact, compress_amount, varint, write_header

    from utxo_truth._columns import UtxoView

    rng = random.Random(19)
    key = ec.PrivateKey(bytes(31) + b"\x07").get_public_key()
    key.compressed = False
    sec = key.sec()
    p2pk = b"\x41" + sec + b"\xac"
    holders = [b"\x00\x14" + rng.randbytes(20) for _ in range(2)]
    forms = {  # a coin's script -> the stored form this file keeps it in
        holders[0]: varint(22 + 6) + holders[0],
        holders[1]: varint(22 + 6) + holders[1],
    }
    coins = []  # (txid, vout, height, coinbase, value, stored form)
    held_value = 0
    for i in range(40):
        script = [holders[0], holders[1], p2pk, p2pk, None][i % 5]
        if script is None:
            form = varint(22 + 6) + b"\x00\x14" + rng.randbytes(20)
        elif script is p2pk:  # compressed (Core's form for a key on the curve) and raw
            form = bytes([4 | sec[64] & 1]) + sec[1:33] if i % 2 else varint(67 + 6) + p2pk
        else:
            form = forms[script]
        coins.append((rng.randbytes(32), i % 3, 100 + i % 7, i % 9 == 0, 1000 + i, form))
        held_value += 0 if script is None else 1000 + i
    coins.sort()
    snap = tmp_path / "s.dat"
    with snap.open("wb") as f:
        write_header(f, "regtest", "11" * 32, len(coins))
        for txid, vout, height, coinbase, value, form in coins:
            f.write(txid + compact(1) + compact(vout) + varint(height * 2 + coinbase))
            f.write(varint(compress_amount(value)) + form)
    noise = [f"0014{rng.randbytes(20).hex()}" for _ in range(500)]
    lines = [*noise[:200], holders[1].hex(), *noise[200:], p2pk.hex(), holders[0].hex()]
    lines.append(holders[1].hex())  # a repeat keeps its first line
    path = tmp_path / "list.txt"
    path.write_text("\n".join(lines) + "\n")
    line = {holders[1]: 201, p2pk: 502, holders[0]: 503}

    answers = {}
    for reader in ("compiled", "pure"):
        with monkeypatch.context() as m:
            if reader == "pure":
                pure(m)
            elif not _snapfast.available():
                continue
            w = read_watch_list(path, "regtest")
            cols = SnapshotSource(snap, "regtest").lookup_watched(w).columns
            assert cols is not None and len(cols) == 32
            h = discover_watch_list(w, SnapshotSource(snap, "regtest"))
            assert isinstance(h.utxos, UtxoView) and isinstance(h.targets[0].utxos, UtxoView)
            answers[reader] = (cols, h.model_dump())
            (t,) = h.targets
            assert (t.scripts_watched, t.scripts_holding) == (503, 3)
            assert sorted(cols.scripts) == sorted(line)  # the holders only, the P2PK once
            for u in h.utxos:
                assert u.origin is not None
                assert u.origin.index == line[bytes.fromhex(u.script_pubkey)]
            assert h.total_sats == held_value == t.total_sats
            # the same as the per-coin path's answer (every script asked as a target)
            one_by_one = scan([s.hex() for s in line], network="regtest", source=f"snapshot:{snap}")
            assert [coin_key(u) for u in h.utxos] == [coin_key(u) for u in one_by_one.utxos]
    if "compiled" in answers:
        (fast, fast_dump), (slow, slow_dump) = answers["compiled"], answers["pure"]
        assert list(fast.scripts) == list(slow.scripts)  # label for label
        assert bytes(fast.label) == bytes(slow.label) and fast == slow
        assert fast_dump == slow_dump
