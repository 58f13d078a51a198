"""Bitcoin networks and the encodings that tell them apart.

The network is always explicit in utxo_truth: nothing defaults to mainnet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ._exceptions import InputError

__all__ = ["Network", "parse_network"]


@dataclass(frozen=True, slots=True)
class _Params:
    label: str
    magic: bytes  # P2P message start, also written into Bitcoin Core's UTXO snapshots
    hrp: str  # bech32 human-readable part
    p2pkh: int  # base58 version byte
    p2sh: int
    wif: int
    family: str  # "main" or "test": which extended-key version bytes apply
    embit: str  # key of embit.networks.NETWORKS


class Network(StrEnum):
    """A Bitcoin network. The value is the name used on the command line."""

    MAIN = "main"
    TESTNET = "test"
    TESTNET4 = "testnet4"
    SIGNET = "signet"
    REGTEST = "regtest"

    @property
    def params(self) -> _Params:
        """Encoding parameters of this network."""
        return _PARAMS[self]

    @property
    def label(self) -> str:
        """Human name ("mainnet", "regtest", ...)."""
        return self.params.label

    @property
    def embit(self) -> dict[str, Any]:
        """The matching ``embit.networks.NETWORKS`` entry."""
        from embit.networks import NETWORKS

        net: dict[str, Any] = NETWORKS[self.params.embit]
        return net


_PARAMS: dict[Network, _Params] = {
    Network.MAIN: _Params(
        "mainnet", bytes.fromhex("f9beb4d9"), "bc", 0x00, 0x05, 0x80, "main", "main"
    ),
    Network.TESTNET: _Params(
        "testnet3", bytes.fromhex("0b110907"), "tb", 0x6F, 0xC4, 0xEF, "test", "test"
    ),
    Network.TESTNET4: _Params(
        "testnet4", bytes.fromhex("1c163f28"), "tb", 0x6F, 0xC4, 0xEF, "test", "test"
    ),
    Network.SIGNET: _Params(
        "signet", bytes.fromhex("0a03cf40"), "tb", 0x6F, 0xC4, 0xEF, "test", "signet"
    ),
    Network.REGTEST: _Params(
        "regtest", bytes.fromhex("fabfb5da"), "bcrt", 0x6F, 0xC4, 0xEF, "test", "regtest"
    ),
}

_ALIASES = {
    "main": Network.MAIN,
    "mainnet": Network.MAIN,
    "bitcoin": Network.MAIN,
    "test": Network.TESTNET,
    "testnet": Network.TESTNET,
    "testnet3": Network.TESTNET,
    "testnet4": Network.TESTNET4,
    "signet": Network.SIGNET,
    "regtest": Network.REGTEST,
}


def parse_network(value: Network | str) -> Network:
    """Read a network name (``main``, ``testnet``/``test``, ``testnet4``, ``signet``, ``regtest``).

    Example:
        >>> parse_network("mainnet") is Network.MAIN
        True
    """
    if isinstance(value, Network):
        return value
    try:
        return _ALIASES[str(value).strip().lower()]
    except KeyError:
        raise InputError(
            f"unknown network {value!r}: use one of main, testnet, testnet4, signet, regtest"
        ) from None


def network_by_magic(magic: bytes) -> Network | None:
    """The network whose message-start bytes are ``magic``, or None."""
    for net, p in _PARAMS.items():
        if p.magic == magic:
            return net
    return None
