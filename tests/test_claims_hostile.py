"""Claims files and config trees that try to read outside the claims root, or to never end.

A claim's ``config`` globs are relative to the claims file's folder and match nothing outside
the claims root (that folder, or ``--e2e-claims-root``): an absolute glob or one whose ``..``
climbs out is refused when the claims file is loaded; a symbolic link out of the root is not
followed and the claim says so; link loops end; a search that looks at too many entries stops
and says so.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

from pytest_e2e_audit.claims import checks
from pytest_e2e_audit.claims.checks import (
    BROKEN_LINK,
    LINK_OUT_OF_ROOT,
    config_files,
)
from pytest_e2e_audit.claims.model import ROOT_FIX
from pytest_e2e_audit.claims.rules import (
    claim_config_missing,
    claim_not_applied,
    claim_unverifiable,
)

from .test_claims import _h, claim, expect, junit_claims, real_config, run_claims, write_claims

SECRET = "leaked-value-5f1c9e2a7b"
"""Planted in files outside the claims root: it must appear in no output."""
SECRET_CONFIG = f"models:\n  m:\n    parallel_tool_calls: {SECRET}\n"


def _line_of(path: Path, text: str) -> int:
    """1-based line of the first line of ``path`` that contains ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def _outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a secret config, outside every claims root of the test."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "secret.yaml").write_text(SECRET_CONFIG, encoding="utf-8")
    (folder / "secret.yml").write_text(SECRET_CONFIG, encoding="utf-8")
    return folder


def _every_output(result: pytest.RunResult, *files: Path) -> str:
    return "\n".join(
        [result.stdout.str(), result.stderr.str(), *(f.read_text("utf-8") for f in files)]
    )


# -- globs refused when the claims file is loaded --------------------------------------------


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("../outside/*.yml", "climbs out of the claims root to */outside"),
        ("/etc/*", "is absolute"),
        ("config/../../outside/secret.yaml", "climbs out of the claims root to */outside/*"),
        ("config/*/../../../outside/*.yml", "has '..' after a wildcard, which may climb anywhere"),
    ],
)
def test_config_glob_leaving_the_claims_folder_is_a_usage_error_with_file_line_and_field(
    pytester: pytest.Pytester, bad: str, why: str
) -> None:
    (pytester.path / "claims").mkdir()
    outside = pytester.path / "outside"
    outside.mkdir()
    (outside / "secret.yml").write_text(SECRET_CONFIG, encoding="utf-8")
    claims = write_claims(
        pytester.path / "claims",
        claim(config=["config/trae_config*.yaml*", bad]),
        config=real_config(),
    )
    result = run_claims(pytester, claims)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    line = _line_of(claims, bad)
    expect(
        result.stderr,
        f"ERROR: --e2e-claims: {claims}:{line}: claims[0].config[1]: '{bad}' {why}; "
        f"globs must stay inside {claims.parent} ({ROOT_FIX})",
    )
    assert SECRET not in _every_output(result)


def test_glob_climbing_out_is_refused_in_a_second_claim_at_its_own_line(
    pytester: pytest.Pytester,
) -> None:
    claims = write_claims(
        pytester.path,
        claim(id="ok"),
        claim(id="bad", config=["config/*.yaml", "../*.yaml"]),
        config=real_config(),
    )
    result = run_claims(pytester, claims)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    line = _line_of(claims, "../*.yaml")
    assert line > _line_of(claims, "id: bad")
    expect(
        result.stderr, f"ERROR: --e2e-claims: {claims}:{line}: claims[1].config[1]: '../*.yaml' *"
    )


# -- symbolic links out of the root -----------------------------------------------------------


def test_file_link_out_of_the_root_is_not_read_and_the_claim_says_so(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    outside = _outside(tmp_path_factory)
    claims = write_claims(
        pytester.path,
        claim(config=["config/*.yaml"]),
        config=real_config(honoured=(35, 44)),
    )
    (pytester.path / "config" / "leak.yaml").symlink_to(outside / "secret.yaml")
    xml, report = tmp_path / "out.xml", tmp_path / "report.html"
    result = run_claims(pytester, claims, f"--junitxml={xml}", f"--html={report}")
    result.assert_outcomes(passed=1)
    expect(
        result.stdout,
        f"{_h(claim_unverifiable)} [warning]: config/leak.yaml {LINK_OUT_OF_ROOT} "
        '(config "config/*.yaml"); claim * is not checked in it',
    )
    result.stdout.no_fnmatch_line(f"*{claim_not_applied.name}: *")
    assert junit_claims(xml)["no-parallel-tool-calls"]["e2e.findings"] == claim_unverifiable.name
    assert LINK_OUT_OF_ROOT in report.read_text("utf-8")
    assert SECRET not in _every_output(result, xml, report)
    gated = run_claims(pytester, claims, "--e2e-fail-on=warning")
    gated.assert_outcomes(failed=1)


def test_folder_link_out_of_the_root_is_not_searched_and_the_claim_says_so(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = _outside(tmp_path_factory)
    claims = write_claims(pytester.path, claim(config=["config/**/*.yaml"]), config=real_config())
    (pytester.path / "config" / "vendored").symlink_to(outside)
    result = run_claims(pytester, claims)
    result.assert_outcomes(failed=1)
    expect(
        result.stdout,
        f"{_h(claim_not_applied)}: config/trae_config.yaml:35 *",
        f"{_h(claim_not_applied)}: config/trae_config.yaml:44 *",
        f"{_h(claim_unverifiable)} [warning]: config/vendored {LINK_OUT_OF_ROOT} "
        '(config "config/**/*.yaml"); claim * is not checked in it',
    )
    assert SECRET not in _every_output(result)


def test_only_link_out_of_the_root_is_unverifiable_not_config_missing(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = _outside(tmp_path_factory)
    claims = write_claims(pytester.path, claim(config=["config/trae_config.yaml"]))
    (pytester.path / "config").mkdir()
    (pytester.path / "config" / "trae_config.yaml").symlink_to(outside / "secret.yaml")
    result = run_claims(pytester, claims)
    expect(
        result.stdout,
        f"{_h(claim_unverifiable)} [warning]: config/trae_config.yaml {LINK_OUT_OF_ROOT} *",
    )
    result.stdout.no_fnmatch_line(f"*{claim_config_missing.name}: *")
    assert SECRET not in _every_output(result)


def test_literal_folder_link_out_of_the_root_is_not_followed(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = _outside(tmp_path_factory)
    (tmp_path / "config").symlink_to(outside)
    found = config_files(tmp_path, ["config/secret.yaml", "config/*.yml"])
    assert found.files == ()
    assert [(n.path, n.problem) for n in found.notes] == [
        (tmp_path / "config", LINK_OUT_OF_ROOT),
        (tmp_path / "config", LINK_OUT_OF_ROOT),
    ]


def test_links_inside_the_root_are_followed_and_broken_ones_noted(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.yaml").write_text("x: 1\n")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "a.yaml").symlink_to(tmp_path / "real" / "a.yaml")
    (tmp_path / "config" / "sub").symlink_to(tmp_path / "real")
    (tmp_path / "config" / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    found = config_files(tmp_path, ["config/**/*.yaml"])
    assert found.files == ((tmp_path / "real" / "a.yaml").resolve(),)
    assert [(n.path.name, n.problem) for n in found.notes] == [("gone.yaml", BROKEN_LINK)]


# -- link loops -------------------------------------------------------------------------------


def test_links_to_their_own_folder_end_and_find_the_real_file_once(
    pytester: pytest.Pytester,
) -> None:
    claims = write_claims(pytester.path, claim(config=["config/**/*.yaml"]), config=real_config())
    for name in ("a", "b"):
        (pytester.path / "config" / name).symlink_to(".")
    (pytester.path / "config" / "deeper").mkdir()
    (pytester.path / "config" / "deeper" / "up").symlink_to("..")
    result = run_claims(pytester, claims)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    # Each finding line once (the claim's failure block; the summary names the item apart).
    for line_no in (35, 44):
        head = f"{_h(claim_not_applied)}: config/trae_config.yaml:{line_no} "
        assert sum(line.startswith(head) for line in result.stdout.lines) == 1
    assert "config/a/" not in out and "config/b/" not in out
    result.stdout.no_fnmatch_line(f"*{claim_unverifiable.name}*: *")


def test_link_loops_give_each_file_once_without_notes(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "x.yaml").write_text("x: 1\n")
    for name in ("a", "b"):
        (tmp_path / "cfg" / name).symlink_to(".")
    found = config_files(tmp_path, ["cfg/**/*.yaml", "cfg/*/*/*/*.yaml", "cfg/a/b/a/x.yaml"])
    assert found.files == ((tmp_path / "cfg" / "x.yaml").resolve(),)
    assert found.notes == ()


# -- the claims root --------------------------------------------------------------------------


def _shared_layout(folder: Path) -> Path:
    """``claims/claims.yaml`` claiming ``../shared/*.yaml``, and ``shared/trae_config.yaml``."""
    (folder / "claims").mkdir()
    (folder / "shared").mkdir()
    (folder / "shared" / "trae_config.yaml").write_text(real_config(), encoding="utf-8")
    return write_claims(folder / "claims", claim(config=["../shared/*.yaml"]))


def test_claims_root_option_widens_where_globs_may_reach(pytester: pytest.Pytester) -> None:
    claims = _shared_layout(pytester.path)
    refused = run_claims(pytester, claims)
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    expect(refused.stderr, f"ERROR: --e2e-claims: {claims}:*: claims[0].config[0]: *{ROOT_FIX})")
    result = run_claims(pytester, claims, f"--e2e-claims-root={pytester.path}")
    result.assert_outcomes(failed=1)
    expect(result.stdout, f"{_h(claim_not_applied)}: shared/trae_config.yaml:35 *")


def test_ini_claims_root_is_relative_to_the_ini_file_and_need_not_hold_the_claims(
    pytester: pytest.Pytester,
) -> None:
    _shared_layout(pytester.path)
    (pytester.path / "audit").mkdir()
    ini = pytester.path / "audit" / "pytest.ini"
    ini.write_text("[pytest]\ne2e_claims = ../claims/claims.yaml\ne2e_claims_root = ../shared\n")
    result = pytester.runpytest("-c", str(ini), "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    expect(result.stdout, f"{_h(claim_not_applied)}: shared/trae_config.yaml:44 *")


def test_link_out_of_the_claims_folder_is_read_when_the_root_holds_its_target(
    pytester: pytest.Pytester,
) -> None:
    _shared_layout(pytester.path)
    claims = write_claims(pytester.path / "claims", claim(config=["config/*.yaml"]))
    (pytester.path / "claims" / "config").mkdir()
    link = pytester.path / "claims" / "config" / "trae_config.yaml"
    link.symlink_to(pytester.path / "shared" / "trae_config.yaml")
    narrow = run_claims(pytester, claims)
    expect(narrow.stdout, f"*{_h(claim_unverifiable)} [warning]: *{LINK_OUT_OF_ROOT}*")
    wide = run_claims(pytester, claims, f"--e2e-claims-root={pytester.path}")
    wide.assert_outcomes(failed=1)
    expect(wide.stdout, f"{_h(claim_not_applied)}: shared/trae_config.yaml:35 *")
    wide.stdout.no_fnmatch_line(f"*{claim_unverifiable.name}*: *")


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--e2e-claims-root=nope"], "", "--e2e-claims-root: */nope does not exist"),
        (["--e2e-claims-root=claims.yaml"], "", "--e2e-claims-root: */claims.yaml is not a *"),
        ([], "e2e_claims_root = nope\n", "e2e_claims_root (in tox.ini): */nope does not exist"),
    ],
)
def test_claims_root_that_is_not_a_folder_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    claims = write_claims(pytester.path, claim(), config=real_config())
    if ini:
        pytester.makeini("[pytest]\n" + ini)
    result = run_claims(pytester, claims, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expect(result.stderr, f"ERROR: {message}")


# -- the search budget ------------------------------------------------------------------------


def test_search_stops_after_its_budget_and_the_claim_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    claims = write_claims(
        pytester.path, claim(config=["config/**/*.yaml"]), config=real_config(honoured=(35, 44))
    )
    for index in range(10):
        folder = pytester.path / "config" / f"z{index}"
        folder.mkdir()
        (folder / "trae_config.yaml").write_text(real_config(), encoding="utf-8")
    monkeypatch.setattr(checks, "SEARCH_BUDGET", 5)
    result = run_claims(pytester, claims)
    result.assert_outcomes(passed=1)
    expect(
        result.stdout,
        f'{_h(claim_unverifiable)} [warning]: config search for "config/**/*.yaml" stopped '
        "after 5 entries, in config; claim * is not checked in files past them (narrow the "
        "globs)",
    )
    result.stdout.no_fnmatch_line("*z9*")
    monkeypatch.setattr(checks, "SEARCH_BUDGET", 1_000)
    complete = run_claims(pytester, claims)
    complete.assert_outcomes(failed=1)
    expect(complete.stdout, f"{_h(claim_not_applied)}: config/z9/trae_config.yaml:35 *")
    complete.stdout.no_fnmatch_line(f"*{claim_unverifiable.name}*: *")


def test_folder_that_cannot_be_listed_is_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config" / "locked").mkdir(parents=True)
    (tmp_path / "config" / "a.yaml").write_text("x: 1\n")
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> object:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = config_files(tmp_path, ["config/**/*.yaml"])
    assert found.files == ((tmp_path / "config" / "a.yaml").resolve(),)
    assert [(n.path, n.problem) for n in found.notes] == [
        (tmp_path / "config" / "locked", "cannot be listed (Permission denied); not searched")
    ]


# -- the walk matches what glob matches -------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "config/*.yaml*",
        "config/**/*.yaml",
        "config/**",
        "**/*.yaml",
        "config/**/.*.yaml",
        "config/.hidden/*.yaml",
        "config/?.yaml",
        "config/[ab].yaml",
        "config/[!a].yaml",
        "config/*/deep/*.yaml",
        "config/**/deep/**/*.yaml",
        "./config//a.yaml",
        "config/sub/../a.yaml",
        "config/sub",
    ],
)
def test_walk_finds_what_glob_finds_without_links(tmp_path: Path, pattern: str) -> None:
    for name in (
        "config/a.yaml",
        "config/b.yaml",
        "config/c.yaml.example",
        "config/.h.yaml",
        "config/.hidden/x.yaml",
        "config/.hidden/deep/y.yaml",
        "config/sub/deep/z.yaml",
        "config/sub/deep/more/w.yaml",
        "config/sub/v.yml",
        "top.yaml",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x: 1\n")
    expected = sorted(
        {
            (tmp_path / name).resolve()
            for name in glob.glob(pattern, root_dir=tmp_path, recursive=True)
            if (tmp_path / name).is_file()
        }
    )
    found = config_files(tmp_path, [pattern])
    assert list(found) == expected
    assert found.notes == ()
