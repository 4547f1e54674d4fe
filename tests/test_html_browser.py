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

from .conftest import RunFactory, audit_args

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

    # The log shows the findings, and the quoted markup as characters rather than elements.
    [hostile_log] = rows[hostile_id].xpath(".//div[@class='log']")
    [api_log] = rows[api_id].xpath(".//div[@class='log']")
    assert f"{tokens_not_recorded.code} {tokens_not_recorded.name}: " in hostile_log.text_content()
    assert f"{api_errors_in_log.code} {api_errors_in_log.name}: " in api_log.text_content()
    assert HOSTILE_LOG in api_log.text_content()
    for log in (hostile_log, api_log):  # pytest-html's span around "E..." lines, nothing else
        assert log.xpath(".//*[not(self::span[@class='error'])]") == []
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
