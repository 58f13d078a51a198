"""Wrapped BTC measured from both ends: reserves on Bitcoin against token supply on EVM chains.

A WBTC or cbBTC balance is a claim on a custodian that holds bitcoin at addresses it publishes;
the claims are an ERC-20 whose supply is public. :func:`utxo_truth.measure` (in ``_api.py``, beside
``scan``) reads both ends; :func:`compare` here is the pure comparison:

* the coins at the published reserve addresses at one Bitcoin block (any chain source; only
  *verified* coins count), each address's own balance next to the one the custodian reports;
* ``totalSupply()`` of each token contract at an EVM block (:mod:`utxo_truth.evm`), summed over
  the contracts that are *native* mints. A *bridged* contract (minted on one chain against tokens
  locked in a bridge's escrow on another) is read and shown, never added: its backing is already
  in the native supply.

coverage = verified reserves / native supply, as an exact :class:`~fractions.Fraction`; with a
supply of 0 there is no coverage (``None``, and a check says so), never infinity or 100%.

Reserve lists are read from the custodians' published shapes (see ``docs/wrapped.md``):

* WBTC's address API: ``{"result": [{"id", "address", "balance", "type", "verified", "coin",
  "chain"}]}``, balances in satoshis (as the Chainlink WBTC adapter documents it), rows of other
  coins skipped, an address repeated across chain endpoints counted once (balances must agree);
* Coinbase's cbBTC proof of reserves: ``{"asOf", "totalReserves", "reserves": [{"address",
  "balance"}]}``;
* the plain address lists, CSV and JSON read by :func:`utxo_truth.claims.read_reserve_file`.

cbBTC balances are BTC decimal strings (or JSON numbers read as decimals), converted exactly.

>>> r = parse_reserves('{"result": [{"address": "bcrt1qx", "balance": "150000000", "type": '
...     '"custodial", "verified": true, "coin": "btc", "chain": "mainnet"}]}', where="wbtc.json")
>>> r.format, r.entries[0].reported_sats, r.reported_total_sats
('wbtc', 150000000, 150000000)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._exceptions import InputError
from ._models import BlockRef, Holdings
from .claims import PortfolioError, btc_to_sats, read_reserve_file
from .evm import EvmRpc, TokenSupply, chain_id_of

if TYPE_CHECKING:
    from .claims import Portfolio

__all__ = [
    "ReserveEntry",
    "ReserveList",
    "ResolvedSupply",
    "TokenSpec",
    "WrappedReport",
    "compare",
    "parse_reserves",
    "parse_token_spec",
    "read_reserves",
    "read_supplies",
    "resolve_portfolio",
]

DEFAULT_MAX_APART = 3600
"""Seconds the Bitcoin and EVM blocks may lie apart before a check warns."""


@dataclass(frozen=True, slots=True)
class ReserveEntry:
    """One published reserve address and the balance the custodian reports for it (its word).

    >>> ReserveEntry("bcrt1qx", 5).reported_sats
    5
    """

    address: str
    reported_sats: int | None = None
    custodian_verified: bool | None = None
    """The custodian's own ``verified`` flag (WBTC API), if it gives one: still a claim."""


@dataclass(frozen=True, slots=True)
class ReserveList:
    """A custodian's reserve addresses, deduplicated, with its reported total (if any).

    >>> ReserveList("addresses", (ReserveEntry("bcrt1qx"),)).reported_total_sats is None
    True
    """

    format: Literal["wbtc", "cbbtc", "addresses"]
    entries: tuple[ReserveEntry, ...]
    stated_total_sats: int | None = None
    """A total the document states itself (cbBTC ``totalReserves``), if any."""
    as_of: str | None = None

    @property
    def addresses(self) -> tuple[str, ...]:
        """The addresses, in the order published."""
        return tuple(e.address for e in self.entries)

    @property
    def reported_total_sats(self) -> int | None:
        """The custodian's reported total: stated, else the sum of reported balances, else None."""
        if self.stated_total_sats is not None:
            return self.stated_total_sats
        if self.entries and all(e.reported_sats is not None for e in self.entries):
            return sum(e.reported_sats or 0 for e in self.entries)
        return None


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """A token contract on one EVM chain; ``native`` mints count, bridged ones do not.

    >>> parse_token_spec("base:0x" + "cb" * 20 + ":bridged").native
    False
    """

    chain: str
    contract: str
    native: bool = True

    @property
    def chain_id(self) -> int:
        """The EIP-155 chain id of :attr:`chain`."""
        return chain_id_of(self.chain)


def parse_token_spec(text: str) -> TokenSpec:
    """``CHAIN:CONTRACT`` or ``CHAIN:CONTRACT:bridged`` (``:native`` is the default).

    >>> parse_token_spec("ethereum:0x2260fac5e5542a773aa44fbcfedf7c193bc2c599").chain_id
    1
    """
    parts = text.strip().split(":")
    if len(parts) >= 2 and parts[0].lower() == "eip155":
        parts = [f"eip155:{parts[1]}", *parts[2:]]
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("native", "bridged")):
        raise InputError(
            f"token {text[:80]!r}: give CHAIN:CONTRACT or CHAIN:CONTRACT:bridged, "
            "e.g. ethereum:0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"
        )
    chain_id_of(parts[0])
    contract = parts[1].strip()
    if len(contract) != 42 or not contract.startswith("0x"):
        raise InputError(f"token {text[:80]!r}: {contract[:50]!r} is not an EVM address")
    try:
        int(contract[2:], 16)
    except ValueError:
        raise InputError(f"token {text[:80]!r}: {contract!r} is not an EVM address") from None
    return TokenSpec(parts[0], contract.lower(), len(parts) == 2 or parts[2] == "native")


def _balance(value: Any, where: str) -> int:
    if isinstance(value, Decimal):
        value = format(value, "f")
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return btc_to_sats(value, where=where)


def parse_reserves(text: str, *, where: str = "reserves") -> ReserveList:
    """A WBTC address-API or cbBTC proof-of-reserves JSON document, read exactly.

    Numbers are read as decimals (never floats). Raises :class:`PortfolioError` for another
    shape, a balance that is not exact BTC, or an address reported twice with different balances.
    """
    try:
        data = json.loads(text, parse_float=Decimal)
    except ValueError:
        raise PortfolioError(f"{where}: not valid JSON") from None
    if isinstance(data, dict) and isinstance(data.get("result"), list):
        return _wbtc(data["result"], where)
    if isinstance(data, dict) and isinstance(data.get("reserves"), list):
        return _cbbtc(data, where)
    raise PortfolioError(
        f"{where}: not a reserve list: expected WBTC's {{\"result\": [...]}} or cbBTC's "
        '{"reserves": [...]} (see docs/wrapped.md)'
    )


_BITCOIN_CHAINS = {"btc", "bitcoin", "mainnet", "testnet", "testnet4", "signet", "regtest"}


def _wbtc_sats(value: Any, where: str) -> int:
    """WBTC's API reports balances in satoshis: a JSON integer or a string of digits."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise PortfolioError(
        f"{where}: {str(value)[:30]!r} is not a whole number of satoshis (the WBTC API reports "
        "balances in satoshis)"
    )


def _wbtc(rows: list[Any], where: str) -> ReserveList:
    seen: dict[str, ReserveEntry] = {}
    for i, row in enumerate(rows):
        at = f"{where}: result[{i}]"
        if not isinstance(row, dict) or not isinstance(row.get("address"), str):
            raise PortfolioError(f"{at}: an object with an 'address' string")
        coin, chain = row.get("coin"), row.get("chain")
        if coin is not None and not isinstance(coin, str):
            raise PortfolioError(f"{at}.coin: a string")
        if chain is not None and not isinstance(chain, str):
            raise PortfolioError(f"{at}.chain: a string")
        if coin is not None and coin.lower() != "btc":
            continue  # the API lists the custodian's addresses of other coins too
        if coin is None and chain is not None and chain.lower() not in _BITCOIN_CHAINS:
            continue  # an older row shape: "chain" names the coin ("eth")
        verified = row.get("verified")
        if verified is not None and not isinstance(verified, bool):
            raise PortfolioError(f"{at}.verified: true or false")
        reported = _wbtc_sats(row["balance"], f"{at}.balance") if "balance" in row else None
        entry = ReserveEntry(row["address"].strip(), reported, verified)
        old = seen.get(entry.address)
        if old is not None and old.reported_sats != entry.reported_sats:
            raise PortfolioError(
                f"{at}: {entry.address} is listed twice with different balances "
                f"({old.reported_sats} and {entry.reported_sats} sats)"
            )
        seen.setdefault(entry.address, entry)
    if not seen:
        raise PortfolioError(f"{where}: no BTC reserve addresses in 'result'")
    return ReserveList("wbtc", tuple(seen.values()))


def _cbbtc(data: Mapping[str, Any], where: str) -> ReserveList:
    seen: dict[str, ReserveEntry] = {}
    for i, row in enumerate(data["reserves"]):
        at = f"{where}: reserves[{i}]"
        if not isinstance(row, dict) or not isinstance(row.get("address"), str):
            raise PortfolioError(f"{at}: an object with an 'address' string")
        if "balance" not in row:
            raise PortfolioError(f"{at}: a 'balance' (BTC) is required")
        entry = ReserveEntry(row["address"].strip(), _balance(row["balance"], f"{at}.balance"))
        if entry.address in seen:
            raise PortfolioError(f"{at}: {entry.address} is listed twice")
        seen[entry.address] = entry
    if not seen:
        raise PortfolioError(f"{where}: no reserve addresses")
    total = data.get("totalReserves")
    stated = _balance(total, f"{where}: totalReserves") if total is not None else None
    as_of = data.get("asOf")
    return ReserveList(
        "cbbtc", tuple(seen.values()), stated, as_of if isinstance(as_of, str) else None
    )


def read_reserves(path: str | Path, *, network: Any) -> ReserveList:
    """A reserve list from a file: WBTC or cbBTC JSON, or a plain address list / CSV."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PortfolioError(f"reserves: cannot read {p}: {exc.strerror or exc}") from exc
    if text.lstrip().startswith("{"):
        reserves = parse_reserves(text, where=str(p))
        from .targets import parse_target

        for a in reserves.addresses:
            try:
                parse_target(a, network)
            except InputError as exc:
                raise PortfolioError(f"{p}: {exc}") from None
        return reserves
    addresses, _ = read_reserve_file(p, network=network, where="reserves")
    return ReserveList("addresses", tuple(ReserveEntry(a) for a in dict.fromkeys(addresses)))


@dataclass(frozen=True, slots=True)
class AddressResult:
    """One reserve address: what the chain shows (verified), and what the custodian reports."""

    address: str
    verified_sats: int
    unverified_sats: int
    reported_sats: int | None


@dataclass(frozen=True, slots=True)
class Check:
    """A finding: ``level`` is info, warning or critical."""

    id: str
    level: Literal["info", "warning", "critical"]
    message: str


@dataclass(frozen=True, slots=True)
class WrappedReport:
    """Both ends of a wrapped token, each at its named block."""

    bitcoin_block: BlockRef
    bitcoin_time: int | None
    reserves: tuple[AddressResult, ...]
    supplies: tuple[tuple[TokenSpec, TokenSupply], ...]
    reported_total_sats: int | None
    checks: tuple[Check, ...] = field(default=())

    @property
    def verified_reserves_sats(self) -> int:
        """Coins at the reserve addresses whose proof checked, at :attr:`bitcoin_block`."""
        return sum(a.verified_sats for a in self.reserves)

    @property
    def supply_sats(self) -> int:
        """The native mints' supply, in satoshis (bridged contracts are not added)."""
        return sum(s.sats for spec, s in self.supplies if spec.native)

    @property
    def coverage(self) -> Fraction | None:
        """Verified reserves / supply, exactly; None when the supply is 0 (no coverage)."""
        supply = self.supply_sats
        return Fraction(self.verified_reserves_sats, supply) if supply else None

    @property
    def seconds_apart(self) -> int | None:
        """The widest gap between the Bitcoin block's time and any EVM block's; None if unknown."""
        if self.bitcoin_time is None or not self.supplies:
            return None
        return max(abs(s.block.timestamp - self.bitcoin_time) for _, s in self.supplies)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (amounts as integers, coverage as a fraction string and percent)."""
        cov = self.coverage
        return {
            "bitcoin_block": {"height": self.bitcoin_block.height, "hash": self.bitcoin_block.hash,
                              "time": self.bitcoin_time},
            "verified_reserves_sats": self.verified_reserves_sats,
            "supply_sats": self.supply_sats,
            "coverage": None if cov is None else f"{cov.numerator}/{cov.denominator}",
            "coverage_percent": None if cov is None else f"{Decimal(cov.numerator) * 100 / Decimal(cov.denominator):.4f}",
            "seconds_apart": self.seconds_apart,
            "reported_total_sats": self.reported_total_sats,
            "tokens": [
                {"chain": spec.chain, "chain_id": s.block.chain_id, "contract": s.contract,
                 "native": spec.native, "block": s.block.number, "block_hash": s.block.hash,
                 "block_time": s.block.timestamp, "decimals": s.decimals, "units": str(s.units),
                 "sats": s.sats}
                for spec, s in self.supplies
            ],
            "reserves": [
                {"address": a.address, "verified_sats": a.verified_sats,
                 "unverified_sats": a.unverified_sats, "reported_sats": a.reported_sats}
                for a in self.reserves
            ],
            "checks": [{"id": c.id, "level": c.level, "message": c.message} for c in self.checks],
        }  # fmt: skip


def read_supplies(
    tokens: Sequence[TokenSpec | str],
    *,
    evm_rpc: str | Mapping[str, str] | Mapping[int, str],
    evm_block: int | str = "finalized",
) -> tuple[tuple[TokenSpec, TokenSupply], ...]:
    """Each token contract's ``totalSupply()`` at ``evm_block`` (the EVM end of :func:`compare`).

    Example (needs an EVM node, so not run here)::

        read_supplies(["ethereum:0x2260fac5e5542a773aa44fbcfedf7c193bc2c599"],
                      evm_rpc="http://127.0.0.1:8545")[0][1].sats
    """
    specs = [parse_token_spec(t) if isinstance(t, str) else t for t in tokens]
    if not specs:
        raise InputError("give at least one token contract (CHAIN:CONTRACT)")
    supplies: list[tuple[TokenSpec, TokenSupply]] = []
    for spec in specs:
        url = _url_for(evm_rpc, spec)
        with EvmRpc(url, chain=spec.chain) as rpc:
            supplies.append((spec, rpc.total_supply(spec.contract, evm_block)))
    return tuple(supplies)


def compare(
    supplies: Sequence[tuple[TokenSpec, TokenSupply]],
    reserves: ReserveList,
    holdings: Holdings,
    *,
    bitcoin_time: int | None = None,
    max_apart: int = DEFAULT_MAX_APART,
) -> WrappedReport:
    """Both ends compared: pure, on supplies already read and a scan of ``reserves.addresses``.

    :func:`utxo_truth.measure` reads both ends and calls this. ``holdings`` must be a scan of
    exactly ``reserves.addresses``, in order.

    Example:
        >>> from utxo_truth import scan  # doctest: +SKIP
        >>> r = read_reserves("wbtc.json", network="regtest")  # doctest: +SKIP
        >>> compare(supplies, r, scan(list(r.addresses), network="regtest",
        ...         source="snapshot:utxo.dat")).coverage  # doctest: +SKIP
    """
    if not reserves.entries:
        raise InputError("the reserve list is empty")
    results = tuple(
        AddressResult(e.address, t.verified_sats, t.total_sats - t.verified_sats, e.reported_sats)
        for e, t in zip(reserves.entries, holdings.targets, strict=True)
    )
    report = WrappedReport(
        holdings.block, bitcoin_time, results, tuple(supplies), reserves.reported_total_sats
    )
    return WrappedReport(
        report.bitcoin_block,
        report.bitcoin_time,
        report.reserves,
        report.supplies,
        report.reported_total_sats,
        tuple(_checks(report, holdings.problems, max_apart)),
    )


def _url_for(evm_rpc: str | Mapping[Any, str], spec: TokenSpec) -> str:
    if isinstance(evm_rpc, str):
        return evm_rpc
    for key in (spec.chain, spec.chain_id, str(spec.chain_id)):
        if key in evm_rpc:
            return evm_rpc[key]
    raise InputError(f"no EVM RPC URL given for chain {spec.chain!r}")


def _checks(r: WrappedReport, problems: Sequence[str], max_apart: int) -> list[Check]:
    out: list[Check] = []
    cov = r.coverage
    if cov is None:
        out.append(Check("no-supply", "warning",
                         "the token supply is 0: there is nothing to cover, so no coverage figure"))  # fmt: skip
    elif cov < 1:
        deficit = r.supply_sats - r.verified_reserves_sats
        pct = Decimal(cov.numerator) * 100 / Decimal(cov.denominator)
        out.append(Check("under-covered", "critical",
                         f"verified reserves cover {pct:.2f}% of the token supply "
                         f"(short by {deficit} sats)"))  # fmt: skip
    for a in r.reserves:
        if a.reported_sats is not None and a.reported_sats > a.verified_sats:
            out.append(Check("reported-not-on-chain", "warning",
                             f"{a.address}: reported {a.reported_sats} sats, the chain shows "
                             f"{a.verified_sats} verified"))  # fmt: skip
    if r.reported_total_sats is not None and r.reported_total_sats > r.verified_reserves_sats:
        out.append(Check("reported-total-not-on-chain", "warning",
                         f"the custodian reports {r.reported_total_sats} sats, the chain shows "
                         f"{r.verified_reserves_sats} verified at the reserve addresses"))  # fmt: skip
    unverified = sum(a.unverified_sats for a in r.reserves)
    if unverified:
        out.append(Check("unverified-reserves", "warning",
                         f"{unverified} sats at the reserve addresses are not proven; not counted"))  # fmt: skip
    apart = r.seconds_apart
    if apart is None:
        out.append(Check("time-apart-unknown", "info",
                         "the Bitcoin block's time is not known: how far apart the two ends "
                         "were measured is not checked"))  # fmt: skip
    elif apart > max_apart:
        out.append(Check("blocks-far-apart", "warning",
                         f"the Bitcoin and EVM blocks are {apart} s apart (over {max_apart} s): "
                         "mints or burns in between are not reflected"))  # fmt: skip
    out.append(Check("no-proof-of-control", "info",
                     "no reserve address carries a proof of control: the custodian's list is "
                     "its word that these coins are its"))  # fmt: skip
    out.extend(Check("source-problem", "warning", p) for p in problems)
    return out


# ------------------------------------------------------------------------------------------------
# In a portfolio: a wrapped custodian owes its token supply


@dataclass(frozen=True, slots=True)
class ResolvedSupply:
    """A wrapped custodian's native token supply as read, with the EVM blocks it was read at."""

    supply_sats: int
    blocks: tuple[str, ...]
    times: tuple[int, ...]


def resolve_portfolio(portfolio: Portfolio) -> tuple[Portfolio, dict[str, ResolvedSupply]]:
    """``portfolio`` with each wrapped custodian's liabilities set to its native token supply.

    The supplies are read now, each at its chain's ``evm_block``; a custodian whose liabilities
    the portfolio gives itself is refused (the supply *is* what it owes).
    """
    resolved: dict[str, ResolvedSupply] = {}
    custodians = []
    for c in portfolio.custodians:
        if not c.tokens:
            custodians.append(c)
            continue
        if c.liabilities_sats is not None:
            raise InputError(
                f"{c.name}: a wrapped custodian owes its token supply; do not also give liabilities"
            )
        if not c.evm_rpc:
            raise InputError(f"{c.name}: give evm_rpc = URL to read the token supply from")
        block: int | str = int(c.evm_block) if c.evm_block.isdigit() else c.evm_block
        supplies = []
        for spec in (parse_token_spec(t) for t in c.tokens):
            urls = dict(c.evm_rpc)
            url = urls[""] if "" in urls else _url_for(urls, spec)
            with EvmRpc(url, chain=spec.chain) as rpc:
                supplies.append((spec, rpc.total_supply(spec.contract, block)))
        supply = sum(s.sats for spec, s in supplies if spec.native)
        resolved[c.name] = ResolvedSupply(
            supply,
            tuple(
                f"{spec.chain} {s.block.number} {s.block.hash} {s.contract} {s.sats} "
                + ("native" if spec.native else "bridged")
                + f" time={s.block.timestamp}"
                for spec, s in supplies
            ),
            tuple(s.block.timestamp for _, s in supplies),
        )
        custodians.append(c.model_copy(update={"liabilities_sats": supply}))
    return portfolio.model_copy(update={"custodians": tuple(custodians)}), resolved
