"""The gate never fails open: hostile results trees, attacked as an adversary would.

Every case audits a tree through a real pytest session (``pytester``), serially and, where
processes are involved, under ``-n 2``, and checks the same invariants on every output:

- the exit code says the audit failed (or refused to start);
- every run folder is accounted for: JUnit test cases for runs, plus counted errors, equal
  the run folders planted;
- no line of stdout starts with ``::`` except the plugin's own GitHub annotations;
- no planted secret appears in the terminal, JUnit, HTML or job summary;
- the results tree is byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_e2e_audit._text import MAX_MESSAGE
from pytest_e2e_audit.rules.runs import (
    api_errors_in_log,
    malformed_record,
    success_nonzero_exit,
    success_without_execution,
    unreadable_record,
)

from .conftest import CLEAN_RUN, RUNS, RunFactory, audit_args

TOKENS = {"token_usage": {"input_tokens": 1, "output_tokens": 1}}
"""Merged into the clean run's journal, it passes every rule."""
SECRET = "sk-proj-Q7hX2vLr9TzW4mKc8NbA6sDf"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdWRpdG9yIn0.T3stT0tFTnNpZ25hdHVyZQ"
OWN_ANNOTATION = re.compile(r"^::(error|warning) (?:file=[^,:\n]*,)?(?:line=\d+,)?title=[^:\n]*::")


@dataclass
class Audit:
    """One audit session and everything it wrote."""

    result: pytest.RunResult
    junit: str
    html: str
    summary: str

    @property
    def text(self) -> str:
        return "\n".join(
            [
                self.result.stdout.str(),
                self.result.stderr.str(),
                self.junit,
                self.html,
                self.summary,
            ]
        )

    def cases(self) -> dict[str, ET.Element]:
        if not self.junit:
            return {}
        root = ET.fromstring(self.junit)
        return {f"{c.get('classname')}::{c.get('name')}": c for c in root.iter("testcase")}

    def run_cases(self) -> list[str]:
        return [nodeid for nodeid in self.cases() if nodeid.startswith("e2e-runs::")]

    def failures(self) -> dict[str, str]:
        """JUnit test case -> its failure text (failing cases only)."""
        out = {}
        for nodeid, case in self.cases().items():
            for child in case:
                if child.tag in ("failure", "error"):
                    out[nodeid] = (child.get("message") or "") + "\n" + (child.text or "")
        return out


def _snapshot(root: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every entry under ``root`` (links not followed): its mode and content hash.

    Walked by folder descriptors, so paths longer than PATH_MAX are covered too."""
    out: dict[str, tuple[int, bytes | str]] = {}
    for folder, dirs, files, fd in os.fwalk(os.fsencode(root)):
        for name in dirs + files:
            st = os.lstat(name, dir_fd=fd)
            digest: bytes | str = b""
            if stat.S_ISREG(st.st_mode):
                handle = os.open(name, os.O_RDONLY, dir_fd=fd)
                with os.fdopen(handle, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).digest()
            elif stat.S_ISLNK(st.st_mode):
                digest = os.fsdecode(os.readlink(name, dir_fd=fd))
            out[os.fsdecode(os.path.join(folder, name))] = (st.st_mode, digest)
    return out


def audit(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    results: Path,
    *extra: str,
    runs: int | None = None,
    github: bool = True,
    subprocess: bool = False,
) -> Audit:
    """Audit ``results`` with JUnit, HTML and a GitHub job summary; check the invariants.

    ``runs`` is the number of run folders planted (checked against the JUnit test cases).
    """
    summary = pytester.path / "summary.md"
    summary.write_text("")
    if github:
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    xml = pytester.path / "junit.xml"
    html = pytester.path / "report.html"
    for output in (xml, html):
        output.unlink(missing_ok=True)
    before = _snapshot(results)
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    result = run(
        *audit_args(results, f"--junitxml={xml}", f"--html={html}", "--self-contained-html"),
        *extra,
    )
    done = Audit(
        result,
        xml.read_text(encoding="utf-8") if xml.exists() else "",
        html.read_text(encoding="utf-8") if html.exists() else "",
        summary.read_text(encoding="utf-8"),
    )
    assert _snapshot(results) == before, "the audit changed the results tree"
    out = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in out
    assert "Traceback" not in out
    for line in result.stdout.lines:
        assert not line.startswith("::") or OWN_ANNOTATION.match(line), line
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line), line
    assert SECRET not in done.text and BEARER not in done.text
    if runs is not None:
        assert len(done.run_cases()) == runs, done.run_cases()
    return done


MODES = pytest.mark.parametrize("mode", [(), ("-n", "2")], ids=["serial", "xdist"])


# -- fail-open paths: values that cannot cross a process boundary -------------------------


@MODES
def test_lone_surrogate_status_fails_the_run_in_every_mode(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    mode: tuple[str, ...],
) -> None:
    make_runs.run("a", journal=TOKENS)
    bad = make_runs.run("b", journal=TOKENS)
    text = (
        (bad / "journal.json").read_text().replace('"status": "success"', '"status": "\\ud800"', 1)
    )
    (bad / "journal.json").write_text(text)
    done = audit(pytester, monkeypatch, make_runs.root, *mode, runs=2)
    assert done.result.ret == pytest.ExitCode.TESTS_FAILED
    done.result.assert_outcomes(passed=1, failed=1)
    assert 'status "\\ud800"' in done.failures()["e2e-runs::b"]


@MODES
@pytest.mark.parametrize("family", ["xunit2", "xunit1"])
def test_folder_name_that_is_not_utf8_is_audited_and_reported(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    tmp_path: Path,
    mode: tuple[str, ...],
    family: str,
) -> None:
    make_runs.run("a", journal=TOKENS)
    staged = RunFactory(tmp_path / "staging").run("x", journal={"status": "error"})
    os.rename(staged, os.path.join(os.fsencode(make_runs.root), b"run-\xff\xfe"))
    done = audit(
        pytester, monkeypatch, make_runs.root, *mode, "-o", f"junit_family={family}", runs=2
    )
    assert done.result.ret == pytest.ExitCode.TESTS_FAILED
    done.result.assert_outcomes(passed=1, failed=1)
    failing = done.failures()
    assert list(failing) == ["e2e-runs::run-__"]
    if family == "xunit2":
        case = done.cases()["e2e-runs::run-__"]
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert props["e2e.run"] == "run-\\xff\\xfe"


# -- fail-open paths: folders that cannot be walked --------------------------------------

_LOCKED_PLUGIN = """
import os

_real = os.scandir


def _scandir(path="."):
    if isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path).endswith("locked"):
        raise PermissionError(13, "Permission denied", path)
    return _real(path)


os.scandir = _scandir
"""


@MODES
def test_folder_that_cannot_be_listed_fails_the_gate(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    mode: tuple[str, ...],
) -> None:
    make_runs.run("a", journal=TOKENS)
    locked = make_runs.run("locked", journal=TOKENS)
    if os.geteuid() != 0:  # a real mode-000 folder where permissions bind
        locked.chmod(0)
    # As root (CI) permissions do not bind: the plugin makes scandir refuse the folder.
    pytester.makepyfile(locked_scandir=_LOCKED_PLUGIN)
    monkeypatch.setenv("PYTHONPATH", str(pytester.path), prepend=os.pathsep)
    try:
        done = audit(
            pytester,
            monkeypatch,
            make_runs.root,
            "-p",
            "locked_scandir",
            *mode,
            runs=2,
            subprocess=True,
        )
    finally:
        locked.chmod(0o755)
    assert done.result.ret == pytest.ExitCode.TESTS_FAILED
    done.result.assert_outcomes(passed=1, failed=1)
    assert (
        f"{unreadable_record.code} {unreadable_record.name}: run folder cannot be listed: "
        "Permission denied (EACCES); runs in it are not audited"
    ) in done.failures()["e2e-runs::locked"]


def test_folder_link_out_of_the_results_root_fails_the_gate(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    tmp_path: Path,
) -> None:
    make_runs.run("a", journal=TOKENS)
    RunFactory(tmp_path / "elsewhere").run("outside-run", journal=TOKENS)
    (make_runs.root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    done = audit(pytester, monkeypatch, make_runs.root, runs=2)
    assert done.result.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        "symbolic link to a folder outside the results root" in done.failures()["e2e-runs::linked"]
    )


def test_a_lost_folder_fails_the_gate_whatever_rules_are_selected(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    tmp_path: Path,
) -> None:
    make_runs.run("a", journal=TOKENS)
    (make_runs.root / "linked").symlink_to(tmp_path, target_is_directory=True)
    done = audit(
        pytester, monkeypatch, make_runs.root, f"--e2e-select={success_nonzero_exit.code}", runs=2
    )
    assert done.result.ret == pytest.ExitCode.TESTS_FAILED
    done.result.assert_outcomes(passed=1, failed=1)
    assert "no active rule at the gate reports it" in done.failures()["e2e-runs::linked"]


def test_path_longer_than_path_max_fails_the_gate(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, make_runs: RunFactory
) -> None:
    make_runs.run("a", journal=TOKENS)
    # Build the deep path relative to each level so no single call exceeds PATH_MAX.
    fd = os.open(make_runs.root, os.O_RDONLY)
    depth = 0
    try:
        while depth * 201 < 4200:
            name = "d" * 200
            os.mkdir(name, dir_fd=fd)
            nxt = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
            depth += 1
        os.mkdir("deep-run", dir_fd=fd)
    finally:
        os.close(fd)
    done = audit(pytester, monkeypatch, make_runs.root, runs=2)
    assert done.result.ret == pytest.ExitCode.TESTS_FAILED
    (failing,) = [text for nodeid, text in done.failures().items() if nodeid != "e2e-runs::a"]
    assert "File name too long (ENAMETOOLONG); runs in it are not audited" in failing


# -- fail-open paths: readers that raised -------------------------------------------------


def _trae_stdout(row: str) -> str:
    return (RUNS / CLEAN_RUN / "trae_stdout.txt").read_text(encoding="utf-8") + row


LOAD_RAISERS = {
    "400-digit duration": ({"trae": {"duration_s": int("9" * 400)}}, {}),
    "NaN duration with a timestamp": (
        '{"status": "error", "error": "x", "trae": {"returncode": 1, "duration_s": NaN}, '
        '"timestamps": {"written": 1700000000}}',
        {},
    ),
    "1e300 duration with a timestamp": (
        {"trae": {"duration_s": 1e300}, "timestamps": {"written": 1700000000}},
        {},
    ),
    "superscript steps": (TOKENS, {"trae_stdout.txt": "│ Steps          │ ²  │\n"}),
    "5000-digit steps": (TOKENS, {"trae_stdout.txt": "│ Steps  │ " + "7" * 5000 + " │\n"}),
    "5000-digit total row": (
        TOKENS,
        {"trae_stdout.txt": "│ Total │ Input: " + "8" * 5000 + " Output: 1 │\n"},
    ),
    "5000-digit codex tokens": (TOKENS, {"codex_stdout.txt": "tokens used\n" + "9" * 5000 + "\n"}),
    "commas after tokens used": (TOKENS, {"codex_stdout.txt": "tokens used\n,,,\n"}),
    "5000-digit trajectory tokens": (
        TOKENS,
        {
            "trajectory.json": '{\n  "llm_interactions": [\n    {\n      "response": {\n'
            '        "usage": {\n          "input_tokens": ' + "5" * 5000 + "\n}}}]}\n"
        },
    ),
    "compact trajectory of strings": (
        TOKENS,
        {"trajectory.json": '{"llm_interactions": ["a", 1, {"response": "x"}, {"response": [1]}]}'},
    ),
}


@MODES
@pytest.mark.parametrize("case", sorted(LOAD_RAISERS))
def test_values_that_made_the_reader_raise_never_lose_the_run(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    case: str,
    mode: tuple[str, ...],
) -> None:
    journal, files = LOAD_RAISERS[case]
    make_runs.run("a", journal=TOKENS)
    make_runs.run("b", journal=journal, **{k.replace(".", "__"): v for k, v in files.items()})
    done = audit(pytester, monkeypatch, make_runs.root, *mode, runs=2)
    assert done.result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    # The run is audited (not an unreadable record): the reader did not raise.
    assert "reader failed" not in done.text
    for line in done.result.stdout.lines:
        assert len(line) <= MAX_MESSAGE + 200
    assert re.search(r"[0-9]{60}", done.result.stdout.str()) is None


def test_a_reader_that_raises_is_an_unreadable_record_naming_the_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, make_runs: RunFactory
) -> None:
    make_runs.run("a", journal=TOKENS)
    make_runs.run("b", journal=TOKENS)
    pytester.makeconftest(
        """
        from pytest_e2e_audit.layouts.perf_agents import PerfAgentsLayout

        real = PerfAgentsLayout.load

        def load(self, ref, root, options):
            if ref.run_id == "b":
                raise OverflowError("int too large to convert to float")
            return real(self, ref, root, options)

        PerfAgentsLayout.load = load
        """
    )
    done = audit(pytester, monkeypatch, make_runs.root, runs=2)
    assert done.result.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        f"{unreadable_record.code} {unreadable_record.name}: record file journal.json could not "
        "be read: the perf-agents-bench reader failed with OverflowError: int too large to "
        "convert to float"
    ) in done.failures()["e2e-runs::b"]
    annotations = [line for line in done.result.stdout.lines if line.startswith("::error")]
    assert annotations and all("title=E2E001 unreadable-record" in a for a in annotations)


# -- values that are not what they claim to be -------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [('"0"', 'is the string "0", not an integer'), ("true", "is true (a boolean), not an integer")],
)
def test_wrongly_typed_exit_code_on_a_success_is_reported_as_such(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    value: str,
    shown: str,
) -> None:
    run = make_runs.run("a", journal=TOKENS)
    text = (run / "journal.json").read_text()
    (run / "journal.json").write_text(re.sub(r'"returncode": 0', f'"returncode": {value}', text))
    done = audit(pytester, monkeypatch, make_runs.root, runs=1)
    text = done.failures()["e2e-runs::a"]
    assert f"{success_nonzero_exit.code} {success_nonzero_exit.name}: " in text
    assert f"(trae.returncode) {shown}; a success needs exit code 0" in text
    assert f"{malformed_record.code} {malformed_record.name}: journal.json:" in text


def test_nan_duration_on_a_success_is_no_sign_the_agent_ran(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, make_runs: RunFactory
) -> None:
    run = make_runs.run("a", journal=TOKENS)
    text = (run / "journal.json").read_text()
    (run / "journal.json").write_text(re.sub(r'"duration_s": [0-9.]+', '"duration_s": NaN', text))
    done = audit(pytester, monkeypatch, make_runs.root, runs=1)
    text = done.failures()["e2e-runs::a"]
    assert f"{success_without_execution.code} {success_without_execution.name}: " in text
    assert "the recorded duration in journal.json:" in text
    assert "is NaN, not a number of seconds" in text


def test_duplicate_status_keys_are_a_finding_not_a_silent_last_wins(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, make_runs: RunFactory
) -> None:
    run = make_runs.run("a", journal=TOKENS)
    text = (run / "journal.json").read_text()
    (run / "journal.json").write_text(
        text.replace('"status": "success"', '"status": "error", "status": "success"', 1)
    )
    done = audit(pytester, monkeypatch, make_runs.root, runs=1)
    assert 'key "status" is written more than once in one object' in done.failures()["e2e-runs::a"]


def test_a_4000_digit_exit_code_is_not_printed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, make_runs: RunFactory
) -> None:
    make_runs.run("a", journal={**TOKENS, "trae": {"returncode": int("4" * 4000)}})
    done = audit(pytester, monkeypatch, make_runs.root, runs=1)
    assert "not a plausible exit code" in done.failures()["e2e-runs::a"]
    assert "4" * 30 not in done.text


# -- the results tree must not configure its own audit -----------------------------------


@pytest.mark.parametrize("planted", ["pytest.ini", "conftest.py"])
def test_audit_from_inside_the_tree_is_refused_before_the_tree_runs_code(
    pytester: pytest.Pytester, make_runs: RunFactory, tmp_path: Path, planted: str
) -> None:
    make_runs.run("a", journal=TOKENS)
    marker = tmp_path / "conftest-ran"
    (make_runs.root / "conftest.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    if planted == "pytest.ini":
        (make_runs.root / "pytest.ini").write_text("[pytest]\ne2e_severity = E2E008=off\n")
    before = _snapshot(make_runs.root)
    result = _run_in(pytester, make_runs.root, "--e2e-results=.")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is inside the results tree*run pytest from a folder outside*"])
    assert not marker.exists()
    assert _snapshot(make_runs.root) == before


def _run_in(pytester: pytest.Pytester, where: Path, *args: str) -> pytest.RunResult:
    """pytest in a subprocess started in ``where`` (the in-process runner keeps its cwd)."""
    os.chdir(where)
    try:
        return pytester.runpytest_subprocess(*args, "-p", "no:randomly")
    finally:
        os.chdir(pytester.path)


@pytest.mark.parametrize("tree", ["/", "/proc", "/proc/self"])
def test_filesystem_roots_and_pseudo_filesystems_are_refused(
    pytester: pytest.Pytester, tree: str
) -> None:
    if tree != "/" and not Path("/proc/self/mounts").exists():
        pytest.fail("this test needs a Linux /proc")
    result = pytester.runpytest(f"--e2e-results={tree}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --e2e-results: *"])


# -- interruption and lost runs ------------------------------------------------------------

_INTERRUPT_AFTER_ONE = """
import pytest
from pytest_e2e_audit import Severity, rule

seen = []


@rule(code="ZZZ001", name="interrupt-after-one", severity=Severity.INFO, summary="test only")
def interrupt(record, ctx):
    '''Stops the session on the second run, as Ctrl-C would.'''
    seen.append(record.run_id)
    if len(seen) == 2:
        raise KeyboardInterrupt
    return ()


def pytest_e2e_audit_rules():
    return [interrupt]
"""


def test_an_interrupted_audit_says_it_is_partial_in_every_report(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, make_runs: RunFactory
) -> None:
    for name in ("a", "b", "c", "d"):
        make_runs.run(name, journal=TOKENS)
    pytester.makeconftest(_INTERRUPT_AFTER_ONE)
    # The rule counts runs in a module global: with the read-ahead the runs are evaluated in
    # a worker process, whose count is its own (test_readahead.py interrupts with SIGINT).
    done = audit(pytester, monkeypatch, make_runs.root, "--e2e-readahead=0", subprocess=True)
    assert done.result.ret == pytest.ExitCode.INTERRUPTED
    incomplete = done.failures()["e2e-audit::incomplete"]
    assert "the session was interrupted after 1 of 4 audit items; 3 items not audited" in incomplete
    done.result.stdout.fnmatch_lines(
        ["PARTIAL AUDIT: the session ended early; 3 items of 4 not audited*"]
    )
    assert "PARTIAL AUDIT" in done.summary


def test_stopping_at_the_first_failure_says_the_audit_is_partial(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, make_runs: RunFactory
) -> None:
    for name in ("a", "b", "c"):
        make_runs.run(name, journal={"status": "error"})
    done = audit(pytester, monkeypatch, make_runs.root, "-x")
    assert done.result.ret == pytest.ExitCode.TESTS_FAILED
    assert "stopped early after 1 of 3 audit items" in done.failures()["e2e-audit::incomplete"]


_DROP_REPORT = """
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    # A report that never arrives: what a crashed or broken worker leaves behind.
    return True if item.name == "b" else None
"""


@MODES
def test_a_run_whose_report_never_arrives_fails_the_gate(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    mode: tuple[str, ...],
) -> None:
    make_runs.run("a", journal=TOKENS)
    make_runs.run("b", journal=TOKENS)
    pytester.makeconftest(_DROP_REPORT)
    done = audit(pytester, monkeypatch, make_runs.root, *mode, runs=2)
    assert done.result.ret == pytest.ExitCode.TESTS_FAILED
    assert "run not accounted for" in done.failures()["e2e-runs::b"]
    done.result.stdout.fnmatch_lines(["1 run not accounted for*counted as failing: e2e-runs::b"])


# -- logs ----------------------------------------------------------------------------------


def test_a_huge_single_line_log_is_scanned_at_its_start_and_reported(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, make_runs: RunFactory
) -> None:
    run = make_runs.run("a", journal=TOKENS)
    with open(run / "trae_stdout.txt", "wb") as fh:
        fh.write(
            b"OpenAI API call failed: Error code: 401 - invalid_api_key. Will sleep 3 s\n"[:-1]
        )
        fh.truncate(200 << 20)  # one line of 200 MB (sparse: no disk used)
    done = audit(pytester, monkeypatch, make_runs.root, runs=1)
    text = done.failures()["e2e-runs::a"]
    assert f"{api_errors_in_log.code} {api_errors_in_log.name}: " in text
    assert "auth-error" in text
    assert "trae_stdout.txt" in text and "209,715,200" in text


# -- output injection and secrets ---------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        ("--tb=short",),
        ("--tb=long",),
        ("--tb=native",),
        ("-vv",),
        ("-rA", "--tb=line"),
        ("-o", "junit_family=xunit1", "-vv"),
    ],
    ids=["short", "long", "native", "vv", "rA", "xunit1"],
)
def test_hostile_folder_names_cannot_start_workflow_commands_or_reach_the_terminal(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    options: tuple[str, ...],
) -> None:
    make_runs.run("x\n::add-mask::pwned", journal={"status": "error"})
    make_runs.run("esc\x1b[31m\x07bel\rcr", journal={"status": "error"})
    done = audit(pytester, monkeypatch, make_runs.root, *options, runs=2)
    assert done.result.ret == pytest.ExitCode.TESTS_FAILED
    assert any(line.startswith("::error title=") for line in done.result.stdout.lines)
    # The JUnit file stays well-formed XML with clean attributes (parsed by audit()).
    files = [case.get("file") or "" for case in done.cases().values()]
    if "junit_family=xunit1" in options:
        assert all(files)
    for file in files:
        assert not re.search(r"[\x00-\x1f]", file)


@MODES
def test_credentials_in_logs_and_errors_are_redacted_everywhere(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    mode: tuple[str, ...],
) -> None:
    log = (
        f"OpenAI API call failed: Error code: 401 - OPENAI_API_KEY={SECRET} rejected; "
        f"Authorization: Bearer {BEARER}. Will sleep 3 seconds and will retry.\n"
    )
    make_runs.run("a", journal=TOKENS, trae_stdout__txt=log)
    make_runs.run(
        "b", journal={"status": "error", "error": f"request failed with api_key={SECRET}"}
    )
    done = audit(pytester, monkeypatch, make_runs.root, *mode, runs=2)
    failures = done.failures()
    assert "OPENAI_API_KEY=[redacted" in failures["e2e-runs::a"]
    assert "trae_stdout.txt:1" in failures["e2e-runs::a"]
    assert "[redacted" in done.summary or "e2e-runs::a" in done.summary


def test_links_and_images_in_log_lines_do_not_render_in_the_job_summary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, make_runs: RunFactory
) -> None:
    log = (
        "OpenAI API call failed: Error code: 401 ![x](https://attacker.example/p.png) `<b>hi</b>`\n"
    )
    make_runs.run("a", journal=TOKENS, trae_stdout__txt=log)
    done = audit(pytester, monkeypatch, make_runs.root, runs=1)
    lines = [line for line in done.summary.splitlines() if "attacker.example" in line]
    assert lines
    for line in lines:
        # Outside code spans nothing of the log line may remain.
        outside = re.sub(r"`[^`]*`", "", line)
        assert "attacker.example" not in outside and "<b>" not in outside
