"""``--e2e-waivers=FILE``: known findings accepted until a date, by someone, for a reason.

Every test is a real pytest session over the bundled real runs (or copies of them); what a
waiver should change is worked out from an audit of the same tree without it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_e2e_audit import jsonreport
from pytest_e2e_audit._settings import TODAY_VARIABLE
from pytest_e2e_audit.catalogue import BUILTIN

from .conftest import CLEAN_RUN, EXAMPLES, PROJECT, RunFactory, audit_args, junit_cases

RULES = {r.name: r for r in BUILTIN}
TOKENS = RULES["tokens-not-recorded"]
NONZERO = RULES["success-nonzero-exit"]
UNREADABLE = RULES["unreadable-record"]
RETRY = RULES["retry-inflation"]
TODAY = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_VARIABLE, TODAY.isoformat())


def waivers_file(folder: Path, *entries: dict[str, Any], name: str = "waivers.yaml") -> Path:
    """A waivers file, one ``key: value`` per line (JSON scalars are YAML scalars)."""
    lines = ["# accepted findings", "waivers:"]
    for entry in entries:
        for i, (key, value) in enumerate(entry.items()):
            text = value if isinstance(value, date) else json.dumps(value)
            lines.append(f"  {'- ' if i == 0 else '  '}{key}: {text}")
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line of ``path`` holding ``needle``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def waiver(rule: str, *, owner: str = "alice@example.com", **more: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"rule": rule}
    entry.update(more)
    entry.setdefault("reason", "the pipeline never records tokens; tracked upstream")
    entry.setdefault("owner", owner)
    entry.setdefault("expires", TODAY + timedelta(days=30))
    return entry


def _audit(
    pytester: pytest.Pytester, results: Path, label: str, *extra: str, dataset: bool = True
) -> tuple[pytest.RunResult, dict[str, Any], dict[str, Any]]:
    xml, out = pytester.path / f"{label}.xml", pytester.path / f"{label}.json"
    result = pytester.runpytest(
        *audit_args(results, f"--junitxml={xml}", f"--e2e-json={out}", *extra, dataset=dataset)
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    return result, junit_cases(xml), json.loads(out.read_text(encoding="utf-8"))


def test_waived_findings_do_not_fail_and_every_other_finding_still_does(
    pytester: pytest.Pytester,
) -> None:
    _, before, _ = _audit(pytester, EXAMPLES, "before")
    path = waivers_file(
        pytester.path,
        waiver(TOKENS.code, runs="**"),
        waiver(RETRY.name, dataset=True, owner="bob@example.com"),
    )
    result, after, report = _audit(pytester, EXAMPLES, "after", f"--e2e-waivers={path}")
    waived = {TOKENS.name, RETRY.name}
    assert set(after) == set(before)
    assert sum(TOKENS.name in c.failing for c in before.values()) > 10
    for nodeid, case in before.items():
        now = after[nodeid]
        left = [name for name in case.failing if name not in waived]
        assert now.failing == left, nodeid
        assert (now.outcome == "passed") == (not left), nodeid
        assert now.findings == case.findings
        assert now.props["e2e.waived"].split() == [n for n in case.findings if n in waived]
    # Some runs failed only on the waived rule: they pass now.
    assert any(c.outcome == "passed" for n, c in after.items() if before[n].outcome != "passed")
    # Reported as waived: the failure text of a run still failing names the waiver.
    still = next(c for c in after.values() if c.outcome != "passed" and TOKENS.name in c.findings)
    assert f"{TOKENS.code} {TOKENS.name} [waived by alice@example.com until" in still.text
    tokens = sum(TOKENS.name in c.findings for c in before.values())
    retry = sum(RETRY.name in c.findings for c in before.values())
    assert retry == 1
    result.stdout.fnmatch_lines(
        [f"waivers: {tokens + retry} findings waived by 2 of the 2 waivers in {path}"]
    )
    assert report["waivers"]["waived"] == tokens + retry
    assert [w["matched"] for w in report["waivers"]["waivers"]] == [tokens, retry]
    assert not any(w["stale"] or w["expired"] for w in report["waivers"]["waivers"])
    jsonschema.validate(report, json.loads(jsonreport.SCHEMA_FILE.read_text(encoding="utf-8")))


def test_a_waived_run_passes_and_its_report_section_says_by_whom(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(CLEAN_RUN, "batch/run-1")
    path = waivers_file(pytester.path, waiver(TOKENS.name, runs="batch/run-*"))
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest(
        *audit_args(
            make_runs.root, f"--e2e-waivers={path}", f"--junitxml={xml}", "-rP", "--tb=short"
        )
    )
    result.assert_outcomes(passed=1)
    case = junit_cases(xml)["e2e-runs::batch/run-1"]
    assert case.props["e2e.failing"] == ""
    assert case.props["e2e.waived"] == TOKENS.name
    result.stdout.fnmatch_lines(
        [
            f"{TOKENS.code} {TOKENS.name} [[]waived by alice@example.com until "
            f"{(TODAY + timedelta(days=30)).isoformat()} (waivers.yaml:3): the pipeline never "
            "records tokens; tracked upstream]: *"  # '[[]' is a literal '[' for fnmatch
        ]
    )


def test_a_waiver_for_other_runs_changes_nothing(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(CLEAN_RUN, "batch/run-1")
    # '*' stays within one folder name: "batch/run-1" is not "*".
    path = waivers_file(pytester.path, waiver(TOKENS.name, runs="*"))
    result = pytester.runpytest(*audit_args(make_runs.root, f"--e2e-waivers={path}"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"stale waiver waivers.yaml:3: {TOKENS.code} {TOKENS.name}*"])


@pytest.mark.parametrize("days", [0, -1])
def test_a_waiver_holds_through_its_expiry_date_and_then_fails_naming_its_owner(
    pytester: pytest.Pytester, make_runs: RunFactory, days: int
) -> None:
    make_runs.real(CLEAN_RUN, "batch/run-1")
    expires = TODAY + timedelta(days=days)
    path = waivers_file(
        pytester.path, waiver(TOKENS.name, runs="batch/**", owner="carol@x", expires=expires)
    )
    xml, out = pytester.path / "junit.xml", pytester.path / "audit.json"
    result = pytester.runpytest(
        *audit_args(
            make_runs.root, f"--e2e-waivers={path}", f"--junitxml={xml}", f"--e2e-json={out}"
        )
    )
    case = junit_cases(xml)["e2e-runs::batch/run-1"]
    entry = json.loads(out.read_text(encoding="utf-8"))["waivers"]["waivers"][0]
    assert entry["matched"] == 1 and not entry["stale"]
    if days == 0:
        result.assert_outcomes(passed=1)
        assert entry["expired"] is False
        return
    result.assert_outcomes(failed=1)
    assert entry["expired"] is True
    assert case.failing == [TOKENS.name]
    named = f"waiver by carol@x expired {expires.isoformat()} (waivers.yaml:3)"
    assert named in case.text
    result.stdout.fnmatch_lines(
        [
            f"{TOKENS.code} {TOKENS.name}: *; {named}",
            f"expired waiver waivers.yaml:3 {TOKENS.code} {TOKENS.name} by carol@x (expired "
            f"{expires.isoformat()}): 1 finding fails again",
        ]
    )


def test_a_waiver_that_matches_nothing_is_reported_stale_with_its_line(
    pytester: pytest.Pytester,
) -> None:
    path = waivers_file(
        pytester.path,
        waiver(TOKENS.name, runs="state/runs/**"),
        waiver(NONZERO.name, runs=["no/such/run", "nor/this/*"], owner="dave@x"),
    )
    line = line_of(path, f'"{NONZERO.name}"')
    result, _, report = _audit(pytester, EXAMPLES, "stale", f"--e2e-waivers={path}")
    result.stdout.fnmatch_lines(
        [
            f"stale waiver waivers.yaml:{line}: {NONZERO.code} {NONZERO.name} runs 'no/such/run', "
            f"'nor/this/*' (dave@x, expires *) matched nothing in this audit; remove it"
        ]
    )
    stale = [w for w in report["waivers"]["waivers"] if w["stale"]]
    assert [(w["line"], w["rule"], w["owner"]) for w in stale] == [(line, NONZERO.code, "dave@x")]


MALFORMED = [
    ("bad-yaml", "waivers:\n  - rule: [E2E008\n    owner: x\n", 3, "not valid YAML"),
    ("not-a-list", "waivers:\n  rule: E2E008\n", 2, "expected a list"),
    ("top-key", "waiver:\n  - rule: E2E008\n", 1, "unknown key"),
    (
        "unknown-key",
        "waivers:\n  - rule: E2E008\n    runs: a\n    reason: r\n    owner: o\n"
        "    expires: 2030-01-01\n    until: 2030-01-01\n",
        7,
        "waivers[0].until: unknown key",
    ),
    (
        "no-reason",
        "waivers:\n  - rule: E2E008\n    runs: a\n    owner: o\n    expires: 2030-01-01\n",
        2,
        "'reason' is missing",
    ),
    (
        "empty-owner",
        "waivers:\n  - rule: E2E008\n    runs: a\n    reason: r\n    owner: ''\n"
        "    expires: 2030-01-01\n",
        5,
        "waivers[0].owner: is empty",
    ),
    (
        "no-expiry",
        "waivers:\n  - rule: E2E008\n    runs: a\n    reason: r\n    owner: o\n",
        2,
        "'expires' is missing",
    ),
    (
        "bad-date",
        "waivers:\n  - rule: E2E008\n    runs: a\n    reason: r\n    owner: o\n"
        "    expires: 2030-13-01\n",
        6,
        "expected a date YYYY-MM-DD, got '2030-13-01'",
    ),
    (
        "date-time",
        "waivers:\n  - rule: E2E008\n    runs: a\n    reason: r\n    owner: o\n"
        "    expires: 2030-01-01 10:00\n",
        6,
        "expected a date YYYY-MM-DD",
    ),
    (
        "unknown-rule",
        "waivers:\n  - rule: tokens-not-stored\n    runs: a\n    reason: r\n    owner: o\n"
        "    expires: 2030-01-01\n",
        2,
        "unknown rule 'tokens-not-stored'",
    ),
    (
        "wrong-selector",
        "waivers:\n  - rule: E2E008\n    groups: a\n    reason: r\n    owner: o\n"
        "    expires: 2030-01-01\n",
        3,
        "needs 'runs:'",
    ),
    (
        "key-twice",
        "waivers:\n  - rule: E2E008\n    runs: a\n    runs: b\n    reason: r\n    owner: o\n"
        "    expires: 2030-01-01\n",
        4,
        "written twice",
    ),
    (
        "glob-over-unreadable",
        "waivers:\n  - rule: unreadable-record\n    runs: 'state/**'\n    reason: r\n"
        "    owner: o\n    expires: 2030-01-01\n",
        3,
        "unreadable-record is waived run by run",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "says"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_waivers_file_is_a_usage_error_naming_the_line(
    pytester: pytest.Pytester, text: str, line: int, says: str
) -> None:
    path = pytester.path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    result = pytester.runpytest(*audit_args(EXAMPLES, f"--e2e-waivers={path}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    error = result.stderr.str()
    assert f"--e2e-waivers: {path}:{line}: " in error
    assert says in error


def test_a_missing_waivers_file_and_one_inside_the_results_tree_are_refused(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(CLEAN_RUN, "batch/run-1")
    missing = pytester.runpytest(*audit_args(make_runs.root, "--e2e-waivers=nope.yaml"))
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    assert "nope.yaml does not exist" in missing.stderr.str()
    inside = waivers_file(make_runs.root, waiver(TOKENS.name, runs="**"))
    result = pytester.runpytest(*audit_args(make_runs.root, f"--e2e-waivers={inside}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{inside} is inside the results tree" in result.stderr.str()


def test_the_ini_key_names_the_waivers_file_relative_to_the_ini_file(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(CLEAN_RUN, "batch/run-1")
    (pytester.path / "ci").mkdir()
    waivers_file(pytester.path / "ci", waiver(TOKENS.name, runs="batch/*"))
    pytester.makeini("[pytest]\ne2e_waivers = ci/waivers.yaml\n")
    pytester.runpytest(*audit_args(make_runs.root)).assert_outcomes(passed=1)


def test_a_waiver_cannot_hide_an_incomplete_audit(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    for name in ("a", "b", "c"):
        make_runs.run(f"batch/{name}", journal={"status": "error"})
    path = waivers_file(pytester.path, waiver(TOKENS.name, runs="**"))
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-waivers={path}", "-x", f"--junitxml={xml}")
    )
    assert junit_cases(xml)["e2e-audit::incomplete"].outcome == "failure"
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # A partial audit cannot tell which waivers are stale: it does not say.
    assert "stale waiver" not in result.stdout.str()


def test_a_waived_lost_folder_still_fails(
    pytester: pytest.Pytester, make_runs: RunFactory, tmp_path: Path
) -> None:
    make_runs.real(CLEAN_RUN, "batch/run-1")
    (make_runs.root / "linked").symlink_to(tmp_path, target_is_directory=True)
    # Named exactly, as the waivers file demands for this rule: the finding is waived, the
    # folder's runs are still lost, so the item fails anyway.
    path = waivers_file(
        pytester.path,
        waiver(UNREADABLE.name, runs="linked"),
        waiver(TOKENS.name, runs="batch/*"),
    )
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-waivers={path}", f"--junitxml={xml}")
    )
    cases = junit_cases(xml)
    assert cases["e2e-runs::linked"].props["e2e.waived"] == UNREADABLE.name
    assert cases["e2e-runs::linked"].outcome != "passed"
    assert cases["e2e-runs::batch/run-1"].outcome == "passed"
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_serial_and_xdist_sessions_give_the_same_junit_with_waivers(
    pytester: pytest.Pytester,
) -> None:
    path = waivers_file(
        pytester.path,
        waiver(TOKENS.name, runs="state/runs/**"),
        waiver(NONZERO.name, runs="state/runs/sglang/**", expires=TODAY - timedelta(days=1)),
        waiver(RETRY.code, dataset=True),
        waiver(UNREADABLE.name, runs="no/such/run"),
    )
    serial, serial_cases, serial_json = _audit(
        pytester, EXAMPLES, "serial", f"--e2e-waivers={path}"
    )
    parallel, parallel_cases, parallel_json = _audit(
        pytester, EXAMPLES, "xdist", f"--e2e-waivers={path}", "-n", "2"
    )
    assert parallel_cases == serial_cases
    assert parallel_json["waivers"] == serial_json["waivers"]
    assert parallel.parseoutcomes() == serial.parseoutcomes()
    lines = [
        line
        for line in serial.stdout.lines
        if line.startswith(("waivers: ", "expired waiver ", "stale waiver "))
    ]
    assert len(lines) == 3  # the count, the expired one, the stale one
    parallel.stdout.fnmatch_lines(lines)


HOSTILE_OWNER = "\x1b[31mmallory\n::error::pwned <img src=x onerror=alert(1)>"
HOSTILE_REASON = (
    "see OPENAI_API_KEY=sk-proj-Q7hX2vLr9TzW4mKc8NbA6sDf\r\n::add-mask::x `code` [a](b)"
)


def test_hostile_owner_and_reason_stay_inert_everywhere(
    pytester: pytest.Pytester, make_runs: RunFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_runs.real(CLEAN_RUN, "batch/run-1")
    make_runs.real(CLEAN_RUN, "batch/run-2")
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    path = waivers_file(
        pytester.path,
        waiver(TOKENS.name, runs="batch/run-1", owner=HOSTILE_OWNER, reason=HOSTILE_REASON),
        waiver(
            TOKENS.name,
            runs="batch/run-2",
            owner=HOSTILE_OWNER,
            reason=HOSTILE_REASON,
            expires=TODAY - timedelta(days=3),
        ),
        waiver(NONZERO.name, runs="zz/*", owner=HOSTILE_OWNER, reason=HOSTILE_REASON),
    )
    xml, out = pytester.path / "junit.xml", pytester.path / "audit.json"
    result = pytester.runpytest(
        *audit_args(
            make_runs.root,
            f"--e2e-waivers={path}",
            f"--junitxml={xml}",
            f"--e2e-json={out}",
            "-rA",
        )
    )
    result.assert_outcomes(passed=1, failed=1)
    texts = {
        "terminal": result.stdout.str(),
        "junit": xml.read_text(encoding="utf-8"),
        "json": out.read_text(encoding="utf-8"),
        "summary": summary.read_text(encoding="utf-8"),
    }
    ET.parse(xml)
    for where, text in texts.items():
        assert "\x1b" not in text, where
        assert "sk-proj-Q7hX2vLr9TzW4mKc8NbA6sDf" not in text, where
        starts = [ln for ln in text.splitlines() if ln.lstrip().startswith(("::add", "::error::"))]
        assert starts == [], where
        assert "mallory" in text, where  # shown, made inert, not dropped
    # Markup is escaped for the medium: XML and Markdown never carry it raw.
    assert "<img" not in texts["junit"]
    assert "\\<img" in texts["summary"]
    # Outside code spans (where nothing renders) markup is backslash-escaped.
    assert not re.search(r"(?<!\\)<img", re.sub(r"`[^`\n]*`", "", texts["summary"]))
    assert "[redacted" in texts["json"]


def test_the_readme_example_file_is_valid_and_does_what_the_readme_says(
    pytester: pytest.Pytester,
) -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Waivers") :]
    start = section.index("```yaml\n") + len("```yaml\n")
    path = pytester.path / "waivers.yaml"
    path.write_text(section[start : section.index("```", start)], encoding="utf-8")
    result, _, report = _audit(pytester, EXAMPLES, "readme", f"--e2e-waivers={path}")
    counted = next(line for line in result.stdout.lines if line.startswith("waivers: "))
    said = " ".join(section[: section.index("### Baseline")].split())
    assert counted.rsplit(" in ", 1)[0] in said
    assert [w["stale"] for w in report["waivers"]["waivers"]] == [False, False]
