"""The terminal in an audit session: the last screen is the audit summary, failing runs are
printed in full up to a bound, and pytest's one line per failing item gives way to the most
serious ones, unless the user asked for pytest's own output."""

from __future__ import annotations

import pytest

from pytest_e2e_audit.rules.runs import success_nonzero_exit, tokens_not_recorded

from .conftest import RunFactory, audit_args

TOKENS = {"token_usage": {"input_tokens": 1, "output_tokens": 1}}


def _tree(make_runs: RunFactory, failing: int) -> None:
    make_runs.run("a-only-tokens")  # fails on tokens-not-recorded alone
    for n in range(failing - 1):
        make_runs.run(f"b-exit-{n:02d}", journal={**TOKENS, "trae": {"returncode": 1}})


def test_the_last_screen_is_the_audit_summary_with_the_most_serious_items(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    _tree(make_runs, 3)
    result = pytester.runpytest(*audit_args(make_runs.root))
    lines = result.stdout.lines
    assert not any(line.startswith("FAILED ") for line in lines)
    start = next(i for i, line in enumerate(lines) if line.startswith("most serious failing items"))
    assert lines[start] == "most serious failing items (3 of 3):"
    listed = lines[start + 1 : start + 4]
    # A success that is not one comes before a missing token count, whatever the path order.
    assert [line.split(": ", 1)[1].split(":", 1)[0] for line in listed] == [
        f"{success_nonzero_exit.code} {success_nonzero_exit.name}",
        f"{success_nonzero_exit.code} {success_nonzero_exit.name}",
        f"{tokens_not_recorded.code} {tokens_not_recorded.name}",
    ]
    # Nothing but pytest's closing line follows the summary.
    assert lines[start + 4].startswith("=") and "failed" in lines[start + 4]


def test_pytest_short_summary_comes_back_when_asked_for(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    _tree(make_runs, 2)
    result = pytester.runpytest(*audit_args(make_runs.root, "-rf"))
    assert sum(line.startswith("FAILED e2e-runs::") for line in result.stdout.lines) == 2
    assert not any(line.startswith("most serious failing items") for line in result.stdout.lines)


def test_failing_runs_are_printed_up_to_the_bound_and_all_with_zero(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    _tree(make_runs, 5)
    bounded = pytester.runpytest(*audit_args(make_runs.root, "--e2e-max-failures=2"))
    blocks = [
        line for line in bounded.stdout.lines if line.startswith("_") and "e2e-runs::" in line
    ]
    assert len(blocks) == 2
    bounded.stdout.fnmatch_lines(["… 3 more failing runs not printed (--e2e-max-failures=2; 0 *"])
    everything = pytester.runpytest(*audit_args(make_runs.root, "--e2e-max-failures=0"))
    blocks = [x for x in everything.stdout.lines if x.startswith("_") and "e2e-runs::" in x]
    assert len(blocks) == 5
    assert "more failing runs not printed" not in everything.stdout.str()


def test_the_summary_says_where_the_reports_were_written(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    _tree(make_runs, 1)
    xml, js = pytester.path / "e2e.xml", pytester.path / "e2e.json"
    result = pytester.runpytest(
        *audit_args(make_runs.root, f"--junitxml={xml}", f"--e2e-json={js}")
    )
    result.stdout.fnmatch_lines([f"reports: JUnit {xml}; JSON {js}"])


@pytest.mark.parametrize("value", ["2.5", "-1", "many"])
def test_a_bad_failure_bound_is_a_usage_error(
    pytester: pytest.Pytester, make_runs: RunFactory, value: str
) -> None:
    _tree(make_runs, 1)
    result = pytester.runpytest(*audit_args(make_runs.root, f"--e2e-max-failures={value}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --e2e-max-failures: expected a*"])
