"""The rules over many runs (E2E020-E2E027) fire on the trees that show their problem.

Each rule gets a small realistic tree where it fires (runs made from the clean real run, their
task named by ``commits.human`` and their start by ``run_metadata.run_timestamp`` or the
timestamp folder) and the same tree without the problem, where it stays quiet; thresholds are
checked on both sides. The bundled real runs are audited as a whole, serially and under
``-n 2``, and with part of the tree selected. Every expected number is built from what the
test planted (or, for the real runs, from their journals and the samples README).
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from pytest_e2e_audit.rules import Rule, RuleContext
from pytest_e2e_audit.rules.dataset import (
    DATASET_RULES,
    MIN_BATCH_RUNS,
    MIN_SYSTEMIC_RUNS,
    batch_success_gap,
    duplicate_run,
    excessive_retries,
    failure_cluster,
    flaky_task,
    retry_inflation,
    stale_patch,
    systemic_finding,
)
from pytest_e2e_audit.rules.runs import success_without_execution, tokens_not_recorded
from pytest_e2e_audit.stage import DATASET_NODEID, GROUPS_NODEID

from .conftest import CLEAN_RUN, EXAMPLES, RUNS, Case, RunFactory, audit_args, junit_cases

DATASET = f"{DATASET_NODEID}::dataset"
"""Node id of the dataset item."""
WITH_TOKENS = {"token_usage": {"input_tokens": 263257, "output_tokens": 11210}}
"""Merged into the clean run's journal, it satisfies tokens-not-recorded."""

# Real runs (relative to the bundled examples' state/runs), as the samples README describes them.
NEVER_RAN = "vllm/trae/gpt-5/2025-10-08_23-58-16/vllm_core-0000"
"""Success that crashed in 1.65 s on a config TypeError; its patch is a reused worktree's."""
QUOTA_429 = "vllm/trae/gpt-5/2025-10-14_14-11-42/vllm_core-0000"
"""Success after a 429 on the first call: no LLM call completed, 2,260 scope violations."""
AGENT_SAYS_NO = "sglang/trae/openai-gpt-5/2025-12-23_08-13-22/sglang_core-0000"
"""A success with ``run_metadata.run_timestamp`` (task 6b7038ba)."""
BROKEN_SUCCESSES = {
    "sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_000_021f76e4",  # returncode 1
    "sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_032_6fc17596",  # returncode -15
    "vllm/trae/gpt-5/2025-10-09_00-40-07/vllm_core-0000",  # returncode -9
    NEVER_RAN,
    "vllm/trae/gpt-5/2025-10-14_14-11-42/vllm_core-0023",  # 0-byte patch, agent says No
    QUOTA_429,
    AGENT_SAYS_NO,
}
"""Recorded successes the samples README calls broken (each breaks a success rule)."""

_STAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}$")
_STAMP = "%Y-%m-%d_%H-%M-%S"


def _real_journal(run: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RUNS / run / "journal.json").read_text())
    return data


def _real_commits() -> list[str]:
    """The commits (task identities) of the bundled runs, one per task, longest spelling."""
    by_task: dict[str, str] = {}
    for path in sorted(EXAMPLES.rglob("journal.json")):
        if path.stat().st_size:
            commit = str(json.loads(path.read_text())["commits"]["human"])
            if len(commit) > len(by_task.get(commit[:8], "")):
                by_task[commit[:8]] = commit
    return [by_task[key] for key in sorted(by_task)]


COMMITS = _real_commits()
"""Real commits of the bundled runs; synthetic tasks reuse them."""
TASKS = [c for c in COMMITS if c[:8] not in ("8aa1485f", "660470e5")]
"""Commits for synthetic tasks: not those of the two real runs the stale-patch test copies."""
TASK_A, TASK_B, TASK_C, TASK_D = TASKS[:4]


def _key(commit: str) -> str:
    """The task key a commit gives (its first 8 hex digits)."""
    return commit[:8].lower()


# -- building trees -----------------------------------------------------------------------


def _attempt(
    runs: RunFactory,
    rel: str,
    commit: str,
    *,
    stamp: str | None = None,
    status: str = "success",
    error: str | None = None,
    returncode: int = 0,
    duration: float = 662.9,
    journal: dict[str, Any] | None = None,
    **files: Any,
) -> str:
    """One attempt at ``commit``, made from the clean real run; returns its run id.

    ``stamp`` is written as ``run_metadata.run_timestamp``; without it the run is dated by a
    timestamp folder in ``rel``. A failure carries ``error`` (the key is left out when None)."""
    data: dict[str, Any] = {
        "commits": {"human": commit},
        "status": status,
        "trae": {"returncode": returncode, "duration_s": duration},
    }
    if stamp is not None:
        parts = rel.split("/")
        repo, agent, model = parts[-5:-2] if len(parts) >= 5 else ("vllm", "trae", "gpt-5")
        data["run_metadata"] = {
            "repo": repo,
            "agent": agent,
            "model": model,
            "run_timestamp": stamp,
            "run_path": "/".join(parts[:-1]),
        }
    if error is not None:
        data["error"] = error
    runs.run(rel, journal=_merged(data, journal or {}), **files)
    return rel


def _merged(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` merged in, nested objects key by key."""
    out = dict(base)
    for key, value in update.items():
        old = out.get(key)
        out[key] = (
            _merged(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
        )
    return out


def _failure(
    runs: RunFactory, rel: str, commit: str, error: str | None, seconds: float, returncode: int = 1
) -> str:
    """A failed attempt: status "error" with ``error`` (no key when None) after ``seconds``."""
    return _attempt(
        runs, rel, commit, status="error", error=error, returncode=returncode, duration=seconds
    )


def _never_ran(runs: RunFactory, rel: str, commit: str, **files: Any) -> str:
    """A success like the real NEVER_RAN run: returncode 1 after 1.65 s, empty logs, no
    trajectory (its patch is the clean run's unless ``model_patch__diff`` is given)."""
    return _attempt(
        runs,
        rel,
        commit,
        returncode=1,
        duration=1.65,
        trae_stdout__txt="",
        openhands_stdout__txt="",
        trajectory__json=None,
        **files,
    )


# -- reading results ----------------------------------------------------------------------


def _audit(
    pytester: pytest.Pytester, results: Path, *extra: str, label: str = "junit"
) -> tuple[pytest.RunResult, dict[str, Case]]:
    """Audit ``results`` with the dataset and batch rules on; the result and its test cases."""
    xml = pytester.path / f"{label}.xml"
    result = pytester.runpytest(*audit_args(results, f"--junitxml={xml}", *extra, dataset=True))
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    return result, junit_cases(xml)


def _group(batch: str) -> str:
    return f"{GROUPS_NODEID}::{batch}"


def _findings(case: Case) -> list[str]:
    return case.props["e2e.findings"].split()


def _failing(case: Case) -> list[str]:
    return case.props["e2e.failing"].split()


def _lines(result: pytest.RunResult, entry: Rule) -> list[str]:
    """The terminal lines of ``entry``'s findings (not its row in the summary table)."""
    heads = (f"{entry.code} {entry.name}: ", f"{entry.code} {entry.name} [")
    return [line for line in result.stdout.lines if line.startswith(heads)]


def _select(*entries: Rule) -> str:
    return "--e2e-select=" + ",".join(e.code for e in entries)


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%"


def test_every_dataset_and_batch_rule_has_a_firing_case() -> None:
    tested = {
        flaky_task,
        retry_inflation,
        excessive_retries,
        failure_cluster,
        systemic_finding,
        stale_patch,
        duplicate_run,
        batch_success_gap,
    }
    assert {r.name for r in tested} == {r.name for r in DATASET_RULES}
    assert {r.kind for r in DATASET_RULES} == {"dataset", "group"}


# -- E2E020 flaky-task --------------------------------------------------------------------


def _flaky_tree(runs: RunFactory, *, flaky: bool) -> tuple[str, str]:
    """Results gathered from two machines: folder order is not attempt order (the attempt
    on node-b started first). Task A fails on node-b then passes on node-a when ``flaky``;
    task B passes twice, task C fails twice. Returns task A's attempts in start order."""
    first_stamp, second_stamp = "2025-10-08_23-58-16", "2025-10-09_00-40-07"
    first = _attempt(
        runs,
        "node-b/vllm_core-0000",
        TASK_A,
        stamp=first_stamp,
        status="error" if flaky else "success",
        error="Agent exited: patch does not apply" if flaky else None,
        returncode=1 if flaky else 0,
    )
    second = _attempt(runs, "node-a/vllm_core-0000", TASK_A, stamp=second_stamp)
    for node, stamp in (("node-a", second_stamp), ("node-b", first_stamp)):
        _attempt(runs, f"{node}/vllm_core-0001", TASK_B, stamp=stamp)
        _attempt(
            runs,
            f"{node}/vllm_core-0002",
            TASK_C,
            stamp=stamp,
            status="error",
            error="Tests failed after the agent's change",
        )
    return first, second


def test_flaky_task_lists_a_task_that_both_passes_and_fails_in_start_time_order(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    first, second = _flaky_tree(make_runs, flaky=True)
    result, cases = _audit(pytester, make_runs.root, _select(flaky_task))
    result.assert_outcomes(passed=7)  # a warning does not fail the dataset item
    result.stdout.fnmatch_lines(
        [
            f"*{DATASET}*",
            f"{flaky_task.code} {flaky_task.name} [[]warning]: task {_key(TASK_A)}: E S over "
            f"2 attempts ({first}, {second})",
        ]
    )
    assert len(_lines(result, flaky_task)) == 1  # tasks B (S S) and C (E E) are not flaky
    assert _findings(cases[DATASET]) == [flaky_task.name]
    assert _failing(cases[DATASET]) == []


def test_flaky_task_is_quiet_when_every_attempt_agrees(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    _flaky_tree(make_runs, flaky=False)
    result, cases = _audit(pytester, make_runs.root, _select(flaky_task))
    result.assert_outcomes(passed=7)
    assert _lines(result, flaky_task) == []
    assert _findings(cases[DATASET]) == []


# -- E2E021 retry-inflation ---------------------------------------------------------------

STAMPS = ("2025-10-08_23-58-16", "2025-10-09_00-40-07", "2025-10-14_14-11-42")
"""Timestamp folders of successive batches: the n-th attempt of a task runs in the n-th."""
ERRORS = (
    "Agent timed out",
    "BrokenPipeError: [Errno 32] Broken pipe",
    "Patch does not apply to the base commit",
)


def _attempts_tree(runs: RunFactory, outcomes: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Each task's attempts (statuses in order), the n-th in the n-th batch, dated by the
    timestamp folder only; returns each task's run ids in attempt order."""
    made: dict[str, list[str]] = {}
    for item, (commit, statuses) in enumerate(outcomes.items()):
        for n, status in enumerate(statuses):
            error = ERRORS[(item + n) % len(ERRORS)] if status != "success" else None
            rel = f"vllm/trae/gpt-5/{STAMPS[n]}/vllm_core-{item:04d}"
            made.setdefault(commit, []).append(
                _attempt(runs, rel, commit, status=status, error=error, returncode=int(bool(error)))
            )
    return made


RETRIED = {
    TASK_A: ("error", "success"),
    TASK_B: ("success",),
    TASK_C: ("error",),
    TASK_D: ("error",),
}
"""Four tasks; only task A's second attempt turns a failure into a task-level success."""


def _inflation(outcomes: dict[str, tuple[str, ...]]) -> tuple[str, float]:
    """The figures part of a retry-inflation message for ``outcomes``, and the gap in pp."""
    tasks = len(outcomes)
    solved = sum("success" in statuses for statuses in outcomes.values())
    first = sum(statuses[0] == "success" for statuses in outcomes.values())
    attempts = sum(len(statuses) for statuses in outcomes.values())
    successes = sum(statuses.count("success") for statuses in outcomes.values())
    gap = 100.0 * (solved - first) / tasks
    text = (
        f"reported success is {_pct(solved, tasks)} of {tasks} tasks but {_pct(first, tasks)} "
        f"on the first attempt (+{gap:.1f} pp, over the {{margin}} pp margin) and "
        f"{_pct(successes, attempts)} of {attempts} attempts; *"
    )
    return text, gap


def test_retry_inflation_fires_when_retries_add_more_than_the_margin(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    _attempts_tree(make_runs, RETRIED)
    text, gap = _inflation(RETRIED)
    margin = RuleContext().retry_margin
    assert gap > margin
    result, cases = _audit(pytester, make_runs.root, _select(retry_inflation))
    result.assert_outcomes(passed=5, failed=1)
    line = f"{retry_inflation.code} {retry_inflation.name}: {text}"
    result.stdout.fnmatch_lines([f"*{DATASET}*", line.format(margin=f"{margin:g}")])
    assert _findings(cases[DATASET]) == _failing(cases[DATASET]) == [retry_inflation.name]

    # The gap equal to the margin is allowed; one point less is not.
    result, cases = _audit(
        pytester, make_runs.root, _select(retry_inflation), f"--e2e-retry-margin={gap:g}"
    )
    result.assert_outcomes(passed=6)
    assert _findings(cases[DATASET]) == []
    below = gap - 1
    result, cases = _audit(
        pytester, make_runs.root, _select(retry_inflation), f"--e2e-retry-margin={below:g}"
    )
    result.stdout.fnmatch_lines([line.format(margin=f"{below:g}")])
    assert _findings(cases[DATASET]) == [retry_inflation.name]


def test_retry_inflation_is_quiet_without_the_retry(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    outcomes = {**RETRIED, TASK_A: RETRIED[TASK_A][:1]}
    _attempts_tree(make_runs, outcomes)
    assert _inflation(outcomes)[1] == 0
    result, cases = _audit(pytester, make_runs.root, _select(retry_inflation))
    result.assert_outcomes(passed=5)
    assert _lines(result, retry_inflation) == []
    assert _findings(cases[DATASET]) == []


# -- E2E022 excessive-retries -------------------------------------------------------------


def test_excessive_retries_fires_past_the_allowed_number_of_attempts(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    outcomes = {TASK_A: ("error", "error", "success"), TASK_B: ("error", "success")}
    made = _attempts_tree(make_runs, outcomes)
    # The default allows three attempts.
    assert RuleContext().max_attempts == len(outcomes[TASK_A])
    result, cases = _audit(pytester, make_runs.root, _select(excessive_retries))
    result.assert_outcomes(passed=6)
    assert _lines(result, excessive_retries) == []
    assert _findings(cases[DATASET]) == []

    result, cases = _audit(
        pytester, make_runs.root, _select(excessive_retries), "--e2e-max-attempts=2"
    )
    result.assert_outcomes(passed=5, failed=1)
    sequence = " ".join("S" if s == "success" else "E" for s in outcomes[TASK_A])
    result.stdout.fnmatch_lines(
        [
            f"*{DATASET}*",
            f"{excessive_retries.code} {excessive_retries.name}: task {_key(TASK_A)} was "
            f"attempted 3 times (more than 2): {sequence}; first {', '.join(made[TASK_A])}",
        ]
    )
    assert len(_lines(result, excessive_retries)) == 1  # task B's 2 attempts are allowed
    assert _findings(cases[DATASET]) == _failing(cases[DATASET]) == [excessive_retries.name]


# -- E2E023 failure-cluster ---------------------------------------------------------------

FAST = "vllm/trae/gpt-5/2025-10-08_23-58-16"
"""A batch where the agent crashed at start-up, as in the real NEVER_RAN run's batch."""
SLOW = "vllm/trae/gpt-5/2025-10-09_00-40-07"
"""A batch whose failures are the agent's own: different errors after long runs."""
CONFIG_ERROR = (
    "TypeError: ModelConfig.__init__() got an unexpected keyword argument 'reasoning_effort'"
)
MODEL_FAILURES = (
    (412.0, "Patch does not apply to the base commit"),
    (935.5, "Tests failed after the agent's change"),
    (1480.2, "Agent timed out"),
    (2210.7, "BrokenPipeError: [Errno 32] Broken pipe"),
    (3600.1, "Agent stopped: max steps reached"),
)


def _cluster_tree(runs: RunFactory, crash_durations: tuple[float, ...]) -> list[str]:
    """FAST: one crash per duration (same config error, exit code 1) and successes up to six
    runs; SLOW: the model failures and one success. Returns the crashes by duration."""
    crashes: list[tuple[float, str]] = []
    for item, seconds in enumerate(crash_durations):
        rel = f"{FAST}/vllm_core-{item:04d}"
        _failure(runs, rel, COMMITS[item], CONFIG_ERROR, seconds)
        crashes.append((seconds, rel))
    for item in range(len(crash_durations), 6):
        _attempt(runs, f"{FAST}/vllm_core-{item:04d}", COMMITS[item])
    for item, (seconds, error) in enumerate(MODEL_FAILURES):
        _failure(runs, f"{SLOW}/vllm_core-{item:04d}", COMMITS[item], error, seconds)
    _attempt(runs, f"{SLOW}/vllm_core-0005", COMMITS[5])
    return [rel for _, rel in sorted(crashes)]


CRASHES = (1.65, 1.61, 1.68, 1.63, 1.64)
"""Five start-up crashes within a few hundredths of a second (not in folder order)."""


def _cluster_line(batch: str, runs: int, durations: tuple[float, ...], members: list[str]) -> str:
    return (
        f"{failure_cluster.code} {failure_cluster.name}: {len(members)} of {runs} runs in batch "
        f"{batch} failed alike ({min(durations):.2f}-{max(durations):.2f} s each, median "
        f"{statistics.median(durations):.2f} s): one systematic fault, not {len(members)} agent "
        f"failures; {', '.join(members)}"
    )


def test_failure_cluster_names_the_fast_failures_of_one_batch(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    members = _cluster_tree(make_runs, CRASHES)
    assert len(CRASHES) == RuleContext().cluster_size
    result, cases = _audit(pytester, make_runs.root, _select(failure_cluster))
    result.assert_outcomes(passed=13, failed=1)  # 12 runs, 2 batches
    result.stdout.fnmatch_lines([f"*{_group(FAST)}*", _cluster_line(FAST, 6, CRASHES, members)])
    assert len(_lines(result, failure_cluster)) == 1  # SLOW's failures are not alike
    assert _findings(cases[_group(FAST)]) == _failing(cases[_group(FAST)]) == [failure_cluster.name]
    assert _findings(cases[_group(SLOW)]) == []
    assert DATASET not in cases  # no dataset rule selected, no dataset item

    # Five alike failures are not a cluster when six are required.
    result, cases = _audit(
        pytester, make_runs.root, _select(failure_cluster), "--e2e-cluster-size=6"
    )
    result.assert_outcomes(passed=14)
    assert _findings(cases[_group(FAST)]) == []


def test_failure_cluster_is_quiet_below_the_cluster_size_unless_it_is_lowered(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    crashes = CRASHES[:4]
    members = _cluster_tree(make_runs, crashes)
    result, cases = _audit(pytester, make_runs.root, _select(failure_cluster))
    result.assert_outcomes(passed=14)
    assert _lines(result, failure_cluster) == []
    assert _findings(cases[_group(FAST)]) == []

    result, cases = _audit(
        pytester, make_runs.root, _select(failure_cluster), "--e2e-cluster-size=4"
    )
    result.stdout.fnmatch_lines([_cluster_line(FAST, 6, crashes, members)])
    assert _findings(cases[_group(FAST)]) == [failure_cluster.name]
    assert _findings(cases[_group(SLOW)]) == []


def test_failure_cluster_spread_and_max_duration_decide_what_is_near_identical(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    # Five short failures with different errors, from 1 s to 3 s.
    durations = (1.0, 1.5, 2.0, 2.5, 3.0)
    members = [
        _failure(make_runs, f"{FAST}/vllm_core-{item:04d}", COMMITS[item], error, seconds)
        for item, (seconds, (_, error)) in enumerate(zip(durations, MODEL_FAILURES, strict=True))
    ]
    select = _select(failure_cluster)
    result, cases = _audit(pytester, make_runs.root, select)
    assert _findings(cases[_group(FAST)]) == []  # 3.0 s is not within 10% of 1.0 s

    spread = "--e2e-cluster-spread=0.7"  # 3.0 - 1.0 = 2.0 <= 0.7 * 3.0
    result, cases = _audit(pytester, make_runs.root, select, spread)
    result.stdout.fnmatch_lines([_cluster_line(FAST, 5, durations, members)])
    assert _findings(cases[_group(FAST)]) == [failure_cluster.name]

    # Only the failures of 2 s or less count as fast: three, fewer than five.
    result, cases = _audit(pytester, make_runs.root, select, spread, "--e2e-cluster-max-duration=2")
    assert _findings(cases[_group(FAST)]) == []


def test_failure_cluster_names_failures_with_the_same_error_and_exit_code(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    # Long runs of different lengths that all ended on the same quota error.
    error = "OpenAI API call failed: Error code: 429 - You exceeded your current quota"
    members = [
        _failure(make_runs, f"{SLOW}/vllm_core-{item:04d}", COMMITS[item], error, seconds)
        for item, (seconds, _) in enumerate(MODEL_FAILURES)
    ]
    _attempt(make_runs, f"{SLOW}/vllm_core-0005", COMMITS[5])
    masked = re.sub(r"\d+", "N", error)  # numbers are masked, so retries with ids still match
    result, cases = _audit(pytester, make_runs.root, _select(failure_cluster))
    result.stdout.fnmatch_lines(
        [
            f"{failure_cluster.code} {failure_cluster.name}: 5 of 6 runs in batch {SLOW} failed "
            f"alike (exit code 1, error {masked!r}): one systematic fault, not 5 agent failures; "
            f"{', '.join(members)}"
        ]
    )
    assert _findings(cases[_group(SLOW)]) == [failure_cluster.name]


def test_failure_cluster_is_quiet_on_failures_that_share_only_a_missing_message(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    # perf-agents-bench errors usually carry no message at all (the samples README): five
    # model failures of different lengths, exit code 0, no "error" key, nothing in the logs.
    # Nothing says they are one fault: not a duration, not an error, not an API failure.
    for item, (seconds, _) in enumerate(MODEL_FAILURES):
        _failure(make_runs, f"{SLOW}/vllm_core-{item:04d}", COMMITS[item], None, seconds, 0)
    _attempt(make_runs, f"{SLOW}/vllm_core-0005", COMMITS[5])
    result, cases = _audit(pytester, make_runs.root, _select(failure_cluster))
    assert _lines(result, failure_cluster) == []
    assert _findings(cases[_group(SLOW)]) == []


# -- E2E024 systemic-finding --------------------------------------------------------------

SYSTEMIC_BATCH = "vllm/trae/gpt-5/2025-10-14_14-11-51"


def _tokens_tree(runs: RunFactory, size: int, with_tokens: int) -> None:
    """``size`` runs of one batch, each on its own real commit; the first ``with_tokens``
    record their token usage, the rest do not (as no real perf-agents-bench journal does)."""
    assert size <= len(COMMITS)
    for item in range(size):
        extra = WITH_TOKENS if item < with_tokens else None
        _attempt(runs, f"{SYSTEMIC_BATCH}/vllm_core-{item:04d}", COMMITS[item], journal=extra)


def _systemic_line(count: int, runs: int) -> str:
    return (
        f"{systemic_finding.code} {systemic_finding.name}: {tokens_not_recorded.name} fires on "
        f"{count} of {runs} runs ({_pct(count, runs)}): one pipeline defect, not a defect of "
        "each run; fix it where the records are written"
    )


def test_systemic_finding_names_a_run_rule_that_fires_on_nearly_every_run(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    runs = MIN_SYSTEMIC_RUNS
    _tokens_tree(make_runs, runs, with_tokens=1)
    missing = runs - 1
    assert missing / runs >= RuleContext().systemic_share
    select = _select(tokens_not_recorded, systemic_finding)
    result, cases = _audit(pytester, make_runs.root, select)
    result.assert_outcomes(passed=1, failed=missing + 1)
    result.stdout.fnmatch_lines([f"*{DATASET}*", _systemic_line(missing, runs)])
    assert len(_lines(result, systemic_finding)) == 1
    assert _findings(cases[DATASET]) == _failing(cases[DATASET]) == [systemic_finding.name]

    # A higher share than the planted one keeps it quiet.
    result, cases = _audit(pytester, make_runs.root, select, "--e2e-systemic-share=0.95")
    assert _lines(result, systemic_finding) == []
    assert _findings(cases[DATASET]) == []


@pytest.mark.parametrize(
    ("size", "with_tokens"),
    [(MIN_SYSTEMIC_RUNS, MIN_SYSTEMIC_RUNS), (MIN_SYSTEMIC_RUNS - 1, 0)],
    ids=["every-run-records-tokens", "too-few-runs-to-say"],
)
def test_systemic_finding_is_quiet_when_the_rule_does_not_fire_or_runs_are_too_few(
    pytester: pytest.Pytester, make_runs: RunFactory, size: int, with_tokens: int
) -> None:
    _tokens_tree(make_runs, size, with_tokens)
    result, cases = _audit(pytester, make_runs.root, _select(tokens_not_recorded, systemic_finding))
    assert _lines(result, systemic_finding) == []
    assert _findings(cases[DATASET]) == []
    assert len(_lines(result, tokens_not_recorded)) == size - with_tokens


# -- E2E025 stale-patch -------------------------------------------------------------------

ARTEFACT_HEADER = "diff --git a/model_patch.diff b/model_patch.diff"


def _patch_without_artefacts() -> str:
    """The clean run's patch minus the ``model_patch.diff`` the pipeline commits with it."""
    text = (RUNS / CLEAN_RUN / "model_patch.diff").read_text()
    sections = [s for s in re.split(r"(?m)^(?=diff --git )", text) if s]
    kept = [s for s in sections if not s.startswith(ARTEFACT_HEADER)]
    assert len(kept) == len(sections) - 1
    return "".join(kept)


def test_stale_patch_names_idle_successes_with_an_earlier_patch_or_pipeline_output(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    # The real run that never ran: its patch is a reused worktree's, model_patch.diff included.
    assert ARTEFACT_HEADER in (RUNS / NEVER_RAN / "model_patch.diff").read_text()
    make_runs.real(NEVER_RAN)
    # The clean real run: its patch holds model_patch.diff too, but the agent ran.
    assert ARTEFACT_HEADER in (RUNS / CLEAN_RUN / "model_patch.diff").read_text()
    make_runs.real(CLEAN_RUN)
    # Task A: a real attempt, then a re-run that crashed at start-up and kept its patch.
    earlier = _attempt(make_runs, "vllm/trae/gpt-5/2025-10-14_14-11-42/vllm_core-0001", TASK_A)
    repeat = _never_ran(make_runs, "vllm/trae/gpt-5/2025-10-14_16-02-10/vllm_core-0001", TASK_A)
    # Task B: an idle success with a patch of its own (no artefact): not a stale patch.
    _never_ran(
        make_runs,
        "vllm/trae/gpt-5/2025-10-14_16-02-10/vllm_core-0002",
        TASK_B,
        model_patch__diff=_patch_without_artefacts(),
    )
    select = _select(success_without_execution, stale_patch)
    result, cases = _audit(pytester, make_runs.root, select)
    result.assert_outcomes(passed=2, failed=4)  # three idle successes and the dataset
    head = f"{stale_patch.code} {stale_patch.name}: run"
    assert sorted(_lines(result, stale_patch)) == sorted(
        [
            f"{head} {NEVER_RAN} is a success with no sign the agent ran whose patch carries the "
            "pipeline's own output (model_patch.diff): an earlier attempt's commits left in a "
            "reused worktree",
            f"{head} {repeat} is a success with no sign the agent ran and the same patch as the "
            f"earlier attempt {earlier}",
        ]
    )
    result.stdout.fnmatch_lines([f"*{DATASET}*", f"{head} *"])
    assert _findings(cases[DATASET]) == _failing(cases[DATASET]) == [stale_patch.name]


def test_stale_patch_is_quiet_when_the_agent_ran_or_the_patch_is_its_own(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(CLEAN_RUN)
    # Task A: two attempts that both ran and wrote the same patch.
    _attempt(make_runs, "vllm/trae/gpt-5/2025-10-14_14-11-42/vllm_core-0001", TASK_A)
    _attempt(make_runs, "vllm/trae/gpt-5/2025-10-14_16-02-10/vllm_core-0001", TASK_A)
    _never_ran(
        make_runs,
        "vllm/trae/gpt-5/2025-10-14_16-02-10/vllm_core-0002",
        TASK_B,
        model_patch__diff=_patch_without_artefacts(),
    )
    result, cases = _audit(
        pytester, make_runs.root, _select(success_without_execution, stale_patch)
    )
    result.assert_outcomes(passed=4, failed=1)  # the idle success fails on its own rule
    assert len(_lines(result, success_without_execution)) == 1
    assert _lines(result, stale_patch) == []
    assert _findings(cases[DATASET]) == []


# -- E2E026 duplicate-run -----------------------------------------------------------------


def test_duplicate_run_names_records_of_the_same_run(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    # A real run, and the same record exported again into a second folder.
    journal = _real_journal(AGENT_SAYS_NO)
    stamp = journal["run_metadata"]["run_timestamp"]
    item = AGENT_SAYS_NO.rsplit("/", 1)[1]
    export = f"exports/{stamp}/{item}"
    make_runs.real(AGENT_SAYS_NO)
    make_runs.real(AGENT_SAYS_NO, export)
    # A batch resumed under a new folder that wrote a run's record again, with its run id.
    run_id = "vllm_core-0007-20251014"
    first = _attempt(
        make_runs, f"{FAST}/vllm_core-0007", TASK_A, journal={"run_metadata": {"run_id": run_id}}
    )
    again = _attempt(
        make_runs, f"{SLOW}/vllm_core-0007", TASK_A, journal={"run_metadata": {"run_id": run_id}}
    )
    result, cases = _audit(pytester, make_runs.root, _select(duplicate_run))
    result.assert_outcomes(passed=4, failed=1)
    meta = journal["run_metadata"]
    identity = f"{meta['agent']} {meta['model']} {_key(journal['commits']['human'])} {item} {stamp}"
    head = f"{duplicate_run.code} {duplicate_run.name}: 2 records claim the run"
    assert sorted(_lines(result, duplicate_run)) == sorted(
        [
            f"{head} {identity}: {export}, {AGENT_SAYS_NO}; count it once",
            f"{head} run_id {run_id}: {first}, {again}; count it once",
        ]
    )
    result.stdout.fnmatch_lines([f"*{DATASET}*", f"{head} *"])
    assert _findings(cases[DATASET]) == _failing(cases[DATASET]) == [duplicate_run.name]


def test_duplicate_run_is_quiet_on_retries_of_the_same_item(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    # The real run, then a retry of the same item in a later batch; and two distinct run ids.
    journal = _real_journal(AGENT_SAYS_NO)
    make_runs.real(AGENT_SAYS_NO)
    batch, item = AGENT_SAYS_NO.rsplit("/", 2)[0], AGENT_SAYS_NO.rsplit("/", 1)[1]
    later = "2025-12-23_11-47-05"
    _attempt(make_runs, f"{batch}/{later}/{item}", journal["commits"]["human"], stamp=later)
    for folder in (FAST, SLOW):
        run_id = f"vllm_core-0007-{folder[-19:]}"
        meta = {"run_metadata": {"run_id": run_id}}
        _attempt(make_runs, f"{folder}/vllm_core-0007", TASK_A, journal=meta)
    result, cases = _audit(pytester, make_runs.root, _select(duplicate_run))
    result.assert_outcomes(passed=5)
    assert _lines(result, duplicate_run) == []
    assert _findings(cases[DATASET]) == []


def test_duplicate_run_is_quiet_on_two_models_started_in_the_same_second(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    # One launcher started the same item on two models at once: the journals share the
    # commit, the item and run_timestamp, but run_metadata says they are different runs
    # (another model, another run_path).
    journal = _real_journal(AGENT_SAYS_NO)
    meta = journal["run_metadata"]
    make_runs.real(AGENT_SAYS_NO)
    item = AGENT_SAYS_NO.rsplit("/", 1)[1]
    model = "us-anthropic-claude-sonnet-4-5-20250929-v1-0"
    other = f"{meta['repo']}/{meta['agent']}/{model}/{meta['run_timestamp']}"
    _attempt(
        make_runs,
        f"{other}/{item}",
        journal["commits"]["human"],
        stamp=meta["run_timestamp"],
        journal={"run_metadata": {"model": model, "run_path": other}},
    )
    result, cases = _audit(pytester, make_runs.root, _select(duplicate_run))
    assert _lines(result, duplicate_run) == []
    assert _findings(cases[DATASET]) == []


# -- E2E027 batch-success-gap -------------------------------------------------------------

GAP_BATCHES = {
    "vllm/trae/gpt-5/2025-10-14_14-11-42": 4,
    "vllm/trae/gpt-5/2025-10-14_14-11-51": 4,
    "vllm/trae/gpt-5/2025-10-08_23-58-16": 0,
}
"""Successes of each five-run batch: the last one failed whole."""


def _gap_tree(runs: RunFactory, batches: dict[str, tuple[int, int]]) -> None:
    """Each batch: (runs, successes); the failures are agent errors."""
    for batch, (size, successes) in batches.items():
        for item in range(size):
            rel = f"{batch}/vllm_core-{item:04d}"
            if item < successes:
                _attempt(runs, rel, COMMITS[item])
            else:
                _failure(runs, rel, COMMITS[item], ERRORS[item % len(ERRORS)], 662.9)


def _gap_lines(batches: dict[str, tuple[int, int]], gap: float) -> dict[str, str]:
    """The batch-success-gap line of each batch that should have one."""
    overall = 100.0 * sum(s for _, s in batches.values()) / sum(n for n, _ in batches.values())
    out = {}
    for batch, (size, successes) in batches.items():
        rate = 100.0 * successes / size
        if size >= MIN_BATCH_RUNS and abs(rate - overall) > gap:
            out[batch] = (
                f"{batch_success_gap.code} {batch_success_gap.name} [[]warning]: batch {batch}: "
                f"reported success {successes}/{size} ({rate:.1f}%) against {overall:.1f}% over "
                f"the dataset ({rate - overall:+.1f} pp, over the {gap:g} pp margin)"
            )
    return out


def test_batch_success_gap_names_a_batch_far_from_the_dataset_rate(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    batches = {batch: (5, successes) for batch, successes in GAP_BATCHES.items()}
    _gap_tree(make_runs, batches)
    failed_whole = "vllm/trae/gpt-5/2025-10-08_23-58-16"
    default = RuleContext().batch_gap
    lines = _gap_lines(batches, default)
    assert list(lines) == [failed_whole]
    result, cases = _audit(pytester, make_runs.root, _select(batch_success_gap))
    result.assert_outcomes(passed=15 + 3)  # a warning does not fail the batch
    result.stdout.fnmatch_lines([f"*{_group(failed_whole)}*", lines[failed_whole]])
    assert len(_lines(result, batch_success_gap)) == 1
    for batch in batches:
        expected = [batch_success_gap.name] if batch in lines else []
        assert _findings(cases[_group(batch)]) == expected, batch
        assert _failing(cases[_group(batch)]) == []

    # A 20 pp margin: the 80% batches stand out from 53.3% too.
    lines = _gap_lines(batches, 20)
    assert set(lines) == set(batches)
    result, cases = _audit(
        pytester, make_runs.root, _select(batch_success_gap), "--e2e-batch-gap=20"
    )
    result.stdout.fnmatch_lines(sorted(lines.values()))  # batches in path order
    assert all(_findings(cases[_group(b)]) == [batch_success_gap.name] for b in batches)


def test_batch_success_gap_is_quiet_on_alike_batches_and_a_batch_too_small_to_compare(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    batches = {batch: (5, 4) for batch in GAP_BATCHES}
    small = "vllm/trae/gpt-5/2025-10-14_16-02-10"
    batches[small] = (MIN_BATCH_RUNS - 1, 0)
    _gap_tree(make_runs, batches)
    assert _gap_lines(batches, RuleContext().batch_gap) == {}
    result, cases = _audit(pytester, make_runs.root, _select(batch_success_gap))
    assert _lines(result, batch_success_gap) == []
    assert all(_findings(cases[_group(b)]) == [] for b in batches)


# -- the bundled real runs ----------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    run: str
    """Run folder relative to the examples root."""
    started: datetime
    outcome: str
    """``S`` a verified success, ``s`` a success the samples README calls broken, ``E`` else."""


def _sample_tasks() -> dict[str, list[Attempt]]:
    """Task key -> the bundled runs of that commit in start order, read from the journals.

    A run starts at its ``run_metadata.run_timestamp``, else its timestamp folder; the one
    flat legacy run has neither and is dated by ``timestamps.written`` minus its duration.
    The 0-byte journal names no commit: it is a task of its own, and no success."""
    tasks: dict[str, list[Attempt]] = {}
    for path in sorted(EXAMPLES.rglob("journal.json")):
        run = path.parent.relative_to(EXAMPLES).as_posix()
        if not path.stat().st_size:
            tasks[run] = [Attempt(run, datetime.min, "E")]
            continue
        journal = json.loads(path.read_text())
        stamps = [p for p in run.split("/") if _STAMP_RE.match(p)]
        meta = journal.get("run_metadata") or {}
        stamp = meta.get("run_timestamp") or (stamps[-1] if stamps else None)
        if stamp:
            started = datetime.strptime(stamp, _STAMP)
        else:
            agent = journal["trae"]
            end = journal["timestamps"]["written"] - agent["duration_s"]
            started = datetime.fromtimestamp(end, tz=timezone.utc).replace(tzinfo=None)
        state_run = run.removeprefix("state/runs/")
        if journal["status"] != "success":
            outcome = "E"
        else:
            outcome = "s" if state_run in BROKEN_SUCCESSES else "S"
        tasks.setdefault(_key(journal["commits"]["human"]), []).append(
            Attempt(run, started, outcome)
        )
    return {key: sorted(runs, key=lambda a: (a.started, a.run)) for key, runs in tasks.items()}


def test_the_bundled_runs_show_stale_patches_systemic_tokens_and_retried_tasks(
    pytester: pytest.Pytester,
) -> None:
    journals = sorted(EXAMPLES.rglob("journal.json"))
    tasks = _sample_tasks()
    attempts = {key: len(runs) for key, runs in tasks.items() if len(runs) > 1}
    assert attempts == {"8aa1485f": 3, "021f76e4": 4, "6b7038ba": 2, "015069b0": 2}
    result, cases = _audit(pytester, EXAMPLES)
    dataset = cases[DATASET]

    # stale-patch: the success that crashed in 1.65 s, and the success whose only LLM call
    # hit a 429 (its 2,260 out-of-scope files are a reused worktree); both patches carry
    # model_patch.diff. The clean run's patch does too, but its agent ran.
    head = f"{stale_patch.code} {stale_patch.name}: run state/runs/"
    stale = [line.removeprefix(head).split(" ", 1)[0] for line in _lines(result, stale_patch)]
    assert NEVER_RAN in stale
    assert CLEAN_RUN not in stale
    assert sorted(stale) == sorted([NEVER_RAN, QUOTA_429])
    result.stdout.fnmatch_lines(
        [
            f"{head}{NEVER_RAN} is a success with no sign the agent ran whose patch carries "
            "the pipeline's own output (model_patch.diff)*"
        ]
    )

    # systemic-finding: no journal records tokens; the 0-byte one cannot be read at all.
    readable = sum(1 for p in journals if p.stat().st_size)
    assert (readable, len(journals)) == (21, 22)
    assert _lines(result, systemic_finding) == [_systemic_line(readable, len(journals))]

    # excessive-retries: only 021f76e4 has more than the default three attempts.
    many = {key: runs for key, runs in tasks.items() if len(runs) > RuleContext().max_attempts}
    assert list(many) == ["021f76e4"]
    runs = many["021f76e4"]
    sequence = " ".join(a.outcome for a in runs)
    assert _lines(result, excessive_retries) == [
        f"{excessive_retries.code} {excessive_retries.name}: task 021f76e4 was attempted "
        f"{len(runs)} times (more than {RuleContext().max_attempts}): {sequence}; first "
        f"{', '.join(a.run for a in runs)}"
    ]

    # flaky-task: a task with a verified success and a failure. 021f76e4 (codex_cli and
    # Claude Code verified successes, a broken TRAE success, a Sonnet error) is the only one:
    # 8aa1485f, 6b7038ba and 015069b0 have errors and broken successes only.
    flaky = {
        key: runs
        for key, runs in tasks.items()
        if any(a.outcome == "S" for a in runs) and any(a.outcome != "S" for a in runs)
    }
    assert list(flaky) == ["021f76e4"]
    assert sequence == "s S S E"
    assert _lines(result, flaky_task) == [
        f"{flaky_task.code} {flaky_task.name} [warning]: task 021f76e4: {sequence} over "
        f"{len(runs)} attempts ({', '.join(a.run for a in runs)})"
    ]

    # retry-inflation: task-level success against first-attempt success.
    solved = sum(any(a.outcome in "Ss" for a in runs) for runs in tasks.values())
    first = sum(runs[0].outcome in "Ss" for runs in tasks.values())
    gap = 100.0 * (solved - first) / len(tasks)
    assert gap > RuleContext().retry_margin
    assert dataset.props["e2e.tasks"] == str(len(tasks))
    assert dataset.props["e2e.reported_success_tasks"] == str(solved)
    assert dataset.props["e2e.first_attempt_reported_success"] == str(first)

    # No run is recorded twice; no batch holds enough runs for a cluster or a rate.
    assert _lines(result, duplicate_run) == []
    assert _findings(dataset) == [
        flaky_task.name,
        retry_inflation.name,
        excessive_retries.name,
        systemic_finding.name,
        stale_patch.name,
    ]
    assert _failing(dataset) == _findings(dataset)[1:]
    batches = {p.parent.parent.relative_to(EXAMPLES).as_posix() for p in journals}
    groups = {k: c for k, c in cases.items() if k.startswith(GROUPS_NODEID)}
    assert set(groups) == {_group(b) for b in batches}
    assert all(_findings(c) == [] and c.outcome == "passed" for c in groups.values())
    assert dataset.outcome == "failure"
    # The whole tree was audited: the figures do not call it partial.
    result.stdout.fnmatch_lines([f"dataset: {len(journals)} runs, {len(tasks)} tasks; *"])
    assert "were not selected" not in result.stdout.str()
    assert dataset.props["e2e.runs"] == dataset.props["e2e.tree_runs"] == str(len(journals))


# -- under pytest-xdist -------------------------------------------------------------------


def _summary(result: pytest.RunResult) -> list[str]:
    """The lines of the "e2e audit summary" section, up to the next section."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if " e2e audit summary " in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("==")), len(lines))
    # "reports:" names each session's own output files.
    return [line for line in lines[start + 1 : end] if not line.startswith("reports: ")]


def _flaky_cluster_tree(runs: RunFactory) -> Path:
    """A fast-failure cluster in one batch, model failures in another, and a task that
    fails in the first batch and passes in a later one."""
    _cluster_tree(runs, CRASHES)
    _attempt(runs, f"vllm/trae/gpt-5/{STAMPS[2]}/vllm_core-0000", COMMITS[0], journal=WITH_TOKENS)
    return runs.root


@pytest.mark.parametrize("tree", ["examples", "failure-cluster"])
def test_xdist_gives_the_same_dataset_and_batch_items_as_a_serial_run(
    pytester: pytest.Pytester, make_runs: RunFactory, tree: str
) -> None:
    results = EXAMPLES if tree == "examples" else _flaky_cluster_tree(make_runs)
    serial, serial_cases = _audit(pytester, results, label="serial")
    parallel, parallel_cases = _audit(pytester, results, "-n", "2", label="xdist")
    parallel.stdout.fnmatch_lines(["created: 2/2 workers"])
    groups = [k for k in serial_cases if k.startswith(GROUPS_NODEID)]
    assert DATASET in serial_cases and groups
    assert _findings(serial_cases[DATASET])  # both trees have dataset findings
    if tree == "failure-cluster":
        assert _findings(serial_cases[_group(FAST)]) == [failure_cluster.name]
    # Node ids, outcomes, failure texts and every e2e.* property, of every item.
    assert parallel_cases == serial_cases
    assert parallel.parseoutcomes() == serial.parseoutcomes()
    assert _summary(parallel) == _summary(serial)


# -- part of the tree ---------------------------------------------------------------------


def test_selecting_some_runs_makes_the_dataset_figures_say_n_of_m(
    pytester: pytest.Pytester,
) -> None:
    runs = sorted(p.parent.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("journal.json"))
    word = "021f76e4"
    chosen = [run for run in runs if word in run]
    assert 0 < len(chosen) < len(runs)
    result, cases = _audit(pytester, EXAMPLES, "-k", word)
    assert result.parseoutcomes()["deselected"] == len(runs) - len(chosen)
    result.stdout.fnmatch_lines(
        [f"dataset: {len(chosen)} of {len(runs)} runs (the rest were not selected), *"]
    )
    props = cases[DATASET].props
    assert (props["e2e.runs"], props["e2e.tree_runs"]) == (str(len(chosen)), str(len(runs)))
    assert props["e2e.attempts"] == str(len(chosen))
    commits = {
        _key(json.loads((EXAMPLES / r / "journal.json").read_text())["commits"]["human"])
        for r in chosen
    }
    assert props["e2e.tasks"] == str(len(commits))
    audited = sorted(k.split("::", 1)[1] for k in cases if k.startswith("e2e-runs::"))
    assert audited == chosen
    batches = {r.rsplit("/", 1)[0] for r in chosen}
    assert {k for k in cases if k.startswith(GROUPS_NODEID)} == {_group(b) for b in batches}


def test_dataset_figures_claim_no_verified_success_when_every_success_rule_is_off(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    # The real success that never ran: with no success rule active nothing was verified,
    # as the per-run summary says; the dataset figures must not call it a verified success.
    make_runs.real(NEVER_RAN)
    result, cases = _audit(pytester, make_runs.root, _select(flaky_task))
    result.stdout.fnmatch_lines(["verified success: not computed (every success rule is off)"])
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if line.startswith("dataset: "))
    claimed = [line for line in lines[start:] if re.search(r"verified [+-]?\d", line)]
    assert claimed == []
    verified = {k: v for k, v in cases[DATASET].props.items() if "verified" in k}
    assert {k: v for k, v in verified.items() if re.fullmatch(r"[+-]?[\d.]+", v)} == {}


# -- option values ------------------------------------------------------------------------


BAD_THRESHOLDS = [
    ("--e2e-max-attempts=0", "*--e2e-max-attempts: expected a number >= 1, got '0'*"),
    ("--e2e-max-attempts=2.5", "*--e2e-max-attempts: expected a whole number >= 1, got 2.5*"),
    ("--e2e-cluster-size=-1", "*--e2e-cluster-size: expected a number >= 1, got '-1'*"),
    (
        "--e2e-cluster-spread=2",
        "*--e2e-cluster-spread: expected a number from 0 to 1, got '2'*",
    ),
    (
        "--e2e-cluster-max-duration=nan",
        "*--e2e-cluster-max-duration: expected a number of seconds >= 0, got 'nan'*",
    ),
    (
        "--e2e-systemic-share=abc",
        "*--e2e-systemic-share: expected a number from 0 to 1, got 'abc'*",
    ),
    (
        "--e2e-retry-margin=101",
        "*--e2e-retry-margin: expected a number from 0 to 100, got '101'*",
    ),
    ("--e2e-batch-gap=-5", "*--e2e-batch-gap: expected a number from 0 to 100, got '-5'*"),
]
"""(option, the usage error it must give)."""


@pytest.mark.parametrize(("option", "message"), BAD_THRESHOLDS, ids=[o for o, _ in BAD_THRESHOLDS])
def test_a_bad_threshold_is_a_usage_error_naming_the_flag(
    pytester: pytest.Pytester, make_runs: RunFactory, option: str, message: str
) -> None:
    make_runs.run("clean", journal=WITH_TOKENS)
    result = pytester.runpytest(*audit_args(make_runs.root, option, dataset=True))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_a_bad_threshold_in_the_ini_file_names_the_ini_key(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("clean", journal=WITH_TOKENS)
    pytester.makeini("[pytest]\ne2e_max_attempts = 0\n")
    result = pytester.runpytest(*audit_args(make_runs.root, dataset=True))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*e2e_max_attempts (in tox.ini): expected a number >= 1, got '0'*"]
    )


def test_stale_patch_says_it_cannot_check_when_the_rule_it_reads_is_off(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(NEVER_RAN)
    result, cases = _audit(pytester, make_runs.root, _select(stale_patch))
    # Only stale-patch is on: it cannot tell idle successes, and says so instead of passing.
    assert _findings(cases[DATASET]) == [stale_patch.name]
    assert cases[DATASET].props["e2e.failing"] == ""
    result.stdout.fnmatch_lines(
        [
            f"{stale_patch.code} {stale_patch.name} [[]warning]: stale-patch reads "
            f"{success_without_execution.name} to tell successes that show no sign the agent "
            "ran, and that rule is off: no patch was checked"
        ]
    )
