"""Rules over many runs (catalogue codes E2E020-E2E027): the dataset and each batch.

They read run digests only (``dataset.Dataset``, ``dataset.Group``) and run once, after
every run item, in the process that writes the reports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from statistics import median

from .._text import clean, plural
from ..dataset import Dataset, Group
from ..digest import RunDigest
from ..findings import Severity
from . import Rule, RuleContext, Violation, rule

SHOWN = 5
"""Members named in a message; the rest are counted."""
MIN_SYSTEMIC_RUNS = 10
"""Fewer runs than this say nothing about the pipeline as a whole."""
MIN_BATCH_RUNS = 5
"""A batch smaller than this has no success rate worth comparing."""
CLUSTER_KINDS = frozenset({"batch", "experiment"})
"""Groups whose runs share one environment, so alike failures share a cause (a tier or
subtest only groups runs of one configuration)."""
IDLE_RULE = "success-without-execution"
"""The per-run rule whose finding says a success shows no sign the agent ran."""


def _names(runs: Sequence[str]) -> str:
    shown = ", ".join(clean(r, 120) for r in runs[:SHOWN])
    return shown + (f" (+{len(runs) - SHOWN:,} more)" if len(runs) > SHOWN else "")


@rule(
    code="E2E020",
    name="flaky-task",
    severity=Severity.WARNING,
    summary="A task has both a verified success and a failure across its attempts",
    kind="dataset",
)
def flaky_task(dataset: Dataset, ctx: RuleContext) -> Iterator[Violation]:
    """An agent that solves a task on one attempt and fails it on another has not solved it
    reliably, and a result that keeps the best attempt hides that. Each such task is listed
    with its attempt sequence (``E E E S E``: S a verified success, s a success that breaks a
    success rule, E anything else), so a reader sees how many tries a success took."""
    for task in dataset.tasks:
        outcomes = [a.outcome() for a in task.attempts]
        if "S" in outcomes and any(o != "S" for o in outcomes):
            runs = _names([a.run_id for a in task.attempts])
            yield Violation(
                f"task {clean(task.key, 80)}: {task.sequence} over "
                f"{plural(len(task.attempts), 'attempt')} ({runs})"
            )


@rule(
    code="E2E021",
    name="retry-inflation",
    severity=Severity.ERROR,
    summary="Task-level success exceeds first-attempt success by more than the margin "
    "(e2e_retry_margin)",
    kind="dataset",
)
def retry_inflation(dataset: Dataset, ctx: RuleContext) -> Iterator[Violation]:
    """Counting a task as solved when any of its attempts succeeded turns retries into
    success: a published 95.8% was commit-level after up to 21 attempts, while 44.7% of the
    300 attempts succeeded. The first-attempt rate is what a user of the agent gets; the gap
    is what retries added."""
    figures = dataset.figures()
    gap = figures.inflation_reported
    if gap is None or gap <= ctx.retry_margin:
        return
    tasks = figures.tasks
    per_attempt = _pct(figures.reported_attempts, figures.attempts)
    yield Violation(
        f"reported success is {_pct(figures.reported_tasks, tasks)} of {plural(tasks, 'task')} "
        f"but {_pct(figures.first_reported, tasks)} on the first attempt (+{gap:.1f} pp, over "
        f"the {ctx.retry_margin:g} pp margin) and {per_attempt} of "
        f"{plural(figures.attempts, 'attempt')}; publish the attempt-level and first-attempt "
        "rates beside the task-level one"
    )


@rule(
    code="E2E022",
    name="excessive-retries",
    severity=Severity.ERROR,
    summary="A task was attempted more often than allowed (e2e_max_attempts)",
    kind="dataset",
)
def excessive_retries(dataset: Dataset, ctx: RuleContext) -> Iterator[Violation]:
    """A task retried until it passes measures persistence, not capability: one commit took
    21 attempts before its recorded success. Past the allowed number of attempts the result
    of that task is not comparable with the others."""
    for task in sorted(dataset.tasks, key=lambda t: (-len(t.attempts), t.key)):
        if len(task.attempts) > ctx.max_attempts:
            yield Violation(
                f"task {clean(task.key, 80)} was attempted {len(task.attempts):,} times (more "
                f"than {ctx.max_attempts:,}): {task.sequence}; first "
                f"{_names([a.run_id for a in task.attempts])}"
            )


@rule(
    code="E2E023",
    name="failure-cluster",
    severity=Severity.ERROR,
    summary="Many failures in one batch are alike (near-identical short durations or the same "
    "error): one systematic fault",
    kind="group",
)
def failure_cluster(group: Group, ctx: RuleContext) -> Iterator[Violation]:
    """52 of 60 items of one batch failed in about 1.63 s each: one infrastructure fault,
    counted as 52 model failures. Failures that end alike (within a few percent of the same
    short duration, or with the same error and exit code) are reported once, as one fault
    with its members, so they can be re-run or excluded instead of scored."""
    failures = [r for r in group.runs if not r.reported_success]
    if group.kind not in CLUSTER_KINDS or len(failures) < ctx.cluster_size:
        return
    best = max(
        (c for c in (_duration_cluster(failures, ctx), *_signature_clusters(failures))),
        key=lambda c: len(c[1]),
        default=None,
    )
    if best is None or len(best[1]) < ctx.cluster_size:
        return
    how, members = best
    yield Violation(
        f"{len(members):,} of {plural(len(group.runs), 'run')} in {group.kind} "
        f"{clean(group.key, 160)} "
        f"failed alike ({how}): one systematic fault, not {len(members):,} agent failures; "
        f"{_names([m.run_id for m in members])}"
    )


def _duration_cluster(
    failures: Sequence[RunDigest], ctx: RuleContext
) -> tuple[str, list[RunDigest]]:
    """The largest set of short failures whose durations lie within the spread."""
    timed = sorted(
        (
            r
            for r in failures
            if r.duration_s is not None and r.duration_s <= ctx.cluster_max_duration
        ),
        key=lambda r: r.duration_s or 0.0,
    )
    best: list[RunDigest] = []
    start = 0
    for end, run in enumerate(timed):
        top = run.duration_s or 0.0
        while (top - (timed[start].duration_s or 0.0)) > max(ctx.cluster_spread * top, 0.05):
            start += 1
        if end + 1 - start > len(best):
            best = timed[start : end + 1]
    if not best:
        return "", []
    low, high = best[0].duration_s or 0.0, best[-1].duration_s or 0.0
    return (
        f"{low:.2f}-{high:.2f} s each, median {median(r.duration_s or 0.0 for r in best):.2f} s",
        best,
    )


def _signature_clusters(failures: Sequence[RunDigest]) -> Iterator[tuple[str, list[RunDigest]]]:
    """Failures grouped by what they said: the error, the first API-error kind, exit code.

    A failure that said nothing (no error message, no API error) has no signature: most
    pipelines record no message at all, so "nothing, exit code 1" is not a shared cause."""
    alike: dict[tuple[str, str, str], list[RunDigest]] = defaultdict(list)
    for run in failures:
        api = run.api_errors[0].kind if run.api_errors else ""
        if run.error_key or api:
            alike[(run.error_key or "", api, str(run.exit_code))].append(run)
    for (error, api, code), members in alike.items():
        parts = [f"exit code {code}" if code != "None" else "no exit code"]
        parts.append(f"error {error!r}" if error else "no error message")
        if api:
            parts.append(f"{api} in the logs")
        yield ", ".join(parts), members


@rule(
    code="E2E024",
    name="systemic-finding",
    severity=Severity.ERROR,
    summary="A per-run rule fires on (nearly) every run (e2e_systemic_share): one pipeline defect",
    kind="dataset",
)
def systemic_finding(dataset: Dataset, ctx: RuleContext) -> Iterator[Violation]:
    """``tokens-not-recorded`` fires on 1,876 of 1,877 real runs: not 1,876 broken runs but
    one writer that never records tokens. Said once at dataset level, the defect gets fixed
    where it is (the per-run findings stay, so every run still shows it)."""
    runs = len(dataset.runs)
    if runs < MIN_SYSTEMIC_RUNS:
        return
    counts: dict[str, int] = defaultdict(int)
    for run in dataset.runs:
        for name in run.findings:
            counts[name] += 1
    for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if count >= ctx.systemic_share * runs:
            yield Violation(
                f"{name} fires on {count:,} of {runs:,} runs ({100.0 * count / runs:.1f}%): "
                "one pipeline defect, not a defect of each run; fix it where the records are "
                "written"
            )


@rule(
    code="E2E025",
    name="stale-patch",
    severity=Severity.ERROR,
    summary="A success with no sign the agent ran whose patch repeats an earlier attempt's or "
    "carries the pipeline's own output files",
    kind="dataset",
)
def stale_patch(dataset: Dataset, ctx: RuleContext) -> Iterator[Violation]:
    """When the pipeline reuses a worktree, commits left by an earlier attempt become the
    next attempt's "patch": a run that crashed in 1.6 s is recorded as a success whose diff
    even holds ``model_patch.diff``. An agent that never ran wrote none of it, so a success
    without execution whose patch equals an earlier attempt's, or carries such artefacts, is
    an earlier attempt's work. (A TRAE agent that did run writes ``model_patch.diff`` into
    its own commit; that alone is not stale.)"""
    if IDLE_RULE not in ctx.active:
        yield Violation(
            f"stale-patch reads {IDLE_RULE} to tell successes that show no sign the agent ran, "
            "and that rule is off: no patch was checked",
            severity=Severity.WARNING,
        )
        return
    for task in dataset.tasks:
        seen: dict[str, str] = {}
        for attempt in task.attempts:
            idle = IDLE_RULE in attempt.findings
            if attempt.reported_success and idle:
                earlier = seen.get(attempt.patch_sha or "")
                if earlier is not None:
                    yield Violation(
                        f"run {clean(attempt.run_id, 200)} is a success with no sign the agent "
                        f"ran and the same patch as the earlier attempt {clean(earlier, 200)}"
                    )
                elif attempt.patch_artefacts:
                    yield Violation(
                        f"run {clean(attempt.run_id, 200)} is a success with no sign the agent "
                        f"ran whose patch carries the pipeline's own output "
                        f"({', '.join(attempt.patch_artefacts)}): an earlier attempt's commits "
                        "left in a reused worktree"
                    )
            if attempt.patch_sha:
                seen.setdefault(attempt.patch_sha, attempt.run_id)


@rule(
    code="E2E026",
    name="duplicate-run",
    severity=Severity.ERROR,
    summary="Two records claim the same run identity",
    kind="dataset",
)
def duplicate_run(dataset: Dataset, ctx: RuleContext) -> Iterator[Violation]:
    """A run copied into a second folder (an export next to the state, a resumed batch that
    wrote its results again) is counted twice, in the denominator and in the successes. Runs
    are the same when their records say so: the pipeline's run id, or the same task, item and
    start time."""
    by_identity: dict[str, list[str]] = defaultdict(list)
    for run in dataset.runs:
        if run.identity:
            by_identity[run.identity].append(run.run_id)
    for identity, runs in sorted(by_identity.items()):
        if len(runs) > 1:
            yield Violation(
                f"{plural(len(runs), 'record')} claim the run {clean(identity, 120)}: "
                f"{_names(runs)}; count it once"
            )


@rule(
    code="E2E027",
    name="batch-success-gap",
    severity=Severity.WARNING,
    summary="A batch's success rate differs sharply from the dataset's (e2e_batch_gap)",
    kind="group",
)
def batch_success_gap(group: Group, ctx: RuleContext) -> Iterator[Violation]:
    """A batch whose success rate stands far from the rest ran under other conditions: a
    broken environment (52 of 60 failing), another model or config, or a resumed run. Mixing
    it in moves the published rate by the batch's size, not the agent's skill."""
    rate = group.rate
    if group.kind != "batch" or rate is None or group.dataset_rate is None:
        return
    if len(group.runs) < MIN_BATCH_RUNS:
        return
    overall = 100.0 * group.dataset_rate
    if abs(rate - overall) > ctx.batch_gap:
        yield Violation(
            f"batch {clean(group.key, 160)}: reported success {group.reported:,}/"
            f"{len(group.runs):,} ({rate:.1f}%) against {overall:.1f}% over the dataset "
            f"({rate - overall:+.1f} pp, over the {ctx.batch_gap:g} pp margin)"
        )


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


DATASET_RULES: tuple[Rule, ...] = (
    flaky_task,
    retry_inflation,
    excessive_retries,
    failure_cluster,
    systemic_finding,
    stale_patch,
    duplicate_run,
    batch_success_gap,
)
