"""The baseline ratchet (``--e2e-baseline=FILE``) and the gate's verdict on one item.

A baseline lists the findings a tree had when it was written, by fingerprint: the rule's
code, the item's kind and subject (run id, group folder, claim id, ``dataset``) and the file
its first evidence names (relative to the run folder; to the results root for groups and the
dataset; to the claims file's folder for claims). Never the message or a line number: those
move when a reader or a log changes, the fingerprint does not. With a baseline, a finding
whose fingerprint is in it is *baselined* and does not fail; one that is not fails as usual.

``Exemptions.judge`` is what ``AuditItem.runtest`` asks before it applies the gate: waivers
first (an active waiver waives, an expired one fails and says whose it was), the baseline
second.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ._text import MAX_MESSAGE, clean
from .findings import Finding, Severity
from .rules import RULE_KINDS, RuleKind
from .waivers import Waiver, WaiverSet

BASELINE_VERSION = 1
"""``version`` of the baseline file this code reads and writes."""
MAX_BASELINE_BYTES = 256 << 20
"""Largest baseline read (a 10,000-run tree with every rule firing is far below)."""
_ENTRY_KEYS = ("kind", "subject", "rule", "name", "file")
"""Keys of one baseline entry, in the order they are written (``name`` is for readers)."""


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a finding across audits."""

    kind: RuleKind
    subject: str
    rule: str
    """The rule's code."""
    file: str | None
    """The first evidence file, or None when the finding names none."""

    def sort_key(self) -> tuple[int, list[str], str, str]:
        return (RULE_KINDS.index(self.kind), self.subject.split("/"), self.rule, self.file or "")

    def to_list(self) -> list[str | None]:
        """A plain list, to cross process boundaries on a report."""
        return [self.kind, self.subject, self.rule, self.file]

    @classmethod
    def from_list(cls, data: Sequence[Any]) -> Fingerprint:
        kind, subject, rule, file = data
        return cls(kind, str(subject), str(rule), None if file is None else str(file))

    def describe(self) -> str:
        """``E2E008 run a/b (journal.json)``, for the summary."""
        where = f" ({self.file})" if self.file else ""
        return f"{self.rule} {self.kind} {self.subject}{where}"


@dataclass(frozen=True)
class Baseline:
    """The findings a baseline file accepts."""

    path: Path
    entries: frozenset[Fingerprint]


def load_baseline(path: Path, where: str) -> Baseline:
    """Read and validate a baseline file, or raise ``pytest.UsageError`` naming it."""

    def refuse(problem: str) -> pytest.UsageError:
        return pytest.UsageError(
            f"{where}: {path}: {problem}; write it again with --e2e-baseline-update"
        )

    if not path.is_file():
        state = "is not a file" if path.exists() else "does not exist"
        raise pytest.UsageError(f"{where}: {path} {state}; create it with --e2e-baseline-update")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BASELINE_BYTES + 1)
    except OSError as exc:
        raise pytest.UsageError(f"{where}: {path} could not be read: {exc.strerror}") from None
    if len(data) > MAX_BASELINE_BYTES:
        raise refuse(f"larger than {MAX_BASELINE_BYTES:,} bytes")
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise refuse(f"not valid UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise refuse(f"line {exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise refuse("expected a JSON object with 'version' and 'findings'")
    unknown = sorted(set(doc) - {"version", "tool", "fail_on", "findings"})
    if unknown:
        raise refuse(f"unknown key {clean(unknown[0], 60)!r}")
    if doc.get("version") != BASELINE_VERSION:
        raise refuse(
            f"version is {clean(repr(doc.get('version')), 60)}; this plugin reads version "
            f"{BASELINE_VERSION}"
        )
    entries = doc.get("findings")
    if not isinstance(entries, list):
        raise refuse("'findings' is missing or not a list")
    found: set[Fingerprint] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise refuse(f"findings[{index}] is not an object")
        extra = sorted(set(entry) - set(_ENTRY_KEYS))
        missing = [k for k in ("kind", "subject", "rule", "file") if k not in entry]
        if extra or missing:
            what = f"unknown key {extra[0]!r}" if extra else f"'{missing[0]}' is missing"
            raise refuse(f"findings[{index}]: {clean(what, 80)}")
        kind, file = entry["kind"], entry["file"]
        if kind not in RULE_KINDS:
            raise refuse(f"findings[{index}].kind: expected one of {', '.join(RULE_KINDS)}")
        texts = (entry["subject"], entry["rule"], entry.get("name", ""))
        if not all(isinstance(v, str) for v in texts) or not (
            file is None or isinstance(file, str)
        ):
            raise refuse(f"findings[{index}]: subject, rule, name and file must be text")
        found.add(Fingerprint(kind, entry["subject"], entry["rule"], file))
    return Baseline(path, frozenset(found))


def write_baseline(
    path: Path, entries: Iterable[Fingerprint], names: dict[str, str], fail_on: Severity
) -> int:
    """Write the baseline: sorted, one finding per line, so a review diff shows what changed.
    Replaces the file in one step (a crash never leaves half a baseline). Returns the count."""
    ordered = sorted(set(entries), key=Fingerprint.sort_key)
    lines = []
    for fp in ordered:
        values = (fp.kind, fp.subject, fp.rule, names.get(fp.rule, ""), fp.file)
        pairs = ", ".join(
            f"{json.dumps(k)}: {json.dumps(v)}" for k, v in zip(_ENTRY_KEYS, values, strict=True)
        )
        lines.append(f"  {{{pairs}}}")
    body = ",\n".join(lines)
    text = (
        "{\n"
        f' "version": {BASELINE_VERSION},\n'
        ' "tool": "pytest-e2e-audit",\n'
        f' "fail_on": {json.dumps(fail_on.label)},\n'
        f' "findings": [{chr(10) + body + chr(10) + " " if lines else ""}]\n'
        "}\n"
    )
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return len(ordered)


@dataclass
class Verdict:
    """One item's findings as the gate sees them."""

    failing: list[Finding] = field(default_factory=list)
    """At or above the gate, neither waived nor baselined: these fail the item."""
    below: list[str] = field(default_factory=list)
    """One line per finding below the gate."""
    accepted: list[str] = field(default_factory=list)
    """One line per finding a waiver accepted (any severity) or the baseline did."""
    waived: list[Finding] = field(default_factory=list)
    baselined: list[Finding] = field(default_factory=list)
    used: Counter[int] = field(default_factory=Counter)
    """Waiver index -> findings of the item it matched (active or expired)."""
    seen: set[Fingerprint] = field(default_factory=set)
    """Fingerprints of the findings at or above the gate, waived or not."""
    record: set[Fingerprint] = field(default_factory=set)
    """What ``--e2e-baseline-update`` writes: those no waiver covers."""


@dataclass(frozen=True)
class Exemptions:
    """Waivers and baseline in force: what may keep a finding at the gate from failing."""

    waivers: WaiverSet | None = None
    baseline: Baseline | None = None
    update: bool = False
    """``--e2e-baseline-update``: this session's findings become the baseline (and are
    baselined now); the old file is not read."""
    baseline_path: Path | None = None
    """The baseline file (read, or written with ``update``)."""
    today: date = field(default_factory=date.today)
    """The date waivers expire against."""
    claims_dir: Path | None = None
    """The claims file's folder: claim evidence is fingerprinted relative to it."""

    @property
    def active(self) -> bool:
        return self.waivers is not None or self.baseline is not None or self.update

    def transport(self, verdict: Verdict, kind: RuleKind, subject: str) -> dict[str, Any]:
        """What the process writing the reports needs from one item (plain values, so it
        travels on the call report under xdist): the subject, the waivers used, and the
        fingerprints seen (with a baseline) or to write (when updating)."""
        return {
            "subject": [kind, subject],
            "used": sorted(verdict.used.items()),
            "seen": _plain(verdict.seen) if self.baseline else [],
            "record": _plain(verdict.record) if self.update else [],
            "waived": len(verdict.waived),
            "baselined": len(verdict.baselined),
        }

    def fingerprint(
        self, kind: RuleKind, subject: str, finding: Finding, here: Path
    ) -> Fingerprint:
        file = finding.evidence[0].file if finding.evidence else None
        if file is not None and kind == "claim" and self.claims_dir is not None:
            # Claim evidence is shown relative to where pytest runs; the baseline must not
            # depend on that.
            full = Path(os.path.normpath(here / file))
            if full.is_relative_to(self.claims_dir):
                file = full.relative_to(self.claims_dir).as_posix()
        return Fingerprint(kind, subject, finding.code, file)

    def judge(
        self,
        findings: Sequence[Finding],
        kind: RuleKind,
        subject: str,
        fail_on: Severity,
        here: Path,
    ) -> Verdict:
        """Split ``findings`` of the item ``subject`` of ``kind``: what fails, what not and why."""
        verdict = Verdict()
        for finding in findings:
            waivers = self.waivers.matching(kind, subject, finding) if self.waivers else []
            verdict.used.update(w.index for w in waivers)
            live = [w for w in waivers if not w.expired(self.today)]
            fingerprint = None
            if finding.severity >= fail_on:
                fingerprint = self.fingerprint(kind, subject, finding, here)
                verdict.seen.add(fingerprint)
            if live:
                verdict.waived.append(finding)
                verdict.accepted.append(_note(finding, _waived(live[0], self.waivers)))
            elif fingerprint is None:
                verdict.below.append(_note(finding, finding.severity.label))
            elif waivers:
                verdict.failing.append(_expired(finding, waivers[0], self.waivers))
            elif self.update or (
                self.baseline is not None and fingerprint in self.baseline.entries
            ):
                verdict.record.add(fingerprint)
                verdict.baselined.append(finding)
                verdict.accepted.append(_note(finding, f"{finding.severity.label}, baselined"))
            else:
                verdict.failing.append(finding)
        return verdict


def _plain(fingerprints: set[Fingerprint]) -> list[list[str | None]]:
    return [fp.to_list() for fp in sorted(fingerprints, key=Fingerprint.sort_key)]


def _note(finding: Finding, tag: str) -> str:
    return f"{finding.code} {finding.rule} [{tag}]: {finding.message}"


def _waived(waiver: Waiver, waivers: WaiverSet | None) -> str:
    where = f" ({waiver.label(waivers.path)})" if waivers else ""
    return (
        f"waived by {waiver.owner} until {waiver.expires.isoformat()}{where}: "
        f"{clean(waiver.reason, 200)}"
    )


def _expired(finding: Finding, waiver: Waiver, waivers: WaiverSet | None) -> Finding:
    where = f" ({waiver.label(waivers.path)})" if waivers else ""
    note = f"; waiver by {waiver.owner} expired {waiver.expires.isoformat()}{where}"
    message = clean(finding.message, MAX_MESSAGE - len(note)) + note
    return finding.model_copy(update={"message": message})


@dataclass
class ExemptionLedger:
    """What the waivers and the baseline did in the session, from the items' reports; kept by
    the process that writes the reports, which computes stale waivers and fixed entries."""

    exemptions: Exemptions
    used: Counter[int] = field(default_factory=Counter)
    """Waiver index -> findings it matched in the session."""
    waived: int = 0
    baselined: int = 0
    audited: set[tuple[str, str]] = field(default_factory=set)
    """(kind, subject) of every item that reported."""
    seen: set[Fingerprint] = field(default_factory=set)
    record: set[Fingerprint] = field(default_factory=set)
    written: int | None = None
    """Entries written by ``--e2e-baseline-update``; None when nothing was written."""
    not_written: str | None = None
    """Why ``--e2e-baseline-update`` wrote nothing."""

    def count(self, data: dict[str, Any]) -> None:
        kind, subject = data["subject"]
        self.audited.add((str(kind), str(subject)))
        for index, times in data["used"]:
            self.used[int(index)] += int(times)
        self.waived += int(data["waived"])
        self.baselined += int(data["baselined"])
        self.seen.update(Fingerprint.from_list(x) for x in data["seen"])
        self.record.update(Fingerprint.from_list(x) for x in data["record"])

    def expired_used(self) -> list[Waiver]:
        """Expired waivers that matched findings (those findings failed)."""
        waivers = self.exemptions.waivers
        today = self.exemptions.today
        return (
            [w for w in waivers.waivers if self.used[w.index] and w.expired(today)]
            if waivers
            else []
        )

    def stale(self) -> list[Waiver]:
        """Waivers that matched no finding of the session."""
        waivers = self.exemptions.waivers
        return [w for w in waivers.waivers if not self.used[w.index]] if waivers else []

    def fixed(self, active_codes: Iterable[str]) -> tuple[list[Fingerprint], int]:
        """Baseline entries whose item and rule were audited and whose finding was not seen
        (sorted), and how many entries were not checked (item or rule not in this session)."""
        baseline = self.exemptions.baseline
        if baseline is None:
            return [], 0
        codes = set(active_codes)
        checked = [
            fp
            for fp in baseline.entries
            if fp.rule in codes and (fp.kind, fp.subject) in self.audited
        ]
        fixed = sorted((fp for fp in checked if fp not in self.seen), key=Fingerprint.sort_key)
        return fixed, len(baseline.entries) - len(checked)

    def write(self, complete: bool, names: dict[str, str], fail_on: Severity) -> None:
        """``--e2e-baseline-update``: write the session's findings, unless the audit is partial
        (a baseline of part of the tree would read as everything else fixed)."""
        path = self.exemptions.baseline_path
        if not self.exemptions.update or path is None:
            return
        if not complete:
            self.not_written = "the audit is incomplete (interrupted, stopped or a run lost)"
            return
        self.written = write_baseline(path, self.record, names, fail_on)
