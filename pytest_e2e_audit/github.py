"""GitHub Actions output: error annotations for failing runs and a Markdown job summary."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from ._text import clean

MAX_ANNOTATIONS = 50
"""GitHub shows at most 50 annotations of a kind per job; more only add noise to the log."""


_FINDING_RE = re.compile(r"^([A-Z][A-Z0-9]*[0-9]{3} [a-z0-9][a-z0-9-]*):")


def active() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def error_annotations(failures: Sequence[tuple[str, str]]) -> list[str]:
    """``::error`` workflow commands, one per failing run (first finding as the title)."""
    lines = []
    for nodeid, text in failures[:MAX_ANNOTATIONS]:
        first = text.split("\n", 1)[0]
        # A finding line starts "E2E003 success-nonzero-exit: ..."; anything else (a report
        # that is not a finding) gets a fixed title, never a line of someone's traceback.
        code = _FINDING_RE.match(first)
        title = _escape(code.group(1) if code else "e2e audit").replace(",", "%2C")
        lines.append(f"::error title={title}::{_escape(clean(nodeid, 300))}%0A{_escape(text)}")
    if len(failures) > MAX_ANNOTATIONS:
        lines.append(
            f"::warning title=e2e audit::{len(failures) - MAX_ANNOTATIONS} more failing runs "
            "are not annotated; see the job log or the reports"
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
