"""Hook specifications other plugins (or a ``conftest.py``) implement to extend the audit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .layouts import Layout
    from .rules import Rule


@pytest.hookspec
def pytest_e2e_audit_layouts() -> list[Layout]:  # type: ignore[empty-body]
    """Return the results-tree layouts this plugin contributes.

    Auto-detection tries layouts in hook-call order (plugins registered later, such as a
    ``conftest.py``, first) and picks the first that finds at least one run.
    ``--e2e-layout=NAME`` forces one by its ``name``.
    """


@pytest.hookspec
def pytest_e2e_audit_rules() -> list[Rule]:  # type: ignore[empty-body]
    """Return the rules this plugin contributes.

    Codes and names must be unique across all plugins; the audit refuses to start otherwise.
    Rules run in code order.
    """
