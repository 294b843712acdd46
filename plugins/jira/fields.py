"""The rule files' mapped fields on Jira: names resolved through `GET /field` once per run, values by type.

A mapping names a Jira field by its display name ("Next review date") or its id (`customfield_10060`,
`duedate`). The whole field list is read once, before the sweep; a name Jira does not know, a name two
fields share, or a field whose type Steward cannot turn into a fact ends the run there, before anything is
read or written, with the close matches or the type named. Values are read from the same search and bulk
reads as every other field (no request per issue), by the field's schema type:

| Jira schema type | mapping type | value |
|---|---|---|
| date, datetime | date | a datetime |
| user | user | the id (accountId on Cloud, user name on Data Center) and the display name |
| number | number | the number |
| string (text field, text area: ADF on Cloud's v3) | text (or select) | the text |
| option, option-with-child, priority, resolution, status, version, component | select (or text) | its value or name |
| array of option, string (labels), version, component | multiselect | the list of values or names |

A field an issue has no value in makes its facts missing there, never zero or empty.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from steward.core.conditions import Test
from steward.core.errors import TrackerError
from steward.core.fields import FieldMapping
from steward.core.model import FieldValue
from steward.core.timeutil import tracker_time

from .parse import adf_text, as_dict, user_id
from .transport import JiraConnection

_SINGLE = ("option", "option-with-child", "priority", "resolution", "status", "version", "component",
           "securitylevel")
_LISTED = ("option", "string", "version", "component")
# What each mapping type accepts: a select and a text both give a string (Jira 5 describes radio buttons
# as `string` and sends an option; a text field may be mapped as a select of free values).
_FITS = {"date": {"date"}, "user": {"user"}, "number": {"number"}, "text": {"text", "select"},
         "select": {"select", "text"}, "multiselect": {"multiselect"}}


@dataclass(frozen=True)
class JiraField:
    """One mapped field as Jira describes it: its id (what searches and edits name), name and schema."""

    mapping: FieldMapping
    id: str
    name: str
    kind: str  # what its schema type gives (see the table above)
    schema_type: str


def schema_kind(schema: Mapping[str, Any]) -> str | None:
    """The mapping type a Jira field schema gives, or None when Steward cannot turn it into a fact."""
    kind, items = schema.get("type"), schema.get("items")
    if kind in ("date", "datetime"):
        return "date"
    if kind in ("user", "number"):
        return str(kind)
    if kind == "string":
        return "text"
    if kind in _SINGLE:
        return "select"
    if kind == "array" and items in _LISTED:
        return "multiselect"
    return None


def describe(schema: Mapping[str, Any]) -> str:
    kind, items = str(schema.get("type") or "unknown"), schema.get("items")
    return f"array of {items}" if kind == "array" and items else kind


def resolve(mappings: Mapping[str, FieldMapping], catalogue: list[Any]) -> dict[str, JiraField]:
    """Each mapping's Jira field, found by id or by name (case-insensitive), or a TrackerError naming what is
    wrong: an unknown name (with the close matches), a name two fields share, a type that does not fit."""
    fields = [as_dict(f) for f in catalogue if isinstance(as_dict(f).get("id"), str)]
    by_id = {f["id"]: f for f in fields}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for f in fields:
        by_name.setdefault(str(f.get("name") or "").casefold(), []).append(f)
    resolved = {}
    for name, mapping in mappings.items():
        wanted = mapping.on("jira")
        if not wanted:
            continue
        found = [by_id[wanted]] if wanted in by_id else by_name.get(wanted.casefold(), [])
        if not found:
            names = sorted({str(f.get("name")) for f in fields if f.get("name")})
            close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else \
                "; `fields:` names a Jira field by the name Jira shows or its id (customfield_NNNNN)"
            raise TrackerError(f"Jira has no field named {wanted!r} (mapped as {name}){hint}")
        if len(found) > 1:
            ids = ", ".join(sorted(str(f["id"]) for f in found))
            raise TrackerError(f"Jira has {len(found)} fields named {wanted!r} ({ids}): map {name} by its id instead")
        field = found[0]
        schema = as_dict(field.get("schema"))
        kind = schema_kind(schema)
        label = f"the Jira field {field.get('name')!r} ({field['id']})"
        if kind is None:
            raise TrackerError(f"{label} is of type {describe(schema)}, which Steward cannot turn into a fact "
                               f"(mapped as {name}); map a date, user, number, text, select or multi-select field")
        if kind not in _FITS.get(mapping.kind, set()):
            raise TrackerError(f"{label} is of type {describe(schema)}: map {name} with `type: {kind}`, "
                               f"not {mapping.kind}")
        resolved[name] = JiraField(mapping, str(field["id"]), str(field.get("name") or field["id"]), kind,
                                   describe(schema))
    return resolved


def read_catalogue(connection: JiraConnection) -> list[Any]:
    """Every field the account can see: one `GET /field` (the same operation on Cloud and Data Center)."""
    data = connection.request("GET", connection.url("field"), "reading the Jira field list")
    if not isinstance(data, list):
        raise TrackerError("Jira answered the field list with something that is not a list of fields")
    return data


def _name(value: Any) -> str | None:
    """An option's value, or a named thing's name (priority, version, component); a string as it is."""
    if isinstance(value, str):
        return value or None
    value = as_dict(value)
    for key in ("value", "name"):
        if isinstance(value.get(key), str) and value[key]:
            return value[key]
    return None


def field_value(field: JiraField, raw: Any, key: str) -> FieldValue | None:
    """The mapped field's value on one issue, or None when it has none (its facts are then missing)."""
    if raw in (None, "", [], {}):
        return None
    kind = field.mapping.kind
    if field.kind == "date":
        when = tracker_time(raw, field.mapping.name, key)
        return FieldValue("date", when) if when is not None else None
    if field.kind == "user":
        ident = user_id(raw)
        display = as_dict(raw).get("displayName")
        return FieldValue("user", ident, display if isinstance(display, str) else None) if ident else None
    if field.kind == "number":
        ok = isinstance(raw, (int, float)) and not isinstance(raw, bool)
        return FieldValue("number", raw) if ok else None
    if field.kind == "multiselect":
        values = [v for v in (_name(item) for item in raw) if v] if isinstance(raw, list) else []
        return FieldValue("multiselect", values) if values else None
    if isinstance(raw, dict) and raw.get("type") == "doc":  # a text area on Cloud's v3: Atlassian Document Format
        text = adf_text(raw).strip()
    else:
        text = _name(raw) if not isinstance(raw, (int, float)) or isinstance(raw, bool) else str(raw)
    return FieldValue(kind, text) if text else None


def mapped_values(fields: Mapping[str, JiraField], raw_fields: Mapping[str, Any], key: str) -> dict[str, FieldValue]:
    found = {name: field_value(field, raw_fields.get(field.id), key) for name, field in fields.items()}
    return {name: value for name, value in found.items() if value is not None}


def edit_value(name: str, value: Any, mapped: Mapping[str, JiraField], cloud: bool) -> tuple[str, Any]:
    """A `set_field` as the edit's `fields` entry: (Jira field id, value in the shape Jira's edit takes).
    `name` is `due`, `priority` or a mapped field's name; dates come as `YYYY-MM-DD` (the planner turned a
    relative date into one)."""
    if name == "due":
        return "duedate", _date(value, name)
    if name == "priority":
        return "priority", {"name": str(value)}
    field = mapped.get(name)
    if field is None:
        raise TrackerError(f"set_field {name}: no Jira field is mapped for it under `fields:`")
    if field.kind == "date":
        day = _date(value, name)
        if field.schema_type == "datetime" and day is not None:
            return field.id, f"{day}T00:00:00.000+0000"
        return field.id, day
    if value in (None, ""):
        return field.id, None
    if field.kind == "user":
        return field.id, {"accountId": str(value)} if cloud else {"name": str(value)}
    if field.kind == "number":
        try:
            return field.id, float(value) if not isinstance(value, (int, float)) else value
        except ValueError:
            raise TrackerError(f"set_field {name}: {value!r} is not a number, and {field.name!r} holds numbers") \
                from None
    if field.kind == "multiselect":
        items = value if isinstance(value, list) else [v.strip() for v in str(value).split(",") if v.strip()]
        if field.schema_type == "array of string":  # labels-like: plain strings
            return field.id, [str(v) for v in items]
        return field.id, [{"value" if field.schema_type == "array of option" else "name": str(v)} for v in items]
    if field.kind == "select" and field.schema_type not in ("string",):
        return field.id, {"value" if field.schema_type.startswith("option") else "name": str(value)}
    return field.id, str(value)


def _date(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip()[:10]
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise TrackerError(f"set_field {name}: {value!r} is not a date (YYYY-MM-DD, or relative: \"+14 days\")") \
            from None


def _jql_value(value: Any) -> str:
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mapped_clause(test: Test, mapped: Mapping[str, JiraField], calendar: bool) -> str | None:
    """A JQL clause every issue passing `test` on a mapped custom field matches (a superset), or None when
    there is none safe. Custom fields are named `cf[NNNNN]` (their names can repeat and be translated).

    Dates: `days_since_X > N` as `cf <= -Nd` (one day of slack for clocks and time zones, as `age_days`);
    `days_until_X < N` as `cf <= N+1d`, but not when the rule counts working days (a holiday can push the
    N-th working day any number of calendar days away). Selects and multi-selects: `=` and `in` (Jira
    compares option values without regard to case: a superset). Numbers: `=`, `<`, `<=`, `>`, `>=`.
    `present: true` as `is not EMPTY`. Nothing else is pushed."""
    fact, op, value = test.fact, test.op, test.value
    date_field = None
    for prefix in ("days_since_", "days_until_"):
        if fact.startswith(prefix) and fact[len(prefix):] in mapped and mapped[fact[len(prefix):]].kind == "date":
            date_field = (prefix, mapped[fact[len(prefix):]])
    field = date_field[1] if date_field else mapped.get(fact)
    if field is None or not field.id.startswith("customfield_") or field.mapping.kind == "user":
        return None
    name = f"cf[{field.id.removeprefix('customfield_')}]"
    if (op, value) in (("present", True), ("missing", False)):
        return f"{name} is not EMPTY"
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if date_field and number:
        if date_field[0] == "days_since_" and op in ("gt", "gte"):
            days = (math.floor(value) + 1 if op == "gt" else math.ceil(value)) - 1
            return f'{name} <= "-{days}d"' if days >= 1 else None
        if date_field[0] == "days_until_" and op in ("lt", "lte") and not calendar:
            bound = math.ceil(value) - 1 if op == "lt" else math.floor(value)
            return f'{name} <= "{bound + 1}d"'
        return None
    if date_field:
        return None
    if field.kind in ("select", "multiselect") and field.mapping.kind in ("select", "multiselect"):
        single = (op == "eq" and field.kind == "select") or (op == "contains" and field.kind == "multiselect")
        if single and isinstance(value, str) and value:
            return f"{name} = {_jql_value(value)}"
        listed = (op == "in" and field.kind == "select") or (op == "contains_any" and field.kind == "multiselect")
        if listed and isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
            return f"{name} in ({', '.join(_jql_value(v) for v in value)})"
        return None
    if field.kind == "number" and number and op in ("eq", "gt", "gte", "lt", "lte"):
        symbol = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return f"{name} {symbol} {value!r}"
    return None
