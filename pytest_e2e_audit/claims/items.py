"""The claims' pytest nodes: one collector (``e2e-claims``), one item per claim.

Collection reads nothing but the claims file (validated in ``pytest_configure``); each item
reads the configs and, when the claim has ``stops``, the runs, so every xdist worker
collects the same items.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .._text import node_name
from ..findings import Finding, Severity
from ..items import SETTINGS_KEY, AuditFailure, AuditItem, render_findings
from .checks import check_claim, to_findings
from .model import Claim, ClaimSet
from .runs import RunSample, RunSource

CLAIMS_NODEID = "e2e-claims"
"""Node id of the claims collector; claim items are ``e2e-claims::<claim id>``."""
CLAIMS_KEY = pytest.StashKey[ClaimSet]()
_RUNS_KEY = pytest.StashKey[RunSource]()


class ClaimsCollector(pytest.Collector):
    """Yields one ``ClaimItem`` per claim, in file order."""

    def collect(self) -> Iterator[ClaimItem]:
        for claim in self.config.stash[CLAIMS_KEY].claims:
            yield ClaimItem.from_parent(self, name=node_name(claim.id), claim=claim)


class ClaimItem(AuditItem):
    """One claim; it fails when the config or the runs contradict it."""

    def __init__(self, *, claim: Claim, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claim = claim
        self.findings: list[Finding] = []

    def runtest(self) -> None:
        settings = self.config.stash[SETTINGS_KEY]
        claims = self.config.stash[CLAIMS_KEY]
        sample: RunSample | None = None
        if self.claim.stops and settings.results is not None:
            source = self.config.stash.setdefault(_RUNS_KEY, RunSource(settings))
            sample = source.sample(self.claim.since)
        violations = check_claim(
            self.claim, claims.base, self._show, sample, settings.results, claims.root
        )
        self.findings = to_findings(violations, settings.rules, settings.overrides)
        self.user_properties.extend(self._properties(sample, settings.fail_on))
        below = [f for f in self.findings if f.severity < settings.fail_on]
        if below:
            self.add_report_section("call", "e2e findings", render_findings(below, Severity.ERROR))
        if any(f.severity >= settings.fail_on for f in self.findings):
            raise AuditFailure(self.findings, settings.fail_on)

    def _show(self, path: Path) -> str:
        here = self.config.invocation_params.dir
        return path.relative_to(here).as_posix() if path.is_relative_to(here) else str(path)

    def _properties(self, sample: RunSample | None, fail_on: Severity) -> list[tuple[str, object]]:
        """JUnit ``<property>`` pairs (``e2e.claim`` and ``e2e.findings`` always)."""
        names = list(dict.fromkeys(f.rule for f in self.findings))
        failing = list(dict.fromkeys(f.rule for f in self.findings if f.severity >= fail_on))
        props: list[tuple[str, object]] = [
            ("e2e.claim", self.claim.id),
            ("e2e.findings", " ".join(names)),
            ("e2e.failing", " ".join(failing)),
        ]
        since = self.claim.since_text()
        if since is not None:
            props.append(("e2e.claim_since", since))
        if sample is not None and sample.found:
            props.append(("e2e.runs_checked", len(sample.checked)))
            props.append(("e2e.runs_undated", len(sample.undated)))
        return props

    def reportinfo(self) -> tuple[Path, int | None, str]:
        claims = self.config.stash[CLAIMS_KEY]
        line = claims.lines.get(self.claim.id)
        return claims.path, None if line is None else line - 1, f"e2e claim {self.claim.id}"
