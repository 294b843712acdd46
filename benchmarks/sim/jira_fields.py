"""The Jira simulator with custom fields, hierarchy and links: `FieldsJiraSim`, a `JiraSim` that also has

- `GET /rest/api/{2,3}/field`: the field list, shaped as Atlassian's FieldDetails (Cloud) and Field (Data
  Center), with system fields and custom fields of each type a governance rule maps (date picker, date-time,
  select list, user picker, number, multi-select, text area) and one Steward cannot map (the Sprint field);
- custom field values on every issue, generated from the seed like the rest of the issue, some missing, in
  the shapes of the recorded Cloud crawl (../shared/reference/jira/devlake-cloud-recordings: `"2020-06-12"`,
  `"2020-07-22T15:25:29.121+0800"`, `{"self", "value", "id"}` options) and of Jira 5's all-expanded issue
  (jrjc-server-5.0: a number, a text area, radio buttons as an option);
- with `hierarchy=True`: `parent`, `subtasks`, `issuelinks` (Blocks and Relates) and `components`, shaped as
  in the same recordings: issue n with n % 10 == 1 is a parent; n + 1 is its sub-task (listed in the
  parent's `subtasks`), n + 2 and n + 3 its children by `parent` only (an epic's issues, on Cloud); every issue n
  with n % 7 == 0 is blocked by n - 1; every n with n % 9 == 0 relates to n - 1. On Cloud the issue type
  carries `hierarchyLevel` (1 for a parent, -1 for a sub-task, else 0);
- writes of `priority`, `duedate` and the custom fields in `PUT /issue` (`fields`), recorded in the
  changelog as Jira records a custom field (`fieldtype: custom`);
- JQL on custom fields by `cf[NNNNN]`: `=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `is [not] EMPTY`.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from .jira import PRIORITIES, TYPES, USERS, JiraSim, Jql, JqlError, SimIssue, account_id, jira_time
from .server import Request, Response

_TYPES = "com.atlassian.jira.plugin.system.customfieldtypes:"
# id, name, schema (as GET /field describes it)
CUSTOM = (
    ("customfield_10060", "Next review date", {"type": "date", "custom": _TYPES + "datepicker", "customId": 10060}),
    ("customfield_10022", "Approval expires", {"type": "datetime", "custom": _TYPES + "datetime", "customId": 10022}),
    ("customfield_10012", "Risk level", {"type": "option", "custom": _TYPES + "select", "customId": 10012}),
    ("customfield_10070", "Review owner", {"type": "user", "custom": _TYPES + "userpicker", "customId": 10070}),
    ("customfield_10071", "Risk score", {"type": "number", "custom": _TYPES + "float", "customId": 10071}),
    ("customfield_10072", "Regulations", {"type": "array", "items": "option", "custom": _TYPES + "multiselect",
                                          "customId": 10072}),
    ("customfield_10073", "Decision notes", {"type": "string", "custom": _TYPES + "textarea", "customId": 10073}),
    ("customfield_10020", "Sprint", {"type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint",
                                     "customId": 10020}),
)
SYSTEM = (
    ("summary", "Summary", {"type": "string", "system": "summary"}),
    ("description", "Description", {"type": "string", "system": "description"}),
    ("duedate", "Due date", {"type": "date", "system": "duedate"}),
    ("priority", "Priority", {"type": "priority", "system": "priority"}),
    ("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}),
    ("assignee", "Assignee", {"type": "user", "system": "assignee"}),
    ("status", "Status", {"type": "status", "system": "status"}),
    ("components", "Components", {"type": "array", "items": "component", "system": "components"}),
    ("issuelinks", "Linked Issues", {"type": "array", "items": "issuelinks", "system": "issuelinks"}),
    ("subtasks", "Sub-tasks", {"type": "array", "items": "issuelinks", "system": "subtasks"}),
    ("parent", "Parent", {"type": "issuelink", "system": "parent"}),
)
RISKS = {"Low": "10016", "Medium": "10017", "High": "10018"}
REGULATIONS = {"GDPR": "10030", "SOX": "10031", "DORA": "10032"}
COMPONENTS = {"Platform": "10000", "Billing": "10001", "Identity": "10002"}
BLOCKS = {"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"}
RELATES = {"id": "10003", "name": "Relates", "inward": "relates to", "outward": "relates to"}
_CF = re.compile(r"^cf\[(\d+)\]$", re.IGNORECASE)


class FieldsJiraSim(JiraSim):
    """A JiraSim with custom fields (always) and hierarchy and links (`hierarchy=True`). See the module doc."""

    def __init__(self, *args: Any, hierarchy: bool = False, missing_rate: float = 0.3,
                 extra_fields: tuple[tuple[str, str, dict[str, Any]], ...] = (), **kwargs: Any):
        self.hierarchy, self.missing_rate = hierarchy, missing_rate
        self.catalogue = SYSTEM + CUSTOM + tuple(extra_fields)
        self.values: dict[str, dict[str, Any]] = {}  # written custom values by key (None: cleared)
        super().__init__(*args, **kwargs)

    # ---------------------------------------------------------------- values

    def custom(self, key: str) -> dict[str, Any]:
        """The issue's custom field values as plain data (a date, an option value, a user name, ...)."""
        issue = self.issues[key]
        rng = random.Random(self.seed * 7_000_003 + issue.n)
        day = self.epoch.date() + timedelta(days=rng.randint(-40, 60))

        def maybe(value: Any) -> Any:
            return None if rng.random() < self.missing_rate else value

        values = {
            "customfield_10060": maybe(day),
            "customfield_10022": maybe(datetime.combine(day, datetime.min.time(), timezone.utc)
                                       + timedelta(hours=rng.randint(0, 23))),
            "customfield_10012": maybe(rng.choice(list(RISKS))),
            "customfield_10070": maybe(rng.choice(USERS)),
            "customfield_10071": maybe(round(rng.uniform(0, 10), 1)),
            "customfield_10072": maybe(rng.sample(list(REGULATIONS), rng.randint(1, 2))),
            "customfield_10073": maybe(rng.choice(("Accepted by the board.", "Revisit after the audit.\nOwner: li"))),
        }
        values.update(self.values.get(key, {}))
        return values

    def parent_of(self, n: int) -> int | None:
        """Data Center's `parent` names only a sub-task's parent (an epic's issues have the Epic Link field)."""
        if not self.hierarchy or n % 10 not in ((2, 3, 4) if self.cloud else (2,)):
            return None
        parent = n - n % 10 + 1
        return parent if f"OPS-{parent}" in self.issues else None

    def children_of(self, n: int) -> list[int]:
        if not self.hierarchy or n % 10 != 1:
            return []
        return [c for c in (n + 1, n + 2, n + 3) if f"OPS-{c}" in self.issues]

    # ---------------------------------------------------------------- rendering

    def _option(self, value: str, ids: dict[str, str], base: str) -> dict[str, Any]:
        return {"self": f"{base}/rest/api/2/customFieldOption/{ids[value]}", "value": value, "id": ids[value]}

    def _custom_json(self, key: str, base: str, version: str) -> dict[str, Any]:
        values = self.custom(key)
        out: dict[str, Any] = {}
        for field_id, value in values.items():
            if value is None:
                out[field_id] = None
            elif field_id == "customfield_10060":
                out[field_id] = value.isoformat()
            elif field_id == "customfield_10022":
                out[field_id] = jira_time(value)
            elif field_id == "customfield_10012":
                out[field_id] = self._option(value, RISKS, base)
            elif field_id == "customfield_10070":
                out[field_id] = self._user(value, base, version)
            elif field_id == "customfield_10072":
                out[field_id] = [self._option(v, REGULATIONS, base) for v in value]
            elif field_id == "customfield_10073":
                out[field_id] = self._text(value, version)
            else:
                out[field_id] = value
        out["customfield_10020"] = None
        return out

    def _linked(self, n: int, base: str, version: str) -> dict[str, Any]:
        """Another issue as Jira nests it in `parent`, `subtasks` and `issuelinks`: summary, status, priority,
        type (no assignee: Jira does not send one there)."""
        issue = self.issues[f"OPS-{n}"]
        return {"id": issue.id, "key": issue.key, "self": f"{base}/rest/api/{version}/issue/{issue.id}",
                "fields": {"summary": f"{issue.type} {n}", "status": self._status(issue.status, base, version),
                           "priority": {"self": f"{base}/rest/api/{version}/priority/{PRIORITIES[issue.priority]}",
                                        "name": issue.priority, "id": PRIORITIES[issue.priority]}
                           if issue.priority else None,
                           "issuetype": self._type(issue, base, version)}}

    def _type(self, issue: SimIssue, base: str, version: str) -> dict[str, Any]:
        found = {"self": f"{base}/rest/api/{version}/issuetype/{TYPES[issue.type]}", "id": TYPES[issue.type],
                 "description": "", "name": issue.type, "subtask": self.hierarchy and issue.n % 10 == 2}
        if self.cloud:
            found["hierarchyLevel"] = (1 if issue.n % 10 == 1 else -1 if issue.n % 10 == 2 else 0) \
                if self.hierarchy else 0
        return found

    def _links(self, n: int, base: str, version: str) -> list[dict[str, Any]]:
        links = []

        def link(kind: dict[str, str], other: int, direction: str, ident: int) -> None:
            if f"OPS-{other}" in self.issues:
                links.append({"id": str(ident), "self": f"{base}/rest/api/{version}/issueLink/{ident}",
                              "type": {**kind, "self": f"{base}/rest/api/{version}/issueLinkType/{kind['id']}"},
                              direction: self._linked(other, base, version)})

        if n % 7 == 0 and n > 1:
            link(BLOCKS, n - 1, "inwardIssue", 20000 + n)  # n - 1 blocks n: n "is blocked by" n - 1
        if (n + 1) % 7 == 0:
            link(BLOCKS, n + 1, "outwardIssue", 20000 + n + 1)
        if n % 9 == 0 and n > 1:
            link(RELATES, n - 1, "outwardIssue", 30000 + n)
        return links

    def _hierarchy_json(self, key: str, base: str, version: str) -> dict[str, Any]:
        n = self.issues[key].n
        parent = self.parent_of(n)
        out: dict[str, Any] = {
            "subtasks": [self._linked(c, base, version) for c in self.children_of(n) if c % 10 == 2],
            "issuelinks": self._links(n, base, version),
            "components": [{"self": f"{base}/rest/api/{version}/component/{COMPONENTS[name]}",
                            "id": COMPONENTS[name], "name": name} for name in list(COMPONENTS)[:n % 3]],
        }
        if parent is not None:
            out["parent"] = self._linked(parent, base, version)
        return out

    def render(self, key: str, base: str, version: str, fields: set[str] | None, changelog_cap: int | None,
               expand_changelog: bool, properties: Any = ()) -> dict[str, Any]:
        raw = super().render(key, base, version, fields, changelog_cap, expand_changelog, properties)
        added = self._custom_json(key, base, version)
        if self.hierarchy:
            added.update(self._hierarchy_json(key, base, version))
            if "issuetype" in raw["fields"]:
                raw["fields"]["issuetype"] = self._type(self.issues[key], base, version)
        raw["fields"].update({k: v for k, v in added.items() if fields is None or k in fields})
        return raw

    def field_list(self) -> list[dict[str, Any]]:
        found = []
        for field_id, name, schema in self.catalogue:
            custom = field_id.startswith("customfield_")
            item: dict[str, Any] = {"id": field_id, "name": name, "custom": custom, "orderable": True,
                                    "navigable": True, "searchable": True,
                                    "clauseNames": [f"cf[{schema['customId']}]", name] if custom else [field_id],
                                    "schema": schema}
            if self.cloud:
                item["key"] = field_id
            found.append(item)
        return found

    # ---------------------------------------------------------------- the App protocol

    def _route(self, request: Request) -> tuple[str, str, str]:
        match = re.match(r"^/rest/api/(2|3)/field$", request.path)
        return ("field", match[1], "field") if match else super()._route(request)

    def handle(self, request: Request) -> Response:
        kind, version, _ = self._route(request)
        if kind != "field" or request.headers.get("authorization") != self.auth or kind in self.forbidden \
                or (version == "3" and not self.cloud) or request.method != "GET":
            return super().handle(request)
        if self.received is not None:
            self.received.append(request)
        return Response(200, self.field_list())

    def jql(self, text: str) -> Jql:
        return FieldsJql(text, self.now(), self)

    def _edit(self, key: str, body: dict[str, Any]) -> Response:
        """Priority and custom fields here, the rest as JiraSim edits it; all refused if anything is."""
        fields = dict(body.get("fields") or {})
        ours = {name: fields.pop(name) for name in list(fields)
                if name == "priority" or name.startswith("customfield_")}
        changes, errors = {}, {}
        for name, value in ours.items():
            try:
                changes[name] = self._written(name, value)
            except (ValueError, KeyError, TypeError, StopIteration):
                errors[name] = f"Field '{name}' cannot be set to {value!r}."
        if errors:
            return Response(400, {"errorMessages": [], "errors": errors})
        answer = super()._edit(key, {**body, "fields": fields})
        if answer.status != 204 or not changes:
            return answer
        issue = self.issues[key]  # materialized by the edit
        items = []
        before = self.custom(key)
        for name, value in changes.items():
            if name == "priority":
                items.append(self._item("priority", issue.priority, value))
                issue.priority = value
                continue
            label = next(n for i, n, _ in self.catalogue if i == name)
            items.append({"field": label, "fieldtype": "custom", "from": None, "fromString": _string(before[name]),
                          "to": None, "toString": _string(value), **({"fieldId": name} if self.cloud else {})})
            self.values.setdefault(key, {})[name] = value
        issue.histories.append({"id": self._next_id(), "author": "steward-bot", "created": self.now(),
                                "items": items})
        self._searches.clear()
        return answer

    def _written(self, name: str, value: Any) -> Any:
        if name == "priority":
            wanted = value.get("name") or {v: k for k, v in PRIORITIES.items()}[value["id"]]
            if wanted not in PRIORITIES:
                raise ValueError(wanted)
            return wanted
        schema = next(s for i, _, s in self.catalogue if i == name)
        if value is None:
            return None
        if schema["type"] == "date":
            return date.fromisoformat(value)
        if schema["type"] == "datetime":
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        if schema["type"] == "option":
            return value["value"] if "value" in value else {v: k for k, v in RISKS.items()}[value["id"]]
        if schema["type"] == "user":
            name_ = value.get("name") or next(u for u in USERS if account_id(u) == value["accountId"])
            if name_ not in USERS:
                raise ValueError(name_)
            return name_
        if schema["type"] == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(value)
            return value
        if schema["type"] == "array":
            return [item["value"] for item in value]
        return str(value)


def _string(value: Any) -> str | None:
    if value is None:
        return None
    return ", ".join(value) if isinstance(value, list) else str(value)


class FieldsJql(Jql):
    """The JQL subset of JiraSim, and custom fields by `cf[NNNNN]`."""

    def __init__(self, text: str, now: datetime, sim: FieldsJiraSim):
        self.sim = sim
        super().__init__(text, now)

    def _clause(self):
        name = self._peek() or ""
        match = _CF.match(name)
        if not match:
            return super()._clause()
        if not any(i == f"customfield_{match[1]}" for i, _, _ in self.sim.catalogue):
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        self.FIELDS = self.FIELDS | {name.lower()}
        try:
            return super()._clause()
        finally:
            self.FIELDS = Jql.FIELDS

    def _eval(self, node, issue: SimIssue) -> bool:
        if node[0] in ("or", "and", "not") or not _CF.match(node[1]):
            return super()._eval(node, issue)
        field_id = f"customfield_{_CF.match(node[1])[1]}"
        actual = self.sim.custom(issue.key).get(field_id)
        if node[0] == "empty":
            return (actual in (None, [])) != node[2]
        if node[0] == "in":
            values = {str(v).casefold() for v in node[3]}
            items = actual if isinstance(actual, list) else [] if actual is None else [actual]
            hit = any(str(item).casefold() in values for item in items)
            return hit != node[2] if actual is not None else False
        op, value = node[2], node[3]
        if actual is None:
            return False
        if isinstance(actual, (date, datetime)):
            if not isinstance(actual, datetime):
                actual = datetime(actual.year, actual.month, actual.day, tzinfo=timezone.utc)
            value = self._time(value)
        elif isinstance(actual, (int, float)):
            value = float(value)
        elif isinstance(actual, list):
            if op not in ("=", "!="):
                raise JqlError(f"The operator '{op}' is not supported by the '{node[1]}' field.")
            return any(str(a).casefold() == str(value).casefold() for a in actual) == (op == "=")
        else:
            if op not in ("=", "!="):
                raise JqlError(f"The operator '{op}' is not supported by the '{node[1]}' field.")
            actual, value = str(actual).casefold(), str(value).casefold()
        return {"=": actual == value, "!=": actual != value, "<": actual < value, "<=": actual <= value,
                ">": actual > value, ">=": actual >= value}[op]
