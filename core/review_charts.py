"""Trend charts for the governance report: small SVG line charts written by hand, inlined in the HTML page.

A chart is a few dozen elements (axes, tick labels, one path, a marker per run), so plain Python draws it
exactly and reproducibly; a plotting library would add some 150 MB to every install for this alone.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from html import escape

WIDTH, HEIGHT = 400, 210
LEFT, RIGHT, TOP, BOTTOM = 50, 14, 12, 30          # the plot area's margins, room for the tick labels
MAX_MARKERS = 60                                    # beyond this many runs a marker per run is clutter
MAX_X_TICKS, MAX_Y_INTERVALS = 5, 5
LINE, AXIS, GRID, TEXT = "#1d4ed8", "#9ca3af", "#e5e7eb", "#4b5563"

_HOUR, _DAY = 3600, 86400
# Candidate spacings of the time axis: (seconds, months); the first that fits MAX_X_TICKS wins.
_TIME_STEPS = [(h * _HOUR, 0) for h in (1, 2, 3, 6, 12)] + [(d * _DAY, 0) for d in (1, 2, 7, 14)] + \
              [(0, m) for m in (1, 2, 3, 6, 12, 24, 60, 120)]


def _nice_step(top: float, integer: bool) -> float:
    """The smallest 1/2/2.5/5 x 10^k spacing that covers 0..top in at most MAX_Y_INTERVALS intervals."""
    magnitude = 10 ** math.floor(math.log10(top / MAX_Y_INTERVALS)) if top > 0 else 1
    for factor in (1, 2, 2.5, 5, 10, 20):
        step = factor * magnitude
        if integer and step != int(step):
            continue
        if math.ceil(top / step - 1e-9) <= MAX_Y_INTERVALS:
            return step
    return 20 * magnitude


def _y_ticks(top_value: float, unit: str) -> tuple[float, list[float]]:
    """The axis top and its tick values; percent runs from 0 to 100% (values are shares, 0..1)."""
    if unit == "percent":
        return 1.05, [0, 0.25, 0.5, 0.75, 1.0]
    top = top_value * 1.15 if top_value > 0 else 1
    step = _nice_step(top, integer=unit == "count")
    count = math.ceil(top / step - 1e-9)
    return count * step, [i * step for i in range(count + 1)]


def _y_label(value: float, unit: str) -> str:
    if unit == "percent":
        return f"{value * 100:.0f}%"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}".rstrip("0").rstrip(".")


def _value_label(value: float, unit: str) -> str:
    """A run's value as the hover text shows it."""
    if unit == "percent":
        return f"{value * 100:.0f}%"
    if unit == "value":  # a success metric, in whatever unit its demo records use
        return _y_label(value, unit)
    return f"{value:,.0f}" if unit == "count" else f"{value:,.1f} days"


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def _time_ticks(low: datetime, high: datetime) -> tuple[list[datetime], str]:
    """Tick times between low and high at a round spacing, and how to label them ('hour', 'day', 'month')."""
    span = (high - low).total_seconds()
    for seconds, months in _TIME_STEPS:
        if seconds and span / seconds > MAX_X_TICKS:
            continue
        if months and span / (months * 30.4 * _DAY) > MAX_X_TICKS:
            continue
        if seconds:
            midnight = low.replace(hour=0, minute=0, second=0, microsecond=0)
            if seconds == 7 * _DAY or seconds == 14 * _DAY:     # weeks start on Monday
                midnight -= timedelta(days=midnight.weekday())
            tick = midnight
            while tick < low:
                tick += timedelta(seconds=seconds)
            ticks = []
            while tick <= high:
                ticks.append(tick)
                tick += timedelta(seconds=seconds)
            return ticks, "hour" if seconds < _DAY else "day"
        first = low.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        first = _add_months(first, -((first.month - 1) % months))
        ticks = [t for t in (_add_months(first, i * months) for i in range(MAX_X_TICKS + 2)) if low <= t <= high]
        return ticks, "month" if months < 12 else "year"
    return [low, high], "year"


def _time_label(tick: datetime, kind: str, previous: datetime | None) -> str:
    if kind == "hour":
        if previous is None or previous.date() != tick.date():
            return f"{tick:%b} {tick.day} {tick:%H:%M}"
        return f"{tick:%H:%M}"
    if kind == "day":
        if previous is None or previous.year != tick.year:
            return f"{tick:%b} {tick.day}, {tick.year}"
        return f"{tick:%b} {tick.day}"
    if kind == "month":
        return f"{tick:%b %Y}" if previous is None or previous.year != tick.year else f"{tick:%b}"
    return f"{tick.year}"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _text(x: float, y: float, label: str, anchor: str) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(label)}</text>'


def trend_svg(points: list[tuple[datetime, float | None]], unit: str, chart_id: str) -> str | None:
    """A small line chart of one measure over time, as an inline `<svg>`; None when no point has a value.

    `unit` is count, percent, days or value (a success metric). Missing values (a measure that had no data
    on a run) are gaps.
    Every id is prefixed with `chart_id`, so several charts can share one page.
    """
    values = [value for _, value in points if value is not None]
    if not values:
        return None
    times = [_utc(when) for when, _ in points]
    # The whole span of runs, even where this measure had no value, padded so end markers are not clipped.
    pad = max((max(times) - min(times)) * 0.04, timedelta(hours=12))
    low, high = min(times) - pad, max(times) + pad
    y_top, y_ticks = _y_ticks(max(values), unit)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (high - low).total_seconds()

    def x_of(moment: datetime) -> float:
        return LEFT + (moment - low).total_seconds() / span * plot_w

    def y_of(value: float) -> float:
        return TOP + plot_h - value / y_top * plot_h

    parts = [f'<svg role="img" aria-labelledby="{chart_id}-title" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12.5" fill="{TEXT}">',
             f'<defs><circle id="{chart_id}-dot" r="3.2" fill="{LINE}"/></defs>']
    grid = [f'<line x1="{LEFT}" y1="{y_of(v):.1f}" x2="{WIDTH - RIGHT}" y2="{y_of(v):.1f}"/>' for v in y_ticks[1:]]
    parts.append(f'<g stroke="{GRID}" stroke-width="0.8">{"".join(grid)}</g>')
    y_labels = [_text(LEFT - 6, y_of(v) + 4, _y_label(v, unit), "end") for v in y_ticks]
    parts.append(f'<g>{"".join(y_labels)}</g>')
    if unit == "days":
        parts.append(f'<text transform="translate(12 {TOP + plot_h / 2:.1f}) rotate(-90)" '
                     f'text-anchor="middle">days</text>')
    ticks, kind = _time_ticks(low, high)
    marks, labels = [], []
    for index, tick in enumerate(ticks):
        x = x_of(tick)
        marks.append(f'<line x1="{x:.1f}" y1="{TOP + plot_h}" x2="{x:.1f}" y2="{TOP + plot_h + 4}"/>')
        labels.append(_text(x, HEIGHT - 10, _time_label(tick, kind, ticks[index - 1] if index else None), "middle"))
    parts.append(f'<g stroke="{AXIS}">{"".join(marks)}'
                 f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>'
                 f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}"/></g>')
    parts.append(f'<g>{"".join(labels)}</g>')

    # The series: a path broken at every missing value, and a marker per run (or per isolated point).
    path, pen_down, dots = [], False, []
    for index, (moment, (_, value)) in enumerate(zip(times, points, strict=True)):
        if value is None:
            pen_down = False
            continue
        x, y = x_of(moment), y_of(value)
        path.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
        pen_down = True
        isolated = (index == 0 or points[index - 1][1] is None) and \
                   (index == len(points) - 1 or points[index + 1][1] is None)
        if len(points) <= MAX_MARKERS or isolated:
            tip = f"{moment:%Y-%m-%d %H:%M} UTC: {_value_label(value, unit)}"
            dots.append(f'<use href="#{chart_id}-dot" x="{x:.1f}" y="{y:.1f}"><title>{escape(tip)}</title></use>')
    parts.append(f'<g id="{chart_id}-series"><path d="{" ".join(path)}" fill="none" stroke="{LINE}" '
                 f'stroke-width="1.8" stroke-linejoin="round"/><g>{"".join(dots)}</g></g>')
    parts.append("</svg>")
    return "".join(parts)
