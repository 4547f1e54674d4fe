"""pytest entry point (``pytest11`` name ``e2e_audit``): options, collection, reporting."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from . import hookspecs
from ._settings import AuditSettings, add_options, build_settings, claims_option, results_option
from .claims.items import CLAIMS_KEY, CLAIMS_NODEID, ClaimsCollector
from .claims.model import load_claims
from .claims.rules import CLAIM_RULES
from .items import RUNS_NODEID, SETTINGS_KEY, ResultsCollector
from .layouts import Layout
from .layouts.perf_agents import PerfAgentsLayout
from .reporting import AuditSummary
from .rules import Rule
from .rules.runs import BUILTIN_RULES


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(trylast=True)
def pytest_e2e_audit_layouts() -> list[Layout]:
    return [PerfAgentsLayout()]


@pytest.hookimpl(trylast=True)
def pytest_e2e_audit_rules() -> list[Rule]:
    return [*BUILTIN_RULES, *CLAIM_RULES]


def pytest_configure(config: pytest.Config) -> None:
    results = results_option(config)
    claims = claims_option(config)
    if results is None and claims is None:
        return
    layouts = [layout for group in config.hook.pytest_e2e_audit_layouts() for layout in group]
    rules = [entry for group in config.hook.pytest_e2e_audit_rules() for entry in group]
    settings = build_settings(config, results, layouts, rules, claims)
    if results is not None:
        _refuse_writes_into(config, results)
    config.stash[SETTINGS_KEY] = settings
    if settings.claims_file is not None:
        config.stash[CLAIMS_KEY] = load_claims(settings.claims_file, settings.claims_source)
    forced_no_tb = settings.audit_only and config.option.tbstyle == "auto"
    if forced_no_tb:
        # pytest's failure summary is quadratic in the number of failures
        # (pytest-dev/pytest#13360); the plugin prints failures itself, linearly.
        config.option.tbstyle = "no"
    if settings.audit_only:
        config.pluginmanager.register(_AuditOnlyCollection(settings), "e2e-audit-collection")
    else:
        config.pluginmanager.register(_MixedCollection(settings), "e2e-audit-collection")
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(AuditSummary(settings, forced_no_tb), "e2e-audit-summary")


def _results_collector(session: pytest.Session) -> ResultsCollector:
    return ResultsCollector.from_parent(session, name=RUNS_NODEID, nodeid=RUNS_NODEID)


def _audit_collectors(
    session: pytest.Session, settings: AuditSettings
) -> list[pytest.Item | pytest.Collector]:
    """The results tree's collector (with ``--e2e-results``), then the claims' one."""
    collectors: list[pytest.Item | pytest.Collector] = []
    if settings.results is not None:
        collectors.append(_results_collector(session))
    if settings.claims_file is not None:
        collectors.append(
            ClaimsCollector.from_parent(session, name=CLAIMS_NODEID, nodeid=CLAIMS_NODEID)
        )
    return collectors


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


def _refuse_writes_into(config: pytest.Config, results: Path) -> None:
    """The audit never writes into the results tree: refuse outputs that would land there."""
    outputs: list[tuple[str, object]] = [
        ("--junitxml", getattr(config.option, "xmlpath", None)),
        ("--html", getattr(config.option, "htmlpath", None)),
    ]
    if config.pluginmanager.has_plugin("cacheprovider"):
        cache_dir = config.rootpath / str(config.getini("cache_dir"))
        outputs.append(("pytest's cache_dir (disable it with -p no:cacheprovider)", cache_dir))
    for label, value in outputs:
        if not value:
            continue
        path = (config.invocation_params.dir / str(value)).resolve()
        if path == results or path.is_relative_to(results):
            raise pytest.UsageError(
                f"{label}: {path} is inside the results tree {results}; the audit never writes "
                "there. Write reports elsewhere or run pytest from outside the tree"
            )
