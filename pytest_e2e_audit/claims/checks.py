"""Evaluating one claim: its settings against the config files, its ``stops`` against runs."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .._text import clean, plural
from ..digest import ApiErrorDigest, RunDigest
from ..findings import Location, Severity
from ..rules import Rule
from .config import DocPath, DocumentError, read_document
from .model import Claim, glob_start, split_glob
from .rules import (
    claim_config_missing,
    claim_contradicted_by_runs,
    claim_not_applied,
    claim_unverifiable,
)
from .runs import RunSample

SHOWN_RUNS = 3
"""Runs named in a ``claim-contradicted-by-runs`` message; the rest are counted."""
SEARCH_BUDGET = 100_000
"""Folder entries one claim's config search looks at before it stops (and says so)."""
LINK_OUT_OF_ROOT = "is a symbolic link out of the claims root; not read"
BROKEN_LINK = "is a broken symbolic link; not read"

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


@dataclass(frozen=True)
class SearchNote:
    """Something a config search could not do; a ``claim-unverifiable`` finding."""

    pattern: str
    """The glob being searched."""
    path: Path
    """Where (absolute, as walked, links not resolved)."""
    problem: str
    """What is wrong there, e.g. ``is a symbolic link out of the claims root; not read``."""
    budget: bool = False
    """The search stopped here because it had looked at ``SEARCH_BUDGET`` entries."""

    def message(self, show: Show, reference: str) -> str:
        """The finding's message; ``reference`` is the claim's ``Claim.reference()``."""
        where = clean(show(self.path), 200)
        glob = f'"{clean(self.pattern, 80)}"'
        if self.budget:
            return (
                f"config search for {glob} {self.problem}, in {where}; {reference} is not "
                "checked in files past them (narrow the globs)"
            )
        return f"{where} {self.problem} (config {glob}); {reference} is not checked in it"


@dataclass(frozen=True)
class ConfigSearch:
    """What a claim's ``config`` globs matched, and what the search could not look at.

    Iterating over it gives the files.
    """

    files: tuple[Path, ...]
    """Matched regular files, resolved, sorted, each once."""
    notes: tuple[SearchNote, ...] = ()
    """Links out of the root, folders that could not be listed, a spent budget; in walk
    order."""

    def __iter__(self) -> Iterator[Path]:
        return iter(self.files)


@dataclass(frozen=True)
class _Part:
    """One ``/``-separated part of a glob, translated once."""

    regex: re.Pattern[str] | None
    """Matches one name; None for ``**`` (any number of folders)."""
    hidden: bool
    """The part starts with ``.``, so it may match names that do (as in glob)."""

    def matches(self, name: str) -> bool:
        if name.startswith(".") and not self.hidden:
            return False
        return self.regex is None or self.regex.match(os.path.normcase(name)) is not None


def _parts(pattern: Sequence[str]) -> tuple[_Part, ...]:
    return tuple(
        _Part(
            None if part == "**" else re.compile(fnmatch.translate(os.path.normcase(part))),
            part.startswith("."),
        )
        for part in pattern
    )


@dataclass
class _Search:
    """A bounded walk for ``config`` globs that never leaves ``root``.

    Like ``glob.glob(recursive=True)`` (``*``, ``?``, ``[...]``, ``**`` for any number of
    folders, hidden names matched only by parts starting with ``.``), except that symbolic
    links are followed only to a target inside ``root``, a folder is not searched twice for
    the same remaining parts (so link loops end), and at most ``budget`` entries are looked
    at. Whatever it skips is noted.
    """

    root: Path
    budget: int
    files: set[Path] = field(default_factory=set)
    notes: list[SearchNote] = field(default_factory=list)
    noted_budget: bool = False

    def _spend(self, pattern: str, where: Path) -> bool:
        """Count one entry; False (noted once) when the budget is spent."""
        if self.budget > 0:
            self.budget -= 1
            return True
        if not self.noted_budget:
            self.noted_budget = True
            problem = f"stopped after {SEARCH_BUDGET:,} entries"
            self.notes.append(SearchNote(pattern, where, problem, budget=True))
        return False

    def _note(self, pattern: str, path: Path, problem: str) -> None:
        self.notes.append(SearchNote(pattern, path, problem))

    def _target(self, pattern: str, path: Path) -> tuple[Path, os.stat_result] | None:
        """``path`` resolved and stat'ed when it leads inside the root; else None, noted."""
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            self._note(pattern, path, BROKEN_LINK)
            return None
        if not real.is_relative_to(self.root):
            self._note(pattern, path, LINK_OUT_OF_ROOT)
            return None
        try:
            return real, real.stat()
        except OSError as exc:
            self._note(pattern, path, f"cannot be read ({exc.strerror or exc})")
            return None

    def search(self, base: Path, pattern: str) -> None:
        """Add the files ``pattern`` (relative to ``base``) matches; note what it cannot see."""
        try:
            start = glob_start(pattern, base, self.root)
        except ValueError as exc:
            self._note(pattern, base, f"is not searched: {exc}")
            return
        _, rest = split_glob(pattern)
        # The literal parts, one checked step at a time from the root: any may be a link.
        here = self.root
        try:
            real, st = here, here.stat()
        except OSError as exc:
            self._note(pattern, here, f"cannot be read ({exc.strerror or exc})")
            return
        for name in start.relative_to(self.root).parts:
            here = here / name
            if not self._spend(pattern, here) or not os.path.lexists(here):
                return
            if os.path.islink(here):
                target = self._target(pattern, here)
                if target is None:
                    return
                real, st = target
            else:
                real, st = here, here.lstat()
        if not rest:
            if stat.S_ISREG(st.st_mode):
                self.files.add(real.resolve())
        elif stat.S_ISDIR(st.st_mode):
            self._walk(pattern, here, st, _parts(rest))

    def _walk(
        self, pattern: str, start: Path, start_stat: os.stat_result, parts: tuple[_Part, ...]
    ) -> None:
        """Match ``parts`` below the folder ``start``, depth first, in name order."""
        last = len(parts) - 1

        def closure(states: set[int]) -> frozenset[int]:
            # ``**`` also matches no folder at all: the part after it applies here too.
            todo = list(states)
            while todo:
                i = todo.pop()
                if i <= last and parts[i].regex is None and i + 1 not in states:
                    states.add(i + 1)
                    todo.append(i + 1)
            return frozenset(states)

        first = closure({0})
        # A folder is searched once per set of remaining parts: links back up end here.
        seen = {(start_stat.st_dev, start_stat.st_ino, first)}
        stack: list[tuple[Path, frozenset[int]]] = [(start, first)]
        while stack:
            folder, states = stack.pop()
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as exc:
                problem = f"cannot be listed ({exc.strerror or exc}); not searched"
                self._note(pattern, folder, problem)
                continue
            below: list[tuple[Path, frozenset[int]]] = []
            for entry in entries:
                if not self._spend(pattern, folder):
                    return
                ends = False
                deeper: set[int] = set()
                for i in states:
                    if i > last or not parts[i].matches(entry.name):
                        continue
                    if parts[i].regex is None:  # ``**``: stays, or ends the glob
                        deeper.add(i)
                        ends = ends or i == last
                    elif i == last:
                        ends = True
                    else:
                        deeper.add(i + 1)
                if not ends and not deeper:
                    continue
                path = Path(entry.path)
                try:
                    if entry.is_symlink():
                        target = self._target(pattern, path)
                        if target is None:
                            continue
                        real, st = target
                    else:
                        real, st = path, entry.stat(follow_symlinks=False)
                except OSError as exc:
                    self._note(pattern, path, f"cannot be read ({exc.strerror or exc})")
                    continue
                if ends and stat.S_ISREG(st.st_mode):
                    self.files.add(real.resolve())
                elif deeper and stat.S_ISDIR(st.st_mode):
                    next_states = closure(deeper)
                    key = (st.st_dev, st.st_ino, next_states)
                    if key not in seen:
                        seen.add(key)
                        below.append((path, next_states))
            stack.extend(reversed(below))


def config_files(base: Path, patterns: Sequence[str], root: Path | None = None) -> ConfigSearch:
    """Files matching any of ``patterns`` (relative to ``base``) inside ``root`` (default
    ``base``), sorted, each once, with notes on what the search could not look at."""
    base = base.resolve()
    search = _Search(base if root is None else root.resolve(), SEARCH_BUDGET)
    for pattern in patterns:
        search.search(base, pattern)
    return ConfigSearch(tuple(sorted(search.files)), tuple(search.notes))


def check_config(
    claim: Claim, base: Path, show: Show, root: Path | None = None
) -> Iterator[ClaimViolation]:
    """``claim-not-applied``, ``claim-config-missing``, unreadable configs and what the
    config search could not look at."""
    if not claim.settings:
        return
    search = config_files(base, claim.config, root)
    for note in search.notes:
        evidence = () if note.budget else (Location(file=clean(show(note.path), 200)),)
        yield ClaimViolation(claim_unverifiable, note.message(show, claim.reference()), evidence)
    files = search.files
    if not files and not search.notes:
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
    claim: Claim, kind: str, hits: list[tuple[RunDigest, ApiErrorDigest]]
) -> ClaimViolation:
    hits.sort(key=lambda hit: (_naive(hit[0].started) or datetime.min, hit[0].run_id))
    runs = len({facts.run_id for facts, _ in hits})
    occurrences = sum(count.count for _, count in hits)
    dates = sorted(f.started.date().isoformat() for f, _ in hits if f.started)
    period = ""
    if dates:
        period = f", on {dates[0]}" if dates[0] == dates[-1] else f", {dates[0]} to {dates[-1]}"
    shown: list[str] = []
    evidence: list[Location] = []
    for facts, count in hits[:SHOWN_RUNS]:
        where = Location(file=f"{facts.run_id}/{count.file}", line=count.line)
        started = facts.started.strftime("%Y-%m-%d %H:%M:%S") if facts.started else "?"
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


def _naive(when: datetime | None) -> datetime | None:
    return when.replace(tzinfo=None) if when is not None and when.tzinfo else when


def check_claim(
    claim: Claim,
    base: Path,
    show: Show,
    sample: RunSample | None,
    results: Path | None,
    root: Path | None = None,
) -> list[ClaimViolation]:
    """Every problem with ``claim``, in rule order; ``config`` globs stay inside ``root``
    (default ``base``)."""
    found = [*check_config(claim, base, show, root), *check_runs(claim, sample, results)]
    if not claim.settings and not claim.stops:
        found.append(
            ClaimViolation(
                claim_unverifiable,
                f"nothing to check: {claim.reference()} has no settings and no stops",
            )
        )
    return found
