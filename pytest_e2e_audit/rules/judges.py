"""Per-run rules for judged runs and their infrastructure (catalogue codes E2E012-E2E017).

They read what a layout recorded about LLM-judge verdicts (``RunRecord.judges`` and
``consensus``), the agent's result and its cost; a layout without judges (perf-agents-bench)
leaves those empty and the judge rules stay quiet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from statistics import mean

from .._text import plural, quote
from ..findings import Location, Severity
from ..records import JudgeVerdict, RunRecord
from . import Rule, RuleContext, Violation, rule

SCORE_TOLERANCE = 0.01
"""Largest difference between a consensus score and the judges' mean taken as agreement."""
INFRA_EXIT_CODES = {-1: "could not be started", 127: "command not found"}
_INFRA_TEXT_RE = re.compile(
    r"command not found|No such file or directory|[Nn]o module named|ModuleNotFoundError"
    r"|not a git repository|[Ww]orkspace .{0,40}(?:missing|does not exist|not found)"
    r"|[Pp]ermission denied|Cannot connect|Connection refused|exec format error"
)
NO_TIME = 1.0
"""An agent run shorter than this (seconds) that failed did not run at all."""


def _name(v: JudgeVerdict) -> str:
    return f"judge {v.judge}" if v.judge is not None else "the consensus"


def _invalid(v: JudgeVerdict) -> str | None:
    """Why a verdict is not usable, or None."""
    if v.is_error:
        text = f": {quote(v.error, 120)}" if v.error else ""
        return f"is an error envelope (is_error: true){text}"
    if v.score_problem:
        return v.score_problem
    if v.is_valid is False:
        return "is marked is_valid: false"
    if v.criteria == "null":
        return "has criteria_scores: null"
    if v.criteria == "other":
        return "has criteria_scores that are not a mapping"
    return None


@rule(
    code="E2E012",
    name="judge-invalid",
    severity=Severity.ERROR,
    success_check=True,
    summary="A judge's output has no usable score, null or malformed criteria, is marked "
    "invalid, or is an error envelope",
)
def judge_invalid(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """A judge that returned an error envelope (``is_error: true``, no ``score``) or
    ``criteria_scores: null`` did not judge the run; counting its "0.0" as the model's score
    turns a judge failure into a model failure. Each one is named with its file, so the run
    can be judged again rather than scored."""
    for verdict in (*record.judges, *record.consensus):
        why = _invalid(verdict)
        if why is not None:
            yield Violation(
                f"{_name(verdict)} output in {verdict.location} {why}: a judge failure, not a "
                "model failure",
                (verdict.location,),
            )


@rule(
    code="E2E013",
    name="judge-consensus-mismatch",
    severity=Severity.ERROR,
    success_check=True,
    summary="The recorded consensus (score, passed, criteria) disagrees with the judges' own "
    "verdicts",
)
def judge_consensus_mismatch(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """The consensus is what gets published, and it is written by the framework, not by the
    judges: real records keep ``criteria_scores: {}`` in ``run_result.json`` while every
    judgment carries full criteria, and a crashed resume writes a consensus nobody computed.
    A score or pass that differs from the judges is an error; criteria lost on the way are a
    warning (the verdict stands, its evidence is gone)."""
    valid = [v for v in record.judges if _invalid(v) is None and v.score is not None]
    if not valid:
        return
    average = mean(v.score for v in valid if v.score is not None)
    passes = [v.passed for v in valid if v.passed is not None]
    majority = sum(passes) * 2 > len(passes) if passes else None
    with_criteria = sum(v.criteria == "mapping" for v in valid)
    for c in record.consensus:
        if c.score is not None and abs(c.score - average) > SCORE_TOLERANCE:
            yield Violation(
                f"consensus score {c.score:.3f} in {c.location} but the "
                f"{plural(len(valid), 'valid judge')} average {average:.3f}",
                (c.location,),
            )
        if c.passed is not None and majority is not None and c.passed != majority:
            yield Violation(
                f"consensus passed: {str(c.passed).lower()} in {c.location} but "
                f"{sum(passes)} of {len(passes)} valid judges passed the run",
                (c.location,),
            )
        if c.criteria in ("empty", "null") and with_criteria:
            shown = "{}" if c.criteria == "empty" else "null"
            at = Location(file=c.file, line=c.criteria_line or c.line, key="criteria_scores")
            yield Violation(
                f"criteria_scores is {shown} in {at} while "
                f"{plural(with_criteria, 'judgment')} carry criteria",
                (at,),
                Severity.WARNING,
            )


@rule(
    code="E2E014",
    name="judge-quorum",
    severity=Severity.ERROR,
    success_check=True,
    summary="Fewer valid judgments than the experiment configured judges",
)
def judge_quorum(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """A consensus of 2 judges where 3 were configured is not the experiment's method: 218
    real runs were judged by only 2 of 3. The configured number comes from the experiment's
    ``judge_models``; without it, from the judge folders the run has."""
    expected = record.judges_expected or len(record.judges)
    if not expected or not (record.judges or record.consensus):
        return
    valid = [v for v in record.judges if _invalid(v) is None]
    if len(valid) < expected:
        source = "configured" if record.judges_expected else "judge folders present"
        bad = [f"judge {v.judge}" for v in record.judges if _invalid(v) is not None]
        which = f" ({', '.join(bad)} invalid)" if bad else ""
        yield Violation(
            f"{len(valid)} valid judgment{'s' if len(valid) != 1 else ''} of {expected} "
            f"{source}{which}",
            tuple(v.location for v in record.judges if _invalid(v) is not None),
        )


@rule(
    code="E2E015",
    name="judge-contradicts-signals",
    severity=Severity.ERROR,
    success_check=True,
    summary="A judge passed a run whose agent exited non-zero, returned an error, or never ran",
)
def judge_contradicts_signals(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """A judge reads the workspace, not the agent's exit code: it can pass a leftover or
    half-written workspace. A pass from an agent that crashed is not the agent's result;
    re-running the judge will not fix the agent."""
    passed = [c for c in record.consensus if c.passed is True]
    if not passed:
        return
    signals: list[str] = []
    if record.exit_code not in (0, None):
        signals.append(f"the agent exited {record.exit_code}")
    if record.agent_ran is False:
        signals.append("no agent/result.json was recorded (the agent never ran)")
    verdict = record.agent_verdict
    if verdict is not None and not verdict.success:
        signals.append(f"the agent's own result says {quote(verdict.text, 60)}")
    if signals:
        where = passed[0].location
        yield Violation(f"passed in {where} although {'; '.join(signals)}", (where,))


@rule(
    code="E2E016",
    name="zero-cost-result",
    severity=Severity.ERROR,
    success_check=True,
    summary="A verdict recorded with cost 0 and no tokens: a result written without running",
)
def zero_cost_result(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """A resumed batch overwrote 6 real passes with $0.00 failures: the session crashed before
    running anything and still wrote a verdict. A result that cost nothing and used no token
    was not produced by the agent."""
    if not record.consensus or record.cost_usd != 0:
        return
    tokens = record.tokens_recorded.total if record.tokens_recorded else None
    if tokens:
        return
    where = record.where("cost_usd") or Location(file=record.record_file)
    yield Violation(
        f"a verdict is recorded with cost_usd 0 in {where} and "
        f"{'no token usage' if tokens is None else '0 tokens'}: written without running",
        (where,),
    )


@rule(
    code="E2E017",
    name="infra-exit",
    severity=Severity.ERROR,
    success_check=True,
    summary="The agent could not start: exit code -1 or 127, a missing command, interpreter "
    "or workspace, or about 0 s of run time",
)
def infra_exit(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """13 "model failures" of one batch were the framework failing to start the agent
    (``[Errno 2] No such file or directory: 'pixi'``, exit code -1). They measure the machine,
    not the model, and a re-run on a working machine is what they need."""
    signs: list[str] = []
    code = record.exit_code
    if code in INFRA_EXIT_CODES:
        signs.append(f"exit code {code} ({INFRA_EXIT_CODES[code]})")
    text = record.agent_error or ""
    match = _INFRA_TEXT_RE.search(text)
    if match:
        signs.append(f"the agent's error says {quote(text, 120)}")
    failed = record.status != "success" or code not in (0, None)
    if failed and record.duration_s is not None and record.duration_s < NO_TIME:
        signs.append(f"it ran {record.duration_s:.2f} s")
    if signs:
        where = record.where("exit_code")
        yield Violation(
            f"the agent did not run: {'; '.join(signs)}",
            (where,) if where else (),
        )


JUDGE_RULES: tuple[Rule, ...] = (
    judge_invalid,
    judge_consensus_mismatch,
    judge_quorum,
    judge_contradicts_signals,
    zero_cost_result,
    infra_exit,
)
