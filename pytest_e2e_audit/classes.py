"""Failure classes: whose fault a failing run is, so what a re-run could fix.

Derived from the run's findings and facts, in this order (the first that applies wins):

- ``infrastructure``: ``infra-exit`` (exit -1 or 127, a missing command, interpreter or
  workspace, about 0 s of run time), or a failed run whose logs show infrastructure API errors
  (quota, auth, rate limit, 5xx, expired or unexpanded credentials, start-up crashes);
- ``judge``: ``judge-invalid`` (an error envelope, no score, null criteria, marked invalid) or
  ``judge-quorum`` at the gate;
- ``framework``: the record itself is wrong (``unreadable-record``, ``malformed-record``,
  ``unknown-status``, ``zero-cost-result``, a consensus that contradicts its judges,
  ``tokens-not-recorded``) at the gate;
- ``agent``: anything else: the agent ran and failed, also when a judge passed an agent that
  exited non-zero (that pass is ``judge-contradicts-signals``).

A re-run fixes the first three; the fourth is the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

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
        "tokens-not-recorded",
    }
)


def failure_class(
    record: RunRecord, findings: Sequence[Finding], fail_on: Severity
) -> FailureClass | None:
    """The class of a failing run (its recorded outcome is not a success, or it fails the
    audit); None for a run that passed."""
    failing = {f.rule for f in findings if f.severity >= fail_on}
    if record.status == "success" and not failing:
        return None
    if "infra-exit" in failing or (
        record.status != "success" and any(hit.tag == "infra" for hit in record.api_errors)
    ):
        return "infrastructure"
    if failing & _JUDGE:
        return "judge"
    if failing & _FRAMEWORK:
        return "framework"
    return "agent"
