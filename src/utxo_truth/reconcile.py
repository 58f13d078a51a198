"""reconcile(portfolio) -> Report: verified coins against custodial claims, by right and book.

All arithmetic is in integer satoshis; ratios (shadow ratio, coverage, leverage) are computed from
integers at the end and only ever displayed. Unknown amounts are listed as unknown and make the
totals they belong to lower bounds — never zeros.

No global state, no printing, no I/O but the chain source's: safe to call from several threads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ._api import scan
from ._exceptions import InputError
from ._models import BlockRef, Holdings, TargetHoldings, Utxo, unique_coins
from .claims import Book, Custodian, ExitStep, Portfolio, Position, Right
from .liabilities import LiabilityGrade, LiabilityProof
from .proof_of_control import adapt_caveats, shared_key_checks, split_reserves
from .sources import ChainSource

__all__ = [
    "CAVEATS",
    "CheckResult",
    "CustodianReport",
    "PositionReport",
    "Report",
    "WalletReport",
    "reconcile",
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


class CheckResult(_Frozen):
    """A finding of a check: ``level`` is info, warning or critical."""

    id: str
    level: Literal["info", "warning", "critical"]
    message: str
    subject: str | None = None


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
    """The shadow ledger: what is real bitcoin, what is a claim, and how far each claim is."""

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
    caveats: tuple[str, ...] = CAVEATS
    complete: bool
    """False when a source reported problems, coins are unverified, or amounts are unknown."""

    def to_json(self, **kwargs: Any) -> str:
        """The report as JSON (amounts in integer satoshis)."""
        from .report import to_json

        return to_json(self, **kwargs)

    def to_csv(self) -> str:
        """One row per holding (wallets, positions) and per custodian."""
        from .report import to_csv

        return to_csv(self)

    def to_dataframe(self) -> Any:
        """The CSV rows as a pandas DataFrame (``pip install utxo-truth[dataframe]``)."""
        from .report import to_dataframe

        return to_dataframe(self)

    def to_html(self) -> str:
        """A self-contained HTML page with charts (no scripts, no network)."""
        from .report import to_html

        return to_html(self)

    def _repr_html_(self) -> str:
        from .report import to_html

        return to_html(self, fragment=True)


def scan_targets(portfolio: Portfolio) -> list[str]:
    """The targets a reconcile scans, in order: every wallet's, then every custodian's reserves."""
    return [t for w in portfolio.wallets for t in w.targets] + [
        r for c in portfolio.custodians for r in c.reserves
    ]


def reconcile(
    portfolio: Portfolio,
    *,
    source: ChainSource | str | None = None,
    holdings: Holdings | None = None,
    gap: int = 20,
    range: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Split what ``portfolio`` believes it holds into real coin and shadow, at one block.

    Args:
        portfolio: from :func:`utxo_truth.load_portfolio` or built in code.
        source: a chain source or spec; defaults to the portfolio's own ``source``. Never a
            server the user did not name.
        holdings: an answer already in hand (an app that embeds us): a scan of exactly
            ``scan_targets(portfolio)``, in that order. Then nothing is fetched.
        gap: stop gap on sources that know history.
        range: indexes per chain on sources that know only unspent coins.
        progress: optional callback ``(done, needed)`` for long scans.

    Example:
        >>> from utxo_truth import load_portfolio, reconcile  # doctest: +SKIP
        >>> r = reconcile(load_portfolio("examples/portfolio.toml"))  # doctest: +SKIP
        >>> r.finality_sats, r.shadow_sats, r.block.height  # doctest: +SKIP
    """
    from .wrapped import apply_to_report, resolve_portfolio

    portfolio, wrapped = resolve_portfolio(portfolio)  # wrapped BTC: liabilities = token supply
    targets = scan_targets(portfolio)
    if holdings is None:
        chosen = source if source is not None else portfolio.source
        if chosen is None:
            raise InputError(
                "no chain source: pass source= (e.g. snapshot:PATH) or set source in the portfolio"
            )
        if not targets:
            raise InputError("the portfolio has no wallets and no reserve evidence to scan")
        holdings = scan(
            targets,
            network=portfolio.network,
            source=chosen,
            gap=gap,
            range=range,
            progress=progress,
        )
    if len(holdings.targets) != len(targets):
        raise InputError(
            f"holdings cover {len(holdings.targets)} targets, the portfolio needs {len(targets)} "
            "(scan exactly scan_targets(portfolio), in order)"
        )
    if holdings.network != portfolio.network.value:
        raise InputError(
            f"holdings are for {holdings.network}, the portfolio for {portfolio.network.value}"
        )
    return apply_to_report(_build(portfolio, holdings), portfolio, holdings, wrapped)


def _verified(us: Sequence[Utxo]) -> int:
    return sum(u.value for u in us if u.verification != "unverified")


def _unverified(us: Sequence[Utxo]) -> int:
    return sum(u.value for u in us if u.verification == "unverified")


def _ratio(a: int, b: int) -> float | None:
    """A ratio of two integer amounts, for display (amounts themselves stay integers)."""
    return None if b == 0 else float(Decimal(a) / Decimal(b))  # ratio only


def _build(portfolio: Portfolio, holdings: Holdings) -> Report:
    policy = portfolio.checks
    checks: list[CheckResult] = []
    # ---- own wallets
    k = 0
    wallet_reports = []
    all_own: list[TargetHoldings] = []
    by_book = {b.value: 0 for b in Book}
    for w in portfolio.wallets:
        groups = holdings.targets[k : k + len(w.targets)]
        k += len(w.targets)
        all_own += groups
        utxos, receipts = unique_coins(groups)
        wallet_reports.append(
            WalletReport(
                name=w.name,
                book=w.book,
                verified_sats=_verified(utxos),
                pending_sats=sum(u.value for u in receipts),
                unverified_sats=_unverified(utxos),
                utxo_count=len(utxos),
            )
        )
        by_book[w.book.value] += _verified(utxos)
    own_utxos, own_pending = unique_coins(all_own)
    finality = _verified(own_utxos)
    pending = sum(u.value for u in own_pending)
    unverified = _unverified(own_utxos)
    # ---- custodians
    claims_at: dict[str, int | None] = {}  # None: some claim there has an unknown amount
    holds_positions = {p.custodian for p in portfolio.positions}
    for p in portfolio.positions:
        owes, claim = _claim_on_custodian(p)
        if owes:
            known = claims_at.get(p.custodian, 0)
            claims_at[p.custodian] = None if known is None or claim is None else known + claim
    custodian_reports = []
    uncovered: dict[str, tuple[int, int] | None] = {}
    for c in portfolio.custodians:
        groups = holdings.targets[k : k + len(c.reserves)]
        k += len(c.reserves)
        report, cover = _custodian(
            c,
            groups,
            claims_at.get(c.name, 0),
            c.name in holds_positions,
            holdings.block,
            portfolio,
            checks,
        )
        custodian_reports.append(report)
        uncovered[c.name] = cover
    shared_key_checks([(c.name, c.reserve_proofs) for c in portfolio.custodians], checks)
    # ---- positions
    roots = {
        c.name: c.liabilities_proof.root_hash
        for c in portfolio.custodians
        if c.liabilities_proof and c.liabilities_proof.verified
    }
    position_reports = []
    redemption = exposure = 0
    unknown = []
    leverages: list[Decimal] = []
    for p in portfolio.positions:
        position_reports.append(
            _position(
                p, uncovered.get(p.custodian), policy.leverage_max, roots.get(p.custodian), checks
            )
        )
        if p.amount_sats is None:
            unknown.append(p.name)
            continue
        if p.right is Right.REDEMPTION:
            redemption += p.amount_sats
        else:
            exposure += p.amount_sats
        by_book[p.book.value] += p.amount_sats
        if p.leverage is not None:
            leverages.append(p.leverage)
    shadow = redemption + exposure + pending + unverified
    total = finality + shadow
    # ---- portfolio-wide checks
    if unknown:
        checks.append(
            CheckResult(
                id="unknown-amounts",
                level="warning",
                message=f"amounts unknown for {', '.join(unknown)}: totals are lower bounds (give amount, or shares with btc_per_share)",
            )
        )
    if unverified:
        checks.append(
            CheckResult(
                id="unverified-coins",
                level="warning",
                message=f"{unverified} sats of your coins could not be verified and do not count as final",
            )
        )
    if holdings.problems:
        checks.append(
            CheckResult(
                id="source-problems",
                level="warning",
                message=f"the chain source reported {len(holdings.problems)} problem(s): {holdings.problems[0]}",
            )
        )
    if total and Decimal(by_book["yield"]) > policy.yield_max_share * total:
        checks.append(
            CheckResult(
                id="yield-book-large",
                level="warning",
                subject="yield",
                message=f"the yield book is {Decimal(by_book['yield']) * 100 / total:.1f}% of the total, above {policy.yield_max_share * 100:.0f}%",
            )
        )
    if total and by_book["settlement"] < max(by_book.values()):
        checks.append(
            CheckResult(
                id="settlement-not-largest",
                level="warning",
                subject="settlement",
                message="the settlement book is not the largest: most of what you hold is not final",
            )
        )
    return Report(
        network=holdings.network,
        block=holdings.block,
        source=holdings.source,
        as_of=portfolio.as_of,
        finality_sats=finality,
        pending_sats=pending,
        unverified_sats=unverified,
        redemption_sats=redemption,
        exposure_sats=exposure,
        unknown_positions=tuple(unknown),
        shadow_sats=shadow,
        total_sats=total,
        shadow_ratio=_ratio(shadow, total),
        by_right={"finality": finality, "redemption": redemption, "exposure": exposure},
        by_book=by_book,
        max_leverage=f"{max(leverages):.2f}" if leverages else None,
        worst_exit_steps=max((p.exit_steps for p in position_reports), default=0),
        worst_parties_who_can_refuse=max(
            (p.parties_who_can_refuse for p in position_reports), default=0
        ),
        wallets=tuple(wallet_reports),
        positions=tuple(position_reports),
        custodians=tuple(custodian_reports),
        checks=tuple(checks),
        caveats=adapt_caveats(CAVEATS, any(c.reserve_proofs for c in portfolio.custodians)),
        complete=not (unknown or unverified or holdings.problems),
    )


def _custodian(
    c: Custodian,
    groups: Sequence[TargetHoldings],
    your_claims: int | None,
    holds_positions: bool,
    block: BlockRef,
    portfolio: Portfolio,
    checks: list[CheckResult],
) -> tuple[CustodianReport, tuple[int, int] | None]:
    policy = portfolio.checks
    utxos, _ = unique_coins(groups)
    verified = _verified(utxos) if c.reserves else None
    liabilities = c.liabilities_sats
    coverage = deficit = None
    cover: tuple[int, int] | None = None
    if verified is not None and liabilities:
        coverage = _ratio(verified, liabilities)
        deficit = max(0, liabilities - verified)
        cover = (deficit, liabilities)
        if Decimal(verified) < policy.coverage_min * liabilities:
            checks.append(
                CheckResult(
                    id="coverage-low",
                    level="critical",
                    subject=c.name,
                    message=f"{c.name}: verified reserves cover {Decimal(verified) * 100 / liabilities:.1f}% of what it says it owes (deficit {deficit} sats)",
                )
            )
    if not c.reserves and holds_positions:
        checks.append(
            CheckResult(
                id="no-reserve-evidence",
                level="warning",
                subject=c.name,
                message=f"{c.name} holds positions of yours ({'an unknown amount' if your_claims is None else f'{your_claims} sats'} redeemable) and shows no reserve addresses",
            )
        )
    if c.reserves and liabilities is None:
        checks.append(
            CheckResult(
                id="no-liabilities",
                level="info",
                subject=c.name,
                message=f"{c.name}: no liabilities given, so coverage cannot be computed",
            )
        )
    chain_minus_claimed = None
    if verified is not None and c.claimed_reserves_sats is not None:
        chain_minus_claimed = verified - c.claimed_reserves_sats
        if chain_minus_claimed < 0:
            checks.append(
                CheckResult(
                    id="claimed-reserves-not-on-chain",
                    level="critical",
                    subject=c.name,
                    message=f"{c.name}: the chain shows {-chain_minus_claimed} sats less than its own proof-of-reserves figure",
                )
            )
    if c.reserves:
        stale = []
        if (
            c.evidence_height is not None
            and block.height - c.evidence_height > policy.evidence_max_blocks
        ):
            stale.append(f"{block.height - c.evidence_height} blocks old")
        if (
            c.evidence_date is not None
            and portfolio.as_of is not None
            and (portfolio.as_of - c.evidence_date).days > policy.evidence_max_age_days
        ):
            stale.append(f"{(portfolio.as_of - c.evidence_date).days} days old")
        if stale:
            checks.append(
                CheckResult(
                    id="stale-evidence",
                    level="warning",
                    subject=c.name,
                    message=f"{c.name}: reserve evidence is {' and '.join(stale)}",
                )
            )
    proof = c.liabilities_proof
    if proof is not None and not proof.verified:
        checks.append(
            CheckResult(
                id="liability-proof-invalid",
                level="critical",
                subject=c.name,
                message=f"{c.name}: its liability proof does not verify ({proof.reason}); liabilities are unknown",
            )
        )
    if proof is not None and proof.verified:
        checks.extend(liability_grade_checks(c.name, proof))
    if proof is not None and proof.verified and proof.snapshot_height is not None:
        reserve_height = c.evidence_height if c.evidence_height is not None else block.height
        if abs(reserve_height - proof.snapshot_height) > policy.evidence_max_blocks:
            checks.append(
                CheckResult(
                    id="snapshot-gap",
                    level="warning",
                    subject=c.name,
                    message=f"{c.name}: liabilities are proven at height {proof.snapshot_height}, reserves at {reserve_height}: {abs(reserve_height - proof.snapshot_height)} blocks apart",
                )
            )
    at_risk = None
    if cover is not None:
        at_risk = None if your_claims is None else your_claims * cover[0] // cover[1]
    proven = split_reserves(
        c.name,
        c.reserves,
        c.reserve_proofs,
        groups,
        block,
        liabilities,
        policy.evidence_max_blocks,
        checks,
    )
    report = CustodianReport(
        name=c.name,
        reserve_targets=len(c.reserves),
        verified_reserves_sats=verified,
        unverified_reserves_sats=_unverified(utxos),
        liabilities_sats=liabilities,
        claimed_reserves_sats=c.claimed_reserves_sats,
        coverage=coverage,
        deficit_sats=deficit,
        chain_minus_claimed_sats=chain_minus_claimed,
        your_claims_sats=your_claims,
        at_risk_sats=at_risk,
        evidence_date=c.evidence_date,
        evidence_height=c.evidence_height,
        liabilities_proven=bool(proof and proof.verified),
        liabilities_root=proof.root_hash if proof else None,
        liabilities_snapshot_time=proof.snapshot_time if proof else None,
        liabilities_snapshot_height=proof.snapshot_height if proof else None,
        liabilities_format=proof.format if proof else None,
        liabilities_grade=proof.grade if proof else None,
        **proven,
    )
    return report, cover


def _claim_on_custodian(p: Position) -> tuple[bool, int | None]:
    """Whether the custodian owes you on ``p``, and how much (None: the file does not say).

    It owes you a redemption claim's amount, or a derivative's margin.
    """
    if p.right is Right.REDEMPTION:
        return True, p.amount_sats
    if p.kind.value == "derivative":
        return True, p.margin_sats
    return False, None


def liability_grade_checks(subject: str, proof: LiabilityProof) -> list[CheckResult]:
    """Each weakness of a verified liability proof's grade, as a warning check.

    Example:
        >>> from utxo_truth import build_tree, verify_liability_proof
        >>> _, _, ps = build_tree([("a", 1)], salt=b"x")
        >>> [c.id for c in liability_grade_checks("X", verify_liability_proof(ps["a"]))]
        ['liability-root-unpinned']
    """
    g = proof.grade
    if g is None:
        return []
    weak = [
        (
            not g.sums_bound,
            "liability-sum-not-binding",
            "parents hash only the sum of their children, so sibling sums can be lowered unseen",
        ),
        (
            g.hash_bits < 256,
            "liability-hash-truncated",
            f"the format keeps {g.hash_bits} bits of each hash",
        ),
        (not g.salted, "liability-unsalted", "leaves have no secret salt"),
        (
            not g.positions_checked,
            "liability-positions-unchecked",
            "node heights/positions are not checked",
        ),
        (
            not g.btc_isolated,
            "liability-btc-not-isolated",
            "the proof has no BTC figure of its own",
        ),
        (
            not g.root_pinned,
            "liability-root-unpinned",
            "the root is taken from the proof file itself, not pinned (liabilities_root)",
        ),
        (
            bool(proof.unproven),
            "liability-fields-unproven",
            f"no hash covers {', '.join(proof.unproven)}",
        ),
    ]
    return [
        CheckResult(
            id=ident,
            level="warning",
            subject=subject,
            message=f"{subject}: its {proof.format} liability proof verifies, but {text}",
        )
        for bad, ident, text in weak
        if bad
    ]


def _inclusion(
    p: Position, custodian_root: str | None, checks: list[CheckResult]
) -> dict[str, Any]:
    """Whether a liability proof puts the position in the custodian's tree, with its checks."""
    proof = p.liability_proof
    if proof is None:
        return {}
    if not proof.verified:
        checks.append(
            CheckResult(
                id="liability-proof-invalid",
                level="critical",
                subject=p.name,
                message=f"{p.name}: the liability proof does not verify: {proof.reason}",
            )
        )
        return {
            "liability_included": False,
            "liability_root": proof.root_hash,
            "liability_audit_id": proof.audit_id,
        }
    checks.extend(liability_grade_checks(p.name, proof))
    leaf = proof.leaf_btc_sats
    if leaf != p.amount_sats:
        checks.append(
            CheckResult(
                id="liability-mismatch",
                level="warning",
                subject=p.name,
                message=f"{p.name}: the custodian's books hold {leaf} sats for you, you claim {p.amount_sats}",
            )
        )
    if custodian_root is not None and proof.root_hash != custodian_root:
        checks.append(
            CheckResult(
                id="liability-root-differs",
                level="warning",
                subject=p.name,
                message=f"{p.name}: your proof's root is not the root of {p.custodian}'s published liabilities",
            )
        )
    return {
        "liability_included": True,
        "liability_root": proof.root_hash,
        "liability_audit_id": proof.audit_id,
        "liability_leaf_sats": leaf,
    }


def _position(
    p: Position,
    cover: tuple[int, int] | None,
    leverage_max: Decimal,
    custodian_root: str | None,
    checks: list[CheckResult],
) -> PositionReport:
    parties = tuple(dict.fromkeys(s.decided_by for s in p.exit_path if s.decided_by != "you"))
    leverage = p.leverage
    if leverage is not None and leverage > leverage_max:
        checks.append(
            CheckResult(
                id="high-leverage",
                level="warning",
                subject=p.name,
                message=f"{p.name}: leverage {leverage:.1f}x, above {leverage_max}x",
            )
        )
    if p.title_transfer:
        checks.append(
            CheckResult(
                id="title-transfer",
                level="warning",
                subject=p.name,
                message=f"{p.name}: the platform takes title to the coins; in a failure you are an unsecured creditor",
            )
        )
    if p.rehypothecation:
        checks.append(
            CheckResult(
                id="rehypothecation",
                level="warning",
                subject=p.name,
                message=f"{p.name}: the custodian may lend your coins on",
            )
        )
    at_risk = None
    _owes, claim = _claim_on_custodian(p)
    if cover is not None and claim is not None:
        at_risk = claim * cover[0] // cover[1]
    return PositionReport(
        name=p.name,
        custodian=p.custodian,
        kind=p.kind.value,
        right=p.right,
        right_is_default=p.right_is_default,
        book=p.book,
        amount_sats=p.amount_sats,
        exit_steps=len(p.exit_path),
        parties_who_can_refuse=len(parties),
        parties=parties,
        exit_path=p.exit_path,
        exit_path_is_default=all(s.default for s in p.exit_path),
        suspended_before=any(s.suspended_before for s in p.exit_path),
        leverage=f"{leverage:.2f}" if leverage is not None else None,
        title_transfer=p.title_transfer,
        rehypothecation=p.rehypothecation,
        ap_only_redemption=p.ap_only_redemption,
        at_risk_sats=at_risk,
        **_inclusion(p, custodian_root, checks),
    )
