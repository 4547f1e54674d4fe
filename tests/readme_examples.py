"""The README's example outputs, produced by running the real commands.

Each example in README.md sits between ``<!-- example: NAME ... -->`` and ``<!-- /example -->``
and is generated here: a ``Session`` runs pytest in a subprocess from the project root (clean
environment, fixed terminal width), the output is normalised (see ``normalise``) and an
example shows a mechanical excerpt of it (``Span``, ``Section``, ``Matching``, ``Head``,
``Tail``; ``...`` stands wherever lines were left out). An ``Input`` example is a file a
command was run with, shown as it is.

``python -m tests.readme_examples`` rewrites README.md in place; tests/test_readme_examples.py
checks that every block is what the commands print today.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
README = PROJECT / "README.md"
EXAMPLES = PROJECT / "examples"
COLUMNS = 80
"""The terminal width every command runs with, so pytest's lines wrap the same everywhere."""
GAP = "..."
"""The line that stands for lines an excerpt leaves out."""
ELLIPSIS = "…"
"""What a machine-specific path (the project root, the session's temp folder) is replaced with."""
TMP = "{tmp}"
"""Placeholder in a command for the session's temp folder; shown to the reader as nothing."""

BEGIN = re.compile(r"^<!-- example: (?P<name>[a-z0-9-]+)(?: [^>]*)? -->\n", re.M)
END = "<!-- /example -->"
MARKER_NOTE = "(generated: python -m tests.readme_examples)"

_DROPPED_ENV = re.compile(
    r"(CI|BUILD_NUMBER|GITHUB_.*|PYTEST_.*|E2E_AUDIT_.*|COLUMNS|LINES|"
    r"FORCE_COLOR|PY_COLORS|NO_COLOR|PYTHONWARNINGS|COV_CORE_.*)"
)
_SEPARATOR = re.compile(r"^(?P<fill>[=_])(?P=fill)* (?P<title>.*?) (?P=fill)+$")
_DURATION = re.compile(r" in \d+(?:\.\d+)?s(?: \(\d+:\d\d:\d\d\))?")
_HEADER = re.compile(r"^(platform|cachedir|rootdir|configfile|inifile|testpaths|plugins)[: ]")


# -- running -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One pytest invocation of a session."""

    args: tuple[str, ...]
    """pytest's arguments; ``{tmp}`` is the session's temp folder."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment variables, shown before ``pytest``."""
    before: Callable[[Path], None] | None = None
    """Changes made in the temp folder before this command runs (the prose says what)."""

    def shown(self) -> str:
        """The command line as the README shows it: temp-folder paths relative to it."""
        env = [f"{k}={shlex.quote(v)}" for k, v in self.env.items()]
        args = [a.replace(f"{TMP}/", "") for a in self.args]
        return "$ " + " ".join([*env, "pytest", *map(shlex.quote, args)])

    def argv(self, tmp: Path) -> list[str]:
        args = [a.replace(TMP, str(tmp)) for a in self.args]
        return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]


@dataclass(frozen=True)
class Session:
    """Commands run one after the other in one temp folder; several examples can show them."""

    name: str
    commands: tuple[Command, ...]
    prepare: Callable[[Path], None] | None = None
    """Writes the session's input files into the temp folder before the first command."""
    files: tuple[str, ...] = ()
    """Files the commands write into the temp folder that examples show."""


@dataclass(frozen=True)
class Transcript:
    """What a session printed and wrote, normalised."""

    outputs: tuple[str, ...]
    """Each command's stdout and stderr, in order."""
    files: Mapping[str, str]


def environment(extra: Mapping[str, str] = {}) -> dict[str, str]:
    """The caller's environment without CI, GitHub, pytest or colour variables, at a fixed width."""
    env = {k: v for k, v in os.environ.items() if not _DROPPED_ENV.fullmatch(k)}
    return {**env, "COLUMNS": str(COLUMNS), "LINES": "50", **extra}


_TRANSCRIPTS: dict[str, Transcript] = {}


def run(session: Session) -> Transcript:
    """Run ``session`` (once per process: examples share it)."""
    if session.name not in _TRANSCRIPTS:
        _TRANSCRIPTS[session.name] = _run(session)
    return _TRANSCRIPTS[session.name]


def _run(session: Session) -> Transcript:
    with tempfile.TemporaryDirectory(prefix="readme-") as name:
        tmp = Path(name)
        if session.prepare is not None:
            session.prepare(tmp)
        outputs = []
        for command in session.commands:
            if command.before is not None:
                command.before(tmp)
            done = subprocess.run(
                command.argv(tmp),
                cwd=PROJECT,
                env=environment(command.env),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                timeout=300,
                check=False,
            )
            outputs.append(normalise(done.stdout, tmp))
        files = {f: normalise((tmp / f).read_text(encoding="utf-8"), tmp) for f in session.files}
    return Transcript(tuple(outputs), files)


def normalise(text: str, tmp: Path) -> str:
    """What varies between machines and runs, made constant.

    - the temp folder and the project root become ``…`` (``…/examples/claims.yaml``);
    - pytest's durations (``in 0.52s``) become ``in …s``, its separator lines re-centred;
    - pytest's session header (the ``test session starts`` line, versions, rootdir, plugins) is
      left out: output starts at ``collected N items``.
    """
    for root in sorted({str(tmp), str(tmp.resolve()), str(PROJECT)}, key=len, reverse=True):
        text = text.replace(root, ELLIPSIS)
    lines = text.splitlines()
    if lines and _title(lines[0]) == "test session starts":
        lines = lines[1:]
        while lines and _HEADER.match(lines[0]):
            lines = lines[1:]
    out = []
    for line in lines:
        title = _title(line)
        if title is not None and _DURATION.search(title):
            line = separator(line[0], _DURATION.sub(f" in {ELLIPSIS}s", title))
        out.append(line.rstrip())
    return "\n".join(out)


def _title(line: str) -> str | None:
    match = _SEPARATOR.match(line)
    return match["title"] if match else None


def separator(char: str, title: str, width: int = COLUMNS) -> str:
    """A separator line as pytest's terminal writer draws it."""
    fill = char * max((width - len(title) - 2) // 2, 1)
    line = f"{fill} {title} {fill}"
    return line + char if len(line) + 1 <= width else line


# -- excerpts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Excerpt:
    """Lines kept from an output, by index; each piece searches from where the previous ended."""

    lines: Sequence[str]
    kept: list[int] = field(default_factory=list)

    @property
    def cursor(self) -> int:
        return self.kept[-1] + 1 if self.kept else 0

    def find(self, pattern: str, start: int | None = None) -> int:
        regex = re.compile(pattern)
        begin = self.cursor if start is None else start
        for i in range(begin, len(self.lines)):
            if regex.search(self.lines[i]):
                return i
        raise LookupError(f"no line matching {pattern!r} after line {begin}")

    def keep(self, indices: range | list[int]) -> None:
        self.kept.extend(i for i in indices if not self.kept or i > self.kept[-1])

    def render(self) -> list[str]:
        out: list[str] = []
        previous = -1
        for i in self.kept:
            if i != previous + 1:
                out.append(GAP)
            out.append(self.lines[i])
            previous = i
        if previous != len(self.lines) - 1:
            out.append(GAP)
        return out


class Piece:
    def apply(self, excerpt: Excerpt) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Span(Piece):
    """From the first line matching ``start`` to the first matching ``through`` (included) or
    ``until`` (left out), or ``count`` lines, or the end of the output with ``to_end``."""

    start: str
    through: str | None = None
    until: str | None = None
    count: int = 1
    to_end: bool = False

    def apply(self, excerpt: Excerpt) -> None:
        first = excerpt.find(self.start)
        if self.through is not None:
            last = excerpt.find(self.through, first)
        elif self.until is not None:
            last = excerpt.find(self.until, first + 1) - 1
        elif self.to_end:
            last = len(excerpt.lines) - 1
        else:
            last = first + self.count - 1
        excerpt.keep(range(first, last + 1))


@dataclass(frozen=True)
class Section(Piece):
    """The pytest section whose separator title matches ``title``: its separator line and the
    lines up to the next separator of the same or a higher level (``=`` above ``_``); with
    ``head``, only its first ``head`` lines."""

    title: str
    head: int | None = None

    def apply(self, excerpt: Excerpt) -> None:
        regex = re.compile(self.title)
        lines = excerpt.lines
        first = next(
            i
            for i in range(excerpt.cursor, len(lines))
            if (t := _title(lines[i])) is not None and regex.search(t)
        )
        level = lines[first][0]
        last = first + 1
        while last < len(lines) and not (
            _title(lines[last]) is not None and (lines[last][0] == "=" or level == "_")
        ):
            last += 1
        if self.head is not None:
            last = min(last, first + self.head)
        excerpt.keep(range(first, last))


@dataclass(frozen=True)
class Matching(Piece):
    """Every line from the cursor on that matches ``pattern``."""

    pattern: str

    def apply(self, excerpt: Excerpt) -> None:
        regex = re.compile(self.pattern)
        found = [
            i for i in range(excerpt.cursor, len(excerpt.lines)) if regex.search(excerpt.lines[i])
        ]
        if not found:
            raise LookupError(f"no line matching {self.pattern!r}")
        excerpt.keep(found)


@dataclass(frozen=True)
class Head(Piece):
    """The first ``count`` lines."""

    count: int

    def apply(self, excerpt: Excerpt) -> None:
        excerpt.keep(range(min(self.count, len(excerpt.lines))))


@dataclass(frozen=True)
class Tail(Piece):
    """The last ``count`` lines."""

    count: int

    def apply(self, excerpt: Excerpt) -> None:
        excerpt.keep(range(max(len(excerpt.lines) - self.count, 0), len(excerpt.lines)))


WHOLE = (Head(10_000),)


def excerpt(text: str, pieces: Sequence[Piece]) -> list[str]:
    ex = Excerpt(text.splitlines())
    for piece in pieces:
        piece.apply(ex)
    return ex.render()


# -- examples ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """What one part of an example shows: a command of its session with an excerpt of its
    output, or a file the session wrote (an excerpt of it, without a command line)."""

    source: int | str
    pieces: Sequence[Piece] = WHOLE


@dataclass(frozen=True)
class Example:
    """A README block made of command output (or an output file) from a session."""

    session: Session
    shown: tuple[Shown, ...]
    lang: str = ""

    def body(self) -> str:
        transcript = run(self.session)
        lines: list[str] = []
        for part in self.shown:
            if isinstance(part.source, int):
                lines.append(self.session.commands[part.source].shown())
                lines += excerpt(transcript.outputs[part.source], part.pieces)
            else:
                lines += excerpt(transcript.files[part.source], part.pieces)
        return "\n".join(lines)


@dataclass(frozen=True)
class Input:
    """A README block that is a file a command runs with, shown as it is."""

    text: Callable[[], str]
    lang: str = "yaml"

    def body(self) -> str:
        return self.text().rstrip("\n")


def block(example: Example | Input, name: str) -> str:
    """The README text from the opening marker to the closing one, both included."""
    fence = "```"
    return (
        f"<!-- example: {name} {MARKER_NOTE} -->\n"
        f"{fence}{example.lang}\n{example.body()}\n{fence}\n{END}"
    )


def readme_blocks(text: str) -> dict[str, str]:
    """Name -> the README's marked block, markers included."""
    out: dict[str, str] = {}
    for match in BEGIN.finditer(text):
        end = text.index(END, match.end()) + len(END)
        out[match["name"]] = text[match.start() : end]
    return out


def rewrite(text: str, names: Sequence[str] | None = None) -> str:
    """``text`` with each marked block (or those in ``names``) generated afresh."""
    blocks = readme_blocks(text)
    for name, old in blocks.items():
        if names is not None and name not in names:
            continue
        if name not in REGISTRY:
            raise KeyError(f"README.md marks example {name!r}, which is not registered")
        text = text.replace(old, block(REGISTRY[name], name))
    return text


# -- the registry ------------------------------------------------------------------------------

PERF = "examples/perf-agents-bench"
CRASHED_SUCCESS = "state/runs/sglang/trae/gpt-5/2025-11-14_21-05-32/sglang_000_021f76e4"
"""The real run the README follows: a recorded success that exited 1."""
CLEAN_RUN = "state/runs/vllm/trae/gpt-5/2025-10-14_14-11-51/vllm_core-0027"
"""The real run whose only finding is the token count the journal lacks."""
FIXED_TOKENS = {"token_usage": {"input_tokens": 263257, "output_tokens": 11210}}
"""What the repaired journal of ``CLEAN_RUN`` records (its trajectory's sum)."""

WAIVERS = """\
waivers:
  - rule: tokens-not-recorded            # a code (E2E008) or a name
    runs: "state/runs/**"                # globs over run ids (run folders under the results root)
    reason: perf-agents-bench journals never store token usage; the writer is being fixed
    owner: alice@example.com
    expires: 2030-01-01                  # YYYY-MM-DD; the waiver holds through this day
  - rule: retry-inflation
    dataset: true                        # the e2e-dataset::dataset item
    reason: this benchmark publishes best-of-N on purpose
    owner: bob@example.com
    expires: 2030-01-01
"""
"""The waivers file the README shows and its waiver examples run with."""


def _claims() -> str:
    return (EXAMPLES / "claims.yaml").read_text(encoding="utf-8")


def _edited(text: str, old: str, new: str) -> str:
    """``text`` with its one ``old`` replaced (an input the README describes as such an edit)."""
    assert text.count(old) == 1, f"{old!r} is not once in the file any more"
    return text.replace(old, new)


def _write(rel: str, text: Callable[[], str]) -> Callable[[Path], None]:
    """A ``prepare`` step writing ``text()`` to ``rel`` in the temp folder."""

    def prepare(tmp: Path) -> None:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text(), encoding="utf-8")

    return prepare


def _copy_results(tmp: Path) -> None:
    shutil.copytree(EXAMPLES / "perf-agents-bench", tmp / "results")


def _repair_clean_run(tmp: Path) -> None:
    journal = tmp / "results" / CLEAN_RUN / "journal.json"
    data = json.loads(journal.read_text(encoding="utf-8"))
    journal.write_text(json.dumps({**data, **FIXED_TOKENS}, indent=2), encoding="utf-8")


AUDIT = Session("audit", (Command((f"--e2e-results={PERF}",)),))
CLAIMS = Session(
    "claims", (Command((f"--e2e-results={PERF}", "--e2e-claims=examples/claims.yaml")),)
)
SCYLLA = Session(
    "projectscylla",
    (
        Command(
            ("--e2e-results=examples/projectscylla-dryrun", f"--e2e-rerun-list={TMP}/rerun.txt")
        ),
    ),
)
CLAIMS_BAD_KIND = Session(
    "claims-bad-kind",
    (Command((f"--e2e-claims={TMP}/claims.yaml",)),),
    prepare=_write(
        "claims.yaml",
        lambda: _edited(
            _claims(), "stops: [no-tool-output]", "stops: [no-tool-output, tool-outage]"
        ),
    ),
)
CLAIMS_OUT_OF_ROOT = Session(
    "claims-out-of-root",
    (Command((f"--e2e-claims={TMP}/audit/claims.yaml",)),),
    prepare=_write(
        "audit/claims.yaml",
        lambda: _edited(_claims(), '*.yaml*"]', '*.yaml*", "../secrets/*.yml"]'),
    ),
)
WAIVERS_BAD_DATE = Session(
    "waivers-bad-date",
    (Command((f"--e2e-results={PERF}", f"--e2e-waivers={TMP}/waivers.yaml")),),
    prepare=_write(
        "waivers.yaml",
        lambda: _edited(
            WAIVERS, "expires: 2030-01-01                  #", "expires: 2026-13-01    #"
        ),
    ),
)
WAIVED = Session(
    "waived",
    (
        Command((f"--e2e-results={PERF}", f"--e2e-waivers={TMP}/waivers.yaml")),
        Command(
            (f"--e2e-results={PERF}", f"--e2e-waivers={TMP}/waivers.yaml"),
            env={"E2E_AUDIT_TODAY": "2030-01-02"},
        ),
        Command(
            (
                f"--e2e-results={PERF}",
                f"--e2e-waivers={TMP}/waivers.yaml",
                "--e2e-select=tokens-not-recorded",
            )
        ),
    ),
    prepare=_write("waivers.yaml", lambda: WAIVERS),
)
BASELINE = Session(
    "baseline",
    (
        Command(
            (
                f"--e2e-results={TMP}/results",
                f"--e2e-baseline={TMP}/e2e-baseline.json",
                "--e2e-baseline-update",
            )
        ),
        Command(
            (f"--e2e-results={TMP}/results", f"--e2e-baseline={TMP}/e2e-baseline.json"),
            before=_repair_clean_run,
        ),
    ),
    prepare=_copy_results,
    files=("e2e-baseline.json",),
)

WAIVER_LINES = Matching(r"^(waivers:|expired waiver|stale waiver)")
"""The summary's waiver lines."""
SUMMARY_FIGURES = Span("^reported success:", through="^retry inflation")

REGISTRY: dict[str, Example | Input] = {
    # The first screen: the progress lines, one failing run, the summary's head and figures.
    "audit": Example(
        AUDIT,
        (
            Shown(
                0,
                (
                    Span("^collected ", through="e2e audit: failures"),
                    Section(re.escape(f"e2e-runs::{CRASHED_SUCCESS}")),
                    Section("^e2e audit summary$", head=4),
                    SUMMARY_FIGURES,
                    Span("^most serious failing items", count=4),
                    Tail(1),
                ),
            ),
        ),
    ),
    "claims-file": Input(_claims),
    # "Checking claims": the claim item's findings and the claims part of the summary.
    "claims": Example(
        CLAIMS,
        (
            Shown(
                0,
                (
                    Section("^e2e-claims::"),
                    Section("^e2e audit summary$", head=1),
                    Span(r"^\d+ claims? checked", until="^most serious failing items"),
                ),
            ),
        ),
    ),
    "claims-bad-kind": Example(CLAIMS_BAD_KIND, (Shown(0),)),
    "claims-out-of-root": Example(CLAIMS_OUT_OF_ROOT, (Shown(0),)),
    # "Auditing ProjectScylla results": progress, every failing and below-gate item, the end.
    "projectscylla": Example(
        SCYLLA,
        (
            Shown(
                0,
                (
                    Span("^collected ", through="^e2e-groups "),
                    Section("^e2e audit: failures$"),
                    Section("^e2e audit: findings below the gate"),
                    Section("^e2e audit summary$", head=2),
                    Span("^failure classes"),
                    Span("^most serious failing items", to_end=True),
                ),
            ),
        ),
    ),
    # "Reading the dataset summary": the figures and the dataset and group rule tables.
    "dataset-summary": Example(
        AUDIT, (Shown(0, (Span("^reported success:", until="^most serious failing items"),)),)
    ),
    "waivers-file": Input(lambda: WAIVERS),
    # "Waivers": the first waived (or expired) finding and the summary's waiver lines, on the
    # bundled example today, after the waivers expired, and in a session narrowed to one rule.
    "waived": Example(
        WAIVED,
        (
            Shown(0, (Span(r" \[waived by "), WAIVER_LINES, Tail(1))),
            Shown(1, (Span(r"; waiver by .* expired "), WAIVER_LINES, Tail(1))),
            Shown(2, (WAIVER_LINES, Tail(1))),
        ),
    ),
    "waivers-bad-date": Example(WAIVERS_BAD_DATE, (Shown(0),)),
    # "Baseline": writing it, then the audit after one run's journal was repaired.
    "baseline": Example(
        BASELINE,
        (
            Shown(0, (Matching(r"^baseline"), Tail(1))),
            Shown(1, (Matching(r"^(baseline|fixed since the baseline)"), Tail(1))),
        ),
    ),
    "baseline-file": Example(BASELINE, (Shown("e2e-baseline.json", (Head(7), Tail(4))),), "json"),
}
"""Every README example by name, in the order they appear."""


def sessions() -> dict[str, list[str]]:
    """Session name -> the examples showing it (inputs under ``inputs``)."""
    out: dict[str, list[str]] = {}
    for name, example in REGISTRY.items():
        key = example.session.name if isinstance(example, Example) else "inputs"
        out.setdefault(key, []).append(name)
    return out


def main() -> None:
    text = README.read_text(encoding="utf-8")
    README.write_text(rewrite(text), encoding="utf-8")
    missing = sorted(set(REGISTRY) - set(readme_blocks(text)))
    if missing:
        sys.exit(f"registered but not marked in README.md: {', '.join(missing)}")


if __name__ == "__main__":
    main()
