"""Command-line and ini options, validated into one frozen ``AuditSettings``."""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pytest

from .baseline import Exemptions, load_baseline
from .findings import Severity
from .layouts import Layout, LoadOptions
from .rules import Rule, RuleContext, RuleKind
from .shards import parse_shard
from .waivers import load_waivers

DEFAULT_MIN_DURATION = 10.0
FAIL_ON_CHOICES = ("error", "warning")
SEVERITY_CHOICES = ("error", "warning", "info", "off")
TODAY_KEY = "e2e_today"
"""Key of ``workerinput`` that carries the controller's date to xdist workers."""
TODAY_VARIABLE = "E2E_AUDIT_TODAY"
"""Environment variable that sets the date waivers expire against (YYYY-MM-DD), for tests and
for re-running an old audit as it was; today's date when unset."""


@dataclass(frozen=True)
class AuditSettings:
    """Everything the audit needs to know, resolved once in ``pytest_configure``."""

    results: Path | None
    """Results folder to audit; None when only a claims file was given."""
    layouts: tuple[Layout, ...]
    """Layouts to try, in order (one when ``--e2e-layout`` forces it)."""
    rules: tuple[Rule, ...]
    """Active rules, in code order."""
    catalogue: tuple[Rule, ...]
    """Every registered rule, in code order (active or not)."""
    overrides: dict[str, Severity] = field(default_factory=dict)
    fail_on: Severity = Severity.ERROR
    context: RuleContext = field(default_factory=RuleContext)
    load_options: LoadOptions = field(default_factory=LoadOptions)
    audit_only: bool = True
    """No explicit test paths were given: collect audit items only."""
    claims_file: Path | None = None
    """Claims file to check (``--e2e-claims``), absolute."""
    claims_source: str = "--e2e-claims"
    """Where ``claims_file`` was set, for error messages."""
    claims_root: Path | None = None
    """Folder the claims' ``config`` globs must stay inside (``--e2e-claims-root``), absolute;
    None for the claims file's folder."""
    rerun_list: Path | None = None
    """Where to write the re-run list (``--e2e-rerun-list``), absolute; None for none."""
    markdown: Path | None = None
    """Where to write the Markdown summary (``--e2e-markdown``), absolute; None for none."""
    json_report: Path | None = None
    """Where to write the JSON report (``--e2e-json``), absolute; None for none."""
    max_failures: int = 50
    """Failing runs printed in full in the terminal; 0 for all."""
    exemptions: Exemptions = field(default_factory=Exemptions)
    """Waivers and baseline in force (``--e2e-waivers``, ``--e2e-baseline``)."""
    shard: tuple[int, int] | None = None
    """``(K, N)``: only part K of N of the runs is audited (``--e2e-shard``)."""
    digests_out: Path | None = None
    """Where to write the runs' digests (``--e2e-digests``), absolute; None for nowhere."""
    merge: tuple[Path, ...] = ()
    """Digests files of a sharded audit to merge (``--e2e-merge``), absolute."""

    @functools.cached_property
    def rule_names(self) -> tuple[str, ...]:
        """Names of the active rules, in code order."""
        return tuple(r.name for r in self.rules)

    @functools.cached_property
    def success_rule_names(self) -> frozenset[str]:
        """Active rules whose finding means a recorded success is not a real one."""
        return frozenset(r.name for r in self.rules if r.success_check)

    def rules_of(self, kind: RuleKind) -> tuple[Rule, ...]:
        """The active rules of one kind (run, group, dataset, claim), in code order."""
        return tuple(r for r in self.rules if r.kind == kind)

    def catalogue_of(self, kind: RuleKind) -> tuple[Rule, ...]:
        """Every registered rule of one kind, active or not, in code order."""
        return tuple(r for r in self.catalogue if r.kind == kind)

    @property
    def results_root(self) -> Path:
        """``results``, for code that runs only when it was given (the run collector)."""
        if self.results is None:
            raise RuntimeError("e2e-audit: no results folder was given")
        return self.results


@dataclass(frozen=True)
class Option:
    """One setting: its flag, its ini twin and their help, declared once."""

    flag: str
    """Command-line flag, ``--e2e-…``; its ini twin is the same name with ``_``: ``e2e_…``."""
    metavar: str
    help: str
    """Short phrase in sentence case, no final period (shared by the flag and the ini key)."""
    ini_type: Literal["string", "linelist"] = "string"
    repeat: bool = False
    """The flag may be given more than once (and its values comma-separated)."""
    ini_default: tuple[str, ...] | None = None
    path: bool = False
    """A path: its ini key reads None when absent, so an empty value can be refused."""
    switch: bool = False
    """A flag without a value and without an ini twin (an action, not a setting)."""

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option(
        "--e2e-results",
        "DIR",
        "Audit the recorded runs under DIR (one test item per run)",
        path=True,
    ),
    Option(
        "--e2e-claims",
        "FILE",
        "Check the claims in FILE against the configs and runs (one test item per claim)",
        path=True,
    ),
    Option(
        "--e2e-claims-root",
        "DIR",
        "Folder the claims' config globs must stay inside (default: the claims file's folder)",
        path=True,
    ),
    Option("--e2e-layout", "NAME", "Read the results as this layout (default: auto)"),
    Option(
        "--e2e-max-failures",
        "N",
        "Failing runs whose findings are printed in full (default: 50; 0 prints all)",
    ),
    Option(
        "--e2e-json",
        "FILE",
        "Write the audit as JSON to FILE (figures, findings per rule, runs per rule and class)",
        path=True,
    ),
    Option(
        "--e2e-markdown",
        "FILE",
        "Write the audit summary as Markdown to FILE (what the GitHub job summary shows)",
        path=True,
    ),
    Option(
        "--e2e-rerun-list",
        "FILE",
        "Write the run and experiment folders whose failure is not the agent's, one per line",
        path=True,
    ),
    Option(
        "--e2e-waivers",
        "FILE",
        "Accept the findings the waivers in FILE name until each waiver expires",
        path=True,
    ),
    Option(
        "--e2e-baseline",
        "FILE",
        "Fail only on findings not in the baseline FILE; report the ones fixed since",
        path=True,
    ),
    Option(
        "--e2e-baseline-update",
        "",
        "Write this session's findings to the --e2e-baseline file (and pass on them)",
        switch=True,
    ),
    Option(
        "--e2e-select",
        "RULE",
        "Run only these rules (code or name; repeatable or comma-separated)",
        "linelist",
        repeat=True,
    ),
    Option(
        "--e2e-ignore",
        "RULE",
        "Do not run these rules (code or name; repeatable or comma-separated)",
        "linelist",
        repeat=True,
    ),
    Option(
        "--e2e-severity",
        "RULE=LEVEL",
        "Change a rule's severity: error, warning, info or off (repeatable)",
        "linelist",
        repeat=True,
    ),
    Option(
        "--e2e-fail-on",
        "LEVEL",
        "Fail an item on findings at or above this severity: error or warning (default: error)",
    ),
    Option(
        "--e2e-min-duration",
        "SECONDS",
        "A success shorter than this shows no sign the agent ran (default: 10)",
    ),
    Option(
        "--e2e-scope-ignore",
        "GLOB",
        "Disallowed paths that are pipeline artefacts, not edits (repeatable; default: "
        "model_patch.diff, .bench_scratch/*)",
        "linelist",
        repeat=True,
        ini_default=LoadOptions().scope_ignore,
    ),
    Option(
        "--e2e-retry-margin",
        "PP",
        "Percentage points task-level success may exceed first-attempt success (default: 10)",
    ),
    Option(
        "--e2e-max-attempts",
        "N",
        "Attempts of one task beyond which it is retried too often (default: 3)",
    ),
    Option(
        "--e2e-cluster-size",
        "N",
        "Alike failures in one batch that make one systematic fault (default: 5)",
    ),
    Option(
        "--e2e-cluster-spread",
        "FRACTION",
        "Relative spread of durations of near-identical failures (default: 0.1)",
    ),
    Option(
        "--e2e-cluster-max-duration",
        "SECONDS",
        "Failures shorter than this can form a fast-failure cluster (default: 60)",
    ),
    Option(
        "--e2e-systemic-share",
        "FRACTION",
        "Share of runs a per-run rule must fire on to be one pipeline defect (default: 0.9)",
    ),
    Option(
        "--e2e-batch-gap",
        "PP",
        "Percentage points a batch's success rate may differ from the dataset's (default: 30)",
    ),
    Option(
        "--e2e-shard",
        "K/N",
        "Audit part K of N of the runs, split by batch folder; write their digests with "
        "--e2e-digests for an --e2e-merge session",
    ),
    Option(
        "--e2e-digests",
        "FILE",
        "Write the audited runs' digests to FILE (for --e2e-merge)",
        path=True,
    ),
    Option(
        "--e2e-merge",
        "FILE",
        "Run the dataset and claim checks over the digests files of every part of a sharded "
        "audit, reading no run",
        ini_type="linelist",
        repeat=True,
    ),
    Option(
        "--e2e-readahead",
        "N",
        "Processes reading runs ahead of pytest in a serial session (default: auto; 0: off)",
    ),
)
"""Every option of the plugin; ``add_options`` declares each flag and its ini twin."""


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("e2e-audit", "end-to-end results audit (pytest-e2e-audit)")
    for option in OPTIONS:
        if option.switch:
            group.addoption(option.flag, dest=option.dest, action="store_true", help=option.help)
            continue
        group.addoption(
            option.flag,
            dest=option.dest,
            action="append" if option.repeat else "store",
            metavar=option.metavar,
            help=option.help,
        )
        if option.path:
            parser.addini(option.dest, option.help, option.ini_type, default=None)
        elif option.ini_default is None:
            parser.addini(option.dest, option.help, option.ini_type)
        else:
            parser.addini(
                option.dest, option.help, option.ini_type, default=list(option.ini_default)
            )


class _Source:
    """Reads one setting from the command line or, failing that, the ini file."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        inifile = config.inipath.name if config.inipath else "ini file"
        self.ini_label = inifile

    def value(self, option: str, ini: str) -> tuple[str | None, str]:
        cli = self.config.getoption(option)
        if cli is not None:
            return str(cli), "--" + option.replace("_", "-")
        raw = self.config.getini(ini)
        text = str(raw).strip() if raw is not None else ""
        return (text or None), f"{ini} (in {self.ini_label})"

    def values(self, option: str, ini: str) -> tuple[list[str], str]:
        cli = self.config.getoption(option)
        if cli:
            items = [part.strip() for entry in cli for part in str(entry).split(",")]
            return [i for i in items if i], "--" + option.replace("_", "-")
        raw = self.config.getini(ini) or []
        items = [part.strip() for entry in raw for part in str(entry).split(",")]
        return [i for i in items if i], f"{ini} (in {self.ini_label})"


def path_option(
    config: pytest.Config, flag_value: object, flag: str, ini: str
) -> tuple[Path, str] | None:
    """A path setting and where it was set: the flag's value (relative to the invocation
    folder) or, failing that, the ini value (relative to the ini file); None when neither.

    An empty value is a usage error, never "off": ``--e2e-results=$RESULTS`` with the CI
    variable unset must fail the build, not skip the audit and pass it."""
    if flag_value is not None and not str(flag_value).strip():
        raise pytest.UsageError(
            f"{flag}: the value is empty (an unset variable?); name a path, or leave the option out"
        )
    if flag_value:
        return (config.invocation_params.dir / str(flag_value)).resolve(), flag
    label = config.inipath.name if config.inipath else "ini file"
    raw = config.getini(ini)  # None when the key is absent (see add_options)
    if raw is not None and not str(raw).strip():
        raise pytest.UsageError(
            f"{ini} (in {label}): the value is empty; name a path, or remove the key"
        )
    text = str(raw or "").strip()
    if text:
        base = config.inipath.parent if config.inipath else config.rootpath
        label = config.inipath.name if config.inipath else "ini file"
        return (base / text).resolve(), f"{ini} (in {label})"
    return None


def results_option(config: pytest.Config) -> Path | None:
    """The results folder asked for, or None when the audit is off."""
    found = path_option(config, config.getoption("e2e_results"), "--e2e-results", "e2e_results")
    return found[0] if found else None


def claims_option(config: pytest.Config) -> tuple[Path, str] | None:
    """The claims file asked for and where it was set, or None."""
    return path_option(config, config.getoption("e2e_claims"), "--e2e-claims", "e2e_claims")


def claims_root_option(config: pytest.Config) -> tuple[Path, str] | None:
    """The claims root asked for and where it was set, or None (the claims file's folder)."""
    value = config.getoption("e2e_claims_root")
    return path_option(config, value, "--e2e-claims-root", "e2e_claims_root")


def build_settings(
    config: pytest.Config,
    results: Path | None,
    layouts: Sequence[Layout],
    rules: Sequence[Rule],
    claims: tuple[Path, str] | None = None,
) -> AuditSettings:
    """Validate every option; any bad value is a ``pytest.UsageError`` naming its source."""
    source = _Source(config)
    if results is not None and not results.exists():
        raise pytest.UsageError(f"--e2e-results: {results} does not exist")
    if results is not None and not results.is_dir():
        raise pytest.UsageError(f"--e2e-results: {results} is not a directory")
    if claims is not None and not claims[0].is_file():
        state = "is not a file" if claims[0].exists() else "does not exist"
        raise pytest.UsageError(f"{claims[1]}: {claims[0]} {state}")
    claims_root = claims_root_option(config)
    rerun = path_option(
        config, config.getoption("e2e_rerun_list"), "--e2e-rerun-list", "e2e_rerun_list"
    )
    markdown = path_option(
        config, config.getoption("e2e_markdown"), "--e2e-markdown", "e2e_markdown"
    )
    json_path = path_option(config, config.getoption("e2e_json"), "--e2e-json", "e2e_json")
    if claims_root is not None and not claims_root[0].is_dir():
        state = "is not a directory" if claims_root[0].exists() else "does not exist"
        raise pytest.UsageError(f"{claims_root[1]}: {claims_root[0]} {state}")
    catalogue = _check_catalogue(rules)
    _check_layouts(layouts)

    layout_name, where = source.value("e2e_layout", "e2e_layout")
    chosen: tuple[Layout, ...] = tuple(layouts)
    if layout_name and layout_name != "auto":
        match = [layout for layout in layouts if layout.name == layout_name]
        if not match:
            valid = ", ".join(["auto", *(layout.name for layout in layouts)])
            raise pytest.UsageError(f"{where}: unknown layout {layout_name!r}; valid: {valid}")
        chosen = tuple(match)

    selected, sel_where = source.values("e2e_select", "e2e_select")
    ignored, ign_where = source.values("e2e_ignore", "e2e_ignore")
    active = list(catalogue)
    if selected:
        names = {_resolve_rule(token, catalogue, sel_where).name for token in selected}
        active = [r for r in active if r.name in names]
    if ignored:
        names = {_resolve_rule(token, catalogue, ign_where).name for token in ignored}
        active = [r for r in active if r.name not in names]

    overrides: dict[str, Severity] = {}
    ini_sev = [str(v) for v in config.getini("e2e_severity") or []]
    cli_sev = [str(v) for v in config.getoption("e2e_severity") or []]
    for entries, label in (
        (ini_sev, f"e2e_severity (in {source.ini_label})"),
        (cli_sev, "--e2e-severity"),
    ):
        for entry in _split(entries):
            name, level = _parse_override(entry, catalogue, label)
            if level is None:
                active = [r for r in active if r.name != name]
            else:
                overrides[name] = level

    fail_text, fail_where = source.value("e2e_fail_on", "e2e_fail_on")
    fail_on = Severity.ERROR
    if fail_text is not None:
        if fail_text.lower() not in FAIL_ON_CHOICES:
            raise pytest.UsageError(
                f"{fail_where}: invalid value {fail_text!r}; valid: {', '.join(FAIL_ON_CHOICES)}"
            )
        fail_on = Severity.parse(fail_text)

    defaults = RuleContext()

    def number(
        name: str, default: float, *, low: float = 0.0, high: float = math.inf, unit: str = ""
    ) -> float:
        text, where = source.value(name, name)
        if text is None:
            return default
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high):
            span = f">= {low:g}" if high == math.inf else f"from {low:g} to {high:g}"
            raise pytest.UsageError(f"{where}: expected a number{unit} {span}, got {text!r}")
        return value

    def count(name: str, default: int, low: int = 1) -> int:
        value = number(name, default, low=low)
        if value != int(value):
            where = source.value(name, name)[1]
            raise pytest.UsageError(f"{where}: expected a whole number >= {low}, got {value:g}")
        return int(value)

    scope, _ = source.values("e2e_scope_ignore", "e2e_scope_ignore")
    exemptions = _exemptions(config, results, catalogue, claims)
    return AuditSettings(
        results=results,
        layouts=chosen,
        rules=tuple(active),
        catalogue=catalogue,
        overrides=overrides,
        fail_on=fail_on,
        context=RuleContext(
            min_duration_s=number("e2e_min_duration", DEFAULT_MIN_DURATION, unit=" of seconds"),
            retry_margin=number("e2e_retry_margin", defaults.retry_margin, high=100),
            max_attempts=count("e2e_max_attempts", defaults.max_attempts),
            cluster_size=count("e2e_cluster_size", defaults.cluster_size),
            cluster_spread=number("e2e_cluster_spread", defaults.cluster_spread, high=1),
            cluster_max_duration=number(
                "e2e_cluster_max_duration", defaults.cluster_max_duration, unit=" of seconds"
            ),
            systemic_share=number("e2e_systemic_share", defaults.systemic_share, high=1),
            batch_gap=number("e2e_batch_gap", defaults.batch_gap, high=100),
            scope_ignore=tuple(scope),
            active=frozenset(r.name for r in active),
        ),
        load_options=LoadOptions(scope_ignore=tuple(scope)),
        audit_only=config.args_source != pytest.Config.ArgsSource.ARGS,
        claims_file=claims[0] if claims else None,
        claims_source=claims[1] if claims else "--e2e-claims",
        claims_root=claims_root[0] if claims_root else None,
        rerun_list=rerun[0] if rerun else None,
        markdown=markdown[0] if markdown else None,
        json_report=json_path[0] if json_path else None,
        max_failures=count("e2e_max_failures", 50, low=0),
        exemptions=exemptions,
        **_sharding(config, source, results, claims),
    )


def readahead_option(config: pytest.Config) -> tuple[str | None, str]:
    """``--e2e-readahead`` (or its ini twin) as given, and where it was set."""
    return _Source(config).value("e2e_readahead", "e2e_readahead")


def merge_option(config: pytest.Config) -> tuple[Path, ...]:
    """The digests files to merge (``--e2e-merge``, relative to the invocation folder; the
    ini key's relative to the ini file), or none."""
    source = _Source(config)
    files, where = source.values("e2e_merge", "e2e_merge")
    if where.startswith("--"):
        base = config.invocation_params.dir
    else:
        base = config.inipath.parent if config.inipath else config.rootpath
    return tuple((base / name).resolve() for name in files)


def _sharding(
    config: pytest.Config,
    source: _Source,
    results: Path | None,
    claims: tuple[Path, str] | None,
) -> dict[str, Any]:
    """``--e2e-shard``, ``--e2e-digests`` and ``--e2e-merge``, checked against each other."""
    text, where = source.value("e2e_shard", "e2e_shard")
    shard = parse_shard(text, where) if text is not None else None
    out = path_option(config, config.getoption("e2e_digests"), "--e2e-digests", "e2e_digests")
    merge = merge_option(config)
    if shard is not None and results is None:
        raise pytest.UsageError(f"{where}: a part of a tree needs --e2e-results")
    if shard is not None and out is None:
        raise pytest.UsageError(
            f"{where}: write the part's digests with --e2e-digests=FILE; the dataset checks "
            "run over every part's digests in an --e2e-merge session"
        )
    if shard is not None and claims is not None:
        raise pytest.UsageError(
            f"{claims[1]}: claims are checked against every run: give them to the --e2e-merge "
            "session, not to a part"
        )
    if merge and (results is not None or shard is not None):
        raise pytest.UsageError(
            "--e2e-merge: a merge session reads no runs; leave out --e2e-results and --e2e-shard"
        )
    for path in merge:
        if not path.is_file():
            state = "is not a file" if path.exists() else "does not exist"
            raise pytest.UsageError(f"--e2e-merge: {path} {state}")
    return {"shard": shard, "digests_out": out[0] if out else None, "merge": merge}


def _exemptions(
    config: pytest.Config,
    results: Path | None,
    catalogue: Sequence[Rule],
    claims: tuple[Path, str] | None,
) -> Exemptions:
    """The waivers and the baseline, read and validated (each a usage error naming the file
    when malformed). Neither may lie inside the results tree: the audited tree would accept
    its own findings, and the audit never writes there."""
    waivers = path_option(config, config.getoption("e2e_waivers"), "--e2e-waivers", "e2e_waivers")
    baseline = path_option(
        config, config.getoption("e2e_baseline"), "--e2e-baseline", "e2e_baseline"
    )
    update = bool(config.getoption("e2e_baseline_update"))
    for found in (waivers, baseline):
        if found is not None and results is not None and found[0].is_relative_to(results):
            raise pytest.UsageError(
                f"{found[1]}: {found[0]} is inside the results tree {results}; the audit never "
                "reads its own acceptance from the tree it audits, nor writes there. Keep the "
                "file next to your CI configuration"
            )
    if update and baseline is None:
        raise pytest.UsageError(
            "--e2e-baseline-update: name the file to write with --e2e-baseline=FILE (or the "
            "e2e_baseline ini key)"
        )
    if waivers is not None and not waivers[0].is_file():
        state = "is not a file" if waivers[0].exists() else "does not exist"
        raise pytest.UsageError(f"{waivers[1]}: {waivers[0]} {state}")
    return Exemptions(
        waivers=load_waivers(waivers[0], waivers[1], catalogue) if waivers else None,
        baseline=load_baseline(*baseline) if baseline and not update else None,
        update=update,
        baseline_path=baseline[0] if baseline else None,
        today=_today(config),
        claims_dir=claims[0].parent if claims else None,
    )


def _today(config: pytest.Config) -> date:
    """The date waivers expire against: the controller's (sent to xdist workers), else
    ``E2E_AUDIT_TODAY``, else today."""
    sent = getattr(config, "workerinput", {}).get(TODAY_KEY)
    text = str(sent) if sent else os.environ.get(TODAY_VARIABLE, "").strip()
    if not text:
        return date.today()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise pytest.UsageError(
            f"{TODAY_VARIABLE}: expected a date YYYY-MM-DD, got {text[:40]!r}"
        ) from None


def _split(entries: Iterable[str]) -> Iterable[str]:
    for entry in entries:
        for part in entry.split(","):
            if part.strip():
                yield part.strip()


def _check_catalogue(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    by_code: dict[str, Rule] = {}
    by_name: dict[str, Rule] = {}
    for entry in rules:
        for key, seen in ((entry.code, by_code), (entry.name, by_name)):
            other = seen.get(key)
            if other is not None and other is not entry:
                raise pytest.UsageError(
                    f"e2e-audit: two rules share {key!r}: {other.code} {other.name} and "
                    f"{entry.code} {entry.name}; codes and names must be unique"
                )
            seen[key] = entry
    return tuple(sorted(by_code.values(), key=lambda r: r.code))


def _check_layouts(layouts: Sequence[Layout]) -> None:
    names = [layout.name for layout in layouts]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise pytest.UsageError(f"e2e-audit: more than one layout is named {duplicates[0]!r}")


def rule_list(catalogue: Sequence[Rule]) -> str:
    return ", ".join(f"{r.code} {r.name}" for r in catalogue)


def _resolve_rule(token: str, catalogue: Sequence[Rule], where: str) -> Rule:
    for entry in catalogue:
        if token.upper() == entry.code or token.lower() == entry.name:
            return entry
    raise pytest.UsageError(f"{where}: unknown rule {token!r}; valid: {rule_list(catalogue)}")


def _parse_override(
    entry: str, catalogue: Sequence[Rule], where: str
) -> tuple[str, Severity | None]:
    name, sep, level = entry.partition("=")
    if not sep:
        raise pytest.UsageError(
            f"{where}: expected RULE=LEVEL, got {entry!r}; LEVEL is one of "
            f"{', '.join(SEVERITY_CHOICES)}"
        )
    target = _resolve_rule(name.strip(), catalogue, where)
    level = level.strip().lower()
    if level not in SEVERITY_CHOICES:
        raise pytest.UsageError(
            f"{where}: invalid severity {level!r} for {target.name}; valid: "
            f"{', '.join(SEVERITY_CHOICES)}"
        )
    return target.name, None if level == "off" else Severity.parse(level)
