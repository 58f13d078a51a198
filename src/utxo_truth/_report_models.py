"""The reconcile report's models: frozen, validated data, no arithmetic and no rendering.

:func:`utxo_truth.reconcile` builds a :class:`Report`; :mod:`utxo_truth.report` renders it.
These sit one layer above the portfolio's words (``claims``: books, rights, exit steps;
``liabilities``: a proof's grade) and below the two modules that use them (``reconcile`` and
``report``). :class:`~utxo_truth._models.CheckResult` lives lower still, in ``_models``, because
modules under this layer (proof of control, wrapped BTC) build checks too.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from ._models import BlockRef, CheckResult, Sats
from .claims import Book, ExitStep, Right
from .liabilities import LiabilityGrade

__all__ = [
    "CAVEATS",
    "CheckResult",
    "CountedCoin",
    "CustodianReport",
    "PositionReport",
    "Report",
    "WalletReport",
]

CAVEATS = (
    "Liabilities are the custodian's own word unless they come from a verified liability proof.",
    "A reserve figure is true at one block: coins can be borrowed for the snapshot and returned after.",
    "Coins at an address are not shown to be controlled by the custodian (no signed message is checked).",
    "A coin seen on-chain can still be spent later; a claim can be frozen later: this is one moment.",
    "Exposure positions are valued with the BTC-per-share figure and date given in the portfolio.",
    "A liability proof shows your leaf is in one tree; other leaves can be fake, or negative where the format allows, and accounts can be left out.",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CountedCoin(_Frozen):
    """One coin a report counts, as an auditor needs it: what, where, whose, and how it is known.

    Example:
        >>> CountedCoin(outpoint="00" * 32 + ":1", value=5000, height=101, address=None,
        ...             owner="wallet", name="alice", verification="node").owner
        'wallet'
    """

    outpoint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}:[0-9]+$")]
    """``txid:vout``."""
    value: Sats
    height: Annotated[StrictInt, Field(ge=0)] | None
    """The height of the block that created it; None for a mempool receipt (counted as pending)."""
    address: str | None
    owner: Literal["wallet", "custodian"]
    """Whose coin: one of your wallets, or a custodian's reserves."""
    name: str
    """The wallet's or custodian's name in the portfolio."""
    verification: Literal["spv", "node", "unverified"]
    """As :attr:`utxo_truth.Utxo.verification`: ``unverified`` coins are listed, never counted
    as real."""


class WalletReport(_Frozen):
    """Own coins of one wallet at the block."""

    name: str
    book: Book
    verified_sats: int
    pending_sats: int
    unverified_sats: int
    utxo_count: int


class PositionReport(_Frozen):
    """A position with its right, book, amount and exit path."""

    name: str
    custodian: str
    kind: str
    right: Right
    right_is_default: bool
    book: Book
    amount_sats: int | None
    """None when the portfolio does not say enough to know it (never read as zero)."""
    exit_steps: int
    parties_who_can_refuse: int
    parties: tuple[str, ...]
    exit_path: tuple[ExitStep, ...]
    exit_path_is_default: bool
    suspended_before: bool
    leverage: str | None
    title_transfer: bool
    rehypothecation: bool
    ap_only_redemption: bool
    at_risk_sats: int | None
    """What the custodian owes you on this position (the amount of a redemption claim, the
    margin of a derivative) times its uncovered fraction; None when coverage is unknown."""
    liability_included: bool | None = None
    """True when a verified liability proof puts this position in the custodian's tree; None
    when no proof was given."""
    liability_root: str | None = None
    liability_audit_id: str | None = None
    liability_leaf_sats: int | None = None


class CustodianReport(_Frozen):
    """Reserves seen on-chain at the block against what the custodian owes and claims."""

    name: str
    reserve_targets: int
    verified_reserves_sats: int | None
    """None when the custodian gave no reserve evidence."""
    unverified_reserves_sats: int
    liabilities_sats: int | None
    claimed_reserves_sats: int | None
    coverage: float | None
    """verified reserves / liabilities (1.0 = fully covered)."""
    deficit_sats: int | None
    chain_minus_claimed_sats: int | None
    """verified reserves - the custodian's own proof-of-reserves figure (negative: not confirmed)."""
    your_claims_sats: int | None
    """What the custodian owes you (redemption amounts, derivative margins); None when one of
    them is unknown — never a partial sum."""
    at_risk_sats: int | None
    evidence_date: date | None
    evidence_height: int | None
    liabilities_proven: bool = False
    """True when ``liabilities_sats`` is the root total of a verified liability proof."""
    liabilities_root: str | None = None
    liabilities_snapshot_time: str | None = None
    liabilities_snapshot_height: int | None = None
    liabilities_format: str | None = None
    liabilities_grade: LiabilityGrade | None = None
    """What the verified liability proof binds (None without a verified proof)."""
    token_supply_sats: int | None = None
    """A wrapped-BTC custodian: its native token supply (= ``liabilities_sats``), read on chain."""
    evm_blocks: tuple[str, ...] = ()
    """A wrapped-BTC custodian: ``chain number hash contract sats native|bridged time=UNIX`` per token."""
    proven_reserves_sats: int | None = None
    """Issue 14: verified reserves at addresses with a valid signature naming a recent block
    (None: the custodian gave no reserve proofs)."""
    listed_only_reserves_sats: int | None = None
    """Verified reserves at addresses listed without a valid, fresh signature."""
    proven_coverage: float | None = None
    """proven reserves / liabilities (``coverage`` is the listed figure)."""
    proof_counts: dict[str, int] | None = None
    """Reserve-proof rows per status (valid, replayable, invalid, inconclusive, unsigned)."""


class Report(_Frozen):
    """The shadow ledger: what is real bitcoin, what is a claim, and how far each claim is.

    Built by :func:`utxo_truth.reconcile` (or the pure :func:`utxo_truth.reconcile_holdings`);
    shown by the functions of :mod:`utxo_truth.report`, and by itself in a notebook.

    Example:
        >>> from utxo_truth import load_portfolio, reconcile  # doctest: +SKIP
        >>> r = reconcile(load_portfolio("examples/portfolio.toml"))  # doctest: +SKIP
        >>> r.finality_sats, r.block.height, len(r.coins)  # doctest: +SKIP
        (2051264792, 295, 826)
    """

    network: str
    block: BlockRef
    source: str
    as_of: date | None
    finality_sats: int
    """Verified UTXOs under your own keys (each coin once)."""
    pending_sats: int
    unverified_sats: int
    redemption_sats: int
    exposure_sats: int
    unknown_positions: tuple[str, ...]
    shadow_sats: int
    """Everything that is not a verified UTXO under your key: redemption + exposure + pending +
    unverified. A lower bound when ``unknown_positions`` is not empty."""
    total_sats: int
    shadow_ratio: float | None
    by_right: dict[str, int]
    by_book: dict[str, int]
    max_leverage: str | None
    worst_exit_steps: int
    worst_parties_who_can_refuse: int
    wallets: tuple[WalletReport, ...]
    positions: tuple[PositionReport, ...]
    custodians: tuple[CustodianReport, ...]
    checks: tuple[CheckResult, ...]
    coins: tuple[CountedCoin, ...] = ()
    """Every coin looked at, once per owner: your wallets' (each outpoint once across them) and
    each custodian's reserves. Its ``verification`` and ``height`` say which count: the verified,
    confirmed ones make ``finality_sats`` and ``verified_reserves_sats``; unverified ones and
    mempool receipts are listed as evidence too, and counted in neither."""
    caveats: tuple[str, ...] = CAVEATS
    complete: bool
    """False when a source reported problems, coins are unverified, or amounts are unknown."""

    def _repr_html_(self) -> str:
        """Jupyter's display hook (it needs a method): the HTML fragment of :mod:`utxo_truth.report`.

        The one place a model reaches up to its renderer, lazily; listed in pyproject's
        ``[tool.importlinter] ignore_imports``. Every other view is a function of ``report.py``.
        """
        from .report import to_html

        return to_html(self, fragment=True)
