"""Several chain sources held against each other.

Every source scans the same targets on its own. The answers must be true at the same block (a
source that is behind is asked again, a bounded number of times; then the scan is refused rather
than mixed). The coins are then compared script by script, over the indexes *every* source looked
at (a snapshot scans 0..999 while an Electrum server stops at its gap), and each disagreement
names the script and what each source said.

Policies: ``all`` — every source must answer and agree: one failed source is a
:class:`PolicyFailedError` naming it (no answer); ``quorum`` — more than half of the sources must
agree on each script, and the answer follows that majority, with each failed source named in
``problems``. When every source failed it is an :class:`AllSourcesFailedError`, under both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from ._exceptions import (
    AllSourcesFailedError,
    InconsistentTipError,
    InputError,
    PolicyFailedError,
    UtxoTruthError,
)
from ._models import Consensus, Disagreement, Holdings, SourceAnswer

__all__ = ["compare"]

Policy = Literal["all", "quorum"]
S = TypeVar("S")


def compare(
    sources: Sequence[S],
    run: Callable[[S], Holdings],
    describe: Callable[[S], str],
    *,
    policy: Policy = "all",
    attempts: int = 3,
    wait_seconds: float = 1.0,
) -> tuple[Holdings, Consensus]:
    """Scan with every source (``run``), pin them to one tip, compare, apply ``policy``."""
    if policy not in ("all", "quorum"):
        raise InputError(f"policy must be 'all' or 'quorum', not {policy!r}")
    if len(sources) < 2:
        raise InputError("comparing needs at least two sources")
    answers: dict[int, Holdings] = {}
    errors: dict[int, str] = {}
    for i, s in enumerate(sources):
        try:
            answers[i] = run(s)
        except UtxoTruthError as exc:
            errors[i] = f"{type(exc).__name__}: {exc}"
    for _ in range(attempts):
        blocks = {h.block for h in answers.values()}
        if len(blocks) <= 1:
            break
        highest = max(blocks, key=lambda b: b.height)
        time.sleep(wait_seconds)
        for i, h in list(answers.items()):
            if h.block != highest:
                try:
                    answers[i] = run(sources[i])
                except UtxoTruthError as exc:
                    errors[i] = f"{type(exc).__name__}: {exc}"
                    del answers[i]
    failures = {describe(sources[i]): e for i, e in sorted(errors.items())}
    if not answers:
        raise AllSourcesFailedError(
            "every source failed, so there is no answer: "
            + "; ".join(f"{name}: {e}" for name, e in failures.items()),
            failures=failures,
        )
    if policy == "all" and errors:
        raise PolicyFailedError(
            f"policy 'all' needs every source to answer, and {len(errors)} of {len(sources)} "
            "failed: "
            + "; ".join(f"{name}: {e}" for name, e in failures.items())
            + ". Fix or drop the failed source, or pass --policy quorum to accept a majority",
            failures=failures,
        )
    blocks = {h.block for h in answers.values()}
    if len(blocks) > 1:
        tips = "; ".join(
            f"{describe(sources[i])} at {h.block.height} {h.block.hash[:16]}..."
            for i, h in answers.items()
        )
        raise InconsistentTipError(
            f"the sources stay at different tips ({tips}): not mixing them; scan again later"
        )
    report = tuple(
        SourceAnswer(source=describe(s), block=answers[i].block, total_sats=answers[i].total_sats)
        if i in answers
        else SourceAnswer(source=describe(s), error=errors[i])
        for i, s in enumerate(sources)
    )
    disagreements, majority = _disagreements(answers, [describe(s) for s in sources])
    if policy == "all":
        agreed = not errors and not disagreements
        chosen = answers[min(answers)]
    else:
        agreed = all(v is not None for v in majority.values()) and len(answers) * 2 > len(sources)
        chosen = _quorum_holdings(answers, majority)
    problems = list(chosen.problems)
    for i, e in errors.items():
        problems.append(f"source {describe(sources[i])} failed: {e}")
    for d in disagreements:
        said = "; ".join(f"{src}: {', '.join(c) or 'nothing'}" for src, c in d.by_source.items())
        problems.append(f"sources disagree on {d.address or d.script_pubkey} ({d.target}): {said}")
    consensus = Consensus(
        policy=policy, agreed=agreed, sources=report, disagreements=tuple(disagreements)
    )
    return chosen.model_copy(
        update={"problems": tuple(problems), "source": " + ".join(a.source for a in report)}
    ), consensus


Key = tuple[int, int | None, int | None, str]  # target, chain, index, script


def _coins_by_script(
    h: Holdings, windows: dict[tuple[int, int], int]
) -> dict[Key, tuple[str, ...]]:
    """Per watched script inside the common windows: the coins, sorted."""
    out: dict[Key, list[str]] = {}
    for ti, t in enumerate(h.targets):
        for u in t.utxos:
            o = u.origin
            if o is None:
                continue
            if (
                o.chain is not None
                and o.index is not None
                and o.index >= windows.get((ti, o.chain), 0)
            ):
                continue
            out.setdefault((ti, o.chain, o.index, u.script_pubkey), []).append(
                f"{u.txid}:{u.vout}={u.value}"
            )
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _disagreements(
    answers: dict[int, Holdings], names: list[str]
) -> tuple[list[Disagreement], dict[Key, tuple[str, ...] | None]]:
    any_h = next(iter(answers.values()))
    windows: dict[tuple[int, int], int] = {}
    for ti, t in enumerate(any_h.targets):
        for c in t.chains:
            windows[(ti, c.chain)] = min(
                h.targets[ti].chains[c.chain].scanned for h in answers.values()
            )
    per_source = {i: _coins_by_script(h, windows) for i, h in answers.items()}
    keys = set().union(*(set(v) for v in per_source.values()))
    disagreements = []
    majority: dict[Key, tuple[str, ...] | None] = {}
    for key in sorted(
        keys,
        key=lambda k: (
            k[0],
            k[1] if k[1] is not None else -1,
            k[2] if k[2] is not None else -1,
            k[3],
        ),
    ):
        said = {i: per_source[i].get(key, ()) for i in answers}
        counts: dict[tuple[str, ...], int] = {}
        for v in said.values():
            counts[v] = counts.get(v, 0) + 1
        best, n = max(counts.items(), key=lambda kv: kv[1])
        majority[key] = best if n * 2 > len(names) else None
        if len(counts) > 1:
            target = any_h.targets[key[0]]
            address = next(
                (
                    u.address
                    for h in answers.values()
                    for u in h.targets[key[0]].utxos
                    if u.script_pubkey == key[3]
                ),
                None,
            )
            disagreements.append(
                Disagreement(
                    target=target.target,
                    script_pubkey=key[3],
                    address=address,
                    by_source={names[i]: v for i, v in said.items()},
                )
            )
    return disagreements, majority


def _quorum_holdings(
    answers: dict[int, Holdings], majority: dict[Key, tuple[str, ...] | None]
) -> Holdings:
    """The answer of a source that sides with the majority on most scripts."""

    def score(i: int) -> int:
        h = answers[i]
        windows = {(ti, c.chain): c.scanned for ti, t in enumerate(h.targets) for c in t.chains}
        mine = _coins_by_script(h, windows)
        return sum(1 for k, v in majority.items() if v is not None and mine.get(k, ()) == v)

    return answers[max(answers, key=lambda i: (score(i), -i))]
