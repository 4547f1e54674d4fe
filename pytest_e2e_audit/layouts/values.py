"""Checking the values a record holds before they become facts: types, ranges, finiteness.

A layout reads JSON written by someone else's pipeline. A value of the wrong type or an
impossible one is not silently dropped (that would read as "not recorded") nor converted
(``"0"`` is not ``0``): the layout records it as a field issue with one of these phrases.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .._text import clean

MAX_EXIT_CODE = 2**31
"""Exit codes (and negative signal numbers) are 32-bit on every platform."""
MAX_SECONDS = 1e9
"""About 31 years: longer is not an agent's wall time."""


def describe(value: Any) -> str:
    """A JSON value, shown briefly and safely: its type for containers, its text otherwise."""
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"the string {json.dumps(clean(value, 40), ensure_ascii=False)}"
    if isinstance(value, int):
        return _int_text(value)
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else repr(value)
    return clean(repr(value), 40)


def _int_text(value: int) -> str:
    if value.bit_length() > 80:
        # About 24 digits or more: say how long, not what (str() refuses 4,300+ digits).
        return f"a number of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    return str(value)


def exit_code_problem(value: Any) -> str | None:
    """None for a plausible exit code (an integer, a negative signal number included),
    else a phrase such as ``is the string "0", not an integer``."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"is {describe(value)}, not an integer"
    if not -MAX_EXIT_CODE <= value < MAX_EXIT_CODE:
        return f"is {describe(value)}, not a plausible exit code"
    return None


def seconds_problem(value: Any, limit: float = MAX_SECONDS) -> str | None:
    """None for a finite, non-negative number of seconds below ``limit``, else a phrase."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"is {describe(value)}, not a number of seconds"
    if isinstance(value, int) and abs(value) >= limit:
        return f"is {describe(value)}, not a plausible number of seconds"
    if isinstance(value, float) and not math.isfinite(value):
        return f"is {describe(value)}, not a number of seconds"
    if value < 0:
        return f"is negative ({describe(value)}), not a number of seconds"
    if value >= limit:
        return f"is {describe(value)}, not a plausible number of seconds"
    return None
