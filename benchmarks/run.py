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

a. realistic mix, mostly passing: 1k and 10k runs (20% failing), warm and cold page cache,
   and ``--collect-only`` on the 10k tree;
b. failure-heavy (90% failing, like the real data): a 10,000-run tree (9,000 failing) and its
   prefixes holding 1k, 2k, 4k and 8k failing runs; the same audit with ``--tb=short`` given
   explicitly (pytest's own failure summary) up to 8k; and memory diagnostics on the whole
   tree (no ``--junitxml``; ``_diag_plugin.py`` dropping findings and/or properties);
c. one run whose ``trae_stdout.txt`` is 1 MB vs 1 GB (peak RSS must not follow log size),
   warm and cold, plus a 1 GB log without any newline and a 1 GB ``trajectory.json``;
d. the 10k tree with ``-n 2`` (pytest-xdist).

Before each measurement every file of the tree is read once (warm page cache), unless the
measurement is marked cold, which drops the tree's pages with ``posix_fadvise`` instead.

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


def _run_outcomes(junit_path: Path) -> tuple[int, int]:
    """(run test cases, failing ones) in a JUnit file of the audit."""
    import xml.etree.ElementTree as ET

    runs = failing = 0
    for case in ET.parse(junit_path).iter("testcase"):
        if case.get("classname") == "e2e-runs":
            runs += 1
            failing += case.find("failure") is not None or case.find("error") is not None
    return runs, failing


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
    _settle()
    return tree


def _settle() -> None:
    """Flush the freshly written tree to disk so writeback does not run during a measurement."""
    os.sync()
    time.sleep(1.0)


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


def _tree_files(tree: Path) -> list[str]:
    out: list[str] = []
    stack = [str(tree / "state" / "runs")]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                else:
                    out.append(e.path)
    out.sort()
    return out


def set_cache(tree: Path, state: str) -> dict:
    """Put the tree's files in the page cache (``warm``: read them all) or out of it
    (``cold``: ``posix_fadvise(DONTNEED)`` on each file, no system-wide cache drop).

    The machine this was written on runs DAMON "pageout" on file pages idle for ~60 s, so a
    tree generated minutes ago is mostly on disk again: warming right before each
    measurement makes the numbers CPU-bound and repeatable; ``cold`` shows the I/O cost.
    """
    t0 = time.perf_counter()
    files = _tree_files(tree)
    size = 0
    if state == "cold":
        os.sync()
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            if state == "warm":
                while True:
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        break
                    size += len(chunk)
            else:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return {"cache": state, "cache_s": round(time.perf_counter() - t0, 2), "warm_bytes": size}


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


def _cpu_ticks(pid: int) -> tuple[str, int] | None:
    """(command name, utime + stime in clock ticks) of a live process."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            data = fh.read()
    except OSError:
        return None
    name = data[data.find("(") + 1 : data.rfind(")")]
    fields = data[data.rfind(")") + 2 :].split()
    return name, int(fields[11]) + int(fields[12])


class TreeSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.stop = threading.Event()
        self.cpu: dict[int, int] = {}
        """Last seen CPU ticks per process of the tree (children: xdist workers)."""
        self.samples: dict[int, int] = {}
        """Samples each process was seen in. A child seen only once is a transient helper
        (e.g. ``uname -p`` run by ``platform.processor()``, a fork sharing the parent's
        pages) and is left out of the tree RSS."""

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
                self.samples[p] = self.samples.get(p, 0) + 1
                if p == self.pid or self.samples[p] >= 2:
                    total += _rss_kb(p)
                    ticks = _cpu_ticks(p)
                    if ticks is not None:
                        self.cpu[p] = ticks[1]
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
    junit: bool = True,
    pythonpath: str | None = None,
    cache: str = "warm",
    diag: str | None = None,
) -> Measure:
    extra_args = list(extra_args or [])
    results = tree / "state" / "runs"
    OUT.mkdir(parents=True, exist_ok=True)
    junit_path = OUT / f"{label}.xml"
    console = OUT / f"{label}.out"
    cmd = [
        python,
        "-m",
        "pytest",
        f"--e2e-results={results}",
        "-p",
        "no:cacheprovider",
        "-q",
        *([f"--junitxml={junit_path}"] if junit else []),
        *extra_args,
    ]
    stats = tree_stats(tree)
    cwd = tempfile.mkdtemp(prefix="e2e-bench-cwd-")
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    if diag:
        env["E2E_BENCH_DIAG"] = diag
    cache_info = set_cache(tree, cache)
    load_before = os.getloadavg()[0]
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
        cmd=(f"PYTHONPATH={pythonpath} " if pythonpath else "")
        + (f"E2E_BENCH_DIAG={diag} " if diag else "")
        + " ".join(cmd),
    )
    m.extra["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    m.extra["loadavg_1m_before"] = round(load_before, 2)
    m.extra.update(cache_info)
    # Blocks the pytest process (and reaped children) read from storage, in 512-byte units.
    m.extra["disk_read_mb"] = round(usage.ru_inblock * 512 / 1e6, 1)
    if pythonpath:
        m.extra["pythonpath"] = pythonpath
    if diag:
        m.extra["diag"] = diag
    hz = os.sysconf("SC_CLK_TCK")
    workers = {p: t for p, t in sampler.cpu.items() if p != proc.pid}
    if workers:
        # CPU seconds of the main pytest process vs its children (xdist workers), as last
        # sampled before they exited (so slightly low).
        m.extra["cpu_main_s"] = round(sampler.cpu.get(proc.pid, 0) / hz, 2)
        m.extra["cpu_children_s"] = [round(t / hz, 2) for t in workers.values()]
    m.runs_per_s = m.runs / wall if wall else 0.0
    m.log_mb_per_s = m.log_mb / wall if wall else 0.0
    if "--collect-only" in extra_args:
        collected = re.search(r"(\d+) tests? collected", last)
        ok = bool(collected) and int(collected.group(1)) == m.runs
    elif junit and junit_path.is_file():
        # Count run items only: the dataset and batch items are test cases too.
        runs = _run_outcomes(junit_path)
        ok = runs == (m.runs, m.failing_expected)
    else:
        ok = m.failed == m.failing_expected and (m.passed or 0) + (m.failed or 0) == m.runs
    m.extra["counts_ok"] = ok
    m.extra["summary_line"] = last
    flag = "" if ok else f"  !! expected {m.failing_expected} failed of {m.runs}"
    print(
        f"[{label}] {m.runs:,} runs in {wall:.2f} s = {m.runs_per_s:,.0f} runs/s, "
        f"{m.log_mb:,.0f} MB logs = {m.log_mb_per_s:,.0f} MB/s, peak RSS {m.peak_rss_mb:.0f} MB "
        f"(tree {m.tree_rss_mb:.0f} MB), {cache} cache (disk read {m.extra['disk_read_mb']} MB), "
        f"cpu {m.extra['cpu_s']:.1f} s "
        f"{m.extra.get('cpu_main_s', '')} {m.extra.get('cpu_children_s', '')}, "
        f"exit {m.exit_code}; {last}{flag}",
        flush=True,
    )
    return m


def best_of(n: int, *a, **kw) -> Measure:
    """Run ``audit`` n times; keep the fastest run (interference on a shared VM only ever
    slows a run down) and record every wall time."""
    runs = [audit(*a, **kw) for _ in range(n)]
    walls = [round(r.wall_s, 3) for r in runs]
    best = min(runs, key=lambda m: m.wall_s)
    best.extra["walls"] = walls
    return best


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
        "versions": dict(zip(names, versions, strict=False)),
        "df": df[-1] if df else "",
        "git": _sh(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "git_dirty": _sh(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "pytest_e2e_audit"]
        ).splitlines(),
    }


# --------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------


def scenario_a(py: str, repeat: int, big: int) -> tuple[list[Measure], Path]:
    tree = ensure_tree(
        f"mix{_k(big)}",
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
    n_small = min(1000, big)
    small = prefix_tree(tree, f"mix{_k(n_small)}-prefix", n_small)
    out = [best_of(repeat, f"a-mix-{_k(n_small)}", small, py)]
    out.append(best_of(max(1, repeat - 1), f"a-mix-{_k(big)}", tree, py))
    # The same audits with the tree's pages dropped from the page cache first.
    out.append(audit(f"a-mix-{_k(n_small)}-cold", small, py, cache="cold"))
    out.append(audit(f"a-mix-{_k(big)}-cold", tree, py, cache="cold"))
    # Where does the time go: collection alone (walk + items), no run.
    out.append(audit(f"a-mix-{_k(big)}-collect-only", tree, py, ["--collect-only"]))
    return out, tree


def scenario_b(
    py: str,
    repeat: int,
    sizes: list[int],
    tb_sizes: list[int],
    tb_cap: float,
    diagnostics: bool,
    total: int,
) -> list[Measure]:
    """The failure-heavy tree has ``total`` runs (90% failing); the ``sizes`` (failing-run
    counts) are its smallest prefixes holding that many failing runs, and the whole tree is
    measured too (10,000 runs = 9,000 failing by default)."""
    tree = ensure_tree(
        f"fail-{_k(total)}runs",
        py,
        [
            "--runs",
            str(total),
            "--fail-fraction",
            "0.9",
            "--stdout-size",
            STDOUT_SIZE,
            "--trajectory-size",
            TRAJ_SIZE,
        ],
        {"count": total, "fail_fraction": 0.9},
    )
    man = _manifest(tree)
    assert man is not None
    all_failing = int(man["failing"])
    out: list[Measure] = []
    trees: dict[int, Path] = {}
    for n in sorted({*sizes, all_failing}):
        if n > all_failing:
            continue
        # Smallest prefix of the big tree holding n failing runs.
        count, fails = 0, 0
        for _rel, _kind, fail in man["runs"]:
            count += 1
            fails += bool(fail)
            if fails == n:
                break
        t = tree if n == all_failing else prefix_tree(tree, f"fail{_k(n)}-prefix", count)
        trees[n] = t
        out.append(best_of(repeat if n <= 2000 else max(1, repeat - 1), f"b-fail-{_k(n)}", t, py))
    top = all_failing
    if diagnostics:
        # Where the per-run memory goes: the same audit without --junitxml, and with a plugin
        # that drops what the audit keeps per run (benchmarks/_diag_plugin.py).
        big = trees[top]
        out.append(audit(f"b-fail-{_k(top)}-no-junitxml", big, py, junit=False))
        for diag in ("findings", "properties", "findings,properties"):
            name = {"findings": "drop-findings", "properties": "trim-properties"}.get(
                diag, "drop-findings-trim-properties"
            )
            out.append(
                audit(
                    f"b-fail-{_k(top)}-{name}",
                    big,
                    py,
                    ["-p", "_diag_plugin"],
                    pythonpath=str(HERE),
                    diag=diag,
                )
            )
    # pytest's own failure summary (--tb=short given explicitly): grows faster than linearly.
    prev: Measure | None = None
    prev_n = 0
    for n in sorted(tb_sizes):
        if prev is not None:
            ratio = n / prev_n
            # Guard: assume quadratic growth; skip when the estimate passes the cap.
            guess = prev.wall_s * ratio * ratio
            if guess > tb_cap:
                print(
                    f"[b-tb-short-{_k(n)}] skipped: estimated {guess:.0f} s > cap {tb_cap:.0f} s",
                    flush=True,
                )
                continue
        if n not in trees:
            continue
        prev = audit(
            f"b-fail-{_k(n)}-tb-short",
            trees[n],
            py,
            ["--tb=short"],
            timeout=max(tb_cap * 2, 60),
        )
        prev_n = n
        out.append(prev)
    return out


def scenario_c(
    py: str, sizes: list[str], oneline: str | None, big_traj: str | None
) -> list[Measure]:
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
        out.append(audit(f"c-single-{size}-cold", tree, py, cache="cold"))
    if oneline:
        name = f"single-{oneline.lower()}-oneline"
        tree = ensure_tree(
            name,
            py,
            ["--single", "--no-newlines", "--stdout-size", oneline],
            {"mode": "single", "stdout_size": _size(oneline), "newlines": False},
        )
        out.append(audit(f"c-single-{oneline}-no-newline", tree, py))
    if big_traj:
        name = f"single-traj-{big_traj.lower()}"
        tree = ensure_tree(
            name,
            py,
            ["--single", "--stdout-size", "1M", "--trajectory-size", big_traj],
            {"mode": "single", "stdout_size": _size("1M"), "trajectory_size": _size(big_traj)},
        )
        out.append(audit(f"c-single-trajectory-{big_traj}", tree, py))
    return out


def scenario_d(py: str, tree: Path, workers: int, repeat: int) -> list[Measure]:
    # xdist timings vary more than the others on this VM: repeat like the 10k tree.
    return [best_of(repeat, f"d-{tree.name}-n{workers}", tree, py, ["-n", str(workers)])]


def _k(n: int) -> str:
    """1000 -> '1k', 500 -> '500' (labels and tree names)."""
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


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
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx if sxx else 0.0
    icpt = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (icpt + slope * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    r2 = 1 - ss_res / ss_tot if ss_tot else 1.0
    return slope, icpt, r2


def _row(m: Measure) -> str:
    extra = " ".join(m.args) or "(default)"
    if "--junitxml" not in m.cmd:
        extra += " (no --junitxml)"
    if m.extra.get("pythonpath"):
        extra += " (PYTHONPATH=benchmarks)"
    if m.extra.get("diag"):
        extra += f" (E2E_BENCH_DIAG={m.extra['diag']})"
    if m.extra.get("cache") == "cold":
        extra += " (cold cache)"
    cpu = f"{m.extra.get('cpu_s', 0):.1f}"
    if m.extra.get("cpu_children_s"):
        kids = " + ".join(f"{c:.1f}" for c in m.extra["cpu_children_s"])
        cpu += f" ({m.extra.get('cpu_main_s', 0):.1f} main + {kids} workers)"
    walls = m.extra.get("walls")
    wall = f"{m.wall_s:.2f}" + (
        f" ({', '.join(f'{w:.2f}' for w in walls)})" if walls and len(walls) > 1 else ""
    )
    return (
        f"| {m.label} | {extra} | {m.runs:,} | {m.failed:,} | {wall} | {m.runs_per_s:,.0f} | "
        f"{m.log_mb:,.0f} | {m.log_mb_per_s:,.0f} | {cpu} | "
        f"{m.extra.get('disk_read_mb', 0):,.0f} | {m.peak_rss_mb:,.0f} | "
        f"{m.tree_rss_mb:,.0f} |"
    )


HEAD = (
    "| measurement | extra args | runs | failed | wall s | runs/s | logs MB | logs MB/s | "
    "CPU s | disk read MB | peak RSS MB | tree RSS MB |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def render_md(res: dict) -> str:
    mach = res["machine"]
    ms = {m["label"]: Measure(**m) for m in res["measures"]}
    lines = ["# Performance results", ""]
    lines += [
        "Generated by `benchmarks/run.py --write-md` (then annotated). Wall time is from "
        "spawning `python -m pytest` to reaping it, so it includes interpreter start-up, "
        "plugin import, collection, the audit, JUnit XML and terminal output (redirected to a "
        "file). Unless marked *cold cache*, every file of the tree is read once right before "
        "the measurement, so the numbers are CPU-bound and repeatable (this VM runs DAMON "
        "pageout on file pages idle for ~60 s, so a tree generated earlier is on disk again). "
        "*Cold cache* rows drop the tree's pages first (`posix_fadvise(DONTNEED)` on each "
        "file) to show the cost of reading from the virtual disk.",
        "",
        "## Machine",
        "",
        f"- `nproc`: {mach['nproc']} ({mach['cpu']})",
        f"- kernel {mach['kernel']}; Python {mach['versions'].get('python')}, pytest "
        f"{mach['versions'].get('pytest')}, pytest-xdist {mach['versions'].get('pytest_xdist')}, "
        f"pydantic {mach['versions'].get('pydantic')}, pytest-e2e-audit "
        f"{mach['versions'].get('pytest_e2e_audit')} (commit {mach['git']}"
        + (
            f"; uncommitted changes in {len(mach['git_dirty'])} package files"
            if mach.get("git_dirty")
            else ""
        )
        + ")",
        f"- disk: `{mach['df']}`",
        "",
        "```",
        "$ free -h",
        mach["free_h"],
        "```",
        "",
        "Columns: *wall s* = the fastest of the repeats, every repeat in parentheses (the VM is "
        "shared and noisy: repeats of one measurement differ by up to ~25%); "
        "*failed* = items failed by the audit (checked against the generator's "
        "manifest); *logs MB* = bytes of `*_stdout.txt`, `*_stderr.txt` and `trajectory.json` "
        "in the tree (10^6); *CPU s* = user + system time of pytest and reaped children; "
        "*disk read* = `ru_inblock` × 512 B (what really came from storage); "
        "*peak RSS* = `ru_maxrss` of the pytest process from `wait4`; "
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
            pts = [
                (m.failed, m.wall_s)
                for m in rows
                if not m.args
                and "--junitxml" in m.cmd
                and not m.extra.get("pythonpath")
                and m.extra.get("cache", "warm") == "warm"
                and m.failed
            ]
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


ANALYSIS_MARK = "## Analysis"


def write_md(res: dict) -> None:
    """Render RESULTS.md, keeping a hand-written section from ``## Analysis`` to the end."""
    path = HERE / "RESULTS.md"
    kept = ""
    if path.exists():
        old = path.read_text()
        at = old.find("\n" + ANALYSIS_MARK)
        if at >= 0:
            kept = old[at + 1 :]
    text = render_md(res)
    if kept:
        text = text.rstrip("\n") + "\n\n" + kept
    # No machine paths in the committed file: $PROJECT is the project root.
    path.write_text(text.replace(str(REPO), "$PROJECT"))
    print(f"[done] wrote {path}")


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
        "--fail-total",
        type=int,
        default=10_000,
        help="runs in the failure-heavy tree (90%% failing); the sizes are its prefixes",
    )
    p.add_argument(
        "--tb-sizes",
        default="1000,2000,4000,8000",
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
    p.add_argument(
        "--big-trajectory",
        default="1G",
        help="size of the trajectory.json of one extra run in scenario c ('' to skip)",
    )
    p.add_argument(
        "--no-diagnostics",
        action="store_true",
        help="skip the memory diagnostics of scenario b (no --junitxml, dropped findings)",
    )
    p.add_argument("--workers", type=int, default=2, help="xdist workers for scenario d")
    p.add_argument("--write-md", action="store_true", help="render benchmarks/RESULTS.md")
    p.add_argument(
        "--render-only",
        action="store_true",
        help="only re-render benchmarks/RESULTS.md from benchmarks/_out/results.json",
    )
    p.add_argument(
        "--clean", action="store_true", help="delete benchmarks/_trees afterwards (keeps disk free)"
    )
    args = p.parse_args(argv)

    if args.render_only:
        write_md(json.loads((OUT / "results.json").read_text()))
        return 0
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
        measures += scenario_b(
            args.python,
            args.repeat,
            sizes,
            tbs,
            args.tb_cap,
            not args.no_diagnostics,
            args.fail_total,
        )
    if "c" in only:
        sizes = [x for x in args.single_sizes.split(",") if x]
        measures += scenario_c(
            args.python, sizes, args.oneline or None, args.big_trajectory or None
        )
    if "d" in only:
        if big_tree is None:
            big_tree = TREES / f"mix{_k(args.big)}"
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
        measures += scenario_d(args.python, big_tree, args.workers, max(1, args.repeat - 1))
    res["measures"] = [asdict(m) for m in measures]
    res["total_s"] = time.perf_counter() - t_start
    base_commands = [
        "# whole harness (generates the trees, ~17 min on 2 cores):",
        "PROJECT=$PWD  # run from the project root",
        ".venv/bin/python benchmarks/run.py --write-md",
        "# one scenario, e.g. the failure-heavy one:",
        ".venv/bin/python benchmarks/run.py --only b --write-md",
        "# one tree by hand, then one audit exactly as the harness runs it:",
        ".venv/bin/python benchmarks/generate.py benchmarks/_trees/mix10k --runs 10000 "
        f"--fail-fraction 0.2 --stdout-size {STDOUT_SIZE} --trajectory-size {TRAJ_SIZE}",
        "cd $(mktemp -d) && $PROJECT/.venv/bin/python -m pytest "
        "--e2e-results=$PROJECT/benchmarks/_trees/mix10k/state/runs -p no:cacheprovider -q "
        "--junitxml=$PROJECT/benchmarks/_out/x.xml",
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
        # Partial run: keep the earlier measurements of the scenarios not run this time.
        kept = [m for m in prev.get("measures", []) if m["label"][0] not in only]
        res["measures"] = sorted(kept + res["measures"], key=lambda m: m["label"][0])
    res["commands"] = base_commands + ["# exact audit commands (cwd: a fresh temp folder):"]
    res["commands"] += [m["cmd"] for m in res["measures"]]
    results_json.write_text(json.dumps(res, indent=1))
    print(f"[done] {len(measures)} measurements in {res['total_s']:.0f} s -> {results_json}")
    if args.write_md:
        write_md(res)
    if args.clean:
        shutil.rmtree(TREES, ignore_errors=True)
        print(f"[done] removed {TREES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
