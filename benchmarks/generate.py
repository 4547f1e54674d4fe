#!/usr/bin/env python3
"""Generate synthetic perf-agents-bench results trees for the performance harness.

The trees have the shape of the real runs in ``examples/perf-agents-bench/state/runs``
(FORMATS.md §1): the nested layout ``state/runs/<repo>/<agent>/<model>/<timestamp>/<item>/``,
and in each run folder ``journal.json``, ``model_patch.diff``, ``prediction.jsonl``,
``diff_targets.json``, ``trae_stdout.txt`` / ``trae_stderr.txt``, a pretty-printed
``trajectory.json`` (indent=2), ``prompt.json``, ``task.txt`` and ``run_summary.json``.

The TRAE console logs are assembled from the real step panels of the sample runs (their
``│ Total │ Input: N Output: M`` rows are regenerated so the totals are cumulative and agree
with the trajectory), with retry lines and tracebacks like the real ones in between, and a
final Execution Summary table.

Everything is deterministic: run ``i`` depends only on ``--seed`` and ``i``, so the first N
runs of a big tree are exactly a tree of N runs (``run.py`` uses that to hard-link smaller
trees out of a big one instead of generating them again).

Examples::

    # 10,000 runs, 20% of them failing the audit, ~100 KB stdout + ~80 KB trajectory each
    python benchmarks/generate.py benchmarks/_trees/mix10k --runs 10000 --fail-fraction 0.2

    # exactly 8,000 failing runs at a 90% failure rate (8,889 runs)
    python benchmarks/generate.py benchmarks/_trees/fail8k --failing 8000 --fail-fraction 0.9

    # one run whose trae_stdout.txt is 1 GB (written as repeated 1 MB chunks)
    python benchmarks/generate.py benchmarks/_trees/big1g --single --stdout-size 1G
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "examples" / "perf-agents-bench" / "state" / "runs"

ENC = "utf-8"
ERRS = "surrogateescape"  # keep odd bytes of the real logs as they are

# --------------------------------------------------------------------------------------
# Size parsing
# --------------------------------------------------------------------------------------

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.I)


def parse_size(text: str) -> int:
    """``200K`` / ``1M`` / ``1G`` / ``12345`` -> bytes (binary multiples)."""
    m = _SIZE_RE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 200K, 1M, 1G)")
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


# --------------------------------------------------------------------------------------
# Templates taken from the real sample logs (with built-in fallbacks)
# --------------------------------------------------------------------------------------

_TOTAL_ROW = "│ Total       │ Input: "
_TOKENS_ROW = "│ Tokens      │"

FALLBACK_HEADER = """Changed working directory to:
/home/ubuntu/OmniPerf-Bench/perf-agents-bench/.work/worktrees/vllm_core/vllm_core-0000
╭──────────────────────────────── Task Details ────────────────────────────────╮
│ Task: I've uploaded a python code repository in the directory                │
│ /home/ubuntu/OmniPerf-Bench/perf-agents-bench/.work/worktrees/vllm_core/vllm │
│ _core-0000.                                                                  │
│ Can you help me implement the necessary changes to the repository so that    │
│ the runtime of the <test_script> is optimized?                               │
│ Model Provider: openai                                                       │
│ Model: gpt-5                                                                 │
│ Max Steps: 120                                                               │
╰──────────────────────────────────────────────────────────────────────────────╯
"""

FALLBACK_PANEL = """┌─────────────┬─────────────────────────────────────────────────────────────────
│ Status      │ ✅ Step 1: Completed
│ LLM         │ 💬 I'll inspect the repository structure and open the target fil
│ Response    │ opportunities. Then I'll create a benchmarking script in .bench_
│             │ and after changes.
│ Tools       │ 🔧 bash
│ bash        │ ┌────────────────────────────────────────────────┬──────────
│             │ │ {'command': "ls -la                            │ total 112
│             │ │ /home/ubuntu/OmniPerf-Bench/perf-agents-bench… │ drwxrwxr-x 15
│             │ │ | sed -n '1,120p'", 'restart': False}          │ .
│             │ │                                                │ -rw-rw-r--  1
│             │ │                                                │ .clang-format
│             │ └────────────────────────────────────────────────┴──────────
"""

PANEL_END = "└─────────────┴─────────────────────────────────────────────────────────────────\n"
_PANEL_TAIL_BYTES = len(PANEL_END.encode()) + 70
"""Closing line plus the Total/Tokens rows, in bytes (approximately)."""

_TRAE = "/home/ubuntu/OmniPerf-Bench/third-party/trae-agent/trae_agent/utils/llm_clients"
_SITE = "/home/ubuntu/OmniPerf-Bench/bench-env/lib/python3.12/site-packages"

TRACEBACK_OPENAI = "".join(
    [
        "Traceback (most recent call last):\n",
        f'  File "{_TRAE}/retry_utils.py", line 36, in wrapper\n',
        "    return func(*args, **kwargs)\n",
        "           ^^^^^^^^^^^^^^^^^^^^^\n",
        f'  File "{_TRAE}/openai_client.py", line 64, in _create_openai_response\n',
        "    return self.client.responses.create(**api_params)\n",
        "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n",
        f'  File "{_SITE}/openai/_base_client.py", line 1242, in post\n',
        "    return cast(ResponseT, self.request(cast_to, opts, stream=stream, "
        "stream_cls=stream_cls))\n",
        "                           " + "^" * 65 + "\n",
        f'  File "{_SITE}/openai/_base_client.py", line 1037, in request\n',
        "    raise self._make_status_error_from_response(err.response) from None\n",
    ]
)

TRACEBACK_BEDROCK = "".join(
    [
        "Traceback (most recent call last):\n",
        f'  File "{_TRAE}/retry_utils.py", line 36, in wrapper\n',
        "    return func(*args, **kwargs)\n",
        "           ^^^^^^^^^^^^^^^^^^^^^\n",
        f'  File "{_TRAE}/bedrock_client.py", line 53, in _create_bedrock_response\n',
        "    with self.client.messages.stream(\n",
        f'  File "{_SITE}/botocore/auth.py", line 452, in _modify_request_before_signing\n',
        "    if self.credentials.token:\n",
        "botocore.exceptions.TokenRetrievalError: Error when retrieving token from sso: "
        "Token has expired and refresh failed\n",
    ]
)


@dataclass
class Templates:
    headers: list[str]
    panels: list[tuple[str, int]]
    """Step panels without their closing line and without Total/Tokens rows, with their
    size in bytes."""
    task_text: str
    patch_text: str


def _split_panels(text: str) -> tuple[str, list[str]]:
    """(header before the first step panel, clean step panels) of one real TRAE log."""
    lines = text.splitlines(keepends=True)
    header_end = None
    panels: list[str] = []
    cur: list[str] | None = None
    for idx, line in enumerate(lines):
        if cur is None:
            if line.startswith("┌"):
                cur = [line]
                if header_end is None:
                    header_end = idx
            continue
        if line.startswith("└"):
            body = [ln for ln in cur if not ln.startswith((_TOTAL_ROW, _TOKENS_ROW))]
            # Keep only clean panels: every line a panel row, and a Status row present.
            if any(ln.startswith("│ Status") for ln in body) and all(
                ln.startswith(("┌", "│", "├")) for ln in body
            ):
                panels.append("".join(body))
            cur = None
            continue
        cur.append(line)
    header = "".join(lines[:header_end]) if header_end else ""
    return header, panels


def load_templates() -> Templates:
    headers: list[str] = []
    panels: list[str] = []
    task_text = ""
    patch_text = ""
    if SAMPLES.is_dir():
        for log in sorted(SAMPLES.rglob("trae_stdout.txt")):
            text = log.read_bytes().decode(ENC, ERRS)
            header, found = _split_panels(text)
            clean = "API call failed" not in header and "Traceback" not in header
            if header and clean and 2_000 < len(header) < 40_000:
                headers.append(header)
            panels.extend(p for p in found if len(p) < 20_000)
        for task in sorted(SAMPLES.rglob("task.txt")):
            task_text = task.read_text(ENC, ERRS)
            break
        for patch in sorted(SAMPLES.rglob("model_patch.diff")):
            data = patch.read_text(ENC, ERRS)
            if 1_000 < len(data) < 20_000:
                patch_text = data
                break
    if not headers:
        headers = [FALLBACK_HEADER]
    if not panels:
        panels = [FALLBACK_PANEL]
    sized = [(p, len(p.encode(ENC, ERRS))) for p in panels]
    if not task_text:
        task_text = "I've uploaded a python code repository in the directory ...\n" * 40
    if not patch_text:
        patch_text = (
            "diff --git a/vllm/model_executor/layers/fused_moe/moe_align_block_size.py "
            "b/vllm/model_executor/layers/fused_moe/moe_align_block_size.py\n"
            "index 5a97072de..a3a3e925a 100644\n"
            "--- a/vllm/model_executor/layers/fused_moe/moe_align_block_size.py\n"
            "+++ b/vllm/model_executor/layers/fused_moe/moe_align_block_size.py\n"
            "@@ -21,7 +21,7 @@ import torch\n"
            "-    sorted_ids = torch.zeros((max_num_tokens_padded, ), dtype=torch.int32)\n"
            "+    sorted_ids = torch.empty((max_num_tokens_padded, ), dtype=torch.int32)\n"
        )
    return Templates(headers, sized, task_text, patch_text)


# --------------------------------------------------------------------------------------
# Log pieces
# --------------------------------------------------------------------------------------

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def call_id(rng: random.Random) -> str:
    return "call_" + "".join(rng.choices(_ALNUM, k=24))


def retry_block(rng: random.Random, kind: str) -> str:
    """One failed API call as TRAE prints it: the retry line, then the traceback."""
    secs = rng.randint(3, 30)
    if kind == "no-tool-output":
        cid = call_id(rng)
        body = (
            f"Error code: 400 - {{'error': {{'message': 'No tool output found for function call "
            f"{cid}.', 'type': 'invalid_request_error', 'param': 'input', 'code': None}}}}"
        )
        return (
            f"OpenAI API call failed: {body}. Will sleep for {secs} seconds and will retry.\n"
            + TRACEBACK_OPENAI
            + f"openai.BadRequestError: {body}\n"
        )
    if kind == "quota":
        body = (
            "Error code: 429 - {'error': {'message': 'You exceeded your current quota, please "
            "check your plan and billing details.', 'type': 'insufficient_quota', 'param': None, "
            "'code': 'insufficient_quota'}}"
        )
        return (
            f"OpenAI API call failed: {body}. Will sleep for {secs} seconds and will retry.\n"
            + TRACEBACK_OPENAI
            + f"openai.RateLimitError: {body}\n"
        )
    if kind == "rate-limit":
        body = (
            "Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-5 in "
            "organization org-xxxx on tokens per min (TPM)', 'type': 'tokens', 'code': "
            "'rate_limit_exceeded'}}"
        )
        return (
            f"OpenAI API call failed: {body}. Will sleep for {secs} seconds and will retry.\n"
            + TRACEBACK_OPENAI
            + f"openai.RateLimitError: {body}\n"
        )
    # expired Bedrock SSO token
    return (
        "Bedrock API call failed: Error when retrieving token from sso: Token has expired and "
        f"refresh failed. Will sleep for {secs} seconds and will retry.\n" + TRACEBACK_BEDROCK
    )


def total_rows(tin: int, tout: int) -> str:
    return f"{_TOTAL_ROW}{tin} Output: {tout}\n{_TOKENS_ROW}\n"


def summary_table(success: bool, steps: int, secs: float, tin: int, tout: int) -> str:
    def row(label: str, value: str) -> str:
        return f"│ {label:<16} │ {value:<37} │\n"

    verdict = "✅ Yes" if success else "❌ No"
    out = [
        "\n",
        "=" * 60 + "\n",
        "Execution Summary\n",
        "=" * 60 + "\n",
        "┌──────────────────┬───────────────────────────────────────┐\n",
        row("Task", "I've uploaded a python code"),
        row("", "repository in the dire..."),
        row("Success", verdict),
        row("Steps", str(steps)),
        row("Execution Time", f"{secs:.2f}s"),
    ]
    if tin or tout:
        out += [
            row("Total Tokens", str(tin + tout)),
            row("Input Tokens", str(tin)),
            row("Output Tokens", str(tout)),
        ]
    out.append("└──────────────────┴───────────────────────────────────────┘\n")
    return "".join(out)


# --------------------------------------------------------------------------------------
# Trajectory (pretty-printed, indent=2, like trae-agent's recorder)
# --------------------------------------------------------------------------------------

_FILLER_TEXT = (
    "the kernel allocates a zero-filled buffer for every call which is then overwritten "
    "completely so torch.empty is enough and the fill_ can go; error handling stays the "
    "same and the public API is unchanged; run the benchmark script again to confirm "
)
_FILLER_WORDS = _FILLER_TEXT.split()


def _filler(n: int, salt: int) -> str:
    words = _FILLER_WORDS
    out: list[str] = []
    size = 0
    i = salt
    while size < n:
        w = words[i % len(words)]
        out.append(w)
        size += len(w) + 1
        i += 7
    return " ".join(out)[:n]


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line for line in text.split("\n"))


@dataclass
class StepTemplate:
    """One llm_interactions element and one agent_steps element, as %-format strings."""

    interaction: str
    step: str
    size: int


def _make_step_template(content_len: int, salt: int) -> StepTemplate:
    content = _filler(content_len, salt)
    result = _filler(content_len * 2, salt + 3)
    tool_call = {
        "call_id": "@@CALL@@",
        "name": "bash",
        "arguments": {
            "command": "grep -n 'torch.zeros\\|fill_' vllm/_custom_ops.py",
            "restart": False,
        },
        "id": None,
    }
    interaction = {
        "timestamp": "@@TS@@",
        "provider": "openai",
        "model": "gpt-5",
        "input_messages": [
            {"role": "system", "content": "You are Trae Agent, an interactive CLI agent."},
            {"role": "user", "content": content},
        ],
        "response": {
            "content": content[: content_len // 2],
            "model": "gpt-5",
            "finish_reason": "tool_calls",
            "usage": {
                "input_tokens": "@@IN@@",
                "output_tokens": "@@OUT@@",
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "reasoning_tokens": 0,
            },
            "tool_calls": [tool_call],
        },
        "tools_available": [
            "bash",
            "str_replace_based_edit_tool",
            "sequentialthinking",
            "task_done",
        ],
    }
    tool_result = {
        "call_id": "@@CALL@@",
        "success": True,
        "result": result,
        "error": "",
        "id": None,
    }
    step = {
        "step_number": "@@STEP@@",
        "timestamp": "@@TS@@",
        "state": "completed",
        "llm_messages": [{"role": "user", "content": None, "tool_result": tool_result}],
        "llm_response": {
            "content": content[: content_len // 2],
            "model": "gpt-5",
            "finish_reason": "tool_calls",
            "usage": {"input_tokens": "@@IN@@", "output_tokens": "@@OUT@@"},
            "tool_calls": [tool_call],
        },
        "tool_calls": [tool_call],
        "tool_results": [tool_result],
        "reflection": None,
        "error": None,
    }

    def fmt(obj: object) -> str:
        text = _indent(json.dumps(obj, indent=2, ensure_ascii=False), 4)
        text = text.replace("%", "%%")
        for sentinel, spec in (
            ('"@@IN@@"', "%(inp)d"),
            ('"@@OUT@@"', "%(out)d"),
            ('"@@STEP@@"', "%(step)d"),
            ('"@@CALL@@"', '"%(call)s"'),
            ('"@@TS@@"', '"%(ts)s"'),
        ):
            text = text.replace(sentinel, spec)
        return text

    inter, st = fmt(interaction), fmt(step)
    return StepTemplate(inter, st, len(inter) + len(st) + 4)


class TrajectoryMaker:
    def __init__(self) -> None:
        # Variants from ~1 KB to ~24 KB per step (interaction + step element).
        self.variants = [
            _make_step_template(n, i)
            for i, n in enumerate([150, 300, 500, 800, 1200, 1800, 2600, 3600, 5000, 7000])
        ]

    def pick(self, per_step: int, rng: random.Random) -> StepTemplate:
        target = per_step * rng.uniform(0.6, 1.4)
        return min(self.variants, key=lambda v: abs(v.size - target))

    def render(
        self,
        *,
        task: str,
        start: datetime,
        deltas: list[tuple[int, int]],
        size: int,
        success: bool,
        final_result: str | None,
        secs: float,
        rng: random.Random,
        extra_error_step: bool,
    ) -> str:
        n = len(deltas)
        head = (
            "{\n"
            f'  "task": {json.dumps(task, ensure_ascii=False)},\n'
            f'  "start_time": "{start.isoformat()}",\n'
            f'  "end_time": "{(start + timedelta(seconds=secs)).isoformat()}",\n'
            '  "provider": "openai",\n'
            '  "model": "gpt-5",\n'
            '  "max_steps": 120,\n'
        )
        per_step = max((size - len(head.encode(ENC, ERRS)) - 200) // max(n, 1), 1)
        interactions: list[str] = []
        steps: list[str] = []
        for k, (tin, tout) in enumerate(deltas):
            tpl = self.pick(per_step, rng)
            vals = {
                "inp": tin,
                "out": tout,
                "step": k + 1,
                "call": call_id(rng),
                "ts": (start + timedelta(seconds=20 * (k + 1))).isoformat(),
            }
            interactions.append(tpl.interaction % vals)
            steps.append(tpl.step % vals)
        if extra_error_step:
            err = {
                "step_number": n + 1,
                "timestamp": (start + timedelta(seconds=20 * (n + 1))).isoformat(),
                "state": "completed",
                "llm_messages": [],
                "llm_response": None,
                "tool_calls": None,
                "tool_results": None,
                "reflection": None,
                "error": "Error code: 400 - {'error': {'message': 'No tool output found for "
                f"function call {call_id(rng)}.', 'type': 'invalid_request_error'}}",
            }
            steps.append(_indent(json.dumps(err, indent=2), 4))
        parts = [head]
        if interactions:
            parts.append('  "llm_interactions": [\n' + ",\n".join(interactions) + "\n  ],\n")
        else:
            parts.append('  "llm_interactions": [],\n')
        if steps:
            parts.append('  "agent_steps": [\n' + ",\n".join(steps) + "\n  ],\n")
        else:
            parts.append('  "agent_steps": [],\n')
        parts.append(
            f'  "success": {"true" if success else "false"},\n'
            f'  "final_result": {json.dumps(final_result)},\n'
            f'  "execution_time": {secs:.6f}\n'
            "}"
        )
        return "".join(parts)


# --------------------------------------------------------------------------------------
# Run outcomes
# --------------------------------------------------------------------------------------

# Failing kinds, weighted roughly like the ISO snapshot (FORMATS.md §1.8): most failures are
# error journals without a message; many successes contradict TRAE's own "❌ No".
FAIL_KINDS: tuple[tuple[str, float], ...] = (
    ("error-no-message", 0.40),  # E2E007 (+E2E009 warning) +E2E008
    ("success-verdict-no", 0.20),  # E2E006 +E2E008
    ("success-rc1-no-tool-output", 0.12),  # E2E003 E2E009 +E2E008
    ("success-no-tool-output", 0.08),  # E2E009 +E2E008
    ("success-empty-patch", 0.05),  # E2E004 E2E006 +E2E008
    ("success-no-exec", 0.04),  # E2E003 E2E005 +E2E008
    ("success-out-of-scope", 0.05),  # E2E010 +E2E008
    ("max-steps", 0.03),  # E2E002 +E2E008
    ("error-verdict-yes", 0.02),  # E2E006 E2E007 +E2E008
    ("zero-byte-journal", 0.01),  # E2E001
)
# Passing kinds: the pipeline records tokens in the journal (a fixed pipeline would), the
# success is backed by a clean exit, a patch and the agent's own "✅ Yes".
PASS_KINDS: tuple[tuple[str, float], ...] = (
    ("pass-success", 0.75),
    ("pass-error-with-message", 0.20),  # an error with a message and API warnings only
    ("pass-success-clean-scope", 0.05),
)

REPOS = ("vllm", "sglang", "sglan")
MODELS = (
    "gpt-5",
    "openai-gpt-5",
    "gpt-5-2025-08-07",
    "us-anthropic-claude-sonnet-4-5-20250929-v1-0",
    "gpt-4o",
)
BATCH = 100
"""Runs per timestamp folder."""
BASE_TIME = datetime(2025, 10, 1, 8, 0, 0)


def is_failing(i: int, frac: float) -> bool:
    """Spread failures evenly: any prefix of N runs has floor(N * frac) failing ones."""
    return math.floor((i + 1) * frac + 1e-9) > math.floor(i * frac + 1e-9)


def runs_for_failing(failing: int, frac: float) -> int:
    n = max(int(math.ceil(failing / frac)) - 2, 0)
    while math.floor(n * frac + 1e-9) < failing:
        n += 1
    return n


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    x = rng.random() * sum(w for _, w in table)
    for name, w in table:
        x -= w
        if x < 0:
            return name
    return table[-1][0]


def run_path(i: int) -> tuple[str, str, str, str, str]:
    b = i // BATCH
    repo = REPOS[b % len(REPOS)]
    model = MODELS[(b // len(REPOS)) % len(MODELS)]
    ts = (BASE_TIME + timedelta(hours=b, minutes=(b * 7) % 60)).strftime("%Y-%m-%d_%H-%M-%S")
    task = "vllm_core" if repo == "vllm" else "sglang_core"
    item = f"{task}-{i % BATCH:04d}"
    return repo, "trae", model, ts, item


@dataclass
class GenConfig:
    stdout_size: int
    trajectory_size: int
    jitter: float = 0.5


class Generator:
    def __init__(self, cfg: GenConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.t = load_templates()
        self.traj = TrajectoryMaker()

    def rng_for(self, i: int) -> random.Random:
        return random.Random(self.seed * 1_000_003 + i)

    # -- one run -------------------------------------------------------------------------

    def write_run(self, root: Path, i: int, failing: bool) -> tuple[str, str, int]:
        rng = self.rng_for(i)
        kind = _weighted(rng, FAIL_KINDS if failing else PASS_KINDS)
        repo, agent, model, ts, item = run_path(i)
        rel = f"{repo}/{agent}/{model}/{ts}/{item}"
        folder = root / rel
        folder.mkdir(parents=True, exist_ok=True)
        written = self._write(folder, rng, kind, repo, model, ts, item)
        return rel, kind, written

    def _write(
        self,
        folder: Path,
        rng: random.Random,
        kind: str,
        repo: str,
        model: str,
        ts: str,
        item: str,
    ) -> int:
        cfg = self.cfg
        jit = 1.0 + rng.uniform(-cfg.jitter, cfg.jitter)
        stdout_target = int(cfg.stdout_size * jit)
        traj_target = int(cfg.trajectory_size * jit)
        task_id = "vllm_core" if repo == "vllm" else "sglang_core"
        pre = f"{rng.getrandbits(160):040x}"
        human = f"{rng.getrandbits(32):08x}"
        start = datetime.strptime(ts, "%Y-%m-%d_%H-%M-%S") + timedelta(seconds=rng.randint(1, 59))

        status = "success"
        rc = 0
        duration = rng.uniform(200.0, 3000.0)
        verdict_yes = True
        api_kind: str | None = None
        n_retries = 0
        error_msg: str | None = None
        record_tokens = kind.startswith("pass-")
        patch_empty = False
        disallowed: list[str] = []
        no_exec = False
        final_result: str | None = "Optimized the allocation path."
        zero_journal = False

        if kind == "pass-error-with-message":
            status, verdict_yes = "error", False
            error_msg = "[Errno 32] Broken pipe"
            api_kind, n_retries = "rate-limit", rng.randint(1, 4)
            final_result = None
        elif kind == "error-no-message":
            status, verdict_yes = "error", False
            rc = rng.choice((0, 0, 1))
            api_kind = rng.choice(("no-tool-output", "expired", "quota", "no-tool-output"))
            n_retries = rng.randint(2, 10)
            final_result = None
        elif kind == "success-verdict-no":
            verdict_yes = False
            final_result = None
        elif kind == "success-rc1-no-tool-output":
            rc, verdict_yes = 1, False
            api_kind, n_retries = "no-tool-output", rng.randint(5, 20)
        elif kind == "success-no-tool-output":
            api_kind, n_retries = "no-tool-output", rng.randint(1, 10)
        elif kind == "success-empty-patch":
            patch_empty, verdict_yes = True, False
        elif kind == "success-no-exec":
            rc, duration, no_exec = 1, rng.uniform(1.0, 2.0), True
        elif kind == "success-out-of-scope":
            disallowed = [f"vllm/other/module_{k}.py" for k in range(rng.randint(1, 40))]
            disallowed.append("model_patch.diff")
        elif kind == "max-steps":
            status, duration = "max_steps_exceeded", 7200.1
            final_result = "Task execution exceeded maximum steps without completion."
            verdict_yes = False
        elif kind == "error-verdict-yes":
            status, verdict_yes = "error", True
        elif kind == "zero-byte-journal":
            zero_journal = True

        # -- stdout: header, step panels with cumulative totals, retries, summary ---------
        written = 0
        stdout_parts: list[str] = []
        deltas: list[tuple[int, int]] = []
        tin = tout = 0
        if not no_exec:
            header = self.t.headers[rng.randrange(len(self.t.headers))]
            stdout_parts.append(header)
            size = len(header.encode(ENC, ERRS))
            retries_left = n_retries
            # Spread the retries over the log: one every few panels, at least one near the end.
            while size < stdout_target - 1_200 or not deltas:
                panel, panel_bytes = self.t.panels[rng.randrange(len(self.t.panels))]
                dti, dto = rng.randint(6_000, 40_000), rng.randint(80, 3_000)
                tin, tout = tin + dti, tout + dto
                deltas.append((dti, dto))
                piece = panel + total_rows(tin, tout) + PANEL_END
                stdout_parts.append(piece)
                size += panel_bytes + _PANEL_TAIL_BYTES
                if api_kind and retries_left and rng.random() < 0.35:
                    block = retry_block(rng, api_kind)
                    stdout_parts.append(block)
                    size += len(block)
                    retries_left -= 1
            while api_kind and retries_left:
                block = retry_block(rng, api_kind)
                stdout_parts.append(block)
                retries_left -= 1
            stdout_parts.append(summary_table(verdict_yes, len(deltas), duration - 0.7, tin, tout))
            stdout_parts.append(
                "\nTrajectory saved to: /home/ubuntu/OmniPerf-Bench/perf-agents-bench/state/runs/"
                f"{repo}/trae/{model}/{ts}/{item}/trajectory.json\n"
            )
        stdout = "".join(stdout_parts).encode(ENC, ERRS)
        written += _dump(folder / "trae_stdout.txt", stdout)
        if no_exec:
            stderr = (
                "Traceback (most recent call last):\n"
                '  File "/home/ubuntu/OmniPerf-Bench/bench-env/bin/trae-cli", line 8, in <module>\n'
                "    sys.exit(main())\n"
                "TypeError: ModelConfig.__init__() got an unexpected keyword argument "
                "'reasoning_effort'\n"
            )
        else:
            stderr = ""
        written += _dump(folder / "trae_stderr.txt", stderr.encode())

        # -- trajectory -------------------------------------------------------------------
        if not no_exec:
            traj = self.traj.render(
                task=self.t.task_text,
                start=start,
                deltas=deltas,
                size=traj_target,
                success=verdict_yes,
                final_result=final_result,
                secs=duration - 0.7,
                rng=rng,
                extra_error_step=api_kind == "no-tool-output",
            )
            written += _dump(folder / "trajectory.json", traj.encode(ENC, ERRS))

        # -- patch, prediction, diff targets ------------------------------------------------
        patch = "" if patch_empty else self.t.patch_text
        written += _dump(folder / "model_patch.diff", patch.encode(ENC, ERRS))
        owner = "vllm-project" if repo == "vllm" else "sgl-project"
        prediction = {
            "instance_id": f"{owner}__{repo}-{pre[:7]}",
            "model_patch": patch,
            "model_name_or_path": model,
        }
        written += _dump(
            folder / "prediction.jsonl", (json.dumps(prediction) + "\n").encode(ENC, ERRS)
        )
        target = (
            "vllm/_custom_ops.py"
            if repo == "vllm"
            else "python/sglang/srt/entrypoints/http_server.py"
        )
        changed = [target, *disallowed]
        targets = {
            "changed": changed,
            "allowed": [target],
            "disallowed": disallowed,
            "ok": not disallowed,
        }
        written += _dump(folder / "diff_targets.json", json.dumps(targets, indent=2).encode())

        # -- prompt, task, summary ---------------------------------------------------------
        prompt = {
            "task": "vLLM core performance" if repo == "vllm" else "SGLang core performance",
            "description": "Run performance checks with Dockerfile-based env",
            "constraints": ["No public API breakage", "All TestPack checks must pass"],
            "target_files": [target],
            "success": {
                "primary_metric": "functional_match",
                "rules": ["Do not modify tests or metrics harness"],
            },
            "commits": {"pre": pre, "human": human},
        }
        written += _dump(folder / "prompt.json", json.dumps(prompt, indent=2).encode())
        written += _dump(folder / "task.txt", self.t.task_text.encode(ENC, ERRS))

        # -- journal (written last, like the pipeline) ---------------------------------------
        loc = 0 if patch_empty else 43
        journal: dict[str, object] = {
            "task_id": task_id,
            "commits": {"pre": pre, "human": human},
            "agent_branch": f"agent/{task_id}/{human}",
            "status": status,
            "run_metadata": {
                "repo": repo,
                "agent": "trae",
                "model": model,
                "run_timestamp": ts,
                "run_path": f"{repo}/trae/{model}/{ts}",
            },
            "experiment": {"hints_enabled": False, "preflight_enabled": False},
            "preflight": {"attempted": False},
        }
        if error_msg is not None:
            journal["error"] = error_msg
            journal["error_type"] = "BrokenPipeError"
        else:
            journal["metrics"] = {
                "time_to_first_edit_s": round(duration * 0.6, 3),
                "commit_count": 0 if status == "error" else 1,
                "patch_size_loc": 57 if patch_empty else (None if status == "error" else loc),
                "changed_files_count": len(changed),
                "violations_count": len(disallowed),
            }
            journal["trae"] = {
                "cli": "/home/ubuntu/OmniPerf-Bench/bench-env/bin/python",
                "time_budget_minutes": 120,
                "returncode": rc,
                "duration_s": duration,
            }
        if record_tokens:
            journal["token_usage"] = {
                "input_tokens": tin,
                "output_tokens": tout,
                "total_tokens": tin + tout,
            }
        journal["timestamps"] = {"written": start.timestamp() + duration}
        summary = {
            "schema_version": "1.0",
            "meta": {
                "repo": repo,
                "agent": "trae",
                "model": model,
                "timestamp": ts,
                "task_id": task_id,
                "item_id": item,
            },
            "commits": {"human": human, "pre": pre},
            "agent": {"status": status, "patch_generated": bool(patch), "duration_s": duration},
        }
        written += _dump(folder / "run_summary.json", json.dumps(summary, indent=2).encode())
        journal_bytes = b"" if zero_journal else json.dumps(journal, indent=2).encode()
        written += _dump(folder / "journal.json", journal_bytes)
        return written

    # -- one big run -----------------------------------------------------------------------

    def write_single(
        self, root: Path, stdout_size: int, trajectory_size: int, newlines: bool
    ) -> tuple[str, int]:
        """One run whose trae_stdout.txt is ``stdout_size`` bytes, written in ~1 MB chunks."""
        rng = self.rng_for(0)
        repo, agent, model, ts, item = run_path(0)
        rel = f"{repo}/{agent}/{model}/{ts}/{item}"
        folder = root / rel
        folder.mkdir(parents=True, exist_ok=True)
        # Write a normal small run first (journal, patch, ...), then overwrite the big files.
        saved = self.cfg
        self.cfg = GenConfig(
            stdout_size=min(stdout_size, 64 << 10), trajectory_size=16 << 10, jitter=0
        )
        self._write(folder, rng, "success-no-tool-output", repo, model, ts, item)
        self.cfg = saved

        header = self.t.headers[0].encode(ENC, ERRS)
        chunk_parts: list[str] = []
        size = 0
        tin = tout = 0
        steps = 0
        if newlines:
            while size < (1 << 20):
                panel, _ = self.t.panels[rng.randrange(len(self.t.panels))]
                tin, tout = tin + rng.randint(6_000, 40_000), tout + rng.randint(80, 3_000)
                steps += 1
                piece = panel + total_rows(tin, tout) + PANEL_END
                if steps % 5 == 0:
                    piece += retry_block(rng, "no-tool-output")
                chunk_parts.append(piece)
                size += len(piece.encode(ENC, ERRS))
            chunk = "".join(chunk_parts).encode(ENC, ERRS)
        else:
            # Pathological: no newline at all (one multi-GB line).
            unit = ("x" * 1023 + "│").encode()
            chunk = unit * ((1 << 20) // len(unit))
        tail = summary_table(False, steps, 1234.5, tin, tout).encode() if newlines else b""
        body = max(stdout_size - len(header) - len(tail), 0)
        with open(folder / "trae_stdout.txt", "wb") as fh:
            fh.write(header)
            full, rest = divmod(body, len(chunk))
            for _ in range(full):
                fh.write(chunk)
            fh.write(chunk[:rest] if not newlines else _trim_to_line(chunk, rest))
            fh.write(tail)
        total = (folder / "trae_stdout.txt").stat().st_size
        if trajectory_size > (16 << 10):
            total += self._big_trajectory(folder, trajectory_size, rng)
        return rel, total

    def _big_trajectory(self, folder: Path, size: int, rng: random.Random) -> int:
        """A pretty-printed trajectory of about ``size`` bytes, streamed to disk."""
        tpl = self.traj.variants[-1]
        start = BASE_TIME
        path = folder / "trajectory.json"
        with open(path, "w", encoding=ENC) as fh:
            fh.write(
                f'{{\n  "task": "big",\n  "start_time": "{start.isoformat()}",\n'
                '  "llm_interactions": [\n'
            )
            per = tpl.size
            n = max(size // per, 1)
            for k in range(n):
                vals = {
                    "inp": 1000 + k,
                    "out": 10,
                    "step": k + 1,
                    "call": "call_x" + str(k),
                    "ts": start.isoformat(),
                }
                fh.write(tpl.interaction % vals)
                fh.write(",\n" if k + 1 < n else "\n")
            fh.write('  ],\n  "agent_steps": [\n')
            for k in range(n):
                vals = {
                    "inp": 1000 + k,
                    "out": 10,
                    "step": k + 1,
                    "call": "call_x" + str(k),
                    "ts": start.isoformat(),
                }
                fh.write(tpl.step % vals)
                fh.write(",\n" if k + 1 < n else "\n")
            fh.write(
                '  ],\n  "success": false,\n  "final_result": null,\n  "execution_time": 1.0\n}'
            )
        return path.stat().st_size


def _trim_to_line(chunk: bytes, n: int) -> bytes:
    cut = chunk.rfind(b"\n", 0, n)
    return chunk[: cut + 1] if cut >= 0 else b""


def _dump(path: Path, data: bytes) -> int:
    with open(path, "wb") as fh:
        fh.write(data)
    return len(data)


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="tree folder to create (runs go in OUT/state/runs)")
    p.add_argument("--runs", type=int, default=1000, help="number of runs (default 1000)")
    p.add_argument(
        "--failing",
        type=int,
        default=None,
        help="exact number of failing runs wanted; sets --runs from --fail-fraction",
    )
    p.add_argument(
        "--fail-fraction",
        type=float,
        default=0.2,
        help="fraction of runs that fail the audit (default 0.2; real data ~0.9)",
    )
    p.add_argument(
        "--stdout-size",
        type=parse_size,
        default=parse_size("100K"),
        help="mean trae_stdout.txt size per run (default 100K)",
    )
    p.add_argument(
        "--trajectory-size",
        type=parse_size,
        default=parse_size("80K"),
        help="mean trajectory.json size per run (default 80K)",
    )
    p.add_argument(
        "--jitter",
        type=float,
        default=0.5,
        help="per-run size spread, +-fraction of the mean (default 0.5)",
    )
    p.add_argument("--seed", type=int, default=20251123)
    p.add_argument(
        "--single",
        action="store_true",
        help="write one run whose stdout is --stdout-size bytes (memory test)",
    )
    p.add_argument(
        "--no-newlines",
        action="store_true",
        help="with --single: the stdout is one line without any newline",
    )
    p.add_argument("--force", action="store_true", help="write into an existing folder")
    args = p.parse_args(argv)

    if not 0.0 <= args.fail_fraction <= 1.0:
        p.error("--fail-fraction must be within 0..1")
    out: Path = args.out
    if out.exists() and any(out.iterdir()) and not args.force:
        p.error(f"{out} exists and is not empty (use --force)")
    runs_root = out / "state" / "runs"
    runs_root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    if args.single:
        gen = Generator(GenConfig(args.stdout_size, args.trajectory_size, 0.0), args.seed)
        rel, size = gen.write_single(
            runs_root, args.stdout_size, args.trajectory_size, not args.no_newlines
        )
        manifest = {
            "mode": "single",
            "seed": args.seed,
            "stdout_size": args.stdout_size,
            "trajectory_size": args.trajectory_size,
            "newlines": not args.no_newlines,
            "runs": [[rel, "success-no-tool-output", True]],
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
        print(
            f"wrote 1 run ({size / (1 << 20):,.1f} MiB of logs) under {runs_root} "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        return 0

    n = args.runs
    if args.failing is not None:
        if args.fail_fraction <= 0:
            p.error("--failing needs --fail-fraction > 0")
        n = runs_for_failing(args.failing, args.fail_fraction)
    gen = Generator(GenConfig(args.stdout_size, args.trajectory_size, args.jitter), args.seed)
    rows: list[list[object]] = []
    total = 0
    failing = 0
    for i in range(n):
        fail = is_failing(i, args.fail_fraction)
        failing += fail
        rel, kind, written = gen.write_run(runs_root, i, fail)
        total += written
        rows.append([rel, kind, fail])
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1:,}/{n:,} runs, {total / (1 << 20):,.0f} MiB", file=sys.stderr)
    manifest = {
        "mode": "tree",
        "seed": args.seed,
        "fail_fraction": args.fail_fraction,
        "stdout_size": args.stdout_size,
        "trajectory_size": args.trajectory_size,
        "jitter": args.jitter,
        "count": n,
        "failing": failing,
        "runs": rows,
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    print(
        f"wrote {n:,} runs ({failing:,} failing, {total / (1 << 20):,.0f} MiB) under "
        f"{runs_root} in {time.perf_counter() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
