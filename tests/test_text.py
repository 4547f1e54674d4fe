"""Untrusted text is made safe to show: credentials redacted, control characters and lone
surrogates removed, one bounded line; and real run data passes through unchanged."""

from __future__ import annotations

import pytest

from pytest_e2e_audit._text import clean, printable, redact

from .conftest import EXAMPLES

CREDENTIALS = {
    "openai key": "sk-proj-Q7hX2vLr9TzW4mKc8NbA6sDf",
    "anthropic key": "sk-ant-api03-Zq8vLr9TzW4mKc8NbA6sDfQ7hX2v",
    "aws access key": "AKIAIOSFODNN7EXAMPLE",
    "github token": "ghp_0123456789abcdefghijABCDEFGHIJ0123",
    "google key": "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
    "huggingface token": "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdWRpdG9yIn0.T3stT0tFTnNpZ25hdHVyZQ",
    "random token": "Zq8vLr9TzW4mKc8NbA6sDfQ7hX2vLr9TzW4mKcXy",
}


@pytest.mark.parametrize("secret", CREDENTIALS.values(), ids=CREDENTIALS.keys())
def test_credentials_are_redacted_in_any_context(secret: str) -> None:
    for text in (
        f"OpenAI API call failed: Error code: 401 - key {secret} was refused",
        f"Authorization: Bearer {secret}",
        f'{{"api_key": "{secret}"}}',
        f"export OPENAI_API_KEY={secret}",
    ):
        shown = clean(text, 500)
        assert secret not in shown
        assert "[redacted" in shown


@pytest.mark.parametrize(
    "text",
    [
        "MY_SERVICE_TOKEN=plainpassword1",
        "password: hunter2hunter2",
        "Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==",
    ],
)
def test_secret_assignments_keep_their_key_and_lose_their_value(text: str) -> None:
    key, _, value = text.partition("=") if "=" in text else text.partition(":")
    shown = redact(text)
    assert value.strip().split()[-1] not in shown
    assert shown.startswith(key.split()[0])


@pytest.mark.parametrize(
    "text",
    [
        "Error code: 401 - api key is ${OPENAI_API_KEY}",
        "input_tokens: 406098 max_tokens=4096 token_usage: 12",
        "No tool output found for function call call_vgLmdT2CfJqGh6XEk5Hs3b7Q.",
        "commit 021f76e4f3a9c0d1e2b3a4c5d6e7f8091a2b3c4d",
        ".buildkite/lm-eval-harness/configs/Meta-Llama-3.2-1B-Instruct-FP8-compressed-tensors.yaml",
        "password: null",
    ],
)
def test_evidence_that_is_not_a_secret_is_kept(text: str) -> None:
    assert redact(text) == text


def test_no_path_or_first_log_line_of_the_real_runs_is_altered() -> None:
    checked = 0
    for path in sorted(EXAMPLES.rglob("*")):
        rel = path.relative_to(EXAMPLES).as_posix()
        assert clean(rel, 10_000) == rel
        checked += 1
        if path.is_file() and path.suffix == ".txt":
            with path.open(encoding="utf-8", errors="replace") as fh:
                first = fh.readline().rstrip("\n")
            if "\x1b" not in first and "\r" not in first and "\t" not in first:
                assert redact(first) == first, rel
    assert checked > 100


def test_lone_surrogates_become_visible_escapes_that_encode() -> None:
    text = printable("status \ud800 and folder run-\udcff")
    assert text == "status \\ud800 and folder run-\\xff"
    text.encode("utf-8")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("x\n::add-mask::pwned", "x ⏎ ::add-mask::pwned"),
        ("esc\x1b[31mred\x1b[0m\x07bel\rcr", "escred?bel ⏎ cr"),
        ("right\u202eleft", "right?left"),
        ("line\u2028sep", "line ⏎ sep"),
    ],
)
def test_clean_text_is_one_line_without_control_characters(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_text_is_bounded_with_a_marker() -> None:
    shown = clean("9" * 5000, 100)
    assert len(shown) == 100
    assert shown.endswith("…")
