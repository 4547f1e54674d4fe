"""Evaluating one claim: its settings against the config files, its ``stops`` against runs."""

from __future__ import annotations

import glob
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .._text import clean, plural
from ..findings import Finding, Location, Severity
from ..records import SignatureCount
from ..rules import Rule
from .config import DocPath, DocumentError, read_document
from .model import Claim
from .rules import (
    claim_config_missing,
    claim_contradicted_by_runs,
    claim_not_applied,
    claim_unverifiable,
)
from .runs import RunFacts, RunSample

SHOWN_RUNS = 3
"""Runs named in a ``claim-contradicted-by-runs`` message; the rest are counted."""

Show = Callable[[Path], str]
"""How a path is shown in a message (relative to the invocation folder when inside it)."""


@dataclass(frozen=True)
class ClaimViolation:
    """One problem with a claim, for the rule that reports it."""

    rule: Rule
    message: str
    evidence: tuple[Location, ...] = ()
    severity: Severity | None = None


@dataclass(frozen=True)
class Hit:
    """Where a dotted path led in a document: a value, or the node where it stopped."""

    path: DocPath
    """Concrete path of the value, or of the node where matching stopped."""
    found: bool
    node: Any
    """The value found, or the node that has no match for ``missing``."""
    missing: str = ""
    """The path part that matched nothing (a key, an index or ``*``)."""


def resolve(node: Any, parts: Sequence[str], at: DocPath = ()) -> Iterator[Hit]:
    """Every place ``parts`` (a split dotted path, ``*`` = any key or index) leads to."""
    if not parts:
        yield Hit(at, True, node)
        return
    part, rest = parts[0], parts[1:]
    if part == "*":
        children: list[tuple[str | int, Any]] = []
        if isinstance(node, dict):
            children = list(node.items())
        elif isinstance(node, list):
            children = list(enumerate(node))
        if not children:
            yield Hit(at, False, node, part)
        for key, child in children:
            yield from resolve(child, rest, (*at, key))
    elif isinstance(node, dict) and part in node:
        yield from resolve(node[part], rest, (*at, part))
    elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
        yield from resolve(node[int(part)], rest, (*at, int(part)))
    else:
        yield Hit(at, False, node, part)


def same_value(actual: Any, expected: Any) -> bool:
    """Equality that keeps ``true`` apart from ``1`` and ``"false"`` apart from ``false``."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        return actual == expected
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            same_value(actual[k], expected[k]) for k in actual
        )
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(
            same_value(a, e) for a, e in zip(actual, expected, strict=True)
        )
    return type(actual) is type(expected) and bool(actual == expected)


def show_value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return clean(text, 80)


def dotted(path: DocPath) -> str:
    return ".".join(str(part) for part in path) if path else "the document"


def config_files(base: Path, patterns: Sequence[str]) -> list[Path]:
    """Files matching any of ``patterns`` (relative to ``base``), sorted, each once."""
    found: set[Path] = set()
    for pattern in patterns:
        for name in glob.glob(pattern, root_dir=base, recursive=True):
            path = base / name
            if path.is_file():
                found.add(path.resolve())
    return sorted(found)


def check_config(claim: Claim, base: Path, show: Show) -> Iterator[ClaimViolation]:
    """``claim-not-applied``, ``claim-config-missing`` and unreadable configs."""
    if not claim.settings:
        return
    files = config_files(base, claim.config)
    if not files:
        globs = ", ".join(f'"{clean(g, 80)}"' for g in claim.config)
        yield ClaimViolation(
            claim_config_missing,
            f"no file matches config {globs} (relative to {show(base)}); "
            f"{claim.reference()} cannot be checked against its config",
        )
        return
    for file in files:
        name = show(file)
        try:
            doc = read_document(file)
        except DocumentError as exc:
            at = f"{name}:{exc.line}" if exc.line else name
            yield ClaimViolation(
                claim_unverifiable,
                f"{at} {exc.problem}; {claim.reference()} cannot be checked in it",
                (Location(file=name, line=exc.line),),
            )
            continue
        for pattern, expected in claim.settings.items():
            wild = "*" in pattern.split(".")
            for hit in resolve(doc.value, pattern.split(".")):
                if hit.found and same_value(hit.node, expected):
                    continue
                where = Location(file=name, line=doc.line(hit.path))
                at = f"{where.file}:{where.line}" if where.line else where.file
                if hit.found:
                    state = f"{dotted(hit.path)} is {show_value(hit.node)}"
                else:
                    state = _missing(hit, pattern, wild)
                yield ClaimViolation(
                    claim_not_applied,
                    f"{at} {state}; {claim.reference()} says {show_value(expected)}",
                    (where,),
                )


def _missing(hit: Hit, pattern: str, wild: bool) -> str:
    parent = dotted(hit.path)
    container = isinstance(hit.node, (dict, list))
    if hit.missing == "*":
        why = "is empty" if container else f"is {show_value(hit.node)}, not a mapping or list"
        return f"nothing matches {pattern}: {parent} {why}"
    via = f" (path {pattern})" if wild else ""
    if isinstance(hit.node, dict):
        return f"{parent} has no key {json.dumps(hit.missing)}{via}"
    if isinstance(hit.node, list):
        return f"{parent} has no item {hit.missing} (it has {plural(len(hit.node), 'item')}){via}"
    return f"{parent} is {show_value(hit.node)}, not a mapping or list, so {pattern} is not set"


def check_runs(
    claim: Claim, sample: RunSample | None, results: Path | None
) -> Iterator[ClaimViolation]:
    """``claim-contradicted-by-runs``, and what about the runs cannot be checked."""
    if not claim.stops:
        return
    kinds = ", ".join(claim.stops)
    since = claim.since_text()
    if results is None or sample is None:
        yield ClaimViolation(
            claim_unverifiable,
            f"stops [{kinds}] needs recorded runs: pass --e2e-results (or set e2e_results) "
            f"to check {claim.reference()} against them",
        )
        return
    if not sample.found:
        yield ClaimViolation(
            claim_unverifiable,
            f"no recorded runs found under {results}; stops [{kinds}] of {claim.reference()} "
            "cannot be checked",
        )
        return
    for kind in claim.stops:
        hits = [
            (facts, count)
            for facts in sample.checked
            for count in facts.api_errors
            if count.kind == kind and count.count > 0
        ]
        if hits:
            yield _contradiction(claim, kind, hits)
    if sample.undated:
        shown = ", ".join(clean(r, 120) for r in sample.undated[:SHOWN_RUNS])
        more = len(sample.undated) - SHOWN_RUNS
        tail = f" (+{more:,} more)" if more > 0 else ""
        none_dated = "" if sample.checked else f"; no dated run started on or after {since}"
        yield ClaimViolation(
            claim_unverifiable,
            f"{plural(len(sample.undated), 'run')} without a start date not checked against "
            f"since {since}: {shown}{tail}{none_dated}",
            severity=Severity.INFO if sample.checked else None,
        )
    elif not sample.checked:
        yield ClaimViolation(
            claim_unverifiable,
            f"no run under {results} started on or after {since} "
            f"({plural(sample.earlier, 'earlier run')}); whether {claim.reference()} "
            f"stopped [{kinds}] cannot be checked yet",
        )


def _contradiction(
    claim: Claim, kind: str, hits: list[tuple[RunFacts, SignatureCount]]
) -> ClaimViolation:
    hits.sort(key=lambda hit: (hit[0].started_at or datetime.min, hit[0].run_id))
    runs = len({facts.run_id for facts, _ in hits})
    occurrences = sum(count.count for _, count in hits)
    dates = sorted(f.started_at.date().isoformat() for f, _ in hits if f.started_at)
    period = ""
    if dates:
        period = f", on {dates[0]}" if dates[0] == dates[-1] else f", {dates[0]} to {dates[-1]}"
    shown: list[str] = []
    evidence: list[Location] = []
    for facts, count in hits[:SHOWN_RUNS]:
        where = Location(file=f"{facts.run_id}/{count.first.file}", line=count.first.line)
        started = facts.started_at.strftime("%Y-%m-%d %H:%M:%S") if facts.started_at else "?"
        shown.append(f"{clean(str(where), 200)} ({started}, ×{count.count:,})")
        evidence.append(where)
    more = f" (+{len(hits) - SHOWN_RUNS:,} more)" if len(hits) > SHOWN_RUNS else ""
    since = claim.since_text()
    which = f"started on or after {since} " if since else ""
    verb = "shows" if runs == 1 else "show"
    stop = "it should stop" if since else "it should not appear"
    return ClaimViolation(
        claim_contradicted_by_runs,
        f"{plural(runs, 'run')} {which}{verb} {kind} ({plural(occurrences, 'occurrence')}"
        f"{period}): {'; '.join(shown)}{more}; {claim.reference()} says {stop}",
        tuple(evidence),
    )


def check_claim(
    claim: Claim,
    base: Path,
    show: Show,
    sample: RunSample | None,
    results: Path | None,
) -> list[ClaimViolation]:
    """Every problem with ``claim``, in rule order."""
    found = [*check_config(claim, base, show), *check_runs(claim, sample, results)]
    if not claim.settings and not claim.stops:
        found.append(
            ClaimViolation(
                claim_unverifiable,
                f"nothing to check: {claim.reference()} has no settings and no stops",
            )
        )
    return found


def to_findings(
    violations: Sequence[ClaimViolation],
    active: Sequence[Rule],
    overrides: Mapping[str, Severity],
) -> list[Finding]:
    """Findings of the active rules, severities overridden, in catalogue (code) order."""
    names = {entry.name for entry in active}
    findings = [
        Finding(
            code=v.rule.code,
            rule=v.rule.name,
            severity=overrides.get(v.rule.name, v.severity or v.rule.severity),
            message=v.message,
            evidence=v.evidence,
        )
        for v in violations
        if v.rule.name in names
    ]
    return sorted(findings, key=lambda f: f.code)
