"""A Jira simulator, Cloud or Data Center: the subset of the REST API Steward uses, as a `server.App`.

Endpoints (answers shaped like the vendor payloads in ../shared/reference/jira; tests/trackers/test_jira_shapes.py
compares them):
- Cloud: `GET /rest/api/3/search/jql` (nextPageToken; the old `/rest/api/2/search` answers 410 as Cloud does
  now), `POST /rest/api/3/changelog/bulkfetch` (up to 1000 issues, pages of `maxResults` histories);
  and `POST /rest/api/3/issue/bulkfetch` (up to 100 issues by id or key, in ascending id order);
- Data Center: `GET /rest/api/2/search` (startAt/total; a `key` clause naming no issue is a 400 unless
  `validateQuery=false`, as Jira validates JQL values);
- both: `GET`/`PUT /issue/{key}` (edit: `update.comment[].add`, `update.labels[].add/remove/set`,
  `fields.assignee/labels/duedate/summary`, `properties`), `GET /issue/{key}/comment` (startAt),
  `DELETE /issue/{key}/comment/{id}`, `GET`/`PUT /issue/{key}/properties/{key}`,
  `GET`/`POST /issue/{key}/transitions`, `GET /myself` (the account behind the token: `STEWARD`).

Searches asking only for `id` or `key` return bigger pages, as Jira does: up to 5000 issues on Cloud (its
description of `maxResults`), up to 1000 on Data Center (`jira.search.views.default.max`).

Every comment comes inline with the search, as in all recorded payloads (`maxResults` == `total`);
`inline_comments=N` cuts the inline list at N, so the adapter's comment paging can be tested.

Issues are generated from a seed, one random stream per issue, so 100,000 of them cost only a small head
each (what JQL looks at); the bulky parts (history, comments, description) are generated again when an
issue is rendered, and kept only once a write changed the issue. JQL is the subset Steward and its tests
send; anything else is a 400 with Jira's error shape, so an adapter change that sends new JQL fails loudly.
Request kinds for counting: search, bulkfetch (changelogs), issue_bulk, issue_read, edit, comment_read,
comment_delete, property (PUT), property_read, transitions, transition, myself, other.
"""


from __future__ import annotations

import base64
import json
import random
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from . import jira_create, jira_people
from .jira_jql import (
    Jql,
    JqlError,
)
from .jira_model import (
    _RUN_ID,
    _RUN_KEY,
    CATEGORIES,
    CLASSES,
    CLOUD,
    CLOUD_CHANGELOG_CAP,
    DATACENTER,
    ISSUE_CHANGELOG_CAP,
    ISSUE_KINDS,
    JIRA_TIME,
    KEYS_PAGE_CAP,
    PRIORITIES,
    PROJECT,
    STATUSES,
    STEWARD,
    STEWARD_DC_KEY,
    TYPES,
    USERS,
    WRITE_KINDS,
    SimIssue,
    _csv,
    _errors,
    _field_set,
    _params,
    account_id,
    jira_time,
)
from .jira_reads import JiraReads
from .jira_render import JiraRendering
from .jira_writes import JiraWrites
from .server import Request, Response

__all__ = [
    'CATEGORIES', 'CLASSES', 'CLOUD', 'CLOUD_CHANGELOG_CAP', 'DATACENTER', 'ISSUE_CHANGELOG_CAP', 'ISSUE_KINDS',
    'JIRA_TIME', 'JiraSim', 'Jql', 'JqlError', 'KEYS_PAGE_CAP', 'PRIORITIES', 'PROJECT', 'STATUSES', 'STEWARD',
    'STEWARD_DC_KEY', 'SimIssue', 'TYPES', 'USERS', 'WRITE_KINDS', 'account_id', 'credentials', 'jira_time'
]


def credentials(flavor: str, token: str = "SECRET-sim-jira-token") -> dict[str, str]:
    """The environment Steward reads its Jira credentials from, for a simulator of this flavor."""
    if flavor == CLOUD:
        return {"JIRA_EMAIL": "steward@example.com", "JIRA_API_TOKEN": token}
    return {"JIRA_TOKEN": token}


class JiraSim(JiraRendering, JiraReads, JiraWrites):
    """A stateful Jira (`flavor` CLOUD or DATACENTER) with `issues` seeded issues. See the module docstring."""

    def __init__(self, flavor: str = CLOUD, issues: int = 100, seed: int = 0, *, now: datetime | None = None,
                 email: str = "steward@example.com", token: str = "SECRET-sim-jira-token",
                 page_cap: int = 100, inline_comments: int | None = None, comment_page_cap: int = 100,
                 long_history_rate: float = 0.08, many_comments_rate: float = 0.01):
        if flavor not in (CLOUD, DATACENTER):
            raise ValueError(f"flavor must be {CLOUD!r} or {DATACENTER!r}")
        self.flavor = flavor
        self.seed = seed
        self.fixed_now = now
        self.epoch = now or datetime.now(timezone.utc)  # seeded times are relative to this
        self.page_cap, self.inline_comments, self.comment_page_cap = page_cap, inline_comments, comment_page_cap
        self.long_history_rate, self.many_comments_rate = long_history_rate, many_comments_rate
        if flavor == CLOUD:
            self.auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        else:
            self.auth = f"Bearer {token}"
        self.issues: dict[str, SimIssue] = {}
        self._order: list[str] = []
        self._ids = 100000  # comment and history ids handed out by writes
        self._searches: dict[str, list[str]] = {}  # JQL -> matching keys, until the next write
        self.served = 0  # issues returned by searches: the floor is ceil(served / page) pages
        self.served_truncated = 0  # of which with an inline changelog cut short (Cloud: bulk changelog calls)
        self.served_comments_cut = 0  # of which with an inline comment list cut short
        self.served_keys = 0  # issues returned by searches for ids or keys only
        self.received: list[Request] | None = None  # set to [] to keep every request handled, in order
        self.forbidden: set[str] = set()  # request kinds the account lacks the permission for: 403
        self.gone_users: set[str] = set()  # user names deleted since (GET /user: 404), see jira_people.py
        self.inactive_users: set[str] = set()  # and deactivated (active: false)
        self.created: list[str] = []  # keys of the issues created through the API (jira_create.py)
        for n in range(1, issues + 1):
            self.add(self._generate(n).head())

    # ---------------------------------------------------------------- state

    @property
    def cloud(self) -> bool:
        return self.flavor == CLOUD

    def now(self) -> datetime:
        return self.fixed_now or datetime.now(timezone.utc)

    def add(self, issue: SimIssue) -> None:
        if issue.key not in self.issues:
            self._order.append(issue.key)
        self.issues[issue.key] = issue
        self._searches.clear()

    def full(self, key: str) -> SimIssue:
        """The whole issue: kept if it was ever written, else generated again from its seed."""
        issue = self.issues[key]
        return issue if issue.live else self._generate(issue.n)

    def _materialize(self, key: str) -> SimIssue:
        """The whole issue, kept from now on: about to be written to (a head is never changed in place)."""
        issue = self.issues[key]
        if not issue.live:
            issue = self._generate(issue.n)
            issue.live = True
            self.issues[key] = issue
        return issue

    def touch(self, key: str, **changes: Any) -> None:
        """Change an issue as a person would (benchmarks: the incremental run), with a history entry."""
        issue = self._materialize(key)
        items = []
        for name, value in changes.items():
            before = getattr(issue, name)
            setattr(issue, name, value)
            items.append(self._item(name, before, value))
        issue.updated = self.now()
        issue.histories.append({"id": self._next_id(), "author": USERS[0], "created": issue.updated,
                                "items": items})
        self._searches.clear()

    def comment(self, key: str, author: str, body: str, created: datetime | None = None) -> None:
        """A comment by `author` (a person in USERS, or STEWARD), as if written in Jira's own UI."""
        issue = self._materialize(key)
        at = created or self.now()
        issue.comments.append({"id": self._next_id(), "author": author, "body": body, "created": at})
        issue.comments.sort(key=lambda c: c["created"])
        issue.updated = max(issue.updated, at)
        self._searches.clear()

    def steward_comments(self, key: str) -> list[str]:
        return [c["body"] for c in self.full(key).comments if c["author"] == STEWARD]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """What Steward changed, per issue: comparable between two simulators seeded alike (times and the ids
        of the runs that wrote left out)."""
        state = {}
        for key in self._order:
            issue = self.issues[key]
            if not issue.live:
                continue
            comments = [_RUN_ID.sub("", body) for body in self.steward_comments(key)]
            properties = json.loads(_RUN_KEY.sub("", json.dumps(issue.properties, default=str)))
            state[key] = {"labels": sorted(issue.labels), "assignee": issue.assignee, "status": issue.status,
                          "comments": comments, "properties": properties}
        return state

    def _next_id(self) -> str:
        self._ids += 1
        return str(self._ids)

    # ---------------------------------------------------------------- seeding

    def _generate(self, n: int) -> SimIssue:
        """Issue number n, the same every time for the same seed: its own random stream."""
        rng = random.Random(self.seed * 1_000_003 + n)
        created = self.epoch - timedelta(days=rng.randint(0, 120), hours=rng.randint(3, 23))
        kind = rng.choices(list(TYPES), weights=(40, 20, 15, 15, 10))[0]
        labels = []
        if rng.random() < 0.7:
            labels.append(rng.choice(CLASSES))
        if kind in ("Exception", "Decision") and rng.random() < 0.5:
            labels.append(kind.lower())
        for label, rate in (("temporary-approval", 0.05), ("blocked", 0.05), ("wontfix", 0.02)):
            if rng.random() < rate:
                labels.append(label)
        issue = SimIssue(
            n=n, key=f"{PROJECT[0]}-{n}", status="To Do", priority=rng.choice(list(PRIORITIES)), type=kind,
            labels=labels, assignee=rng.choice(USERS) if rng.random() < 0.6 else None, reporter=rng.choice(USERS),
            created=created, updated=created,
            due=(self.epoch + timedelta(days=rng.randint(-30, 60))).date() if rng.random() < 0.5 else None,
            summary=f"{kind} {n}: " + rng.choice(("keep legacy VPN", "rotate keys", "migrate billing",
                                                  "approve vendor", "cut staging cost")),
            description=rng.choice((None, "Context and risk.", "Owner: platform team.\nSuccess metric: -20% cost")),
        )
        ids = iter(range(n * 100000, n * 100000 + 99999))
        # nothing seeded in the last two hours, so an incremental run (`--since`) sees only later changes
        span = max((self.epoch - timedelta(hours=2) - created).total_seconds(), 60)
        long_history = rng.random() < self.long_history_rate
        count = rng.randint(41, 80) if long_history else rng.randint(0, 10)
        times = sorted(created + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
        for at in times:
            author = rng.choice(USERS)
            name = rng.choices(("status", "priority", "assignee", "labels", "due"), weights=(3, 2, 2, 2, 1))[0]
            before = getattr(issue, name)
            if name == "status":
                after = rng.choice([s for s in STATUSES if s != issue.status])
            elif name == "priority":
                after = rng.choice([p for p in PRIORITIES if p != issue.priority])
            elif name == "assignee":
                after = None if issue.assignee and rng.random() < 0.4 else rng.choice(USERS)
            elif name == "labels":
                flip = rng.choice(CLASSES + ("escalated", "blocked"))
                after = [x for x in issue.labels if x != flip] if flip in issue.labels else issue.labels + [flip]
            else:
                after = (at + timedelta(days=rng.randint(7, 60))).date()
            setattr(issue, name, after)
            issue.histories.append({"id": str(next(ids)), "author": author, "created": at,
                                    "items": [self._item(name, before, after)]})
            if name == "priority" and rng.random() < 0.5:  # a rationale, by whoever changed it
                issue.comments.append({"id": str(next(ids)), "author": author, "created": at + timedelta(hours=1),
                                       "body": "Raising this: the customer escalated."})
        comments = rng.randint(60, 150) if rng.random() < self.many_comments_rate else rng.randint(0, 5)
        for _ in range(comments):
            at = created + timedelta(seconds=rng.uniform(0, span))
            issue.comments.append({"id": str(next(ids)), "author": rng.choice(USERS), "created": at,
                                   "body": rng.choice(("Looking into it.", "Any update?", "Done on my side."))})
        issue.comments.sort(key=lambda c: c["created"])
        last = [h["created"] for h in issue.histories] + [c["created"] for c in issue.comments]
        issue.updated = max([created] + last)
        return issue

    def _item(self, name: str, before: Any, after: Any) -> dict[str, Any]:
        """One changelog item as Jira records it (Data Center leaves out `fieldId`)."""
        def user(value):
            return (account_id(value) if self.cloud else value) if value else None

        if name == "status":
            item = {"field": "status", "from": STATUSES[before][0], "fromString": before,
                    "to": STATUSES[after][0], "toString": after}
        elif name == "priority":
            item = {"field": "priority", "from": PRIORITIES.get(before), "fromString": before,
                    "to": PRIORITIES.get(after), "toString": after}
        elif name == "assignee":
            item = {"field": "assignee", "from": user(before), "fromString": before, "to": user(after),
                    "toString": after}
        elif name == "labels":
            item = {"field": "labels", "from": None, "fromString": " ".join(before) or None, "to": None,
                    "toString": " ".join(after) or None}
        elif name in ("due", "duedate"):
            item = {"field": "duedate", "from": str(before) if before else None,
                    "fromString": f"{before} 00:00:00.0" if before else None,
                    "to": str(after) if after else None, "toString": f"{after} 00:00:00.0" if after else None}
        else:
            item = {"field": name, "from": None, "fromString": str(before), "to": None, "toString": str(after)}
        item["fieldtype"] = "jira"
        if self.cloud:
            item["fieldId"] = item["field"]
        return item

    # ---------------------------------------------------------------- the App protocol

    _ROUTES = (
        ("search", re.compile(r"^search(/jql)?$")),
        ("bulkfetch", re.compile(r"^changelog/bulkfetch$")),
        ("issue_bulk", re.compile(r"^issue/bulkfetch$")),
        ("myself", re.compile(r"^myself$")),
        ("user", re.compile(r"^user$")),
        ("issue_create", re.compile(r"^issue$")),
        ("comment_read", re.compile(r"^issue/[^/]+/comment$")),
        ("comment_delete", re.compile(r"^issue/[^/]+/comment/[^/]+$")),
        ("property", re.compile(r"^issue/[^/]+/properties/[^/]+$")),
        ("transitions", re.compile(r"^issue/[^/]+/transitions$")),
        ("issue", re.compile(r"^issue/[^/]+$")),
    )

    def _route(self, request: Request) -> tuple[str, str, str]:
        """(kind, API version, path after /rest/api/N/)."""
        match = re.match(r"^/rest/api/(2|3)/(.*)$", request.path)
        if not match:
            return "other", "", request.path
        version, rest = match.groups()
        for kind, pattern in self._ROUTES:
            if pattern.match(rest):
                if kind == "issue":
                    kind = {"PUT": "edit", "DELETE": "issue_delete"}.get(request.method, "issue_read")
                elif kind == "transitions" and request.method == "POST":
                    kind = "transition"
                elif kind == "property" and request.method == "GET":
                    kind = "property_read"
                return kind, version, rest
        return "other", version, rest

    def kind(self, request: Request) -> str:
        return self._route(request)[0]

    def jql(self, text: str) -> Jql:
        """The parsed query (benchmarks/sim/jira_fields.py extends it with custom fields)."""
        return Jql(text, self.now())

    def is_write(self, request: Request) -> bool:
        return request.method in ("PUT", "POST", "DELETE") and self.kind(request) in WRITE_KINDS

    def handle(self, request: Request) -> Response:
        if self.received is not None:
            self.received.append(request)
        if request.headers.get("authorization") != self.auth:
            return Response(401, b"Client must be authenticated to access this resource.",
                            {"Content-Type": "text/html;charset=UTF-8"})
        kind, version, rest = self._route(request)
        if kind in self.forbidden:
            return _errors(403, "You do not have the permission to do this.")
        if version == "3" and not self.cloud:
            return _errors(404, "null for uri: /rest/api/3")
        base = "http://" + request.headers.get("host", "127.0.0.1")
        try:
            if kind == "search":
                return self._search(request, version, rest, base)
            if kind == "bulkfetch" and self.cloud and request.method == "POST":
                return self._bulkfetch(request, base)
            if kind == "issue_bulk" and self.cloud and request.method == "POST":
                return self._issue_bulkfetch(request, base)
            if kind == "myself" and request.method == "GET":
                return Response(200, self._myself(base, version))
            if kind == "user" and request.method == "GET":
                return jira_people.user(self, request, base, version)
            if kind == "issue_create" and request.method == "POST":
                return jira_create.create(self, request, base, version)
            key = rest.split("/")[1]
            if kind in ISSUE_KINDS and key not in self.issues:
                return _errors(404, "Issue does not exist or you do not have permission to see it.")
            if kind == "issue_read":
                params = _params(request)
                return Response(200, self.render(
                    key, base, version, _field_set(params.get("fields", "*all")),
                    ISSUE_CHANGELOG_CAP if self.cloud else None, "changelog" in params.get("expand", ""),
                    _csv(params.get("properties", ""))))
            if kind == "edit":
                return self._edit(key, request.json())
            if kind == "issue_delete":
                return jira_create.delete(self, key)
            if kind == "comment_read":
                return self._comments(key, request, base, version)
            if kind in ("property", "property_read"):
                return self._property(key, rest.split("/")[3], request)
            if kind == "comment_delete" and request.method == "DELETE":
                return self._delete_comment(key, rest.split("/")[3])
            if kind == "transitions":
                return self._transitions(key, base, version)
            if kind == "transition":
                return self._transition(key, request.json())
        except JqlError as error:
            return Response(400, {"errorMessages": [f"Error in the JQL Query: {error}"], "errors": {},
                                  "warningMessages": []})
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            return _errors(400, f"Unexpected request: {type(error).__name__}: {error}")
        return _errors(404, f"null for uri: {request.path}")

    # ---------------------------------------------------------------- odd input

    def add_odd_issues(self) -> list[str]:
        """Issues that stress a reader: 5,000 comments, 10,000 histories, a 1 MB body, odd unicode, nulls
        everywhere, unknown fields. Returns their keys."""
        base = len(self._order) + 1
        odd = []

        def make(offset: int, **changes: Any) -> SimIssue:
            changes.setdefault("status", "To Do")  # open, so a query for open work finds it
            issue = replace(self._generate(base + offset), **changes)
            issue.live = True
            self.add(issue)
            odd.append(issue.key)
            return issue

        start = self.epoch - timedelta(days=400)
        make(0, comments=[{"id": str(900000 + i), "author": USERS[i % len(USERS)], "body": f"comment {i}",
                           "created": start + timedelta(minutes=i)} for i in range(5000)])
        histories = [{"id": str(800000 + i), "author": USERS[i % len(USERS)], "created": start + timedelta(minutes=i),
                      "items": [self._item("priority", "Low" if i % 2 else "High", "High" if i % 2 else "Low")]}
                     for i in range(10000)]
        make(1, histories=histories, priority="Low")
        make(2, description="x" * 1_000_000, summary="a 1 MB description")
        make(3, summary="\u202eRTL override \u05e9\u05dc\u05d5\u05dd \U0001f525 nul\u0000 \ud800 lone surrogate",
             description="emoji \U0001f600\u200d\U0001f4bb zero-width\u200b bidi \u2067isolate\u2069 \x00",
             labels=["unicod\u00e9", "\U0001f525hot"],
             comments=[{"id": "700001", "author": USERS[0], "body": "\u0000\ud83d", "created": start}])
        nulls = {name: None for name in ("summary", "description", "issuetype", "status", "priority", "labels",
                                         "assignee", "reporter", "created", "updated", "duedate", "comment",
                                         "project")}
        make(4, override=nulls, histories=[{"id": "600001", "author": None, "created": start,
                                           "items": [{"field": None, "fieldId": None, "from": None, "to": None}]}])
        make(5, override={"customfield_10099": {"value": "unknown", "nested": [1, {"x": None}]},
                          "status": {"name": "Mystery", "statusCategory": {"key": "weird"}},
                          "comment": {"comments": [None, 7, {"body": None}], "total": "three"}},
             extra={"renderedFields": {"x": 1}, "unknownTopLevel": [None]},
             properties={"steward.markers": {"markers": [{"rule": None}, "junk", {"rule": "x", "level": "NaN"}]}})
        return odd
