"""Opening and reading files of a results tree without following links out of it, blocking
on them or holding more than a bounded amount of any of them in memory."""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .._text import ANSI_RE

CHUNK_SIZE = 1 << 20
"""Bytes read at a time from a log."""
MAX_LINE = 8 << 20
"""Longest line kept whole; of a longer line only the head is kept, so memory stays bounded."""
MAX_DIGITS = 18
"""Longest decimal integer read from text (fits in 64 bits); longer is not a count."""

_ASCII_INT_RE = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}", re.ASCII)
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
"""Non-blocking, so a FIFO cannot hang the open (regular files ignore the flag)."""
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


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


def open_binary(path: Path, expected: os.stat_result | None = None) -> BinaryIO:
    """Open a regular file for reading without ever blocking; ``FileProblem`` otherwise.

    The open does not wait on a FIFO swapped in after ``check_file``, and anything but a
    regular file is refused. With ``expected`` (the stat ``check_file`` returned) the file
    opened must be that same file (device and inode): the path is opened without following a
    link, and only if it is one is it followed, to be checked the same way.
    """
    fd = _open(path, expected)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise FileProblem("is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem("is not a regular file (FIFO, socket or device); not read")
        if expected is not None and (st.st_dev, st.st_ino) != (expected.st_dev, expected.st_ino):
            raise FileProblem("changed while it was being read; not read")
        return os.fdopen(fd, "rb")
    except OSError as exc:
        os.close(fd)
        raise FileProblem(f"could not be read: {_os_error(exc)}") from exc
    except BaseException:
        os.close(fd)
        raise


def _open(path: Path, expected: os.stat_result | None) -> int:
    try:
        if expected is not None and _NOFOLLOW:
            try:
                return os.open(path, _OPEN_FLAGS | _NOFOLLOW)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.EMLINK):  # EMLINK: FreeBSD
                    raise
                # A link (checked to stay inside the root, or swapped in since): the identity
                # check on the file it leads to decides.
        return os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise FileProblem(f"could not be read: {_os_error(exc)}") from exc


def read_bytes(path: Path, limit: int, *, expected: os.stat_result | None = None) -> bytes:
    """Read a whole small file; ``FileProblem`` if it is larger than ``limit`` bytes."""
    with open_binary(path, expected) as fh:
        try:
            # Ask for the size the file has (not ``limit``: the buffer is allocated up front).
            want = min(limit, os.fstat(fh.fileno()).st_size) + 1
            data = fh.read(want)
            if len(data) == want <= limit:  # it grew since: read on, up to the limit
                data += fh.read(limit + 1 - want)
        except OSError as exc:
            raise FileProblem(f"could not be read: {_os_error(exc)}") from exc
    if len(data) > limit:
        raise FileProblem(f"is larger than {limit:,} bytes; not read")
    return data


def ascii_int(text: str) -> int | None:
    """``text`` as an integer when it is 1 to ``MAX_DIGITS`` ASCII digits, else ``None``.

    Never raises: ``int()`` refuses more than 4,300 digits and ``'²'.isdigit()`` is true.
    """
    return int(text) if _ASCII_INT_RE.fullmatch(text) else None


def iter_line_blocks(
    fh: BinaryIO, chunk_size: int = CHUNK_SIZE, max_line: int = MAX_LINE
) -> LineBlocks:
    """``(text, first_line_number)`` blocks of whole lines, ANSI codes stripped.

    Bytes are decoded as UTF-8 with replacement, so binary junk never raises. Memory is
    bounded by ``chunk_size + max_line`` whatever the file size or line length: of a line
    longer than ``max_line`` only its first ``max_line // 2`` characters are yielded, as a line
    of their own; the returned iterator counts such lines.
    """
    return LineBlocks(fh, chunk_size, max_line)


class LineBlocks(Iterator[tuple[str, int]]):
    """The iterator ``iter_line_blocks`` returns; it also tells about over-long lines."""

    def __init__(self, fh: BinaryIO, chunk_size: int, max_line: int) -> None:
        self.long_lines = 0
        """Lines longer than the limit, of which only ``head_chars`` characters were yielded."""
        self.first_long_line: int | None = None
        self.last_long_line: int | None = None
        self.longest_line: int | None = None
        """Line number of the longest over-long line."""
        self.longest_line_bytes = 0
        """Its length in bytes, without the newline (known once its end was read)."""
        self.head_chars = max_line // 2
        self._blocks = self._read(fh, chunk_size, max_line)

    def __next__(self) -> tuple[str, int]:
        return next(self._blocks)

    def _read(self, fh: BinaryIO, chunk_size: int, max_line: int) -> Iterator[tuple[str, int]]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        carry = ""
        line_no = 1
        partial = 0  # bytes of the line not yet ended, as read from the file
        skipping = False  # discarding the rest of an over-long line, up to its newline
        while True:
            try:
                data = fh.read(chunk_size)
            except OSError as exc:
                raise FileProblem(f"could not be read: {_os_error(exc)}") from exc
            final = not data
            if skipping:
                end = data.find(b"\n")
                if end < 0 and not final:
                    partial += len(data)
                    continue
                self._long_line_ended(line_no - 1, partial + max(end, 0))
                skipping, partial = False, 0
                data = data[end + 1 :] if end >= 0 else b""
            last = data.rfind(b"\n")
            partial = partial + len(data) if last < 0 else len(data) - last - 1
            text = carry + decoder.decode(data, final=final)
            if final:
                if text:
                    yield _strip_ansi(text), line_no
                return
            cut = text.rfind("\n") + 1
            block, carry = text[:cut], text[cut:]
            if block:
                yield _strip_ansi(block), line_no
                line_no += block.count("\n")
            if len(carry) > max_line:
                self.long_lines += 1
                self.first_long_line = self.first_long_line or line_no
                self.last_long_line = line_no
                yield _strip_ansi(carry[: self.head_chars]) + "\n", line_no
                line_no += 1
                carry, skipping = "", True
                decoder.reset()

    def _long_line_ended(self, line_no: int, size: int) -> None:
        if size > self.longest_line_bytes:
            self.longest_line, self.longest_line_bytes = line_no, size


def _strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text) if "\x1b" in text else text


def _os_error(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    return f"{reason} ({name})" if name else reason
