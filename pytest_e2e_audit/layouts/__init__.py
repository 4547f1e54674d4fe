"""Layouts: how one pipeline lays out its results tree, and how to read one run of it."""

from __future__ import annotations

import abc
import errno
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from .._text import clean
from ..records import FileIssue, GroupRecord, RunRecord


@dataclass(frozen=True, slots=True, init=False)
class RunRef:
    """A run found at collection time: where it is, nothing read yet.

    One lives for the whole session per run, so it is kept small: the folder is held as a
    string (a ``Path`` costs about half a kilobyte more) and ``path`` makes one on demand."""

    run_id: str
    """Run folder relative to the results root (POSIX), ``.`` for the root itself."""
    folder: str
    """Absolute run folder."""
    record: str
    """Main record file name inside the folder."""
    problem: str | None
    """Set for a folder of the tree that could not be walked (not listable, a link out of
    the root): runs in it may be lost, so it is audited as an unreadable run."""

    def __init__(
        self, run_id: str, path: str | os.PathLike[str], record: str, problem: str | None = None
    ) -> None:
        object.__setattr__(self, "run_id", run_id)
        object.__setattr__(self, "folder", os.fspath(path))
        object.__setattr__(self, "record", record)
        object.__setattr__(self, "problem", problem)

    @property
    def path(self) -> Path:
        """Absolute run folder."""
        return Path(self.folder)


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
    """What was skipped without losing a run (a link to a folder already walked), one line
    each."""
    problems: list[RunRef] = field(default_factory=list)
    """Folders that could not be walked, so runs in them may be lost; each one is audited
    as an unreadable run (``RunRef.problem`` says why)."""

    def problem(self, rel: str, path: Path, text: str) -> None:
        self.problems.append(RunRef(rel, path, ".", problem=text))


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

    def shard_key(self, ref: RunRef) -> str:
        """The folder that keeps a run in one part of a sharded audit (``--e2e-shard``): every
        run a group rule looks at together must share it. The run folder's parent (the batch)
        unless the layout says otherwise."""
        return ref.run_id.rsplit("/", 1)[0] if "/" in ref.run_id else "."

    def load_group(self, kind: str, key: str, root: Path) -> GroupRecord | None:
        """Read what a group's own files say (summaries of its runs), or None when the
        layout keeps none. Called once per group, after the run items, in the process that
        writes the reports; must not raise for bad input."""
        return None


def load_run(layout: Layout, ref: RunRef, root: Path, options: LoadOptions) -> RunRecord:
    """``layout.load`` that never raises: a folder that could not be walked, or any
    exception from the reader, becomes an unreadable record naming the file and the error,
    so the run is counted and fails instead of vanishing."""
    if ref.problem is not None:
        return unreadable(ref, layout.name, ".", ref.problem)
    try:
        return layout.load(ref, root, options)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; enforce it
        reason = clean(f"{type(exc).__name__}: {exc}", 300)
        return unreadable(
            ref,
            layout.name,
            ref.record,
            f"could not be read: the {layout.name} reader failed with {reason}",
        )


def unreadable(ref: RunRef, layout: str, file: str, problem: str) -> RunRecord:
    """A record for a run whose record (or folder) cannot be read."""
    return RunRecord(
        run_id=ref.run_id,
        layout=layout,
        record_file=ref.record,
        readable=False,
        file_issues=(FileIssue(file=file, problem=problem, is_record=True),),
    )


PSEUDO_FILESYSTEMS = frozenset(
    {
        "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs",
        "securityfs", "pstore", "bpf", "configfs", "fusectl", "mqueue", "hugetlbfs",
        "binfmt_misc", "efivarfs", "selinuxfs", "rpc_pipefs", "nsfs", "autofs",
    }
)  # fmt: skip
"""Filesystem types that hold kernel state, not files: never walked."""


def pseudo_mounts(table: Path = Path("/proc/self/mounts")) -> dict[str, str]:
    """Mount points of pseudo-filesystems (path -> type), from the mount table where there
    is one (Linux); empty elsewhere."""
    try:
        text = table.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    found: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] in PSEUDO_FILESYSTEMS:
            # The table escapes spaces and the like as octal (\040).
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[1])
            found[point] = parts[2]
    return found


def walk(root: Path) -> Tree:
    """List ``root`` recursively, sorted, without reading any file.

    Folder links are followed only when they resolve inside ``root`` and were not visited
    already (so link loops end); pseudo-filesystems (``/proc`` …) are never entered. A folder
    that cannot be listed or followed is a ``Tree.problems`` entry: runs in it may be lost.
    """
    tree = Tree(root)
    seen: set[tuple[int, int]] = set()
    pseudo = pseudo_mounts()
    try:
        root_stat = root.stat()
    except OSError as exc:
        tree.problem(".", root, f"cannot be listed: {_os_error(exc)}")
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
            tree.problem(
                rel, path, f"cannot be listed: {_os_error(exc)}; runs in it are not audited"
            )
            continue
        for entry in listed:
            try:
                if not entry.is_symlink() and not entry.is_dir(follow_symlinks=False):
                    files.append(entry.name)  # the common case: no Path, no stat
                    continue
            except OSError:
                pass  # inspected again below, where the problem is recorded
            child_rel = entry.name if rel == "." else f"{rel}/{entry.name}"
            child = Path(entry.path)
            try:
                if entry.is_symlink():
                    target = _link_target(child, root)
                    if isinstance(target, str):
                        if os.path.isdir(entry.path):
                            tree.problem(
                                child_rel, child, f"{target}, so runs in it are not audited"
                            )
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
                        subdirs.append((child_rel, child))
                    else:
                        files.append(entry.name)
                elif entry.is_dir(follow_symlinks=False):
                    if entry.path in pseudo:
                        tree.problem(
                            child_rel,
                            child,
                            f"is a mount of the {pseudo[entry.path]} pseudo-filesystem; not walked",
                        )
                        continue
                    st = entry.stat(follow_symlinks=False)
                    key = (st.st_dev, st.st_ino)
                    if key not in seen:
                        seen.add(key)
                        subdirs.append((child_rel, child))
                else:
                    files.append(entry.name)
            except OSError as exc:
                tree.problem(
                    child_rel,
                    child,
                    f"cannot be inspected: {_os_error(exc)}; runs in it are not audited",
                )
        names = frozenset(files) | {name.rsplit("/", 1)[-1] for name, _ in subdirs}
        tree.folders.append(Folder(rel, path, frozenset(files), names))
        stack.extend(reversed(subdirs))
    tree.folders.sort(key=lambda folder: folder.rel.split("/"))
    tree.problems.sort(key=lambda ref: ref.run_id.split("/"))
    return tree


def _link_target(link: Path, root: Path) -> Path | str:
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return "is a broken or looping symbolic link; not followed"
    if not target.is_relative_to(root):
        return "is a symbolic link to a folder outside the results root; not followed"
    return target


def _os_error(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    return f"{reason} ({name})" if name else reason
