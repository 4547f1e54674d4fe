"""The audit's pytest nodes: one collector for the results tree, one item per recorded run."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ._settings import AuditSettings
from ._text import MAX_MESSAGE, clean, node_name, printable
from .classes import failure_class
from .digest import RunDigest, make_digest
from .findings import Finding, Location, Severity
from .layouts import Layout, RunRef, load_run, walk
from .records import RunRecord
from .rules import Rule, RuleKind, apply_rules
from .shards import shard_of

SETTINGS_KEY = pytest.StashKey[AuditSettings]()
RUNS_NODEID = "e2e-runs"
"""Node id of the results collector; run items are ``e2e-runs::<run path>``."""


class E2EAuditWarning(UserWarning):
    """Something in the results tree was skipped without losing a run (a link to a folder
    already walked). What can lose a run is an item, never only a warning."""


class CollectionProblem(Exception):
    """The results tree cannot be audited as asked; shown as a collection error."""


class RunsLost(Exception):
    """A folder of the tree could not be walked and no active rule at the gate says so: the
    item errors anyway, because runs in it may be lost whatever rules were chosen."""


class AuditFailure(Exception):
    """A run has findings at or above the gate severity."""

    def __init__(self, findings: Sequence[Finding], fail_on: Severity, notes: str = "") -> None:
        super().__init__(findings[0].headline() if findings else "")
        self.findings = list(findings)
        self.fail_on = fail_on
        self.notes = notes
        """The item's findings that do not fail, one line each (below the gate, waived,
        baselined)."""

    def render(self) -> str:
        text = render_findings(self.findings, self.fail_on)
        return f"{text}\n{self.notes}" if self.notes else text


def render_findings(findings: Sequence[Finding], fail_on: Severity) -> str:
    """One finding per line: those at the gate first, each in catalogue order."""
    gating = [f for f in findings if f.severity >= fail_on]
    rest = [f for f in findings if f.severity < fail_on]
    lines = [f.headline() for f in gating]
    lines += [f"{f.code} {f.rule} [{f.severity.label}]: {f.message}" for f in rest]
    return "\n".join(lines)


def finding_properties(
    findings: Sequence[Finding],
    rules: Sequence[Rule],
    failing: Sequence[Finding],
    **exempt: Sequence[Finding],
) -> list[tuple[str, object]]:
    """``e2e.findings`` (every finding's rule), ``e2e.failing`` (those that fail the item)
    and ``e2e.<key>`` for each of ``exempt`` (``waived``, ``baselined``), each name once, in
    catalogue order."""
    order = {r.name: i for i, r in enumerate(sorted(rules, key=lambda r: r.code))}

    def names(chosen: Sequence[Finding]) -> str:
        return " ".join(sorted({f.rule for f in chosen}, key=lambda n: order.get(n, len(order))))

    return [
        ("e2e.findings", names(findings)),
        ("e2e.failing", names(failing)),
        *((f"e2e.{key}", names(chosen)) for key, chosen in exempt.items()),
    ]


def run_properties(record: RunRecord, digest: RunDigest) -> list[tuple[str, object]]:
    """A run's JUnit ``<property>`` pairs besides the findings (``e2e.run`` first)."""
    props: list[tuple[str, object]] = [
        ("e2e.run", record.run_id),
        ("e2e.status", record.status_recorded if record.status_recorded is not None else ""),
    ]
    if digest.verified is not None:
        props.append(("e2e.verified_success", "true" if digest.verified else "false"))
    if digest.failure_class is not None:
        props.append(("e2e.failure_class", digest.failure_class))
    # A few key facts only: pytest keeps every property of every report (and --junitxml one
    # XML element each) until the session ends, so each one costs memory per run.
    observed = record.observed_tokens
    optional: dict[str, object | None] = {
        "e2e.exit_code": record.exit_code,
        "e2e.patch_bytes": record.patch.bytes if record.patch else None,
        "e2e.tokens_recorded": record.tokens_recorded.total if record.tokens_recorded else None,
        "e2e.tokens_observed": observed.total if observed else None,
    }
    props += [(k, v) for k, v in optional.items() if v is not None]
    return props


def safe_properties(props: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Property values as one clean, bounded line each: they cross process boundaries
    (xdist) and land in XML, HTML and logs."""
    return [(k, clean(v, MAX_MESSAGE) if isinstance(v, str) else v) for k, v in props]


def relative_to_root(path: str, root: Path) -> str:
    """``path`` relative to ``root`` with ``..`` where needed, or ``path`` itself when they
    share nothing (another drive): what pytest's ``bestrelpath`` gives for absolute paths."""
    base = str(root)
    if path.startswith(base) and path[len(base) : len(base) + 1] == os.sep:
        return path[len(base) + 1 :]  # the common case, without relpath's normalising
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return path


RunResult = tuple[list[Finding], list[tuple[str, object]], dict[str, Any]]
"""What evaluating a run gives: its findings, its properties and its digest (plain values)."""
AHEAD_KEY = pytest.StashKey[Callable[["RunItem"], "RunResult | None"]]()
"""Where a run item finds its result when the read-ahead (readahead.py) computed it."""


def evaluate_run(ref: RunRef, layout: Layout, tree_runs: int, settings: AuditSettings) -> RunResult:
    """Read one run and apply the per-run rules: the whole of a run item's own work, in the
    process running the item or in a read-ahead worker."""
    record = load_run(layout, ref, settings.results_root, settings.load_options)
    rules = settings.rules_of("run")
    findings = apply_rules(record, rules, settings.context, settings.overrides)
    success = settings.success_rule_names
    klass = failure_class(record, findings, settings.fail_on, success)
    digest = make_digest(
        record, findings, settings.rule_names, success, settings.fail_on, tree_runs, klass
    )
    return findings, run_properties(record, digest), digest.to_dict()


class ResultsCollector(pytest.Collector):
    """Walks the results tree once (names only) and yields one ``RunItem`` per run."""

    def collect(self) -> Iterator[RunItem]:
        settings = self.config.stash[SETTINGS_KEY]
        tree = walk(settings.results_root)
        for note in tree.notes:
            warnings.warn(E2EAuditWarning(f"e2e-audit: {clean(note, 300)}"), stacklevel=1)
        layout, refs = _choose(settings.layouts, tree)
        if layout is None and not tree.problems:
            tried = ", ".join(lay.name for lay in settings.layouts)
            raise CollectionProblem(
                f"no recorded runs found under {settings.results} (layouts tried: {tried}); "
                "check --e2e-results, or force a layout with --e2e-layout"
            )
        # Folders that could not be walked are items too: runs in them may be lost.
        ordered = sorted([*refs, *tree.problems], key=lambda ref: ref.run_id.split("/"))
        used: dict[str, int] = {}
        total = len(ordered)
        chosen = layout or settings.layouts[0]
        mine = self._shard(settings, chosen, ordered)
        for ref in ordered:
            name = node_name(ref.run_id)
            if name in used:
                used[name] += 1
                name = f"{name}~{used[name]}"
            else:
                used[name] = 1
            if mine is not None and chosen.shard_key(ref) not in mine:
                continue
            yield RunItem.from_parent(self, name=name, ref=ref, layout=chosen, tree_runs=total)

    @staticmethod
    def _shard(settings: AuditSettings, layout: Layout, refs: Sequence[RunRef]) -> set[str] | None:
        """The folders of this session's part (``--e2e-shard``), or None for every run."""
        if settings.shard is None:
            return None
        k, n = settings.shard
        mine, folders = shard_of([layout.shard_key(ref) for ref in refs], settings.shard)
        if folders < n:
            raise CollectionProblem(
                f"--e2e-shard={k}/{n}: the runs lie in {folders} folder"
                f"{'' if folders == 1 else 's'} that a part must keep whole (batches); split "
                f"it into at most {folders} part{'' if folders == 1 else 's'}"
            )
        return mine

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> str | Any:
        if isinstance(excinfo.value, CollectionProblem):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _choose(layouts: Sequence[Layout], tree: Any) -> tuple[Layout | None, list[RunRef]]:
    for layout in layouts:
        refs = list(layout.discover(tree))
        if refs:
            return layout, refs
    return None, []


class AuditItem(pytest.Item):
    """Base of the audit's items: ``evaluate`` gives findings and facts; this class turns
    them into properties, report sections and the gate, the same for every kind."""

    kind: ClassVar[RuleKind]

    def evaluate(self, settings: AuditSettings) -> tuple[list[Finding], list[tuple[str, object]]]:
        """Findings of this item's rules, and its properties (its identity first)."""
        raise NotImplementedError

    annotation: dict[str, Any] | None = None
    """Where and how serious the item's most serious finding is, for annotations (set by
    ``runtest``, moved onto the call report)."""
    digest: dict[str, Any] | None = None
    """A run's digest (set by ``RunItem.runtest``, moved onto the call report)."""
    exempt: dict[str, Any] | None = None
    """What waivers and the baseline did to the item (set by ``runtest`` when either is in
    force, moved onto the call report)."""

    def subject(self, props: Sequence[tuple[str, object]]) -> str:
        """What waivers and the baseline name the item by: its identity property's value
        (run id, group folder, claim id)."""
        return str(props[0][1])

    def evidence_path(self, location: Location, settings: AuditSettings) -> Path | None:
        """The file a finding's evidence names, as an absolute path (None when unknown):
        relative to the results root unless the item says otherwise."""
        return settings.results / location.file if settings.results is not None else None

    def runtest(self) -> None:
        settings = self.config.stash[SETTINGS_KEY]
        findings, props = self.evaluate(settings)
        exemptions, subject = settings.exemptions, self.subject(props)
        here = self.config.invocation_params.dir
        verdict = exemptions.judge(findings, self.kind, subject, settings.fail_on, here)
        self.annotation = self._annotation(verdict.failing or findings, settings)
        exempt = {"waived": verdict.waived, "baselined": verdict.baselined}
        props[1:1] = finding_properties(
            findings, settings.rules, verdict.failing, **(exempt if exemptions.active else {})
        )
        self.user_properties.extend(safe_properties(props))
        if exemptions.active:
            self.exempt = exemptions.transport(verdict, self.kind, subject)
        for title, lines in (("findings", verdict.below), ("accepted findings", verdict.accepted)):
            if lines:
                self.add_report_section("call", f"e2e {title}", "\n".join(lines))
        if verdict.failing:
            notes = "\n".join(verdict.below + verdict.accepted)
            raise AuditFailure(verdict.failing, settings.fail_on, notes)

    def _annotation(
        self, findings: Sequence[Finding], settings: AuditSettings
    ) -> dict[str, Any] | None:
        """The most serious finding (severity, then success rules before the rest, then code
        order) and the file and line its first evidence names."""
        if not findings:
            return None
        success = settings.success_rule_names
        top = min(findings, key=lambda f: (-f.severity, f.rule not in success, f.code))
        where = top.evidence[0] if top.evidence else None
        path = self.evidence_path(where, settings) if where is not None else None
        return {
            "severity": int(top.severity),
            "rank": [0 if top.rule in success else 1, top.code],
            "title": f"{top.code} {top.rule}",
            "headline": clean(top.headline(), 300),
            "path": printable(str(path)) if path is not None else None,
            "line": where.line if where is not None else None,
        }

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        if isinstance(excinfo.value, AuditFailure):
            return excinfo.value.render()
        if isinstance(excinfo.value, RunsLost):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)


class RunItem(AuditItem):
    """One recorded run; its assertions are the active per-run rules."""

    kind = "run"

    def __init__(self, *, ref: RunRef, layout: Layout, tree_runs: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ref = ref
        self.layout = layout
        self.tree_runs = tree_runs

    def evaluate(self, settings: AuditSettings) -> tuple[list[Finding], list[tuple[str, object]]]:
        # Findings stay local: items live for the whole session, reports carry the text.
        ahead = self.config.stash.get(AHEAD_KEY, None)
        result = ahead(self) if ahead is not None else None
        if result is None:
            result = evaluate_run(self.ref, self.layout, self.tree_runs, settings)
        findings, props, self.digest = result
        return findings, props

    def runtest(self) -> None:
        super().runtest()
        if self.ref.problem is not None:
            raise RunsLost(
                f"folder {clean(self.ref.run_id, 300)} {clean(self.ref.problem, 300)} (shown as "
                "an error because no active rule at the gate reports it)"
            )

    def evidence_path(self, location: Location, settings: AuditSettings) -> Path | None:
        return Path(self.ref.folder, location.file)

    def _record_path(self) -> str:
        # pytest prints it (with -v, --tb=short/long) and writes it into JUnit's file=
        # attribute: folder names are untrusted, so only clean text leaves here.
        return clean(os.path.join(self.ref.folder, self.ref.record), 4096)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return Path(self._record_path()), None, f"e2e run {clean(self.ref.run_id, 300)}"

    @functools.cached_property
    def location(self) -> tuple[str, int | None, str]:
        """pytest's ``(relfspath, lineno, domain)``, computed as pytest does but without its
        session-wide cache of relative paths, which would keep one entry per run (about a
        kilobyte each) for the whole session."""
        path = os.path.abspath(self._record_path())
        domain = f"e2e run {clean(self.ref.run_id, 300)}"
        return relative_to_root(path, self.config.rootpath), None, domain
