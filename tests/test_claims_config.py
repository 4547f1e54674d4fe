"""Reading configs with lines, and how dotted claim paths resolve in them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pytest_e2e_audit.claims.checks import Hit, config_files, resolve, same_value
from pytest_e2e_audit.claims.config import (
    DocumentError,
    document_format,
    parse_json,
    parse_toml,
    parse_yaml,
    read_document,
)

from .conftest import EXAMPLES

REAL_CONFIG = EXAMPLES / "config" / "trae_config.yaml.example"


def _found(hits: list[Hit]) -> dict[str, object]:
    return {".".join(map(str, h.path)): h.node for h in hits if h.found}


def test_real_config_has_parallel_tool_calls_true_on_lines_35_and_44() -> None:
    doc = read_document(REAL_CONFIG)
    hits = list(resolve(doc.value, ["models", "*", "parallel_tool_calls"]))
    assert [(h.path, h.node, doc.line(h.path)) for h in hits] == [
        (("models", "trae_agent_model", "parallel_tool_calls"), True, 35),
        (("models", "lakeview_model", "parallel_tool_calls"), True, 44),
    ]


def test_dotted_path_walks_through_list_indices_and_wildcards() -> None:
    doc = read_document(REAL_CONFIG)
    assert _found(list(resolve(doc.value, ["agents", "trae_agent", "tools", "1"]))) == {
        "agents.trae_agent.tools.1": "str_replace_based_edit_tool"
    }
    tools = list(resolve(doc.value, ["agents", "trae_agent", "tools", "*"]))
    assert [doc.line(h.path) for h in tools] == [7, 8, 9, 10]


def test_missing_key_and_empty_wildcard_are_different_hits() -> None:
    doc = parse_yaml("models:\n  a:\n    x: 1\n  b: {}\nempty: {}\n")
    missing = list(resolve(doc.value, ["models", "*", "x"]))
    assert [(h.found, h.path, h.missing) for h in missing] == [
        (True, ("models", "a", "x"), ""),
        (False, ("models", "b"), "x"),
    ]
    assert doc.line(("models", "b")) == 4
    nothing = list(resolve(doc.value, ["empty", "*", "x"]))
    assert [(h.found, h.path, h.missing) for h in nothing] == [(False, ("empty",), "*")]
    assert [(h.found, h.missing) for h in resolve(doc.value, ["nope", "x"])] == [(False, "nope")]


def test_list_index_out_of_range_is_missing() -> None:
    doc = parse_yaml("tools: [a, b]\n")
    assert [(h.found, h.missing) for h in resolve(doc.value, ["tools", "2"])] == [(False, "2")]


def test_yaml_merge_keys_and_dates_are_plain_values() -> None:
    doc = parse_yaml("base: &b {retries: 3}\nmodel:\n  <<: *b\n  since: 2025-11-07\n")
    assert doc.value["model"] == {"retries": 3, "since": date(2025, 11, 7)}
    assert doc.line(("model", "since")) == 4


@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/apply:os.system {{args: ['touch {marker}']}}",
        "!!python/name:os.system",
    ],
)
def test_yaml_python_tags_are_refused_never_run(tmp_path: Path, value: str) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(DocumentError, match="not valid YAML"):
        parse_yaml("x: " + value.format(marker=marker) + "\n")
    assert not marker.exists()


def test_yaml_alias_bomb_is_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 8):
        refs = ", ".join([f"*{chr(96 + level)}"] * 10)
        lines.append(f"{chr(97 + level)}: &{chr(97 + level)} [{refs}]")
    with pytest.raises(DocumentError, match="more than"):
        parse_yaml("\n".join(lines) + "\n")


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(DocumentError) as info:
        parse_yaml("a: 1\nb: [1, 2\n")
    assert info.value.line == 3
    assert "line 3" in info.value.problem


def test_json_lines() -> None:
    doc = parse_json('{\n  "models": {\n    "m": {"parallel_tool_calls": true}\n  }\n}')
    assert doc.line(("models", "m", "parallel_tool_calls")) == 3


def test_toml_lines_for_tables_arrays_of_tables_and_dotted_keys() -> None:
    text = "\n".join(
        [
            'title = "x"',  # 1
            'notes = """',  # 2
            "[not.a.table]",  # 3: inside a multi-line string
            '"""',  # 4
            "tools = [",  # 5
            '  "bash",',  # 6
            "]",  # 7
            "[models.trae_agent_model]",  # 8
            "parallel_tool_calls = true  # comment",  # 9
            'models.lakeview_model."parallel_tool_calls" = false',  # 10: dotted, from the table
            "[[servers]]",  # 11
            "name = 'a'",  # 12
            "[[servers]]",  # 13
            "name = 'b'",  # 14
            "[servers.options]",  # 15
            "retries = 3",  # 16
        ]
    )
    doc = parse_toml(text)
    assert doc.value["servers"][1]["options"]["retries"] == 3
    assert doc.line(("models", "trae_agent_model", "parallel_tool_calls")) == 9
    path = ("models", "trae_agent_model", "models", "lakeview_model", "parallel_tool_calls")
    assert doc.line(path) == 10
    assert doc.line(("tools", 0)) == 5
    assert doc.line(("servers", 0, "name")) == 12
    assert doc.line(("servers", 1, "name")) == 14
    assert doc.line(("servers", 1, "options", "retries")) == 16
    assert ("not", "a", "table") not in doc.lines


def test_invalid_toml_and_json_are_document_errors() -> None:
    with pytest.raises(DocumentError, match="not valid TOML"):
        parse_toml("a = \n")
    with pytest.raises(DocumentError, match="not valid JSON"):
        parse_json('{"a": }')


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("trae_config.yaml.example", "yaml"),
        ("c.yml", "yaml"),
        ("c.json", "json"),
        ("main_openai.toml", "toml"),
        ("c.toml.example", "toml"),
        ("config", "yaml"),
    ],
)
def test_format_comes_from_any_suffix(name: str, fmt: str) -> None:
    assert document_format(Path(name)) == fmt


@pytest.mark.parametrize(
    ("actual", "expected", "same"),
    [
        (False, False, True),
        (True, False, False),
        (0, False, False),
        (1, True, False),
        ("false", False, False),
        (1, 1.0, True),
        (None, None, True),
        ([1, {"a": True}], [1, {"a": True}], True),
        ([1, {"a": 1}], [1, {"a": True}], False),
    ],
)
def test_values_compare_without_bool_int_confusion(
    actual: object, expected: object, same: bool
) -> None:
    assert same_value(actual, expected) is same


def test_config_globs_are_sorted_deduplicated_files(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    for name in ("b.yaml", "a.yaml", "a.yaml.example"):
        (tmp_path / "config" / name).write_text("x: 1\n")
    (tmp_path / "config" / "dir.yaml").mkdir()
    found = config_files(tmp_path, ["config/*.yaml*", "config/a.yaml"])
    assert [p.name for p in found] == ["a.yaml", "a.yaml.example", "b.yaml"]
