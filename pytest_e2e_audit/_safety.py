"""What the audit refuses before it reads anything: trees it must not walk, and pytest
settings that would let the audited tree configure the audit or be written to.

The results tree is untrusted (see README, "Security model"). pytest itself would import a
``conftest.py`` and read a ``pytest.ini`` found in it when pytest runs from inside the tree,
so those checks run in ``pytest_load_initial_conftests``, before any conftest is imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from ._settings import path_option
from .layouts import pseudo_mounts

SAFE_RUN = (
    "run pytest from a folder outside the results tree and name the tree with "
    "--e2e-results (add --rootdir=DIR and -c FILE to choose the rootdir and ini file "
    "yourself, or --noconftest to import no conftest.py at all)"
)


def early_results(config: pytest.Config) -> tuple[Path, str] | None:
    """The results folder asked for, read before the command line is fully parsed."""
    value = getattr(config.known_args_namespace, "e2e_results", None)
    return path_option(config, value, "--e2e-results", "e2e_results")


def _resolve(base: Path, value: str) -> Path:
    try:
        return (base / value).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(base / value))


def check_tree_location(results: Path, where: str) -> None:
    """Refuse a filesystem root and pseudo-filesystems: walking them reads the whole
    machine (``/proc`` holds a link to every process's working folder)."""
    if results.parent == results:
        raise pytest.UsageError(
            f"{where}: {results} is the root of a filesystem; name the folder that holds the "
            "recorded runs"
        )
    for point, kind in pseudo_mounts().items():
        mount = Path(point)
        if results == mount or results.is_relative_to(mount):
            raise pytest.UsageError(
                f"{where}: {results} is on the {kind} pseudo-filesystem ({point}), which holds "
                "kernel state, not recorded runs"
            )


def check_config_outside(config: pytest.Config, results: Path, where: str) -> None:
    """Refuse when the results tree would configure pytest or have its conftest imported.

    A ``pytest.ini`` in the tree can switch rules off; a ``conftest.py`` in it runs code;
    a rootdir in it gets a ``.pytest_cache`` written into it.
    """
    inside = f"is inside the results tree {results} ({where})"
    if config.inipath is not None and _within(config.inipath, results):
        raise pytest.UsageError(
            f"e2e-audit: the ini file {config.inipath} {inside}: the audited tree would "
            f"configure its own audit; {SAFE_RUN}"
        )
    if _within(config.rootpath, results):
        raise pytest.UsageError(
            f"e2e-audit: the rootdir {config.rootpath} {inside}: pytest would read its "
            f"configuration and write its cache there; {SAFE_RUN}"
        )
    if getattr(config.known_args_namespace, "noconftest", False):
        return
    for anchor in _conftest_anchors(config):
        if _within(anchor, results):
            raise pytest.UsageError(
                f"e2e-audit: pytest would import conftest.py files from {anchor}, which "
                f"{inside}; {SAFE_RUN}"
            )


def _conftest_anchors(config: pytest.Config) -> Iterable[Path]:
    """The folders pytest loads initial ``conftest.py`` files from (and above): the test
    paths given (or ``testpaths``, or the invocation folder) and their ``test*`` folders."""
    here = config.invocation_params.dir
    args = [str(a).split("::", 1)[0] for a in config.known_args_namespace.file_or_dir or ()]
    if not args:
        args = [str(p) for p in config.getini("testpaths") or ()]
    anchors = [_resolve(here, a) for a in args if os.path.exists(here / a)] or [here.resolve()]
    for anchor in list(anchors):
        if anchor.is_dir():
            try:
                anchors.extend(p.resolve() for p in anchor.glob("test*") if p.is_dir())
            except OSError:
                continue
    return anchors


def _within(path: Path, root: Path) -> bool:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        resolved = path
    return resolved == root or resolved.is_relative_to(root)


def refuse_writes_into(config: pytest.Config, results: Path) -> None:
    """The audit never writes into the results tree: refuse outputs that would land there."""
    outputs: list[tuple[str, object]] = [
        ("--junitxml", getattr(config.option, "xmlpath", None)),
        ("--html", getattr(config.option, "htmlpath", None)),
        ("--e2e-rerun-list", getattr(config.option, "e2e_rerun_list", None)),
        ("--e2e-markdown", getattr(config.option, "e2e_markdown", None)),
        ("--e2e-json", getattr(config.option, "e2e_json", None)),
        ("--e2e-digests", getattr(config.option, "e2e_digests", None)),
    ]
    if config.pluginmanager.has_plugin("cacheprovider"):
        cache_dir = config.rootpath / str(config.getini("cache_dir"))
        outputs.append(("pytest's cache_dir", cache_dir))
    for label, value in outputs:
        if not value:
            continue
        path = _resolve(config.invocation_params.dir, str(value))
        if _within(path, results):
            raise pytest.UsageError(
                f"{label}: {path} is inside the results tree {results}; the audit never writes "
                "there. Write reports elsewhere or run pytest from outside the tree"
            )
