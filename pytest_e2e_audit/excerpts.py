"""Evidence excerpts: the few lines around a finding's ``file:line``, read bounded and made safe.

An excerpt is read in the process that ran the item (an xdist worker too), right after it ran,
and travels on its call report like the run's digest, so the process that writes the HTML
report never reads the results tree again. Reading is bounded: a regular file inside an
allowed root only (no FIFO, device or link out of the tree), at most ``READ_LIMIT`` bytes to
reach the line, a few lines, each one ``clean``ed (redacted, one line, shortened).
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._text import clean

CONTEXT = 2
"""Lines shown before and after the evidence line."""
LINE_LIMIT = 160
"""Characters kept of each line shown."""
READ_LIMIT = 32 << 20
"""Bytes read at most to reach the evidence line; past it there is no excerpt."""
_BLOCK = 1 << 20
_LONG_NUMBER_RE = re.compile(r"\d{21,}")
"""A number too long to show whole (a 5,000-digit exit code): its start and its length."""
_KEEP = LINE_LIMIT * 4
"""Bytes kept of a line before decoding (UTF-8 takes at most 4 per character)."""


@dataclass(frozen=True)
class Excerpt:
    """Lines of one evidence file around one line."""

    label: str
    """What the lines are evidence of (``E2E003 success-nonzero-exit``, ``first rate-limit``)."""
    file: str
    """The file as shown (relative to the run folder or the claims file's folder)."""
    line: int
    """The evidence line (1-based)."""
    lines: tuple[tuple[int, str], ...]
    """(line number, clean text) of the lines shown, ``line`` among them."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "file": self.file,
            "line": self.line,
            "lines": [[n, text] for n, text in self.lines],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Excerpt:
        lines = tuple((int(n), str(text)) for n, text in data.get("lines") or ())
        return cls(str(data["label"]), str(data["file"]), int(data["line"]), lines)


def excerpt(label: str, path: Path, line: int, shown: str, roots: Sequence[Path]) -> Excerpt | None:
    """The lines around ``line`` of ``path``, or None when the file is not a regular file
    inside one of ``roots`` (after following links), cannot be read, or is shorter."""
    lines = read_lines(path, line, roots)
    if lines is None:
        return None
    return Excerpt(clean(label, 120), clean(shown, 300), line, lines)


def read_lines(path: Path, line: int, roots: Sequence[Path]) -> tuple[tuple[int, str], ...] | None:
    if line < 1:
        return None
    try:
        real = path.resolve()
        if not any(real.is_relative_to(_real(root)) for root in roots):
            return None
        if not stat.S_ISREG(os.stat(real).st_mode):
            return None  # a FIFO or device would block or never end
        with open(real, "rb") as fh:
            return _around(fh, line)
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a link loop (Python < 3.13)
        return None


@functools.lru_cache(maxsize=64)
def _real(root: Path) -> Path:
    """A root with its links resolved: the same few roots are asked for per excerpt."""
    return root.resolve()


def _around(fh: Any, target: int) -> tuple[tuple[int, str], ...] | None:
    first, last = max(1, target - CONTEXT), target + CONTEXT
    budget = READ_LIMIT
    data = b""
    skip = first - 1  # newlines before the first line shown
    while skip:
        block = fh.read(_BLOCK)
        budget -= len(block)
        if not block or budget < 0:
            return None
        count = block.count(b"\n")
        if count < skip:
            skip -= count
            continue
        end = -1
        for _ in range(skip):
            end = block.index(b"\n", end + 1)
        data, skip = block[end + 1 :], 0
    shown: list[tuple[int, str]] = []
    number, kept, cut = first, bytearray(), False
    while number <= last:
        if not data:
            data = fh.read(_BLOCK) if budget > 0 else b""
            budget -= len(data)
            if not data:  # the end of the file or of the budget: a partial line counts
                if kept or cut:
                    shown.append((number, _text(kept, cut or budget <= 0)))
                break
        newline = data.find(b"\n")
        piece = data if newline < 0 else data[:newline]
        room = _KEEP - len(kept)
        cut = cut or len(piece) > room
        kept += piece[: max(room, 0)]
        if newline < 0:
            data = b""
            continue
        shown.append((number, _text(kept, cut)))
        data = data[newline + 1 :]
        number, kept, cut = number + 1, bytearray(), False
    if not any(n == target for n, _ in shown):
        return None
    return tuple(shown)


def _text(raw: bytes | bytearray, cut: bool) -> str:
    text = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
    text = _LONG_NUMBER_RE.sub(lambda m: f"{m.group()[:8]}…({len(m.group())} digits)", text)
    text = clean(text, LINE_LIMIT)
    return text if not cut or text.endswith("…") else text[: LINE_LIMIT - 1] + "…"
