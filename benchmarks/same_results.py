#!/usr/bin/env python3
"""Do two audits say the same thing? Compares two ``--junitxml`` files of the audit.

    python benchmarks/same_results.py before.xml after.xml

Every testcase (by classname and name) must be in both, with the same properties, the same
outcome and the same failure or error message; suite-level properties must be equal too.
Times, timestamps and host names are ignored, and so is the order of testcases (``-n 2``
finishes them in another order). Exit 0 when the two agree, 1 with the first differences.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def _case(case: ET.Element) -> dict[str, object]:
    props = [(p.get("name"), p.get("value")) for p in case.findall("properties/property")]
    outcome = [
        (child.tag, child.get("message"), (child.text or "").strip())
        for child in case
        if child.tag in ("failure", "error", "skipped")
    ]
    return {"properties": props, "outcome": outcome}


def summary(path: Path) -> tuple[dict[str, object], dict[tuple[str, str], dict[str, object]]]:
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None, f"{path}: no <testsuite>"
    props = {p.get("name", ""): p.get("value") for p in suite.findall("properties/property")}
    counts = {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")}
    cases = {(c.get("classname", ""), c.get("name", "")): _case(c) for c in suite.iter("testcase")}
    return {**counts, **props}, cases


def differences(before: Path, after: Path) -> list[str]:
    suite_a, cases_a = summary(before)
    suite_b, cases_b = summary(after)
    out = [
        f"suite {key}: {suite_a.get(key)!r} != {suite_b.get(key)!r}"
        for key in sorted(set(suite_a) | set(suite_b))
        if suite_a.get(key) != suite_b.get(key)
    ]
    out += [f"only in {before.name}: {'::'.join(k)}" for k in sorted(set(cases_a) - set(cases_b))]
    out += [f"only in {after.name}: {'::'.join(k)}" for k in sorted(set(cases_b) - set(cases_a))]
    for key in sorted(set(cases_a) & set(cases_b)):
        if cases_a[key] != cases_b[key]:
            out.append(f"{'::'.join(key)}: {cases_a[key]} != {cases_b[key]}")
    return out


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    before, after = Path(sys.argv[1]), Path(sys.argv[2])
    found = differences(before, after)
    for line in found[:10]:
        print(line[:400])
    n = len(summary(before)[1])
    print(f"{n} testcases; {len(found)} differences")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
