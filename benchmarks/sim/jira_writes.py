"""The Jira simulator's write endpoints: edits, comment deletes, properties, transitions.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from .jira_model import (
    STATUSES,
    STEWARD,
    STEWARD_DC_KEY,
    USERS,
    _dictget,
    _errors,
    account_id,
)
from .server import Request, Response


class JiraWrites:
    """A part of `JiraSim` (jira.py), which holds the state these methods read and change."""

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
                items = [self._item("status", issue.status, name)]
                issue.status, issue.updated = name, self.now()
                resolution = _dictget(body, "fields", "resolution", "name")
                if resolution is not None:  # the transition screen's resolution, set in the same request
                    before = (issue.override.get("resolution") or {}).get("name")
                    items.append(self._item("resolution", before, resolution))
                    issue.override["resolution"] = {"name": resolution}  # rendered as fields.resolution
                issue.histories.append({"id": self._next_id(), "author": STEWARD, "created": issue.updated,
                                        "items": items})
                self._searches.clear()
                return Response(204)
        return Response(400, {"errorMessages": ["It seems that you have tried to perform a workflow operation "
                                                f"({wanted}) that is not valid for the current state."],
                              "errors": {}})
