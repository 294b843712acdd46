"""The GitHub simulator's Projects (v2): projects with fields, issues' items with field values, the read of a
project's fields, the items in an issue read (`projectItems` with `fieldValueByName(name:)` under aliases),
and the mutations `updateProjectV2ItemFieldValue` and `addProjectV2ItemById`.

Shapes follow GitHub's schema (tests/contract checks every answer against it): a value answers exactly the
fields its type's fragment selects; an unknown project is null with a NOT_FOUND error; a token without a
project scope gets GitHub's INSUFFICIENT_SCOPES error (its wording) and no data.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .github_data import SimIssue, stamp
from .server import Response

PROJECT_KINDS = ("graphql_project", "graphql_field_update", "graphql_item_add")
# What each value type answers: the fields Steward's fragment for it selects (plugins/github/projects.py).
VALUE_TYPES = {"DATE": "ProjectV2ItemFieldDateValue", "NUMBER": "ProjectV2ItemFieldNumberValue",
               "TEXT": "ProjectV2ItemFieldTextValue", "SINGLE_SELECT": "ProjectV2ItemFieldSingleSelectValue",
               "ITERATION": "ProjectV2ItemFieldIterationValue", "ASSIGNEES": "ProjectV2ItemFieldUserValue"}
_ALIAS = re.compile(r'(\w+):\s*fieldValueByName\(name:\s*("(?:[^"\\]|\\.)*")\)')


def node_id(prefix: str, *parts: Any) -> str:
    return f"{prefix}_" + base64.b64encode(":".join(map(str, parts)).encode()).decode().rstrip("=")


@dataclass
class SimField:
    id: str
    name: str
    type: str  # DATE, NUMBER, TEXT, SINGLE_SELECT, ITERATION, ASSIGNEES, REPOSITORY, ...
    choices: list[str] = field(default_factory=list)  # option names, iteration titles

    def choice_id(self, name: str) -> str:
        return node_id("OPT", self.id, name)


@dataclass
class SimProject:
    owner: str
    number: int
    title: str
    fields: list[SimField]
    items: dict[int, str] = field(default_factory=dict)  # issue number -> item id
    values: dict[tuple[str, str], tuple[Any, datetime]] = field(default_factory=dict)  # (item, field id) -> value

    @property
    def id(self) -> str:
        return node_id("PVT", self.owner, self.number)

    def field_named(self, name: str) -> SimField | None:
        return next((f for f in self.fields if f.name == name), None)


class ProjectsSim:
    """Mixed into GitHubSim: needs `issue()`, `numbers()` and `tick()`."""

    projects: list[SimProject]
    project_scope: bool = True  # False: a token without read:project (such as a workflow's GITHUB_TOKEN)

    def add_project(self, owner: str, number: int, title: str, fields: list[SimField]) -> SimProject:
        project = SimProject(owner, number, title, fields)
        self.projects = [*getattr(self, "projects", []), project]
        return project

    def set_value(self, project: SimProject, number: int, name: str, value: Any, at: datetime) -> None:
        """A person sets a project field of issue `number` (adding the issue to the project)."""
        item = project.items.setdefault(number, node_id("PVTI", project.id, number))
        target = project.field_named(name)
        assert target is not None
        project.values[(item, target.id)] = (value, at)

    def value(self, project: SimProject, number: int, name: str) -> Any:
        item, target = project.items.get(number), project.field_named(name)
        found = project.values.get((item, target.id)) if item and target else None
        return found[0] if found else None

    def project_kind(self, query: str) -> str | None:
        if "updateProjectV2ItemFieldValue" in query:
            return "graphql_field_update"
        if "addProjectV2ItemById" in query:
            return "graphql_item_add"
        return "graphql_project" if "projectV2(number" in query else None

    def _projects_graphql(self, kind: str, variables: dict[str, Any]) -> Response:
        if not self.project_scope:
            return Response(200, {"errors": [{"type": "INSUFFICIENT_SCOPES", "locations": [{"line": 4, "column": 7}],
                                              "message": "Your token has not been granted the required scopes to "
                                              "execute this query. The 'projectV2' field requires one of the "
                                              "following scopes: ['read:project'], but your token has only been "
                                              "granted the: ['repo'] scopes. Please modify your token's granted "
                                              "scopes at: https://github.com/settings/tokens."}]})
        if kind == "graphql_project":
            return self._project_fields(variables)
        project = next((p for p in getattr(self, "projects", []) if p.id == variables.get("project")), None)
        if project is None:
            return _not_found(kind, f"Could not resolve to a node with the global id of '{variables.get('project')}'")
        if kind == "graphql_item_add":
            number = next((n for n in self.numbers() if node_id("I", n) == variables.get("content")), None)  # type: ignore
            if number is None:
                return _not_found(kind, "Could not resolve to a node with the global id of "
                                        f"'{variables.get('content')}'")
            item = project.items.setdefault(number, node_id("PVTI", project.id, number))
            return Response(200, {"data": {"addProjectV2ItemById": {"item": {"id": item}}}})
        item = variables.get("item")
        target = next((f for f in project.fields if f.id == variables.get("field")), None)
        if item not in project.items.values() or target is None:
            return _not_found(kind, "Could not resolve the item or the field")
        value = variables.get("value") or {}
        stored = {"DATE": value.get("date"), "NUMBER": value.get("number"), "TEXT": value.get("text")}.get(target.type)
        if target.type in ("SINGLE_SELECT", "ITERATION"):
            wanted = value.get("singleSelectOptionId" if target.type == "SINGLE_SELECT" else "iterationId")
            stored = next((c for c in target.choices if target.choice_id(c) == wanted), None)
        if stored is None:
            return _not_found(kind, f"The value does not fit the {target.type} field {target.name}")
        project.values[(item, target.id)] = (stored, self.tick())  # type: ignore[attr-defined]
        return Response(200, {"data": {"updateProjectV2ItemFieldValue": {"projectV2Item": {"id": item}}}})

    def _project_fields(self, variables: dict[str, Any]) -> Response:
        login, number = variables.get("login"), variables.get("number")
        owners = {p.owner for p in getattr(self, "projects", [])}
        if login not in owners:
            return Response(200, {"data": {"repositoryOwner": None}})
        project = next((p for p in self.projects if (p.owner, p.number) == (login, number)), None)
        if project is None:
            return Response(200, {"data": {"repositoryOwner": {"projectV2": None}}, "errors": [{
                "type": "NOT_FOUND", "path": ["repositoryOwner", "projectV2"], "locations": [{"line": 4, "column": 7}],
                "message": f"Could not resolve to a ProjectV2 with the number {number}."}]})
        nodes = []
        for item in project.fields:
            node: dict[str, Any] = {"id": item.id, "name": item.name, "dataType": item.type}
            if item.type == "SINGLE_SELECT":
                node = {"__typename": "ProjectV2SingleSelectField", **node,
                        "options": [{"id": item.choice_id(c), "name": c} for c in item.choices]}
            elif item.type == "ITERATION":
                node = {"__typename": "ProjectV2IterationField", **node, "configuration": {
                    "iterations": [{"id": item.choice_id(c), "title": c} for c in item.choices],
                    "completedIterations": []}}
            else:
                node = {"__typename": "ProjectV2Field", **node}
            nodes.append(node)
        return Response(200, {"data": {"repositoryOwner": {"projectV2": {
            "id": project.id, "title": project.title, "fields": {"nodes": nodes}}}}})

    def _project_items(self, issue: SimIssue, query: str) -> dict[str, Any]:
        """`id` and `projectItems`, when the query selects them."""
        if "projectItems(" not in query:
            return {}
        aliases = [(alias, json.loads(name)) for alias, name in _ALIAS.findall(query)]
        items = []
        for project in getattr(self, "projects", []):
            item = project.items.get(issue.number)
            if item is None:
                continue
            node: dict[str, Any] = {"id": item, "project": {"id": project.id}}
            for alias, name in aliases:
                target = project.field_named(name)
                found = project.values.get((item, target.id)) if target else None
                node[alias] = _value(target, *found) if target and found else None
            items.append(node)
        return {"id": node_id("I", issue.number), "projectItems": {"nodes": items}}


def _value(target: SimField, value: Any, at: datetime) -> dict[str, Any]:
    typename = VALUE_TYPES[target.type]
    if target.type == "ASSIGNEES":
        return {"__typename": typename, "users": {"nodes": [{"login": login, "name": login.replace("-", " ").title()}
                                                            for login in value]}}
    key = {"DATE": "date", "NUMBER": "number", "TEXT": "text", "SINGLE_SELECT": "name", "ITERATION": "title"}
    return {"__typename": typename, key[target.type]: value, "updatedAt": stamp(at)}


def _not_found(kind: str, message: str) -> Response:
    path = {"graphql_item_add": "addProjectV2ItemById", "graphql_field_update": "updateProjectV2ItemFieldValue"}
    return Response(200, {"data": {path[kind]: None}, "errors": [{"type": "NOT_FOUND", "path": [path[kind]],
                                                                  "locations": [{"line": 2, "column": 3}],
                                                                  "message": message}]})
