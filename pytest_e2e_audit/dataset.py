"""The audited runs as a whole: tasks with their attempts, batches, and the honest figures.

Built from run digests only. A task is every run with the same task key (the layout's:
perf-agents-bench uses the commit); its attempts are ordered by recorded start time, then by
path. A batch is a run folder's parent (the timestamp folder of one pipeline run).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ._text import plural
from .digest import RunDigest
from .records import GroupRecord


@dataclass(frozen=True)
class Task:
    """Every attempt at one task, in attempt order."""

    key: str
    attempts: tuple[RunDigest, ...]

    @property
    def sequence(self) -> str:
        """``E E S E``: each attempt's outcome (see ``RunDigest.outcome``)."""
        return " ".join(a.outcome() for a in self.attempts)

    @property
    def reported(self) -> bool:
        return any(a.reported_success for a in self.attempts)

    @property
    def verified(self) -> bool:
        return any(a.outcome() == "S" for a in self.attempts)


@dataclass(frozen=True)
class Group:
    """A group of runs (one folder of the tree): a batch, an experiment, a tier, a subtest."""

    key: str
    """Folder relative to the results root, ``.`` for the root."""
    kind: str
    """``batch`` (perf-agents-bench), ``experiment``, ``tier`` or ``subtest`` (ProjectScylla)."""
    runs: tuple[RunDigest, ...]
    dataset_rate: float | None = None
    """Reported success per attempt over the whole dataset, for comparison."""
    record: GroupRecord | None = None
    """What the group's own files say (its layout's ``load_group``), when it keeps any."""

    def runs_under(self, scope: str) -> list[RunDigest]:
        """The runs in folder ``scope`` (a run folder, or a folder above runs)."""
        if scope == ".":
            return list(self.runs)
        return [r for r in self.runs if r.run_id == scope or r.run_id.startswith(scope + "/")]

    @property
    def reported(self) -> int:
        return sum(r.reported_success for r in self.runs)

    @property
    def verified(self) -> int:
        return sum(r.outcome() == "S" for r in self.runs)

    @property
    def rate(self) -> float | None:
        """Reported success per attempt, in percent."""
        return 100.0 * self.reported / len(self.runs) if self.runs else None


def _attempt_order(run: RunDigest) -> tuple[int, datetime, str]:
    started = run.started
    if started is not None and started.tzinfo is not None:
        started = started.replace(tzinfo=None)
    return (0, started, run.run_id) if started is not None else (1, datetime.min, run.run_id)


@dataclass
class Dataset:
    """The runs audited in this session, and the tree they came from."""

    runs: tuple[RunDigest, ...]
    """Every audited run, in path order."""
    tree_runs: int
    """Runs found in the tree, selected or not."""
    tasks: tuple[Task, ...] = field(init=False)
    groups: tuple[Group, ...] = field(init=False)
    primary_kind: str = field(init=False)
    """The kind of group each run names first (``batch``, ``experiment`` …): the one the
    figures break success down by."""

    def __post_init__(self) -> None:
        by_task: dict[str, list[RunDigest]] = defaultdict(list)
        by_group: dict[tuple[str, str], list[RunDigest]] = defaultdict(list)
        for run in self.runs:
            by_task[run.task].append(run)
            for kind, key in run.groups:
                by_group[(kind, key)].append(run)
        self.tasks = tuple(
            Task(key, tuple(sorted(attempts, key=_attempt_order)))
            for key, attempts in sorted(by_task.items())
        )
        rate = self.reported_success / len(self.runs) if self.runs else None
        self.groups = tuple(
            Group(key, kind, tuple(runs), rate)
            for (kind, key), runs in sorted(by_group.items(), key=lambda kv: kv[0][1].split("/"))
        )
        kinds = [run.groups[0][0] for run in self.runs if run.groups]
        self.primary_kind = max(set(kinds), key=kinds.count) if kinds else "batch"

    @classmethod
    def from_digests(cls, digests: Iterable[RunDigest]) -> Dataset:
        runs = tuple(sorted(digests, key=lambda d: d.run_id.split("/")))
        tree = max((d.tree_runs for d in runs), default=0)
        return cls(runs, max(tree, len(runs)))

    @property
    def partial(self) -> bool:
        return len(self.runs) < self.tree_runs

    @property
    def reported_success(self) -> int:
        return sum(r.reported_success for r in self.runs)

    @property
    def verified_success(self) -> int:
        return sum(r.outcome() == "S" for r in self.runs)

    def figures(self) -> Figures:
        tasks = self.tasks
        first = [t.attempts[0] for t in tasks]
        counts = [len(t.attempts) for t in tasks]
        most = max(tasks, key=lambda t: (len(t.attempts), t.key), default=None)
        return Figures(
            runs=len(self.runs),
            tree_runs=self.tree_runs,
            attempts=len(self.runs),
            tasks=len(tasks),
            reported_attempts=self.reported_success,
            verified_attempts=self.verified_success,
            reported_tasks=sum(t.reported for t in tasks),
            verified_tasks=sum(t.verified for t in tasks),
            first_reported=sum(a.reported_success for a in first),
            first_verified=sum(a.outcome() == "S" for a in first),
            mean_attempts=sum(counts) / len(counts) if counts else 0.0,
            max_attempts=len(most.attempts) if most else 0,
            max_attempts_task=most.key if most else None,
            batches=tuple(
                BatchFigure(g.key, len(g.runs), g.reported, g.verified)
                for g in self.groups
                if g.kind == self.primary_kind
            ),
            group_kind=self.primary_kind,
            verified_known=not any(r.reported_success and r.verified is None for r in self.runs),
        )


@dataclass(frozen=True)
class BatchFigure:
    batch: str
    runs: int
    reported: int
    verified: int


@dataclass(frozen=True)
class Figures:
    """The numbers a published result should have come with."""

    runs: int
    tree_runs: int
    attempts: int
    tasks: int
    reported_attempts: int
    verified_attempts: int
    reported_tasks: int
    verified_tasks: int
    first_reported: int
    first_verified: int
    mean_attempts: float
    max_attempts: int
    max_attempts_task: str | None
    batches: tuple[BatchFigure, ...]
    group_kind: str = "batch"
    """What ``batches`` are groups of (``batch``, ``experiment`` …)."""
    verified_known: bool = True
    """False when every success rule is off: no success was verified, so no verified figure
    is given."""

    @staticmethod
    def pct(part: int, whole: int) -> float | None:
        return 100.0 * part / whole if whole else None

    @property
    def inflation_reported(self) -> float | None:
        """Task-level minus first-attempt reported success, in percentage points."""
        return _diff(
            self.pct(self.reported_tasks, self.tasks), self.pct(self.first_reported, self.tasks)
        )

    @property
    def inflation_verified(self) -> float | None:
        return _diff(
            self.pct(self.verified_tasks, self.tasks), self.pct(self.first_verified, self.tasks)
        )

    def coverage(self) -> str:
        """``22 runs`` or, when only part of the tree was audited, ``5 of 22 runs``."""
        if self.runs < self.tree_runs:
            return f"{self.runs:,} of {self.tree_runs:,} runs (the rest were not selected)"
        return f"{self.runs:,} runs"

    def lines(self) -> list[str]:
        """The figures as terminal lines (the job summary's too). Per-attempt success is the
        summary's "reported success" / "verified success" lines: an attempt is a run."""
        t = self.tasks
        most = f" for task {self.max_attempts_task}" if self.max_attempts_task else ""

        def verified(part: int, whole: int) -> str:
            return _share(part, whole) if self.verified_known else "not computed"

        inflation = _pp(self.inflation_verified) if self.verified_known else "not computed"
        lines = [
            f"dataset: {self.coverage()}, {plural(t, 'task')}; attempts per task: mean "
            f"{self.mean_attempts:.2f}, max {self.max_attempts:,}{most}",
            f"success per task: reported {_share(self.reported_tasks, t)}, verified "
            f"{verified(self.verified_tasks, t)}",
            f"first-attempt success: reported {_share(self.first_reported, t)}, verified "
            f"{verified(self.first_verified, t)}",
            f"retry inflation (task-level minus first-attempt success): reported "
            f"{_pp(self.inflation_reported)}, verified {inflation}",
        ]
        if not self.verified_known:
            lines.append("verified figures not computed: every success rule is off")
        if len(self.batches) > 1:
            rates = sorted(self.batches, key=lambda b: (b.reported / b.runs, b.batch))
            low, high = rates[0], rates[-1]
            middle = rates[len(rates) // 2]
            lines.append(
                f"reported success per {self.group_kind} "
                f"({plural(len(rates), self.group_kind, _MANY.get(self.group_kind))}): "
                "median "
                f"{100.0 * middle.reported / middle.runs:.1f}%, lowest {low.batch} "
                f"{_share(low.reported, low.runs)}, highest {high.batch} "
                f"{_share(high.reported, high.runs)}"
            )
        return lines

    def properties(self) -> list[tuple[str, object]]:
        """JUnit properties of the dataset item."""
        props: list[tuple[str, object]] = [
            ("e2e.runs", self.runs),
            ("e2e.tree_runs", self.tree_runs),
            ("e2e.tasks", self.tasks),
            ("e2e.attempts", self.attempts),
            ("e2e.reported_success_attempts", self.reported_attempts),
            ("e2e.reported_success_tasks", self.reported_tasks),
            ("e2e.first_attempt_reported_success", self.first_reported),
            ("e2e.mean_attempts", round(self.mean_attempts, 3)),
            ("e2e.max_attempts", self.max_attempts),
        ]
        if self.verified_known:
            props += [
                ("e2e.verified_success_attempts", self.verified_attempts),
                ("e2e.verified_success_tasks", self.verified_tasks),
                ("e2e.first_attempt_verified_success", self.first_verified),
            ]
        inflation = [("e2e.retry_inflation_reported_pp", self.inflation_reported)]
        if self.verified_known:
            inflation.append(("e2e.retry_inflation_verified_pp", self.inflation_verified))
        props += [(name, round(value, 1)) for name, value in inflation if value is not None]
        return props


_MANY = {"batch": "batches"}


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _share(part: int, whole: int) -> str:
    return f"{part:,}/{whole:,} ({100.0 * part / whole:.1f}%)" if whole else "n/a"


def _pp(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f} pp"
