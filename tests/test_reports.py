"""The audit's reports: JUnit XML (schema-valid, with e2e properties) and pytest-html.

The JUnit schema is tests/data/junit-10.xsd, a copy of the one pytest's own
``testing/test_junitxml.py`` validates against.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree, html

from pytest_e2e_audit.rules.judges import JUDGE_RULES
from pytest_e2e_audit.rules.runs import (
    BUILTIN_RULES,
    api_errors_in_log,
    status_contradicts_agent,
    success_empty_patch,
    tokens_not_recorded,
)

from .conftest import EXAMPLES, RunFactory, audit_args, findings_by_run

SCHEMA = Path(__file__).parent / "data" / "junit-10.xsd"
TOKENS = {"token_usage": {"input_tokens": 1, "output_tokens": 1}}
"""Merged into the clean run's journal, it passes every rule."""
EMPTY_PATCH = "state/runs/vllm/trae/gpt-5/2025-10-14_14-11-42/vllm_core-0023"
"""A real run with four findings (relative to the bundled examples root)."""
HOSTILE = "<img src=x onerror=alert(1)>"
"""A run folder name that would run script if a report pasted it into HTML."""
RUN_RULES = sorted((*BUILTIN_RULES, *JUDGE_RULES), key=lambda entry: entry.code)
BY_NAME = {entry.name: entry for entry in RUN_RULES}
CATALOGUE_ORDER = [entry.name for entry in RUN_RULES]


@pytest.fixture(scope="module")
def junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def _example_runs() -> set[str]:
    return {p.parent.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("journal.json")}


def _run(pytester: pytest.Pytester, results: Path, *extra: str) -> pytest.RunResult:
    result = pytester.runpytest(*audit_args(results, *extra))
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    return result


def _properties(xml: Path) -> Iterator[dict[str, str]]:
    """The ``<property>`` name/value pairs of each test case."""
    for case in etree.parse(str(xml)).getroot().iter("testcase"):
        yield {str(p.get("name")): str(p.get("value")) for p in case.iter("property")}


# -- JUnit XML ----------------------------------------------------------------------------


@pytest.mark.parametrize("family", [None, "xunit2"], ids=["default-family", "xunit2"])
def test_junit_report_of_the_examples_is_schema_valid(
    pytester: pytest.Pytester, junit_schema: etree.XMLSchema, family: str | None
) -> None:
    xml = pytester.path / "junit.xml"
    extra = ["-o", f"junit_family={family}"] if family else []
    result = _run(pytester, EXAMPLES, f"--junitxml={xml}", *extra)
    result.assert_outcomes(failed=len(_example_runs()))
    doc = etree.parse(str(xml))
    cases = doc.getroot().findall(".//testcase")
    assert len(cases) == len(_example_runs())
    # The issue asks for per-run properties through ``user_properties``, which pytest writes as
    # <properties> inside <testcase>; junit-10.xsd allows them only on <testsuite> (pytest's
    # docs note that record_property breaks this schema). Everything else must validate.
    for case in cases:
        props = case.find("properties")
        assert props is not None and props.find("property[@name='e2e.run']") is not None
        case.remove(props)
    junit_schema.assertValid(doc)


def test_every_run_item_carries_its_run_path_and_findings(pytester: pytest.Pytester) -> None:
    xml = pytester.path / "junit.xml"
    _run(pytester, EXAMPLES, f"--junitxml={xml}")
    cases = list(_properties(xml))
    assert all({"e2e.run", "e2e.findings"} <= props.keys() for props in cases)
    runs = [props["e2e.run"] for props in cases]
    assert sorted(runs) == sorted(_example_runs())
    for props in cases:
        names = props["e2e.findings"].split()
        assert names, props["e2e.run"]  # no bundled run passes every rule
        assert all(name in BY_NAME for name in names)
        assert names == sorted(names, key=CATALOGUE_ORDER.index), props["e2e.run"]


def test_findings_property_lists_rule_names_in_catalogue_order(
    pytester: pytest.Pytester,
) -> None:
    xml = pytester.path / "junit.xml"
    _run(pytester, EXAMPLES, f"--junitxml={xml}")
    assert findings_by_run(xml)[EMPTY_PATCH] == [
        success_empty_patch.name,
        status_contradicts_agent.name,
        tokens_not_recorded.name,
        api_errors_in_log.name,
    ]


def test_clean_run_has_an_empty_findings_property(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("batch/clean", journal=TOKENS)
    xml = pytester.path / "junit.xml"
    result = _run(pytester, make_runs.root, f"--junitxml={xml}")
    result.assert_outcomes(passed=1)
    [props] = _properties(xml)
    assert props["e2e.run"] == "batch/clean"
    assert props["e2e.findings"] == ""


# -- pytest-html ----------------------------------------------------------------------------


def _html_data(report: Path) -> dict[str, Any]:
    """The JSON pytest-html 4 embeds in ``data-jsonblob`` of ``#data-container``."""
    tree = html.parse(str(report))
    [container] = tree.getroot().xpath("//*[@id='data-container']")
    data: dict[str, Any] = json.loads(container.get("data-jsonblob"))
    return data


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_html_report_shows_every_run_with_outcome_and_findings(
    pytester: pytest.Pytester,
) -> None:
    report = pytester.path / "report.html"
    xml = pytester.path / "junit.xml"
    _run(pytester, EXAMPLES, f"--html={report}", "--self-contained-html", f"--junitxml={xml}")
    tests = _html_data(report)["tests"]
    findings = findings_by_run(xml)
    assert set(tests) == {f"e2e-runs::{run}" for run in _example_runs()}
    for run, names in findings.items():
        [entry] = tests[f"e2e-runs::{run}"]
        assert entry["result"] == "Failed", run
        for name in names:
            # "E2E009 api-errors-in-log: ...", or "... [warning]: ..." below the gate
            assert f"{BY_NAME[name].code} {name}" in entry["log"], (run, name)


def test_html_report_of_a_clean_run_says_passed(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("batch/clean", journal=TOKENS)
    report = pytester.path / "report.html"
    _run(pytester, make_runs.root, f"--html={report}", "--self-contained-html")
    [entry] = _html_data(report)["tests"]["e2e-runs::batch/clean"]
    assert entry["result"] == "Passed"
    assert "E2E0" not in entry["log"]


def test_hostile_run_folder_name_is_never_raw_html(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run(f"batch/{HOSTILE}")  # the clean run, without token usage: one finding
    report = pytester.path / "report.html"
    xml = pytester.path / "junit.xml"
    result = _run(
        pytester, make_runs.root, f"--html={report}", "--self-contained-html", f"--junitxml={xml}"
    )
    result.assert_outcomes(failed=1)

    assert HOSTILE not in report.read_text(encoding="utf-8")
    data = _html_data(report)
    [nodeid] = data["tests"]
    assert nodeid.startswith("e2e-runs::batch/")
    assert not set(nodeid) & set("<>\"' ()")
    # The report's script inserts these strings as HTML: none may carry the raw tag.
    assert not [text for text in _strings(data) if "<img" in text]
    [entry] = data["tests"][nodeid]
    assert entry["result"] == "Failed"
    assert f"{tokens_not_recorded.code} {tokens_not_recorded.name}: " in entry["log"]

    assert findings_by_run(xml) == {f"batch/{HOSTILE}": [tokens_not_recorded.name]}


@pytest.mark.parametrize("mode", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_junit_suite_carries_totals_that_agree_with_its_test_cases(
    pytester: pytest.Pytester, junit_schema: etree.XMLSchema, mode: tuple[str, ...]
) -> None:
    xml = pytester.path / "junit.xml"
    _run(pytester, EXAMPLES, f"--junitxml={xml}", *mode)
    doc = etree.parse(str(xml))
    suite = doc.getroot().find(".//testsuite")
    assert suite is not None
    totals = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    runs = [
        {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in suite.findall("testcase")
        if case.get("classname") == "e2e-runs"
    ]
    failing = [
        case
        for case in suite.findall("testcase")
        if case.get("classname") == "e2e-runs" and case.find("failure") is not None
    ]
    assert totals["e2e.runs"] == str(len(runs)) == str(len(_example_runs()))
    assert totals["e2e.failing_runs"] == str(len(failing))
    assert totals["e2e.reported_success"] == str(
        sum(r.get("e2e.status") == "success" for r in runs)
    )
    assert totals["e2e.verified_success"] == str(
        sum(r.get("e2e.verified_success") == "true" for r in runs)
    )
    assert totals["e2e.complete"] == "true"
    classes = [r["e2e.failure_class"] for r in runs if "e2e.failure_class" in r]
    for klass in set(classes):
        assert totals[f"e2e.failure_class.{klass}"] == str(classes.count(klass))
    # Suite-level properties are what junit-10.xsd allows; the file stays valid without the
    # per-testcase ones (see test_junit_report_of_the_examples_is_schema_valid).
    for case in suite.findall("testcase"):
        props = case.find("properties")
        if props is not None:
            case.remove(props)
    junit_schema.assertValid(doc)
