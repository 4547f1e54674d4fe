"""The claims' pytest item: one per claim, ``e2e-claims::<claim id>``.

The claims file is read and validated in ``pytest_configure``. Claim items are not collected:
the multi-run stage builds them after the run items, in the process that writes the reports,
so a claim's ``stops`` are checked against the runs' digests and never re-read a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from .._settings import AuditSettings
from ..digest import RunDigest
from ..findings import Finding, Location
from ..items import AuditItem
from ..rules import apply_rules
from .checks import check_claim
from .model import Claim, ClaimSet
from .rules import ClaimEvidence
from .runs import RunSample, sample

CLAIMS_NODEID = "e2e-claims"
"""Node id prefix of claim items: ``e2e-claims::<claim id>``."""
CLAIMS_KEY = pytest.StashKey[ClaimSet]()


class ClaimItem(AuditItem):
    """One claim; it fails when the config or the runs contradict it. Built by the
    multi-run stage, after the run items, so ``stops`` reads the runs' digests."""

    kind = "claim"

    def __init__(self, *, claim: Claim, runs: Sequence[RunDigest], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.claim = claim
        self.runs = runs

    def evaluate(self, settings: AuditSettings) -> tuple[list[Finding], list[tuple[str, object]]]:
        claims = self.config.stash[CLAIMS_KEY]
        found: RunSample | None = None
        if self.claim.stops and settings.results is not None:
            found = sample(self.runs, self.claim.since)
        violations = check_claim(
            self.claim, claims.base, self._show, found, settings.results, claims.root
        )
        evidence = ClaimEvidence(tuple(violations))
        findings = apply_rules(
            evidence, settings.rules_of("claim"), settings.context, settings.overrides
        )
        props: list[tuple[str, object]] = [("e2e.claim", self.claim.id)]
        since = self.claim.since_text()
        if since is not None:
            props.append(("e2e.claim_since", since))
        if found is not None and found.found:
            props.append(("e2e.runs_checked", len(found.checked)))
            props.append(("e2e.runs_undated", len(found.undated)))
        return findings, props

    def evidence_path(self, location: Location, settings: AuditSettings) -> Path | None:
        # Claim evidence names config files as shown: relative to the invocation folder.
        return self.config.invocation_params.dir / location.file

    def _show(self, path: Path) -> str:
        here = self.config.invocation_params.dir
        return path.relative_to(here).as_posix() if path.is_relative_to(here) else str(path)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        claims = self.config.stash[CLAIMS_KEY]
        line = claims.lines.get(self.claim.id)
        return claims.path, None if line is None else line - 1, f"e2e claim {self.claim.id}"
