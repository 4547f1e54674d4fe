"""pytest entry point (``pytest11`` name ``e2e_audit``): options, collection, reporting."""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Generator
from pathlib import Path

import pytest

from . import hookspecs
from ._safety import check_config_outside, check_tree_location, early_results, refuse_writes_into
from ._settings import (
    AuditSettings,
    add_options,
    build_settings,
    claims_option,
    merge_option,
    readahead_option,
    results_option,
)
from .catalogue import BUILTIN
from .claims.items import CLAIMS_KEY
from .claims.model import load_claims
from .htmlreport import EvidenceExcerpts, HtmlReport, html_active
from .items import RUNS_NODEID, SETTINGS_KEY, ResultsCollector
from .layouts import Layout
from .layouts.perf_agents import PerfAgentsLayout
from .layouts.projectscylla import ProjectScyllaLayout
from .readahead import CollectorTuning, ReadAheadPlugin, workers_wanted
from .reporting import AuditSummary, DigestsWriter, JsonWriter, JunitTotals
from .rules import Rule
from .shards import read_digests
from .stage import MultiRunStage, attach


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before pytest imports any conftest.py: refuse a results tree that would configure
    or run code in its own audit, and trees that are not results at all (``/``, ``/proc``)."""
    found = early_results(early_config)
    if found is not None:
        results, where = found
        check_tree_location(results, where)
        check_config_outside(early_config, results, where)


@pytest.hookimpl(trylast=True)
def pytest_e2e_audit_layouts() -> list[Layout]:
    return [PerfAgentsLayout(), ProjectScyllaLayout()]


@pytest.hookimpl(trylast=True)
def pytest_e2e_audit_rules() -> list[Rule]:
    return list(BUILTIN)


def pytest_configure(config: pytest.Config) -> None:
    results = results_option(config)
    claims = claims_option(config)
    if results is None and claims is None and not merge_option(config):
        return
    layouts = [layout for group in config.hook.pytest_e2e_audit_layouts() for layout in group]
    rules = [entry for group in config.hook.pytest_e2e_audit_rules() for entry in group]
    settings = build_settings(config, results, layouts, rules, claims)
    merged = read_digests(settings.merge, "--e2e-merge") if settings.merge else None
    if merged is not None:
        # The merged tree's folder names the figures; nothing is read from it.
        settings = dataclasses.replace(settings, results=Path(merged.results))
    if results is not None:
        check_tree_location(results, "--e2e-results")
        refuse_writes_into(config, results)
    config.stash[SETTINGS_KEY] = settings
    if results is not None:
        workers = workers_wanted(config, *readahead_option(config))
        if workers:
            config.pluginmanager.register(ReadAheadPlugin(workers), "e2e-audit-readahead")
    if settings.claims_file is not None:
        config.stash[CLAIMS_KEY] = load_claims(
            settings.claims_file, settings.claims_source, settings.claims_root
        )
    forced_no_tb = settings.audit_only and config.option.tbstyle == "auto"
    if forced_no_tb:
        # pytest's failure summary is quadratic in the number of failures
        # (pytest-dev/pytest#13360); the plugin prints failures itself, linearly.
        config.option.tbstyle = "no"
    if settings.audit_only:
        config.pluginmanager.register(_AuditOnlyCollection(settings), "e2e-audit-collection")
        config.pluginmanager.register(CollectorTuning(), "e2e-audit-gc")
    else:
        config.pluginmanager.register(_MixedCollection(settings), "e2e-audit-collection")
    html = html_active(config)
    if html:
        # Where items run (each xdist worker too): their evidence excerpts go on the reports.
        config.pluginmanager.register(EvidenceExcerpts(settings), "e2e-audit-excerpts")
    if not hasattr(config, "workerinput"):
        # The process that writes the reports: it receives every run's digest.
        stage = MultiRunStage(settings)
        config.pluginmanager.register(stage, "e2e-audit-stage")
        summary = AuditSummary(
            settings, stage, forced_no_tb, forced_no_tb and not _chose_report_chars(config)
        )
        config.pluginmanager.register(summary, "e2e-audit-summary")
        if merged is not None:
            stage.digests.update((d.run_id, d) for d in merged.digests)
            summary.absorb(merged)
        if settings.digests_out is not None:
            config.pluginmanager.register(
                DigestsWriter(summary, settings.digests_out), "e2e-audit-digests"
            )
        xmlpath = getattr(config.option, "xmlpath", None)
        if xmlpath:
            target = config.invocation_params.dir / str(xmlpath)
            config.pluginmanager.register(JunitTotals(summary, target), "e2e-audit-junit")
        if settings.json_report is not None:
            config.pluginmanager.register(
                JsonWriter(summary, settings.json_report), "e2e-audit-json"
            )
        if html:
            config.pluginmanager.register(HtmlReport(summary), "e2e-audit-html")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "call":
        attach(item, report)
    return report


def _chose_report_chars(config: pytest.Config) -> bool:
    """Whether the user asked for pytest's short summary (``-r…`` anywhere)."""
    args = [
        *map(str, config.invocation_params.args),
        *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
        *map(str, config.getini("addopts") or ()),
    ]
    return any(a.startswith(("-r", "--report-chars")) for a in args)


def _results_collector(session: pytest.Session) -> ResultsCollector:
    return ResultsCollector.from_parent(session, name=RUNS_NODEID, nodeid=RUNS_NODEID)


def _audit_collectors(
    session: pytest.Session, settings: AuditSettings
) -> list[pytest.Item | pytest.Collector]:
    """The results tree's collector, with ``--e2e-results`` (claims are not collected: the
    multi-run stage runs them after the run items)."""
    collect = settings.results is not None and not settings.merge
    return [_results_collector(session)] if collect else []


class _AuditOnlyCollection:
    """No test paths given: the session collects the results tree and nothing else."""

    def __init__(self, settings: AuditSettings) -> None:
        self.settings = settings

    @pytest.hookimpl(tryfirst=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> pytest.CollectReport | None:
        if not isinstance(collector, pytest.Session):
            return None
        return pytest.CollectReport(
            collector.nodeid, "passed", None, _audit_collectors(collector, self.settings)
        )


class _MixedCollection:
    """Test paths given too: collect them as usual and add the results tree after them."""

    def __init__(self, settings: AuditSettings) -> None:
        self.settings = settings

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        if isinstance(collector, pytest.Session) and report.passed:
            report.result.extend(_audit_collectors(collector, self.settings))
        return report
