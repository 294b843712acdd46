"""The report's hand-written SVG trend charts: axes, readable ticks, gaps and markers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from steward.core.review_charts import trend_svg

START = datetime(2026, 11, 6, 9, tzinfo=timezone.utc)


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def _labels(svg: str) -> list[str]:
    return re.findall(r"<text [^>]*>([^<]*)</text>", svg)


def test_no_value_means_no_chart():
    assert trend_svg([(START, None), (START + timedelta(days=1), None)], "count", "c") is None


def test_count_axis_has_whole_number_ticks_from_zero_above_the_highest_value():
    svg = trend_svg([(START + timedelta(days=i), v) for i, v in enumerate([4, 7, 11])], "count", "c")
    _parse(svg)
    labels = _labels(svg)
    assert labels[:4] == ["0", "5", "10", "15"]
    assert ["Nov 6, 2026", "Nov 7", "Nov 8"] == labels[4:]
    assert svg.count("<use ") == 3 and "2026-11-08 09:00 UTC: 11" in svg


def test_percent_axis_and_hover_text():
    svg = trend_svg([(START, 0.5), (START + timedelta(days=7), 0.18)], "percent", "p")
    assert _labels(svg)[:5] == ["0%", "25%", "50%", "75%", "100%"]
    assert "UTC: 18%" in svg


def test_days_axis_is_labelled_and_allows_fractions():
    svg = trend_svg([(START, 0.4), (START + timedelta(days=3), 1.2)], "days", "d")
    labels = _labels(svg)
    assert "days" in labels and "0.5" in labels and "1.2 days" in svg


def test_time_ticks_stay_few_and_round_over_any_span():
    for span, expected in ((timedelta(hours=20), r"\d\d:00"), (timedelta(days=200), r"[A-Z][a-z]{2}( \d{4})?"),
                           (timedelta(days=3000), r"\d{4}")):
        points = [(START + span * i / 9, float(i)) for i in range(10)]
        labels = _labels(trend_svg(points, "count", "t"))
        dates = [label for label in labels if not label.isdigit() or len(label) == 4]
        assert 2 <= len(dates) <= 5, (span, labels)
        assert all(re.search(expected, label) for label in dates), (span, dates)


def test_missing_values_break_the_line_and_isolated_points_keep_a_marker():
    points = [(START + timedelta(days=i), None if i in (2, 5) else float(i)) for i in range(100)]
    svg = trend_svg(points, "count", "g")
    path = re.search(r'<g id="g-series"><path d="([^"]+)"', svg).group(1)
    assert path.count("M") == 3  # three runs of values: 0-1, 3-4, 6-99
    assert svg.count("<use ") == 0  # 100 runs: no marker per run, and no point stands alone
    lone = [(START, 1.0), (START + timedelta(days=1), None), (START + timedelta(days=2), 2.0)] + \
           [(START + timedelta(days=3 + i), None) for i in range(70)]
    assert trend_svg(lone, "count", "l").count("<use ") == 2


def test_ids_carry_the_chart_prefix_and_nothing_points_outside_the_page():
    svg = trend_svg([(START, 1.0), (START + timedelta(days=1), 2.0)], "count", "trend3")
    assert set(re.findall(r'\bid="([^"]+)"', svg)) == {"trend3-dot", "trend3-series"}
    assert "http" not in svg and "<script" not in svg
