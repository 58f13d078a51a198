"""reconcile_holdings(portfolio, holdings) -> Report: verified coins against custodial claims.

Pure: it reads nothing, scans nothing, prints nothing. The coins come in as :class:`Holdings`
(a scan of exactly ``scan_targets(portfolio)``, in that order) and, for wrapped-BTC custodians,
the token supplies already read (``wrapped.resolve_portfolio``). :func:`utxo_truth.reconcile`
in ``_api.py`` is the convenience that does both reads and then calls this.

All arithmetic is in integer satoshis; ratios (shadow ratio, coverage, leverage) are computed from
integers at the end and only ever displayed. Unknown amounts are listed as unknown and make the
totals they belong to lower bounds — never zeros.

No global state, no printing, no I/O: safe to call from several threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ._exceptions import InputError
from ._models import BlockRef, CheckResult, Holdings, TargetHoldings, Utxo, unique_coins
from ._report_models import (
    CAVEATS,
    CountedCoin,
    CustodianReport,
    PositionReport,
    Report,
    WalletReport,
)
from .claims import Book, Custodian, Portfolio, Position, Right
from .liabilities import LiabilityProof
from .proof_of_control import adapt_caveats, shared_key_checks, split_reserves
from .wrapped import ResolvedSupply

__all__ = [
    "CAVEATS",
    "CheckResult",
    "CountedCoin",
    "CustodianReport",
    "PositionReport",
    "Report",
    "WalletReport",
    "reconcile_holdings",
    "reported_balance_checks",
    "scan_targets",
]


def scan_targets(portfolio: Portfolio) -> list[str]:
    """The targets a reconcile scans, in order: every wallet's, then every custodian's reserves."""
    return [t for w in portfolio.wallets for t in w.targets] + [
        r for c in portfolio.custodians for r in c.reserves
    ]


def reconcile_holdings(
    portfolio: Portfolio,
    holdings: Holdings,
    *,
    supplies: Mapping[str, ResolvedSupply] | None = None,
) -> Report:
    """Split what ``portfolio`` believes it holds into real coin and shadow, at the scan's block.

    Pure: the arithmetic and checks on an answer already in hand. To scan as well, call
    :func:`utxo_truth.reconcile`, which reads the chain (and any wrapped-BTC token supply) first.

    Args:
        portfolio: from :func:`utxo_truth.load_portfolio` or built in code; a wrapped-BTC
            custodian must already owe its token supply (``wrapped.resolve_portfolio``).
        holdings: a scan of exactly ``scan_targets(portfolio)``, in that order.
        supplies: what ``wrapped.resolve_portfolio`` read, per wrapped custodian.

    Example:
        >>> from utxo_truth import load_portfolio, scan, scan_targets  # doctest: +SKIP
        >>> p = load_portfolio("examples/portfolio.toml")  # doctest: +SKIP
        >>> held = scan(scan_targets(p), network=p.network, source=p.source)  # doctest: +SKIP
        >>> reconcile_holdings(p, held).finality_sats  # doctest: +SKIP
    """
    supplies = supplies or {}
    targets = scan_targets(portfolio)
    for c in portfolio.custodians:
        if c.tokens and c.name not in supplies:
            raise InputError(
                f"{c.name}: a wrapped custodian owes its token supply, which is not read yet: "
                "call utxo_truth.reconcile(), or wrapped.resolve_portfolio() first"
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
    return _wrapped_custodians(_build(portfolio, holdings), portfolio, supplies)


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
    coins: list[CountedCoin] = []
    own_seen: set[str] = set()  # each own coin listed once, under the first wallet, as counted
    for w in portfolio.wallets:
        groups = holdings.targets[k : k + len(w.targets)]
        k += len(w.targets)
        all_own += groups
        utxos, receipts = unique_coins(groups)
        fresh = [u for u in utxos + receipts if u.outpoint not in own_seen]
        own_seen.update(u.outpoint for u in fresh)
        coins += [_counted(u, "wallet", w.name) for u in fresh]
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
        coins += [_counted(u, "custodian", c.name) for u in unique_coins(groups)[0]]
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
        coins=tuple(coins),
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
    checks.extend(reported_balance_checks(c, groups))
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


def _counted(u: Utxo, owner: str, name: str) -> CountedCoin:
    return CountedCoin(
        outpoint=u.outpoint,
        value=u.value,
        height=u.height,
        address=u.address,
        owner=owner,  # "wallet" or "custodian", checked by the model
        name=name,
        verification=u.verification,
    )


def reported_balance_checks(c: Custodian, groups: Sequence[TargetHoldings]) -> list[CheckResult]:
    """Each reserve address whose balance in the custodian's own file differs from the chain.

    ``c.reported_reserves`` are the per-address balances of its reserve file (a CSV ``amount`` /
    ``balance`` column, a JSON ``balance``, a WBTC or cbBTC document), and a signed reserve
    file's (``reserve_proofs``) balance column adds its own; ``groups`` the scan of
    ``c.reserves`` (same order). Only verified coins are the chain's word; unverified ones are
    named in the message. More reported than shown is a warning (the file claims coins the chain
    does not show); less is an info (the file is out of date or rounds down). An address that
    was not scanned (unreadable, or not in ``groups``) is not compared: a warning says so, it is
    never taken to hold zero.

    Example:
        >>> c = Custodian(name="X", reserves=("bcrt1qx",), reported_reserves=(("bcrt1qx", 5),))
        >>> reported_balance_checks(c, [])[0].id  # the address was not scanned: unknown, not 0
        'reported-not-scanned'
    """
    shown: dict[str, tuple[int, int]] = {}
    for target, group in zip(c.reserves, groups, strict=False):
        shown[target] = (group.verified_sats, group.unverified_sats)
    reported_at = dict(c.reported_reserves)
    for row in c.reserve_proofs:  # a signed reserve file's balance column says the same
        if row.claimed_sats is not None:
            reported_at.setdefault(row.address, row.claimed_sats)
    out: list[CheckResult] = []
    for address, reported in reported_at.items():
        if address not in shown:
            out.append(
                CheckResult(
                    id="reported-not-scanned",
                    level="warning",
                    subject=c.name,
                    message=f"{c.name}: reports {reported} sats at {address}, which was not "
                    "scanned (its address could not be read): that balance is not checked",
                )
            )
            continue
        verified, unverified = shown[address]
        if reported == verified:
            continue
        extra = f" (and {unverified} unverified, not counted)" if unverified else ""
        if reported > verified:
            out.append(
                CheckResult(
                    id="reported-not-on-chain",
                    level="warning",
                    subject=c.name,
                    message=f"{c.name}: reports {reported} sats at {address}, the chain shows {verified} verified{extra}",
                )
            )
        else:
            out.append(
                CheckResult(
                    id="reported-below-chain",
                    level="info",
                    subject=c.name,
                    message=f"{c.name}: reports {reported} sats at {address}, the chain shows {verified} verified{extra}",
                )
            )
    return out


def _wrapped_custodians(
    report: Report, portfolio: Portfolio, supplies: Mapping[str, ResolvedSupply]
) -> Report:
    """The report with each wrapped custodian's token supply, EVM blocks and checks."""
    if not supplies:
        return report
    checks = list(report.checks)
    customs = []
    for cr in report.custodians:
        r = supplies.get(cr.name)
        if r is None:
            customs.append(cr)
            continue
        customs.append(
            cr.model_copy(update={"token_supply_sats": r.supply_sats, "evm_blocks": r.blocks})
        )
        if r.supply_sats == 0:
            checks.append(
                CheckResult(
                    id="no-supply",
                    level="warning",
                    subject=cr.name,
                    message=f"{cr.name}: the token supply is 0: no coverage figure",
                )
            )
        checks.append(
            CheckResult(
                id="no-proof-of-control",
                level="info",
                subject=cr.name,
                message=f"{cr.name}: its reserve addresses carry no proof of control",
            )
        )
    return report.model_copy(update={"custodians": tuple(customs), "checks": tuple(checks)})


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
