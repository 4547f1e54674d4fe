"""Suite totals are added to the JUnit file by copying it through, not by parsing it whole."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_e2e_audit.reporting import add_suite_properties

from .conftest import EXAMPLES, audit_args

HEAD = b'<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
SUITE = b'<testsuite name="pytest" errors="0" failures="1" tests="2" time="0.1">'
CASES = b'<testcase classname="e2e-runs" name="a &amp; b" time="0.001" />' * 3
TAIL = b"</testsuite></testsuites>"
TOTALS = [("e2e.runs", 2), ("e2e.note", 'a "quoted" <value> & more')]


def _suite_props(path: Path) -> list[tuple[str | None, str | None]]:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return [(p.get("name"), p.get("value")) for p in suite.findall("properties/property")]


@pytest.mark.parametrize(
    ("existing", "before"),
    [
        (b"", []),
        (b'<properties><property name="mine" value="1" /></properties>', [("mine", "1")]),
        (b"<properties />", []),
    ],
    ids=["no block", "a block", "an empty block"],
)
def test_totals_join_the_suite_properties_and_the_rest_is_copied_byte_for_byte(
    tmp_path: Path, existing: bytes, before: list[tuple[str, str]]
) -> None:
    path = tmp_path / "junit.xml"
    path.write_bytes(HEAD + SUITE + existing + CASES + TAIL)
    add_suite_properties(path, TOTALS)
    assert _suite_props(path) == [*before, *((k, str(v)) for k, v in TOTALS)]
    data = path.read_bytes()
    assert data.startswith(HEAD + SUITE)
    assert data.endswith(CASES + TAIL)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_a_large_file_is_copied_through(tmp_path: Path) -> None:
    # Past the 1 MiB head: the cases after it must arrive unchanged.
    path = tmp_path / "junit.xml"
    body = CASES * 20_000
    path.write_bytes(HEAD + SUITE + body + TAIL)
    add_suite_properties(path, TOTALS)
    data = path.read_bytes()
    assert data.endswith(body + TAIL)
    assert _suite_props(path)[0] == ("e2e.runs", "2")


def test_a_suite_without_cases_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    original = HEAD + b'<testsuite name="pytest" tests="0" />' + b"</testsuites>"
    path.write_bytes(original)
    add_suite_properties(path, TOTALS)
    assert path.read_bytes() == original


def test_the_audit_keeps_pytests_own_junit_bytes_around_the_totals(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    xml = tmp_path / "junit.xml"
    result = pytester.runpytest(*audit_args(EXAMPLES, f"--junitxml={xml}"))
    assert result.ret == 1
    data = xml.read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')  # pytest's own header
    names = [name for name, _ in _suite_props(xml)]
    assert names[0] == "e2e.complete" and "e2e.runs" in names


LOCATION_PROBE = """
import os
from pathlib import Path

from _pytest.pathlib import bestrelpath

seen = []


def pytest_collection_finish(session):
    for item in session.items:
        path, line, domain = item.reportinfo()
        expected = bestrelpath(session.config.rootpath, Path(os.path.abspath(path)))
        seen.append(item.location == (expected, line, domain))
    print(f"LOCATIONS {len(seen)} {all(seen)}")
"""


@pytest.mark.parametrize("rootdir", ["inside", "beside"])
def test_run_item_locations_are_what_pytest_would_compute(
    pytester: pytest.Pytester, tmp_path: Path, rootdir: str
) -> None:
    # RunItem computes its location itself (no session-wide cache entry per run); JUnit's
    # file= and pytest's -v lines must not change.
    pytester.makeconftest(LOCATION_PROBE)
    root = pytester.path if rootdir == "inside" else tmp_path / "elsewhere"
    root.mkdir(exist_ok=True)
    result = pytester.runpytest(*audit_args(EXAMPLES, "--collect-only", f"--rootdir={root}"))
    result.stdout.fnmatch_lines(["LOCATIONS 22 True"])
