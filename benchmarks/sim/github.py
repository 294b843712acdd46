"""A GitHub simulator: the GraphQL issue reads and the REST endpoints Steward uses, on `SimServer`.

It holds one repository with `issues` issues whose history is generated from `seed` (the same seed
always gives the same repository). Issues are generated on demand from (seed, number) and only kept once
something writes to them, so a 100,000-issue repository costs memory only for what changed.

What it serves, shaped like GitHub's answers (tests/trackers/test_github_shapes.py compares them with vendor
examples):

- GraphQL (`POST /graphql`, or `/api/graphql` under a GHES prefix): the adapter's queries, told apart by
  their shape: the sweep (`repository.issues` with cursors, `states`, `filterBy.since` and `orderBy`), one
  issue (`repository.issue`), the nested timeline page (`issue.timelineItems(after: ...)`), and several
  issues by number under aliases (`i0: issue(number: $n0)`): whole (the re-check) or only their newest
  comments (`comments(last:)`, the reconcile). An issue that does not exist is null with a NOT_FOUND error.
  Any other query gets a GraphQL error. Cursors are opaque and, as on GitHub, carry the sort key: an issue
  updated during a sweep ordered by UPDATED_AT moves behind the cursor and is returned again.
- REST (benchmarks/sim/github_rest.py): list issues (`state`, `sort`, `direction`, `since`, page numbers with a
  `Link` header), one issue, its comments (`since`), timeline and events; repository labels (list, create);
  issue labels (add, remove); comments (create, edit, delete); assignees (add: a login without push access
  is dropped silently, as GitHub does); issue state (PATCH); `GET /user`.

The issues themselves come from benchmarks/sim/github_data.py. Request kinds (for `SimServer.requests`): see
`READ_KINDS` and `WRITE_KINDS`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from steward.core.markers import find_markers, format_marker
from steward.core.model import Marker

from .github_data import (
    CLASSES,
    DOCS,
    ITEM_TYPES,
    NAME,
    NAMES,
    OWNER,
    PRIORITIES,
    READ_KINDS,
    REST_EVENT_NAMES,
    SIM_NOW,
    TIMELINE_TYPENAMES,
    USERS,
    VIEWER,
    WRITE_KINDS,
    Event,
    SimIssue,
    cursor,
    generate,
    not_found,
    parse_stamp,
    request_json,
    rest_user,
    rest_viewer,
    stamp,
    uncursor,
)
from .github_projects import PROJECT_KINDS, ProjectsSim
from .github_rest import GitHubRest
from .github_search import SearchAndLinks
from .server import Request, Response

# Re-exported: tests and benchmarks import the simulator's names from here.
__all__ = ["CLASSES", "DOCS", "ITEM_TYPES", "NAME", "OWNER", "PRIORITIES", "READ_KINDS", "REPO", "REST_EVENT_NAMES",
           "SIM_NOW", "TIMELINE_TYPENAMES", "TOKEN", "USERS", "VIEWER", "WRITE_KINDS", "Event", "GitHubSim",
           "SimIssue", "generate", "marker_text", "parse_stamp", "problems_after_apply", "rest_user", "rest_viewer",
           "run_args", "run_cli", "stamp", "steward_env"]


class GitHubSim(ProjectsSim, SearchAndLinks, GitHubRest):
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
        self._total: tuple[Any, int] = (None, 0)  # the sweep's last totalCount, by what it depends on
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
            query = str((request_json(request) or {}).get("query", ""))
            if self.project_kind(query):
                return str(self.project_kind(query))
            if "issues(first" in query:
                return "graphql_sweep"
            if "search(" in query:
                return "graphql_search"
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
            return "rest_issues" if method == "GET" else "rest_issue_create"
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
            return self._graphql(kind, request_json(request) or {})
        _, parts = self._route(request)
        if kind == "rest_user":
            return Response(200, rest_viewer(VIEWER))
        if kind == "rest_unknown" or (parts[1], parts[2]) != (self.owner, self.name):
            return not_found()
        handler = getattr(self, f"_{kind}", None)
        return handler(request, parts) if handler else not_found()

    # -- GraphQL

    def _graphql(self, kind: str, payload: dict[str, Any]) -> Response:
        query, variables = str(payload.get("query", "")), payload.get("variables") or {}
        if not self.issue_types and "issueType" in query:
            return _graphql_error("Field 'issueType' doesn't exist on type 'Issue'", "undefinedField")
        if kind == "graphql_unknown":
            return _graphql_error("Simulated GitHub does not know this query", "undefinedField")
        if kind in PROJECT_KINDS:
            return self._projects_graphql(kind, variables)
        if kind == "graphql_search":
            return self._search(query, variables, int(_query_number(query, r"timelineItems\(first:\s*(\d+)") or 100),
                                set(_query_list(query, r"itemTypes:\s*\[([^\]]*)\]")))
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
            timeline = self._timeline(issue, uncursor(variables.get("cursor")) or 0, page_size, types)
            return Response(200, {"data": {"repository": {"issue": {"timelineItems": timeline}}}})
        return Response(200, {"data": {"repository": {"issue": self._node(issue, query, page_size, types)}}})

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
                data[alias] = self._node(issue, query, page_size, types)
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
        since = parse_stamp(variables["since"]) if variables.get("since") else None
        states = set(variables.get("states") or ["OPEN", "CLOSED"])
        chunk = self._ordered(order, states, since, uncursor(variables.get("cursor")), first + 1)
        more, chunk = len(chunk) > first, chunk[:first]
        end = cursor(self._sort_key(order, chunk[-1])) if chunk else None
        nodes = []
        for number in chunk:
            issue = self.issue(number)
            assert issue is not None
            # The light query a degraded sweep steps past issues with asks for numbers only.
            nodes.append({"number": number} if "nodes { number }" in query else
                         self._node(issue, query, page_size, types))
        answer: dict[str, Any] = {"pageInfo": {"hasNextPage": more, "endCursor": end}, "nodes": nodes}
        if re.search(r"\)\s*\{\s*totalCount", query):  # the issues' total, where the sweep asks for it
            key = (order, tuple(sorted(states)), since, self.clock, len(self.changed))  # any write changes it
            if self._total[0] != key:
                self._total = (key, len(self._ordered(order, states, since)))
            answer = {"totalCount": self._total[1], **answer}
        return answer

    def _node(self, issue: SimIssue, query: str, page_size: int, types: set[str]) -> dict[str, Any]:
        """An issue as the query asks for it: with `issueType` and people's names only where asked."""
        with_type = "issueType" in query
        node: dict[str, Any] = {
            "number": issue.number, "url": f"https://github.com/{self.owner}/{self.name}/issues/{issue.number}",
            "title": issue.title, "body": issue.body, "state": issue.state.upper(),
            "stateReason": issue.state_reason.upper() if issue.state_reason else None,
            "createdAt": stamp(issue.created), "updatedAt": stamp(issue.updated), "closedAt": stamp(issue.closed_at),
            "author": _person(issue.author, "... on User { name }" in query) if issue.author else None,
        }
        if with_type:
            node["issueType"] = {"name": issue.issue_type} if issue.issue_type else None
        node.update({
            "milestone": {"title": issue.milestone[0], "dueOn": stamp(issue.milestone[1])} if issue.milestone else None,
            "labels": {"nodes": [{"name": name} for name in issue.labels[:100]]},
            "assignees": {"nodes": [{"login": login, "name": NAMES.get(login)} if "login name" in query else
                                    {"login": login} for login in issue.assignees[:20]]},
            "timelineItems": self._timeline(issue, 0, page_size, types),
        })
        node.update(self._links(issue, query))
        node.update(self._project_items(issue, query))
        node.update(issue.extra)
        return node

    def _timeline(self, issue: SimIssue, offset: int, page_size: int, types: set[str]) -> dict[str, Any]:
        items = [e for e in issue.events if e.raw is not None or not types or ITEM_TYPES[e.kind] in types]
        page = items[offset:offset + page_size]
        more = offset + page_size < len(items)
        return {"totalCount": len(items),
                "pageInfo": {"hasNextPage": more, "endCursor": cursor(offset + len(page)) if page else None},
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


def _person(login: str, named: bool) -> dict[str, Any]:
    """An issue's author as GitHub answers `author { __typename login ... on User { name } }` (or `{ login }`)."""
    if not named:
        return {"login": login}
    if login.endswith("[bot]"):
        return {"__typename": "Bot", "login": login}
    return {"__typename": "User", "login": login, "name": NAMES.get(login)}


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
