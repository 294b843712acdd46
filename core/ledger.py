"""The ledger: one answer, for every tracker, to "what has Steward already done on this issue?".

Exactly-once rests on it. An adapter supplies the raw material it read (the issue's comments, its history,
its current labels, assignees and state, and any markers the tracker stores beside the comments, such as a
Jira entity property or the files board's `markers` list) and the identity Steward writes as. The ledger
says which comments are Steward's own, which ladder steps are already taken, and which steps are
unfinished: their comment landed but the changes it announces never reached the issue (a run that died
between the two requests GitHub needs), so the next `apply` completes them without posting the comment
again. The planner then reads `Issue.markers` and `Issue.unfinished`, never a tracker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .markers import dedupe, find_changes, find_markers
from .model import Change, Comment, FieldValue, Issue, Marker

log = logging.getLogger("steward.ledger")


class Identity:
    """Who Steward writes as on a tracker: every id its comments carry as author (login, accountId, name).

    `Identity.later(resolve)` learns it on first use, so a run whose issues carry no marked comment never
    spends the request that asks the tracker who Steward is.
    """

    def __init__(self, authors: Iterable[str | None] = (), resolve: Callable[[], Iterable[str | None]] | None = None):
        self._authors = None if resolve else frozenset(a for a in authors if a)
        self._resolve = resolve

    @classmethod
    def of(cls, *authors: str | None) -> Identity:
        return cls(authors)

    @classmethod
    def later(cls, resolve: Callable[[], Iterable[str | None]]) -> Identity:
        return cls(resolve=resolve)

    @property
    def authors(self) -> frozenset[str]:
        if self._authors is None:
            assert self._resolve is not None
            self._authors = frozenset(a for a in self._resolve() if a)
        return self._authors

    def wrote(self, author: str | None) -> bool:
        return author is not None and author in self.authors

    def __repr__(self) -> str:
        return f"Identity({sorted(self._authors) if self._authors is not None else 'not yet asked'})"


@dataclass
class Ledger:
    comments: list[Comment]  # the issue's comments, Steward's own flagged `by_steward`
    changes: list[Change]  # the issue's history, the changes Steward's own writes made flagged `by_steward`
    taken: list[Marker]  # steps already taken, one marker per (rule, level), in time order
    unfinished: list[Marker]  # steps whose comment landed but whose announced changes did not


# A change by Steward's identity this close to one of its own marked writes belongs to that write. Anything
# else the same account did (a person running Steward with their own token) is a person's work.
SAME_WRITE = timedelta(minutes=2)


def read(key: str, comments: Iterable[Comment], identity: Identity | None, *, stored: Iterable[Marker] = (),
         changes: Iterable[Change] = (), labels: Iterable[str] = (), assignees: Iterable[str] = (),
         state: str | None = None, fields: Mapping[str, FieldValue] | None = None) -> Ledger:
    """The ledger of one issue from what its tracker holds.

    Only Steward's own writes are state. A comment is Steward's own when it carries a marker (or footer) and
    was written by `identity`: a marker a person pasted, or a person quoting Steward's comment, is a person's
    comment. `stored` markers are the tracker's own record of Steward's steps (a Jira entity property, the
    files board's `markers` list), which only an API client such as Steward writes; they count as taken.
    With no identity (an adapter that cannot tell) every marked comment counts, as before identities.
    """
    history = list(changes)
    label_set = {label.casefold() for label in labels}
    assignee_set = set(assignees)
    parsed, taken, unfinished = [], list(stored), []
    for comment in comments:
        found = find_markers(comment.body, comment.created)
        own = bool(found) and (identity is None or identity.wrote(comment.author))
        parsed.append(replace(comment, by_steward=own) if own != comment.by_steward else comment)
        if not own:
            continue
        if _unfinished(comment, history, label_set, assignee_set, state, fields or {}):
            unfinished += found
        else:
            taken += found
    if unfinished:
        log.info("%s: step(s) %s were interrupted after their comment; finishing them", key,
                 ", ".join(f"{m.rule}@{m.level}" for m in unfinished))
    writes = [c.created for c in parsed if c.by_steward] + [m.at for m in taken + unfinished]
    flagged = [replace(c, by_steward=True) if _part_of(c, writes, identity) else c for c in history]
    return Ledger(comments=parsed, changes=flagged, taken=dedupe(taken), unfinished=dedupe(unfinished))


def _part_of(change: Change, writes: list[datetime], identity: Identity | None) -> bool:
    """Whether a change was made by one of Steward's own writes."""
    if not writes or identity is None or not any(abs(change.at - at) <= SAME_WRITE for at in writes):
        return False
    return identity.wrote(change.author)


def settle(issue: Issue, identity: Identity | None, *, stored: Iterable[Marker] = (),
           assignees: Iterable[str] | None = None) -> Issue:
    """Fill an issue's `comments`, `markers` and `unfinished` from its ledger; returns the issue."""
    ledger = read(issue.key, issue.comments, identity, stored=stored, changes=issue.changes, labels=issue.labels,
                  assignees=assignees if assignees is not None else [issue.assignee] if issue.assignee else [],
                  state=issue.status, fields=issue.fields)
    issue.comments, issue.changes = ledger.comments, ledger.changes
    issue.markers, issue.unfinished = ledger.taken, ledger.unfinished
    return issue


def _unfinished(comment: Comment, history: list[Change], labels: set[str], assignees: set[str],
                state: str | None, fields: Mapping[str, FieldValue]) -> bool:
    """Whether a Steward comment announces changes that never reached the issue (the run died after it).

    A change counts as made when the issue shows it now or when anything happened to that label, assignee
    or state since the comment: a person may have undone it, and Steward must not redo it.
    """
    changes = find_changes(comment.body)
    if changes is None:
        return False
    since = [c for c in history if c.at >= comment.created]
    # Trackers may match label names regardless of case: adding `escalated` may apply an existing `Escalated`.
    labels_touched = {_touched(c).casefold() for c in since if c.field == "labels"}
    assignees_touched = {_touched(c) for c in since if c.field == "assignee"}
    wanted = [str(label).casefold() for label in _list(changes.get("add"))]
    unwanted = [str(label).casefold() for label in _list(changes.get("remove"))]
    if any(label not in labels and label not in labels_touched for label in wanted):
        return True
    if any(label in labels and label not in labels_touched for label in unwanted):
        return True
    if any(login not in assignees and login not in assignees_touched for login in _list(changes.get("assign"))):
        return True
    target = changes.get("state")
    if target and state != target and not any(c.field == "status" for c in since):
        return True
    # A field set since the comment (by this step, or by a person after it) is done; the tracker says when.
    return any(not _set_since(fields.get(str(name)), value, comment.created)
               for name, value in (changes.get("set") or {}).items())


def _set_since(field: FieldValue | None, value: Any, since: datetime) -> bool:
    if field is None:
        return False
    if field.updated is not None:
        return field.updated >= since
    current = field.value.date().isoformat() if isinstance(field.value, datetime) else field.value
    return current == value


def _touched(change: Change) -> str:
    return change.to_value or change.from_value or ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
