"""Opening files of a results tree without following links out of it or blocking on them."""

from __future__ import annotations

import codecs
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .._text import ANSI_RE

CHUNK_SIZE = 1 << 20
"""Bytes read at a time from a log."""
MAX_LINE = 8 << 20
"""Longest line kept whole; the middle of a longer line is dropped so memory stays bounded."""


class FileProblem(Exception):
    """A file exists but cannot be read as a regular file inside the results root."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def check_file(path: Path, root: Path) -> os.stat_result | None:
    """Return the file's stat, ``None`` when it does not exist, raise ``FileProblem`` otherwise.

    Symbolic links are followed only when they resolve inside ``root``; FIFOs, sockets and
    devices are refused because opening them can block or never end.
    """
    try:
        lst = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileProblem(f"cannot be inspected: {_os_error(exc)}") from exc
    if stat.S_ISLNK(lst.st_mode):
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise FileProblem("is a broken or looping symbolic link; not followed") from None
        if not target.is_relative_to(root):
            raise FileProblem("is a symbolic link to a path outside the results root; not followed")
        try:
            st = target.stat()
        except OSError as exc:
            raise FileProblem(f"cannot be inspected: {_os_error(exc)}") from exc
    else:
        st = lst
    if stat.S_ISDIR(st.st_mode):
        raise FileProblem("is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem("is not a regular file (FIFO, socket or device); not read")
    return st


def open_binary(path: Path) -> BinaryIO:
    """Open for reading, turning OS errors into ``FileProblem``."""
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise FileProblem(f"could not be read: {_os_error(exc)}") from exc


def read_bytes(path: Path, limit: int) -> bytes:
    """Read a whole small file; ``FileProblem`` if it is larger than ``limit`` bytes."""
    with open_binary(path) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise FileProblem(f"could not be read: {_os_error(exc)}") from exc
    if len(data) > limit:
        raise FileProblem(f"is larger than {limit:,} bytes; not read")
    return data


def iter_line_blocks(
    fh: BinaryIO, chunk_size: int = CHUNK_SIZE, max_line: int = MAX_LINE
) -> Iterator[tuple[str, int]]:
    """Yield ``(text, first_line_number)`` blocks made of whole lines, ANSI codes stripped.

    Bytes are decoded as UTF-8 with replacement, so binary junk never raises. Memory is
    bounded by ``chunk_size + max_line`` whatever the file size or line length.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    carry = ""
    line_no = 1
    while True:
        try:
            data = fh.read(chunk_size)
        except OSError as exc:
            raise FileProblem(f"could not be read: {_os_error(exc)}") from exc
        final = not data
        text = carry + decoder.decode(data, final=final)
        if final:
            if text:
                yield _strip_ansi(text), line_no
            return
        cut = text.rfind("\n") + 1
        if cut == 0:
            carry = text if len(text) <= max_line else text[-(max_line // 2) :]
            continue
        block, carry = text[:cut], text[cut:]
        yield _strip_ansi(block), line_no
        line_no += block.count("\n")


def _strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text) if "\x1b" in text else text


def _os_error(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    return f"{reason} ({name})" if name else reason
