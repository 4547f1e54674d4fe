"""What an agent printed, read the same whatever pipeline ran it.

TRAE's console (step rows, the Execution Summary table), the Claude Code CLI's JSON envelope,
codex's ``tokens used`` line and a TRAE trajectory each tell the agent's own verdict, its
steps and its token usage. Layouts scan the files (``scanning``) and hand the scans here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..findings import Location
from ..records import AgentVerdict, SignatureCount, TokenUsage
from ..scanning.files import ascii_int
from ..scanning.logs import LogScan
from ..scanning.signatures import BY_KIND, SIGNATURE_KINDS
from ..scanning.trajectory import TrajectoryScan


@dataclass
class ClaudeResult:
    """The ``claude --output-format json`` envelope: verdict, turns, usage."""

    is_error: bool | None
    subtype: str | None
    num_turns: int | None
    usage: TokenUsage | None
    line: int | None


def claude_envelope(text: str | None, line: int | None = None) -> ClaudeResult | None:
    """The Claude Code CLI's JSON envelope (``claude --output-format json``: the last line of
    its stdout), or None when ``text`` is not one."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    is_error = value.get("is_error") if isinstance(value.get("is_error"), bool) else None
    turns = value.get("num_turns")
    usage = value.get("usage")
    tokens = None
    if isinstance(usage, dict):
        parts = {
            k: usage.get(k)
            for k in (
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
                "output_tokens",
            )
        }
        ints = {k: v for k, v in parts.items() if isinstance(v, int) and not isinstance(v, bool)}
        if ints:
            tin = sum(v for k, v in ints.items() if k != "output_tokens")
            tout = ints.get("output_tokens", 0)
            tokens = TokenUsage(
                input=tin,
                output=tout,
                total=tin + tout,
                source="claude-usage",
                detail="Claude Code JSON usage, cache reads and writes counted as input",
            )
    return ClaudeResult(
        is_error=is_error,
        subtype=_text(value.get("subtype")),
        num_turns=turns if isinstance(turns, int) and not isinstance(turns, bool) else None,
        usage=tokens,
        line=line,
    )


@dataclass
class AgentOutput:
    """One run's agent output: its stdout/stderr scans, their file names, its trajectory."""

    stdout: LogScan | None
    stderr: LogScan | None
    trajectory: TrajectoryScan | None
    files: dict[str, str] = field(default_factory=dict)
    """Log file name by role (``stdout``, ``stderr``), relative to the run folder."""
    claude: ClaudeResult | None = None
    """The Claude Code envelope, when the agent printed one."""

    @property
    def stdout_file(self) -> str:
        return self.files.get("stdout", "stdout.txt")

    def observed_tokens(self) -> Iterator[TokenUsage]:
        """Token usage the output shows, most reliable first."""
        stdout, stderr, trajectory, claude = self.stdout, self.stderr, self.trajectory, self.claude
        if trajectory is not None and (trajectory.usage_entries or trajectory.llm_calls == 0):
            detail = (
                f"sum of {trajectory.usage_entries} llm_interactions"
                if trajectory.usage_entries
                else "no LLM call completed"
            )
            yield TokenUsage(
                input=trajectory.input_tokens,
                output=trajectory.output_tokens,
                total=trajectory.input_tokens + trajectory.output_tokens,
                source="trajectory",
                detail=detail,
                location=Location(file="trajectory.json"),
            )
        stdout_file = self.stdout_file
        if stdout is not None and stdout.trae_total is not None:
            tin, tout, line = stdout.trae_total
            yield TokenUsage(
                input=tin,
                output=tout,
                total=tin + tout,
                source="stdout-total-row",
                detail="last cumulative step row",
                location=Location(file=stdout_file, line=line),
            )
        if stdout is not None and "Total Tokens" in stdout.trae_rows:
            row = stdout.trae_rows["Total Tokens"]
            yield TokenUsage(
                input=int_text(stdout.trae_rows.get("Input Tokens")),
                output=int_text(stdout.trae_rows.get("Output Tokens")),
                total=int_text(row),
                source="stdout-summary",
                detail="Execution Summary table",
                location=Location(file=stdout_file, line=row.line),
            )
        if claude is not None and claude.usage is not None:
            yield claude.usage.model_copy(
                update={"location": Location(file=stdout_file, line=claude.line, key="usage")}
            )
        for scan, role in ((stderr, "stderr"), (stdout, "stdout")):
            if scan is not None and scan.codex_tokens is not None:
                total, line = scan.codex_tokens
                yield TokenUsage(
                    total=total,
                    source="codex-tokens-used",
                    detail="codex 'tokens used' line",
                    location=Location(file=self.files.get(role, f"{role}.txt"), line=line),
                )
                break

    def verdict(self) -> AgentVerdict | None:
        """The agent's own verdict: TRAE's Success row, Claude's is_error, the trajectory."""
        stdout, trajectory, claude = self.stdout, self.trajectory, self.claude
        if stdout is not None and "Success" in stdout.trae_rows:
            row = stdout.trae_rows["Success"]
            if row.value.startswith(("✅", "❌")):
                return AgentVerdict(
                    success=row.value.startswith("✅"),
                    text=row.value,
                    source="trae-summary",
                    location=Location(file=self.stdout_file, line=row.line),
                )
        if claude is not None and claude.is_error is not None:
            return AgentVerdict(
                success=not claude.is_error,
                text=f"is_error: {str(claude.is_error).lower()}"
                + (f", subtype: {claude.subtype}" if claude.subtype else ""),
                source="claude-result",
                location=Location(file=self.stdout_file, line=claude.line, key="is_error"),
            )
        if trajectory is not None and trajectory.success is not None:
            return AgentVerdict(
                success=trajectory.success,
                text=f"success: {str(trajectory.success).lower()}",
                source="trajectory",
                location=Location(
                    file="trajectory.json", line=trajectory.success_line, key="success"
                ),
            )
        return None

    def steps(self) -> int | None:
        """Agent steps or turns, when a log, the trajectory or the envelope tells."""
        stdout, trajectory, claude = self.stdout, self.trajectory, self.claude
        if stdout is not None and "Steps" in stdout.trae_rows:
            steps = int_text(stdout.trae_rows["Steps"])
            if steps is not None:
                return steps
        if trajectory is not None and trajectory.steps is not None:
            return trajectory.steps
        if claude is not None:
            return claude.num_turns
        return None


def signatures(logs: list[tuple[str, LogScan]]) -> tuple[tuple[SignatureCount, ...], int]:
    merged: dict[str, SignatureCount] = {}
    retries = 0
    for file, scan in logs:
        retries += scan.retries
        for kind, hit in scan.hits.items():
            if kind in merged:
                old = merged[kind]
                merged[kind] = old.model_copy(update={"count": old.count + hit.count})
            else:
                merged[kind] = SignatureCount(
                    kind=kind,
                    tag=BY_KIND[kind].tag,
                    count=hit.count,
                    first=Location(file=file, line=hit.first_line),
                    excerpt=hit.excerpt,
                )
    ordered = tuple(merged[k] for k in SIGNATURE_KINDS if k in merged)
    return ordered, retries


def int_text(row: Any) -> int | None:
    """A number printed in a table row (``1,234``), or None."""
    if row is None:
        return None
    return ascii_int(str(getattr(row, "value", row)).replace(",", "").strip())


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
