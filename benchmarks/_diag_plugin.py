"""Diagnostic pytest plugin used by ``run.py`` (scenario b), never by the audit itself.

It measures what part of the peak RSS of a large audit comes from the plugin keeping data
for every run until the session ends. ``E2E_BENCH_DIAG`` (comma-separated) picks what to
drop:

* ``findings``: each ``RunItem.findings`` list (pydantic ``Finding``/``Location`` objects),
  dropped once the item is torn down;
* ``properties``: the JUnit properties of each run except ``e2e.run``, ``e2e.findings``,
  ``e2e.failing`` and ``e2e.verified_success`` (the summary needs those), dropped before the
  call report is built. pytest copies ``user_properties`` into every report it keeps, and
  ``--junitxml`` keeps one XML element per property until the session ends.

Load it with ``PYTHONPATH=benchmarks E2E_BENCH_DIAG=findings python -m pytest -p _diag_plugin``.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

MODES = {m.strip() for m in os.environ.get("E2E_BENCH_DIAG", "findings").split(",")}
KEEP = {"e2e.run", "e2e.findings", "e2e.failing", "e2e.verified_success"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        if "properties" in MODES:
            item.user_properties[:] = [(k, v) for k, v in item.user_properties if k in KEEP]


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    if "findings" in MODES and hasattr(item, "findings"):
        item.findings = []  # type: ignore[attr-defined]
