"""The tracker fields a rule file maps by name, as facts; and the facts of an issue's hierarchy and links.

```yaml
fields:
  next_review: {jira: "Next review date", github: "Review date", files: next_review, type: date}
  risk:        {jira: "Risk level", github: "Risk", type: select}
```

Each tracker finds the field by its display name (or id) once per run and reads only the fields mapped; the
issue carries the values under the mapping's names (`Issue.fields`). A mapped field NAME gives facts by its
`type` (default `text`):

| type | facts |
|---|---|
| date | `days_until_NAME` (negative when past), `days_since_NAME` |
| user | `NAME` (the person's id, for `| mention`) and `NAME_name` |
| number | `NAME` (number) |
| text, select | `NAME` (string) |
| multiselect | `NAME` (list) |

A field missing on an issue makes its facts missing there, never zero. A field the tracker does not have,
or of a type that does not fit, ends the run before anything is read, naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .model import Issue
from .registry import FactContext, FactSpec

TRACKERS = ("jira", "github", "files")
_FACT_TYPE = {"number": "number", "text": "string", "select": "string", "multiselect": "list", "user": "string"}


@dataclass(frozen=True)
class FieldMapping:
    name: str  # the rule files' name for it
    names: dict[str, str]  # its name (or id) on each tracker
    kind: str  # date, user, number, text, select, multiselect

    def on(self, tracker: str) -> str | None:
        return self.names.get(tracker)


def mappings(settings: Mapping[str, Any]) -> dict[str, FieldMapping]:
    """The `fields:` of the loaded rule files, as the loader left them in the settings."""
    found = settings.get("fields") or {}
    return found if isinstance(found, dict) else {}


def parse_mapping(name: str, raw: Mapping[str, Any]) -> FieldMapping:
    names = {tracker: str(raw[tracker]) for tracker in TRACKERS if raw.get(tracker)}
    return FieldMapping(name, names, str(raw.get("type", "text")))


def _value(issue: Issue, name: str) -> Any:
    field = issue.fields.get(name)
    return None if field is None else field.value


def field_fact(fact: str, fields: Mapping[str, FieldMapping]) -> FactSpec | None:
    """The fact a rule names from a mapped field, or None when it names none."""
    for prefix, sign in (("days_until_", 1), ("days_since_", -1)):
        name = fact[len(prefix):] if fact.startswith(prefix) else None
        mapping = fields.get(name) if name else None
        if mapping is not None and mapping.kind == "date":
            return FactSpec(fact, "number", f"Days until/since the mapped date field {name}.",
                            _days(name, sign), days=True)
    if fact.endswith("_name") and fields.get(fact[:-5]) is not None and fields[fact[:-5]].kind == "user":
        name = fact[:-5]
        return FactSpec(fact, "string", f"The display name of the mapped user field {name}.", _display(name))
    mapping = fields.get(fact)
    if mapping is None or mapping.kind == "date":
        return None
    return FactSpec(fact, _FACT_TYPE[mapping.kind], f"The mapped field {fact}.", lambda issue, ctx: _value(issue, fact),
                    person=mapping.kind == "user")


def _days(name: str, sign: int):
    def compute(issue: Issue, ctx: FactContext) -> int | None:
        value = _value(issue, name)
        if not isinstance(value, datetime):
            return None
        if sign < 0:
            return ctx.days_since(value)
        if ctx.calendar is not None:
            return ctx.calendar.until(ctx.calendar.local_date(value), ctx.calendar.local_date(ctx.now))
        return (value.date() - ctx.now.date()).days

    return compute


def _display(name: str):
    def compute(issue: Issue, ctx: FactContext) -> str | None:
        field = issue.fields.get(name)
        return None if field is None or field.value is None else field.display or str(field.value)

    return compute


# ---------------------------------------------------------------- hierarchy and links

def _open(keys: list[Any]) -> list[Any]:
    return [r for r in keys if r.status_category != "done"]


HIERARCHY = (
    ("parent", "string", "The parent issue's key (an epic, a parent task, a GitHub parent issue).",
     lambda i, c: i.parent.key if i.parent else None),
    ("parent_status_category", "string", "The parent's status category.",
     lambda i, c: i.parent.status_category if i.parent else None),
    ("children", "list", "Keys of the child issues (sub-tasks, an epic's issues, sub-issues).",
     lambda i, c: [r.key for r in i.children]),
    ("open_children", "number", "Child issues not done.", lambda i, c: len(_open(i.children))),
    ("children_without_owner", "number", "Open child issues with no assignee.",
     lambda i, c: sum(1 for r in _open(i.children) if not r.assignee)),
    ("blocked_by", "list", "Keys of the open issues that block this one.",
     lambda i, c: [r.key for r in _open(i.blocked_by)]),
    ("open_blockers", "number", "Open issues that block this one.", lambda i, c: len(_open(i.blocked_by))),
    ("blocks", "list", "Keys of the issues this one blocks.", lambda i, c: [r.key for r in i.blocks]),
    ("components", "list", "Component names (Jira).", lambda i, c: list(i.components)),
    ("milestone", "string", "The milestone's title (GitHub).", lambda i, c: i.milestone),
)
ALWAYS = frozenset({"open_children", "children_without_owner", "open_blockers"})
