"""Wallet export files: the public samples (what Sparrow's own tests assert), refusals, files
written here for the shared regtest wallets (scanned = Bitcoin Core's scantxoutset), and
malformed files (typed errors)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, SNAPSHOT, WALLETS, coin_key
from embit import base58

from utxo_truth import SnapshotSource, load_wallet_file, parse_target, scan
from utxo_truth._exceptions import (
    EncryptedWalletError,
    InputError,
    MultisigNeedsDescriptorError,
    NetworkMismatchError,
    PrivateKeyError,
    WalletFileError,
)
from utxo_truth.wallets import parse_wallet_file

W = DATA / "wallets"
S = "sparrow-io-"


def load(name: str, net: str = "main") -> Any:
    return load_wallet_file(W / name, network=net)


def key_of(w: Any, i: int) -> tuple[str, str, str]:
    """(fingerprint, path with ', xpub) of key ``i``, as Sparrow's tests print them."""
    m = re.fullmatch(r"\[([0-9a-f]{8})((?:/[0-9]+h?)*)\](\w+)", w.keys[i])
    assert m, w.keys[i]
    return m.group(1), "m" + m.group(2).replace("h", "'"), m.group(3)


def std(slip132: str, net: str = "main") -> str:
    payload = base58.decode_check(slip132)
    version = bytes.fromhex("0488b21e" if net == "main" else "043587cf")
    return str(base58.encode_check(version + payload[4:]))


# ---- the samples: what Sparrow's io tests assert ---------------------------------------------


def test_coldcard_generic_json_every_account_and_first_address() -> None:
    w = load(S + "cc-singlesig-keystore-1.json", "test")  # ColdcardSinglesigTest.testImport*
    assert w.format == "coldcard-json" and w.threshold is None
    assert [d.split("[")[0] for d in w.descriptors] == ["pkh(", "sh(wpkh(", "wpkh("]
    assert key_of(w, 1) == (
        "0f056943",
        "m/49'/1'/123'",
        "tpubDCDqt7XXvhAdy1MpSze5nMJA9x8DrdRaKALRRPasfxyHpiqWWEAr9cbDBQ9BcX7cB3up98Pk97U2QQ3xrvQsi5dNPmRYYhdcsKY9wwEY87T",
    )
    assert key_of(w, 2) == (
        "0f056943",
        "m/84'/1'/123'",
        "tpubDC7jGaaSE66VDB6VhEDFYQSCAyugXmfnMnrMVyHNzW9wryyTxvha7TmfAHd7GRXrr2TaAn2HXn9T8ep4gyNX1bzGiieqcTUNcu2poyntrET",
    )
    # each section's "first" is checked on load; the same addresses come out of our targets
    data = json.loads((W / (S + "cc-singlesig-keystore-1.json")).read_text())
    assert [_first(t) for t in w.targets] == [data[s]["first"] for s in ("bip44", "bip49", "bip84")]
    assert all(t.branches == ("receive", "change") for t in w.targets)


def _first(t: Any) -> str:
    from utxo_truth.targets import address_of

    addr = address_of(t.scripts(0, 0, 1)[0], t.network)
    assert addr is not None
    return addr


def test_coldcard_json_silent_payment_section_is_noted_not_watched() -> None:
    w = load(S + "cc-singlesig-sp-keystore-1.json", "test")
    assert [d[:3] for d in w.descriptors] == ["wpk", "tr("]
    assert _first(w.targets[1]) == "tb1prlna6c6us6jss2qyemcm8jpzjpuuyx46tz6pe80r6jmpf5dm3z7qnxwucf"
    assert any("bip352" in n for n in w.notes)


def test_coldcard_json_wrong_first_address_refused(tmp_path: Path) -> None:
    data = json.loads((W / (S + "cc-singlesig-keystore-1.json")).read_text())
    data["bip84"]["first"] = data["bip49"]["first"]
    p = tmp_path / "cc.json"
    p.write_text(json.dumps(data))
    with pytest.raises(WalletFileError, match=r"cc.json: bip49|cc.json: bip84.first"):
        load_wallet_file(p, network="test")


@pytest.mark.parametrize("name", ["cc-multisig-keystore-1.json", "cc-multisig-keystore-2.json"])
def test_coldcard_cosigner_key_file_is_not_a_wallet(name: str) -> None:
    with pytest.raises(MultisigNeedsDescriptorError, match=name):
        load(S + name, "test")


def test_coldcard_multisig_text() -> None:
    w = load(S + "cc-multisig-export-1.txt")  # ColdcardMultisigTest.importWallet1
    assert (w.name, w.threshold, len(w.keys)) == ("CC-2-of-4", 2, 4)
    assert w.descriptors[0].startswith("wsh(sortedmulti(2,[0f056943/48h/0h/0h/2h]xpub6EfEGa5")
    w2 = load(S + "cc-multisig-export-2.txt", "test")  # importWallet2: P2SH_P2WSH
    assert (w2.name, w2.threshold) == ("CC-2-of-4", 2)
    assert w2.descriptors[0].startswith("sh(wsh(sortedmulti(2,")
    w3 = load(S + "cc-multisig-export-multideriv.txt")  # importWalletMultiDeriv
    assert (w3.name, w3.threshold) == ("el-CC-3-of-3-sb-2", 3)
    assert w3.descriptors[0].startswith("wsh(sortedmulti(3,")
    assert key_of(w3, 0) == (
        "06b57041",
        "m/48'/0'/0'/2'",
        "xpub6EfEGa5isJbQFSswM5Uptw5BSq2Td1ZDJr3QUNUcMySpC7itZ3ccypVHtLPnvMzKQ2qxrAgH49vhVxRcaQLFbixAVRR8RACrYTp88Uv9h8Z",
    )
    assert key_of(w3, 2)[:2] == ("ca9a2b19", "m/47'/0'/0'/1'")
    # The Electrum multisig file holds the same four cosigners as export-2: same scripts.
    e = load(S + "electrum-multisig-wallet.json", "test")
    assert e.targets[0].scripts(0, 0, 5) == w2.targets[0].scripts(0, 0, 5)
    assert e.targets[0].scripts(1, 0, 5) == w2.targets[0].scripts(1, 0, 5)


@pytest.mark.parametrize(
    "name",
    [
        "descriptor-receive.txt",
        "descriptor-multipath.txt",
        "descriptor-receive-change1.txt",
        "descriptor-receive-change2.txt",
        "descriptor-labelled.txt",
    ],
)
def test_descriptor_files(name: str) -> None:
    w = load(S + name)  # DescriptorTest: P2WPKH, m/84'/0'/0', a262308d, the same xpub
    assert w.format == "descriptor" and len(w.targets) == 1
    assert key_of(w, 0) == (
        "a262308d",
        "m/84'/0'/0'",
        "xpub6DM7CYgaTMdMbhTcLTUWmNUE5WLXK5hx8ZMa4sRw8qYJPqtqKYiKnwsmT8A6AijDVAUZRivdBnXdR8QE7Y9vVnqvzPL3fXCmu1WtCRLdAoz",
    )
    # Sparrow's export of this wallet (DescriptorTest.testExport) is exactly this multipath one
    assert w.descriptors == (
        "wpkh([a262308d/84h/0h/0h]xpub6DM7CYgaTMdMbhTcLTUWmNUE5WLXK5hx8ZMa4sRw8qYJPqtqKYiKnwsmT8A6"
        "AijDVAUZRivdBnXdR8QE7Y9vVnqvzPL3fXCmu1WtCRLdAoz/<0;1>/*)#cpx4ean7",
    )
    assert w.targets[0].branches == ("receive", "change")


def test_electrum_files() -> None:
    w = load(S + "electrum-singlesig-wallet.json")  # ElectrumTest.testSinglesigImport
    assert w.threshold is None and w.name == "trezortest"
    assert w.descriptors[0].startswith("sh(wpkh([ab543c67/49h/0h/0h]")  # ypub: P2SH_P2WPKH
    assert key_of(w, 0)[2] == (
        "xpub6FFEQVG6QR28chQzgSJ7Gjx5j5BGLkCMgZ9bc41YJCXfwYiCKUQdcwm4Fe1stvzRjosz5udMedYZFRL56AeZ"
        "XCsiVmnVUysio4jkAKTukmN"
    )
    m = load(S + "electrum-multisig-wallet.json", "test")  # testMultisigImport
    assert m.threshold == 2 and len(m.keys) == 4
    assert m.descriptors[0].startswith("sh(wsh(sortedmulti(2,")  # Upub: P2SH_P2WSH
    fps = {key_of(m, i)[0]: key_of(m, i)[1] for i in range(4)}
    assert fps == dict.fromkeys(["6ba6cfd0", "747b698e", "7bb026be", "0f056943"], "m/48'/1'/0'/1'")


def test_specter_cobo_keystone_caravan() -> None:
    s = load(S + "specter-wallet.json")
    assert (s.name, s.threshold) == ("specter-wallet", None)
    assert s.descriptors[0].startswith("sh(wpkh([4df18faa/49h/0h/0h]xpub6BgwyseZdeGJ")
    assert "/<0;1>/*" in s.descriptors[0]
    sm = load(S + "specter-multisig-wallet.json")
    assert (sm.name, sm.threshold, len(sm.keys)) == ("specter-multisig", 3, 4)
    assert sm.descriptors[0].startswith("wsh(multi(3,")
    d = load(S + "specter-diy-keystore.txt", "test")  # SpecterDIYTest.testImport
    assert key_of(d, 0) == (
        "b317ec86",
        "m/84'/1'/0'",
        std(
            "vpub5YHLPnkkpPW1ecL7Di7Gv2wDHDtBNqRdt17gMULpxJ27ZA1MmW7xbZjdg1S7d5JKaJ8CiZEmRUHrEB6CGuL"
            "omA6ioVa1Pcke6fEb5CzDBU1",
            "test",
        ),
    )
    assert d.descriptors[0].startswith("wpkh(")
    x = load(S + "specter-diy-export.txt")  # SpecterDIYTest.testExport's wallet
    assert (x.name, x.threshold, len(x.keys)) == ("Sparrow Multisig", 2, 3)
    assert x.descriptors[0].startswith("wsh(sortedmulti(2,[7fd1bbf4/48h/0h/0h/2h]xpub6DnVFCXjZKhS")
    c = load(S + "cobo-singlesig-keystore-1.json")
    assert key_of(c, 0)[:2] == ("73c5da0a", "m/84'/0'/0'") and c.descriptors[0].startswith("wpkh(")
    k = load(S + "keystone-singlesig-keystore-1.txt")  # KeystoneSinglesigTest.testImport
    assert key_of(k, 0) == (
        "5271c071",
        "m/84'/0'/0'",
        std(
            "zpub6rcabYFcdr41zyUNRWRyHYs2Sm86E5XV8RjjRzTFYsiCngteeZnkwaF2xuhjmM6kpHjuNpFW42BMhzPmFwX"
            "t48e1FhddMB7xidZzN4SF24K"
        ),
    )
    assert k.targets[0].branches == ("receive", "change")
    cv = load(S + "caravan-multisig-export-1.json")  # CaravanMultisigTest.importWallet1
    assert (cv.name, cv.threshold, len(cv.keys)) == ("Test Wallet", 2, 3)
    assert cv.descriptors[0].startswith("wsh(sortedmulti(2,[8188029f/48h/0h/0h/2h]xpub6EMVvcTUb")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("caravan-multisig-export-2.json", "quorum.requiredSigners: threshold 0"),
        ("caravan-multisig-export-3.json", "quorum.totalSigners"),
        ("keystone-singlesig-sp-keystore-1.txt", "silent-payment"),
        ("specter-diy-sp-keystore.txt", "silent-payment"),
    ],
)
def test_samples_refused_with_the_field(name: str, message: str) -> None:
    with pytest.raises(WalletFileError, match=message):
        load(S + name, "test" if "sp-" in name else "main")


@pytest.mark.parametrize(
    "name", ["electrum-encrypted", "sparrow-single-wallet", "sparrow-single-seed-wallet"]
)
def test_encrypted_files_refused(name: str) -> None:
    with pytest.raises(EncryptedWalletError, match="encrypted"):
        load(S + name)


def test_seed_wallet_refused_without_echo(capsys: pytest.CaptureFixture[str]) -> None:
    path = W / (S + "electrum-singlesig-seed-wallet.json")
    secret = json.loads(path.read_text())["keystore"]
    with pytest.raises(PrivateKeyError) as info:
        load_wallet_file(path, network="main")
    msg = str(info.value)
    assert "electrum-singlesig-seed-wallet.json" in msg
    for value in (secret["seed"], secret["xprv"], secret["passphrase"]):
        assert value not in msg and value[:12] not in msg
    for word in secret["seed"].split():
        assert f" {word} " not in f" {msg} "
    # the same file with only the seed field left is refused for the seed
    only_seed = {"keystore": {"seed": secret["seed"], "type": "bip32"}, "wallet_type": "standard"}
    with pytest.raises(PrivateKeyError, match=r"keystore\.seed"):
        parse_wallet_file(json.dumps(only_seed), network="main", path="x.json")
    # a mnemonic under any field name, and an xprv in a descriptor file
    with pytest.raises(PrivateKeyError, match="mnemonic"):
        parse_wallet_file(json.dumps({"note": secret["seed"]}), network="main")
    with pytest.raises(PrivateKeyError):
        parse_wallet_file(f"wpkh({secret['xprv']}/0/*)", network="main")


BSMS_OK = {
    "multisig-1.bsms": "bc1qfagqa83vrv9phj0886rlx6d68zzd7gejtr0ns8xxfeckve27397q6vq47w",
    "multisig-2.bsms": "bc1qrgc6p3kylfztu06ysl752gwwuekhvtfh9vr7zg43jvu60mutamcsv948ej",
    "multisig-4.bsms": "bc1qrgc6p3kylfztu06ysl752gwwuekhvtfh9vr7zg43jvu60mutamcsv948ej",
    "multisig-6.bsms": "bc1qrgc6p3kylfztu06ysl752gwwuekhvtfh9vr7zg43jvu60mutamcsv948ej",
    "multisig-8.bsms": "bc1qrgc6p3kylfztu06ysl752gwwuekhvtfh9vr7zg43jvu60mutamcsv948ej",
    "multisig-10.bsms": "3MmNkJ3e67jDGNwGL7yQ886T192Bbb81zP",
    "multisig-12.bsms": "bc1qrgc6p3kylfztu06ysl752gwwuekhvtfh9vr7zg43jvu60mutamcsv948ej",
    "multisig-16.bsms": "bc1qrgc6p3kylfztu06ysl752gwwuekhvtfh9vr7zg43jvu60mutamcsv948ej",
    # Sparrow reads multi() as sortedmulti() and so refuses this BIP-129 vector; we keep
    # multi()'s key order (BIP-383), and the record's first address then matches.
    "multisig-3.bsms": "3GzMtFXahiu4TpGNGFc4bHMvAcvz5vVQrT",
}


@pytest.mark.parametrize("name", sorted(BSMS_OK))
def test_bsms_accepted(name: str) -> None:
    w = load("bsms/" + name)
    assert w.format == "bsms" and w.threshold == 2
    assert w.first_address == BSMS_OK[name]
    assert w.targets[0].branches == ("receive", "change")
    if name == "multisig-12.bsms":  # fixed to change index 3: that address is in the wallet
        from utxo_truth.targets import address_of

        addr = address_of(w.targets[0].scripts(1, 3, 4)[0], "main")
        assert addr == "bc1qr47z3tyaep62u4v3tjwj3gre5aqje242g0aarp0gurnltwpswa0svqrv9y"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("multisig-address-mismatch.bsms", "different set of keys"),
        ("multisig-threshold-zero.bsms", "threshold is 0"),
        ("multisig-5.bsms", "standard receive and change derivation"),
        ("multisig-7.bsms", "standard receive and change derivation"),
        ("multisig-9.bsms", "different set of keys"),
        ("multisig-11.bsms", "standard receive and change derivation"),
        ("multisig-13.bsms", "standard receive and change derivation"),
        ("multisig-14.bsms", "does not provide a first address"),
        ("multisig-15.bsms", "different set of keys"),
        ("multisig-17.bsms", "is not a valid address"),
    ],
)
def test_bsms_refused(name: str, message: str) -> None:
    with pytest.raises(WalletFileError, match=message) as info:
        load("bsms/" + name)
    assert name in str(info.value)


def test_network_is_checked_for_every_format() -> None:
    for name in (
        "cc-multisig-export-1.txt",
        "descriptor-receive.txt",
        "electrum-singlesig-wallet.json",
        "specter-wallet.json",
        "cobo-singlesig-keystore-1.json",
        "caravan-multisig-export-1.json",
    ):
        with pytest.raises(NetworkMismatchError):
            load(S + name, "regtest")
    with pytest.raises(NetworkMismatchError):
        load(S + "cc-singlesig-keystore-1.json", "main")
    with pytest.raises(NetworkMismatchError):
        load("bsms/multisig-1.bsms", "signet")


# ---- files written here for the shared regtest wallets -> exactly Core's answer -------------


def _slip(tpub: str, version: str) -> str:
    return str(base58.encode_check(bytes.fromhex(version) + base58.decode_check(tpub)[4:]))


def _origin(w: dict[str, Any]) -> tuple[str, str]:
    m = re.fullmatch(r"\[([0-9a-f]{8})/(.*)\]", w["origin"])
    assert m
    return m.group(1), m.group(2)


_SINGLE = {
    "wpkh": ("84", "045f1cf6"),
    "sh-wpkh": ("49", "044a5262"),
    "pkh": ("44", "043587cf"),
    "tr": ("86", None),
}


def _single_files(w: dict[str, Any]) -> dict[str, str]:
    fp, path = _origin(w)
    purpose, slip = _SINGLE[w["kind"]]
    xpub = w["xpub"]
    receive, change = w["descriptors"]
    files = {
        "descriptors.txt": f"# {w['name']}\nReceive: {receive}\nChange: {change}\n",
        "multipath.txt": receive.split("#")[0].replace("/0/*", "/<0;1>/*") + "\n",
        "core.json": json.dumps(
            {
                "wallet_name": w["name"],
                "descriptors": [
                    {
                        "desc": receive,
                        "timestamp": 1,
                        "active": True,
                        "internal": False,
                        "range": [0, 999],
                    },
                    {
                        "desc": change,
                        "timestamp": 1,
                        "active": True,
                        "internal": True,
                        "range": [0, 999],
                    },
                ],
            }
        ),
        "coldcard.json": json.dumps(
            {
                "chain": "XRT",
                "xfp": fp.upper(),
                "account": 0,
                f"bip{purpose}": {
                    "deriv": "m/" + path.replace("h", "'"),
                    "xpub": xpub,
                    "name": w["kind"],
                },
            }
        ),
        "cobo.json": json.dumps(
            {
                "ExtPubKey": _slip(xpub, slip) if slip else xpub,
                "MasterFingerprint": fp.upper(),
                "AccountKeyPath": path.replace("h", "'"),
            }
        ),
        "specter.json": json.dumps(
            {
                "label": w["name"],
                "blockheight": 0,
                "descriptor": receive.split("#")[0].replace("/0/*", ""),
            }
        ),
        "diy.txt": f"[{fp}/{path}]{_slip(xpub, slip) if slip else xpub}\n",
    }
    if slip and w["kind"] != "tr":  # Electrum has no taproot wallets
        files["electrum.json"] = json.dumps(
            {
                "keystore": {
                    "type": "bip32",
                    "xpub": _slip(xpub, slip) if slip != "043587cf" else xpub,
                    "derivation": "m/" + path,
                    "root_fingerprint": fp,
                },
                "wallet_type": "standard",
                "use_encryption": False,
                "seed_version": 18,
            }
        )
    return files


def _vault_files(w: dict[str, Any], first: str) -> dict[str, str]:
    receive, change = w["descriptors"]
    keys = re.findall(r"\[([0-9a-f]{8})/([^\]]+)\](tpub\w+)/0/\*", receive)
    assert len(keys) == 3
    body = receive.split("#")[0]
    cc = "Name: vault\nPolicy: 2 of 3\nDerivation: m/48'/1'/0'/2'\nFormat: P2WSH\n\n" + "".join(
        f"{fp.upper()}: {xpub}\n" for fp, _p, xpub in keys
    )
    return {
        "descriptors.txt": f"{receive}\n{change}\n",
        "core.json": json.dumps(
            {
                "wallet_name": "vault",
                "descriptors": [{"desc": receive}, {"desc": change, "internal": True}],
            }
        ),
        "coldcard.txt": cc,
        "caravan.json": json.dumps(
            {
                "name": "vault",
                "addressType": "P2WSH",
                "network": "regtest",
                "client": {"type": "public"},
                "quorum": {"requiredSigners": 2, "totalSigners": 3},
                "extendedPublicKeys": [
                    {"name": f"k{i}", "bip32Path": "m/" + p.replace("h", "'"), "xpub": x, "xfp": fp}
                    for i, (fp, p, x) in enumerate(keys)
                ],
                "startingAddressIndex": 0,
            }
        ),
        "electrum.json": json.dumps(
            {
                **{
                    f"x{i + 1}/": {
                        "type": "bip32",
                        "xpub": _slip(x, "02575483"),
                        "derivation": "m/" + p,
                        "root_fingerprint": fp,
                    }
                    for i, (fp, p, x) in enumerate(keys)
                },
                "wallet_type": "2of3",
                "use_encryption": False,
            }
        ),
        "specter.json": json.dumps({"label": "vault", "descriptor": body.replace("/0/*", "")}),
        "diy.txt": "addwallet vault&" + body.replace("/0/*", "") + "\n",
        "vault.bsms": "BSMS 1.0\n" + body.replace("/0/*", "/**") + "\n/0/*,/1/*\n" + first + "\n",
    }


@pytest.fixture(scope="module")
def source() -> SnapshotSource:
    return SnapshotSource(SNAPSHOT, "regtest")


@pytest.mark.parametrize("wallet", WALLETS)
def test_written_files_scan_to_core_answer(
    oracle: dict[str, Any], source: SnapshotSource, wallet: str, tmp_path: Path
) -> None:
    w = oracle["wallets"][wallet]
    core = w["scantxoutset"]
    if wallet == "vault":
        # Core's receive descriptor at index 0 (its derivation is checked against Core's own
        # scripts in test_oracle); the BSMS record must carry that first address.
        from utxo_truth.targets import address_of

        core_receive = parse_target(w["descriptors"][0], "regtest")
        addr = address_of(core_receive.scripts(0, 0, 1)[0], "regtest")
        assert addr is not None
        files = _vault_files(w, addr)
    else:
        files = _single_files(w)
    assert len(files) >= 7
    expected = sorted(coin_key(u) for u in core["unspents"])
    for name, text in files.items():
        p = tmp_path / name
        p.write_text(text)
        wf = load_wallet_file(p, network="regtest")
        h = scan(list(wf.targets), network="regtest", source=source)
        assert sorted(coin_key(u) for u in h.utxos) == expected, name
        assert h.total_sats == core["total_sats"], name
        assert (h.block.height, h.block.hash) == (core["height"], core["bestblock"])
        assert wf.threshold == (2 if wallet == "vault" else None), name


def test_fixed_path_descriptor_derives_its_child() -> None:
    """xpub/0/5 (no wildcard) is the child at 0/5, not the xpub itself (was a silent bug)."""
    x = (
        "xpub6FL8FhxNNUVnG64YurPd16AfGyvFLhh7S2uSsDqR3Qfcm6o9jtcMYwh6DvmcBF9qozxNQmTCVvWtxLpKTn"
        "hVLN3Pgnu2D3pAoXYFgVyd8Yz"
    )
    ranged = parse_target(f"wpkh({x}/0/*)", "main")
    assert parse_target(f"wpkh({x}/0/5)", "main").script() == ranged.scripts(0, 5, 6)[0]


# ---- malformed files: typed errors, never a traceback ---------------------------------------


def _sample(name: str) -> Any:
    return json.loads((W / (S + name)).read_text())


def _edit(name: str, fn: Any) -> str:
    d = _sample(name)
    fn(d)
    return json.dumps(d)


CC = "cc-singlesig-keystore-1.json"
CV = "caravan-multisig-export-1.json"
EL = "electrum-singlesig-wallet.json"
EM = "electrum-multisig-wallet.json"
SP = "specter-wallet.json"
CB = "cobo-singlesig-keystore-1.json"
CCTXT = (W / (S + "cc-multisig-export-1.txt")).read_text()
DESC = (W / (S + "descriptor-receive.txt")).read_text()
BSMS = (W / "bsms/multisig-1.bsms").read_text()


def _set(path: str, value: Any) -> Any:
    def fn(d: Any) -> None:
        *head, last = path.split(".")
        for k in head:
            d = d[int(k)] if k.isdigit() else d[k]
        if value is KeyError:
            del d[last]
        else:
            d[int(last) if last.isdigit() else last] = value

    return fn


MALFORMED: list[tuple[str, str, str, type[Exception]]] = [
    # (id, network, content, error)
    ("empty", "main", "", WalletFileError),
    ("blank", "main", "  \n\n ", WalletFileError),
    ("binary", "main", "\udcff", WalletFileError),
    ("nul", "main", "wpkh(\x00)", WalletFileError),
    ("bad-json", "main", '{"chain": ', WalletFileError),
    ("json-list", "main", "[1, 2]", WalletFileError),
    ("json-unknown", "main", '{"hello": 1}', WalletFileError),
    ("deep-json", "main", "[" * 5000 + "]" * 5000, WalletFileError),
    ("huge", "main", "#" * 1_000_001, WalletFileError),
    ("cc-chain-type", "test", _edit(CC, _set("chain", 5)), WalletFileError),
    ("cc-chain-bad", "test", _edit(CC, _set("chain", "LTC")), WalletFileError),
    ("cc-chain-net", "main", _sample(CC) and json.dumps(_sample(CC)), NetworkMismatchError),
    ("cc-xfp-missing", "test", _edit(CC, _set("xfp", KeyError)), WalletFileError),
    ("cc-xfp-short", "test", _edit(CC, _set("xfp", "0F0569")), WalletFileError),
    ("cc-xfp-int", "test", _edit(CC, _set("xfp", 123)), WalletFileError),
    ("cc-account-str", "test", _edit(CC, _set("account", "0")), WalletFileError),
    ("cc-account-wrong", "test", _edit(CC, _set("account", 7)), WalletFileError),
    ("cc-deriv-missing", "test", _edit(CC, _set("bip84.deriv", KeyError)), WalletFileError),
    ("cc-deriv-garbage", "test", _edit(CC, _set("bip84.deriv", "m/84'/x")), WalletFileError),
    ("cc-deriv-purpose", "test", _edit(CC, _set("bip84.deriv", "m/49'/1'/123'")), WalletFileError),
    (
        "cc-deriv-coin",
        "test",
        _edit(CC, _set("bip84.deriv", "m/84'/0'/123'")),
        NetworkMismatchError,
    ),
    ("cc-xpub-missing", "test", _edit(CC, _set("bip84.xpub", KeyError)), WalletFileError),
    ("cc-xpub-int", "test", _edit(CC, _set("bip84.xpub", 1)), WalletFileError),
    (
        "cc-xpub-typo",
        "test",
        _edit(CC, lambda d: d["bip84"].update(xpub=d["bip84"]["xpub"][:-1] + "A")),
        WalletFileError,
    ),
    (
        "cc-xpub-mainnet",
        "test",
        _edit(
            CC,
            _set(
                "bip84.xpub",
                std(
                    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf"
                    "31mGDtKsAYz2oz2AGutZYs"
                ),
            ),
        ),
        NetworkMismatchError,
    ),
    (
        "cc-pub-other",
        "test",
        _edit(CC, lambda d: d["bip84"].update(_pub=d["bip49"]["_pub"])),
        WalletFileError,
    ),
    ("cc-section-xfp", "test", _edit(CC, _set("bip84.xfp", "00000000")), WalletFileError),
    ("cc-section-type", "test", _edit(CC, _set("bip84", "x")), WalletFileError),
    ("cc-first-int", "test", _edit(CC, _set("bip84.first", 3)), WalletFileError),
    (
        "cc-first-other-net",
        "test",
        _edit(CC, _set("bip84.first", "bc1qg6stutzna28k472gr2hfnvvz63503qv8x2hsv9")),
        NetworkMismatchError,
    ),
    (
        "cc-top-xpub-depth",
        "test",
        _edit(CC, lambda d: d.update(xpub=d["bip84"]["xpub"])),
        WalletFileError,
    ),
    (
        "cc-no-sections",
        "test",
        _edit(CC, lambda d: [d.pop(k) for k in ("bip44", "bip49", "bip84")]),
        WalletFileError,
    ),
    ("cv-type", "main", _edit(CV, _set("addressType", "P2TR")), WalletFileError),
    ("cv-network", "main", _edit(CV, _set("network", "litecoin")), WalletFileError),
    ("cv-network-other", "main", _edit(CV, _set("network", "testnet")), NetworkMismatchError),
    ("cv-quorum-type", "main", _edit(CV, _set("quorum", [2, 3])), WalletFileError),
    ("cv-m-str", "main", _edit(CV, _set("quorum.requiredSigners", "2")), WalletFileError),
    ("cv-m-big", "main", _edit(CV, _set("quorum.requiredSigners", 4)), WalletFileError),
    ("cv-m-missing", "main", _edit(CV, _set("quorum.requiredSigners", KeyError)), WalletFileError),
    ("cv-keys-dict", "main", _edit(CV, _set("extendedPublicKeys", {})), WalletFileError),
    ("cv-key-str", "main", _edit(CV, _set("extendedPublicKeys.0", "xpub")), WalletFileError),
    (
        "cv-dup",
        "main",
        _edit(CV, lambda d: d["extendedPublicKeys"].__setitem__(1, d["extendedPublicKeys"][0])),
        WalletFileError,
    ),
    (
        "cv-path-bad",
        "main",
        _edit(CV, _set("extendedPublicKeys.0.bip32Path", "m/a")),
        WalletFileError,
    ),
    ("cv-start", "main", _edit(CV, _set("startingAddressIndex", 5)), WalletFileError),
    ("cv-name", "main", _edit(CV, _set("name", 7)), WalletFileError),
    ("el-type", "main", _edit(EL, _set("wallet_type", 3)), WalletFileError),
    ("el-imported", "main", _edit(EL, _set("wallet_type", "imported")), WalletFileError),
    ("el-keystore-type", "main", _edit(EL, _set("keystore.type", "imported")), WalletFileError),
    ("el-keystore-list", "main", _edit(EL, _set("keystore", [])), WalletFileError),
    ("el-encrypted", "main", _edit(EL, _set("use_encryption", True)), EncryptedWalletError),
    ("el-seed-version", "main", _edit(EL, _set("seed_version", "x")), WalletFileError),
    ("el-fp", "main", _edit(EL, _set("keystore.root_fingerprint", "zz")), WalletFileError),
    ("el-deriv-bad", "main", _edit(EL, _set("keystore.derivation", "m/84'/zero")), WalletFileError),
    ("em-missing-x4", "test", _edit(EM, _set("x4/", KeyError)), WalletFileError),
    ("em-extra-x5", "test", _edit(EM, lambda d: d.update({"x5/": d["x1/"]})), WalletFileError),
    ("em-m-zero", "test", _edit(EM, _set("wallet_type", "0of4")), WalletFileError),
    ("em-m-big", "test", _edit(EM, _set("wallet_type", "5of4")), WalletFileError),
    ("em-ckcc", "test", _edit(EM, _set("x1/.ckcc_xfp", "abc")), WalletFileError),
    (
        "em-mixed",
        "test",
        _edit(EM, lambda d: d["x1/"].update(xpub=std(d["x1/"]["xpub"], "test"))),
        WalletFileError,
    ),
    ("sp-desc-int", "main", _edit(SP, _set("descriptor", 5)), WalletFileError),
    ("sp-desc-bad", "main", _edit(SP, _set("descriptor", "wpkh(")), WalletFileError),
    ("sp-height", "main", _edit(SP, _set("blockheight", -1)), WalletFileError),
    (
        "sp-xprv",
        "main",
        _edit(
            SP,
            _set(
                "descriptor",
                "wpkh(xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2"
                "nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi/0/*)",
            ),
        ),
        PrivateKeyError,
    ),
    ("cb-fp", "main", _edit(CB, _set("MasterFingerprint", "nothex!!")), WalletFileError),
    ("cb-path", "main", _edit(CB, _set("AccountKeyPath", 84)), WalletFileError),
    ("cb-purpose", "main", _edit(CB, _set("AccountKeyPath", "49'/0'/0'")), WalletFileError),
    ("cb-key", "main", _edit(CB, _set("ExtPubKey", "zpubnotakey")), WalletFileError),
    ("core-list", "main", json.dumps({"descriptors": {}}), WalletFileError),
    ("core-item", "main", json.dumps({"descriptors": ["wpkh()"]}), WalletFileError),
    (
        "core-range",
        "main",
        json.dumps({"descriptors": [{"desc": DESC.strip(), "range": [5, 1]}]}),
        WalletFileError,
    ),
    (
        "core-checksum",
        "main",
        json.dumps({"descriptors": [{"desc": DESC.strip()[:-1] + "q"}]}),
        WalletFileError,
    ),
    (
        "core-dup",
        "main",
        json.dumps({"descriptors": [{"desc": DESC.strip()}] * 2}),
        WalletFileError,
    ),
    ("cc-txt-no-policy", "main", CCTXT.replace("Policy: 2 of 4\n", ""), WalletFileError),
    ("cc-txt-policy", "main", CCTXT.replace("2 of 4", "two of four"), WalletFileError),
    ("cc-txt-count", "main", CCTXT.replace("2 of 4", "2 of 5"), WalletFileError),
    ("cc-txt-format", "main", CCTXT.replace("P2WSH", "P2TR"), WalletFileError),
    ("cc-txt-no-name", "main", CCTXT.replace("Name: CC-2-of-4\n", ""), WalletFileError),
    ("cc-txt-field", "main", CCTXT + "Colour: blue\n", WalletFileError),
    ("cc-txt-testnet", "test", CCTXT, NetworkMismatchError),
    ("desc-garbage", "main", "hello world\n", WalletFileError),
    ("desc-checksum", "main", DESC.strip()[:-1] + "x", WalletFileError),
    ("desc-unbalanced", "main", "wpkh([a262308d/84h/0h/0h]xpub6DM", WalletFileError),
    ("desc-only-comments", "main", "# nothing\n# here\n", WalletFileError),
    (
        "desc-wif",
        "main",
        "pkh(5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ)",
        PrivateKeyError,
    ),
    ("desc-mnemonic", "main", "abandon " * 11 + "about\n", PrivateKeyError),
    ("bsms-version", "main", BSMS.replace("BSMS 1.0", "BSMS 2.0"), WalletFileError),
    ("bsms-no-desc", "main", "BSMS 1.0\n", WalletFileError),
    ("bsms-extra", "main", BSMS + "extra\n", WalletFileError),
    (
        "bsms-regtest-addr",
        "main",
        BSMS.replace(BSMS.splitlines()[3], "bcrt1qw4jntge3n3kcjvllq0arq2z3qhvftgvf408j8f"),
        NetworkMismatchError,
    ),
    ("diy-no-amp", "main", "addwallet name wsh(...)\n", WalletFileError),
    (
        "cosigner-only",
        "test",
        _edit(
            CC,
            lambda d: (
                [d.pop(k) for k in ("bip44", "bip49", "bip84")]
                or d.update(bip48_2={"deriv": "m/48'/1'/0'/2'", "xpub": d["xpub"]})
            ),
        ),
        WalletFileError,
    ),
]


@pytest.mark.parametrize(
    ("network", "content", "error"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_files_raise_typed_errors(
    network: str, content: str, error: type[Exception], tmp_path: Path
) -> None:
    p = tmp_path / "bad-wallet"
    p.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(error) as info:
        load_wallet_file(p, network=network)
    assert isinstance(info.value, InputError)
    assert "bad-wallet" in str(info.value)


def test_at_least_fifty_malformed() -> None:
    assert len(MALFORMED) >= 50


# ---- fuzz: a damaged export is a typed error or a wallet, never a crash ---------------------

import random  # noqa: E402

_SAMPLES = sorted(p for p in W.rglob("*") if p.is_file() and p.name != "README.md")


@pytest.mark.parametrize("seed", range(6))
def test_damaged_samples_never_crash(seed: int) -> None:
    """600 seeded damages (a byte flipped, inserted, deleted; the file cut) of every sample."""
    rng = random.Random(seed)
    for _ in range(100):
        path = rng.choice(_SAMPLES)
        data = bytearray(path.read_bytes())
        i = rng.randrange(max(len(data), 1))
        how = rng.choice(["flip", "cut", "insert", "delete"])
        if how == "flip" and data:
            data[i] = rng.randrange(256)
        elif how == "cut":
            data = data[:i]
        elif how == "insert":
            data[i:i] = bytes([rng.randrange(256)])
        elif data:
            del data[i]
        network = rng.choice(["main", "test", "regtest"])
        try:
            w = parse_wallet_file(bytes(data), network=network, path="fuzz")
        except InputError as exc:
            assert "fuzz" in str(exc), (path.name, how, i)
            continue
        assert w.targets and all(t.ranged for t in w.targets)
