"""Our addresses against bitcoinlib's, an independent implementation: 1,000 indexes per type.

bitcoinlib derives the BIP32 children and encodes the addresses. It has no taproot tweak, so for
tr() the BIP341 tweak is computed here from BIP341's formulas, with t·G from bitcoinlib's curve
code (fastecdsa) and one affine addition, and bitcoinlib encodes the bech32m address.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

import pytest
from embit import bip32
from embit.networks import NETWORKS

from utxo_truth import parse_target
from utxo_truth.targets import address_of

warnings.filterwarnings("ignore")
from bitcoinlib.keys import Address, HDKey, Key  # noqa: E402

N_INDEXES = 1000

# secp256k1 field prime and order, for the reference taproot tweak
P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Affine point addition of two distinct points, neither the negation of the other."""
    lam = (b[1] - a[1]) * pow(b[0] - a[0], P - 2, P) % P
    x = (lam * lam - a[0] - b[0]) % P
    return (x, (lam * (a[0] - x) - a[1]) % P)


def _lift_x(x: int) -> tuple[int, int]:
    y = pow((pow(x, 3, P) + 7) % P, (P + 1) // 4, P)
    return (x, y if y % 2 == 0 else P - y)


def _tagged(tag: str, msg: bytes) -> bytes:
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + msg).digest()


def _bip86_output_key(internal_sec: bytes) -> bytes:
    px = internal_sec[1:]
    t = int.from_bytes(_tagged("TapTweak", px), "big") % N
    tg = Key(t)  # t·G by bitcoinlib's own curve code (fastecdsa), not libsecp256k1
    q = _add(_lift_x(int.from_bytes(px, "big")), (tg.x, tg.y))
    return q[0].to_bytes(32, "big")


def _oracle_key(oracle: dict[str, Any], wallet: str) -> str:
    return str(oracle["wallets"][wallet]["xpub"])


@pytest.mark.parametrize(
    ("wallet", "witness_type", "script_type"),
    [("dave", "legacy", "pkh"), ("carol", "p2sh-segwit", "sh-wpkh"), ("alice", "segwit", "wpkh")],
)
def test_single_key_addresses_equal_bitcoinlib(
    oracle: dict[str, Any], wallet: str, witness_type: str, script_type: str
) -> None:
    xpub = _oracle_key(oracle, wallet)
    # SLIP-132: tpub means P2PKH, upub P2SH-P2WPKH, vpub P2WPKH (embit names them y/z on testnets)
    slip132 = {"pkh": "xpub", "sh-wpkh": "ypub", "wpkh": "zpub"}[script_type]
    key = bip32.HDKey.from_string(xpub).to_string(version=NETWORKS["regtest"][slip132])
    ours = parse_target(key, "regtest")
    assert ours.script_type == script_type
    chain = HDKey(xpub, network="testnet", witness_type=witness_type).child_public(0)
    scripts = ours.scripts(0, 0, N_INDEXES)
    for i in range(N_INDEXES):
        assert address_of(scripts[i], "testnet") == chain.child_public(i).address(), i


def test_taproot_addresses_equal_bitcoinlib_and_bip341(oracle: dict[str, Any]) -> None:
    xpub = _oracle_key(oracle, "bob")
    ours = parse_target(f"tr({xpub}/0/*)", "regtest")
    chain = HDKey(xpub, network="testnet", witness_type="segwit").child_public(0)
    scripts = ours.scripts(0, 0, N_INDEXES)
    for i in range(N_INDEXES):
        out = _bip86_output_key(chain.child_public(i).public_byte)
        theirs = Address(
            hashed_data=out, script_type="p2tr", encoding="bech32", witver=1, network="testnet"
        )
        assert address_of(scripts[i], "testnet") == theirs.address, i


def test_sortedmulti_addresses_equal_bitcoinlib(oracle: dict[str, Any]) -> None:
    xpubs = oracle["wallets"]["vault"]["xpubs"]
    desc = "wsh(sortedmulti(2," + ",".join(f"{x}/0/*" for x in xpubs) + "))"
    ours = parse_target(desc, "regtest")
    chains = [HDKey(x, network="testnet", witness_type="segwit").child_public(0) for x in xpubs]
    scripts = ours.scripts(0, 0, N_INDEXES)
    for i in range(N_INDEXES):
        keys = sorted(c.child_public(i).public_byte for c in chains)
        witness_script = b"\x52" + b"".join(b"\x21" + k for k in keys) + b"\x53\xae"
        theirs = Address(
            data=witness_script, script_type="p2wsh", encoding="bech32", network="testnet"
        )
        assert address_of(scripts[i], "testnet") == theirs.address, i
