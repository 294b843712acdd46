"""A GitHub simulator: the GraphQL issue reads and the REST endpoints Steward uses, on `SimServer`.

It holds one repository with `issues` issues whose history is generated from `seed` (the same seed
always gives the same repository). Issues are generated on demand from (seed, number) and only kept once
something writes to them, so a 100,000-issue repository costs memory only for what changed.

What it serves, shaped like GitHub's answers (tests/sim/test_github_shapes.py compares them with vendor
examples):

- GraphQL (`POST /graphql`, or `/api/graphql` under a GHES prefix): the adapter's three queries, told apart
  by their shape: the sweep (`repository.issues` with cursors, `states`, `filterBy.since` and `orderBy`),
  one issue (`repository.issue`), and the nested timeline page (`issue.timelineItems(after: ...)`). Any
  other query gets a GraphQL error. Cursors are opaque and, as on GitHub, carry the sort key: an issue
  updated during a sweep ordered by UPDATED_AT moves behind the cursor and is returned again.
- REST: list issues (`state`, `sort`, `direction`, `since`, page numbers with a `Link` header), one issue,
  its comments (`since`), timeline and events; repository labels (list, create); issue labels (add,
  remove); comments (create); assignees (add); issue state (PATCH); `GET /user`.

Request kinds (for `SimServer.requests`): see `READ_KINDS` and `WRITE_KINDS`.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote, urlencode

from steward.core.markers import find_markers, format_marker
from steward.core.model import Marker

from .server import Request, Response

SIM_NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)  # run Steward with --now at this time
OWNER, NAME = "octo-org", "governance"
VIEWER = "steward-bot"  # the login the token belongs to: every write is made as this user
USERS = ("aisha-khan", "tom-becker", "li-wei", "maria-garcia", "sam-okafor", "noor-haddad")
CLASSES = ("strategic", "operational", "tactical")
PRIORITIES = ("priority: high", "priority: medium", "priority: low")
DOCS = "https://docs.github.com/rest"

READ_KINDS = ("graphql_sweep", "graphql_issue", "graphql_timeline", "graphql_recheck", "graphql_reconcile",
              "rest_issues", "rest_issue", "rest_comments", "rest_timeline", "rest_events", "rest_labels", "rest_user")
WRITE_KINDS = ("rest_comment_create", "rest_label_add", "rest_label_remove", "rest_label_create", "rest_assign",
               "rest_issue_update", "rest_comment_edit", "rest_comment_delete")
TIMELINE_TYPENAMES = {"comment": "IssueComment", "labeled": "LabeledEvent", "unlabeled": "UnlabeledEvent",
                      "assigned": "AssignedEvent", "unassigned": "UnassignedEvent",
                      "renamed": "RenamedTitleEvent", "closed": "ClosedEvent", "reopened": "ReopenedEvent"}
ITEM_TYPES = {"comment": "ISSUE_COMMENT", "labeled": "LABELED_EVENT", "unlabeled": "UNLABELED_EVENT",
              "assigned": "ASSIGNED_EVENT", "unassigned": "UNASSIGNED_EVENT", "renamed": "RENAMED_TITLE_EVENT",
              "closed": "CLOSED_EVENT", "reopened": "REOPENED_EVENT"}  # GraphQL `itemTypes` enum values
REST_EVENT_NAMES = {"comment": "commented"}  # every other kind is its own REST `event` name


def stamp(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


def _parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _cursor(value: Any) -> str:
    return base64.b64encode(json.dumps(["cursor:v2", value]).encode()).decode()


def _uncursor(text: str | None) -> Any:
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


# ------------------------------------------------------------------------------------------- shapes


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


class GitHubSim:
    """The simulator App. State is read through `issue`, `comments`, `labels` and `snapshot`."""

    def __init__(self, issues: int = 50, seed: int = 0, *, violation_rate: float = 0.4, long_share: float = 0.0,
                 owner: str = OWNER, name: str = NAME, issue_types: bool = True):
        self.total = issues
        self.seed = seed
        self.violation_rate = violation_rate
        self.long_share = long_share
        self.owner, self.name = owner, name
        self.issue_types = issue_types  # False: an older GHES whose schema has no `issueType`
        self.clock = SIM_NOW  # writes happen at this time, one second apart, so runs are reproducible
        self.collaborators = set(USERS) | {VIEWER}  # who has push access: only they can be assigned
        self.deleted: list[tuple[int, Event]] = []  # comments deleted, with their issue's number, oldest first
        self.changed: dict[int, SimIssue] = {}  # issues written to (or added), kept; the rest is generated
        self.added: set[int] = set()  # numbers outside 1..issues, added by hand
        self._index: dict[int, tuple[str, datetime, datetime]] = {}
        self.repo_labels: dict[str, dict[str, Any]] = {}
        for index, name_ in enumerate(CLASSES + ("exception", "decision", "temporary-approval", "blocked",
                                                 "escalated", "bug") + PRIORITIES):
            self.repo_labels[name_] = {"id": 1000 + index, "name": name_, "color": "d73a4a", "description": None,
                                       "default": name_ == "bug"}

    # -- state

    def issue(self, number: int) -> SimIssue | None:
        if number in self.changed:
            return self.changed[number]
        if 1 <= number <= self.total:
            return generate(self.seed, number, self.total, self.violation_rate, self.long_share)
        return None

    def numbers(self) -> list[int]:
        return sorted(set(range(1, self.total + 1)) | set(self.changed))

    def add(self, issue: SimIssue) -> None:
        """Put a hand-made issue in the repository (odd-input tests)."""
        self.changed[issue.number] = issue
        if not 1 <= issue.number <= self.total:
            self.added.add(issue.number)

    def _mutable(self, number: int) -> SimIssue | None:
        issue = self.issue(number)
        if issue is not None:
            self.changed[number] = issue
        return issue

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def touch(self, number: int, actor: str = "li-wei", text: str = "Status: still on it.") -> None:
        """A person comments on an issue now (incremental-run tests)."""
        issue = self._mutable(number)
        assert issue is not None
        issue.event("comment", actor, self.tick(), body=text)
        issue.updated = self.clock

    def comments(self, number: int) -> list[str]:
        issue = self.issue(number)
        return [e.body or "" for e in issue.events if e.kind == "comment"] if issue else []

    def labels(self, number: int) -> list[str]:
        issue = self.issue(number)
        return list(issue.labels) if issue else []

    def snapshot(self) -> dict[int, dict[str, Any]]:
        """What Steward can have changed, per issue it touched: labels, assignees, state, comment bodies. Each
        run writes its own id into its markers (`run=...`): the bodies are shown without it, so two runs that
        wrote the same comments compare equal."""
        return {n: {"labels": sorted(i.labels), "assignees": sorted(i.assignees), "state": i.state,
                    "comments": [_RUN_ID.sub("", e.body or "") for e in i.events if e.kind == "comment"]}
                for n, i in sorted(self.changed.items())}

    def steward_comments(self, number: int) -> list[str]:
        """The bodies of Steward's own comments on an issue (the ones its login wrote)."""
        issue = self.issue(number)
        return [e.body or "" for e in (issue.events if issue else []) if e.kind == "comment" and e.actor == VIEWER]

    def steward_markers(self, number: int) -> list[Marker]:
        """The markers in Steward's own comments on an issue, in comment order."""
        return [m for body in self.steward_comments(number) for m in find_markers(body)]

    # -- App protocol

    def _route(self, request: Request) -> tuple[str, list[str]]:
        path = request.path
        for prefix in ("/api/v3", "/api"):
            if path.startswith(prefix + "/"):
                path = path[len(prefix):]
                break
        if path == "/graphql":
            return "graphql", []
        return path, [unquote(part) for part in path.strip("/").split("/")]

    def kind(self, request: Request) -> str:
        path, parts = self._route(request)
        if path == "graphql":
            query = str((_json(request) or {}).get("query", ""))
            if "issues(first" in query:
                return "graphql_sweep"
            if _ALIASED.search(query):  # several issues by number, each under an alias
                return "graphql_reconcile" if "comments(last" in query else "graphql_recheck"
            if "issue(number" in query and "after: $cursor" in query:
                return "graphql_timeline"
            if "issue(number" in query:
                return "graphql_issue"
            return "graphql_unknown"
        method = request.method
        if path == "/user":
            return "rest_user"
        if len(parts) < 3 or parts[0] != "repos":
            return "rest_unknown"
        rest = parts[3:]
        if rest == ["labels"]:
            return "rest_labels" if method == "GET" else "rest_label_create"
        if rest == ["issues"]:
            return "rest_issues"
        if len(rest) == 2 and rest[0] == "issues":
            return "rest_issue" if method == "GET" else "rest_issue_update"
        if len(rest) == 3 and rest[:2] == ["issues", "comments"]:
            return {"PATCH": "rest_comment_edit", "DELETE": "rest_comment_delete"}.get(method, "rest_comment")
        if len(rest) >= 3 and rest[0] == "issues":
            sub = rest[2]
            if sub == "comments":
                return "rest_comments" if method == "GET" else "rest_comment_create"
            if sub in ("timeline", "events"):
                return f"rest_{sub}"
            if sub == "labels":
                return {"POST": "rest_label_add", "DELETE": "rest_label_remove"}.get(method, "rest_issue_labels")
            if sub == "assignees":
                return "rest_assign"
        return "rest_unknown"

    def is_write(self, request: Request) -> bool:
        return self.kind(request) in WRITE_KINDS

    def handle(self, request: Request) -> Response:
        if "authorization" not in request.headers:
            return Response(401, {"message": "Requires authentication", "documentation_url": DOCS})
        kind = self.kind(request)
        if kind.startswith("graphql"):
            return self._graphql(kind, _json(request) or {})
        _, parts = self._route(request)
        if kind == "rest_user":
            return Response(200, rest_viewer(VIEWER))
        if kind == "rest_unknown" or (parts[1], parts[2]) != (self.owner, self.name):
            return _not_found()
        handler = getattr(self, f"_{kind}", None)
        return handler(request, parts) if handler else _not_found()

    # -- GraphQL

    def _graphql(self, kind: str, payload: dict[str, Any]) -> Response:
        query, variables = str(payload.get("query", "")), payload.get("variables") or {}
        if not self.issue_types and "issueType" in query:
            return _graphql_error("Field 'issueType' doesn't exist on type 'Issue'", "undefinedField")
        if kind == "graphql_unknown":
            return _graphql_error("Simulated GitHub does not know this query", "undefinedField")
        if (variables.get("owner"), variables.get("name")) != (self.owner, self.name):
            return Response(200, {"data": {"repository": None}, "errors": [{
                "type": "NOT_FOUND", "path": ["repository"], "locations": [{"line": 2, "column": 3}],
                "message": f"Could not resolve to a Repository with the name "
                           f"'{variables.get('owner')}/{variables.get('name')}'."}]})
        page_size = int(_query_number(query, r"timelineItems\(first:\s*(\d+)") or 100)
        types = set(_query_list(query, r"itemTypes:\s*\[([^\]]*)\]"))
        if kind == "graphql_sweep":
            return Response(200, {"data": {"repository": {"issues": self._sweep(query, variables, page_size,
                                                                                  types)}}})
        if kind in ("graphql_recheck", "graphql_reconcile"):
            return self._aliased(kind, query, variables, page_size, types)
        issue = self.issue(int(variables.get("number") or 0))
        if issue is None:
            return Response(200, {"data": {"repository": {"issue": None}}, "errors": [{
                "type": "NOT_FOUND", "path": ["repository", "issue"], "locations": [{"line": 3, "column": 5}],
                "message": f"Could not resolve to an Issue with the number of {variables.get('number')}."}]})
        if kind == "graphql_timeline":
            timeline = self._timeline(issue, _uncursor(variables.get("cursor")) or 0, page_size, types)
            return Response(200, {"data": {"repository": {"issue": {"timelineItems": timeline}}}})
        return Response(200, {"data": {"repository": {"issue": self._node(issue, "issueType" in query, page_size,
                                                                           types)}}})

    def _aliased(self, kind: str, query: str, variables: dict[str, Any], page_size: int,
                 types: set[str]) -> Response:
        """Several issues by number, each under its alias; one that does not exist is null, with a NOT_FOUND
        error naming it, and the others are answered (as GitHub does)."""
        data: dict[str, Any] = {}
        errors = []
        for alias, name in _ALIASED.findall(query):
            issue = self.issue(int(variables.get(name) or 0))
            if issue is None:
                data[alias] = None
                errors.append({"type": "NOT_FOUND", "path": ["repository", alias], "locations": [
                    {"line": 3, "column": 5}], "message": f"Could not resolve to an Issue with the number of "
                                                          f"{variables.get(name)}."})
            elif kind == "graphql_recheck":
                data[alias] = self._node(issue, "issueType" in query, page_size, types)
            else:
                last = int(variables.get("last") or 0)
                comments = [e for e in issue.events if e.kind == "comment" and e.raw is None][-last:] if last else []
                data[alias] = {"comments": {"nodes": [
                    {k: v for k, v in self._timeline_node(e).items() if k != "__typename"} for e in comments]}}
        answer: dict[str, Any] = {"data": {"repository": data}}
        if errors:
            answer["errors"] = errors
        return Response(200, answer)

    def _meta(self, number: int) -> tuple[str, datetime, datetime]:
        """(state, created, updated) of an issue, cached for generated issues: filters and sorts stay cheap."""
        issue = self.changed.get(number)
        if issue is None:
            meta = self._index.get(number)
            if meta is None:
                generated = self.issue(number)
                assert generated is not None
                meta = self._index[number] = (generated.state, generated.created, generated.updated)
            return meta
        return issue.state, issue.created, issue.updated

    def _ordered(self, order: str, states: set[str], since: datetime | None, after: Any = None,
                 limit: int | None = None) -> list[int]:
        """Numbers of the issues matching the filters, in sort order, past the cursor `after` ([key, number]).

        Creation order is number order (as on GitHub), so CREATED_AT walks the numbers from the cursor on
        and stops at `limit`; UPDATED_AT sorts everything, as the key moves when an issue is written to.
        """
        def matches(number: int) -> bool:
            state, _, updated = self._meta(number)
            return state.upper() in states and not (since and updated < since)

        if order == "CREATED_AT" and not self.added:
            found, number = [], (after[1] if after else 0) + 1
            while number <= self.total and (limit is None or len(found) < limit):
                if matches(number):
                    found.append(number)
                number += 1
            return found
        column = 2 if order == "UPDATED_AT" else 1
        keyed = sorted([stamp(self._meta(n)[column]), n] for n in self.numbers() if matches(n))
        found = [n for key, n in keyed if after is None or [key, n] > after]
        return found if limit is None else found[:limit]

    def _sort_key(self, order: str, number: int) -> list[Any]:
        return [stamp(self._meta(number)[2 if order == "UPDATED_AT" else 1]), number]

    def _sweep(self, query: str, variables: dict[str, Any], page_size: int, types: set[str]) -> dict[str, Any]:
        first = int(variables.get("first") or 0)
        order = (re.search(r"orderBy:\s*\{field:\s*(\w+)", query) or [None, "CREATED_AT"])[1]
        since = _parse_stamp(variables["since"]) if variables.get("since") else None
        states = set(variables.get("states") or ["OPEN", "CLOSED"])
        chunk = self._ordered(order, states, since, _uncursor(variables.get("cursor")), first + 1)
        more, chunk = len(chunk) > first, chunk[:first]
        end = _cursor(self._sort_key(order, chunk[-1])) if chunk else None
        nodes = []
        for number in chunk:
            issue = self.issue(number)
            assert issue is not None
            nodes.append(self._node(issue, "issueType" in query, page_size, types))
        return {"pageInfo": {"hasNextPage": more, "endCursor": end}, "nodes": nodes}

    def _node(self, issue: SimIssue, with_type: bool, page_size: int, types: set[str]) -> dict[str, Any]:
        node: dict[str, Any] = {
            "number": issue.number, "url": f"https://github.com/{self.owner}/{self.name}/issues/{issue.number}",
            "title": issue.title, "body": issue.body, "state": issue.state.upper(),
            "stateReason": issue.state_reason.upper() if issue.state_reason else None,
            "createdAt": stamp(issue.created), "updatedAt": stamp(issue.updated), "closedAt": stamp(issue.closed_at),
            "author": {"login": issue.author} if issue.author else None,
        }
        if with_type:
            node["issueType"] = {"name": issue.issue_type} if issue.issue_type else None
        node.update({
            "milestone": {"title": issue.milestone[0], "dueOn": stamp(issue.milestone[1])} if issue.milestone else None,
            "labels": {"nodes": [{"name": name} for name in issue.labels[:100]]},
            "assignees": {"nodes": [{"login": login} for login in issue.assignees[:20]]},
            "timelineItems": self._timeline(issue, 0, page_size, types),
        })
        node.update(issue.extra)
        return node

    def _timeline(self, issue: SimIssue, offset: int, page_size: int, types: set[str]) -> dict[str, Any]:
        items = [e for e in issue.events if e.raw is not None or not types or ITEM_TYPES[e.kind] in types]
        page = items[offset:offset + page_size]
        more = offset + page_size < len(items)
        return {"totalCount": len(items),
                "pageInfo": {"hasNextPage": more, "endCursor": _cursor(offset + len(page)) if page else None},
                "nodes": [self._timeline_node(e) for e in page]}

    @staticmethod
    def _timeline_node(event: Event) -> dict[str, Any]:
        if event.raw is not None:
            return event.raw
        node: dict[str, Any] = {"__typename": TIMELINE_TYPENAMES[event.kind]}
        who = {"login": event.actor} if event.actor else None
        if event.kind == "comment":
            return {**node, "fullDatabaseId": str(event.id), "author": who, "createdAt": stamp(event.at),
                    "body": event.body}
        node.update(actor=who, createdAt=stamp(event.at))
        if event.kind in ("labeled", "unlabeled"):
            node["label"] = {"name": event.label}
        elif event.kind in ("assigned", "unassigned"):
            node["assignee"] = {"__typename": "User", "login": event.assignee} if event.assignee else None
        elif event.kind == "renamed":
            node.update(previousTitle=event.previous, currentTitle=event.current)
        elif event.kind == "closed":
            node["stateReason"] = event.state_reason.upper() if event.state_reason else None
        return node

    # -- REST reads

    def _base(self) -> str:
        return f"https://api.github.com/repos/{self.owner}/{self.name}"

    def _label(self, name: str) -> dict[str, Any]:
        label = self.repo_labels.get(name) or {"id": 9000 + len(name), "name": name, "color": "ededed",
                                               "description": None, "default": False}
        return {"id": label["id"], "node_id": base64.b64encode(f"05:Label{label['id']}".encode()).decode(),
                "url": f"{self._base()}/labels/{quote(name, safe='')}", "name": name,
                "description": label["description"], "color": label["color"], "default": label["default"]}

    def rest_issue(self, issue: SimIssue) -> dict[str, Any]:
        url = f"{self._base()}/issues/{issue.number}"
        milestone = None
        if issue.milestone:
            title, due = issue.milestone
            milestone = {"url": f"{self._base()}/milestones/1", "html_url": f"https://github.com/{self.owner}/"
                         f"{self.name}/milestone/1", "labels_url": f"{self._base()}/milestones/1/labels", "id": 1,
                         "node_id": "MDk6TWlsZXN0b25lMQ==", "number": 1, "state": "open", "title": title,
                         "description": None, "creator": rest_user(USERS[0]), "open_issues": 1, "closed_issues": 0,
                         "created_at": stamp(SIM_NOW - timedelta(days=200)),
                         "updated_at": stamp(SIM_NOW - timedelta(days=200)), "closed_at": None,
                         "due_on": stamp(due)}
        assignees = [rest_user(a) for a in issue.assignees]
        item = {
            "id": issue.number * 17, "node_id": base64.b64encode(f"05:Issue{issue.number}".encode()).decode(),
            "url": url, "repository_url": self._base(), "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments", "events_url": f"{url}/events",
            "html_url": f"https://github.com/{self.owner}/{self.name}/issues/{issue.number}",
            "number": issue.number, "state": issue.state, "title": issue.title, "body": issue.body,
            "user": rest_user(issue.author), "labels": [self._label(n) for n in issue.labels],
            "assignee": assignees[0] if assignees else None, "assignees": assignees, "milestone": milestone,
            "locked": False, "active_lock_reason": None,
            "comments": sum(1 for e in issue.events if e.kind == "comment"),
            "closed_at": stamp(issue.closed_at), "created_at": stamp(issue.created),
            "updated_at": stamp(issue.updated), "closed_by": rest_user(issue.author) if issue.closed_at else None,
            "author_association": "MEMBER",
            # Fields GitHub added after the 2022 vendor example the shape test compares with:
            "state_reason": issue.state_reason, "timeline_url": f"{url}/timeline",
            "type": _issue_type(issue.issue_type) if issue.issue_type else None,
            "performed_via_github_app": None,
        }
        item.update(issue.extra)
        return item

    def rest_comment(self, issue: SimIssue, event: Event) -> dict[str, Any]:
        base = self._base()
        return {"id": event.id, "node_id": base64.b64encode(f"012:IssueComment{event.id}".encode()).decode(),
                "url": f"{base}/issues/comments/{event.id}",
                "html_url": f"https://github.com/{self.owner}/{self.name}/issues/{issue.number}#issuecomment-"
                            f"{event.id}",
                "body": event.body, "user": rest_user(event.actor), "created_at": stamp(event.at),
                "updated_at": stamp(event.edited or event.at), "issue_url": f"{base}/issues/{issue.number}",
                "author_association": "MEMBER"}

    def rest_event(self, issue: SimIssue, event: Event) -> dict[str, Any]:
        """A timeline item (and, without the comment fields, an issue event) in REST shape."""
        name = REST_EVENT_NAMES.get(event.kind, event.kind)
        if event.kind == "comment":
            comment = self.rest_comment(issue, event)
            return {**comment, "reactions": _reactions(comment), "performed_via_github_app": None, "event": name,
                    "actor": rest_user(event.actor)}
        item: dict[str, Any] = {
            "id": event.id, "node_id": base64.b64encode(f"014:IssueEvent{event.id}".encode()).decode(),
            "url": f"{self._base()}/issues/events/{event.id}", "actor": rest_user(event.actor), "event": name,
            "commit_id": None, "commit_url": None, "created_at": stamp(event.at), "performed_via_github_app": None}
        if event.kind in ("labeled", "unlabeled"):
            item["label"] = {"name": event.label, "color": self._label(event.label or "")["color"]}
        elif event.kind in ("assigned", "unassigned"):
            item.update(assignee=rest_user(event.assignee), assigner=rest_user(event.actor))
        elif event.kind == "renamed":
            item["rename"] = {"from": event.previous, "to": event.current}
        elif event.kind == "closed":
            item["state_reason"] = event.state_reason
        return item

    def _page(self, request: Request, items: list[Any], render: Callable[[Any], Any] | None = None) -> Response:
        """One page of a REST list (`render` builds only that page's objects), with GitHub's `Link` header."""
        per_page = min(int(request.param("per_page") or 30), 100)
        page = max(int(request.param("page") or 1), 1)
        chunk = items[(page - 1) * per_page:page * per_page]
        headers = {}
        last = max((len(items) + per_page - 1) // per_page, 1)
        if page < last:
            host = request.headers.get("host", "api.github.com")
            params = {k: v[0] for k, v in request.query.items()}
            links = []
            for rel, target in (("next", page + 1), ("last", last)):
                query = urlencode({**params, "per_page": per_page, "page": target})
                links.append(f'<http://{host}{request.path}?{query}>; rel="{rel}"')
            headers["Link"] = ", ".join(links)
        return Response(200, [render(x) for x in chunk] if render else chunk, headers)

    def _rest_issues(self, request: Request, parts: list[str]) -> Response:
        state = request.param("state", "open")
        states = {"open": {"OPEN"}, "closed": {"CLOSED"}, "all": {"OPEN", "CLOSED"}}.get(state or "", {"OPEN"})
        since = _parse_stamp(request.param("since")) if request.param("since") else None
        order = {"updated": "UPDATED_AT", "comments": "CREATED_AT"}.get(request.param("sort") or "", "CREATED_AT")
        numbers = self._ordered(order, states, since)
        if request.param("direction", "desc") == "desc":
            numbers.reverse()
        return self._page(request, numbers, lambda n: self.rest_issue(self.issue(n)))

    def _existing(self, parts: list[str]) -> SimIssue | None:
        return self.issue(int(parts[4])) if parts[4].isdigit() else None

    def _rest_issue(self, request: Request, parts: list[str]) -> Response:
        issue = self._existing(parts)
        return Response(200, self.rest_issue(issue)) if issue else _not_found()

    def _rest_comments(self, request: Request, parts: list[str]) -> Response:
        issue = self._existing(parts)
        if issue is None:
            return _not_found()
        since = _parse_stamp(request.param("since")) if request.param("since") else None
        items = [self.rest_comment(issue, e) for e in issue.events
                 if e.kind == "comment" and e.raw is None and not (since and (e.edited or e.at) < since)]
        return self._page(request, items)

    def _rest_timeline(self, request: Request, parts: list[str]) -> Response:
        issue = self._existing(parts)
        if issue is None:
            return _not_found()
        return self._page(request, [self.rest_event(issue, e) for e in issue.events if e.raw is None])

    def _rest_events(self, request: Request, parts: list[str]) -> Response:
        issue = self._existing(parts)
        if issue is None:
            return _not_found()
        items = [self.rest_event(issue, e) for e in issue.events if e.kind != "comment" and e.raw is None]
        return self._page(request, items)

    def _rest_labels(self, request: Request, parts: list[str]) -> Response:
        return self._page(request, [self._label(name) for name in self.repo_labels])

    # -- REST writes

    def _rest_label_create(self, request: Request, parts: list[str]) -> Response:
        body = _json(request) or {}
        name = str(body.get("name") or "")
        if name in self.repo_labels:
            return Response(422, {"message": "Validation Failed", "errors": [
                {"resource": "Label", "code": "already_exists", "field": "name"}], "documentation_url": DOCS})
        self.repo_labels[name] = {"id": 2000 + len(self.repo_labels), "name": name,
                                  "color": body.get("color") or "ededed", "description": body.get("description"),
                                  "default": False}
        return Response(201, self._label(name))

    def _rest_comment_create(self, request: Request, parts: list[str]) -> Response:
        issue = self._mutable(int(parts[4])) if parts[4].isdigit() else None
        if issue is None:
            return _not_found()
        event = issue.event("comment", VIEWER, self.tick(), body=str((_json(request) or {}).get("body") or ""))
        issue.updated = self.clock
        return Response(201, self.rest_comment(issue, event))

    def _rest_label_add(self, request: Request, parts: list[str]) -> Response:
        issue = self._mutable(int(parts[4])) if parts[4].isdigit() else None
        if issue is None:
            return _not_found()
        for name in (_json(request) or {}).get("labels") or []:
            if name not in self.repo_labels:  # GitHub creates a label it does not know
                self.repo_labels[name] = {"id": 2000 + len(self.repo_labels), "name": name, "color": "ededed",
                                          "description": None, "default": False}
            if name not in issue.labels:
                issue.labels.append(name)
                issue.event("labeled", VIEWER, self.tick(), label=name)
                issue.updated = self.clock
        return Response(200, [self._label(n) for n in issue.labels])

    def _rest_label_remove(self, request: Request, parts: list[str]) -> Response:
        issue = self._mutable(int(parts[4])) if parts[4].isdigit() else None
        if issue is None or len(parts) < 7:
            return _not_found()
        name = parts[6]
        if name not in issue.labels:
            return Response(404, {"message": "Label does not exist", "documentation_url": DOCS})
        issue.labels.remove(name)
        issue.event("unlabeled", VIEWER, self.tick(), label=name)
        issue.updated = self.clock
        return Response(200, [self._label(n) for n in issue.labels])

    def _rest_assign(self, request: Request, parts: list[str]) -> Response:
        issue = self._mutable(int(parts[4])) if parts[4].isdigit() else None
        if issue is None or request.method != "POST":
            return _not_found()
        for login in (_json(request) or {}).get("assignees") or []:
            # GitHub: "Only users with push access can add assignees to an issue. Assignees are silently
            # ignored otherwise." The answer is still 201 with the issue, without them.
            if login not in issue.assignees and login in self.collaborators:
                issue.assignees.append(login)
                issue.event("assigned", VIEWER, self.tick(), assignee=login)
                issue.updated = self.clock
        return Response(201, self.rest_issue(issue))

    def _comment_event(self, parts: list[str]) -> tuple[SimIssue | None, Event | None]:
        """The issue and comment a `/issues/comments/{id}` path names (the issue's number is in the id)."""
        ident = int(parts[5]) if parts[5].isdigit() else 0
        issue = self._mutable(ident // 1_000_000) if ident else None
        event = next((e for e in issue.events if e.id == ident and e.kind == "comment"), None) if issue else None
        return issue, event

    def _rest_comment_edit(self, request: Request, parts: list[str]) -> Response:
        issue, event = self._comment_event(parts)
        body = (_json(request) or {}).get("body")
        if issue is None or event is None:
            return _not_found()
        if not isinstance(body, str):
            return Response(422, {"message": "Invalid request.", "documentation_url": DOCS})
        event.body, event.edited = body, self.tick()
        issue.updated = self.clock
        return Response(200, self.rest_comment(issue, event))

    def _rest_comment_delete(self, request: Request, parts: list[str]) -> Response:
        issue, event = self._comment_event(parts)
        if issue is None or event is None:
            return _not_found()
        issue.events.remove(event)
        self.deleted.append((issue.number, event))
        issue.updated = self.tick()
        return Response(204)

    def _rest_issue_update(self, request: Request, parts: list[str]) -> Response:
        issue = self._mutable(int(parts[4])) if parts[4].isdigit() else None
        if issue is None or request.method != "PATCH":
            return _not_found()
        body = _json(request) or {}
        state = body.get("state")
        if state in ("open", "closed") and state != issue.state:
            issue.state = state
            issue.state_reason = body.get("state_reason") or ("completed" if state == "closed" else "reopened")
            issue.closed_at = self.tick() if state == "closed" else None
            issue.event("closed" if state == "closed" else "reopened", VIEWER, self.clock,
                        state_reason=issue.state_reason if state == "closed" else None)
            issue.updated = self.clock
        return Response(200, self.rest_issue(issue))


def _issue_type(name: str) -> dict[str, Any]:
    """A repository's issue type as REST shows it (`issue-type` in GitHub's REST description)."""
    ident = sum(ord(c) for c in name)
    return {"id": ident, "node_id": base64.b64encode(f"IT_{ident}".encode()).decode(), "name": name,
            "description": f"{name} issues", "color": "blue", "created_at": stamp(SIM_NOW - timedelta(days=400)),
            "updated_at": stamp(SIM_NOW - timedelta(days=400)), "is_enabled": True}


def _reactions(comment: dict[str, Any]) -> dict[str, Any]:
    return {"url": f"{comment['url']}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
            "confused": 0, "heart": 0, "rocket": 0, "eyes": 0}


def _json(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        return None


def _not_found() -> Response:
    return Response(404, {"message": "Not Found", "documentation_url": DOCS})


def _graphql_error(message: str, code: str) -> Response:
    return Response(200, {"errors": [{"path": ["query"], "extensions": {"code": code},
                                      "locations": [{"line": 1, "column": 1}], "message": message}]})


_RUN_ID = re.compile(r" run=[0-9a-z]+(?= -->)")
_ALIASED = re.compile(r"(\w+):\s*issue\(number:\s*\$(\w+)\)")  # `i0: issue(number: $n0)`


def _query_number(query: str, pattern: str) -> str | None:
    match = re.search(pattern, query)
    return match.group(1) if match else None


def _query_list(query: str, pattern: str) -> list[str]:
    match = re.search(pattern, query)
    return [part.strip() for part in match.group(1).split(",")] if match else []



# ------------------------------------------------------------------------------------------- for tests

TOKEN = "SECRET-sim-github-token"  # shaped like a secret: the suite's secret scan fails on any leak of it
REPO = f"{OWNER}/{NAME}"


def steward_env(url: str, **extra: str) -> dict[str, str]:
    """Environment for a Steward run against the simulator at `url`: no write pacing, GraphQL reads."""
    return {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": url, "STEWARD_GITHUB_WRITES_PER_MINUTE": "0",
            "STEWARD_GITHUB_READS": "graphql", **extra}


def run_cli(url: str, args: list[str], **env: str) -> Any:
    """Steward's CLI in this process (so tests can replace its sleeper); returns click's `Result`."""
    from click.testing import CliRunner

    from steward.cli import cli

    # Not in Actions unless a test says so: Steward then asks GitHub who the token is (GET /user) when it
    # needs to know which comments are its own, as it would on a laptop.
    unset: dict[str, str | None] = {"GITHUB_ACTIONS": None, "STEWARD_GITHUB_LOGIN": None}
    return CliRunner().invoke(cli, args, env={**unset, **steward_env(url, **env)}, catch_exceptions=False)


def run_args(command: str = "apply", now: datetime = SIM_NOW, *extra: str) -> list[str]:
    return [command, "--tracker", f"github:{REPO}", "--now", stamp(now) or "", "--format", "json", *extra]


def marker_text(rule: str, level: int, now: datetime = SIM_NOW) -> str:
    """The start of a step's marker: what follows (the labels it added) depends on the issue."""
    return format_marker(Marker(rule=rule, level=level, at=now)).removesuffix(" -->")


def problems_after_apply(sim: GitHubSim, report: dict[str, Any], now: datetime = SIM_NOW) -> list[str]:
    """What is wrong with the simulator's state after an apply whose JSON output is `report`.

    Every step in `actions` must be there exactly once (its marked comment once, its labels added or
    removed); every step in `deferred` or `failed` must have left no comment; no step may be marked in two of
    Steward's comments on an issue (two runs' copies differ in their run id: steps are compared, not text).
    """
    found: list[str] = []
    steps: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for action in report["actions"]:
        steps.setdefault((action["issue"], action["rule"], action["level"]), []).append(action)
    for (key, rule, level), actions in steps.items():
        number = int(key.lstrip("#"))
        comments, labels = sim.steward_comments(number), sim.labels(number)
        if level > 0:
            count = sum(marker_text(rule, level, now) in c for c in comments)
            if count != 1:
                found.append(f"{key} {rule}@{level}: its marked comment is there {count} times")
        for action in actions:
            if action["type"] == "add_labels" and not set(action["value"]) <= set(labels):
                found.append(f"{key} {rule}@{level}: labels {action['value']} missing from {labels}")
            if action["type"] == "remove_labels" and set(action["value"]) & set(labels):
                found.append(f"{key} {rule}@{level}: labels {action['value']} still on the issue")
    for action in report["deferred"] + report.get("failed", []):
        number = int(action["issue"].lstrip("#"))
        if action["level"] > 0 and any(marker_text(action["rule"], action["level"], now) in c
                                       for c in sim.steward_comments(number)):
            found.append(f"{action['issue']} {action['rule']}@{action['level']}: deferred, yet its comment is there")
    for number in sim.snapshot():
        marked = [(m.rule, m.level) for m in sim.steward_markers(number)]
        for rule, level in sorted(set(marked)):
            if marked.count((rule, level)) > 1:
                found.append(f"#{number}: {rule}@{level} is marked in {marked.count((rule, level))} of Steward's "
                             "comments")
    return found
