"""``RunDigest``: what the checks that span runs need from one run, small and serialisable.

A run item builds its digest from the record and findings it already has, and leaves it on
its call report (``report.e2e_digest``, a dict of plain values). Reports reach the process
that writes the reports also under pytest-xdist, so the dataset, batch and claim items that
run there afterwards read every run from its digest, never from disk again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from ._text import clean, printable
from .findings import Finding, Severity
from .records import RunRecord

REPORT_ATTR = "e2e_digest"
"""Attribute of a run item's call report that carries its digest (a dict)."""
_ERROR_NUMBER_RE = re.compile(r"0x[0-9a-fA-F]+|\d+")


@dataclass(frozen=True)
class ApiErrorDigest:
    """One API-error signature kind seen in a run's logs."""

    kind: str
    count: int
    file: str
    line: int | None


@dataclass(frozen=True)
class RunDigest:
    """One run as the multi-run checks see it."""

    run_id: str
    """Run folder relative to the results root."""
    layout: str
    """Name of the layout that read the run."""
    task: str
    """Task key (the layout's), or the run id when the record names none."""
    groups: tuple[tuple[str, str], ...]
    """(kind, folder relative to the results root) of each group the run belongs to."""
    item: str | None
    """Item id / folder name."""
    identity: str | None
    """What names the run uniquely, when the record says."""
    status: str
    """Normalised status: ``success``, ``error`` or ``unknown``."""
    verified: bool | None
    """For a recorded success: whether it breaks no success rule; None otherwise, and None
    when every success rule is off (nothing was verified)."""
    exit_code: int | None
    started_at: str | None
    """Start time, ISO 8601 (naive times are the pipeline's local time)."""
    started_source: str | None
    duration_s: float | None
    error_key: str | None
    """The error message or type with numbers masked, to tell alike failures."""
    api_errors: tuple[ApiErrorDigest, ...]
    patch_sha: str | None
    patch_artefacts: tuple[str, ...]
    findings: tuple[str, ...]
    """Names of every finding's rule, any severity, catalogue order, each once."""
    failing: tuple[str, ...]
    """Names of the findings at or above the gate."""
    tree_runs: int
    """Runs found in the whole tree (whatever was selected), for "N of M" figures."""
    failure_class: str | None = None
    """``infrastructure``, ``judge``, ``framework`` or ``agent`` for a failing run."""
    cost_usd: float | None = None
    """Cost the pipeline recorded for the run."""
    score: float | None = None
    """The consensus judge score recorded for the run, when there is one."""

    def to_dict(self) -> dict[str, Any]:
        """Plain values only, every string encodable (lone surrogates from folder names that
        are not UTF-8 escaped): it crosses process boundaries under xdist."""
        data: dict[str, Any] = {}
        for name in _SCALARS:
            value = getattr(self, name)
            data[name] = printable(value) if isinstance(value, str) else value
        data["groups"] = [[kind, printable(key)] for kind, key in self.groups]
        data["api_errors"] = [
            {"kind": e.kind, "count": e.count, "file": printable(e.file), "line": e.line}
            for e in self.api_errors
        ]
        data["patch_artefacts"] = [printable(p) for p in self.patch_artefacts]
        data["findings"] = list(self.findings)
        data["failing"] = list(self.failing)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunDigest:
        values: dict[str, Any] = {f.name: data.get(f.name) for f in fields(cls)}
        values["api_errors"] = tuple(ApiErrorDigest(**e) for e in data.get("api_errors") or ())
        values["patch_artefacts"] = tuple(data.get("patch_artefacts") or ())
        values["groups"] = tuple((str(k), str(v)) for k, v in data.get("groups") or ())
        values["findings"] = tuple(data.get("findings") or ())
        values["failing"] = tuple(data.get("failing") or ())
        return cls(**values)

    @property
    def started(self) -> datetime | None:
        return datetime.fromisoformat(self.started_at) if self.started_at else None

    @property
    def reported_success(self) -> bool:
        return self.status == "success"

    def outcome(self) -> str:
        """One letter per attempt: ``S`` verified success, ``s`` a success that breaks a
        success rule, ``E`` anything else."""
        if self.status != "success":
            return "E"
        return "S" if self.verified is not False else "s"


_SCALARS = tuple(
    f.name
    for f in fields(RunDigest)
    if f.name not in ("api_errors", "patch_artefacts", "findings", "failing", "groups")
)


def make_digest(
    record: RunRecord,
    findings: Sequence[Finding],
    catalogue: Sequence[str],
    success_rules: frozenset[str],
    fail_on: Severity,
    tree_runs: int,
    failure_class: str | None = None,
) -> RunDigest:
    """The digest of a run that was just audited (``catalogue``: rule names in code order;
    ``success_rules``: those whose finding means a success is not a real one)."""
    order = {name: i for i, name in enumerate(catalogue)}

    def names(chosen: Sequence[Finding]) -> tuple[str, ...]:
        unique = {f.rule for f in chosen}
        return tuple(sorted(unique, key=lambda n: order.get(n, len(order))))

    verified = None
    if record.status == "success" and success_rules:
        verified = not any(f.rule in success_rules and f.severity >= fail_on for f in findings)
    patch = record.patch
    return RunDigest(
        run_id=record.run_id,
        layout=record.layout,
        task=record.task_key or record.run_id,
        groups=record.groups or (("batch", _parent(record.run_id)),),
        item=record.item_id,
        identity=record.identity,
        status=record.status,
        verified=verified,
        exit_code=record.exit_code,
        started_at=record.started_at.isoformat() if record.started_at else None,
        started_source=record.started_source,
        duration_s=record.duration_s,
        error_key=_error_key(record),
        api_errors=tuple(
            ApiErrorDigest(hit.kind, hit.count, hit.first.file, hit.first.line)
            for hit in record.api_errors
        ),
        patch_sha=patch.sha256 if patch else None,
        patch_artefacts=patch.artefacts if patch else (),
        findings=names(findings),
        failing=names([f for f in findings if f.severity >= fail_on]),
        tree_runs=tree_runs,
        failure_class=failure_class,
        cost_usd=record.cost_usd,
        score=next((c.score for c in record.consensus if c.score is not None), None),
    )


def _parent(run_id: str) -> str:
    return run_id.rsplit("/", 1)[0] if "/" in run_id else "."


def _error_key(record: RunRecord) -> str | None:
    text = record.error_type or record.error_message
    if not text:
        return None
    return clean(_ERROR_NUMBER_RE.sub("N", text), 80)
