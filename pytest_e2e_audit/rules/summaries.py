"""Group rules that hold summary files against the run records (codes E2E028-E2E030).

A layout's ``load_group`` reads what a group's summaries state (``GroupRecord``); the runs'
digests say what the records hold. ProjectScylla writes several summaries per experiment
and a batch summary per batch, and real batches show them disagreeing with the runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from statistics import mean

from .._text import clean, plural
from ..dataset import Group
from ..digest import RunDigest
from ..findings import Location, Severity
from ..records import BatchEntry, SummaryClaim
from . import Rule, RuleContext, Violation, rule

PASS_SCORE = 0.5
"""A test passes when its best subtest's mean score is above this (the batch runner's rule)."""
COST_TOLERANCE = 0.0001
"""Dollars by which two costs may differ and still agree (summaries round)."""
_CLAIMED_PASS = {"pass": True, "fail": False, "error": False, "unknown": False}


def records_pass(runs: Sequence[RunDigest]) -> bool | None:
    """Whether a test's run records pass: its best subtest's mean judge score is above 0.5
    (the batch runner's ``best_score > 0.5``); without scores, any recorded success."""
    if not runs:
        return None
    by_subtest: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        subtest = next((key for kind, key in run.groups if kind == "subtest"), run.run_id)
        if run.score is not None:
            by_subtest[subtest].append(run.score)
    if by_subtest:
        return max(mean(scores) for scores in by_subtest.values()) > PASS_SCORE
    return any(run.reported_success for run in runs)


def _status(run: RunDigest) -> str:
    return "passed" if run.status == "success" else "failed" if run.status == "error" else "unknown"


def _mismatch(group: Group, claim: SummaryClaim) -> str | None:
    """What the records hold where they disagree with ``claim``, or None."""
    runs = group.runs_under(claim.scope)
    claimed = claim.claimed
    if claim.measure in ("status", "completed"):
        if not runs:
            return f"there is no run record in {clean(claim.scope, 160)}"
        if claimed in ("passed", "failed") and _status(runs[0]) != claimed:
            return f"{runs[0].run_id}/run_result.json says {_status(runs[0])}"
        return None
    if claim.measure == "count":
        return None if claimed == len(runs) else f"{plural(len(runs), 'run record')}"
    if claim.measure == "passed_count":
        passed = sum(r.reported_success for r in runs)
        return None if claimed == passed else f"{passed} passed run record(s)"
    if claim.measure == "cost":
        costs = [r.cost_usd for r in runs if r.cost_usd is not None]
        if not costs or not isinstance(claimed, (int, float)):
            return None
        total = sum(costs)
        return None if abs(total - claimed) <= COST_TOLERANCE else f"${total:.4f} over the runs"
    if claim.measure == "test_pass":
        expected = _CLAIMED_PASS.get(str(claimed))
        actual = records_pass(runs)
        if expected is None or actual is None or expected == actual:
            return None
        state = "pass" if actual else "fail"
        return f"the run records {state} ({plural(len(runs), 'run')} in {clean(claim.scope, 160)})"
    return None


_SAYS = {
    "status": "run",
    "completed": "completed run",
    "count": "runs",
    "passed_count": "passed runs",
    "cost": "total cost",
    "test_pass": "status",
}


@rule(
    code="E2E028",
    name="summary-mismatch",
    severity=Severity.ERROR,
    summary="A summary (batch summary, experiment result, tier or subtest report, checkpoint) "
    "disagrees with the run records",
    kind="group",
)
def summary_mismatch(group: Group, ctx: RuleContext) -> Iterator[Violation]:
    """Published figures come from summaries, and summaries are written by a different step
    than the runs: a batch summary said 24 passes while the records held 30, and a worker's
    ``checkpoint.json`` lists no completed run while runs completed. Each disagreement is
    listed with both values and both places, so the summary can be regenerated from the runs."""
    record = group.record
    if record is None:
        return
    for issue in record.file_issues:
        yield Violation(
            f"{issue.file} {issue.problem}; what it states is not checked",
            (Location(file=issue.file),),
            Severity.WARNING,
        )
    for claim in record.claims:
        actual = _mismatch(group, claim)
        if actual is not None:
            yield Violation(
                f"{claim.subject}: {claim.location} says {_SAYS[claim.measure]} "
                f"{clean(str(claim.claimed), 60)}, but {actual}",
                (claim.location,),
            )


@rule(
    code="E2E029",
    name="result-overwritten",
    severity=Severity.ERROR,
    summary="A later session replaced an earlier result of an experiment (an earlier batch "
    "entry or thread-log verdict, or the run records, disagree with the final entry)",
    kind="group",
)
def result_overwritten(group: Group, ctx: RuleContext) -> Iterator[Violation]:
    """A batch resumed three times appends a new entry per session and the last one wins: 6
    real passes were replaced by $0.00 failures written by a session that crashed before
    running anything. The earlier verdict, its cost and where each was read are named, so
    the pass can be restored instead of re-run."""
    record = group.record
    if record is None or group.kind != "experiment" or not record.entries:
        return
    final = record.entries[-1]
    if final.status == "pass":
        return
    where = Location(file=final.file, line=final.line)
    shown = f"the last entry ({where}) says {final.status}{_cost(final)}"
    for earlier in record.entries[:-1]:
        if earlier.status == "pass":
            yield Violation(
                f"{record.test_id}: entry {earlier.index + 1} ({earlier.file}:{earlier.line}) "
                f"says pass{_cost(earlier)}{_score(earlier)}; {shown}",
                (Location(file=earlier.file, line=earlier.line), where),
            )
    passes = [v for v in record.thread_verdicts if v.verdict == "PASS"]
    sessions = max((v.session for v in record.thread_verdicts), default=0)
    for verdict in passes:
        if verdict.session < sessions or final.total_cost in (0, None):
            cost = f", ${verdict.cost:.4f}" if verdict.cost is not None else ""
            score = f", score {verdict.score:.3f}" if verdict.score is not None else ""
            yield Violation(
                f"{record.test_id}: session {verdict.session} printed {verdict.tier}: PASS"
                f"{score}{cost} in {verdict.file}:{verdict.line}; {shown}",
                (Location(file=verdict.file, line=verdict.line), where),
            )
    if records_pass(group.runs) and final.total_cost in (0, None):
        yield Violation(
            f"{record.test_id}: the run records on disk pass "
            f"({plural(len(group.runs), 'run')} in {clean(group.key, 160)}); {shown}",
            (where,),
        )


def _cost(entry: BatchEntry) -> str:
    return f" at ${entry.total_cost:.2f}" if entry.total_cost is not None else ""


def _score(entry: BatchEntry) -> str:
    return f" (best score {entry.best_score:.3f})" if entry.best_score is not None else ""


@rule(
    code="E2E030",
    name="superseded-entries",
    severity=Severity.INFO,
    summary="Tests with several batch-summary entries (resumed sessions), with their statuses",
    kind="group",
)
def superseded_entries(group: Group, ctx: RuleContext) -> Iterator[Violation]:
    """The batch summary keeps every session's entry and the last one counts: a test that
    went ``error, error, pass`` counts as a pass, and one that went ``pass, fail`` as a
    failure. The sequence shows which results a resume replaced."""
    record = group.record
    if record is None or group.kind != "batch":
        return
    by_test: dict[str, list[BatchEntry]] = defaultdict(list)
    for entry in record.entries:
        by_test[entry.test_id].append(entry)
    for test, entries in sorted(by_test.items()):
        if len(entries) > 1:
            sequence = " → ".join(e.status or "?" for e in entries)
            yield Violation(
                f"{test}: {sequence} ({plural(len(entries), 'entry', 'entries')} in "
                f"{entries[0].file}; the last counts)",
                tuple(Location(file=e.file, line=e.line) for e in entries),
            )


def batch_passes(group: Group) -> tuple[int, int] | None:
    """(passes the batch summary claims, tests whose run records pass), last entry per test;
    None for a group without a batch summary."""
    record = group.record
    if record is None or group.kind != "batch" or not record.entries:
        return None
    claims = [c for c in record.claims if c.measure == "test_pass"]
    claimed = sum(c.claimed == "pass" for c in claims)
    held = sum(bool(records_pass(group.runs_under(c.scope))) for c in claims)
    return claimed, held


SUMMARY_RULES: tuple[Rule, ...] = (summary_mismatch, result_overwritten, superseded_entries)
