"""One streaming pass over an agent log: API-error signatures, TRAE rows, token lines.

Nothing here holds more than one block of lines in memory, so a multi-GB log costs time,
not memory.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .files import ascii_int, iter_line_blocks, open_binary
from .signatures import TRIGGER_RE, classify, count_retries

_TRAE_ROW_RE = re.compile(
    r"^│ (?:Total\s*│ Input: (?P<tin>[0-9]+) Output: (?P<tout>[0-9]+)"
    r"|(?P<label>Success|Steps|Execution Time|Total Tokens|Input Tokens|Output Tokens)"
    r"\s+│ (?P<value>[^│\n]*))",
    re.M,
)
_TRAE_LABELS = (
    "Total",
    "Success",
    "Steps",
    "Execution Time",
    "Total Tokens",
    "Input Tokens",
    "Output Tokens",
)
_CODEX_TOKENS_RE = re.compile(r"^tokens used\n([0-9,]+)[ \t]*$", re.M)
_CODEX_TAIL_RE = re.compile(r"^([0-9,]+)[ \t]*$", re.M)
MAX_KEPT_LINE = 4 << 20
"""The last non-empty line is kept (for one-object JSON logs) only up to this many characters."""


@dataclass
class Hit:
    """Occurrences of one signature kind in one log."""

    count: int
    first_line: int
    excerpt: str


@dataclass
class Row:
    """The value of a labelled row (last occurrence) and its line."""

    value: str
    line: int


@dataclass
class LogScan:
    """Everything one pass over a log learned."""

    bytes: int = 0
    lines: int = 0
    nonblank: bool = False
    hits: dict[str, Hit] = field(default_factory=dict)
    retries: int = 0
    trae_rows: dict[str, Row] = field(default_factory=dict)
    trae_total: tuple[int, int, int] | None = None
    """Last cumulative ``│ Total │ Input: N Output: M`` row as (input, output, line)."""
    codex_tokens: tuple[int, int] | None = None
    """Last ``tokens used`` value and the line of the number."""
    last_line: str | None = None
    """The last non-empty line, when asked for and not longer than ``MAX_KEPT_LINE``."""
    last_line_no: int | None = None
    final_candidates: list[tuple[str, int, str]] = field(default_factory=list)
    """Final-line-only signatures seen: (kind, line, excerpt); kept if on ``last_line_no``."""
    long_lines: int = 0
    """Lines longer than ``files.MAX_LINE``: only the first ``long_line_head`` characters of
    each were scanned."""
    first_long_line: int | None = None
    longest_line: int | None = None
    """Line number of the longest of them."""
    longest_line_bytes: int = 0
    long_line_head: int = 0
    """Characters scanned at the start of each over-long line."""


class _Lines:
    """Line numbers for increasing positions in one block, counted incrementally."""

    def __init__(self, block: str, first: int) -> None:
        self.block = block
        self.pos = 0
        self.line = first

    def at(self, pos: int) -> int:
        if pos < self.pos:
            self.pos, self.line = 0, self.line - self.block.count("\n", 0, self.pos)
        self.line += self.block.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def scan_log(
    path: Path,
    size: int,
    *,
    keep_last_line: bool = False,
    expected: os.stat_result | None = None,
) -> LogScan:
    """Scan the log at ``path`` (``size`` and ``expected`` from its stat) in one pass."""
    scan = LogScan(bytes=size)
    if size == 0:
        return scan
    pending_codex: bool = False
    with open_binary(path, expected) as fh:
        blocks = iter_line_blocks(fh)
        for block, first in blocks:
            if not scan.nonblank and not block.isspace():
                scan.nonblank = True
            if pending_codex:
                tail = _CODEX_TAIL_RE.match(block)
                value = ascii_int(tail.group(1).replace(",", "")) if tail else None
                if value is not None:
                    scan.codex_tokens = (value, first)
            _scan_signatures(scan, block, first)
            if "│ " in block:
                _scan_trae_rows(scan, block, first)
            if "tokens used" in block:
                _scan_codex(scan, block, first)
            pending_codex = block.endswith("tokens used\n")
            newlines = block.count("\n")  # once per block: both figures below derive from it
            kept = _content_end(block)  # what ``block.rstrip()`` keeps, without the copy
            if kept:
                cut = block.rfind("\n", 0, kept) + 1
                # Newlines before ``cut`` = all of them minus those in the block's tail.
                scan.last_line_no = first + newlines - block.count("\n", cut)
                if keep_last_line:
                    long = kept - cut > MAX_KEPT_LINE
                    scan.last_line = None if long else block[cut:kept]
            scan.lines = first - 1 + newlines + (0 if block.endswith("\n") else 1)
    scan.long_lines, scan.first_long_line = blocks.long_lines, blocks.first_long_line
    scan.longest_line, scan.longest_line_bytes = blocks.longest_line, blocks.longest_line_bytes
    scan.long_line_head = blocks.head_chars if blocks.long_lines else 0
    if scan.last_line_no is not None and scan.last_line_no == blocks.last_long_line:
        scan.last_line = None  # only its head was read
    for kind, line, excerpt in scan.final_candidates:
        if line == scan.last_line_no:
            scan.hits[kind] = Hit(1, line, excerpt)
    return scan


def _content_end(block: str) -> int:
    """``len(block.rstrip())``: where trailing whitespace starts (0 if it is all blank)."""
    end = len(block)
    while end and block[end - 1].isspace():
        end -= 1
        if len(block) - end > 64:  # a long blank tail: let C do it
            return len(block.rstrip())
    return end


def _scan_signatures(scan: LogScan, block: str, first: int) -> None:
    lines = _Lines(block, first)
    if "API call failed: " in block:
        scan.retries += count_retries(block)
    pos = 0
    while True:
        trig = TRIGGER_RE.search(block, pos)
        if trig is None:
            return
        start = block.rfind("\n", 0, trig.start()) + 1
        end = block.find("\n", trig.start())
        if end < 0:
            end = len(block)
        pos = end + 1
        line = block[start:end]
        sig = classify(line)
        if sig is None:
            continue
        if sig.final_line_only:
            scan.final_candidates[:] = [(sig.kind, lines.at(start), line.strip())]
            continue
        hit = scan.hits.get(sig.kind)
        if hit is None:
            scan.hits[sig.kind] = Hit(1, lines.at(start), line.strip())
        else:
            hit.count += 1


def _scan_trae_rows(scan: LogScan, block: str, first: int) -> None:
    # Only the last row of each label matters: look it up from the end instead of matching
    # every row of every step panel.
    last: dict[str, re.Match[str]] = {}
    for label in _TRAE_LABELS:
        end = len(block)
        while True:
            pos = block.rfind("│ " + label, 0, end)
            if pos < 0:
                break
            start = pos if pos == 0 or block[pos - 1] == "\n" else -1
            match = _TRAE_ROW_RE.match(block, start) if start >= 0 else None
            if match is not None and _is_row(match, label):
                last[label] = match
                break
            end = pos
    if not last:
        return
    lines = _Lines(block, first)
    for label, match in sorted(last.items(), key=lambda item: item[1].start()):
        line = lines.at(match.start())
        total = _total(match) if label == "Total" else None
        if total is not None:
            scan.trae_total = (*total, line)
        elif label != "Total":
            scan.trae_rows[label] = Row(match.group("value").strip(), line)


def _is_row(match: re.Match[str], label: str) -> bool:
    """Whether ``match`` is a usable ``label`` row (a ``Total`` row needs two counts)."""
    if (match.group("label") or "Total") != label:
        return False
    return label != "Total" or _total(match) is not None


def _total(match: re.Match[str]) -> tuple[int, int] | None:
    """The (input, output) of a ``Total`` row, or ``None`` when either is not a count."""
    tokens_in, tokens_out = ascii_int(match.group("tin")), ascii_int(match.group("tout"))
    return None if tokens_in is None or tokens_out is None else (tokens_in, tokens_out)


def _scan_codex(scan: LogScan, block: str, first: int) -> None:
    found = None
    for match in _CODEX_TOKENS_RE.finditer(block):
        value = ascii_int(match.group(1).replace(",", ""))
        if value is not None:
            found = (value, match)
    if found is not None:
        line = _Lines(block, first).at(found[1].start(1))
        scan.codex_tokens = (found[0], line)
