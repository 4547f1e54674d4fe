"""Collection: runs found at any depth, sorted, stable node ids; hooks for layouts and rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_e2e_audit._text import node_name
from pytest_e2e_audit.layouts import walk
from pytest_e2e_audit.layouts.perf_agents import PerfAgentsLayout

from .conftest import RunFactory, audit_args

WITH_TOKENS = {"token_usage": {"input_tokens": 1, "output_tokens": 1}}


def test_runs_are_found_at_any_depth_in_sorted_order(make_runs: RunFactory) -> None:
    for rel in ["b/x/item", "a", "a/nested/deeper/item-1", "c/item", "a/nested/item-0"]:
        make_runs.run(rel)
    refs = list(PerfAgentsLayout().discover(walk(make_runs.root)))
    ids = [ref.run_id for ref in refs]
    assert ids == ["a", "a/nested/deeper/item-1", "a/nested/item-0", "b/x/item", "c/item"]


def test_collection_reads_no_file_content(
    make_runs: RunFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_runs.run("a")
    opened: list[str] = []
    real_open = open

    def spy(file: object, *args: object, **kwargs: object) -> object:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", spy)
    refs = list(PerfAgentsLayout().discover(walk(make_runs.root)))
    assert [r.run_id for r in refs] == ["a"] and opened == []


def test_audit_only_collects_only_run_items(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    pytester.makepyfile("def test_project():\n    assert True\n")
    make_runs.run("one", journal=WITH_TOKENS)
    make_runs.run("two", journal=WITH_TOKENS)
    result = pytester.runpytest(*audit_args(make_runs.root, "--collect-only", "-q"))
    result.stdout.fnmatch_lines(["e2e-runs::one", "e2e-runs::two", "2 tests collected*"])
    assert "test_project" not in result.stdout.str()


def test_explicit_paths_collect_tests_and_runs_together(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    test_file = pytester.makepyfile("def test_project():\n    assert True\n")
    make_runs.run("one", journal=WITH_TOKENS)
    result = pytester.runpytest(*audit_args(make_runs.root, str(test_file), "-v"))
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_project PASSED*", "e2e-runs::one PASSED*"])


def test_deselect_and_k_work_on_run_items(pytester: pytest.Pytester, make_runs: RunFactory) -> None:
    make_runs.run("keep", journal=WITH_TOKENS)
    make_runs.run("drop", journal=WITH_TOKENS)
    result = pytester.runpytest(*audit_args(make_runs.root, "--deselect=e2e-runs::drop"))
    result.assert_outcomes(passed=1, deselected=1)
    result = pytester.runpytest(*audit_args(make_runs.root, "-k", "keep"))
    result.assert_outcomes(passed=1, deselected=1)


def test_node_names_are_sanitised_and_unique(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    assert node_name("a b/c[1]::d") == "a_b/c_1___d"
    make_runs.run("a b", journal=WITH_TOKENS)
    make_runs.run("a_b", journal=WITH_TOKENS)
    result = pytester.runpytest(*audit_args(make_runs.root, "--collect-only", "-q"))
    result.stdout.fnmatch_lines(["e2e-runs::a_b", "e2e-runs::a_b~2"])


def test_a_results_tree_without_runs_is_a_collection_error(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    (empty / "state" / "runs").mkdir(parents=True)
    result = pytester.runpytest(*audit_args(empty))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([f"*no recorded runs found under {empty}*"])


def test_a_conftest_can_contribute_a_rule(pytester: pytest.Pytester, make_runs: RunFactory) -> None:
    make_runs.run("run", journal=WITH_TOKENS)
    pytester.makeconftest(
        """
        from pytest_e2e_audit import Severity, Violation, rule

        @rule(code="ACME001", name="model-is-gpt", severity=Severity.ERROR,
              summary="The model must not be gpt-5")
        def model_is_gpt(record, ctx):
            '''House policy.'''
            if record.model == "gpt-5":
                yield Violation(f"model {record.model} in {record.run_id}")

        def pytest_e2e_audit_rules():
            return [model_is_gpt]
        """
    )
    make_runs.run("vllm/trae/gpt-5/2025-10-14_14-11-51/item", journal=WITH_TOKENS)
    result = pytester.runpytest(*audit_args(make_runs.root))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["ACME001 model-is-gpt: model gpt-5 in vllm/trae/gpt-5/*"])


def test_a_rule_code_clash_is_a_usage_error(
    pytester: pytest.Pytester, make_runs: RunFactory
) -> None:
    make_runs.run("run")
    pytester.makeconftest(
        """
        from pytest_e2e_audit import Severity, rule

        @rule(code="E2E001", name="mine", severity=Severity.ERROR, summary="clash")
        def mine(record, ctx):
            return iter(())

        def pytest_e2e_audit_rules():
            return [mine]
        """
    )
    result = pytester.runpytest(*audit_args(make_runs.root))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*two rules share 'E2E001'*"])


def test_a_conftest_layout_is_detected_before_the_builtin_one(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    results = tmp_path / "jsonl"
    results.mkdir()
    (results / "output.jsonl").write_text('{"instance_id": "a"}\n{"instance_id": "b"}\n')
    pytester.makeconftest(
        """
        from pytest_e2e_audit import Layout, RunRecord, RunRef

        class Lines(Layout):
            name = "lines"
            description = "one run per line of output.jsonl"

            def discover(self, tree):
                for folder in tree.folders:
                    if "output.jsonl" in folder.files:
                        yield RunRef("a", folder.path, "output.jsonl")
                        yield RunRef("b", folder.path, "output.jsonl")

            def load(self, ref, root, options):
                return RunRecord(run_id=ref.run_id, layout=self.name, record_file=ref.record,
                                 status_recorded="success", status="success", exit_code=0)

        def pytest_e2e_audit_layouts():
            return [Lines()]
        """
    )
    result = pytester.runpytest(*audit_args(results, "--e2e-select=E2E003", "-v"))
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["e2e-runs::a PASSED*", "e2e-runs::b PASSED*"])
