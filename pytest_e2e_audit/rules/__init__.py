"""Rules: plain functions that yield violations, with catalogue metadata.

A rule's kind is its type: a ``Rule`` checks one run's record; a ``GroupRule`` one batch of
runs, a ``DatasetRule`` the whole tree (both from the runs' digests, after every run item);
a ``ClaimRule`` one claimed mitigation. All are registered through the
``pytest_e2e_audit_rules`` hook and become findings in one place, ``to_finding``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .._text import MAX_MESSAGE, clean
from ..findings import Finding, Location, Severity

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*\d{3}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


RuleKind = Literal["run", "group", "dataset", "claim"]
RULE_KINDS: tuple[RuleKind, ...] = ("run", "group", "dataset", "claim")


@dataclass(frozen=True)
class RuleContext:
    """Settings a rule may read."""

    min_duration_s: float = 10.0
    """Below this agent wall time a success counts as 'no sign the agent ran'."""
    retry_margin: float = 10.0
    """Percentage points by which task-level success may exceed first-attempt success."""
    max_attempts: int = 3
    """Attempts of one task beyond which it is retried excessively."""
    cluster_size: int = 5
    """Failures in one batch that, alike, make one systematic fault."""
    cluster_spread: float = 0.1
    """Relative spread of durations within which failures count as near-identical."""
    cluster_max_duration: float = 60.0
    """Failures shorter than this (seconds) can form a fast-failure cluster."""
    systemic_share: float = 0.9
    """Share of runs a per-run rule must fire on to be one pipeline defect."""
    batch_gap: float = 30.0
    """Percentage points by which a batch's success rate may differ from the dataset's."""
    scope_ignore: tuple[str, ...] = ("model_patch.diff", ".bench_scratch/*")
    """Pipeline artefacts: a patch that adds them is not the agent's work."""
    active: frozenset[str] = frozenset()
    """Names of the active rules (a rule that reads another's findings can tell it is off)."""


@dataclass(frozen=True)
class Violation:
    """What a rule's check yields: a message, its evidence, and optionally its own severity."""

    message: str
    evidence: tuple[Location, ...] = ()
    severity: Severity | None = None


Check = Callable[[Any, RuleContext], Iterable[Violation]]
"""A rule's check: the subject (a ``RunRecord``, ``Group``, ``Dataset`` or claim evidence)
and the settings, to violations."""


@dataclass(frozen=True)
class Rule:
    """A catalogue entry and the check behind it; this class checks one run's record."""

    kind: ClassVar[RuleKind] = "run"

    code: str
    """Stable code, e.g. ``E2E003``; never reused for another meaning."""
    name: str
    """Stable kebab-case name."""
    severity: Severity
    """Default severity (a check may lower or raise it per violation)."""
    summary: str
    """One line: what the rule checks."""
    why: str
    """Why a violation matters, for the catalogue and the docs."""
    check: Check = field(repr=False, compare=False)
    success_check: bool = False
    """A violation means a recorded success is not a real one (counts against verified
    success in the summary)."""

    def __post_init__(self) -> None:
        if not _CODE_RE.match(self.code):
            raise ValueError(f"rule code {self.code!r} must look like ABC123")
        if not _NAME_RE.match(self.name):
            raise ValueError(f"rule name {self.name!r} must be kebab-case")


class GroupRule(Rule):
    """Checks one group of runs (a batch) from their digests."""

    kind: ClassVar[RuleKind] = "group"


class DatasetRule(Rule):
    """Checks the whole audited tree from the runs' digests."""

    kind: ClassVar[RuleKind] = "dataset"


class ClaimRule(Rule):
    """Checks one claimed mitigation against its configs and the runs' digests."""

    kind: ClassVar[RuleKind] = "claim"


_KIND_CLASSES: dict[RuleKind, type[Rule]] = {
    "run": Rule,
    "group": GroupRule,
    "dataset": DatasetRule,
    "claim": ClaimRule,
}


def rule(
    *,
    code: str,
    name: str,
    severity: Severity,
    summary: str,
    success_check: bool = False,
    kind: RuleKind = "run",
) -> Callable[[Check], Rule]:
    """Turn a check function into a rule of ``kind``; its docstring is the rule's "why"."""

    def wrap(check: Check) -> Rule:
        why = inspect.cleandoc(check.__doc__ or "")
        return _KIND_CLASSES[kind](code, name, severity, summary, why, check, success_check)

    return wrap


def to_finding(
    entry: Rule,
    message: str,
    evidence: tuple[Location, ...] = (),
    severity: Severity | None = None,
    overrides: Mapping[str, Severity] | None = None,
) -> Finding:
    """The one place a violation becomes a finding: the severity (the rule's, the check's,
    or the user's override) and a message made safe to leave the process (one line,
    bounded, control characters and credentials removed)."""
    chosen = (overrides or {}).get(entry.name, severity or entry.severity)
    return Finding(
        code=entry.code,
        rule=entry.name,
        severity=chosen,
        message=clean(message, MAX_MESSAGE),
        evidence=evidence,
    )


def apply_rules(
    subject: Any,
    rules: Sequence[Rule],
    context: RuleContext,
    overrides: Mapping[str, Severity] | None = None,
) -> list[Finding]:
    """Run ``rules`` (of the subject's kind, in catalogue order) on ``subject``.

    A check that raises (a bug in a rule, or a record no rule anticipated) becomes an error
    finding of that rule naming the exception, so the run still fails instead of vanishing.
    """
    findings: list[Finding] = []
    for entry in rules:
        try:
            violations = list(entry.check(subject, context))
        except Exception as exc:  # noqa: BLE001 - any rule bug must surface as a finding
            violations = [
                Violation(
                    f"the rule could not be evaluated on this run: {type(exc).__name__}: {exc}",
                    severity=Severity.ERROR,
                )
            ]
        for v in violations:
            findings.append(to_finding(entry, v.message, v.evidence, v.severity, overrides))
    return findings
