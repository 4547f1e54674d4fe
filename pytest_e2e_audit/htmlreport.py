"""The audit in the pytest-html report, through pytest-html's documented hooks.

- ``pytest_html_results_table_header`` / ``_row``: audit columns (run, status, exit code,
  tokens, patch bytes, failure class, findings), sortable, from each call report's
  ``user_properties``. Finding names carry a class per rule, which the filter below uses.
- ``pytest_html_results_summary``: completeness, the run and dataset figures (the summary's
  own, as the terminal prints them), findings per rule with a "show only" choice per rule,
  and two inline SVG charts (run durations, outcomes per batch).
- ``pytest_html_results_table_html``: a failing item's findings, each once, and evidence
  excerpts read where the item ran (``EvidenceExcerpts``, on every process).

pytest-html 4 builds its rows in JavaScript from a JSON blob (``innerHTML``, so inserted
scripts never run); the rule filter is plain CSS instead: a radio button per rule in the
summary and a ``:has()`` rule that hides every row without that rule's class. It survives
pytest-html's re-rendering on sort and filter, and needs no script of ours.
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import pytest

from ._settings import AuditSettings
from ._text import clean
from .dataset import Figures
from .digest import REPORT_ATTR, RunDigest
from .excerpts import Excerpt, excerpt
from .items import RUNS_NODEID, AuditItem, RunItem
from .reporting import AuditSummary
from .stage import ANNOTATION_ATTR, KIND_ATTR
from .svgchart import Bar, Series, columns, rows

EXCERPTS_ATTR = "e2e_excerpts"
"""Attribute of an audit item's call report: its evidence excerpts (a list of dicts)."""
MAX_API_EXCERPTS = 2
"""API-error kinds shown with their first occurrence, per run."""
MAX_BATCHES = 30
"""Batches drawn in the outcomes chart (the largest); the rest are counted under it."""
BINS_PER_DECADE = 5
MAX_BINS = 40
MIN_SECONDS = 0.1
"""Shorter durations (0 s included) are drawn in the first bin of the histogram."""
COLUMNS = (
    ("e2eRun", "run"),
    ("e2eStatus", "status"),
    ("e2eExit", "exit code"),
    ("e2eTokens", "tokens"),
    ("e2ePatch", "patch bytes"),
    ("e2eClass", "failure class"),
    ("e2eFindings", "findings"),
)
"""(pytest-html column type, heading) of the audit columns, inserted after "Test"."""
SORTABLE = frozenset(col for col, _ in COLUMNS[1:])
"""Sortable audit columns: not the run (the Test column sorts the same), since pytest-html
keeps a copy of every sortable cell."""
INSERT_AT = 2
OUTCOMES = (
    Series("verified success", "#2e7d32"),
    Series("success breaking a success rule", "#f2a900"),
    Series("not a success", "#c62828"),
)
_SUBJECT = ("e2e.run", "e2e.group", "e2e.claim", "e2e.dataset")
"""The property naming what an audit item is about, by kind."""
_FINDINGS_SECTION = "Captured e2e findings"
_NO_LOG = "No log output captured."
_FINDING_RE = re.compile(r"(?P<code>\S+) (?P<name>[a-z0-9][a-z0-9_-]*)(?P<sev> \[[a-z]+\])?: ")


def html_active(config: pytest.Config) -> bool:
    """pytest-html is loaded and asked for a report (``--html``)."""
    return config.pluginmanager.hasplugin("html") and bool(getattr(config.option, "htmlpath", None))


# -- evidence excerpts: where the item ran ---------------------------------------------------


@dataclass(eq=False)  # a plugin object must stay hashable
class EvidenceExcerpts:
    """Reads each audit item's evidence excerpts right after it ran, in the process that ran
    it (an xdist worker too), and puts them on its call report."""

    settings: AuditSettings

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "call" and isinstance(item, AuditItem):
            found = evidence_excerpts(item, report, self.settings)
            if found:
                setattr(report, EXCERPTS_ATTR, [e.to_dict() for e in found])
        return report


def _roots(settings: AuditSettings) -> list[Path]:
    """Folders evidence may be read from: the results tree and the claims root."""
    roots = [settings.results] if settings.results is not None else []
    if settings.claims_file is not None:
        roots.append(settings.claims_root or settings.claims_file.parent)
    return roots


def _shown(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)


def evidence_excerpts(
    item: AuditItem, report: pytest.TestReport, settings: AuditSettings
) -> list[Excerpt]:
    """The lines around the item's most serious finding's evidence and, for a run, around the
    first occurrence of its API errors (at most ``MAX_API_EXCERPTS`` kinds)."""
    roots = _roots(settings)
    base = item.ref.path if isinstance(item, RunItem) else item.config.invocation_params.dir
    wanted: list[tuple[str, Path, int]] = []
    note = getattr(report, ANNOTATION_ATTR, None) or item.annotation
    if isinstance(note, dict) and note.get("path") and isinstance(note.get("line"), int):
        wanted.append((str(note.get("title", "")), Path(str(note["path"])), note["line"]))
    digest = getattr(report, REPORT_ATTR, None) or item.digest
    if isinstance(item, RunItem) and isinstance(digest, dict):
        hits = [e for e in digest.get("api_errors") or () if isinstance(e.get("line"), int)]
        hits.sort(key=lambda e: (e["line"], str(e["file"])))
        for hit in hits[:MAX_API_EXCERPTS]:
            label = f"first {hit['kind']} API error (×{hit['count']:,} in the run's logs)"
            wanted.append((label, item.ref.path / str(hit["file"]), hit["line"]))
    found: list[Excerpt] = []
    seen: set[tuple[Path, int]] = set()
    for label, path, line in wanted:
        if (path, line) in seen:
            continue
        seen.add((path, line))
        got = excerpt(label, path, line, _shown(path, base), roots)
        if got is not None:
            found.append(got)
    return found


# -- the report: on the process that writes it ------------------------------------------------


def _e(value: object, limit: int = 300) -> str:
    """Untrusted text as clean, escaped HTML."""
    return escape(clean(str(value), limit), quote=False)


def _key(value: int) -> str:
    """A hidden sort key: pytest-html sorts cells as strings, so a number is led by a letter
    that orders it by sign and length (``f416832``; negatives from ``A``, complemented)."""
    digits = str(abs(value))[:25]
    if value >= 0:
        key = chr(ord("a") + len(digits)) + digits
    else:
        key = "A" + chr(ord("Z") - len(digits)) + digits.translate(_COMPLEMENT)
    return f"<u hidden>{key}</u>"


_COMPLEMENT = str.maketrans("0123456789", "9876543210")


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(eq=False)  # a plugin object must stay hashable
class HtmlReport:
    """pytest-html hook implementations; registered only when pytest-html writes a report."""

    summary: AuditSummary
    index: dict[str, int] = field(init=False)
    """Rule name -> its position in the catalogue (the rule's filter class)."""
    codes: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        catalogue = self.summary.settings.catalogue
        self.index = {r.name: i for i, r in enumerate(catalogue)}
        self.codes = {r.name: r.code for r in catalogue}

    # -- the results table ----------------------------------------------------------------

    @pytest.hookimpl
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        heads = [
            f'<th class="sortable" data-column-type="{col}">{h}</th>'
            if col in SORTABLE
            else f"<th>{h}</th>"
            for col, h in COLUMNS
        ]
        cells[INSERT_AT:INSERT_AT] = heads

    @pytest.hookimpl
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        values = self.row(report)
        cells[INSERT_AT:INSERT_AT] = [
            f"<td class=col-{col}>{values.get(col, '')}</td>" for col, _ in COLUMNS
        ]

    def row(self, report: pytest.TestReport) -> dict[str, str]:
        """Column type -> cell HTML (escaped) of one report; empty for other tests."""
        kind = getattr(report, KIND_ATTR, None)
        nodeid = str(getattr(report, "nodeid", ""))
        if kind is None:
            lost = nodeid.startswith(RUNS_NODEID + "::")  # a run that never reported
            return {"e2eRun": _e(nodeid.split("::", 1)[1])} if lost else {}
        props = dict(getattr(report, "user_properties", None) or ())
        out: dict[str, str] = {}
        subject = next((props[k] for k in _SUBJECT if k in props), None)
        if subject is not None:
            out["e2eRun"] = _e(subject, 500)
        if "e2e.status" in props:
            status = _e(props["e2e.status"], 60) or "<small>(none)</small>"
            verified = props.get("e2e.verified_success")
            if verified == "true":
                status += " <small class=e2e-ok>verified</small>"
            elif verified == "false":
                status += " <small class=e2e-bad>not verified</small>"
            out["e2eStatus"] = status
        exit_code = _number(props.get("e2e.exit_code"))
        if exit_code is not None:
            out["e2eExit"] = _key(exit_code) + _e(exit_code, 40)
        recorded = _number(props.get("e2e.tokens_recorded"))
        observed = _number(props.get("e2e.tokens_observed"))
        if recorded is not None:
            out["e2eTokens"] = _key(recorded) + _e(f"{recorded:,}", 40)
        elif observed is not None:
            out["e2eTokens"] = (
                _key(observed) + _e(f"{observed:,}", 40) + " <small>(in logs)</small>"
            )
        patch = _number(props.get("e2e.patch_bytes"))
        if patch is not None:
            out["e2ePatch"] = _key(patch) + _e(f"{patch:,}", 40)
        if props.get("e2e.failure_class"):
            out["e2eClass"] = _e(props["e2e.failure_class"], 40)
        names = str(props.get("e2e.findings", "")).split()
        if names:
            failing = set(str(props.get("e2e.failing", "")).split())
            tags = []
            for name in names:
                tag = "b" if name in failing else "i"
                i = self.index.get(name)
                klass = f" class=e2e-r{i}" if i is not None else ""
                tags.append(f"<{tag}{klass}>{_e(name, 80)}</{tag}>")
            out["e2eFindings"] = _key(len(failing) * 1000 + len(names)) + " ".join(tags)
        return out

    # -- the row's expandable area ----------------------------------------------------------

    @pytest.hookimpl
    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        if getattr(report, KIND_ATTR, None) is None:
            return
        drop = {_NO_LOG}
        findings = ""
        sections = [(h, c) for h, c in report.sections if h.startswith(_FINDINGS_SECTION)]
        # A failing item's text lists every finding, those below the gate too, which its
        # report section repeats: the findings are shown once, from one of them.
        drop.update(f"{' ' + escape(h) + ' ':-^80}\n{escape(c)}" for h, c in sections)
        if report.failed and isinstance(report.longrepr, str):
            text = report.longrepr
            drop.add(escape(report.longreprtext) + "\n")
        else:  # passed, or an error whose traceback pytest-html shows as it is
            text = "\n".join(c for _, c in sections)
        if text:
            findings = self.findings_html(text)
        raw = getattr(report, EXCERPTS_ATTR, None)
        excerpts = [Excerpt.from_dict(e) for e in raw if isinstance(e, dict)] if raw else []
        block = findings + "".join(_excerpt_html(e) for e in excerpts)
        if not block:
            return
        kept = [entry for entry in data if entry not in drop]
        data[:] = [f"<div class=e2e-ev>{block}</div>", *kept]

    def findings_html(self, text: str) -> str:
        """One list item per finding (``CODE name[ [severity]]: message`` lines), each once."""
        items = []
        for line in dict.fromkeys(line for line in text.splitlines() if line.strip()):
            match = _FINDING_RE.match(line)
            if match and self.codes.get(match["name"]) == match["code"]:
                below = bool(match["sev"])
                head = f"{match['code']} {match['name']}"
                sev = _e(match["sev"] or "", 20)
                rest = _e(line[match.end() :], 4000)
                klass = "e2e-below" if below else "e2e-gate"
                items.append(f"<li class={klass}><b>{_e(head)}{sev}: </b>{rest}</li>")
            else:
                items.append(f"<li>{_e(line, 4000)}</li>")
        return f"<ul class=e2e-findings>{''.join(items)}</ul>" if items else ""

    # -- the summary ----------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        summary.append(self.summary_html())

    def summary_html(self) -> str:
        audit = self.summary
        report = audit.json_report()
        parts = [f"<section id=e2e-audit><style>{self.css(report.rules)}</style>"]
        parts.append("<h2>e2e audit</h2>")
        parts += self._completeness(report)
        runs = report.runs
        verified_known = any(r.success_check for r in audit.settings.rules)
        figures: Figures | None = None
        if audit.stage.dataset is not None:
            figures = audit.stage.dataset.figures()
            verified_known = verified_known and figures.verified_known
        lines = [
            ("runs audited", f"{runs.audited:,}"),
            ("failing runs", f"{runs.failing:,}"),
            ("reported success", _share(runs.reported_success, runs.audited)),
            (
                "verified success",
                _share(runs.verified_success, runs.audited) if verified_known else "not computed",
            ),
        ]
        classes = audit.tallies["run"].classes
        if classes:
            shown = ", ".join(f"{k} {v:,}" for k, v in sorted(classes.items()))
            lines.append(("failure classes of failed runs", shown))
        parts.append("<table class=e2e-figures>")
        parts += [f"<tr><th>{_e(k)}</th><td>{_e(v, 2000)}</td></tr>" for k, v in lines]
        parts.append("</table>")
        if figures is not None:
            parts.append("<ul class=e2e-dataset>")
            parts += [f"<li>{_e(line, 2000)}</li>" for line in figures.lines()]
            parts.append("</ul>")
        parts += self._rules_table(report.rules)
        if audit.stage.dataset is not None and figures is not None:
            parts.append("<div class=e2e-charts>")
            parts.append(duration_chart(audit.stage.dataset.runs))
            parts.append(batch_chart(figures))
            parts.append("</div>")
        parts.append("</section>")
        return "".join(parts)

    def _completeness(self, report: Any) -> list[str]:
        done = report.completeness
        if done.complete:
            return [
                f"<p class=e2e-complete>Complete: every one of the {report.runs.audited:,} "
                "collected runs was audited.</p>"
            ]
        out = []
        if done.not_audited:
            out.append(
                f"<p class=e2e-partial><b>PARTIAL AUDIT</b>: the session ended early; "
                f"{done.not_audited:,} items were not audited; every figure below covers "
                "only what was audited.</p>"
            )
        if done.lost:
            out.append(
                f"<p class=e2e-partial><b>{len(done.lost):,} runs lost</b>: their outcome "
                "never reached the process writing this report (counted as failing): "
                + _e(", ".join(done.lost[:5]), 1200)
                + "</p>"
            )
        return out

    def _rules_table(self, rules: Sequence[Any]) -> list[str]:
        out = [
            "<h3>Findings per rule</h3><p>Choose a rule to show only the rows with its "
            "finding.</p><table class=e2e-rules><tr><th>show</th><th>rule</th><th>checks a</th>"
            "<th>severity</th><th>items with a finding</th><th>failing on it</th></tr>",
            "<tr><td><input type=radio name=e2e-rule id=e2e-only-all checked></td>"
            "<td colspan=5><label for=e2e-only-all>every row</label></td></tr>",
        ]
        off = []
        for rule in rules:
            if rule.severity == "off":
                off.append(rule.code)
                continue
            i = self.index.get(rule.name)
            radio = (
                f"<input type=radio name=e2e-rule id=e2e-only-{i}>"
                if rule.items and i is not None
                else ""
            )
            name = f"{_e(rule.code)} {_e(rule.name)}"
            label = f"<label for=e2e-only-{i}>{name}</label>" if radio else name
            klass = " class=e2e-failing" if rule.failing else ""
            out.append(
                f"<tr{klass}><td>{radio}</td><td>{label}</td><td>{_e(rule.kind)}</td>"
                f"<td>{_e(rule.severity)}</td><td>{rule.items:,}</td><td>{rule.failing:,}</td>"
                "</tr>"
            )
        out.append("</table>")
        if off:
            out.append(f"<p>Rules off in this audit: {_e(', '.join(off), 2000)}.</p>")
        return out

    def css(self, rules: Sequence[Any]) -> str:
        """The report's own styles, and one filter rule per rule with findings."""
        hide = [
            f".summary:has(#e2e-only-{i}:checked)~#results-table>tbody.results-table-row"
            f":not(:has(>tr>td.col-e2eFindings>.e2e-r{i})){{display:none}}"
            for r in rules
            if r.items and (i := self.index.get(r.name)) is not None
        ]
        return _CSS + "".join(hide)


_CSS = (
    "#e2e-audit{color:#222}#e2e-audit table{margin:6px 0}"
    "#e2e-audit th,#e2e-audit td{padding:2px 8px;border:1px solid #e6e6e6;text-align:left}"
    ".e2e-partial{color:#b00020;font-size:14px}.e2e-failing td{color:#b00020}"
    ".e2e-charts svg{display:block;margin:8px 0}"
    "#results-table .col-e2eFindings b{color:#b00020;font-weight:normal}"
    "#results-table .col-e2eFindings i{color:#8a5a00;font-style:normal}"
    ".e2e-ok{color:#2e7d32}.e2e-bad{color:#b00020}"
    ".log .e2e-ev{font-family:Helvetica,Arial,sans-serif;white-space:normal}"
    ".e2e-findings{margin:0 0 6px;padding-left:18px}.e2e-gate b{color:#b00020}"
    ".e2e-below b{color:#8a5a00}"
    ".e2e-ex{margin:6px 0;padding-left:6px;border-left:3px solid #999}"
    ".e2e-ex-h{font-weight:bold;margin-bottom:2px}"
    ".e2e-x{font-family:'Courier New',Courier,monospace;white-space:pre-wrap}"
    ".e2e-x mark{background:#fff1b8}"
)


def _share(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,} runs ({100.0 * part / whole:.1f}%)" if whole else "n/a"


def _excerpt_html(found: Excerpt) -> str:
    """The lines as one preformatted block (few elements: pytest-html renders thousands of
    rows), the evidence line marked; each line starts with its number, never with text."""
    lines = "\n".join(
        f"<mark>{n:>7}  {_e(text, 1000)}</mark>" if n == found.line else f"{n:>7}  {_e(text, 1000)}"
        for n, text in found.lines
    )
    head = f"{_e(found.label, 200)}: {_e(found.file, 400)}:{found.line}"
    return f"<div class=e2e-ex><div class=e2e-ex-h>{head}</div><div class=e2e-x>{lines}</div></div>"


# -- charts -----------------------------------------------------------------------------------


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.3g} s"
    if value < 3600:
        return f"{value / 60:.3g} min"
    return f"{value / 3600:.3g} h"


def _outcome_counts(runs: Sequence[RunDigest]) -> tuple[int, int, int]:
    letters = [r.outcome() for r in runs]
    return letters.count("S"), letters.count("s"), letters.count("E")


def duration_chart(runs: Sequence[RunDigest]) -> str:
    """Histogram of run durations on a log scale, each bin split by outcome: a cluster of
    fast failures (a broken environment) stands out as a red peak on the left."""
    timed = [
        (max(float(r.duration_s), MIN_SECONDS), r)
        for r in runs
        if isinstance(r.duration_s, (int, float))
        and math.isfinite(r.duration_s)
        and r.duration_s >= 0
    ]
    untimed = len(runs) - len(timed)
    if not timed:
        return f"<p>No run recorded a usable duration ({untimed:,} runs), so no histogram.</p>"
    low = math.floor(math.log10(min(t for t, _ in timed)) * BINS_PER_DECADE) / BINS_PER_DECADE
    high = math.ceil(math.log10(max(t for t, _ in timed)) * BINS_PER_DECADE) / BINS_PER_DECADE
    count = max(round((high - low) * BINS_PER_DECADE), 1)
    width = (high - low) / count if high > low else 1 / BINS_PER_DECADE
    if count > MAX_BINS:
        count, width = MAX_BINS, (high - low) / MAX_BINS
    members: list[list[RunDigest]] = [[] for _ in range(count)]
    for seconds, run in timed:
        index = int((math.log10(seconds) - low) / width + 1e-9)
        members[min(max(index, 0), count - 1)].append(run)
    bars = []
    for i, chosen in enumerate(members):
        start, end = 10 ** (low + i * width), 10 ** (low + (i + 1) * width)
        edge = low + i * width
        label = f"{start:g} s" if abs(edge - round(edge)) < 1e-6 else ""
        bars.append(Bar(label, _outcome_counts(chosen), f"{_seconds(start)} to {_seconds(end)}"))
    axis = "run duration (log scale)"
    if untimed:
        axis += f"; {untimed:,} runs without a usable duration are not drawn"
    return columns(f"Run durations: {len(timed):,} runs", OUTCOMES, bars, axis=axis)


def batch_chart(figures: Figures) -> str:
    """Outcomes per batch (or experiment): the largest ``MAX_BATCHES``, in folder order."""
    batches = list(figures.batches)
    if not batches:
        return ""
    kind = figures.group_kind
    drawn = sorted(batches, key=lambda b: (-b.runs, b.batch))[:MAX_BATCHES]
    drawn.sort(key=lambda b: b.batch.split("/"))
    bars = [
        Bar(b.batch, (b.verified, b.reported - b.verified, b.runs - b.reported), b.batch)
        for b in drawn
    ]
    left = len(batches) - len(drawn)
    note = (
        f"{left:,} more {kind} folders not drawn: the {len(drawn):,} with the most runs are shown"
        if left
        else ""
    )
    return rows(f"Outcomes per {kind}: {len(batches):,}", OUTCOMES, bars, note=note)
