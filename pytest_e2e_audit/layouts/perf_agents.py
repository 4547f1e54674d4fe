"""The perf-agents-bench / ISO-Bench layout: a run is a folder holding ``journal.json``.

See FORMATS.md §1. Found at any depth: the flat legacy layout, the nested
``<repo>/<agent>/<model>/<timestamp>/<item>/`` one, parked runs and export folders.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from ..findings import Location
from ..records import (
    FieldIssue,
    FileIssue,
    LogFacts,
    PatchFacts,
    RunRecord,
    ScopeFacts,
    Status,
    TokenUsage,
)
from ..scanning.files import (
    MAX_LINE,
    FileProblem,
    check_file,
    iter_line_blocks,
    open_binary,
    read_bytes,
)
from ..scanning.jsondoc import JsonDoc, load_json
from ..scanning.logs import LogScan, scan_log
from ..scanning.trajectory import TrajectoryScan, scan_trajectory
from . import Layout, LoadOptions, RunRef, Tree
from .agent_output import AgentOutput, claude_envelope, signatures
from .values import exit_code_problem, seconds_problem

JOURNAL = "journal.json"
AGENT_KEYS = ("trae", "claude_code", "codex_cli", "codex", "openhands")
"""Journal keys naming the agent block, in the order they are looked for."""
KNOWN_STATUSES = ("success", "error")
# Log-file prefixes to try per agent: codex_cli and old trae runs write openhands_*.txt.
_LOG_PREFIXES = {
    "trae": ("trae", "openhands"),
    "claude_code": ("claude_code",),
    "codex": ("codex",),
    "codex_cli": ("openhands",),
    "openhands": ("openhands",),
}
_ANY_PREFIXES = ("trae", "claude_code", "codex", "openhands")
_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}$")
_TOKEN_KEYS = ("token_usage", "tokens", "usage")
_DIFF_HEADER_RE = re.compile(r"^diff --git (?:a/\S+ b/(\S+))?", re.M)
_COMMIT_RE = re.compile(r"[0-9a-f]{7,40}")
_MAX_EPOCH = 1e11
"""Seconds since 1970 beyond which a timestamp is not one (year 5138)."""


class PerfAgentsLayout(Layout):
    name = "perf-agents-bench"
    description = "perf-agents-bench / ISO-Bench: one folder per run holding journal.json"

    def discover(self, tree: Tree) -> Iterator[RunRef]:
        for folder in tree.folders:
            if JOURNAL in folder.files or JOURNAL in folder.names:
                yield RunRef(folder.rel, folder.path, JOURNAL)

    def load(self, ref: RunRef, root: Path, options: LoadOptions) -> RunRecord:
        return _Loader(ref, root, options).load()


@dataclass
class _Loader:
    ref: RunRef
    root: Path
    options: LoadOptions
    issues: list[FileIssue] = field(default_factory=list)
    field_issues: list[FieldIssue] = field(default_factory=list)
    locations: dict[str, Location] = field(default_factory=dict)
    log_names: dict[str, str] = field(default_factory=dict)
    folder: Path = field(init=False)
    """The run folder (``ref.path`` makes a new ``Path`` each time)."""

    def __post_init__(self) -> None:
        self.folder = self.ref.path

    # -- files ---------------------------------------------------------------------------

    def stat(self, name: str) -> os.stat_result | None:
        """A run file's stat, None when absent or unusable (the latter noted as an issue).

        Every read passes it on, so a file swapped after this check is refused."""
        try:
            return check_file(self.folder / name, self.root)
        except FileProblem as exc:
            self.issues.append(FileIssue(file=name, problem=exc.problem))
            return None

    def json(self, name: str) -> JsonDoc | None:
        st = self.stat(name)
        if st is None:
            return None
        try:
            return load_json(self.folder / name, expected=st)
        except FileProblem as exc:
            self.issues.append(FileIssue(file=name, problem=exc.problem))
            return None

    # -- the record ----------------------------------------------------------------------

    def load(self) -> RunRecord:
        base: dict[str, Any] = {
            "run_id": self.ref.run_id,
            "layout": PerfAgentsLayout.name,
            "record_file": JOURNAL,
            "item_id": self.folder.name,
            "known_statuses": KNOWN_STATUSES,
            "groups": (
                ("batch", self.ref.run_id.rsplit("/", 1)[0] if "/" in self.ref.run_id else "."),
            ),
        }
        base.update(self._path_facts())
        journal = self._journal()
        if journal is None:
            base.update(self._folder_date())
            return RunRecord(readable=False, file_issues=tuple(self.issues), **base)
        value: dict[str, Any] = journal.value
        agent_key = next((k for k in AGENT_KEYS if isinstance(value.get(k), dict)), None)
        raw_meta = value.get("run_metadata")
        meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        agent = agent_key or _str(meta.get("agent")) or base.get("agent")
        fields: dict[str, Any] = dict(base)
        task_key = _commit_key(journal.get("commits", "human"))
        fields.update(
            task_key=task_key,
            identity=_identity(
                task_key,
                self.folder.name,
                meta,
                agent_key or _str(meta.get("agent")) or base.get("agent"),
                _str(meta.get("model")) or base.get("model"),
            ),
            task_id=_str(value.get("task_id")),
            repo=_str(meta.get("repo")) or base.get("repo"),
            agent=agent,
            model=_str(meta.get("model")) or base.get("model"),
        )
        fields.update(self._status(journal))
        fields.update(self._agent_block(journal, agent_key))
        fields.update(self._error(journal))
        logs, stdout, stderr = self._logs(agent)
        trajectory = self._trajectory()
        fields.update(self._dates(journal, meta, trajectory, fields.get("duration_s")))
        fields["tokens_recorded"] = _recorded_tokens(journal, agent_key)
        claude = None
        if agent == "claude_code" and stdout is not None:
            claude = claude_envelope(stdout.last_line, stdout.last_line_no)
        output = AgentOutput(stdout, stderr, trajectory, dict(self.log_names), claude)
        fields["tokens_observed"] = tuple(output.observed_tokens())
        fields["agent_verdict"] = output.verdict()
        fields["steps"] = output.steps()
        fields["llm_calls"] = trajectory.llm_calls if trajectory else None
        fields["has_trajectory"] = trajectory is not None
        fields["api_errors"], fields["api_retries"] = signatures(
            [(f.file, scan) for f, scan in logs]
        )
        fields["logs"] = tuple(f for f, _ in logs)
        fields["patch"] = self._patch(journal)
        fields["scope"] = self._scope(journal)
        known = {"task_id", "commits", "agent_branch", "status", "run_metadata", "experiment"}
        known |= {"preflight", "metrics", "timestamps", "error", "error_type", *AGENT_KEYS}
        fields["extra"] = {k: v for k, v in value.items() if k not in known}
        fields["locations"] = self.locations
        fields["file_issues"] = tuple(self.issues)
        fields["field_issues"] = tuple(self._duplicates(journal)) + tuple(self.field_issues)
        return RunRecord(**fields)

    def _path_facts(self) -> dict[str, Any]:
        """repo/agent/model/timestamp from ``<repo>/<agent>/<model>/<timestamp>/<item>``."""
        parts = self.ref.run_id.split("/")
        if len(parts) >= 5 and _TIMESTAMP_RE.match(parts[-2]):
            return {"repo": parts[-5], "agent": parts[-4], "model": parts[-3]}
        return {}

    def _folder_date(self) -> dict[str, Any]:
        """The start of the batch, from a ``YYYY-MM-DD_HH-MM-SS`` folder above the run."""
        for part in reversed(self.ref.run_id.split("/")[:-1]):
            if _TIMESTAMP_RE.match(part):
                try:
                    started = datetime.strptime(part, "%Y-%m-%d_%H-%M-%S")
                except ValueError:
                    continue
                return {"started_at": started, "started_source": f"timestamp folder {part}"}
        return {}

    def _journal(self) -> JsonDoc | None:
        st = self.stat(JOURNAL)
        if st is None:
            if not any(i.file == JOURNAL for i in self.issues):
                self.issues.append(FileIssue(file=JOURNAL, problem="is missing"))
            self._mark_record_issue()
            return None
        try:
            doc = load_json(self.folder / JOURNAL, check_duplicates=True, expected=st)
        except FileProblem as exc:
            self.issues.append(FileIssue(file=JOURNAL, problem=exc.problem, is_record=True))
            return None
        if not isinstance(doc.value, dict):
            kind = type(doc.value).__name__
            kind = {"list": "a JSON array", "str": "a JSON string", "NoneType": "JSON null"}.get(
                kind, f"a JSON {kind}"
            )
            self.issues.append(
                FileIssue(file=JOURNAL, problem=f"holds {kind}, not an object", is_record=True)
            )
            return None
        return doc

    def _duplicates(self, journal: JsonDoc) -> Iterator[FieldIssue]:
        """Keys written twice in one object: readers disagree on which value counts."""
        for path in journal.duplicate_keys:
            dotted = ".".join(str(step) for step in path)
            kept = journal.get(*path)
            shown = json.dumps(kept, ensure_ascii=False)[:60] if _plain(kept) else "a container"
            yield FieldIssue(
                field=str(path[0]) if path else dotted,
                problem=f"key {json.dumps(dotted)} is written more than once in one object; "
                f"JSON readers keep the last value ({shown}) or the first, so they disagree",
                location=Location(file=JOURNAL, line=journal.line(*path), key=dotted),
            )

    def _mark_record_issue(self) -> None:
        self.issues[:] = [
            i.model_copy(update={"is_record": True}) if i.file == JOURNAL else i
            for i in self.issues
        ]

    def _at(self, field_name: str, doc: JsonDoc, *path: str) -> None:
        self.locations[field_name] = Location(
            file=JOURNAL, line=doc.line(*path), key=".".join(path)
        )

    def _status(self, journal: JsonDoc) -> dict[str, Any]:
        raw = journal.get("status")
        self._at("status", journal, "status")
        if raw is None:
            return {"status_recorded": None, "status": "unknown"}
        text = raw if isinstance(raw, str) else json.dumps(raw)
        status: Status = text if text in KNOWN_STATUSES else "unknown"  # type: ignore[assignment]
        return {"status_recorded": text, "status": status}

    def _agent_block(self, journal: JsonDoc, key: str | None) -> dict[str, Any]:
        if key is None:
            return {}
        out: dict[str, Any] = {}
        code = journal.get(key, "returncode")
        if code is not None:
            self._at("exit_code", journal, key, "returncode")
            problem = exit_code_problem(code)
            if problem is None:
                out["exit_code"] = code
            else:
                self._field_issue("exit_code", problem)
        duration = journal.get(key, "duration_s")
        if duration is not None:
            self._at("duration_s", journal, key, "duration_s")
            problem = seconds_problem(duration)
            if problem is None:
                out["duration_s"] = float(duration)
            else:
                self._field_issue("duration_s", problem)
        return out

    def _field_issue(self, name: str, problem: str) -> None:
        self.field_issues.append(
            FieldIssue(field=name, problem=problem, location=self.locations.get(name))
        )

    def _error(self, journal: JsonDoc) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, key in (("error_message", "error"), ("error_type", "error_type")):
            raw = journal.get(key)
            if raw is not None:
                out[name] = raw if isinstance(raw, str) else json.dumps(raw)
            if key in journal.value:
                self._at(name, journal, key)
        return out

    def _dates(
        self,
        journal: JsonDoc,
        meta: dict[str, Any],
        trajectory: TrajectoryScan | None,
        duration: float | None,
    ) -> dict[str, Any]:
        stamp = _str(meta.get("run_timestamp"))
        if stamp and _TIMESTAMP_RE.match(stamp):
            line = journal.line("run_metadata", "run_timestamp")
            try:
                return {
                    "started_at": datetime.strptime(stamp, "%Y-%m-%d_%H-%M-%S"),
                    "started_source": f"run_metadata.run_timestamp ({JOURNAL}:{line})",
                }
            except ValueError:
                pass
        folder = self._folder_date()
        if folder:
            return folder
        if trajectory and trajectory.start_time:
            try:
                started = datetime.fromisoformat(trajectory.start_time)
            except ValueError:
                started = None
            if started is not None:
                return {"started_at": started, "started_source": "trajectory.json start_time"}
        written = journal.get("timestamps", "written")
        if seconds_problem(written, limit=_MAX_EPOCH) is None:
            try:
                end = float(written) - (duration or 0.0)
                started = datetime.fromtimestamp(end, tz=timezone.utc).replace(tzinfo=None)
            except (OverflowError, OSError, ValueError):
                return {}
            return {
                "started_at": started,
                "started_source": "timestamps.written minus the agent duration (UTC)",
            }
        return {}

    # -- logs and trajectory -------------------------------------------------------------

    def _logs(
        self, agent: str | None
    ) -> tuple[list[tuple[LogFacts, LogScan]], LogScan | None, LogScan | None]:
        prefixes = _LOG_PREFIXES.get(agent or "", _ANY_PREFIXES)
        scanned: list[tuple[LogFacts, LogScan]] = []
        found: dict[str, LogScan] = {}
        for prefix in prefixes:
            roles: tuple[Literal["stdout", "stderr"], ...] = ("stdout", "stderr")
            for role in roles:
                if role in found:
                    continue
                name = f"{prefix}_{role}.txt"
                st = self.stat(name)
                if st is None:
                    continue
                size = st.st_size
                try:
                    scan = scan_log(
                        self.folder / name,
                        size,
                        keep_last_line=(prefix == "claude_code"),
                        expected=st,
                    )
                except FileProblem as exc:
                    self.issues.append(FileIssue(file=name, problem=exc.problem))
                    continue
                found[role] = scan
                self.log_names[role] = name
                if scan.long_lines:
                    self.issues.append(_long_lines_issue(name, scan))
                facts = LogFacts(
                    file=name,
                    role=role,
                    bytes=size,
                    lines=scan.lines,
                    blank=not scan.nonblank,
                )
                scanned.append((facts, scan))
            if found:
                break
        return scanned, found.get("stdout"), found.get("stderr")

    def _trajectory(self) -> TrajectoryScan | None:
        st = self.stat("trajectory.json")
        if st is None:
            return None
        try:
            return scan_trajectory(self.folder / "trajectory.json", st.st_size, expected=st)
        except FileProblem as exc:
            self.issues.append(FileIssue(file="trajectory.json", problem=exc.problem))
            return None

    # -- patch and scope -----------------------------------------------------------------

    def _patch(self, journal: JsonDoc) -> PatchFacts:
        name = "model_patch.diff"
        st = self.stat(name)
        facts: dict[str, Any] = {"file": name, "exists": st is not None}
        if st is not None:
            facts["bytes"] = st.st_size
            try:
                content = _patch_content(self.folder / name, st, self.options.scope_ignore)
                facts.update(content)
            except FileProblem as exc:
                self.issues.append(FileIssue(file=name, problem=exc.problem))
        loc = journal.get("metrics", "patch_size_loc")
        if isinstance(loc, int) and not isinstance(loc, bool):
            facts["metrics_loc"] = loc
            facts["metrics_location"] = Location(
                file=JOURNAL,
                line=journal.line("metrics", "patch_size_loc"),
                key="metrics.patch_size_loc",
            )
        prediction = self._prediction()
        if prediction is not None:
            facts["prediction_bytes"], facts["prediction_location"] = prediction
        return PatchFacts(**facts)

    def _prediction(self) -> tuple[int, Location] | None:
        name = "prediction.jsonl"
        st = self.stat(name)
        if st is None:
            return None
        try:
            with open_binary(self.folder / name, st) as fh:
                for block, _ in iter_line_blocks(fh):
                    first = block.split("\n", 1)[0]
                    # Plain json: only line 1 is ever cited, so no line map is needed.
                    value = json.loads(first)
                    patch = value.get("model_patch") if isinstance(value, dict) else None
                    if patch is None:
                        return None
                    text = patch if isinstance(patch, str) else ""
                    return len(text.strip()), Location(file=name, line=1, key="model_patch")
        except FileProblem as exc:
            self.issues.append(FileIssue(file=name, problem=exc.problem))
        except (ValueError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            self.issues.append(FileIssue(file=name, problem=f"line 1 is not valid JSON: {reason}"))
        return None

    def _scope(self, journal: JsonDoc) -> ScopeFacts:
        facts: dict[str, Any] = {}
        count = journal.get("metrics", "violations_count")
        if isinstance(count, int) and not isinstance(count, bool):
            facts["violations_count"] = count
            facts["violations_location"] = Location(
                file=JOURNAL,
                line=journal.line("metrics", "violations_count"),
                key="metrics.violations_count",
            )
        targets = self.json("diff_targets.json")
        if targets is not None and isinstance(targets.get("disallowed"), list):
            listed = [str(p) for p in targets.get("disallowed")]
            ignored = [p for p in listed if _ignored(p, self.options.scope_ignore)]
            facts["disallowed"] = tuple(p for p in listed if p not in ignored)
            facts["ignored"] = tuple(ignored)
            facts["location"] = Location(
                file="diff_targets.json", line=targets.line("disallowed"), key="disallowed"
            )
        return ScopeFacts(**facts)


def _recorded_tokens(journal: JsonDoc, agent_key: str | None) -> TokenUsage | None:
    """Token usage written by the pipeline itself (the journal schema has none so far)."""
    places: list[tuple[str, ...]] = [(k,) for k in _TOKEN_KEYS]
    if agent_key:
        places += [(agent_key, k) for k in _TOKEN_KEYS]
    for path in places:
        raw = journal.get(*path)
        usage = _usage(raw)
        if usage is not None:
            tin, tout, total = usage
            return TokenUsage(
                input=tin,
                output=tout,
                total=total,
                source="journal",
                location=Location(file=JOURNAL, line=journal.line(*path), key=".".join(path)),
            )
    return None


def _usage(raw: Any) -> tuple[int | None, int | None, int | None] | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return None, None, raw
    if not isinstance(raw, dict):
        return None

    def pick(*names: str) -> int | None:
        for name in names:
            value = raw.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    tin = pick("input_tokens", "input", "prompt_tokens")
    tout = pick("output_tokens", "output", "completion_tokens")
    total = pick("total_tokens", "total")
    if tin is None and tout is None and total is None:
        return None
    if total is None and tin is not None and tout is not None:
        total = tin + tout
    return tin, tout, total


def _long_lines_issue(name: str, scan: LogScan) -> FileIssue:
    """A log with lines too long to keep whole: only their heads were scanned."""
    count = f"{scan.long_lines:,} lines" if scan.long_lines > 1 else "a line"
    return FileIssue(
        file=name,
        problem=f"has {count} over {MAX_LINE:,} bytes (the longest, line {scan.longest_line}, "
        f"is {scan.longest_line_bytes:,} bytes); only the first {scan.long_line_head:,} "
        "characters of each were scanned",
        partial=True,
    )


def _patch_content(
    path: Path, expected: os.stat_result, artefacts: tuple[str, ...]
) -> dict[str, Any]:
    """Blank or not, files touched, content hash and pipeline artefacts, in one pass."""
    blank = True
    touched: list[str] = []
    digest = hashlib.sha256()
    text = _plain_text(path, expected) if expected.st_size <= _WHOLE_PATCH_BYTES else None
    if text is not None:
        # What the block loop below computes, from one read: the text is valid UTF-8 without
        # ANSI codes, so its blocks re-encode to the file's own bytes.
        blank = not text or text.isspace()
        digest.update(text.encode("utf-8"))
        if "diff --git " in text:
            touched = _DIFF_HEADER_RE.findall(text)
    else:
        with open_binary(path, expected) as fh:
            for block, _ in iter_line_blocks(fh):
                if blank and not block.isspace():
                    blank = False
                digest.update(block.encode("utf-8", "surrogatepass"))
                if "diff --git " in block:
                    touched += _DIFF_HEADER_RE.findall(block)
    found = tuple(dict.fromkeys(p for p in touched if p and _ignored(p, artefacts)))
    return {
        "blank": blank,
        "files_touched": len(touched),
        "sha256": None if blank else digest.hexdigest(),
        "artefacts": found[:5],
    }


_WHOLE_PATCH_BYTES = 4 << 20
"""A patch up to this size is read in one go; a larger one block by block."""


def _plain_text(path: Path, expected: os.stat_result) -> str | None:
    """The whole file as text when it is valid UTF-8 without ANSI codes, else ``None``."""
    try:
        data = read_bytes(path, _WHOLE_PATCH_BYTES, expected=expected)
    except FileProblem:  # grown past the limit, or unreadable: the block loop decides
        return None
    if b"\x1b" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _ignored(path: str, globs: tuple[str, ...]) -> bool:
    """Whether ``path`` matches any of ``globs`` (``fnmatch.fnmatchcase`` rules)."""
    return bool(globs) and _globs_re(globs).match(path) is not None


@functools.lru_cache(maxsize=16)
def _globs_re(globs: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for all of ``globs``: each path is tried once, not once per glob."""
    return re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _commit_key(raw: Any) -> str | None:
    """A task's key: the first 8 hex digits of its commit (journals write 8, 12 or 40)."""
    if not isinstance(raw, str) or not _COMMIT_RE.fullmatch(raw.strip().lower()):
        return None
    return raw.strip().lower()[:8]


def _identity(
    task: str | None, item: str, meta: dict[str, Any], agent: str | None, model: str | None
) -> str | None:
    """A run's identity: the pipeline's own run id, else agent, model, commit, item and
    start time (two models started in the same second are two runs)."""
    run_id = _str(meta.get("run_id"))
    if run_id:
        return f"run_id {run_id}"
    stamp = _str(meta.get("run_timestamp"))
    if not (task and stamp):
        return None
    return " ".join(part or "?" for part in (agent, model, task, item, stamp))


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))
