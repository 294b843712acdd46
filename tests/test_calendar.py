"""Working-day calendars: a blocker flagged Friday evening is not "blocked for 3 days" on Monday evening."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from helpers import run_json, steward, write_board
from steward.core.calendar import parse_calendar
from steward.core.timeutil import days_between

FRIDAY_17_BERLIN = "2026-11-20T16:00:00Z"
MONDAY_17_BERLIN = "2026-11-23T16:00:00Z"

BLOCKED = [{"key": "B-1", "title": "Waiting on vendor", "labels": ["blocked", "tactical"],
            "status_category": "in_progress", "created": "2026-09-01T00:00:00Z",
            "changes": [{"field": "labels", "from": None, "to": "blocked", "author": "li", "at": FRIDAY_17_BERLIN}]}]

CALENDAR = """\
version: 1
settings:
  calendar: {workdays: [mon, tue, wed, thu, fri], timezone: Europe/Berlin, holidays: [2026-12-25, 2026-12-26]}
overrides: {}
"""


def _facts(plan: dict, key: str) -> dict:
    return next(f["facts"] for f in plan["findings"] if f["issue"] == key)


def test_without_a_calendar_nothing_changes_and_a_weekend_counts():
    calendar = parse_calendar({"workdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}, Path("."))
    rng = random.Random(7)
    for _ in range(5000):
        start = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randint(0, 10**8))
        end = start + timedelta(seconds=rng.randint(-10**7, 10**7))
        assert calendar.elapsed_days(start, end) == days_between(start, end)


def test_the_blocker_flagged_friday_evening_has_waited_one_working_day_on_monday_evening(tmp_path):
    board = write_board(tmp_path, BLOCKED)
    plain = run_json("plan", board, now=MONDAY_17_BERLIN)
    assert _facts(plain, "B-1")["days_blocked"] == 3
    calendar = tmp_path / "calendar.yml"
    calendar.write_text(CALENDAR, encoding="utf-8")
    working = run_json("plan", board, "--rules", "pack:governance", "--rules", str(calendar), now=MONDAY_17_BERLIN)
    assert not [f for f in working["findings"] if f["rule"] == "blocked-without-escalation"]
    wednesday = run_json("plan", board, "--rules", "pack:governance", "--rules", str(calendar),
                         now="2026-11-25T16:00:00Z")
    assert [f["facts"]["days_blocked"] for f in wednesday["findings"] if f["rule"] == "blocked-without-escalation"] \
        == [3]


def test_ladder_waits_count_working_days_and_skip_holidays(tmp_path):
    calendar = parse_calendar({"timezone": "Europe/Berlin", "holidays": ["2026-12-25"]}, Path("."))
    thursday = datetime(2026, 12, 24, 9, tzinfo=timezone.utc)
    assert calendar.add(thursday, 1) == datetime(2026, 12, 28, 9, tzinfo=timezone.utc)  # Fri is a holiday
    assert calendar.until(date(2026, 12, 28), date(2026, 12, 22)) == 3


def test_a_rule_can_count_in_its_own_calendar(tmp_path):
    rules = tmp_path / "own.yml"
    rules.write_text("""\
version: 1
rules:
  - id: weekend-team
    title: Blocked, counted in the weekend team's days
    severity: low
    rationale: This team works weekends.
    calendar: {workdays: [sat, sun], timezone: UTC}
    when:
      days_blocked: {gte: 1}
    then:
      - comment: "Blocked for {{ days_blocked }} working days."
""", encoding="utf-8")
    board = write_board(tmp_path, BLOCKED)
    plan = run_json("plan", board, "--rules", str(rules), now=MONDAY_17_BERLIN)
    (finding,) = plan["findings"]
    assert list(finding["facts"].values()) == [2]  # Saturday and Sunday only
    assert plan["actions"][0]["value"] == "Blocked for 2 working days."


def test_a_bad_calendar_is_a_rule_file_error_with_its_line(tmp_path):
    rules = tmp_path / "bad.yml"
    rules.write_text(CALENDAR.replace("Europe/Berlin", "Mars/Olympus"), encoding="utf-8")
    result = steward("check", str(rules))
    assert result.exit_code == 2 and f"{rules}:3: [-] calendar: unknown time zone 'Mars/Olympus'" in result.stderr
    rules.write_text(CALENDAR.replace("2026-12-26", "Boxing Day"), encoding="utf-8")
    result = steward("check", str(rules))
    assert result.exit_code == 2 and "holiday 'Boxing Day' is not a date" in result.stderr


def test_holidays_from_an_ics_file(tmp_path):
    (tmp_path / "holidays.ics").write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261224\n"
                                           "DTEND;VALUE=DATE:20261227\nSUMMARY:Christmas\nEND:VEVENT\nEND:VCALENDAR\n",
                                           encoding="utf-8")
    calendar = parse_calendar({"holidays": "holidays.ics"}, tmp_path)
    assert calendar.holidays == {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)}
