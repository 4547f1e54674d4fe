"""Failure classes: whose fault a failing run is, so what a re-run could fix.

Derived from the run's findings and facts, in this order (the first that applies wins):

- ``infrastructure``: ``infra-exit`` (exit -1 or 127, a missing command, interpreter or
  workspace, about 0 s of run time), or a failed run whose logs show infrastructure API errors
  (quota, auth, rate limit, 5xx, expired or unexpanded credentials, start-up crashes);
- ``judge``: ``judge-invalid`` (an error envelope, no score, null criteria, marked invalid) or
  ``judge-quorum`` at the gate;
- ``framework``: the record itself is wrong (``unreadable-record``, ``malformed-record``,
  ``unknown-status``, ``zero-cost-result``, a consensus that contradicts its judges) at the
  gate (bookkeeping findings such as ``tokens-not-recorded`` say nothing of why a run failed);
- ``agent``: anything else: the agent ran and failed, also when a judge passed an agent that
  exited non-zero (that pass is ``judge-contradicts-signals``).

Only failed runs have a class: a recorded outcome that is not a success, or a success that
breaks a success rule. A re-run fixes the first three; the fourth is the result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from .dataset import Group
from .findings import Finding, Severity
from .records import RunRecord

FailureClass = Literal["infrastructure", "judge", "framework", "agent"]
FAILURE_CLASSES: tuple[FailureClass, ...] = ("infrastructure", "judge", "framework", "agent")
_JUDGE = frozenset({"judge-invalid", "judge-quorum"})
_FRAMEWORK = frozenset(
    {
        "unreadable-record",
        "malformed-record",
        "unknown-status",
        "zero-cost-result",
        "judge-consensus-mismatch",
    }
)


def failure_class(
    record: RunRecord,
    findings: Sequence[Finding],
    fail_on: Severity,
    success_rules: frozenset[str],
) -> FailureClass | None:
    """The class of a failed run: its recorded outcome is not a success, or its success
    breaks a success rule at the gate. None for a real success (whatever else its record
    lacks, such as token counts: that is a finding, not a failed run)."""
    failing = {f.rule for f in findings if f.severity >= fail_on}
    if record.status == "success" and not failing & success_rules:
        return None
    if "infra-exit" in failing or any(hit.tag == "infra" for hit in record.api_errors):
        return "infrastructure"
    if failing & _JUDGE:
        return "judge"
    if failing & _FRAMEWORK:
        return "framework"
    return "agent"


_INFRA_ERROR_RE = re.compile(
    r"No such file or directory|command not found|Exit code: (?:-1|127)\b|ModuleNotFoundError"
)


def group_failure_class(
    group: Group, findings: Sequence[Finding], fail_on: Severity
) -> FailureClass | None:
    """The class of a failing experiment: infrastructure when its last batch entry could not
    start (exit -1/127, a missing command), framework when its summaries or a resume
    contradict the records or its last entry failed at $0.00 over runs that cost something,
    else the most telling class among its failing runs."""
    failing = {f.rule for f in findings if f.severity >= fail_on}
    entries = group.record.entries if group.record else ()
    final = entries[-1] if entries else None
    run_classes = {r.failure_class for r in group.runs if r.failure_class}
    if not failing and not run_classes and (final is None or final.status == "pass"):
        return None
    if (
        final is not None
        and final.status == "error"
        and (final.exit_code in (-1, 127) or _INFRA_ERROR_RE.search(final.error or ""))
    ):
        return "infrastructure"
    if failing & {"result-overwritten", "summary-mismatch"}:
        return "framework"
    ran = any(r.cost_usd for r in group.runs)
    if final is not None and final.status != "pass" and final.total_cost == 0 and ran:
        return "framework"  # a result written at $0.00 over runs that cost something
    for klass in FAILURE_CLASSES:
        if klass in run_classes:
            return klass
    return "agent"
