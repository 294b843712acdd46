"""Trend charts for the governance report: matplotlib drawn to SVG, for inlining in the HTML page.

matplotlib is imported inside `trend_svg` only, so `plan` and `apply` never pay for it.
"""

from __future__ import annotations

import io
import math
import re
from datetime import datetime, timedelta

_STYLE = {
    "svg.fonttype": "none",        # text stays text: crisp, searchable, and small
    "svg.hashsalt": "steward",     # stable ids, so the same data gives the same file
    "font.family": "sans-serif",
    "font.size": 10.5,
    "axes.edgecolor": "#9ca3af",
    "axes.labelcolor": "#374151",
    "xtick.color": "#4b5563",
    "ytick.color": "#4b5563",
}
_ID = re.compile(r'\bid="([^"]+)"')


def _unique_ids(svg: str, prefix: str) -> str:
    """Several charts inline in one page: prefix every id (and reference to it) so none repeats."""
    for name in set(_ID.findall(svg)):
        svg = svg.replace(f'id="{name}"', f'id="{prefix}{name}"').replace(f"#{name}\"", f"#{prefix}{name}\"")
        svg = svg.replace(f"#{name})", f"#{prefix}{name})")
    return svg


def trend_svg(points: list[tuple[datetime, float | None]], unit: str, chart_id: str) -> str | None:
    """A small line chart of one measure over time, as an inline `<svg>`; None when no point has a value.

    `unit` is count, percent or days. Missing values (a measure that had no data on a run) are gaps.
    """
    if not any(value is not None for _, value in points):
        return None
    import matplotlib
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    times = [when for when, _ in points]
    values = [math.nan if value is None else value for _, value in points]
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(4.4, 2.2), layout="constrained")
        axes = figure.add_subplot()
        axes.plot(times, values, color="#1d4ed8", linewidth=1.8, marker="o" if len(points) <= 60 else None,
                  markersize=4, markerfacecolor="#1d4ed8", gid="series")
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="y", color="#e5e7eb", linewidth=0.8)
        axes.set_axisbelow(True)
        locator = AutoDateLocator(minticks=3, maxticks=7)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        top = max(v for v in values if not math.isnan(v))
        if unit == "percent":
            axes.set_ylim(0, 1.05)
            axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        else:
            axes.set_ylim(0, top * 1.15 if top > 0 else 1)
            axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=unit == "count"))
            if unit == "days":
                axes.set_ylabel("days")
        # The whole span of runs, even where this measure had no value (autoscaling would drop those).
        first, last = min(times), max(times)
        pad = max((last - first) * 0.04, timedelta(hours=12))
        axes.set_xlim(first - pad, last + pad)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    svg = svg.replace("<svg ", f'<svg role="img" aria-labelledby="{chart_id}-title" ', 1)
    return _unique_ids(svg, f"{chart_id}-")
