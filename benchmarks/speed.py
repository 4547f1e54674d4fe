#!/usr/bin/env python3
"""The audit against the one-off script a user would write instead, and serial against -n 2.

    python benchmarks/speed.py                    # 2,000 failure-heavy runs, 5 rounds
    python benchmarks/speed.py --runs 10000 --rounds 3
    python benchmarks/speed.py --memory 100000    # one audit of 100k small runs: time, peak RSS

Each round runs, back to back and in this order, on the same warm tree:

- ``oneoff``: ``benchmarks/oneoff.py`` (whole-file reads, ``json.loads``, compiled regexes);
- ``audit``: ``python -m pytest --e2e-results=TREE --junitxml=...`` as a user runs it;
- ``audit-noahead``: the same with ``--e2e-readahead=0`` (everything in one process);
- ``audit-n2``: the same under ``-n 2`` (pytest-xdist).

Ratios are taken round by round (audit / oneoff of the same round), so a machine that drifts
moves both sides; the medians are printed. Before timing, the one-off script's per-run facts
are compared with the audit's JUnit properties (``oneoff.py --compare``), and the JUnit files
of the serial, no-read-ahead and ``-n 2`` audits with each other (``same_results.py``): the
four commands do the same work and the audit's answer does not depend on how it ran.

Trees are generated with ``generate.py`` into ``benchmarks/_trees/`` (reused when present).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREES = HERE / "_trees"


def python() -> str:
    venv = HERE.parent / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def tree(runs: int, fail: float, stdout: str, trajectory: str) -> Path:
    name = f"speed-{runs}-{fail}-{stdout}-{trajectory}"
    root = TREES / name
    if not (root / "state" / "runs").is_dir():
        subprocess.run(
            [
                python(),
                str(HERE / "generate.py"),
                str(root),
                "--runs",
                str(runs),
                "--fail-fraction",
                str(fail),
                "--stdout-size",
                stdout,
                "--trajectory-size",
                trajectory,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return root / "state" / "runs"


def warm(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as fh:
                while fh.read(1 << 20):
                    pass


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, the largest process waited for) of one command."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):
            err.seek(0)
            text = err.read().decode(errors="replace")
            raise SystemExit(f"{command[:4]} exited {proc.returncode}:\n{text[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def audit(results: Path, junit: Path, *extra: str) -> list[str]:
    return [
        python(),
        "-m",
        "pytest",
        f"--e2e-results={results}",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={junit}",
        *extra,
    ]


def check_same_work(results: Path, out: Path) -> None:
    junits = {name: out / f"{name}.xml" for name in ("audit", "noahead", "n2")}
    extra = {"audit": (), "noahead": ("--e2e-readahead=0",), "n2": ("-n", "2")}
    for name, junit in junits.items():
        timed(audit(results, junit, *extra[name]), out)
    oneoff = [python(), str(HERE / "oneoff.py"), str(results), "--compare", str(junits["audit"])]
    subprocess.run(oneoff, check=True)
    for other in ("noahead", "n2"):
        same = [python(), str(HERE / "same_results.py"), str(junits["audit"]), str(junits[other])]
        subprocess.run(same, check=True)


def speed(args: argparse.Namespace) -> None:
    results = tree(args.runs, args.fail_fraction, args.stdout_size, args.trajectory_size)
    warm(results)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        check_same_work(results, out)
        commands = {
            "oneoff": [python(), str(HERE / "oneoff.py"), str(results)],
            "audit": audit(results, out / "a.xml"),
            "audit-noahead": audit(results, out / "b.xml", "--e2e-readahead=0"),
            "audit-n2": audit(results, out / "c.xml", "-n", "2"),
        }
        walls: dict[str, list[float]] = {name: [] for name in commands}
        peaks: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, command in commands.items():
                wall, peak = timed(command, out)
                walls[name].append(wall)
                peaks[name].append(peak)
    print(
        f"{args.runs:,} runs ({args.fail_fraction:.0%} failing), {args.rounds} rounds, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{'command':<16}{'median s':>10}{'min s':>8}{'max s':>8}{'peak MB':>9}"
        f"{'ratio to oneoff':>17}"
    )
    base = walls["oneoff"]
    for name in commands:
        ratios = [w / b for w, b in zip(walls[name], base, strict=True)]
        print(
            f"{name:<16}{statistics.median(walls[name]):>10.2f}{min(walls[name]):>8.2f}"
            f"{max(walls[name]):>8.2f}{max(peaks[name]):>9.0f}{statistics.median(ratios):>17.2f}"
        )
    serial = [w / n for w, n in zip(walls["audit-n2"], walls["audit"], strict=True)]
    print(f"-n 2 / serial (median of rounds): {statistics.median(serial):.2f}")


def memory(args: argparse.Namespace) -> None:
    results = tree(args.memory, 0.7, "2K", "2K")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        wall, peak = timed(audit(results, out / "m.xml"), out)
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{args.memory:,} small runs (70% failing), --junitxml: {wall:.1f} s, "
        f"peak RSS {peak:.0f} MB (largest process waited for: {children:.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--fail-fraction", type=float, default=0.9)
    parser.add_argument("--stdout-size", default="100K")
    parser.add_argument("--trajectory-size", default="80K")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--memory", type=int, metavar="RUNS", help="the memory scenario instead")
    args = parser.parse_args()
    memory(args) if args.memory else speed(args)


if __name__ == "__main__":
    main()
