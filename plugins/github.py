"""The GitHub tracker (GitHub.com and GitHub Enterprise Server) on PyGithub, and `steward event`.

Reads: a sweep asks GraphQL for 100 issues per request, each with its labels, assignees, milestone and
its first 100 timeline items (comments, labeled, unlabeled, assigned, unassigned, renamed, closed,
reopened). Only an issue with more than 100 timeline items costs follow-up requests. GraphQL's
`repository.issues` never contains pull requests. The REST timeline (one request per issue) is a
fallback, used when GraphQL is unavailable or when `STEWARD_GITHUB_READS=rest`.

Issue keys are `#123`; `Issue.project` is `OWNER/REPO`. Status is `open` or `closed` (status category
`todo` or `done`); `extra["state_reason"]` keeps GitHub's reason. Priority is a label family (default
prefix `priority:`, see `priority_of`). The due date is the milestone's due date, where there is one.

Writes: every marked step is one comment carrying the hidden marker (a step without a comment action
gets a short comment so its marker is recorded); labels are added and removed one at a time (a label
missing from the repository is created first); `transition` accepts `open`, `closed`, `completed` or
`not_planned`. Content writes are paced for GitHub's secondary limit; 403/429 responses that carry
`retry-after` or `x-ratelimit-reset` are waited out; a comment whose POST failed with a 5xx or a
connection error is only re-sent after the issue's comments were read back without its marker. Label,
assignee and state writes are idempotent, so they are simply sent again.

GitHub has no request that writes a comment and labels together, so a run can die between them. The
comments go first and are the commit point: each carries, next to its marker, the changes its step makes
(`<!-- steward:changes {...} -->`). A later read that finds a marked comment whose changes never reached
the issue (no such label now, and no label event since the comment) treats that step as not taken, and
`apply` then writes only the missing changes, never the comment again. Writing the labels first instead
would let a step's own label exempt its rule (`escalated` exempts `blocked-without-escalation`), and the
comment would never follow.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
import requests
from github import Auth, Github, GithubException

from steward.core.hookspecs import hookimpl
from steward.core.markers import dedupe, find_markers, format_marker, with_marker
from steward.core.model import Change, Comment, Issue, Marker, Step
from steward.core.registry import TrackerError
from steward.core.timeutil import format_time, parse_time

log = logging.getLogger("steward.github")

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_PRIORITY_PREFIX = "priority:"
PAGE_SIZE = 100
TIMELINE_PAGE = 100
WRITES_PER_MINUTE = 80
WRITES_PER_HOUR = 500
MAX_RATE_WAIT = 15 * 60  # seconds; a longer wait is reported instead of slept through
MAX_ATTEMPTS = 4
DEFAULT_TIMEOUT = 15  # seconds per HTTP request (PyGithub's default); STEWARD_HTTP_TIMEOUT changes it
DEFAULT_STEWARD_LOGINS = ("github-actions[bot]",)
SUMMARY_LIMIT = 1024 * 1024 - 4096
NEW_LABEL_COLOR = "ededed"

# Time sources, replaceable as a whole by tests (which never really sleep).
CLOCK: Callable[[], float] = time.monotonic
SLEEP: Callable[[float], None] = time.sleep
WALL_CLOCK: Callable[[], float] = time.time

TIMELINE_TYPES = ("ISSUE_COMMENT", "LABELED_EVENT", "UNLABELED_EVENT", "ASSIGNED_EVENT", "UNASSIGNED_EVENT",
                  "RENAMED_TITLE_EVENT", "CLOSED_EVENT", "REOPENED_EVENT")

_ACTOR = "actor { login }"
_ASSIGNEE = ("assignee { __typename ... on User { login } ... on Bot { login } ... on Mannequin { login } "
             "... on Organization { login } }")
TIMELINE_FIELDS = f"""
  totalCount
  pageInfo {{ hasNextPage endCursor }}
  nodes {{
    __typename
    ... on IssueComment {{ author {{ login }} createdAt body }}
    ... on LabeledEvent {{ {_ACTOR} createdAt label {{ name }} }}
    ... on UnlabeledEvent {{ {_ACTOR} createdAt label {{ name }} }}
    ... on AssignedEvent {{ {_ACTOR} createdAt {_ASSIGNEE} }}
    ... on UnassignedEvent {{ {_ACTOR} createdAt {_ASSIGNEE} }}
    ... on RenamedTitleEvent {{ {_ACTOR} createdAt previousTitle currentTitle }}
    ... on ClosedEvent {{ {_ACTOR} createdAt stateReason }}
    ... on ReopenedEvent {{ {_ACTOR} createdAt }}
  }}"""


def _issue_fields(with_type: bool) -> str:
    issue_type = "issueType { name }" if with_type else ""
    return f"""
  number url title body state stateReason createdAt updatedAt closedAt
  author {{ login }}
  {issue_type}
  milestone {{ title dueOn }}
  labels(first: 100) {{ nodes {{ name }} }}
  assignees(first: 20) {{ nodes {{ login }} }}
  timelineItems(first: {TIMELINE_PAGE}, itemTypes: [{", ".join(TIMELINE_TYPES)}]) {{{TIMELINE_FIELDS}
  }}"""


def sweep_query(with_type: bool = True) -> str:
    # Ordered by creation, which never changes: GitHub's cursors carry the sort key, so with UPDATED_AT an
    # issue Steward writes to during the sweep would move behind the cursor and be read a second time.
    return f"""query($owner: String!, $name: String!, $first: Int!, $cursor: String, $states: [IssueState!],
      $since: DateTime) {{
  repository(owner: $owner, name: $name) {{
    issues(first: $first, after: $cursor, states: $states, filterBy: {{since: $since}},
           orderBy: {{field: CREATED_AT, direction: ASC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{{_issue_fields(with_type)}
      }}
    }}
  }}
}}"""


def issue_query(with_type: bool = True) -> str:
    return f"""query($owner: String!, $name: String!, $number: Int!) {{
  repository(owner: $owner, name: $name) {{
    issue(number: $number) {{{_issue_fields(with_type)}
    }}
  }}
}}"""


_TYPES = ", ".join(TIMELINE_TYPES)
TIMELINE_QUERY = f"""query($owner: String!, $name: String!, $number: Int!, $cursor: String) {{
  repository(owner: $owner, name: $name) {{
    issue(number: $number) {{
      timelineItems(first: {TIMELINE_PAGE}, after: $cursor, itemTypes: [{_TYPES}]) {{{TIMELINE_FIELDS}
      }}
    }}
  }}
}}"""


# ---------------------------------------------------------------------------------------------- pacing


class Pacer:
    """Spaces content writes (~80 a minute, 500 an hour). `clock` and `sleep` are injectable for tests.

    `per_minute=0` turns pacing off: GitHub Enterprise Server has no secondary limits unless an admin sets
    them, and a simulator has none.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 per_minute: int = WRITES_PER_MINUTE, per_hour: int = WRITES_PER_HOUR):
        self.clock = clock
        self.sleep = sleep
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.per_hour = per_hour
        self.recent: deque[float] = deque()
        self.slept = 0.0

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.slept += seconds
            self.sleep(seconds)

    def before_write(self) -> None:
        if self.interval == 0:
            return
        now = self.clock()
        while self.recent and now - self.recent[0] >= 3600:
            self.recent.popleft()
        if len(self.recent) >= self.per_hour:
            self.wait(self.recent[0] + 3600 - now)
        elif self.recent:
            self.wait(self.recent[-1] + self.interval - now)
        self.recent.append(self.clock())


# --------------------------------------------------------------------------------------------- parsing


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


def _login(value: Any) -> str | None:
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


@dataclass
class _Event:
    """One history item, tracker-neutral enough for both GraphQL and REST reads."""

    kind: str  # comment, labeled, unlabeled, assigned, unassigned, renamed, closed, reopened
    actor: str | None
    at: datetime
    value: str | None = None
    previous: str | None = None


def _graphql_event(node: dict[str, Any]) -> _Event | None:
    kind = {"IssueComment": "comment", "LabeledEvent": "labeled", "UnlabeledEvent": "unlabeled",
            "AssignedEvent": "assigned", "UnassignedEvent": "unassigned", "RenamedTitleEvent": "renamed",
            "ClosedEvent": "closed", "ReopenedEvent": "reopened"}.get(node.get("__typename", ""))
    at = _time(node.get("createdAt"))
    if kind is None or at is None:
        return None
    if kind == "comment":
        return _Event(kind, _login(node.get("author")), at, node.get("body") or "")
    actor = _login(node.get("actor"))
    if kind in ("labeled", "unlabeled"):
        name = (node.get("label") or {}).get("name")
        return _Event(kind, actor, at, name) if name else None
    if kind in ("assigned", "unassigned"):
        return _Event(kind, actor, at, _login(node.get("assignee")))
    if kind == "renamed":
        return _Event(kind, actor, at, node.get("currentTitle"), node.get("previousTitle"))
    if kind == "closed":
        return _Event(kind, actor, at, (node.get("stateReason") or "").lower() or None)
    return _Event(kind, actor, at)


def _rest_event(item: dict[str, Any]) -> _Event | None:
    kind = {"commented": "comment", "labeled": "labeled", "unlabeled": "unlabeled", "assigned": "assigned",
            "unassigned": "unassigned", "renamed": "renamed", "closed": "closed",
            "reopened": "reopened"}.get(item.get("event", ""))
    at = _time(item.get("created_at"))
    if kind is None or at is None:
        return None
    if kind == "comment":
        return _Event(kind, _login(item.get("user")) or _login(item.get("actor")), at, item.get("body") or "")
    actor = _login(item.get("actor"))
    if kind in ("labeled", "unlabeled"):
        name = (item.get("label") or {}).get("name")
        return _Event(kind, actor, at, name) if name else None
    if kind in ("assigned", "unassigned"):
        return _Event(kind, actor, at, _login(item.get("assignee")))
    if kind == "renamed":
        rename = item.get("rename") or {}
        return _Event(kind, actor, at, rename.get("to"), rename.get("from"))
    if kind == "closed":
        return _Event(kind, actor, at, item.get("state_reason"))
    return _Event(kind, actor, at)


@dataclass
class _RawIssue:
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
    events: list[_Event] = field(default_factory=list)


def _raw_from_graphql(node: dict[str, Any]) -> _RawIssue:
    milestone = node.get("milestone") or {}
    return _RawIssue(
        number=int(node["number"]), url=node.get("url"), title=node.get("title") or "",
        body=node.get("body") or "", state=(node.get("state") or "OPEN").lower(),
        state_reason=(node.get("stateReason") or "").lower() or None,
        created=_time(node.get("createdAt")), updated=_time(node.get("updatedAt")),
        author=_login(node.get("author")), type=(node.get("issueType") or {}).get("name"),
        labels=[n["name"] for n in (node.get("labels") or {}).get("nodes") or [] if n and n.get("name")],
        assignees=[n["login"] for n in (node.get("assignees") or {}).get("nodes") or [] if n and n.get("login")],
        due=_time(milestone.get("dueOn")), milestone=milestone.get("title"),
    )


def _raw_from_rest(item: dict[str, Any]) -> _RawIssue:
    milestone = item.get("milestone") or {}
    issue_type = item.get("type")
    return _RawIssue(
        number=int(item["number"]), url=item.get("html_url"), title=item.get("title") or "",
        body=item.get("body") or "", state=(item.get("state") or "open").lower(),
        state_reason=item.get("state_reason"), created=_time(item.get("created_at")),
        updated=_time(item.get("updated_at")), author=_login(item.get("user")),
        type=issue_type.get("name") if isinstance(issue_type, dict) else None,
        labels=[label["name"] for label in item.get("labels") or [] if isinstance(label, dict) and label.get("name")],
        assignees=[a["login"] for a in item.get("assignees") or [] if isinstance(a, dict) and a.get("login")],
        due=_time(milestone.get("due_on")), milestone=milestone.get("title"),
    )


def build_issue(raw: _RawIssue, repo: str, prefix: str) -> Issue:
    """The tracker-neutral issue: comments, one Change per label, priority changes from the label family."""
    comments: list[Comment] = []
    changes: list[Change] = []
    family: list[str] = []  # priority labels present while replaying the history, oldest first
    for event in sorted(raw.events, key=lambda e: e.at):
        if event.kind == "comment":
            body = event.value or ""
            comments.append(Comment(author=event.actor, created=event.at, body=body,
                                    by_steward=bool(find_markers(body))))
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
    markers: list[Marker] = []
    interrupted: list[str] = []
    for comment in comments:
        if not comment.by_steward:
            continue
        found = find_markers(comment.body)
        if _unfinished(comment, raw):
            interrupted += [f"{m.rule}@{m.level}" for m in found]
        else:
            markers += found
    if interrupted:
        log.info("#%s: step(s) %s were interrupted after their comment; finishing them", raw.number,
                 ", ".join(interrupted))
    markers = dedupe(markers)
    return Issue(
        key=f"#{raw.number}", url=raw.url, tracker=f"github:{repo}", project=repo, title=raw.title,
        body=raw.body, type=raw.type, status=raw.state,
        status_category="done" if raw.state == "closed" else "todo",
        priority=current[0] if current else None, labels=list(raw.labels),
        assignee=raw.assignees[0] if raw.assignees else None, reporter=raw.author,
        created=raw.created, updated=raw.updated, due=raw.due, comments=comments, changes=changes,
        markers=markers,
        extra={"number": raw.number, "assignees": list(raw.assignees), "state_reason": raw.state_reason,
               "milestone": raw.milestone, "interrupted_steps": interrupted},
    )


_CHANGES = re.compile(r"<!--\s*steward:changes\s+(\{.*?\})\s*-->")
_TARGET_STATE = {"open": "open", "reopened": "open", "closed": "closed", "completed": "closed",
                 "not_planned": "closed"}


def step_changes(step: Step) -> dict[str, Any]:
    """What a step changes besides its comment, in the form its comment announces it."""
    changes: dict[str, Any] = {}
    for action in step.actions:
        if action.type in ("add_labels", "remove_labels"):
            changes.setdefault("add" if action.type == "add_labels" else "remove", []).extend(action.value)
        elif action.type == "assign":
            changes.setdefault("assign", []).append(str(action.value))
        elif action.type == "transition" and str(action.value).strip().lower() in _TARGET_STATE:
            changes["state"] = _TARGET_STATE[str(action.value).strip().lower()]
    return changes


def format_changes(changes: dict[str, Any]) -> str:
    # `>` is escaped so that no label name can close the HTML comment early.
    text = json.dumps(changes, sort_keys=True).replace(">", "\\u003e")
    return f"<!-- steward:changes {text} -->"


def _unfinished(comment: Comment, raw: _RawIssue) -> bool:
    """Whether a Steward comment announces changes that never reached the issue (the run died after it).

    A change counts as made when the issue shows it now or when anything happened to that label, assignee
    or state since the comment: a person may have undone it, and Steward must not redo it.
    """
    match = _CHANGES.search(comment.body)
    if not match:
        return False
    try:
        changes = json.loads(match.group(1))
    except ValueError:
        return False
    if not isinstance(changes, dict):
        return False
    since = [e for e in raw.events if e.at >= comment.created]
    # GitHub matches label names regardless of case: adding `escalated` may apply an existing `Escalated`.
    labels = {label.casefold() for label in raw.labels}
    labels_touched = {(e.value or "").casefold() for e in since if e.kind in ("labeled", "unlabeled")}
    assignees_touched = {e.value for e in since if e.kind in ("assigned", "unassigned")}
    wanted = [str(label).casefold() for label in changes.get("add") or []]
    unwanted = [str(label).casefold() for label in changes.get("remove") or []]
    if any(label not in labels and label not in labels_touched for label in wanted):
        return True
    if any(label in labels and label not in labels_touched for label in unwanted):
        return True
    if any(login not in raw.assignees and login not in assignees_touched for login in changes.get("assign") or []):
        return True
    state = changes.get("state")
    return bool(state and raw.state != state and not any(e.kind in ("closed", "reopened") for e in since))


# --------------------------------------------------------------------------------------------- tracker


def _parse_query(query: str | None) -> dict[str, Any]:
    """`state:open|closed|all` and `number:N` (or `#N`), space separated. Default: open issues."""
    parsed: dict[str, Any] = {"state": "open", "number": None}
    for word in (query or "").split():
        name, _, value = word.partition(":")
        if word.startswith("#") and word[1:].isdigit():
            parsed["number"] = int(word[1:])
        elif name == "number" and value.isdigit():
            parsed["number"] = int(value)
        elif name == "state" and value in ("open", "closed", "all"):
            parsed["state"] = value
        else:
            raise TrackerError(f"unsupported GitHub query {word!r}: use state:open|closed|all or number:N")
    return parsed


class GitHubTracker:
    name = "github"

    def __init__(self, repo: str, token: str | None, url: str | None = None, *,
                 priority_prefix: str = DEFAULT_PRIORITY_PREFIX, page_size: int = PAGE_SIZE,
                 reads: str = "graphql", clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None, wall_clock: Callable[[], float] | None = None,
                 timeout: int = DEFAULT_TIMEOUT, pacer: Pacer | None = None):
        owner, _, name = (repo or "").partition("/")
        if not owner or not name or "/" in name:
            raise TrackerError("--tracker github:OWNER/REPO needs the repository, e.g. github:octo-org/octo-repo")
        if not token:
            raise TrackerError("set GITHUB_TOKEN to a token that can read issues (and write them for apply)")
        if reads not in ("graphql", "rest"):
            raise TrackerError(f"STEWARD_GITHUB_READS must be graphql or rest, not {reads!r}")
        self.repo, self.owner, self.repo_name = repo, owner, name
        self.base_url = (url or DEFAULT_API_URL).rstrip("/")
        # No PyGithub retries or sleeps: this adapter paces and retries itself, with an injectable sleeper.
        self.github = Github(auth=Auth.Token(token), base_url=self.base_url, retry=None, per_page=100,
                             seconds_between_requests=None, seconds_between_writes=None, timeout=timeout)
        self.requester = self.github.requester
        self.prefix = priority_prefix
        self.page_size = page_size
        self.reads = reads
        self.with_type = True
        self.pacer = pacer or Pacer(clock or CLOCK, sleep or SLEEP)
        self.wall_clock = wall_clock or WALL_CLOCK
        self.requests = {"graphql": 0, "rest_read": 0, "write": 0}
        self._repo_labels: set[str] | None = None

    # -- transport

    @property
    def request_count(self) -> int:
        return sum(self.requests.values())

    def _rate_wait(self, error: GithubException, attempt: int) -> float | None:
        """Seconds to wait before retrying a rate-limited request, or None when it is not rate limiting."""
        headers = {k.lower(): v for k, v in (error.headers or {}).items()}
        message = str((error.data or {}).get("message", "") if isinstance(error.data, dict) else "").lower()
        errors = error.data.get("errors") if isinstance(error.data, dict) else None
        graphql_limited = isinstance(errors, list) and any(
            isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors)
        limited = error.status == 429 or graphql_limited or (error.status == 403 and (
            "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message))
        if not limited:
            return None
        if "retry-after" in headers:
            try:
                return max(float(headers["retry-after"]), 0.0)
            except ValueError:
                pass
        if "x-ratelimit-reset" in headers:
            try:
                return max(float(headers["x-ratelimit-reset"]) - self.wall_clock(), 0.0) + 1
            except ValueError:
                pass
        return 60.0 * 2 ** attempt  # GitHub: wait at least a minute when neither header is given

    def _call(self, kind: str, send: Callable[[], tuple[dict[str, Any], Any]], what: str,
              retry_server_errors: bool) -> tuple[dict[str, Any], Any]:
        for attempt in range(MAX_ATTEMPTS):
            if kind == "write":
                self.pacer.before_write()
            self.requests[kind] += 1
            try:
                return send()
            except GithubException as error:
                wait = self._rate_wait(error, attempt)
                if wait is not None and attempt + 1 < MAX_ATTEMPTS:
                    if wait > MAX_RATE_WAIT:
                        raise TrackerError(f"GitHub rate limit on {what}: it resets in {int(wait)} s; "
                                           f"run again later") from None
                    log.info("rate limited on %s; waiting %.0f s", what, wait)
                    self.pacer.wait(wait)
                    continue
                if error.status >= 500 and retry_server_errors and attempt + 1 < MAX_ATTEMPTS:
                    self.pacer.wait(2.0 ** attempt)
                    continue
                raise GitHubError(self._explain(error, what), error.status, error.data) from None
            except requests.exceptions.RequestException as error:
                if retry_server_errors and attempt + 1 < MAX_ATTEMPTS:
                    self.pacer.wait(2.0 ** attempt)
                    continue
                raise TrackerError(f"cannot reach GitHub at {self.base_url} for {what}: "
                                   f"{type(error).__name__}") from None
        raise TrackerError(f"GitHub kept refusing {what} after {MAX_ATTEMPTS} attempts; run again later")

    def _explain(self, error: GithubException, what: str) -> str:
        data = error.data if isinstance(error.data, dict) else {}
        message = data.get("message")
        if not message and isinstance(data.get("errors"), list):  # GraphQL errors
            message = "; ".join(str(e.get("message", e)) for e in data["errors"] if isinstance(e, dict))
        hint = {401: "the token is invalid or expired: check GITHUB_TOKEN",
                403: "the token lacks permission: the workflow needs `permissions: {issues: write}` "
                     "(read-only for plan)",
                404: f"{self.repo} or the issue was not found, or the token cannot see it",
                410: "issues are disabled in this repository"}.get(error.status, "")
        return " ".join(p for p in (f"GitHub answered {error.status} to {what}:", message or "", hint) if p)

    def _rest(self, verb: str, path: str, *, parameters: dict[str, Any] | None = None, body: Any = None,
              what: str) -> tuple[dict[str, Any], Any]:
        """A REST read, or an idempotent write (labels, assignees, state): both are safe to send again after a
        5xx or a lost connection. Comments are not idempotent and go through `_comment`."""
        kind = "rest_read" if verb == "GET" else "write"
        return self._call(kind, lambda: self.requester.requestJsonAndCheck(verb, path, parameters=parameters,
                                                                           input=body),
                          what, retry_server_errors=True)

    def _graphql(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        _, data = self._call("graphql", lambda: self.requester.graphql_query(query, variables), what,
                             retry_server_errors=True)
        return data["data"]

    # -- reads

    def fetch(self, query: str | None = None, since: datetime | None = None) -> Iterator[list[Issue]]:
        parsed = _parse_query(query)
        if parsed["number"] is not None:
            yield [self.fetch_issue(parsed["number"])]
            return
        if self.reads == "graphql":
            try:
                yield from self._sweep_graphql(parsed["state"], since)
                return
            except _GraphQLUnavailable as reason:
                log.warning("GitHub GraphQL unavailable (%s): falling back to REST reads, one request per issue",
                            reason)
                self.reads = "rest"
        yield from self._sweep_rest(parsed["state"], since)

    def fetch_issue(self, number: int) -> Issue:
        if self.reads == "graphql":
            try:
                data = self._graphql_with_type(issue_query, {"owner": self.owner, "name": self.repo_name,
                                                             "number": number}, f"issue #{number}")
                node = (data.get("repository") or {}).get("issue")
                if node is None:
                    raise TrackerError(f"issue #{number} not found in {self.repo}")
                return self._from_graphql_node(node)
            except _GraphQLUnavailable as reason:
                log.warning("GitHub GraphQL unavailable (%s): falling back to REST reads", reason)
                self.reads = "rest"
        _, item = self._rest("GET", f"/repos/{self.owner}/{self.repo_name}/issues/{number}",
                             what=f"reading issue #{number}")
        if "pull_request" in item:
            raise TrackerError(f"#{number} is a pull request; Steward evaluates issues only")
        return self._from_rest_item(item)

    def _graphql_with_type(self, make_query: Callable[[bool], str], variables: dict[str, Any],
                           what: str) -> dict[str, Any]:
        """Run a query; if the server does not know `issueType` (older GHES), run it again without it."""
        try:
            return self._graphql(make_query(self.with_type), variables, what)
        except GitHubError as error:
            if self.with_type and "issueType" in str(error):
                self.with_type = False
                return self._graphql(make_query(False), variables, what)
            if error.status == 404 and "errors" not in (error.data or {}):  # no GraphQL endpoint at all
                raise _GraphQLUnavailable(str(error)) from None
            raise

    def _sweep_graphql(self, state: str, since: datetime | None) -> Iterator[list[Issue]]:
        states = {"open": ["OPEN"], "closed": ["CLOSED"], "all": ["OPEN", "CLOSED"]}[state]
        cursor = None
        while True:
            variables = {"owner": self.owner, "name": self.repo_name, "first": self.page_size, "cursor": cursor,
                         "states": states, "since": format_time(since) if since else None}
            data = self._graphql_with_type(sweep_query, variables, "reading issues")
            repository = data.get("repository")
            if repository is None:
                raise TrackerError(f"repository {self.repo} not found, or the token cannot see it")
            connection = repository["issues"]
            yield self._readable(connection.get("nodes") or [], self._from_graphql_node)
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return
            cursor = page.get("endCursor")

    @staticmethod
    def _readable(items: list[Any], convert: Callable[[dict[str, Any]], Issue]) -> list[Issue]:
        """The issues of one page; one GitHub sent in a shape Steward cannot read is skipped with a warning
        that names it, so a single odd issue never ends a sweep."""
        issues = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                log.warning("skipped item %d of a page of issues: GitHub sent %r instead of an issue", index + 1,
                            type(item).__name__ if item is not None else None)
                continue
            try:
                issues.append(convert(item))
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                name = f"#{item['number']}" if item.get("number") is not None else item.get("url") or \
                    item.get("html_url") or f"item {index + 1} of a page"
                log.warning("%s: skipped: GitHub's data for it could not be read (%s: %s)", name,
                            type(error).__name__, error)
        return issues

    def _from_graphql_node(self, node: dict[str, Any]) -> Issue:
        raw = _raw_from_graphql(node)
        timeline = node.get("timelineItems") or {}
        nodes = list(timeline.get("nodes") or [])
        page = timeline.get("pageInfo") or {}
        while page.get("hasNextPage"):  # only issues with more than 100 timeline items get here
            data = self._graphql(TIMELINE_QUERY, {"owner": self.owner, "name": self.repo_name,
                                                  "number": raw.number, "cursor": page.get("endCursor")},
                                 f"reading the history of #{raw.number}")
            more = ((data.get("repository") or {}).get("issue") or {}).get("timelineItems") or {}
            nodes += more.get("nodes") or []
            page = more.get("pageInfo") or {}
        raw.events = [e for e in (_graphql_event(n) for n in nodes if n) if e is not None]
        return build_issue(raw, self.repo, self.prefix)

    def _rest_pages(self, path: str, parameters: dict[str, Any], what: str) -> Iterator[list[Any]]:
        url: str | None = path
        params: dict[str, Any] | None = dict(parameters, per_page=self.page_size)
        while url:
            headers, items = self._rest("GET", url, parameters=params, what=what)
            yield items if isinstance(items, list) else []
            url, params = _next_link(headers.get("link")), None

    def _sweep_rest(self, state: str, since: datetime | None) -> Iterator[list[Issue]]:
        # Creation order, for the reason given in `sweep_query`; here it matters more: these pages are numbered,
        # so an issue moving to the end would shift the next page and one issue would never be read.
        parameters: dict[str, Any] = {"state": state, "sort": "created", "direction": "asc"}
        if since is not None:
            parameters["since"] = format_time(since)
        for items in self._rest_pages(f"/repos/{self.owner}/{self.repo_name}/issues", parameters,
                                      "listing issues"):
            issues = self._readable([i for i in items if not (isinstance(i, dict) and "pull_request" in i)],
                                    self._from_rest_item)
            if issues:
                yield issues

    def _from_rest_item(self, item: dict[str, Any]) -> Issue:
        raw = _raw_from_rest(item)
        events: list[_Event] = []
        for items in self._rest_pages(f"/repos/{self.owner}/{self.repo_name}/issues/{raw.number}/timeline", {},
                                      f"reading the timeline of #{raw.number}"):
            events += [e for e in (_rest_event(i) for i in items if isinstance(i, dict)) if e is not None]
        raw.events = events
        return build_issue(raw, self.repo, self.prefix)

    # -- writes

    def _issue_path(self, issue: Issue) -> str:
        return f"/repos/{self.owner}/{self.repo_name}/issues/{issue.extra.get('number') or issue.key.lstrip('#')}"

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        """All the comments first (each marked one is its step's commit point), then the labels, assignees
        and states they announce: see the module docstring for why this order survives a run that dies."""
        interrupted = set(issue.extra.get("interrupted_steps") or ())
        for step in steps:
            body = self._step_comment(step, now)
            if body is None:
                continue
            if step.marks and f"{step.rule}@{step.level}" in interrupted:
                log.info("%s: the comment of %s step %d is there already", issue.key, step.rule, step.level)
                continue
            self._comment(issue, body, now)
        labels = list(issue.labels)
        for step in steps:
            for action in step.actions:
                if action.type == "add_labels":
                    for label in action.value:
                        if label not in labels:
                            self._add_label(issue, label)
                            labels.append(label)
                elif action.type == "remove_labels":
                    for label in action.value:
                        self._remove_label(issue, label)
                        labels = [x for x in labels if x != label]
                elif action.type == "assign":
                    self._rest("POST", f"{self._issue_path(issue)}/assignees", body={"assignees": [action.value]},
                               what=f"assigning {issue.key}")
                elif action.type == "transition":
                    self._transition(issue, str(action.value))
                elif action.type != "comment":
                    log.warning("%s: the GitHub tracker cannot %s; skipped", issue.key, action.type)

    @staticmethod
    def _step_comment(step: Step, now: datetime) -> str | None:
        """The comment a step posts: its comment actions, and for a marked step what else it changes and its
        marker (a marked step without a comment action still posts one, since the marker is its record)."""
        comments = [str(a.value) for a in step.actions if a.type == "comment"]
        if not step.marks:
            return "\n\n".join(comments) or None
        body = "\n\n".join(comments) or (
            f"Steward recorded step {step.level} of rule `{step.rule}` (no comment to post).")
        changes = step_changes(step)
        if changes:
            body = f"{body}\n\n{format_changes(changes)}"
        return with_marker(body, Marker(rule=step.rule, level=step.level, at=now))

    def _transition(self, issue: Issue, target: str) -> None:
        states = {"open": {"state": "open"}, "reopened": {"state": "open"}, "closed": {"state": "closed"},
                  "completed": {"state": "closed", "state_reason": "completed"},
                  "not_planned": {"state": "closed", "state_reason": "not_planned"}}
        body = states.get(target.strip().lower())
        if body is None:
            raise TrackerError(f"{issue.key}: GitHub issues can only move to open, closed, completed or "
                               f"not_planned, not {target!r}")
        self._rest("PATCH", self._issue_path(issue), body=body, what=f"moving {issue.key} to {target}")

    def _ensure_label(self, label: str) -> None:
        if self._repo_labels is None:
            self._repo_labels = set()
            for items in self._rest_pages(f"/repos/{self.owner}/{self.repo_name}/labels", {}, "listing labels"):
                self._repo_labels.update(i["name"] for i in items if isinstance(i, dict) and "name" in i)
        if label in self._repo_labels:
            return
        try:
            self._rest("POST", f"/repos/{self.owner}/{self.repo_name}/labels",
                       body={"name": label, "color": NEW_LABEL_COLOR, "description": "Added by Steward"},
                       what=f"creating label {label!r}")
        except GitHubError as error:
            if error.status != 422:  # 422: it exists already (created meanwhile)
                raise
        self._repo_labels.add(label)

    def _add_label(self, issue: Issue, label: str) -> None:
        self._ensure_label(label)
        self._rest("POST", f"{self._issue_path(issue)}/labels", body={"labels": [label]},
                   what=f"adding label {label!r} to {issue.key}")

    def _remove_label(self, issue: Issue, label: str) -> None:
        try:
            self._rest("DELETE", f"{self._issue_path(issue)}/labels/{urllib.parse.quote(label, safe='')}",
                       what=f"removing label {label!r} from {issue.key}")
        except GitHubError as error:
            if error.status != 404:  # already gone: nothing to do
                raise

    def _comment(self, issue: Issue, body: str, now: datetime) -> None:
        path = f"{self._issue_path(issue)}/comments"
        markers = find_markers(body)
        for attempt in range(MAX_ATTEMPTS):
            self.pacer.before_write()
            self.requests["write"] += 1
            try:
                self._call_once_write(lambda: self.requester.requestJsonAndCheck("POST", path, input={"body": body}),
                                      f"commenting on {issue.key}")
                return
            except _Uncertain as uncertain:
                if not markers:
                    raise TrackerError(f"commenting on {issue.key} failed ({uncertain}); nothing was retried "
                                       f"because the comment carries no marker to check") from None
                # Checked after every failure, the last one included: a lost answer may hide a comment that landed.
                if self._marker_landed(issue, markers[0], now):
                    log.info("%s: the comment landed despite %s; not sending it again", issue.key, uncertain)
                    return
                if attempt + 1 == MAX_ATTEMPTS:
                    raise TrackerError(f"commenting on {issue.key} failed {MAX_ATTEMPTS} times ({uncertain}); "
                                       f"the next run will try again") from None
                self.pacer.wait(2.0 ** attempt)

    def _call_once_write(self, send: Callable[[], Any], what: str) -> None:
        """One comment POST. Rate-limit refusals are waited out (nothing was written); 5xx or a lost
        connection are uncertain: the caller checks for the marker before any retry."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                send()
                return
            except GithubException as error:
                wait = self._rate_wait(error, attempt)
                if wait is not None and attempt + 1 < MAX_ATTEMPTS:
                    if wait > MAX_RATE_WAIT:
                        raise TrackerError(f"GitHub rate limit on {what}: it resets in {int(wait)} s; "
                                           f"run again later") from None
                    self.pacer.wait(wait)
                    self.pacer.before_write()
                    self.requests["write"] += 1
                    continue
                if error.status >= 500:
                    raise _Uncertain(f"GitHub answered {error.status}") from None
                raise GitHubError(self._explain(error, what), error.status, error.data) from None
            except requests.exceptions.RequestException as error:
                raise _Uncertain(type(error).__name__) from None
        raise TrackerError(f"GitHub kept refusing {what}; run again later")

    def _marker_landed(self, issue: Issue, marker: Marker, now: datetime) -> bool:
        wanted = format_marker(marker)
        # `now` may be pinned (--now): look back from the earlier of it and the real time.
        since = format_time(min(now, datetime.fromtimestamp(self.wall_clock(), tz=timezone.utc)) - timedelta(days=1))
        for items in self._rest_pages(f"{self._issue_path(issue)}/comments", {"since": since},
                                      f"re-reading the comments of {issue.key}"):
            if any(wanted in (item.get("body") or "") for item in items if isinstance(item, dict)):
                return True
        return False

    def viewer_login(self) -> str | None:
        """The login of the token's user, or None when the token cannot say (e.g. an Actions token)."""
        try:
            _, data = self._rest("GET", "/user", what="reading the token's user")
        except TrackerError:
            return None
        return data.get("login") if isinstance(data, dict) else None

    def close(self) -> None:
        self.github.close()


class GitHubError(TrackerError):
    """A refused request, with GitHub's status and answer kept for the adapter's own decisions."""

    def __init__(self, message: str, status: int, data: Any):
        super().__init__(message)
        self.status = status
        self.data = data if isinstance(data, dict) else {}


class _GraphQLUnavailable(Exception):
    pass


class _Uncertain(Exception):
    """A write whose outcome is unknown (5xx, connection lost)."""


def _next_link(link: str | None) -> str | None:
    for part in (link or "").split(","):
        match = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
        if match:
            return match.group(1)
    return None


def _env_int(name: str, default: int, minimum: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < minimum:
        raise TrackerError(f"{name} must be a whole number of at least {minimum}, not {text!r}")
    return int(text)


def make_tracker(target: str, options: dict[str, Any]) -> GitHubTracker:
    per_minute = _env_int("STEWARD_GITHUB_WRITES_PER_MINUTE", WRITES_PER_MINUTE, 0)
    return GitHubTracker(
        target, os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN"),
        options.get("url") or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
        priority_prefix=os.environ.get("STEWARD_GITHUB_PRIORITY_PREFIX", DEFAULT_PRIORITY_PREFIX),
        reads=os.environ.get("STEWARD_GITHUB_READS", "graphql"),
        timeout=_env_int("STEWARD_HTTP_TIMEOUT", DEFAULT_TIMEOUT, 1),  # PyGithub takes whole seconds
        pacer=Pacer(CLOCK, SLEEP, per_minute=per_minute),
    )


@hookimpl
def register_trackers(register):
    register("github", make_tracker)


# ------------------------------------------------------------------------------------------ event mode

ISSUES_ACTIONS = {"opened", "edited", "labeled", "unlabeled", "assigned", "unassigned", "reopened", "closed",
                  "milestoned", "demilestoned", "typed", "untyped"}
ISSUES_IGNORED = {"deleted", "transferred", "pinned", "unpinned", "locked", "unlocked"}
COMMENT_ACTIONS = {"created", "edited", "deleted"}
SWEEP_EVENTS = {"schedule", "workflow_dispatch"}


class PayloadError(Exception):
    pass


@dataclass
class EventTarget:
    repo: str
    number: int | None  # None: sweep the repository
    skip: str | None = None  # why nothing is evaluated
    sender: str | None = None


def read_event(path: str | None, event_name: str | None, steward_logins: set[str]) -> EventTarget:
    """What one workflow event asks for. Raises PayloadError with a message a user can act on."""
    if not path:
        raise PayloadError("no event payload: pass --github-event PATH or set GITHUB_EVENT_PATH")
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PayloadError(f"event payload {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PayloadError(f"cannot read event payload {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise PayloadError(f"event payload {path} is not JSON: line {error.lineno}: {error.msg}") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"event payload {path} must be a JSON object")
    repository = payload.get("repository")
    repo = repository.get("full_name") if isinstance(repository, dict) else None
    repo = repo or os.environ.get("GITHUB_REPOSITORY")
    if not repo:
        raise PayloadError(f"event payload {path} names no repository (`repository.full_name`)")
    if not event_name:
        if "issue" not in payload:
            raise PayloadError(f"event payload {path} has no `issue` with a `number`, and no event name says "
                               f"what it is (GITHUB_EVENT_NAME or --event-name)")
        event_name = "issue_comment" if "comment" in payload else "issues"
    if event_name in SWEEP_EVENTS:
        return EventTarget(repo, None)
    if event_name not in ("issues", "issue_comment"):
        raise PayloadError(f"unsupported event {event_name!r}: Steward handles issues, issue_comment, "
                           f"schedule and workflow_dispatch")
    action = payload.get("action")
    issue = payload.get("issue")
    if not isinstance(issue, dict) or not isinstance(issue.get("number"), int):
        raise PayloadError(f"{event_name} payload {path} has no `issue` with a `number`")
    known = ISSUES_ACTIONS | ISSUES_IGNORED if event_name == "issues" else COMMENT_ACTIONS
    if action not in known:
        raise PayloadError(f"unknown {event_name} action {action!r}; expected one of {', '.join(sorted(known))}")
    number = issue["number"]
    if event_name == "issues" and action in ISSUES_IGNORED:
        return EventTarget(repo, number, skip=f"issues/{action} needs no evaluation")
    if "pull_request" in issue:
        return EventTarget(repo, number, skip=f"#{number} is a pull request")
    sender = _login(payload.get("sender"))
    if sender and sender in steward_logins:
        return EventTarget(repo, number, skip=f"the event was caused by Steward itself ({sender})")
    comment = payload.get("comment")
    if event_name == "issue_comment" and isinstance(comment, dict) and find_markers(comment.get("body")):
        return EventTarget(repo, number, skip="the comment is Steward's own")
    return EventTarget(repo, number, sender=sender)


def _append(path: str | None, text: str) -> None:
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(text)


def summary_text(markdown: str) -> str:
    # Imported here: the report modules import the rule-file loader, which loads this plugin.
    from steward.core.review_markdown import fit

    return fit(markdown, SUMMARY_LIMIT)


@hookimpl
def register_commands(cli):
    from steward import cli as cli_module
    from steward.core import report
    from steward.core.runner import Runner, RunOptions
    from steward.core.timeutil import utcnow

    @cli.command("event")
    @click.option("--github-event", "event_path", envvar="GITHUB_EVENT_PATH", metavar="PATH",
                  help="Webhook payload (default: $GITHUB_EVENT_PATH).")
    @click.option("--event-name", envvar="GITHUB_EVENT_NAME",
                  help="issues, issue_comment, schedule or workflow_dispatch (default: $GITHUB_EVENT_NAME, "
                       "else guessed from the payload).")
    @click.option("--rules", "rule_specs", multiple=True, metavar="PATH",
                  help="Rule file, directory or pack:NAME; repeatable. Default: pack:governance.")
    @click.option("--github-url", "url", help="API URL (default: $GITHUB_API_URL, else https://api.github.com).")
    @click.option("--dry-run", is_flag=True, help="Evaluate and report, write nothing.")
    @click.option("--max-actions", type=click.IntRange(min=0), metavar="N", help="Take at most N steps.")
    @click.option("--fail-on-findings", is_flag=True, help="Exit 1 when there are findings.")
    @click.option("--steward-login", "steward_logins", multiple=True, envvar="STEWARD_GITHUB_LOGIN",
                  help="Login(s) Steward writes as; their events are ignored. Default: github-actions[bot], "
                       "plus the token's user outside Actions.")
    @click.option("--format", "fmt", type=click.Choice(report.FORMATS), default="markdown", show_default=True)
    @click.option("--now", type=cli_module.TIME, help="Evaluate as of this time.")
    def event(event_path, event_name, rule_specs, url, dry_run, max_actions, fail_on_findings, steward_logins,
              fmt, now):
        """Evaluate the issue of one GitHub event (or sweep the repository on schedule)."""
        logins = {x.strip() for value in steward_logins for x in value.split(",") if x.strip()}
        logins |= set(DEFAULT_STEWARD_LOGINS)
        try:
            target = read_event(event_path, event_name, logins)
        except PayloadError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(cli_module.EXIT_USAGE)
        rules = cli_module._load_rules(rule_specs)
        tracker = None
        if not target.skip:
            tracker = cli_module.open_tracker(f"github:{target.repo}", url)
            if (target.sender and not steward_logins and os.environ.get("GITHUB_ACTIONS") != "true"
                    and isinstance(tracker, GitHubTracker) and tracker.viewer_login() == target.sender):
                # Outside Actions the token is a person's or an App's: that user's own events are Steward's.
                target.skip = f"the event was caused by Steward itself ({target.sender})"
        if target.skip:
            _append(os.environ.get("GITHUB_OUTPUT"), "findings=0\nactions=0\n")
            click.echo(f"steward: nothing to do: {target.skip}")
            return
        now = now or utcnow()
        query = None if target.number is None else f"number:{target.number}"
        options = RunOptions(now=now, apply=not dry_run, max_actions=max_actions, query=query)
        try:
            plan = Runner(tracker, rules, options).run()
        except TrackerError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(cli_module.EXIT_USAGE)
        mode = "plan" if dry_run else "apply"
        click.echo(report.render(plan, rules, now, mode, fmt), nl=False)
        _append(os.environ.get("GITHUB_STEP_SUMMARY"), summary_text(report.render(plan, rules, now, mode,
                                                                                  "markdown")))
        actions = sum(len(s.actions) or 1 for s in plan.steps)
        _append(os.environ.get("GITHUB_OUTPUT"), f"findings={len(plan.findings)}\nactions={actions}\n")
        if fail_on_findings and plan.findings:
            sys.exit(cli_module.EXIT_FINDINGS)


