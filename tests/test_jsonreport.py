"""``--e2e-json``: one machine-readable report, valid against the schema shipped with the
package, and agreeing with the JUnit file item by item."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pytest_e2e_audit import jsonreport

from .conftest import EXAMPLES, PROJECT, RunFactory, audit_args, findings_by_run, junit_cases

CLAIMS = PROJECT / "examples" / "claims.yaml"
TOKENS = {"token_usage": {"input_tokens": 1, "output_tokens": 1}}


def test_the_shipped_schema_is_the_models_export() -> None:
    assert jsonreport.SCHEMA_FILE.read_text(encoding="utf-8") == jsonreport.schema()


@pytest.mark.parametrize("mode", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_the_report_of_the_examples_is_valid_and_agrees_with_junit(
    pytester: pytest.Pytester, tmp_path: Path, mode: tuple[str, ...]
) -> None:
    out, xml = tmp_path / "audit.json", tmp_path / "junit.xml"
    pytester.runpytest(
        *audit_args(
            EXAMPLES,
            f"--e2e-claims={CLAIMS}",
            f"--e2e-json={out}",
            f"--junitxml={xml}",
            *mode,
            dataset=True,
        )
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(report, json.loads(jsonreport.SCHEMA_FILE.read_text(encoding="utf-8")))
    # Every run list is the JUnit file read the other way round.
    by_run = findings_by_run(xml)
    expected: dict[str, list[str]] = {}
    for run, names in sorted(by_run.items()):
        for name in names:
            expected.setdefault(name, []).append(run)
    assert {k: sorted(v) for k, v in report["runs_by_rule"].items()} == expected
    cases = junit_cases(xml)
    failing = sorted(
        c.props["e2e.run"]
        for n, c in cases.items()
        if n.startswith("e2e-runs::") and c.outcome != "passed"
    )
    assert sorted(report["failing_runs"]) == failing
    assert report["runs"]["audited"] == len(by_run)
    classes: dict[str, list[str]] = {}
    for case in cases.values():
        if "e2e.failure_class" in case.props:
            key = case.props.get("e2e.run", case.props.get("e2e.group", ""))
            classes.setdefault(case.props["e2e.failure_class"], []).append(key)
    assert {k: sorted(v) for k, v in report["by_failure_class"].items()} == {
        k: sorted(v) for k, v in classes.items()
    }
    items = {item["nodeid"]: item for item in report["items"]}
    assert set(items) == {n for n in cases if not n.startswith("e2e-runs::")}
    assert items["e2e-claims::no-parallel-tool-calls"]["outcome"] == "failed"
    assert report["completeness"]["complete"] is True


def test_a_stopped_audit_is_marked_incomplete(
    pytester: pytest.Pytester, make_runs: RunFactory, tmp_path: Path
) -> None:
    for name in ("a", "b", "c"):
        make_runs.run(name, journal={"status": "error"})
    out = tmp_path / "audit.json"
    pytester.runpytest(*audit_args(make_runs.root, f"--e2e-json={out}", "-x"))
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["completeness"] == {"complete": False, "not_audited": 2, "lost": []}
    assert report["runs"]["audited"] == 1


def test_a_json_report_inside_the_results_tree_is_refused(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("a", journal=TOKENS)
    result = pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-json={make_runs.root / 'audit.json'}")
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert not (make_runs.root / "audit.json").exists()
