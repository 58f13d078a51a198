"""What a person believes they hold: own wallets, and positions at custodians, by right and book.

Three rights (see docs/portfolio.md, "The three rights"):

* ``finality`` — a verified UTXO under your own key: final settlement;
* ``redemption`` — a claim you may redeem for BTC (exchange balance, wrapped BTC, Earn, loans);
* ``exposure`` — price exposure only (ETF shares, perpetuals, futures, funds).

Each position has an *exit path*: the ordered steps back to a UTXO under your key, with who can
say no at each step. Defaults per kind are provided and marked ``default=True``.

A portfolio is usually read from TOML (:func:`load_portfolio`); every error names the file, the
entry and the field, and says what is expected.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from ._exceptions import InputError, PortfolioError  # PortfolioError re-exported from here
from ._models import MAX_MONEY, Sats
from ._network import Network, parse_network
from ._readers import check_nesting, read_text
from .liabilities import LiabilityProof, LiabilityProofError, load_liability_proof
from .proof_of_control import ProofRow, proof_rows

__all__ = [
    "DEFAULT_EXIT_PATHS",
    "DEFAULT_RIGHTS",
    "Book",
    "CheckPolicy",
    "Custodian",
    "ExitStep",
    "Kind",
    "Portfolio",
    "PortfolioError",
    "Position",
    "Right",
    "Wallet",
    "btc_to_sats",
    "load_portfolio",
    "parse_portfolio",
    "read_reserve_balances",
    "read_reserve_file",
]

SATS_PER_BTC = 100_000_000


class Right(StrEnum):
    """The right a holding carries."""

    FINALITY = "finality"
    REDEMPTION = "redemption"
    EXPOSURE = "exposure"


class Book(StrEnum):
    """Which book a holding belongs to: settlement (cold, final), working, yield (kept small)."""

    SETTLEMENT = "settlement"
    WORKING = "working"
    YIELD = "yield"


class Kind(StrEnum):
    """What kind of position at a custodian."""

    EXCHANGE = "exchange"
    ETF = "etf"
    WRAPPED = "wrapped"
    EARN = "earn"
    LENDING = "lending"
    DERIVATIVE = "derivative"
    FUND = "fund"
    OTHER = "other"


DEFAULT_RIGHTS: dict[Kind, Right] = {
    Kind.EXCHANGE: Right.REDEMPTION,
    Kind.WRAPPED: Right.REDEMPTION,
    Kind.EARN: Right.REDEMPTION,
    Kind.LENDING: Right.REDEMPTION,
    Kind.ETF: Right.EXPOSURE,
    Kind.DERIVATIVE: Right.EXPOSURE,
    Kind.FUND: Right.EXPOSURE,
    Kind.OTHER: Right.REDEMPTION,
}

Decider = Literal["you", "platform", "third party", "market"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExitStep(_Frozen):
    """One step back towards a UTXO under your key."""

    action: str
    decided_by: Decider
    """Who can refuse or block this step (``you`` means nobody else)."""
    typical_delay: str
    suspended_before: StrictBool = False
    """Whether this step has been suspended for customers in the past (FTX, Celsius, ...)."""
    default: StrictBool = False
    """True for utxo_truth's default path of the kind, False when the portfolio gave it."""


def _steps(*rows: tuple[str, Decider, str, bool]) -> tuple[ExitStep, ...]:
    return tuple(
        ExitStep(action=a, decided_by=d, typical_delay=t, suspended_before=s, default=True)
        for a, d, t, s in rows
    )


DEFAULT_EXIT_PATHS: dict[Kind, tuple[ExitStep, ...]] = {
    Kind.EXCHANGE: _steps(
        ("withdraw BTC to an address of yours", "platform", "minutes to days", True),
    ),
    Kind.WRAPPED: _steps(
        (
            "redeem or swap the token for BTC (merchant burn, or sell on an exchange)",
            "third party",
            "hours to days",
            True,
        ),
        ("withdraw the BTC to an address of yours", "platform", "minutes to days", True),
    ),
    Kind.EARN: _steps(
        ("end the Earn deposit (lock-up or notice period)", "platform", "days to weeks", True),
        ("withdraw BTC to an address of yours", "platform", "minutes to days", True),
    ),
    Kind.LENDING: _steps(
        ("recall the loan or wait for its repayment", "third party", "days to months", True),
        ("withdraw BTC to an address of yours", "platform", "minutes to days", True),
    ),
    Kind.ETF: _steps(
        (
            "sell the shares through your broker (market hours)",
            "market",
            "1-2 days to settle",
            False,
        ),
        ("move the cash from the broker to an exchange", "third party", "1-3 days", False),
        ("buy BTC on the exchange", "market", "minutes", False),
        ("withdraw BTC to an address of yours", "platform", "minutes to days", True),
    ),
    Kind.FUND: _steps(
        ("redeem or sell the fund units", "third party", "days", True),
        ("move the cash to an exchange", "third party", "1-3 days", False),
        ("buy BTC on the exchange", "market", "minutes", False),
        ("withdraw BTC to an address of yours", "platform", "minutes to days", True),
    ),
    Kind.DERIVATIVE: _steps(
        ("close the position (liquidation can close it first)", "market", "minutes", True),
        ("turn the margin and profit into spot BTC", "platform", "minutes", False),
        ("withdraw BTC to an address of yours", "platform", "minutes to days", True),
    ),
    Kind.OTHER: _steps(
        ("ask the issuer to deliver BTC", "third party", "unknown", False),
    ),
}


def btc_to_sats(value: str, *, where: str = "amount") -> int:
    """``"0.5"`` -> 50_000_000, exactly. At most 8 decimal places; a string, never a float.

    Example:
        >>> btc_to_sats("0.00000001")
        1
    """
    if isinstance(value, bool) or not isinstance(value, str):
        raise PortfolioError(
            f'{where}: give BTC as a string such as "0.5" (a float like 0.1 is not exact), '
            f"or satoshis as an integer in the *_sats field; got {value!r}"
        )
    if not value.strip().isascii():
        # Decimal() reads Arabic-Indic and full-width digits ("٠.٥" is 0.5): refuse them
        raise PortfolioError(
            f"{where}: write the amount with ASCII digits 0-9 and a '.' (as in \"0.5\")"
        )
    try:
        d = Decimal(value.strip())
    except InvalidOperation:
        raise PortfolioError(f"{where}: {value!r} is not a decimal number of BTC") from None
    except ArithmeticError:  # decimal.Overflow: 1e999999999
        raise PortfolioError(f"{where}: {value[:20]!r}... is more than 21 million BTC") from None
    if not d.is_finite():
        raise PortfolioError(f"{where}: {value!r} is not a finite number")
    # before quantize (fails on 1e21) and abs() (overflows on 1e999999999): exponent only
    if d and (d.adjusted() > 8 or d.copy_abs() > MAX_MONEY // SATS_PER_BTC):
        raise PortfolioError(f"{where}: {value!r} is more than 21 million BTC")
    if d != d.quantize(Decimal("0.00000001")):
        raise PortfolioError(
            f"{where}: {value!r} has more than 8 decimal places (1 sat = 0.00000001 BTC)"
        )
    sats = int(d * SATS_PER_BTC)
    if sats < 0:
        raise PortfolioError(f"{where}: {value!r} is negative")
    if sats > MAX_MONEY:
        raise PortfolioError(f"{where}: {value!r} is more than 21 million BTC")
    return sats


class Wallet(_Frozen):
    """Own coins: any mix of xpubs, descriptors, addresses and scripts."""

    name: str = Field(min_length=1)
    targets: tuple[str, ...] = Field(min_length=1)
    book: Book = Book.SETTLEMENT


class Custodian(_Frozen):
    """A party that owes BTC to its customers, and what it shows as reserves."""

    name: str = Field(min_length=1)
    liabilities_sats: Sats | None = None
    """BTC the custodian says it owes its customers (its word, unless a liability proof)."""
    claimed_reserves_sats: Sats | None = None
    """The proof-of-reserves figure the custodian publishes."""
    reserves: tuple[str, ...] = ()
    """Reserve addresses / descriptors (from the file and/or the reserves list)."""
    reserve_proofs: tuple[ProofRow, ...] = ()
    """Checked rows of a reserve file with signatures (``reserve_proofs = "FILE"``, issue 14)."""
    evidence_date: date | None = None
    evidence_height: Annotated[StrictInt, Field(ge=0)] | None = None
    liabilities_proof: LiabilityProof | None = None
    """A liability proof whose root total gave ``liabilities_sats`` (when verified)."""
    tokens: tuple[str, ...] = ()
    """A wrapped-BTC custodian's token contracts, ``CHAIN:CONTRACT[:bridged]`` (see wrapped.py):
    their native supply at the EVM block is what it owes."""
    evm_rpc: tuple[tuple[str, str], ...] = Field(default=(), repr=False)
    """(chain, URL) of the EVM JSON-RPC endpoints the supply is read from; chain "" = any.
    A URL may hold a key: never shown."""
    evm_block: str = "finalized"
    reported_reserves: tuple[tuple[str, int], ...] = ()
    """(address, sats) the custodian reports per reserve address: claims to compare."""


class Position(_Frozen):
    """A claim or exposure held at a custodian."""

    name: str = Field(min_length=1)
    custodian: str
    kind: Kind
    amount_sats: Sats | None = None
    """BTC the position is worth (derived from shares for ETFs; notional for derivatives).
    None when it cannot be known from the file: reported as unknown, never as zero."""
    shares: str | None = None
    btc_per_share: str | None = None
    btc_per_share_date: date | None = None
    side: Literal["long", "short"] | None = None
    notional_sats: Sats | None = None
    margin_sats: Sats | None = None
    book: Book = Book.WORKING
    right: Right
    right_is_default: StrictBool = True
    as_of: date | None = None
    title_transfer: StrictBool = False
    """The platform owns the coins (as the Celsius "Earn" ruling found): you are an unsecured creditor."""
    rehypothecation: StrictBool = False
    ap_only_redemption: StrictBool = False
    """Redemption for BTC in kind only through authorised participants (ETFs)."""
    exit_path: tuple[ExitStep, ...]
    liability_proof: LiabilityProof | None = None
    """The custodian's proof that this position is a leaf of its liabilities tree."""

    @property
    def leverage(self) -> Decimal | None:
        """Notional / margin for a derivative, when both are known."""
        if self.notional_sats and self.margin_sats:
            return Decimal(self.notional_sats) / Decimal(self.margin_sats)
        return None


class CheckPolicy(_Frozen):
    """Thresholds of the checks :func:`utxo_truth.reconcile` runs."""

    yield_max_share: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.10")
    evidence_max_age_days: Annotated[StrictInt, Field(ge=0)] = 35
    evidence_max_blocks: Annotated[StrictInt, Field(ge=0)] = 5000
    coverage_min: Annotated[Decimal, Field(ge=0)] = Decimal("1")
    leverage_max: Annotated[Decimal, Field(gt=0)] = Decimal("3")


class Portfolio(_Frozen):
    """Wallets, custodians and positions for one network."""

    network: Network
    wallets: tuple[Wallet, ...] = ()
    custodians: tuple[Custodian, ...] = ()
    positions: tuple[Position, ...] = ()
    checks: CheckPolicy = CheckPolicy()
    as_of: date | None = None
    source: str | None = None
    """A chain source named in the file (``snapshot:PATH`` relative to the file)."""

    @model_validator(mode="after")
    def _check(self) -> Portfolio:
        for group, items in (
            ("wallets", self.wallets),
            ("custodians", self.custodians),
            ("positions", self.positions),
        ):
            names = [i.name for i in items]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{group}: duplicate name {dupes[0]!r}")
        known = {c.name for c in self.custodians}
        for p in self.positions:
            if p.custodian not in known:
                raise ValueError(
                    f"positions.{p.name}.custodian: unknown custodian {p.custodian!r}; declare it under [[custodians]]"
                )
        return self


# ------------------------------------------------------------------------------------------------
# Reading a portfolio

_WALLET_KEYS = {"name", "targets", "book", "wallet_file"}
_CUSTODIAN_KEYS = {
    "name",
    "liabilities",
    "liabilities_sats",
    "liabilities_proof",
    "liabilities_root",
    "claimed_reserves",
    "claimed_reserves_sats",
    "reserves",
    "reserves_file",
    "reserve_proofs",
    "evidence_date",
    "evidence_height",
    "kind",
    "tokens",
    "evm_rpc",
    "evm_block",
}
_POSITION_KEYS = {
    "name",
    "custodian",
    "kind",
    "amount",
    "amount_sats",
    "shares",
    "btc_per_share",
    "btc_per_share_date",
    "side",
    "notional",
    "notional_sats",
    "margin",
    "margin_sats",
    "book",
    "right",
    "as_of",
    "title_transfer",
    "rehypothecation",
    "ap_only_redemption",
    "exit_path",
    "liability_proof",
}
_TOP_KEYS = {"network", "wallets", "custodians", "positions", "checks", "as_of", "source"}


def load_portfolio(path: str | Path) -> Portfolio:
    """Read a portfolio TOML file (see docs/portfolio.md).

    Raises:
        PortfolioError: naming the file, the entry and the field.
    """
    p = Path(path)
    text = read_text(p, what="portfolio", error=PortfolioError)
    check_nesting(text, where=str(p), error=PortfolioError)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PortfolioError(f"{p}: not valid TOML: {exc}") from None
    except RecursionError:
        raise PortfolioError(f"{p}: nested too deeply to be a portfolio") from None
    try:
        return parse_portfolio(data, where=str(p), base=p.parent)
    except PortfolioError:
        raise
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
        # a pydantic check (with its location) or anything else a value can break
        raise PortfolioError(f"{p}: {_pydantic_text(exc)}") from None


def parse_portfolio(
    data: Mapping[str, Any], *, where: str = "portfolio", base: Path | None = None
) -> Portfolio:
    """Build a :class:`Portfolio` from a dict shaped like the TOML file."""
    base = base or Path.cwd()
    _unknown(data, _TOP_KEYS, where)
    if "network" not in data:
        raise PortfolioError(
            f"{where}: network is required (main, testnet, testnet4, signet, regtest)"
        )
    try:
        network = parse_network(data["network"])
    except InputError as exc:
        raise PortfolioError(f"{where}: network: {exc}") from None
    wallets = [
        _wallet(w, f"{where}: wallets[{i}]", base, network)
        for i, w in enumerate(_list(data, "wallets", where))
    ]
    for i, w in enumerate(wallets):
        _check_targets(w.targets, network, f"{where}: wallets[{i}] ({w.name!r}).targets")
    custodians = [
        _custodian(c, f"{where}: custodians[{i}]", base, network)
        for i, c in enumerate(_list(data, "custodians", where))
    ]
    for i, c in enumerate(custodians):
        _check_targets(c.reserves, network, f"{where}: custodians[{i}] ({c.name!r}).reserves")
    positions = [
        _position(p, f"{where}: positions[{i}]", base)
        for i, p in enumerate(_list(data, "positions", where))
    ]
    checks = data.get("checks", {})
    if not isinstance(checks, dict):
        raise PortfolioError(f"{where}: [checks] must be a table")
    try:
        policy = CheckPolicy(
            **{k: _policy_value(v, f"{where}: checks.{k}") for k, v in checks.items()}
        )
    except PortfolioError:
        raise
    except Exception as exc:  # pydantic: the message names the field; say it is under [checks]
        raise PortfolioError(f"{where}: checks.{_pydantic_text(exc)}") from None
    source = data.get("source")
    if source is not None:
        if not isinstance(source, str):
            raise PortfolioError(f'{where}: source must be a string such as "snapshot:utxo.dat"')
        if source.startswith("snapshot:") and not Path(source[9:]).is_absolute():
            source = f"snapshot:{base / source[9:]}"
    try:
        return Portfolio(
            network=network,
            wallets=tuple(wallets),
            custodians=tuple(custodians),
            positions=tuple(positions),
            checks=policy,
            as_of=_date(data.get("as_of"), f"{where}: as_of"),
            source=source,
        )
    except PortfolioError:
        raise
    except Exception as exc:
        raise PortfolioError(f"{where}: {_pydantic_text(exc)}") from None


def _pydantic_text(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        loc = ".".join(str(x) for x in e.get("loc", ()))
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        return f"{loc}: {msg}" if loc else msg
    return str(exc)


def _policy_value(v: Any, where: str) -> Any:
    if isinstance(v, float):
        raise PortfolioError(
            f'{where}: give the number as a string such as "0.10" (a float is not exact)'
        )
    return _decimal(v, where) if isinstance(v, str) else v


def _list(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PortfolioError(f"{where}: {key} must be an array of tables ([[{key}]])")
    return items


def _unknown(entry: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(entry) - allowed)
    if extra:
        raise PortfolioError(
            f"{where}: unknown field {extra[0]!r}; expected one of {', '.join(sorted(allowed))}"
        )


def _name(entry: Mapping[str, Any], where: str) -> str:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PortfolioError(f"{where}: name is required (a non-empty string)")
    return name


def _enum(enum: type[StrEnum], value: Any, where: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise PortfolioError(
            f"{where}: {value!r} is not one of {', '.join(e.value for e in enum)}"
        ) from None


def _date(value: Any, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):  # a TOML date-time is a date too (subclass): not here
        raise PortfolioError(f"{where}: give a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PortfolioError(f"{where}: {value!r} is not a date (YYYY-MM-DD)")


def _sats(entry: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> int | None:
    """``key`` as BTC string or ``key_sats`` as integer satoshis (not both)."""
    btc, sats = entry.get(key), entry.get(f"{key}_sats")
    if btc is not None and sats is not None:
        raise PortfolioError(f"{where}: give {key} (BTC string) or {key}_sats (integer), not both")
    if sats is not None:
        if isinstance(sats, bool) or not isinstance(sats, int):
            raise PortfolioError(
                f"{where}.{key}_sats: satoshis must be a whole number; got {sats!r}"
            )
        if not 0 <= sats <= MAX_MONEY:
            raise PortfolioError(f"{where}.{key}_sats: {sats} is outside 0 .. 21 million BTC")
        return sats
    if btc is not None:
        return btc_to_sats(btc, where=f"{where}.{key}")
    if required:
        raise PortfolioError(
            f"{where}: {key} (BTC as a string) or {key}_sats (integer) is required"
        )
    return None


def _bool(entry: Mapping[str, Any], key: str, where: str) -> bool:
    v = entry.get(key, False)
    if not isinstance(v, bool):
        raise PortfolioError(f"{where}.{key}: must be true or false")
    return v


def _wallet(
    entry: Mapping[str, Any], where: str, base: Path | None = None, network: Network | None = None
) -> Wallet:
    _unknown(entry, _WALLET_KEYS, where)
    name = _name(entry, where)
    where = f"{where} ({name!r})"
    targets = entry.get("targets")
    if isinstance(targets, str):
        targets = [targets]
    if "wallet_file" in entry:  # a wallet export file beside (or instead of) targets
        targets = list(targets or []) + _wallet_file(entry["wallet_file"], where, base, network)
    if (
        not isinstance(targets, list)
        or not targets
        or not all(isinstance(t, str) and t.strip() for t in targets)
    ):
        raise PortfolioError(
            f"{where}.targets: a non-empty list of xpubs, descriptors or addresses"
        )
    book = _enum(Book, entry.get("book", "settlement"), f"{where}.book")
    return Wallet(name=name, targets=tuple(targets), book=book)


def _wallet_file(value: Any, where: str, base: Path | None, network: Network | None) -> list[str]:
    """The descriptors of a wallet export file (path relative to the portfolio's folder)."""
    from .wallets import load_wallet_file

    if not isinstance(value, str) or not value.strip():
        raise PortfolioError(f"{where}.wallet_file: the path of a wallet export file")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    if network is None:
        raise PortfolioError(f"{where}.wallet_file: the portfolio's network is needed")
    try:
        return list(load_wallet_file(path, network=network).descriptors)
    except InputError as exc:
        raise PortfolioError(f"{where}.wallet_file: {exc}") from None


def _check_targets(targets: Sequence[str], network: Network, where: str) -> None:
    """Parse every target now, so a bad one is reported with its place in the file."""
    from .targets import parse_target

    for i, t in enumerate(targets):
        try:
            parse_target(t, network)
        except InputError as exc:
            raise PortfolioError(f"{where}[{i}]: {exc}") from None


def _custodian(entry: Mapping[str, Any], where: str, base: Path, network: Network) -> Custodian:
    _unknown(entry, _CUSTODIAN_KEYS, where)
    name = _name(entry, where)
    where = f"{where} ({name!r})"
    reserves = entry.get("reserves", [])
    if isinstance(reserves, str):
        reserves = [reserves]
    if not isinstance(reserves, list) or not all(isinstance(r, str) for r in reserves):
        raise PortfolioError(f"{where}.reserves: a list of addresses or descriptors")
    height = entry.get("evidence_height")
    if height is not None and (
        isinstance(height, bool) or not isinstance(height, int) or height < 0
    ):
        raise PortfolioError(f"{where}.evidence_height: a block height (whole number >= 0)")
    evidence_date = _date(entry.get("evidence_date"), f"{where}.evidence_date")
    wrapped = _wrapped_fields(entry, where, base, network)
    if "reserves_file" in entry:
        file = entry["reserves_file"]
        if not isinstance(file, str):
            raise PortfolioError(f"{where}.reserves_file: a path")
        path = Path(file) if Path(file).is_absolute() else base / file
        if "addresses" in wrapped:  # a WBTC / cbBTC document, read in _wrapped_fields
            addresses, file_height = wrapped.pop("addresses"), None
        else:
            addresses, file_height, balances = read_reserve_balances(
                path, network=network, where=f"{where}.reserves_file"
            )
            wrapped["reported_reserves"] = balances
        reserves = list(reserves) + addresses
        height = height if height is not None else file_height
    proof_rows: tuple[ProofRow, ...] = ()
    if "reserve_proofs" in entry:  # issue 14: a reserve file with signed messages
        reserves, proof_rows = _reserve_proofs(
            entry["reserve_proofs"], reserves, where, base, network
        )
    liabilities = _sats(entry, "liabilities", where)
    proof = _proof(entry, "liabilities_proof", where, base)
    if proof is not None:
        if liabilities is not None:
            raise PortfolioError(f"{where}: give liabilities or liabilities_proof, not both")
        liabilities = proof.root_btc_sats if proof.verified else None
    return Custodian(
        name=name,
        liabilities_sats=liabilities,
        liabilities_proof=proof,
        claimed_reserves_sats=_sats(entry, "claimed_reserves", where)
        if "claimed_reserves" in entry or "claimed_reserves_sats" in entry
        else wrapped.pop("reported_total", None),
        reserves=tuple(dict.fromkeys(reserves)),
        reserve_proofs=proof_rows,
        evidence_date=evidence_date,
        evidence_height=height,
        **{k: v for k, v in wrapped.items() if k != "reported_total"},
    )


def _wrapped_fields(
    entry: Mapping[str, Any], where: str, base: Path, network: Network
) -> dict[str, Any]:
    """A ``kind = "wrapped"`` custodian's tokens, EVM RPC and WBTC/cbBTC reserve document."""
    out: dict[str, Any] = {}
    kind = entry.get("kind")
    if kind is not None and kind != "wrapped":
        raise PortfolioError(f'{where}.kind: only "wrapped" is a custodian kind (or leave it out)')
    tokens = entry.get("tokens", [])
    if kind == "wrapped" and not tokens:
        raise PortfolioError(
            f'{where}.tokens: a wrapped custodian needs tokens = ["CHAIN:CONTRACT"]'
        )
    if tokens:
        from .wrapped import parse_token_spec

        if not isinstance(tokens, list):
            raise PortfolioError(f"{where}.tokens: a list")
        specs = []
        for i, t in enumerate(tokens):
            if isinstance(t, dict):  # {chain, contract, bridged = true}
                t = f"{t.get('chain')}:{t.get('contract')}" + (
                    ":bridged" if t.get("bridged") else ""
                )
            if not isinstance(t, str):
                raise PortfolioError(f"{where}.tokens[{i}]: CHAIN:CONTRACT[:bridged]")
            try:
                spec = parse_token_spec(t)
            except InputError as exc:
                raise PortfolioError(f"{where}.tokens[{i}]: {exc}") from None
            specs.append(f"{spec.chain}:{spec.contract}" + ("" if spec.native else ":bridged"))
        out["tokens"] = tuple(specs)
    rpc = entry.get("evm_rpc")
    if isinstance(rpc, str):
        out["evm_rpc"] = (("", rpc),)
    elif isinstance(rpc, dict) and all(isinstance(v, str) for v in rpc.values()):
        out["evm_rpc"] = tuple((str(k), v) for k, v in rpc.items())
    elif rpc is not None:
        raise PortfolioError(f"{where}.evm_rpc: a URL, or a table of chain = URL")
    for key in ("evm_block",):
        if key in entry:
            if not isinstance(entry[key], str | int) or isinstance(entry[key], bool):
                raise PortfolioError(f"{where}.{key}: a string")
            out[key] = str(entry[key])
    file = entry.get("reserves_file")
    if isinstance(file, str):
        path = Path(file) if Path(file).is_absolute() else base / file
        try:
            doc = path.read_text(encoding="utf-8-sig").lstrip().startswith("{")
        except OSError:
            doc = False  # read_reserve_file says what is wrong
        if doc:
            from .wrapped import read_reserves

            reserves = read_reserves(path, network=network)
            out["addresses"] = list(reserves.addresses)
            out["reported_reserves"] = tuple(
                (e.address, e.reported_sats)
                for e in reserves.entries
                if e.reported_sats is not None
            )
            out["reported_total"] = reserves.reported_total_sats
    return out


def _reserve_proofs(
    file: Any, reserves: list[str], where: str, base: Path, network: Network
) -> tuple[list[str], tuple[ProofRow, ...]]:
    from .reserve_proofs import load_reserve_proofs

    if not isinstance(file, str):
        raise PortfolioError(f"{where}.reserve_proofs: a path")
    path = Path(file) if Path(file).is_absolute() else base / file
    try:
        proofs = load_reserve_proofs(path, network)
    except InputError as exc:
        raise PortfolioError(f"{where}.reserve_proofs: {exc}") from None
    rows = proof_rows(proofs)
    readable = [r.address for r in proofs.rows if r.script_pubkey]
    return list(reserves) + readable, rows


def _proof(entry: Mapping[str, Any], key: str, where: str, base: Path) -> LiabilityProof | None:
    file = entry.get(key)
    if file is None:
        return None
    if not isinstance(file, str):
        raise PortfolioError(f"{where}.{key}: a path to a liability proof file")
    path = Path(file) if Path(file).is_absolute() else base / file
    root = entry.get("liabilities_root") if key == "liabilities_proof" else None
    if root is not None and not isinstance(root, str):
        raise PortfolioError(f"{where}.liabilities_root: the root hash you trust, as hex")
    try:
        return load_liability_proof(path, root=root)
    except LiabilityProofError as exc:
        raise PortfolioError(f"{where}.{key}: {exc}") from None


def _position(entry: Mapping[str, Any], where: str, base: Path) -> Position:
    _unknown(entry, _POSITION_KEYS, where)
    name = _name(entry, where)
    where = f"{where} ({name!r})"
    custodian = entry.get("custodian")
    if not isinstance(custodian, str) or not custodian:
        raise PortfolioError(
            f"{where}.custodian: the name of a custodian declared under [[custodians]]"
        )
    if "kind" not in entry:
        raise PortfolioError(f"{where}.kind: required, one of {', '.join(k.value for k in Kind)}")
    kind = _enum(Kind, entry["kind"], f"{where}.kind")
    amount = _sats(entry, "amount", where)
    notional = _sats(entry, "notional", where)
    margin = _sats(entry, "margin", where)
    shares, per_share = entry.get("shares"), entry.get("btc_per_share")
    if shares is not None or per_share is not None:
        if amount is not None:
            raise PortfolioError(f"{where}: give amount or shares with btc_per_share, not both")
        for key, v in (("shares", shares), ("btc_per_share", per_share)):
            if v is not None and (not isinstance(v, str) or _decimal(v, f"{where}.{key}") < 0):
                raise PortfolioError(f"{where}.{key}: a non-negative decimal number as a string")
        if shares is not None and per_share is not None:
            total = _decimal(shares, f"{where}.shares") * _decimal(
                per_share, f"{where}.btc_per_share"
            )
            if total > MAX_MONEY // SATS_PER_BTC:
                raise PortfolioError(
                    f"{where}: shares x btc_per_share is {total:.8E} BTC, more than 21 million BTC"
                )
            amount = int((total * SATS_PER_BTC).to_integral_value(ROUND_DOWN))
    side = entry.get("side")
    if kind is Kind.DERIVATIVE:
        if side not in ("long", "short"):
            raise PortfolioError(f'{where}.side: a derivative needs side = "long" or "short"')
        if amount is None:
            amount = notional
        if margin is not None and margin == 0:
            raise PortfolioError(
                f"{where}.margin: must be above zero for a derivative (leverage = notional / margin)"
            )
    elif side is not None or notional is not None or margin is not None:
        raise PortfolioError(f'{where}: side, notional and margin are for kind = "derivative" only')
    if amount is None and shares is None and per_share is None and notional is None:
        raise PortfolioError(
            f"{where}: amount (BTC as a string) or amount_sats (integer) is required"
        )
    right_given = entry.get("right")
    right = (
        _enum(Right, right_given, f"{where}.right")
        if right_given is not None
        else DEFAULT_RIGHTS[kind]
    )
    if right is Right.FINALITY:
        raise PortfolioError(
            f"{where}.right: a position at a custodian cannot carry finality; own coins belong under [[wallets]]"
        )
    path = entry.get("exit_path")
    exit_path = DEFAULT_EXIT_PATHS[kind] if path is None else _exit_path(path, f"{where}.exit_path")
    return Position(
        name=name,
        custodian=custodian,
        kind=kind,
        amount_sats=amount,
        shares=shares,
        btc_per_share=per_share,
        btc_per_share_date=_date(entry.get("btc_per_share_date"), f"{where}.btc_per_share_date"),
        side=side,
        notional_sats=notional,
        margin_sats=margin,
        book=_enum(Book, entry.get("book", "working"), f"{where}.book"),
        right=right,
        right_is_default=right_given is None,
        as_of=_date(entry.get("as_of"), f"{where}.as_of"),
        title_transfer=_bool(entry, "title_transfer", where)
        or (kind is Kind.EARN and "title_transfer" not in entry),
        rehypothecation=_bool(entry, "rehypothecation", where),
        ap_only_redemption=_bool(entry, "ap_only_redemption", where)
        or (kind is Kind.ETF and "ap_only_redemption" not in entry),
        exit_path=exit_path,
        liability_proof=_proof(entry, "liability_proof", where, base),
    )


def _decimal(v: str, where: str) -> Decimal:
    if not v.strip().isascii():  # Decimal() would read Arabic-Indic or full-width digits
        raise PortfolioError(f"{where}: write the number with ASCII digits 0-9 and a '.'")
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise PortfolioError(f"{where}: {v!r} is not a decimal number") from None
    except ArithmeticError:  # decimal.Overflow
        raise PortfolioError(f"{where}: {v[:20]!r}... is out of range") from None
    if not d.is_finite():
        raise PortfolioError(f"{where}: {v!r} is not a finite number")
    if d and not -30 <= d.adjusted() <= 30:  # products of such numbers overflow Decimal
        raise PortfolioError(f"{where}: {v!r} is out of range (|exponent| above 30)")
    return d


def _exit_path(path: Any, where: str) -> tuple[ExitStep, ...]:
    if not isinstance(path, list) or not path:
        raise PortfolioError(
            f"{where}: a non-empty array of steps {{action, decided_by, typical_delay}}"
        )
    steps = []
    for i, step in enumerate(path):
        if not isinstance(step, dict):
            raise PortfolioError(
                f"{where}[{i}]: a table {{action, decided_by, typical_delay, suspended_before}}"
            )
        _unknown(
            step, {"action", "decided_by", "typical_delay", "suspended_before"}, f"{where}[{i}]"
        )
        if step.get("decided_by") not in ("you", "platform", "third party", "market"):
            raise PortfolioError(
                f"{where}[{i}].decided_by: one of you, platform, third party, market"
            )
        if not isinstance(step.get("action"), str) or not step["action"]:
            raise PortfolioError(f"{where}[{i}].action: say what the step is")
        if not isinstance(step.get("typical_delay", "unknown"), str):
            raise PortfolioError(
                f'{where}[{i}].typical_delay: a string such as "1-3 days" or "unknown"'
            )
        steps.append(
            ExitStep(
                action=step["action"],
                decided_by=step["decided_by"],
                typical_delay=str(step.get("typical_delay", "unknown")),
                suspended_before=_bool(step, "suspended_before", f"{where}[{i}]"),
            )
        )
    return tuple(steps)


# ------------------------------------------------------------------------------------------------
# Published reserve files


def read_reserve_file(
    path: Path, *, network: Network, where: str = "reserves_file"
) -> tuple[list[str], int | None]:
    """Addresses (and the snapshot height, if the file says) from a published reserve file.

    Formats: a plain list of addresses (one per line); CSV with an ``address`` column (exchanges
    publish ``coin,network,snapshot height,address,amount`` or ``coin,network,address,balance,
    Height``; rows whose coin is not BTC are skipped); JSON, a list of ``{"address": ...}``.
    The balances the file gives are read by :func:`read_reserve_balances`.

    Example:
        >>> read_reserve_file(Path("por.csv"), network=Network.REGTEST)  # doctest: +SKIP
        (['bcrt1q...'], 295)
    """
    addresses, height, _ = read_reserve_balances(path, network=network, where=where)
    return addresses, height


def read_reserve_balances(
    path: Path, *, network: Network, where: str = "reserves_file"
) -> tuple[list[str], int | None, tuple[tuple[str, int], ...]]:
    """A reserve file's addresses, snapshot height, and the balance it reports per address.

    Balances (satoshis) come from a CSV ``amount`` or ``balance`` column, or a JSON row's
    ``balance``: BTC as a decimal (``"0.5"``; a JSON number is read as the decimal it is written
    as), or ``balance_sats`` / ``amount_sats``, whole satoshis. A blank balance is not reported
    (never read as zero); an address listed twice with two balances is refused. The reconcile
    compares each reported balance with the chain (check ``reported-not-on-chain``).

    Example:
        >>> read_reserve_balances(Path("por.csv"), network=Network.REGTEST)  # doctest: +SKIP
        (['bcrt1q...'], 295, (('bcrt1q...', 100000000),))
    """
    text = read_text(
        path, what=f"reserve file ({where})", error=PortfolioError, encoding="utf-8-sig"
    )
    stripped = text.strip()
    if not stripped:
        raise PortfolioError(f"{where}: {path} is empty")
    height: int | None = None
    reported: list[tuple[str, str, str]] = []  # (address, value as written, unit: btc|sats)
    if stripped.startswith("["):
        check_nesting(stripped, where=f"{where}: {path}", error=PortfolioError)
        try:
            rows = json.loads(stripped, parse_float=str, parse_int=str)
        except (ValueError, RecursionError):
            raise PortfolioError(
                f"{where}: {path} starts like JSON but is not valid JSON"
            ) from None
        if not isinstance(rows, list) or not all(
            isinstance(r, dict) and isinstance(r.get("address"), str) for r in rows
        ):
            raise PortfolioError(
                f'{where}: {path}: JSON reserve files are a list of {{"address": ..., "balance": ...}}'
            )
        addresses = [r["address"].strip() for r in rows]
        for r in rows:
            for key, unit in (
                ("balance", "btc"),
                ("balance_sats", "sats"),
                ("amount_sats", "sats"),
            ):
                if r.get(key) is not None:
                    reported.append((r["address"].strip(), r[key], unit))
    elif "," in stripped.splitlines()[0]:
        reader = csv.DictReader(io.StringIO(stripped))
        columns = {(c or "").strip().lower(): c for c in reader.fieldnames or []}
        if "address" not in columns:
            raise PortfolioError(
                f"{where}: {path}: a CSV reserve file needs an 'address' column; found {', '.join(columns)}"
            )
        coin_col = columns.get("coin")
        h_col = columns.get("snapshot height") or columns.get("height")
        value_cols = [
            (columns[name], unit)
            for name, unit in (
                ("amount", "btc"),
                ("balance", "btc"),
                ("amount_sats", "sats"),
                ("balance_sats", "sats"),
            )
            if name in columns
        ]
        addresses = []
        heights = set()
        for row in reader:
            if coin_col and (row.get(coin_col) or "").strip().upper() not in ("BTC", "BITCOIN"):
                continue
            address = (row.get(columns["address"]) or "").strip()
            addresses.append(address)
            for col, unit in value_cols:
                value = (row.get(col) or "").strip()
                if value:
                    reported.append((address, value, unit))
            if h_col and (row.get(h_col) or "").strip():
                try:
                    heights.add(int((row.get(h_col) or "").strip()))
                except ValueError:
                    raise PortfolioError(
                        f"{where}: {path}: height {row.get(h_col)!r} is not a whole number"
                    ) from None
        if len(heights) > 1:
            raise PortfolioError(
                f"{where}: {path}: rows name different snapshot heights {sorted(heights)}"
            )
        height = heights.pop() if heights else None
    else:
        addresses = [
            ln.strip()
            for ln in stripped.splitlines()
            if ln.strip() and not ln.strip().startswith("#")
        ]
    addresses = [a for a in addresses if a]
    if not addresses:
        raise PortfolioError(f"{where}: {path} holds no BTC addresses")
    from .targets import parse_target

    for a in addresses:
        try:
            parse_target(a, network)
        except InputError as exc:
            raise PortfolioError(f"{where}: {path}: {exc}") from None
    balances: dict[str, int] = {}
    for address, value, unit in reported:
        if not address:
            continue
        at = f"{where}: {path}: the balance of {address}"
        sats = btc_to_sats(value, where=at) if unit == "btc" else _whole_sats(value, at)
        if balances.get(address, sats) != sats:
            raise PortfolioError(f"{at} is given twice, as {balances[address]} and {sats} sats")
        balances[address] = sats
    return addresses, height, tuple(balances.items())


def _whole_sats(value: object, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise PortfolioError(
            f"{where}: a balance in satoshis is a whole number, not {type(value).__name__}"
        )
    text = value.strip()
    if not text.isascii() or not text.isdigit() or int(text) > MAX_MONEY:
        raise PortfolioError(f"{where}: {value[:30]!r} is not a whole number of satoshis")
    return int(text)
