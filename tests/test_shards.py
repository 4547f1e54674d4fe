"""A sharded audit says what one session says: the parts cover every run once, and the merge
session's dataset and claim items equal the unsharded ones; parts that do not add up are
refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_e2e_audit.layouts import RunRef
from pytest_e2e_audit.layouts.perf_agents import PerfAgentsLayout
from pytest_e2e_audit.layouts.projectscylla import ProjectScyllaLayout
from pytest_e2e_audit.shards import split

from .conftest import EXAMPLES, PROJECT, Case, audit_args, junit_cases

PARTS = 3
CLAIMS = PROJECT / "examples" / "claims.yaml"


# -- the split -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "parts"),
    [
        ([1] * 19, 3),
        ([5, 1, 1, 1, 1], 2),
        ([100, 1, 1], 3),
        ([1, 1, 100], 3),
        ([3, 3, 3, 3], 4),
        ([7], 1),
        (list(range(1, 40)), 7),
    ],
)
def test_the_split_is_contiguous_and_leaves_no_part_empty(counts: list[int], parts: int) -> None:
    assigned = split(counts, parts)
    assert len(assigned) == len(counts)
    assert assigned == sorted(assigned)  # contiguous: folders stay in path order
    assert set(assigned) == set(range(parts))  # every part gets a folder
    assert split(counts, parts) == assigned  # the same every time


def test_the_split_balances_runs() -> None:
    counts = [1] * 1000
    sizes = [split(counts, 4).count(part) for part in range(4)]
    assert max(sizes) - min(sizes) <= 1


def test_shard_keys_keep_batches_and_experiments_whole(tmp_path: Path) -> None:
    perf = PerfAgentsLayout()
    assert perf.shard_key(RunRef("a/b/2025-01-01_00-00-00/item-1", tmp_path, "j")) == (
        "a/b/2025-01-01_00-00-00"
    )
    assert perf.shard_key(RunRef("item-1", tmp_path, "j")) == "."
    scylla = ProjectScyllaLayout()
    run = "batch-7/2026-01-20T06-13-07-test-001/T0/00/run_01"
    other = "batch-7/2026-01-20T06-13-07-test-002/T3/02/run_05"
    assert scylla.shard_key(RunRef(run, tmp_path, "r")) == "batch-7"
    assert scylla.shard_key(RunRef(other, tmp_path, "r")) == "batch-7"
    assert scylla.shard_key(RunRef("T0/00/run_01", tmp_path, "r")) == "."


# -- parts and merge against one session ----------------------------------------------------


def _session(pytester: pytest.Pytester, name: str, *args: str) -> tuple[int, dict[str, Case]]:
    xml = pytester.path / f"{name}.xml"
    result = pytester.runpytest(*args, f"--junitxml={xml}", "-p", "no:cacheprovider")
    return int(result.ret), junit_cases(xml)


def _parts(
    pytester: pytest.Pytester, *extra: str, dataset: bool = False
) -> tuple[list[dict[str, Case]], list[Path]]:
    cases, files = [], []
    for k in range(1, PARTS + 1):
        out = pytester.path / f"part{k}.jsonl"
        _, found = _session(
            pytester,
            f"part{k}",
            *audit_args(
                EXAMPLES,
                f"--e2e-shard={k}/{PARTS}",
                f"--e2e-digests={out}",
                *extra,
                dataset=dataset,
            ),
        )
        cases.append(found)
        files.append(out)
    return cases, files


def _same(case: Case, other: Case) -> None:
    assert (case.outcome, case.props, case.text) == (other.outcome, other.props, other.text)


def test_the_parts_audit_every_run_once_as_one_session_does(pytester: pytest.Pytester) -> None:
    _, whole = _session(pytester, "whole", *audit_args(EXAMPLES, dataset=True))
    parts, _ = _parts(pytester, "--e2e-ignore=E2E020")  # any rule set: same for both sides
    _, whole_same_rules = _session(pytester, "whole2", *audit_args(EXAMPLES, "--e2e-ignore=E2E020"))
    runs = [{k: c for k, c in part.items() if k.startswith("e2e-runs::")} for part in parts]
    assert all(runs)
    union = [k for part in runs for k in part]
    assert len(union) == len(set(union))  # no run in two parts
    expected = {k for k in whole if k.startswith("e2e-runs::")}
    assert set(union) == expected
    for part in runs:
        for nodeid, case in part.items():
            _same(case, whole_same_rules[nodeid])
    assert not any(k.startswith("e2e-dataset::") for part in parts for k in part)


def test_the_parts_check_every_batch_once(pytester: pytest.Pytester) -> None:
    _, whole = _session(pytester, "whole", *audit_args(EXAMPLES, dataset=True))
    parts, _ = _parts(pytester, dataset=True)
    groups = [k for part in parts for k in part if k.startswith("e2e-groups::")]
    assert len(groups) == len(set(groups))
    assert set(groups) == {k for k in whole if k.startswith("e2e-groups::")}


def test_the_merge_session_checks_the_dataset_and_claims_as_one_session_does(
    pytester: pytest.Pytester,
) -> None:
    claims = f"--e2e-claims={CLAIMS}"
    whole_ret, whole = _session(pytester, "whole", *audit_args(EXAMPLES, claims, dataset=True))
    _, files = _parts(pytester, "--e2e-ignore=E2E020")
    merged_ret, merged = _session(
        pytester,
        "merged",
        "--e2e-ignore=E2E020",
        claims,
        f"--e2e-merge={','.join(map(str, files))}",
    )
    _, whole_same_rules = _session(
        pytester, "whole2", *audit_args(EXAMPLES, claims, "--e2e-ignore=E2E020", dataset=True)
    )
    assert set(merged) == {k for k in whole if not k.startswith(("e2e-runs::", "e2e-groups::"))}
    for nodeid, case in merged.items():
        _same(case, whole_same_rules[nodeid])
    assert whole_ret == merged_ret == 1
    # The suite totals count every run, from the digests.
    totals = _suite_props(pytester.path / "merged.xml")
    expected = _suite_props(pytester.path / "whole2.xml")
    for name in ("e2e.runs", "e2e.reported_success", "e2e.verified_success", "e2e.tasks"):
        assert totals[name] == expected[name], name


def _suite_props(path: Path) -> dict[str, str]:
    import xml.etree.ElementTree as ET

    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    return {str(p.get("name")): str(p.get("value")) for p in suite.findall("properties/property")}


def test_a_part_under_xdist_writes_the_same_digests(pytester: pytest.Pytester) -> None:
    serial = pytester.path / "serial.jsonl"
    spread = pytester.path / "spread.jsonl"
    for out, extra in ((serial, ()), (spread, ("-n", "2"))):
        pytester.runpytest(*audit_args(EXAMPLES, "--e2e-shard=2/3", f"--e2e-digests={out}", *extra))
    assert serial.read_text() == spread.read_text()
    assert len(serial.read_text().splitlines()) > 1


# -- refusals -------------------------------------------------------------------------------


def _merge_error(pytester: pytest.Pytester, *files: Path) -> str:
    result = pytester.runpytest("--e2e-merge=" + ",".join(map(str, files)))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    return result.stderr.str()


def test_a_missing_part_is_refused(pytester: pytest.Pytester) -> None:
    _, files = _parts(pytester)
    assert "part 2 of 3 missing" in _merge_error(pytester, files[0], files[2])


def test_a_part_given_twice_is_refused(pytester: pytest.Pytester) -> None:
    _, files = _parts(pytester)
    assert "part 1 of 3 is given twice" in _merge_error(pytester, files[0], files[0], *files[1:])


def test_an_incomplete_or_truncated_part_is_refused(pytester: pytest.Pytester) -> None:
    _, files = _parts(pytester)
    lines = files[1].read_text().splitlines()
    header = json.loads(lines[0])
    incomplete = pytester.path / "incomplete.jsonl"
    incomplete.write_text("\n".join([json.dumps({**header, "complete": False}), *lines[1:]]))
    assert "was not audited completely" in _merge_error(pytester, files[0], incomplete, files[2])
    truncated = pytester.path / "truncated.jsonl"
    truncated.write_text("\n".join(lines[:-1]) + "\n")
    assert "truncated?" in _merge_error(pytester, files[0], truncated, files[2])


def test_parts_of_different_splits_or_junk_are_refused(pytester: pytest.Pytester) -> None:
    _, files = _parts(pytester)
    two = pytester.path / "two.jsonl"
    pytester.runpytest(*audit_args(EXAMPLES, "--e2e-shard=1/2", f"--e2e-digests={two}"))
    assert "split the tree differently" in _merge_error(pytester, two, *files[1:])
    junk = pytester.path / "junk.jsonl"
    junk.write_text('{"some": "json"}\n')
    assert f"{junk}:1: not a digests file" in _merge_error(pytester, junk)
    broken = pytester.path / "broken.jsonl"
    broken.write_text(files[0].read_text() + "{not json\n")
    assert f"{broken}:" in _merge_error(pytester, broken, *files[1:])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--e2e-shard=1/3",), "write the part's digests with --e2e-digests"),
        (("--e2e-shard=0/3", "--e2e-digests=d"), "expected K/N with 1 <= K <= N"),
        (("--e2e-shard=4/3", "--e2e-digests=d"), "expected K/N with 1 <= K <= N"),
        (("--e2e-shard=half", "--e2e-digests=d"), "expected K/N with 1 <= K <= N"),
        (
            ("--e2e-shard=1/2", "--e2e-digests=d", f"--e2e-claims={CLAIMS}"),
            "give them to the --e2e-merge session",
        ),
        (("--e2e-merge=d",), "a merge session reads no runs"),
    ],
)
def test_shard_options_that_do_not_fit_are_usage_errors(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    (pytester.path / "d").write_text("")
    result = pytester.runpytest(*audit_args(EXAMPLES, *args))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_more_parts_than_batches_fail_the_collection(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        *audit_args(EXAMPLES, "--e2e-shard=1/40", f"--e2e-digests={pytester.path / 'd'}")
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*the runs lie in 19 folders*at most 19 parts*"])


def test_digests_are_never_written_into_the_results_tree(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(EXAMPLES / "state" / "runs" / "vllm", tree / "vllm")
    result = pytester.runpytest(*audit_args(tree, f"--e2e-digests={tree / 'd.jsonl'}"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "is inside the results tree" in result.stderr.str()
    assert not (tree / "d.jsonl").exists()


def test_a_run_in_two_parts_is_refused(pytester: pytest.Pytester) -> None:
    _, files = _parts(pytester)
    first = files[0].read_text().splitlines()
    second = files[1].read_text().splitlines()
    second[-1] = first[1]  # the same run in parts 1 and 2; the counts still add up
    files[1].write_text("\n".join(second) + "\n")
    run = json.loads(first[1])["run_id"]
    assert f"runs in more than one part: {run}" in _merge_error(pytester, *files)
