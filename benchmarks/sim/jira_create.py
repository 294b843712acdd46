"""The Jira simulator's issue creation and deletion: `POST /rest/api/{2,3}/issue` (201 with id, key and self;
Steward's account is the reporter) and `DELETE /rest/api/{2,3}/issue/{key}` (204), as Jira answers them.

Hooked into benchmarks/sim/jira.py as the request kinds "issue_create" and "issue_delete". A create is checked
the way Jira checks it: the project and issue type must exist, the summary is required (at most 255
characters), the description is text on v2, labels have no spaces, and a field Steward's create screen does
not have is refused; a refused create creates nothing.
"""

from __future__ import annotations

import re
from typing import Any

from . import jira  # a cycle: jira.py imports this module; names are read when a request is handled
from .server import Request, Response

CREATABLE = {"project", "issuetype", "summary", "description", "labels", "priority", "duedate"}


def create(sim: Any, request: Request, base: str, version: str) -> Response:
    """`sim` is the JiraSim asked."""
    body = request.json()
    body = body if isinstance(body, dict) else {}
    fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
    errors: dict[str, str] = {}
    project = fields.get("project") if isinstance(fields.get("project"), dict) else {}
    if project.get("key") != jira.PROJECT[0] and project.get("id") != jira.PROJECT[1]:
        errors["project"] = "valid project is required"
    kind = fields.get("issuetype") if isinstance(fields.get("issuetype"), dict) else {}
    type_name = kind.get("name") or next((n for n, i in jira.TYPES.items() if i == kind.get("id")), None)
    if type_name not in jira.TYPES:
        errors["issuetype"] = "valid issue type is required"
    summary = fields.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors["summary"] = "You must specify a summary of the issue."
    elif len(summary) > 255:
        errors["summary"] = "Summary must be less than 255 characters."
    description = fields.get("description")
    if description is not None and not isinstance(description, str if version == "2" else dict):
        errors["description"] = "Operation value must be a string" if version == "2" else \
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    labels = fields.get("labels") or []
    if not isinstance(labels, list) or any(not isinstance(v, str) or not v or re.search(r"\s", v) for v in labels):
        errors["labels"] = "The label contains spaces which is invalid."
    for name in set(fields) - CREATABLE:
        errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
    properties = body.get("properties") or []
    if not isinstance(properties, list) or any(not isinstance(p, dict) or "key" not in p or "value" not in p
                                               for p in properties):
        errors["properties"] = "Each property needs a key and a value."
    if errors:
        return Response(400, {"errorMessages": [], "errors": errors})
    n = max((issue.n for issue in sim.issues.values()), default=0) + 1
    now = sim.now()
    issue = jira.SimIssue(n=n, key=f"{jira.PROJECT[0]}-{n}", status="To Do", priority="Medium", type=type_name,
                          labels=list(labels), assignee=None, reporter=jira.STEWARD, created=now, updated=now,
                          due=None, summary=summary, description=description if isinstance(description, str) else
                          None, properties={p["key"]: p["value"] for p in properties}, live=True)
    sim.add(issue)
    sim.created.append(issue.key)
    return Response(201, {"id": issue.id, "key": issue.key, "self": f"{base}/rest/api/{version}/issue/{issue.id}"})


def delete(sim: Any, key: str) -> Response:
    del sim.issues[key]
    sim._order.remove(key)
    sim._searches.clear()
    return Response(204)
