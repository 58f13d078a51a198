"""Issue 16, what a user types: plain xpubs of any script type, errors in the user's terms.

The plain-xpub cases run on the shared regtest chain: the offline snapshot and the Esplora test
server, compared with Bitcoin Core's own answers (oracle.json).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import SNAPSHOT, assert_equals_core, coin_key, load_oracle
from embit import bip32
from embit.networks import NETWORKS

from utxo_truth import (
    ChecksumError,
    DescriptorError,
    EsploraSource,
    Holdings,
    NetworkMismatchError,
    SnapshotSource,
    TargetError,
    parse_target,
    scan,
)
from utxo_truth.cli import main, to_json

ORACLE = load_oracle()
W = ORACLE["wallets"]
ALICE_TPUB = W["alice"]["xpub"]  # the BIP-84 account key [d4eedd3c/84h/1h/0h], as a plain tpub
ALICE_DESC = W["alice"]["descriptors"][0]
ALL_TYPES = ("pkh", "sh-wpkh", "wpkh", "tr")
# the oracle's wallet kinds, as the script types a plain key is scanned under
SINGLE = {"dave": "pkh", "carol": "sh-wpkh", "alice": "wpkh", "bob": "tr"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def core_coins(wallet: str) -> list[Any]:
    return sorted(coin_key(u) for u in W[wallet]["scantxoutset"]["unspents"])


# ---- item 4: a plain xpub/tpub, scanned under every single-key type ---------------------------


def test_plain_tpub_of_every_single_key_wallet_finds_its_coins_under_its_type() -> None:
    """Each oracle wallet's account key as a plain tpub: its coins, under its type only."""
    names = list(SINGLE)
    h = scan(
        [W[n]["xpub"] for n in names],
        network="regtest",
        source=SnapshotSource(SNAPSHOT, "regtest"),
    )
    assert h.block.height == ORACLE["tip"]["height"] and h.block.hash == ORACLE["tip"]["hash"]
    for name, t in zip(names, h.targets, strict=True):
        assert t.kind == "xpub" and t.script_type == "any"
        assert t.scanned_as == ALL_TYPES
        assert t.coins_under == (SINGLE[name],), name
        assert sorted(coin_key(u) for u in t.utxos) == core_coins(name), name
        assert t.total_sats == W[name]["scantxoutset"]["total_sats"]
        assert [c.script_type for c in t.chains] == [k for k in ALL_TYPES for _ in (0, 1)]
        used = {c.name: list(c.used_indexes) for c in t.chains if c.used_indexes}
        assert set(used) <= {f"{SINGLE[name]} receive", f"{SINGLE[name]} change"}


def test_plain_bip84_tpub_over_esplora_equals_core(esplora: Any) -> None:
    """The issue's case on a history source: a BIP-84 account exported as a plain tpub."""
    src = EsploraSource(esplora.url, network="regtest", parallel=8, backoff=0.05)
    h = scan([ALICE_TPUB], network="regtest", source=src, gap=25)
    assert_equals_core(h, ORACLE, "alice")
    (t,) = h.targets
    assert t.method == "gap" and t.scanned_as == ALL_TYPES and t.coins_under == ("wpkh",)
    chains = {c.name: c for c in t.chains}
    assert (
        list(chains["wpkh receive"].used_indexes) == W["alice"]["used_receive_indexes_with_mempool"]
    )
    assert list(chains["wpkh change"].used_indexes) == W["alice"]["used_change_indexes_confirmed"]
    for k in ("pkh", "sh-wpkh", "tr"):  # asked, found unused: each chain ends after the gap
        assert chains[f"{k} receive"].used_indexes == () and chains[f"{k} receive"].scanned == 25


def test_cli_table_and_json_say_what_a_plain_tpub_was_scanned_as(
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = ["scan", ALICE_TPUB, "--network", "regtest", "--snapshot", str(SNAPSHOT)]
    code, out, err = run(capsys, *base)
    assert code == 0, err
    assert "tpubDD... scanned as pkh, sh(wpkh), wpkh, tr; coins under wpkh\n" in out
    total = W["alice"]["scantxoutset"]["total_sats"]
    assert str(total) in out
    code, out, err = run(capsys, *base, "--json")
    assert code == 0 and err == ""
    (t,) = json.loads(out)["targets"]
    assert t["scanned_as"] == list(ALL_TYPES) and t["coins_under"] == ["wpkh"]
    assert t["script_type"] == "any" and t["total_sats"] == total
    assert [c["script_type"] for c in t["chains"]] == [k for k in ALL_TYPES for _ in (0, 1)]


def test_plain_tpub_with_no_coins_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    nobody = bip32.HDKey.from_seed(b"\x07" * 32, version=NETWORKS["test"]["xprv"])
    tpub = nobody.derive("m/84h/1h/0h").to_public().to_string()
    code, out, _ = run(capsys, "scan", tpub, "--network", "regtest", "--snapshot", str(SNAPSHOT))
    assert code == 0
    assert f"{tpub[:6]}... scanned as pkh, sh(wpkh), wpkh, tr; no coins under any of them" in out


@pytest.mark.parametrize(("kind", "found"), [("wpkh", True), ("pkh", False), ("tr", False)])
def test_script_type_names_the_one_type(
    capsys: pytest.CaptureFixture[str], kind: str, found: bool
) -> None:
    code, out, err = run(
        capsys,
        "scan",
        ALICE_TPUB,
        "--network",
        "regtest",
        "--snapshot",
        str(SNAPSHOT),
        "--script-type",
        kind,
        "--json",
    )
    assert code == 0 and err == ""
    (t,) = json.loads(out)["targets"]
    assert t["script_type"] == kind and t["scanned_as"] == [] and t["coins_under"] == []
    assert [c["name"] for c in t["chains"]] == ["receive", "change"]
    assert t["total_sats"] == (W["alice"]["scantxoutset"]["total_sats"] if found else 0)


def test_script_type_in_the_api_and_parse_target_default_unchanged() -> None:
    # parse_target keeps SLIP-132's reading of a plain key (BIP44 P2PKH) unless asked
    assert parse_target(ALICE_TPUB, "regtest").script_type == "pkh"
    assert parse_target(ALICE_TPUB, "regtest", script_type="any").scanned_as == ALL_TYPES
    h = scan(
        [ALICE_TPUB],
        network="regtest",
        source=SnapshotSource(SNAPSHOT, "regtest"),
        script_type="wpkh",
    )
    assert h.targets[0].script_type == "wpkh"
    assert h.total_sats == W["alice"]["scantxoutset"]["total_sats"]


def test_slip132_key_says_its_type_and_a_contrary_script_type_is_refused() -> None:
    vpub = bip32.HDKey.from_string(ALICE_TPUB).to_string(version=NETWORKS["regtest"]["zpub"])
    t = parse_target(vpub, "regtest", script_type="any")
    assert t.script_type == "wpkh" and t.scanned_as == () and t.branches == ("receive", "change")
    with pytest.raises(TargetError) as exc:
        parse_target(vpub, "regtest", script_type="tr")
    assert str(exc.value) == (
        "vpub keys are wpkh (SLIP-132), but the script type asked is tr: give the key as a "
        "plain tpub, or a descriptor, to scan it as another type"
    )
    with pytest.raises(TargetError, match="unknown script type 'p2wpkh'"):
        parse_target(ALICE_TPUB, "regtest", script_type="p2wpkh")


def test_each_branch_has_its_own_descriptor_for_a_node() -> None:
    """What a node (scantxoutset/scanblocks) is asked: one checksummed descriptor a branch."""
    t = parse_target(ALICE_TPUB, "regtest", script_type="any")
    wrap = {"pkh": "pkh({})", "sh-wpkh": "sh(wpkh({}))", "wpkh": "wpkh({})", "tr": "tr({})"}
    for b, kind in enumerate(t.branch_types):
        d = t.scan_descriptor(b)
        assert d.partition("#")[0] == wrap[kind].format(f"{ALICE_TPUB}/{b % 2}/*")
        again = parse_target(d, "regtest")  # its checksum is right, its scripts the branch's
        assert again.scripts(0, 0, 3) == t.scripts(b, 0, 3)


def test_every_branch_derives_what_its_single_type_key_derives() -> None:
    """Child keys shared between the four types (derived once): the same scripts as each alone."""
    t = parse_target(ALICE_TPUB, "regtest", script_type="any")
    for b, kind in enumerate(t.branch_types):
        alone = parse_target(ALICE_TPUB, "regtest", script_type=kind)
        assert t.scripts(b, 30, 40) == alone.scripts(b % 2, 30, 40), kind  # out of order first
        assert t.scripts(b, 0, 40) == alone.scripts(b % 2, 0, 40), kind


def test_coins_under_is_checked_when_read_back() -> None:
    h = scan([ALICE_TPUB], network="regtest", source=SnapshotSource(SNAPSHOT, "regtest"))
    data = to_json(h)
    data.pop("spendable_sats")
    assert Holdings.model_validate(data) == h
    data["targets"][0]["coins_under"] = ["tr"]
    with pytest.raises(ValueError, match="coins_under must name the script types"):
        Holdings.model_validate(data)


# ---- item 6: errors in the user's terms, by their exact message -------------------------------


def _flip(s: str, i: int) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return s[:i] + alphabet[(alphabet.index(s[i]) + 1) % 58] + s[i + 1 :]


BODY = ALICE_DESC.partition("#")[0]  # wpkh([d4eedd3c/84h/1h/0h]tpub.../0/*)
KEY_AT = BODY.index("tpub")


def _no_key_piece(message: str, key: str) -> None:
    for i in range(len(key) - 6):
        assert key[i : i + 7] not in message  # at most 6 characters of a key are ever shown


@pytest.mark.parametrize("where", [5, 40, 100])
def test_changed_character_in_a_descriptor_key(where: str) -> None:
    text = _flip(BODY, KEY_AT + int(where))
    with pytest.raises(ChecksumError) as exc:
        parse_target(text, "regtest")
    assert str(exc.value) == (
        f"bad base58 checksum in the key at position {KEY_AT + 1} (tpub..., 111 characters): "
        "a character of it was changed or mistyped; copy the key again"
    )
    assert "b'" not in str(exc.value)  # not embit's "Checksum mismatch: expected b'..'"
    _no_key_piece(str(exc.value), text[KEY_AT : KEY_AT + 111])


def test_a_key_cut_short_is_said_with_its_length() -> None:
    with pytest.raises(DescriptorError) as exc:
        parse_target("wpkh(tpub)", "regtest")
    assert str(exc.value) == (
        "the key at position 6 (tpub..., 4 characters) is not a whole extended key (111 "
        "characters): a character missing or extra?"
    )
    with pytest.raises(TargetError):  # inside addr() it is an address that is not one
        parse_target("addr(tpub)", "regtest")


def test_key_with_a_character_missing() -> None:
    text = BODY[: KEY_AT + 50] + BODY[KEY_AT + 51 :]
    with pytest.raises(DescriptorError) as exc:
        parse_target(text, "regtest")
    assert str(exc.value) == (
        f"the key at position {KEY_AT + 1} (tpub..., 110 characters) is not a whole extended "
        "key (111 characters): a character missing or extra?"
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/0/**",
            "`**` is not an index (the path of the key at position 6): a step is a number such "
            "as 0 or 84h, * as the last step, or <0;1> for receive and change",
        ),
        (
            "/zero/*",
            "`zero` is not an index (the path of the key at position 6): a step is a number "
            "such as 0 or 84h, * as the last step, or <0;1> for receive and change",
        ),
        ("//*", "an empty step (`//` or a trailing `/`) in the path of the key at position 6"),
        (
            "/2147483648/*",
            "`2147483648` in the path of the key at position 6 is out of range: an index is "
            "0..2147483647 (add h for a hardened one, BIP32)",
        ),
        (
            "/<0;x>/*",
            "`<0;x>` is not an index (the path of the key at position 6): a step is a number "
            "such as 0 or 84h, * as the last step, or <0;1> for receive and change",
        ),
    ],
)
def test_path_steps_that_are_not_indexes(path: str, message: str) -> None:
    with pytest.raises(DescriptorError) as exc:
        parse_target(f"wpkh({ALICE_TPUB}{path})", "regtest")
    assert str(exc.value) == message


KNOWN = (
    "known: pk, pkh, wpkh, sh, wsh, tr, multi, sortedmulti, addr, raw (and miniscript inside "
    "wsh() and tr())"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wpk(", f"unknown function `wpk` at position 1 — {KNOWN}"),
        (f"wpk({ALICE_TPUB}/0/*)", f"unknown function `wpk` at position 1 — {KNOWN}"),
        (f"sh(wpk({ALICE_TPUB}/0/*))", f"unknown function `wpk` at position 4 — {KNOWN}"),
        (
            f"WPKH({ALICE_TPUB}/0/*)",
            "unknown function `WPKH`: descriptor functions are written in lowercase, `wpkh`",
        ),
        (
            f"wpkh([d4eedd3/84h]{ALICE_TPUB}/0/*)",
            "the key origin at position 6 must start with the master key's fingerprint, 8 hex "
            "digits, as in [d34db33f/84h/0h/0h]",
        ),
        (
            f"wpkh([d4eedd3c/84q]{ALICE_TPUB}/0/*)",
            "`84q` is not an index (the key origin at position 6): a step is a number such as 0 "
            "or 84h, * as the last step, or <0;1> for receive and change",
        ),
    ],
)
def test_function_names_and_origins(text: str, message: str) -> None:
    with pytest.raises(DescriptorError) as exc:
        parse_target(text, "regtest")
    assert str(exc.value) == message


def test_miniscript_inside_wsh_is_not_an_unknown_function() -> None:
    t = parse_target(f"wsh(and_v(v:pk({ALICE_TPUB}/0/*),older(144)))", "regtest")
    assert t.script_type == "wsh-script" and t.ranged


@pytest.mark.parametrize(
    ("address", "network", "message"),
    [
        (  # a valid mainnet address with its last character changed, scanned on regtest
            "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyv",
            "regtest",
            "'bc1qcr'... (42 characters) is not a valid address: its bech32/bech32m checksum "
            "does not match (a typo?)",
        ),
        (
            "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabB",
            "regtest",
            "'1LqBGS'... (34 characters) is not a valid address: its base58 checksum does not "
            "match (a typo?)",
        ),
    ],
)
def test_an_address_is_checked_for_validity_before_its_network(
    address: str, network: str, message: str
) -> None:
    with pytest.raises(ChecksumError) as exc:
        parse_target(address, network)
    assert str(exc.value) == message
    # and the valid one is a network mismatch, as before
    valid = {"v": "u", "B": "A"}[address[-1]]
    with pytest.raises(NetworkMismatchError):
        parse_target(address[:-1] + valid, network)


def test_a_bad_line_of_a_targets_file_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    f = tmp_path / "targets.txt"
    f.write_text(f"# alice\n{ALICE_DESC}\n\nwpk({ALICE_TPUB}/0/*)\n")
    code, out, err = run(
        capsys, "scan", "--file", str(f), "--network", "regtest", "--snapshot", str(SNAPSHOT)
    )
    assert code == 2 and out == ""
    assert err == (
        f"utxo-truth: input error (DescriptorError): targets file {f} line 4: unknown function "
        f"`wpk` at position 1 — {KNOWN}\n"
    )


def test_a_private_key_in_a_targets_file_keeps_its_type_and_is_not_echoed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    xprv = bip32.HDKey.from_seed(b"\x01" * 32, version=NETWORKS["test"]["xprv"]).to_string()
    f = tmp_path / "targets.txt"
    f.write_text(f"{ALICE_DESC}\nwpkh({xprv}/0/*)\n")
    code, _, err = run(
        capsys, "scan", "--file", str(f), "--network", "regtest", "--snapshot", str(SNAPSHOT)
    )
    assert code == 2
    assert err.startswith(
        f"utxo-truth: input error (PrivateKeyError): targets file {f} line 2: refused"
    )
    _no_key_piece(err, xprv[4:])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["scan", ALICE_DESC, "--network", "regtest", "--snapshot", "/nonexistent/utxo.dat"],
            "utxo-truth: input error (SourceSpecError): snapshot file /nonexistent/utxo.dat does "
            "not exist: give the path of a `bitcoin-cli dumptxoutset` file\n",
        ),
        (
            ["scan", ALICE_DESC, "--network", "regtest", "--source", "snapshot:/nonexistent/u"],
            "utxo-truth: input error (SourceSpecError): snapshot file /nonexistent/u does not "
            "exist: give the path of a `bitcoin-cli dumptxoutset` file\n",
        ),
        (
            [
                "scan",
                "--file",
                "/nonexistent/t.txt",
                "--network",
                "regtest",
                "--snapshot",
                str(SNAPSHOT),
            ],
            "utxo-truth: input error (InputError): cannot read targets file /nonexistent/t.txt: "
            "No such file or directory\n",
        ),
    ],
)
def test_a_missing_file_is_bad_input_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out, err) == (2, "", message)


def test_a_missing_portfolio_and_its_missing_snapshot_are_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "reconcile", str(tmp_path / "nope.toml"))
    assert code == 2 and "PortfolioError" in err and "nope.toml" in err
    p = tmp_path / "p.toml"
    p.write_text(
        'network = "regtest"\nsource = "snapshot:missing.dat"\n\n[[wallets]]\nname = "a"\nbook = "settlement"\n'
        f'targets = ["{ALICE_DESC}"]\n'
    )
    code, _, err = run(capsys, "reconcile", str(p))
    assert code == 2, err
    assert "SourceSpecError" in err and "missing.dat does not exist" in err
