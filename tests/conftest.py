"""Fixtures shared by the tests: the bundled real runs and one factory for synthetic ones."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_e2e_audit.catalogue import BUILTIN

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLES = PROJECT / "examples" / "perf-agents-bench"
RUNS = EXAMPLES / "state" / "runs"
CLEAN_RUN = "vllm/trae/gpt-5/2025-10-14_14-11-51/vllm_core-0027"
"""The one sample run the samples README calls clean."""


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest runs see no CI variables: ``CI`` makes pytest print whole messages in its
    short summary, and the GitHub ones switch on annotations. Tests that want them set them."""
    for name in ("CI", "BUILD_NUMBER", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def examples_root() -> Path:
    return EXAMPLES


class RunFactory:
    """Builds results trees in a temporary folder, starting from real runs.

    ``real(run)`` copies a bundled real run; ``run(rel, journal=..., **files)`` copies the clean
    real run and then overrides the journal (a dict is merged over the real one; ``str`` or
    ``bytes`` replace it verbatim) and any other file (``None`` deletes it).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def real(self, run: str, rel: str | None = None) -> Path:
        dest = self.root / (rel or run)
        shutil.copytree(RUNS / run, dest)
        return dest

    def run(
        self,
        rel: str = "batch/item-0000",
        *,
        journal: dict[str, Any] | str | bytes | None = None,
        drop: tuple[str, ...] = (),
        **files: str | bytes | None,
    ) -> Path:
        dest = self.real(CLEAN_RUN, rel)
        path = dest / "journal.json"
        if isinstance(journal, dict):
            data = json.loads(path.read_text())
            _merge(data, journal)
            for dotted in drop:
                _drop(data, dotted.split("."))
            path.write_text(json.dumps(data, indent=2))
        elif isinstance(journal, (str, bytes)):
            path.write_bytes(journal.encode() if isinstance(journal, str) else journal)
        elif drop:
            data = json.loads(path.read_text())
            for dotted in drop:
                _drop(data, dotted.split("."))
            path.write_text(json.dumps(data, indent=2))
        for name, content in files.items():
            target = dest / name.replace("__", ".")
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(content.encode() if isinstance(content, str) else content)
        return dest


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _drop(data: dict[str, Any], path: list[str]) -> None:
    for key in path[:-1]:
        data = data.get(key, {})
    data.pop(path[-1], None)


@pytest.fixture
def make_runs(tmp_path: Path) -> RunFactory:
    """A factory writing under ``tmp_path/results``."""
    return RunFactory(tmp_path / "results")


MULTI_RUN_RULES = ",".join(r.code for r in BUILTIN if r.kind in ("group", "dataset"))
"""The dataset and batch rules: tests of single runs switch them off (see ``audit_args``)."""


def audit_args(results: Path, *extra: str, dataset: bool = False) -> list[str]:
    """Arguments for ``pytester.runpytest`` auditing ``results``.

    Unless ``dataset`` is true the dataset and batch rules are off, so a test of one run's
    rules counts run items only (the dataset figures are still printed)."""
    # The plugin is already imported by the outer pytest, so the inner run cannot rewrite it.
    quiet = ("-W", "ignore::pytest.PytestAssertRewriteWarning")
    multi = () if dataset else (f"--e2e-ignore={MULTI_RUN_RULES}",)
    return [f"--e2e-results={results}", "-p", "no:cacheprovider", *quiet, *multi, *extra]


def findings_by_run(xml_path: Path) -> dict[str, list[str]]:
    """``e2e.run`` -> ``e2e.findings`` names, read back from a JUnit XML report."""
    import xml.etree.ElementTree as ET

    out: dict[str, list[str]] = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "e2e.run" in props:
            out[str(props["e2e.run"])] = str(props.get("e2e.findings") or "").split()
    return out


@dataclass(frozen=True)
class Case:
    """One JUnit test case as read back (see ``junit_cases``)."""

    outcome: str
    """``passed``, ``failure``, ``error`` or ``skipped``."""
    props: dict[str, str]
    """Its ``e2e.*`` properties."""
    text: str
    """Its failure's message and text (every finding of a failing item), empty when it passed."""

    @property
    def findings(self) -> list[str]:
        return self.props.get("e2e.findings", "").split()

    @property
    def failing(self) -> list[str]:
        return self.props.get("e2e.failing", "").split()


def junit_cases(xml_path: Path) -> dict[str, Case]:
    """Node id -> test case, from a JUnit XML report."""
    import xml.etree.ElementTree as ET

    out: dict[str, Case] = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        nodeid = f"{case.get('classname')}::{case.get('name')}"
        problems = [c for c in case if c.tag in ("failure", "error", "skipped")]
        props = {
            str(p.get("name")): str(p.get("value"))
            for p in case.iter("property")
            if str(p.get("name")).startswith("e2e.")
        }
        text = "\n".join(f"{c.get('message')}\n{c.text}" for c in problems)
        out[nodeid] = Case(problems[0].tag if problems else "passed", props, text)
    return out
