"""Every BIP380-386 key-expression shape gives Bitcoin Core's scripts, fixed paths included.

embit's ``Descriptor.script_pubkey()`` watches ``tpub.../0/1`` (no ``*``) at the parent key; Bitcoin
Core derives ``/0/1``. The expected scripts come from the BIPs' own test vectors (public-key forms
of them) and from Bitcoin Core's ``scantxoutset`` answers on the shared chain (oracle.json, each
coin names the full derivation path of its key).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import SNAPSHOT, WALLETS, desc_path

from utxo_truth import DescriptorError, SnapshotSource, parse_target, scan

XPUB_A = "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL"
XPUB_B = "xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y"
XPUB_C = "xpub69H7F5dQzmVd3vPuLKtcXJziMEQByuDidnX3YdwgtNsecY5HRGtAAQC5mXTt4dsv9RzyjgDjAQs9VGVV6ydYCHnprc9vvaA5YtqWyL6hyds"
XPUB_D = "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH"

# (descriptor, scripts) from BIP381, BIP382 and BIP383 "Test Vectors" (the xpub forms).
BIP_FIXED = [
    (f"pk({XPUB_B}/0)", "210379e45b3cf75f9c5f9befd8e9506fb962f6a9d185ac87001ec44a8d3df8d4a9e3ac"),
    (
        f"pkh([bd16bee5/2147483647h]{XPUB_C}/0)",
        "76a914ebdc90806a9c4356c1c88e42216611e1cb4c1c1788ac",
    ),
    (
        f"pkh([bd16bee5/2147483647']{XPUB_C}/0)",
        "76a914ebdc90806a9c4356c1c88e42216611e1cb4c1c1788ac",
    ),
    (
        f"sh(multi(2,[00000000/111'/222]{XPUB_A},{XPUB_B}/0))",
        "a91445a9a622a8b0a1269944be477640eedc447bbd8487",
    ),
    (
        f"sh(multi(2,[00000000/111h/222]{XPUB_A},{XPUB_B}/0))",
        "a91445a9a622a8b0a1269944be477640eedc447bbd8487",
    ),
]
BIP_RANGED = [
    (
        f"wpkh([ffffffff/13']{XPUB_D}/1/2/*)",
        [
            "0014326b2249e3a25d5dc60935f044ee835d090ba859",
            "0014af0bd98abc2f2cae66e36896a39ffe2d32984fb7",
            "00141fa798efd1cbf95cebf912c031b8a4a6e9fb9f27",
        ],
    ),
    (
        f"sortedmulti(2,{XPUB_A}/*,{XPUB_B}/0/0/*)",
        [
            "5221025d5fc65ebb8d44a5274b53bac21ff8307fec2334a32df05553459f8b1f7fe1b62102fbd47cc8034098f0e6a94c6aeee8528abf0a2153a5d8e46d325b7284c046784652ae",
            "52210264fd4d1f5dea8ded94c61e9641309349b62f27fbffe807291f664e286bfbe6472103f4ece6dfccfa37b211eb3d0af4d0c61dba9ef698622dc17eecdf764beeb005a652ae",
            "5221022ccabda84c30bad578b13c89eb3b9544ce149787e5b538175b1d1ba259cbb83321024d902e1a2fc7a8755ab5b694c575fce742c48d9ff192e63df5193e4c7afe1f9c52ae",
        ],
    ),
]


@pytest.mark.parametrize(("desc", "script"), BIP_FIXED)
def test_bip_vectors_fixed_paths(desc: str, script: str) -> None:
    t = parse_target(desc, "main")
    assert not t.ranged
    assert t.script().hex() == script


@pytest.mark.parametrize(("desc", "scripts"), BIP_RANGED)
def test_bip_vectors_ranged_paths(desc: str, scripts: list[str]) -> None:
    t = parse_target(desc, "main")
    assert [s.hex() for s in t.scripts(0, 0, 3)] == scripts


def _fixed(descriptor: str, chain: int, index: int) -> str:
    """A wallet's ranged descriptor turned into the fixed-path one of ``chain/index``."""
    body = descriptor.split("#")[0]
    return re.sub(r"/[01]/\*", f"/{chain}/{index}", body)


def _coins(oracle: dict[str, Any]) -> list[tuple[str, str, int, int, str]]:
    out = []
    for w in WALLETS:
        seen = set()
        for u in oracle["wallets"][w]["scantxoutset"]["unspents"]:
            chain, index = desc_path(u["desc"])
            if (chain, index) not in seen:
                seen.add((chain, index))
                out.append(
                    (
                        w,
                        oracle["wallets"][w]["descriptors"][chain],
                        chain,
                        index,
                        u["script_pubkey"],
                    )
                )
    return out


def test_fixed_paths_equal_core_for_every_wallet_shape(oracle: dict[str, Any]) -> None:
    """pkh, wpkh, sh(wpkh), tr, wsh(sortedmulti): `KEY/c/i` is Core's key at c/i."""
    coins = _coins(oracle)
    shapes = set()
    for wallet, descriptor, chain, index, script in coins:
        fixed = _fixed(descriptor, chain, index)
        t = parse_target(fixed, "regtest")
        assert not t.ranged, fixed
        assert t.script().hex() == script, (wallet, chain, index)
        shapes.add(t.script_type)
    assert shapes >= {"pkh", "wpkh", "sh-wpkh", "tr", "wsh-sortedmulti"}


def test_fixed_path_with_origin_in_both_hardened_spellings(oracle: dict[str, Any]) -> None:
    d = oracle["wallets"]["alice"]["descriptors"][0]
    h = parse_target(_fixed(d, 0, 1), "regtest").script()
    apostrophe = parse_target(_fixed(d, 0, 1).replace("h/", "'/").replace("h]", "']"), "regtest")
    no_origin = parse_target(re.sub(r"\[[^]]*\]", "", _fixed(d, 0, 1)), "regtest")
    assert h == apostrophe.script() == no_origin.script()
    assert h.hex() == "0014756535a3319c6d8933ff03fa30285105d895a189"


def test_alice_fixed_key_holds_what_scantxoutset_says(oracle: dict[str, Any]) -> None:
    """The issue's example: alice's /0/1 holds 8,857,143 sats (scantxoutset), not 0."""
    xpub = oracle["wallets"]["alice"]["xpub"]
    core = sum(
        u["value"]
        for u in oracle["wallets"]["alice"]["scantxoutset"]["unspents"]
        if desc_path(u["desc"]) == (0, 1)
    )
    assert core == 8_857_143
    h = scan([f"wpkh({xpub}/0/1)"], network="regtest", source=SnapshotSource(SNAPSHOT, "regtest"))
    assert h.total_sats == core


@pytest.mark.parametrize(
    "desc",
    [
        f"wpkh({XPUB_B}/0h)",  # BIP32: a public key has no hardened children
        f"wpkh({XPUB_B}/0'/*)",
        f"wpkh({XPUB_B}/*/0)",  # BIP380: the wildcard is the last step
        f"wpkh({XPUB_B}/<0;1>)",  # multipath of fixed keys: one descriptor per branch
    ],
)
def test_key_paths_core_refuses_are_refused(desc: str) -> None:
    with pytest.raises(DescriptorError):
        parse_target(desc, "main")


def test_fixed_tr_and_multi_shapes_follow_each_key_path(oracle: dict[str, Any]) -> None:
    """A multisig whose keys have different fixed paths derives each one (BIP383 lockstep)."""
    vault = oracle["wallets"]["vault"]
    wanted = {desc_path(u["desc"]): u["script_pubkey"] for u in vault["scantxoutset"]["unspents"]}
    ranged = parse_target(vault["descriptors"][0], "regtest")
    for (chain, index), script in wanted.items():
        if chain == 0:
            assert ranged.scripts(0, index, index + 1)[0].hex() == script
            assert (
                parse_target(_fixed(vault["descriptors"][0], 0, index), "regtest").script().hex()
                == script
            )
