"""`parse_time` reads every timestamp exactly as the rewrite-then-parse reader did before its fast path."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from steward.core.timeutil import parse_time


def reference(value: str) -> datetime:
    """The reader before the fast path, the meaning the fast path must keep (with fractions read alike on
    every Python)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    # A second's fraction of 1 to 9 digits, as Python 3.11+ reads it (3.10 reads only 3 or 6 digits): the
    # reader means the same on every supported Python.
    text = re.sub(r"(:\d{2})\.(\d+)", lambda m: f"{m[1]}.{m[2][:6].ljust(6, '0')}", text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"not an ISO-8601 time: {value!r}") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def outcome(read, value: str):
    try:
        result = read(value)
    except ValueError as error:
        return ("error", str(error))
    return ("time", result, result.tzinfo, result.utcoffset())


@st.composite
def timestamps(draw) -> str:
    """Tracker timestamps and their near misses: dates, times with 1-6 (or more) fraction digits, `Z`/`z`,
    offsets with and without a colon (Jira sends +0000), spaces, separators, odd lengths."""
    year = draw(st.integers(1, 9999))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    text = f"{year:04d}-{month:02d}-{day:02d}"
    if draw(st.booleans()):
        text += draw(st.sampled_from(["T", " ", "t", "_"]))
        text += f"{draw(st.integers(0, 25)):02d}:{draw(st.integers(0, 61)):02d}"
        if draw(st.booleans()):
            text += f":{draw(st.integers(0, 61)):02d}"
            if draw(st.booleans()):
                text += draw(st.sampled_from([".", ","])) + draw(st.text("0123456789", min_size=1, max_size=9))
        zone = draw(st.sampled_from(["", "Z", "z", "+", "-", "offset"]))
        if zone == "offset":
            sign = draw(st.sampled_from("+-"))
            hours, minutes = draw(st.integers(0, 25)), draw(st.integers(0, 61))
            zone = f"{sign}{hours:02d}{draw(st.sampled_from([':', '']))}{minutes:02d}"
        elif zone in "+-":
            zone = zone + draw(st.text("0123456789:", max_size=5))
        text += zone
    return draw(st.sampled_from(["", " ", "\t", "\n"])) + text + draw(st.sampled_from(["", " ", "\n"]))


@settings(max_examples=3000, deadline=None)
@given(timestamps())
@example("2026-10-21T09:00:00.123+0000")  # Jira
@example("2026-10-21T09:00:00Z")  # GitHub
@example("2026-10-21T09:00:00.1-0530")
@example("2026-10-21T09:00:00.123456+05:30")
@example("2026-10-21")
@example(" 2026-10-21T09:00:00z ")
def test_fast_path_reads_as_the_rewrite_did(value: str) -> None:
    assert outcome(parse_time, value) == outcome(reference, value)


@settings(max_examples=2000, deadline=None)
@given(st.text("0123456789-+:TZz .,W", max_size=30))
def test_any_text_of_timestamp_characters(value: str) -> None:
    assert outcome(parse_time, value) == outcome(reference, value)


def test_fraction_digits_one_to_six() -> None:
    for digits in range(1, 7):
        fraction = "123456"[:digits]
        parsed = parse_time(f"2026-10-21T09:00:00.{fraction}+0200")
        assert parsed == datetime(2026, 10, 21, 7, 0, 0, int(fraction.ljust(6, "0")), tzinfo=timezone.utc)
