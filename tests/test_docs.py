"""The README's catalogue is the code's catalogue, and its commands are the ones CI runs.

The README's example outputs are checked in test_readme_examples.py."""

from __future__ import annotations

import re

import pytest

from pytest_e2e_audit import catalogue

from .conftest import EXAMPLES, PROJECT


def _section(text: str) -> str:
    start = text.index(catalogue.BEGIN)
    end = text.index(catalogue.END) + len(catalogue.END)
    return text[start:end]


def test_readme_catalogue_is_the_generated_one() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert _section(readme) == catalogue.markdown()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8")
    command = "python -m pytest"
    assert f"```bash\n{command}\n```" in readme
    assert ci.rstrip().splitlines()[-1] == command


def test_readme_catalogue_lists_every_rule_the_plugin_registers(
    pytester: pytest.Pytester,
) -> None:
    # The plugin names every registered rule when --e2e-select gets an unknown one.
    result = pytester.runpytest(f"--e2e-results={EXAMPLES}", "--e2e-select=no-such-rule")
    valid = result.stderr.str().split("valid: ", 1)[1]
    registered = set(re.findall(r"\b(E2E\d{3}) ", valid))
    readme = _section((PROJECT / "README.md").read_text(encoding="utf-8"))
    listed = set(re.findall(r"^\| (E2E\d{3}) \|", readme, flags=re.M))
    assert len(registered) > 25
    assert listed == registered
