"""GitHub Actions output: error annotations for failing runs and a Markdown job summary."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._text import clean

MAX_ANNOTATIONS = 10
"""GitHub shows 10 annotations of a kind per step (50 per job): the 10 most serious are
annotated, and one line counts the rest."""


_FINDING_RE = re.compile(r"^([A-Z][A-Z0-9]*[0-9]{3} [a-z0-9][a-z0-9-]*):")


def active() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


Failure = tuple[str, str, "dict[str, Any] | None"]
"""(node id, failure text, the report's annotation: severity, rank, path and line)."""


def rank(failure: Failure) -> tuple[int, int, str, str]:
    """Most serious first: severity, a success that is not one, rule code, node id."""
    note = failure[2] or {}
    rank = note.get("rank") or [1, "~"]
    return (-int(note.get("severity", 0)), int(rank[0]), str(rank[1]), failure[0])


def _where(note: dict[str, Any] | None) -> str:
    """``file=…,line=…,`` for a file inside the workspace (GitHub attaches it there)."""
    if not note or not note.get("path"):
        return ""
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    path = Path(str(note["path"]))
    if not path.is_relative_to(workspace) or not path.is_file():
        return ""
    rel = _property(clean(path.relative_to(workspace).as_posix(), 500))
    line = note.get("line")
    return f"file={rel}," + (f"line={int(line)}," if isinstance(line, int) else "")


def _property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def error_annotations(failures: Sequence[Failure]) -> list[str]:
    """``::error`` workflow commands for the most serious failing items: by severity, then a
    success that is not one before other findings, then rule code; at most
    ``MAX_ANNOTATIONS``, and one line saying how many more there are."""
    ranked = sorted(failures, key=rank)
    lines = []
    for nodeid, text, note in ranked[:MAX_ANNOTATIONS]:
        first = text.split("\n", 1)[0]
        # A finding line starts "E2E003 success-nonzero-exit: ..."; anything else (a report
        # that is not a finding) gets a fixed title, never a line of someone's traceback.
        code = _FINDING_RE.match(first)
        named = str((note or {}).get("title") or (code.group(1) if code else "e2e audit"))
        title = _property(clean(named, 100))
        lines.append(
            f"::error {_where(note)}title={title}::{_escape(clean(nodeid, 300))}%0A{_escape(text)}"
        )
    if len(ranked) > MAX_ANNOTATIONS:
        lines.append(
            f"::warning title=e2e audit::{len(ranked) - MAX_ANNOTATIONS:,} more failing items "
            "are not annotated (the most serious are above); see the job summary or the reports"
        )
    return lines


def write_summary(markdown: str) -> bool:
    """Append to the job summary file when GitHub provides one."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(Path(target), "a", encoding="utf-8") as fh:
        fh.write(markdown.rstrip() + "\n")
    return True


def md_code(text: str, limit: int = 300) -> str:
    """Untrusted text as an inline code span: nothing in it renders (no link, image, HTML
    or emphasis), and a backtick cannot close the span early."""
    body = clean(text, limit).replace("`", "'")
    return f"`{body}`" if body.strip() else "` `"


def md_text(text: str, limit: int = 500) -> str:
    """Text of the plugin's own that may embed untrusted parts, with Markdown and HTML
    punctuation escaped so it renders as the characters it holds."""
    body = clean(text, limit)
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~&])", r"\\\1", body)
