"""Malformed and hostile inputs: each gets the right typed error, none crashes, none echoes a secret."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT, load_oracle
from embit import bip32, bip39, ec
from embit.networks import NETWORKS

from utxo_truth import (
    ChecksumError,
    DescriptorError,
    InputError,
    MultisigNeedsDescriptorError,
    NetworkMismatchError,
    PrivateKeyError,
    SnapshotFormatError,
    SourceSpecError,
    SourceUnavailableError,
    TargetError,
    UtxoTruthError,
    open_source,
    parse_target,
    scan,
)
from utxo_truth.sources.snapshot import SnapshotSource

ORACLE = load_oracle()
ALICE = ORACLE["wallets"]["alice"]
TPUB = ALICE["xpub"]
ALICE_DESC = ALICE["descriptors"][0]
SEED = bip39.mnemonic_to_seed("abandon " * 11 + "about")
MAIN_ROOT = bip32.HDKey.from_seed(SEED)
TEST_ROOT = bip32.HDKey.from_seed(SEED, version=NETWORKS["test"]["xprv"])
MAIN_XPUB = MAIN_ROOT.derive("m/84h/0h/0h").to_public().to_string()
SECRET = ec.PrivateKey(bytes.fromhex("11" * 32))


def _private_inputs() -> list[tuple[str, str]]:
    """(input, the secret part that must never be echoed)."""
    out = []
    for net, names in (("main", "xprv yprv zprv Yprv Zprv"), ("test", "xprv yprv zprv Yprv Zprv")):
        root = MAIN_ROOT if net == "main" else TEST_ROOT
        for name in names.split():
            s = root.to_string(version=NETWORKS[net][name])
            out.append((s, s[4:]))
    for net in ("main", "test"):
        for compressed in (True, False):
            key = ec.PrivateKey(SECRET.secret, compressed=compressed)
            wif = key.wif(NETWORKS[net])
            out.append((wif, wif[1:]))
            typo = wif[:10] + ("a" if wif[10] != "a" else "b") + wif[11:]  # checksum now wrong
            out.append((typo, typo[1:]))
    xprv = TEST_ROOT.derive("m/84h/1h/0h").to_string()
    wif = SECRET.wif(NETWORKS["test"])
    out += [
        (f"wpkh({xprv}/0/*)", xprv[4:]),
        (f"wpkh([d4eedd3c/84h/1h/0h]{xprv}/<0;1>/*)", xprv[4:]),
        (f"tr({xprv}/0/*)", xprv[4:]),
        (f"wsh(sortedmulti(2,{TPUB}/0/*,{xprv}/0/*))", xprv[4:]),
        (f"wpkh({wif})", wif[1:]),
        (f"pkh({wif})", wif[1:]),
        (f"sh(wpkh({wif}))#aaaaaaaa", wif[1:]),
        ("11" * 32, "11" * 32),  # a bare 32-byte hex: may be a raw private key
        (f"  {xprv}  ", xprv[4:]),
        (f"wpkh({xprv[:-3]}/0/*)", xprv[4:-3]),  # a damaged xprv is still refused by its shape
    ]
    return out


PRIVATE = _private_inputs()


@pytest.mark.parametrize(
    ("text", "secret"), PRIVATE, ids=[f"private-{i}" for i in range(len(PRIVATE))]
)
def test_private_material_refused_never_echoed(text: str, secret: str) -> None:
    with pytest.raises(PrivateKeyError) as exc:
        parse_target(text, "regtest")
    message = str(exc.value)
    assert secret not in message
    for i in range(0, max(1, len(secret) - 12)):
        assert secret[i : i + 12] not in message  # not even a 12-character piece of it


def _flip(s: str, i: int) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    c = s[i]
    return s[:i] + (alphabet[(alphabet.index(c) + 1) % 58]) + s[i + 1 :]


def _bech_flip(s: str, i: int) -> str:
    return s[:i] + ("q" if s[i] != "q" else "p") + s[i + 1 :]


alice_addr = "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f"
carol_addr = "2N7qcRE579cU5cXK9iiHccdfxZqJZ6xftVq"
dave_addr = "n4fjGQu8Z1WJJpom6A5pzvXAry56J5PAdn"
desc_body, _, desc_sum = ALICE_DESC.partition("#")

BAD: list[tuple[str, str, type[Exception]]] = [
    # (input, network, error)
    # wrong network
    (MAIN_XPUB, "regtest", NetworkMismatchError),
    (TPUB, "main", NetworkMismatchError),
    (alice_addr, "main", NetworkMismatchError),
    (alice_addr, "testnet", NetworkMismatchError),
    (alice_addr, "signet", NetworkMismatchError),
    ("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "regtest", NetworkMismatchError),
    ("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "regtest", NetworkMismatchError),
    ("1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA", "regtest", NetworkMismatchError),
    ("37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf", "testnet", NetworkMismatchError),
    (dave_addr, "main", NetworkMismatchError),
    (carol_addr, "main", NetworkMismatchError),
    (ALICE_DESC, "main", NetworkMismatchError),
    (f"wpkh({MAIN_XPUB}/0/*)", "regtest", NetworkMismatchError),
    (f"addr({alice_addr})", "main", NetworkMismatchError),
    # checksums and typos
    (_flip(TPUB, 50), "regtest", ChecksumError),
    (_flip(TPUB, 110), "regtest", ChecksumError),
    (_flip(MAIN_XPUB, 20), "main", ChecksumError),
    (_bech_flip(alice_addr, 10), "regtest", ChecksumError),
    (_bech_flip(alice_addr, 40), "regtest", ChecksumError),
    (alice_addr.upper()[:-1] + "Q", "regtest", ChecksumError),
    (_flip(dave_addr, 5), "regtest", ChecksumError),
    (_flip(carol_addr, 30), "regtest", ChecksumError),
    (f"{desc_body}#{desc_sum[:-1]}x", "regtest", ChecksumError),
    (f"{desc_body}#{desc_sum[:-1]}", "regtest", ChecksumError),
    (f"{desc_body}#", "regtest", ChecksumError),
    (f"{desc_body.replace('/0/*', '/1/*')}#{desc_sum}", "regtest", ChecksumError),
    (f"{desc_body}#{desc_sum}#{desc_sum}", "regtest", ChecksumError),
    (f"{desc_body}#ABCDEFGH", "regtest", ChecksumError),
    # truncated or padded keys
    (TPUB[:-1], "regtest", TargetError),
    (TPUB[:-10], "regtest", TargetError),
    (TPUB[:80], "regtest", TargetError),
    (TPUB[:20], "regtest", TargetError),
    (TPUB + "1", "regtest", ChecksumError),  # still 78 bytes: the checksum catches it
    (TPUB + "zz", "regtest", TargetError),
    (MAIN_XPUB[:100], "main", TargetError),
    # SLIP-132 multisig keys alone
    (
        MAIN_ROOT.derive("m/48h/0h/0h/2h").to_public().to_string(version=NETWORKS["main"]["Zpub"]),
        "main",
        MultisigNeedsDescriptorError,
    ),
    (
        TEST_ROOT.derive("m/48h/1h/0h/1h").to_public().to_string(version=NETWORKS["test"]["Ypub"]),
        "regtest",
        MultisigNeedsDescriptorError,
    ),
    # garbage
    ("", "regtest", TargetError),
    ("   ", "regtest", TargetError),
    ("hello", "regtest", TargetError),
    ("bitcoin", "regtest", TargetError),
    ("\x00\x01\x02", "regtest", TargetError),
    ("€€€", "regtest", TargetError),
    ("0", "regtest", TargetError),
    ("abc", "regtest", TargetError),
    ("00" * 5000 + "0", "regtest", TargetError),
    ("x" * 30000, "regtest", TargetError),
    ("deadbeef", "regtest", TargetError),
    ("bcrt1", "regtest", ChecksumError),
    ("bcrt1qqqqqqq", "regtest", ChecksumError),
    ("1111111111111111111114oLvT3", "main", ChecksumError),
    # descriptors that are malformed or unsupported
    ("(", "regtest", DescriptorError),
    (")", "regtest", TargetError),
    ("wpkh(", "regtest", DescriptorError),
    ("wpkh()", "regtest", DescriptorError),
    ("wpkh(tpub)", "regtest", DescriptorError),
    ("wpkh(nonsense)", "regtest", DescriptorError),
    (f"wpkh({TPUB}/0/*", "regtest", DescriptorError),
    (f"wpkh({TPUB}/0/*))", "regtest", DescriptorError),
    (f"wpkh({TPUB}/0/*h)", "regtest", DescriptorError),
    (f"wpkh({TPUB}/0h/*)", "regtest", DescriptorError),
    (f"wpkh({TPUB}/*/*)", "regtest", DescriptorError),
    (f"wpkh({TPUB}/<0;1>/<0;1>/*)", "regtest", DescriptorError),
    (f"wpkh({TPUB}/abc/*)", "regtest", DescriptorError),
    (f"sh(sh(wpkh({TPUB}/0/*)))", "regtest", DescriptorError),
    (f"wsh(wpkh({TPUB}/0/*))", "regtest", DescriptorError),
    (f"foo({TPUB}/0/*)", "regtest", DescriptorError),
    (f"WPKH({TPUB}/0/*)", "regtest", DescriptorError),
    (f"combo({TPUB}/0/*)", "regtest", DescriptorError),
    (f"rawtr({TPUB}/0/*)", "regtest", DescriptorError),
    (f"wsh(multi(3,{TPUB}/0/*,{TPUB}/1/*))", "regtest", DescriptorError),
    (f"wsh(multi(0,{TPUB}/0/*))", "regtest", DescriptorError),
    (f"multi(1,{TPUB}/0/*,{TPUB}/1/*,{TPUB}/2/*,{TPUB}/3/*)", "regtest", DescriptorError),
    ("pk(02aa)", "regtest", DescriptorError),
    ("pk(04" + "11" * 64 + ")", "regtest", DescriptorError),
    ("pk(02" + "00" * 32 + ")", "regtest", DescriptorError),
    ("raw(zz)", "regtest", DescriptorError),
    ("raw(abc)", "regtest", DescriptorError),
    ("addr(notanaddress)", "regtest", TargetError),
    ("addr()", "regtest", TargetError),
    (
        f"wpkh({MAIN_ROOT.derive('m/84h/0h/0h').to_public().to_string(version=NETWORKS['main']['zpub'])}/0/*)",
        "main",
        DescriptorError,
    ),
    (f"wpkh([zzzz/84h]{TPUB}/0/*)", "regtest", DescriptorError),
    (f"wpkh([d4eedd3c/84q]{TPUB}/0/*)", "regtest", DescriptorError),
    ("wpkh(\x00)", "regtest", DescriptorError),
    ("tr(" + "ff" * 32 + ")", "regtest", DescriptorError),
]


@pytest.mark.parametrize(
    ("text", "network", "error"), BAD, ids=[f"bad-{i}" for i in range(len(BAD))]
)
def test_bad_input_gets_typed_error(text: str, network: str, error: type[Exception]) -> None:
    with pytest.raises(error) as exc:
        parse_target(text, network)
    assert isinstance(exc.value, InputError)
    assert len(str(exc.value)) < 600  # one clear line, not a dump of the input


def test_network_mismatch_names_both_networks() -> None:
    with pytest.raises(NetworkMismatchError) as exc:
        parse_target(MAIN_XPUB, "regtest")
    assert "mainnet" in str(exc.value) and "regtest" in str(exc.value)
    assert exc.value.expected == "regtest" and exc.value.found == "mainnet"


@pytest.mark.parametrize("net", ["", "bitcoinz", "Main net", "liquid"])
def test_unknown_network(net: str) -> None:
    with pytest.raises(InputError, match="unknown network"):
        parse_target(alice_addr, net)


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "snapshot:",
        "http://example.invalid",
        "electrum://u:secretpw@host",
        "ftp://x",
        "esplora+ftp://user:hunter2@host/api",
        "esplora+https://user:hunter2@host:port/api",
        "esplora+user:hunter2@host/api",
        "bitcoind://rpc:topsecret@127.0.0.1",
    ],
)
def test_source_specs_refused_without_echoing_credentials(spec: str) -> None:
    with pytest.raises(SourceSpecError) as exc:
        open_source(spec, "regtest")
    for secret in ("secretpw", "hunter2", "topsecret"):
        assert secret not in str(exc.value)


# ---- damaged snapshot files -------------------------------------------------------------

RAW = SNAPSHOT.read_bytes()
HEADER = 51


def _write(tmp_path: Path, data: bytes, name: str = "s.dat") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _scan_file(path: Path, network: str = "regtest") -> Any:
    return scan([ALICE_DESC], network=network, source=SnapshotSource(path, network))


@pytest.mark.parametrize(
    "cut",
    [
        0,
        3,
        5,
        6,
        10,
        42,
        50,
        HEADER,
        HEADER + 1,
        HEADER + 33,
        1000,
        len(RAW) // 2,
        len(RAW) - 20,
        len(RAW) - 1,
    ],
)
def test_truncated_snapshot(tmp_path: Path, cut: int) -> None:
    with pytest.raises(SnapshotFormatError):
        _scan_file(_write(tmp_path, RAW[:cut]))


def test_trailing_data(tmp_path: Path) -> None:
    with pytest.raises(SnapshotFormatError, match="left after"):
        _scan_file(_write(tmp_path, RAW + b"\x00"))


def test_coin_count_too_high_and_too_low(tmp_path: Path) -> None:
    (count,) = struct.unpack_from("<Q", RAW, 43)
    high = RAW[:43] + struct.pack("<Q", count + 1) + RAW[51:]
    low = RAW[:43] + struct.pack("<Q", count - 1) + RAW[51:]
    with pytest.raises(SnapshotFormatError, match="truncated"):
        _scan_file(_write(tmp_path, high, "high.dat"))
    with pytest.raises(SnapshotFormatError):
        _scan_file(_write(tmp_path, low, "low.dat"))


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ((0, b"UTXO"), "not a Bitcoin Core UTXO snapshot"),
        ((5, b"\x01\x00"), "version 1"),
        ((5, b"\x03\x00"), "version 3"),
        ((7, b"\xde\xad\xbe\xef"), "unknown network magic"),
    ],
)
def test_bad_header(tmp_path: Path, patch: tuple[int, bytes], message: str) -> None:
    at, data = patch
    bad = RAW[:at] + data + RAW[at + len(data) :]
    with pytest.raises(SnapshotFormatError, match=message):
        _scan_file(_write(tmp_path, bad))


@pytest.mark.parametrize(
    ("magic", "network"), [("f9beb4d9", "main"), ("0b110907", "testnet"), ("0a03cf40", "signet")]
)
def test_snapshot_of_another_network(tmp_path: Path, magic: str, network: str) -> None:
    other = RAW[:7] + bytes.fromhex(magic) + RAW[11:]
    with pytest.raises(NetworkMismatchError, match="regtest"):
        SnapshotSource(_write(tmp_path, other), "regtest")
    with pytest.raises(NetworkMismatchError):
        SnapshotSource(SNAPSHOT, network)


def test_zero_coin_group_and_huge_script(tmp_path: Path) -> None:
    zero = RAW[:HEADER] + RAW[HEADER : HEADER + 32] + b"\x00" + RAW[HEADER + 33 :]
    with pytest.raises(SnapshotFormatError):
        _scan_file(_write(tmp_path, zero, "zero.dat"))
    # one coin whose script claims 100,000 bytes
    huge = RAW[:HEADER] + b"\x11" * 32 + b"\x01" + b"\x00" + b"\x02" + b"\x01" + b"\x85\xb6\x2a"
    huge = huge[:43] + struct.pack("<Q", 1) + huge[51:]
    with pytest.raises(SnapshotFormatError):
        _scan_file(_write(tmp_path, huge, "huge.dat"))


@pytest.mark.parametrize("seed", range(8))
def test_random_garbage_after_header(tmp_path: Path, seed: int) -> None:
    import random

    rng = random.Random(seed)
    body = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4000)))
    with pytest.raises(SnapshotFormatError):
        _scan_file(_write(tmp_path, RAW[:HEADER] + body))


@pytest.mark.parametrize("seed", range(12))
def test_random_corruption_never_crashes(tmp_path: Path, seed: int) -> None:
    """A flipped byte is either caught, or read as a different but well-formed set; never a crash."""
    import random

    rng = random.Random(seed)
    data = bytearray(RAW)
    for _ in range(rng.randint(1, 5)):
        data[rng.randrange(HEADER, len(data))] ^= 1 << rng.randrange(8)
    try:
        h = _scan_file(_write(tmp_path, bytes(data)))
    except UtxoTruthError:
        return
    assert h.total_sats >= 0


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailableError):
        SnapshotSource(tmp_path / "nope.dat", "regtest")
    with pytest.raises(SourceUnavailableError):
        SnapshotSource(tmp_path, "regtest")


def test_empty_snapshot_has_no_height_unless_given(tmp_path: Path) -> None:
    empty = RAW[:43] + struct.pack("<Q", 0)
    with pytest.raises(SnapshotFormatError, match="height"):
        _scan_file(_write(tmp_path, empty))
    h = scan(
        [ALICE_DESC],
        network="regtest",
        source=SnapshotSource(_write(tmp_path, empty, "e2.dat"), "regtest", height=7),
    )
    assert h.total_sats == 0 and h.block.height == 7


def test_stated_height_below_coins_is_refused() -> None:
    with pytest.raises(SnapshotFormatError, match="above the height"):
        scan(
            [ALICE_DESC], network="regtest", source=SnapshotSource(SNAPSHOT, "regtest", height=100)
        )


def test_count_of_hostile_cases() -> None:
    assert len(PRIVATE) + len(BAD) + 14 + 8 + 12 + 4 + 3 >= 100
