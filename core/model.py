"""Tracker-neutral data: what adapters produce and what the planner emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .mentions import readable

SEVERITIES = ("info", "low", "medium", "high", "critical")
HISTORY_FIELDS = ("priority", "assignee", "labels", "status", "due")
TRACKER_ACTIONS = ("comment", "add_labels", "remove_labels", "assign", "transition", "set_field")
FIELD_KINDS = ("date", "user", "number", "text", "select", "multiselect")


@dataclass(frozen=True)
class Comment:
    author: str | None
    created: datetime
    body: str
    by_steward: bool = False


@dataclass(frozen=True)
class Change:
    """One field change. Labels change one label at a time: `to_value` added, `from_value` removed.

    `by_steward` is set by the ledger: the change is part of one of Steward's own writes, so no clock that
    measures people counts it.
    """

    field: str
    from_value: str | None
    to_value: str | None
    author: str | None
    at: datetime
    by_steward: bool = False


@dataclass(frozen=True)
class Marker:
    """A step Steward already took on an issue: rule id, ladder level (1 = first step), when.

    `added` is the labels the step put on the issue that were not there before it (so clean-up takes back
    only those); None on markers written before Steward recorded it. `pending` names the step's own actions
    (a plugin's action, a notification) that had not run yet when the marker was written: they run after the
    tracker write and are then recorded as done, so each runs once even if a run dies in between. `run`
    names the Steward run that wrote it, so that when two runs wrote the same step at once each can tell
    whose copy was kept.
    """

    rule: str
    level: int
    at: datetime
    added: tuple[str, ...] | None = None
    pending: tuple[str, ...] = ()
    run: str | None = None


@dataclass(frozen=True)
class Related:
    """Another issue this one is tied to (its parent, a child, a blocker), as the tracker sent it with this one."""

    key: str
    status_category: str | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class FieldValue:
    """A tracker field a rule file maps by name (`fields:`): its kind, and its value in plain Python
    (a datetime for a date, an id for a user, a list for a multi-select; None when the issue has none)."""

    kind: str
    value: Any
    display: str | None = None  # a user's display name
    updated: datetime | None = None  # when the tracker says the value was last set, where it says


@dataclass
class Issue:
    key: str
    title: str = ""
    body: str = ""
    url: str | None = None
    tracker: str = ""
    project: str | None = None
    type: str | None = None
    status: str | None = None
    status_category: str | None = None
    priority: str | None = None
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None
    reporter: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    due: datetime | None = None
    comments: list[Comment] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)  # steps already taken (core/ledger.py)
    unfinished: list[Marker] = field(default_factory=list)  # steps whose comment landed, changes did not
    people: dict[str, str] = field(default_factory=dict)  # display names by the ids `assignee` etc. hold
    components: list[str] = field(default_factory=list)
    milestone: str | None = None
    parent: Related | None = None
    children: list[Related] = field(default_factory=list)
    blocked_by: list[Related] = field(default_factory=list)  # issues this one waits for
    blocks: list[Related] = field(default_factory=list)  # issues that wait for this one
    fields: dict[str, FieldValue] = field(default_factory=dict)  # the rule files' mapped fields, by their names
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    issue: str
    rule: str
    severity: str
    facts: dict[str, Any]
    names: dict[str, str] = field(default_factory=dict, compare=False)  # display names of the people in `facts`


def finding_json(finding: Finding) -> dict[str, Any]:
    return {"issue": finding.issue, "rule": finding.rule, "severity": finding.severity, "facts": finding.facts}


@dataclass(frozen=True)
class Action:
    """One write. `level` is the ladder level the action belongs to; 0 means ladder clean-up."""

    issue: str
    rule: str
    level: int
    type: str
    value: Any

    def to_json(self) -> dict[str, Any]:
        return {"issue": self.issue, "rule": self.rule, "level": self.level, "type": self.type,
                "value": _readable(self.value)}


def _readable(value: Any) -> Any:
    if isinstance(value, str):
        return readable(value)
    if isinstance(value, dict):
        return {key: _readable(item) for key, item in value.items()}
    return value


@dataclass
class Step:
    """The actions of one ladder level of one rule on one issue: written together, marked once.

    A step that `resumes` an earlier one runs only the actions its marker still lists as pending: its
    comment and labels are on the tracker already.
    """

    issue: str
    rule: str
    level: int
    severity: str
    actions: list[Action]
    resumes: bool = False

    @property
    def marks(self) -> bool:
        return self.level > 0 and not self.resumes


@dataclass
class Plan:
    findings: list[Finding] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    deferred: list[Step] = field(default_factory=list)  # left for a later run by --max-actions
    failed: list[Step] = field(default_factory=list)  # the tracker refused or failed them: not written
    warnings: list[str] = field(default_factory=list)
    issues_seen: int = 0
    stopped: str | None = None  # why a run that had written some steps could not read on
    skipped: list[str] = field(default_factory=list)  # issues the tracker could not read: left out, each warned


    def to_json(self) -> dict[str, Any]:
        return {
            "issues_seen": self.issues_seen,
            "findings": [finding_json(f) for f in self.findings],
            "actions": [a.to_json() for s in self.steps for a in s.actions],
            "deferred": [a.to_json() for s in self.deferred for a in s.actions],
            "failed": [a.to_json() for s in self.failed for a in s.actions],
            "warnings": list(self.warnings),
            "stopped": self.stopped,
            "skipped": list(self.skipped),
        }


def transition_target(value: Any) -> tuple[str, str | None]:
    """A `transition` action's status and resolution: `"Done"` or `{to: Done, resolution: "Won't Do"}`."""
    if isinstance(value, dict):
        resolution = value.get("resolution")
        return str(value.get("to") or ""), str(resolution) if resolution else None
    return str(value), None
