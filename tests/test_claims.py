"""Claims checked against the agent config and the runs: one item per claim.

The real case first: perf-agents-bench's report claims "Disabled parallel_tool_calls in
trae_config.yaml" (PIPELINE_STATUS_REPORT.txt:46, generated 2025-11-07) while the config
keeps ``parallel_tool_calls: true`` on lines 35 and 44 and later runs still log "No tool
output found for function call". Synthetic cases cover what the real data does not show.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_e2e_audit import SIGNATURE_KINDS
from pytest_e2e_audit.claims.rules import (
    CLAIM_RULES,
    claim_config_missing,
    claim_contradicted_by_runs,
    claim_not_applied,
    claim_unverifiable,
)

from .conftest import CLEAN_RUN, EXAMPLES, PROJECT, RUNS, RunFactory

BUNDLED_CLAIMS = PROJECT / "examples" / "claims.yaml"
REPORT = EXAMPLES / "archive" / "logs" / "PIPELINE_STATUS_REPORT.txt"
REAL_CONFIG = EXAMPLES / "config" / "trae_config.yaml.example"
CLAIM_TEXT = "Disabled parallel_tool_calls in trae_config.yaml"
CLAIMS_ONLY = "--e2e-select=" + ",".join(r.code for r in CLAIM_RULES)
"""Run items then have no active rule and pass; only claim items can fail."""
NO_TOOL_OUTPUT = (
    "OpenAI API call failed: Error code: 400 - {'error': {'message': 'No tool output found "
    "for function call call_L0gbwDqQrH0yQSUo0oXgSWAk.'}}. Will sleep for 26 seconds and will "
    "retry."
)
CLEAN_STDOUT = (RUNS / CLEAN_RUN / "trae_stdout.txt").read_text(encoding="utf-8")
SIGNATURE_LINE = CLEAN_STDOUT.count("\n") + 1
"""Line of ``NO_TOOL_OUTPUT`` when appended to the clean run's stdout."""


def _h(entry: Any) -> str:
    return f"{entry.code} {entry.name}"


def claim(**fields: Any) -> dict[str, Any]:
    """The real report's claim (config part only) with ``fields`` replaced or removed."""
    base: dict[str, Any] = {
        "id": "no-parallel-tool-calls",
        "text": CLAIM_TEXT,
        "source": "archive/logs/PIPELINE_STATUS_REPORT.txt:46",
        "config": ["config/trae_config*.yaml*"],
        "settings": {"models.*.parallel_tool_calls": False},
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def write_claims(folder: Path, *claims: dict[str, Any], config: str | None = None) -> Path:
    """A claims file in ``folder`` (and ``config/trae_config.yaml`` when given)."""
    if config is not None:
        (folder / "config").mkdir(exist_ok=True)
        (folder / "config" / "trae_config.yaml").write_text(config, encoding="utf-8")
    path = folder / "claims.yaml"
    path.write_text(yaml.safe_dump({"claims": list(claims)}, sort_keys=False), encoding="utf-8")
    return path


def real_config(honoured: tuple[int, ...] = ()) -> str:
    """The real config, with ``parallel_tool_calls`` set to false on the given lines."""
    lines = REAL_CONFIG.read_text(encoding="utf-8").splitlines(keepends=True)
    for number in honoured:
        lines[number - 1] = lines[number - 1].replace("true", "false")
    return "".join(lines)


def run_claims(pytester: pytest.Pytester, claims: Path, *extra: str) -> pytest.RunResult:
    return pytester.runpytest(f"--e2e-claims={claims}", "-p", "no:cacheprovider", *extra)


def junit_claims(xml: Path) -> dict[str, dict[str, str]]:
    """``e2e.claim`` -> properties, plus ``outcome`` (passed/failed), from a JUnit report."""
    out: dict[str, dict[str, str]] = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        props = {str(p.get("name")): str(p.get("value")) for p in case.iter("property")}
        if "e2e.claim" in props:
            props["outcome"] = "failed" if case.find("failure") is not None else "passed"
            out[props["e2e.claim"]] = props
    return out


def expect(lines: pytest.LineMatcher, *patterns: str) -> None:
    """``fnmatch_lines`` with ``[`` literal (messages hold ``[warning]`` and ``[kinds]``)."""
    lines.fnmatch_lines([p.replace("[", "[[]") for p in patterns])


def stdout_with_signature() -> str:
    return CLEAN_STDOUT + NO_TOOL_OUTPUT + "\n"


# -- the real report, config and runs --------------------------------------------------------


def test_bundled_claim_quotes_the_real_report() -> None:
    data = yaml.safe_load(BUNDLED_CLAIMS.read_text(encoding="utf-8"))
    (entry,) = data["claims"]
    source, line = entry["source"].rsplit(":", 1)
    assert (BUNDLED_CLAIMS.parent / source).resolve() == REPORT
    report = REPORT.read_text(encoding="utf-8").splitlines()
    assert entry["text"] in report[int(line) - 1]
    assert report[2].startswith(f"Generated: {entry['since'].isoformat()} ")


def test_bundled_claim_fails_on_the_real_config_and_the_later_runs(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    xml = tmp_path / "out.xml"
    result = run_claims(pytester, BUNDLED_CLAIMS, f"--e2e-results={EXAMPLES}", f"--junitxml={xml}")
    says = f'claim "{CLAIM_TEXT}" (perf-agents-bench/archive/logs/PIPELINE_STATUS_REPORT.txt:46)'
    expect(
        result.stdout,
        *[
            f"{_h(claim_not_applied)}: */config/trae_config.yaml.example:35 "
            f"models.trae_agent_model.parallel_tool_calls is true; {says} says false",
            f"{_h(claim_not_applied)}: */config/trae_config.yaml.example:44 "
            f"models.lakeview_model.parallel_tool_calls is true; {says} says false",
            f"{_h(claim_contradicted_by_runs)}: 2 runs started on or after 2025-11-07 show "
            "no-tool-output (* occurrences, 2025-11-14 to 2025-12-23): "
            "state/runs/sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_000_021f76e4/"
            "trae_stdout.txt:* (2025-11-14 21:05:32, ×20); state/runs/sglang/trae/openai-gpt-5/"
            f"2025-12-23_08-13-22/sglang_core-0000/trae_stdout.txt:* (2025-12-23 08:13:22, ×*); "
            f"{says} says it should stop",
        ],
    )
    # Every bundled run is dated (the 0-byte journal's run by its timestamp folder).
    assert claim_unverifiable.code not in result.stdout.str().split("e2e audit summary")[0]
    expect(
        result.stdout,
        *[
            f"1 claim checked from {BUNDLED_CLAIMS}; 0 hold, 1 failing: no-parallel-tool-calls",
            "claim rule * claims * failing",
            f"{_h(claim_not_applied)} * error * 1 * 1",
        ],
    )
    props = junit_claims(xml)["no-parallel-tool-calls"]
    assert props["outcome"] == "failed"
    assert props["e2e.findings"] == f"{claim_not_applied.name} {claim_contradicted_by_runs.name}"
    assert props["e2e.failing"] == f"{claim_not_applied.name} {claim_contradicted_by_runs.name}"
    assert props["e2e.claim_since"] == "2025-11-07"
    assert props.get("e2e.runs_undated", "0") == "0"


def test_real_runs_before_since_are_not_counted(pytester: pytest.Pytester) -> None:
    claims = write_claims(
        pytester.path,
        claim(config=None, settings=None, since="2025-12-01", stops=["no-tool-output"]),
    )
    result = run_claims(pytester, claims, f"--e2e-results={EXAMPLES}", CLAIMS_ONLY)
    expect(
        result.stdout,
        *[
            f"{_h(claim_contradicted_by_runs)}: 1 run started on or after 2025-12-01 shows "
            "no-tool-output (* occurrences, on 2025-12-23): state/runs/sglang/trae/openai-gpt-5/"
            "2025-12-23_08-13-22/sglang_core-0000/trae_stdout.txt:*",
        ],
    )
    result.stdout.no_fnmatch_line("*2025-11-14_21-05-32*")


def test_no_run_since_the_claim_leaves_it_unverifiable(pytester: pytest.Pytester) -> None:
    claims = write_claims(
        pytester.path,
        claim(config=None, settings=None, since="2026-01-01", stops=["no-tool-output"]),
    )
    result = run_claims(pytester, claims, f"--e2e-results={EXAMPLES}", CLAIMS_ONLY)
    expect(
        result.stdout,
        *[
            f"{_h(claim_unverifiable)} [warning]: no run under {EXAMPLES} started on or after "
            "2026-01-01 (22 earlier runs); whether claim * stopped [no-tool-output] cannot be "
            "checked yet",
        ],
    )
    expect(result.stdout, *["1 claim checked from *; 1 hold, 0 failing"])
    assert result.ret == 0


# -- the config ------------------------------------------------------------------------------


def test_claim_honoured_by_the_config_passes(pytester: pytest.Pytester, tmp_path: Path) -> None:
    claims = write_claims(pytester.path, claim(), config=real_config(honoured=(35, 44)))
    xml = tmp_path / "out.xml"
    result = run_claims(pytester, claims, f"--junitxml={xml}")
    result.assert_outcomes(passed=1)
    assert junit_claims(xml)["no-parallel-tool-calls"]["e2e.findings"] == ""


def test_value_left_true_fails_with_its_file_and_line(pytester: pytest.Pytester) -> None:
    claims = write_claims(pytester.path, claim(), config=real_config(honoured=(44,)))
    result = run_claims(pytester, claims)
    result.assert_outcomes(failed=1)
    expect(
        result.stdout,
        *[
            f"{_h(claim_not_applied)}: config/trae_config.yaml:35 "
            f'models.trae_agent_model.parallel_tool_calls is true; claim "{CLAIM_TEXT}" '
            "(archive/logs/PIPELINE_STATUS_REPORT.txt:46) says false",
        ],
    )
    result.stdout.no_fnmatch_line("*trae_config.yaml:44*")
    # The last screen names the most serious failing items (pytest's FAILED list is off).
    expect(result.stdout, *["  e2e-claims::no-parallel-tool-calls: E2E040 claim-not-applied: *"])


def test_value_of_another_type_is_not_the_claimed_value(pytester: pytest.Pytester) -> None:
    config = real_config(honoured=(35, 44)).replace(
        "parallel_tool_calls: false\n    lakeview", 'parallel_tool_calls: "false"\n    lakeview'
    )
    claims = write_claims(pytester.path, claim(), config=config)
    result = run_claims(pytester, claims)
    expect(
        result.stdout,
        *[
            f"{_h(claim_not_applied)}: config/trae_config.yaml:35 models.trae_agent_model."
            'parallel_tool_calls is "false"; claim * says false'
        ],
    )


def test_missing_key_is_not_applied_at_the_line_of_its_parent(pytester: pytest.Pytester) -> None:
    config = "".join(real_config(honoured=(35,)).splitlines(keepends=True)[:43])
    claims = write_claims(pytester.path, claim(), config=config)
    result = run_claims(pytester, claims)
    result.assert_outcomes(failed=1)
    expect(
        result.stdout,
        *[
            f"{_h(claim_not_applied)}: config/trae_config.yaml:36 models.lakeview_model has no "
            'key "parallel_tool_calls" (path models.*.parallel_tool_calls); claim * says false',
        ],
    )


def test_wildcard_matching_nothing_is_its_own_finding(pytester: pytest.Pytester) -> None:
    claims = write_claims(pytester.path, claim(), config="agents: {}\nmodels: {}\n")
    result = run_claims(pytester, claims)
    result.assert_outcomes(failed=1)
    expect(
        result.stdout,
        *[
            f"{_h(claim_not_applied)}: config/trae_config.yaml:2 nothing matches "
            "models.*.parallel_tool_calls: models is empty; claim * says false",
        ],
    )


def test_glob_matching_nothing_is_config_missing(pytester: pytest.Pytester) -> None:
    claims = write_claims(pytester.path, claim(config=["third-party/trae-agent/trae_config*.yaml"]))
    result = run_claims(pytester, claims)
    result.assert_outcomes(failed=1)
    expect(
        result.stdout,
        *[
            f'{_h(claim_config_missing)}: no file matches config "third-party/trae-agent/'
            f'trae_config*.yaml" (relative to .); claim "{CLAIM_TEXT}" * cannot be checked '
            "against its config",
        ],
    )


def test_dotted_paths_go_through_lists(pytester: pytest.Pytester) -> None:
    config = (
        "agents:\n"  # 1
        "  trae_agent:\n"  # 2
        "    tools: [bash, task_done]\n"  # 3
        "mcp_servers:\n"  # 4
        "  - name: playwright\n"  # 5
        "    retries: 3\n"  # 6
        "  - name: other\n"  # 7
        "    retries: 0\n"  # 8
    )
    settings = {"agents.trae_agent.tools.0": "bash", "mcp_servers.*.retries": 0}
    claims = write_claims(pytester.path, claim(settings=settings), config=config)
    result = run_claims(pytester, claims)
    result.assert_outcomes(failed=1)
    expect(
        result.stdout,
        *[f"{_h(claim_not_applied)}: config/trae_config.yaml:6 mcp_servers.0.retries is 3; *"],
    )
    result.stdout.no_fnmatch_line("*tools*")
    result.stdout.no_fnmatch_line("*mcp_servers.1*")


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        (
            "trae_config.json",
            json.dumps({"models": {"m": {"parallel_tool_calls": True}}}, indent=2),
            4,
        ),
        (
            "trae_config.toml",
            "[models.m]\nmax_tokens = 4096\nparallel_tool_calls = true\n",
            3,
        ),
    ],
)
def test_json_and_toml_configs_point_at_the_offending_line(
    pytester: pytest.Pytester, name: str, text: str, line: int
) -> None:
    (pytester.path / "config").mkdir()
    (pytester.path / "config" / name).write_text(text, encoding="utf-8")
    claims = write_claims(pytester.path, claim(config=["config/trae_config.*"]))
    result = run_claims(pytester, claims)
    result.assert_outcomes(failed=1)
    expect(
        result.stdout,
        *[f"{_h(claim_not_applied)}: config/{name}:{line} models.m.parallel_tool_calls is true; *"],
    )


def test_unreadable_config_is_unverifiable_not_honoured(pytester: pytest.Pytester) -> None:
    claims = write_claims(pytester.path, claim(), config="models:\n  m: [true\n")
    result = run_claims(pytester, claims, "--e2e-fail-on=warning")
    result.assert_outcomes(failed=1)
    expect(
        result.stdout,
        *[
            f"{_h(claim_unverifiable)}: config/trae_config.yaml:3 is not valid YAML: * "
            "cannot be checked in it"
        ],
    )


# -- the runs --------------------------------------------------------------------------------


def test_runs_since_the_claim_that_show_its_signature_contradict_it(
    pytester: pytest.Pytester, make_runs: RunFactory, tmp_path: Path
) -> None:
    make_runs.run(
        "trae/gpt-5/2025-11-01_09-00-00/item-0000", trae_stdout__txt=stdout_with_signature()
    )
    make_runs.run(
        "trae/gpt-5/2025-11-14_10-00-00/item-0001", trae_stdout__txt=stdout_with_signature()
    )
    make_runs.run("trae/gpt-5/2025-11-20_10-00-00/item-0002")
    claims = write_claims(
        pytester.path,
        claim(config=None, settings=None, since="2025-11-07", stops=["no-tool-output"]),
    )
    xml = tmp_path / "out.xml"
    result = run_claims(
        pytester, claims, f"--e2e-results={make_runs.root}", CLAIMS_ONLY, f"--junitxml={xml}"
    )
    result.assert_outcomes(passed=3, failed=1)
    expect(
        result.stdout,
        *[
            f"{_h(claim_contradicted_by_runs)}: 1 run started on or after 2025-11-07 shows "
            "no-tool-output (1 occurrence, on 2025-11-14): trae/gpt-5/2025-11-14_10-00-00/"
            f"item-0001/trae_stdout.txt:{SIGNATURE_LINE} (2025-11-14 10:00:00, ×1); claim "
            f'"{CLAIM_TEXT}" (archive/logs/PIPELINE_STATUS_REPORT.txt:46) says it should stop',
        ],
    )
    props = junit_claims(xml)["no-parallel-tool-calls"]
    assert props["e2e.runs_checked"] == "2"
    assert props["e2e.runs_undated"] == "0"


def test_claim_without_since_holds_for_every_run(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run(
        "trae/gpt-5/2025-11-01_09-00-00/item-0000", trae_stdout__txt=stdout_with_signature()
    )
    claims = write_claims(
        pytester.path, claim(config=None, settings=None, stops=["no-tool-output"])
    )
    result = run_claims(pytester, claims, f"--e2e-results={make_runs.root}", CLAIMS_ONLY)
    expect(
        result.stdout,
        *[
            f"{_h(claim_contradicted_by_runs)}: 1 run shows no-tool-output (1 occurrence, on "
            "2025-11-01): *; claim * says it should not appear",
        ],
    )


def test_runs_without_a_date_are_counted_not_guessed(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run(
        "batch/item-0000",
        drop=("timestamps.written",),
        trajectory__json=None,
        trae_stdout__txt=stdout_with_signature(),
    )
    claims = write_claims(
        pytester.path,
        claim(config=None, settings=None, since="2025-11-07", stops=["no-tool-output"]),
    )
    result = run_claims(pytester, claims, f"--e2e-results={make_runs.root}", CLAIMS_ONLY)
    result.assert_outcomes(passed=2)
    expect(
        result.stdout,
        *[
            f"{_h(claim_unverifiable)} [warning]: 1 run without a start date not checked against "
            "since 2025-11-07: batch/item-0000; no dated run started on or after 2025-11-07",
        ],
    )
    result.stdout.no_fnmatch_line(f"*{claim_contradicted_by_runs.name}*: *")


def test_stops_without_results_say_they_need_runs(pytester: pytest.Pytester) -> None:
    claims = write_claims(
        pytester.path, claim(since="2025-11-07", stops=["no-tool-output"]), config=real_config()
    )
    result = run_claims(pytester, claims)
    result.assert_outcomes(failed=1)
    expect(
        result.stdout,
        *[
            f"{_h(claim_not_applied)}: config/trae_config.yaml:35 *",
            f"{_h(claim_not_applied)}: config/trae_config.yaml:44 *",
            f"{_h(claim_unverifiable)} [warning]: stops [no-tool-output] needs recorded runs: "
            "pass --e2e-results (or set e2e_results) to check claim * against them",
        ],
    )


def test_claim_with_nothing_to_check_is_unverifiable(pytester: pytest.Pytester) -> None:
    claims = write_claims(pytester.path, claim(config=None, settings=None))
    result = run_claims(pytester, claims)
    result.assert_outcomes(passed=1)
    expect(
        result.stdout,
        *[
            f"{_h(claim_unverifiable)} [warning]: nothing to check: claim * has no settings "
            "and no stops"
        ],
    )
    failing = run_claims(pytester, claims, f"--e2e-severity={claim_unverifiable.name}=error")
    failing.assert_outcomes(failed=1)


# -- options, collection, workers ------------------------------------------------------------


def test_ignored_claim_rule_reports_nothing(pytester: pytest.Pytester) -> None:
    claims = write_claims(pytester.path, claim(), config=real_config())
    result = run_claims(pytester, claims, f"--e2e-ignore={claim_not_applied.code}")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line(f"*{claim_not_applied.name}: *")


def test_ini_claims_file_is_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    (pytester.path / "audit").mkdir()
    write_claims(pytester.path / "audit", claim(), config=real_config())
    pytester.makeini("[pytest]\ne2e_claims = audit/claims.yaml\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    expect(result.stdout, *["*audit/config/trae_config.yaml:35 models.trae_agent_model.*"])


def test_missing_claims_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run_claims(pytester, pytester.path / "nope.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expect(result.stderr, *["ERROR: --e2e-claims: */nope.yaml does not exist"])


def test_claims_come_after_explicit_test_paths(pytester: pytest.Pytester) -> None:
    claims = write_claims(pytester.path, claim(), config=real_config(honoured=(35, 44)))
    pytester.makepyfile(test_mine="def test_ok():\n    pass\n")
    result = run_claims(pytester, claims, "test_mine.py", "-v")
    result.assert_outcomes(passed=2)
    expect(
        result.stdout,
        *["*test_mine.py::test_ok PASSED*", "*e2e-claims::no-parallel-tool-calls PASSED*"],
    )


def test_claims_run_when_a_subfolder_conftest_is_loaded(pytester: pytest.Pytester) -> None:
    """With ``testpaths`` and a conftest in it, pytest asks for a hook subset, which hashes
    every registered plugin object (the summary reporter must stay hashable)."""
    claims = write_claims(pytester.path, claim(), config=real_config(honoured=(35, 44)))
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "conftest.py").write_text("")
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    result = run_claims(pytester, claims)
    result.assert_outcomes(passed=1)


def test_xdist_workers_agree_on_claim_items(pytester: pytest.Pytester, tmp_path: Path) -> None:
    xml = tmp_path / "out.xml"
    result = run_claims(
        pytester, BUNDLED_CLAIMS, f"--e2e-results={EXAMPLES}", "-n", "2", f"--junitxml={xml}"
    )
    expect(
        result.stdout,
        *["*E2E040 claim-not-applied: */trae_config.yaml.example:44 *", "*E2E042 *×20*"],
    )
    props = junit_claims(xml)["no-parallel-tool-calls"]
    assert props["outcome"] == "failed"
    assert props["e2e.runs_checked"] == "13"  # bundled runs dated 2025-11-07 or later


# -- claims files ----------------------------------------------------------------------------

MALFORMED: list[tuple[str, str, str]] = [
    (
        "unknown-key",
        "claims:\n  - id: a\n    text: t\n    stop: [no-tool-output]\n",
        "claims.yaml:4: claims[0].stop: Extra inputs are not permitted*",
    ),
    (
        "bad-date",
        "claims:\n  - id: a\n    text: t\n    since: soon\n    stops: [no-tool-output]\n",
        "claims.yaml:4: claims[0].since: Input should be a valid datetime or date*(got 'soon')",
    ),
    (
        "unknown-kind",
        "claims:\n  - id: a\n    text: t\n    stops:\n"
        "      - no-tool-output\n      - tool-outage\n",
        "claims.yaml:6: claims[0].stops[1]: unknown signature kind 'tool-outage'; known: "
        + ", ".join(SIGNATURE_KINDS),
    ),
    (
        "missing-text",
        "# comment\nclaims:\n  - id: a\n    stops: [no-tool-output]\n",
        "claims.yaml:3: claims[0].text: Field required",
    ),
    (
        "settings-without-config",
        "claims:\n  - id: a\n    text: t\n    settings: {x: 1}\n",
        "claims.yaml:2: claims[0]: settings need config: *",
    ),
    (
        "bad-id",
        "claims:\n  - id: no parallel\n    text: t\n",
        "claims.yaml:2: claims[0].id: 'no parallel' is not a usable id: *",
    ),
    (
        "zoned-since",
        "claims:\n  - id: a\n    text: t\n    since: 2025-11-07T10:00:00+02:00\n",
        "claims.yaml:4: claims[0].since: give a date or a date-time without a time zone *",
    ),
    ("no-claims", "claims: []\n", "claims.yaml:1: claims: List should have at least 1 item*"),
    ("not-a-mapping", "- a\n", "claims.yaml:1: the file: Input should be a valid dictionary*"),
    ("empty", "", "claims.yaml:1: the file: Input should be a valid dictionary*"),
    (
        "not-yaml",
        "claims:\n  - id: a\n   text: t\n",
        "claims.yaml is not valid YAML: * (line 3, column *)",
    ),
    (
        "duplicate-id",
        "claims:\n  - id: a\n    text: t\n  - id: a\n    text: u\n",
        "claims.yaml:4: claims[1].id: 'a' is used twice (first at line 2); ids must be unique",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_claims_file_is_a_usage_error_naming_file_line_and_field(
    pytester: pytest.Pytester, text: str, message: str
) -> None:
    path = pytester.path / "claims.yaml"
    path.write_text(text, encoding="utf-8")
    result = run_claims(pytester, path)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expect(result.stderr, *[f"ERROR: --e2e-claims: {pytester.path}/{message}"])


def test_toml_claims_file_is_read_and_its_errors_have_lines(pytester: pytest.Pytester) -> None:
    (pytester.path / "config").mkdir()
    (pytester.path / "config" / "trae_config.yaml").write_text(real_config(), encoding="utf-8")
    path = pytester.path / "claims.toml"
    toml = (
        "[[claims]]\n"
        'id = "no-parallel-tool-calls"\n'
        f'text = "{CLAIM_TEXT}"\n'
        "since = 2025-11-07\n"
        'config = ["config/trae_config*.yaml"]\n'
        "{stops}"
        "[claims.settings]\n"
        '"models.*.parallel_tool_calls" = false\n'
    )
    path.write_text(toml.format(stops=""), encoding="utf-8")
    result = run_claims(pytester, path)
    result.assert_outcomes(failed=1)
    expect(result.stdout, *[f"{_h(claim_not_applied)}: config/trae_config.yaml:35 *"])
    path.write_text(toml.format(stops='stops = ["nope"]\n'), encoding="utf-8")
    result = run_claims(pytester, path)
    expect(
        result.stderr,
        *[f"ERROR: --e2e-claims: {path}:6: claims[0].stops[0]: unknown signature kind 'nope'*"],
    )


def test_json_claims_file_is_read(pytester: pytest.Pytester) -> None:
    path = pytester.path / "claims.json"
    body = {"claims": [{"id": "a", "text": "t", "stops": ["no-tool-output", "nope"]}]}
    path.write_text(json.dumps(body, indent=2), encoding="utf-8")
    result = run_claims(pytester, path)
    expect(
        result.stderr,
        *[f"ERROR: --e2e-claims: {path}:8: claims[0].stops[1]: unknown signature kind 'nope'*"],
    )
