"""Bad input is normal input: every broken results tree gives a finding or a clear error.

A results tree is whatever a crashed pipeline left behind, so each case here must end in a
finding on the run that names the file, a warning, or a collection or usage error naming the
folder; never an INTERNALERROR, never a hang, and never a write into the tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from pytest_e2e_audit import Rule
from pytest_e2e_audit.rules.runs import (
    api_errors_in_log,
    success_empty_patch,
    success_without_execution,
    unreadable_record,
)

from .conftest import CLEAN_RUN, EXAMPLES, RUNS, RunFactory, audit_args, findings_by_run

EMPTY_JOURNAL = "vllm/claude_code/default/2025-12-23_04-37-32/vllm_core-0071"
"""The real run whose journal.json is 0 bytes."""
QUOTA_429 = "vllm/trae/gpt-5/2025-10-14_14-11-42/vllm_core-0000"
"""A real run whose trae_stdout.txt shows a 429 insufficient_quota at line 375."""
TOKENS = {"token_usage": {"input_tokens": 1, "output_tokens": 1}}
"""Merged into the clean run's journal, it passes every rule."""
RUN = "batch/item-0000"
"""Where ``make_runs.run()`` puts its run by default."""
SHOW_WARNINGS = ("-W", "always::pytest_e2e_audit.E2EAuditWarning")
"""The project's own ``filterwarnings = error`` would turn the audit's warnings into errors."""


def _headline(entry: Rule, text: str) -> str:
    """An fnmatch pattern for a finding line of ``entry`` whose message starts with ``text``."""
    return f"{entry.code} {entry.name}: {text}*"


def _audit(
    pytester: pytest.Pytester, results: Path, *extra: str
) -> tuple[pytest.RunResult, dict[str, list[str]]]:
    """Audit ``results`` in-process with a JUnit report; return the result and its findings."""
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest(*audit_args(results, f"--junitxml={xml}", *extra))
    _assert_no_crash(result)
    return result, findings_by_run(xml)


def _assert_no_crash(result: pytest.RunResult) -> None:
    assert "INTERNALERROR" not in result.stdout.str()
    assert "INTERNALERROR" not in result.stderr.str()


# -- the record file --------------------------------------------------------------------


def test_empty_journal_is_an_unreadable_record(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(EMPTY_JOURNAL)
    result, findings = _audit(pytester, make_runs.root)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    assert findings == {EMPTY_JOURNAL: [unreadable_record.name]}
    result.stdout.fnmatch_lines(
        [
            f"*e2e-runs::{EMPTY_JOURNAL}*",
            _headline(unreadable_record, "record file journal.json is empty (0 bytes); the run"),
        ]
    )


def _clean_journal() -> bytes:
    return (RUNS / CLEAN_RUN / "journal.json").read_bytes()


def _truncated() -> bytes:
    text = _clean_journal()
    return text[: text.index(b"\n", len(text) // 2) + 1]


def _as_array() -> bytes:
    return b"[" + _clean_journal() + b"]"


def _as_string() -> bytes:
    return json.dumps(_clean_journal().decode()).encode()


def _invalid_utf8() -> bytes:
    return _clean_journal().replace(b"vllm_core", b"vllm\xff\xfecore", 1)


def _binary_zeros() -> bytes:
    return b"\x00" * 4096


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(_truncated, "is truncated: *", id="truncated"),
        pytest.param(_as_array, "holds a JSON array, not an object", id="json-array"),
        pytest.param(_as_string, "holds a JSON string, not an object", id="json-string"),
        pytest.param(_invalid_utf8, "is not valid UTF-8 (byte *); not JSON", id="invalid-utf8"),
        pytest.param(_binary_zeros, "is not valid JSON: *", id="nul-bytes"),
    ],
)
def test_broken_journal_is_an_unreadable_record_naming_the_problem(
    pytester: pytest.Pytester, make_runs: RunFactory, content: object, problem: str
) -> None:
    make_runs.run(journal=content())  # type: ignore[operator]
    result, findings = _audit(pytester, make_runs.root)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    assert findings == {RUN: [unreadable_record.name]}
    result.stdout.fnmatch_lines(
        [_headline(unreadable_record, f"record file journal.json {problem}; the run cannot*")]
    )


def test_journal_that_is_a_directory_is_an_unreadable_record(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("batch/good", journal=TOKENS)
    bad = make_runs.run("batch/bad")
    (bad / "journal.json").unlink()
    (bad / "journal.json").mkdir()
    result, findings = _audit(pytester, make_runs.root)
    assert findings == {"batch/bad": [unreadable_record.name], "batch/good": []}
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [_headline(unreadable_record, "record file journal.json is a directory, not a file")]
    )


# -- the other files of a run -------------------------------------------------------------


def test_invalid_utf8_and_nul_bytes_in_the_log_do_not_stop_the_scan(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    pristine = make_runs.real(QUOTA_429, "pristine")
    junk = make_runs.real(QUOTA_429, "junk")
    log = (pristine / "trae_stdout.txt").read_bytes().splitlines(keepends=True)
    assert b"429" in log[374]
    garbage = b"\x00\x00\xff\xfe\xc3\x28 binary \x80\x00"
    log[374] = garbage + log[374]
    (junk / "trae_stdout.txt").write_bytes(garbage + b"\n" + b"".join(log) + garbage)

    result, findings = _audit(pytester, make_runs.root)
    assert api_errors_in_log.name in findings["pristine"]
    assert findings["junk"] == findings["pristine"]
    result.assert_outcomes(failed=2)
    # One junk line was added before the 429, so the first hit moves from line 375 to 376.
    result.stdout.fnmatch_lines([_headline(api_errors_in_log, "*first at trae_stdout.txt:375: *")])
    result.stdout.fnmatch_lines(
        [_headline(api_errors_in_log, "*first at trae_stdout.txt:376: *429*")]
    )
    assert "\x00" not in result.stdout.str()


def test_success_with_missing_patch_file_is_an_empty_patch(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run(journal=TOKENS, model_patch__diff=None)
    result, findings = _audit(pytester, make_runs.root)
    result.assert_outcomes(failed=1)
    assert findings == {RUN: [success_empty_patch.name]}
    result.stdout.fnmatch_lines(
        [_headline(success_empty_patch, 'status "success" but model_patch.diff is missing')]
    )


def test_success_with_no_log_and_no_trajectory_shows_no_sign_the_agent_ran(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run(
        journal=TOKENS,
        trae_stdout__txt=None,
        trae_stderr__txt=None,
        openhands_stdout__txt=None,
        openhands_stderr__txt=None,
        trajectory__json=None,
    )
    result, findings = _audit(pytester, make_runs.root)
    result.assert_outcomes(failed=1)
    assert findings == {RUN: [success_without_execution.name]}
    result.stdout.fnmatch_lines(
        [_headline(success_without_execution, "*no agent log or trajectory was recorded")]
    )


def test_large_log_is_scanned_to_its_end(pytester: pytest.Pytester, make_runs: RunFactory) -> None:
    run = make_runs.run(journal=TOKENS)
    quota = (RUNS / QUOTA_429 / "trae_stdout.txt").read_bytes().splitlines(keepends=True)[374]
    with open(run / "trae_stdout.txt", "wb") as fh:
        fh.truncate(200 << 20)  # 200 MB of zero bytes without a newline (sparse: instant)
        fh.seek(0, os.SEEK_END)
        fh.write(b"\n" + quota)
    result, findings = _audit(pytester, make_runs.root)
    result.assert_outcomes(failed=1)
    # The 200 MB first line is reported (a warning), and the scan still reaches line 2.
    assert findings == {RUN: [unreadable_record.name, api_errors_in_log.name]}
    result.stdout.fnmatch_lines(
        [_headline(api_errors_in_log, "*first at trae_stdout.txt:2: *Error code: 429*")]
    )
    result.stdout.fnmatch_lines(
        [
            f"{unreadable_record.code} {unreadable_record.name} [[]warning]: run file "
            "trae_stdout.txt has a line over 8,388,608 bytes (the longest, line 1, is "
            "209,715,200 bytes)*",
        ]
    )


def test_fifo_log_is_refused_without_hanging(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    run = make_runs.run(journal=TOKENS)
    (run / "trae_stdout.txt").unlink()
    os.mkfifo(run / "trae_stdout.txt")
    xml = pytester.path / "junit.xml"
    # A subprocess with a timeout: opening the FIFO for reading would block forever.
    result = pytester.runpytest_subprocess(
        *audit_args(make_runs.root, f"--junitxml={xml}", "--e2e-fail-on=warning"), timeout=30
    )
    _assert_no_crash(result)
    result.assert_outcomes(failed=1)
    assert findings_by_run(xml) == {RUN: [unreadable_record.name]}
    result.stdout.fnmatch_lines(
        [
            _headline(
                unreadable_record,
                "run file trae_stdout.txt is not a regular file (FIFO, socket or device); not read",
            )
        ]
    )


# -- links ------------------------------------------------------------------------------


def test_folder_link_to_a_parent_is_walked_once(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    run = make_runs.run(journal=TOKENS)
    (run / "up").symlink_to("..", target_is_directory=True)
    (make_runs.root / "root").symlink_to(make_runs.root, target_is_directory=True)
    result, findings = _audit(pytester, make_runs.root, *SHOW_WARNINGS)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, warnings=2)
    assert findings == {RUN: []}
    result.stdout.fnmatch_lines(
        [
            "*E2EAuditWarning: e2e-audit: batch/item-0000/up: symbolic link to a folder "
            "already walked; not followed again",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*E2EAuditWarning: e2e-audit: root: symbolic link to a folder already walked*"]
    )


def test_folder_link_out_of_the_results_root_is_not_followed_and_fails(
    pytester: pytest.Pytester, make_runs: RunFactory, tmp_path: Path
) -> None:
    make_runs.run(journal=TOKENS)
    RunFactory(tmp_path / "elsewhere").run("outside-run", journal=TOKENS)
    (make_runs.root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    result, findings = _audit(pytester, make_runs.root)
    # Runs behind the link may be lost: the link is an item that fails, not a warning.
    result.assert_outcomes(passed=1, failed=1)
    assert findings == {RUN: [], "linked": [unreadable_record.name]}
    result.stdout.fnmatch_lines(
        [
            _headline(
                unreadable_record,
                "run folder is a symbolic link to a folder outside the results root; not "
                "followed, so runs in it are not audited",
            )
        ]
    )
    assert "outside-run" not in result.stdout.str()


def test_journal_link_out_of_the_results_root_is_an_unreadable_record(
    pytester: pytest.Pytester, make_runs: RunFactory, tmp_path: Path
) -> None:
    outside = RunFactory(tmp_path / "elsewhere").run("outside-run", journal=TOKENS)
    run = make_runs.run()
    (run / "journal.json").unlink()
    (run / "journal.json").symlink_to(outside / "journal.json")
    result, findings = _audit(pytester, make_runs.root)
    result.assert_outcomes(failed=1)
    assert findings == {RUN: [unreadable_record.name]}
    result.stdout.fnmatch_lines(
        [
            _headline(
                unreadable_record,
                "record file journal.json is a symbolic link to a path outside the results "
                "root; not followed; the run cannot be audited",
            )
        ]
    )


def test_log_link_out_of_the_results_root_is_a_warning_finding(
    pytester: pytest.Pytester, make_runs: RunFactory, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("OpenAI API call failed: Error code: 401 - invalid_api_key\n")
    run = make_runs.run(journal=TOKENS)
    (run / "trae_stdout.txt").unlink()
    (run / "trae_stdout.txt").symlink_to(secret)
    result, findings = _audit(pytester, make_runs.root, "--e2e-fail-on=warning")
    result.assert_outcomes(failed=1)
    assert findings == {RUN: [unreadable_record.name]}
    result.stdout.fnmatch_lines(
        [
            _headline(
                unreadable_record,
                "run file trae_stdout.txt is a symbolic link to a path outside the results "
                "root; not followed; facts it holds are not audited",
            )
        ]
    )
    assert "invalid_api_key" not in result.stdout.str()


# -- the results folder itself ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "problem"), [("missing", "does not exist"), ("file", "is not a directory")]
)
def test_results_that_are_not_a_folder_are_a_usage_error(
    pytester: pytest.Pytester, tmp_path: Path, kind: str, problem: str
) -> None:
    results = tmp_path / "results"
    if kind == "file":
        results.write_text("not a folder\n")
    result = pytester.runpytest(*audit_args(results))
    _assert_no_crash(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --e2e-results: {results} {problem}"])


@pytest.mark.parametrize("content", ["empty", "logs-without-journal"])
def test_results_with_no_runs_are_a_collection_error_naming_the_folder(
    pytester: pytest.Pytester, make_runs: RunFactory, content: str
) -> None:
    if content == "logs-without-journal":
        (make_runs.run() / "journal.json").unlink()
    result = pytester.runpytest(*audit_args(make_runs.root))
    _assert_no_crash(result)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*no recorded runs found under {make_runs.root} *"])


# -- the audit is read-only -------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path under ``root`` with its type, mtime and, for files, size and SHA-256."""
    snap: dict[str, tuple[object, ...]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            snap[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            snap[rel] = ("dir", st.st_mtime_ns)
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            snap[rel] = ("file", st.st_size, st.st_mtime_ns, digest)
    snap["."] = ("dir", root.stat().st_mtime_ns)
    return snap


def test_audit_leaves_the_results_tree_byte_identical(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    shutil.copytree(EXAMPLES, results, symlinks=True)
    runs = len(list(results.rglob("journal.json")))
    before = _snapshot(results)
    reports = tmp_path / "reports"
    result = pytester.runpytest(
        *audit_args(
            results,
            f"--junitxml={reports / 'junit.xml'}",
            f"--html={reports / 'report.html'}",
            "--self-contained-html",
        )
    )
    _assert_no_crash(result)
    result.assert_outcomes(failed=runs)
    assert (reports / "junit.xml").is_file()
    assert (reports / "report.html").is_file()
    assert _snapshot(results) == before


@pytest.mark.parametrize(
    ("option", "name"), [("--junitxml", "junit.xml"), ("--html", "report.html")]
)
def test_report_inside_the_results_tree_is_a_usage_error(
    pytester: pytest.Pytester, make_runs: RunFactory, option: str, name: str
) -> None:
    make_runs.run(journal=TOKENS)
    target = make_runs.root / "batch" / name
    result = pytester.runpytest(*audit_args(make_runs.root, f"{option}={target}"))
    _assert_no_crash(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: {option}: {target} is inside the results tree {make_runs.root}*"]
    )
    assert not target.exists()
