"""JSON documents whose values can be located by line, for ``file:line`` evidence.

The value is parsed by ``json.loads`` (C speed). A value's line is found only when it is asked
for: a walk down the text along that one path, which skips every other value with the C
scanner, so time and memory stay linear in the file's size whatever its shape.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .files import FileProblem, check_file, read_bytes

MAX_JSON_BYTES = 64 << 20
"""Largest JSON record read whole (journals are a few KB; diff_targets can reach MBs)."""

JsonPath = tuple[str | int, ...]

_WS_RE = re.compile(r"[ \t\n\r]*")
_CACHED_DEPTH = 16
"""Where a value starts is remembered for paths up to this deep."""
_SEP_RE = re.compile(r"[ \t\n\r]*([,:}\]])[ \t\n\r]*")
_scan: Callable[[str, int], tuple[Any, int]]
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
"""The C scanner: the value starting at an offset and the offset after it."""


class JsonDoc:
    """A parsed JSON value; ``line(*path)`` is the 1-based line where the value at ``path``
    starts, computed on demand and remembered."""

    __slots__ = (
        "value",
        "duplicate_keys",
        "_text",
        "_root",
        "_found",
        "_objects",
        "_cursors",
        "_mark",
    )

    def __init__(self, value: Any, text: str, duplicate_keys: tuple[JsonPath, ...] = ()) -> None:
        self.value = value
        self.duplicate_keys = duplicate_keys
        """Paths of keys written more than once in one object (when checked), in document
        order; the value keeps the last one, as ``json`` does."""
        self._text = text
        self._root = _skip_ws(text, 0)
        self._found: dict[JsonPath, int | None] = {}
        """Offset where the value at each path asked for (and its ancestors) starts."""
        self._objects: dict[int, dict[str, int]] = {}
        """For each object walked (by offset): its keys and where their values start."""
        self._cursors: dict[int, tuple[int, int]] = {}
        """For each array walked (by offset): the last element reached and its offset."""
        self._mark = (0, 1)
        """The last offset converted to a line, and its line."""

    def __repr__(self) -> str:
        return f"<JsonDoc: a JSON {type(self.value).__name__}, {len(self._text):,} characters>"

    @property
    def lines(self) -> LineMap:
        """The lines as a read-only ``dict`` (for ``claims.config.Document``)."""
        return LineMap(self.line)

    def line(self, *path: str | int) -> int | None:
        """The line where the value at ``path`` starts, or ``None`` when there is none."""
        try:
            offset = self._offset(path)
        except (RecursionError, ValueError, IndexError, StopIteration):  # pragma: no cover
            return None
        return None if offset is None else self._line_at(offset)

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

    def _offset(self, path: JsonPath) -> int | None:
        offset = self._root
        for depth in range(1, len(path) + 1):
            if depth > _CACHED_DEPTH:  # no prefix tuple per level: deep paths cost no memory
                found = self._child(offset, path, depth)
            elif path[:depth] in self._found:
                found = self._found[path[:depth]]
            else:
                found = self._found[path[:depth]] = self._child(offset, path, depth)
            if found is None:
                return None
            offset = found
        return offset

    def _child(self, offset: int, path: JsonPath, depth: int) -> int | None:
        """Where the value at ``path[:depth]`` starts, its parent starting at ``offset``."""
        step = path[depth - 1]
        opener = self._text[offset]
        if opener == "{" and isinstance(step, str):
            keys = self._objects.get(offset)
            if keys is None:
                keys = self._objects[offset] = self._keys(offset)
            return keys.get(step)
        if opener == "[" and isinstance(step, int):
            if step < 0:
                node = self.get(*path[: depth - 1])
                step += len(node) if isinstance(node, list) else 0
            return self._element(offset, step) if step >= 0 else None
        return None

    def _keys(self, offset: int) -> dict[str, int]:
        """Keys of the object at ``offset`` and where each value starts (the last one wins)."""
        text = self._text
        keys: dict[str, int] = {}
        pos = _skip_ws(text, offset + 1)
        if text[pos] == "}":
            return keys
        while True:
            key, pos = _scan(text, pos)
            pos = _separator(text, pos)[1]  # past the colon
            keys[key] = pos
            sep, pos = _separator(text, _scan(text, pos)[1])
            if sep != ",":
                return keys

    def _element(self, offset: int, index: int) -> int | None:
        """Where element ``index`` of the array at ``offset`` starts, resuming the last walk."""
        text = self._text
        at, pos = self._cursors.get(offset, (0, -1))
        if pos < 0 or index < at:
            at, pos = 0, _skip_ws(text, offset + 1)
            if text[pos] == "]":
                return None
        while at < index:
            sep, pos = _separator(text, _scan(text, pos)[1])
            if sep != ",":
                return None
            at += 1
        self._cursors[offset] = (at, pos)
        return pos

    def _line_at(self, offset: int) -> int:
        start, line = self._mark if offset >= self._mark[0] else (0, 1)
        line += self._text.count("\n", start, offset)
        self._mark = (offset, line)
        return line


class LineMap(dict[JsonPath, int]):
    """A ``dict`` view of a document's lines whose lookups (``get``, ``[]``, ``in``) compute
    the line on demand; iterating it yields nothing, since the lines are never all built."""

    def __init__(self, find: Callable[..., int | None]) -> None:
        super().__init__()
        self._find = find

    def get(self, key: JsonPath, default: Any = None, /) -> Any:
        found = self._find(*key)
        return default if found is None else found

    def __getitem__(self, key: JsonPath) -> int:
        found = self._find(*key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self._find(*key) is not None


def parse_json_text(text: str, *, check_duplicates: bool = False) -> JsonDoc:
    """Parse ``text``; raise ``ValueError`` with a readable reason when it is not JSON.

    With ``check_duplicates`` the document's ``duplicate_keys`` lists repeated keys.
    """
    if not text or text.isspace():
        raise ValueError("is empty" if not text else "holds only whitespace")
    duplicates = _Duplicates() if check_duplicates else None
    try:
        if duplicates is None:
            value = json.loads(text)
        else:
            value = json.loads(text, object_pairs_hook=duplicates.hook)
    except json.JSONDecodeError as exc:
        where = f"(line {exc.lineno}, column {exc.colno})"
        unterminated = exc.msg.startswith("Unterminated string") and '"' not in text[exc.pos + 1 :]
        if unterminated or exc.pos >= len(text.rstrip()):
            raise ValueError(f"is truncated: {exc.msg} {where}") from None
        raise ValueError(f"is not valid JSON: {exc.msg} {where}") from None
    except RecursionError:
        raise ValueError("is nested too deeply to parse") from None
    except ValueError as exc:
        limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
        if "digits" in str(exc) and limit:
            raise ValueError(f"holds a number with more than {limit:,} digits") from None
        raise ValueError(f"is not valid JSON: {exc}") from None
    except MemoryError:
        raise ValueError(f"is too large to parse: {len(text):,} characters") from None
    except Exception as exc:  # any other decoder failure is a reason, never a crash
        raise ValueError(f"could not be parsed: {type(exc).__name__}") from None
    found = duplicates.paths(value) if duplicates is not None else ()
    return JsonDoc(value, text, found)


def load_json(
    path: Path,
    limit: int = MAX_JSON_BYTES,
    *,
    check_duplicates: bool = False,
    expected: os.stat_result | None = None,
) -> JsonDoc:
    """Read and parse a JSON file; ``FileProblem`` names what is wrong with it.

    ``expected`` is the ``os.stat_result`` from ``check_file``: the file read must be that one.
    """
    data = read_bytes(path, limit, expected=expected)
    if not data:
        raise FileProblem("is empty (0 bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"is not valid UTF-8 (byte {exc.start}); not JSON") from None
    del data
    try:
        return parse_json_text(text, check_duplicates=check_duplicates)
    except ValueError as exc:
        raise FileProblem(str(exc)) from None


def load_json_file(path: Path, root: Path, *, check_duplicates: bool = False) -> JsonDoc | None:
    """``load_json`` for a file of the results tree: None when it does not exist,
    ``FileProblem`` when it cannot be used (a link out of ``root``, a FIFO, bad JSON)."""
    st = check_file(path, root)
    if st is None:
        return None
    return load_json(path, check_duplicates=check_duplicates, expected=st)


def _skip_ws(text: str, pos: int) -> int:
    match = _WS_RE.match(text, pos)
    return pos if match is None else match.end()


def _separator(text: str, pos: int) -> tuple[str, int]:
    """The separator or closing bracket at ``pos`` (after blanks), and the offset after it."""
    match = _SEP_RE.match(text, pos)
    if match is None:  # pragma: no cover - the text was parsed
        raise ValueError(f"no separator at offset {pos}")
    return match.group(1), match.end()


class _Duplicates:
    """An ``object_pairs_hook`` noting repeated keys; their paths are assembled bottom-up.

    An object holding a repeated key, or with such an object below it, waits in ``pending``
    (by id, kept alive) with the paths relative to it until the object above takes them. Lists
    are searched only while something is pending, and each list by one object only, so the
    cost stays linear.
    """

    def __init__(self) -> None:
        self.pending: dict[int, tuple[dict[str, Any], list[JsonPath]]] = {}

    def hook(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        repeated = len(obj) != len(pairs)
        if not repeated and not self.pending:
            return obj
        found: list[JsonPath] = []
        seen: set[str] = set()
        for key, value in pairs:
            if repeated:
                if key in seen:
                    found.append((key,))
                seen.add(key)
            if self.pending and isinstance(value, (dict, list)):
                self._collect(value, (key,), found)
        if found:
            self.pending[id(obj)] = (obj, found)
        return obj

    def paths(self, value: Any) -> tuple[JsonPath, ...]:
        found: list[JsonPath] = []
        self._collect(value, (), found)
        return tuple(dict.fromkeys(found))

    def _collect(self, value: Any, path: JsonPath, found: list[JsonPath]) -> None:
        """Take the pending paths of objects at or below ``value`` (lists walked in order)."""
        if isinstance(value, dict):
            self._take(value, path, found)
            return
        if not isinstance(value, list):
            return
        stack = [(path, iter(enumerate(value)))]
        while stack:
            base, items = stack[-1]
            for index, item in items:
                if isinstance(item, dict):
                    self._take(item, (*base, index), found)
                elif isinstance(item, list) and item:
                    stack.append(((*base, index), iter(enumerate(item))))
                    break
            else:
                stack.pop()

    def _take(self, obj: dict[str, Any], path: JsonPath, found: list[JsonPath]) -> None:
        entry = self.pending.pop(id(obj), None)  # ids are unique: pending objects are alive
        if entry is not None:
            found.extend((*path, *rest) for rest in entry[1])
