"""The catalogue of API-error signatures found in agent logs.

Each kind has a stable kebab-case name (used in messages, properties and in the ``stops``
list of a claims file), a tag saying whose fault it usually is (``infra`` for the pipeline,
credentials, quota or provider; ``agent`` for the request the agent built), and the pattern
that recognises one occurrence on one line. A line counts once, for the first kind (in
catalogue order) whose pattern it matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Tag = Literal["infra", "agent"]


@dataclass(frozen=True)
class Signature:
    """One kind of API or start-up failure recognisable in a log line."""

    kind: str
    tag: Tag
    summary: str
    pattern: re.Pattern[str]
    final_line_only: bool = False
    """A start-up crash: counts only as the last non-empty line of a log (its exception line),
    so the same text inside an agent's tool output further up does not count."""


def _sig(
    kind: str, tag: Tag, summary: str, pattern: str, *, final_line_only: bool = False
) -> Signature:
    return Signature(kind, tag, summary, re.compile(pattern), final_line_only)


SIGNATURES: tuple[Signature, ...] = (
    _sig(
        "no-tool-output",
        "agent",
        'OpenAI Responses API: "No tool output found for function call call_…"',
        r"No tool output found for function call call_[A-Za-z0-9]+",
    ),
    _sig(
        "tool-use-without-result",
        "agent",
        "Anthropic/Bedrock: `tool_use` ids were found without `tool_result` blocks",
        r"`tool_use` ids were found without `tool_result` blocks",
    ),
    _sig(
        "context-length",
        "agent",
        "the request exceeded the model's context window",
        r"context_length_exceeded|maximum context length|[Pp]rompt is too long"
        r"|[Ii]nput is too long",
    ),
    _sig(
        "unexpanded-credential",
        "infra",
        "a credential is the literal text of an unexpanded variable, e.g. ${OPENAI_API_KEY}",
        r"(?i:api[ _-]?key|token|secret|credential)[^\n]{0,80}?\$\{[A-Za-z_*][A-Za-z0-9_*]*\}",
    ),
    _sig(
        "expired-credentials",
        "infra",
        "an SSO or session token had expired",
        r"[Tt]oken has expired|ExpiredToken|[Ee]xpired token|retrieving token from sso",
    ),
    _sig(
        "quota-exhausted",
        "infra",
        "HTTP 429 insufficient_quota: the account ran out of credit",
        r"insufficient_quota|exceeded your current quota",
    ),
    _sig(
        "auth-error",
        "infra",
        "HTTP 401/403: the credentials were refused",
        r"Error code: 40[13]\b|^\S*(?:AuthenticationError|PermissionDeniedError)\b"
        r"|invalid_api_key|UnrecognizedClientException",
    ),
    _sig(
        "rate-limit",
        "infra",
        "HTTP 429 or throttling: too many requests",
        r"Error code: 429\b|^\S*RateLimitError\b|ThrottlingException",
    ),
    _sig(
        "server-error",
        "infra",
        "HTTP 5xx or an overloaded provider",
        r"Error code: 5\d\d\b|^\S*(?:InternalServerError|ServiceUnavailableError)\b"
        r"|overloaded_error",
    ),
    _sig(
        "bad-request",
        "agent",
        "any other HTTP 400: the provider rejected the request the agent built",
        r"Error code: 400\b",
    ),
    _sig(
        "config-error",
        "infra",
        "the agent crashed at start-up on its configuration (TypeError in a Config class)",
        r"^TypeError: \w*Config\.__init__\(\) (?:got an unexpected keyword argument"
        r"|missing \d+ required positional argument)",
        final_line_only=True,
    ),
    _sig(
        "module-not-found",
        "infra",
        "the agent could not start: a Python module is missing from its environment",
        r"^ModuleNotFoundError: No module named",
        final_line_only=True,
    ),
    _sig(
        "api-call-failed",
        "infra",
        'any other "<Provider> API call failed: … Will sleep … and will retry." line',
        r"^\w+ API call failed: ",
    ),
)

SIGNATURE_KINDS: tuple[str, ...] = tuple(sig.kind for sig in SIGNATURES)
BY_KIND: dict[str, Signature] = {sig.kind: sig for sig in SIGNATURES}

RETRY_RE = re.compile(r"^(\w+) API call failed: ", re.M)
"""The retry line trae-agent prints once per failed API call (FORMATS.md §1.5)."""

TRIGGER_RE = re.compile(r"rror|API call failed|No tool output found|xpired|quota|\$\{")
"""Cheap pre-filter: a line can only match a signature if it contains one of these. The
literals start with letters rarer than ``E``/``e`` (``rror`` for both spellings of "error",
``xpired`` for "expired"), which ``re`` scans for first: the same lines at a third of the
cost; a line it lets through needlessly is settled by ``classify``."""
RETRY_TEXT = " API call failed: "
_RETRY_PREFIX_RE = re.compile(r"\w+")


def count_retries(text: str) -> int:
    """Lines of ``text`` that ``RETRY_RE`` matches, found from the literal instead of trying
    the pattern at every line start."""
    count = 0
    pos = text.find(RETRY_TEXT)
    while pos >= 0:
        start = text.rfind("\n", 0, pos) + 1
        if _RETRY_PREFIX_RE.fullmatch(text, start, pos):
            count += 1
            end = text.find("\n", pos)  # one per line, as ``RETRY_RE`` anchors at its start
            if end < 0:
                break
            pos = text.find(RETRY_TEXT, end)
        else:
            pos = text.find(RETRY_TEXT, pos + 1)
    return count


_PANEL_PREFIXES = ("│", "┃", "╭", "╰", "|")


def classify(line: str) -> Signature | None:
    """The first signature matching ``line`` (a single line, no newline), or ``None``.

    Rows of TRAE's boxed panels are skipped: they repeat, truncated, an error already
    printed in full on its own line, or show tool output rather than API traffic.
    """
    if line.lstrip().startswith(_PANEL_PREFIXES) or _ANY_SIGNATURE_RE.search(line) is None:
        return None
    for sig in SIGNATURES:
        if sig.pattern.search(line):
            return sig
    return None


_ANY_SIGNATURE_RE = re.compile("|".join(f"(?:{sig.pattern.pattern})" for sig in SIGNATURES))
"""Whether any signature matches, in one search: most lines the trigger lets through match
none, and the ordered loop in ``classify`` (first kind in catalogue order) runs only for the
others."""
