"""Fast paths of the run reader give exactly what the paths they short-cut give.

Each speed-up reads a common file in one go where the general path streams it block by block;
the general path stays the definition, and these tests hold the two together on the bundled
real runs and on the awkward cases (ANSI codes, invalid UTF-8, blank files)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from pytest_e2e_audit.layouts import perf_agents

from .conftest import RUNS

ARTEFACTS = ("model_patch.diff", "*.orig", "**/__pycache__/*", ".bench/*")


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, object], ...]:
    st = path.stat()
    fast = perf_agents._patch_content(path, st, ARTEFACTS)
    with monkeypatch.context() as m:
        m.setattr(perf_agents, "_WHOLE_PATCH_BYTES", -1)  # the block loop only
        slow = perf_agents._patch_content(path, st, ARTEFACTS)
    return fast, slow


@pytest.mark.parametrize(
    "path", sorted(RUNS.rglob("model_patch.diff")), ids=lambda p: p.parent.name
)
def test_patch_facts_from_one_read_equal_the_block_loops_on_real_patches(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = _both(path, monkeypatch)
    assert fast == slow


_DIFF = "diff --git a/src/x.py b/src/x.py\n--- a/src/x.py\n+++ b/src/x.py\n@@ -1 +1 @@\n-a\n+b\n"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\n \t\n",
        _DIFF.encode(),
        (_DIFF + "diff --git a/model_patch.diff b/model_patch.diff\n").encode(),
        ("\x1b[32m" + _DIFF + "\x1b[0m").encode(),
        _DIFF.encode() + b"\xff\xfe binary junk\n",
        _DIFF.replace("\n", "\r\n").encode(),
        ("diff --git a/caf\u00e9.py b/caf\u00e9.py\n").encode(),
        b"\xe2\x80\xa8\n",
    ],
    ids=lambda c: repr(c[:12]),
)
def test_patch_facts_from_one_read_equal_the_block_loops_on_awkward_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    path = tmp_path / "model_patch.diff"
    path.write_bytes(content)
    fast, slow = _both(path, monkeypatch)
    assert fast == slow


def test_the_one_read_is_taken_for_a_plain_patch(tmp_path: Path) -> None:
    # Otherwise the test above compares the block loop with itself.
    path = tmp_path / "model_patch.diff"
    path.write_text(_DIFF)
    assert perf_agents._plain_text(path, path.stat()) == _DIFF


@pytest.mark.parametrize(
    "name",
    [
        "model_patch.diff",
        "src/model_patch.diff",
        "a.orig",
        "x/y/__pycache__/m.pyc",
        ".bench/out",
        ".bench/a/b",
        "src/x.py",
        "",
        "a\nmodel_patch.diff",
    ],
)
def test_one_pattern_for_all_globs_matches_as_fnmatch_does(name: str) -> None:
    expected = any(fnmatch.fnmatchcase(name, glob) for glob in ARTEFACTS)
    assert perf_agents._ignored(name, ARTEFACTS) is expected
    assert perf_agents._ignored(name, ()) is False
