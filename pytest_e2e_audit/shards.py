"""Sharding: one tree audited by several sessions, its dataset checks by one merge session.

pytest keeps every item's reports (and ``--junitxml`` an XML element per test case) until the
session ends: about 14 KB per item with ``--junitxml`` before the audit adds anything, so a
100,000-run tree needs well over a gigabyte in one session. ``--e2e-shard=K/N`` audits part
K of N of the runs and writes their digests (``--e2e-digests=FILE``); ``--e2e-merge=FILE,...``
then runs the dataset (and claim) checks over the digests of all N parts without reading a
run again, and refuses parts that do not add up to the whole tree.

Runs are split by the folder their layout groups them in (a perf-agents-bench batch, the
folder holding ProjectScylla experiments), so every batch rule sees all of its batch in one
shard. Those folders, sorted, are cut into N contiguous parts of about equal run counts, and
each part gets at least one folder: the same tree gives the same split in every session.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .digest import RunDigest

FORMAT = "pytest-e2e-audit digests"
VERSION = 1
_SHARD_RE = re.compile(r"\s*([0-9]{1,4})\s*/\s*([0-9]{1,4})\s*")


def parse_shard(text: str, where: str) -> tuple[int, int]:
    """``K/N`` as ``(K, N)`` with ``1 <= K <= N``; anything else is a usage error."""
    match = _SHARD_RE.fullmatch(text)
    k, n = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not match or not 1 <= k <= n:
        raise pytest.UsageError(
            f"{where}: expected K/N with 1 <= K <= N (this session audits part K of N), "
            f"got {text!r}"
        )
    return k, n


def split(counts: Sequence[int], parts: int) -> list[int]:
    """The part (0-based) of each of ``counts``' folders, in order: contiguous, about equal
    run counts, none empty when there are at least ``parts`` folders."""
    total = sum(counts) or 1
    out: list[int] = []
    part = 0
    done = 0
    for index, count in enumerate(counts):
        left = len(counts) - index  # folders not yet placed, this one included
        if out and out[-1] == part and part < parts - 1:
            filled = done >= (part + 1) * total / parts
            if filled or left <= parts - 1 - part:
                part += 1
        out.append(part)
        done += count
    return out


def shard_of(keys: Sequence[str], shard: tuple[int, int]) -> tuple[set[str], int]:
    """The folder keys in part ``shard`` (``(K, N)``) of a tree whose runs have ``keys``
    (one per run, repeats allowed), and the number of distinct folders."""
    counts: dict[str, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts, key=lambda key: key.split("/"))
    parts = split([counts[key] for key in ordered], shard[1])
    mine = {key for key, part in zip(ordered, parts, strict=True) if part == shard[0] - 1}
    return mine, len(ordered)


@dataclass(frozen=True)
class Header:
    """The first line of a digests file: which tree, which part, and whether it is whole."""

    results: str
    shard: tuple[int, int]
    tree_runs: int
    runs: int
    complete: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "results": self.results,
            "shard": list(self.shard),
            "tree_runs": self.tree_runs,
            "runs": self.runs,
            "complete": self.complete,
        }


def write_digests(path: Path, header: Header, digests: Iterable[RunDigest]) -> None:
    """One JSON line for the header, then one per run; written beside and moved into place,
    so a merge never reads half a file."""
    temporary = path.with_name(f".{path.name}.e2e-{os.getpid()}")
    try:
        with open(temporary, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(header.to_dict(), ensure_ascii=False) + "\n")
            for digest in digests:
                fh.write(json.dumps(digest.to_dict(), ensure_ascii=False) + "\n")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@dataclass
class Merged:
    """What the merge session works from."""

    results: str
    parts: int
    tree_runs: int
    digests: list[RunDigest]


def read_digests(paths: Sequence[Path], where: str) -> Merged:
    """Every part's digests; a usage error naming the file (and line) when a file is not a
    digests file, is incomplete, or the files are not exactly the N parts of one tree."""
    headers: list[tuple[Path, Header]] = []
    digests: list[RunDigest] = []
    for path in paths:
        header, found = _read_one(path, where)
        headers.append((path, header))
        digests.extend(found)
    roots = {h.results for _, h in headers}
    if len(roots) > 1:
        raise pytest.UsageError(
            f"{where}: the digest files come from different results trees: "
            + "; ".join(f"{p}: {h.results}" for p, h in headers)
        )
    counts = {(h.shard[1], h.tree_runs) for _, h in headers}
    if len(counts) > 1:
        raise pytest.UsageError(
            f"{where}: the digest files split the tree differently (parts, runs in the tree): "
            + "; ".join(f"{p}: {h.shard[1]} parts, {h.tree_runs:,} runs" for p, h in headers)
        )
    parts, tree_runs = next(iter(counts))
    seen: dict[int, Path] = {}
    for path, header in headers:
        if header.shard[0] in seen:
            raise pytest.UsageError(
                f"{where}: part {header.shard[0]} of {parts} is given twice: "
                f"{seen[header.shard[0]]} and {path}"
            )
        seen[header.shard[0]] = path
    missing = [k for k in range(1, parts + 1) if k not in seen]
    if missing:
        raise pytest.UsageError(
            f"{where}: part{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(str, missing))} of {parts} missing; the runs in "
            f"{'them are' if len(missing) > 1 else 'it are'} not audited "
            "(give every part's digests file)"
        )
    counted = Counter(d.run_id for d in digests)
    twice = sorted(run for run, n in counted.items() if n > 1)[:5]
    if twice:
        raise pytest.UsageError(f"{where}: runs in more than one part: {', '.join(twice)}")
    if len(digests) != tree_runs:
        raise pytest.UsageError(
            f"{where}: the parts hold {len(digests):,} runs but the tree had {tree_runs:,} when "
            "they were audited: audit every part of the same tree again"
        )
    return Merged(next(iter(roots)), parts, tree_runs, digests)


def _read_one(path: Path, where: str) -> tuple[Header, list[RunDigest]]:
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed below, lines read lazily
    except OSError as exc:
        raise pytest.UsageError(f"{where}: {path}: cannot be read: {exc.strerror}") from None
    with fh:
        lines = _lines(fh, path, where)
        first = next(lines, None)
        if first is None:
            raise pytest.UsageError(f"{where}: {path}: empty; not a digests file")
        header = _header(first[1], path, where)
        found = [_digest(data, path, number, where) for number, data in lines]
    if len(found) != header.runs:
        raise pytest.UsageError(
            f"{where}: {path}: holds {len(found):,} runs but says {header.runs:,}: truncated?"
        )
    return header, found


def _lines(fh: Any, path: Path, where: str) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:
            raise pytest.UsageError(f"{where}: {path}:{number}: not JSON ({exc})") from None


def _header(data: Any, path: Path, where: str) -> Header:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise pytest.UsageError(
            f"{where}: {path}:1: not a digests file (write one with --e2e-digests)"
        )
    if data.get("version") != VERSION:
        raise pytest.UsageError(
            f"{where}: {path}:1: digests format version {data.get('version')!r}; this "
            f"version of the plugin reads {VERSION}"
        )
    try:
        k, n = (int(x) for x in data["shard"])
        header = Header(
            results=str(data["results"]),
            shard=(k, n),
            tree_runs=int(data["tree_runs"]),
            runs=int(data["runs"]),
            complete=bool(data["complete"]),
        )
    except (KeyError, TypeError, ValueError):
        raise pytest.UsageError(f"{where}: {path}:1: malformed digests header") from None
    if not header.complete:
        raise pytest.UsageError(
            f"{where}: {path}: part {k} of {n} was not audited completely (the session was "
            "interrupted or lost runs); audit it again before merging"
        )
    return header


def _digest(data: Any, path: Path, number: int, where: str) -> RunDigest:
    try:
        if not isinstance(data, dict):
            raise TypeError
        return RunDigest.from_dict(data)
    except (KeyError, TypeError, ValueError):
        raise pytest.UsageError(f"{where}: {path}:{number}: not a run digest") from None
