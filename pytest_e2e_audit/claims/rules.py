"""Claim rules (codes E2E040-E2E043).

``claims.checks`` examines a claim once (its configs, and the runs' digests for ``stops``)
and tags each problem with the rule it breaks; each rule's check picks its own problems from
that ``ClaimEvidence``, so claim findings are made, overridden and gated like any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ..findings import Location, Severity
from ..rules import Rule, RuleContext, Violation, rule


class _Tagged(Protocol):
    @property
    def rule(self) -> Rule: ...
    @property
    def message(self) -> str: ...
    @property
    def evidence(self) -> tuple[Location, ...]: ...
    @property
    def severity(self) -> Severity | None: ...


@dataclass(frozen=True)
class ClaimEvidence:
    """Everything wrong with one claim, each problem tagged with its rule."""

    problems: tuple[_Tagged, ...]

    def of(self, name: str) -> Iterable[Violation]:
        for p in self.problems:
            if p.rule.name == name:
                yield Violation(p.message, p.evidence, p.severity)


@rule(
    code="E2E040",
    name="claim-not-applied",
    severity=Severity.ERROR,
    kind="claim",
    summary="A config file the claim names holds another value for a claimed setting, or lacks it",
)
def claim_not_applied(evidence: ClaimEvidence, ctx: RuleContext) -> Iterable[Violation]:
    """A report said a mitigation was applied ("Disabled parallel_tool_calls in
    trae_config.yaml") while the config kept ``parallel_tool_calls: true`` on both models, so
    every later result was read as if the fix were in place. Each offending value is shown
    with its ``file:line``; a missing key counts, because the agent then runs on its
    default."""
    return evidence.of("claim-not-applied")


@rule(
    code="E2E041",
    name="claim-config-missing",
    severity=Severity.ERROR,
    kind="claim",
    summary="No file matches the config globs of a claim",
)
def claim_config_missing(evidence: ClaimEvidence, ctx: RuleContext) -> Iterable[Violation]:
    """A claim about a config nobody can find cannot be trusted: the file was renamed, lives
    in a submodule that was never published, or the claim names the wrong one."""
    return evidence.of("claim-config-missing")


@rule(
    code="E2E042",
    name="claim-contradicted-by-runs",
    severity=Severity.ERROR,
    kind="claim",
    summary="Runs started on or after the claim's date still show an API-error signature the "
    "claimed change was meant to stop",
)
def claim_contradicted_by_runs(evidence: ClaimEvidence, ctx: RuleContext) -> Iterable[Violation]:
    """The runs are the evidence of what the pipeline did. After a report claimed
    ``parallel_tool_calls`` was off, runs went on logging "No tool output found for function
    call" (20 times in one run a week later): the mitigation was not in effect, or did not
    work, whatever the config says."""
    return evidence.of("claim-contradicted-by-runs")


@rule(
    code="E2E043",
    name="claim-unverifiable",
    severity=Severity.WARNING,
    kind="claim",
    summary="Part of a claim cannot be checked: no settings or stops, an unreadable config, a "
    "config link out of the claims root, no runs (or no dated runs) since the claim",
)
def claim_unverifiable(evidence: ClaimEvidence, ctx: RuleContext) -> Iterable[Violation]:
    """A claim nobody can check is not evidence either way; saying so keeps it from passing
    silently. Runs without a start date are counted here too: they are not guessed into or
    out of the claim's period, and so are config files the search did not read (a link out
    of the claims root, a folder that cannot be listed, a search cut short by its budget)."""
    return evidence.of("claim-unverifiable")


CLAIM_RULES: tuple[Rule, ...] = (
    claim_not_applied,
    claim_config_missing,
    claim_contradicted_by_runs,
    claim_unverifiable,
)
