"""A Jira simulator, Cloud or Data Center: the subset of the REST API Steward uses, as a `server.App`.

Endpoints (answers shaped like the vendor payloads in ../shared/reference/jira; tests/sim/test_jira_shapes.py
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
import hashlib
import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from . import jira_create, jira_people
from .server import Request, Response

CLOUD, DATACENTER = "cloud", "datacenter"
WRITE_KINDS = ("edit", "property", "transition", "comment_delete", "issue_create", "issue_delete")
ISSUE_KINDS = ("edit", "issue_read", "comment_read", "comment_delete", "property", "property_read", "transitions",
               "transition", "issue_delete")
STEWARD = "steward-bot"  # the account behind the simulator's token: what Steward writes as
STEWARD_DC_KEY = "JIRAUSER10100"  # its user key on Data Center (keys of users made since Jira 8 look so)
USERS = ("aisha.khan", "tom.becker", "mei.lin", "omar.haddad", "sara.costa", "li.wei")
PROJECT = ("OPS", "10000", "Operations")
STATUSES = {  # name: (id, category key)
    "To Do": ("10000", "new"), "In Progress": ("3", "indeterminate"), "Blocked": ("10100", "indeterminate"),
    "Done": ("10001", "done"),
}
CATEGORIES = {"new": (2, "To Do", "blue-gray"), "indeterminate": (4, "In Progress", "yellow"),
              "done": (3, "Done", "green")}
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
TYPES = {"Task": "10002", "Bug": "10004", "Exception": "10010", "Decision": "10011", "Initiative": "10012"}
CLASSES = ("strategic", "operational", "tactical")
KEYS_PAGE_CAP = {"cloud": 5000, "datacenter": 1000}  # searches for ids or keys only
CLOUD_CHANGELOG_CAP = 40  # Cloud search inlines at most 40 histories (expand=changelog)
ISSUE_CHANGELOG_CAP = 100  # and GET /issue at most 100
JIRA_TIME = "%Y-%m-%dT%H:%M:%S.000+0000"
_RUN_ID = re.compile(r" · run [0-9a-z]+")  # a run id in a comment footer
_RUN_KEY = re.compile(r', "run": "[0-9a-z]+"')  # and in a stored marker


def jira_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime(JIRA_TIME)


def account_id(user: str) -> str:
    """A stable Cloud accountId for a user name (Cloud has no user names in its API)."""
    return "712020:" + hashlib.sha1(user.encode()).hexdigest()[:24]


@dataclass
class SimIssue:
    """One issue. `head` fields are what JQL reads; the rest is generated again on demand unless `live`."""

    n: int
    key: str
    status: str
    priority: str | None
    type: str
    labels: list[str]
    assignee: str | None
    reporter: str | None
    created: datetime
    updated: datetime
    due: date | None
    summary: str = ""
    description: str | None = None
    comments: list[dict[str, Any]] = field(default_factory=list)  # {id, author, body, created}
    histories: list[dict[str, Any]] = field(default_factory=list)  # {id, author, created, items}
    properties: dict[str, Any] = field(default_factory=dict)
    override: dict[str, Any] = field(default_factory=dict)  # raw JSON replacing fields: odd-input tests
    extra: dict[str, Any] = field(default_factory=dict)  # raw top-level keys Steward does not know
    live: bool = False  # the full issue is kept here (written to, or seeded by hand)

    @property
    def id(self) -> str:
        return str(10000 + self.n)

    @property
    def category(self) -> str:
        return STATUSES.get(self.status, ("0", "new"))[1]

    def head(self) -> SimIssue:
        return replace(self, summary="", description=None, comments=[], histories=[], live=False)


class JqlError(ValueError):
    pass


_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\(|\)|,|!=|<=|>=|=|<|>|[^\s(),=!<>"]+)')
_RELATIVE = re.compile(r"^(-?\d+)([mhdw])$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


class Jql:
    """The JQL subset: AND/OR/NOT, parentheses, `=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`,
    `is [not] EMPTY` over project, key, statusCategory, status, priority, issuetype, labels, assignee,
    reporter, created, updated, duedate; relative times (-13d, -90m); ORDER BY is accepted and ignored."""

    FIELDS = {"project", "key", "issuekey", "statuscategory", "status", "priority", "issuetype", "type",
              "labels", "assignee", "reporter", "created", "updated", "duedate", "due"}

    def __init__(self, text: str, now: datetime):
        self.now = now
        body = re.split(r"\border\s+by\b", text, maxsplit=1, flags=re.IGNORECASE)[0]
        self.tokens = self._tokenize(body)
        self.pos = 0
        self.named_keys: list[str] = []  # the values of `key` clauses: Jira checks each names an issue
        if not self.tokens:
            raise JqlError("Unbounded JQL queries are not allowed here. Please add a search restriction.")
        self.tree = self._or()
        if self.pos != len(self.tokens):
            raise JqlError(f"Expecting either 'OR' or 'AND' but got '{self.tokens[self.pos]}'.")

    @staticmethod
    def _tokenize(text: str) -> list[str]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match:
                raise JqlError(f"The character '{text[pos]}' is a reserved JQL character.")
            tokens.append(match.group(1))
            pos = match.end()
        return tokens

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> str:
        token = self._peek()
        if token is None:
            raise JqlError("Expecting a field name but the query ended.")
        self.pos += 1
        return token

    def _or(self):
        items = [self._and()]
        while (self._peek() or "").upper() == "OR":
            self.pos += 1
            items.append(self._and())
        return ("or", items)

    def _and(self):
        items = [self._not()]
        while (self._peek() or "").upper() == "AND":
            self.pos += 1
            items.append(self._not())
        return ("and", items)

    def _not(self):
        if (self._peek() or "").upper() == "NOT":
            self.pos += 1
            return ("not", self._not())
        if self._peek() == "(":
            self.pos += 1
            tree = self._or()
            if self._next() != ")":
                raise JqlError("Expecting ')'.")
            return tree
        return self._clause()

    def _value(self) -> str:
        token = self._next()
        if token in ("(", ")", ","):
            raise JqlError(f"Expecting a value but got '{token}'.")
        return json.loads(token) if token.startswith('"') else token

    def _clause(self):
        name = self._next()
        if name.lower() not in self.FIELDS:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        op = self._next().lower()
        if op == "is":
            negate = (self._peek() or "").lower() == "not"
            self.pos += negate
            if self._next().lower() not in ("empty", "null"):
                raise JqlError("Expecting EMPTY or NULL after IS.")
            return ("empty", name.lower(), negate)
        if op == "not":
            if self._next().lower() != "in":
                raise JqlError("Expecting 'in' after 'not'.")
            op = "not in"
        if op in ("in", "not in"):
            if self._next() != "(":
                raise JqlError("Expecting '(' after IN.")
            values = [self._value()]
            while self._peek() == ",":
                self.pos += 1
                values.append(self._value())
            if self._next() != ")":
                raise JqlError("Expecting ')' after the IN list.")
            if name.lower() in ("key", "issuekey"):
                self.named_keys += values
            return ("in", name.lower(), op == "not in", values)
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise JqlError(f"Expecting operator but got '{op}'.")
        value = self._value()
        if name.lower() in ("key", "issuekey"):
            self.named_keys.append(value)
        return ("cmp", name.lower(), op, value)

    def only_keys(self) -> list[str] | None:
        """The keys of a query that is one `key in (...)` clause and nothing else, else None."""
        tree = self.tree
        while tree[0] in ("or", "and") and len(tree[1]) == 1:
            tree = tree[1][0]
        if tree[0] == "in" and tree[1] in ("key", "issuekey") and not tree[2]:
            return list(tree[3])
        return None

    # ---------------------------------------------------------------- evaluation

    def matches(self, issue: SimIssue) -> bool:
        return self._eval(self.tree, issue)

    def _eval(self, node, issue: SimIssue) -> bool:
        kind = node[0]
        if kind == "or":
            return any(self._eval(item, issue) for item in node[1])
        if kind == "and":
            return all(self._eval(item, issue) for item in node[1])
        if kind == "not":
            return not self._eval(node[1], issue)
        name = node[1]
        actual = self._actual(name, issue)
        if kind == "empty":
            return (actual in (None, [], set())) != node[2]
        if kind == "in":
            hit = any(self._equal(name, actual, value) for value in node[3])
            return hit != node[2]
        op, value = node[2], node[3]
        if name in ("created", "updated", "duedate", "due"):
            when = self._time(value)
            if actual is None:
                return False
            if isinstance(actual, date) and not isinstance(actual, datetime):
                actual = datetime(actual.year, actual.month, actual.day, tzinfo=timezone.utc)
            return {"=": actual == when, "!=": actual != when, "<": actual < when, "<=": actual <= when,
                    ">": actual > when, ">=": actual >= when}[op]
        if op == "=":
            return self._equal(name, actual, value)
        if op == "!=":
            return not self._equal(name, actual, value)
        raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")

    def _time(self, value: str) -> datetime:
        match = _RELATIVE.match(value.strip())
        if match:
            return self.now + timedelta(seconds=int(match[1]) * _UNITS[match[2]])
        for pattern in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
            try:
                return datetime.strptime(value, pattern).replace(tzinfo=timezone.utc)
            except ValueError:
                continue
        raise JqlError(f"Date value '{value}' for field is invalid.")

    @staticmethod
    def _actual(name: str, issue: SimIssue) -> Any:
        return {
            "project": PROJECT[0], "key": issue.key, "issuekey": issue.key,
            "statuscategory": CATEGORIES[issue.category][1], "status": issue.status, "priority": issue.priority,
            "issuetype": issue.type, "type": issue.type, "labels": [label.lower() for label in issue.labels],
            "assignee": issue.assignee, "reporter": issue.reporter, "created": issue.created,
            "updated": issue.updated, "duedate": issue.due, "due": issue.due,
        }[name]

    @staticmethod
    def _equal(name: str, actual: Any, value: str) -> bool:
        if name == "labels":
            return value.lower() in actual
        if name == "statuscategory":
            keys = {key: label for key, (_, label, _) in CATEGORIES.items()}
            value = keys.get(value, value)
        return isinstance(actual, str) and actual.lower() == value.lower()


def credentials(flavor: str, token: str = "SECRET-sim-jira-token") -> dict[str, str]:
    """The environment Steward reads its Jira credentials from, for a simulator of this flavor."""
    if flavor == CLOUD:
        return {"JIRA_EMAIL": "steward@example.com", "JIRA_API_TOKEN": token}
    return {"JIRA_TOKEN": token}


class JiraSim:
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

    # ---------------------------------------------------------------- rendering

    def _user(self, name: str | None, base: str, version: str) -> dict[str, Any] | None:
        if not name:
            return None
        if self.cloud:
            uid = account_id(name)
            return {"self": f"{base}/rest/api/{version}/user?accountId={uid}", "accountId": uid,
                    "displayName": name.replace(".", " ").title(), "active": True, "accountType": "atlassian"}
        return {"self": f"{base}/rest/api/2/user?username={name}", "name": name,
                "displayName": name.replace(".", " ").title(), "active": True}

    @staticmethod
    def _text(text: str | None, version: str) -> Any:
        """v3 answers Atlassian Document Format; v2 the text itself."""
        if text is None or version == "2":
            return text
        paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
                      for line in text.split("\n")]
        return {"type": "doc", "version": 1, "content": paragraphs}

    def _comment(self, issue: SimIssue, comment: dict[str, Any], base: str, version: str) -> dict[str, Any]:
        author = self._user(comment["author"], base, version)
        return {"self": f"{base}/rest/api/{version}/issue/{issue.id}/comment/{comment['id']}",
                "id": comment["id"], "author": author, "body": self._text(comment["body"], version),
                "updateAuthor": author, "created": jira_time(comment["created"]),
                "updated": jira_time(comment["created"])}

    def _history(self, history: dict[str, Any], base: str, version: str, epoch: bool = False) -> dict[str, Any]:
        created = history["created"]
        return {"id": history["id"], "author": self._user(history["author"], base, version),
                "created": int(created.timestamp()) if epoch else jira_time(created), "items": history["items"]}

    def _status(self, name: str, base: str, version: str) -> dict[str, Any]:
        status_id, category = STATUSES.get(name, ("0", "new"))
        cat_id, cat_name, color = CATEGORIES[category]
        return {"self": f"{base}/rest/api/{version}/status/{status_id}", "description": "", "name": name,
                "id": status_id, "statusCategory": {"self": f"{base}/rest/api/{version}/statuscategory/{cat_id}",
                                                    "id": cat_id, "key": category, "colorName": color,
                                                    "name": cat_name}}

    def render(self, key: str, base: str, version: str, fields: set[str] | None, changelog_cap: int | None,
               expand_changelog: bool, properties: Iterable[str] = ()) -> dict[str, Any]:
        issue = self.full(key)
        inline = issue.comments if self.inline_comments is None else issue.comments[:self.inline_comments]
        all_fields = {
            "summary": issue.summary,
            "description": self._text(issue.description, version),
            "issuetype": {"self": f"{base}/rest/api/{version}/issuetype/{TYPES[issue.type]}",
                          "id": TYPES[issue.type], "description": "", "name": issue.type, "subtask": False},
            "status": self._status(issue.status, base, version),
            "priority": {"self": f"{base}/rest/api/{version}/priority/{PRIORITIES[issue.priority]}",
                         "name": issue.priority, "id": PRIORITIES[issue.priority]} if issue.priority else None,
            "labels": list(issue.labels),
            "assignee": self._user(issue.assignee, base, version),
            "reporter": self._user(issue.reporter, base, version),
            "created": jira_time(issue.created),
            "updated": jira_time(issue.updated),
            "duedate": issue.due.isoformat() if issue.due else None,
            "comment": {"comments": [self._comment(issue, c, base, version) for c in inline],
                        "maxResults": len(inline),
                        "total": len(issue.comments), "startAt": 0},
            "project": {"self": f"{base}/rest/api/{version}/project/{PROJECT[1]}", "id": PROJECT[1],
                        "key": PROJECT[0], "name": PROJECT[2]},
        }
        if self.cloud:  # what Cloud adds to the Data Center shapes
            all_fields["comment"]["self"] = f"{base}/rest/api/{version}/issue/{issue.id}/comment"
            all_fields["project"].update(projectTypeKey="software", simplified=False)
        all_fields.update(issue.override)
        raw: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue.id, "self": f"{base}/rest/api/{version}/issue/{issue.id}", "key": issue.key,
            "fields": {k: v for k, v in all_fields.items() if fields is None or k in fields},
        }
        if expand_changelog:
            histories = issue.histories
            if changelog_cap is not None and len(histories) > changelog_cap:
                histories = histories[-changelog_cap:]
            shown = [self._history(h, base, version) for h in histories]
            if self.cloud:
                shown.reverse()  # Cloud lists the newest first, Data Center the oldest
            raw["changelog"] = {"startAt": 0, "maxResults": len(shown), "total": len(issue.histories),
                                "histories": shown}
        wanted = list(properties)
        if wanted:
            raw["properties"] = {k: issue.properties[k] for k in wanted if k in issue.properties}
        raw.update(issue.extra)
        return raw

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
        """The parsed query (tests/sim/jira_fields.py extends it with custom fields)."""
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

    # ---------------------------------------------------------------- reads

    def _search(self, request: Request, version: str, rest: str, base: str) -> Response:
        enhanced = rest == "search/jql"
        if self.cloud and not enhanced:
            return _errors(410, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
                                "API. A full migration guideline is available at "
                                "https://developer.atlassian.com/changelog/#CHANGE-2046")
        if not self.cloud and enhanced:
            return _errors(404, "null for uri: /rest/api/2/search/jql")
        params = _params(request)
        jql = params.get("jql", "")
        if jql not in self._searches:
            query = self.jql(jql)
            unknown = [key for key in query.named_keys if key.upper() not in self.issues]
            if unknown and not enhanced and params.get("validateQuery", "true").lower() != "false":
                return _errors(400, f"An issue with key '{unknown[0]}' does not exist for field 'key'.")
            keys = query.only_keys()
            if keys is not None:  # `key in (...)` alone: looked up, as Jira's index does, not a scan of every issue
                found = {key.upper() for key in keys} & self.issues.keys()
                self._searches[jql] = sorted(found, key=lambda k: self.issues[k].n)  # the order issues were made
            else:
                self._searches[jql] = [k for k in self._order if query.matches(self.issues[k])]
        hits = self._searches[jql]
        fields = _field_set(params.get("fields", "id" if enhanced else "*navigable"))
        keys_only = fields is not None and fields <= {"id", "key"}
        cap = KEYS_PAGE_CAP[self.flavor] if keys_only else self.page_cap
        size = max(1, min(int(params.get("maxResults") or 50), cap))
        if enhanced:
            token = params.get("nextPageToken")
            start = _decode_token(token) if token else 0
        else:
            start = int(params.get("startAt") or 0)
        keys = hits[start:start + size]
        expand = "changelog" in params.get("expand", "")
        # Data Center's classic search has no `properties` parameter (JRASERVER-62898): it is ignored there.
        properties = _csv(params.get("properties", "")) if enhanced else []
        if keys_only:  # ids only on Cloud ("`id` Returns only issue IDs"); Data Center always adds key and self
            issues = [{"id": self.issues[k].id} if enhanced else
                      {"id": self.issues[k].id, "self": f"{base}/rest/api/2/issue/{self.issues[k].id}", "key": k}
                      for k in keys]
            self.served_keys += len(issues)
        else:
            issues = self._served(keys, base, version, fields, expand, properties)
        if enhanced:
            body: dict[str, Any] = {"issues": issues, "isLast": start + size >= len(hits)}
            if not body["isLast"]:
                body["nextPageToken"] = _encode_token(start + size)
            return Response(200, body)
        return Response(200, {"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(hits),
                              "issues": issues})

    def _served(self, keys: list[str], base: str, version: str, fields: set[str] | None, expand: bool,
                properties: list[str]) -> list[dict[str, Any]]:
        """Whole issues as a search or a bulk read answers them, counted for the read floor."""
        cap = CLOUD_CHANGELOG_CAP if self.cloud else None
        issues = [self.render(k, base, version, fields, cap, expand, properties) for k in keys]
        self.served += len(issues)
        self.served_truncated += sum(1 for i in issues if len(i.get("changelog", {}).get("histories", ()))
                                     < i.get("changelog", {}).get("total", 0))
        self.served_comments_cut += sum(1 for k in keys if self.inline_comments is not None
                                        and len(self.full(k).comments) > self.inline_comments)
        return issues

    def _issue_bulkfetch(self, request: Request, base: str) -> Response:
        """Cloud's bulk issue read: up to 100 ids or keys; unknown ones are left out; ascending id order."""
        body = request.json() or {}
        wanted = body.get("issueIdsOrKeys")
        if not isinstance(wanted, list) or not 1 <= len(wanted) <= 100:
            return _errors(400, "You can request between 1 and 100 issues.")
        by_id = {issue.id: key for key, issue in self.issues.items()}
        keys = {str(k).upper() if str(k).upper() in self.issues else by_id.get(str(k)) for k in wanted} - {None}
        keys = sorted(keys, key=lambda k: int(self.issues[k].id))
        fields = _field_set(",".join(body.get("fields") or ["*navigable"]))
        issues = self._served(keys, base, "3", fields, "changelog" in (body.get("expand") or []),
                              list(body.get("properties") or []))
        return Response(200, {"issues": issues, "issueErrors": []})

    def _bulkfetch(self, request: Request, base: str) -> Response:
        body = request.json() or {}
        wanted = body.get("issueIdsOrKeys") or []
        field_ids = body.get("fieldIds") or []
        size = int(body.get("maxResults") or 1000)
        if not 1 <= len(wanted) <= 1000 or len(field_ids) > 10 or not 1 <= size <= 10000:
            return _errors(400, "issueIdsOrKeys must hold 1 to 1000 issues, fieldIds at most 10, "
                                "maxResults 1 to 10000.")
        by_id = {issue.id: key for key, issue in self.issues.items()}
        entries = []
        for ident in wanted:
            key = ident if ident in self.issues else by_id.get(str(ident))
            if key is None:
                continue
            issue = self.full(key)
            for history in issue.histories:
                items = [i for i in history["items"] if not field_ids or i.get("fieldId", i["field"]) in field_ids]
                if items:
                    entries.append((history["created"], int(issue.id), issue.id, {**history, "items": items}))
        entries.sort(key=lambda e: (e[0], e[1]))
        start = _decode_token(body["nextPageToken"]) if body.get("nextPageToken") else 0
        page: dict[str, list[dict[str, Any]]] = {}
        for _, _, issue_id, history in entries[start:start + size]:
            page.setdefault(issue_id, []).append(self._history(history, base, "3", epoch=True))
        answer: dict[str, Any] = {"issueChangeLogs": [{"issueId": i, "changeHistories": h} for i, h in page.items()]}
        if start + size < len(entries):
            answer["nextPageToken"] = _encode_token(start + size)
        return Response(200, answer)

    def _comments(self, key: str, request: Request, base: str, version: str) -> Response:
        params = _params(request)
        issue = self.full(key)
        start = int(params.get("startAt") or 0)
        size = max(1, min(int(params.get("maxResults") or 100), self.comment_page_cap))
        page = issue.comments[start:start + size]
        return Response(200, {"comments": [self._comment(issue, c, base, version) for c in page],
                              "maxResults": size, "total": len(issue.comments), "startAt": start})

    def _transitions(self, key: str, base: str, version: str) -> Response:
        current = self.issues[key].status
        options = [{"id": f"{n + 11}", "name": f"Move to {name}", "to": self._status(name, base, version),
                    "hasScreen": False, "isGlobal": True, "isInitial": False, "isAvailable": True,
                    "isConditional": False} for n, name in enumerate(STATUSES) if name != current]
        return Response(200, {"transitions": options})

    # ---------------------------------------------------------------- writes

    def _edit(self, key: str, body: dict[str, Any]) -> Response:
        """Validate everything first, then apply: a refused edit changes nothing, as in Jira."""
        issue = self.issues[key]
        labels, assignee = list(issue.labels), issue.assignee
        comments, errors, other = [], {}, {}
        for name, operations in (body.get("update") or {}).items():
            for operation in operations:
                (verb, value), = operation.items()
                if name == "comment" and verb == "add":
                    comments.append(str(value["body"]))
                elif name == "labels" and verb in ("add", "remove", "set"):
                    values = value if verb == "set" else [value]
                    bad = [v for v in values if not isinstance(v, str) or not v or re.search(r"\s", v)]
                    if bad:
                        errors["labels"] = f"The label '{bad[0]}' contains spaces which is invalid."
                    elif verb == "set":
                        labels = list(value)
                    elif verb == "add" and value not in labels:
                        labels.append(value)
                    elif verb == "remove" and value in labels:
                        labels.remove(value)
                else:
                    errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        for name, value in (body.get("fields") or {}).items():
            if name == "assignee":
                assignee = None if value is None else self._user_from(value)
                if value is not None and assignee is None:
                    errors["assignee"] = "User does not exist."
            elif name == "labels" and isinstance(value, list):
                labels = list(value)
            elif name in ("summary", "duedate", "description"):
                other[name] = value
            else:
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        properties = body.get("properties") or []
        if any(not isinstance(p, dict) or "key" not in p or "value" not in p for p in properties):
            errors["properties"] = "Each property needs a key and a value."
        if errors:
            return Response(400, {"errorMessages": [], "errors": errors})
        issue = self._materialize(key)
        now = self.now()
        items = []
        if labels != issue.labels:
            items.append(self._item("labels", issue.labels, labels))
            issue.labels = labels
        if assignee != issue.assignee:
            items.append(self._item("assignee", issue.assignee, assignee))
            issue.assignee = assignee
        if "summary" in other:
            issue.summary = str(other["summary"])
        if "description" in other:
            issue.description = other["description"]
        if "duedate" in other:
            due = date.fromisoformat(other["duedate"]) if other["duedate"] else None
            items.append(self._item("due", issue.due, due))
            issue.due = due
        if items:
            issue.histories.append({"id": self._next_id(), "author": STEWARD, "created": now, "items": items})
        for text in comments:
            issue.comments.append({"id": self._next_id(), "author": STEWARD, "body": text, "created": now})
        for prop in properties:
            issue.properties[prop["key"]] = prop["value"]
        issue.updated = now
        self._searches.clear()
        return Response(204)

    def _delete_comment(self, key: str, comment_id: str) -> Response:
        issue = self.full(key)
        if not any(c["id"] == comment_id for c in issue.comments):
            return _errors(404, f"Can not find a comment for the id: {comment_id}.")
        issue = self._materialize(key)
        issue.comments = [c for c in issue.comments if c["id"] != comment_id]
        issue.updated = self.now()
        self._searches.clear()
        return Response(204)

    def _myself(self, base: str, version: str) -> dict[str, Any]:
        """The account behind the token, as `GET /myself` describes it."""
        user = self._user(STEWARD, base, version) or {}
        user["emailAddress"] = "steward@example.com"
        if not self.cloud:
            user["key"] = STEWARD_DC_KEY
        return user

    def _user_from(self, value: Any) -> str | None:
        if not isinstance(value, dict):
            return None
        for name in USERS + (STEWARD,):
            if value.get("accountId" if self.cloud else "name") == (account_id(name) if self.cloud else name):
                return name
        return None

    def _property(self, key: str, name: str, request: Request) -> Response:
        issue = self.issues[key]
        if request.method == "GET":
            if name not in issue.properties:
                return _errors(404, f"The property with key '{name}' does not exist.")
            return Response(200, {"key": name, "value": issue.properties[name]})
        if request.method == "PUT":
            value = request.json()
            if value is None:
                return _errors(400, "The property value must be valid, non-empty JSON.")
            issue = self._materialize(key)
            created = name not in issue.properties
            issue.properties[name] = value
            return Response(201 if created else 200)
        return _errors(405, "Method not allowed")

    def _transition(self, key: str, body: dict[str, Any]) -> Response:
        wanted = str(_dictget(body, "transition", "id"))
        for n, name in enumerate(STATUSES):
            if f"{n + 11}" == wanted and name != self.issues[key].status:
                issue = self._materialize(key)
                item = self._item("status", issue.status, name)
                issue.status, issue.updated = name, self.now()
                issue.histories.append({"id": self._next_id(), "author": STEWARD, "created": issue.updated,
                                        "items": [item]})
                self._searches.clear()
                return Response(204)
        return Response(400, {"errorMessages": ["It seems that you have tried to perform a workflow operation "
                                                f"({wanted}) that is not valid for the current state."],
                              "errors": {}})

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


# ---------------------------------------------------------------- helpers

def _errors(status: int, message: str) -> Response:
    return Response(status, {"errorMessages": [message], "errors": {}})


def _params(request: Request) -> dict[str, str]:
    """Query parameters; a repeated one joined with commas, as Jira reads `fields` given twice."""
    return {name: ",".join(values) for name, values in request.query.items()}


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _field_set(text: str) -> set[str] | None:
    """None means every field (`*all`, `*navigable`)."""
    parts = set(_csv(text))
    return None if parts & {"*all", "*navigable"} else parts


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"bad nextPageToken {token!r}") from error


def _dictget(data: Any, *path: str) -> Any:
    for name in path:
        data = data.get(name) if isinstance(data, dict) else None
    return data

