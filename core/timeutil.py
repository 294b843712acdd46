"""Timezone-aware UTC times, parsed from every shape the trackers send."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timezone
from typing import Any

_OFFSET_WITHOUT_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
_FRACTION = re.compile(r"(:\d{2})\.(\d+)")  # Python 3.10 reads only 3 or 6 digits of a second's fraction
_EPOCH_MILLISECONDS = 1e11  # an epoch-seconds value this large would be past the year 5000

log = logging.getLogger("steward.data")


def parse_time(value: str | datetime | date | int | float) -> datetime:
    """Parse ISO-8601 (with `Z`, `+0800` or `+08:00`), a date, or epoch seconds, into aware UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    elif isinstance(value, str):
        try:  # Python 3.11+ reads `Z` and `+0800` itself, 10x faster than the rewrite (3.10 raises: rewrite)
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = _rewritten(value)
    else:
        raise ValueError(f"not a time: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _rewritten(value: str) -> datetime:
    """The general reader: `Z` and offsets without a colon rewritten, then `datetime.fromisoformat`."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _OFFSET_WITHOUT_COLON.sub(r"\1:\2", text)
    # 1 to 9 digits, as 3.11+ reads them: padded or cut to microseconds.
    text = _FRACTION.sub(lambda m: f"{m[1]}.{m[2][:6].ljust(6, '0')}", text, count=1)
    try:
        return datetime.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"not an ISO-8601 time: {value!r}") from error


def format_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_between(earlier: datetime, later: datetime) -> int:
    """Whole days elapsed, floored: 13 days 23 hours is 13, and 12 hours in the past is -1."""
    return int((later - earlier).total_seconds() // 86400)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def tracker_time(value: Any, what: str, key: str) -> datetime | None:
    """A time from tracker data: empty is None, and so is anything unreadable, with a warning naming the issue."""
    if value in (None, ""):
        return None
    seconds = value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > _EPOCH_MILLISECONDS:
        seconds = value / 1000
    try:
        return parse_time(seconds)
    except (ValueError, OverflowError, OSError):
        log.warning("%s: ignoring %s %r: not a date or time", key, what, value)
        return None
