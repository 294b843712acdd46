"""Governance facts beyond fields being filled: review records, demo cadence, slip and churn, governed
exemptions and the altitude of the work. A built-in plugin, registered like the others.

See core/records.py for the records people write (`Review: keep`, `Demo: ...`, `Exempt until ...`).
"""

from __future__ import annotations

from datetime import datetime

from .hookspecs import hookimpl
from .model import Issue
from .records import demos, exemptions, reviews
from .registry import FactContext, FactSpec
from .timeutil import parse_time

ALTITUDES = ("strategic", "operational", "tactical")


def days_since_review(issue: Issue, ctx: FactContext) -> int | None:
    found = reviews(issue, ctx.settings)
    return ctx.days_since(found[-1].at) if found else None


def last_review_outcome(issue: Issue, ctx: FactContext) -> str | None:
    found = reviews(issue, ctx.settings)
    return found[-1].outcome if found else None


def review_count(issue: Issue, ctx: FactContext) -> int:
    return len(reviews(issue, ctx.settings))


def review_by_owner(issue: Issue, ctx: FactContext) -> bool | None:
    found = reviews(issue, ctx.settings)
    return found[-1].author == issue.assignee if found else None


def days_since_demo(issue: Issue, ctx: FactContext) -> int | None:
    found = demos(issue)
    return ctx.days_since(found[-1].at) if found else None


def demo_count(issue: Issue, ctx: FactContext) -> int:
    return len(demos(issue))


def last_metric_value(issue: Issue, ctx: FactContext) -> float | None:
    values = [d.value for d in demos(issue) if d.value is not None]
    return values[-1] if values else None


REVIEW_FIELD = "next_review"  # the mapped field (`fields: next_review: ...`) that holds the next review date


def _review_date(issue: Issue) -> datetime | None:
    """The next review date: the mapped `next_review` field where the rule files map one, else the due date."""
    mapped = issue.fields.get(REVIEW_FIELD)
    if mapped is not None and isinstance(mapped.value, datetime):
        return mapped.value
    return issue.due


def has_review_date(issue: Issue, ctx: FactContext) -> bool:
    return _review_date(issue) is not None


def days_until_review(issue: Issue, ctx: FactContext) -> int | None:
    when = _review_date(issue)
    if when is None:
        return None
    if ctx.calendar is not None:
        return ctx.calendar.until(ctx.calendar.local_date(when), ctx.calendar.local_date(ctx.now))
    return (when.date() - ctx.now.date()).days


def days_past_review(issue: Issue, ctx: FactContext) -> int | None:
    until = days_until_review(issue, ctx)
    return -until if until is not None and until < 0 else None


def _moment(value: str | None) -> datetime | None:
    try:
        return parse_time(value) if value else None
    except ValueError:
        return None


def due_postponements(issue: Issue, ctx: FactContext) -> int:
    """Times the due (next review) date moved later: a slip is a promise moved, however it is explained."""
    count = 0
    for change in issue.changes:
        if change.field != "due" or change.at > ctx.now:
            continue
        before, after = _moment(change.from_value), _moment(change.to_value)
        count += before is not None and after is not None and after > before
    return count


def priority_flips(issue: Issue, ctx: FactContext) -> int:
    """Priority changes within `lookback_days`."""
    since = ctx.now.timestamp() - float(ctx.settings["lookback_days"]) * 86400
    return sum(1 for c in issue.changes if c.field == "priority" and since <= c.at.timestamp() <= ctx.now.timestamp())


def reopen_count(issue: Issue, ctx: FactContext) -> int:
    done = set(ctx.settings["done_statuses"])
    return sum(1 for c in issue.changes if c.field == "status" and c.from_value in done and c.to_value not in done)


def status_regressions(issue: Issue, ctx: FactContext) -> int:
    """Status changes backwards in `status_order` (reopening included); unknown statuses are not judged."""
    order = {name: index for index, name in enumerate(ctx.settings["status_order"])}
    return sum(1 for c in issue.changes if c.field == "status" and c.from_value in order and c.to_value in order
               and order[c.to_value] < order[c.from_value])


def days_until_exemption_ends(issue: Issue, ctx: FactContext) -> int | None:
    """Days until the latest exemption record expires (negative once past); missing without a record."""
    found = exemptions(issue, ctx.settings)
    if not found:
        return None
    today = ctx.calendar.local_date(ctx.now) if ctx.calendar else ctx.now.date()
    return (found[-1].until - today).days


def exemption_valid(issue: Issue, ctx: FactContext) -> bool:
    """An accountable person recorded an exemption that has not expired: only then does an exempting label
    switch a governance rule off."""
    days = days_until_exemption_ends(issue, ctx)
    return days is not None and days >= 0


def altitude(issue: Issue, ctx: FactContext) -> str | None:
    """Strategic, operational or tactical: from a label of that name, else the issue type."""
    for label in issue.labels:
        if label.lower() in ALTITUDES:
            return label.lower()
    kind = (issue.type or "").lower()
    return kind if kind in ALTITUDES else None


_FACTS = (
    ("has_review_date", "boolean", "Whether a next review date is set: the mapped `next_review` field, else the "
     "due date.", has_review_date, False),
    ("days_until_review", "number", "Days until the next review date (negative when past); missing without one.",
     days_until_review, True),
    ("days_past_review", "number", "Days since the next review date passed; missing when not yet due or unset.",
     days_past_review, True),
    ("days_since_review", "number", "Days since the last review record (`Review: keep …`) by the owner, the "
     "reporter or a lead; missing when none.", days_since_review, True),
    ("last_review_outcome", "string", "keep, renew, retire or escalate: the last review record's outcome.",
     last_review_outcome, False),
    ("reviews", "number", "How many review records the issue has.", review_count, False),
    ("review_by_owner", "boolean", "Whether the last review record is the owner's own.", review_by_owner, False),
    ("days_since_demo", "number", "Days since the last demo record (`Demo: <metric> <value> …`); missing when "
     "none.", days_since_demo, True),
    ("demo_count", "number", "How many demo records the issue has.", demo_count, False),
    ("last_metric_value", "number", "The success metric's value in the latest demo record that names one.",
     last_metric_value, False),
    ("due_postponements", "number", "Times the due (next review) date moved later.", due_postponements, False),
    ("priority_flips", "number", "Priority changes within `lookback_days`.", priority_flips, False),
    ("reopen_count", "number", "Times it left a status of `done_statuses` for another.", reopen_count, False),
    ("status_regressions", "number", "Status changes backwards in `status_order`.", status_regressions, False),
    ("days_until_exemption_ends", "number", "Days until the latest exemption record (`Exempt until DATE: why`) "
     "by the owner, the reporter or a lead expires, negative once past; missing when none.",
     days_until_exemption_ends, True),
    ("exemption_valid", "boolean", "An accountable person recorded an exemption that has not expired.",
     exemption_valid, False),
    ("altitude", "string", "strategic, operational or tactical: from a label of that name, else the type.",
     altitude, False),
)
_ALWAYS = frozenset({"has_review_date", "reviews", "demo_count", "due_postponements", "priority_flips", "reopen_count",
                     "status_regressions", "exemption_valid"})


@hookimpl
def register_facts(register):
    for name, fact_type, description, compute, days in _FACTS:
        register(FactSpec(name=name, type=fact_type, description=description, compute=compute, days=days,
                          always=name in _ALWAYS))
