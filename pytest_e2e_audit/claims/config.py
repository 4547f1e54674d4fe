"""YAML, JSON and TOML documents with the line of every value, for ``file:line`` evidence.

Used for the claims file itself and for the agent configs a claim is checked against.
YAML is read with ``yaml.SafeLoader`` node marks only (never an unsafe loader); JSON reuses
``scanning.jsondoc``; TOML values come from ``tomllib`` and their lines from a simple scan.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ..scanning.files import FileProblem, read_bytes
from ..scanning.jsondoc import parse_json_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 (the ``tomli`` dependency)
    tomllib = importlib.import_module("tomli")

MAX_DOCUMENT_BYTES = 8 << 20
"""Largest config or claims file read (configs are a few KB)."""
MAX_YAML_NODES = 200_000
"""Nodes visited in one YAML document before it is refused (alias bombs expand)."""

DocPath = tuple[str | int, ...]
Format = Literal["yaml", "json", "toml"]


class DocumentError(Exception):
    """A document cannot be read; ``problem`` is a phrase that follows the file name."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


@dataclass(frozen=True)
class Document:
    """A parsed document: plain Python values, mapping keys as text, and value lines."""

    value: Any
    lines: dict[DocPath, int] = field(repr=False)
    """1-based line of each value by path (for YAML and TOML, the line of its key)."""

    def line(self, path: DocPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return None


def document_format(path: Path) -> Format:
    """JSON or TOML by any suffix of the name (``x.toml.example`` is TOML), YAML otherwise."""
    suffixes = {s.lower() for s in path.suffixes}
    if ".json" in suffixes:
        return "json"
    if ".toml" in suffixes:
        return "toml"
    return "yaml"


def read_document(path: Path) -> Document:
    """Read and parse ``path`` by its format; ``DocumentError`` says what is wrong."""
    try:
        data = read_bytes(path, MAX_DOCUMENT_BYTES)
    except FileProblem as exc:
        raise DocumentError(exc.problem) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"is not valid UTF-8 (byte {exc.start})") from None
    return parse_document(text, document_format(path))


def parse_document(text: str, fmt: Format) -> Document:
    if fmt == "json":
        return parse_json(text)
    if fmt == "toml":
        return parse_toml(text)
    return parse_yaml(text)


# -- JSON ------------------------------------------------------------------------------


def parse_json(text: str) -> Document:
    try:
        doc = parse_json_text(text)
    except ValueError as exc:
        raise DocumentError(str(exc)) from None
    return Document(doc.value, doc.lines)


# -- YAML ------------------------------------------------------------------------------


def parse_yaml(text: str) -> Document:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return Document(None, {(): 1})
        walker = _YamlWalker(loader)
        value = walker.walk(root, (), root.start_mark.line + 1)
        return Document(value, walker.lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        where = f" (line {line}, column {mark.column + 1})" if mark is not None else ""
        problem = exc.problem or exc.context or "unreadable"
        raise DocumentError(f"is not valid YAML: {problem}{where}", line) from None
    except yaml.YAMLError as exc:
        raise DocumentError(f"is not valid YAML: {exc}") from None
    except RecursionError:
        raise DocumentError("is nested too deeply to read") from None
    finally:
        loader.dispose()


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


class _YamlWalker:
    """Builds plain values from composed nodes, recording the line of each key."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        self.lines: dict[DocPath, int] = {}
        self.budget = MAX_YAML_NODES
        self.active: set[int] = set()

    def walk(self, node: yaml.Node, path: DocPath, line: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise DocumentError(f"has more than {MAX_YAML_NODES:,} values (aliases expanded)")
        self.lines[path] = line
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node, deep=True)
        if id(node) in self.active:
            raise DocumentError(f"holds an alias to itself (line {line})", line)
        if node.tag not in _PLAIN_TAGS:
            raise DocumentError(
                f"is not valid YAML: tag {node.tag!r} is not read (line {line})", line
            )
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                self.loader.flatten_mapping(node)
                out: dict[str, Any] = {}
                for key, value in node.value:
                    key_line = key.start_mark.line + 1
                    if not isinstance(key, yaml.ScalarNode):
                        raise DocumentError(
                            f"has a mapping key that is not a plain value (line {key_line})",
                            key_line,
                        )
                    out[key.value] = self.walk(value, (*path, key.value), key_line)
                return out
            if isinstance(node, yaml.SequenceNode):
                return [
                    self.walk(item, (*path, index), item.start_mark.line + 1)
                    for index, item in enumerate(node.value)
                ]
            raise DocumentError(f"has a node of unknown kind (line {line})", line)
        finally:
            self.active.discard(id(node))


# -- TOML ------------------------------------------------------------------------------


def parse_toml(text: str) -> Document:
    try:
        value = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DocumentError(f"is not valid TOML: {exc}") from None
    return Document(value, _toml_lines(text))


def _toml_lines(text: str) -> dict[DocPath, int]:
    """Lines of TOML keys and table headers by a line scan (values inside inline tables and
    multi-line arrays take their key's line)."""
    lines: dict[DocPath, int] = {(): 1}
    table: DocPath = ()
    array_index: dict[tuple[str, ...], int] = {}
    open_string: str | None = None
    depth = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if open_string is not None:
            if open_string in raw:
                open_string = None
            continue
        if depth > 0:
            depth = max(depth + _bracket_delta(raw), 0)
            continue
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[["):
            keys = tuple(_split_key(line[2 : line.find("]]")]))
            array_index[keys] = array_index.get(keys, -1) + 1
            for other in [k for k in array_index if len(k) > len(keys) and k[: len(keys)] == keys]:
                del array_index[other]
            table = _table_path(keys, array_index)
            _set_line(lines, table, number)
        elif line.startswith("["):
            keys = tuple(_split_key(line[1 : line.find("]")]))
            table = _table_path(keys, array_index)
            _set_line(lines, table, number)
        else:
            key_text, value_text = _split_assignment(line)
            if value_text is None:
                continue
            _set_line(lines, table + tuple(_split_key(key_text)), number)
            value_text = value_text.strip()
            delimiter = value_text[:3]
            if delimiter in ('"""', "'''"):
                if value_text.count(delimiter) < 2:
                    open_string = delimiter
            else:
                depth = max(_bracket_delta(value_text), 0)
    return lines


def _set_line(lines: dict[DocPath, int], path: DocPath, number: int) -> None:
    for end in range(1, len(path)):
        lines.setdefault(path[:end], number)
    lines[path] = number


def _table_path(keys: tuple[str, ...], array_index: dict[tuple[str, ...], int]) -> DocPath:
    """``a.b`` under ``[[a]]`` is ``a.<last index>.b``."""
    out: list[str | int] = []
    for end in range(1, len(keys) + 1):
        out.append(keys[end - 1])
        index = array_index.get(keys[:end])
        if index is not None:
            out.append(index)
    return tuple(out)


def _unquoted(text: str) -> Iterator[tuple[int, str]]:
    """Characters outside TOML strings and comments, with their positions."""
    quote: str | None = None
    escaped = False
    for pos, char in enumerate(text):
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
        elif char == "#":
            return
        else:
            yield pos, char


def _bracket_delta(text: str) -> int:
    delta = 0
    for _, char in _unquoted(text):
        if char in "[{":
            delta += 1
        elif char in "]}":
            delta -= 1
    return delta


def _split_assignment(line: str) -> tuple[str, str | None]:
    for pos, char in _unquoted(line):
        if char == "=":
            return line[:pos], line[pos + 1 :]
    return line, None


def _split_key(text: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for pos, char in _unquoted(text):
        if char == ".":
            parts.append(text[start:pos])
            start = pos + 1
    parts.append(text[start:])
    return [_unquote(part.strip()) for part in parts]


def _unquote(key: str) -> str:
    if len(key) >= 2 and key[0] == key[-1] == "'":
        return key[1:-1]
    if len(key) >= 2 and key[0] == key[-1] == '"':
        try:
            return str(json.loads(key))
        except ValueError:
            return key[1:-1]
    return key
