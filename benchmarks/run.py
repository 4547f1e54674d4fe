#!/usr/bin/env python3
"""Performance harness for pytest-e2e-audit: audit synthetic results trees and measure.

Each measurement runs the audit in a fresh subprocess exactly as a user would::

    python -m pytest --e2e-results=TREE -p no:cacheprovider -q --junitxml=benchmarks/_out/X.xml

from a temporary working directory outside the tree, and records

* wall time (from spawning the process to reaping it),
* runs/s and MB/s of logs scanned (sizes of ``*_stdout.txt``, ``*_stderr.txt`` and
  ``trajectory.json`` in the tree divided by the wall time),
* peak RSS of the pytest process (``ru_maxrss`` from ``wait4`` on it, which also covers
  children it reaped, e.g. xdist workers: the largest single process), and the peak of the
  summed RSS of the whole process tree sampled from /proc every 50 ms (useful with ``-n``).

Scenarios (``--only`` picks some of them):

a. realistic mix, mostly passing: 1k and 10k runs (20% failing);
b. failure-heavy (90% failing, like the real data) at 1k, 2k, 4k and 8k failing runs, plus
   the same audit with ``--tb=short`` given explicitly (pytest's own failure summary) on the
   smaller trees;
c. one run whose ``trae_stdout.txt`` is 1 MB vs 1 GB (peak RSS must not follow log size),
   plus a 1 GB log without any newline;
d. the 10k tree with ``-n 2`` (pytest-xdist).

Trees are generated with ``generate.py`` into ``benchmarks/_trees/`` (reused when already
there with the same parameters); smaller trees are hard-linked prefixes of the big ones.
Raw results go to ``benchmarks/_out/results.json``; ``--write-md`` also renders
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TREES = HERE / "_trees"
OUT = HERE / "_out"
GENERATE = HERE / "generate.py"

LOG_SUFFIXES = ("_stdout.txt", "_stderr.txt")
LOG_NAMES = ("trajectory.json",)

# Tree profiles: per-run mean sizes (bytes) used by scenarios a, b, d.
STDOUT_SIZE = "100K"
TRAJ_SIZE = "80K"


def default_python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


# --------------------------------------------------------------------------------------
# Trees
# --------------------------------------------------------------------------------------


def _manifest(tree: Path) -> dict | None:
    path = tree / "manifest.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None


def ensure_tree(name: str, python: str, gen_args: list[str], expect: dict) -> Path:
    """Generate ``_trees/<name>`` unless it already exists with the expected parameters."""
    tree = TREES / name
    man = _manifest(tree)
    if man is not None and all(man.get(k) == v for k, v in expect.items()):
        print(f"[tree] reuse {tree}", flush=True)
        return tree
    if tree.exists():
        shutil.rmtree(tree)
    print(f"[tree] generate {tree}: {' '.join(gen_args)}", flush=True)
    t0 = time.perf_counter()
    subprocess.run([python, str(GENERATE), str(tree), *gen_args], check=True)
    print(f"[tree] generated in {time.perf_counter() - t0:.1f} s", flush=True)
    return tree


def prefix_tree(src: Path, name: str, count: int) -> Path:
    """Hard-link the first ``count`` runs of ``src`` into ``_trees/<name>``."""
    man = _manifest(src)
    assert man is not None, src
    dst = TREES / name
    dman = _manifest(dst)
    if dman is not None and dman.get("count") == count and dman.get("source") == src.name:
        return dst
    if dst.exists():
        shutil.rmtree(dst)
    runs = man["runs"][:count]
    src_root = src / "state" / "runs"
    dst_root = dst / "state" / "runs"
    for rel, _kind, _fail in runs:
        s = src_root / rel
        d = dst_root / rel
        d.mkdir(parents=True, exist_ok=True)
        for entry in os.scandir(s):
            os.link(entry.path, d / entry.name)
    sub = dict(man)
    sub.update(
        runs=runs,
        count=len(runs),
        failing=sum(1 for r in runs if r[2]),
        source=src.name,
    )
    (dst / "manifest.json").write_text(json.dumps(sub))
    return dst


def tree_stats(tree: Path) -> dict:
    """Run count, failing count (from the manifest) and bytes of logs and of all files."""
    log_bytes = 0
    all_bytes = 0
    files = 0
    stack = [tree / "state" / "runs"]
    while stack:
        path = stack.pop()
        with os.scandir(path) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append(Path(e.path))
                    continue
                size = e.stat(follow_symlinks=False).st_size
                files += 1
                all_bytes += size
                if e.name.endswith(LOG_SUFFIXES) or e.name in LOG_NAMES:
                    log_bytes += size
    man = _manifest(tree) or {}
    runs = man.get("runs", [])
    return {
        "runs": len(runs),
        "failing": sum(1 for r in runs if r[2]),
        "files": files,
        "log_bytes": log_bytes,
        "all_bytes": all_bytes,
    }


# --------------------------------------------------------------------------------------
# Measuring one audit
# --------------------------------------------------------------------------------------


@dataclass
class Measure:
    label: str
    tree: str
    args: list[str]
    wall_s: float
    exit_code: int
    peak_rss_mb: float
    """ru_maxrss of the pytest process (largest single process of it and reaped children)."""
    tree_rss_mb: float
    """Peak of the summed RSS of pytest and all its descendants, sampled every 50 ms."""
    runs: int
    failing_expected: int
    passed: int | None
    failed: int | None
    log_mb: float
    stdout_bytes: int
    cmd: str
    runs_per_s: float = 0.0
    log_mb_per_s: float = 0.0
    extra: dict = field(default_factory=dict)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out.extend(int(x) for x in fh.read().split())
        except OSError:
            pass
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            total = 0
            todo = [self.pid]
            seen: set[int] = set()
            while todo:
                p = todo.pop()
                if p in seen:
                    continue
                seen.add(p)
                total += _rss_kb(p)
                todo.extend(_children(p))
            self.peak_kb = max(self.peak_kb, total)
            self.stop.wait(0.05)


_SUMMARY_RE = re.compile(r"(\d+) (passed|failed|error|errors)\b")


def audit(
    label: str,
    tree: Path,
    python: str,
    extra_args: list[str] | None = None,
    timeout: float = 1800.0,
) -> Measure:
    extra_args = list(extra_args or [])
    results = tree / "state" / "runs"
    OUT.mkdir(parents=True, exist_ok=True)
    junit = OUT / f"{label}.xml"
    console = OUT / f"{label}.out"
    cmd = [
        python,
        "-m",
        "pytest",
        f"--e2e-results={results}",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={junit}",
        *extra_args,
    ]
    stats = tree_stats(tree)
    cwd = tempfile.mkdtemp(prefix="e2e-bench-cwd-")
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        with open(console, "wb") as out:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
            sampler = TreeSampler(proc.pid)
            sampler.start()
            deadline = t0 + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    proc.kill()
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.01)
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            sampler.stop.set()
            sampler.join()
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    text = console.read_text(errors="replace")
    last = text.strip().splitlines()[-1] if text.strip() else ""
    counts = {kind: int(n) for n, kind in _SUMMARY_RE.findall(last)}
    m = Measure(
        label=label,
        tree=tree.name,
        args=extra_args,
        wall_s=wall,
        exit_code=proc.returncode,
        peak_rss_mb=usage.ru_maxrss / 1024.0,
        tree_rss_mb=sampler.peak_kb / 1024.0,
        runs=stats["runs"],
        failing_expected=stats["failing"],
        passed=counts.get("passed", 0),
        failed=counts.get("failed", 0),
        log_mb=stats["log_bytes"] / 1e6,
        stdout_bytes=console.stat().st_size,
        cmd=" ".join(cmd),
    )
    m.runs_per_s = m.runs / wall if wall else 0.0
    m.log_mb_per_s = m.log_mb / wall if wall else 0.0
    if "--collect-only" in extra_args:
        collected = re.search(r"(\d+) tests? collected", last)
        ok = bool(collected) and int(collected.group(1)) == m.runs
    else:
        ok = m.failed == m.failing_expected and (m.passed or 0) + (m.failed or 0) == m.runs
    m.extra["counts_ok"] = ok
    m.extra["summary_line"] = last
    flag = "" if ok else f"  !! expected {m.failing_expected} failed of {m.runs}"
    print(
        f"[{label}] {m.runs:,} runs in {wall:.2f} s = {m.runs_per_s:,.0f} runs/s, "
        f"{m.log_mb:,.0f} MB logs = {m.log_mb_per_s:,.0f} MB/s, peak RSS {m.peak_rss_mb:.0f} MB "
        f"(tree {m.tree_rss_mb:.0f} MB), exit {m.exit_code}; {last}{flag}",
        flush=True,
    )
    return m


def best_of(n: int, *a, **kw) -> Measure:
    """Run ``audit`` n times; keep the median wall time run (and record all wall times)."""
    runs = [audit(*a, **kw) for _ in range(n)]
    runs.sort(key=lambda m: m.wall_s)
    med = runs[len(runs) // 2]
    med.extra["walls"] = [round(r.wall_s, 3) for r in runs]
    return med


# --------------------------------------------------------------------------------------
# Machine
# --------------------------------------------------------------------------------------


def _sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine(python: str) -> dict:
    cpu = ""
    for line in _sh(["lscpu"]).splitlines():
        if line.startswith("Model name:"):
            cpu = line.split(":", 1)[1].strip()
    versions = _sh(
        [
            python,
            "-c",
            "import sys, pytest, xdist, pydantic; from importlib.metadata import version; "
            "print(sys.version.split()[0], pytest.__version__, version('pytest-xdist'), "
            "pydantic.__version__, version('pytest-e2e-audit'))",
        ]
    ).split()
    names = ["python", "pytest", "pytest_xdist", "pydantic", "pytest_e2e_audit"]
    df = _sh(["df", "-h", str(TREES if TREES.exists() else HERE)]).splitlines()
    return {
        "nproc": _sh(["nproc"]),
        "cpu": cpu,
        "free_h": _sh(["free", "-h"]),
        "kernel": platform.release(),
        "versions": dict(zip(names, versions)),
        "df": df[-1] if df else "",
        "git": _sh(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
    }


# --------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------


def scenario_a(py: str, repeat: int, big: int) -> tuple[list[Measure], Path]:
    tree = ensure_tree(
        f"mix{big // 1000}k",
        py,
        [
            "--runs",
            str(big),
            "--fail-fraction",
            "0.2",
            "--stdout-size",
            STDOUT_SIZE,
            "--trajectory-size",
            TRAJ_SIZE,
        ],
        {"count": big, "fail_fraction": 0.2},
    )
    small = prefix_tree(tree, "mix1k", 1000)
    out = [best_of(repeat, "a-mix-1k", small, py)]
    out.append(best_of(max(1, repeat - 1), f"a-mix-{big // 1000}k", tree, py))
    # Where does the time go: collection alone (walk + items), no run.
    out.append(audit(f"a-mix-{big // 1000}k-collect-only", tree, py, ["--collect-only"]))
    return out, tree


def scenario_b(
    py: str, repeat: int, sizes: list[int], tb_sizes: list[int], tb_cap: float
) -> list[Measure]:
    top = max(sizes)
    tree = ensure_tree(
        f"fail{top // 1000}k",
        py,
        [
            "--failing",
            str(top),
            "--fail-fraction",
            "0.9",
            "--stdout-size",
            STDOUT_SIZE,
            "--trajectory-size",
            TRAJ_SIZE,
        ],
        {"failing": top, "fail_fraction": 0.9},
    )
    man = _manifest(tree)
    assert man is not None
    out: list[Measure] = []
    trees: dict[int, Path] = {}
    for n in sorted(sizes):
        # Smallest prefix of the big tree holding n failing runs.
        count, fails = 0, 0
        for _rel, _k, fail in man["runs"]:
            count += 1
            fails += bool(fail)
            if fails == n:
                break
        t = tree if n == top else prefix_tree(tree, f"fail{n // 1000}k", count)
        trees[n] = t
        out.append(best_of(repeat if n <= 2000 else 1, f"b-fail-{n // 1000}k", t, py))
    # pytest's own failure summary (--tb=short given explicitly): grows faster than linearly.
    prev: Measure | None = None
    for n in sorted(tb_sizes):
        if prev is not None:
            ratio = n / prev_n
            # Guard: assume quadratic growth; skip when the estimate passes the cap.
            guess = prev.wall_s * ratio * ratio
            if guess > tb_cap:
                print(
                    f"[b-tb-short-{n // 1000}k] skipped: estimated {guess:.0f} s > cap "
                    f"{tb_cap:.0f} s",
                    flush=True,
                )
                continue
        if n not in trees:
            continue
        prev = audit(
            f"b-fail-{n // 1000}k-tb-short",
            trees[n],
            py,
            ["--tb=short"],
            timeout=max(tb_cap * 2, 60),
        )
        prev_n = n
        out.append(prev)
    return out


def scenario_c(py: str, sizes: list[str], oneline: str | None) -> list[Measure]:
    out: list[Measure] = []
    for size in sizes:
        name = f"single-{size.lower()}"
        tree = ensure_tree(
            name,
            py,
            ["--single", "--stdout-size", size],
            {"mode": "single", "stdout_size": _size(size), "newlines": True},
        )
        out.append(audit(f"c-single-{size}", tree, py))
    if oneline:
        name = f"single-{oneline.lower()}-oneline"
        tree = ensure_tree(
            name,
            py,
            ["--single", "--no-newlines", "--stdout-size", oneline],
            {"mode": "single", "stdout_size": _size(oneline), "newlines": False},
        )
        out.append(audit(f"c-single-{oneline}-no-newline", tree, py))
    return out


def scenario_d(py: str, tree: Path, workers: int) -> list[Measure]:
    return [audit(f"d-{tree.name}-n{workers}", tree, py, ["-n", str(workers)])]


def _size(text: str) -> int:
    sys.path.insert(0, str(HERE))
    from generate import parse_size  # noqa: PLC0415

    return parse_size(text)


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares slope, intercept and r^2."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    slope = sxy / sxx if sxx else 0.0
    icpt = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (icpt + slope * x)) ** 2 for x, y in zip(xs, ys))
    r2 = 1 - ss_res / ss_tot if ss_tot else 1.0
    return slope, icpt, r2


def _row(m: Measure) -> str:
    extra = " ".join(m.args) or "(default)"
    walls = m.extra.get("walls")
    wall = f"{m.wall_s:.2f}" + (
        f" ({', '.join(f'{w:.2f}' for w in walls)})" if walls and len(walls) > 1 else ""
    )
    return (
        f"| {m.label} | {extra} | {m.runs:,} | {m.failed:,} | {wall} | {m.runs_per_s:,.0f} | "
        f"{m.log_mb:,.0f} | {m.log_mb_per_s:,.0f} | {m.peak_rss_mb:,.0f} | {m.tree_rss_mb:,.0f} |"
    )


HEAD = (
    "| measurement | extra args | runs | failed | wall s | runs/s | logs MB | logs MB/s | "
    "peak RSS MB | tree RSS MB |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def render_md(res: dict) -> str:
    mach = res["machine"]
    ms = {m["label"]: Measure(**m) for m in res["measures"]}
    lines = ["# Performance results", ""]
    lines += [
        "Generated by `benchmarks/run.py --write-md` (then annotated). Wall time is from "
        "spawning `python -m pytest` to reaping it, so it includes interpreter start-up, "
        "plugin import, collection, the audit, JUnit XML and terminal output (redirected to a "
        "file). Trees are on local disk and in the page cache (just generated), so the numbers "
        "are CPU-bound, not I/O-bound.",
        "",
        "## Machine",
        "",
        f"- `nproc`: {mach['nproc']} ({mach['cpu']})",
        f"- kernel {mach['kernel']}; Python {mach['versions'].get('python')}, pytest "
        f"{mach['versions'].get('pytest')}, pytest-xdist {mach['versions'].get('pytest_xdist')}, "
        f"pydantic {mach['versions'].get('pydantic')}, pytest-e2e-audit "
        f"{mach['versions'].get('pytest_e2e_audit')} (commit {mach['git']})",
        f"- disk: `{mach['df']}`",
        "",
        "```",
        "$ free -h",
        mach["free_h"],
        "```",
        "",
        "Columns: *failed* = items failed by the audit (checked against the generator's "
        "manifest); *logs MB* = bytes of `*_stdout.txt`, `*_stderr.txt` and `trajectory.json` "
        "in the tree (10^6); *peak RSS* = `ru_maxrss` of the pytest process from `wait4`; "
        "*tree RSS* = peak of the summed RSS of pytest and its descendants (sampled every "
        "50 ms; differs from peak RSS only with `-n`).",
        "",
    ]
    groups = [
        ("a", "Scenario (a): realistic mix, 20% failing"),
        ("b", "Scenario (b): failure-heavy, 90% failing"),
        ("c", "Scenario (c): one run with a huge trae_stdout.txt"),
        ("d", "Scenario (d): 10k tree with pytest-xdist"),
    ]
    for key, title in groups:
        rows = [m for label, m in ms.items() if label.startswith(key + "-")]
        if not rows:
            continue
        lines += [f"## {title}", "", HEAD]
        lines += [_row(m) for m in rows]
        lines.append("")
        if key == "b":
            pts = [(m.failed, m.wall_s) for m in rows if "--tb=short" not in m.args and m.failed]
            if len(pts) >= 2:
                slope, icpt, r2 = fit_line([p[0] for p in pts], [p[1] for p in pts])
                lines.append(
                    f"Linear fit over the default runs: wall = {icpt:.2f} s + "
                    f"{slope * 1000:.2f} s per 1,000 failing runs (r² = {r2:.4f})."
                )
                per = ", ".join(f"{p[1] / p[0] * 1000:.2f}" for p in pts)
                lines.append(f"Seconds per 1,000 failing runs at each size: {per}.")
                lines.append("")
    lines += ["## Commands", "", "```"]
    lines += res.get("commands", [])
    lines += ["```", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--python", default=default_python(), help="interpreter running pytest")
    p.add_argument("--only", default="a,b,c,d", help="scenarios to run (default a,b,c,d)")
    p.add_argument("--repeat", type=int, default=3, help="repeats for the small trees")
    p.add_argument("--big", type=int, default=10_000, help="runs in the big mix tree")
    p.add_argument(
        "--fail-sizes", default="1000,2000,4000,8000", help="failing-run counts for scenario b"
    )
    p.add_argument(
        "--tb-sizes",
        default="1000,2000",
        help="failing-run counts audited with --tb=short (capped by --tb-cap)",
    )
    p.add_argument(
        "--tb-cap",
        type=float,
        default=240.0,
        help="skip a --tb=short size whose quadratic estimate exceeds this (s)",
    )
    p.add_argument("--single-sizes", default="1M,1G", help="stdout sizes for scenario c")
    p.add_argument("--oneline", default="1G", help="size of the no-newline log ('' to skip)")
    p.add_argument("--workers", type=int, default=2, help="xdist workers for scenario d")
    p.add_argument("--write-md", action="store_true", help="render benchmarks/RESULTS.md")
    p.add_argument(
        "--clean", action="store_true", help="delete benchmarks/_trees afterwards (keeps disk free)"
    )
    args = p.parse_args(argv)

    only = set(args.only.split(","))
    TREES.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    res: dict = {"machine": machine(args.python), "measures": [], "argv": sys.argv[1:]}
    measures: list[Measure] = []
    big_tree: Path | None = None
    if "a" in only:
        ms, big_tree = scenario_a(args.python, args.repeat, args.big)
        measures += ms
    if "b" in only:
        sizes = [int(x) for x in args.fail_sizes.split(",") if x]
        tbs = [int(x) for x in args.tb_sizes.split(",") if x]
        measures += scenario_b(args.python, args.repeat, sizes, tbs, args.tb_cap)
    if "c" in only:
        sizes = [x for x in args.single_sizes.split(",") if x]
        measures += scenario_c(args.python, sizes, args.oneline or None)
    if "d" in only:
        if big_tree is None:
            big_tree = TREES / f"mix{args.big // 1000}k"
            if _manifest(big_tree) is None:
                big_tree = ensure_tree(
                    big_tree.name,
                    args.python,
                    [
                        "--runs",
                        str(args.big),
                        "--fail-fraction",
                        "0.2",
                        "--stdout-size",
                        STDOUT_SIZE,
                        "--trajectory-size",
                        TRAJ_SIZE,
                    ],
                    {"count": args.big, "fail_fraction": 0.2},
                )
        measures += scenario_d(args.python, big_tree, args.workers)
    res["measures"] = [asdict(m) for m in measures]
    res["total_s"] = time.perf_counter() - t_start
    base_commands = [
        "# whole harness (generates the trees, ~25 min on 2 cores):",
        "cd /work/main && .venv/bin/python benchmarks/run.py --write-md",
        "# one scenario, e.g. the failure-heavy one:",
        ".venv/bin/python benchmarks/run.py --only b --write-md",
        "# one tree by hand, then one audit exactly as the harness runs it:",
        ".venv/bin/python benchmarks/generate.py benchmarks/_trees/mix10k --runs 10000 "
        f"--fail-fraction 0.2 --stdout-size {STDOUT_SIZE} --trajectory-size {TRAJ_SIZE}",
        "cd $(mktemp -d) && /work/main/.venv/bin/python -m pytest "
        "--e2e-results=/work/main/benchmarks/_trees/mix10k/state/runs -p no:cacheprovider -q "
        "--junitxml=/work/main/benchmarks/_out/x.xml",
        "# the 1 GB log of scenario (c):",
        ".venv/bin/python benchmarks/generate.py benchmarks/_trees/single-1g --single "
        "--stdout-size 1G",
    ]
    results_json = OUT / "results.json"
    if results_json.exists() and only != {"a", "b", "c", "d"}:
        # Partial run: merge into earlier results, replacing measurements with the same label.
        try:
            prev = json.loads(results_json.read_text())
        except ValueError:
            prev = {}
        labels = {m["label"] for m in res["measures"]}
        kept = [m for m in prev.get("measures", []) if m["label"] not in labels]
        res["measures"] = sorted(kept + res["measures"], key=lambda m: m["label"][0])
    res["commands"] = base_commands + ["# exact audit commands (cwd: a fresh temp folder):"]
    res["commands"] += [m["cmd"] for m in res["measures"]]
    results_json.write_text(json.dumps(res, indent=1))
    print(f"[done] {len(measures)} measurements in {res['total_s']:.0f} s -> {results_json}")
    if args.write_md:
        (HERE / "RESULTS.md").write_text(render_md(res))
        print(f"[done] wrote {HERE / 'RESULTS.md'}")
    if args.clean:
        shutil.rmtree(TREES, ignore_errors=True)
        print(f"[done] removed {TREES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
