"""``RunRecord``: one recorded run, normalised, with the location of every fact.

Layouts build records; rules read them and never open files themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .findings import Location

Status = Literal["success", "error", "unknown"]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class TokenUsage(_Value):
    """Token counts and where they came from."""

    input: int | None = None
    """Input (prompt) tokens."""
    output: int | None = None
    """Output (completion) tokens."""
    total: int | None = None
    """Total tokens; ``input + output`` when the source gives no total of its own."""
    source: str
    """Kind of source: ``journal``, ``trajectory``, ``stdout-total-row``, ``stdout-summary``,
    ``claude-usage``, ``codex-tokens-used``."""
    detail: str = ""
    """Human-readable detail, e.g. ``sum of 14 llm_interactions``."""
    location: Location | None = None
    """Where the numbers were read."""

    def describe(self) -> str:
        if self.input is not None and self.output is not None:
            numbers = f"{self.input:,} input + {self.output:,} output = {self.total or 0:,} tokens"
        else:
            numbers = f"{self.total or 0:,} tokens"
        where = f" in {self.location}" if self.location else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{numbers}{where}{detail}"


class AgentVerdict(_Value):
    """What the agent itself said about the outcome."""

    success: bool
    """True when the agent reports success."""
    text: str
    """The verdict as printed, e.g. ``❌ No`` or ``is_error: true``."""
    source: str
    """``trae-summary``, ``trajectory`` or ``claude-result``."""
    location: Location
    """Where the verdict was read."""


class SignatureCount(_Value):
    """Occurrences of one API-error signature kind across the run's logs."""

    kind: str
    """Signature kind (see ``scanning.signatures``)."""
    tag: str
    """``infra`` or ``agent``."""
    count: int
    """Matching lines."""
    first: Location
    """First occurrence."""
    excerpt: str
    """The first matching line, as found (untrusted; clean before showing)."""


class PatchFacts(_Value):
    """The patch the run produced, and what other files claim about it."""

    file: str
    """Patch file name relative to the run folder."""
    exists: bool
    """Whether the file exists."""
    bytes: int | None = None
    """Size in bytes."""
    blank: bool | None = None
    """True when empty or whitespace-only."""
    files_touched: int | None = None
    """``diff --git`` headers in the patch."""
    prediction_bytes: int | None = None
    """Length of ``model_patch`` in the prediction file, stripped; None when absent."""
    prediction_location: Location | None = None
    """Where the prediction's ``model_patch`` was read."""
    metrics_loc: int | None = None
    """``metrics.patch_size_loc`` as the journal claims it."""
    metrics_location: Location | None = None
    """Where ``patch_size_loc`` was read."""
    sha256: str | None = None
    """SHA-256 of the patch file's content, when it is not blank (to spot a patch reused
    from an earlier attempt)."""
    artefacts: tuple[str, ...] = ()
    """Paths the patch adds or changes that are the pipeline's own output (``model_patch.diff``
    …, by ``--e2e-scope-ignore``): the worktree was not clean."""


class ScopeFacts(_Value):
    """Edits outside the allowed targets, as the pipeline itself reported them."""

    violations_count: int | None = None
    """``metrics.violations_count`` from the journal."""
    violations_location: Location | None = None
    """Where that count was read."""
    disallowed: tuple[str, ...] | None = None
    """``diff_targets.disallowed`` minus pipeline artefacts; None when the file is absent."""
    ignored: tuple[str, ...] = ()
    """Disallowed entries dropped as pipeline artefacts (``--e2e-scope-ignore``)."""
    location: Location | None = None
    """Where the disallowed list was read."""


class LogFacts(_Value):
    """One agent log that was scanned."""

    file: str
    """Log file relative to the run folder."""
    role: Literal["stdout", "stderr"]
    """Which stream it captured."""
    bytes: int
    """Size in bytes."""
    lines: int
    """Line count."""
    blank: bool
    """True when empty or whitespace-only."""


class FileIssue(_Value):
    """A file of the run that exists but could not be used."""

    file: str
    """File relative to the run folder."""
    problem: str
    """What is wrong, as a phrase that follows the file name."""
    is_record: bool = False
    """True for the run's main record file (the run cannot be audited without it)."""
    partial: bool = False
    """True when part of the file was read (an over-long line cut short), not none of it."""


class JudgeVerdict(_Value):
    """One judge's output, or the consensus of several, as recorded."""

    file: str
    """File relative to the run folder (``judge/judge_01/judgment.json``, ``run_result.json``)."""
    key: str = ""
    """Where in the file (``judges.0`` for a summary inside ``run_result.json``), or empty."""
    judge: int | None = None
    """Judge number; None for a consensus."""
    model: str | None = None
    score: float | None = None
    """The score when it is a finite number, else None (see ``score_problem``)."""
    score_problem: str | None = None
    """Why the score is unusable: missing, not a number, outside [0, 1]."""
    passed: bool | None = None
    grade: str | None = None
    is_valid: bool | None = None
    """The writer's own validity flag, when it wrote one."""
    criteria: Literal["mapping", "empty", "null", "missing", "other"] = "missing"
    """What ``criteria_scores`` holds: a mapping with entries, ``{}``/``[]``, ``null``, no key,
    anything else."""
    criteria_count: int = 0
    is_error: bool = False
    """An error envelope (``is_error: true``) instead of a verdict."""
    error: str | None = None
    """The envelope's error text (untrusted; clean before showing)."""
    line: int | None = None
    """Line of the verdict in its file."""
    criteria_line: int | None = None
    """Line of ``criteria_scores`` in its file, when known."""

    @property
    def valid(self) -> bool:
        """A usable verdict: a score in [0, 1], not an error, criteria a mapping when present,
        not marked invalid by its writer."""
        return (
            self.score is not None
            and not self.is_error
            and self.is_valid is not False
            and self.criteria in ("mapping", "empty", "missing")
        )

    @property
    def location(self) -> Location:
        return Location(file=self.file, line=self.line, key=self.key or None)


class FieldIssue(_Value):
    """A field of the record that is present but cannot be read as what it claims to be."""

    field: str
    """``RunRecord`` field it would have filled (``exit_code``, ``duration_s``, ``status`` …)."""
    problem: str
    """What is wrong, as a phrase that follows the field's location, e.g. ``is the string "0",
    not an integer``."""
    location: Location | None = None
    """Where the value was read."""


class RunRecord(_Value):
    """One recorded attempt, normalised from whichever layout wrote it."""

    run_id: str
    """Run folder relative to the results root (POSIX separators)."""
    layout: str
    """Name of the layout that read it."""
    record_file: str
    """Main record file, relative to the run folder."""
    readable: bool = True
    """False when the main record could not be parsed; most other fields are then empty."""
    task_id: str | None = None
    """Task (or instance) id."""
    item_id: str | None = None
    """Item folder name / attempt id."""
    task_key: str | None = None
    """What makes two runs attempts of the same task, as the layout defines it
    (perf-agents-bench: the first 8 hex digits of ``commits.human``)."""
    groups: tuple[tuple[str, str], ...] = ()
    """The groups the run belongs to, as (kind, folder relative to the results root): the
    layout's choice (perf-agents-bench: its ``batch``, the timestamp folder above the item;
    ProjectScylla: its ``experiment``, ``tier`` and ``subtest``)."""
    identity: str | None = None
    """What names this run uniquely, when the record says (two records with the same
    identity are one run recorded twice)."""
    repo: str | None = None
    """Target repository, as the pipeline names it."""
    agent: str | None = None
    """Agent kind (``trae``, ``claude_code``, ``codex``, ``codex_cli``, ``openhands`` …)."""
    model: str | None = None
    """Model name, as the pipeline names it."""
    started_at: datetime | None = None
    """When the run started (naive datetimes are pipeline-local time)."""
    started_source: str | None = None
    """Where ``started_at`` came from."""
    status_recorded: str | None = None
    """The status exactly as recorded; None when missing."""
    status: Status = "unknown"
    """Normalised status."""
    known_statuses: tuple[str, ...] = ()
    """Statuses the layout documents; anything else normalises to ``unknown``."""
    exit_code: int | None = None
    """Agent process exit code."""
    duration_s: float | None = None
    """Agent wall time in seconds."""
    steps: int | None = None
    """Agent steps / turns, when a log or trajectory tells."""
    llm_calls: int | None = None
    """Completed LLM calls, when a trajectory tells."""
    error_message: str | None = None
    """Error message; a missing key and null are both None."""
    error_type: str | None = None
    """Error type (exception class name)."""
    tokens_recorded: TokenUsage | None = None
    """Token usage the pipeline recorded in its own record."""
    tokens_observed: tuple[TokenUsage, ...] = ()
    """Token usage observable in logs/trajectory, most reliable first."""
    cost_usd: float | None = None
    """Cost the pipeline recorded, in US dollars."""
    judges: tuple[JudgeVerdict, ...] = ()
    """Each judge's verdict (ProjectScylla ``judge/judge_NN/judgment.json``)."""
    consensus: tuple[JudgeVerdict, ...] = ()
    """The consensus verdict as each file records it (``run_result.json``,
    ``judge/result.json``)."""
    judges_expected: int | None = None
    """Judges the experiment configured, when its config says."""
    agent_ran: bool | None = None
    """Whether the agent left a result at all (ProjectScylla ``agent/result.json``)."""
    agent_error: str | None = None
    """The agent's own error text (a CLI error envelope's ``result``, or its stderr)."""
    agent_verdict: AgentVerdict | None = None
    """The agent's own verdict."""
    api_errors: tuple[SignatureCount, ...] = ()
    """API-error signatures seen in the logs, in catalogue order."""
    api_retries: int = 0
    """Retry lines (failed API calls) in the logs."""
    patch: PatchFacts | None = None
    """Patch facts."""
    scope: ScopeFacts | None = None
    """Out-of-scope edit facts."""
    logs: tuple[LogFacts, ...] = ()
    """Agent logs that were found and scanned."""
    has_trajectory: bool = False
    """Whether a trajectory file was found and read."""
    file_issues: tuple[FileIssue, ...] = ()
    """Files that exist but could not be read."""
    field_issues: tuple[FieldIssue, ...] = ()
    """Fields of the record that are wrongly typed, impossible, or written twice."""
    locations: dict[str, Location] = Field(default_factory=dict)
    """Where each top-level field was read, by field name."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Fields of the main record this model does not know, kept as they were."""

    def where(self, field: str) -> Location | None:
        return self.locations.get(field)

    def field_issue(self, field: str) -> FieldIssue | None:
        """The first problem recorded for ``field``, if any."""
        return next((issue for issue in self.field_issues if issue.field == field), None)

    @property
    def observed_tokens(self) -> TokenUsage | None:
        return self.tokens_observed[0] if self.tokens_observed else None


Measure = Literal["status", "count", "passed_count", "cost", "completed", "test_pass"]


class SummaryClaim(_Value):
    """One statement a summary file makes about runs, to hold against the run records."""

    file: str
    """Summary file relative to the results root."""
    line: int | None = None
    subject: str
    """What the statement is about, as shown: ``T0/00 run 1``, ``subtest T0/00``, ``test-001``."""
    measure: Measure
    """What is stated: a run's ``status`` (passed/failed), the ``count`` of runs, the
    ``passed_count``, their total ``cost``, that a run ``completed``, or that a test passed
    (``test_pass``)."""
    scope: str
    """The folder (relative to the results root) whose runs the statement is about; for
    ``status``/``completed`` the run folder itself."""
    claimed: str | float | int | bool | None = None
    """The value the file states."""

    @property
    def location(self) -> Location:
        return Location(file=self.file, line=self.line)


class BatchEntry(_Value):
    """One entry of a batch summary: what one session recorded for one test."""

    file: str
    line: int | None = None
    index: int
    """Position in the file's ``results`` list (later entries supersede earlier ones)."""
    test_id: str
    status: str | None = None
    exit_code: int | None = None
    error: str | None = None
    total_cost: float | None = None
    best_score: float | None = None
    result_dir: str | None = None


class ThreadVerdict(_Value):
    """A tier verdict a thread log printed for a test in one session."""

    file: str
    line: int
    test_id: str
    session: int
    """Which ``Starting test-NNN`` block of the log (1 for the first session)."""
    tier: str
    verdict: str
    """``PASS`` or ``FAIL`` as printed."""
    score: float | None = None
    cost: float | None = None


class GroupRecord(_Value):
    """What a group's own files say (a layout's ``load_group``): summaries, batch entries and
    thread-log verdicts, for the group rules to hold against the run records."""

    kind: str
    key: str
    """Folder relative to the results root, ``.`` for the root."""
    test_id: str | None = None
    """The experiment's test, for an experiment."""
    claims: tuple[SummaryClaim, ...] = ()
    entries: tuple[BatchEntry, ...] = ()
    """Batch entries: every entry of a batch; an experiment's test's entries for an experiment."""
    thread_verdicts: tuple[ThreadVerdict, ...] = ()
    file_issues: tuple[FileIssue, ...] = ()
    """Summary files that exist but could not be read (paths relative to the results root)."""
