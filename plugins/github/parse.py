"""GitHub's JSON as model issues, from GraphQL nodes or REST items and their timelines.

Issue keys are `#123`; `Issue.project` is `OWNER/REPO`. Status is `open` or `closed` (status category `todo`
or `done`); `extra["state_reason"]` keeps GitHub's reason. Priority is a label family (default prefix
`priority:`, see `priority_of`). The due date is the milestone's due date, where there is one. Which comments
and markers are Steward's own is the ledger's decision (core/ledger.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from steward.core.ledger import Identity, settle
from steward.core.model import Change, Comment, FieldValue, Issue, Related
from steward.core.timeutil import parse_time

DEFAULT_PRIORITY_PREFIX = "priority:"
ACTIONS_LOGINS = ("github-actions[bot]",)  # the login a workflow's GITHUB_TOKEN writes as


def priority_of(label: str, prefix: str) -> str | None:
    """The priority a label stands for, or None when it is not of the priority family.

    With a prefix ending in a separator (`priority:`, `prio/`, `P-`) the value is the rest, stripped:
    `priority: high` is `high`. With a prefix ending in a letter or digit (`P`), the rest must start with a
    digit and the value is the whole label: `P1` is `P1`, and `Performance` is not a priority.
    """
    if not prefix or not label.startswith(prefix) or len(label) == len(prefix):
        return None
    rest = label[len(prefix):]
    if prefix[-1].isalnum():
        return label if rest[0].isdigit() else None
    rest = rest.strip()
    return rest or None


def login(value: Any) -> str | None:
    if isinstance(value, dict):
        login = value.get("login")
        return str(login) if login else None
    return None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _id(value: Any) -> str | None:
    """A comment id as text: GraphQL sends a BigInt as a string, REST a number."""
    return str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value) else None


@dataclass
class Event:
    """One history item, tracker-neutral enough for both GraphQL and REST reads."""

    kind: str  # comment, labeled, unlabeled, assigned, unassigned, renamed, closed, reopened
    actor: str | None
    at: datetime
    value: str | None = None
    previous: str | None = None
    id: str | None = None  # a comment's id (REST `id`, GraphQL `fullDatabaseId`): what edits and deletes name


def graphql_event(node: dict[str, Any]) -> Event | None:
    kind = {"IssueComment": "comment", "LabeledEvent": "labeled", "UnlabeledEvent": "unlabeled",
            "AssignedEvent": "assigned", "UnassignedEvent": "unassigned", "RenamedTitleEvent": "renamed",
            "ClosedEvent": "closed", "ReopenedEvent": "reopened"}.get(node.get("__typename", ""))
    at = _time(node.get("createdAt"))
    if kind is None or at is None:
        return None
    if kind == "comment":
        return Event(kind, login(node.get("author")), at, node.get("body") or "", id=_id(node.get("fullDatabaseId")))
    actor = login(node.get("actor"))
    if kind in ("labeled", "unlabeled"):
        name = (node.get("label") or {}).get("name")
        return Event(kind, actor, at, name) if name else None
    if kind in ("assigned", "unassigned"):
        return Event(kind, actor, at, login(node.get("assignee")))
    if kind == "renamed":
        return Event(kind, actor, at, node.get("currentTitle"), node.get("previousTitle"))
    if kind == "closed":
        return Event(kind, actor, at, (node.get("stateReason") or "").lower() or None)
    return Event(kind, actor, at)


def rest_event(item: dict[str, Any]) -> Event | None:
    kind = {"commented": "comment", "labeled": "labeled", "unlabeled": "unlabeled", "assigned": "assigned",
            "unassigned": "unassigned", "renamed": "renamed", "closed": "closed",
            "reopened": "reopened"}.get(item.get("event", ""))
    at = _time(item.get("created_at"))
    if kind is None or at is None:
        return None
    if kind == "comment":
        return Event(kind, login(item.get("user")) or login(item.get("actor")), at, item.get("body") or "",
                     id=_id(item.get("id")))
    actor = login(item.get("actor"))
    if kind in ("labeled", "unlabeled"):
        name = (item.get("label") or {}).get("name")
        return Event(kind, actor, at, name) if name else None
    if kind in ("assigned", "unassigned"):
        return Event(kind, actor, at, login(item.get("assignee")))
    if kind == "renamed":
        rename = item.get("rename") or {}
        return Event(kind, actor, at, rename.get("to"), rename.get("from"))
    if kind == "closed":
        return Event(kind, actor, at, item.get("state_reason"))
    return Event(kind, actor, at)


@dataclass
class RawIssue:
    number: int
    url: str | None
    title: str
    body: str
    state: str
    state_reason: str | None
    created: datetime | None
    updated: datetime | None
    author: str | None
    type: str | None
    labels: list[str]
    assignees: list[str]
    due: datetime | None
    milestone: str | None
    events: list[Event] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # display names by login (GraphQL: users who set one)
    repo: str | None = None  # OWNER/NAME when GitHub said (search results, sub-issues elsewhere)
    parent: Related | None = None
    children: list[Related] = field(default_factory=list)
    fields: dict[str, FieldValue] = field(default_factory=dict)


def related(node: Any, repo: str) -> Related | None:
    """A parent or sub-issue as the sweep reads it: `#N` in the same repository, `OWNER/NAME#N` elsewhere."""
    if not isinstance(node, dict) or node.get("number") is None:
        return None
    where = (node.get("repository") or {}).get("nameWithOwner") or repo
    key = f"#{node['number']}" if where.casefold() == repo.casefold() else f"{where}#{node['number']}"
    owners = [n["login"] for n in (node.get("assignees") or {}).get("nodes") or [] if n and n.get("login")]
    return Related(key, "done" if str(node.get("state") or "").upper() == "CLOSED" else "todo",
                   owners[0] if owners else None)


def raw_from_graphql(node: dict[str, Any], repo: str = "") -> RawIssue:
    """`repo`: the repository whose issues are keyed `#N`; "" keys every issue `OWNER/NAME#N` (org sweeps)."""
    milestone = node.get("milestone") or {}
    where = (node.get("repository") or {}).get("nameWithOwner") or repo
    children = [related(n, repo) for n in (node.get("subIssues") or {}).get("nodes") or []]
    return RawIssue(
        number=int(node["number"]), url=node.get("url"), title=node.get("title") or "",
        body=node.get("body") or "", state=(node.get("state") or "OPEN").lower(),
        state_reason=(node.get("stateReason") or "").lower() or None,
        created=_time(node.get("createdAt")), updated=_time(node.get("updatedAt")),
        author=login(node.get("author")), type=(node.get("issueType") or {}).get("name"),
        labels=[n["name"] for n in (node.get("labels") or {}).get("nodes") or [] if n and n.get("name")],
        assignees=[n["login"] for n in (node.get("assignees") or {}).get("nodes") or [] if n and n.get("login")],
        due=_time(milestone.get("dueOn")), milestone=milestone.get("title"), repo=where or None,
        names=_names([node.get("author"), *((node.get("assignees") or {}).get("nodes") or [])]),
        parent=related(node.get("parent"), repo), children=[c for c in children if c is not None],
    )


def _names(people: list[Any]) -> dict[str, str]:
    """Display names by login, of the people who set one (others are shown by their login)."""
    return {str(p["login"]): p["name"].strip() for p in people if isinstance(p, dict) and p.get("login")
            and isinstance(p.get("name"), str) and p["name"].strip()}


def raw_from_rest(item: dict[str, Any]) -> RawIssue:
    milestone = item.get("milestone") or {}
    issue_type = item.get("type")
    return RawIssue(
        number=int(item["number"]), url=item.get("html_url"), title=item.get("title") or "",
        body=item.get("body") or "", state=(item.get("state") or "open").lower(),
        state_reason=item.get("state_reason"), created=_time(item.get("created_at")),
        updated=_time(item.get("updated_at")), author=login(item.get("user")),
        type=issue_type.get("name") if isinstance(issue_type, dict) else None,
        labels=[label["name"] for label in item.get("labels") or [] if isinstance(label, dict) and label.get("name")],
        assignees=[a["login"] for a in item.get("assignees") or [] if isinstance(a, dict) and a.get("login")],
        due=_time(milestone.get("due_on")), milestone=milestone.get("title"),
    )


def build_issue(raw: RawIssue, repo: str, prefix: str, identity: Identity | None = None) -> Issue:
    """The tracker-neutral issue: comments, one Change per label, priority changes from the label family.

    `extra["comment_ids"]` holds each comment's id, in the order of `comments`: the ids Steward needs to edit
    or delete one of its own comments."""
    comments: list[Comment] = []
    comment_ids: list[str | None] = []
    changes: list[Change] = []
    family: list[str] = []  # priority labels present while replaying the history, oldest first
    for event in sorted(raw.events, key=lambda e: e.at):
        if event.kind == "comment":
            body = event.value or ""
            comments.append(Comment(author=event.actor, created=event.at, body=body))
            comment_ids.append(event.id)
        elif event.kind in ("labeled", "unlabeled"):
            name = event.value or ""
            added = event.kind == "labeled"
            changes.append(Change("labels", None if added else name, name if added else None, event.actor, event.at))
            value = priority_of(name, prefix)
            if value is not None:
                before = family[-1] if family else None
                if added:
                    family = [v for v in family if v != value] + [value]
                    changes.append(Change("priority", before, value, event.actor, event.at))
                else:
                    family = [v for v in family if v != value]
                    changes.append(Change("priority", value, family[-1] if family else None, event.actor, event.at))
        elif event.kind == "assigned":
            changes.append(Change("assignee", None, event.value, event.actor, event.at))
        elif event.kind == "unassigned":
            changes.append(Change("assignee", event.value, None, event.actor, event.at))
        elif event.kind == "closed":
            changes.append(Change("status", "open", "closed", event.actor, event.at))
        elif event.kind == "reopened":
            changes.append(Change("status", "closed", "open", event.actor, event.at))
        elif event.kind == "renamed":
            changes.append(Change("title", event.previous, event.value, event.actor, event.at))
    current = [v for v in (priority_of(label, prefix) for label in raw.labels) if v is not None]
    issue = Issue(
        key=f"#{raw.number}", url=raw.url, tracker=f"github:{repo}", project=repo, title=raw.title,
        body=raw.body, type=raw.type, status=raw.state,
        status_category="done" if raw.state == "closed" else "todo",
        priority=current[0] if current else None, labels=list(raw.labels),
        assignee=raw.assignees[0] if raw.assignees else None, reporter=raw.author,
        created=raw.created, updated=raw.updated, due=raw.due, comments=comments, changes=changes,
        people=dict(raw.names),
        milestone=raw.milestone, parent=raw.parent, children=list(raw.children), fields=dict(raw.fields),
        extra={"number": raw.number, "assignees": list(raw.assignees), "state_reason": raw.state_reason,
               "milestone": raw.milestone, "comment_ids": comment_ids},
    )
    return settle(issue, identity, assignees=raw.assignees)
