"""Streaming facts from a TRAE ``trajectory.json``: LLM calls, steps, per-call token usage.

trae-agent writes the file with ``json.dump(indent=2)``, so each key sits on its own line at a
fixed indentation. A file of that shape up to ``MAX_DECODED_BYTES`` is decoded whole by msgspec
into the few fields read (``_decode_pretty``); a larger one, or one msgspec refuses (truncated,
unexpected types), is scanned line by line in bounded memory (``_stream``), which is what
defines the facts: the fast path gives the same ones or steps aside. A compact (single-line)
file small enough to parse is read with ``json``.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from .files import MAX_DIGITS, FileProblem, ascii_int, iter_line_blocks, open_binary, read_bytes

MAX_COMPACT_BYTES = 64 << 20
"""A trajectory without pretty-printing is parsed whole only up to this size."""
MAX_DECODED_BYTES = 16 << 20
"""A pretty-printed trajectory is read and decoded whole up to this size, streamed above it."""

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
    if size <= MAX_DECODED_BYTES:
        data = read_bytes(path, MAX_DECODED_BYTES, expected=expected)
        fast = _decode_pretty(data)
        if fast is not None:
            return fast
        return _stream(io.BytesIO(data), len(data), lambda: data)
    with open_binary(path, expected) as fh:
        return _stream(fh, size, lambda: read_bytes(path, MAX_COMPACT_BYTES, expected=expected))


def _stream(fh: BinaryIO, size: int, whole: Any) -> TrajectoryScan:
    """The line-by-line scan; ``whole()`` gives the file's bytes for a compact file."""
    scan = TrajectoryScan()
    region: str | None = None
    seen_key = False
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
        return _parse_compact(whole())
    scan.shape = "unknown"
    return scan


# -- the fast path: the same facts from one msgspec decode ------------------------------------

_NONE = msgspec.Raw(b"")


class _Usage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None


class _Response(msgspec.Struct):
    usage: _Usage | None = None


class _Call(msgspec.Struct):
    response: _Response | None = None


class _Top(msgspec.Struct):
    llm_interactions: msgspec.Raw = _NONE
    agent_steps: msgspec.Raw = _NONE
    success: msgspec.Raw = _NONE
    start_time: msgspec.Raw = _NONE
    final_result: msgspec.Raw = _NONE


_TOP = msgspec.json.Decoder(_Top)
_CALLS = msgspec.json.Decoder(list[_Call])
_STEPS = msgspec.json.Decoder(list[msgspec.Raw])
_PRETTY_RE = re.compile(rb'\{\r?\n  "[A-Za-z_]+": ')
_AWKWARD = (b"\n    {}", b"\r")
"""Shapes where the decoded structure and the line scan could disagree: an empty object as a
list element (the scan does not count it), carriage returns. Such files take the line scan."""


def _decode_pretty(data: bytes) -> TrajectoryScan | None:
    """The facts of a pretty-printed trajectory from one typed decode, or ``None`` when the
    file is not plainly of that shape (the line scan then decides)."""
    if not _PRETTY_RE.match(data) or any(bad in data for bad in _AWKWARD):
        return None
    try:
        top = _TOP.decode(data)
        calls = _CALLS.decode(top.llm_interactions) if _is_list(top.llm_interactions) else None
        steps = _STEPS.decode(top.agent_steps) if _is_list(top.agent_steps) else None
    except (msgspec.DecodeError, RecursionError, MemoryError):
        return None
    scan = TrajectoryScan()
    for raw, parsed, attr in (
        (top.llm_interactions, calls, "llm_calls"),
        (top.agent_steps, steps, "steps"),
    ):
        if raw is _NONE:
            continue
        if parsed is None and _head(raw, 5) != b"null":
            return None  # neither a list nor null: the line scan's business
        setattr(scan, attr, 0)
    if calls is not None:
        scan.llm_calls = len(calls)
        for call in calls:
            usage = call.response.usage if call.response is not None else None
            if usage is None:
                continue
            tokens_in, tokens_out = _int(usage.input_tokens), _int(usage.output_tokens)
            if tokens_in is not None:
                scan.input_tokens += tokens_in
                scan.usage_entries += 1
            if tokens_out is not None:
                scan.output_tokens += tokens_out
    if steps is not None:
        scan.steps = sum(1 for step in steps if _head(step, 1) == b"{")
    if top.success is not _NONE:
        text = bytes(top.success)
        scan.success = text.startswith(b"true") if text[:4] in (b"true", b"fals") else None
        at = data.rfind(b'\n  "success": ')
        scan.success_line = data.count(b"\n", 0, at) + 2 if at >= 0 else None
    if top.start_time is not _NONE:
        scan.start_time = _json_string(bytes(top.start_time).decode("utf-8"))
    if top.final_result is not _NONE:
        text = bytes(top.final_result)
        scan.max_steps_exceeded = text[:1] == b'"' and b"exceeded maximum steps" in text
    return scan


def _head(raw: msgspec.Raw, size: int) -> bytes:
    """The first ``size`` bytes of a raw value, without copying the rest."""
    return bytes(memoryview(raw)[:size])


def _is_list(raw: msgspec.Raw) -> bool:
    return _head(raw, 1) == b"["


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


def _parse_compact(raw: bytes) -> TrajectoryScan:
    scan = TrajectoryScan(shape="compact")
    text = raw.decode("utf-8", "replace")
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
