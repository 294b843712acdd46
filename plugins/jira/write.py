"""Writing to Jira: one edit request per issue, and a transition when a step asks for one.

The edit is ONE `PUT /rest/api/2/issue/{key}` carrying the comments (`update.comment`), the label adds and
removes (`update.labels`), the assignee (`fields.assignee`) and the marker property (`properties`): the
comment and its marker land together or not at all. Data Center takes the same single edit: its
IssueUpdateBean accepts `properties` on edit as Cloud's does (Jira 6.3 and older ignore it; there the
comment footer is the record). A transition adds a `GET` and a `POST` on `/transitions`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from steward.core.errors import TrackerError
from steward.core.markers import dedupe, footer, marker_to_json, step_marker
from steward.core.model import Issue, Marker, Step
from steward.plugins.transport import Uncertain

from .parse import PROPERTY_KEY, as_dict, issue_from_jira
from .transport import JiraConnection

log = logging.getLogger("steward.jira")


def new_markers(steps: list[Step], now: datetime) -> list[Marker]:
    return [step_marker(step, now) for step in steps if step.marks]


def marker_value(issue: Issue, new: list[Marker]) -> dict[str, Any]:
    return {"markers": [marker_to_json(m) for m in dedupe(list(issue.markers) + new)]}


def edit_body(issue: Issue, steps: list[Step], now: datetime, cloud: bool) -> tuple[dict[str, Any], str | None]:
    """The one edit request for these steps, and the transition asked for (if any)."""
    update: dict[str, list[dict[str, Any]]] = {}
    fields: dict[str, Any] = {}
    add: list[str] = []
    remove: list[str] = []
    transition = None
    for step in steps:
        for action in step.actions:
            if action.type == "comment":
                update.setdefault("comment", []).append({"add": {"body": str(action.value) + footer(step)}})
            elif action.type == "add_labels":
                add += [label for label in action.value if label not in add]
            elif action.type == "remove_labels":
                remove += [label for label in action.value if label not in remove]
            elif action.type == "assign":
                fields["assignee"] = {"accountId": action.value} if cloud else {"name": action.value}
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
    new = new_markers(steps, now)
    if new:
        body["properties"] = [{"key": PROPERTY_KEY, "value": marker_value(issue, new)}]
    return body, transition


class JiraWriter:
    def __init__(self, connection: JiraConnection):
        self.connection = connection

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        body, transition = edit_body(issue, steps, now, self.connection.cloud)
        if transition:
            self._transition(issue.key, transition)
        if body:
            self._edit(issue.key, body, new_markers(steps, now))

    def _edit(self, key: str, body: dict[str, Any], new: list[Marker]) -> None:
        def landed() -> bool:
            log.warning("%s: the write may or may not have landed: checking before sending it again", key)
            if self._landed(key, new):
                log.warning("%s: the earlier write had landed: not sending it again", key)
                return True
            return False

        # Label removals alone change nothing when sent twice; anything with a marker is checked first.
        self.connection.transport.write_once(
            lambda: self.connection.send("PUT", self.connection.issue_url(key, version="2"), f"writing {key}",
                                          None, body),
            f"writing {key}", landed=landed if new else None, idempotent=not new)

    def _landed(self, key: str, new: list[Marker]) -> bool:
        data = as_dict(self.connection.request("GET", self.connection.issue_url(key), f"re-reading {key}",
                                               params={"fields": "comment,labels", "properties": PROPERTY_KEY}))
        if not data.get("key"):
            return False
        found = {(m.rule, m.level) for m in issue_from_jira(data, self.connection.base_url, []).markers}
        return all((m.rule, m.level) in found for m in new)

    def _transition(self, key: str, name: str) -> None:
        data = as_dict(self.connection.request("GET", self.connection.issue_url(key, "/transitions"),
                                               f"reading transitions of {key}"))
        wanted = name.casefold()
        for option in data.get("transitions") or []:
            option = as_dict(option)
            names = {str(option.get("name") or "").casefold(),
                     str(as_dict(option.get("to")).get("name") or "").casefold()}
            if wanted in names:
                try:
                    self.connection.request("POST", self.connection.issue_url(key, "/transitions"),
                                            f"moving {key} to {name}",
                                            body={"transition": {"id": str(option.get("id"))}}, write=True)
                except Uncertain:
                    raise TrackerError(f"Jira failed while moving {key} to {name!r}; run again later") from None
                return
        raise TrackerError(f"{key} has no transition named {name!r} for this account; check the workflow")
