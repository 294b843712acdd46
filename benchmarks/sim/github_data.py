"""The GitHub simulator's data: the repository's issues, generated from a seed, and GitHub's shapes of users.

`generate(seed, number, ...)` gives the same issue for the same seed: an issue's history in the default
pack's vocabulary (labels, assignments, comments, earlier Steward steps). benchmarks/sim/github.py serves them.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from steward.core.markers import format_marker
from steward.core.model import Marker

from .server import Request, Response

SIM_NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)  # run Steward with --now at this time
OWNER, NAME = "octo-org", "governance"
VIEWER = "steward-bot"  # the login the token belongs to: every write is made as this user
USERS = ("aisha-khan", "tom-becker", "li-wei", "maria-garcia", "sam-okafor", "noor-haddad")
# Display names (GraphQL `User.name`); noor-haddad set none, so Steward shows the login.
NAMES = {"aisha-khan": "Aisha Khan", "tom-becker": "Tom Becker", "li-wei": "Li Wei", "maria-garcia": "María García",
         "sam-okafor": "Sam Okafor", "noor-haddad": None}
CLASSES = ("strategic", "operational", "tactical")
PRIORITIES = ("priority: high", "priority: medium", "priority: low")
DOCS = "https://docs.github.com/rest"

READ_KINDS = ("graphql_sweep", "graphql_search", "graphql_issue", "graphql_timeline", "graphql_recheck",
              "graphql_reconcile", "graphql_project", "rest_issues", "rest_issue",
              "rest_comments", "rest_timeline", "rest_events", "rest_labels", "rest_user")
WRITE_KINDS = ("graphql_field_update", "graphql_item_add",
               "rest_comment_create", "rest_label_add", "rest_label_remove", "rest_label_create", "rest_assign",
               "rest_issue_update", "rest_comment_edit", "rest_comment_delete", "rest_issue_create")
TIMELINE_TYPENAMES = {"comment": "IssueComment", "labeled": "LabeledEvent", "unlabeled": "UnlabeledEvent",
                      "assigned": "AssignedEvent", "unassigned": "UnassignedEvent",
                      "renamed": "RenamedTitleEvent", "closed": "ClosedEvent", "reopened": "ReopenedEvent"}
ITEM_TYPES = {"comment": "ISSUE_COMMENT", "labeled": "LABELED_EVENT", "unlabeled": "UNLABELED_EVENT",
              "assigned": "ASSIGNED_EVENT", "unassigned": "UNASSIGNED_EVENT", "renamed": "RENAMED_TITLE_EVENT",
              "closed": "CLOSED_EVENT", "reopened": "REOPENED_EVENT"}  # GraphQL `itemTypes` enum values
REST_EVENT_NAMES = {"comment": "commented"}  # every other kind is its own REST `event` name


def stamp(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def cursor(value: Any) -> str:
    return base64.b64encode(json.dumps(["cursor:v2", value]).encode()).decode()


def uncursor(text: str | None) -> Any:
    if not text:
        return None
    return json.loads(base64.b64decode(text))[1]


@dataclass
class Event:
    """One timeline item. `raw`, when given, is served verbatim as the GraphQL node (odd-input tests)."""

    id: int
    kind: str  # comment, labeled, unlabeled, assigned, unassigned, renamed, closed, reopened
    actor: str | None
    at: datetime
    label: str | None = None
    assignee: str | None = None
    body: str | None = None
    previous: str | None = None
    current: str | None = None
    state_reason: str | None = None  # completed, not_planned (closed events)
    raw: dict[str, Any] | None = None
    edited: datetime | None = None  # a comment's last edit


@dataclass
class SimIssue:
    number: int
    title: str | None
    body: str | None
    created: datetime
    updated: datetime
    author: str | None = None
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    issue_type: str | None = None
    milestone: tuple[str, datetime | None] | None = None  # title, due date
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # served as-is in GraphQL nodes and REST items
    parent: int | None = None  # the parent issue's number (sub-issues)

    def event(self, kind: str, actor: str | None, at: datetime, **values: Any) -> Event:
        # Ids only grow, as on GitHub, even once a comment was deleted; the issue's number is in them.
        ident = max((e.id for e in self.events), default=self.number * 1_000_000 - 1) + 1
        item = Event(ident, kind, actor, at, **values)
        self.events.append(item)
        return item


def generate(seed: int, number: int, total: int, violation_rate: float, long_share: float = 0.0) -> SimIssue:
    """Issue `number` of a repository of `total`: a realistic history in the default pack's vocabulary.

    `violation_rate` is about the share of issues that break a governance rule; `long_share` the share with
    a long discussion (120 more comments: more than one timeline page). Creation times rise with the number,
    as on GitHub, so ordering by CREATED_AT is ordering by number.
    """
    rng = random.Random(f"{seed}:{number}")
    bad = rng.random() < violation_rate
    span = 150 * 86400
    created = SIM_NOW - timedelta(seconds=span) + timedelta(seconds=int(span * (number - 1) / max(total, 1)))
    author = rng.choice(USERS)
    kind = rng.choices(("plain", "exception", "decision", "initiative", "approval", "blocked"),
                       (64, 8, 8, 6, 6, 8))[0]
    issue = SimIssue(number=number, title=f"{kind.capitalize()} {number}: {rng.choice(('VPN', 'billing', 'CI'))}",
                     body=f"Context for {kind} {number}.", created=created, updated=created, author=author)
    age = (SIM_NOW - created).total_seconds()

    def when(low: float, high: float) -> datetime:  # a time between these fractions of the issue's life
        return created + timedelta(seconds=int(age * rng.uniform(low, high)))

    def label(name: str, at: datetime, actor: str | None = None) -> None:
        issue.labels.append(name)
        issue.event("labeled", actor or author, at, label=name)

    def comment(actor: str, at: datetime, text: str) -> None:
        issue.event("comment", actor, at, body=text)

    def steward_step(rule: str, level: int, days_ago: int, added: str) -> None:  # what an earlier run wrote
        at = SIM_NOW - timedelta(days=days_ago)
        if at > created:
            marker = format_marker(Marker(rule=rule, level=level, at=at))
            comment(VIEWER, at, f"Steward asked for this {days_ago} days ago.\n\n{marker}")
            label(added, at + timedelta(seconds=1), VIEWER)

    if not bad or rng.random() < 0.5:
        label(rng.choice(CLASSES), created)
        if rng.random() < 0.05:  # classified after Steward asked: the next run takes its label back
            steward_step("unclassified-work", 1, 40, "needs-classification")
    if kind in ("exception", "decision", "approval"):
        label({"exception": "exception", "decision": "decision", "approval": "temporary-approval"}[kind], created)
        if not bad or kind == "approval" or rng.random() < 0.4:
            due = SIM_NOW + timedelta(days=rng.randint(5, 60)) if not bad else SIM_NOW - timedelta(days=3)
            issue.milestone = (f"Review {due:%Y-%m}", due)
        if kind == "exception" and bad and rng.random() < 0.3:  # step 1 a while ago: step 2 is due now
            steward_step("unowned-exception", 1, 9, "needs-owner")
    elif kind == "initiative":
        issue.issue_type = "Initiative"
        if not bad:
            issue.body += "\nSuccess metric: staging cost down 30%."
    elif kind == "blocked":
        label("blocked", when(0.0, 0.2))
        if not bad or rng.random() < 0.5:  # escalated; when bad, nobody followed up since
            label("escalated", when(0.3, 0.5), rng.choice(USERS))
            if not bad:
                comment(rng.choice(USERS), when(0.9, 0.99), "Vendor replied; unblocking next week.")
    if not bad or (kind != "exception" and rng.random() < 0.5):
        assignee = rng.choice(USERS)
        issue.assignees.append(assignee)
        issue.event("assigned", author, when(0.0, 0.3), assignee=assignee)
    if rng.random() < 0.4:  # a priority label, changed recently, with or without a rationale
        at = SIM_NOW - timedelta(days=rng.randint(2, 25), hours=rng.randint(0, 23))
        changer = rng.choice(USERS)
        if at > created:
            label(rng.choice(PRIORITIES), at, changer)
            if not bad:
                comment(changer, at + timedelta(hours=2), "Raising this: two customers are affected.")
    for _ in range(rng.randint(0, 4)):
        comment(rng.choice(USERS), when(0.05, 0.25 if kind == "blocked" and bad else 0.95),
                rng.choice(("Looking into it.", "Any update?", "Done here.")))
    if rng.random() < long_share:
        for i in range(120):
            comment(rng.choice(USERS), when(0.1 + i / 200, 0.1 + i / 200), f"Thread reply {i}.")
    if rng.random() < 0.1:
        previous = issue.title
        issue.title = f"{issue.title} (renamed)"
        issue.event("renamed", author, when(0.1, 0.2), previous=previous, current=issue.title)
    if rng.random() < 0.08:
        issue.state, issue.state_reason = "closed", "completed"
        issue.closed_at = when(0.95, 1.0)
        issue.event("closed", author, issue.closed_at, state_reason="completed")
    issue.events.sort(key=lambda e: e.at)
    for index, item in enumerate(issue.events):  # ids in timeline order
        item.id = number * 1_000_000 + index
    issue.updated = max([created] + [e.at for e in issue.events])
    return issue


def rest_user(login: str | None) -> dict[str, Any] | None:
    if login is None:
        return None
    ident = sum(ord(c) for c in login) * 7919
    base = f"https://api.github.com/users/{login}"
    return {"login": login, "id": ident, "node_id": base64.b64encode(f"04:User{ident}".encode()).decode(),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{ident}?v=4", "gravatar_id": "", "url": base,
            "html_url": f"https://github.com/{login}", "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}", "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs", "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}", "received_events_url": f"{base}/received_events",
            "type": "Bot" if login.endswith("-bot") else "User", "site_admin": False}


def rest_viewer(login: str) -> dict[str, Any]:
    """GET /user: the token's own user, with the profile fields GitHub adds for it (`private-user`)."""
    created = stamp(SIM_NOW - timedelta(days=900))
    return {**rest_user(login), "user_view_type": "private", "name": None, "company": None, "blog": "",
            "location": None, "email": None, "hireable": None, "bio": None, "twitter_username": None,
            "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0, "created_at": created,
            "updated_at": created, "private_gists": 0, "total_private_repos": 0, "owned_private_repos": 0,
            "disk_usage": 0, "collaborators": 0, "two_factor_authentication": True}


def issue_type(name: str) -> dict[str, Any]:
    """A repository's issue type as REST shows it (`issue-type` in GitHub's REST description)."""
    ident = sum(ord(c) for c in name)
    return {"id": ident, "node_id": base64.b64encode(f"IT_{ident}".encode()).decode(), "name": name,
            "description": f"{name} issues", "color": "blue", "created_at": stamp(SIM_NOW - timedelta(days=400)),
            "updated_at": stamp(SIM_NOW - timedelta(days=400)), "is_enabled": True}


def reactions(comment: dict[str, Any]) -> dict[str, Any]:
    return {"url": f"{comment['url']}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
            "confused": 0, "heart": 0, "rocket": 0, "eyes": 0}


def request_json(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        return None


def not_found() -> Response:
    return Response(404, {"message": "Not Found", "documentation_url": DOCS})
