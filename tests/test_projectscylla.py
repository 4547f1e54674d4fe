"""ProjectScylla trees: the real dry run, the judge and infrastructure rules (E2E012-E2E017),
the summary rules over experiments and batches (E2E028-E2E030), failure classes and the
re-run list.

The real dry run is audited as bundled. Every other tree is built by ``scylla_factory`` from
copies of it: a run is the real ``T0/00/run_01`` with what the test plants (an exit code, judge
scores, an error envelope, a missing record), and batches are written the way the early-2026
batch runner wrote them across resumed sessions (FORMATS.md §2.4, seed 000). Every expected
value (a line number, a cost, a sequence of statuses, a class) comes from what the test
planted or from the real files, never from the plugin's output.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from pytest_e2e_audit.items import RUNS_NODEID
from pytest_e2e_audit.rules import Rule
from pytest_e2e_audit.rules.dataset import excessive_retries
from pytest_e2e_audit.rules.judges import (
    JUDGE_RULES,
    SCORE_TOLERANCE,
    infra_exit,
    judge_consensus_mismatch,
    judge_contradicts_signals,
    judge_invalid,
    judge_quorum,
    zero_cost_result,
)
from pytest_e2e_audit.rules.runs import status_contradicts_agent, unreadable_record
from pytest_e2e_audit.rules.summaries import (
    result_overwritten,
    summary_mismatch,
    superseded_entries,
)
from pytest_e2e_audit.stage import GROUPS_NODEID

from .conftest import Case, audit_args, junit_cases
from .scylla_factory import (
    ERROR_ENVELOPE,
    FAILING_SCORES,
    MAX_TURNS,
    PIXI_ERROR,
    REAL_COST,
    REAL_SCORES,
    BatchTest,
    Run,
    ScyllaFactory,
    Session,
    agent_failed,
    command_not_found,
    could_not_start,
    crashed,
    edit,
    exited,
    judge_consensus_envelope,
    judges_failed,
    judgment_text,
    no_record,
    passing,
    pixi,
    ran,
    zero_cost,
)

EXPERIMENT = "2026-01-20T06-13-07-test-001"
"""The experiment folder name of single-experiment trees (the dry run's)."""
RUN = f"{EXPERIMENT}/T0/00/run_01"
"""The run of a single-run tree."""


@pytest.fixture
def scylla(tmp_path: Path) -> ScyllaFactory:
    """The factory, writing under ``tmp_path/results``."""
    return ScyllaFactory(tmp_path / "results")


# -- reading results ----------------------------------------------------------------------


def _audit(
    pytester: pytest.Pytester,
    results: Path,
    *extra: str,
    dataset: bool = True,
    label: str = "junit",
) -> tuple[pytest.RunResult, dict[str, Case]]:
    """Audit ``results`` (group and dataset rules on unless ``dataset`` is false)."""
    xml = pytester.path / f"{label}.xml"
    result = pytester.runpytest(*audit_args(results, f"--junitxml={xml}", *extra, dataset=dataset))
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert "Traceback" not in result.stdout.str()
    return result, junit_cases(xml)


def _run(run_id: str) -> str:
    return f"{RUNS_NODEID}::{run_id}"


def _group(key: str) -> str:
    return f"{GROUPS_NODEID}::{key}"


def _head(entry: Rule, severity: str | None = None) -> str:
    """The start of a finding's line as printed; fnmatch reads ``[`` as a class."""
    tag = f" [[]{severity}]" if severity else ""
    return f"{entry.code} {entry.name}{tag}: "


def _key_line(path: Path, key: str, depth: int = 1) -> int:
    """Line of ``"key":`` written at nesting ``depth`` (``indent=2``)."""
    prefix = " " * (2 * depth) + f'"{key}":'
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(prefix))


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` and each file's bytes (None for a folder)."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(root.rglob("*"))
    }


# -- the real dry run ---------------------------------------------------------------------


def test_the_real_dry_run_gets_one_item_per_run_and_its_lost_criteria_reported(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    root = scylla.dryrun("dryrun")
    before = _snapshot(root)
    runs = sorted(str(p.parent.relative_to(root)) for p in root.rglob("run_result.json"))
    assert runs == ["T0/00/run_01", "T1/01/run_01"]
    result, cases = _audit(pytester, root)  # no --e2e-layout: the layout is detected
    assert sorted(k for k in cases if k.startswith(f"{RUNS_NODEID}::")) == [_run(r) for r in runs]
    expected: list[str] = []
    for run in runs:
        record = root / run / "run_result.json"
        assert json.loads(record.read_text())["criteria_scores"] == {}
        judged = [
            p
            for p in sorted((root / run / "judge").glob("judge_*/judgment.json"))
            if json.loads(p.read_text())["criteria_scores"]
        ]
        expected += [
            f"_*{_run(run)}*_",
            f"{_head(judge_consensus_mismatch, 'warning')}criteria_scores is {{}} in "
            f"run_result.json:{_key_line(record, 'criteria_scores')} (criteria_scores) while "
            f"{len(judged)} judgments carry criteria",
        ]
    result.stdout.fnmatch_lines(expected)
    for run in runs:
        case = cases[_run(run)]
        assert case.outcome == "passed"
        assert case.props["e2e.status"] == "passed"  # judge_passed: true, read as ProjectScylla
        assert case.findings == [judge_consensus_mismatch.name]
        for quiet in (judge_invalid, judge_quorum, infra_exit):
            assert quiet.name not in case.findings
    # Its checkpoint and result cover T0-T6; only T0 and T1 were published.
    experiment = cases[_group(".")]
    checkpoint = json.loads((root / "checkpoint.json").read_text())["completed_runs"]
    missing = sorted(t for t in checkpoint if not (root / t).is_dir())
    assert missing == ["T2", "T3", "T4", "T5", "T6"]
    for tier in missing:
        (subtest,) = checkpoint[tier]
        assert f"{tier}/{subtest} run 1: checkpoint.json:" in experiment.text
        assert f"there is no run record in {tier}/{subtest}/run_01" in experiment.text
    published = sum(
        json.loads((root / r / "run_result.json").read_text())["cost_usd"] for r in runs
    )
    claimed = json.loads((root / "result.json").read_text())["total_cost"]
    assert (
        f"experiment .: result.json:{_key_line(root / 'result.json', 'total_cost')} says total "
        f"cost {claimed}, but ${published:.4f} over the runs"
    ) in experiment.text
    assert _snapshot(root) == before


def test_the_real_dry_run_passes_its_run_items_under_the_run_rules_alone(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    root = scylla.dryrun("dryrun")
    result, cases = _audit(pytester, root, dataset=False)
    result.assert_outcomes(passed=2)
    assert [c.props["e2e.verified_success"] for c in cases.values()] == ["true", "true"]


def test_a_clean_factory_tree_is_quiet(pytester: pytest.Pytester, scylla: ScyllaFactory) -> None:
    scylla.experiment([passing(), passing(number=2), passing(tier="T1", subtest="01")])
    result, cases = _audit(pytester, scylla.root)
    runs, groups = 3, 1 + 2 + 2  # the experiment, tiers T0 and T1, subtests T0/00 and T1/01
    result.assert_outcomes(passed=runs + 1 + groups)
    assert {k: c.findings for k, c in cases.items()} == {k: [] for k in cases}


# -- the run rules E2E012-E2E017 ----------------------------------------------------------


JUDGE_SCORE = "run_result.json:{judge_score} (judge_score)"
"""Where the consensus is recorded (the line is filled in from the written record)."""
FIRING: list[tuple[Rule, Run, dict[str, object], str]] = [
    (
        judge_invalid,
        Run(judge_errors=(2,)),
        {},
        'judge 2 output in judge/judge_02/judgment.json:1 is an error envelope (is_error: true): "'
        + str(ERROR_ENVELOPE["result"])
        + '": a judge failure, not a model failure',
    ),
    (
        judge_consensus_mismatch,
        Run(consensus_score=0.4),
        {},
        f"consensus score 0.400 in {JUDGE_SCORE} but the {len(REAL_SCORES)} valid judges "
        f"average {statistics.mean(REAL_SCORES):.3f}",
    ),
    (
        judge_consensus_mismatch,
        Run(consensus_passed=False),
        {},
        f"consensus passed: false in {JUDGE_SCORE} but {len(REAL_SCORES)} of "
        f"{len(REAL_SCORES)} valid judges passed the run",
    ),
    (
        judge_quorum,
        Run(judge_errors=(2,)),
        {"judge_models": None},
        f"{len(REAL_SCORES) - 1} valid judgments of {len(REAL_SCORES)} judge folders present "
        "(judge 2 invalid)",
    ),
    (
        judge_quorum,
        Run(scores=REAL_SCORES[:2]),
        {"judge_models": None, "config_judge_models": ("opus", "sonnet", "haiku")},
        "2 valid judgments of 3 configured",
    ),
    (
        judge_contradicts_signals,
        Run(exit_code=1, agent_error=MAX_TURNS),
        {},
        f"passed in {JUDGE_SCORE} although the agent exited 1*",
    ),
    (
        zero_cost_result,
        zero_cost(),
        {},
        "a verdict is recorded with cost_usd 0 in run_result.json:{cost_usd} (cost_usd) and 0 "
        "tokens: written without running",
    ),
    (
        infra_exit,
        could_not_start(),
        {},
        "the agent did not run: exit code -1 (could not be started); the agent's error says "
        f'"{PIXI_ERROR.replace("[", "[[]")}"; it ran 0.00 s',
    ),
]
_FIRING_IDS = [
    "envelope",
    "score",
    "passed",
    "folders",
    "configured",
    "agent-exit-1",
    "zero-cost",
    "pixi",
]


def test_every_judge_and_infrastructure_rule_has_a_firing_case() -> None:
    assert {r.name for r, *_ in FIRING} == {r.name for r in JUDGE_RULES}


@pytest.mark.parametrize(("entry", "run", "options", "message"), FIRING, ids=_FIRING_IDS)
def test_a_run_rule_fires_on_the_run_that_shows_its_problem(
    pytester: pytest.Pytester,
    scylla: ScyllaFactory,
    entry: Rule,
    run: Run,
    options: dict[str, object],
    message: str,
) -> None:
    exp = scylla.experiment([run], **options)  # type: ignore[arg-type]
    record = exp / "T0/00/run_01/run_result.json"
    lines = {key: _key_line(record, key) for key in ("judge_score", "cost_usd")}
    result, cases = _audit(pytester, scylla.root, dataset=False)
    result.stdout.fnmatch_lines([f"_*{_run(RUN)}*_", _head(entry) + message.format(**lines)])
    case = cases[_run(RUN)]
    assert case.outcome == "failure"
    assert entry.name in case.findings
    assert entry.name in case.failing


QUIET: list[tuple[Rule, Run, dict[str, object]]] = [
    (judge_invalid, passing(), {}),  # the real judgments, "achieved": "N/A" included
    (
        judge_consensus_mismatch,
        Run(consensus_score=statistics.mean(REAL_SCORES) + SCORE_TOLERANCE / 2),
        {},
    ),
    (judge_quorum, Run(scores=REAL_SCORES[:2]), {"judge_models": None}),
    (judge_contradicts_signals, agent_failed(), {}),  # judges fail the agent that exited 1
    (zero_cost_result, Run(cost=0.0), {}),  # no cost recorded, but tokens were
    (infra_exit, agent_failed(), {}),  # exit 1 with the agent's own error
]


@pytest.mark.parametrize(("entry", "run", "options"), QUIET, ids=[f"{e.name}" for e, *_ in QUIET])
def test_a_run_rule_is_quiet_on_the_run_just_short_of_its_problem(
    pytester: pytest.Pytester,
    scylla: ScyllaFactory,
    entry: Rule,
    run: Run,
    options: dict[str, object],
) -> None:
    exp = scylla.experiment([run], **options)  # type: ignore[arg-type]
    if entry is judge_invalid:
        assert (
            '"achieved": "N/A"' in (exp / "T0/00/run_01/judge/judge_01/judgment.json").read_text()
        )
    result, cases = _audit(pytester, scylla.root, dataset=False)
    assert not [line for line in result.stdout.lines if line.startswith(_head(entry))]
    assert entry.name not in cases[_run(RUN)].findings


# -- summary-mismatch (E2E028) ------------------------------------------------------------


def test_a_subtest_report_with_a_wrong_pass_count_is_a_summary_mismatch(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    exp = scylla.experiment([passing(), passing(number=2)])
    report = exp / "T0/00/report.json"
    edit(report, {"summary.passed": 1})
    _, cases = _audit(pytester, scylla.root)
    subtest = f"{EXPERIMENT}/T0/00"
    case = cases[_group(subtest)]
    assert case.failing == [summary_mismatch.name]
    assert (
        f"{_head(summary_mismatch)}subtest {subtest}: {subtest}/report.json:"
        f"{_key_line(report, 'passed', 2)} says passed runs 1, but 2 passed run record(s)"
    ) in case.text
    assert summary_mismatch.name not in cases[_group(EXPERIMENT)].findings


def test_a_tier_result_with_a_wrong_run_status_is_a_summary_mismatch(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    exp = scylla.experiment([passing()])
    tier_result = exp / "T0/result.json"
    edit(tier_result, {"subtest_results.00.runs.0.judge_passed": False})
    _, cases = _audit(pytester, scylla.root)
    tier = f"{EXPERIMENT}/T0"
    case = cases[_group(tier)]
    assert case.failing == [summary_mismatch.name]
    first_run = _key_line(tier_result, "runs", 3) + 1
    assert (
        f"{_head(summary_mismatch)}{tier}/00 run 1: {tier}/result.json:{first_run} says run "
        f"failed, but {RUN}/run_result.json says passed"
    ) in case.text


def test_an_experiment_result_with_a_wrong_total_cost_is_a_summary_mismatch(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    exp = scylla.experiment([passing(), passing(number=2)])
    edit(exp / "result.json", {"total_cost": 9.99})
    _, cases = _audit(pytester, scylla.root)
    case = cases[_group(EXPERIMENT)]
    assert case.failing == [summary_mismatch.name]
    assert (
        f"{_head(summary_mismatch)}experiment {EXPERIMENT}: {EXPERIMENT}/result.json:"
        f"{_key_line(exp / 'result.json', 'total_cost')} says total cost 9.99, but "
        f"${2 * REAL_COST:.4f} over the runs"
    ) in case.text


def test_a_checkpoint_listing_no_completed_run_is_a_summary_mismatch(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    exp = scylla.experiment([passing(), passing(number=2)], completed_runs={})
    _, cases = _audit(pytester, scylla.root)
    case = cases[_group(EXPERIMENT)]
    assert case.failing == [summary_mismatch.name]
    assert (
        f"{_head(summary_mismatch)}experiment {EXPERIMENT}: {EXPERIMENT}/checkpoint.json:"
        f"{_key_line(exp / 'checkpoint.json', 'completed_runs')} says runs 0, but 2 run records"
    ) in case.text


def test_a_batch_summary_whose_last_entry_fails_a_passing_test_is_a_summary_mismatch(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    batch = scylla.batch([BatchTest("test-002", (ran(), crashed()))])
    last = len(batch.entries) - 1
    assert [e["status"] for e in batch.entries] == ["pass", "fail"]
    _, cases = _audit(pytester, scylla.root)
    case = cases[_group(batch.key)]
    assert summary_mismatch.name in case.failing
    assert (
        f"{_head(summary_mismatch)}test-002: {batch.key}/batch_summary.json:"
        f"{batch.entry_line(last)} says status fail, but the run records pass (1 run in "
        f"{batch.experiment('test-002')})"
    ) in case.text


# -- result-overwritten (E2E029) and superseded-entries (E2E030) ---------------------------

SEED_PASS = Run(scores=(0.94, 0.94, 0.94), cost=0.9)
"""test-002 of the seed's first session: ``T0: PASS (score: 0.940, cost: $0.9000)``."""


def test_a_resume_that_overwrote_a_pass_is_reported_on_the_experiment(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    batch = scylla.batch([BatchTest("test-002", (ran(SEED_PASS), pixi(), crashed()))])
    entries = batch.of("test-002")
    assert [(e["status"], e["total_cost"]) for e in entries] == [
        ("pass", 0.9),
        ("error", 0.9),  # pixi missing: the runner read the earlier session's metrics
        ("fail", 0.0),
    ]
    exp = batch.experiment("test-002")
    _, cases = _audit(pytester, scylla.root)
    case = cases[_group(exp)]
    assert case.failing == [result_overwritten.name]
    last = (
        f"the last entry ({batch.key}/batch_summary.json:{batch.entry_line(2)}) says fail at $0.00"
    )
    score = SEED_PASS.score
    verdict = batch.log_line(f"T0: PASS (score: {score:.3f}, cost: ${SEED_PASS.cost:.4f})")
    for line in (
        f"test-002: entry 1 ({batch.key}/batch_summary.json:{batch.entry_line(0)}) says pass at "
        f"${SEED_PASS.cost:.2f} (best score {score:.3f}); {last}",
        f"test-002: session 1 printed T0: PASS, score {score:.3f}, ${SEED_PASS.cost:.4f} in "
        f"{batch.key}/thread_logs/thread_1.log:{verdict}; {last}",
        f"test-002: the run records on disk pass (1 run in {exp}); {last}",
    ):
        assert _head(result_overwritten) + line in case.text
    assert case.props["e2e.failure_class"] == "framework"


def test_a_pass_only_the_thread_log_remembers_is_reported_when_a_fresh_start_cleared_it(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    batch = scylla.batch([BatchTest("test-002", (ran(SEED_PASS), pixi(), crashed()))], fresh=2)
    assert [e["status"] for e in batch.entries] == ["fail"]  # the earlier entries are gone
    exp = batch.experiment("test-002")
    _, cases = _audit(pytester, scylla.root)
    case = cases[_group(exp)]
    score, cost = SEED_PASS.score, SEED_PASS.cost
    verdict = batch.log_line(f"T0: PASS (score: {score:.3f}, cost: ${cost:.4f})")
    assert (
        f"{_head(result_overwritten)}test-002: session 1 printed T0: PASS, score {score:.3f}, "
        f"${cost:.4f} in {batch.key}/thread_logs/thread_1.log:{verdict}; the last entry "
        f"({batch.key}/batch_summary.json:{batch.entry_line(0)}) says fail at $0.00"
    ) in case.text
    assert "says pass at" not in case.text  # no batch entry holds the pass any more


def test_resumed_sessions_are_listed_with_their_statuses_on_the_batch(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    batch = scylla.batch(
        [
            BatchTest("test-001", (ran(),)),
            BatchTest("test-005", (ran(exit_code=1), ran(agent_failed()), ran())),
        ]
    )
    sequence = [e["status"] for e in batch.of("test-005")]
    assert sequence == ["error", "fail", "pass"]
    assert len(batch.folders["test-005"]) == 3  # each session wrote a newer folder
    result, cases = _audit(pytester, scylla.root)
    result.stdout.fnmatch_lines(
        [
            f"{_head(superseded_entries, 'info')}test-005: {' → '.join(sequence)} (3 entries in "
            f"{batch.key}/batch_summary.json; the last counts)"
        ]
    )
    case = cases[_group(batch.key)]
    assert case.outcome == "passed"
    assert case.findings == [superseded_entries.name]  # test-001 has one entry
    for folder in batch.folders["test-005"]:
        assert result_overwritten.name not in cases[_group(f"{batch.key}/{folder}")].findings


# -- the batch's passes, as claimed and as recorded ----------------------------------------

SEED_BATCH: dict[str, tuple[Session | None, ...]] = {
    "test-001": (ran(),),
    "test-002": (ran(SEED_PASS), pixi(), crashed()),  # a pass overwritten by $0.00
    "test-003": (ran(agent_failed()), pixi(), crashed()),  # failed in both sessions
    "test-004": (ran(),),
    "test-005": (ran(agent_failed(), exit_code=1), pixi(), ran()),  # error, error, pass
    "test-006": (ran(), None, crashed()),  # another overwritten pass
}
"""The seed's batch in small: three sessions (real runs; pixi missing; a crashing resume)."""


def _records_pass(sessions: tuple[Session | None, ...]) -> bool:
    """Whether the runs of the test's newest folder pass: their best subtest's mean score
    is above 0.5 (the batch runner's ``best_score > 0.5``)."""
    runs = next(s.runs for s in reversed(sessions) if s is not None and s.kind == "ran")
    by_subtest: dict[str, list[float]] = {}
    for run in runs:
        by_subtest.setdefault(run.subtest, []).append(run.score)
    return max(statistics.mean(v) for v in by_subtest.values()) > 0.5


def test_the_batch_item_counts_the_passes_claimed_and_the_passes_recorded(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    batch = scylla.batch([BatchTest(t, s) for t, s in SEED_BATCH.items()])
    last = {e["test_id"]: e["status"] for e in batch.entries}
    claimed = sum(status == "pass" for status in last.values())
    held = sum(_records_pass(s) for s in SEED_BATCH.values())
    assert (claimed, held) == (3, 5)
    _, cases = _audit(pytester, scylla.root)
    case = cases[_group(batch.key)]
    assert case.props["e2e.summary_pass"] == str(claimed)
    assert case.props["e2e.records_pass"] == str(held)
    overwritten = sorted(t for t, s in last.items() if s != "pass" and _records_pass(SEED_BATCH[t]))
    assert overwritten == ["test-002", "test-006"]
    for test in overwritten:
        assert f"{test}: {batch.key}/batch_summary.json:" in case.text
        assert result_overwritten.name in cases[_group(batch.experiment(test))].failing


# -- failure classes and the re-run list --------------------------------------------------


def _classes_tree(scylla: ScyllaFactory) -> dict[str, str | None]:
    """Experiments whose runs must each be of one class, and a batch whose experiments are
    classed by their entries; returns run and experiment folder -> expected class."""
    planted: dict[str, tuple[Run, str | None]] = {
        "test-001": (could_not_start(), "infrastructure"),  # exit -1, pixi missing
        "test-002": (command_not_found(), "infrastructure"),  # exit 127
        "test-003": (judge_consensus_envelope(), "judge"),  # the consensus is an envelope
        "test-004": (judges_failed(), "judge"),  # every judge failed
        "test-005": (no_record(), "framework"),  # the agent ran, no run_result.json
        "test-006": (zero_cost(), "framework"),  # a verdict at $0.00, 0 tokens
        "test-007": (agent_failed(), "agent"),  # exit 1, the agent's own error
        "test-008": (Run(exit_code=1, agent_error=MAX_TURNS), "agent"),  # judge passed it
        "test-009": (passing(), None),
    }
    expected: dict[str, str | None] = {}
    for test, (run, klass) in planted.items():
        name = f"2026-01-20T06-13-07-{test}"
        scylla.experiment([run], name=name)
        expected[name] = expected[f"{name}/{run.folder}"] = klass
    batch = scylla.batch(
        [
            BatchTest("test-010", (ran(SEED_PASS), pixi(), crashed())),  # a pass overwritten
            BatchTest("test-011", (ran(), pixi())),  # the last session could not start
            BatchTest("test-012", (ran(), None, exited(-1))),  # ... nor could this one
        ]
    )
    classes = {"test-010": "framework", "test-011": "infrastructure", "test-012": "infrastructure"}
    for test, klass in classes.items():
        expected[batch.experiment(test)] = klass
        expected[f"{batch.experiment(test)}/T0/00/run_01"] = None  # its runs passed
    return expected


def _rerun(expected: dict[str, str | None]) -> str:
    """The re-run list: run and experiment folders not of class agent, sorted."""
    chosen = [k for k, c in expected.items() if c not in (None, "agent")]
    return "".join(f"{k}\n" for k in sorted(chosen, key=lambda k: k.split("/")))


def test_each_failed_run_and_experiment_gets_the_class_of_its_failure(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    expected = _classes_tree(scylla)
    _, cases = _audit(pytester, scylla.root)
    got = {}
    for folder in expected:
        case = cases[_run(folder)] if "/run_" in folder else cases[_group(folder)]
        got[folder] = case.props.get("e2e.failure_class")
    assert got == expected
    passed_by_judge = cases[_run("2026-01-20T06-13-07-test-008/T0/00/run_01")]
    assert judge_contradicts_signals.name in passed_by_judge.failing


def test_a_judged_failure_of_an_agent_that_completed_is_an_agent_failure_and_no_contradiction(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    # The Claude CLI's "is_error": false says the session ended cleanly, not that the task
    # was solved: the judges decide that. Most model failures look like this run.
    exp = scylla.experiment([Run(scores=FAILING_SCORES)])
    stdout = json.loads(json.loads((exp / "T0/00/run_01/agent/result.json").read_text())["stdout"])
    assert stdout["is_error"] is False
    _, cases = _audit(pytester, scylla.root)
    case = cases[_run(RUN)]
    assert case.props["e2e.failure_class"] == "agent"
    assert status_contradicts_agent.name not in case.findings


def test_a_failure_rewritten_at_no_cost_by_a_crashed_resume_is_a_framework_failure(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    # Seed 000: test-007 failed at $2.22, then a crashing resume wrote FAIL at $0.00; the
    # post-mortem counts it among the 13 framework failures to re-run.
    batch = scylla.batch([BatchTest("test-007", (ran(agent_failed()), pixi(), crashed()))])
    assert [(e["status"], e["total_cost"]) for e in batch.of("test-007")][-1] == ("fail", 0.0)
    _, cases = _audit(pytester, scylla.root)
    assert cases[_group(batch.experiment("test-007"))].props["e2e.failure_class"] == "framework"


def test_the_rerun_list_names_the_runs_and_experiments_a_rerun_could_change(
    pytester: pytest.Pytester, scylla: ScyllaFactory, tmp_path: Path
) -> None:
    expected = _classes_tree(scylla)
    target = tmp_path / "out" / "rerun.txt"
    target.parent.mkdir()
    _audit(pytester, scylla.root, f"--e2e-rerun-list={target}")
    assert target.read_text() == _rerun(expected)


def test_the_rerun_list_is_the_same_under_xdist(
    pytester: pytest.Pytester, scylla: ScyllaFactory, tmp_path: Path
) -> None:
    expected = _classes_tree(scylla)
    target = tmp_path / "rerun.txt"
    result, _ = _audit(pytester, scylla.root, f"--e2e-rerun-list={target}", "-n", "2")
    result.stdout.fnmatch_lines(["created: 2/2 workers"])
    assert target.read_text() == _rerun(expected)


def test_a_rerun_list_inside_the_results_tree_is_a_usage_error(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    exp = scylla.experiment([could_not_start()])
    target = exp / "rerun.txt"
    result = pytester.runpytest(*audit_args(scylla.root, f"--e2e-rerun-list={target}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--e2e-rerun-list: {target} is inside the results tree*"])
    assert not target.exists()


# -- bad input ----------------------------------------------------------------------------


def test_judgments_scoring_items_n_a_are_valid_verdicts(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    exp = scylla.experiment([passing()])
    for judgment in sorted((exp / "T0/00/run_01/judge").glob("judge_*/judgment.json")):
        assert '"achieved": "N/A"' in judgment.read_text()  # as in the real judgments
    result, cases = _audit(pytester, scylla.root, dataset=False)
    result.assert_outcomes(passed=1)
    assert cases[_run(RUN)].findings == []


@pytest.mark.parametrize(("token", "shown"), [("Infinity", "inf"), ("NaN", "nan"), ("1.5", "1.5")])
def test_a_judgment_score_that_is_not_finite_or_out_of_range_makes_the_judge_invalid(
    pytester: pytest.Pytester, scylla: ScyllaFactory, token: str, shown: str
) -> None:
    scylla.experiment([Run(files={"judge/judge_01/judgment.json": judgment_text(token)})])
    result, cases = _audit(pytester, scylla.root, dataset=False)
    result.stdout.fnmatch_lines(
        [
            f"{_head(judge_invalid)}judge 1 output in judge/judge_01/judgment.json:1 has a score "
            f"outside [[]0, 1] ({shown}): a judge failure, not a model failure",
            f"{_head(judge_quorum)}2 valid judgments of 3 configured (judge 1 invalid)",
        ]
    )
    case = cases[_run(RUN)]
    assert case.props["e2e.failure_class"] == "judge"
    assert judge_consensus_mismatch.name not in case.findings  # judges 2 and 3 agree with it


def test_a_truncated_run_record_is_unreadable_and_a_framework_failure(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    whole = json.dumps(Run().result(EXPERIMENT), indent=2)
    scylla.experiment([Run(files={"run_result.json": whole[: len(whole) // 3]})])
    result, cases = _audit(pytester, scylla.root, dataset=False)
    result.stdout.fnmatch_lines(
        [f"{_head(unreadable_record)}record file run_result.json is truncated*"]
    )
    case = cases[_run(RUN)]
    assert case.outcome == "failure"
    assert case.props["e2e.failure_class"] == "framework"


def test_a_batch_summary_that_is_not_json_is_a_warning_on_the_batch(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    batch = scylla.batch([BatchTest("test-001", (ran(),))], summary="results pending\n")
    result, cases = _audit(pytester, scylla.root)
    result.stdout.fnmatch_lines(
        [
            f"_*{_group(batch.key)}*_",
            f"{_head(summary_mismatch, 'warning')}{batch.key}/batch_summary.json is not valid "
            "JSON*; what it states is not checked",
        ]
    )
    case = cases[_group(batch.key)]
    assert case.outcome == "passed"
    assert case.findings == [summary_mismatch.name]
    assert "e2e.summary_pass" not in case.props


def test_planned_repeats_of_a_subtest_are_not_retries(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    # Five planned runs of one subtest (runs_per_subtest = 5) in one session: five tasks, one
    # attempt each, so nothing is "retried" however many repeats an experiment plans.
    scylla.experiment([Run(number=n) for n in range(1, 6)])
    result, cases = _audit(pytester, scylla.root)
    dataset = cases["e2e-dataset::dataset"]
    assert excessive_retries.name not in dataset.props["e2e.findings"].split()
    assert dataset.props["e2e.tasks"] == "5"
    assert dataset.props["e2e.max_attempts"] == "1"
    result.stdout.no_fnmatch_line(f"*{excessive_retries.code} {excessive_retries.name}:*")


def test_a_run_slot_run_again_in_a_later_session_is_a_second_attempt(
    pytester: pytest.Pytester, scylla: ScyllaFactory
) -> None:
    # The same test's run slot in two sessions (two experiment folders): one task, two tries.
    scylla.experiment([agent_failed()], name="2026-01-20T06-13-07-test-001")
    scylla.experiment([Run()], name="2026-01-21T09-00-00-test-001")
    _, cases = _audit(pytester, scylla.root)
    dataset = cases["e2e-dataset::dataset"]
    assert dataset.props["e2e.tasks"] == "1"
    assert dataset.props["e2e.max_attempts"] == "2"
    assert dataset.props["e2e.first_attempt_reported_success"] == "0"
    assert dataset.props["e2e.reported_success_tasks"] == "1"


@pytest.mark.parametrize("phase", ["completed", "in_progress"])
def test_runs_inside_phase_folders_belong_to_their_experiment(
    pytester: pytest.Pytester, scylla: ScyllaFactory, phase: str
) -> None:
    # The current writer keeps tiers inside in_progress/ or completed/ (FORMATS.md 2.1).
    name = "2026-02-01T10-00-00-test-002"
    scylla.experiment([Run(), Run(subtest="01")], name=name, phase=phase)
    result, cases = _audit(pytester, scylla.root)
    runs = sorted(n for n in cases if n.startswith(f"{RUNS_NODEID}::"))
    assert runs == [
        _run(f"{name}/{phase}/T0/00/run_01"),
        _run(f"{name}/{phase}/T0/01/run_01"),
    ]
    experiment = cases[_group(name)]
    assert experiment.props["e2e.group_kind"] == "experiment"
    assert experiment.props["e2e.runs"] == "2"
    assert cases[_group(f"{name}/{phase}/T0")].props["e2e.group_kind"] == "tier"
    assert cases[_group(f"{name}/{phase}/T0/01")].props["e2e.group_kind"] == "subtest"
    # Its summaries are held against the runs inside the phase folder: they agree.
    assert experiment.outcome == "passed", experiment.text


_MUTATIONS = (
    lambda text: text[: len(text) // 2],  # truncated mid-write
    lambda text: "",  # 0 bytes
    lambda text: "\x00\xff binary junk \x1b[31m",
    lambda text: "[1, 2, 3]",  # not an object
    lambda text: text.replace(": 0", ': "0"').replace(": true", ": null"),  # wrong types
    lambda text: text.replace("0.9", "9" * 5000),  # a 5,000-digit number
    lambda text: text.replace('"score"', '"score": Infinity, "x"'),
    lambda text: '{"criteria_scores": null, "score": "N/A", "passed": "yes"}',
)


@pytest.mark.parametrize("seed", range(12))
def test_mutated_scylla_files_never_crash_and_every_run_is_accounted_for(
    pytester: pytest.Pytester, scylla: ScyllaFactory, tmp_path: Path, seed: int
) -> None:
    import random

    rng = random.Random(seed)
    root = scylla.dryrun()
    files = sorted(p for p in root.rglob("*.json") if p.is_file())
    for path in rng.sample(files, 6):
        mutate = rng.choice(_MUTATIONS)
        path.write_bytes(
            mutate(path.read_text(encoding="utf-8")).encode("utf-8", "surrogateescape")
        )
    runs = sorted(p.parent for p in root.rglob("run_*") if p.is_dir() and p.name[4:].isdigit())
    result, cases = _audit(pytester, scylla.root)
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    run_items = [n for n in cases if n.startswith(f"{RUNS_NODEID}::")]
    assert len(run_items) == len(runs)
