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
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

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


def _people_comments(issue: Issue) -> list[Comment]:
    return [c for c in issue.comments if not c.by_steward]


def reviews(issue: Issue, settings: dict[str, Any]) -> list[Review]:
    """The review records of the accountable people, oldest first."""
    allowed = accountable(issue, settings)
    found = []
    for comment in _people_comments(issue):
        if comment.author not in allowed:
            continue
        for match in _REVIEW.finditer(comment.body):
            outcome = match["outcome"].lower()
            if outcome in OUTCOMES:
                found.append(Review(comment.created, comment.author, outcome, _date(match["rest"])))
    return sorted(found, key=lambda r: r.at)


def demos(issue: Issue) -> list[Demo]:
    """Demo records, from anyone but Steward, oldest first."""
    found = []
    for comment in _people_comments(issue):
        for match in _DEMO.finditer(comment.body):
            rest = match["rest"].strip()
            number = _NUMBER.search(rest)
            value = float(number[1].replace(",", ".")) if number else None
            found.append(Demo(comment.created, comment.author, rest, value))
    return sorted(found, key=lambda d: d.at)


def exemptions(issue: Issue, settings: dict[str, Any]) -> list[Exemption]:
    """Exemption records of the accountable people, oldest first."""
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
    return sorted(found, key=lambda e: e.at)
