"""The audit in the pytest-html report: columns, findings once with evidence, summary, charts.

Reports are read back from the JSON pytest-html 4 embeds in the page (``data-jsonblob``) and
from the static summary; expected values come from the run files themselves, the JUnit
properties and the ``--e2e-json`` document, never from the HTML code under test.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from lxml import html

from pytest_e2e_audit import htmlreport, svgchart
from pytest_e2e_audit.excerpts import CONTEXT, LINE_LIMIT, read_lines
from pytest_e2e_audit.rules.runs import (
    api_errors_in_log,
    success_nonzero_exit,
    tokens_not_recorded,
)

from .conftest import EXAMPLES, RunFactory, audit_args, junit_cases

TOKENS = {"token_usage": {"input_tokens": 1, "output_tokens": 1}}
"""Merged into the clean run's journal, it passes every rule."""
API_RUN = "state/runs/sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_000_021f76e4"
"""A real run: a success with exit code 1 and 20 "No tool output" API errors."""
HOSTILE = "<img src=x onerror=alert(1)>"
SECRET = "sk-proj-" + "A1b2C3d4E5f6G7h8J9k0" * 2
AUDIT_COLUMNS = [col for col, _ in htmlreport.COLUMNS]


# -- reading a report back ---------------------------------------------------------------------


def _run(
    pytester: pytest.Pytester, results: Path, *extra: str, dataset: bool = False
) -> pytest.RunResult:
    result = pytester.runpytest(*audit_args(results, *extra, dataset=dataset))
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    return result


def _page(report: Path) -> Any:
    return html.parse(str(report)).getroot()


def _tests(report: Path) -> dict[str, dict[str, Any]]:
    """Node id -> pytest-html's entry (the call report's) for each row."""
    [container] = _page(report).xpath("//*[@id='data-container']")
    data = json.loads(container.get("data-jsonblob"))
    return {nodeid: entries[-1] for nodeid, entries in data["tests"].items()}


def _cells(entry: dict[str, Any]) -> dict[str, Any]:
    """Column type -> the parsed ``<td>`` of one row."""
    row = html.fromstring(f"<table><tr>{''.join(entry['resultsTableRow'])}</tr></table>")
    out = {}
    for td in row.iter("td"):
        [klass] = [c for c in td.get("class", "").split() if c.startswith("col-")]
        out[klass[4:]] = td
    return out


def _text(td: Any) -> str:
    """What a reader sees in a cell (the hidden sort key left out)."""
    copy = html.fromstring(html.tostring(td))
    for hidden in copy.xpath(".//*[@hidden]"):
        hidden.drop_tree()
    return " ".join(copy.text_content().split())


def _log(entry: dict[str, Any]) -> Any:
    return html.fromstring(f"<div>{entry['log']}</div>")


def _summary(report: Path) -> Any:
    [section] = _page(report).xpath("//section[@id='e2e-audit']")
    return section


def _svgs(report: Path) -> list[ET.Element]:
    text = report.read_text(encoding="utf-8")
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", text, re.S)]


def _bars(svg: ET.Element) -> list[tuple[str, list[int]]]:
    """(tooltip, count per series) of each bar of a chart."""
    ns = "{http://www.w3.org/2000/svg}"
    out = []
    for group in svg.iter(f"{ns}g"):
        counts = [0] * len(htmlreport.OUTCOMES)
        for rect in group.iter(f"{ns}rect"):
            counts[int(rect.get("data-series", "0"))] = int(rect.get("data-count", "0"))
        out.append((group.findtext(f"{ns}title") or "", counts))
    return out


# -- columns ------------------------------------------------------------------------------------


def test_audit_columns_show_each_runs_recorded_values(pytester: pytest.Pytester) -> None:
    report, xml = pytester.path / "report.html", pytester.path / "junit.xml"
    _run(pytester, EXAMPLES, f"--html={report}", "--self-contained-html", f"--junitxml={xml}")
    tests, cases = _tests(report), junit_cases(xml)
    header = [th.text_content() for th in _page(report).xpath("//thead//th")]
    assert header[2 : 2 + len(AUDIT_COLUMNS)] == [h for _, h in htmlreport.COLUMNS]
    runs = {k: v for k, v in cases.items() if k.startswith("e2e-runs::")}
    assert len(runs) == 22
    for nodeid, case in runs.items():
        cells = _cells(tests[nodeid])
        props = case.props
        assert _text(cells["e2eRun"]) == props["e2e.run"]
        assert _text(cells["e2eStatus"]).split()[0] == (props["e2e.status"] or "(none)")
        assert _text(cells["e2eExit"]) == props.get("e2e.exit_code", "")
        if "e2e.patch_bytes" in props:
            assert _text(cells["e2ePatch"]) == f"{int(props['e2e.patch_bytes']):,}"
        assert _text(cells["e2eClass"]) == props.get("e2e.failure_class", "")
        shown = cells["e2eFindings"]
        assert [e.text for e in shown.xpath("./b | ./i")] == case.findings
        assert [e.text for e in shown.xpath("./b")] == case.failing

    # Checked against the run's own files too.
    run = EXAMPLES / API_RUN
    journal = json.loads((run / "journal.json").read_text())
    cells = _cells(tests[f"e2e-runs::{API_RUN}"])
    assert _text(cells["e2eExit"]) == str(journal["trae"]["returncode"]) == "1"
    assert _text(cells["e2eStatus"]) == f"{journal['status']} not verified"
    assert _text(cells["e2ePatch"]) == f"{(run / 'model_patch.diff').stat().st_size:,}"
    assert _text(cells["e2eTokens"]).endswith("(in logs)")  # the journal records none
    assert "token_usage" not in journal


def test_numeric_columns_sort_as_numbers_in_pytest_htmls_string_order(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    codes = [-15, -9, -1, 0, 1, 2, 10, 137]
    for code in codes:
        make_runs.run(f"batch/exit{code}", journal={**TOKENS, "trae": {"returncode": code}})
    report = pytester.path / "report.html"
    _run(pytester, make_runs.root, f"--html={report}", "--self-contained-html")
    header = _page(report).xpath("//thead//th[@data-column-type='e2eExit']")
    assert header and "sortable" in header[0].get("class")
    entries = [e for k, e in _tests(report).items() if k.startswith("e2e-runs::")]
    # pytest-html's sort compares the strings it keeps per sortable column (see app.js).
    ordered = sorted(entries, key=lambda e: e["e2eExit"])
    assert [int(_text(_cells(e)["e2eExit"])) for e in ordered] == codes


# -- the row's details: findings once, evidence excerpts ----------------------------------------


def test_each_finding_is_shown_once_in_a_failing_runs_details(pytester: pytest.Pytester) -> None:
    report, xml = pytester.path / "report.html", pytester.path / "junit.xml"
    _run(pytester, EXAMPLES, f"--html={report}", "--self-contained-html", f"--junitxml={xml}")
    tests = _tests(report)
    below_gate_in_failing = 0
    for nodeid, case in junit_cases(xml).items():
        if not nodeid.startswith("e2e-runs::"):
            continue
        log = _log(tests[nodeid])
        heads = [b.text for b in log.xpath(".//ul[@class='e2e-findings']/li/b")]
        assert sorted(h.split()[1].rstrip(":") for h in heads) == sorted(case.findings), nodeid
        [findings] = log.xpath(".//ul[@class='e2e-findings']")
        text = findings.text_content()
        for head in heads:
            assert text.count(head) == 1, (nodeid, head)
        below_gate_in_failing += len(set(case.findings) - set(case.failing))
    assert below_gate_in_failing  # the example has warnings on failing runs


def test_a_passing_runs_warning_is_shown_once(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("batch/warned")  # no token usage recorded: a warning below
    report = pytester.path / "report.html"
    result = _run(
        pytester,
        make_runs.root,
        f"--html={report}",
        "--self-contained-html",
        f"--e2e-severity={tokens_not_recorded.name}=warning",
    )
    result.assert_outcomes(passed=1)
    log = _log(_tests(report)["e2e-runs::batch/warned"])
    head = f"{tokens_not_recorded.code} {tokens_not_recorded.name}"
    assert log.text_content().count(head) == 1
    assert [li.get("class") for li in log.xpath(".//li")] == ["e2e-below"]


def test_failing_run_shows_the_log_lines_around_its_first_api_error(
    pytester: pytest.Pytester,
) -> None:
    report, xml = pytester.path / "report.html", pytester.path / "junit.xml"
    _run(pytester, EXAMPLES, f"--html={report}", "--self-contained-html", f"--junitxml={xml}")
    case = junit_cases(xml)[f"e2e-runs::{API_RUN}"]
    where = re.search(r"first at (\S+?):(\d+):", case.text)
    assert where, case.text
    name, line = where.group(1), int(where.group(2))
    lines = (EXAMPLES / API_RUN / name).read_text(errors="replace").splitlines()

    log = _log(_tests(report)[f"e2e-runs::{API_RUN}"])
    blocks = {b.findtext("div[@class='e2e-ex-h']"): b for b in log.xpath(".//div[@class='e2e-ex']")}
    [api] = [b for h, b in blocks.items() if h.endswith(f"{name}:{line}")]
    [marked] = api.xpath(".//mark")
    raw = lines[line - 1]
    expected = raw if len(raw) <= LINE_LIMIT else raw[: LINE_LIMIT - 1] + "…"
    assert marked.text.split(None, 1) == [str(line), expected.strip()]
    shown = api.xpath("div[@class='e2e-x']")[0].text_content().split("\n")
    assert [int(s.split()[0]) for s in shown] == list(range(line - CONTEXT, line + CONTEXT + 1))
    # The most serious finding's evidence: the journal line of the exit code.
    [journal] = [b for h, b in blocks.items() if h.startswith(success_nonzero_exit.code)]
    assert '"returncode": 1' in journal.xpath(".//mark")[0].text


def test_evidence_lines_are_bounded_and_redacted(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    error = (
        f"OpenAI API call failed: Error code: 429 - key {SECRET} {HOSTILE} "
        + "x" * 5000
        + ". Will sleep for 3 seconds and will retry.\n"
    )
    log = "".join(f"step {i}\n" for i in range(40)) + error + "after\n" * 40
    make_runs.run("batch/api", journal=TOKENS, trae_stdout__txt=log)
    report = pytester.path / "report.html"
    _run(pytester, make_runs.root, f"--html={report}", "--self-contained-html")
    text = report.read_text(encoding="utf-8")
    assert SECRET not in text and HOSTILE not in text
    entry = _tests(report)["e2e-runs::batch/api"]
    # The error is line 41 of the log written above.
    [block] = [
        b
        for b in _log(entry).xpath(".//div[@class='e2e-ex']")
        if (b.findtext("div") or "").endswith("trae_stdout.txt:41")
    ]
    assert block.findtext("div").startswith(api_errors_in_log.code)
    rows = block.xpath("div[@class='e2e-x']")[0].text_content().split("\n")
    assert len(rows) == 2 * CONTEXT + 1
    assert all(len(r.split(None, 1)[-1]) <= LINE_LIMIT for r in rows)
    [marked] = block.xpath(".//mark")
    assert marked.text.split()[0] == "41"
    assert "[redacted" in marked.text and marked.text.endswith("…")
    assert "<img" in marked.text  # the markup is text: the parser made no element of it
    assert not block.xpath(".//img")


def test_evidence_reader_refuses_fifos_links_out_of_the_tree_and_missing_lines(
    tmp_path: Path,
) -> None:
    import os

    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir(), outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    (root / "link.txt").symlink_to(outside / "secret.txt")
    os.mkfifo(root / "fifo")
    (root / "log.txt").write_text("one\ntwo\nthree")
    assert read_lines(root / "link.txt", 1, [root]) is None
    assert read_lines(root / "fifo", 1, [root]) is None  # returns at once: never opened
    assert read_lines(root / "log.txt", 4, [root]) is None
    assert read_lines(root / "log.txt", 3, [root]) == ((1, "one"), (2, "two"), (3, "three"))


def test_claim_row_shows_the_config_line_the_claim_is_contradicted_by(
    pytester: pytest.Pytester,
) -> None:
    claims = EXAMPLES.parent / "claims.yaml"
    report, xml = pytester.path / "report.html", pytester.path / "junit.xml"
    _run(
        pytester,
        EXAMPLES,
        f"--e2e-claims={claims}",
        f"--html={report}",
        "--self-contained-html",
        f"--junitxml={xml}",
    )
    case = junit_cases(xml)["e2e-claims::no-parallel-tool-calls"]
    where = re.search(r"(\S+trae_config\S*):(\d+) ", case.text)
    assert where, case.text
    path, line = Path(where.group(1)), int(where.group(2))
    path = path if path.is_absolute() else pytester.path / path
    expected = path.read_text().splitlines()[line - 1].strip()
    entry = _tests(report)["e2e-claims::no-parallel-tool-calls"]
    assert _text(_cells(entry)["e2eRun"]) == "no-parallel-tool-calls"
    [marked] = _log(entry).xpath(".//div[@class='e2e-ex']//mark")
    assert marked.text.split(None, 1) == [str(line), expected]


# -- summary ------------------------------------------------------------------------------------


def test_summary_shows_the_json_reports_figures_and_rule_counts(
    pytester: pytest.Pytester,
) -> None:
    report, doc = pytester.path / "report.html", pytester.path / "audit.json"
    result = _run(
        pytester, EXAMPLES, f"--html={report}", "--self-contained-html", f"--e2e-json={doc}"
    )
    audit = json.loads(doc.read_text())
    section = _summary(report)
    figures = {
        tr.findtext("th"): tr.findtext("td")
        for tr in section.xpath(".//table[@class='e2e-figures']/tr")
    }
    runs = audit["runs"]
    assert figures["runs audited"] == str(runs["audited"])
    assert figures["failing runs"] == str(runs["failing"])
    assert figures["reported success"].startswith(
        f"{runs['reported_success']} of {runs['audited']}"
    )
    assert figures["verified success"].startswith(
        f"{runs['verified_success']} of {runs['audited']}"
    )
    # The dataset lines are the terminal's.
    for li in section.xpath(".//ul[@class='e2e-dataset']/li"):
        assert li.text in result.stdout.lines
    assert "Complete" in section.findtext("p[@class='e2e-complete']")
    counts = {
        tr[1].text_content().split()[1]: (int(tr[4].text), int(tr[5].text))
        for tr in section.xpath(".//table[@class='e2e-rules']/tr[td[5]]")
    }
    for rule in audit["rules"]:
        if rule["severity"] != "off":
            assert counts[rule["name"]] == (rule["items"], rule["failing"]), rule


def test_stopped_audit_is_marked_partial_in_the_summary(pytester: pytest.Pytester) -> None:
    report, doc = pytester.path / "report.html", pytester.path / "audit.json"
    _run(pytester, EXAMPLES, "-x", f"--html={report}", "--self-contained-html", f"--e2e-json={doc}")
    missing = json.loads(doc.read_text())["completeness"]["not_audited"]
    assert missing > 0
    [partial] = _summary(report).xpath(".//p[@class='e2e-partial']")
    assert "PARTIAL AUDIT" in partial.text_content()
    assert f"{missing} items were not audited" in partial.text_content()


# -- charts -------------------------------------------------------------------------------------


def test_charts_count_every_run_and_every_batch(pytester: pytest.Pytester) -> None:
    report, doc = pytester.path / "report.html", pytester.path / "audit.json"
    _run(
        pytester,
        EXAMPLES,
        f"--html={report}",
        "--self-contained-html",
        f"--e2e-json={doc}",
        dataset=True,
    )
    audit = json.loads(doc.read_text())
    durations, batches = _svgs(report)
    drawn = sum(sum(c) for _, c in _bars(durations))
    note = re.search(r"(\d+) runs without a usable duration", ET.tostring(durations, "unicode"))
    assert drawn + (int(note.group(1)) if note else 0) == audit["runs"]["audited"]
    groups = {
        i["properties"]["e2e.group"]: i["properties"]
        for i in audit["items"]
        if i["kind"] == "group"
    }
    bars = {tip.split(": ")[0]: counts for tip, counts in _bars(batches)}
    assert set(bars) == set(groups)
    for key, props in groups.items():
        verified, reported, runs = (
            props["e2e.verified_success"],
            props["e2e.reported_success"],
            props["e2e.runs"],
        )
        assert bars[key] == [verified, reported - verified, runs - reported], key


def test_fast_failures_stand_apart_in_the_duration_histogram(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    for i in range(6):
        make_runs.run(
            f"broken/item-{i}",
            journal={**TOKENS, "status": "error", "error": "boom", "trae": {"duration_s": 1.6}},
        )
    for i in range(3):
        make_runs.run(f"good/item-{i}", journal={**TOKENS, "trae": {"duration_s": 900.0}})
    report = pytester.path / "report.html"
    _run(pytester, make_runs.root, f"--html={report}", "--self-contained-html")
    durations = _svgs(report)[0]
    filled = [(i, c) for i, (_, c) in enumerate(_bars(durations)) if sum(c)]
    verified, _, failed = range(3)
    assert [c for _, c in filled] == [[0, 0, 6], [3, 0, 0]]
    (fast, _), (slow, _) = filled
    assert fast < slow and filled[0][1][failed] == 6 and filled[1][1][verified] == 3


def test_batch_chart_is_capped_and_says_how_many_were_left_out(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(htmlreport, "MAX_BATCHES", 5)
    report, doc = pytester.path / "report.html", pytester.path / "audit.json"
    _run(
        pytester,
        EXAMPLES,
        f"--html={report}",
        "--self-contained-html",
        f"--e2e-json={doc}",
        dataset=True,
    )
    groups = [i for i in json.loads(doc.read_text())["items"] if i["kind"] == "group"]
    batches = _svgs(report)[1]
    assert len(_bars(batches)) == 5
    text = "".join(batches.itertext())
    assert f"{len(groups) - 5} more batch folders not drawn" in text


# -- where and when it runs ------------------------------------------------------------------


def test_html_additions_are_registered_only_for_an_html_report(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("batch/clean", journal=TOKENS)
    plain = pytester.parseconfigure(*audit_args(make_runs.root))
    assert plain.pluginmanager.get_plugin("e2e-audit-html") is None
    assert plain.pluginmanager.get_plugin("e2e-audit-excerpts") is None
    report = pytester.path / "report.html"
    with_html = pytester.parseconfigure(*audit_args(make_runs.root, f"--html={report}"))
    assert with_html.pluginmanager.get_plugin("e2e-audit-html") is not None
    # Without pytest-html the hooks are never registered (pluggy would refuse them).
    result = _run(pytester, make_runs.root, "-p", "no:html")
    result.assert_outcomes(passed=1)


def test_serial_and_xdist_reports_show_the_same_audit_columns_and_details(
    pytester: pytest.Pytester,
) -> None:
    shown = []
    for mode in ((), ("-n", "2")):
        report = pytester.path / f"report{len(mode)}.html"
        _run(pytester, EXAMPLES, f"--html={report}", "--self-contained-html", *mode, dataset=True)
        tests = _tests(report)
        shown.append(
            {
                nodeid: (
                    [html.tostring(_cells(e)[c]) for c in AUDIT_COLUMNS],
                    e["log"],
                )
                for nodeid, e in tests.items()
            }
        )
    serial, distributed = shown
    assert len(serial) == 22 + 1 + 19
    assert serial == distributed


def test_hostile_run_name_stays_text_in_the_audit_columns(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run(f"batch/{HOSTILE}")
    report = pytester.path / "report.html"
    _run(pytester, make_runs.root, f"--html={report}", "--self-contained-html")
    assert HOSTILE not in report.read_text(encoding="utf-8")
    [entry] = [e for k, e in _tests(report).items() if k.startswith("e2e-runs::")]
    cell = _cells(entry)["e2eRun"]
    assert _text(cell) == f"batch/{HOSTILE}"
    assert not cell.xpath(".//img")


# -- the SVG renderer ---------------------------------------------------------------------------

SERIES = (svgchart.Series("a", "#111111"), svgchart.Series("b", "#222222"))
NS = "{http://www.w3.org/2000/svg}"


def _lengths(svg: str, attr: str) -> list[tuple[int, float]]:
    root = ET.fromstring(svg)
    return [
        (int(r.get("data-count", "0")), float(r.get(attr, "0")))
        for r in root.iter(f"{NS}rect")
        if r.get("data-count")
    ]


@pytest.mark.parametrize(("draw", "attr"), [(svgchart.columns, "height"), (svgchart.rows, "width")])
def test_bar_lengths_are_proportional_to_counts(draw: Any, attr: str) -> None:
    bars = [svgchart.Bar("x", (3, 1)), svgchart.Bar("y", (0, 8)), svgchart.Bar("z", (2, 5))]
    found = _lengths(draw("t", SERIES, bars), attr)
    assert sorted(c for c, _ in found) == sorted(c for b in bars for c in b.counts if c)
    ratios = {round(length / count, 1) for count, length in found}
    assert len(ratios) == 1  # one scale: length / count is the same for every segment


def test_hostile_labels_are_escaped_and_the_svg_stays_well_formed() -> None:
    label = "</text><script>alert(1)</script>&\"'\x00\x1b[31m\u2028batch"
    for svg in (
        svgchart.columns(label, SERIES, [svgchart.Bar(label, (1, 2), label)], axis=label),
        svgchart.rows(label, SERIES, [svgchart.Bar(label, (1, 2), label)], note=label),
    ):
        root = ET.fromstring(svg)  # well-formed XML: no raw markup, no control character
        assert not list(root.iter(f"{NS}script")) and not list(root.iter("script"))
        assert "<script>alert(1)</script>" in "".join(root.itertext())
        assert "\x00" not in svg and "\x1b" not in svg


def test_renderer_refuses_bad_colours_and_mismatched_counts() -> None:
    with pytest.raises(ValueError):
        svgchart.Series("x", "red;background:url(http://x)")
    with pytest.raises(ValueError):
        svgchart.columns("t", SERIES, [svgchart.Bar("x", (1,))])
    assert ET.fromstring(svgchart.rows("empty", SERIES, [])).tag.endswith("svg")  # still a chart
