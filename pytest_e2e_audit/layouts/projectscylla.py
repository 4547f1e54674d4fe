"""The ProjectScylla E2E layout: a run is ``T<tier>/<subtest>/run_NN`` (FORMATS.md §2).

An experiment folder holds tiers ``T0``..``T6`` (in the current code inside ``in_progress/`` or
``completed/``), each tier its subtests, each subtest its runs. The results root may be a
batch folder of experiments, one experiment, or anything above. A run's record is
``run_result.json``; the agent's outcome is ``agent/result.json`` (exit code, tokens, cost,
and the Claude CLI's JSON envelope in ``stdout``); the judges' verdicts are each
``judge/judge_NN/judgment.json`` and the consensus in ``judge/result.json``.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..findings import Location
from ..records import (
    FieldIssue,
    FileIssue,
    GroupRecord,
    JudgeVerdict,
    LogFacts,
    RunRecord,
    TokenUsage,
)
from ..scanning.files import FileProblem, check_file
from ..scanning.jsondoc import JsonDoc, load_json_file
from ..scanning.logs import LogScan, scan_log
from . import Layout, LoadOptions, RunRef, Tree
from .agent_output import AgentOutput, claude_envelope, signatures
from .scylla_groups import BATCH_SUMMARY, load_group
from .values import exit_code_problem, seconds_problem

RECORD = "run_result.json"
PASSED, FAILED = "passed", "failed"
_RUN_RE = re.compile(r"^run_(\d+)$")
_TIER_RE = re.compile(r"^T\d+$")
_PHASES = ("in_progress", "completed")
_STAMP_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})-(.+)$")
_JUDGE_RE = re.compile(r"^judge_(\d+)$")


@dataclass(frozen=True)
class RunPath:
    """Where a run sits: experiment, tier and subtest folders (relative to the root)."""

    experiment: str
    tier: str
    subtest: str
    run: int

    @classmethod
    def parse(cls, run_id: str) -> RunPath | None:
        parts = run_id.split("/")
        if len(parts) < 3:
            return None
        match = _RUN_RE.match(parts[-1])
        if match is None or not _TIER_RE.match(parts[-3]):
            return None
        above = parts[:-3]
        if above and above[-1] in _PHASES:
            above = above[:-1]
        experiment = "/".join(above) or "."
        tier = "/".join(parts[:-2])
        subtest = "/".join(parts[:-1])
        return cls(experiment, tier, subtest, int(match.group(1)))

    @property
    def task(self) -> str:
        """``test-001/T0/00/run_01``: one run slot of a test. Its attempts are the sessions
        that ran it (a resumed or repeated batch); the runs of a subtest are planned repeats,
        each its own task, not retries of one."""
        tier, subtest = self.tier.rsplit("/", 1)[-1], self.subtest.rsplit("/", 1)[-1]
        slot = f"{tier}/{subtest}/run_{self.run:02d}"
        return slot if self.test_id == "." else f"{self.test_id}/{slot}"

    @property
    def test_id(self) -> str:
        """The experiment's test (``test-001`` of ``2026-01-20T06-13-07-test-001``): runs of the
        same test, tier and subtest in several sessions are attempts of one task."""
        name = self.experiment.rsplit("/", 1)[-1]
        match = _STAMP_RE.match(name)
        return match.group(2) if match else self.experiment


class ProjectScyllaLayout(Layout):
    name = "projectscylla"
    description = "ProjectScylla E2E: one run_NN folder per run under T<tier>/<subtest>/"

    def discover(self, tree: Tree) -> Iterator[RunRef]:
        for folder in tree.folders:
            if RunPath.parse(folder.rel) is not None:
                yield RunRef(folder.rel, folder.path, RECORD)

    def shard_key(self, ref: RunRef) -> str:
        # The folder above the experiment: a batch of experiments, whose summary is held
        # against all of them, stays in one part (and so does each experiment).
        where = RunPath.parse(ref.run_id)
        if where is None or where.experiment == ".":
            return "."
        return where.experiment.rsplit("/", 1)[0] if "/" in where.experiment else "."

    def load(self, ref: RunRef, root: Path, options: LoadOptions) -> RunRecord:
        return _Loader(ref, root).load()

    def load_group(self, kind: str, key: str, root: Path) -> GroupRecord | None:
        return load_group(kind, key, root)


@dataclass
class _Loader:
    ref: RunRef
    root: Path
    issues: list[FileIssue] = field(default_factory=list)
    field_issues: list[FieldIssue] = field(default_factory=list)
    locations: dict[str, Location] = field(default_factory=dict)
    log_facts: list[LogFacts] = field(default_factory=list)

    def json(self, name: str, *, record: bool = False) -> JsonDoc | None:
        """A JSON file of the run, or None (missing; unusable ones are noted)."""
        try:
            doc = load_json_file(self.ref.path / name, self.root, check_duplicates=record)
        except FileProblem as exc:
            self.issues.append(FileIssue(file=name, problem=exc.problem, is_record=record))
            return None
        if doc is None and record:
            self.issues.append(FileIssue(file=name, problem="is missing", is_record=True))
        return doc

    def load(self) -> RunRecord:
        where = RunPath.parse(self.ref.run_id)
        assert where is not None  # discover() yields only such folders
        fields: dict[str, Any] = {
            "run_id": self.ref.run_id,
            "layout": ProjectScyllaLayout.name,
            "record_file": RECORD,
            "item_id": f"run_{where.run:02d}",
            "task_key": where.task,
            "identity": f"{where.experiment} {where.subtest} run {where.run}",
            "groups": (
                *_batch(self.root, where.experiment),
                ("experiment", where.experiment),
                ("tier", where.tier),
                ("subtest", where.subtest),
            ),
            "known_statuses": (PASSED, FAILED),
            "judges_expected": _judges_expected(self.root / where.experiment, self.root),
        }
        fields.update(_started(self.root / where.experiment, self.root))
        agent = self.json("agent/result.json")
        fields["agent_ran"] = agent is not None
        stdout, stderr, logs = self._logs()
        envelope = None
        if agent is not None and isinstance(agent.get("stdout"), str):
            lines = [line for line in str(agent.get("stdout")).splitlines() if line.strip()]
            envelope = claude_envelope(lines[-1] if lines else None, None)
        output = AgentOutput(stdout, stderr, None, {"stdout": "agent/stdout.log"}, envelope)
        fields["tokens_observed"] = tuple(output.observed_tokens())
        # The envelope's is_error: false only says the CLI session ended cleanly; the judges
        # decide the result. Only an error envelope is the agent's own verdict.
        verdict = output.verdict()
        fields["agent_verdict"] = verdict if verdict is not None and not verdict.success else None
        fields["steps"] = output.steps()
        fields["api_errors"], fields["api_retries"] = signatures(logs)
        fields["logs"] = tuple(self.log_facts)
        fields["agent_error"] = _agent_error(agent)
        fields["judges"] = tuple(self._judgments())
        record = self.json(RECORD, record=True)
        consensus: list[JudgeVerdict] = []
        if record is not None and not isinstance(record.value, dict):
            self.issues.append(
                FileIssue(file=RECORD, problem="holds JSON that is not an object", is_record=True)
            )
            record = None
        if record is not None:
            fields.update(self._record(record, fields["agent_error"]))
            consensus.append(
                _verdict(
                    {
                        "score": record.get("judge_score"),
                        "passed": record.get("judge_passed"),
                        "grade": record.get("judge_grade"),
                        **(
                            {"criteria_scores": record.get("criteria_scores")}
                            if "criteria_scores" in record.value
                            else {}
                        ),
                    },
                    RECORD,
                    "judge_score",
                    None,
                    record.line("judge_score"),
                ).model_copy(update={"criteria_line": record.line("criteria_scores")})
            )
            fields["field_issues"] = tuple(_duplicate_issues(record) + self.field_issues)
        else:
            fields["readable"] = False
            if agent is not None:
                fields.update(self._agent_facts(agent))
        judged = self.json("judge/result.json")
        if judged is not None:
            consensus.append(_verdict(judged.value, "judge/result.json", "", None, 1))
        fields["consensus"] = tuple(consensus)
        fields["file_issues"] = tuple(self.issues)
        fields["locations"] = self.locations
        return RunRecord(**fields)

    # -- run_result.json -------------------------------------------------------------------

    def _record(self, record: JsonDoc, agent_error: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        passed = record.get("judge_passed")
        self.locations["status"] = Location(
            file=RECORD, line=record.line("judge_passed"), key="judge_passed"
        )
        if isinstance(passed, bool):
            out["status_recorded"] = PASSED if passed else FAILED
            out["status"] = "success" if passed else "error"
        elif passed is not None:
            out["status_recorded"] = json.dumps(passed)[:60]
            out["status"] = "unknown"
        code = record.get("exit_code")
        self.locations["exit_code"] = Location(
            file=RECORD, line=record.line("exit_code"), key="exit_code"
        )
        if code is not None:
            problem = exit_code_problem(code)
            if problem is None:
                out["exit_code"] = code
            else:
                self._issue("exit_code", problem)
        for key in ("agent_duration_seconds", "duration_seconds"):
            duration = record.get(key)
            if duration is not None:
                self.locations["duration_s"] = Location(file=RECORD, line=record.line(key), key=key)
                problem = seconds_problem(duration)
                if problem is None:
                    out["duration_s"] = float(duration)
                else:
                    self._issue("duration_s", problem)
                break
        cost = record.get("cost_usd")
        if isinstance(cost, (int, float)) and not isinstance(cost, bool) and math.isfinite(cost):
            out["cost_usd"] = float(cost)
            self.locations["cost_usd"] = Location(
                file=RECORD, line=record.line("cost_usd"), key="cost_usd"
            )
        out["tokens_recorded"] = _token_stats(
            record.get("token_stats"), RECORD, record.line("token_stats")
        )
        if out.get("status") == "error":
            out["error_message"] = _first_text(agent_error, record.get("judge_reasoning"))
            self.locations["error_message"] = Location(
                file=RECORD, line=record.line("judge_reasoning"), key="judge_reasoning"
            )
        return out

    def _agent_facts(self, agent: JsonDoc) -> dict[str, Any]:
        """What ``agent/result.json`` says when the run's record is missing."""
        out: dict[str, Any] = {}
        code = agent.get("exit_code")
        if isinstance(code, int) and exit_code_problem(code) is None:
            out["exit_code"] = code
        out["tokens_recorded"] = _token_stats(agent.get("token_stats"), "agent/result.json", None)
        cost = agent.get("cost_usd")
        if isinstance(cost, (int, float)) and not isinstance(cost, bool) and math.isfinite(cost):
            out["cost_usd"] = float(cost)
        return out

    def _issue(self, name: str, problem: str) -> None:
        self.field_issues.append(
            FieldIssue(field=name, problem=problem, location=self.locations.get(name))
        )

    # -- logs and judges -------------------------------------------------------------------

    def _logs(self) -> tuple[LogScan | None, LogScan | None, list[tuple[str, LogScan]]]:
        scans: dict[str, LogScan] = {}
        found: list[tuple[str, LogScan]] = []
        for role in ("stdout", "stderr"):
            name = f"agent/{role}.log"
            try:
                st = check_file(self.ref.path / name, self.root)
                if st is None:
                    continue
                scan = scan_log(self.ref.path / name, st.st_size, expected=st)
            except FileProblem as exc:
                self.issues.append(FileIssue(file=name, problem=exc.problem))
                continue
            scans[role] = scan
            found.append((name, scan))
            self.log_facts.append(
                LogFacts(
                    file=name,
                    role="stdout" if role == "stdout" else "stderr",
                    bytes=st.st_size,
                    lines=scan.lines,
                    blank=not scan.nonblank,
                )
            )
        return scans.get("stdout"), scans.get("stderr"), found

    def _judgments(self) -> Iterator[JudgeVerdict]:
        folder = self.ref.path / "judge"
        try:
            names = sorted(
                entry.name
                for entry in os.scandir(folder)
                if _JUDGE_RE.match(entry.name) and entry.is_dir(follow_symlinks=False)
            )
        except OSError:
            return
        for name in names:
            number = int(_JUDGE_RE.match(name).group(1))  # type: ignore[union-attr]
            rel = f"judge/{name}/judgment.json"
            doc = self.json(rel)
            if doc is None:
                missing = not any(i.file == rel for i in self.issues)
                yield JudgeVerdict(
                    file=rel,
                    judge=number,
                    score_problem="is missing" if missing else "cannot be read",
                )
                continue
            yield _verdict(doc.value, rel, "", number, 1)


def _verdict(value: Any, file: str, key: str, judge: int | None, line: int | None) -> JudgeVerdict:
    """A judge's (or the consensus's) output, checked field by field."""
    if not isinstance(value, dict):
        return JudgeVerdict(
            file=file, key=key, judge=judge, score_problem="is not a JSON object", line=line
        )
    is_error = value.get("is_error") is True
    raw = value.get("score")
    score: float | None = None
    problem: str | None = None
    if raw is None:
        problem = "has no score" if "score" not in value else "has a null score"
    elif isinstance(raw, bool) or not isinstance(raw, (int, float)):
        problem = f"has a score that is not a number ({json.dumps(raw)[:40]})"
    elif not math.isfinite(raw) or not 0.0 <= raw <= 1.0:
        problem = f"has a score outside [0, 1] ({raw!r})"
    else:
        score = float(raw)
    criteria = value.get("criteria_scores")
    if "criteria_scores" not in value:
        kind = "missing"
    elif criteria is None:
        kind = "null"
    elif isinstance(criteria, dict):
        kind = "mapping" if criteria else "empty"
    elif criteria == []:
        kind = "empty"
    else:
        kind = "other"
    passed = value.get("passed")
    grade = value.get("grade")
    valid = value.get("is_valid")
    error = value.get("result") if is_error else None
    if is_error and not isinstance(error, str):
        error = value.get("error") if isinstance(value.get("error"), str) else None
    model = value.get("model")
    return JudgeVerdict(
        file=file,
        key=key,
        judge=judge,
        model=model if isinstance(model, str) else None,
        score=score,
        score_problem=problem,
        passed=passed if isinstance(passed, bool) else None,
        grade=grade if isinstance(grade, str) else None,
        is_valid=valid if isinstance(valid, bool) else None,
        criteria=kind,
        criteria_count=len(criteria) if isinstance(criteria, dict) else 0,
        is_error=is_error,
        error=error,
        line=line,
    )


def _token_stats(raw: Any, file: str, line: int | None) -> TokenUsage | None:
    """``token_stats``: input, output, cache creation and cache reads, all ints."""
    if not isinstance(raw, dict):
        return None
    parts = {
        k: raw.get(k)
        for k in ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
    }
    ints = {k: v for k, v in parts.items() if isinstance(v, int) and not isinstance(v, bool)}
    if not ints:
        return None
    tin = sum(v for k, v in ints.items() if k != "output_tokens")
    tout = ints.get("output_tokens", 0)
    return TokenUsage(
        input=tin,
        output=tout,
        total=tin + tout,
        source="run_result" if file == RECORD else "agent_result",
        detail="cache reads and writes counted as input",
        location=Location(file=file, line=line, key="token_stats"),
    )


def _agent_error(agent: JsonDoc | None) -> str | None:
    """The agent's error: an ``is_error`` envelope's text, else the last line of its stderr
    when it exited non-zero."""
    if agent is None:
        return None
    stdout = agent.get("stdout")
    if isinstance(stdout, str):
        for line in reversed(stdout.splitlines()):
            try:
                value = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(value, dict) and value.get("is_error") is True:
                text = value.get("result") or value.get("error")
                return str(text) if text else "is_error: true (no message)"
    code = agent.get("exit_code")
    stderr = agent.get("stderr")
    if isinstance(stderr, str) and code not in (0, None):
        lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("+ ")]
        if lines:
            return lines[-1]
    return None


def _first_text(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value
    return None


def _duplicate_issues(doc: JsonDoc) -> list[FieldIssue]:
    out = []
    for path in doc.duplicate_keys:
        dotted = ".".join(str(step) for step in path)
        out.append(
            FieldIssue(
                field=str(path[0]),
                problem=f"key {json.dumps(dotted)} is written more than once in one object; "
                "JSON readers keep the last value or the first, so they disagree",
                location=Location(file=RECORD, line=doc.line(*path), key=dotted),
            )
        )
    return out


@functools.lru_cache(maxsize=256)
def _batch_folder(root: Path, parent: str) -> bool:
    try:
        folder = root / parent if parent != "." else root
        return check_file(folder / BATCH_SUMMARY, root) is not None
    except FileProblem:
        return True  # present but unusable: still a batch, whose summary is a finding


def _batch(root: Path, experiment: str) -> tuple[tuple[str, str], ...]:
    """``(("batch", folder),)`` when the experiment's folder holds a batch summary."""
    if experiment == ".":
        return ()
    parent = experiment.rsplit("/", 1)[0] if "/" in experiment else "."
    return (("batch", parent),) if _batch_folder(root, parent) else ()


@functools.lru_cache(maxsize=256)
def _judges_expected(experiment: Path, root: Path) -> int | None:
    """Judges the experiment configured (``config/experiment.json`` or ``result.json``)."""
    for name, path in (("config/experiment.json", ()), ("result.json", ("config",))):
        try:
            doc = load_json_file(experiment / name, root)
        except FileProblem:
            continue
        models = doc.get(*path, "judge_models") if doc is not None else None
        if isinstance(models, list) and models:
            return len(models)
    return None


@functools.lru_cache(maxsize=256)
def _started_cached(experiment: Path, root: Path) -> tuple[datetime | None, str | None]:
    name = experiment.name
    match = _STAMP_RE.match(name)
    if match:
        try:
            return datetime.strptime(match.group(1), "%Y-%m-%dT%H-%M-%S"), f"folder {name}"
        except ValueError:
            pass
    try:
        doc = load_json_file(experiment / "checkpoint.json", root)
        started = doc.get("started_at") if doc is not None else None
        if isinstance(started, str):
            when = datetime.fromisoformat(started)
            return when.replace(tzinfo=None), "checkpoint.json started_at"
    except (FileProblem, ValueError):
        pass
    return None, None


def _started(experiment: Path, root: Path) -> dict[str, Any]:
    when, source = _started_cached(experiment, root)
    return {"started_at": when, "started_source": source} if when else {}
