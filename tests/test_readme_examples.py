"""Every example output in the README is what the real command prints today.

The examples, how they are run and excerpted, are in ``tests/readme_examples.py``; after a
change to the output, ``python -m tests.readme_examples`` rewrites README.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from . import readme_examples as rx

INPUT_LANGUAGES = ("bash", "yaml", "toml", "python")
"""Fenced blocks outside the markers are things the reader writes or types, in these languages."""


def _readme() -> str:
    return rx.README.read_text(encoding="utf-8")


def test_the_readme_marks_exactly_the_registered_examples_in_order() -> None:
    assert list(rx.readme_blocks(_readme())) == list(rx.REGISTRY)


@pytest.mark.parametrize("session", sorted(rx.sessions()))
def test_readme_examples_are_what_their_commands_print(session: str) -> None:
    # One test per session: its commands run once, whatever the xdist distribution.
    names = rx.sessions()[session]
    blocks = rx.readme_blocks(_readme())
    shown = {name: blocks.get(name) for name in names}
    assert shown == {name: rx.block(rx.REGISTRY[name], name) for name in names}, (
        "run `python -m tests.readme_examples` to regenerate README.md"
    )


def test_no_output_block_in_the_readme_is_written_by_hand() -> None:
    text = _readme()
    for marked in rx.readme_blocks(text).values():
        text = text.replace(marked, "")
    assert re.findall(r"^<!-- /?example.*", text, flags=re.M) == []  # no unbalanced marker
    unmarked = re.findall(r"^```(\S*)\n(.*?)^```$", text, flags=re.M | re.S)
    handwritten = [
        (lang, body.splitlines()[0] if body else "")
        for lang, body in unmarked
        if lang not in INPUT_LANGUAGES or re.match(r"(\$ |ERROR:|\{)", body)
    ]
    assert handwritten == []
    assert len(unmarked) >= 8  # the inputs are still there: install, test, CI, config, waivers


def test_normalising_hides_the_machine_the_clock_and_the_versions(tmp_path: Path) -> None:
    out = "\n".join(
        [
            rx.separator("=", "test session starts"),
            "platform linux -- Python 3.11.7, pytest-9.2.0, pluggy-1.7.0",
            f"rootdir: {rx.PROJECT}",
            "plugins: e2e-audit-0.1.0.dev0, html-4.2.0",
            "collected 2 items",
            f"1 claim checked from {rx.PROJECT}/examples/claims.yaml",
            f"reports: re-run list {tmp_path}/rerun.txt",
            rx.separator("=", "1 failed, 7 passed in 12.34s (0:00:12)"),
        ]
    )
    assert rx.normalise(out, tmp_path).splitlines() == [
        "collected 2 items",
        "1 claim checked from …/examples/claims.yaml",
        "reports: re-run list …/rerun.txt",
        rx.separator("=", "1 failed, 7 passed in …s"),
    ]
    assert len(rx.separator("=", "1 failed, 7 passed in …s")) == rx.COLUMNS


def test_an_excerpt_marks_every_gap_and_reads_sections_like_pytest_prints_them() -> None:
    lines = [
        "collected 3 items",
        rx.separator("=", "e2e audit: failures"),
        rx.separator("_", "e2e-runs::a"),
        "E2E008 a",
        rx.separator("_", "e2e-runs::b"),
        "E2E003 b",
        "E2E008 b",
        rx.separator("=", "e2e audit summary"),
        "reported success: 1 of 3 runs",
        rx.separator("=", "3 failed in …s"),
    ]
    pieces = (rx.Head(2), rx.Section("e2e-runs::b$"), rx.Matching("^reported"))
    assert rx.excerpt("\n".join(lines), pieces) == [
        *lines[:2],
        "...",
        *lines[4:7],
        "...",
        lines[8],
        "...",
    ]
    whole = rx.Section("e2e audit: failures")
    assert rx.excerpt("\n".join(lines), (whole, rx.Tail(1))) == [
        *lines[:0],
        "...",
        *lines[1:7],
        "...",
        lines[9],
    ]
