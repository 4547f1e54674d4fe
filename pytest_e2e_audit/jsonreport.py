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
