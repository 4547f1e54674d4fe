"""The runs a claim is checked against, loaded in the claim item (so xdist workers agree).

Runs are found and read through the same layout API as run items. A run whose path holds a
dated folder (``2025-11-01_...``) from a day before the claim's ``since`` is not loaded;
every other run is loaded once per process and only its date and API-error counts are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from .._settings import AuditSettings
from ..layouts import Layout, RunRef, load_run, walk
from ..records import SignatureCount

_PATH_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[_T ]|$)")


@dataclass(frozen=True)
class RunFacts:
    """What a claim needs from one run."""

    run_id: str
    started_at: datetime | None
    started_source: str | None
    api_errors: tuple[SignatureCount, ...]


@dataclass(frozen=True)
class RunSample:
    """The runs a claim applies to, and those it could not place."""

    found: bool
    """A layout found at least one run under the results folder."""
    checked: tuple[RunFacts, ...] = ()
    """Runs started on or after ``since`` (every run when there is no ``since``)."""
    earlier: int = 0
    """Runs started before ``since`` (by their folder date or their record)."""
    undated: tuple[str, ...] = ()
    """Run ids with no start date, not checked against ``since``."""


@dataclass
class RunSource:
    """Walks the results tree once and loads each run at most once (per process)."""

    settings: AuditSettings
    _refs: tuple[Layout | None, list[RunRef]] | None = None
    _facts: dict[str, RunFacts] = field(default_factory=dict)

    def refs(self) -> tuple[Layout | None, list[RunRef]]:
        if self._refs is None:
            self._refs = (None, [])
            if self.settings.results is not None:
                tree = walk(self.settings.results)
                for layout in self.settings.layouts:
                    found = list(layout.discover(tree))
                    if found:
                        self._refs = (layout, found)
                        break
        return self._refs

    def facts(self, layout: Layout, ref: RunRef) -> RunFacts:
        known = self._facts.get(ref.run_id)
        if known is None:
            root = self.settings.results
            if root is None:  # pragma: no cover - refs() finds runs only under a root
                raise RuntimeError("no results folder to load runs from")
            record = load_run(layout, ref, root, self.settings.load_options)
            known = RunFacts(
                record.run_id, record.started_at, record.started_source, record.api_errors
            )
            self._facts[ref.run_id] = known
        return known

    def sample(self, since: datetime | None) -> RunSample:
        layout, refs = self.refs()
        if layout is None:
            return RunSample(found=False)
        checked: list[RunFacts] = []
        undated: list[str] = []
        earlier = 0
        for ref in refs:
            if since is not None:
                day = path_date(ref.run_id)
                if day is not None and day < since.date():
                    earlier += 1
                    continue
            facts = self.facts(layout, ref)
            if since is None:
                checked.append(facts)
            elif facts.started_at is None:
                undated.append(facts.run_id)
            elif facts.started_at >= since:
                checked.append(facts)
            else:
                earlier += 1
        return RunSample(True, tuple(checked), earlier, tuple(undated))


def path_date(run_id: str) -> date | None:
    """The date of the innermost dated folder above a run (as layouts date runs), if any."""
    for part in reversed(run_id.split("/")[:-1]):
        match = _PATH_DATE_RE.match(part)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                continue
    return None
