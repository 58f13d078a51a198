"""Proven vs listed reserves in a reconcile: what the custodians' signatures add (issue 14).

A portfolio custodian may give ``reserve_proofs = "FILE"`` (see ``docs/reserve-proofs.md``): every
row is checked by :mod:`utxo_truth.reserve_proofs` when the portfolio is read, and its readable
addresses join the custodian's reserves. The reconcile then splits the verified reserves into
**proven** (a valid signature naming a block, over an address whose coins the scan found) and
**listed only**, and runs the checks below. Pure: works on what the scan returned.

>>> ProofRow(address="bc1q...", status="unsigned").status
'unsigned'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ._models import CheckResult

if TYPE_CHECKING:
    from ._models import BlockRef, TargetHoldings, Utxo
    from .reserve_proofs import ReserveProofs

__all__ = ["ProofRow", "adapt_caveats", "proof_rows", "shared_key_checks", "split_reserves"]

NO_SIGNATURE_CAVEAT = "Coins at an address are not shown to be controlled by the custodian (no signed message is checked)."
SIGNED_CAVEAT = (
    "A valid signature proves that a key for the address existed and signed the message at or "
    "after the block it names; it does not prove the key is not shared with (or signing for) "
    "someone else, that the coins stay unspent after the scan's block, or that the custodian "
    "does not owe them elsewhere. Listed-only reserves prove nothing of control."
)


class ProofRow(BaseModel):
    """One reserve address of a custodian's proof file, as reconcile needs it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str
    status: str
    reason: str = ""
    block_height: int | None = None
    block_hash: str | None = None
    signers: tuple[str, ...] = ()
    claimed_sats: int | None = None


def proof_rows(proofs: ReserveProofs) -> tuple[ProofRow, ...]:
    """The rows of a checked reserve-proof file (other chains left out)."""
    return tuple(
        ProofRow(
            address=r.address,
            status=r.status,
            reason=r.reason,
            block_height=r.block_height,
            block_hash=r.block_hash,
            signers=r.signers,
            claimed_sats=r.claimed_sats,
        )
        for r in proofs.rows
        if r.status != "skipped"
    )


def _check(id_: str, level: str, message: str, subject: str) -> CheckResult:
    return CheckResult.model_validate(
        {"id": id_, "level": level, "message": message, "subject": subject}
    )


def split_reserves(
    name: str,
    reserves: Sequence[str],
    proofs: Sequence[ProofRow],
    groups: Sequence[TargetHoldings],
    block: BlockRef,
    liabilities: int | None,
    max_blocks: int,
    checks: list[CheckResult],
) -> dict[str, Any]:
    """Proven / listed-only sats and coverage of one custodian, with the checks that fire.

    ``groups`` are the scan results of ``reserves`` (same order). A coin is *proven* when its
    address has a ``valid`` row whose named block is at or before the scan's block and not more
    than ``max_blocks`` older; every other verified coin is *listed only*.
    """
    if not proofs:
        return {}
    by_address: dict[str, list[ProofRow]] = {}
    for row in proofs:
        by_address.setdefault(row.address, []).append(row)
    seen: set[tuple[str, int]] = set()
    proven = listed_only = unsigned_sats = 0
    for target, group in zip(reserves, groups, strict=True):
        rows = by_address.get(target, [])
        fresh = [
            r
            for r in rows
            if r.status == "valid"
            and r.block_height is not None
            and r.block_height <= block.height
            and block.height - r.block_height <= max_blocks
        ]
        coins: list[Utxo] = [
            u
            for u in group.utxos
            if u.verification != "unverified" and (u.txid, u.vout) not in seen
        ]
        seen.update((u.txid, u.vout) for u in coins)
        value = sum(u.value for u in coins)
        if fresh:
            proven += value
        else:
            listed_only += value
        if rows and all(r.status == "unsigned" for r in rows):
            unsigned_sats += value
    counts = {s: 0 for s in ("valid", "replayable", "invalid", "inconclusive", "unsigned")}
    for row in proofs:
        counts[row.status] = counts.get(row.status, 0) + 1
    if unsigned_sats:
        checks.append(
            _check(
                "unsigned-reserves",
                "warning",
                f"{name}: {unsigned_sats} sats sit at {counts['unsigned']} reserve address(es) it did not sign for; they are listed, not proven",
                name,
            )
        )
    for row in proofs:
        if row.status == "invalid":
            checks.append(
                _check(
                    "invalid-reserve-signature",
                    "critical",
                    f"{name}: the signature for reserve address {row.address} is invalid ({row.reason[:120]})",
                    name,
                )
            )
    if counts["replayable"]:
        checks.append(
            _check(
                "replayable-reserve-message",
                "warning",
                f"{name}: {counts['replayable']} reserve signature(s) sign a fixed text that names no block: they can be replayed forever and prove nothing about when",
                name,
            )
        )
    for row in proofs:
        if row.status == "valid" and row.block_height is not None:
            if row.block_height > block.height:
                checks.append(
                    _check(
                        "reserve-proof-after-scan",
                        "warning",
                        f"{name}: the signature for {row.address} names block {row.block_height}, after the scan's block {block.height}: the coins seen may have been spent since",
                        name,
                    )
                )
            elif block.height - row.block_height > max_blocks:
                checks.append(
                    _check(
                        "reserve-proof-stale",
                        "warning",
                        f"{name}: the signature for {row.address} names block {row.block_height}, {block.height - row.block_height} blocks before the scan: not counted as proven",
                        name,
                    )
                )
    out: dict[str, Any] = {
        "proven_reserves_sats": proven,
        "listed_only_reserves_sats": listed_only,
        "proof_counts": counts,
    }
    if liabilities:
        out["proven_coverage"] = proven / liabilities
    return out


def shared_key_checks(
    custodians: Sequence[tuple[str, Sequence[ProofRow]]], checks: list[CheckResult]
) -> None:
    """The same key signing reserve proofs for two custodians of one portfolio."""
    owners: dict[str, set[str]] = {}
    for name, rows in custodians:
        for row in rows:
            if row.status in ("valid", "replayable"):
                for key in row.signers:
                    owners.setdefault(key, set()).add(name)
    for key, names in sorted(owners.items()):
        if len(names) > 1:
            both = " and ".join(sorted(names))
            checks.append(
                _check(
                    "shared-reserve-key",
                    "critical",
                    f"{both} show signatures by the same key ({key[:16]}...): the same coins may be counted as reserves twice",
                    both,
                )
            )


def adapt_caveats(caveats: Sequence[str], any_proofs: bool) -> tuple[str, ...]:
    """'What this does not prove', adapted to whether signatures were checked."""
    if not any_proofs:
        return tuple(caveats)
    return tuple(SIGNED_CAVEAT if c == NO_SIGNATURE_CAVEAT else c for c in caveats)
