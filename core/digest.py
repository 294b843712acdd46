"""The digest for a review cycle: what to decide next, each owner's items, overdue reviews, escalations
waiting for follow-up and the period's movement, in one Markdown text.

`steward digest` prints it; `--post` keeps one digest issue per period in the tracker (a rerun in the same
period updates it, never opens a second); `--channel` sends it to a chat channel once per period, recorded
on that digest issue. Each owner is mentioned once, so the tracker notifies them of what is theirs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .markers import dedupe
from .mentions import token
from .model import Finding, Issue
from .report import one_line
from .review import Review, ReviewCollector, owners_ranked
from .review_governance import decide_groups
from .rules import RuleSet

PERIODS = ("week", "month")
LIST_LIMIT = 15


def period_of(now: datetime, period: str) -> tuple[str, datetime]:
    """The period's name (2026-W48, 2026-11) and its first moment, in UTC."""
    day = now.astimezone(timezone.utc)
    if period == "month":
        start = datetime(day.year, day.month, 1, tzinfo=timezone.utc)
        return f"{day:%Y-%m}", start
    year, week, weekday = day.isocalendar()
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) - timedelta(days=weekday - 1)
    return f"{year}-W{week:02d}", start


@dataclass(frozen=True)
class Line:
    key: str
    url: str | None
    title: str
    owner_id: str | None
    owner: str | None
    detail: str


@dataclass
class DigestCollector:
    """A runner observer: the governance review, plus what the digest lists beyond it."""

    rules: RuleSet
    now: datetime
    period_start: datetime
    tracker: str = ""
    review: ReviewCollector = field(init=False)
    overdue: list[Line] = field(default_factory=list)
    waiting: list[Line] = field(default_factory=list)
    steps_taken: Counter = field(default_factory=Counter)
    closed: int = 0

    def __post_init__(self) -> None:
        self.review = ReviewCollector(self.rules, self.now, self.tracker)

    def __call__(self, issues: list[Issue], facts: list[dict[str, Any]], findings: list[list[Finding]]) -> None:
        self.review(issues, facts, findings)
        for issue, found in zip(issues, findings, strict=True):
            self._issue(issue, found)

    def _issue(self, issue: Issue, found: list[Finding]) -> None:
        owner = issue.people.get(issue.assignee, issue.assignee) if issue.assignee else None

        def line(detail: str) -> Line:
            return Line(issue.key, issue.url, one_line(issue.title, 70), issue.assignee, owner, detail)

        overdue_listed = waiting_listed = False
        for item in found:
            # A review date that passed (mapped field or due date) is the governance meaning of "overdue";
            # one line per issue even when two rules read the same date.
            overdue = _first_number(item.facts, "days_past_review", "days_overdue")
            waiting = item.facts.get("days_escalated_without_follow_up")
            if not overdue_listed and overdue is not None and overdue > 0:
                self.overdue.append(line(f"{overdue:g} days overdue ({item.rule})"))
                overdue_listed = True
            if not waiting_listed and isinstance(waiting, (int, float)):
                self.waiting.append(line(f"escalated {waiting:g} days ago, no follow-up"))
                waiting_listed = True
        for marker in dedupe(issue.markers):
            if self.period_start <= marker.at <= self.now:
                self.steps_taken[marker.rule] += 1
        if any(c.field == "status" and self.period_start <= c.at <= self.now for c in issue.changes) \
                and issue.status_category == "done":
            self.closed += 1


def _first_number(facts: dict[str, Any], *names: str) -> float | None:
    for name in names:
        value = facts.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    return None


def _mention(owner_id: str | None, owner: str | None) -> str:
    return token(owner_id, owner) if owner_id else "**no owner**"


def _issue_link(key: str, url: str | None) -> str:
    return f"[{key}]({url})" if url and url.startswith(("https://", "http://")) else key


def _lines(lines: list[Line], empty: str) -> list[str]:
    if not lines:
        return [empty, ""]
    shown = sorted(lines, key=lambda item: item.key)[:LIST_LIMIT]
    out = [f"- {_issue_link(item.key, item.url)} {item.title} · {item.detail} · {item.owner or 'no owner'}"
           for item in shown]
    if len(lines) > len(shown):
        out.append(f"- … and {len(lines) - len(shown)} more")
    return out + [""]


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def digest_markdown(collector: DigestCollector, title: str, period: str) -> str:
    """The digest's text; owners appear as mention tokens (see core/mentions.py)."""
    review: Review = collector.review.result()
    lines = [f"## {title}", "",
             f"Period {period}: {review.issues:,} issues checked, {review.findings:,} open findings "
             f"({review.high_critical:,} high or critical), {review.no_owner:,} without an owner.", ""]
    lines += ["### What to decide next", ""]
    # Owners are mentioned once, under "By owner": here they are named. Strategic items first (the report's
    # grouping), numbered straight through.
    number = 0
    for altitude, items in decide_groups(review.decide):
        lines += [f"**{altitude}**", ""]
        for item in items:
            number += 1
            lines.append(f"{number}. {_issue_link(item.key, item.url)} {item.title} · {item.severity} · "
                         f"{item.owner or '**no owner**'}")
        lines.append("")
    if not number:
        lines += ["Nothing.", ""]
    lines += ["### By owner", ""]
    for owner, _ in owners_ranked(review):
        items, total = review.owner_items.get(owner, ([], 0))
        if not items:
            continue
        who = _mention(items[0].owner_id, owner)
        keys = ", ".join(_issue_link(item.key, item.url) for item in items)
        more = f" and {total - len(items)} more" if total > len(items) else ""
        lines.append(f"- {who}: {keys}{more}")
    if not review.owner_items:
        lines.append("No open findings.")
    lines += ["", "### Overdue reviews", ""] + _lines(collector.overdue, "None overdue.")
    lines += ["### Escalations waiting for follow-up", ""] + _lines(collector.waiting, "None waiting.")
    taken = sum(collector.steps_taken.values())
    movement = ", ".join(f"{rule} {count}" for rule, count in collector.steps_taken.most_common())
    lines += ["### This period", "",
              f"{_count(taken, 'Steward step')} taken{': ' + movement if movement else ''}; "
              f"{_count(collector.closed, 'issue')} closed.", ""]
    return "\n".join(lines)


def default_title(period: str) -> str:
    return f"Governance review {period}"
