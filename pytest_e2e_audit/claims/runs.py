"""The runs a claim is checked against: the run items' digests, split by the claim's date.

Nothing here reads a run: every run item already left its start date and API-error counts
in its digest, and claim items run after the run items, in the process that holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..digest import RunDigest


@dataclass(frozen=True)
class RunSample:
    """The runs a claim applies to, and those it could not place."""

    found: bool
    """At least one run was audited under the results folder."""
    checked: tuple[RunDigest, ...] = ()
    """Runs started on or after ``since`` (every run when there is no ``since``)."""
    earlier: int = 0
    """Runs started before ``since``."""
    undated: tuple[str, ...] = ()
    """Run ids with no start date, not checked against ``since``."""


def sample(runs: Sequence[RunDigest], since: datetime | None) -> RunSample:
    """Split ``runs`` by the claim's ``since``: checked, earlier, or undated."""
    if not runs:
        return RunSample(found=False)
    if since is None:
        return RunSample(True, tuple(runs))
    checked: list[RunDigest] = []
    undated: list[str] = []
    earlier = 0
    for run in runs:
        started = run.started
        if started is not None and started.tzinfo is not None:
            started = started.replace(tzinfo=None)
        if started is None:
            undated.append(run.run_id)
        elif started >= since:
            checked.append(run)
        else:
            earlier += 1
    return RunSample(True, tuple(checked), earlier, tuple(undated))
