"""GitHub Actions output: the most serious findings annotated at their file and line, at most
ten with one line for the rest, claims included, and a job summary whenever the audit ran."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_e2e_audit.github import MAX_ANNOTATIONS
from pytest_e2e_audit.rules.runs import success_nonzero_exit, tokens_not_recorded

from .conftest import RunFactory, audit_args

TOKENS = {"token_usage": {"input_tokens": 1, "output_tokens": 1}}
_ERROR = re.compile(
    r"^::error (?:file=(?P<file>[^,]*),)?(?:line=(?P<line>\d+),)?title=(?P<title>[^:]*)::"
)


def _github(monkeypatch: pytest.MonkeyPatch, workspace: Path, summary: Path) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))


def _errors(result: pytest.RunResult) -> list[re.Match[str]]:
    return [m for line in result.stdout.lines if (m := _ERROR.match(line))]


def test_a_false_success_is_annotated_before_a_missing_token_count(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    tmp_path: Path,
) -> None:
    # Path order puts the token-only run first; severity and rule importance must not.
    make_runs.run("a-tokens-only")  # a real success that only lacks token counts
    make_runs.run("b-exit-1", journal={**TOKENS, "trae": {"returncode": 1}})
    _github(monkeypatch, tmp_path, tmp_path / "summary.md")
    result = pytester.runpytest(*audit_args(make_runs.root))
    titles = [m["title"] for m in _errors(result)]
    assert titles == [
        f"{success_nonzero_exit.code} {success_nonzero_exit.name}",
        f"{tokens_not_recorded.code} {tokens_not_recorded.name}",
    ]


def test_annotations_point_at_the_file_and_line_inside_the_workspace(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    tmp_path: Path,
) -> None:
    run = make_runs.run("b-exit-1", journal={**TOKENS, "trae": {"returncode": 1}})
    _github(monkeypatch, tmp_path, tmp_path / "summary.md")
    result = pytester.runpytest(*audit_args(make_runs.root))
    (error,) = _errors(result)
    journal = run / "journal.json"
    expected_line = next(
        n for n, line in enumerate(journal.read_text().splitlines(), 1) if '"returncode"' in line
    )
    assert error["file"] == journal.relative_to(tmp_path).as_posix()
    assert error["line"] == str(expected_line)


def test_no_file_is_named_for_a_tree_outside_the_workspace(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    tmp_path: Path,
) -> None:
    make_runs.run("b-exit-1", journal={**TOKENS, "trae": {"returncode": 1}})
    elsewhere = tmp_path / "workspace"
    elsewhere.mkdir()
    _github(monkeypatch, elsewhere, tmp_path / "summary.md")
    result = pytester.runpytest(*audit_args(make_runs.root))
    (error,) = _errors(result)
    assert error["file"] is None and error["line"] is None
    assert error["title"] == f"{success_nonzero_exit.code} {success_nonzero_exit.name}"


def test_at_most_ten_annotations_and_one_line_for_the_rest(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    make_runs: RunFactory,
    tmp_path: Path,
) -> None:
    runs = MAX_ANNOTATIONS + 3
    for n in range(runs):
        make_runs.run(f"run-{n:02d}", journal={**TOKENS, "trae": {"returncode": 1}})
    _github(monkeypatch, tmp_path, tmp_path / "summary.md")
    result = pytester.runpytest(*audit_args(make_runs.root))
    assert len(_errors(result)) == MAX_ANNOTATIONS
    result.stdout.fnmatch_lines(
        ["::warning title=e2e audit::3 more failing items are not annotated*"]
    )


def test_a_failing_claim_is_annotated_and_a_claims_only_session_writes_a_summary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text("models:\n  main:\n    parallel_tool_calls: true\n")
    claims = tmp_path / "claims.yaml"
    claims.write_text(
        "claims:\n  - id: no-parallel\n    text: Disabled parallel tool calls\n"
        "    config: [agent.yaml]\n    settings:\n      models.*.parallel_tool_calls: false\n"
    )
    summary = tmp_path / "summary.md"
    _github(monkeypatch, tmp_path, summary)
    result = pytester.runpytest(f"--e2e-claims={claims}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    (error,) = _errors(result)
    assert error["title"].startswith("E2E040 claim-not-applied")
    assert error["file"] == "agent.yaml" and error["line"] == "3"
    assert "e2e-claims::no-parallel" in summary.read_text()


def test_the_markdown_summary_can_be_written_anywhere(
    pytester: pytest.Pytester, make_runs: RunFactory, tmp_path: Path
) -> None:
    make_runs.run("a-clean", journal=TOKENS)
    make_runs.run("b-exit-1", journal={**TOKENS, "trae": {"returncode": 1}})
    out = tmp_path / "audit.md"
    result = pytester.runpytest(*audit_args(make_runs.root, f"--e2e-markdown={out}"))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = out.read_text(encoding="utf-8")
    assert text.startswith("## e2e audit")
    assert "- reported success: 2 (100.0%)" in text
    assert "- verified success: **1** (50.0%)" in text
    assert "`e2e-runs::b-exit-1`" in text and "`e2e-runs::a-clean`" not in text


def test_a_markdown_summary_inside_the_results_tree_is_refused(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("a-clean", journal=TOKENS)
    result = pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-markdown={make_runs.root / 'audit.md'}")
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --e2e-markdown: * is inside the results tree*"])
    assert not (make_runs.root / "audit.md").exists()
