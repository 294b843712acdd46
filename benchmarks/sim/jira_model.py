"""The Jira simulator's vocabulary: deployments, statuses, priorities, the issue record and JSON helpers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from typing import Any

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
