"""The multi-run stage: items that span runs, evaluated once, after the run items.

Run items run wherever pytest (or pytest-xdist) sends them and leave a digest on their call
report. Reports reach the process that writes JUnit, HTML and the terminal summary, so this
stage lives there: it keeps the digests and, when the run items are done, runs the dataset
item, one item per batch and one per claim through pytest's normal runtest protocol. They
are JUnit test cases and HTML rows like any other, they gate the exit code, and no run is
read twice; serially and under ``-n 2`` they see the same digests and give the same findings.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ._settings import TODAY_KEY, AuditSettings
from ._text import clean, node_name
from .claims.items import CLAIMS_KEY, CLAIMS_NODEID, ClaimItem
from .classes import group_failure_class
from .dataset import Dataset, Group
from .digest import REPORT_ATTR, RunDigest
from .findings import Finding
from .items import SETTINGS_KEY, AuditItem
from .records import FileIssue, GroupRecord
from .rules import apply_rules
from .rules.summaries import batch_passes

DATASET_NODEID = "e2e-dataset"
"""Node id prefix of the dataset item: ``e2e-dataset::dataset``."""
GROUPS_NODEID = "e2e-groups"
"""Node id prefix of group items: ``e2e-groups::<batch folder>``."""
ANNOTATION_ATTR = "e2e_annotation"
"""Attribute of an audit item's call report: its most serious finding's place and rank."""
KIND_ATTR = "e2e_kind"
"""Attribute of an audit item's call report: the item's kind (run, group, dataset, claim)."""
EXEMPT_ATTR = "e2e_exempt"
"""Attribute of an audit item's call report: what waivers and the baseline did to it (see
``Exemptions.transport``), when either is in force."""


class DatasetItem(AuditItem):
    """The whole audited tree: the honest figures, and the dataset rules."""

    kind = "dataset"

    def __init__(self, *, dataset: Dataset, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset = dataset

    def evaluate(self, settings: AuditSettings) -> tuple[list[Finding], list[tuple[str, object]]]:
        findings = apply_rules(
            self.dataset, settings.rules_of("dataset"), settings.context, settings.overrides
        )
        return findings, [("e2e.dataset", "."), *self.dataset.figures().properties()]

    def subject(self, props: Sequence[tuple[str, object]]) -> str:
        return "dataset"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        root = self.config.stash[SETTINGS_KEY].results_root
        return Path(clean(str(root), 4096)), None, "e2e dataset"


class GroupItem(AuditItem):
    """One batch of runs (the runs of one pipeline run)."""

    kind = "group"

    def __init__(self, *, group: Group, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.group = group
        self.failure_class: str | None = None
        """Set for a failing experiment once the item ran."""

    def evaluate(self, settings: AuditSettings) -> tuple[list[Finding], list[tuple[str, object]]]:
        group = self.group
        layout = next((x for x in settings.layouts if x.name == group.runs[0].layout), None)
        if layout is not None:
            try:
                record = layout.load_group(group.kind, group.key, settings.results_root)
            except Exception as exc:  # noqa: BLE001 - like load_run: a reader bug is a finding
                record = GroupRecord(
                    kind=group.kind,
                    key=group.key,
                    file_issues=(
                        FileIssue(
                            file=group.key,
                            problem=f"could not be read: the {layout.name} reader failed with "
                            f"{type(exc).__name__}: {exc}",
                        ),
                    ),
                )
            group = self.group = replace(group, record=record)
        findings = apply_rules(
            group, settings.rules_of("group"), settings.context, settings.overrides
        )
        props: list[tuple[str, object]] = [
            ("e2e.group", group.key),
            ("e2e.group_kind", group.kind),
            ("e2e.runs", len(group.runs)),
            ("e2e.reported_success", group.reported),
            ("e2e.verified_success", group.verified),
        ]
        passes = batch_passes(group)
        if passes is not None:
            props += [("e2e.summary_pass", passes[0]), ("e2e.records_pass", passes[1])]
        if group.kind == "experiment":
            klass = group_failure_class(group, findings, settings.fail_on)
            if klass is not None:
                props.append(("e2e.failure_class", klass))
                self.failure_class = klass
        return findings, props

    def reportinfo(self) -> tuple[Path, int | None, str]:
        root = self.config.stash[SETTINGS_KEY].results_root
        path = root / self.group.key if self.group.key != "." else root
        return (
            Path(clean(str(path), 4096)),
            None,
            f"e2e {self.group.kind} {clean(self.group.key, 300)}",
        )


class MultiRunStage:
    """Keeps the runs' digests and runs the items that span runs after the run items."""

    def __init__(self, settings: AuditSettings) -> None:
        self.settings = settings
        self.digests: dict[str, RunDigest] = {}
        self.dataset: Dataset | None = None
        """Set once the stage ran (the summary prints its figures)."""
        self.experiments: dict[str, str] = {}
        """Failure class of each failing experiment (folder -> class), once its item ran."""

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist: every worker judges waivers against the controller's date."""
        node.workerinput[TODAY_KEY] = self.settings.exemptions.today.isoformat()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTR, None)
        if report.when == "call" and isinstance(data, dict):
            digest = RunDigest.from_dict(data)
            self.digests[digest.run_id] = digest

    @pytest.hookimpl(trylast=True, specname="pytest_runtest_logreport")
    def forget_digest(self, report: pytest.TestReport) -> None:
        """Once every plugin has seen the report (JUnit, HTML, the summary, the stage), its
        digest is dropped: the stage keeps its own copy, and pytest keeps every report until
        the session ends (about a kilobyte per run)."""
        report.__dict__.pop(REPORT_ATTR, None)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        result = yield
        option = session.config.option
        if option.collectonly or session.shouldstop or session.shouldfail:
            return result
        items = self.items(session)
        for index, item in enumerate(items):
            # Not collected: count each as it runs (progress stays right, and a session of
            # claims alone is not "no tests collected").
            session.testscollected += 1
            nextitem = items[index + 1] if index + 1 < len(items) else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if isinstance(item, GroupItem) and item.failure_class is not None:
                self.experiments[item.group.key] = item.failure_class
            if session.shouldstop or session.shouldfail:
                break
        return result

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.settings.rerun_list is not None and not session.config.option.collectonly:
            self.settings.rerun_list.write_text(
                "".join(f"{line}\n" for line in self.rerun_list()), encoding="utf-8"
            )

    def rerun_list(self) -> list[str]:
        """Run and experiment folders whose failure class is not ``agent``: what a re-run on a
        working machine (or a fixed judge or framework) could change. Sorted."""
        runs = [d.run_id for d in self.digests.values() if d.failure_class not in (None, "agent")]
        experiments = [k for k, c in self.experiments.items() if c != "agent"]
        return sorted(set(runs) | set(experiments), key=lambda p: p.split("/"))

    def items(self, session: pytest.Session) -> list[AuditItem]:
        """The dataset item, one item per batch, one per claim: in that order."""
        built: list[AuditItem] = []
        settings = self.settings
        if settings.results is not None and self.digests:
            # The figures are printed whatever rules are active; the items exist to check.
            self.dataset = Dataset.from_digests(self.digests.values())
            # A part of a sharded audit leaves the dataset to the merge session; the merge
            # session leaves the batches to the parts (each holds its batches whole).
            if settings.rules_of("dataset") and settings.shard is None:
                built.append(
                    DatasetItem.from_parent(
                        session,
                        name="dataset",
                        nodeid=f"{DATASET_NODEID}::dataset",
                        dataset=self.dataset,
                    )
                )
            if settings.rules_of("group") and not settings.merge:
                for group in self.dataset.groups:
                    built.append(
                        GroupItem.from_parent(
                            session,
                            name=node_name(group.key),
                            nodeid=f"{GROUPS_NODEID}::{node_name(group.key)}",
                            group=group,
                        )
                    )
        if settings.claims_file is not None:
            runs = sorted(self.digests.values(), key=lambda d: d.run_id)
            for claim in session.config.stash[CLAIMS_KEY].claims:
                built.append(
                    ClaimItem.from_parent(
                        session,
                        name=node_name(claim.id),
                        nodeid=f"{CLAIMS_NODEID}::{node_name(claim.id)}",
                        claim=claim,
                        runs=runs,
                    )
                )
        return built


def attach(item: pytest.Item, report: pytest.TestReport) -> None:
    """On an audit item's call report: its kind and, for a run, its digest (then dropped
    from the item, which lives for the whole session)."""
    if not isinstance(item, AuditItem):
        return
    setattr(report, KIND_ATTR, item.kind)
    if item.annotation is not None:
        setattr(report, ANNOTATION_ATTR, item.annotation)
    if item.digest is not None:
        setattr(report, REPORT_ATTR, item.digest)
        item.digest = None
    if item.exempt is not None:
        setattr(report, EXEMPT_ATTR, item.exempt)
        item.exempt = None
