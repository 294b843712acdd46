"""Writing to Jira: one edit request per issue, and a transition when a step asks for one.

The edit is ONE `PUT /rest/api/2/issue/{key}` carrying the comments (`update.comment`), the label adds and
removes (`update.labels`), the assignee (`fields.assignee`) and the marker property (`properties`): the
comment and its marker land together or not at all. Data Center takes the same single edit: its
IssueUpdateBean accepts `properties` on edit as Cloud's does (Jira 6.3 and older ignore it; there the
comment footer is the record). A transition adds a `GET` and a `POST` on `/transitions`.

Every comment and marker names the run that wrote it (`run`), so that when two runs wrote one step at once
each can tell whose copy was kept. Beside the edit: recording that a step's own actions ran (`GET` and `PUT`
of the marker property), and deleting a later copy of a step (`DELETE .../comment/{id}`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from steward.core.errors import TrackerError
from steward.core.ledger import Identity
from steward.core.markers import dedupe, footer, marker_to_json, markers_from_json, step_marker
from steward.core.model import Issue, Marker, Step, transition_target
from steward.plugins.transport import Failure, Uncertain

from .answers import answer
from .fields import JiraField, edit_value
from .parse import PROPERTY_KEY, as_dict, issue_from_jira
from .transport import JiraConnection

log = logging.getLogger("steward.jira")


def new_markers(steps: list[Step], now: datetime, run: str | None = None) -> list[Marker]:
    return [step_marker(step, now, run) for step in steps if step.marks]


def marker_value(markers: list[Marker]) -> dict[str, Any]:
    """The marker property: one marker per step (core.markers.dedupe)."""
    return {"markers": [marker_to_json(m) for m in dedupe(markers)]}


def edit_body(issue: Issue, steps: list[Step], now: datetime, cloud: bool, run: str | None = None,
              mapped: Mapping[str, JiraField] | None = None) -> tuple[dict[str, Any], str | None]:
    """The one edit request for these steps, and the transition asked for (if any). `set_field` goes in the
    same edit (`fields`): due date, priority, or a mapped field by its id (`mapped`, see fields.py)."""
    update: dict[str, list[dict[str, Any]]] = {}
    fields: dict[str, Any] = {}
    add: list[str] = []
    remove: list[str] = []
    transition = None
    for step in steps:
        for action in step.actions:
            if action.type == "comment":
                update.setdefault("comment", []).append({"add": {"body": str(action.value) + footer(step, run)}})
            elif action.type == "add_labels":
                add += [label for label in action.value if label not in add]
            elif action.type == "remove_labels":
                remove += [label for label in action.value if label not in remove]
            elif action.type == "assign":
                fields["assignee"] = {"accountId": action.value} if cloud else {"name": action.value}
            elif action.type == "transition":
                transition = action.value
            elif action.type == "set_field":
                field_id, value = edit_value(str(action.value["field"]), action.value["value"], mapped or {}, cloud)
                fields[field_id] = value
    labels = [{"add": label} for label in add] + [{"remove": label} for label in remove if label not in add]
    if labels:
        update["labels"] = labels
    body: dict[str, Any] = {}
    if update:
        body["update"] = update
    if fields:
        body["fields"] = fields
    new = new_markers(steps, now, run)
    if new:
        # The issue's markers are its ledger: Steward's own comments and the property, never a person's paste.
        body["properties"] = [{"key": PROPERTY_KEY, "value": marker_value(list(issue.markers) + new)}]
    return body, transition


class JiraWriter:
    def __init__(self, connection: JiraConnection, identity: Identity | None = None, run: str | None = None):
        self.connection = connection
        self.identity = identity
        self.run = run
        # What this run recorded last for each step it wrote, by (issue key, rule, level): reconcile puts a
        # marker back if another run's write of the property dropped it.
        self.markers_written: dict[tuple[str, str, int], Marker] = {}
        self.mapped: Mapping[str, JiraField] = {}  # the rule files' mapped fields, for set_field

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        body, transition = edit_body(issue, steps, now, self.connection.cloud, self.run, self.mapped)
        if transition:
            self._transition(issue.key, transition)
        if body:
            new = new_markers(steps, now, self.run)
            self._edit(issue.key, body, new)
            self.markers_written.update({(issue.key, m.rule, m.level): m for m in new})

    def record_done(self, key: str, marker: Marker) -> None:
        """The property updated so the step's marker lists as pending only `marker.pending`. Read just before:
        another run may have written the property since this run read the issue."""
        url = self.connection.issue_url(key, f"/properties/{PROPERTY_KEY}", "2")
        data = self.connection.read_optional(url, f"reading Steward's markers on {key}")
        current = markers_from_json(as_dict(as_dict(data).get("value")).get("markers"), key)
        self.put_markers(key, current + [marker])
        written = self.markers_written.get((key, marker.rule, marker.level))
        if written is not None:
            self.markers_written[(key, marker.rule, marker.level)] = replace(written, pending=marker.pending)

    def forget(self, keys: list[str]) -> None:
        """Reconciled issues: their markers need no putting back any more."""
        done = set(keys)
        self.markers_written = {k: m for k, m in self.markers_written.items() if k[0] not in done}

    def put_markers(self, key: str, markers: list[Marker]) -> None:
        """Write the marker property whole: a PUT of the same value twice changes nothing."""
        url = self.connection.issue_url(key, f"/properties/{PROPERTY_KEY}", "2")
        self.connection.transport.write_once(
            lambda: self.connection.send("PUT", url, f"recording Steward's markers on {key}", None,
                                         marker_value(markers)),
            f"recording Steward's markers on {key}", landed=None, idempotent=True)

    def delete_comment(self, key: str, comment_id: str) -> None:
        """Delete one of Steward's comments; one already gone (another run removed it) is fine."""
        url = self.connection.issue_url(key, f"/comment/{quote(comment_id, safe='')}", "2")
        what = f"removing a second copy of a comment on {key}"

        def send() -> None:
            try:
                self.connection.send("DELETE", url, what, None, None)
            except Failure as failure:
                if failure.status != 404:
                    raise

        self.connection.transport.write_once(send, what, landed=None, idempotent=True)

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
        data = answer(self.connection.request("GET", self.connection.issue_url(key), f"re-reading {key}",
                                              params={"fields": "comment,labels", "properties": PROPERTY_KEY}),
                      self.connection.base_url, f"re-reading {key}")
        if not data.get("key"):
            return False
        found = {(m.rule, m.level) for m in issue_from_jira(data, self.connection.base_url, [],
                                                            identity=self.identity).markers}
        return all((m.rule, m.level) in found for m in new)

    def _transition(self, key: str, value: Any) -> None:
        """Move the issue by the transition named `value` (or to the status it names), setting the resolution
        in the same request when the rule gives one."""
        name, resolution = transition_target(value)
        body: dict[str, Any] = {"fields": {"resolution": {"name": resolution}}} if resolution else {}
        data = answer(self.connection.request("GET", self.connection.issue_url(key, "/transitions"),
                                              f"reading transitions of {key}"),
                      self.connection.base_url, f"reading transitions of {key}", "transitions")
        wanted = name.casefold()
        for option in data["transitions"]:
            option = as_dict(option)
            names = {str(option.get("name") or "").casefold(),
                     str(as_dict(option.get("to")).get("name") or "").casefold()}
            if wanted in names:
                try:
                    self.connection.request("POST", self.connection.issue_url(key, "/transitions"),
                                            f"moving {key} to {name}",
                                            body={**body, "transition": {"id": str(option.get("id"))}},
                                            write=True)
                except Uncertain:
                    raise TrackerError(f"Jira failed while moving {key} to {name!r}; run again later") from None
                return
        raise TrackerError(f"{key} has no transition named {name!r} for this account; check the workflow")
