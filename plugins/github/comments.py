"""Steward's own comments on GitHub after they are written: what a later edit changes in them, and which one of
two copies of a step stays.

A step's comment is its record (core/markers.py), so what happens after it is recorded there too:
- Steward's own actions (a plugin's) run after the comment landed; each one that ran is taken out of the
  marker's `pending` list, so no later run runs it again (`with_pending`).
- GitHub answers 201 to an assignee without push access but assigns nobody. The step's changes note then stops
  announcing that assignment (`without_assignment`): else the ledger would see the step as unfinished, and
  every later run would send it again.
- Two runs that took the same step at the same moment (a sweep and an event) each wrote a comment: the
  earliest stays and the later ones go (`later_copies`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from steward.core.ledger import Identity
from steward.core.markers import find_changes, find_markers, format_changes, format_marker
from steward.core.model import Issue
from steward.core.timeutil import parse_time

from .parse import login

_MARKER_TEXT = re.compile(r"<!--\s*steward:marker\s[^>]*-->")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_CHANGES_TEXT = re.compile(r"(?:\n\n)?<!--\s*steward:changes\s+\{.*?\}\s*-->")


@dataclass(frozen=True)
class PostedComment:
    """One comment as GitHub holds it: its id (what an edit or a delete names), author, time and body."""

    id: str
    author: str | None
    created: datetime | None
    body: str

    @property
    def order(self) -> tuple[datetime, int]:
        # GitHub's times have whole seconds; its comment ids grow with time and break the tie.
        return self.created or _EPOCH, int(self.id) if self.id.isdigit() else 0


def from_rest(item: dict[str, Any]) -> PostedComment | None:
    """A comment from a REST answer (`POST …/comments`, `GET …/comments`), or None without an id."""
    if not isinstance(item, dict) or item.get("id") is None:
        return None
    try:
        created = parse_time(item["created_at"]) if item.get("created_at") else None
    except ValueError:
        created = None
    return PostedComment(str(item["id"]), login(item.get("user")), created, str(item.get("body") or ""))


def from_graphql(node: dict[str, Any]) -> PostedComment | None:
    """A comment from a GraphQL `IssueComment` node selecting `fullDatabaseId author createdAt body`."""
    if not isinstance(node, dict) or not node.get("fullDatabaseId"):
        return None
    try:
        created = parse_time(node["createdAt"]) if node.get("createdAt") else None
    except ValueError:
        created = None
    return PostedComment(str(node["fullDatabaseId"]), login(node.get("author")), created, str(node.get("body") or ""))


def own_step_comment(issue: Issue, rule: str, level: int) -> PostedComment | None:
    """The earliest of Steward's own comments (as the ledger judged them) that marks this step, from a read."""
    ids = issue.extra.get("comment_ids") or []
    for index, comment in enumerate(issue.comments):
        if not comment.by_steward or index >= len(ids) or not ids[index]:
            continue
        if any((m.rule, m.level) == (rule, level) for m in find_markers(comment.body)):
            return PostedComment(ids[index], comment.author, comment.created, comment.body)
    return None


def with_pending(body: str, rule: str, level: int, pending: tuple[str, ...]) -> str | None:
    """The body with the step's marker listing only `pending` as still to run; None when it has no such marker."""
    for match in _MARKER_TEXT.finditer(body):
        found = find_markers(match.group(0))
        if found and (found[0].rule, found[0].level) == (rule, level):
            return body[:match.start()] + format_marker(replace(found[0], pending=pending)) + body[match.end():]
    return None


def without_assignment(body: str, assignee: str) -> str:
    """The body whose changes note no longer announces assigning `assignee` (no note when nothing is left)."""
    changes = find_changes(body)
    if changes is None or assignee not in (changes.get("assign") or []):
        return body
    rest = [x for x in changes["assign"] if x != assignee]
    changes = {k: v for k, v in changes.items() if k != "assign"} | ({"assign": rest} if rest else {})
    note = f"\n\n{format_changes(changes)}" if changes else ""
    return _CHANGES_TEXT.sub(lambda _: note, body, count=1)


def later_copies(comments: list[PostedComment], identity: Identity | None) -> tuple[
        dict[tuple[str, int], PostedComment], list[PostedComment]]:
    """Per step, the earliest of Steward's comments that took it; and Steward's comments whose every step an
    earlier comment had taken already (the copies to delete). Only Steward's own comments count: a person's
    comment that quotes a marker is neither kept nor deleted."""
    marked = [(c, find_markers(c.body)) for c in comments]
    own = sorted(((c, markers) for c, markers in marked
                  if markers and (identity is None or identity.wrote(c.author))), key=lambda pair: pair[0].order)
    kept: dict[tuple[str, int], PostedComment] = {}
    later = []
    for comment, markers in own:
        steps = [(m.rule, m.level) for m in markers]
        if all(step in kept for step in steps):
            later.append(comment)
            continue
        for step in steps:
            kept.setdefault(step, comment)
    return kept, later
