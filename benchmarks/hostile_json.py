#!/usr/bin/env python3
"""Hostile JSON for ``scanning.jsondoc``: time and peak memory of ``load_json`` + ``line()``.

Cases, written into a temporary folder:

a. 2 MB: 800 nested arrays around 1,000,000 zeros (a reported MemoryError after 33 s);
b. a journal whose ``error`` value is one 60 MB string with escapes, ``status`` after it;
c. 64 MB: an array of a million small objects; ``c-dup`` reads it with ``check_duplicates``.

Each measurement runs in a fresh subprocess: ``load_json`` then one ``line()`` lookup of a
value near the end, and ``os.wait4`` gives that child's own peak RSS. ``json.loads`` of the
same text is measured the same way, as the floor. ``--old-reader FILE`` also measures a
previous ``jsondoc.py`` (e.g. ``git show HEAD~1:pytest_e2e_audit/scanning/jsondoc.py``) on
case b, killed after ``--old-timeout`` seconds.

    .venv/bin/python benchmarks/hostile_json.py [--old-reader /tmp/old_jsondoc.py]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LOOKUPS: dict[str, list[Any]] = {
    "a": [0] * 799 + [999_999],
    "b": ["status"],
    "c": [999_999, "name"],
}


def write_cases(folder: Path) -> None:
    a = folder / "a-nested-zeros.json"
    a.write_text("[" * 800 + "0," * 999_999 + "0" + "]" * 800)
    b = folder / "b-60mb-string.json"
    with open(b, "w") as fh:
        fh.write('{\n  "task_id": "vllm_core-0000",\n  "error": "')
        fh.write('Traceback \\"x\\" \\\\ line\\n' * (60_000_000 // 25))
        fh.write('",\n  "status": "error"\n}\n')
    c = folder / "c-million-objects.json"
    with open(c, "w") as fh:
        fh.write("[\n")
        for i in range(1_000_000):  # 64 bytes each, with the separator
            item = json.dumps({"id": i, "name": f"m{i}.py", "tags": [i % 7], "ok": True})
            item = item.replace('.py"', ".py" + " " * (62 - len(item)) + '"')
            fh.write(("" if i == 0 else ",\n") + item)
        fh.write("\n]\n")


def child(reader: str, path: str, lookup: str, old: str | None) -> None:
    """Run inside the measured subprocess; print one JSON line of timings."""
    sys.path.insert(0, str(REPO))
    steps = json.loads(lookup)
    start = time.perf_counter()
    if reader == "json.loads":
        json.loads(Path(path).read_bytes())
        took = time.perf_counter() - start
        print(json.dumps({"load_s": took, "line_s": 0.0, "line": None, "hwm_mb": _own_peak_mb()}))
        return
    if reader == "old":
        assert old is not None
        name = "pytest_e2e_audit.scanning._old_jsondoc"  # so its relative imports resolve
        import pytest_e2e_audit.scanning  # noqa: F401

        spec = importlib.util.spec_from_file_location(name, old)
        assert spec is not None and spec.loader is not None
        module = sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        load = module.load_json
        start = time.perf_counter()
        doc = load(Path(path))
    else:
        from pytest_e2e_audit.scanning.jsondoc import load_json

        start = time.perf_counter()
        doc = load_json(Path(path), check_duplicates=reader == "new+duplicates")
    loaded = time.perf_counter()
    line = doc.line(*steps)
    done = time.perf_counter()
    times = {"load_s": loaded - start, "line_s": done - loaded}
    print(json.dumps({**times, "line": line, "hwm_mb": _own_peak_mb()}))


def _own_peak_mb() -> float | None:
    """This process's high-water RSS since its exec (Linux), to cross-check ``wait4``."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def measure(reader: str, path: Path, case: str, old: str | None, timeout: float) -> dict[str, Any]:
    """Spawn one child; its wall time, own peak RSS (``wait4``) and what it printed."""
    read_end, write_end = os.pipe()
    argv = [sys.executable, __file__, "--child", reader, str(path), json.dumps(LOOKUPS[case])]
    argv += ["--old-reader", old] if old else []
    actions = [(os.POSIX_SPAWN_DUP2, write_end, 1), (os.POSIX_SPAWN_CLOSE, read_end)]
    start = time.perf_counter()
    pid = os.posix_spawn(sys.executable, argv, os.environ, file_actions=actions)
    os.close(write_end)
    killed = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() - start > timeout and not killed:
            os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(0.05)
    wall = time.perf_counter() - start
    with os.fdopen(read_end) as fh:
        out = fh.read().strip()
    row: dict[str, Any] = {"case": case, "reader": reader, "wall_s": wall}
    row["peak_rss_mb"] = usage.ru_maxrss / 1024
    row["file_mb"] = path.stat().st_size / 1e6
    if killed:
        row["outcome"] = f"killed after {timeout:.0f} s"
    elif os.waitstatus_to_exitcode(status) != 0 or not out:
        row["outcome"] = f"failed (exit {os.waitstatus_to_exitcode(status)})"
    else:
        row.update(json.loads(out.splitlines()[-1]))
        row["outcome"] = "ok"
    return row


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| case | reader | file MB | wall s | load s | line() s | line | peak RSS MB "
        "| own VmHWM MB | outcome |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ok = r["outcome"] == "ok"
        load = f"{r['load_s']:.2f}" if ok else ""
        line = f"{r['line_s']:.2f}" if ok and r["reader"] != "json.loads" else ""
        where = str(r.get("line") or "") if ok else ""
        hwm = f"{r['hwm_mb']:.0f}" if r.get("hwm_mb") else ""
        lines.append(
            f"| {r['case']} | {r['reader']} | {r['file_mb']:.1f} | {r['wall_s']:.2f} | {load} "
            f"| {line} | {where} | {r['peak_rss_mb']:.0f} | {hwm} | {r['outcome']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("READER", "PATH", "LOOKUP"))
    parser.add_argument("--old-reader", help="a previous jsondoc.py, measured on case b")
    parser.add_argument("--old-timeout", type=float, default=60.0)
    parser.add_argument("--write", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.old_reader)
        return
    if args.write:
        write_cases(Path(args.write))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="hostile-json-") as tmp:
        # Written by a child: the parent stays small, and a spawned child's ru_maxrss starts
        # from its parent's high-water mark.
        subprocess.run([sys.executable, __file__, "--write", tmp], check=True)
        paths = {case: next(Path(tmp).glob(f"{case}-*.json")) for case in LOOKUPS}
        plan = [("a", "json.loads"), ("a", "new"), ("b", "json.loads"), ("b", "new")]
        plan += [("c", "json.loads"), ("c", "new"), ("c", "new+duplicates")]
        if args.old_reader:
            plan.append(("b", "old"))
        for case, reader in plan:
            old = args.old_reader if reader == "old" else None
            rows.append(measure(reader, paths[case], case, old, args.old_timeout))
            print(json.dumps(rows[-1]), file=sys.stderr)
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {platform.processor() or ''}")
    print(f"Python {platform.python_version()} on {platform.system()} {platform.release()}\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
