"""Rules: plain functions of a record that yield violations, with catalogue metadata."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .._text import MAX_MESSAGE, clean
from ..findings import Finding, Location, Severity
from ..records import RunRecord

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*\d{3}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class RuleContext:
    """Settings a rule may read."""

    min_duration_s: float = 10.0
    """Below this agent wall time a success counts as 'no sign the agent ran'."""


@dataclass(frozen=True)
class Violation:
    """What a rule's check yields: a message, its evidence, and optionally its own severity."""

    message: str
    evidence: tuple[Location, ...] = ()
    severity: Severity | None = None


Check = Callable[[RunRecord, RuleContext], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    """A catalogue entry and the check behind it."""

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


def rule(
    *,
    code: str,
    name: str,
    severity: Severity,
    summary: str,
    success_check: bool = False,
) -> Callable[[Check], Rule]:
    """Turn a check function into a ``Rule``; its docstring is the rule's "why"."""

    def wrap(check: Check) -> Rule:
        why = inspect.cleandoc(check.__doc__ or "")
        return Rule(code, name, severity, summary, why, check, success_check)

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
    record: RunRecord,
    rules: Sequence[Rule],
    context: RuleContext,
    overrides: Mapping[str, Severity] | None = None,
) -> list[Finding]:
    """Run ``rules`` (already in catalogue order) on ``record``.

    A check that raises (a bug in a rule, or a record no rule anticipated) becomes an error
    finding of that rule naming the exception, so the run still fails instead of vanishing.
    """
    findings: list[Finding] = []
    for entry in rules:
        try:
            violations = list(entry.check(record, context))
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
