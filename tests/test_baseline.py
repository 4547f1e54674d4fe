"""``--e2e-baseline=FILE``: gate only on findings that are new since the baseline was written.

Real pytest sessions over the bundled real runs or copies of them. What is in a baseline is
read back from the file the plugin wrote, never copied from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_e2e_audit import jsonreport
from pytest_e2e_audit.catalogue import BUILTIN

from .conftest import CLEAN_RUN, EXAMPLES, RunFactory, audit_args, junit_cases

RULES = {r.name: r for r in BUILTIN}
TOKENS = RULES["tokens-not-recorded"]
NO_MESSAGE = RULES["error-without-message"]
NONZERO = RULES["success-nonzero-exit"]
FIXED_TOKENS = {"token_usage": {"input_tokens": 5, "output_tokens": 7}}
CRASHED = "sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_000_021f76e4"
"""A real run whose recorded success exited 1 (the samples README)."""


def _audit(
    pytester: pytest.Pytester, results: Path, label: str, *extra: str, dataset: bool = True
) -> tuple[pytest.RunResult, dict[str, Any], dict[str, Any]]:
    xml, out = pytester.path / f"{label}.xml", pytester.path / f"{label}.json"
    result = pytester.runpytest(
        *audit_args(results, f"--junitxml={xml}", f"--e2e-json={out}", *extra, dataset=dataset)
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    return result, junit_cases(xml), json.loads(out.read_text(encoding="utf-8"))


def entries(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 1
    return list(data["findings"])


def test_an_updated_baseline_accepts_every_finding_and_the_next_audit_passes(
    pytester: pytest.Pytester,
) -> None:
    base = pytester.path / "baseline.json"
    _, before, _ = _audit(pytester, EXAMPLES, "before")
    update, _, written = _audit(
        pytester, EXAMPLES, "update", f"--e2e-baseline={base}", "--e2e-baseline-update"
    )
    assert update.ret == pytest.ExitCode.OK
    stored = entries(base)
    # One entry per (item, rule, evidence file) of every finding that failed before.
    failing = {
        (c.props.get("e2e.run") or c.props.get("e2e.group") or "dataset", name)
        for c in before.values()
        for name in c.failing
    }
    assert {(e["subject"], e["name"]) for e in stored} == failing
    assert all(RULES[e["name"]].code == e["rule"] for e in stored)
    assert written["baseline"]["written"] == len(stored)
    update.stdout.fnmatch_lines([f"baseline written to {base}: {len(stored)} findings at error*"])
    # Sorted and one finding per line: a review diff shows exactly what changed.
    lines = base.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(stored) + 7
    keys = [(e["kind"], e["subject"].split("/"), e["rule"], e["file"] or "") for e in stored]
    kinds = ["run", "group", "dataset", "claim"]
    assert keys == sorted(keys, key=lambda k: (kinds.index(k[0]), *k[1:]))

    again, after, report = _audit(pytester, EXAMPLES, "again", f"--e2e-baseline={base}")
    assert again.ret == pytest.ExitCode.OK
    assert all(c.outcome == "passed" for c in after.values())
    assert {n: c.props["e2e.baselined"].split() for n, c in after.items()} == {
        n: c.failing for n, c in before.items()
    }
    assert report["baseline"]["fixed"] == []
    assert report["baseline"]["baselined"] >= len(stored)
    jsonschema.validate(report, json.loads(jsonreport.SCHEMA_FILE.read_text(encoding="utf-8")))


def test_a_new_finding_fails_while_the_baselined_ones_do_not(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(CLEAN_RUN, "batch/old")
    base = pytester.path / "baseline.json"
    _audit(pytester, make_runs.root, "u", f"--e2e-baseline={base}", "--e2e-baseline-update")
    assert [(e["subject"], e["rule"]) for e in entries(base)] == [("batch/old", TOKENS.code)]
    make_runs.run("batch/new", journal={"status": "error"})
    result, cases, _ = _audit(pytester, make_runs.root, "check", f"--e2e-baseline={base}")
    assert cases["e2e-runs::batch/old"].outcome == "passed"
    new = cases["e2e-runs::batch/new"]
    assert new.outcome == "failure"
    assert NO_MESSAGE.name in new.failing
    assert TOKENS.name in new.failing  # same rule as the baselined one, another run: new
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_fixed_finding_is_reported_with_its_fingerprint(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    for name in ("a", "b"):
        make_runs.real(CLEAN_RUN, f"batch/{name}")
    base = pytester.path / "baseline.json"
    _audit(pytester, make_runs.root, "u", f"--e2e-baseline={base}", "--e2e-baseline-update")
    stored = entries(base)
    gone = next(e for e in stored if e["subject"] == "batch/a")
    journal = make_runs.root / "batch" / "a" / "journal.json"
    data = json.loads(journal.read_text(encoding="utf-8"))
    journal.write_text(json.dumps({**data, **FIXED_TOKENS}), encoding="utf-8")  # repaired
    result, cases, report = _audit(pytester, make_runs.root, "check", f"--e2e-baseline={base}")
    assert result.ret == pytest.ExitCode.OK
    fixed = {k: gone[k] for k in ("kind", "subject", "rule", "file")}
    assert report["baseline"]["fixed"] == [fixed]
    where = f" ({gone['file']})" if gone["file"] else ""
    result.stdout.fnmatch_lines(
        [f"fixed since the baseline: 1 finding: {gone['rule']} run batch/a{where}; *"]
    )


def test_fingerprints_ignore_message_text_and_line_numbers(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    run = make_runs.real(f"{CRASHED}", "batch/crashed")
    base = pytester.path / "baseline.json"
    _audit(pytester, make_runs.root, "u", f"--e2e-baseline={base}", "--e2e-baseline-update")
    first = base.read_bytes()
    assert NONZERO.code in {e["rule"] for e in entries(base)}
    # Another exit code (another message) on another line of the journal.
    journal = json.loads((run / "journal.json").read_text(encoding="utf-8"))
    journal["trae"]["returncode"] = 2
    (run / "journal.json").write_text("\n\n\n" + json.dumps(journal, indent=4), encoding="utf-8")
    result, cases, _ = _audit(
        pytester, make_runs.root, "check", f"--e2e-baseline={base}", "--tb=short", "-rP"
    )
    case = cases["e2e-runs::batch/crashed"]
    assert case.outcome == "passed"
    assert NONZERO.name in case.props["e2e.baselined"].split()
    result.stdout.fnmatch_lines(["*exit code 2*"])  # the message did change
    _audit(pytester, make_runs.root, "u2", f"--e2e-baseline={base}", "--e2e-baseline-update")
    assert base.read_bytes() == first


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "line 1: not valid JSON"),
        ('{"version": 2, "findings": []}', "version is 2"),
        ('{"version": 1}', "'findings' is missing"),
        ('{"version": 1, "findings": [], "extra": 1}', "unknown key 'extra'"),
        ('{"version": 1, "findings": [{"kind": "run"}]}', "findings[0]: 'subject' is missing"),
        (
            '{"version": 1, "findings": [{"kind": "batch", "subject": "a", "rule": "E2E001", '
            '"file": null}]}',
            "findings[0].kind",
        ),
        ("[]", "expected a JSON object"),
    ],
    ids=["not-json", "version", "no-findings", "unknown-key", "entry-key", "kind", "list"],
)
def test_a_malformed_baseline_is_a_usage_error_naming_the_file(
    pytester: pytest.Pytester, make_runs: RunFactory, text: str, says: str
) -> None:
    make_runs.real(CLEAN_RUN, "batch/a")
    base = pytester.path / "baseline.json"
    base.write_text(text, encoding="utf-8")
    result = pytester.runpytest(*audit_args(make_runs.root, f"--e2e-baseline={base}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    error = result.stderr.str()
    assert f"--e2e-baseline: {base}: " in error
    assert says in error


def test_a_missing_baseline_and_an_update_without_a_file_are_usage_errors(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.real(CLEAN_RUN, "batch/a")
    missing = pytester.runpytest(*audit_args(make_runs.root, "--e2e-baseline=nope.json"))
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    assert "nope.json does not exist; create it with --e2e-baseline-update" in missing.stderr.str()
    alone = pytester.runpytest(*audit_args(make_runs.root, "--e2e-baseline-update"))
    assert alone.ret == pytest.ExitCode.USAGE_ERROR
    assert "--e2e-baseline-update: name the file" in alone.stderr.str()


@pytest.mark.parametrize("update", [True, False], ids=["update", "check"])
def test_a_baseline_inside_the_results_tree_is_refused(
    pytester: pytest.Pytester, make_runs: RunFactory, update: bool
) -> None:
    make_runs.real(CLEAN_RUN, "batch/a")
    inside = make_runs.root / "baseline.json"
    if not update:
        inside.write_text('{"version": 1, "findings": []}', encoding="utf-8")
    before = sorted(p.name for p in make_runs.root.iterdir())
    extra = ("--e2e-baseline-update",) if update else ()
    result = pytester.runpytest(*audit_args(make_runs.root, f"--e2e-baseline={inside}", *extra))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{inside} is inside the results tree" in result.stderr.str()
    assert sorted(p.name for p in make_runs.root.iterdir()) == before


def test_an_incomplete_audit_does_not_write_the_baseline(
    pytester: pytest.Pytester, make_runs: RunFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b", "c"):
        make_runs.real(CLEAN_RUN, f"batch/{name}")
    # In update mode the baseline accepts every finding, so only what it never accepts (a
    # finding an expired waiver covers) can fail a run and stop the session with -x.
    monkeypatch.setenv("E2E_AUDIT_TODAY", "2026-06-15")
    waivers = pytester.path / "waivers.yaml"
    waivers.write_text(
        f"waivers:\n  - rule: {TOKENS.name}\n    runs: 'batch/*'\n    reason: r\n"
        "    owner: o@x\n    expires: 2026-06-01\n",
        encoding="utf-8",
    )
    base = pytester.path / "baseline.json"
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest(
        *audit_args(
            make_runs.root,
            f"--e2e-baseline={base}",
            "--e2e-baseline-update",
            f"--e2e-waivers={waivers}",
            f"--junitxml={xml}",
            "-x",
        )
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert junit_cases(xml)["e2e-audit::incomplete"].outcome == "failure"
    assert not base.exists()
    result.stdout.fnmatch_lines([f"baseline NOT written to {base}: the audit is incomplete*"])


def test_serial_and_xdist_give_the_same_junit_and_the_same_baseline(
    pytester: pytest.Pytester,
) -> None:
    serial_base, xdist_base = pytester.path / "serial.json", pytester.path / "xdist.json"
    _audit(pytester, EXAMPLES, "su", f"--e2e-baseline={serial_base}", "--e2e-baseline-update")
    _audit(
        pytester,
        EXAMPLES,
        "xu",
        f"--e2e-baseline={xdist_base}",
        "--e2e-baseline-update",
        "-n",
        "2",
    )
    assert xdist_base.read_bytes() == serial_base.read_bytes()
    # Drop two entries so both sessions have new findings to fail on.
    data = json.loads(serial_base.read_text(encoding="utf-8"))
    data["findings"] = [e for e in data["findings"] if e["rule"] != NONZERO.code]
    serial_base.write_text(json.dumps(data), encoding="utf-8")
    serial, serial_cases, serial_json = _audit(
        pytester, EXAMPLES, "s", f"--e2e-baseline={serial_base}"
    )
    parallel, parallel_cases, parallel_json = _audit(
        pytester, EXAMPLES, "x", f"--e2e-baseline={serial_base}", "-n", "2"
    )
    assert parallel_cases == serial_cases
    assert parallel_json["baseline"] == serial_json["baseline"]
    failing = sorted(n for n, c in serial_cases.items() if c.outcome != "passed")
    assert failing and all(
        c.failing == [NONZERO.name] for n, c in serial_cases.items() if n in failing
    )
    assert parallel.parseoutcomes() == serial.parseoutcomes()
