"""``--e2e-json=FILE``: the audit as one machine-readable document.

Scripts that gate on the audit read this instead of re-deriving everything from JUnit: the
settings, whether the audit is complete, the run counts and dataset figures, findings per
rule, the runs behind each rule and failure class, and the dataset, group and claim items.
The document's JSON Schema is exported from these models
(``python -m pytest_e2e_audit.jsonreport``, shipped as ``e2e-report.schema.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_FILE = Path(__file__).with_name("e2e-report.schema.json")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Settings(_Model):
    """What was audited and how."""

    results: str | None
    """The results folder (absolute), or null for a claims-only session."""
    claims: str | None
    """The claims file (absolute), or null."""
    fail_on: Literal["error", "warning"]
    """Items fail on findings at or above this severity."""
    active_rules: list[str]
    """Codes of the rules that ran."""


class Completeness(_Model):
    """Whether every run was audited (an interrupted session is partial)."""

    complete: bool
    """False when runs were not audited or their outcome was lost."""
    not_audited: int
    """Audit items never run because the session ended early."""
    lost: list[str]
    """Node ids of runs whose outcome never arrived (counted as failing)."""


class Runs(_Model):
    """The run items."""

    audited: int
    failing: int
    reported_success: int
    """Recorded successes."""
    verified_success: int
    """Recorded successes that break no success rule at the gate."""


class RuleCount(_Model):
    """One catalogue rule and what it found."""

    code: str
    name: str
    kind: Literal["run", "group", "dataset", "claim"]
    severity: Literal["error", "warning", "info", "off"]
    """The severity in force (after overrides); ``off`` when the rule did not run."""
    items: int
    """Items with a finding of this rule (any severity)."""
    failing: int
    """Items failing on it."""


class Item(_Model):
    """A dataset, group or claim item."""

    nodeid: str
    kind: Literal["group", "dataset", "claim"]
    outcome: Literal["passed", "failed", "error"]
    findings: list[str]
    """Names of the rules it has findings of."""
    failing: list[str]
    """Names of the rules it fails on."""
    properties: dict[str, str | int | float | bool]
    """Its ``e2e.*`` JUnit properties (figures, group kind, claim id …)."""
    waived: list[str] = Field(default_factory=list)
    """Names of the rules whose findings a waiver accepted."""
    baselined: list[str] = Field(default_factory=list)
    """Names of the rules whose findings the baseline accepted."""


class Waiver(_Model):
    """One entry of the waivers file and what it matched."""

    line: int
    """Line of the entry in the waivers file."""
    rule: str
    """The rule's code."""
    name: str
    """The rule's name."""
    selector: Literal["runs", "groups", "claims", "dataset"]
    patterns: list[str]
    """Globs over run ids, group folders or claim ids (``["dataset"]`` for the dataset)."""
    owner: str
    reason: str
    expires: str
    """Last day the waiver holds (YYYY-MM-DD)."""
    expired: bool
    """True when the audit's date is after ``expires``: its findings fail."""
    matched: int
    """Findings it matched in this session (waived, or failing when expired)."""
    stale: bool
    """It matched nothing in this session."""


class Waivers(_Model):
    """The waivers file (``--e2e-waivers``) and what it did."""

    file: str
    today: str
    """The date waivers were judged against (YYYY-MM-DD)."""
    waived: int
    """Findings a waiver accepted (they do not fail)."""
    waivers: list[Waiver]
    """Every waiver, in file order."""


class Fingerprint(_Model):
    """What identifies a finding across audits (never its message or line)."""

    kind: Literal["run", "group", "dataset", "claim"]
    subject: str
    """Run folder, group folder, claim id, or ``dataset``."""
    rule: str
    """The rule's code."""
    file: str | None
    """The first evidence file (relative to the run folder; the results root for groups and
    the dataset; the claims file's folder for claims), or null."""


class Baseline(_Model):
    """The baseline (``--e2e-baseline``) and what it did."""

    file: str
    mode: Literal["check", "update"]
    """``update`` with ``--e2e-baseline-update`` (the file is written, not read)."""
    entries: int
    """Findings the baseline file held when read (0 in update mode)."""
    baselined: int
    """Findings of this session the baseline accepted (in update mode: every one written)."""
    fixed: list[Fingerprint]
    """Entries whose item and rule were audited and whose finding is gone."""
    not_checked: int
    """Entries whose item or rule was not part of this session."""
    written: int | None
    """Entries written in update mode; null when nothing was written."""


class AuditReport(_Model):
    """The whole audit, as ``--e2e-json`` writes it."""

    schema_version: Literal[1] = 1
    tool: Literal["pytest-e2e-audit"] = "pytest-e2e-audit"
    settings: Settings
    completeness: Completeness
    runs: Runs
    rules: list[RuleCount]
    """Every catalogue rule, in code order."""
    runs_by_rule: dict[str, list[str]] = Field(default_factory=dict)
    """Rule name -> run folders with a finding of it (relative to the results root)."""
    failing_runs: list[str] = Field(default_factory=list)
    """Run folders whose item failed."""
    by_failure_class: dict[str, list[str]] = Field(default_factory=dict)
    """Failure class -> the failed run folders and experiment folders of that class."""
    items: list[Item] = Field(default_factory=list)
    """The dataset, group and claim items, in the order they ran."""
    waivers: Waivers | None = None
    """The waivers and what they matched; null without ``--e2e-waivers``."""
    baseline: Baseline | None = None
    """The baseline and what it accepted; null without ``--e2e-baseline``."""


def write(report: AuditReport, path: Path) -> None:
    path.write_text(report.model_dump_json(indent=1) + "\n", encoding="utf-8")


def schema() -> str:
    """The JSON Schema of the document, as shipped."""
    return json.dumps(AuditReport.model_json_schema(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:  # python -m pytest_e2e_audit.jsonreport FILE: write the schema there
        Path(sys.argv[1]).write_text(schema(), encoding="utf-8")
    else:
        print(schema(), end="")
