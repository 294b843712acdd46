"""Working-day calendars: day counts that skip weekends and holidays, in the team's own time zone.

```yaml
settings:
  calendar: {workdays: [mon, tue, wed, thu, fri], timezone: Europe/Berlin, holidays: [2026-12-25, 2026-12-26]}
```

With a calendar, every day-count fact and every ladder `after_days` counts working time: each working day
counts its 24 hours in the calendar's time zone, weekends and holidays count nothing. So a blocker flagged on
Friday at 17:00 has waited 1 working day on Monday at 17:00, not 3. Without a calendar nothing changes:
whole days of 24 hours, in UTC. `holidays` is a list of dates or the path of an iCalendar (.ics) file, read
for its all-day events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ICS_DATE = re.compile(r"^(DTSTART|DTEND)[^:]*:(\d{8})(?:T\d{6}Z?)?\s*$", re.MULTILINE)
_DAY = timedelta(days=1)


class CalendarError(ValueError):
    """A calendar the rule file describes wrongly; the loader reports it with the file and line."""


@dataclass(frozen=True)
class Calendar:
    workdays: frozenset[int]  # 0 is Monday
    zone: ZoneInfo
    holidays: frozenset[date]

    def working(self, day: date) -> bool:
        return day.weekday() in self.workdays and day not in self.holidays

    def _local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), self.zone)

    def elapsed_days(self, earlier: datetime, later: datetime) -> int:
        """Whole working days between two instants, floored (negative when `later` is before `earlier`)."""
        if later < earlier:
            return -self.elapsed_days(later, earlier) - (1 if self._working_seconds(later, earlier) % 86400 else 0)
        return int(self._working_seconds(earlier, later) // 86400)

    def working_dates(self, first: date, stop: date) -> int:
        """How many working dates d with first <= d < stop: whole weeks by arithmetic, so a two-year-old
        issue costs as little as a new one."""
        if stop <= first:
            return 0
        span = (stop - first).days
        weeks, rest = divmod(span, 7)
        count = weeks * len(self.workdays)
        count += sum(1 for offset in range(rest) if (first.weekday() + offset) % 7 in self.workdays)
        count -= sum(1 for day in self.holidays if first <= day < stop and day.weekday() in self.workdays)
        return count

    def _day_fraction(self, moment: datetime, day: date, from_start: bool) -> float:
        """Seconds of `day` (a working day) before `moment` (from_start) or after it, scaled to a 24-hour day."""
        begin, end = self._local_midnight(day), self._local_midnight(day + _DAY)
        length = (end - begin).total_seconds()
        part = (moment - begin).total_seconds() if from_start else (end - moment).total_seconds()
        return max(0.0, min(part, length)) * 86400 / length

    def _working_seconds(self, earlier: datetime, later: datetime) -> float:
        start, end = earlier.astimezone(self.zone), later.astimezone(self.zone)
        first, last = start.date(), end.date()
        if first == last:
            if not self.working(first):
                return 0.0
            return self._day_fraction(end, first, True) - self._day_fraction(start, first, True)
        total = self._day_fraction(start, first, False) if self.working(first) else 0.0
        total += self._day_fraction(end, last, True) if self.working(last) else 0.0
        # A working day counts 24 hours whatever its length (a daylight-saving day has 23 or 25).
        return total + 86400.0 * self.working_dates(first + _DAY, last)

    def add(self, start: datetime, days: float) -> datetime:
        """The moment `days` working days have passed since `start`."""
        remaining = days * 86400
        moment = start.astimezone(self.zone)
        for _ in range(366 * 10):  # ten years of non-working days would be a misconfigured calendar
            day = moment.date()
            day_end = self._local_midnight(day + _DAY)
            if self.working(day):
                length = (day_end - self._local_midnight(day)).total_seconds()
                available = (day_end - moment).total_seconds() * 86400 / length
                if remaining <= available:
                    return (moment + timedelta(seconds=remaining * length / 86400)).astimezone(timezone.utc)
                remaining -= available
            moment = day_end
        raise CalendarError("the calendar has no working day for ten years")

    def until(self, day: date, today: date) -> int:
        """Working days from `today` to a due date (negative when it is past), counting whole dates."""
        step = 1 if day >= today else -1
        count, current = 0, today
        while current != day:
            current += timedelta(days=step)
            if self.working(current):
                count += step
        return count

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def parse_calendar(raw: Any, base: Path) -> Calendar:
    """A Calendar from a rule file's `calendar` mapping (already shaped by the JSON Schema)."""
    names = raw.get("workdays", list(DAY_NAMES[:5]))
    workdays = frozenset(DAY_NAMES.index(name) for name in names)
    if not workdays:
        raise CalendarError("workdays lists no day")
    zone_name = raw.get("timezone", "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"unknown time zone {zone_name!r} (use an IANA name such as Europe/Berlin)") from None
    holidays = raw.get("holidays", [])
    if isinstance(holidays, str):
        return Calendar(workdays, zone, _ics_holidays(base / holidays))
    days = set()
    for value in holidays:
        if isinstance(value, date) and not isinstance(value, datetime):
            days.add(value)
            continue
        try:
            days.add(date.fromisoformat(str(value)))
        except ValueError:
            raise CalendarError(f"holiday {value!r} is not a date such as 2026-12-25") from None
    return Calendar(workdays, zone, frozenset(days))


def _ics_holidays(path: Path) -> frozenset[date]:
    """The days of the all-day events of an iCalendar file (DTEND is exclusive, as the format says)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CalendarError(f"cannot read holidays file {path}: {error.strerror or error}") from None
    days: set[date] = set()
    for block in text.split("BEGIN:VEVENT")[1:]:
        found = {kind: value for kind, value in _ICS_DATE.findall(block.split("END:VEVENT")[0])}
        if "DTSTART" not in found:
            continue
        start = datetime.strptime(found["DTSTART"], "%Y%m%d").date()
        end = datetime.strptime(found["DTEND"], "%Y%m%d").date() if "DTEND" in found else start + _DAY
        stop = min(max(end, start + _DAY), start + timedelta(days=366))  # a holiday is not a year long
        while start < stop:
            days.add(start)
            start += _DAY
    if not days:
        raise CalendarError(f"holidays file {path} holds no all-day event")
    return frozenset(days)
