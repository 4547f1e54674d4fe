"""What ProjectScylla's summary files say about the runs of a subtest, tier, experiment or
batch (FORMATS.md §2.3-2.4), as ``SummaryClaim``s, batch entries and thread-log verdicts.

Nothing here judges: the group rules hold each statement against the run records. Every
file is optional; one that exists but cannot be read is a file issue, never an exception.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..records import (
    BatchEntry,
    FileIssue,
    GroupRecord,
    Measure,
    SummaryClaim,
    ThreadVerdict,
)
from ..scanning.files import FileProblem, check_file, iter_line_blocks, open_binary
from ..scanning.jsondoc import JsonDoc, load_json_file

BATCH_SUMMARY = "batch_summary.json"
_START_RE = re.compile(r"^\[[^\]]*\] Starting (\S+)", re.M)
_TIER_RE = re.compile(
    r"^\s*(T\d+): (PASS|FAIL)\b(?: \(score: ([0-9.]+), cost: \$([0-9.]+)\))?", re.M
)
_STAMPED_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-(.+)$")
_PHASES = ("", "in_progress/", "completed/")


@dataclass
class _Reader:
    root: Path
    issues: list[FileIssue] = field(default_factory=list)

    def json(self, rel: str) -> JsonDoc | None:
        path = self.root / rel if rel != "." else self.root
        try:
            return load_json_file(path, self.root)
        except FileProblem as exc:
            self.issues.append(FileIssue(file=rel, problem=exc.problem))
            return None

    def exists(self, rel: str) -> bool:
        try:
            return (self.root / rel).is_dir()
        except OSError:
            return False


def _join(key: str, name: str) -> str:
    return name if key == "." else f"{key}/{name}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def load_group(kind: str, key: str, root: Path) -> GroupRecord:
    reader = _Reader(root)
    claims: list[SummaryClaim] = []
    entries: list[BatchEntry] = []
    verdicts: list[ThreadVerdict] = []
    test_id = None
    if kind == "subtest":
        claims += _subtest(reader, key)
    elif kind == "tier":
        claims += _tier(reader, key)
    elif kind == "experiment":
        claims += _experiment(reader, key)
        test_id = experiment_test(key)
        batch = key.rsplit("/", 1)[0] if "/" in key else "."
        if key != "." and reader.json(_join(batch, BATCH_SUMMARY)) is not None:
            entries = [e for e in _entries(reader, batch) if e.test_id == test_id]
            verdicts = [v for v in _thread_verdicts(reader, batch) if v.test_id == test_id]
    elif kind == "batch":
        entries = _entries(reader, key)
        claims += _batch_claims(reader, key, entries)
    return GroupRecord(
        kind=kind,
        key=key,
        test_id=test_id,
        claims=tuple(claims),
        entries=tuple(entries),
        thread_verdicts=tuple(verdicts),
        file_issues=tuple(reader.issues),
    )


def experiment_test(key: str) -> str:
    """``test-001`` for ``2026-01-20T06-13-07-test-001``; the folder name otherwise."""
    name = key.rsplit("/", 1)[-1]
    match = _STAMPED_RE.match(name)
    return match.group(1) if match else name


def _subtest(reader: _Reader, key: str) -> Iterator[SummaryClaim]:
    rel = _join(key, "report.json")
    doc = reader.json(rel)
    if doc is None:
        return
    subject = f"subtest {key}"
    measures: tuple[tuple[str, Measure], ...] = (
        ("total_runs", "count"),
        ("passed", "passed_count"),
        ("total_cost", "cost"),
    )
    for field_name, measure in measures:
        value = doc.get("summary", field_name)
        if _number(value) is not None:
            yield SummaryClaim(
                file=rel,
                line=doc.line("summary", field_name),
                subject=subject,
                measure=measure,
                scope=key,
                claimed=value,
            )
    children = doc.get("children")
    for index, child in enumerate(children if isinstance(children, list) else []):
        number = child.get("run_number") if isinstance(child, dict) else None
        passed = child.get("passed") if isinstance(child, dict) else None
        if isinstance(number, int) and isinstance(passed, bool):
            yield SummaryClaim(
                file=rel,
                line=doc.line("children", index),
                subject=f"{key} run {number}",
                measure="status",
                scope=_join(key, f"run_{number:02d}"),
                claimed="passed" if passed else "failed",
            )


def _tier(reader: _Reader, key: str) -> Iterator[SummaryClaim]:
    rel = _join(key, "report.json")
    doc = reader.json(rel)
    if doc is not None and _number(doc.get("summary", "total_cost")) is not None:
        yield SummaryClaim(
            file=rel,
            line=doc.line("summary", "total_cost"),
            subject=f"tier {key}",
            measure="cost",
            scope=key,
            claimed=doc.get("summary", "total_cost"),
        )
    rel = _join(key, "result.json")
    doc = reader.json(rel)
    results = doc.get("subtest_results") if doc is not None else None
    if doc is None or not isinstance(results, dict):
        return
    for subtest, result in results.items():
        runs = result.get("runs") if isinstance(result, dict) else None
        for index, run in enumerate(runs if isinstance(runs, list) else []):
            if not isinstance(run, dict):
                continue
            number, passed = run.get("run_number"), run.get("judge_passed")
            if isinstance(number, int) and isinstance(passed, bool):
                yield SummaryClaim(
                    file=rel,
                    line=doc.line("subtest_results", subtest, "runs", index),
                    subject=f"{key}/{subtest} run {number}",
                    measure="status",
                    scope=_join(key, f"{subtest}/run_{number:02d}"),
                    claimed="passed" if passed else "failed",
                )


def _experiment(reader: _Reader, key: str) -> Iterator[SummaryClaim]:
    rel = _join(key, "result.json")
    doc = reader.json(rel)
    if doc is not None and _number(doc.get("total_cost")) is not None:
        yield SummaryClaim(
            file=rel,
            line=doc.line("total_cost"),
            subject=f"experiment {key}",
            measure="cost",
            scope=key,
            claimed=doc.get("total_cost"),
        )
    rel = _join(key, "checkpoint.json")
    doc = reader.json(rel)
    completed = doc.get("completed_runs") if doc is not None else None
    if doc is None or not isinstance(completed, dict):
        return
    count = 0
    for tier, subtests in sorted(completed.items()):
        for subtest, runs in sorted((subtests or {}).items()) if isinstance(subtests, dict) else ():
            for number, status in sorted((runs or {}).items()) if isinstance(runs, dict) else ():
                if not str(number).isdigit():
                    continue
                count += 1
                folder = f"{tier}/{subtest}/run_{int(number):02d}"
                scope = next(
                    (
                        _join(key, phase + folder)
                        for phase in _PHASES
                        if reader.exists(_join(key, phase + folder))
                    ),
                    _join(key, folder),
                )
                yield SummaryClaim(
                    file=rel,
                    line=doc.line("completed_runs", tier, subtest, number),
                    subject=f"{tier}/{subtest} run {int(number)}",
                    measure="completed",
                    scope=scope,
                    claimed=str(status),
                )
    if count == 0:
        yield SummaryClaim(
            file=rel,
            line=doc.line("completed_runs"),
            subject=f"experiment {key}",
            measure="count",
            scope=key,
            claimed=0,
        )


def _entries(reader: _Reader, key: str) -> list[BatchEntry]:
    rel = _join(key, BATCH_SUMMARY)
    doc = reader.json(rel)
    results = doc.get("results") if doc is not None else None
    if doc is None or not isinstance(results, list):
        return []
    out = []
    for index, entry in enumerate(results):
        if not isinstance(entry, dict) or not isinstance(entry.get("test_id"), str):
            continue
        code = entry.get("exit_code")
        out.append(
            BatchEntry(
                file=rel,
                line=doc.line("results", index),
                index=index,
                test_id=entry["test_id"],
                status=entry.get("status") if isinstance(entry.get("status"), str) else None,
                exit_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
                error=entry.get("error") if isinstance(entry.get("error"), str) else None,
                total_cost=_number(entry.get("total_cost")),
                best_score=_number(entry.get("best_score")),
                result_dir=entry.get("result_dir")
                if isinstance(entry.get("result_dir"), str)
                else None,
            )
        )
    return out


def _batch_claims(reader: _Reader, key: str, entries: list[BatchEntry]) -> Iterator[SummaryClaim]:
    """The last entry of each test: the pass the batch summary claims for it."""
    last: dict[str, BatchEntry] = {}
    for entry in entries:
        last[entry.test_id] = entry
    for test, entry in sorted(last.items()):
        folder = _experiment_folder(reader, key, entry) or _join(key, test)
        yield SummaryClaim(
            file=entry.file,
            line=entry.line,
            subject=test,
            measure="test_pass",
            scope=folder,
            claimed=entry.status,
        )
        if entry.total_cost is not None:
            yield SummaryClaim(
                file=entry.file,
                line=entry.line,
                subject=test,
                measure="cost",
                scope=folder,
                claimed=entry.total_cost,
            )


def _experiment_folder(reader: _Reader, key: str, entry: BatchEntry) -> str | None:
    """The experiment an entry reports on: its ``result_dir``, else the newest folder of
    the batch whose name ends in the test id."""
    if entry.result_dir:
        name = entry.result_dir.rstrip("/").rsplit("/", 1)[-1]
        if reader.exists(_join(key, name)):
            return _join(key, name)
    base = reader.root if key == "." else reader.root / key
    try:
        names = sorted(
            p.name
            for p in base.iterdir()
            if p.is_dir() and experiment_test(p.name) == entry.test_id
        )
    except OSError:
        return None
    return _join(key, names[-1]) if names else None


def _thread_verdicts(reader: _Reader, key: str) -> list[ThreadVerdict]:
    """Tier verdicts each session printed, from ``thread_logs/*.log`` (streamed)."""
    folder = reader.root / key / "thread_logs" if key != "." else reader.root / "thread_logs"
    try:
        logs = sorted(p for p in folder.iterdir() if p.suffix == ".log")
    except OSError:
        return []
    out: list[ThreadVerdict] = []
    for log in logs:
        rel = _join(key, f"thread_logs/{log.name}")
        sessions: dict[str, int] = {}
        current: str | None = None
        try:
            st = check_file(log, reader.root)
            if st is None:
                continue
            with open_binary(log, st) as fh:
                for block, first in iter_line_blocks(fh):
                    for number, line in enumerate(block.splitlines(), first):
                        start = _START_RE.match(line)
                        if start:
                            current = start.group(1)
                            sessions[current] = sessions.get(current, 0) + 1
                            continue
                        verdict = _TIER_RE.match(line)
                        if verdict and current is not None:
                            out.append(
                                ThreadVerdict(
                                    file=rel,
                                    line=number,
                                    test_id=current,
                                    session=sessions[current],
                                    tier=verdict.group(1),
                                    verdict=verdict.group(2),
                                    score=_float(verdict.group(3)),
                                    cost=_float(verdict.group(4)),
                                )
                            )
        except FileProblem as exc:
            reader.issues.append(FileIssue(file=rel, problem=exc.problem))
    return out


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
