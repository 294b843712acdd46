"""Build tests/jira/cassettes/dc_fields.yaml from a real payload: Jira 5.0's all-expanded issue (JRJC test
resources, Apache-2.0; tests/jira/fixtures/recorded_field_values.json), which carries each field's `names`
and `schema` beside its value.

    python tests/jira/make_field_cassettes.py

The field list (`GET /rest/api/2/field`) is that issue's `names` and `schema`, one Field per field (id, name,
custom, schema: the members the issue records; the rest of Field is optional); the search answers the issue
itself. Run by make_cassettes.py's caller after it, or alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_cassettes import DC, FIELDS, fixture, interaction, snapshot_params, write  # noqa: E402

JQL = "project = TST"
MAPPED = ("customfield_10000", "customfield_10001", "fixVersions", "customfield_10011")


def field_list(issue: dict) -> list[dict]:
    return [{"id": key, "name": name, "custom": "custom" in issue["schema"][key], "schema": issue["schema"][key]}
            for key, name in issue["names"].items()]


def dc_fields() -> None:
    issue = fixture("recorded_field_values.json")["jrjc_server_all_expanded"]
    raw = {"expand": "editmeta,renderedFields,transitions,changelog,operations", "id": issue["id"],
           "self": f"http://localhost:8090/jira/rest/api/2/issue/{issue['id']}", "key": issue["key"],
           "fields": issue["fields"]}
    keys_only = {k: raw[k] for k in ("expand", "id", "self", "key")}
    snapshot = {"expand": "schema,names", "startAt": 0, "maxResults": 1000, "total": 1, "issues": [keys_only]}
    fields = ",".join([*FIELDS.split(","), *(f for f in MAPPED if f not in FIELDS.split(","))])
    by_key = {"jql": f'key in ("{issue["key"]}")', "startAt": 0, "maxResults": 1, "fields": fields,
              "validateQuery": "false", "expand": "changelog"}
    write("dc_fields", [
        interaction("GET", f"{DC}/rest/api/2/field", 200, field_list(issue)),
        interaction("GET", f"{DC}/rest/api/2/search", 200, snapshot, snapshot_params(JQL, start=0)),
        interaction("GET", f"{DC}/rest/api/2/search", 200,
                    {"expand": "schema,names", "startAt": 0, "maxResults": 1, "total": 1, "issues": [raw]}, by_key),
    ])


if __name__ == "__main__":
    dc_fields()
