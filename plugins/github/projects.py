"""GitHub Projects (v2) fields as the rule files' mapped fields (`fields:` with a `github` name).

The projects are named in the rule files' settings (`settings.github.projects: [octo-org/5]`). At run start
one request per project reads its fields (`repositoryOwner { ... on ProjectV2Owner { projectV2(number:) } }`);
each mapped name must be a field of one of them, of a type that fits the mapping (`DATE` for `date`, ...), or
the run ends before reading an issue, naming the close matches. The values are read in the sweep's own page:
each issue's project items with one `fieldValueByName(name:)` per mapped name, so fields cost no request.
`set_field` writes a value with `updateProjectV2ItemFieldValue` (adding the issue to the project first
when it is not in it). Reading projects needs a token with `read:project` (classic) or the fine-grained
*Projects: read* permission; writing needs `project` / *Projects: read and write*. The workflow's
GITHUB_TOKEN has no project permission at all.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from steward.core.errors import TrackerError
from steward.core.fields import FieldMapping
from steward.core.model import FieldValue, Issue
from steward.core.timeutil import parse_time

from .transport import GitHubConnection, GitHubError

PROJECT_ITEMS = 20  # the projects one issue is in that are read; a 21st project's values are not seen
SCOPES = ("a classic token needs read:project (project to write), a fine-grained token Projects: read (read and "
          "write); the workflow's GITHUB_TOKEN cannot read projects")

# The project field types Steward reads, and the mapping types each can be.
KINDS = {"DATE": ("date",), "NUMBER": ("number",), "TEXT": ("text",), "SINGLE_SELECT": ("select", "text"),
         "ITERATION": ("select", "text"), "ASSIGNEES": ("user", "multiselect")}

PROJECT_QUERY = """query($login: String!, $number: Int!) {
  repositoryOwner(login: $login) {
    ... on ProjectV2Owner {
      projectV2(number: $number) {
        id title
        fields(first: 100) {
          nodes {
            __typename
            ... on ProjectV2FieldCommon { id name dataType }
            ... on ProjectV2SingleSelectField { options { id name } }
            ... on ProjectV2IterationField {
              configuration { iterations { id title } completedIterations { id title } }
            }
          }
        }
      }
    }
  }
}"""

_VALUE = """__typename
          ... on ProjectV2ItemFieldDateValue { date updatedAt }
          ... on ProjectV2ItemFieldNumberValue { number updatedAt }
          ... on ProjectV2ItemFieldTextValue { text updatedAt }
          ... on ProjectV2ItemFieldSingleSelectValue { name updatedAt }
          ... on ProjectV2ItemFieldIterationValue { title updatedAt }
          ... on ProjectV2ItemFieldUserValue { users(first: 10) { nodes { login name } } }"""

UPDATE = """mutation($project: ID!, $item: ID!, $field: ID!, $value: ProjectV2FieldValue!) {
  updateProjectV2ItemFieldValue(input: {projectId: $project, itemId: $item, fieldId: $field, value: $value}) {
    projectV2Item { id }
  }
}"""

ADD = """mutation($project: ID!, $content: ID!) {
  addProjectV2ItemById(input: {projectId: $project, contentId: $content}) { item { id } }
}"""


@dataclass(frozen=True)
class ProjectField:
    mapping: FieldMapping
    project: str  # OWNER/NUMBER, as the settings name it
    project_id: str
    id: str
    name: str
    type: str  # GitHub's dataType
    choices: dict[str, str] = field(default_factory=dict)  # option or iteration name -> id


class Projects:
    """The projects of a run, their mapped fields, and what reading and writing them asks GitHub."""

    def __init__(self, connection: GitHubConnection):
        self.connection = connection
        self.names: list[str] = []  # OWNER/NUMBER, from the settings
        self.fields: dict[str, ProjectField] = {}  # by the rule files' name
        self.aliases: dict[str, str] = {}  # GitHub field name -> its alias in the issue query

    def configure(self, settings: Mapping[str, Any]) -> None:
        github = settings.get("github") if isinstance(settings.get("github"), Mapping) else {}
        self.names = [str(name) for name in github.get("projects") or []]

    def map_fields(self, fields: dict[str, FieldMapping]) -> None:
        wanted = {name: m for name, m in fields.items() if m.on("github")}
        if not wanted:
            return
        if not self.names:
            raise TrackerError(f"fields: {', '.join(sorted(wanted))} map GitHub project fields, but "
                               "settings.github.projects names no project (e.g. projects: [octo-org/5])")
        known: list[tuple[str, str, str, dict[str, Any]]] = []  # (project, project id, title, field node)
        for project in self.names:
            project_id, title, nodes = self._read(project)
            known += [(project, project_id, title, node) for node in nodes]
        for name, mapping in sorted(wanted.items()):
            github = mapping.on("github") or ""
            found = next((k for k in known if github in (k[3].get("name"), k[3].get("id"))), None)
            if found is None:
                close = difflib.get_close_matches(github, sorted({str(k[3].get("name")) for k in known}), n=3)
                hint = f"; close matches: {', '.join(repr(c) for c in close)}" if close else ""
                raise TrackerError(f"fields: {name}: GitHub project field {github!r} is not a field of "
                                   f"{', '.join(self.names)}{hint}")
            project, project_id, title, node = found
            kind = str(node.get("dataType"))
            if kind not in KINDS:
                raise TrackerError(f"fields: {name}: GitHub project field {github!r} ({project}, {title}) is a "
                                   f"{kind} field, which Steward cannot turn into a fact (it reads "
                                   f"{', '.join(sorted(KINDS))})")
            if mapping.kind not in KINDS[kind]:
                raise TrackerError(f"fields: {name}: GitHub project field {github!r} is a {kind} field: map it "
                                   f"with type: {' or '.join(KINDS[kind])}, not {mapping.kind}")
            config = node.get("configuration") or {}
            choices = node.get("options") or (config.get("iterations") or []) + (
                config.get("completedIterations") or [])
            self.fields[name] = ProjectField(mapping, project, project_id, str(node["id"]), str(node["name"]), kind,
                                             {str(c.get("name") or c.get("title")): str(c["id"]) for c in choices})
        self.aliases = {f.name: f"f{index}" for index, f in enumerate(
            {f.name: f for f in self.fields.values()}.values())}

    def _read(self, project: str) -> tuple[str, str, list[dict[str, Any]]]:
        login, _, number = project.partition("/")
        try:
            data = self.connection.graphql(PROJECT_QUERY, {"login": login, "number": int(number)},
                                           f"reading the fields of project {project}")
        except GitHubError as error:
            errors = [e for e in (error.data or {}).get("errors") or [] if isinstance(e, dict)]
            if not errors or any(e.get("type") != "NOT_FOUND" for e in errors):
                raise TrackerError(f"project {project}: {error} ({SCOPES})") from None
            data = {}
        node = ((data.get("repositoryOwner") or {}).get("projectV2")) or None
        if node is None:
            raise TrackerError(f"project {project} was not found, or the token cannot read it ({SCOPES})")
        return str(node["id"]), str(node.get("title") or project), [
            n for n in (node.get("fields") or {}).get("nodes") or [] if isinstance(n, dict) and n.get("id")]

    def selection(self) -> str:
        """What each issue read adds: its node id (to add it to a project) and its items' mapped values."""
        if not self.fields:
            return ""
        values = "".join(f"\n        {alias}: fieldValueByName(name: {json.dumps(name)}) {{\n          {_VALUE}\n"
                         f"        }}" for name, alias in self.aliases.items())
        return f"""
  id
  projectItems(first: {PROJECT_ITEMS}, includeArchived: false) {{
    nodes {{
      id
      project {{ id }}{values}
    }}
  }}"""

    def values(self, node: dict[str, Any]) -> dict[str, FieldValue]:
        """The mapped fields of one issue node; a field the issue has no value for is left out."""
        found: dict[str, FieldValue] = {}
        items = [i for i in (node.get("projectItems") or {}).get("nodes") or [] if isinstance(i, dict)]
        for name, spec in self.fields.items():
            item = next((i for i in items if (i.get("project") or {}).get("id") == spec.project_id), None)
            value = _value(spec, (item or {}).get(self.aliases[spec.name]))
            if value is not None:
                found[name] = value
        return found

    def items(self, node: dict[str, Any]) -> dict[str, str]:
        """The issue's project item ids, by project id: what a write names."""
        return {str(i["project"]["id"]): str(i["id"]) for i in (node.get("projectItems") or {}).get("nodes") or []
                if isinstance(i, dict) and i.get("id") and isinstance(i.get("project"), dict)}

    def check(self, issue: Issue, name: str, value: Any) -> tuple[ProjectField, dict[str, Any]]:
        """The field and the value GitHub takes for `set_field`, or TrackerError before anything is written."""
        spec = self.fields.get(name)
        if spec is None:
            raise TrackerError(f"{issue.key}: set_field {name!r}: on GitHub set_field writes a mapped project field "
                               f"({', '.join(sorted(self.fields)) or 'none mapped'})")
        text = "" if value is None else str(value)
        if spec.type == "DATE":
            try:
                return spec, {"date": datetime.fromisoformat(text[:10]).date().isoformat()}
            except ValueError:
                raise TrackerError(f"{issue.key}: set_field {name!r}: {value!r} is not a date") from None
        if spec.type == "NUMBER":
            try:
                return spec, {"number": float(text)}
            except ValueError:
                raise TrackerError(f"{issue.key}: set_field {name!r}: {value!r} is not a number") from None
        if spec.type == "TEXT":
            return spec, {"text": text}
        if spec.type in ("SINGLE_SELECT", "ITERATION") and text in spec.choices:
            key = "singleSelectOptionId" if spec.type == "SINGLE_SELECT" else "iterationId"
            return spec, {key: spec.choices[text]}
        if spec.type in ("SINGLE_SELECT", "ITERATION"):
            raise TrackerError(f"{issue.key}: set_field {name!r}: {value!r} is not one of "
                               f"{', '.join(repr(c) for c in spec.choices)}")
        raise TrackerError(f"{issue.key}: set_field {name!r}: GitHub sets a {spec.type} field itself")

    def write(self, issue: Issue, name: str, value: Any) -> None:
        spec, typed = self.check(issue, name, value)
        items: dict[str, str] = issue.extra.get("project_items") or {}
        item = items.get(spec.project_id)
        if item is None:
            data = self.connection.mutate(ADD, {"project": spec.project_id, "content": issue.extra.get("node_id")},
                                          f"adding {issue.key} to project {spec.project}")
            item = str(((data.get("addProjectV2ItemById") or {}).get("item") or {})["id"])
            items[spec.project_id] = item
            issue.extra["project_items"] = items
        self.connection.mutate(UPDATE, {"project": spec.project_id, "item": item, "field": spec.id, "value": typed},
                               f"setting {spec.name!r} of {issue.key}")


def _value(spec: ProjectField, node: Any) -> FieldValue | None:
    if not isinstance(node, dict):
        return None
    kind = spec.mapping.kind
    updated = _time(node.get("updatedAt"))
    if spec.type == "DATE" and node.get("date"):
        day = datetime.fromisoformat(str(node["date"])[:10])
        return FieldValue("date", day.replace(tzinfo=timezone.utc), updated=updated)
    if spec.type == "NUMBER" and isinstance(node.get("number"), (int, float)):
        number = node["number"]
        return FieldValue("number", int(number) if float(number).is_integer() else number, updated=updated)
    text = node.get({"TEXT": "text", "SINGLE_SELECT": "name", "ITERATION": "title"}.get(spec.type, ""))
    if isinstance(text, str) and text:
        return FieldValue(kind, text, updated=updated)
    users = [u for u in (node.get("users") or {}).get("nodes") or [] if isinstance(u, dict) and u.get("login")]
    if spec.type == "ASSIGNEES" and users:
        if kind == "user":
            return FieldValue("user", users[0]["login"], users[0].get("name") or users[0]["login"])
        return FieldValue("multiselect", [u["login"] for u in users])
    return None


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value) if isinstance(value, str) else None
    except ValueError:
        return None
