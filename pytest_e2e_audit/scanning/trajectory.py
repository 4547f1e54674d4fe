"""Streaming facts from a TRAE ``trajectory.json``: LLM calls, steps, per-call token usage.

trae-agent writes the file with ``json.dump(indent=2)``, so each key sits on its own line at a
fixed indentation. The scan follows that shape line by line in bounded memory; a compact
(single-line) file small enough to parse is read with ``json`` instead.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import MAX_DIGITS, FileProblem, ascii_int, iter_line_blocks, open_binary, read_bytes

MAX_COMPACT_BYTES = 64 << 20
"""A trajectory without pretty-printing is parsed whole only up to this size."""

_EVENT_RE = re.compile(
    r'^  "(?P<key>[A-Za-z_]+)": (?P<rest>[^\n]*)$'
    r"|^    (?P<elem>\{)[ \t]*$"
    r'|^ {10}"(?P<tk>input_tokens|output_tokens)": (?P<tv>[0-9]+)',
    re.M,
)


@dataclass
class TrajectoryScan:
    """What a trajectory says about the run."""

    llm_calls: int | None = None
    """Entries in ``llm_interactions`` (successful LLM calls)."""
    steps: int | None = None
    """Entries in ``agent_steps``."""
    input_tokens: int = 0
    output_tokens: int = 0
    usage_entries: int = 0
    success: bool | None = None
    success_line: int | None = None
    start_time: str | None = None
    max_steps_exceeded: bool = False
    shape: str = "pretty"
    """``pretty`` (streamed), ``compact`` (parsed whole) or ``unknown`` (nothing recognised)."""


def scan_trajectory(
    path: Path, size: int, *, expected: os.stat_result | None = None
) -> TrajectoryScan:
    """Scan ``trajectory.json`` (``size`` and ``expected`` from its stat); never raises but
    ``FileProblem``."""
    if size == 0:
        raise FileProblem("is empty (0 bytes)")
    scan = TrajectoryScan()
    region: str | None = None
    seen_key = False
    with open_binary(path, expected) as fh:
        for block, first in iter_line_blocks(fh):
            pos_line = first
            last_pos = 0
            for match in _EVENT_RE.finditer(block):
                key = match.group("key")
                if key is not None:
                    seen_key = True
                    rest = match.group("rest")
                    region = _top_level(scan, key, rest)
                    if key == "success":
                        pos_line += block.count("\n", last_pos, match.start())
                        last_pos = match.start()
                        scan.success_line = pos_line
                elif match.group("elem") is not None:
                    if region == "llm_interactions":
                        scan.llm_calls = (scan.llm_calls or 0) + 1
                    elif region == "agent_steps":
                        scan.steps = (scan.steps or 0) + 1
                elif region == "llm_interactions":
                    value = ascii_int(match.group("tv"))
                    if value is None:
                        continue
                    if match.group("tk") == "input_tokens":
                        scan.input_tokens += value
                        scan.usage_entries += 1
                    else:
                        scan.output_tokens += value
    if seen_key:
        return scan
    if size <= MAX_COMPACT_BYTES:
        return _parse_compact(path, expected)
    scan.shape = "unknown"
    return scan


def _top_level(scan: TrajectoryScan, key: str, rest: str) -> str | None:
    if key in ("llm_interactions", "agent_steps"):
        empty = rest.startswith("[]")
        if key == "llm_interactions":
            scan.llm_calls = scan.llm_calls or 0
        else:
            scan.steps = scan.steps or 0
        return None if empty else key
    if key == "success":
        scan.success = rest.startswith("true") if rest[:4] in ("true", "fals") else None
    elif key == "start_time":
        scan.start_time = _json_string(rest)
    elif key == "final_result":
        scan.max_steps_exceeded = "exceeded maximum steps" in rest
    return None


def _json_string(rest: str) -> str | None:
    rest = rest.rstrip().rstrip(",")
    try:
        value = json.loads(rest)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def _parse_compact(path: Path, expected: os.stat_result | None) -> TrajectoryScan:
    scan = TrajectoryScan(shape="compact")
    text = read_bytes(path, MAX_COMPACT_BYTES, expected=expected).decode("utf-8", "replace")
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError, MemoryError):
        scan.shape = "unknown"
        return scan
    if not isinstance(data, dict):
        scan.shape = "unknown"
        return scan
    calls = data.get("llm_interactions")
    if isinstance(calls, list):
        scan.llm_calls = len(calls)
        for call in calls:
            response = call.get("response") if isinstance(call, dict) else None
            usage = response.get("usage") if isinstance(response, dict) else None
            if not isinstance(usage, dict):
                continue
            tokens_in = _int(usage.get("input_tokens"))
            if tokens_in is None:
                continue
            scan.usage_entries += 1
            scan.input_tokens += tokens_in
            scan.output_tokens += _int(usage.get("output_tokens")) or 0
    steps = data.get("agent_steps")
    if isinstance(steps, list):
        scan.steps = len(steps)
    if isinstance(data.get("success"), bool):
        scan.success = data["success"]
        scan.success_line = 1
    if isinstance(data.get("start_time"), str):
        scan.start_time = data["start_time"]
    final = data.get("final_result")
    scan.max_steps_exceeded = isinstance(final, str) and "exceeded maximum steps" in final
    return scan


def _int(value: object) -> int | None:
    """A JSON token count when it is a plausible one: what ``ascii_int`` would accept."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value < 10**MAX_DIGITS else None
