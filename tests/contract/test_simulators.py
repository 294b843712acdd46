"""Whole runs against the simulators with the vendors' descriptions attached (see scenarios.py): every request
Steward sends and every answer the simulators give must be one the vendor describes.

A violation listed in known.py fails `test_known_violation_is_gone` (xfail, strict) until it is fixed; any
other one fails `test_no_other_violation`.
"""

from __future__ import annotations

import json

import pytest
import requests
from sim.jira import DATACENTER, JiraSim
from sim.server import Request

from contract.known import KNOWN, present, unlisted
from contract.scenarios import Checked
from contract.trackers import GitHubContract, JiraContract

TRACKERS = ("jira-cloud", "jira-datacenter", "github")

# What each scenario must have exercised: an operation nobody sent was not checked.
EXERCISED = {
    "jira-cloud": {"GET /rest/api/3/search/jql", "POST /rest/api/3/changelog/bulkfetch",
                   "GET /rest/api/3/issue/{issueIdOrKey}", "PUT /rest/api/3/issue/{issueIdOrKey}",
                   "GET /rest/api/3/issue/{issueIdOrKey}/comment", "GET /rest/api/3/issue/{issueIdOrKey}/transitions",
                   "POST /rest/api/3/issue/{issueIdOrKey}/transitions", "POST /rest/api/3/issue/bulkfetch",
                   "GET /rest/api/3/myself", "GET /rest/api/3/field", "GET /rest/api/3/user", "POST /rest/api/3/issue"},
    "jira-datacenter": {"GET /rest/api/2/search", "GET /rest/api/2/issue/{issueIdOrKey}",
                        "PUT /rest/api/2/issue/{issueIdOrKey}", "GET /rest/api/2/issue/{issueIdOrKey}/comment",
                        "GET /rest/api/2/issue/{issueIdOrKey}/transitions",
                        "POST /rest/api/2/issue/{issueIdOrKey}/transitions", "GET /rest/api/2/myself",
                        "GET /rest/api/2/field", "GET /rest/api/2/user", "POST /rest/api/2/issue"},
    "github": {"POST /graphql", "GET /repos/{owner}/{repo}/issues", "GET /repos/{owner}/{repo}/issues/{issue_number}",
               "PATCH /repos/{owner}/{repo}/issues/{issue_number}",
               "GET /repos/{owner}/{repo}/issues/{issue_number}/comments",
               "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
               "GET /repos/{owner}/{repo}/issues/{issue_number}/timeline",
               "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
               "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
               "POST /repos/{owner}/{repo}/issues/{issue_number}/assignees",
               "GET /repos/{owner}/{repo}/labels", "POST /repos/{owner}/{repo}/labels", "GET /user",
               "POST /repos/{owner}/{repo}/issues"},
}


@pytest.fixture
def runs(jira_runs: dict[str, Checked], github_run: Checked) -> dict[str, Checked]:
    return {**jira_runs, "github": github_run}


@pytest.mark.parametrize("tracker", TRACKERS)
def test_every_run_ends_well_and_every_request_kind_was_checked(runs, tracker):
    run = runs[tracker]
    assert run.failures == []
    assert EXERCISED[tracker] <= set(run.seen), EXERCISED[tracker] - set(run.seen)


@pytest.mark.parametrize("tracker", TRACKERS)
def test_no_other_violation(runs, tracker):
    assert unlisted(tracker, runs[tracker].violations) == []


@pytest.mark.parametrize("known", [pytest.param(k, id=k.id, marks=pytest.mark.xfail(strict=True, reason=k.reason))
                                   for k in KNOWN])
def test_known_violation_is_gone(runs, known):
    assert present(known, known.tracker, runs[known.tracker].violations) == []


def test_the_github_fallback_query_without_issue_type_is_valid(github_run):
    """The query the adapter falls back to (a server without issue types) passes the schema."""
    typeless = [p for p in github_run.graphql if "issueType" not in p["query"]]
    assert typeless, "the scenario did not make the adapter fall back"
    assert all(GitHubContract().check_request(_graphql_request(p)) == [] for p in typeless)


def test_data_center_search_ignores_properties_as_data_center_does(checked_server):
    """Data Center's classic search has no `properties` parameter, so it never answers issue properties: the
    simulator must not either (it did, which hid that the adapter relies on them there)."""
    sim = JiraSim(DATACENTER, 5, seed=3)
    sim.issues["OPS-1"].properties["steward.markers"] = {"markers": []}
    sim.issues["OPS-1"].live = True
    with checked_server(sim, JiraContract(DATACENTER), "jira-datacenter") as server:
        headers = {"Authorization": sim.auth}
        asked = requests.get(f"{server.url}/rest/api/2/search", headers=headers, timeout=10,
                             params={"jql": "project = OPS", "fields": "labels", "properties": "steward.markers"})
        plain = requests.get(f"{server.url}/rest/api/2/search", headers=headers, timeout=10,
                             params={"jql": "project = OPS", "fields": "labels"})
        issue = requests.get(f"{server.url}/rest/api/2/issue/OPS-1", headers=headers, timeout=10,
                             params={"fields": "labels", "properties": "steward.markers"})
    assert asked.json() == plain.json() and all("properties" not in i for i in asked.json()["issues"])
    assert issue.json()["properties"] == {"steward.markers": {"markers": []}}  # GET issue does take it
    assert [v.message for v in server.violations] == [
        "query parameter 'properties' is not in the description (it has: expand, fields, jql, maxResults, "
        "startAt, validateQuery)"]
    server.violations.clear()  # the request above was wrong on purpose


def _graphql_request(payload: dict) -> Request:
    return Request("POST", "/graphql", {}, {}, json.dumps(payload).encode())
