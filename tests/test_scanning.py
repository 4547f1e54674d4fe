"""Scanners: streamed logs, trajectories, JSON with lines, the signature catalogue."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from pytest_e2e_audit.scanning import files, logs, signatures, trajectory
from pytest_e2e_audit.scanning.files import FileProblem, check_file, iter_line_blocks
from pytest_e2e_audit.scanning.jsondoc import load_json, parse_json_text
from pytest_e2e_audit.scanning.logs import scan_log
from pytest_e2e_audit.scanning.signatures import SIGNATURE_KINDS, SIGNATURES, classify
from pytest_e2e_audit.scanning.trajectory import scan_trajectory

from .conftest import EXAMPLES, RUNS

NO_TOOL_RUN = RUNS / "sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_000_021f76e4"


def _grep(path: Path, pattern: str) -> list[int]:
    """Line numbers (1-based) of lines matching ``pattern``: an independent reference."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return [n for n, line in enumerate(text.split("\n"), 1) if re.search(pattern, line)]


def test_no_tool_output_count_and_first_line_match_a_plain_grep() -> None:
    log = NO_TOOL_RUN / "trae_stdout.txt"
    expected = _grep(log, r"No tool output found for function call call_[A-Za-z0-9]+")
    scan = scan_log(log, log.stat().st_size)
    hit = scan.hits["no-tool-output"]
    assert (hit.count, hit.first_line) == (len(expected), expected[0])
    assert hit.count == 20  # the samples README: 20 "No tool output found" API errors
    assert scan.retries == len(_grep(log, r"^\w+ API call failed: "))


@pytest.mark.parametrize("chunk", [7, 64, 4096, 1 << 20])
def test_line_numbers_and_counts_do_not_depend_on_the_chunk_size(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    log = RUNS / "vllm/trae/gpt-5/2025-10-14_14-11-51/vllm_core-0027/trae_stdout.txt"
    reference = scan_log(log, log.stat().st_size)
    original = logs.iter_line_blocks
    monkeypatch.setattr(logs, "iter_line_blocks", lambda fh: original(fh, chunk_size=chunk))
    scan = scan_log(log, log.stat().st_size)
    assert scan.trae_rows == reference.trae_rows
    assert scan.trae_total == reference.trae_total
    assert scan.lines == reference.lines == len(log.read_bytes().split(b"\n"))
    assert reference.trae_rows["Success"].line == _grep(log, r"^│ Success\s+│")[-1]


def test_codex_tokens_used_line_is_found_across_a_block_boundary(tmp_path: Path) -> None:
    log = tmp_path / "openhands_stderr.txt"
    log.write_text("x" * 50 + "\ntokens used\n535,917\nmore\n")
    for chunk in (8, 16, 62, 63, 64, 1 << 20):
        with open(log, "rb") as fh:
            blocks = list(iter_line_blocks(fh, chunk_size=chunk))
        assert "".join(b for b, _ in blocks) == log.read_text()
    real = EXAMPLES / "archive/incomplete_runs/sglang/unknown/default/2025-11-21_08-55-01"
    path = real / "sglang_core-0015/openhands_stderr.txt"
    scan = scan_log(path, path.stat().st_size)
    assert scan.codex_tokens == (535917, _grep(path, r"^535,917$")[0])


def test_ansi_codes_are_stripped_before_matching(tmp_path: Path) -> None:
    log = tmp_path / "trae_stdout.txt"
    log.write_text("\x1b[1m│ Success          │ ✅ Yes     │\x1b[0m\n")
    scan = scan_log(log, log.stat().st_size)
    assert scan.trae_rows["Success"].value.startswith("✅ Yes")


def test_binary_junk_and_an_over_long_line_do_not_break_the_scan(tmp_path: Path) -> None:
    log = tmp_path / "trae_stdout.txt"
    retry = (
        b"OpenAI API call failed: Error code: 429 - rate. Will sleep for 1 seconds and will retry."
    )
    retry += b"\n"
    log.write_bytes(b"\xff\xfe\x00junk\n" + b"a" * 300_000 + b"\n" + retry)
    monkey_max = 1000
    with open(log, "rb") as fh:
        blocks = list(iter_line_blocks(fh, chunk_size=4096, max_line=monkey_max))
    assert max(len(b) for b, _ in blocks) < 4096 + monkey_max
    assert sum(b.count("\n") for b, _ in blocks) == 3  # no line break is lost
    scan = scan_log(log, log.stat().st_size)
    assert scan.hits["rate-limit"].first_line == 3


def test_every_signature_kind_is_recognised_in_a_realistic_line() -> None:
    lines = {
        "no-tool-output": "OpenAI API call failed: Error code: 400 - {'error': {'message': "
        "'No tool output found for function call call_L0gbwDqQrH0yQSUo0oXgSWAk.'}}",
        "tool-use-without-result": "messages.3: `tool_use` ids were found without `tool_result` "
        "blocks immediately after: toolu_01",
        "context-length": "Error code: 400 - {'error': {'code': 'context_length_exceeded'}}",
        "unexpanded-credential": "Error code: 401 - Incorrect API key provided: ${OPENAI*****KEY}.",
        "expired-credentials": "Bedrock API call failed: Error when retrieving token from sso: "
        "Token has expired and refresh failed. Will sleep for 12 seconds and will retry.",
        "quota-exhausted": "Error code: 429 - {'error': {'type': 'insufficient_quota'}}",
        "auth-error": "openai.AuthenticationError: Error code: 401 - invalid",
        "rate-limit": "openai.RateLimitError: Error code: 429 - slow down",
        "server-error": "OpenAI API call failed: Error code: 500 - {'error': 'server'}",
        "bad-request": "anthropic.BadRequestError: Error code: 400 - {'message': 'bad'}",
        "config-error": "TypeError: ModelConfig.__init__() got an unexpected keyword argument "
        "'reasoning_effort'",
        "module-not-found": "ModuleNotFoundError: No module named 'click'",
        "api-call-failed": "OpenRouter API call failed: Connection reset. Will sleep for 3 seconds",
    }
    assert set(lines) == set(SIGNATURE_KINDS)
    for kind, line in lines.items():
        sig = classify(line)
        assert sig is not None and sig.kind == kind, (kind, sig)


def test_signature_names_are_unique_kebab_case_with_a_tag() -> None:
    assert len(SIGNATURE_KINDS) == len(set(SIGNATURE_KINDS))
    for sig in SIGNATURES:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", sig.kind)
        assert sig.tag in ("infra", "agent") and sig.summary


def test_trae_panel_rows_are_not_counted_as_api_errors() -> None:
    row = "│ Error       │ ❌ Error code: 400 - {'error': {'message': 'No tool output found for"
    row += " function call"
    assert classify(row) is None


@pytest.mark.parametrize(
    "trajectory", sorted(RUNS.rglob("trajectory.json")), ids=lambda p: p.parent.name
)
def test_trajectory_stream_agrees_with_a_full_json_parse(trajectory: Path) -> None:
    data = json.loads(trajectory.read_text())
    calls = data["llm_interactions"]
    scan = scan_trajectory(trajectory, trajectory.stat().st_size)
    assert scan.llm_calls == len(calls)
    assert scan.steps == len(data["agent_steps"])
    assert scan.input_tokens == sum(c["response"]["usage"]["input_tokens"] for c in calls)
    assert scan.output_tokens == sum(c["response"]["usage"]["output_tokens"] for c in calls)
    assert scan.success is data["success"]
    assert scan.start_time == data["start_time"]


def test_a_compact_trajectory_is_parsed_whole(tmp_path: Path) -> None:
    source = RUNS / "vllm/trae/gpt-5/2025-10-14_14-11-51/vllm_core-0027/trajectory.json"
    compact = tmp_path / "trajectory.json"
    compact.write_text(json.dumps(json.loads(source.read_text())))
    pretty = scan_trajectory(source, source.stat().st_size)
    scan = scan_trajectory(compact, compact.stat().st_size)
    assert scan.shape == "compact"
    assert (scan.llm_calls, scan.input_tokens, scan.output_tokens) == (
        pretty.llm_calls,
        pretty.input_tokens,
        pretty.output_tokens,
    )


def test_json_values_carry_their_line_numbers() -> None:
    journal = NO_TOOL_RUN / "journal.json"
    doc = load_json(journal)
    lines = journal.read_text().split("\n")
    assert '"returncode": 1' in lines[doc.line("trae", "returncode") - 1]
    assert '"patch_size_loc"' in lines[doc.line("metrics", "patch_size_loc") - 1]
    nested = parse_json_text('{"a": [1, {"b": [true, null]}],\n "c": {"d": "}"}}')
    assert nested.line("c", "d") == 2 and nested.get("a", 1, "b", 0) is True


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty (0 bytes)"),
        (b'{"status": "succ', "is truncated"),
        (b'{"status" "success"}', "is not valid JSON"),
        (b"\xff\xfe{}", "is not valid UTF-8"),
    ],
)
def test_bad_json_files_name_their_problem(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "journal.json"
    path.write_bytes(content)
    with pytest.raises(FileProblem, match=re.escape(problem)):
        load_json(path)


def test_links_out_of_the_root_and_fifos_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "secret.json"
    outside.write_text("{}")
    (root / "out.json").symlink_to(outside)
    (root / "loop.json").symlink_to(root / "loop.json")
    import os

    os.mkfifo(root / "fifo.txt")
    for name, problem in [
        ("out.json", "outside the results root"),
        ("loop.json", "broken or looping"),
        ("fifo.txt", "not a regular file"),
    ]:
        with pytest.raises(FileProblem, match=problem):
            check_file(root / name, root)
    assert check_file(root / "missing.txt", root) is None


def test_read_bytes_refuses_files_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"[" + b"1," * 100 + b"1]")
    with pytest.raises(FileProblem, match="larger than 10 bytes"):
        files.read_bytes(path, 10)


def test_line_blocks_cover_the_input_exactly() -> None:
    data = "é\n".encode() * 1000 + b"tail"
    blocks = list(iter_line_blocks(io.BytesIO(data), chunk_size=5))
    assert "".join(b for b, _ in blocks) == data.decode()
    starts = [first for _, first in blocks]
    assert starts == sorted(starts) and starts[0] == 1


# -- the trajectory fast path (one msgspec decode) against the line scan ------------------------


def _both(data: bytes) -> tuple[object, object]:
    """What the fast path and the line scan make of the same bytes."""
    fast = trajectory._decode_pretty(data)
    stream = trajectory._stream(io.BytesIO(data), len(data), lambda: data)
    return fast, stream


@pytest.mark.parametrize("path", sorted(RUNS.rglob("trajectory.json")), ids=lambda p: p.parent.name)
def test_trajectory_fast_path_agrees_with_the_line_scan_on_real_runs(path: Path) -> None:
    fast, stream = _both(path.read_bytes())
    assert fast is not None
    assert fast == stream


def _pretty(**top: object) -> bytes:
    return json.dumps(top, indent=2).encode()


_CALL = {"response": {"usage": {"input_tokens": 10, "output_tokens": 3}}}


@pytest.mark.parametrize(
    "data",
    [
        _pretty(llm_interactions=[_CALL, _CALL], agent_steps=[{"a": 1}, "x", {}], success=True),
        _pretty(llm_interactions=None, agent_steps=None, success=None, start_time=5),
        _pretty(llm_interactions=[], success=False, start_time="2025-10-01T12:00:00"),
        _pretty(llm_interactions=[{"response": None}, {"response": {"usage": None}}]),
        _pretty(llm_interactions=[{"response": {"usage": {"input_tokens": None}}}]),
        _pretty(llm_interactions=[{"response": {"usage": {"output_tokens": 7}}}]),
        _pretty(llm_interactions=[{"response": {"usage": {"input_tokens": 10**19}}}]),
        _pretty(llm_interactions=[{"response": {"usage": {"input_tokens": -4}}}]),
        _pretty(final_result="Task failed: exceeded maximum steps (200)", success="true"),
        _pretty(final_result={"exceeded maximum steps": 1}, meta={"success": True}),
        _pretty(llm_interactions={"not": "a list"}),
        _pretty(llm_interactions=[_CALL, None]),
        _pretty(llm_interactions=[{"response": {"usage": {"input_tokens": "12"}}}]),
        _pretty(llm_interactions=[{"response": {"usage": {"input_tokens": 12.5}}}]),
        _pretty(llm_interactions=[_CALL, {}]),
        _pretty(llm_interactions=[_CALL]).replace(b"\n", b"\r\n"),
        _pretty(llm_interactions=[_CALL, _CALL])[:-40],
        _pretty(success=True, start_time="\u00e9t\u00e9").replace(b"\\u00e9", "\u00e9".encode()),
        _pretty(success=True) + b"\xff",
    ],
    ids=lambda data: str(len(data)),
)
def test_trajectory_fast_path_gives_the_line_scans_facts_or_steps_aside(
    tmp_path: Path, data: bytes
) -> None:
    fast, stream = _both(data)
    if fast is not None:
        assert fast == stream
    path = tmp_path / "trajectory.json"
    path.write_bytes(data)
    assert scan_trajectory(path, len(data)) == stream


def test_trajectory_fast_path_is_taken_on_a_plain_trae_file() -> None:
    # It must not step aside on the ordinary shape, or it is never used.
    data = _pretty(llm_interactions=[_CALL] * 3, agent_steps=[{"a": 1}] * 2, success=True)
    fast, stream = _both(data)
    assert fast is not None and fast == stream
    success_line = data.split(b"\n").index(b'  "success": true') + 1
    assert (fast.llm_calls, fast.input_tokens, fast.steps, fast.success_line) == (
        3,
        30,
        2,
        success_line,
    )


def test_a_trajectory_over_the_decode_limit_is_streamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _pretty(llm_interactions=[_CALL] * 5, success=True)
    path = tmp_path / "trajectory.json"
    path.write_bytes(data)
    monkeypatch.setattr(trajectory, "MAX_DECODED_BYTES", 100)
    monkeypatch.setattr(trajectory, "_decode_pretty", lambda data: pytest.fail("decoded"))
    scan = scan_trajectory(path, len(data))
    assert (scan.llm_calls, scan.input_tokens) == (5, 50)


_RETRY_TEXTS = [
    "OpenAI API call failed: Error code: 429\nAnthropic API call failed: x\n",
    "a b API call failed: no\nx API call failed: y API call failed: once\n",
    "Ünicode API call failed: counted\n  indented API call failed: not\nAPI call failed: \n",
    "tail API call failed: ",
    "",
]


@pytest.mark.parametrize(
    "text",
    _RETRY_TEXTS + [p.read_text(errors="replace") for p in sorted(RUNS.rglob("*_stdout.txt"))],
    ids=lambda t: str(len(t)),
)
def test_retry_count_is_what_the_retry_pattern_finds(text: str) -> None:
    assert signatures.count_retries(text) == len(signatures.RETRY_RE.findall(text))


@pytest.mark.parametrize(
    "block", ["", "\n\n", "a\n", "a \t\n\u2028\x1c", "x" + " " * 200, "x\n" + "\n" * 100, "é\xa0"]
)
def test_content_end_is_where_rstrip_cuts(block: str) -> None:
    assert logs._content_end(block) == len(block.rstrip())


def test_the_one_search_prefilter_lets_through_every_line_a_signature_matches() -> None:
    # Each signature's own example lines, and every line of the bundled logs.
    lines = [
        line
        for path in sorted(RUNS.rglob("*_std*.txt"))
        for line in path.read_text(errors="replace").split("\n")
    ]
    lines += [
        "openai.RateLimitError: Error code: 429 - rate",
        "TypeError: TraeConfig.__init__() got an unexpected keyword argument 'x'",
        "ModuleNotFoundError: No module named 'trae_agent'",
        "OPENAI_API_KEY is ${OPENAI_API_KEY}",
        "Claude API call failed: overloaded_error",
    ]
    for line in lines:
        matched = next((sig for sig in SIGNATURES if sig.pattern.search(line)), None)
        prefilter = signatures._ANY_SIGNATURE_RE.search(line) is not None
        assert prefilter is (matched is not None), line
