"""The Jira simulator answers in the vendor's shapes: every key path it emits, with its JSON type, occurs in a
real or vendor-documented payload (tests/jira/fixtures, copied from ../shared/reference/jira, see NOTICE.md there).

The simulator leaves out much (avatars, custom fields), so the check is one way: simulator ⊆ vendor.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sim.jira import CLOUD, DATACENTER, JiraSim
from sim.server import Request

FIXTURES = Path(__file__).resolve().parents[1] / "jira" / "fixtures"
NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
BASE = "http://127.0.0.1:9"
# SearchAndReconcileResults in Atlassian's OpenAPI (swagger-v3.v3.json): the vendor example of
# /search/jql shows a last page, which has no nextPageToken; the schema gives it as a string.
ENHANCED_PAGE_SCHEMA = {"isLast": True, "issues": [], "nextPageToken": "token"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def shape(value: Any, path: str = "$", out: set[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    """(path, JSON type) of every value; list items share the path `[]`."""
    out = set() if out is None else out
    if isinstance(value, dict):
        out.add((path, "object"))
        for key, item in value.items():
            shape(item, f"{path}.{key}", out)
    elif isinstance(value, list):
        out.add((path, "array"))
        for item in value:
            shape(item, f"{path}[]", out)
    else:
        kind = {bool: "boolean", int: "number", float: "number", str: "string", type(None): "null"}[type(value)]
        out.add((path, kind))
    return out


def not_in_vendor(sim: Any, *vendor: Any) -> list[tuple[str, str]]:
    """Simulator paths the vendor payloads lack, or have with another type (a null matches any type)."""
    known: set[tuple[str, str]] = set()
    for payload in vendor:
        shape(payload, out=known)
    paths = {path for path, _ in known}
    return sorted((path, kind) for path, kind in shape(sim)
                  if (path, kind) not in known and not (kind == "null" and path in paths)
                  and (path, "null") not in known and not path.startswith("$.properties"))


def call(sim: JiraSim, method: str, path: str, body: Any = None, **query: str) -> Any:
    request = Request(method, path, {k: [v] for k, v in query.items()}, {"authorization": sim.auth, "host": BASE[7:]},
                      json.dumps(body).encode() if body is not None else b"")
    response = sim.handle(request)
    assert response.status < 300, response.body
    return response.body


def long_issue(sim: JiraSim) -> str:
    """A key with more than 40 histories and some comments, so every part of an issue is rendered."""
    return next(k for k in sim.issues if len(sim.full(k).histories) > 40 and sim.full(k).comments)


@pytest.fixture(scope="module")
def cloud() -> JiraSim:
    sim = JiraSim(CLOUD, 200, seed=11, now=NOW)
    call(sim, "PUT", "/rest/api/2/issue/OPS-1", {"update": {"comment": [{"add": {"body": "hi"}}],
                                                            "labels": [{"add": "x"}]}})
    return sim


@pytest.fixture(scope="module")
def dc() -> JiraSim:
    return JiraSim(DATACENTER, 200, seed=11, now=NOW)


def test_cloud_enhanced_search_page(cloud):
    page = call(cloud, "GET", "/rest/api/3/search/jql", jql="project = OPS", maxResults="2", fields="*all",
                expand="changelog", properties="steward.markers")
    vendor = fixture("openapi_search-jql-GET-enhanced.response_200.json")
    assert not_in_vendor({**page, "issues": []}, vendor, ENHANCED_PAGE_SCHEMA) == []
    assert "nextPageToken" in page and page["isLast"] is False


def test_cloud_issue_matches_a_real_cloud_crawl(cloud):
    """v2 rendering against the DevLake crawl of a real Cloud site (v2 JSON, changelog expanded)."""
    key = long_issue(cloud)
    issue = cloud.render(key, BASE, "2", None, 40, True)
    assert not_in_vendor(issue, *fixture("devlake_cloud_issues.json")) == []
    assert issue["changelog"]["total"] > len(issue["changelog"]["histories"]) == 40


def test_cloud_v3_comments_are_adf_like_the_vendor_examples(cloud):
    key = long_issue(cloud)
    page = call(cloud, "GET", f"/rest/api/3/issue/{key}/comment", startAt="0", maxResults="5")
    real_authors = [c for issue in fixture("devlake_cloud_issues.json") for c in issue["fields"]["comment"]["comments"]]
    vendor = fixture("openapi_issue-comments-GET.response_200.json")
    assert not_in_vendor(page, vendor, {"comments": real_authors}) == []
    assert page["comments"][0]["body"]["type"] == "doc"


def test_cloud_bulk_changelog(cloud):
    key = long_issue(cloud)
    page = call(cloud, "POST", "/rest/api/3/changelog/bulkfetch",
                {"issueIdsOrKeys": [key], "fieldIds": ["status", "priority", "labels"], "maxResults": 5})
    vendor = fixture("openapi_changelog-bulkfetch-POST.response_200.json")
    real_items = [h for issue in fixture("devlake_cloud_issues.json") for h in issue["changelog"]["histories"]]
    assert not_in_vendor(page, vendor, {"issueChangeLogs": [{"changeHistories": real_items}]}) == []
    assert isinstance(page["issueChangeLogs"][0]["changeHistories"][0]["created"], int)  # epoch, as the vendor's


def test_transitions(cloud):
    page = call(cloud, "GET", "/rest/api/3/issue/OPS-2/transitions")
    assert not_in_vendor(page, fixture("openapi_issue-transitions-GET.response_200.json")) == []


def test_data_center_classic_search_and_issue(dc):
    page = call(dc, "GET", "/rest/api/2/search", jql="project = OPS", maxResults="3", startAt="0",
                fields="*all", expand="changelog")
    search = fixture("jrjc_search_many-issues.json")
    one = fixture("jrjc_issue_valid-5.0-with-changelog.json")
    # JRJC's 5.0 payloads predate the status category (Jira 6.1): take its shape from the Cloud crawl
    categories = [{"fields": {"status": i["fields"]["status"]}} for i in fixture("devlake_cloud_issues.json")]
    assert not_in_vendor(page, search, {"issues": [one] + categories}) == []
    assert {"startAt", "maxResults", "total", "issues"} <= set(page)
    assert "fieldId" not in json.dumps(page)  # Server/DC changelog items carry no fieldId


def test_cloud_bulk_issue_read_and_myself(cloud):
    page = call(cloud, "POST", "/rest/api/3/issue/bulkfetch",
                {"issueIdsOrKeys": ["OPS-1", "10002"], "fields": ["summary", "labels", "comment"],
                 "properties": ["steward.markers"]})
    vendor = fixture("openapi_issue-bulkfetch-POST.response_200.json")
    assert not_in_vendor({**page, "issues": []}, vendor) == []
    assert [i["key"] for i in page["issues"]] == ["OPS-1", "OPS-2"]  # ascending id, ids and keys alike
    me = call(cloud, "GET", "/rest/api/3/myself")
    assert not_in_vendor(me, fixture("openapi_myself-GET.response_200.json")) == []
    assert me["accountId"] and "name" not in me  # Cloud users have no name in the API
