#!/usr/bin/env python3
"""The baseline the audit is timed against: the one-off script a user would write instead.

It computes, for every run folder of a perf-agents-bench tree (a folder holding
``journal.json``), the per-run facts the audit reports as JUnit properties, plus the API-error
kinds in the agent logs, the way a hand-written analysis does it: whole-file reads,
``json.loads``, a few compiled regexes, one process. It knows nothing of the plugin (it
imports nothing from it), so its time is what the audit has to beat.

    python benchmarks/oneoff.py TREE/state/runs > facts.jsonl
    python benchmarks/oneoff.py TREE/state/runs --compare audit.xml

``--compare`` reads the audit's ``--junitxml`` file and checks that both computed the same
facts (status, exit code, patch bytes, recorded and observed tokens) for the same runs: the
two do the same work, so their times can be compared. It exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

# API errors, as a user would grep for them: one alternation of literals (fast in ``re``),
# each hit then named by the text it matched.
API_ERROR = re.compile(
    rb"No tool output found for function call|context_length_exceeded|maximum context length"
    rb"|rompt is too long|insufficient_quota|exceeded your current quota|Error code: [0-9]{3}"
    rb"|AuthenticationError|RateLimitError|ate limit|InternalServerError|Overloaded"
    rb"|APIConnectionError|Connection error|timed out"
)
KINDS = (
    (b"No tool output", "no_tool_output"),
    (b"context", "context_length"),
    (b"too long", "context_length"),
    (b"quota", "quota"),
    (b"Error code: 40", "auth"),
    (b"Authentication", "auth"),
    (b"Error code: 429", "rate_limit"),
    (b"ate", "rate_limit"),
    (b"Error code: 5", "server"),
    (b"Internal", "server"),
    (b"Overloaded", "server"),
)


def _kind(text: bytes) -> str:
    return next((kind for key, kind in KINDS if key in text), "connection")


RETRIES = re.compile(rb"Will sleep for [0-9.]+ seconds and will retry")
BAR = "\u2502".encode()  # the box-drawing bar of TRAE's panels
TRAE_TOTAL = re.compile(
    rb"^" + BAR + rb" Total\s*" + BAR + rb" Input: ([0-9]+) Output: ([0-9]+)", re.M
)
TRAE_SUCCESS = re.compile(rb"^" + BAR + rb" Success\s+" + BAR + rb" ([^\xe2\n]*)", re.M)
DIFF_FILE = re.compile(rb"^diff --git a/(\S+) b/", re.M)
TOKEN_KEYS = ("token_usage", "tokens", "usage")


def _tokens(raw: object) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if not isinstance(raw, dict):
        return None
    total = raw.get("total_tokens", raw.get("total"))
    if isinstance(total, int):
        return total
    tin = raw.get("input_tokens", raw.get("input", raw.get("prompt_tokens")))
    tout = raw.get("output_tokens", raw.get("output", raw.get("completion_tokens")))
    return tin + tout if isinstance(tin, int) and isinstance(tout, int) else None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def run_facts(folder: Path, root: Path) -> dict[str, object]:
    facts: dict[str, object] = {"run": folder.relative_to(root).as_posix()}
    raw = _read(folder / "journal.json")
    try:
        journal = json.loads(raw) if raw else None
    except ValueError:
        journal = None
    if not isinstance(journal, dict):
        facts["readable"] = False
        return facts
    facts["status"] = journal.get("status")
    agents = ("trae", "claude_code", "codex")
    agent = next((k for k in agents if isinstance(journal.get(k), dict)), None)
    block = journal.get(agent, {}) if agent else {}
    facts["exit_code"] = block.get("returncode")
    facts["duration_s"] = block.get("duration_s")
    recorded = None
    for place in (journal, block):
        for key in TOKEN_KEYS:
            recorded = recorded if recorded is not None else _tokens(place.get(key))
    facts["tokens_recorded"] = recorded

    patch = _read(folder / "model_patch.diff")
    facts["patch_bytes"] = len(patch) if patch is not None else None
    changed = {m.group(1).decode() for m in DIFF_FILE.finditer(patch or b"")}
    targets_raw = _read(folder / "diff_targets.json")
    try:
        targets = json.loads(targets_raw) if targets_raw else {}
    except ValueError:
        targets = {}
    allowed = set(targets.get("allowed") or []) if isinstance(targets, dict) else set()
    facts["out_of_scope"] = sorted(changed - allowed) if allowed else []
    prediction = _read(folder / "prediction.jsonl")
    if prediction:
        try:
            first = json.loads(prediction.split(b"\n", 1)[0])
            facts["prediction_patch_bytes"] = len(first.get("model_patch") or "")
        except (ValueError, AttributeError):
            facts["prediction_patch_bytes"] = None

    kinds: dict[str, int] = {}
    retries = 0
    observed = None
    verdict = None
    for name in (f"{agent or 'trae'}_stdout.txt", f"{agent or 'trae'}_stderr.txt"):
        log = _read(folder / name)
        if not log:
            continue
        for hit in API_ERROR.findall(log):
            kind = _kind(hit)
            kinds[kind] = kinds.get(kind, 0) + 1
        retries += len(RETRIES.findall(log))
        if name.endswith("_stdout.txt"):
            totals = TRAE_TOTAL.findall(log)
            if totals:
                observed = int(totals[-1][0]) + int(totals[-1][1])
            verdicts = TRAE_SUCCESS.findall(log)
            if verdicts:
                verdict = b"Yes" in verdicts[-1]
    facts["api_errors"] = kinds
    facts["retries"] = retries
    facts["agent_verdict"] = verdict

    trajectory_raw = _read(folder / "trajectory.json")
    try:
        trajectory = json.loads(trajectory_raw) if trajectory_raw else None
    except ValueError:
        trajectory = None
    if isinstance(trajectory, dict):
        calls = trajectory.get("llm_interactions") or []
        total = 0
        counted = 0
        for call in calls:
            usage = ((call or {}).get("response") or {}).get("usage") or {}
            if isinstance(usage.get("input_tokens"), int):
                counted += 1
                total += usage["input_tokens"] + (usage.get("output_tokens") or 0)
        if counted or not calls:
            observed = total
        facts["llm_calls"] = len(calls)
        final = str(trajectory.get("final_result"))
        facts["max_steps_exceeded"] = "exceeded maximum steps" in final
    facts["tokens_observed"] = observed
    return facts


def runs(root: Path) -> list[Path]:
    found = []
    for dirpath, _dirs, files in os.walk(root):
        if "journal.json" in files:
            found.append(Path(dirpath))
    return sorted(found)


COMPARED = {
    "status": "e2e.status",
    "exit_code": "e2e.exit_code",
    "patch_bytes": "e2e.patch_bytes",
    "tokens_recorded": "e2e.tokens_recorded",
    "tokens_observed": "e2e.tokens_observed",
}


def compare(facts: list[dict[str, object]], junit: Path) -> list[str]:
    """Differences between this script's facts and the audit's run testcases."""
    audited: dict[str, dict[str, str]] = {}
    for case in ET.parse(junit).iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        if "e2e.run" in props:
            audited[props["e2e.run"]] = props
    problems = []
    mine = {str(f["run"]): f for f in facts}
    if set(mine) != set(audited):
        problems.append(f"runs differ: {len(set(mine) ^ set(audited))} in one list only")
    for run, fact in mine.items():
        props = audited.get(run)
        if props is None or fact.get("readable") is False:
            continue
        for key, prop in COMPARED.items():
            value = fact.get(key)
            expected = "" if value is None and key == "status" else value
            shown = props.get(prop)
            if (None if expected is None else str(expected)) != shown:
                problems.append(f"{run}: {key} script={expected!r} audit={shown!r}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--compare", type=Path, metavar="JUNIT", help="an audit's --junitxml")
    args = parser.parse_args()
    root = args.root.resolve()
    facts = [run_facts(folder, root) for folder in runs(root)]
    if args.compare:
        problems = compare(facts, args.compare)
        for line in problems[:20]:
            print(line)
        print(f"{len(facts)} runs; {len(problems)} differences from the audit")
        return 1 if problems else 0
    out = sys.stdout
    for fact in facts:
        out.write(json.dumps(fact, sort_keys=True) + "\n")
    failing = sum(1 for f in facts if f.get("status") != "success" or f.get("exit_code") != 0)
    print(f"{len(facts)} runs, {failing} not a clean success", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
