"""Governance records (core/records.py) are read once per issue, and read again when the issue changes."""

from __future__ import annotations

from datetime import datetime, timezone

from steward.core.model import Comment, Issue
from steward.core.records import demos, exemptions, reviews

AT = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
SETTINGS: dict = {"leads": []}


def _issue(*bodies: str) -> Issue:
    return Issue(key="OPS-1", assignee="ana", comments=[Comment("ana", AT, body) for body in bodies])


def test_records_follow_the_issue_they_are_asked_about():
    first, second = _issue("Exempt until 2026-12-15: freeze"), _issue("Exempt until 2027-01-31: audit")
    assert [e.reason for e in exemptions(first, SETTINGS)] == ["freeze"]
    assert [e.reason for e in exemptions(second, SETTINGS)] == ["audit"]
    assert [e.reason for e in exemptions(first, SETTINGS)] == ["freeze"]


def test_an_issue_given_new_comments_is_read_again():
    issue = _issue("Demo: 4 days")
    assert len(demos(issue)) == 1
    issue.comments.append(Comment("bo", AT, "Demo: 3 days"))  # the same list, one comment longer
    assert [d.value for d in demos(issue)] == [4.0, 3.0]
    issue.comments = [Comment("ana", AT, "Review: keep")]  # another list
    assert demos(issue) == () and [r.outcome for r in reviews(issue, SETTINGS)] == ["keep"]


def test_other_settings_are_read_with_their_own_accountable_people():
    issue = Issue(key="OPS-2", assignee="ana", comments=[Comment("lee", AT, "Review: renew")])
    assert reviews(issue, SETTINGS) == ()
    assert [r.author for r in reviews(issue, {"leads": ["lee"]})] == ["lee"]


def test_records_cannot_be_changed_by_whoever_reads_them():
    issue = _issue("Exempt until 2026-12-15: freeze")
    assert isinstance(exemptions(issue, SETTINGS), tuple) and isinstance(demos(issue), tuple)
