"""The waivers file (``--e2e-waivers=FILE``): known findings accepted for a while, by someone.

A waiver names a rule, the items it covers (runs, groups or claims by glob, or the dataset),
a reason, an owner and an expiry date. Until that date a finding it matches does not fail;
after it, the finding fails again and its message names the owner and the date. The file is
read once per process (workers too) with PyYAML's composer, so every problem is a
``pytest.UsageError`` naming ``file:line``; no YAML object is ever constructed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import pytest
import yaml

from ._text import clean
from .findings import Finding
from .rules import Rule, RuleKind
from .scanning.files import FileProblem, read_bytes

MAX_WAIVERS_BYTES = 4 << 20
"""Largest waivers file read (a real one is a few KB)."""
NO_GLOB_RULES = frozenset({"unreadable-record"})
"""Rules waived only run by run: a glob could hide runs the audit cannot read."""

SELECTORS: dict[RuleKind, Literal["runs", "groups", "claims", "dataset"]] = {
    "run": "runs",
    "group": "groups",
    "dataset": "dataset",
    "claim": "claims",
}
"""The key that says which items a waiver covers, by the kind of its rule."""
FIELDS = ("rule", *SELECTORS.values(), "reason", "owner", "expires")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAGIC_RE = re.compile(r"[*?]")
_NULL_TAG = "tag:yaml.org,2002:null"


@functools.lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` as a regular expression over a whole ``/``-separated id: ``*`` matches
    within one folder name, ``**`` any number of folders, ``?`` one character; nothing else
    is special."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True)
class Waiver:
    """One entry of the waivers file."""

    index: int
    """Position in the file (0-based): how reports name it across processes."""
    line: int
    """Line of the entry in the file."""
    rule: Rule
    patterns: tuple[str, ...]
    """Globs over the items' subjects (run ids, group folders, claim ids); ``("dataset",)``
    for the dataset item."""
    reason: str
    owner: str
    expires: date
    """Last day the waiver holds."""

    def covers(self, kind: RuleKind, subject: str, finding: Finding) -> bool:
        if finding.rule != self.rule.name or kind != self.rule.kind:
            return False
        return any(glob_regex(p).fullmatch(subject) for p in self.patterns)

    def expired(self, today: date) -> bool:
        return today > self.expires

    @property
    def key(self) -> Literal["runs", "groups", "claims", "dataset"]:
        """The file's key that chose the items: ``runs``, ``groups``, ``claims``, ``dataset``."""
        return SELECTORS[self.rule.kind]

    @property
    def selector(self) -> str:
        """``runs 'a/*'``, for messages."""
        if self.rule.kind == "dataset":
            return "dataset"
        return f"{self.key} " + ", ".join(repr(p) for p in self.patterns)

    def label(self, path: Path) -> str:
        """``waivers.yaml:4``: where the waiver is."""
        return f"{path.name}:{self.line}"


@dataclass(frozen=True)
class WaiverSet:
    """A validated waivers file."""

    path: Path
    """The file (absolute)."""
    waivers: tuple[Waiver, ...]

    def matching(self, kind: RuleKind, subject: str, finding: Finding) -> list[Waiver]:
        return [w for w in self.waivers if w.covers(kind, subject, finding)]


def load_waivers(path: Path, where: str, catalogue: Sequence[Rule]) -> WaiverSet:
    """Read and validate a waivers file, or raise ``pytest.UsageError`` naming ``file:line``."""
    try:
        text = read_bytes(path, MAX_WAIVERS_BYTES).decode("utf-8-sig")
    except FileProblem as exc:
        raise pytest.UsageError(f"{where}: {path} {exc.problem}") from None
    except UnicodeDecodeError as exc:
        raise pytest.UsageError(f"{where}: {path} is not valid UTF-8 (byte {exc.start})") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "unreadable"
        raise pytest.UsageError(f"{where}: {path}:{line}: not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise pytest.UsageError(f"{where}: {path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return WaiverSet(path, tuple(_Reader(path, where, catalogue).document(root)))


class _Reader:
    """Walks the composed nodes of a waivers file; every refusal names its line."""

    def __init__(self, path: Path, where: str, catalogue: Sequence[Rule]) -> None:
        self.path = path
        self.where = where
        self.catalogue = catalogue

    def fail(self, node: yaml.Node | None, field: str, message: str) -> pytest.UsageError:
        line = node.start_mark.line + 1 if node is not None else 1
        return pytest.UsageError(f"{self.where}: {self.path}:{line}: {field}: {message}")

    def pairs(self, node: yaml.Node, field: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, field, "expected a mapping of keys to values")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.fail(key, field, "a key is not a plain value")
            if key.value in out:
                raise self.fail(key, f"{field}.{key.value}", "the key is written twice")
            out[key.value] = (key, value)
        return out

    def document(self, root: yaml.Node | None) -> list[Waiver]:
        if root is None:
            raise self.fail(None, "the file", "is empty; expected 'waivers:' and a list")
        top = self.pairs(root, "the file")
        extra = sorted(set(top) - {"waivers"})
        if extra:
            raise self.fail(top[extra[0]][0], extra[0], "unknown key; expected only 'waivers'")
        if "waivers" not in top:
            raise self.fail(root, "the file", "has no 'waivers:' list")
        entries = top["waivers"][1]
        if _is_null(entries):
            return []
        if not isinstance(entries, yaml.SequenceNode):
            raise self.fail(entries, "waivers", "expected a list of waivers")
        return [self.waiver(i, node) for i, node in enumerate(entries.value)]

    def waiver(self, index: int, node: yaml.Node) -> Waiver:
        field = f"waivers[{index}]"
        keys = self.pairs(node, field)
        for name, (key, _) in keys.items():
            if name not in FIELDS:
                raise self.fail(
                    key, f"{field}.{name}", f"unknown key; expected {', '.join(FIELDS)}"
                )
        for name in ("rule", "reason", "owner", "expires"):
            if name not in keys:
                raise self.fail(node, field, f"'{name}' is missing (every waiver needs {name})")
        rule = self.rule(*keys["rule"], f"{field}.rule")
        patterns = self.selector(rule, keys, node, field)
        reason = clean(self.required(keys["reason"][1], f"{field}.reason"), 500)
        owner = clean(self.required(keys["owner"][1], f"{field}.owner"), 120)
        expires = self.date(keys["expires"][1], f"{field}.expires")
        return Waiver(index, node.start_mark.line + 1, rule, patterns, reason, owner, expires)

    def text(self, node: yaml.Node, field: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, field, "expected a single value")
        return "" if _is_null(node) else str(node.value)

    def required(self, node: yaml.Node, field: str) -> str:
        value = self.text(node, field) or ""
        if not value.strip():
            raise self.fail(node, field, "is empty")
        return value

    def rule(self, key: yaml.Node, node: yaml.Node, field: str) -> Rule:
        token = self.required(node, field).strip()
        for entry in self.catalogue:
            if token.upper() == entry.code or token.lower() == entry.name:
                return entry
        shown = ", ".join(f"{r.code} {r.name}" for r in self.catalogue)
        raise self.fail(node, field, f"unknown rule {clean(token, 60)!r}; valid: {shown}")

    def date(self, node: yaml.Node, field: str) -> date:
        text = self.required(node, field).strip()
        try:
            if not _DATE_RE.match(text):
                raise ValueError(text)
            return date.fromisoformat(text)
        except ValueError:
            raise self.fail(
                node, field, f"expected a date YYYY-MM-DD, got {clean(text, 60)!r}"
            ) from None

    def selector(
        self,
        rule: Rule,
        keys: dict[str, tuple[yaml.Node, yaml.Node]],
        node: yaml.Node,
        field: str,
    ) -> tuple[str, ...]:
        given = [name for name in SELECTORS.values() if name in keys]
        wanted = SELECTORS[rule.kind]
        if given != [wanted]:
            what = f"{len(given)} of them ({', '.join(given)})" if given else "none"
            needed = "'dataset: true'" if wanted == "dataset" else f"'{wanted}:'"
            raise self.fail(
                keys[given[0]][0] if given else node,
                field,
                f"{rule.code} {rule.name} checks a {rule.kind}, so the waiver needs {needed} "
                f"and no other of {', '.join(SELECTORS.values())}; found {what}",
            )
        value = keys[wanted][1]
        where = f"{field}.{wanted}"
        if wanted == "dataset":
            if self.text(value, where) != "true":
                raise self.fail(value, where, "expected 'true' (the one dataset item)")
            return ("dataset",)
        nodes = value.value if isinstance(value, yaml.SequenceNode) else [value]
        if not nodes:
            raise self.fail(value, where, "the list is empty")
        patterns = tuple(self.required(n, where).strip() for n in nodes)
        if rule.name in NO_GLOB_RULES:
            for n, pattern in zip(nodes, patterns, strict=True):
                if _MAGIC_RE.search(pattern):
                    raise self.fail(
                        n,
                        where,
                        f"{rule.name} is waived run by run: name each run id without "
                        f"wildcards ({clean(pattern, 60)!r} could hide runs the audit cannot "
                        "read)",
                    )
        return patterns


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and (
        node.tag == _NULL_TAG or (node.value in ("", "~", "null") and not node.style)
    )
