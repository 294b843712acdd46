"""The Jira tracker: Jira Cloud (REST v3 enhanced search) and Data Center / Server (REST v2 classic search).

Built on the `jira` library: it owns the HTTP session, the authentication and the default headers. Every
request goes through that session (`JIRA._session`) with the library's own retries switched off, because
the retry policy here is stricter: reads are retried on 429/5xx with jitter, honouring `Retry-After` and
`X-RateLimit-*`; a write that may have landed is never sent again before the issue has been re-read.

Request counts (Cloud):
- reading N issues: ceil(N/100) search pages, plus one `POST /rest/api/3/changelog/bulkfetch` per 1000
  issues whose inline changelog is truncated (more than 40 histories), plus one comment page per issue
  whose inline comment list is truncated (Jira has no bulk comment read by issue);
- writing one issue: ONE `PUT /rest/api/2/issue/{key}` carrying the comments (`update.comment`), the
  label adds and removes (`update.labels`), the assignee (`fields.assignee`) and the marker property
  (`properties`); a transition adds a `GET` and a `POST` on `/transitions`.
Data Center takes the same single edit: its IssueUpdateBean accepts `properties` on edit as Cloud's does.
The search asks only for the fields (and the changelog only when) the loaded rules need: see `read_needs`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import requests
from jira import JIRA
from jira.exceptions import JIRAError
from jira.resilientsession import parse_errors

from steward.core.conditions import AllOf, AnyOf, Condition, Test
from steward.core.hookspecs import hookimpl
from steward.core.markers import dedupe, find_markers, marker_to_json, markers_from_json
from steward.core.model import Change, Comment, Issue, Marker, Step
from steward.core.registry import TrackerError
from steward.core.timeutil import parse_time, tracker_time, utcnow

if TYPE_CHECKING:
    from steward.core.rulefile import Rule

log = logging.getLogger("steward.jira")

PAGE_SIZE = 100
BULK_CHANGELOG_MAX = 1000
PROPERTY_KEY = "steward.markers"
FIELDS = ("summary", "description", "issuetype", "status", "priority", "labels", "assignee", "reporter",
          "created", "updated", "duedate", "comment", "project")
# What the adapter and the planner read whatever the rules: `updated` for `--since`, `labels` because the
# planner only adds a missing label and takes back only a present one.
BASE_FIELDS = ("labels", "updated")
# The Jira fields each built-in fact reads (through the Issue attribute it derives from), and the facts
# that read the change history. A fact missing here (a plugin's) gets every field and the changelog.
FACT_FIELDS: dict[str, tuple[str, ...]] = {
    "key": (), "project": ("project",), "type": ("issuetype",), "status": ("status",),
    "status_category": ("status",), "priority": ("priority",), "labels": ("labels",),
    "assignee": ("assignee",), "reporter": ("reporter",), "title": ("summary",), "body": ("description",),
    "age_days": ("created",), "idle_days": ("updated", "created"), "days_since_comment": ("comment",),
    "comment_count": ("comment",), "days_unassigned": ("assignee", "created"), "days_in_status": ("created",),
    "has_due": ("duedate",), "days_until_due": ("duedate",), "days_overdue": ("duedate",),
    "unexplained_changes": ("comment",), "escalation_level": (),
    "days_escalated_without_follow_up": ("labels", "comment", "updated", "created"),
}
FACT_CHANGELOG = frozenset({"days_unassigned", "days_in_status", "unexplained_changes",
                            "days_escalated_without_follow_up"})
# Actions whose planning compares with the issue's current value (`assign` skips the current assignee,
# `transition` the current status).
ACTION_FIELDS = {"assign": ("assignee",), "transition": ("status",)}
# Changelog fields the model keeps, by Jira fieldId (Cloud) or lower-cased `field` (Server may omit fieldId).
HISTORY_FIELD_IDS = {"priority": "priority", "assignee": "assignee", "labels": "labels", "status": "status",
                     "duedate": "due", "due date": "due"}
CHANGELOG_FIELD_IDS = ("assignee", "duedate", "labels", "priority", "status")
STATUS_CATEGORIES = {"new": "todo", "indeterminate": "in_progress", "done": "done"}
JQL_STATUS_CATEGORY = {"todo": '"To Do"', "in_progress": '"In Progress"', "done": "Done"}
FOOTER = re.compile(r"Steward\s*·\s*rule\s+(?P<rule>[a-z0-9][a-z0-9-]*)\s*·\s*step\s+(?P<level>\d+)")
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


# ---------------------------------------------------------------- normalisation

def adf_text(node: Any) -> str:
    """Plain text of an Atlassian Document Format tree (v3 bodies); strings pass through."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(adf_text(child) for child in node)
    if not isinstance(node, dict):
        return str(node)
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text") or "")
    if kind == "hardBreak":
        return "\n"
    if kind == "rule":
        return "----\n"
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    if kind in ("mention", "emoji", "status", "date"):
        return str(attrs.get("text") or attrs.get("shortName") or attrs.get("timestamp") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    inner = adf_text(node.get("content") or [])
    if kind in ("paragraph", "heading", "listItem", "blockquote", "codeBlock", "panel", "tableRow"):
        return inner.rstrip("\n") + "\n"
    return inner


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


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _name(value: Any) -> str | None:
    value = _dict(value).get("name")
    return value if isinstance(value, str) and value else None


def _label_set(text: Any) -> set[str]:
    return set(text.split()) if isinstance(text, str) else set()


def _history_changes(history: dict[str, Any], key: str) -> list[Change]:
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


def _history_id(history: dict[str, Any]) -> str:
    ident = history.get("id")
    return str(ident) if ident is not None else json.dumps(history, sort_keys=True)


def _add_histories(issue: Issue, seen: set[str], histories: list[Any]) -> None:
    """The changes of the histories `issue` does not have yet; `seen` holds the ids of those it has."""
    for history in histories:
        if isinstance(history, dict) and _history_id(history) not in seen:
            seen.add(_history_id(history))
            issue.changes += _history_changes(history, issue.key)


def _comment(raw: Any, key: str) -> tuple[Comment | None, list[Marker]]:
    if not isinstance(raw, dict):
        return None, []
    created = tracker_time(raw.get("created"), "comment time", key)
    if created is None:
        return None, []
    body = _body(raw.get("body"))
    markers = find_markers(body) + [Marker(m["rule"], int(m["level"]), created) for m in FOOTER.finditer(body)]
    return Comment(author=user_id(raw.get("author")), created=created, body=body,
                   by_steward=bool(markers)), markers


def _property_markers(raw: dict[str, Any], key: str) -> list[Marker]:
    value = _dict(_dict(raw.get("properties")).get(PROPERTY_KEY))
    return markers_from_json(value.get("markers"), key)


def issue_from_jira(raw: dict[str, Any], base_url: str, histories: list[dict[str, Any]] | None = None,
                    comments: list[dict[str, Any]] | None = None) -> Issue:
    """One search result as a model Issue. Missing or null fields become missing values, never errors."""
    key = str(raw["key"])
    fields = _dict(raw.get("fields"))
    if histories is None:
        histories = _dict(raw.get("changelog")).get("histories") or []
    if comments is None:
        comments = _dict(fields.get("comment")).get("comments") or []
    parsed_comments, markers = [], _property_markers(raw, key)
    for item in comments:
        comment, found = _comment(item, key)
        if comment is not None:
            parsed_comments.append(comment)
            markers += found
    changes = [c for h in histories if isinstance(h, dict) for c in _history_changes(h, key)]
    changes.sort(key=lambda c: c.at)  # Cloud sends newest first, Server oldest first
    status = _dict(fields.get("status"))
    category = _dict(status.get("statusCategory")).get("key")
    labels = fields.get("labels")
    return Issue(
        key=key,
        url=f"{base_url}/browse/{key}",
        tracker="jira",
        project=_dict(fields.get("project")).get("key") or key.rsplit("-", 1)[0],
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
        markers=dedupe(markers),
        extra={"id": str(raw.get("id") or "")},
    )


def _truncated(container: dict[str, Any], items_key: str) -> bool:
    items = container.get(items_key) or []
    total = container.get("total")
    return isinstance(total, int) and total > len(items)


# ---------------------------------------------------------------- pushdown

def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _jql_test(test: Test) -> str | None:
    """A JQL clause every issue satisfying `test` matches (a superset), or None when there is none safe."""
    fact, op, value = test.fact, test.op, test.value
    if fact == "status_category":
        if op == "eq" and value in JQL_STATUS_CATEGORY:
            return f"statusCategory = {JQL_STATUS_CATEGORY[value]}"
        if op == "ne" and value in JQL_STATUS_CATEGORY:
            return f"statusCategory != {JQL_STATUS_CATEGORY[value]}"
        if op == "in" and isinstance(value, list) and value and all(v in JQL_STATUS_CATEGORY for v in value):
            return f"statusCategory in ({', '.join(JQL_STATUS_CATEGORY[v] for v in value)})"
        return None
    if fact == "labels":
        # Jira compares labels without regard to case: still a superset of the exact match.
        if op == "contains" and isinstance(value, str):
            return f"labels = {_quote(value)}"
        if op == "contains_any" and isinstance(value, list) and value:
            return f"labels in ({', '.join(_quote(str(v)) for v in value)})"
        if op == "contains_all" and isinstance(value, list) and value:
            return " AND ".join(f"labels = {_quote(str(v))}" for v in value)
        if (op, value) in (("missing", False), ("present", True)):
            return "labels is not EMPTY"
        return None
    if fact == "assignee":
        if (op, value) in (("missing", True), ("present", False)):
            return "assignee is EMPTY"
        if (op, value) in (("missing", False), ("present", True)):
            return "assignee is not EMPTY"
        return None
    if fact == "age_days" and op in ("gt", "gte") and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        days = math.floor(value) + 1 if op == "gt" else math.ceil(value)
        days -= 1  # one day of slack for clock skew between this machine and Jira
        return f"created <= -{days}d" if days >= 1 else None
    # status, priority and issuetype are left out on purpose: a name a project does not have makes
    # the whole JQL invalid, and names can be translated.
    return None


def jql_for(condition: Condition) -> str | None:
    if isinstance(condition, Test):
        return _jql_test(condition)
    if isinstance(condition, AllOf):
        parts = [p for p in (jql_for(item) for item in condition.items) if p]
        return " AND ".join(f"({p})" for p in parts) if parts else None
    if isinstance(condition, AnyOf):
        parts = [jql_for(item) for item in condition.items]
        if not parts or any(p is None for p in parts):
            return None
        return " OR ".join(f"({p})" for p in parts)
    return None  # Not: nothing safe to say


def pushdown_clause(rules: list[Any]) -> str | None:
    """OR of every rule's clause, plus issues carrying labels the rules add (for the planner's clean-up)."""
    clauses = []
    for rule in rules:
        clause = jql_for(rule.condition)
        if clause is None:
            return None
        clauses.append(clause)
    if not clauses:
        return None
    labels = sorted({label for rule in rules if getattr(rule, "cleanup", True) for label in rule.added_labels})
    if labels:
        clauses.append(f"labels in ({', '.join(_quote(label) for label in labels)})")
    return " OR ".join(f"({c})" for c in clauses)


def read_needs(rules: list[Rule]) -> tuple[tuple[str, ...], bool]:
    """The search `fields` and whether the changelog is needed to evaluate and plan these rules.

    Derived from the facts the rules test or show (the Runner's own `facts_used`) and the actions they
    take; a fact this adapter does not know (a plugin's) may read anything, so it gets everything.
    """
    # Imported here: the runner imports the plugin manager, which imports this module.
    from steward.core.runner import facts_used

    facts = facts_used(rules)
    if any(fact not in FACT_FIELDS for fact in facts):
        return FIELDS, True
    wanted = set(BASE_FIELDS)
    for fact in facts:
        wanted.update(FACT_FIELDS[fact])
    for rule in rules:
        for step in rule.steps:
            for kind, _ in step.actions:
                wanted.update(ACTION_FIELDS.get(kind, ()))
    return tuple(field for field in FIELDS if field in wanted), bool(facts & FACT_CHANGELOG)


def combine_jql(user_jql: str | None, clause: str | None) -> str:
    jql = (user_jql or "").strip()
    if not clause:
        return jql
    order = ""
    matches = list(_ORDER_BY.finditer(jql))
    if matches and jql[:matches[-1].start()].count('"') % 2 == 0:
        jql, order = jql[:matches[-1].start()].strip(), " " + jql[matches[-1].start():].strip()
    if not jql:
        return f"{clause}{order}"
    return f"({jql}) AND ({clause}){order}"


# ---------------------------------------------------------------- the tracker

class _Uncertain(Exception):
    """A write failed in a way that does not say whether it landed."""


def read_timeout(env: Mapping[str, str]) -> float:
    """Seconds to wait for an answer: `STEWARD_HTTP_TIMEOUT`, else 120 (large pages of changelogs are slow)."""
    text = (env.get("STEWARD_HTTP_TIMEOUT") or "").strip()
    if not text:
        return 120.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < math.inf:
        raise TrackerError(f"STEWARD_HTTP_TIMEOUT must be a number of seconds above 0, got {text!r}")
    return seconds


def footer(step: Step) -> str:
    return f"\n\n----\n_Steward · rule {step.rule} · step {step.level}_"


class JiraTracker:
    name = "jira"

    def __init__(self, url: str | None = None, env: Mapping[str, str] | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 jitter: Callable[[], float] = random.random, max_retries: int = 5, max_wait: float = 900,
                 page_size: int = PAGE_SIZE, bulk_size: int = BULK_CHANGELOG_MAX):
        env = os.environ if env is None else env
        url = (url or env.get("JIRA_URL") or "").strip().rstrip("/")
        if not url:
            raise TrackerError("no Jira URL: set JIRA_URL or pass --jira-url https://your-site.atlassian.net")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise TrackerError(f"the Jira URL {url!r} is not an http(s) URL such as https://acme.atlassian.net")
        email, api_token, pat = env.get("JIRA_EMAIL"), env.get("JIRA_API_TOKEN"), env.get("JIRA_TOKEN")
        deployment = (env.get("JIRA_DEPLOYMENT") or "").lower()
        if email and api_token and deployment not in ("datacenter", "server"):
            self.cloud, auth = True, {"basic_auth": (email, api_token)}
            self.credential = "JIRA_EMAIL and JIRA_API_TOKEN"
        elif pat:
            self.cloud, auth = deployment == "cloud", {"token_auth": pat}
            self.credential = "JIRA_TOKEN"
        elif email and api_token:
            self.cloud, auth = False, {"basic_auth": (email, api_token)}
            self.credential = "JIRA_EMAIL and JIRA_API_TOKEN"
        else:
            raise TrackerError("no Jira credentials: set JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) or "
                               "JIRA_TOKEN, a personal access token (Data Center / Server)")
        self.base_url = url
        self.client = JIRA(server=url, get_server_info=False, max_retries=0, timeout=(10, read_timeout(env)),
                           **auth)
        self.session = self.client._session  # the library's authenticated session: auth and headers
        self.version = "3" if self.cloud else "2"
        self.sleep, self.clock, self.jitter = sleep, clock, jitter
        self.max_retries, self.max_wait = max_retries, max_wait
        self.page_size, self.bulk_size = page_size, bulk_size
        self.clause: str | None = None
        self.fields, self.changelog = FIELDS, True  # until `narrow` says what the rules read
        self.requests = 0
        self._not_before = 0.0

    # ------------------------------------------------------------ HTTP

    def _url(self, path: str, version: str | None = None) -> str:
        return f"{self.base_url}/rest/api/{version or self.version}/{path}"

    def _delay(self, attempt: int, response: requests.Response | None) -> float:
        headers = response.headers if response is not None else {}
        retry_after = headers.get("Retry-After")
        if retry_after:
            try:
                return max(float(retry_after), 1.0)
            except ValueError:
                pass
        reset = headers.get("X-RateLimit-Reset")
        if reset:
            try:
                return max(parse_time(reset).timestamp() - self.clock(), 1.0)
            except ValueError:
                pass
        return min(2.0 ** attempt, 60.0) * (0.5 + self.jitter() / 2)

    def _note_limits(self, response: requests.Response) -> None:
        """Remaining 0 with a reset time: wait for the reset before the next request."""
        if response.headers.get("X-RateLimit-Remaining") == "0":
            self._not_before = self.clock() + self._delay(0, response)

    def _wait(self, seconds: float, what: str) -> None:
        if seconds > self.max_wait:
            raise TrackerError(f"Jira asks to wait {seconds:.0f}s before {what}; giving up (limit "
                               f"{self.max_wait:.0f}s). Run again later or lower --max-actions.")
        if seconds > 0:
            self.sleep(seconds)

    def request(self, method: str, url: str, what: str, *, params: dict[str, Any] | None = None,
                body: Any = None, write: bool = False) -> Any:
        """One JSON request with retries. A write that may have landed raises _Uncertain instead."""
        for attempt in range(self.max_retries + 1):
            if self._not_before > self.clock():
                self._wait(self._not_before - self.clock(), what)
            self.requests += 1
            response, network = None, None
            try:
                response = self.session.request(method, url, params=params,
                                                data=None if body is None else json.dumps(body))
            except JIRAError as error:
                response = error.response
                if response is None:
                    network = error.text or "no response"
            except (requests.ConnectionError, requests.Timeout) as error:
                network = type(error).__name__
            except requests.RequestException as error:
                raise TrackerError(f"cannot reach Jira at {self.base_url} while {what}: "
                                   f"{type(error).__name__}") from None
            if response is not None and response.ok:
                self._note_limits(response)
                if not response.content:
                    return None
                try:
                    return response.json()
                except ValueError:
                    raise TrackerError(f"{self.base_url} answered {what} with something that is not JSON: "
                                       "is JIRA_URL the base URL of a Jira site?") from None
            status = response.status_code if response is not None else None
            last = attempt >= self.max_retries
            if status == 429:
                if last:
                    break
                self._wait(self._delay(attempt, response), what)
                continue
            if status is None or status >= 500:
                if write:
                    raise _Uncertain(network or f"HTTP {status}")
                if last or (status is None and attempt >= 2):  # refused or unresolvable: do not linger
                    break
                self._wait(self._delay(attempt, response), what)
                continue
            raise self._error(response, what)
        if response is None:
            raise TrackerError(f"cannot reach Jira at {self.base_url} while {what} ({network}): check the URL, "
                               "the network and any proxy")
        raise TrackerError(f"Jira kept answering HTTP {response.status_code} while {what}; "
                           f"tried {self.max_retries + 1} times. Run again later.")

    def _error(self, response: requests.Response, what: str) -> TrackerError:
        status = response.status_code
        try:
            detail = "; ".join(parse_errors(response))[:500]
        except Exception:  # an odd body must not hide the status
            detail = ""
        detail = f": {detail}" if detail and not detail.lstrip().startswith("<") else ""
        if status == 401:
            return TrackerError(f"Jira rejected the credentials in {self.credential} while {what} (HTTP 401). "
                                "Check they are set, current and belong to this site.")
        if status == 403:
            return TrackerError(f"Jira refused {what} (HTTP 403){detail}. The account behind "
                                f"{self.credential} needs Browse projects to read, and Edit issues, Add "
                                "comments, Assign issues and Transition issues to write.")
        if status == 404 and "search" in what:
            return TrackerError(f"no Jira REST API at {self.base_url} (HTTP 404 while {what}): check JIRA_URL "
                                "or --jira-url")
        if status == 410:
            return TrackerError(f"{self.base_url} no longer offers this API (HTTP 410 while {what}): it looks "
                                "like Jira Cloud; set JIRA_EMAIL and JIRA_API_TOKEN instead of JIRA_TOKEN")
        if status == 400 and "search" in what:
            return TrackerError(f"Jira rejected the JQL{detail}")
        return TrackerError(f"Jira answered HTTP {status} while {what}{detail}")

    # ------------------------------------------------------------ reads

    def narrow(self, rules: list[Rule]) -> None:
        """Push the rules' conditions into the JQL and ask only for the fields they read."""
        self.clause = pushdown_clause(rules)
        self.fields, self.changelog = read_needs(rules)

    def query(self, user_jql: str | None, since: datetime | None = None) -> str:
        clause = self.clause
        if since is not None:
            # A superset, filtered again below; at least an hour when `since` is ahead of this machine's clock.
            minutes = max(math.ceil((utcnow() - since).total_seconds() / 60), 0) + 60
            clause = f"updated >= -{minutes}m" + (f" AND ({clause})" if clause else "")
        return combine_jql(user_jql, clause)

    def fetch(self, query: str | None, since: datetime | None = None) -> Iterator[list[Issue]]:
        jql = self.query(query, since)
        # Issues whose changelog was cut at 40 wait for one bulk call per `bulk_size`. They wait as model
        # issues with the ids of the histories they already have, not as raw JSON, which is many times larger.
        pending: list[tuple[Issue, set[str]]] = []
        for raw_page in (self._cloud_pages(jql) if self.cloud else self._dc_pages(jql)):
            page = []
            for raw in raw_page:
                issue = self._issue(raw, since)
                if issue is None:
                    continue
                changelog = _dict(raw.get("changelog"))
                if _truncated(changelog, "histories"):
                    pending.append((issue, {_history_id(h) for h in changelog.get("histories") or []
                                            if isinstance(h, dict)}))
                else:
                    page.append(issue)
            if page:
                yield page
            if len(pending) >= self.bulk_size:
                yield self._complete_changelogs(pending[:self.bulk_size])
                pending = pending[self.bulk_size:]
        if pending:
            yield self._complete_changelogs(pending)

    def _issue(self, raw: Any, since: datetime | None) -> Issue | None:
        """One search result as an Issue, its cut comment list completed; None (with a warning) if unusable."""
        if not isinstance(raw, dict) or not raw.get("key"):
            log.warning("skipping a search result without a key")
            return None
        comments = None
        container = _dict(_dict(raw.get("fields")).get("comment"))
        if _truncated(container, "comments"):
            comments = self._all_comments(raw, container)
        try:
            issue = issue_from_jira(raw, self.base_url, None, comments)
        except Exception as error:  # one odd issue must never end the run
            log.warning("%s: skipped: could not read it (%s: %s)", raw.get("key"), type(error).__name__, error)
            return None
        if since is not None and issue.updated is not None and issue.updated < since:
            return None
        return issue

    def _search_params(self, jql: str) -> dict[str, Any]:
        params = {"jql": jql, "maxResults": self.page_size, "fields": ",".join(self.fields)}
        if self.changelog:
            params["expand"] = "changelog"
        params["properties"] = PROPERTY_KEY
        return params

    def _cloud_pages(self, jql: str) -> Iterator[list[dict[str, Any]]]:
        token = None
        while True:
            params = self._search_params(jql)
            if token:
                params["nextPageToken"] = token
            data = _dict(self.request("GET", self._url("search/jql", "3"), "searching issues", params=params))
            issues = data.get("issues")
            yield issues if isinstance(issues, list) else []
            token = data.get("nextPageToken")
            if not token or data.get("isLast") is True or not issues:
                return

    def _dc_pages(self, jql: str) -> Iterator[list[dict[str, Any]]]:
        start = 0
        while True:
            params = {**self._search_params(jql), "startAt": start}
            data = _dict(self.request("GET", self._url("search", "2"), "searching issues", params=params))
            issues = data.get("issues") if isinstance(data.get("issues"), list) else []
            yield issues
            start += len(issues)
            total = data.get("total")
            if not issues or not isinstance(total, int) or start >= total:
                return

    def _complete_changelogs(self, pending: list[tuple[Issue, set[str]]]) -> list[Issue]:
        """Full histories for issues whose inline changelog was cut at 40: one bulk call per 1000 on Cloud.

        Each answer page is folded into its issues as it arrives, so only one page of histories is held.
        """
        if self.cloud:
            by_id = {str(issue.extra.get("id") or issue.key): (issue, seen) for issue, seen in pending}
            by_id.update({issue.key: (issue, seen) for issue, seen in pending})
            ids = [str(issue.extra.get("id") or issue.key) for issue, _ in pending]
            token = None
            while True:
                body: dict[str, Any] = {"issueIdsOrKeys": ids, "fieldIds": list(CHANGELOG_FIELD_IDS),
                                        "maxResults": 10000}
                if token:
                    body["nextPageToken"] = token
                data = _dict(self.request("POST", self._url("changelog/bulkfetch", "3"),
                                          "reading changelogs in bulk", body=body))
                for entry in data.get("issueChangeLogs") or []:
                    entry = _dict(entry)
                    target = by_id.get(str(entry.get("issueId")))
                    if target is not None:
                        _add_histories(*target, entry.get("changeHistories") or [])
                token = data.get("nextPageToken")
                if not token:
                    break
        else:  # Data Center has no bulk changelog: one read per truncated issue
            for issue, seen in pending:
                data = _dict(self.request("GET", self._url(f"issue/{issue.key}"), f"reading {issue.key}",
                                          params={"fields": "created", "expand": "changelog"}))
                _add_histories(issue, seen, _dict(data.get("changelog")).get("histories") or [])
        for issue, _ in pending:
            issue.changes.sort(key=lambda c: c.at)
        return [issue for issue, _ in pending]

    def _all_comments(self, raw: dict[str, Any], container: dict[str, Any]) -> list[dict[str, Any]]:
        """The rest of a truncated inline comment list (Jira has no bulk comment read by issue)."""
        comments = list(container.get("comments") or [])
        while True:
            data = _dict(self.request("GET", self._url(f"issue/{raw['key']}/comment"),
                                      f"reading comments of {raw['key']}",
                                      params={"startAt": len(comments), "maxResults": 5000}))
            page = data.get("comments") or []
            comments += page
            total = data.get("total")
            if not page or not isinstance(total, int) or len(comments) >= total:
                return comments

    # ------------------------------------------------------------ writes

    def edit_body(self, issue: Issue, steps: list[Step], now: datetime) -> tuple[dict[str, Any], str | None]:
        """The one edit request for these steps, and the transition asked for (if any)."""
        update: dict[str, list[dict[str, Any]]] = {}
        fields: dict[str, Any] = {}
        add, remove, transition = [], [], None
        for step in steps:
            for action in step.actions:
                if action.type == "comment":
                    update.setdefault("comment", []).append({"add": {"body": str(action.value) + footer(step)}})
                elif action.type == "add_labels":
                    add += [label for label in action.value if label not in add]
                elif action.type == "remove_labels":
                    remove += [label for label in action.value if label not in remove]
                elif action.type == "assign":
                    fields["assignee"] = {"accountId": action.value} if self.cloud else {"name": action.value}
                elif action.type == "transition":
                    transition = str(action.value)
        labels = [{"add": label} for label in add] + [{"remove": label} for label in remove if label not in add]
        if labels:
            update["labels"] = labels
        body: dict[str, Any] = {}
        if update:
            body["update"] = update
        if fields:
            body["fields"] = fields
        new = [Marker(step.rule, step.level, now) for step in steps if step.marks]
        if new:
            body["properties"] = [{"key": PROPERTY_KEY, "value": self.marker_value(issue, new)}]
        return body, transition

    @staticmethod
    def marker_value(issue: Issue, new: list[Marker]) -> dict[str, Any]:
        return {"markers": [marker_to_json(m) for m in dedupe(list(issue.markers) + new)]}

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        body, transition = self.edit_body(issue, steps, now)
        new = [Marker(step.rule, step.level, now) for step in steps if step.marks]
        if transition:
            self._transition(issue.key, transition)
        if body:
            self._edit(issue.key, body, new)

    def _edit(self, key: str, body: dict[str, Any], new: list[Marker]) -> None:
        what = f"writing {key}"
        for attempt in range(self.max_retries + 1):
            try:
                self.request("PUT", self._url(f"issue/{key}", "2"), what, body=body, write=True)
                return
            except _Uncertain as error:
                log.warning("%s: the write may or may not have landed (%s): checking before sending it again",
                            key, error)
            self._wait(self._delay(attempt, None), what)
            if new and self._landed(key, new):
                log.warning("%s: the earlier write had landed: not sending it again", key)
                return
            if not new:  # label removals only: sending them again changes nothing
                continue
        raise TrackerError(f"Jira kept failing while {what}; run again later (nothing will be repeated)")

    def _landed(self, key: str, new: list[Marker]) -> bool:
        data = _dict(self.request("GET", self._url(f"issue/{key}"), f"re-reading {key}",
                                  params={"fields": "comment,labels", "properties": PROPERTY_KEY}))
        if not data.get("key"):
            return False
        found = {(m.rule, m.level) for m in issue_from_jira(data, self.base_url, []).markers}
        return all((m.rule, m.level) in found for m in new)

    def _transition(self, key: str, name: str) -> None:
        data = _dict(self.request("GET", self._url(f"issue/{key}/transitions"), f"reading transitions of {key}"))
        wanted = name.casefold()
        for option in data.get("transitions") or []:
            option = _dict(option)
            names = {str(option.get("name") or "").casefold(),
                     str(_dict(option.get("to")).get("name") or "").casefold()}
            if wanted in names:
                try:
                    self.request("POST", self._url(f"issue/{key}/transitions"), f"moving {key} to {name}",
                                 body={"transition": {"id": str(option.get("id"))}}, write=True)
                except _Uncertain:
                    raise TrackerError(f"Jira failed while moving {key} to {name!r}; run again later") from None
                return
        raise TrackerError(f"{key} has no transition named {name!r} for this account; check the workflow")

    def close(self) -> None:
        self.session.close()


@hookimpl
def register_trackers(register):
    register("jira", lambda target, options: JiraTracker(options.get("url") or target or None))
