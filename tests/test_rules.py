"""Every built-in rule fires on the real run that shows its problem and stays quiet on a clean run.

The real runs and what is wrong with each come from the samples README (shared/samples); the
clean baseline is the one run that README calls clean, with token usage added to its journal
(the perf-agents-bench journal never records tokens, so no real run passes every rule).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_e2e_audit.rules import Rule
from pytest_e2e_audit.rules.runs import (
    BUILTIN_RULES,
    api_errors_in_log,
    error_without_message,
    malformed_record,
    out_of_scope_edits,
    status_contradicts_agent,
    success_empty_patch,
    success_nonzero_exit,
    success_without_execution,
    tokens_not_recorded,
    unknown_status,
    unreadable_record,
)

from .conftest import CLEAN_RUN, RUNS, RunFactory, audit_args, findings_by_run

SONNET = "sglan/trae/us-anthropic-claude-sonnet-4-5-20250929-v1-0"
RC1_NO_TOOL_OUTPUT = "sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_000_021f76e4"
RC_MINUS_15 = "sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_032_6fc17596"
RC_MINUS_9 = "vllm/trae/gpt-5/2025-10-09_00-40-07/vllm_core-0000"
NEVER_RAN = "vllm/trae/gpt-5/2025-10-08_23-58-16/vllm_core-0000"
EMPTY_PATCH = "vllm/trae/gpt-5/2025-10-14_14-11-42/vllm_core-0023"
QUOTA_429 = "vllm/trae/gpt-5/2025-10-14_14-11-42/vllm_core-0000"
AGENT_SAYS_NO = "sglang/trae/openai-gpt-5/2025-12-23_08-13-22/sglang_core-0000"
ERROR_AGENT_SAYS_YES = "vllm/trae/gpt-4o/2025-11-05_16-46-20/vllm_core-0003"
NO_ERROR_KEY = f"{SONNET}/2025-12-24_07-41-47/sglang_sonnet45_rerun_021f76e4"
MAX_STEPS = f"{SONNET}/2025-12-24_14-38-37/sglang_sonnet45_rerun_205d5cb4"
UNEXPANDED_KEY = "sglang/trae/gpt-5-2025-08-07/2025-12-23_07-55-06/sglang_core-0000"
ZERO_BYTE_JOURNAL = "vllm/claude_code/default/2025-12-23_04-37-32/vllm_core-0071"
CLAUDE_SUCCESS = "sglang/claude_code/default/2025-12-23_06-28-44/sglang_000_021f76e4"
WITH_TOKENS = {"token_usage": {"input_tokens": 263257, "output_tokens": 11210}}

# (rule, real run where the samples README shows the problem, a line the message must contain)
FIRING: list[tuple[Rule, str, str]] = [
    (unreadable_record, ZERO_BYTE_JOURNAL, "*journal.json is empty (0 bytes)*"),
    (unknown_status, MAX_STEPS, '*status "max_steps_exceeded" in journal.json:8*'),
    (success_nonzero_exit, RC1_NO_TOOL_OUTPUT, "*exit code 1 in journal.json:26*"),
    (success_empty_patch, EMPTY_PATCH, "*model_patch.diff is empty (0 bytes)*57 changed lines*"),
    (success_without_execution, NEVER_RAN, "*ran 1.65 s*trae_stdout.txt is empty (0 bytes)*"),
    (status_contradicts_agent, AGENT_SAYS_NO, '*says "❌ No" in trae_stdout.txt:4901*'),
    (error_without_message, NO_ERROR_KEY, '*no "error" key in journal.json*'),
    (tokens_not_recorded, CLEAN_RUN, "*observed 263,257 input + 11,210 output*trajectory.json*"),
    (api_errors_in_log, RC1_NO_TOOL_OUTPUT, "*no-tool-output ×20*trae_stdout.txt:2199*"),
    (out_of_scope_edits, QUOTA_429, "*2,259 files edited outside the allowed targets*"),
]


# Rules no real sample shows (none of the published journals is malformed): the clean real run
# with one value changed, as a realistic broken writer would leave it.
SYNTHETIC: list[tuple[Rule, dict[str, object], str]] = [
    (
        malformed_record,
        {"trae": {"returncode": "0"}},
        'journal.json:* (trae.returncode) is the string "0", not an integer',
    ),
]


def test_every_builtin_rule_has_a_firing_case() -> None:
    cases = {entry.name for entry, _, _ in FIRING} | {entry.name for entry, _, _ in SYNTHETIC}
    assert cases == {r.name for r in BUILTIN_RULES}


@pytest.mark.parametrize(
    ("entry", "change", "line"), SYNTHETIC, ids=[entry.name for entry, _, _ in SYNTHETIC]
)
def test_rule_fires_on_a_broken_copy_of_a_real_run_and_stays_quiet_on_a_clean_one(
    pytester: pytest.Pytester,
    make_runs: RunFactory,
    entry: Rule,
    change: dict[str, object],
    line: str,
) -> None:
    make_runs.run("bad", journal={**WITH_TOKENS, **change})
    make_runs.run("clean", journal=WITH_TOKENS)
    xml = pytester.path / "out.xml"
    result = pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-select={entry.code}", f"--junitxml={xml}")
    )
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([f"{entry.code} {entry.name}: {line}"])
    assert findings_by_run(xml) == {"bad": [entry.name], "clean": []}


@pytest.mark.parametrize(
    ("entry", "run", "line"), FIRING, ids=[entry.name for entry, _, _ in FIRING]
)
def test_rule_fires_on_its_real_run_and_stays_quiet_on_a_clean_one(
    pytester: pytest.Pytester, make_runs: RunFactory, entry: Rule, run: str, line: str
) -> None:
    make_runs.real(run, "bad")
    make_runs.run("clean", journal=WITH_TOKENS)
    xml = pytester.path / "out.xml"
    result = pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-select={entry.code}", f"--junitxml={xml}")
    )
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([f"{entry.code} {entry.name}: {line}"])
    findings = findings_by_run(xml)
    assert findings == {"bad": [entry.name], "clean": []}


def test_a_clean_run_with_recorded_tokens_passes_every_rule(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("clean", journal=WITH_TOKENS)
    result = pytester.runpytest(*audit_args(make_runs.root))
    result.assert_outcomes(passed=1)
    assert result.ret == 0


# What the samples README says is wrong with each real run, as rule names that must fire.
EXPECTED_IN_EXAMPLES = {
    RC1_NO_TOOL_OUTPUT: {success_nonzero_exit, api_errors_in_log},
    RC_MINUS_15: {success_nonzero_exit},
    RC_MINUS_9: {success_nonzero_exit},
    NEVER_RAN: {success_nonzero_exit, success_without_execution},
    EMPTY_PATCH: {success_empty_patch, status_contradicts_agent},
    QUOTA_429: {success_without_execution, api_errors_in_log, out_of_scope_edits},
    AGENT_SAYS_NO: {status_contradicts_agent},
    ERROR_AGENT_SAYS_YES: {status_contradicts_agent},
    NO_ERROR_KEY: {error_without_message},
    MAX_STEPS: {unknown_status},
    UNEXPANDED_KEY: {api_errors_in_log},
    ZERO_BYTE_JOURNAL: {unreadable_record},
    CLEAN_RUN: {tokens_not_recorded},
}


def test_the_bundled_examples_show_what_the_samples_readme_describes(
    pytester: pytest.Pytester, examples_root: Path
) -> None:
    xml = pytester.path / "out.xml"
    result = pytester.runpytest(*audit_args(examples_root, f"--junitxml={xml}"))
    journals = sorted(examples_root.rglob("journal.json"))
    result.assert_outcomes(failed=len(journals))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    findings = findings_by_run(xml)
    assert len(findings) == len(journals)
    for run, rules in EXPECTED_IN_EXAMPLES.items():
        got = set(findings[f"state/runs/{run}"])
        assert {r.name for r in rules} <= got, run
    assert findings[f"state/runs/{CLEAN_RUN}"] == [tokens_not_recorded.name]
    assert findings[f"state/runs/{ZERO_BYTE_JOURNAL}"] == [unreadable_record.name]


def test_the_summary_counts_reported_and_verified_success_on_the_examples(
    pytester: pytest.Pytester, examples_root: Path
) -> None:
    runs = sorted(examples_root.rglob("journal.json"))
    successes = [
        p for p in runs if p.stat().st_size and json.loads(p.read_text())["status"] == "success"
    ]
    # Successes the samples README calls broken (rc != 0, empty patch, never ran, agent says No).
    broken = {RC1_NO_TOOL_OUTPUT, RC_MINUS_15, RC_MINUS_9, NEVER_RAN, EMPTY_PATCH, QUOTA_429}
    broken.add(AGENT_SAYS_NO)
    verified = len(successes) - len(broken)
    result = pytester.runpytest(*audit_args(examples_root))
    pct = lambda n: f"{100 * n / len(runs):.1f}%"  # noqa: E731
    result.stdout.fnmatch_lines(
        [
            f"reported success: {len(successes)} of {len(runs)} runs ({pct(len(successes))})",
            f"verified success: {verified} of {len(runs)} runs ({pct(verified)})*",
        ]
    )


def test_api_errors_on_a_failed_run_are_a_warning_that_passes_the_gate(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(UNEXPANDED_KEY, "run")
    args = audit_args(make_runs.root, f"--e2e-select={api_errors_in_log.name}")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1)
    # "[[]" is fnmatch for a literal "[".
    result.stdout.fnmatch_lines(
        [f"{api_errors_in_log.code} {api_errors_in_log.name} [[]warning]:*"]
    )
    result = pytester.runpytest(*args, "--e2e-fail-on=warning")
    result.assert_outcomes(failed=1)


def test_api_errors_name_the_unexpanded_credential_with_its_first_line(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(UNEXPANDED_KEY, "run")
    args = audit_args(make_runs.root, f"--e2e-select={api_errors_in_log.name}")
    result = pytester.runpytest(*args)
    result.stdout.fnmatch_lines(["*unexpanded-credential ×10 (infra)*trae_stdout.txt:356*"])


def test_a_start_up_crash_counts_only_as_the_last_line_of_a_log(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    # The same exception text inside an agent's tool output is not a start-up crash.
    transcript = "ModuleNotFoundError: No module named 'click'\nagent goes on working\n"
    make_runs.run("tool-output", trae_stderr__txt=transcript, journal=WITH_TOKENS)
    make_runs.run("crash", trae_stderr__txt="Traceback\n" + transcript.split("\n")[0] + "\n")
    xml = pytester.path / "out.xml"
    pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-select={api_errors_in_log.name}", f"--junitxml={xml}")
    )
    assert findings_by_run(xml) == {"tool-output": [], "crash": [api_errors_in_log.name]}


def test_success_with_missing_exit_code_and_whitespace_patch(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("no-rc", journal=WITH_TOKENS, drop=("trae.returncode",))
    make_runs.run("blank-patch", journal=WITH_TOKENS, model_patch__diff=" \n\t\n")
    xml = pytester.path / "out.xml"
    result = pytester.runpytest(*audit_args(make_runs.root, f"--junitxml={xml}"))
    result.stdout.fnmatch_lines(
        [
            f"{success_empty_patch.code} *: *model_patch.diff is whitespace-only (4 bytes)*",
            f'{success_nonzero_exit.code} *: status "success" but no exit code recorded*',
        ]
    )
    assert findings_by_run(xml) == {
        "blank-patch": [success_empty_patch.name],
        "no-rc": [success_nonzero_exit.name],
    }


@pytest.mark.parametrize(
    ("error", "expected"),
    [(None, "*the error is null*"), ("", "*error message is empty*"), ("unknown", "*generic*")],
)
def test_null_empty_and_generic_error_messages_count_as_missing(
    pytester: pytest.Pytester, make_runs: RunFactory, error: str | None, expected: str
) -> None:
    make_runs.run("run", journal={**WITH_TOKENS, "status": "error", "error": error})
    result = pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-select={error_without_message.name}")
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([expected])


def test_a_real_error_message_satisfies_error_without_message(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(
        "../../archive/incomplete_runs/vllm/trae/default/2025-11-05_16-34-59/vllm_core-0079", "run"
    )
    result = pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-select={error_without_message.name}")
    )
    result.assert_outcomes(passed=1)


def test_recorded_tokens_in_the_journal_satisfy_tokens_not_recorded(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("total-only", journal={"trae": {"tokens": 12}})
    make_runs.run("none")
    xml = pytester.path / "out.xml"
    pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-select={tokens_not_recorded.name}", f"--junitxml={xml}")
    )
    assert findings_by_run(xml) == {"none": [tokens_not_recorded.name], "total-only": []}


def test_disallowed_pipeline_artefacts_are_not_out_of_scope(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    # The clean run's diff_targets.json lists only model_patch.diff as disallowed.
    assert json.loads((RUNS / CLEAN_RUN / "diff_targets.json").read_text())["disallowed"] == [
        "model_patch.diff"
    ]
    make_runs.run("clean", journal=WITH_TOKENS)
    args = audit_args(make_runs.root, f"--e2e-select={out_of_scope_edits.name}")
    pytester.runpytest(*args).assert_outcomes(passed=1)
    pytester.runpytest(*args, "--e2e-scope-ignore=nothing").assert_outcomes(failed=1)


def test_claude_code_success_uses_the_json_result_for_tokens_and_verdict(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(CLAUDE_SUCCESS, "claude")
    xml = pytester.path / "out.xml"
    result = pytester.runpytest(*audit_args(make_runs.root, f"--junitxml={xml}"))
    # Only the missing journal tokens; usage is observed in the Claude JSON result.
    assert findings_by_run(xml) == {"claude": [tokens_not_recorded.name]}
    result.stdout.fnmatch_lines(
        ["*observed 678,696 input + 11,294 output*claude_code_stdout.txt:1*"]
    )


def test_on_github_actions_failing_runs_are_annotated_and_summarised(
    pytester: pytest.Pytester, make_runs: RunFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    make_runs.real(RC1_NO_TOOL_OUTPUT, "bad")
    make_runs.run("clean", journal=WITH_TOKENS)
    result = pytester.runpytest(*audit_args(make_runs.root))
    result.stdout.fnmatch_lines(
        [
            f"::error title={success_nonzero_exit.code} {success_nonzero_exit.name}"
            "::e2e-runs::bad%0A*"
        ]
    )
    text = summary.read_text()
    assert "- reported success: 2 (100.0%)" in text
    assert "- verified success: **1** (50.0%)" in text
    assert f"| {success_nonzero_exit.code} `{success_nonzero_exit.name}` | error | 1 | 1 |" in text
