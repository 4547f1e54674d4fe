"""Layouts: how one pipeline lays out its results tree, and how to read one run of it."""

from __future__ import annotations

import abc
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ..records import RunRecord


@dataclass(frozen=True)
class RunRef:
    """A run found at collection time: where it is, nothing read yet."""

    run_id: str
    """Run folder relative to the results root (POSIX), ``.`` for the root itself."""
    path: Path
    """Absolute run folder."""
    record: str
    """Main record file name inside the folder."""


@dataclass(frozen=True)
class Folder:
    """One folder of the results tree as listed by the walk (names only, no content read)."""

    rel: str
    path: Path
    files: frozenset[str]
    """Names of the entries that are not folders (files, FIFOs, links to files or nowhere)."""
    names: frozenset[str] = frozenset()
    """Names of all entries, folders included: a record that is a folder must still be seen."""


@dataclass
class Tree:
    """The results tree, walked once: folders in sorted order, and what was not followed."""

    root: Path
    folders: list[Folder] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Symbolic links not followed and folders that could not be listed, one line each."""


@dataclass(frozen=True)
class LoadOptions:
    """Settings that change how a run is read."""

    scope_ignore: tuple[str, ...] = ("model_patch.diff", ".bench_scratch/*")
    """Globs of pipeline artefacts that do not count as out-of-scope edits."""


class Layout(abc.ABC):
    """One pipeline's on-disk format. Subclass it and return an instance from
    ``pytest_e2e_audit_layouts``."""

    name: ClassVar[str]
    """Kebab-case name used by ``--e2e-layout``."""
    description: ClassVar[str]
    """One line for ``--help`` and error messages."""

    @abc.abstractmethod
    def discover(self, tree: Tree) -> Iterator[RunRef]:
        """Yield the runs of ``tree`` in a stable order, from file names only."""

    @abc.abstractmethod
    def load(self, ref: RunRef, root: Path, options: LoadOptions) -> RunRecord:
        """Read one run. Must not raise for bad input: report it in the record instead."""


def walk(root: Path) -> Tree:
    """List ``root`` recursively, sorted, without reading any file.

    Folder links are followed only when they resolve inside ``root`` and were not visited
    already (so link loops end); anything else is listed in ``Tree.notes``.
    """
    tree = Tree(root)
    seen: set[tuple[int, int]] = set()
    try:
        root_stat = root.stat()
    except OSError as exc:
        tree.notes.append(f"{root}: cannot be listed: {exc.strerror or exc}")
        return tree
    seen.add((root_stat.st_dev, root_stat.st_ino))
    stack: list[tuple[str, Path]] = [(".", root)]
    while stack:
        rel, path = stack.pop()
        files: list[str] = []
        subdirs: list[tuple[str, Path]] = []
        try:
            with os.scandir(path) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            tree.notes.append(f"{rel}: cannot be listed: {exc.strerror or exc}; skipped")
            continue
        for entry in listed:
            child_rel = entry.name if rel == "." else f"{rel}/{entry.name}"
            try:
                if entry.is_symlink():
                    target = _link_target(Path(entry.path), root)
                    if isinstance(target, str):
                        if os.path.isdir(entry.path):
                            tree.notes.append(f"{child_rel}: {target}")
                        else:
                            # Listed by name; reading it reports the link as a file problem.
                            files.append(entry.name)
                        continue
                    st = target.stat()
                    if stat.S_ISDIR(st.st_mode):
                        key = (st.st_dev, st.st_ino)
                        if key in seen:
                            tree.notes.append(
                                f"{child_rel}: symbolic link to a folder already walked; "
                                "not followed again"
                            )
                            continue
                        seen.add(key)
                        subdirs.append((child_rel, Path(entry.path)))
                    else:
                        files.append(entry.name)
                elif entry.is_dir(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    key = (st.st_dev, st.st_ino)
                    if key not in seen:
                        seen.add(key)
                        subdirs.append((child_rel, Path(entry.path)))
                else:
                    files.append(entry.name)
            except OSError as exc:
                tree.notes.append(f"{child_rel}: cannot be inspected: {exc.strerror or exc}")
        names = frozenset(files) | {name.rsplit("/", 1)[-1] for name, _ in subdirs}
        tree.folders.append(Folder(rel, path, frozenset(files), names))
        stack.extend(reversed(subdirs))
    tree.folders.sort(key=lambda folder: folder.rel.split("/"))
    return tree


def _link_target(link: Path, root: Path) -> Path | str:
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return "broken or looping symbolic link; not followed"
    if not target.is_relative_to(root):
        return "symbolic link to a path outside the results root; not followed"
    return target
