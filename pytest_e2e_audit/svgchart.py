"""Stacked bar charts as inline SVG: no script, no network resource, every text escaped.

Two shapes, both stacked (each bar is split into its series, in series order): ``columns``
(vertical, for a histogram whose bars are bins) and ``rows`` (horizontal, for named groups
whose labels are long paths). A bar's length is proportional to its total, the longest bar
filling the plot. Text from the results tree (batch names) is made one clean line, shortened
and escaped for XML, so the same markup is valid inline in HTML and as a standalone SVG file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from ._text import clean

_COLOUR_RE = re.compile(r"#[0-9a-fA-F]{6}")
_FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Series:
    """One part of every bar: its name (legend, tooltips) and fill colour (``#rrggbb``)."""

    name: str
    colour: str

    def __post_init__(self) -> None:
        if not _COLOUR_RE.fullmatch(self.colour):
            raise ValueError(f"colour must be #rrggbb, got {self.colour!r}")


@dataclass(frozen=True)
class Bar:
    """One bar: its axis label (may be empty), a count per series, and the full label for
    its tooltip (the axis label when empty)."""

    label: str
    counts: tuple[int, ...]
    tip: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts)


def _x(text: str, limit: int = 300) -> str:
    """``text`` as one clean line, escaped for XML text and attribute values."""
    return escape(clean(text, limit), quote=True)


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _shorten_left(text: str, limit: int) -> str:
    """Keep the end of a long path (its most specific part), with a marker in front."""
    text = clean(text, 4096)
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def _check(series: Sequence[Series], bars: Sequence[Bar]) -> None:
    for bar in bars:
        if len(bar.counts) != len(series) or any(c < 0 for c in bar.counts):
            raise ValueError(f"bar {bar.label!r}: one count >= 0 per series expected")


def _tooltip(bar: Bar, series: Sequence[Series]) -> str:
    parts = ", ".join(f"{s.name} {c:,}" for s, c in zip(series, bar.counts, strict=True) if c)
    return f"{bar.tip or bar.label}: {bar.total:,} ({parts or 'none'})"


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    out = []
    for s in series:
        out.append(
            f'<rect class="legend" x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" '
            f'fill="{s.colour}"/>'
        )
        out.append(f'<text x="{_n(x + 14)}" y="{_n(y)}" {_FONT}>{_x(s.name, 60)}</text>')
        x += 24 + 6.5 * len(clean(s.name, 60))
    return out


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="e2e-chart" role="img" '
        f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'aria-label="{_x(title)}"><title>{_x(title)}</title>' + "".join(body) + "</svg>"
    )


def columns(
    title: str,
    series: Sequence[Series],
    bars: Sequence[Bar],
    *,
    axis: str = "",
    width: float = 720,
    plot_height: float = 180,
) -> str:
    """Vertical stacked bars, left to right in ``bars`` order; labels under the axis (leave a
    bar's label empty to skip its tick label)."""
    _check(series, bars)
    top, left, right = 34.0, 40.0, 10.0
    height = top + plot_height + 44
    peak = max((b.total for b in bars), default=0)
    step = (width - left - right) / max(len(bars), 1)
    body = [f'<text x="{_n(left)}" y="14" {_FONT} font-weight="bold">{_x(title)}</text>']
    body += _legend(series, left, 28)
    base = top + plot_height
    body.append(
        f'<line x1="{_n(left)}" y1="{_n(base)}" x2="{_n(width - right)}" y2="{_n(base)}" '
        'stroke="#666"/>'
    )
    body.append(
        f'<text x="{_n(left - 4)}" y="{_n(top + 8)}" text-anchor="end" {_FONT}>{peak:,}</text>'
    )
    for i, bar in enumerate(bars):
        x = left + i * step
        parts = [f'<g class="bar"><title>{_x(_tooltip(bar, series))}</title>']
        y = base
        for index, (s, count) in enumerate(zip(series, bar.counts, strict=True)):
            if not count:
                continue
            h = plot_height * count / peak
            y -= h
            parts.append(
                f'<rect data-series="{index}" data-count="{count}" x="{_n(x + 1)}" '
                f'y="{_n(y)}" width="{_n(max(step - 2, 0.5))}" height="{_n(h)}" '
                f'fill="{s.colour}"/>'
            )
        parts.append("</g>")
        body += parts
        if bar.label:
            body.append(f'<text x="{_n(x)}" y="{_n(base + 14)}" {_FONT}>{_x(bar.label, 16)}</text>')
    if axis:
        body.append(
            f'<text x="{_n(left + (width - left - right) / 2)}" y="{_n(height - 6)}" '
            f'text-anchor="middle" {_FONT}>{_x(axis)}</text>'
        )
    return _svg(width, height, title, body)


def rows(
    title: str,
    series: Sequence[Series],
    bars: Sequence[Bar],
    *,
    note: str = "",
    width: float = 720,
    label_width: float = 260,
    row_height: float = 16,
) -> str:
    """Horizontal stacked bars, top to bottom in ``bars`` order, each labelled on the left
    (long labels keep their end; the tooltip has the whole). ``note`` goes under the bars."""
    _check(series, bars)
    top, right = 40.0, 60.0
    plot = width - label_width - right
    height = top + row_height * len(bars) + (24 if note else 8)
    peak = max((b.total for b in bars), default=0)
    body = [f'<text x="4" y="14" {_FONT} font-weight="bold">{_x(title)}</text>']
    body += _legend(series, 4, 30)
    chars = int(label_width / 6.2)
    for i, bar in enumerate(bars):
        y = top + i * row_height
        body.append(
            f'<text x="{_n(label_width - 6)}" y="{_n(y + row_height - 4)}" text-anchor="end" '
            f"{_FONT}>{escape(_shorten_left(bar.label, chars), quote=True)}</text>"
        )
        parts = [f'<g class="bar"><title>{_x(_tooltip(bar, series), 4096)}</title>']
        x = label_width
        for index, (s, count) in enumerate(zip(series, bar.counts, strict=True)):
            if not count:
                continue
            w = plot * count / peak
            parts.append(
                f'<rect data-series="{index}" data-count="{count}" x="{_n(x)}" y="{_n(y + 2)}" '
                f'width="{_n(w)}" height="{_n(row_height - 4)}" fill="{s.colour}"/>'
            )
            x += w
        parts.append("</g>")
        body += parts
        body.append(
            f'<text x="{_n(x + 4)}" y="{_n(y + row_height - 4)}" {_FONT}>{bar.total:,}</text>'
        )
    if note:
        body.append(f'<text x="4" y="{_n(height - 8)}" {_FONT}>{_x(note)}</text>')
    return _svg(width, height, title, body)
