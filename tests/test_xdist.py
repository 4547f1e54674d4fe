"""Under pytest-xdist the audit gives the same items, outcomes, findings and summary.

Each test audits the bundled real runs twice, serially and with ``-n 2``, and compares.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import EXAMPLES, audit_args, findings_by_run


def _audit(pytester: pytest.Pytester, label: str, *extra: str) -> tuple[pytest.RunResult, Path]:
    xml = pytester.path / f"{label}.xml"
    result = pytester.runpytest(*audit_args(EXAMPLES, f"--junitxml={xml}", *extra))
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    return result, xml


def _outcomes(xml: Path) -> dict[str, str]:
    """Node id -> outcome, read back from a JUnit XML report."""
    out: dict[str, str] = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        nodeid = f"{case.get('classname')}::{case.get('name')}"
        tags = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        out[nodeid] = tags[0] if tags else "passed"
    return out


def _summary(result: pytest.RunResult) -> list[str]:
    """The lines of the "e2e audit summary" section, up to the next section."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if " e2e audit summary " in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("==")), len(lines))
    # "reports:" names each session's own output files.
    return [line for line in lines[start + 1 : end] if not line.startswith("reports: ")]


def test_xdist_gives_the_same_outcomes_and_findings_as_a_serial_run(
    pytester: pytest.Pytester,
) -> None:
    serial, serial_xml = _audit(pytester, "serial")
    parallel, parallel_xml = _audit(pytester, "xdist", "-n", "2")
    runs = len(list(EXAMPLES.rglob("journal.json")))
    assert len(_outcomes(serial_xml)) == runs
    assert _outcomes(parallel_xml) == _outcomes(serial_xml)
    assert findings_by_run(parallel_xml) == findings_by_run(serial_xml)
    assert parallel.parseoutcomes() == serial.parseoutcomes()
    parallel.stdout.fnmatch_lines(["created: 2/2 workers"])


def test_xdist_prints_the_same_audit_summary_as_a_serial_run(
    pytester: pytest.Pytester,
) -> None:
    serial, xml = _audit(pytester, "serial")
    parallel, _ = _audit(pytester, "xdist", "-n", "2")
    cases = [
        {str(p.get("name")): str(p.get("value")) for p in case.iter("property")}
        for case in ET.parse(xml).getroot().iter("testcase")
    ]
    runs = len(cases)
    reported = sum(1 for props in cases if "e2e.verified_success" in props)
    verified = sum(1 for props in cases if props.get("e2e.verified_success") == "true")
    assert 0 < verified < reported < runs
    parallel.stdout.fnmatch_lines(
        [
            f"{runs} runs audited under {EXAMPLES};*",
            f"reported success: {reported} of {runs} runs (*%)",
            f"verified success: {verified} of {runs} runs (*%); "
            f"{reported - verified} recorded successes break a success rule*",
        ]
    )
    assert _summary(parallel) == _summary(serial)
