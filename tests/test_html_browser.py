"""The pytest-html report rendered by a real browser: run data stays text.

pytest-html 4 builds its result rows in JavaScript, inserting each test's log and row cells with
``innerHTML``; only a browser shows whether markup from run data (a folder name, a quoted log
line) ends up as elements. The test renders the report in Debian's headless ``chromium`` and
reads the DOM after the page's script ran. ``.ci/run`` installs chromium; outside CI the test is
skipped when it is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from lxml import html

from pytest_e2e_audit.rules.runs import api_errors_in_log, tokens_not_recorded

from .conftest import EXAMPLES, RunFactory, audit_args, junit_cases

TOKENS = {"token_usage": {"input_tokens": 1, "output_tokens": 1}}
"""Merged into the clean run's journal, it passes every rule."""
HOSTILE_DIR = "<img src=x onerror=document.title='pwned'>"
"""A run folder name that sets the page title if a report pastes it into HTML."""
HOSTILE_LOG = "<img src=x onerror=document.title='pwned2'>"
API_ERROR = (
    f"OpenAI API call failed: Error code: 429 - {HOSTILE_LOG} rate. "
    "Will sleep for 3 seconds and will retry.\n"
)
"""An agent log line the api-errors-in-log finding quotes, markup included."""
TIMEOUT = 120


def _chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        pytest.fail(
            "chromium is not installed: .ci/run should have installed Debian's chromium "
            "(apt-get install chromium) before running the tests",
            pytrace=False,
        )
    pytest.skip("install Debian's chromium to run the real-browser check")


def _render(chromium: str, page: Path, scratch: Path) -> str:
    """The DOM of ``page`` after its scripts ran, as headless chromium serialises it."""
    profile = scratch / "profile"
    profile.mkdir(parents=True)
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.as_uri(),
    ]
    env = {**os.environ, "HOME": str(scratch)}
    # A session of its own, so a hung browser is killed with every helper process it started.
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"chromium did not finish within {TIMEOUT} s:\n{err.decode(errors='replace')}")
    finally:
        with contextlib.suppress(ProcessLookupError):  # helpers a finished browser left behind
            os.killpg(proc.pid, signal.SIGKILL)
    dom = out.decode("utf-8", errors="replace")
    assert proc.returncode == 0 and "<html" in dom, err.decode(errors="replace")
    return dom


def test_report_rendered_by_chromium_shows_run_markup_as_text(
    pytester: pytest.Pytester, make_runs: RunFactory, tmp_path: Path
) -> None:
    chromium = _chromium()
    make_runs.run(f"batch/{HOSTILE_DIR}")  # the clean run without token usage: one finding
    make_runs.run("batch/api-error", journal=TOKENS, trae_stdout__txt=API_ERROR)
    report = pytester.path / "report.html"
    result = pytester.runpytest(
        *audit_args(make_runs.root, f"--html={report}", "--self-contained-html")
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(failed=2)

    dom = _render(chromium, report, tmp_path / "chromium")
    page = html.fromstring(dom)

    # The payloads did not run: the title is the report's own, and no handler carries them.
    assert page.findtext(".//title") == report.name
    assert page.xpath("//img[@onerror]") == []
    handlers = [
        value for el in page.iter() for name, value in el.attrib.items() if name[:2] == "on"
    ]
    assert not [value for value in handlers if "pwned" in value or "title" in value], handlers

    # The script rendered a row per run (``<template>`` holds pytest-html's empty pattern).
    rows = {
        "".join(body.xpath("./tr/td[contains(@class, 'col-testId')]//text()")).strip(): body
        for body in page.xpath(
            "//tbody[contains(@class, 'results-table-row')][not(ancestor::template)]"
        )
    }
    api_id = "e2e-runs::batch/api-error"
    assert len(rows) == 2 and api_id in rows, sorted(rows)
    [hostile_id] = set(rows) - {api_id}
    assert hostile_id.startswith("e2e-runs::batch/") and "pwned" in hostile_id
    assert not set(hostile_id) & set("<>\"' ()")
    for body in rows.values():
        assert body.get("id") in rows
        assert body.xpath(".//img[@src='x'] | .//*[@*[starts-with(name(), 'on')]]") == []

    # The audit's run column shows the folder name as characters.
    [run_cell] = rows[hostile_id].xpath(".//td[contains(@class, 'col-e2eRun')]")
    assert run_cell.text_content() == f"batch/{HOSTILE_DIR}"

    # The log shows the findings, and the quoted markup as characters rather than elements:
    # in the finding's message and in the evidence excerpt of the log line.
    [hostile_log] = rows[hostile_id].xpath(".//div[@class='log']")
    [api_log] = rows[api_id].xpath(".//div[@class='log']")
    assert f"{tokens_not_recorded.code} {tokens_not_recorded.name}: " in hostile_log.text_content()
    assert f"{api_errors_in_log.code} {api_errors_in_log.name}: " in api_log.text_content()
    [excerpt] = api_log.xpath(".//div[@class='e2e-x']/mark")
    assert HOSTILE_LOG in excerpt.text_content()
    for log in (hostile_log, api_log):  # the audit's own layout elements, nothing else
        assert {el.tag for el in log.iterdescendants()} <= {"div", "ul", "li", "b", "mark"}
        assert not [el for el in log.iterdescendants() if set(el.attrib) - {"class"}]
    assert "&lt;img src=x onerror=document.title='pwned2'&gt;" in dom


def test_the_browser_check_sees_markup_that_runs(tmp_path: Path) -> None:
    """Control: the same rendering does run a payload a page inserts as HTML."""
    chromium = _chromium()
    page = tmp_path / "control.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>control</title></head><body><div id=log></div>"
        f"<script>document.getElementById('log').innerHTML = {json.dumps(HOSTILE_LOG)};</script>"
        "</body></html>",
        encoding="utf-8",
    )
    dom = html.fromstring(_render(chromium, page, tmp_path / "chromium"))
    assert dom.findtext(".//title") == "pwned2"
    assert dom.xpath("//div[@id='log']/img[@onerror]")


PROBE = """<script>(() => {
  const shown = () => [...document.querySelectorAll('#results-table > tbody.results-table-row')]
    .filter((row) => getComputedStyle(row).display !== 'none').map((row) => row.id);
  const pick = (name) => {
    const label = [...document.querySelectorAll('#e2e-audit label')]
      .find((l) => l.textContent.trim().endsWith(' ' + name));
    document.getElementById(label.htmlFor).click();
  };
  const out = {all: shown()};
  pick(%s);
  out.filtered = shown();
  document.querySelector('th[data-column-type="e2eTokens"]').click();  // pytest-html redraws
  out.sorted = shown();
  document.getElementById('e2e-only-all').click();
  out.again = shown();
  document.body.dataset.probe = JSON.stringify(out);
})()</script>"""
"""Run after pytest-html's script: choose a rule in the summary, read which rows the browser
displays, re-sort (pytest-html rebuilds the table), and show every row again."""


def test_chromium_shows_audit_columns_charts_and_filters_rows_by_rule(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    chromium = _chromium()
    report, xml = pytester.path / "report.html", pytester.path / "junit.xml"
    result = pytester.runpytest(
        *audit_args(EXAMPLES, f"--html={report}", "--self-contained-html", f"--junitxml={xml}")
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    text = report.read_text(encoding="utf-8")
    end = text.rindex("</body>")
    probed = tmp_path / "probed.html"
    probe = PROBE % json.dumps(api_errors_in_log.name)
    probed.write_text(text[:end] + probe + text[end:], encoding="utf-8")

    dom = _render(chromium, probed, tmp_path / "chromium")
    page = html.fromstring(dom)
    cases = junit_cases(xml)
    runs = {nodeid for nodeid in cases if nodeid.startswith("e2e-runs::")}
    with_rule = {n for n in runs if api_errors_in_log.name in cases[n].findings}
    assert 0 < len(with_rule) < len(runs)

    # The rows the browser displays: every run, then only those with the rule's finding,
    # also after pytest-html rebuilt the table to sort it, then every run again.
    seen = json.loads(page.xpath("//body/@data-probe")[0])
    assert set(seen["all"]) == runs
    assert set(seen["filtered"]) == with_rule
    assert set(seen["sorted"]) == with_rule
    assert set(seen["again"]) == runs

    # The audit columns are rendered with the run's values.
    heads = [th.text_content() for th in page.xpath("//thead[@id='results-table-head']//th")]
    assert heads[2:9] == [
        "run",
        "status",
        "exit code",
        "tokens",
        "patch bytes",
        "failure class",
        "findings",
    ]
    api_run = "e2e-runs::state/runs/sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_000_021f76e4"
    [row] = page.xpath(f"//tbody[@id='{api_run}']/tr[contains(@class, 'collapsible')]")
    [exit_code] = row.xpath("./td[contains(@class, 'col-e2eExit')]")
    assert (
        exit_code.xpath("./u[@hidden]")
        and exit_code.xpath("./u")[0].tail == cases[api_run].props["e2e.exit_code"]
    )
    names = row.xpath("./td[contains(@class, 'col-e2eFindings')]/*[self::b or self::i]/text()")
    assert names == cases[api_run].findings

    # Two charts, inline SVG with bars, and nothing in the page that loads from a network.
    charts = page.xpath("//*[local-name()='svg'][contains(@class, 'e2e-chart')]")
    assert len(charts) == 2
    for chart in charts:
        assert chart.xpath(".//*[local-name()='rect'][@data-count]")
    fetched = page.xpath("//*[@src[starts-with(., 'http')] or @href[starts-with(., 'http')]]")
    assert [el.get("href") for el in fetched] == ["https://pypi.python.org/pypi/pytest-html"]
