"""The read-ahead: runs read in forked workers give the audit exactly what reading them in the
main process gives, and a worker that fails loses nothing.

Each audit here runs in a subprocess (``runpytest_subprocess``): the read-ahead is off in a
process with other threads, such as an xdist worker running this suite, and it forks.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from pytest_e2e_audit import readahead

from .conftest import EXAMPLES, RunFactory, audit_args, junit_cases

PROBE = """
import json, os

import pytest

from pytest_e2e_audit import readahead

MAIN = os.getpid()
MODE = os.environ.get("PROBE_MODE", "")
real = readahead.evaluate_run


def evaluate_run(ref, *args):
    in_worker = os.getpid() != MAIN
    if in_worker and MODE == "kill" and ref.run_id.endswith("-0020"):
        os._exit(3)  # the worker dies mid-chunk: its pool is broken
    if in_worker and MODE == "raise" and ref.run_id.endswith("-0005"):
        raise RuntimeError("only in the worker")
    return real(ref, *args)


readahead.evaluate_run = evaluate_run


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    plugin = session.config.pluginmanager.get_plugin("e2e-audit-readahead")
    ahead = getattr(plugin, "ahead", None)
    stats = dict(ahead.stats) if ahead is not None else None
    with open(os.environ["PROBE_OUT"], "w") as fh:
        json.dump({"registered": plugin is not None, "stats": stats}, fh)
"""


def _tree(root: Path, runs: int) -> Path:
    """``runs`` runs over two batches, every third one failing in a different way."""
    factory = RunFactory(root)
    for i in range(runs):
        batch = "batch-a" if i % 2 else "batch-b"
        journal: dict[str, object] = {"token_usage": {"input_tokens": i + 1, "output_tokens": 1}}
        if i % 3 == 1:
            journal["status"] = "error"
        if i % 3 == 2:
            journal["trae"] = {"returncode": 1}
        factory.run(f"{batch}/item-{i:04d}", journal=journal)
    return root


def _audit(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    results: Path,
    name: str,
    *extra: str,
    mode: str = "",
) -> tuple[pytest.RunResult, dict[str, object], Path]:
    pytester.makepyfile(probe=PROBE)
    out = pytester.path / f"{name}.json"
    xml = pytester.path / f"{name}.xml"
    monkeypatch.setenv("PROBE_OUT", str(out))
    monkeypatch.setenv("PROBE_MODE", mode)
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    result = pytester.runpytest_subprocess(
        *audit_args(results, "-p", "probe", f"--junitxml={xml}", *extra, dataset=True)
    )
    return result, json.loads(out.read_text()), xml


def _same(a: Path, b: Path) -> None:
    left, right = junit_cases(a), junit_cases(b)
    assert left.keys() == right.keys()
    for nodeid, case in left.items():
        assert (case.outcome, case.props, case.text) == (
            right[nodeid].outcome,
            right[nodeid].props,
            right[nodeid].text,
        ), nodeid


def test_the_bundled_runs_audit_the_same_read_ahead_or_not(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    ahead, probe_on, xml_on = _audit(pytester, monkeypatch, EXAMPLES, "on", "--e2e-readahead=2")
    plain, probe_off, xml_off = _audit(pytester, monkeypatch, EXAMPLES, "off", "--e2e-readahead=0")
    assert probe_off == {"registered": False, "stats": None}
    stats = probe_on["stats"]
    assert isinstance(stats, dict)
    assert stats["from_workers"] == 22 and stats["in_main"] == 0
    assert ahead.ret == plain.ret == 1
    _same(xml_on, xml_off)
    assert len(junit_cases(xml_on)) > 22  # the runs and the multi-run items


def test_many_chunks_audit_the_same_read_ahead_or_not(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runs = readahead.CHUNK * 3 + 5
    results = _tree(tmp_path / "results", runs)
    _, probe_on, xml_on = _audit(pytester, monkeypatch, results, "on")
    _, _, xml_off = _audit(pytester, monkeypatch, results, "off", "--e2e-readahead=0")
    assert probe_on["stats"] == {"from_workers": runs, "in_main": 0}  # on by default
    _same(xml_on, xml_off)
    failing = [c for c in junit_cases(xml_on).values() if c.props.get("e2e.failing")]
    assert len(failing) >= runs * 2 // 3


def test_a_worker_that_dies_loses_no_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runs = readahead.CHUNK * 3
    results = _tree(tmp_path / "results", runs)
    killed, probe, xml_killed = _audit(pytester, monkeypatch, results, "kill", mode="kill")
    plain, _, xml_off = _audit(pytester, monkeypatch, results, "off", "--e2e-readahead=0")
    stats = probe["stats"]
    assert isinstance(stats, dict)
    # The chunks before the one that died came from the worker; the rest were read here.
    assert 0 < stats["from_workers"] < runs and stats["in_main"] > 0
    assert stats["from_workers"] + stats["in_main"] == runs
    assert killed.ret == plain.ret
    _same(xml_killed, xml_off)


def test_an_evaluation_that_raises_in_a_worker_is_done_again_in_the_main_process(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    results = _tree(tmp_path / "results", 12)
    _, probe, xml_raised = _audit(pytester, monkeypatch, results, "raise", mode="raise")
    _, _, xml_off = _audit(pytester, monkeypatch, results, "off", "--e2e-readahead=0")
    assert probe["stats"] == {"from_workers": 11, "in_main": 1}
    _same(xml_raised, xml_off)


def test_the_read_ahead_follows_deselection(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    results = _tree(tmp_path / "results", 20)
    _, probe, xml = _audit(pytester, monkeypatch, results, "k", "-k", "batch-a")
    assert probe["stats"] == {"from_workers": 10, "in_main": 0}
    runs = [c for c in junit_cases(xml) if c.startswith("e2e-runs::")]
    assert len(runs) == 10


def test_no_read_ahead_under_xdist(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, probe, _ = _audit(pytester, monkeypatch, EXAMPLES, "xdist", "-n", "2")
    assert probe["registered"] is False


@pytest.mark.parametrize("value", ["lots", "-1", "1.5", "99999"])
def test_a_bad_readahead_value_is_a_usage_error(pytester: pytest.Pytester, value: str) -> None:
    result = pytester.runpytest(*audit_args(EXAMPLES, f"--e2e-readahead={value}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--e2e-readahead: '{value}' is not a number of processes*"])


def test_the_ini_value_is_read(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ne2e_readahead = several\n")
    result = pytester.runpytest(*audit_args(EXAMPLES))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*e2e_readahead (in tox.ini): 'several' is not a number of processes*"]
    )


SIGINT_AFTER_TWO = """
import os, signal

import pytest

reports = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        reports.append(report.nodeid)
        if len(reports) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, as the terminal sends it
"""


def test_ctrl_c_with_the_read_ahead_running_leaves_a_partial_audit_and_no_worker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runs = readahead.CHUNK * 4
    results = _tree(tmp_path / "results", runs)
    pytester.makeconftest(SIGINT_AFTER_TWO)
    result, probe, xml = _audit(pytester, monkeypatch, results, "int")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    stats = probe["stats"]
    assert isinstance(stats, dict) and stats["from_workers"] >= 2
    incomplete = junit_cases(xml)["e2e-audit::incomplete"]
    assert f"interrupted after 2 of {runs} audit items" in incomplete.text
    # No worker outlives the session: none of this test's processes is left over.
    leftovers = [
        line
        for line in _processes()
        if "probe" in line and "pytest" in line and str(results) in line
    ]
    assert leftovers == []


def _processes() -> list[str]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
    return out


GC_PROBE = """
import gc

seen = []


def pytest_runtest_logreport(report):
    seen.append(gc.get_threshold())


def pytest_unconfigure(config):
    print(f"GC DURING {sorted(set(seen))} AFTER {gc.get_threshold()}")
"""


@pytest.mark.parametrize("mixed", [False, True], ids=["audit only", "with tests"])
def test_the_collector_runs_less_often_only_while_audit_items_run(
    pytester: pytest.Pytester, mixed: bool
) -> None:
    pytester.makeconftest(GC_PROBE)
    before = gc.get_threshold()
    args = [str(pytester.makepyfile(test_x="def test_x():\n    pass\n"))] if mixed else []
    result = pytester.runpytest(*audit_args(EXAMPLES, "--e2e-readahead=0"), *args, "-s")
    during = [readahead.GC_THRESHOLDS] if not mixed else [before]
    result.stdout.fnmatch_lines([f"GC DURING {during} AFTER {before}"])
    assert gc.get_threshold() == before


def test_no_read_ahead_in_a_process_with_threads_threading_does_not_know() -> None:
    # execnet (an xdist worker running an inline pytester session) starts its threads with
    # _thread, which threading.active_count() does not see; the system's count does.
    import _thread
    import time

    stop = []

    def idle() -> None:
        while not stop:
            time.sleep(0.01)

    _thread.start_new_thread(idle, ())
    try:
        time.sleep(0.05)
        ahead = readahead.ReadAhead(lambda index: index, 3, workers=1)
        started = ahead.start()
        ahead.close()
        assert started is False
    finally:
        stop.append(True)
