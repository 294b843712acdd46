"""The checks themselves: each kind of misunderstanding is caught, and what the vendor allows passes. Without
these, a contract test that always passes would look the same as one that has nothing to find."""

from __future__ import annotations

import copy
import json

import pytest
import requests
from sim.github import VIEWER, GitHubSim, rest_user, rest_viewer
from sim.jira import CLOUD, DATACENTER
from sim.server import Faults, Request, Response, SimServer

from contract import github_graphql
from contract.scenarios import Checked
from contract.trackers import GitHubContract, JiraContract

SEARCH = {"jql": ["project = OPS"], "maxResults": ["100"], "fields": ["summary,labels"], "expand": ["changelog"]}


def messages(violations) -> list[str]:
    return [v.message for v in violations]


@pytest.mark.parametrize("flavor, path, extra, bad", [
    (DATACENTER, "/rest/api/2/search", {"startAt": ["0"]}, []),
    (DATACENTER, "/rest/api/2/search", {"properties": ["steward.markers"]}, ["properties"]),
    (DATACENTER, "/rest/api/2/search", {"nextPageToken": ["x"]}, ["nextPageToken"]),
    (DATACENTER, "/rest/api/2/search", {"startAt": ["first"]}, ["startAt"]),
    (CLOUD, "/rest/api/3/search/jql", {"properties": ["steward.markers"], "nextPageToken": ["x"]}, []),
    (CLOUD, "/rest/api/3/search/jql", {"startAt": ["0"]}, ["startAt"]),  # the enhanced search pages by token
    (CLOUD, "/rest/api/3/search", {}, ["no such operation"]),  # not in the operations Steward may use
])
def test_jira_query_parameters_are_checked_closed_world(flavor, path, extra, bad):
    found = messages(JiraContract(flavor).check("GET", path, {**SEARCH, **extra}, None))
    assert len(found) == len(bad) and all(word in m for word, m in zip(bad, found, strict=True)), found


@pytest.mark.parametrize("body, bad", [
    ({"update": {"labels": [{"add": "x"}], "comment": [{"add": {"body": "hi"}}]},
      "properties": [{"key": "steward.markers", "value": {"markers": []}}]}, None),
    ({"update": {"labels": {"add": "x"}}}, "update/labels"),
    ({"properties": {"steward.markers": {}}}, "properties"),
    ({"fields": {"assignee": {"name": "li.wei"}}, "labels": ["x"]}, "Additional properties"),
])
def test_data_center_edit_bodies_are_checked(body, bad):
    found = messages(JiraContract(DATACENTER).check("PUT", "/rest/api/2/issue/OPS-1", {}, json.dumps(body).encode()))
    assert (found == []) if bad is None else (len(found) == 1 and bad in found[0]), found


def test_jira_answers_are_checked_against_the_answer_schema():
    contract = JiraContract(CLOUD)
    good = {"issues": [{"id": "10001", "key": "OPS-1", "fields": {}}], "isLast": True}
    assert contract.check_answer("GET", "/rest/api/3/search/jql", 200, good) == []
    for bad, where in (({**good, "total": 5}, "'total' was unexpected"), ({**good, "isLast": "yes"}, "isLast"),
                       ({"issues": [{"key": 7}]}, "issues/0/key")):
        found = messages(contract.check_answer("GET", "/rest/api/3/search/jql", 200, bad))
        assert found and where in found[0], found
    assert messages(contract.check_answer("GET", "/rest/api/3/search/jql", 418, good)) == [
        "status 418 is not a documented answer (documented: 200, 400, 401)"]


def test_github_rest_requests_and_answers_are_checked():
    contract = GitHubContract()
    issues = "/repos/o/r/issues"
    assert contract.check("GET", issues, {"state": ["all"], "sort": ["created"], "per_page": ["100"]}, None) == []
    found = messages(contract.check("GET", issues, {"state": ["opened"], "order": ["asc"]}, None))
    assert len(found) == 2 and "'opened' is not one of" in found[0] and "'order'" in found[1], found
    found = messages(contract.check("POST", "/repos/o/r/issues/1/labels", {}, b'{"labels": "bug"}'))
    assert found and "body" in found[0], found
    assert messages(contract.check("PUT", "/repos/o/r/issues/1/comments", {}, b"{}")) == [
        "no such operation in rest.openapi.json"]


def test_the_old_simulator_answers_are_caught():
    """What the GitHub simulator answered before these tests: a simple user for GET /user, an issue type
    with only its name."""
    contract = GitHubContract()
    assert contract.check_answer("GET", "/user", 200, rest_viewer(VIEWER)) == []
    assert contract.check_answer("GET", "/user", 200, rest_user(VIEWER)) != []
    sim = GitHubSim(issues=200, seed=4)
    typed = next(sim.rest_issue(i) for n in sim.numbers() if (i := sim.issue(n)) and i.issue_type)
    assert contract.check_answer("GET", "/repos/o/r/issues/1", 200, typed) == []
    old = {**typed, "type": {"name": typed["type"]["name"]}}
    assert any("'id' is a required property" in m for m in messages(
        contract.check_answer("GET", "/repos/o/r/issues/1", 200, old)))


@pytest.fixture
def sweep(github_run: Checked) -> tuple[dict, dict]:
    """One sweep request the adapter sent (without issueType: the typeless fallback) and a valid answer."""
    payload = next(p for p in github_run.graphql if "issues(first" in p["query"] and "issueType" not in p["query"])
    sim = GitHubSim(issues=3, seed=5, issue_types=False)
    answer = sim._graphql("graphql_sweep", {**payload, "variables": {**payload["variables"], "owner": sim.owner,
                                                                      "name": sim.name}}).body
    return payload, answer


def test_graphql_requests_are_checked(sweep):
    payload, _ = sweep
    assert github_graphql.check_request(payload) == []
    bad_field = {**payload, "query": payload["query"].replace("closedAt", "closedOn")}
    assert github_graphql.check_request(bad_field) == ["query: Cannot query field 'closedOn' on type 'Issue'. "
                                                       "Did you mean 'closed' or 'closedAt'?"]
    for variables, word in (({**payload["variables"], "first": "100"}, "$first"),
                            ({**payload["variables"], "states": ["OPENED"]}, "$states"),
                            ({**payload["variables"], "page": 2}, "$page is not defined")):
        found = github_graphql.check_request({**payload, "variables": variables})
        assert len(found) == 1 and word in found[0], found


def test_graphql_answers_are_checked_against_the_selection(sweep):
    payload, answer = sweep
    assert github_graphql.check_response(payload, answer) == []
    node = ["data", "repository", "issues", "nodes", 0]
    for change, word in ((lambda n: n.update(state="open"), "IssueState"),
                         (lambda n: n.update(title=None), "non-nullable field Issue.title"),
                         (lambda n: n.update(createdAt="yesterday"), "createdAt"),
                         (lambda n: n.update(locked=False), "locked: not asked for"),
                         (lambda n: n.pop("closedAt"), "closedAt: missing")):
        bad = copy.deepcopy(answer)
        target = bad
        for step in node:
            target = target[step]
        change(target)
        found = github_graphql.check_response(payload, bad)
        assert found and word in found[0], (word, found)
    assert github_graphql.check_response(payload, {"data": None, "message": "x"}) != []


class _BrokenApp:
    """Answers every request with an issue list whose items lack what GitHub always sends."""

    def kind(self, request: Request) -> str:
        return "rest"

    def is_write(self, request: Request) -> bool:
        return False

    def handle(self, request: Request) -> Response:
        return Response(200, [{"number": 1}])


def test_the_server_hook_checks_requests_and_answers_but_not_injected_faults():
    server = SimServer(_BrokenApp(), contract=GitHubContract(), faults=Faults(script=[("*", "server_error")]))
    with server:
        url = f"{server.url}/repos/o/r/issues"
        assert requests.get(url, params={"sort": "size"}, timeout=10).status_code == 503
        assert requests.get(url, timeout=10).status_code == 200
    found = [(v.side, v.message) for v in server.violations]
    assert found[0] == ("request", "parameter sort='size': 'size' is not one of ['created', 'updated', 'comments']")
    assert all(side == "response" for side, _ in found[1:]) and found[1:], found
