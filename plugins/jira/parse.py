"""Jira's JSON as model issues: fields, Atlassian Document Format text, users, the changelog.

Total on odd data: a missing or null field becomes a missing value, never an error. Which comments and
markers are Steward's own is the ledger's decision (core/ledger.py); this module only supplies them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

from steward.core.ledger import Identity, settle
from steward.core.markers import find_markers, markers_from_json
from steward.core.mentions import scrub
from steward.core.model import Change, Comment, Issue, Marker
from steward.core.timeutil import tracker_time

PROPERTY_KEY = "steward.markers"
# Changelog fields the model keeps, by Jira fieldId (Cloud) or lower-cased `field` (Server may omit fieldId).
HISTORY_FIELD_IDS = {"priority": "priority", "assignee": "assignee", "labels": "labels", "status": "status",
                     "duedate": "due", "due date": "due"}
CHANGELOG_FIELD_IDS = ("assignee", "duedate", "labels", "priority", "status")
STATUS_CATEGORIES = {"new": "todo", "indeterminate": "in_progress", "done": "done"}


class Copy(NamedTuple):
    """One of Steward's comments recording a step: when it was posted, its id, the run that wrote it."""

    created: datetime
    order: int  # the comment id as a number: Jira hands ids out in order, so it breaks ties in time
    id: str
    run: str | None


_BLOCKS = frozenset(("paragraph", "heading", "listItem", "blockquote", "codeBlock", "panel", "tableRow"))
_ATTR_TEXT = frozenset(("mention", "emoji", "status", "date"))
_CARDS = frozenset(("inlineCard", "blockCard", "embedCard"))


class _Close(int):
    """On the work stack: the block whose text began at this output position ends here."""


def adf_text(node: Any) -> str:
    """Plain text of an Atlassian Document Format tree (v3 bodies); strings pass through.

    Walked with a stack, not recursion: a body nested thousands of levels deep is text like any other, and a
    long body costs one pass with no call per node. A block (paragraph, list item, ...) ends with exactly one
    newline."""
    out: list[str] = []
    append = out.append
    work: list[Any] = [node]
    pop, push, extend = work.pop, work.append, work.extend
    while work:
        item = pop()
        cls = type(item)
        if cls is dict:
            kind = item.get("type")
            if kind == "text":
                text = item.get("text")
                append(text if type(text) is str else str(text or ""))
                continue
            if kind == "hardBreak":
                append("\n")
                continue
            if kind == "rule":
                append("----\n")
                continue
            if kind in _ATTR_TEXT or kind in _CARDS:
                attrs = item.get("attrs")
                attrs = attrs if isinstance(attrs, dict) else {}
                if kind in _CARDS:
                    append(str(attrs.get("url") or ""))
                else:
                    append(str(attrs.get("text") or attrs.get("shortName") or attrs.get("timestamp") or ""))
                continue
            if kind in _BLOCKS:
                push(_Close(len(out)))
            content = item.get("content")
            if type(content) is list:
                extend(reversed(content))
            elif content:
                push(content)
        elif cls is str:
            append(item)
        elif cls is list:
            extend(reversed(item))
        elif cls is _Close:
            while len(out) > item and (not out[-1] or out[-1][-1] == "\n"):
                out[-1] = out[-1].rstrip("\n")
                if out[-1]:
                    break
                out.pop()
            append("\n")
        elif item is not None:
            append(str(item))
    return "".join(out)


def _body(value: Any) -> str:
    return adf_text(value).strip()


def user_id(user: Any) -> str | None:
    """Cloud users are `accountId`; Server and Data Center users are `name` (else `key`)."""
    if not isinstance(user, dict):
        return user if isinstance(user, str) and user else None
    for key in ("accountId", "name", "key"):
        value = user.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _name(value: Any) -> str | None:
    value = as_dict(value).get("name")
    return value if isinstance(value, str) and value else None


def _label_set(text: Any) -> set[str]:
    return set(text.split()) if isinstance(text, str) else set()


def history_changes(history: dict[str, Any], key: str) -> list[Change]:
    at = tracker_time(history.get("created"), "change time", key)
    if at is None:
        return []
    author = user_id(history.get("author"))
    changes = []
    for item in history.get("items") or []:
        if not isinstance(item, dict):
            continue
        field_id = item.get("fieldId") or str(item.get("field") or "").lower()
        field = HISTORY_FIELD_IDS.get(str(field_id).lower())
        if field is None:
            continue
        if field == "labels":
            before, after = _label_set(item.get("fromString")), _label_set(item.get("toString"))
            changes += [Change("labels", None, label, author, at) for label in sorted(after - before)]
            changes += [Change("labels", label, None, author, at) for label in sorted(before - after)]
        elif field == "assignee":
            changes.append(Change("assignee", item.get("tmpFromAccountId") or item.get("from"),
                                  item.get("tmpToAccountId") or item.get("to"), author, at))
        elif field == "due":
            changes.append(Change("due", item.get("from"), item.get("to"), author, at))
        else:  # priority and status: the model holds names
            changes.append(Change(field, item.get("fromString"), item.get("toString"), author, at))
    return changes


def history_id(history: dict[str, Any]) -> str:
    ident = history.get("id")
    return str(ident) if ident is not None else json.dumps(history, sort_keys=True)


def add_histories(issue: Issue, seen: set[str], histories: list[Any]) -> None:
    """The changes of the histories `issue` does not have yet; `seen` holds the ids of those it has."""
    for history in histories:
        if isinstance(history, dict) and history_id(history) not in seen:
            seen.add(history_id(history))
            issue.changes += history_changes(history, issue.key)
            note_history_people(issue.people, history)


def note_person(people: dict[str, str], user: Any) -> None:
    """Remember a user's display name by the id the facts hold (Cloud's accountId, Data Center's name)."""
    ident = user_id(user)
    if not ident or ident in people:  # the first name seen for an id is kept: later ones change nothing
        return
    name = as_dict(user).get("displayName")
    if isinstance(name, str) and (name := scrub(name).strip()):
        people[ident] = name


def note_history_people(people: dict[str, str], history: dict[str, Any]) -> None:
    """The author of a change, and the people an assignee change names (its `fromString`/`toString`)."""
    note_person(people, history.get("author"))
    for item in history.get("items") or []:
        item = as_dict(item)
        if str(item.get("fieldId") or item.get("field") or "").lower() == "assignee":
            for ident, name in ((item.get("tmpFromAccountId") or item.get("from"), item.get("fromString")),
                                (item.get("tmpToAccountId") or item.get("to"), item.get("toString"))):
                if isinstance(ident, str) and ident:
                    note_person(people, {"accountId": ident, "displayName": name})


def _comment(raw: Any, key: str) -> Comment | None:
    if not isinstance(raw, dict):
        return None
    created = tracker_time(raw.get("created"), "comment time", key)
    if created is None:
        return None
    return Comment(author=user_id(raw.get("author")), created=created, body=_body(raw.get("body")))


def property_markers(raw: dict[str, Any], key: str) -> list[Marker]:
    """The markers Steward keeps in the issue's entity property (Jira Cloud; Data Center on edit)."""
    value = as_dict(as_dict(raw.get("properties")).get(PROPERTY_KEY))
    return markers_from_json(value.get("markers"), key)


def issue_from_jira(raw: dict[str, Any], base_url: str, histories: list[dict[str, Any]] | None = None,
                    comments: list[dict[str, Any]] | None = None, identity: Identity | None = None,
                    stored: list[Marker] | None = None) -> Issue:
    """One search result as a model Issue, settled by the ledger: `stored` markers are the marker property
    (read from `raw` unless given). Missing or null fields become missing values, never errors."""
    key = str(raw["key"])
    fields = as_dict(raw.get("fields"))
    if histories is None:
        histories = as_dict(raw.get("changelog")).get("histories") or []
    if comments is None:
        comments = as_dict(fields.get("comment")).get("comments") or []
    parsed_comments = [c for c in (_comment(item, key) for item in comments) if c is not None]
    changes = [c for h in histories if isinstance(h, dict) for c in history_changes(h, key)]
    changes.sort(key=lambda c: c.at)  # Cloud sends newest first, Server oldest first
    status = as_dict(fields.get("status"))
    category = as_dict(status.get("statusCategory")).get("key")
    labels = fields.get("labels")
    people: dict[str, str] = {}  # display names, so that nothing people read shows an accountId
    for user in (fields.get("assignee"), fields.get("reporter"),
                 *(as_dict(c).get("author") for c in comments if isinstance(c, dict))):
        note_person(people, user)
    for history in histories:
        if isinstance(history, dict):
            note_history_people(people, history)
    issue = Issue(
        key=key,
        url=f"{base_url}/browse/{key}",
        tracker="jira",
        project=as_dict(fields.get("project")).get("key") or key.rsplit("-", 1)[0],
        title=str(fields.get("summary") or ""),
        body=_body(fields.get("description")),
        type=_name(fields.get("issuetype")),
        status=_name(status),
        status_category=STATUS_CATEGORIES.get(str(category)),
        priority=_name(fields.get("priority")),
        labels=[str(label) for label in labels if label] if isinstance(labels, list) else [],
        assignee=user_id(fields.get("assignee")),
        reporter=user_id(fields.get("reporter")),
        created=tracker_time(fields.get("created"), "created time", key),
        updated=tracker_time(fields.get("updated"), "updated time", key),
        due=tracker_time(fields.get("duedate"), "due date", key),
        comments=sorted(parsed_comments, key=lambda c: c.created),
        changes=changes,
        people=people,
        extra={"id": str(raw.get("id") or "")},
    )
    return settle(issue, identity, stored=property_markers(raw, key) if stored is None else stored)


def step_copies(comments: list[Any], key: str, identity: Identity) -> dict[tuple[str, int], list[Copy]]:
    """Steward's own comments on an issue, by the step their footer names, earliest first (created, then id).
    A comment a person wrote is never a copy, whatever it quotes."""
    copies: dict[tuple[str, int], list[Copy]] = {}
    for raw in comments:
        comment = _comment(raw, key)
        if comment is None or raw.get("id") is None:
            continue
        for marker in find_markers(comment.body, comment.created):
            if identity.wrote(comment.author):
                ident = str(raw["id"])
                copies.setdefault((marker.rule, marker.level), []).append(
                    Copy(comment.created, int(ident) if ident.isdigit() else 0, ident, marker.run))
    for group in copies.values():
        group.sort(key=lambda copy: (copy.created, copy.order))
    return copies


def truncated(container: dict[str, Any], items_key: str) -> bool:
    items = container.get(items_key) or []
    total = container.get("total")
    return isinstance(total, int) and total > len(items)


