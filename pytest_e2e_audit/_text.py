"""Making untrusted text (run ids, log lines, error strings) safe to show.

Everything read from a results tree is untrusted: it may hold control characters, terminal
escapes, lone surrogates (a JSON ``"\\ud800"`` or a folder name that is not UTF-8), text that
starts a GitHub workflow command, or a credential an agent printed. ``clean`` is applied to
every such text before it reaches a message, a property, a report or another process.
"""

from __future__ import annotations

import math
import re
from collections import Counter

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_CONTROL_RE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]"
)
_LINE_BREAK_RE = re.compile(r"\r\n|[\n\r\u0085\u2028\u2029]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_NODE_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._\-/+=@,]")

MAX_MESSAGE = 2000
"""Longest message (one finding, one property value) that leaves the process."""

_SECRET_WORD_RE = re.compile(
    r"(?:api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|secret|token"
    r"|password|passwd|pwd|credentials?|auth)(?![a-z0-9])"
)
"""Words whose assigned value is a secret, found in the lowercased text: ``OPENAI_API_KEY``,
``access_token``, ``password`` (but not ``max_tokens`` or ``tokenizer``)."""
_ASSIGNED_RE = re.compile(r"""(["']?\s*(?:=|:)\s*["']?)(?!\$\{|\[redacted)([^\s"',;&}\]]{6,})""")
_API_KEY_RE = re.compile(
    r"\b(?:sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
    r"|glpat-[A-Za-z0-9_\-]{20,}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}"
    r"|AIza[0-9A-Za-z_\-]{30,}"
    r"|hf_[A-Za-z0-9]{30,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
)
_API_KEY_MARKS = ("sk-", "AKIA", "ASIA", "gh", "glpat-", "xox", "AIza", "hf_", "eyJ")
_BEARER_RE = re.compile(
    r"(?i)(?<![A-Za-z0-9])(bearer|basic|token)(\s+)(?!\[redacted)[A-Za-z0-9._~+/\-]{12,}=*"
)
_PRIVATE_KEY_RE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[^-]*(?:-----END[^-]*-----)?")
_LONG_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9+/_.\-])[A-Za-z0-9+/]{32,}={0,2}(?![A-Za-z0-9_\-])")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
"""Lowercases ASCII only, so positions in the result are positions in the text."""
_PLACEHOLDERS = frozenset({"null", "none", "true", "false", "undefined", "redacted", "xxxxxx"})


def redact(text: str) -> str:
    """Replace credential-looking values with ``[redacted <kind>]``; keep their key names.

    Recognised: provider key prefixes (``sk-``, ``AKIA``, ``ghp_``, ``AIza``, ``hf_``, JWTs),
    ``Bearer``/``Basic`` tokens, ``*_API_KEY=``/``*_TOKEN=``/``password:`` assignments, and
    long random-looking tokens (mixed case and digits, 32 characters or more). An unexpanded
    ``${VAR}`` is kept: it is evidence, not a secret. Each kind is looked for only when a
    cheap literal check says it may be there: this runs on every message.
    """
    if len(text) < 12:
        return text
    if "-----BEGIN" in text:
        text = _PRIVATE_KEY_RE.sub("[redacted private-key]", text)
    if any(mark in text for mark in _API_KEY_MARKS):
        text = _API_KEY_RE.sub("[redacted api-key]", text)
    lower = text.translate(_ASCII_LOWER)
    if "bearer" in lower or "basic" in lower or "token" in lower:
        text = _BEARER_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted token]", text)
        lower = text.translate(_ASCII_LOWER)
    if "=" in text or ":" in text:
        text = _redact_assignments(text, lower)
    return _LONG_TOKEN_RE.sub(_redact_long, text) if len(text) >= 32 else text


def _redact_assignments(text: str, lower: str) -> str:
    """``<...secret word>=<value>`` and ``"<...secret word>": "<value>"``: the value goes."""
    parts: list[str] = []
    done = 0
    for word in _SECRET_WORD_RE.finditer(lower):
        if word.start() < done:
            continue
        value = _ASSIGNED_RE.match(text, word.end())
        if value is None:
            continue
        secret = value.group(2)
        if secret.lower() in _PLACEHOLDERS or secret.isdigit():
            continue
        parts += [text[done : value.start(2)], "[redacted secret]"]
        done = value.end(2)
    return "".join(parts) + text[done:] if parts else text


def _redact_long(match: re.Match[str]) -> str:
    token = match.group(0)
    lower = any(c.islower() for c in token)
    upper = any(c.isupper() for c in token)
    digit = any(c.isdigit() for c in token)
    if lower and upper and digit and "/" not in token.strip("/") and _entropy(token) >= 4.0:
        return "[redacted token]"
    return token


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character: random tokens score about 5, words about 3.5."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    # Bytes that were not UTF-8 (os.fsdecode's surrogateescape) show as \xNN, other lone
    # surrogates as \uNNNN: visible, and encodable everywhere.
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with lone surrogates escaped, so it encodes as UTF-8 whatever its source."""
    return _SURROGATE_RE.sub(_surrogate, text) if _SURROGATE_RE.search(text) else text


def clean(text: str, limit: int = 200) -> str:
    """One safe line: secrets redacted, ANSI and control characters removed, line breaks
    folded, surrogates escaped, shortened with a marker past ``limit`` characters."""
    if text.isascii() and text.isprintable():
        text = redact(text)  # the common case: nothing to escape or fold
    else:
        text = printable(text)
        if "\x1b" in text:
            text = ANSI_RE.sub("", text)
        text = redact(text)
        text = _LINE_BREAK_RE.sub(" ⏎ ", text).replace("\t", " ")
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
