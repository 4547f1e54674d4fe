"""The messages the README quotes inside its prose are what the audit prints.

The fenced examples are generated (tests/readme_examples.py); these are the shorter quotes in
running text and tables. Each is taken from README.md as written, ``…`` standing for any text,
and must match a line the real command prints (or, for the accepted-findings section, writes
into the HTML report) for the case the README describes.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
from pathlib import Path

import pytest

from .conftest import EXAMPLES, PROJECT, RunFactory, audit_args

README = (PROJECT / "README.md").read_text(encoding="utf-8")
CONFIG = EXAMPLES / "config" / "trae_config.yaml.example"


def _quote(starts: str) -> str:
    """The README's inline quote (between backticks) that starts with ``starts``."""
    prose = re.sub(r"^```.*?^```", "", README, flags=re.S | re.M)  # fenced blocks out
    quotes = [
        " ".join(q.split())
        for paragraph in re.split(r"\n\s*\n|\n(?=\|)", prose)  # spans end with their paragraph
        for q in re.findall(r"`([^`]+)`", paragraph)
    ]
    found = [q for q in quotes if q.startswith(starts)]
    assert len(found) == 1, f"{len(found)} quotes start with {starts!r}"
    return found[0]


def _printed(quote: str, output: str) -> None:
    """``quote`` (with ``…`` as a wildcard) is part of one line of ``output``."""
    pattern = "*" + quote.replace("[", "[[]").replace("…", "*") + "*"
    lines = output.splitlines()
    assert any(fnmatch.fnmatchcase(line, pattern) for line in lines), (quote, output[-3000:])


def _claims(
    folder: Path, config: str, settings: str = "models.*.parallel_tool_calls: false"
) -> Path:
    path = folder / "claims.yaml"
    path.write_text(
        "claims:\n"
        "  - id: no-parallel-tool-calls\n"
        "    text: Disabled parallel_tool_calls in trae_config.yaml\n"
        f"    config: [{config!r}]\n"
        "    settings:\n"
        "      models.*.parallel_tool_calls: false\n",
        encoding="utf-8",
    )
    return path


def _run_claims(pytester: pytest.Pytester, claims: Path) -> str:
    result = pytester.runpytest(f"--e2e-claims={claims}", "-p", "no:cacheprovider")
    return result.stdout.str()


@pytest.mark.parametrize(
    ("starts", "edit"),
    [
        ("config/trae_config.yaml:35 models.trae_agent_model", None),
        ("config/trae_config.yaml:36 models.lakeview_model has no key", 44),
        ("config/trae_config.yaml:26 nothing matches", "models"),
    ],
    ids=["differs", "missing key", "star matches nothing"],
)
def test_the_settings_table_quotes_what_a_claim_check_prints(
    pytester: pytest.Pytester, starts: str, edit: int | str | None
) -> None:
    # The table's config is the bundled example, as config/trae_config.yaml.
    lines = CONFIG.read_text(encoding="utf-8").split("\n")
    if isinstance(edit, int):
        del lines[edit - 1]  # lakeview_model's parallel_tool_calls
    elif edit == "models":
        start = lines.index("models:")
        lines[start] = "models: {}"
        # The models' own lines go; what follows them stays.
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i] and lines[i][0] != " "),
            len(lines),
        )
        del lines[start + 1 : end]
    config = pytester.path / "config" / "trae_config.yaml"
    config.parent.mkdir()
    config.write_text("\n".join(lines), encoding="utf-8")
    output = _run_claims(pytester, _claims(pytester.path, "config/trae_config.yaml"))
    _printed(_quote(starts), output)


def test_the_link_out_of_the_claims_root_quote(pytester: pytest.Pytester, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    shutil.copy(CONFIG, outside)
    (pytester.path / "config").mkdir()
    (pytester.path / "config" / "leak.yaml").symlink_to(outside)
    output = _run_claims(pytester, _claims(pytester.path, "config/*.yaml"))
    _printed(_quote("config/leak.yaml is a symbolic link out of the claims root"), output)


def test_the_stops_without_runs_quote(pytester: pytest.Pytester) -> None:
    claims = PROJECT / "examples" / "claims.yaml"
    result = pytester.runpytest(f"--e2e-claims={claims}", "-p", "no:cacheprovider")
    _printed(_quote("stops [no-tool-output] needs recorded runs"), result.stdout.str())


def test_the_partly_selected_dataset_quote(pytester: pytest.Pytester) -> None:
    quote = _quote("dataset: 5 of")
    wanted = int(quote.split()[1])
    selection = "claude_code or codex or openhands"
    result = pytester.runpytest(*audit_args(EXAMPLES, "-k", selection, dataset=True))
    runs = [line for line in result.stdout.lines if line.startswith("e2e-runs ")]
    assert runs, result.stdout.str()
    assert wanted == 5  # three claude_code runs, one codex, one openhands
    _printed(quote, result.stdout.str())


def test_the_baselined_finding_quote(pytester: pytest.Pytester, make_runs: RunFactory) -> None:
    make_runs.real("vllm/trae/gpt-5/2025-10-14_14-11-51/vllm_core-0027", "batch/a")
    baseline = pytester.path / "baseline.json"
    update = pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-baseline={baseline}", "--e2e-baseline-update")
    )
    assert update.ret == pytest.ExitCode.OK
    html = pytester.path / "report.html"
    check = pytester.runpytest(
        *audit_args(make_runs.root, f"--e2e-baseline={baseline}", f"--html={html}")
    )
    assert check.ret == pytest.ExitCode.OK
    # The item's "e2e accepted findings" section, shown in the HTML report's row.
    assert _quote("[error, baselined]") in html.read_text(encoding="utf-8")
