"""Hostile input for the low-level readers: every byte string ends in a value or a FileProblem.

Each test here reproduces a reported bug: quadratic or unbounded JSON line maps, an open that
hangs on a FIFO swapped in after the check, the head of an over-long log line dropped, and
numbers that made ``int()`` raise.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_e2e_audit.claims.config import parse_json
from pytest_e2e_audit.scanning import jsondoc, logs
from pytest_e2e_audit.scanning.files import (
    MAX_DIGITS,
    MAX_LINE,
    FileProblem,
    ascii_int,
    check_file,
    iter_line_blocks,
    open_binary,
    read_bytes,
)
from pytest_e2e_audit.scanning.jsondoc import JsonPath, load_json, parse_json_text
from pytest_e2e_audit.scanning.logs import scan_log
from pytest_e2e_audit.scanning.trajectory import scan_trajectory

from .conftest import CLEAN_RUN, RUNS

CLEAN = RUNS / CLEAN_RUN
SIGNED_LOG = RUNS / "sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_000_021f76e4/trae_stdout.txt"
"""A real TRAE log with API-error lines, retries and TRAE panel rows."""
CODEX_LOG = (
    RUNS.parent.parent
    / "archive/incomplete_runs/sglang/unknown/default/2025-11-21_08-55-01"
    / "sglang_core-0015/openhands_stderr.txt"
)
"""A real log with a codex ``tokens used`` line."""
HUGE = "9" * 5000
"""More digits than ``int()`` accepts by default (4,300)."""


# -- a JSON writer that knows where it put each value -----------------------------------

_KEYS = ("a", "b", "status", 'q"uote', "}]", "é")
_STRINGS = ("", "plain", 'with "quotes"', "back\\slash\\", "new\nline", "br}]{[,:", "☃ é", '\\"')


class _Writer:
    """Writes a random JSON document with random blanks and records each value's line."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.parts: list[str] = []
        self.line = 1
        self.lines: dict[JsonPath, int] = {}
        self.repeated: list[JsonPath] = []

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.line += text.count("\n")

    def blank(self) -> None:
        self.emit(self.rng.choice(("", "", " ", "\n", "  \n\t", "\r\n", "\n\n ")))

    def value(self, path: JsonPath, depth: int) -> None:
        self.blank()
        for old in [p for p in self.lines if p[: len(path)] == path]:
            del self.lines[old]  # a repeated key replaces the earlier value and all below it
        self.lines[path] = self.line
        kinds = ("obj", "obj", "arr", "str", "num", "lit") if 0 < depth < 5 else ("obj", "arr")
        kind = self.rng.choice(kinds if depth < 5 else ("str", "num"))
        if kind == "obj":
            self.emit("{")
            seen: set[str] = set()
            for n in range(self.rng.randrange(5)):
                if n:
                    self.emit(",")
                key = self.rng.choice(_KEYS)
                if key in seen:
                    self.repeated.append((*path, key))
                seen.add(key)
                self.blank()
                self.emit(json.dumps(key))
                self.blank()
                self.emit(":")
                self.value((*path, key), depth + 1)
                self.blank()
            self.emit("}")
        elif kind == "arr":
            self.emit("[")
            for index in range(self.rng.randrange(5)):
                if index:
                    self.emit(",")
                self.value((*path, index), depth + 1)
                self.blank()
            self.emit("]")
        elif kind == "str":
            self.emit(json.dumps(self.rng.choice(_STRINGS), ensure_ascii=self.rng.random() < 0.5))
        elif kind == "num":
            self.emit(self.rng.choice(("0", "-12", "3.5e2", "1E-3", "12345678901234567890")))
        else:
            self.emit(self.rng.choice(("true", "false", "null")))

    def text(self) -> str:
        self.value((), 0)
        self.blank()
        return "".join(self.parts)


def test_every_value_line_matches_where_a_random_layout_put_it() -> None:
    rng = random.Random(20240611)
    checked = 0
    for _ in range(300):
        writer = _Writer(rng)
        text = writer.text()
        doc = parse_json_text(text)
        assert doc.value == json.loads(text)
        paths = list(writer.lines)
        rng.shuffle(paths)  # out of document order: cached walks must restart correctly
        for path in paths:
            assert doc.line(*path) == writer.lines[path], (text, path)
            checked += 1
    assert checked > 2000


def test_repeated_keys_are_listed_once_each_in_document_order() -> None:
    rng = random.Random(7)
    with_repeats = 0
    for _ in range(300):
        writer = _Writer(rng)
        text = writer.text()
        doc = parse_json_text(text, check_duplicates=True)
        assert doc.duplicate_keys == tuple(dict.fromkeys(writer.repeated)), text
        assert doc.value == json.loads(text)
        with_repeats += bool(writer.repeated)
    assert with_repeats > 30


def test_a_repeated_status_keeps_the_last_value_and_points_at_it() -> None:
    text = '{"status": "error",\n "n": [{"x": 1, "x": 2}],\n "status": "success"}'
    doc = parse_json_text(text, check_duplicates=True)
    assert doc.duplicate_keys == (("n", 0, "x"), ("status",))
    assert doc.get("status") == "success" and doc.line("status") == 3
    assert parse_json_text(text).duplicate_keys == ()


def test_repeated_keys_inside_a_replaced_value_are_listed_too(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    path.write_text('[{"a": {"x": 1, "x": 2, "x": 3}, "a": 0}, {"b": [[{"y": 1, "y": 1}]]}]')
    doc = load_json(path, check_duplicates=True)
    assert doc.duplicate_keys == ((0, "a", "x"), (0, "a"), (1, "b", 0, 0, "y"))
    assert doc.get(0, "a") == 0


def test_lines_of_missing_paths_and_negative_indexes() -> None:
    doc = parse_json_text('{"a": [10,\n 20,\n 30], "s": "x"}')
    assert [doc.line("a", i) for i in (0, 1, 2, 3, -1, -3, -4)] == [1, 2, 3, None, 3, 1, None]
    assert doc.line("s", 0) is None and doc.line("a", "x") is None and doc.line("zz") is None
    assert doc.line() == 1
    assert ("a", 2) in doc.lines and ("a", 5) not in doc.lines and doc.lines[("a", 1)] == 2
    with pytest.raises(KeyError):
        doc.lines[("b",)]


def test_a_claims_config_in_json_finds_the_line_of_any_path() -> None:
    text = '{\n "models": {\n  "m": {\n   "parallel_tool_calls": true,\n   "tools": ["a",\n "b"]}}}'
    doc = parse_json(text)
    assert doc.line(("models", "m", "parallel_tool_calls")) == 4
    assert doc.line(("models", "m", "tools", 1)) == 6
    assert doc.line(("models", "m", "missing", "deeper")) == 3  # nearest ancestor


def _peak_bytes(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_deep_arrays_around_many_zeros_cost_memory_linear_in_the_file(tmp_path: Path) -> None:
    # The reported file (800 arrays around 1,000,000 zeros) ended in MemoryError: the old
    # reader built an 800-step path tuple for every zero. 200,000 zeros show the same shape.
    path = tmp_path / "journal.json"
    path.write_text("[" * 800 + "0," * 199_999 + "0" + "]" * 800)
    size = path.stat().st_size

    def load_and_locate() -> None:
        doc = load_json(path)
        assert doc.line(*(0,) * 799, 199_999) == 1
        assert doc.line(*(0,) * 799, 200_000) is None

    assert _peak_bytes(load_and_locate) < 8 * size


def test_a_long_string_with_escapes_costs_memory_linear_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    blob = 'a\\"b\\\\c ' * 400_000
    path.write_text('{"error": "' + blob + '",\n "status": "success"}')
    size = path.stat().st_size

    def load_and_locate() -> None:
        doc = load_json(path, check_duplicates=True)
        assert doc.line("status") == 2 and doc.line("error") == 1

    assert _peak_bytes(load_and_locate) < 6 * size


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"returncode": ' + HUGE + "}", "holds a number with more than 4,300 digits"),
        ("[" * 100_000 + "]" * 100_000, "is nested too deeply to parse"),
        ('{"a": 1,\n "b": }', "is not valid JSON: Expecting value (line 2, column 7)"),
    ],
    ids=["huge-number", "deep", "invalid"],
)
def test_decoder_failures_are_readable_reasons(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_json_text(text)
    path = tmp_path / "journal.json"
    path.write_text(text)
    for duplicates in (False, True):
        with pytest.raises(FileProblem, match=re.escape(reason)):
            load_json(path, check_duplicates=duplicates)


@pytest.mark.parametrize(
    ("error", "reason"),
    [(MemoryError(), "is too large to parse: 2 characters"), (TypeError("x"), "TypeError")],
)
def test_any_other_decoder_exception_becomes_a_reason(
    monkeypatch: pytest.MonkeyPatch, error: Exception, reason: str
) -> None:
    def fail(*args: object, **kwargs: object) -> object:
        raise error

    monkeypatch.setattr(jsondoc.json, "loads", fail)
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_json_text("{}")


# -- opening files ----------------------------------------------------------------------


def _without_hanging(action: Callable[[], object], fifo: Path) -> BaseException | None:
    """Run ``action`` in a thread; fail the test (and unblock it) if it is still running."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
            outcome.append(None)
        except BaseException as exc:  # handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # lets the blocked open return
        pytest.fail(f"opening a FIFO blocked: {fifo}")
    return outcome[0]


@pytest.mark.parametrize("with_stat", [True, False])
def test_a_fifo_swapped_in_after_the_check_is_refused_without_hanging(
    tmp_path: Path, with_stat: bool
) -> None:
    log = tmp_path / "trae_stdout.txt"
    log.write_text("hello\n")
    st = check_file(log, tmp_path)
    assert st is not None
    log.unlink()
    os.mkfifo(log)
    expected = st if with_stat else None
    for action in (
        lambda: open_binary(log, expected),
        lambda: read_bytes(log, 100, expected=expected),
        lambda: load_json(log, expected=expected),
        lambda: scan_log(log, 6, expected=expected),
        lambda: scan_trajectory(log, 6, expected=expected),
    ):
        error = _without_hanging(action, log)
        assert isinstance(error, FileProblem), error
        assert error.problem == "is not a regular file (FIFO, socket or device); not read"


def test_a_file_replaced_after_the_check_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    path.write_text("{}")
    st = check_file(path, tmp_path)
    assert st is not None
    with open_binary(path, st) as fh:
        assert fh.read() == b"{}"
    replacement = tmp_path / "other.json"
    replacement.write_text('{"status": "success"}')
    replacement.replace(path)
    with pytest.raises(FileProblem, match=r"^changed while it was being read; not read$"):
        load_json(path, expected=st)
    assert load_json(path).get("status") == "success"  # without a stat: read as it is now


def test_a_link_swapped_in_after_the_check_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    secret = tmp_path / "secret.json"
    secret.write_text('{"token": "s3cret"}')
    path = root / "journal.json"
    path.write_text("{}")
    st = check_file(path, root)
    assert st is not None
    path.unlink()
    path.symlink_to(secret)
    with pytest.raises(FileProblem, match="changed while it was being read"):
        read_bytes(path, 100, expected=st)


def test_a_link_inside_the_root_is_still_read(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_text('{"a": 1}')
    link = tmp_path / "journal.json"
    link.symlink_to(tmp_path / "real.json")
    st = check_file(link, tmp_path)
    assert st is not None
    assert load_json(link, expected=st).get("a") == 1
    with pytest.raises(FileProblem, match="is a directory, not a file"):
        open_binary(tmp_path)


# -- over-long lines --------------------------------------------------------------------


def test_an_over_long_line_keeps_its_head_as_a_line_of_its_own() -> None:
    data = b"short\n" + "é".encode() * 300 + b"\nnext\n" + b"x" * 250
    blocks = iter_line_blocks(io.BytesIO(data), chunk_size=64, max_line=100)
    pieces = list(blocks)
    assert (
        "".join(text for text, _ in pieces) == "short\n" + "é" * 50 + "\nnext\n" + "x" * 50 + "\n"
    )
    assert [first for text, first in pieces if text[0] in "éx"] == [2, 4]
    assert max(len(text) for text, _ in pieces) <= 64 + 100
    assert (blocks.long_lines, blocks.first_long_line, blocks.last_long_line) == (2, 2, 4)
    assert (blocks.longest_line, blocks.longest_line_bytes, blocks.head_chars) == (2, 600, 50)


def test_lines_below_the_limit_are_not_counted_as_long() -> None:
    blocks = iter_line_blocks(
        io.BytesIO(b"a" * 90 + b"\n" + b"b" * 99), chunk_size=16, max_line=100
    )
    assert "".join(text for text, _ in blocks) == "a" * 90 + "\n" + "b" * 99
    assert (blocks.long_lines, blocks.first_long_line, blocks.longest_line_bytes) == (0, None, 0)


def test_an_api_error_at_the_start_of_a_huge_single_line_is_found(tmp_path: Path) -> None:
    log = tmp_path / "trae_stdout.txt"
    head = b"OpenAI API call failed: Error code: 401 - {'error': {'message': 'Incorrect API key'"
    filler = b"x" * (1 << 20)
    with open(log, "wb") as fh:
        fh.write(head)
        for _ in range(21):
            fh.write(filler)
        fh.write(b"\nOpenAI API call failed: Error code: 429 - slow. Will sleep for 1 seconds\n")
    scan = scan_log(log, log.stat().st_size)
    assert scan.hits["auth-error"].first_line == 1
    assert scan.hits["auth-error"].excerpt.startswith(head.decode())
    assert scan.hits["rate-limit"].first_line == 2  # line numbers stay right after the skip
    assert (scan.lines, scan.retries) == (2, 2)
    assert (scan.long_lines, scan.first_long_line, scan.longest_line) == (1, 1, 1)
    assert scan.longest_line_bytes == len(head) + 21 * len(filler)
    assert scan.long_line_head == MAX_LINE // 2


def test_a_truncated_last_line_is_not_kept_as_the_last_line(tmp_path: Path) -> None:
    log = tmp_path / "claude_code_stdout.txt"
    log.write_bytes(b'{"type": "result", "usage": "' + b"u" * (MAX_LINE + (2 << 20)) + b'"}\n')
    scan = scan_log(log, log.stat().st_size, keep_last_line=True)
    assert scan.last_line_no == 1 and scan.last_line is None and scan.long_lines == 1


# -- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("535917", 535917), ("9" * MAX_DIGITS, int("9" * MAX_DIGITS))]
    + [(bad, None) for bad in ("", "9" * (MAX_DIGITS + 1), HUGE, "²", "１２", "-1", "1 ", "1,0")],
)
def test_ascii_int_accepts_only_short_ascii_digit_runs(text: str, value: int | None) -> None:
    assert ascii_int(text) == value


@pytest.mark.parametrize(
    "row",
    [
        f"│ Total       │ Input: {HUGE} Output: 5",
        f"│ Total       │ Input: 5 Output: {HUGE}",
        "│ Total       │ Input: ²³ Output: 5",
    ],
)
def test_a_trae_total_row_with_an_impossible_number_is_ignored(tmp_path: Path, row: str) -> None:
    log = tmp_path / "trae_stdout.txt"
    log.write_text(f"│ Total       │ Input: 10 Output: 2\nstep\n{row}\n")
    scan = scan_log(log, log.stat().st_size)
    assert scan.trae_total == (10, 2, 1)  # the last row is ignored, not a crash
    log.write_text(f"{row}\nstep\n│ Total       │ Input: 10 Output: 2\n")
    assert scan_log(log, log.stat().st_size).trae_total == (10, 2, 3)


@pytest.mark.parametrize("number", [HUGE, ",,,", "１２３", "1" * (MAX_DIGITS + 1)])
def test_codex_tokens_used_with_an_impossible_number_is_ignored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, number: str
) -> None:
    log = tmp_path / "codex_stderr.txt"
    log.write_text(f"tokens used\n1,234\nwork\ntokens used\n{number}\nend\n")
    original = logs.iter_line_blocks
    for chunk in (*range(8, 40), 1 << 20):  # puts the block boundary after "tokens used\n"
        monkeypatch.setattr(logs, "iter_line_blocks", lambda fh, c=chunk: original(fh, c))
        assert scan_log(log, log.stat().st_size).codex_tokens == (1234, 2), chunk
    real = scan_log(CODEX_LOG, CODEX_LOG.stat().st_size)
    assert real.codex_tokens is not None and real.codex_tokens[0] == 535917


def test_a_pretty_trajectory_with_a_huge_token_count_ignores_that_count(tmp_path: Path) -> None:
    source = CLEAN / "trajectory.json"
    text = source.read_text()
    match = re.search(r'^( {10}"input_tokens": )([0-9]+)', text, re.M)
    assert match is not None
    hostile = tmp_path / "trajectory.json"
    hostile.write_text(text[: match.start(2)] + HUGE + text[match.end(2) :])
    reference = scan_trajectory(source, source.stat().st_size)
    scan = scan_trajectory(hostile, hostile.stat().st_size)
    assert scan.input_tokens == reference.input_tokens - int(match.group(2))
    assert scan.usage_entries == reference.usage_entries - 1
    assert scan.llm_calls == reference.llm_calls


def test_a_compact_trajectory_with_odd_interactions_counts_only_plausible_usage(
    tmp_path: Path,
) -> None:
    def usage(tokens_in: Any, tokens_out: Any) -> dict[str, Any]:
        return {"response": {"usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}}

    calls: list[Any] = ["text", 5, None, [], {"response": "r"}, {"response": 3}]
    calls += [{"response": []}, {"response": {"usage": "none"}}, {"nothing": 1}]
    calls += [usage(10**30, 1), usage(True, 1), usage("7", 1), usage(-3, 1)]
    calls += [usage(7, True), usage(5, 2)]
    path = tmp_path / "trajectory.json"
    path.write_text(json.dumps({"llm_interactions": calls, "agent_steps": "many"}))
    scan = scan_trajectory(path, path.stat().st_size)
    assert scan.shape == "compact" and scan.steps is None
    assert (scan.llm_calls, scan.usage_entries) == (len(calls), 2)
    assert (scan.input_tokens, scan.output_tokens) == (12, 2)
    path.write_text('{"llm_interactions": [' + HUGE + "]}")
    assert scan_trajectory(path, path.stat().st_size).shape == "unknown"


# -- fuzz -------------------------------------------------------------------------------

_HOSTILE = (
    b"\xff",
    b"\x00",
    b"\xc3",
    b"\\",
    b'"',
    b"\n",
    b"[" * 3000,
    b"{" * 50,
    HUGE.encode(),
    "²".encode(),
    b"tokens used\n",
    b",,,\n",
    "│ Total │ Input: ".encode(),
    b' "input_tokens": ',
    b'  "llm_interactions": [\n    {\n',
    b'  "start_time": [[[[[[',
    b"OpenAI API call failed: Error code: 401 - ",
    b"\x1b[1m",
    b"NaN",
    b"1e99999",
)


def _samples() -> list[bytes]:
    sources = [CLEAN / "journal.json", CLEAN / "diff_targets.json", SIGNED_LOG]
    sources.append(CLEAN / "trajectory.json")
    return [path.read_bytes()[:40_000] for path in sources]  # the two JSON records first


def _json_mutant(rng: random.Random, value: Any) -> bytes:
    """A real record with one value replaced by a hostile one, or a key written twice."""
    node = value
    while isinstance(node, (dict, list)) and node and rng.random() < 0.7:
        parent, key = node, rng.choice(list(node) if isinstance(node, dict) else range(len(node)))
        node = node[key]
        if isinstance(node, (dict, list)) and node:
            continue
        parent[key] = rng.choice(
            (int("9" * 4000), -(2**70), 1e308, "²³", 'a\\"b' * 1000, [[[[[]]]]] * 50, None)
        )
        break
    text = json.dumps(value, indent=rng.choice((None, 1, 2)), ensure_ascii=rng.random() < 0.5)
    if text.startswith("{") and rng.random() < 0.5:
        text = '{"status": "error", "trae": 1,' + text[1:]
    return text.encode()


def _mutant(rng: random.Random, samples: list[bytes]) -> bytes:
    if rng.random() < 0.15:
        return rng.randbytes(rng.randrange(200))
    if rng.random() < 0.3:
        return _json_mutant(rng, json.loads(rng.choice(samples[:2])))
    data = bytearray(rng.choice(samples))
    start = rng.randrange(len(data))
    data = data[start : start + rng.randrange(1, 8000)] if rng.random() < 0.5 else data
    for _ in range(rng.randrange(1, 6)):
        at = rng.randrange(len(data) + 1)
        choice = rng.random()
        if choice < 0.4:
            data[at:at] = rng.choice(_HOSTILE)
        elif choice < 0.7 and data:
            data[at : at + 1] = bytes([rng.randrange(256)])
        else:
            del data[at : at + rng.randrange(1, 50)]
    return bytes(data)


def test_random_and_mutated_records_raise_nothing_but_file_problems(tmp_path: Path) -> None:
    rng = random.Random(1789)
    samples = _samples()
    outcomes = {"parsed": 0, "refused": 0}
    path = tmp_path / "record"
    for n in range(400):
        data = _mutant(rng, samples)
        path.write_bytes(data)
        try:
            doc = load_json(path, check_duplicates=n % 2 == 0)
        except FileProblem:
            outcomes["refused"] += 1
        else:
            outcomes["parsed"] += 1
            doc.line("trae", "returncode")
            doc.line(0, 0)
        with contextlib.suppress(ValueError):
            parse_json_text(data.decode("utf-8", "replace"))
        size = len(data)
        scan_log(path, size, keep_last_line=True)  # a log is always readable
        try:
            scan_trajectory(path, size)
        except FileProblem as exc:
            assert exc.problem == "is empty (0 bytes)"
    assert min(outcomes.values()) > 20, outcomes
