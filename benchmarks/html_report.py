#!/usr/bin/env python3
"""The audit's pytest-html report at 10,000 runs: file size and load time in headless chromium.

Generates (or reuses) the 10k-run mix tree of ``run.py`` scenario a with ``generate.py``,
audits it with ``--html=... --self-contained-html`` in a subprocess, once as shipped and once
with the audit's HTML additions switched off (``-p no:e2e-audit-html -p no:e2e-audit-excerpts``,
pytest-html's generic report: the baseline), and loads each report in Debian's headless
``chromium`` a few times.

Load time is read inside the page: a copy of the report gets one ``<script>`` after
pytest-html's own, which runs once that script has built every row; it records
``performance.now()`` (milliseconds since navigation start), forces a layout and records it
again, counts the rendered rows, then picks the first rule of the "show only" filter, forces
a style and layout pass, and counts the rows still displayed. ``--dump-dom`` serialises the
page with these numbers. Wall time of the whole chromium process (start-up included) and of
the same process on an empty page are recorded too.

    .venv/bin/python benchmarks/html_report.py            # 10,000 runs, 3 loads each
    .venv/bin/python benchmarks/html_report.py --runs 1000 --repeat 1

Results are printed and written to ``benchmarks/_out/html_report.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as harness  # noqa: E402  (benchmarks/ is not a package)

OUT = HERE / "_out"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROBE = """<script>(() => {
  const rows = () => [...document.querySelectorAll('#results-table > tbody.results-table-row')];
  const script = performance.now();
  document.body.offsetHeight;
  const layout = performance.now();
  const all = rows().length;
  let filter = null, shown = null;
  const radio = document.querySelector('input[name="e2e-rule"]:not(#e2e-only-all)');
  if (radio) {
    const t = performance.now();
    radio.click();
    document.body.offsetHeight;
    filter = performance.now() - t;
    shown = rows().filter((r) => getComputedStyle(r).display !== 'none').length;
  }
  document.body.dataset.bench = JSON.stringify({script, layout, rows: all, filter, shown});
})()</script>"""
_BENCH_RE = re.compile(r'data-bench="([^"]*)"')


def audit(python: str, tree: Path, html: Path, extra: list[str], workers: int) -> float:
    """Audit ``tree`` writing ``html``; the wall time in seconds."""
    command = [
        python,
        "-m",
        "pytest",
        f"--e2e-results={tree / 'state' / 'runs'}",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--html={html}",
        "--self-contained-html",
        *(["-n", str(workers)] if workers else []),
        *extra,
    ]
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if done.returncode not in (0, 1) or not html.is_file():
        raise SystemExit(f"audit failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr}")
    return wall


def chromium_dom(chromium: str, page: Path) -> tuple[str, float]:
    """The serialised DOM of ``page`` after load, and the wall time of the browser process."""
    with tempfile.TemporaryDirectory() as scratch:
        profile = Path(scratch) / "profile"
        profile.mkdir()
        command = [chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()]
        start = time.perf_counter()
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "HOME": scratch},
            start_new_session=True,
        )
        try:
            out, _ = proc.communicate(timeout=600)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        wall = time.perf_counter() - start
    return out.decode("utf-8", errors="replace"), wall


def load(chromium: str, report: Path, repeat: int) -> list[dict[str, float | int | None]]:
    """Load a probed copy of ``report`` ``repeat`` times; the page's numbers and wall time."""
    text = report.read_text(encoding="utf-8")
    end = text.rindex("</body>")
    probed = report.with_name(report.stem + ".probe.html")
    probed.write_text(text[:end] + PROBE + text[end:], encoding="utf-8")
    found = []
    for _ in range(repeat):
        dom, wall = chromium_dom(chromium, probed)
        match = _BENCH_RE.search(dom)
        if match is None:
            raise SystemExit(f"no measurement in the DOM of {probed}")
        numbers = json.loads(match.group(1).replace("&quot;", '"'))
        numbers["wall"] = wall
        found.append(numbers)
    probed.unlink()
    return found


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--python", default=harness.default_python())
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3, help="loads of each report")
    p.add_argument("--workers", type=int, default=2, help="xdist workers for the audit (0: none)")
    args = p.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    tree = harness.ensure_tree(
        f"mix{harness._k(args.runs)}",
        args.python,
        [
            "--runs",
            str(args.runs),
            "--fail-fraction",
            "0.2",
            "--stdout-size",
            harness.STDOUT_SIZE,
            "--trajectory-size",
            harness.TRAJ_SIZE,
        ],
        {"count": args.runs, "fail_fraction": 0.2},
    )
    OUT.mkdir(exist_ok=True)
    blank = OUT / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    blank_walls = [chromium_dom(chromium, blank)[1] for _ in range(args.repeat)]
    results: dict[str, object] = {
        "runs": args.runs,
        "workers": args.workers,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "chromium": subprocess.run(
            [chromium, "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "blank_page_wall_s": _median(blank_walls),
    }
    variants = {
        "audit report": [],
        "pytest-html only": ["-p", "no:e2e-audit-html", "-p", "no:e2e-audit-excerpts"],
    }
    for name, extra in variants.items():
        html = OUT / f"html-{name.split()[0]}-{args.runs}.html"
        wall = audit(args.python, tree, html, extra, args.workers)
        loads = load(chromium, html, args.repeat)
        row = {
            "audit_wall_s": round(wall, 1),
            "bytes": html.stat().st_size,
            "rows": loads[0]["rows"],
            "script_ms": [round(float(x["script"] or 0)) for x in loads],
            "layout_ms": [round(float(x["layout"] or 0)) for x in loads],
            "browser_wall_s": [round(float(x["wall"] or 0), 1) for x in loads],
            "filter_ms": [round(float(x["filter"])) for x in loads if x["filter"] is not None],
            "filter_shown": loads[0]["shown"],
        }
        results[name] = row
        print(
            f"{name}: {row['bytes'] / 1e6:.1f} MB, {row['rows']:,} rows; rows built at "
            f"{_median(row['script_ms']):,.0f} ms, laid out at {_median(row['layout_ms']):,.0f} ms "
            f"(median of {args.repeat}); browser process {_median(row['browser_wall_s']):.1f} s "
            f"(empty page {results['blank_page_wall_s']:.1f} s); audit {row['audit_wall_s']} s",
            flush=True,
        )
        if row["filter_ms"]:
            print(
                f"  filter by the first rule: {_median(row['filter_ms']):,.0f} ms, "
                f"{row['filter_shown']:,} rows shown",
                flush=True,
            )
    (OUT / "html_report.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
