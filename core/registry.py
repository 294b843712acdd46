"""What plugins register besides trackers: facts and actions, with the types rule files are checked against."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .calendar import Calendar
from .model import Issue
from .timeutil import days_between

FACT_TYPES = ("number", "string", "boolean", "list")
# `days_with_label(blocked)`: a fact that takes one argument, written in parentheses after its name.
_WITH_ARGUMENT = re.compile(r"^([a-z_][a-z0-9_]*)\(([^(){}]+)\)$")
# A rule with its own calendar counts its days under it: the loader renames its day-count facts NAME to
# NAME__in__KEY, computed with that calendar (the key names the rule).
IN_CALENDAR = "__in__"


@dataclass(frozen=True)
class FactContext:
    """What every fact is computed against: one `now` per run, the merged rule-file settings, and the
    working-day calendar day counts use (None: whole days of 24 hours, UTC)."""

    now: datetime
    settings: dict[str, Any]
    calendar: Calendar | None = None

    def __post_init__(self) -> None:
        if self.calendar is None and isinstance(self.settings.get("calendar"), Calendar):
            object.__setattr__(self, "calendar", self.settings["calendar"])

    def days_since(self, when: datetime) -> int:
        """Whole days (working days, with a calendar) from `when` to now, floored."""
        return self.calendar.elapsed_days(when, self.now) if self.calendar else days_between(when, self.now)

    def for_rule(self, key: str) -> FactContext:
        """The context of a rule with a calendar of its own (see `calendar_of`)."""
        return replace(self, calendar=self.settings["rule_calendars"][key])


@dataclass(frozen=True)
class FactSpec:
    """A fact rules can test. With `parameter` (what the argument is, such as "label"), rules name it with an
    argument, `days_with_label(blocked)`, and `compute(issue, ctx, argument)` gets it."""

    name: str
    type: str
    description: str
    compute: Callable[..., Any]
    parameter: str | None = None
    person: bool = False  # the value is a person's id on the tracker: templates may `| mention` it
    always: bool = False  # never missing: templates need no fallback for it
    days: bool = False  # a count of days: a working-day calendar changes it

    def value(self, issue: Issue, ctx: FactContext, argument: str | None) -> Any:
        return self.compute(issue, ctx) if self.parameter is None else self.compute(issue, ctx, argument)


def split_fact_name(name: str) -> tuple[str, str | None]:
    """`days_with_label(blocked)` → ("days_with_label", "blocked"); a plain name has no argument. A rule
    calendar's suffix is dropped: `age_days__in__k` is `age_days`."""
    match = _WITH_ARGUMENT.match(name)
    base, argument = (match[1], match[2].strip()) if match else (name, None)
    return base.split(IN_CALENDAR, 1)[0], argument


def calendar_of(name: str) -> str | None:
    """The rule-calendar key a renamed fact carries, or None."""
    base = _WITH_ARGUMENT.match(name)
    head = base[1] if base else name
    return head.split(IN_CALENDAR, 1)[1] if IN_CALENDAR in head else None


def in_calendar(name: str, key: str) -> str:
    """The name of a day-count fact counted in a rule's own calendar."""
    match = _WITH_ARGUMENT.match(name)
    return f"{match[1]}{IN_CALENDAR}{key}({match[2]})" if match else f"{name}{IN_CALENDAR}{key}"


@dataclass(frozen=True)
class ActionSpec:
    """A rule action run by Steward itself (not the tracker), such as posting to a chat webhook.

    `run(issue, value, context)` performs it during `apply`, after the step's tracker write, and returns a line
    saying what it did; it raises TrackerError when it could not (the step keeps it pending, and the next apply
    runs it again). `context` holds the run's `now` and the rule files' settings. `check(value, settings)`,
    if given, returns a problem with the value that the schema cannot see (such as an undefined channel).
    """

    name: str
    value_schema: dict[str, Any]
    description: str
    run: Callable[[Issue, Any, FactContext], str]
    check: Callable[[Any, dict[str, Any]], str | None] | None = None
