"""Built-in facts: plain values derived from an Issue at one fixed `now`. Dates never reach the engine."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from .fields import ALWAYS as HIERARCHY_ALWAYS
from .fields import HIERARCHY
from .hookspecs import hookimpl
from .model import HISTORY_FIELDS, Change, Comment, Issue
from .records import accountable
from .registry import FactContext, FactSpec

DEFAULT_SETTINGS: dict[str, Any] = {
    "rationale_window_hours": 24,
    "lookback_days": 30,
    "escalation_label": "escalated",
    "blocked_statuses": ["Blocked", "blocked"],
    "blocked_labels": ["blocked"],
    "leads": [],  # ids whose comments count as follow-up and whose records count, besides owner and reporter
    "done_statuses": ["Done", "Closed", "Resolved", "done", "closed", "resolved"],
    "status_order": ["Backlog", "To Do", "Open", "open", "Selected for Development", "In Progress",
                     "In Review", "Review", "Done", "Closed", "Resolved", "closed"],
}
# An `updated` time this close to one of Steward's own writes is taken to be that write.
_OWN_WRITE_SLACK = timedelta(minutes=2)


def _human_comments(issue: Issue) -> list[Comment]:
    return [c for c in issue.comments if not c.by_steward]


def last_human_activity(issue: Issue) -> datetime | None:
    """When people last did something to the issue: created it, commented, changed a field it records.

    The tracker's `updated` counts too, unless Steward's own write is what set it: a clock that measures
    people must not be reset by Steward's comment (see docs/architecture.md, section 5).
    """
    known = [c.created for c in issue.comments if not c.by_steward]
    known += [c.at for c in issue.changes if not c.by_steward]
    if issue.created is not None:
        known.append(issue.created)
    own = [c.created for c in issue.comments if c.by_steward] + [m.at for m in issue.markers]
    own += [c.at for c in issue.changes if c.by_steward]
    if issue.updated is not None and (not own or issue.updated > max(own) + _OWN_WRITE_SLACK):
        known.append(issue.updated)
    return max(known) if known else None


def _last_change(issue: Issue, field: str, until: datetime) -> Change | None:
    changes = [c for c in issue.changes if c.field == field and c.at <= until]
    return max(changes, key=lambda c: c.at) if changes else None


def _days_since(when: datetime | None, ctx: FactContext) -> int | None:
    return None if when is None else ctx.days_since(when)


def age_days(issue: Issue, ctx: FactContext) -> int | None:
    return _days_since(issue.created, ctx)


def idle_days(issue: Issue, ctx: FactContext) -> int | None:
    return _days_since(last_human_activity(issue), ctx)


def days_since_comment(issue: Issue, ctx: FactContext) -> int | None:
    comments = _human_comments(issue)
    return _days_since(max(c.created for c in comments), ctx) if comments else None


def comment_count(issue: Issue, ctx: FactContext) -> int:
    return len(_human_comments(issue))


def days_unassigned(issue: Issue, ctx: FactContext) -> int | None:
    if issue.assignee:
        return None
    last = _last_change(issue, "assignee", ctx.now)
    return _days_since(last.at if last else issue.created, ctx)


def days_in_status(issue: Issue, ctx: FactContext) -> int | None:
    last = _last_change(issue, "status", ctx.now)
    return _days_since(last.at if last else issue.created, ctx)


def _label_added_at(issue: Issue, label: str, until: datetime) -> datetime | None:
    """When a label now on the issue was last put there (creation, if the history does not say)."""
    if label not in issue.labels:
        return None
    added = [c.at for c in issue.changes if c.field == "labels" and c.to_value == label and c.at <= until]
    return max(added) if added else issue.created


def days_with_label(issue: Issue, ctx: FactContext, label: str) -> int | None:
    return _days_since(_label_added_at(issue, label, ctx.now), ctx)


def days_blocked(issue: Issue, ctx: FactContext) -> int | None:
    """Days since the issue was flagged blocked, by a status in `blocked_statuses` or a label in
    `blocked_labels`: the clock starts at the earliest flag still standing, not at creation."""
    flagged = []
    if issue.status in ctx.settings["blocked_statuses"]:
        last = _last_change(issue, "status", ctx.now)
        flagged.append(last.at if last else issue.created)
    for label in ctx.settings["blocked_labels"]:
        flagged.append(_label_added_at(issue, label, ctx.now))
    known = [at for at in flagged if at is not None]
    return _days_since(min(known), ctx) if known else None


def has_due(issue: Issue, ctx: FactContext) -> bool:
    return issue.due is not None


def days_until_due(issue: Issue, ctx: FactContext) -> int | None:
    """Due dates are dates, so a date due today is 0 and yesterday's is -1: calendar days in UTC, or working
    days in the calendar's time zone when there is one."""
    if issue.due is None:
        return None
    if ctx.calendar is not None:
        return ctx.calendar.until(issue.due.date(), ctx.calendar.local_date(ctx.now))
    return (issue.due.date() - ctx.now.date()).days


def days_overdue(issue: Issue, ctx: FactContext) -> int | None:
    until = days_until_due(issue, ctx)
    return -until if until is not None and until < 0 else None


def lookback_start(ctx: FactContext) -> datetime:
    """The oldest change time `unexplained_changes` (and the governance report) still looks at."""
    return ctx.now - timedelta(days=float(ctx.settings["lookback_days"]))


def has_rationale(change: Change, comments: Iterable[Comment], ctx: FactContext) -> bool:
    """Whether whoever made the change commented within `rationale_window_hours` before or after it.

    All comments count: a change Steward made is explained by the comment it wrote with it.
    """
    if not change.author:
        return False
    window = timedelta(hours=float(ctx.settings["rationale_window_hours"]))
    return any(c.author == change.author and abs(c.created - change.at) <= window for c in comments)


def unexplained_changes(issue: Issue, ctx: FactContext) -> list[str]:
    """Fields whose last change inside the lookback window has no comment by whoever made it."""
    since = lookback_start(ctx)
    unexplained = []
    for field in HISTORY_FIELDS:
        last = _last_change(issue, field, ctx.now)
        if last and last.at >= since and not has_rationale(last, issue.comments, ctx):
            unexplained.append(field)
    return unexplained


def escalation_level(issue: Issue, ctx: FactContext) -> int:
    return max((m.level for m in issue.markers), default=0)


def _escalated_at(issue: Issue, ctx: FactContext) -> datetime | None:
    """When the escalation label was last put on: by its history, else by the Steward step that added it.

    Only a step that added the label escalates: a later step of some other ladder (a follow-up reminder)
    is not a new escalation. Markers written before Steward recorded their labels count from level 2 on.
    """
    label = ctx.settings["escalation_label"]
    if label not in issue.labels:
        return None
    added = [
        c.at for c in issue.changes
        if c.field == "labels" and c.to_value == label and c.at <= ctx.now
    ]
    ladder = [m.at for m in issue.markers if m.at <= ctx.now
              and (label in m.added if m.added is not None else m.level >= 2)]
    candidates = added + ladder
    return max(candidates) if candidates else last_human_activity(issue)


def days_escalated_without_follow_up(issue: Issue, ctx: FactContext) -> int | None:
    """Days since the issue was escalated with no follow-up after it; missing once followed up.

    A follow-up is a comment by someone the issue makes accountable (its owner, its reporter, a lead of
    `settings.leads`): a bystander's "+1" is not one, nor is Steward's own reminder."""
    escalated = _escalated_at(issue, ctx)
    if escalated is None:
        return None
    allowed = accountable(issue, ctx.settings)
    if any(c.created > escalated and c.author in allowed for c in _human_comments(issue)):
        return None
    return ctx.days_since(escalated)


def _name_of(attribute: str):
    def compute(issue: Issue, ctx: FactContext) -> str | None:
        person = getattr(issue, attribute)
        return issue.people.get(person, person) if person else None

    return compute


def _field(name: str, transform=None):
    def compute(issue: Issue, ctx: FactContext) -> Any:
        value = getattr(issue, name)
        return transform(value) if (transform and value is not None) else value

    return compute


_BUILTINS = (
    ("key", "string", "The issue key (OPS-12, #34).", _field("key")),
    ("project", "string", "Jira project key or GitHub owner/repo.", _field("project")),
    ("type", "string", "Issue type, lower-case (bug, task, exception, decision, initiative).",
     _field("type", str.lower)),
    ("status", "string", "Workflow status name as the tracker shows it.", _field("status")),
    ("status_category", "string", "todo, in_progress or done.", _field("status_category")),
    ("priority", "string", "Priority name (on GitHub: from the priority label family).", _field("priority")),
    ("labels", "list", "Label names.", _field("labels", list)),
    ("assignee", "string", "Who owns it now (the tracker's id: login, accountId, user name); missing when "
     "unassigned. Mention them with `{{ assignee | mention }}`.", _field("assignee")),
    ("assignee_name", "string", "The owner's display name; missing when unassigned.", _name_of("assignee")),
    ("reporter", "string", "Who raised it (the tracker's id).", _field("reporter")),
    ("reporter_name", "string", "The reporter's display name.", _name_of("reporter")),
    ("title", "string", "Summary line.", _field("title")),
    ("body", "string", "Description as plain text.", _field("body")),
    ("age_days", "number", "Whole days since it was created.", age_days),
    ("idle_days", "number", "Whole days since people last touched it (Steward's own writes do not count).",
     idle_days),
    ("days_since_comment", "number", "Days since the last human comment; missing when none.",
     days_since_comment),
    ("comment_count", "number", "Human comments (Steward's own are not counted).", comment_count),
    ("days_unassigned", "number", "Days it has had no assignee; missing while assigned.", days_unassigned),
    ("days_in_status", "number", "Days since its status last changed (or since creation).", days_in_status),
    ("days_blocked", "number",
     "Days since it was flagged blocked (a status in `blocked_statuses` or a label in `blocked_labels`); "
     "missing when not blocked.", days_blocked),
    ("has_due", "boolean", "Whether a due date (the next review date) is set.", has_due),
    ("days_until_due", "number", "Days until the due date, negative when past; missing without one.",
     days_until_due),
    ("days_overdue", "number", "Days since the due date passed; missing when not yet due or no due date.",
     days_overdue),
    ("unexplained_changes", "list",
     "Fields (priority, assignee, labels, status, due) whose last change within `lookback_days` has "
     "no comment by its author within `rationale_window_hours`.", unexplained_changes),
    ("escalation_level", "number", "Highest ladder level Steward has reached on the issue (0 = none).",
     escalation_level),
    ("days_escalated_without_follow_up", "number",
     "Days since the issue got the `escalation_label` with no human comment since; missing otherwise.",
     days_escalated_without_follow_up),
)


PERSON_FACTS = frozenset({"assignee", "reporter"})
DAY_FACTS = frozenset({"age_days", "idle_days", "days_since_comment", "days_unassigned", "days_in_status",
                       "days_blocked", "days_until_due", "days_overdue", "days_escalated_without_follow_up"})
ALWAYS_PRESENT = frozenset({"key", "comment_count", "escalation_level", "has_due"})


@hookimpl
def register_facts(register):
    for name, fact_type, description, compute in _BUILTINS:
        register(FactSpec(name=name, type=fact_type, description=description, compute=compute,
                          person=name in PERSON_FACTS, always=name in ALWAYS_PRESENT, days=name in DAY_FACTS))
    for name, fact_type, description, compute in HIERARCHY:
        register(FactSpec(name=name, type=fact_type, description=description, compute=compute,
                          always=name in HIERARCHY_ALWAYS))
    register(FactSpec(name="days_with_label", type="number", parameter="label", compute=days_with_label, days=True,
                      description="`days_with_label(LABEL)`: days since LABEL was last put on the issue; "
                                  "missing when the issue does not carry it."))

