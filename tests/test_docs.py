"""The README's catalogue is the code's catalogue, and its commands are the ones CI runs."""

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


def test_readme_dataset_summary_is_what_the_audit_prints(pytester: pytest.Pytester) -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Reading the dataset summary") :]
    block = section[section.index("```\n") + 4 : section.index("\n```", section.index("```\n") + 4)]
    result = pytester.runpytest(f"--e2e-results={EXAMPLES}", "-p", "no:cacheprovider")
    printed = set(result.stdout.lines)
    missing = [line for line in block.splitlines() if line not in printed]
    assert missing == []


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


def test_readme_projectscylla_findings_are_what_the_audit_prints(
    pytester: pytest.Pytester,
) -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Auditing ProjectScylla results") :]
    block = section[section.index("```\n") + 4 : section.index("\n```", section.index("```\n") + 4)]
    shown = [line for line in block.splitlines() if line.startswith(("E2E0", "failure classes"))]
    result = pytester.runpytest(
        f"--e2e-results={PROJECT / 'examples' / 'projectscylla-dryrun'}", "-p", "no:cacheprovider"
    )
    printed = set(result.stdout.lines)
    assert len(shown) >= 4
    assert [line for line in shown if line not in printed] == []
