"""The dataset audit reproduces the seed post-mortem's figures from a tree of its shape.

Seed 004 (shared/seeds): 30 pipeline runs, 300 attempts, 96 commits; 92 of 96 commits (95.8%)
"succeeded" but only 134 of 300 attempts (44.7%) did; commit 8aa1485f took 21 attempts; in
one 60-item run 52 items failed in about 1.63 s each. ``seed_tree`` rebuilds that shape with
minimal perf-agents-bench journals; the tests compute every expected number from the plan.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_e2e_audit.rules.dataset import (
    excessive_retries,
    failure_cluster,
    retry_inflation,
    systemic_finding,
)

from .conftest import audit_args

BATCHES = 30
FAST_BATCH = 5
"""The batch whose 52 of 60 items fail in 1.63 s each."""
SLOW = 21
"""The task key (8aa1485f) with 21 attempts."""


@dataclass(frozen=True)
class Attempt:
    task: int
    success: bool
    batch: int
    fast: bool = False


def commit(task: int) -> str:
    return "8aa1485fcff7" if task == SLOW else f"{0xA0000000 + task:08x}" + "0" * 32


def plan() -> list[Attempt]:
    """300 attempts of 96 tasks over 30 batches, 134 successes, 92 tasks with one."""
    attempts: list[Attempt] = []
    others = [b for b in range(BATCHES) if b != FAST_BATCH]
    # Task 21 (8aa1485f): 20 failures then a success, one attempt per batch.
    attempts += [Attempt(SLOW, i == 20, others[i]) for i in range(21)]
    # The fast batch: 52 tasks fail in 1.63 s, 8 succeed.
    fast_fail = [t for t in range(96) if t != SLOW][:52]
    fast_ok = [t for t in range(96) if t != SLOW][52:60]
    attempts += [Attempt(t, False, FAST_BATCH, fast=True) for t in fast_fail]
    attempts += [Attempt(t, True, FAST_BATCH) for t in fast_ok]
    # Four tasks never succeed: seven more failures each (eight attempts, as in the seed).
    never = fast_fail[:4]
    cursor = 0

    def next_batch() -> int:
        nonlocal cursor
        cursor += 1
        return others[cursor % len(others)]

    attempts += [Attempt(t, False, next_batch()) for t in never for _ in range(7)]
    # Every other task without a success gets one.
    done = {a.task for a in attempts if a.success}
    for task in range(96):
        if task not in done and task not in never:
            attempts.append(Attempt(task, True, next_batch()))
    # The rest: extra attempts on tasks that succeed, until 300 attempts and 134 successes.
    winners = sorted({a.task for a in attempts if a.success} - {SLOW})
    successes = sum(a.success for a in attempts)
    index = 0
    while len(attempts) < 300:
        task = winners[index % len(winners)]
        success = successes < 134 and index % 3 != 2
        successes += success
        attempts.append(Attempt(task, success, next_batch()))
        index += 1
    return attempts


def seed_tree(root: Path) -> list[Attempt]:
    attempts = plan()
    counters: dict[int, int] = {}
    for attempt in attempts:
        stamp = f"2025-10-{1 + attempt.batch // 24:02d}_{attempt.batch % 24:02d}-00-00"
        item = counters.get(attempt.batch, 0)
        counters[attempt.batch] = item + 1
        run = root / "vllm" / "trae" / "gpt-5" / stamp / f"vllm_core-{item:04d}"
        run.mkdir(parents=True)
        journal = {
            "task_id": "vllm_core",
            "commits": {"human": commit(attempt.task)},
            "status": "success" if attempt.success else "error",
            "trae": {
                "returncode": 0 if attempt.success else 1,
                "duration_s": 1.63 if attempt.fast else 600.0 + item,
            },
            "token_usage": {"input_tokens": 1000, "output_tokens": 100},
        }
        if not attempt.success and not attempt.fast:
            journal["error"] = f"agent gave up on task {attempt.task}"
        (run / "journal.json").write_text(json.dumps(journal))
        patch = f"diff --git a/f{attempt.task}.py b/f{attempt.task}.py\n+x = {item}\n"
        (run / "model_patch.diff").write_text(patch if attempt.success else "")
        (run / "trae_stdout.txt").write_text("agent log\n" if not attempt.fast else "")
    return attempts


@pytest.fixture
def seed(tmp_path: Path) -> tuple[Path, list[Attempt]]:
    root = tmp_path / "seed"
    return root, seed_tree(root)


def test_the_plan_has_the_seed_shape() -> None:
    attempts = plan()
    tasks = {a.task for a in attempts}
    assert len(attempts) == 300 and len(tasks) == 96
    assert sum(a.success for a in attempts) == 134
    assert len({a.task for a in attempts if a.success}) == 92
    assert sum(a.task == SLOW for a in attempts) == 21
    assert len({a.batch for a in attempts}) == BATCHES
    fast = [a for a in attempts if a.batch == FAST_BATCH]
    assert len(fast) == 60 and sum(a.fast for a in fast) == 52


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%"


def test_seed_shaped_tree_gives_the_seed_figures(
    pytester: pytest.Pytester, seed: tuple[Path, list[Attempt]]
) -> None:
    root, attempts = seed
    xml = pytester.path / "out.xml"
    result = pytester.runpytest(*audit_args(root, f"--junitxml={xml}", dataset=True))
    runs = len(attempts)
    successes = sum(a.success for a in attempts)
    tasks = {a.task for a in attempts}
    won = {a.task for a in attempts if a.success}
    result.stdout.fnmatch_lines(
        [
            f"reported success: {successes} of {runs} runs ({_pct(successes, runs)})",
            f"dataset: {runs} runs, {len(tasks)} tasks; attempts per task: mean "
            f"{runs / len(tasks):.2f}, max 21 for task 8aa1485f",
            f"success per task: reported {len(won)}/{len(tasks)} ({_pct(len(won), len(tasks))})*",
        ]
    )
    assert "(44.7%)" in result.stdout.str() and "(95.8%)" in result.stdout.str()
    # One systematic fault in the fast batch, reported once, on that batch's item.
    for line in (
        f"{failure_cluster.code} {failure_cluster.name}: 52 of 60 runs in batch "
        "vllm/trae/gpt-5/2025-10-01_05-00-00 failed alike (1.63-1.63 s each*",
        f"{retry_inflation.code} {retry_inflation.name}: reported success is "
        f"{_pct(len(won), len(tasks))} of 96 tasks but *",
        f"{excessive_retries.code} {excessive_retries.name}: task 8aa1485f was attempted "
        "21 times (more than 3)*",
    ):
        result.stdout.fnmatch_lines([line])
    cases = {
        f"{c.get('classname')}::{c.get('name')}": c
        for c in ET.parse(xml).getroot().iter("testcase")
    }
    dataset = {
        p.get("name"): p.get("value") for p in cases["e2e-dataset::dataset"].iter("property")
    }
    assert dataset["e2e.attempts"] == str(runs)
    assert dataset["e2e.tasks"] == "96"
    assert dataset["e2e.reported_success_attempts"] == str(successes)
    assert dataset["e2e.reported_success_tasks"] == str(len(won))
    assert dataset["e2e.max_attempts"] == "21"
    failing = str(dataset["e2e.failing"]).split()
    assert retry_inflation.name in failing and excessive_retries.name in failing
    assert systemic_finding.name not in failing
    groups = [n for n in cases if n.startswith("e2e-groups::")]
    assert len(groups) == BATCHES
    fast = cases["e2e-groups::vllm/trae/gpt-5/2025-10-01_05-00-00"]
    props = {p.get("name"): p.get("value") for p in fast.iter("property")}
    assert props["e2e.failing"] == failure_cluster.name
    assert props["e2e.runs"] == "60" and props["e2e.reported_success"] == "8"
    # The 52 failures are still 52 failing run items: the cluster adds a finding, it does
    # not hide them.
    assert sum(1 for n in cases if n.startswith("e2e-runs::")) == runs


def test_the_dataset_item_gates_the_exit_code(
    pytester: pytest.Pytester, seed: tuple[Path, list[Attempt]]
) -> None:
    root, _ = seed
    # Only the dataset rule: every run passes, the dataset item alone fails the session.
    result = pytester.runpytest(
        *audit_args(root, f"--e2e-select={retry_inflation.code}", dataset=True)
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=300, failed=1)
    widened = pytester.runpytest(
        *audit_args(
            root, f"--e2e-select={retry_inflation.code}", "--e2e-retry-margin=100", dataset=True
        )
    )
    assert widened.ret == pytest.ExitCode.OK
