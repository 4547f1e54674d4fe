"""One factory for ProjectScylla results trees (FORMATS.md §2), built from the real dry run.

Every tree starts from copies of the bundled real dry run (``examples/projectscylla-dryrun``):
each run folder is a copy of its ``T0/00/run_01`` (agent and judge outputs, logs, commands),
each experiment starts from its experiment, tier and subtest files. The factory then writes
what a ``Run`` asks for (exit code, judge scores, cost, tokens, error envelopes, missing files)
and rewrites every summary above the runs from them, the way ProjectScylla does: subtest and
tier ``report.json``, tier and experiment ``result.json``, experiment ``report.json`` and
``checkpoint.json``. By default a tree is consistent, so a clean tree is quiet; a test makes a
summary wrong on purpose with ``edit`` (or a knob such as ``completed_runs``).

``batch`` writes a batch folder the way the early-2026 batch runner (``run_e2e_batch.py``,
FORMATS.md §2.4) leaves it across resumed sessions: an experiment folder per session that ran
(newer sessions, newer folders), a ``batch_summary.json`` with one entry appended per test per
session (metrics read from the newest experiment folder of the test, status decided as the
writer decides it), and ``thread_logs/thread_N.log`` with one block per test per session.

The values of the real run are the defaults: three judges scoring 0.96, 0.96 and 1.0, cost
$0.1351093, 136,477 tokens, 35.3 s of agent time. Two things differ from the real record so
that a default run is clean: the consensus keeps the judges' criteria (the real
``run_result.json`` has ``criteria_scores: {}``, ``criteria="empty"`` restores that) and
``judge/result.json`` is written in the current six-key format.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

PROJECT = Path(__file__).resolve().parent.parent
DRYRUN = PROJECT / "examples" / "projectscylla-dryrun"
"""The bundled real dry run: one experiment folder (tiers T0 and T1 published)."""
REAL_RUN = DRYRUN / "T0" / "00" / "run_01"
"""The real run every synthetic run is copied from."""
REAL_SUBTEST = DRYRUN / "T0" / "00"
REAL_TIER = DRYRUN / "T0"
DRYRUN_NAME = "2026-01-20T06-13-07-test-001"
"""The dry run's experiment folder name on its host."""
HOST = "/home/mvillmow/dryrun"
"""Where the batch runner wrote (paths inside records and batch entries point there)."""

_REAL_RESULT = json.loads((REAL_RUN / "run_result.json").read_text())
_REAL_AGENT = json.loads((REAL_RUN / "agent" / "result.json").read_text())
_REAL_JUDGMENT = json.loads((REAL_RUN / "judge" / "judge_01" / "judgment.json").read_text())
REAL_SCORES: tuple[float, ...] = tuple(float(j["score"]) for j in _REAL_RESULT["judges"])
"""The three real judges' scores (0.96, 0.96, 1.0)."""
REAL_COST = float(_REAL_RESULT["cost_usd"])
REAL_TOKENS: dict[str, int] = dict(_REAL_RESULT["token_stats"])
REAL_DURATION = float(_REAL_RESULT["agent_duration_seconds"])
REAL_JUDGE_MODELS: tuple[str, ...] = tuple(
    json.loads((DRYRUN / "result.json").read_text())["config"]["judge_models"]
)
"""The judge models the real experiment configured (``result.json`` ``config``)."""
ZERO_TOKENS = {k: 0 for k in REAL_TOKENS}
FAILING_SCORES = (0.2, 0.3, 0.25)
"""Three judges failing a run."""

ERROR_ENVELOPE: dict[str, Any] = {
    "type": "result",
    "subtype": "success",
    "is_error": True,
    "duration_ms": 1204,
    "num_turns": 1,
    "result": "API Error: 529 overloaded",
    "session_id": "0b6c2f0e-7d1e-4c55-9c1e-3a4f0d2b9e11",
    "total_cost_usd": 0,
}
"""A judge's output when its API call failed: the Claude CLI envelope, no ``score``."""
ALL_JUDGES_FAILED: dict[str, Any] = {
    "score": 0.0,
    "passed": False,
    "grade": "F",
    "reasoning": "All judges failed to produce valid results",
    "is_valid": False,
    "criteria_scores": {},
}
"""The consensus ProjectScylla writes when every judge failed (judge_runner.py)."""
PIXI_ERROR = "[Errno 2] No such file or directory: 'pixi'"
"""What the batch runner (and a wrapped agent) records when pixi is not on PATH."""
NOT_FOUND = "bash: line 1: claude: command not found"
MAX_TURNS = "Reached maximum number of turns (40)"
"""An agent's own failure (no infrastructure signature)."""
_FAIL_REASONING = "hello.py does not print the expected output; the functional criteria fail."
_VALIDATION_ERROR = (
    "2026-02-14 14:01:53 [ERROR] scylla.e2e.parallel_executor: Worker exception for T0/00:\n"
    "ValidationError: 1 validation error for RunResult\n"
    "criteria_scores\n"
    "  Input should be a valid dictionary [type=dict_type, input_value=None, "
    "input_url=https://errors.pydantic.dev/2.11/v/dict_type]\n"
)


SESSION_STARTS = (
    "2026-02-14T00:28:13+00:00",
    "2026-02-14T11:16:40+00:00",
    "2026-02-14T13:59:02+00:00",
)
"""The three sessions of the seed's thread 1: real runs; pixi missing; resume crashes."""


def grade(score: float) -> str:
    """ProjectScylla's letter for a score (S for a perfect one)."""
    for letter, floor in (("S", 1.0), ("A", 0.8), ("B", 0.6), ("C", 0.4), ("D", 0.2)):
        if score >= floor:
            return letter
    return "F"


@dataclass(frozen=True)
class Run:
    """One run folder ``<tier>/<subtest>/run_NN`` and what its files say.

    Judges: ``scores`` gives one judge folder per score (``passed`` per judge defaults to
    score > 0.5); judges numbered in ``judge_errors`` hold the API-error envelope instead.
    The consensus (``judge/result.json`` and ``run_result.json``) is the valid judges' mean
    and majority unless overridden; ``consensus="envelope"`` writes the envelope as
    ``judge/result.json``, ``"all_failed"`` the all-judges-failed record (a consensus with no
    valid judge is always that one).
    """

    tier: str = "T0"
    subtest: str = "00"
    number: int = 1
    exit_code: int = 0
    """``exit_code`` in ``run_result.json`` and ``agent/result.json``."""
    scores: tuple[float, ...] = REAL_SCORES
    passed: tuple[bool, ...] | None = None
    judge_errors: tuple[int, ...] = ()
    consensus: Literal["computed", "envelope", "all_failed"] = "computed"
    consensus_score: float | None = None
    """Recorded consensus score (both consensus files) instead of the judges' mean."""
    consensus_passed: bool | None = None
    """Recorded consensus pass instead of the judges' majority."""
    criteria: Literal["judges", "empty", "null"] = "judges"
    """``criteria_scores`` of ``run_result.json``: judge 1's, ``{}`` (as in the real record)
    or null."""
    judge_criteria: Literal["judges", "null", "absent"] = "judges"
    """``criteria_scores`` of ``judge/result.json``: judge 1's, null (the writer fault of
    early 2026) or absent (the dry run's four-key file, without ``is_valid`` either)."""
    cost: float = REAL_COST
    tokens: Mapping[str, int] | None = field(default_factory=lambda: dict(REAL_TOKENS))
    """``token_stats`` (``None``: no such key)."""
    duration: float = REAL_DURATION
    """Agent seconds (``agent_duration_seconds``)."""
    agent_error: str | None = None
    """The agent's Claude envelope says ``is_error: true`` with this ``result``."""
    agent_stderr: str | None = None
    """``stderr`` of ``agent/result.json`` (default: the real shell trace); with
    ``agent_stdout=False`` the agent printed nothing on stdout."""
    agent_stdout: bool = True
    record: bool = True
    """False: no ``run_result.json`` (the agent and judges ran; the record was never written)."""
    files: Mapping[str, str | bytes | None] = field(default_factory=dict)
    """Raw file contents written last, relative to the run folder (``None`` deletes)."""

    @property
    def folder(self) -> str:
        return f"{self.tier}/{self.subtest}/run_{self.number:02d}"

    def judge_passed(self) -> list[bool]:
        return list(self.passed) if self.passed is not None else [s > 0.5 for s in self.scores]

    def valid_judges(self) -> list[int]:
        """Indexes (0-based) of the judges that returned a verdict."""
        return [i for i in range(len(self.scores)) if i + 1 not in self.judge_errors]

    def verdict(self) -> dict[str, Any]:
        """The consensus as written to ``judge/result.json`` (before the envelope option)."""
        valid = self.valid_judges()
        if self.consensus == "all_failed" or not valid:
            return dict(ALL_JUDGES_FAILED)
        score = statistics.mean(self.scores[i] for i in valid)
        votes = [self.judge_passed()[i] for i in valid]
        passed = sum(votes) * 2 > len(votes)
        if self.consensus_score is not None:
            score = self.consensus_score
        if self.consensus_passed is not None:
            passed = self.consensus_passed
        return {
            "score": score,
            "passed": passed,
            "grade": grade(score),
            "reasoning": _REAL_RESULT["judge_reasoning"] if passed else _FAIL_REASONING,
            "is_valid": True,
            "criteria_scores": _REAL_JUDGMENT["criteria_scores"],
        }

    @property
    def score(self) -> float:
        """The consensus score recorded in ``run_result.json``."""
        return float(self.verdict()["score"])

    @property
    def succeeded(self) -> bool:
        """The consensus pass recorded in ``run_result.json``."""
        return bool(self.verdict()["passed"])

    def result(self, experiment: str) -> dict[str, Any]:
        """``run_result.json`` (also what tier and experiment results list)."""
        verdict = self.verdict()
        tokens = dict(self.tokens) if self.tokens is not None else None
        out = dict(_REAL_RESULT)
        out.update(run_number=self.number, exit_code=self.exit_code)
        if tokens is None:
            for key in ("token_stats", "tokens_input", "tokens_output"):
                out.pop(key, None)
        else:
            out["token_stats"] = tokens
            out["tokens_input"] = tokens.get("input_tokens", 0) + tokens.get("cache_read_tokens", 0)
            out["tokens_output"] = tokens.get("output_tokens", 0)
        judge_seconds = float(_REAL_RESULT["judge_duration_seconds"])
        out.update(
            cost_usd=self.cost,
            duration_seconds=self.duration + judge_seconds,
            agent_duration_seconds=self.duration,
            judge_score=verdict["score"],
            judge_passed=verdict["passed"],
            judge_grade=verdict["grade"],
            judge_reasoning=verdict["reasoning"],
            judges=[
                {
                    "model": REAL_JUDGE_MODELS[i % len(REAL_JUDGE_MODELS)],
                    "score": self.scores[i],
                    "passed": self.judge_passed()[i],
                    "grade": grade(self.scores[i]),
                    "reasoning": verdict["reasoning"],
                    "judge_number": i + 1,
                }
                for i in self.valid_judges()
            ],
            workspace_path=f"{HOST}/{experiment}/{self.folder}/workspace",
            logs_path=f"{HOST}/{experiment}/{self.folder}/agent",
            command_log_path=f"{HOST}/{experiment}/{self.folder}/agent/command_log.json",
        )
        out["criteria_scores"] = {
            "judges": verdict["criteria_scores"],
            "empty": {},
            "null": None,
        }[self.criteria]
        return out


# -- ready-made runs: what the tests plant ------------------------------------------------


def passing(**changes: Any) -> Run:
    """The real run, as recorded (three judges pass it)."""
    return Run(**changes)


def agent_failed(**changes: Any) -> Run:
    """The agent exited 1 with its own error (no infrastructure signature); judges fail it."""
    return Run(exit_code=1, scores=FAILING_SCORES, agent_error=MAX_TURNS, **changes)


def could_not_start(**changes: Any) -> Run:
    """Exit -1 with pixi missing: nothing ran, no cost, no tokens, 0 s; judges fail it."""
    fields: dict[str, Any] = {
        "exit_code": -1,
        "scores": (0.0, 0.0, 0.0),
        "agent_stdout": False,
        "agent_stderr": PIXI_ERROR,
        "cost": 0.0,
        "tokens": dict(ZERO_TOKENS),
        "duration": 0.0,
    }
    return Run(**{**fields, **changes})


def command_not_found(**changes: Any) -> Run:
    """Exit 127: the agent's command is not installed."""
    fields: dict[str, Any] = {
        "exit_code": 127,
        "scores": (0.0, 0.0, 0.0),
        "agent_stdout": False,
        "agent_stderr": NOT_FOUND,
        "cost": 0.0,
        "tokens": dict(ZERO_TOKENS),
        "duration": 0.01,
    }
    return Run(**{**fields, **changes})


def zero_cost(**changes: Any) -> Run:
    """A failed verdict written at $0.00 with 0 tokens after 12.4 s (a crashed resume)."""
    fields: dict[str, Any] = {
        "scores": (0.0, 0.0, 0.0),
        "agent_stdout": False,
        "cost": 0.0,
        "tokens": dict(ZERO_TOKENS),
        "duration": 12.4,
    }
    return Run(**{**fields, **changes})


def judges_failed(**changes: Any) -> Run:
    """Every judge returned the API-error envelope; the consensus is all-judges-failed."""
    return Run(judge_errors=(1, 2, 3), consensus="all_failed", **changes)


def judge_consensus_envelope(**changes: Any) -> Run:
    """The judges scored the run but ``judge/result.json`` is the error envelope, and
    ``run_result.json`` records 0.0, failed."""
    return Run(consensus="envelope", consensus_score=0.0, consensus_passed=False, **changes)


def no_record(**changes: Any) -> Run:
    """The agent and the judges ran, ``run_result.json`` was never written."""
    return Run(record=False, **changes)


# -- writing ------------------------------------------------------------------------------


def dump(value: Any) -> str:
    """JSON as ProjectScylla writes it (``indent=2``; non-finite floats as ``Infinity``)."""
    return json.dumps(value, indent=2) + "\n"


def judgment_text(score: str) -> str:
    """The real judge 1 ``judgment.json`` with ``score`` written as the raw JSON token
    (``"Infinity"``, ``"NaN"``, ``"\"0.9\""``), for ``Run.files``."""
    return dump({**_REAL_JUDGMENT, "score": "@SCORE@"}).replace('"@SCORE@"', score)


def line_of(path: Path, text: str, start: int = 1) -> int:
    """The 1-based number of the first line at or after ``start`` containing ``text``."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if number >= start and text in line:
            return number
    raise AssertionError(f"{text!r} is not in {path}")


def edit(path: Path, changes: Mapping[str, Any]) -> None:
    """Set dotted keys of a JSON file (a list step is an index): ``{"summary.passed": 0}``.
    ``...`` as a value deletes the key."""
    data = json.loads(path.read_text())
    for dotted, value in changes.items():
        *steps, last = dotted.split(".")
        node = data
        for step in steps:
            node = node[int(step)] if isinstance(node, list) else node[step]
        if value is ...:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    path.write_text(dump(data))


def _stamp(name: str) -> datetime:
    """The start time in an experiment folder name (``2026-01-20T06-13-07-test-001``)."""
    return datetime.strptime(name[:19], "%Y-%m-%dT%H-%M-%S").replace(tzinfo=timezone.utc)


def experiment_test_id(name: str) -> str:
    return name[20:]


class ScyllaFactory:
    """Builds ProjectScylla trees under ``root`` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    # -- the real dry run --------------------------------------------------------------

    def dryrun(self, rel: str = DRYRUN_NAME) -> Path:
        """A verbatim copy of the bundled dry run."""
        dest = self.root / rel
        shutil.copytree(DRYRUN, dest)
        return dest

    # -- one experiment ----------------------------------------------------------------

    def experiment(
        self,
        runs: Sequence[Run] = (Run(),),
        *,
        name: str = DRYRUN_NAME,
        parent: str = "",
        phase: str = "",
        judge_models: Sequence[str] | None = REAL_JUDGE_MODELS,
        config_judge_models: Sequence[str] | None = None,
        completed_runs: Mapping[str, Any] | None = None,
    ) -> Path:
        """An experiment folder ``<parent>/<name>`` holding ``runs`` (inside ``phase``, e.g.
        ``completed``, when given), with every summary consistent with them.

        ``judge_models``: the ``result.json`` ``config.judge_models`` (None: left out);
        ``config_judge_models``: written as ``config/experiment.json`` when given;
        ``completed_runs``: the checkpoint's, instead of one entry per run."""
        exp = self.root / parent / name if parent else self.root / name
        exp.mkdir(parents=True)
        for real in ("judge_prompt.md", "tier_comparison.json"):
            shutil.copy2(DRYRUN / real, exp / real)
        base = exp / phase if phase else exp
        for run in runs:
            self._run(base / run.folder, run, name)
        self._summaries(exp, base, list(runs), name, judge_models, completed_runs)
        if config_judge_models is not None:
            (exp / "config").mkdir()
            (exp / "config" / "experiment.json").write_text(
                dump(
                    {
                        "experiment_id": experiment_test_id(name),
                        "judge_models": list(config_judge_models),
                    }
                )
            )
        return exp

    def _run(self, dest: Path, run: Run, experiment: str) -> None:
        shutil.copytree(REAL_RUN, dest)
        result = run.result(experiment)
        if run.record:
            (dest / "run_result.json").write_text(dump(result))
        else:
            (dest / "run_result.json").unlink()
        self._agent(dest / "agent", run)
        judge = dest / "judge"
        for folder in sorted(judge.glob("judge_*")):
            shutil.rmtree(folder)
        for index, score in enumerate(run.scores):
            folder = judge / f"judge_{index + 1:02d}"
            shutil.copytree(REAL_RUN / "judge" / "judge_01", folder)
            if index + 1 in run.judge_errors:
                judgment: dict[str, Any] = dict(ERROR_ENVELOPE)
            else:
                judgment = dict(_REAL_JUDGMENT)
                judgment.update(
                    score=score,
                    passed=run.judge_passed()[index],
                    grade=grade(score),
                    reasoning=result["judge_reasoning"],
                )
            (folder / "judgment.json").write_text(dump(judgment))
        verdict = run.verdict()
        if run.consensus == "envelope":
            consensus: dict[str, Any] = dict(ERROR_ENVELOPE)
        elif run.judge_criteria == "absent":
            consensus = {k: verdict[k] for k in ("score", "passed", "grade", "reasoning")}
        else:
            consensus = dict(verdict)
            if run.judge_criteria == "null":
                consensus["criteria_scores"] = None
        (judge / "result.json").write_text(dump(consensus))
        (dest / "report.json").write_text(
            dump(
                {
                    "run_number": run.number,
                    "score": verdict["score"],
                    "grade": verdict["grade"],
                    "passed": verdict["passed"],
                    "cost_usd": run.cost,
                    "duration_seconds": result["duration_seconds"],
                    "generated_at": "2026-01-20T06:16:41.208253+00:00",
                }
            )
        )
        for rel, content in run.files.items():
            target = dest / rel
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content.encode() if isinstance(content, str) else content)

    def _agent(self, agent: Path, run: Run) -> None:
        data = dict(_REAL_AGENT)
        tokens = dict(run.tokens) if run.tokens is not None else dict(ZERO_TOKENS)
        stdout = ""
        if run.agent_stdout:
            envelope = json.loads(_REAL_AGENT["stdout"].splitlines()[-1])
            envelope.update(
                total_cost_usd=run.cost,
                duration_ms=int(run.duration * 1000),
                usage={
                    **envelope["usage"],
                    "input_tokens": tokens.get("input_tokens", 0),
                    "output_tokens": tokens.get("output_tokens", 0),
                    "cache_creation_input_tokens": tokens.get("cache_creation_tokens", 0),
                    "cache_read_input_tokens": tokens.get("cache_read_tokens", 0),
                },
            )
            if run.agent_error is not None:
                envelope.update(subtype="error_during_execution", is_error=True)
                envelope["result"] = run.agent_error
            stdout = json.dumps(envelope, separators=(",", ":")) + "\n"
        stderr = run.agent_stderr if run.agent_stderr is not None else _REAL_AGENT["stderr"]
        data.update(
            exit_code=run.exit_code,
            stdout=stdout,
            stderr=stderr,
            cost_usd=run.cost,
            api_calls=_REAL_AGENT["api_calls"] if run.cost else 0,
        )
        if run.tokens is None:
            data.pop("token_stats", None)
        else:
            data["token_stats"] = dict(run.tokens)
        (agent / "result.json").write_text(dump(data))
        (agent / "stdout.log").write_text(stdout)
        (agent / "stderr.log").write_text(stderr)
        (agent / "timing.json").write_text(
            dump({"agent_duration_seconds": run.duration, "measured_at": "2026-01-20T06:13:51Z"})
        )

    def _summaries(
        self,
        exp: Path,
        base: Path,
        runs: list[Run],
        name: str,
        judge_models: Sequence[str] | None,
        completed_runs: Mapping[str, Any] | None,
    ) -> None:
        """Subtest, tier and experiment summaries, and the checkpoint, from ``runs``."""
        tiers: dict[str, dict[str, list[Run]]] = {}
        for run in sorted(runs, key=lambda r: (r.tier, r.subtest, r.number)):
            tiers.setdefault(run.tier, {}).setdefault(run.subtest, []).append(run)
        started = _stamp(name)
        tier_results: dict[str, Any] = {}
        children: list[dict[str, Any]] = []
        for tier, subtests in tiers.items():
            subtest_results: dict[str, Any] = {}
            for subtest, members in subtests.items():
                folder = base / tier / subtest
                shutil.copy2(REAL_SUBTEST / "config_manifest.json", folder / "config_manifest.json")
                summary = _stats(members)
                (folder / "report.json").write_text(
                    dump(
                        {
                            "subtest_id": subtest,
                            "tier_id": tier,
                            "summary": summary,
                            "token_stats": _tokens(members),
                            "children": [
                                {
                                    "run_number": r.number,
                                    "score": r.score,
                                    "passed": r.succeeded,
                                    "report": f"./run_{r.number:02d}/report.json",
                                }
                                for r in members
                            ],
                            "generated_at": started.isoformat(),
                        }
                    )
                )
                subtest_results[subtest] = {
                    "subtest_id": subtest,
                    "tier_id": tier,
                    "runs": [r.result(name) for r in members],
                    "pass_rate": summary["pass_rate"],
                    "mean_score": summary["mean_score"],
                    "total_cost": summary["total_cost"],
                    "token_stats": _tokens(members),
                }
            members = [r for group in subtests.values() for r in group]
            best = max(subtests, key=lambda s: subtest_results[s]["mean_score"])
            cost = sum(r.cost for r in members)
            duration = sum(r.result(name)["duration_seconds"] for r in members)
            tier_result = {
                "tier_id": tier,
                "subtest_results": subtest_results,
                "best_subtest": best,
                "best_subtest_score": subtest_results[best]["mean_score"],
                "inherited_from": None,
                "tiebreaker_needed": False,
                "total_cost": cost,
                "total_duration": duration,
                "token_stats": _tokens(members),
            }
            tier_results[tier] = tier_result
            (base / tier / "result.json").write_text(dump(tier_result))
            (base / tier / "report.json").write_text(
                dump(
                    {
                        "tier": tier,
                        "summary": {
                            "total_subtests": len(subtests),
                            "best_subtest": best,
                            "best_score": subtest_results[best]["mean_score"],
                            "total_cost": cost,
                            "total_duration": duration,
                            "tiebreaker_needed": False,
                        },
                        "token_stats": _tokens(members),
                        "children": [
                            {
                                "id": s,
                                "score": subtest_results[s]["mean_score"],
                                "pass_rate": subtest_results[s]["pass_rate"],
                                "cost": subtest_results[s]["total_cost"],
                                "selected": s == best,
                                "report": f"./{s}/report.json",
                            }
                            for s in subtests
                        ],
                    }
                )
            )
            shutil.copy2(REAL_TIER / "best_subtest.json", base / tier / "best_subtest.json")
            children.append(
                {
                    "tier": tier,
                    "best_subtest": best,
                    "best_score": subtest_results[best]["mean_score"],
                    "cost": cost,
                    "report": f"./{tier}/report.json",
                }
            )
        total_cost = sum(r.cost for r in runs)
        total_duration = sum(r.result(name)["duration_seconds"] for r in runs)
        completed = started + timedelta(seconds=total_duration)
        best_tier = max(children, key=lambda c: c["best_score"]) if children else None
        result = json.loads((DRYRUN / "result.json").read_text())
        config = result["config"]
        config.update(experiment_id=experiment_test_id(name), tiers_to_run=sorted(tiers))
        if judge_models is None:
            config.pop("judge_models")
        else:
            config["judge_models"] = list(judge_models)
        result.update(
            tier_results=tier_results,
            best_overall_tier=best_tier["tier"] if best_tier else None,
            best_overall_subtest=best_tier["best_subtest"] if best_tier else None,
            total_cost=total_cost,
            total_duration_seconds=total_duration,
            token_stats=_tokens(runs),
            started_at=started.isoformat(),
            completed_at=completed.isoformat(),
        )
        (exp / "result.json").write_text(dump(result))
        (exp / "report.json").write_text(
            dump(
                {
                    "experiment_id": experiment_test_id(name),
                    "summary": {
                        "total_tiers": len(tiers),
                        "best_tier": best_tier["tier"] if best_tier else None,
                        "best_subtest": best_tier["best_subtest"] if best_tier else None,
                        "frontier_cop": None,
                        "total_cost": total_cost,
                        "total_duration": total_duration,
                        "started_at": started.isoformat(),
                        "completed_at": completed.isoformat(),
                    },
                    "token_stats": _tokens(runs),
                    "children": children,
                }
            )
        )
        checkpoint = json.loads((DRYRUN / "checkpoint.json").read_text())
        if completed_runs is None:
            completed_runs = {}
            for run in runs:
                slot = completed_runs.setdefault(run.tier, {}).setdefault(run.subtest, {})
                slot[str(run.number)] = "passed" if run.succeeded else "failed"
        checkpoint.update(
            experiment_id=experiment_test_id(name),
            experiment_dir=f"{HOST}/{name}",
            completed_runs=dict(completed_runs),
            started_at=started.isoformat(),
            last_updated_at=completed.isoformat(),
        )
        (exp / "checkpoint.json").write_text(dump(checkpoint))

    # -- a batch across resumed sessions -----------------------------------------------

    def batch(
        self,
        tests: Sequence[BatchTest],
        *,
        folder: str = "dryrun",
        sessions: Sequence[str] = SESSION_STARTS,
        summary: str | bytes | None = None,
        fresh: int | None = None,
    ) -> Batch:
        """A batch folder written by the 2.4 batch runner over ``len(sessions)`` sessions.

        Each session runs, in ``tests`` order, every test that has a session of that index;
        each test's experiment folder is stamped with its session's start plus 13 minutes per
        test before it. ``fresh``: the session (0-based) started with ``--fresh``, which clears
        ``batch_summary.json`` (the thread logs are appended to, they keep every session).
        ``summary`` replaces the ``batch_summary.json`` written (raw text)."""
        root = self.root / folder
        (root / "thread_logs").mkdir(parents=True)
        results: list[dict[str, Any]] = []
        logs: dict[int, list[str]] = {}
        folders: dict[str, list[str]] = {t.test_id: [] for t in tests}
        for index, start in enumerate(sessions):
            if index == fresh:
                results.clear()
            when = datetime.fromisoformat(start)
            for test in tests:
                session = test.sessions[index] if index < len(test.sessions) else None
                if session is None:
                    continue
                log = logs.setdefault(test.thread, [])
                entry, lines = self._session(root, test, session, when, folders[test.test_id])
                results.append(entry)
                log += lines
                when += timedelta(minutes=13)
        for thread, lines in logs.items():
            (root / "thread_logs" / f"thread_{thread}.log").write_text("".join(lines))
        written = {
            "started_at": sessions[0],
            "completed_at": sessions[-1],
            "config": {
                "model": "haiku",
                "judge_model": "haiku",
                "runs": 1,
                "max_subtests": 3,
                "thinking": "None",
                "tiers": ["T0"],
            },
            "threads": [],
            "results": results,
        }
        path = root / "batch_summary.json"
        if summary is None:
            path.write_text(json.dumps(written, indent=2))
        else:
            path.write_bytes(summary.encode() if isinstance(summary, str) else summary)
        return Batch(root, folder, tuple(results), {k: tuple(v) for k, v in folders.items()})

    def _session(
        self, root: Path, test: BatchTest, session: Session, when: datetime, folders: list[str]
    ) -> tuple[dict[str, Any], list[str]]:
        """One test in one session: what it does to the folders, its batch entry and log."""
        tid = test.test_id
        rule = "=" * 70
        lines = [
            f"\n{rule}\n",
            f"[{when.isoformat()}] Starting {tid}\n",
            f"Command: pixi run python scripts/run_e2e_experiment.py --tiers-dir "
            f"tests/fixtures/tests/{tid} --tiers T0 --runs 1 --model haiku --judge-model haiku "
            f"--thinking None --results-dir {HOST} --max-subtests 3\n",
            f"{rule}\n\n",
        ]
        seconds = 0.0
        error: str | None = None
        if session.kind == "ran":
            name = f"{when.strftime('%Y-%m-%dT%H-%M-%S')}-{tid}"
            self.experiment(session.runs, name=name, parent=root.name)
            folders.append(name)
            lines += _tier_lines(session.runs)
            seconds = sum(r.duration for r in session.runs) + 120.0
            code = session.exit_code
            error = None if code == 0 else f"Exit code: {code}"
        elif session.kind == "pixi":
            lines.append(f"\nERROR: {PIXI_ERROR}\n")
            code, error = -1, PIXI_ERROR
        elif session.kind == "exited":
            lines.append("Traceback (most recent call last):\n  ...\nKilled\n")
            code, seconds = session.exit_code, 3.2
            error = f"Exit code: {code}"
        else:  # crashed resume: reuses the newest folder, writes a $0.00 result
            exp = root / folders[-1]
            edit(
                exp / "report.json",
                {
                    "summary.total_cost": 0.0,
                    "summary.best_tier": None,
                    "summary.total_duration": 0.0,
                },
            )
            lines.append(_VALIDATION_ERROR)
            lines.append("T0: FAIL (score: 0.000, cost: $0.0000)\n")
            code, seconds = 0, 12.4
        end = when + timedelta(seconds=seconds)
        lines += [
            f"\n{rule}\n",
            f"[{end.isoformat()}] Completed {tid} in {seconds:.1f}s (exit code: {code})\n",
            f"{rule}\n\n",
        ]
        newest = root / folders[-1] if folders else None
        metrics = _metrics(newest) if newest is not None else None
        if code == 0 and metrics:
            status = "pass" if (metrics["best_score"] or 0.0) > 0.5 else "fail"
        elif code == 0:
            status = "unknown"
        else:
            status = "error"
        entry = {
            "test_id": tid,
            "test_name": test.name,
            "thread_id": test.thread,
            "status": status,
            "exit_code": code,
            "result_dir": f"{HOST}/{newest.name}" if newest is not None else None,
            "error": error,
            **(metrics or {}),
        }
        return entry, lines


@dataclass(frozen=True)
class Session:
    """What one session of the batch runner did for a test (see ``ran``, ``pixi``,
    ``exited``, ``crashed``)."""

    kind: Literal["ran", "pixi", "exited", "crashed"]
    runs: tuple[Run, ...] = ()
    exit_code: int = 0


def ran(*runs: Run, exit_code: int = 0) -> Session:
    """The experiment ran in a new folder with ``runs`` and exited ``exit_code``."""
    return Session("ran", runs or (Run(),), exit_code)


def pixi() -> Session:
    """The runner could not start the experiment: pixi is not on PATH (exit -1)."""
    return Session("pixi")


def exited(code: int) -> Session:
    """The experiment process exited ``code`` before writing a folder (``Exit code: N``)."""
    return Session("exited", exit_code=code)


def crashed() -> Session:
    """A resume of the newest folder crashed validating ``criteria_scores: null`` before
    running anything; the experiment exited 0 and its report says $0.00, score 0."""
    return Session("crashed")


@dataclass(frozen=True)
class BatchTest:
    """A test of the batch and what each session did for it (``None``: not run then)."""

    test_id: str
    sessions: tuple[Session | None, ...]
    name: str = "Hello world"
    thread: int = 1


@dataclass(frozen=True)
class Batch:
    """A batch the factory wrote: where, the entries appended, each test's folders."""

    path: Path
    key: str
    """The batch folder relative to the results root (its group node id)."""
    entries: tuple[dict[str, Any], ...]
    folders: Mapping[str, tuple[str, ...]]
    """Experiment folder names per test, oldest first."""

    def experiment(self, test_id: str, index: int = -1) -> str:
        """An experiment folder of ``test_id`` relative to the results root."""
        return f"{self.key}/{self.folders[test_id][index]}"

    def of(self, test_id: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["test_id"] == test_id]

    def entry_line(self, index: int) -> int:
        """Line of ``results[index]`` in ``batch_summary.json``."""
        lines = (self.path / "batch_summary.json").read_text().splitlines()
        start = lines.index('  "results": [')
        starts = [n + 1 for n, line in enumerate(lines) if n > start and line == "    {"]
        return starts[index]

    def log_line(self, text: str, start: int = 1, thread: int = 1) -> int:
        return line_of(self.path / "thread_logs" / f"thread_{thread}.log", text, start)


def _tier_lines(runs: Iterable[Run]) -> list[str]:
    """What the experiment prints per tier: ``T0: PASS (score: 0.940, cost: $0.9000)``."""
    by_tier: dict[str, list[Run]] = {}
    for run in runs:
        by_tier.setdefault(run.tier, []).append(run)
    out = []
    for tier, members in sorted(by_tier.items()):
        best = _best(members)
        verdict = "PASS" if best > 0.5 else "FAIL"
        cost = sum(r.cost for r in members)
        out.append(f"{tier}: {verdict} (score: {best:.3f}, cost: ${cost:.4f})\n")
    return out


def _best(runs: Iterable[Run]) -> float:
    """The best subtest's mean score."""
    by_subtest: dict[str, list[float]] = {}
    for run in runs:
        by_subtest.setdefault(run.subtest, []).append(run.score)
    return max(statistics.mean(v) for v in by_subtest.values())


def _metrics(exp: Path) -> dict[str, Any] | None:
    """``extract_metrics`` of the batch runner: the experiment ``report.json``'s figures."""
    path = exp / "report.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    summary = report.get("summary", {})
    best_tier = summary.get("best_tier")
    best_score = 0.0
    for child in report.get("children", []):
        if best_tier and child.get("tier") == best_tier:
            best_score = child.get("best_score", 0.0) or 0.0
            break
    return {
        "best_tier": best_tier,
        "best_score": best_score,
        "frontier_cop": summary.get("frontier_cop"),
        "total_cost": summary.get("total_cost", 0.0),
        "total_duration": summary.get("total_duration", 0.0),
    }


def _stats(runs: Sequence[Run]) -> dict[str, Any]:
    scores = [r.score for r in runs]
    grades = [grade(s) for s in scores]
    return {
        "total_runs": len(runs),
        "passed": sum(r.succeeded for r in runs),
        "pass_rate": sum(r.succeeded for r in runs) / len(runs),
        "mean_score": statistics.mean(scores),
        "median_score": statistics.median(scores),
        "std_dev": statistics.pstdev(scores) if all(map(math.isfinite, scores)) else None,
        "total_cost": sum(r.cost for r in runs),
        "consistency": 1.0,
        "grade_distribution": {g: grades.count(g) for g in sorted(set(grades))},
        "modal_grade": max(sorted(set(grades)), key=grades.count),
    }


def _tokens(runs: Iterable[Run]) -> dict[str, int]:
    total = dict(ZERO_TOKENS)
    for run in runs:
        for key, value in (run.tokens or {}).items():
            total[key] = total.get(key, 0) + value
    return total
