"""Terminal summary: findings per rule, reported vs verified success, failing runs."""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import github, jsonreport, shards
from ._settings import AuditSettings
from ._text import clean, plural
from .baseline import ExemptionLedger
from .classes import FAILURE_CLASSES
from .digest import REPORT_ATTR
from .items import RUNS_NODEID
from .rules import RULE_KINDS, RuleKind
from .stage import ANNOTATION_ATTR, EXEMPT_ATTR, KIND_ATTR, MultiRunStage

_PREFIX = RUNS_NODEID + "::"
INCOMPLETE_NODEID = "e2e-audit::incomplete"
"""Node id of the failing report that says an interrupted or stopped audit is partial."""
SHOWN_SERIOUS = 10
"""Failing items named at the end of the terminal summary, most serious first."""
SHOWN_IN_SUMMARY = 50
"""Failing items listed in the job summary (it stays far under GitHub's 1 MiB limit)."""
SHOWN_MISSING = 5
"""Items named in the incomplete report; the rest are counted."""
SHOWN_FIXED = 10
"""Fixed baseline entries named in the summaries; the rest are counted (all are in JSON)."""


def _is_run(nodeid: str) -> bool:
    """Run items are the collected ones; dataset, group and claim items are built later."""
    return nodeid.startswith(_PREFIX)


_TABLE_HEADS: dict[RuleKind, tuple[str, str]] = {
    "run": ("rule", "runs"),
    "group": ("group rule", "groups"),
    "dataset": ("dataset rule", "dataset"),
    "claim": ("claim rule", "claims"),
}
"""Head of each kind's rule table and what its count column counts."""


@dataclass
class Tally:
    """One kind of item: how many reported, which failed, findings per rule."""

    items: int = 0
    failed: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    with_finding: Counter[str] = field(default_factory=Counter)
    failing: Counter[str] = field(default_factory=Counter)
    classes: Counter[str] = field(default_factory=Counter)
    """Failure classes of the failed items (runs, experiments)."""
    passes: list[tuple[str, int, int]] = field(default_factory=list)
    """(batch folder, passes its summary claims, tests whose records pass)."""

    def count(self, report: pytest.TestReport, props: dict[str, object]) -> None:
        self.items += 1
        if "e2e.failure_class" in props:
            self.classes[str(props["e2e.failure_class"])] += 1
        if "e2e.summary_pass" in props:
            claimed, held = props["e2e.summary_pass"], props.get("e2e.records_pass")
            if isinstance(claimed, int) and isinstance(held, int):
                self.passes.append((str(props.get("e2e.group", "?")), claimed, held))
        if report.failed:
            note = getattr(report, ANNOTATION_ATTR, None)
            self.failed.append(
                (report.nodeid, str(report.longrepr), note if isinstance(note, dict) else None)
            )
        for name in str(props.get("e2e.findings", "")).split():
            self.with_finding[name] += 1
        for name in str(props.get("e2e.failing", "")).split():
            self.failing[name] += 1


@dataclass(eq=False)  # a plugin object must stay hashable
class JsonWriter:
    """Writes ``--e2e-json`` after every report, the ledger's included."""

    summary: AuditSummary
    path: Path

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not session.config.option.collectonly:
            jsonreport.write(self.summary.json_report(), self.path)


@dataclass(eq=False)  # a plugin object must stay hashable
class DigestsWriter:
    """Writes ``--e2e-digests`` once every run reported: what an ``--e2e-merge`` session
    runs the dataset checks over. A partial session says so in the file, and the merge
    refuses it."""

    summary: AuditSummary
    path: Path

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if session.config.option.collectonly:
            return
        settings = self.summary.settings
        digests = sorted(self.summary.stage.digests.values(), key=lambda d: d.run_id)
        header = shards.Header(
            results=str(settings.results),
            shard=settings.shard or (1, 1),
            tree_runs=max((d.tree_runs for d in digests), default=0),
            runs=len(digests),
            complete=not (self.summary.not_audited or self.summary.lost),
        )
        shards.write_digests(self.path, header, digests)


@dataclass(eq=False)  # a plugin object must stay hashable
class JunitTotals:
    """Adds suite-level totals to the ``--junitxml`` file once pytest has written it: many
    JUnit readers drop per-testcase properties, so scripts would otherwise recount."""

    summary: AuditSummary
    path: Path

    @pytest.hookimpl(trylast=True)  # after junitxml's own pytest_sessionfinish wrote the file
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if session.config.option.collectonly or not self.path.is_file():
            return
        add_suite_properties(self.path, self.summary.totals())


_SUITE_TAG_RE = re.compile(rb"<testsuite\b[^>]*>")
_HEAD_BYTES = 1 << 20
"""The suite's start tag and its own properties lie within this many bytes of the start."""


def add_suite_properties(path: Path, totals: Sequence[tuple[str, object]]) -> None:
    """Add ``totals`` to the first ``<testsuite>``'s ``<properties>`` of the JUnit file at
    ``path``, copying the rest of the file through unchanged: memory stays flat however many
    test cases it holds (a parsed 100,000-run file takes about a gigabyte)."""
    import xml.etree.ElementTree as ET

    block = ET.Element("properties")
    for name, value in totals:
        ET.SubElement(block, "property", name=name, value=str(value))
    inner = ET.tostring(block, encoding="utf-8", short_empty_elements=False)
    inner = inner[len(b"<properties>") : -len(b"</properties>")]
    temporary = path.with_name(f".{path.name}.e2e-{os.getpid()}")
    with open(path, "rb") as source:
        head = source.read(_HEAD_BYTES)
        found = _SUITE_TAG_RE.search(head)
        if found is None or found.group().endswith(b"/>"):
            return  # no suite with test cases: nothing to total
        cut = found.end()
        rest = head[cut:]
        if rest.startswith(b"<properties>") and b"</properties>" in rest:
            end = rest.index(b"</properties>")
            head = head[:cut] + rest[:end] + inner + rest[end:]
        else:
            empty = re.match(rb"<properties\s*/>", rest)
            skip = empty.end() if empty else 0
            head = head[:cut] + b"<properties>" + inner + b"</properties>" + rest[skip:]
        try:
            with open(temporary, "xb") as target:
                target.write(head)
                shutil.copyfileobj(source, target, 1 << 20)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)


def _failed_report(nodeid: str, text: str) -> pytest.TestReport:
    """A failing call report for an item that never reported itself."""
    return pytest.TestReport(
        nodeid, (nodeid.split("::", 1)[0], None, nodeid), {}, "failed", text, "call"
    )


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


@dataclass(eq=False)  # a plugin object must stay hashable
class AuditSummary:
    """Collects run outcomes from reports (on the xdist controller too) and prints them."""

    settings: AuditSettings
    stage: MultiRunStage
    forced_no_tb: bool = False
    """True when the plugin switched ``--tb`` to ``no`` and prints failures itself."""
    own_short_summary: bool = False
    """True when the user chose no ``-r``: pytest's one line per failing item (1,877 lines on
    a real tree) is replaced by the summary's list of the most serious ones."""
    tallies: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in RULE_KINDS})
    """Items, failures and findings per rule, by item kind (run, group, dataset, claim)."""
    reported_success: int = 0
    verified_success: int = 0
    below_gate: list[tuple[str, str]] = field(default_factory=list)
    """(node id, findings text) of passing items that still have findings."""
    runs_by_rule: dict[str, list[str]] = field(default_factory=dict)
    """Rule name -> run folders with a finding of it (for the JSON report)."""
    failing_runs: list[str] = field(default_factory=list)
    by_class: dict[str, list[str]] = field(default_factory=dict)
    """Failure class -> failed run and experiment folders."""
    other_items: list[jsonreport.Item] = field(default_factory=list)
    """The dataset, group and claim items as reported."""
    expected: list[str] | None = None
    """Audit items collected (after deselection): each must end with a report."""
    accounted: set[str] = field(default_factory=set)
    """Audit items whose outcome reached this process."""
    lost: list[str] = field(default_factory=list)
    """Audit items that never reported although the session ran to its end."""
    not_audited: list[str] = field(default_factory=list)
    """Audit items never run because the session was interrupted or stopped early."""
    exempt: ExemptionLedger = field(init=False)
    """What the waivers and the baseline did (stale waivers, fixed entries, the update)."""

    def __post_init__(self) -> None:
        self.exempt = ExemptionLedger(self.settings.exemptions)

    # -- accounting: every collected run ends with a report here, or the audit fails ---------

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.expected is None and not self._distributed(session.config):
            self.expected = [item.nodeid for item in session.items if _is_run(item.nodeid)]

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        # Every worker collects the same items; the first list is the plan.
        if self.expected is None:
            self.expected = [nodeid for nodeid in ids if _is_run(nodeid)]

    @staticmethod
    def _distributed(config: pytest.Config) -> bool:
        return bool(
            getattr(config.option, "numprocesses", None)
        ) and config.pluginmanager.has_plugin("dsession")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Before JUnit and HTML are written: report every audit item that never reported;
        then write the baseline (``--e2e-baseline-update``) from a complete audit only."""
        self._account(session, exitstatus)
        if not session.config.option.collectonly:
            names = {r.code: r.name for r in self.settings.catalogue}
            complete = not (self.not_audited or self.lost)
            self.exempt.write(complete, names, self.settings.fail_on)

    def _account(self, session: pytest.Session, exitstatus: int) -> None:
        option = session.config.option
        if self.expected is None or option.collectonly or getattr(option, "setuponly", False):
            return
        missing = [nodeid for nodeid in self.expected if nodeid not in self.accounted]
        if not missing:
            return
        stopped = exitstatus == pytest.ExitCode.INTERRUPTED or bool(
            session.shouldstop or session.shouldfail
        )
        hook = session.config.hook
        if stopped:
            self.not_audited = missing
            how = "interrupted" if exitstatus == pytest.ExitCode.INTERRUPTED else "stopped early"
            shown = ", ".join(clean(n, 200) for n in missing[:SHOWN_MISSING])
            more = (
                f" (+{len(missing) - SHOWN_MISSING:,} more)" if len(missing) > SHOWN_MISSING else ""
            )
            text = (
                f"audit incomplete: the session was {how} after {len(self.accounted):,} of "
                f"{len(self.expected):,} audit items; {plural(len(missing), 'item')} not "
                f"audited: {shown}{more}; every figure in these reports is partial"
            )
            hook.pytest_runtest_logreport(report=_failed_report(INCOMPLETE_NODEID, text))
        else:
            self.lost = missing
            for nodeid in missing:
                text = (
                    "run not accounted for: its outcome never reached the process writing the "
                    "reports (a crashed worker or an internal error); it is counted as failing"
                )
                hook.pytest_runtest_logreport(report=_failed_report(nodeid, text))
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if _is_run(report.nodeid) and (report.when == "call" or report.failed):
            self.accounted.add(report.nodeid)
        if report.when != "call":
            return
        kind = getattr(report, KIND_ATTR, None)
        if kind is None and report.nodeid.startswith(_PREFIX):
            kind = "run"  # a run that never reported itself (see pytest_sessionfinish)
        tally = self.tallies.get(str(kind))
        if tally is None:
            return
        props = dict(report.user_properties)
        exempt = getattr(report, EXEMPT_ATTR, None)
        if isinstance(exempt, dict):
            self.exempt.count(exempt)
        tally.count(report, props)
        self._record(str(kind), report, props)
        if report.passed:
            for title, content in report.sections:
                if title.startswith("Captured e2e findings"):
                    self.below_gate.append((report.nodeid, content))
        digest = getattr(report, REPORT_ATTR, None)
        if kind == "run" and isinstance(digest, dict) and digest.get("status") == "success":
            self.reported_success += 1
            self.verified_success += digest.get("verified") is not False

    def _record(self, kind: str, report: pytest.TestReport, props: dict[str, object]) -> None:
        """What the JSON report lists per item: runs by rule and class, the other items."""
        names = str(props.get("e2e.findings", "")).split()
        klass = props.get("e2e.failure_class")
        if kind == "run":
            run = str(props.get("e2e.run", report.nodeid))
            for name in names:
                self.runs_by_rule.setdefault(name, []).append(run)
            if report.failed:
                self.failing_runs.append(run)
            if klass:
                self.by_class.setdefault(str(klass), []).append(run)
            return
        if klass:
            self.by_class.setdefault(str(klass), []).append(str(props.get("e2e.group", "")))
        self.other_items.append(
            jsonreport.Item(
                nodeid=report.nodeid,
                kind=kind,
                outcome="failed" if report.failed else "passed",
                findings=names,
                failing=str(props.get("e2e.failing", "")).split(),
                waived=str(props.get("e2e.waived", "")).split(),
                baselined=str(props.get("e2e.baselined", "")).split(),
                properties={
                    k: v
                    for k, v in props.items()
                    if k.startswith("e2e.")
                    and k not in ("e2e.findings", "e2e.failing", "e2e.waived", "e2e.baselined")
                    and isinstance(v, (str, int, float, bool))
                },
            )
        )

    def totals(self) -> list[tuple[str, object]]:
        """Suite-level figures for JUnit (``e2e.*``), the summary's headline numbers."""
        report = self.json_report()
        props: list[tuple[str, object]] = [
            ("e2e.complete", "true" if report.completeness.complete else "false"),
            ("e2e.runs", report.runs.audited),
            ("e2e.failing_runs", report.runs.failing),
            ("e2e.reported_success", report.runs.reported_success),
            ("e2e.verified_success", report.runs.verified_success),
        ]
        props += [(f"e2e.failure_class.{k}", len(v)) for k, v in sorted(self.by_class.items())]
        if report.waivers is not None:
            props += [
                ("e2e.waived_findings", report.waivers.waived),
                ("e2e.waivers_stale", sum(w.stale for w in report.waivers.waivers)),
                (
                    "e2e.waivers_expired",
                    sum(w.expired and w.matched > 0 for w in report.waivers.waivers),
                ),
            ]
        if report.baseline is not None:
            props += [
                ("e2e.baselined_findings", report.baseline.baselined),
                ("e2e.baseline_fixed", len(report.baseline.fixed)),
            ]
        if self.stage.dataset is not None:
            props += [
                (name, value)
                for name, value in self.stage.dataset.figures().properties()
                if name not in ("e2e.runs",)
            ]
        return props

    def json_report(self) -> jsonreport.AuditReport:
        settings = self.settings
        rules = []
        for entry in settings.catalogue:
            tally = self.tallies[entry.kind]
            active = entry in settings.rules
            severity = settings.overrides.get(entry.name, entry.severity).label
            rules.append(
                jsonreport.RuleCount(
                    code=entry.code,
                    name=entry.name,
                    kind=entry.kind,
                    severity=severity if active else "off",
                    items=tally.with_finding[entry.name],
                    failing=tally.failing[entry.name],
                )
            )
        return jsonreport.AuditReport(
            settings=jsonreport.Settings(
                results=str(settings.results) if settings.results else None,
                claims=str(settings.claims_file) if settings.claims_file else None,
                fail_on=settings.fail_on.label,
                active_rules=[r.code for r in settings.rules],
            ),
            completeness=jsonreport.Completeness(
                complete=not (self.not_audited or self.lost),
                not_audited=len(self.not_audited),
                lost=list(self.lost),
            ),
            runs=jsonreport.Runs(
                audited=self.runs,
                failing=len(self.tallies["run"].failed),
                reported_success=self.reported_success,
                verified_success=self.verified_success,
            ),
            rules=rules,
            runs_by_rule=self.runs_by_rule,
            failing_runs=self.failing_runs,
            by_failure_class=self.by_class,
            items=self.other_items,
            waivers=self._json_waivers(),
            baseline=self._json_baseline(),
        )

    def _json_waivers(self) -> jsonreport.Waivers | None:
        exemptions = self.settings.exemptions
        if exemptions.waivers is None:
            return None
        today = exemptions.today
        return jsonreport.Waivers(
            file=str(exemptions.waivers.path),
            today=today.isoformat(),
            waived=self.exempt.waived,
            waivers=[
                jsonreport.Waiver(
                    line=w.line,
                    rule=w.rule.code,
                    name=w.rule.name,
                    selector=w.key,
                    patterns=list(w.patterns),
                    owner=w.owner,
                    reason=w.reason,
                    expires=w.expires.isoformat(),
                    expired=w.expired(today),
                    matched=self.exempt.used[w.index],
                    stale=not self.exempt.used[w.index],
                )
                for w in exemptions.waivers.waivers
            ],
        )

    def _json_baseline(self) -> jsonreport.Baseline | None:
        exemptions = self.settings.exemptions
        if exemptions.baseline_path is None:
            return None
        fixed, not_checked = self.exempt.fixed(r.code for r in self.settings.rules)
        return jsonreport.Baseline(
            file=str(exemptions.baseline_path),
            mode="update" if exemptions.update else "check",
            entries=len(exemptions.baseline.entries) if exemptions.baseline else 0,
            baselined=self.exempt.baselined,
            fixed=[
                jsonreport.Fingerprint(kind=fp.kind, subject=fp.subject, rule=fp.rule, file=fp.file)
                for fp in fixed
            ],
            not_checked=not_checked,
            written=self.exempt.written,
        )

    def _exemption_lines(self) -> list[tuple[str, bool]]:
        """What waivers and the baseline did, one line each, and whether it is a warning."""
        exemptions, ledger = self.settings.exemptions, self.exempt
        lines: list[tuple[str, bool]] = []
        partial = bool(self.not_audited or self.lost)
        if exemptions.waivers is not None:
            where = exemptions.waivers.path
            count = len(exemptions.waivers.waivers)
            active = [
                w
                for w in exemptions.waivers.waivers
                if ledger.used[w.index] and not w.expired(exemptions.today)
            ]
            lines.append(
                (
                    f"waivers: {plural(ledger.waived, 'finding')} waived by "
                    f"{len(active):,} of the {plural(count, 'waiver')} in {where}",
                    False,
                )
            )
            for w in ledger.expired_used():
                lines.append(
                    (
                        f"expired waiver {w.label(where)} {w.rule.code} {w.rule.name} by "
                        f"{w.owner} (expired {w.expires.isoformat()}): "
                        f"{plural(ledger.used[w.index], 'finding')} "
                        f"{'fails' if ledger.used[w.index] == 1 else 'fail'} again",
                        True,
                    )
                )
            for w in [] if partial else ledger.stale():
                state = "expired" if w.expired(exemptions.today) else "expires"
                lines.append(
                    (
                        f"stale waiver {w.label(where)}: {w.rule.code} {w.rule.name} "
                        f"{clean(w.selector, 200)} ({w.owner}, {state} "
                        f"{w.expires.isoformat()}) matched nothing in this audit; remove it",
                        True,
                    )
                )
        path = exemptions.baseline_path
        if exemptions.update and path is not None:
            if ledger.written is not None:
                lines.append(
                    (
                        f"baseline written to {path}: {plural(ledger.written, 'finding')} at "
                        f"{self.settings.fail_on.label} or above (waived findings are not "
                        "recorded); they do not fail this session",
                        False,
                    )
                )
            else:
                lines.append((f"baseline NOT written to {path}: {ledger.not_written}", True))
        elif exemptions.baseline is not None and path is not None:
            fixed, not_checked = ledger.fixed(r.code for r in self.settings.rules)
            lines.append(
                (
                    f"baseline: {plural(ledger.baselined, 'finding')} accepted by {path} "
                    f"({plural(len(exemptions.baseline.entries), 'entry', 'entries')})",
                    False,
                )
            )
            if fixed and not partial:
                shown = "; ".join(clean(fp.describe(), 300) for fp in fixed[:SHOWN_FIXED])
                more = f" (+{len(fixed) - SHOWN_FIXED:,} more)" if len(fixed) > SHOWN_FIXED else ""
                lines.append(
                    (
                        f"fixed since the baseline: {plural(len(fixed), 'finding')}: "
                        f"{shown}{more}; update the baseline to lock them in",
                        False,
                    )
                )
            if not_checked:
                lines.append(
                    (
                        f"{plural(not_checked, 'baseline entry', 'baseline entries')} not "
                        "checked: their item or rule was not part of this audit",
                        False,
                    )
                )
        return lines

    merged_parts: int = 0
    """Parts of a sharded audit whose digests this (``--e2e-merge``) session merged."""

    def absorb(self, merged: shards.Merged) -> None:
        """Count the runs of a sharded audit from their digests, as their reports would have
        been counted (the merge session reads no run and gets no run report)."""
        tally = self.tallies["run"]
        self.merged_parts = merged.parts
        for digest in sorted(merged.digests, key=lambda d: d.run_id):
            tally.items += 1
            tally.with_finding.update(digest.findings)
            tally.failing.update(digest.failing)
            for name in digest.findings:
                self.runs_by_rule.setdefault(name, []).append(digest.run_id)
            if digest.failing:
                self.failing_runs.append(digest.run_id)
            if digest.failure_class:
                tally.classes[digest.failure_class] += 1
                self.by_class.setdefault(digest.failure_class, []).append(digest.run_id)
            if digest.status == "success":
                self.reported_success += 1
                self.verified_success += digest.verified is not False

    @property
    def runs(self) -> int:
        return self.tallies["run"].items

    @property
    def failed(self) -> list[tuple[str, str, dict[str, Any] | None]]:
        """(node id, failure text) of failing items, runs first."""
        return [f for kind in RULE_KINDS for f in self.tallies[kind].failed]

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        tr = terminalreporter
        if self.own_short_summary:
            tr.reportchars = ""  # read by pytest's short summary, which runs after this hook
        if self.forced_no_tb:
            self._print_problems(tr)
        if self.below_gate:
            tr.write_sep("=", "e2e audit: findings below the gate (passing items)")
            for nodeid, text in self.below_gate:
                tr.write_sep("_", nodeid, yellow=True)
                tr.write_line(text)
        if not any(t.items for t in self.tallies.values()) and not self._completeness():
            return
        if github.active():
            for line in github.error_annotations(self.failed):
                tr.write_line(line)
            github.write_summary(self.markdown())
        if self.settings.markdown is not None:
            self.settings.markdown.write_text(self.markdown().rstrip() + "\n", encoding="utf-8")
        tr.write_sep("=", "e2e audit summary")
        for line in self._completeness():
            tr.write_line(line, red=True, bold=True)
        if self.settings.results is not None:
            self._runs_summary(tr)
        for kind in ("dataset", "group", "claim"):
            if self.tallies[kind].items:
                if kind == "claim":
                    self._claims_line(tr)
                self._rule_table(tr, kind)
        for text, warn in self._exemption_lines():
            tr.write_line(text, yellow=warn, bold=warn)
        if self.own_short_summary:
            self._most_serious(tr)
        if self.forced_no_tb:
            self._outputs(tr)

    def _most_serious(self, tr: pytest.TerminalReporter) -> None:
        """The failing items that matter most, one line each (pytest's per-item list is off)."""
        failed = sorted(self.failed, key=github.rank)
        if not failed:
            return
        tr.write_line(
            f"most serious failing items ({len(failed[:SHOWN_SERIOUS]):,} of {len(failed):,}):",
            bold=True,
        )
        for nodeid, text, note in failed[:SHOWN_SERIOUS]:
            headline = str((note or {}).get("headline") or text.split("\n", 1)[0])
            tr.write_line(f"  {clean(nodeid, 200)}: {clean(headline, 160)}")

    def _outputs(self, tr: pytest.TerminalReporter) -> None:
        """Where the full reports were written."""
        option = tr.config.option
        written = [
            ("JUnit", getattr(option, "xmlpath", None)),
            ("HTML", getattr(option, "htmlpath", None)),
            ("JSON", self.settings.json_report),
            ("Markdown", self.settings.markdown),
            ("re-run list", self.settings.rerun_list),
        ]
        shown = [f"{label} {path}" for label, path in written if path]
        if shown:
            tr.write_line("reports: " + "; ".join(shown))

    def _runs_summary(self, tr: pytest.TerminalReporter) -> None:
        where = f"audited under {self.settings.results}"
        if self.merged_parts:
            where = (
                f"merged from the digests of {plural(self.merged_parts, 'part')} of the audit "
                f"of {self.settings.results} (each part's runs failed in its own session)"
            )
        elif self.settings.shard is not None:
            k, n = self.settings.shard
            where += f" (part {k} of {n}; the dataset checks run in the --e2e-merge session)"
        tr.write_line(
            f"{plural(self.runs, 'run')} {where}; "
            f"items fail on findings at {self.settings.fail_on.label} or above"
        )
        self._rule_table(tr, "run")
        tr.write_line(
            f"reported success: {self.reported_success:,} of {self.runs:,} runs "
            f"({_pct(self.reported_success, self.runs)})"
        )
        success_rules = [r for r in self.settings.rules if r.success_check]
        if not success_rules:
            tr.write_line("verified success: not computed (every success rule is off)")
        else:
            tally = self.tallies["run"]
            broken = sorted(
                ((tally.with_finding[r.name], r.name) for r in success_rules),
                key=lambda pair: (-pair[0], pair[1]),
            )
            which = ", ".join(f"{name} on {count:,}" for count, name in broken if count)
            tr.write_line(
                f"verified success: {self.verified_success:,} of {self.runs:,} runs "
                f"({_pct(self.verified_success, self.runs)}); "
                f"{self.reported_success - self.verified_success:,} recorded successes break "
                f"a success rule{f' ({which})' if which else ''}",
                bold=True,
            )
        if self.stage.dataset is not None:
            for line in self.stage.dataset.figures().lines():
                tr.write_line(line)
        for line in self._class_lines():
            tr.write_line(line)

    def _rule_table(self, tr: pytest.TerminalReporter, kind: RuleKind) -> None:
        """Findings per rule of one kind: items with a finding, items failing on it."""
        rules = self.settings.catalogue_of(kind)
        if not rules:
            return
        tally = self.tallies[kind]
        head, noun = _TABLE_HEADS[kind]
        width = max(len(r.code) + 1 + len(r.name) for r in self.settings.catalogue)
        tr.write_line(f"{head:<{width}}  {'severity':<8}  {noun:>7}  {'failing':>7}")
        for entry in rules:
            label = f"{entry.code} {entry.name}"
            if entry not in self.settings.rules:
                tr.write_line(f"{label:<{width}}  {'off':<8}  {'-':>7}  {'-':>7}")
                continue
            severity = self.settings.overrides.get(entry.name, entry.severity).label
            count, failing = tally.with_finding[entry.name], tally.failing[entry.name]
            tr.write_line(
                f"{label:<{width}}  {severity:<8}  {count:>7,}  {failing:>7,}",
                red=failing > 0,
                yellow=failing == 0 and count > 0,
            )

    def _claims_line(self, tr: pytest.TerminalReporter) -> None:
        tally = self.tallies["claim"]
        failing = [nodeid.split("::", 1)[-1] for nodeid, _, _ in tally.failed]
        ids = f": {', '.join(failing)}" if failing else ""
        tr.write_line(
            f"{plural(tally.items, 'claim')} checked from {self.settings.claims_file}; "
            f"{tally.items - len(failing):,} hold, {len(failing):,} failing{ids}",
            red=bool(failing),
            bold=True,
        )

    def _class_lines(self) -> list[str]:
        """Failure classes of failed runs and experiments; each batch's claimed passes."""
        lines = []
        for kind, noun in (("run", "failed runs"), ("group", "failed experiments")):
            counts = self.tallies[kind].classes
            if counts:
                shown = ", ".join(f"{c} {counts[c]:,}" for c in FAILURE_CLASSES if counts[c])
                lines.append(f"failure classes of {noun}: {shown}")
        for batch, claimed, held in self.tallies["group"].passes:
            lines.append(
                f"batch {batch}: the batch summary claims {plural(claimed, 'pass', 'passes')}; "
                f"the run records hold {plural(held, 'pass', 'passes')}"
            )
        return lines

    def _completeness(self) -> list[str]:
        """What the figures do not cover: runs never audited (interrupted) or lost."""
        lines = []
        if self.not_audited:
            lines.append(
                f"PARTIAL AUDIT: the session ended early; {plural(len(self.not_audited), 'item')} "
                f"of {len(self.expected or ()):,} not audited; the figures below cover only "
                "what was audited"
            )
        if self.lost:
            lines.append(
                f"{plural(len(self.lost), 'run')} not accounted for (no outcome reached this "
                "process), counted as failing: "
                + ", ".join(clean(n, 200) for n in self.lost[:SHOWN_MISSING])
            )
        return lines

    def markdown(self) -> str:
        """The summary as Markdown, for the GitHub Actions job summary."""
        lines = ["## e2e audit", ""]
        lines += [f"> **{github.md_text(line)}**" for line in self._completeness()]
        lines += [
            f"{plural(self.runs, 'run')} audited; items fail on findings at "
            f"{self.settings.fail_on.label} or above.",
            "",
            f"- reported success: {self.reported_success:,} "
            f"({_pct(self.reported_success, self.runs)})",
            f"- verified success: **{self.verified_success:,}** "
            f"({_pct(self.verified_success, self.runs)})",
            f"- failing runs: {len(self.tallies['run'].failed):,}",
        ]
        if self.stage.dataset is not None:
            lines += [f"- {github.md_text(line)}" for line in self.stage.dataset.figures().lines()]
        lines += [f"- {github.md_text(line)}" for line in self._class_lines()]
        lines += [f"- {github.md_text(line, 2000)}" for line, _ in self._exemption_lines()]
        lines += ["", "| rule | severity | items | failing |", "|---|---|---:|---:|"]
        for entry in self.settings.rules:
            tally = self.tallies[entry.kind]
            severity = self.settings.overrides.get(entry.name, entry.severity).label
            lines.append(
                f"| {entry.code} `{entry.name}` | {severity} | "
                f"{tally.with_finding[entry.name]:,} | {tally.failing[entry.name]:,} |"
            )
        if self.failed:
            lines += ["", "<details><summary>Failing items</summary>", ""]
            for nodeid, text, _ in self.failed[:SHOWN_IN_SUMMARY]:
                first = text.split("\n", 1)[0]
                lines.append(f"- {github.md_code(nodeid)}: {github.md_code(first)}")
            if len(self.failed) > SHOWN_IN_SUMMARY:
                lines.append(f"- … and {len(self.failed) - SHOWN_IN_SUMMARY:,} more")
            lines += ["", "</details>"]
        return "\n".join(lines)

    def _print_problems(self, tr: pytest.TerminalReporter) -> None:
        """Failures and errors, printed linearly (pytest's own summary is skipped). Failing
        runs are printed up to ``--e2e-max-failures``; every other item always."""
        limit = self.settings.max_failures
        for category, title in (
            ("error", "e2e audit: errors"),
            ("failed", "e2e audit: failures"),
        ):
            reports = [r for r in tr.getreports(category) if getattr(r, "longrepr", None)]
            if not reports:
                continue
            tr.write_sep("=", title)
            runs = 0
            for rep in reports:
                if rep.nodeid.startswith(_PREFIX):
                    runs += 1
                    if limit and runs > limit:
                        continue
                tr.write_sep("_", rep.nodeid or "collection", red=True, bold=True)
                tr.write_line(str(rep.longrepr))
            if limit and runs > limit:
                tr.write_line(
                    f"… {runs - limit:,} more failing runs not printed (--e2e-max-failures="
                    f"{limit}; 0 prints all); every one is in the JUnit, HTML and JSON reports",
                    yellow=True,
                )
