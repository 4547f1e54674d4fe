"""Options and ini settings: defaults, overrides, and usage errors that list valid values."""

from __future__ import annotations

import pytest

from pytest_e2e_audit.rules.runs import (
    BUILTIN_RULES,
    api_errors_in_log,
    success_without_execution,
    tokens_not_recorded,
)

from .conftest import RunFactory, audit_args, findings_by_run

WITH_TOKENS = {"token_usage": {"input_tokens": 1, "output_tokens": 1}}


def test_without_e2e_results_the_plugin_collects_nothing_extra(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "e2e audit" not in result.stdout.str()


def test_ini_severity_override_turns_a_rule_into_a_warning(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("clean")
    pytester.makeini(f"[pytest]\ne2e_severity =\n    {tokens_not_recorded.name}=warning\n")
    result = pytester.runpytest(*audit_args(make_runs.root))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"{tokens_not_recorded.code} {tokens_not_recorded.name} [[]warning]:*"]
    )


def test_severity_off_and_ignore_disable_a_rule(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("clean")
    for flag in (
        f"--e2e-severity={tokens_not_recorded.code}=off",
        f"--e2e-ignore={tokens_not_recorded.name}",
    ):
        result = pytester.runpytest(*audit_args(make_runs.root, flag))
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            [f"{tokens_not_recorded.code} {tokens_not_recorded.name} *off*"]
        )


def test_select_accepts_codes_and_names_comma_separated(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("quick", journal={"trae": {"duration_s": 1.0}})
    xml = pytester.path / "out.xml"
    selected = f"{tokens_not_recorded.code},{success_without_execution.name}"
    pytester.runpytest(*audit_args(make_runs.root, f"--e2e-select={selected}", f"--junitxml={xml}"))
    assert findings_by_run(xml) == {
        "quick": [success_without_execution.name, tokens_not_recorded.name]
    }


def test_min_duration_threshold_is_configurable(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("quick", journal={**WITH_TOKENS, "trae": {"duration_s": 30.0}})
    args = audit_args(make_runs.root, f"--e2e-select={success_without_execution.name}")
    pytester.runpytest(*args).assert_outcomes(passed=1)
    pytester.runpytest(*args, "--e2e-min-duration=60").assert_outcomes(failed=1)
    pytester.makeini("[pytest]\ne2e_min_duration = 60\n")
    pytester.runpytest(*args).assert_outcomes(failed=1)


def test_fail_on_warning_gates_on_warnings(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("clean", journal=WITH_TOKENS)
    args = audit_args(make_runs.root, f"--e2e-severity={api_errors_in_log.name}=warning")
    make_runs.real("sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_000_021f76e4", "api")
    sel = f"--e2e-select={api_errors_in_log.name}"
    pytester.runpytest(*args, sel).assert_outcomes(passed=2)
    pytester.runpytest(*args, sel, "--e2e-fail-on=warning").assert_outcomes(passed=1, failed=1)


def test_results_folder_from_ini_is_relative_to_the_ini_file(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("clean", journal=WITH_TOKENS)
    pytester.makeini(f"[pytest]\ne2e_results = {make_runs.root}\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    # The run, the dataset and the run's one batch.
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["e2e-runs .*", "e2e-dataset .*", "e2e-groups .*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--e2e-select=no-such-rule"],
            "*--e2e-select: unknown rule 'no-such-rule'; valid: E2E001*",
        ),
        (["--e2e-ignore=E2E999"], "*--e2e-ignore: unknown rule 'E2E999'*"),
        (["--e2e-severity=tokens-not-recorded"], "*expected RULE=LEVEL*"),
        (
            ["--e2e-severity=tokens-not-recorded=fatal"],
            "*invalid severity 'fatal'*valid: error, warning, info, off*",
        ),
        (["--e2e-fail-on=info"], "*--e2e-fail-on: invalid value 'info'; valid: error, warning*"),
        (["--e2e-min-duration=soon"], "*--e2e-min-duration: expected a number of seconds*"),
        (
            ["--e2e-layout=swe-bench"],
            "*unknown layout 'swe-bench'; valid: auto, perf-agents-bench*",
        ),
    ],
)
def test_bad_option_values_are_usage_errors_listing_valid_values(
    pytester: pytest.Pytester, make_runs: RunFactory, args: list[str], message: str
) -> None:
    make_runs.run("clean")
    result = pytester.runpytest(*audit_args(make_runs.root, *args))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "INTERNALERROR" not in result.stderr.str() + result.stdout.str()


def test_a_bad_ini_value_names_the_ini_file(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("clean")
    pytester.makeini("[pytest]\ne2e_severity =\n    nonsense=warning\n")
    result = pytester.runpytest(*audit_args(make_runs.root))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*e2e_severity (in tox.ini): unknown rule 'nonsense'*"])


def test_usage_error_lists_every_rule(pytester: pytest.Pytester, make_runs: RunFactory) -> None:
    make_runs.run("clean")
    result = pytester.runpytest(*audit_args(make_runs.root, "--e2e-select=bogus"))
    text = result.stderr.str()
    assert all(f"{r.code} {r.name}" in text for r in BUILTIN_RULES)


def test_help_documents_every_option_with_its_ini_twin(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    for flag, ini in [
        ("--e2e-results=DIR", "e2e_results"),
        ("--e2e-layout=NAME", "e2e_layout"),
        ("--e2e-select=RULE", "e2e_select"),
        ("--e2e-ignore=RULE", "e2e_ignore"),
        ("--e2e-severity=RULE=LEVEL", "e2e_severity"),
        ("--e2e-fail-on=LEVEL", "e2e_fail_on"),
        ("--e2e-min-duration=SECONDS", "e2e_min_duration"),
        ("--e2e-scope-ignore=GLOB", "e2e_scope_ignore"),
    ]:
        result.stdout.fnmatch_lines([f"*{flag}*"])
        result.stdout.fnmatch_lines([f"*{ini} *"])


def test_verified_success_is_not_claimed_when_every_success_rule_is_off(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("clean", journal=WITH_TOKENS)
    result = pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-select={tokens_not_recorded.name}")
    )
    result.stdout.fnmatch_lines(
        [
            "reported success: 1 of 1 runs (100.0%)",
            "verified success: not computed (every success rule is off)",
        ]
    )


@pytest.mark.parametrize(
    "flag", ["--e2e-results", "--e2e-claims", "--e2e-claims-root", "--e2e-rerun-list"]
)
@pytest.mark.parametrize("value", ["", "   "], ids=["empty", "blank"])
def test_an_empty_path_option_is_a_usage_error_not_an_audit_switched_off(
    pytester: pytest.Pytester, make_runs: RunFactory, flag: str, value: str
) -> None:
    # `--e2e-results=$RESULTS` with the variable unset must fail the build, not pass it.
    make_runs.run("clean", journal=WITH_TOKENS)
    extra = [] if flag == "--e2e-results" else [f"--e2e-results={make_runs.root}"]
    result = pytester.runpytest("-p", "no:cacheprovider", *extra, f"{flag}={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {flag}: the value is empty*"])


def test_an_empty_results_key_in_the_ini_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ne2e_results =\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: e2e_results (in tox.ini): the value is empty*"])
