"""Built-in per-run integrity rules (catalogue codes E2E001-E2E011)."""

from __future__ import annotations

from collections.abc import Iterator

from .._text import clean, plural, quote
from ..findings import Location, Severity
from ..records import RunRecord
from . import Rule, RuleContext, Violation, rule

_SIGNALS = {-9: "SIGKILL", -15: "SIGTERM", -2: "SIGINT", -6: "SIGABRT", -11: "SIGSEGV"}
_GENERIC_ERRORS = {"error", "unknown", "unknown error", "none", "null", "failed", "failure", "n/a"}


def _loc(*locations: Location | None) -> tuple[Location, ...]:
    return tuple(loc for loc in locations if loc is not None)


def _at(loc: Location | None) -> str:
    return f" in {loc}" if loc is not None else ""


def _status(record: RunRecord) -> str:
    return quote(record.status_recorded or "", 60)


@rule(
    code="E2E001",
    name="unreadable-record",
    severity=Severity.ERROR,
    summary="The run's record file (or its folder) is empty, truncated, not JSON, not an object, "
    "or cannot be read",
)
def unreadable_record(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """A run whose record cannot be read is silently dropped by most analysis scripts, so
    the published denominator shrinks without anyone noticing (the ISO snapshot has a 0-byte
    journal.json). A folder of the tree that cannot be walked (not listable, a link out of the
    results root, a path too long) is reported the same way, as is a reader that failed on the
    run: runs there would otherwise vanish from the audit. Other files of the run that exist
    but cannot be read (a link out of the tree, a FIFO, invalid content, a line too long to
    keep) are warnings: the facts they hold are missing from the audit."""
    for issue in record.file_issues:
        if issue.is_record and issue.file == ".":
            yield Violation(f"run folder {issue.problem}", (Location(file="."),))
        elif issue.is_record:
            yield Violation(
                f"record file {issue.file} {issue.problem}; the run cannot be audited",
                (Location(file=issue.file),),
            )
        else:
            lost = (
                "the rest of it is not audited"
                if issue.partial
                else "facts it holds are not audited"
            )
            yield Violation(
                f"run file {issue.file} {issue.problem}; {lost}",
                (Location(file=issue.file),),
                Severity.WARNING,
            )


@rule(
    code="E2E002",
    name="unknown-status",
    severity=Severity.ERROR,
    summary="The recorded status is missing or outside the layout's known set",
)
def unknown_status(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """Statuses outside the documented set (``max_steps_exceeded`` in perf-agents-bench, whose
    writer also overwrites the exit code with 0) fall through every downstream filter: they
    are neither counted as successes nor as errors, or counted as whichever the script
    guesses."""
    if not record.readable or record.status != "unknown":
        return
    where = record.where("status")
    if record.status_recorded is None:
        yield Violation(f"no status recorded in {record.record_file}", _loc(where))
        return
    known = ", ".join(record.known_statuses) or "none declared"
    yield Violation(
        f"status {_status(record)}{_at(where)} is not a known status ({known})", _loc(where)
    )


@rule(
    code="E2E003",
    name="success-nonzero-exit",
    severity=Severity.ERROR,
    summary="Status success but the agent's exit code is not 0 (or was never recorded)",
    success_check=True,
)
def success_nonzero_exit(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """perf-agents-bench marks a run successful whenever the worktree has any commit, so a
    crashed or killed agent (returncode 1, -9, -15) is published as a success; 118 such runs
    are in the ISO snapshot. A success must come from an agent that exited cleanly."""
    if record.status != "success" or record.exit_code == 0:
        return
    exit_loc = record.where("exit_code")
    wrong = record.field_issue("exit_code")
    if record.exit_code is None and wrong is not None:
        yield Violation(
            f'status "success" but the exit code{_at(wrong.location)} {wrong.problem}; '
            "a success needs exit code 0",
            _loc(wrong.location, record.where("status")),
        )
        return
    if record.exit_code is None:
        yield Violation(
            f'status "success" but no exit code recorded in {record.record_file}',
            _loc(record.where("status")),
        )
        return
    signal = _SIGNALS.get(record.exit_code)
    killed = f" (killed by {signal}, e.g. the pipeline's time budget)" if signal else ""
    yield Violation(
        f'status "success" but exit code {record.exit_code}{killed}{_at(exit_loc)}; '
        "a success needs exit code 0",
        _loc(exit_loc, record.where("status")),
    )


@rule(
    code="E2E004",
    name="success-empty-patch",
    severity=Severity.ERROR,
    summary="Status success but the patch file is missing, empty or whitespace-only",
    success_check=True,
)
def success_empty_patch(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """A success that changed nothing cannot have solved the task; 53% of the patches behind
    a published 95.8% success rate were empty. The journal's own ``patch_size_loc`` is
    computed from git, not from the patch file, so it can claim 57 lines for a 0-byte patch:
    the patch file is what gets evaluated, so it is what counts."""
    patch = record.patch
    if record.status != "success" or patch is None:
        return
    if patch.exists and patch.blank is False:
        return
    if not patch.exists:
        state = "is missing"
    elif patch.bytes == 0:
        state = "is empty (0 bytes)"
    else:
        state = f"is whitespace-only ({plural(patch.bytes or 0, 'byte')})"
    claims: list[str] = []
    if patch.metrics_loc:
        claims.append(
            f"the journal claims {plural(patch.metrics_loc, 'changed line')} in "
            f"{patch.metrics_location}"
        )
    if patch.prediction_bytes:
        claims.append(
            f"{patch.prediction_location} holds {plural(patch.prediction_bytes, 'character')}"
        )
    elif patch.prediction_bytes == 0:
        claims.append(f"{patch.prediction_location} is empty too")
    tail = "; " + "; ".join(claims) if claims else ""
    yield Violation(
        f'status "success" but {patch.file} {state}{tail}',
        _loc(
            Location(file=patch.file),
            patch.metrics_location if patch.metrics_loc else None,
            patch.prediction_location,
        ),
    )


@rule(
    code="E2E005",
    name="success-without-execution",
    severity=Severity.ERROR,
    summary="Status success with no sign the agent ran (no LLM call or step, empty stdout, "
    "implausibly short duration)",
    success_check=True,
)
def success_without_execution(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """When the pipeline reuses a worktree, commits left by an earlier attempt make a run
    that crashed in 1.6 s on a config error look successful. A success needs evidence that
    the agent actually worked: a non-empty log, at least one completed LLM call or step, and
    a wall time above ``e2e_min_duration`` seconds."""
    if record.status != "success":
        return
    signs: list[str] = []
    evidence: list[Location] = []
    if record.duration_s is not None and record.duration_s < ctx.min_duration_s:
        loc = record.where("duration_s")
        signs.append(
            f"the agent ran {record.duration_s:.2f} s (under {ctx.min_duration_s:g} s){_at(loc)}"
        )
        evidence.extend(_loc(loc))
    bad_duration = record.field_issue("duration_s")
    if record.duration_s is None and bad_duration is not None:
        signs.append(f"the recorded duration{_at(bad_duration.location)} {bad_duration.problem}")
        evidence.extend(_loc(bad_duration.location))
    for log in record.logs:
        if log.role == "stdout" and log.blank:
            signs.append(f"{log.file} is empty ({plural(log.bytes, 'byte')})")
            evidence.append(Location(file=log.file))
    if record.llm_calls == 0:
        signs.append("no LLM call completed (trajectory.json has 0 llm_interactions)")
        evidence.append(Location(file="trajectory.json"))
    elif record.steps == 0:
        signs.append("the agent took 0 steps")
    if not record.logs and not record.has_trajectory:
        signs.append("no agent log or trajectory was recorded")
    if signs:
        yield Violation(
            'status "success" but no sign the agent ran: ' + "; ".join(signs), tuple(evidence)
        )


@rule(
    code="E2E006",
    name="status-contradicts-agent",
    severity=Severity.ERROR,
    summary="The recorded status disagrees with the agent's own verdict, either way",
    success_check=True,
)
def status_contradicts_agent(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """The pipeline decides success from git state and never reads the agent's own verdict
    (TRAE's ``Success`` row or trajectory flag, Claude Code's ``is_error``). In the ISO
    snapshot 255 of 477 TRAE successes say ``❌ No`` themselves, and errors exist whose agent
    says ``✅ Yes``: both inflate or deflate the published rate."""
    verdict = record.agent_verdict
    if verdict is None or record.status not in ("success", "error"):
        return
    if (record.status == "success") == verdict.success:
        return
    source = {"trae-summary": "summary", "trajectory": "trajectory", "claude-result": "result"}
    yield Violation(
        f"status {_status(record)} but the agent's own {source.get(verdict.source, 'verdict')} "
        f"says {quote(verdict.text, 60)} in {verdict.location}",
        _loc(verdict.location, record.where("status")),
    )


@rule(
    code="E2E007",
    name="error-without-message",
    severity=Severity.ERROR,
    summary="A non-success run whose record has no error message (missing, null, empty or generic)",
)
def error_without_message(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """97.6% of the errors behind a published analysis carried no message, so nobody could
    tell infrastructure failures from model failures. A missing key counts the same as
    null."""
    if not record.readable or record.status == "success":
        return
    message = record.error_message
    where = record.where("error_message")
    if message is not None and message.strip() and message.strip().lower() not in _GENERIC_ERRORS:
        return
    if message is None:
        state = (
            f"the error is null{_at(where)}"
            if where is not None
            else f'no "error" key in {record.record_file}'
        )
    elif not message.strip():
        state = f"the error message is empty{_at(where)}"
    else:
        state = f"the error message is generic{_at(where)}: {quote(message, 60)}"
    hints: list[str] = []
    if record.exit_code is not None:
        hints.append(f"exit code {record.exit_code}")
    if record.api_errors:
        first = record.api_errors[0]
        hints.append(f"the logs show {first.kind} ×{first.count} from {first.first}")
    hint = f" ({', '.join(hints)})" if hints else ""
    yield Violation(
        f"status {_status(record)} with no usable error message: {state}{hint}",
        _loc(where or record.where("status")),
    )


@rule(
    code="E2E008",
    name="tokens-not-recorded",
    severity=Severity.ERROR,
    summary="The pipeline's record carries no token usage",
)
def tokens_not_recorded(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """Cost and efficiency claims need token counts, and perf-agents-bench journals never
    store them (a report claimed they did). When the logs or trajectory show the usage, the
    message gives it and its source, so the record can be repaired."""
    if not record.readable or record.tokens_recorded is not None:
        return
    observed = record.observed_tokens
    if observed is None:
        tail = "none is observable in the logs or trajectory either"
        evidence: tuple[Location, ...] = ()
    else:
        tail = f"observed {observed.describe()}"
        evidence = _loc(observed.location)
    yield Violation(f"no token usage recorded in {record.record_file}; {tail}", evidence)


@rule(
    code="E2E009",
    name="api-errors-in-log",
    severity=Severity.ERROR,
    summary="The agent logs show API-call failures (error for a success, warning otherwise)",
)
def api_errors_in_log(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """API failures during a run ("No tool output found for function call", expired or
    unexpanded credentials, 429 quota, 5xx) mean the result measures the infrastructure, not
    the model. On a success they also mean the agent was not doing what the result claims."""
    if not record.api_errors:
        return
    kinds = ", ".join(f"{hit.kind} ×{hit.count} ({hit.tag})" for hit in record.api_errors)
    first = min(record.api_errors, key=lambda hit: (hit.first.file, hit.first.line or 0))
    retried = f"; {plural(record.api_retries, 'failed call')} retried" if record.api_retries else ""
    yield Violation(
        f"API-call failures in the agent logs: {kinds}{retried}; first at {first.first}: "
        f"{quote(first.excerpt, 120)}",
        tuple(hit.first for hit in record.api_errors),
        Severity.ERROR if record.status == "success" else Severity.WARNING,
    )


@rule(
    code="E2E010",
    name="out-of-scope-edits",
    severity=Severity.ERROR,
    summary="The pipeline's own diff targets or metrics report edits outside the allowed files "
    "(error for a success, warning otherwise)",
)
def out_of_scope_edits(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """A run that edits files outside its targets (2,260 of them in one ISO "success" that
    reused a dirty worktree) is not solving the task it is scored on. Pipeline artefacts
    such as ``model_patch.diff`` are ignored (``e2e_scope_ignore``)."""
    scope = record.scope
    if scope is None or not record.readable:
        return
    severity = Severity.ERROR if record.status == "success" else Severity.WARNING
    claimed = ""
    if scope.violations_count:
        claimed = f"; the journal counts {scope.violations_count:,} in {scope.violations_location}"
    if scope.disallowed:
        shown = ", ".join(clean(p, 80) for p in scope.disallowed[:3])
        more = f" (+{len(scope.disallowed) - 3:,} more)" if len(scope.disallowed) > 3 else ""
        yield Violation(
            f"{plural(len(scope.disallowed), 'file')} edited outside the allowed targets in "
            f"{scope.location}: {shown}{more}{claimed}",
            _loc(scope.location, scope.violations_location),
            severity,
        )
    elif scope.disallowed is None and scope.violations_count:
        yield Violation(
            f"the journal counts {plural(scope.violations_count, 'out-of-scope edit')} in "
            f"{scope.violations_location} (no diff_targets.json to name the files)",
            _loc(scope.violations_location),
            severity,
        )


@rule(
    code="E2E011",
    name="malformed-record",
    severity=Severity.ERROR,
    summary="A record field has the wrong type, a non-finite or impossible value, or a key "
    "written twice",
)
def malformed_record(record: RunRecord, ctx: RuleContext) -> Iterator[Violation]:
    """Readers disagree on such values, so the published number depends on whose script
    read the record: one JSON reader keeps the last of two ``"status"`` keys, another the
    first; ``"0"`` is not ``0``; ``NaN < 10`` is false, so a NaN duration passes every
    threshold. A value that cannot be read as what it claims to be is not evidence of
    anything, and the audit does not guess what was meant."""
    for issue in record.field_issues:
        where = f"{issue.location} " if issue.location is not None else ""
        yield Violation(f"{where}{issue.problem}", _loc(issue.location))


BUILTIN_RULES: tuple[Rule, ...] = (
    unreadable_record,
    unknown_status,
    success_nonzero_exit,
    success_empty_patch,
    success_without_execution,
    status_contradicts_agent,
    error_without_message,
    tokens_not_recorded,
    api_errors_in_log,
    out_of_scope_edits,
    malformed_record,
)
