"""JSON documents with the line of every value, for ``file:line`` evidence."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files import FileProblem, read_bytes

MAX_JSON_BYTES = 64 << 20
"""Largest JSON record read whole (journals are a few KB; diff_targets can reach MBs)."""

_TOKEN_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+')

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class JsonDoc:
    """A parsed JSON value and the 1-based line where each value (by path) starts."""

    value: Any
    lines: dict[JsonPath, int] = field(repr=False)

    def line(self, *path: str | int) -> int | None:
        return self.lines.get(path)

    def get(self, *path: str | int) -> Any:
        """The value at ``path``, or ``None`` when any step is missing or of the wrong type."""
        node = self.value
        for step in path:
            if isinstance(step, str) and isinstance(node, dict):
                node = node.get(step)
            elif (
                isinstance(step, int) and isinstance(node, list) and -len(node) <= step < len(node)
            ):
                node = node[step]
            else:
                return None
        return node


def parse_json_text(text: str) -> JsonDoc:
    """Parse ``text``; raise ``ValueError`` with a readable reason when it is not JSON."""
    if not text.strip():
        raise ValueError("is empty" if not text else "holds only whitespace")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"(line {exc.lineno}, column {exc.colno})"
        unterminated = exc.msg.startswith("Unterminated string") and '"' not in text[exc.pos + 1 :]
        if unterminated or exc.pos >= len(text.rstrip()):
            raise ValueError(f"is truncated: {exc.msg} {where}") from None
        raise ValueError(f"is not valid JSON: {exc.msg} {where}") from None
    except RecursionError:
        raise ValueError("is nested too deeply to parse") from None
    return JsonDoc(value, _value_lines(text))


def load_json(path: Path, limit: int = MAX_JSON_BYTES) -> JsonDoc:
    """Read and parse a JSON file; ``FileProblem`` names what is wrong with it."""
    data = read_bytes(path, limit)
    if not data:
        raise FileProblem("is empty (0 bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"is not valid UTF-8 (byte {exc.start}); not JSON") from None
    try:
        return parse_json_text(text)
    except ValueError as exc:
        raise FileProblem(str(exc)) from None


def _value_lines(text: str) -> dict[JsonPath, int]:
    """Map each value's path to the line it starts on, walking the (already valid) tokens."""
    lines: dict[JsonPath, int] = {}
    # Each open container: [is_object, key_or_index, awaiting_key]
    stack: list[list[Any]] = []
    line = 1
    last = 0
    for match in _TOKEN_RE.finditer(text):
        tok = match.group()
        pos = match.start()
        line += text.count("\n", last, pos)
        last = pos
        top = stack[-1] if stack else None
        if tok in ("}", "]"):
            stack.pop()
            continue
        if tok == ":":
            continue
        if tok == ",":
            if top is not None:
                if top[0]:
                    top[2] = True
                else:
                    top[1] += 1
            continue
        if top is not None and top[0] and top[2]:
            top[1] = json.loads(tok)
            top[2] = False
            continue
        lines[tuple(entry[1] for entry in stack)] = line
        if tok == "{":
            stack.append([True, None, True])
        elif tok == "[":
            stack.append([False, 0, False])
    return lines
