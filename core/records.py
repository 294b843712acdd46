"""Structured records people write in comments, read as governance data.

Three kinds, each on a line of its own at the start of a comment, tolerant of case and punctuation:

- a **review**: `Review: keep — next review 2027-03-01` (outcomes `keep`, `renew`, `retire`, `escalate`;
  the next review date is optional);
- a **demo**: `Demo: onboarding time 4.1 days (target 3)`, the success metric's current value (the first
  number after the colon) and what it is measured against;
- an **exemption**: `Exempt until 2026-12-15: vendor freeze`, an expiry date and a reason.

A record counts only from a person (never Steward's own comments, which may quote one), and reviews and
exemptions only from whoever the issue makes accountable: its owner, its reporter, or a lead named in the
rule files' `settings.leads`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from .model import Comment, Issue

OUTCOMES = ("keep", "renew", "retire", "escalate")
# "Review: keep", "**Review:** Keep.", "review - renew": a word, a separator, emphasis allowed around both.
_LEAD = r"^[ \t*_]*"
_SEPARATOR = r"[ \t*_]*[:\-–—][ \t*_]*"
_REVIEW = re.compile(_LEAD + r"review" + _SEPARATOR + r"(?P<outcome>[a-z]+)\b(?P<rest>.*)$",
                     re.IGNORECASE | re.MULTILINE)
_DEMO = re.compile(_LEAD + r"demo" + _SEPARATOR + r"(?P<rest>.+)$", re.IGNORECASE | re.MULTILINE)
_EXEMPT = re.compile(_LEAD + r"exempt(?:ed)?[ \t]+until[ \t*_]*(?P<date>\d{4}-\d{2}-\d{2})[ \t*_]*[:\-–—]?[ \t]*"
                     r"(?P<reason>.*)$", re.IGNORECASE | re.MULTILINE)
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:[.,]\d+)?)")


@dataclass(frozen=True)
class Review:
    at: datetime
    author: str | None
    outcome: str
    next_review: date | None


@dataclass(frozen=True)
class Demo:
    at: datetime
    author: str | None
    text: str
    value: float | None


@dataclass(frozen=True)
class Exemption:
    at: datetime
    author: str | None
    until: date
    reason: str


def _date(text: str) -> date | None:
    found = _DATE.search(text)
    if not found:
        return None
    try:
        return date.fromisoformat(found[1])
    except ValueError:
        return None


def accountable(issue: Issue, settings: dict[str, Any]) -> set[str]:
    """Who may speak for the issue: its owner, its reporter, and the leads of `settings.leads`."""
    people = {p for p in (issue.assignee, issue.reporter) if p}
    leads = settings.get("leads") or []
    return people | {str(lead) for lead in leads if lead}


R = TypeVar("R")
# The records last read, per thread and kind: the facts of one issue read the same records several times
# (`exemption_valid` and `days_until_exemption_ends` both read its exemptions; `demo_count` and
# `days_since_demo` its demos), and scanning every comment again was a tenth of the facts' time.
_last_read = threading.local()


def _once_per_issue(kind: str, issue: Issue, settings: dict[str, Any] | None,
                    read: Callable[[], tuple[R, ...]]) -> tuple[R, ...]:
    """`read()`, or what it gave for this very issue and settings (the same comments list, of the same length:
    an issue given new comments is read again)."""
    last = getattr(_last_read, kind, None)
    if last is not None and last[0] is issue and last[1] is issue.comments and last[2] == len(issue.comments) \
            and last[3] is settings:
        return last[4]
    found = read()
    setattr(_last_read, kind, (issue, issue.comments, len(issue.comments), settings, found))
    return found


def _people_comments(issue: Issue) -> list[Comment]:
    return [c for c in issue.comments if not c.by_steward]


def reviews(issue: Issue, settings: dict[str, Any]) -> tuple[Review, ...]:
    """The review records of the accountable people, oldest first."""
    return _once_per_issue("reviews", issue, settings, lambda: _reviews(issue, settings))


def _reviews(issue: Issue, settings: dict[str, Any]) -> tuple[Review, ...]:
    allowed = accountable(issue, settings)
    found = []
    for comment in _people_comments(issue):
        if comment.author not in allowed:
            continue
        for match in _REVIEW.finditer(comment.body):
            outcome = match["outcome"].lower()
            if outcome in OUTCOMES:
                found.append(Review(comment.created, comment.author, outcome, _date(match["rest"])))
    return tuple(sorted(found, key=lambda r: r.at))


def demos(issue: Issue) -> tuple[Demo, ...]:
    """Demo records, from anyone but Steward, oldest first."""
    return _once_per_issue("demos", issue, None, lambda: _demos(issue))


def _demos(issue: Issue) -> tuple[Demo, ...]:
    found = []
    for comment in _people_comments(issue):
        for match in _DEMO.finditer(comment.body):
            rest = match["rest"].strip()
            number = _NUMBER.search(rest)
            value = float(number[1].replace(",", ".")) if number else None
            found.append(Demo(comment.created, comment.author, rest, value))
    return tuple(sorted(found, key=lambda d: d.at))


def exemptions(issue: Issue, settings: dict[str, Any]) -> tuple[Exemption, ...]:
    """Exemption records of the accountable people, oldest first."""
    return _once_per_issue("exemptions", issue, settings, lambda: _exemptions(issue, settings))


def _exemptions(issue: Issue, settings: dict[str, Any]) -> tuple[Exemption, ...]:
    allowed = accountable(issue, settings)
    found = []
    for comment in _people_comments(issue):
        if comment.author not in allowed:
            continue
        for match in _EXEMPT.finditer(comment.body):
            try:
                until = date.fromisoformat(match["date"])
            except ValueError:
                continue
            found.append(Exemption(comment.created, comment.author, until, match["reason"].strip()))
    return tuple(sorted(found, key=lambda e: e.at))
