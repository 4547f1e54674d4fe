"""Making untrusted text (run ids, log lines, error strings) safe to show."""

from __future__ import annotations

import re

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
_NODE_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._\-/+=@,]")


def clean(text: str, limit: int = 200) -> str:
    """Strip ANSI escapes and control characters, fold newlines, shorten with a marker."""
    text = ANSI_RE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\n", " ⏎ ").replace("\t", " ")
    text = _CONTROL_RE.sub("?", text)
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def quote(text: str, limit: int = 200) -> str:
    """``clean`` and wrap in double quotes, for values inside a message."""
    return '"' + clean(text, limit) + '"'


def node_name(run_id: str) -> str:
    """A pytest node name for a run id: only characters that are safe in ids, HTML and JUnit."""
    name = _NODE_UNSAFE_RE.sub("_", run_id)
    return name or "_"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (many or word + 's')}"
