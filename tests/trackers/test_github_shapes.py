"""The simulator answers in GitHub's shapes: its JSON keys and value types, recursively, against GitHub's REST
examples (tests/github/payloads/rest, octokit/openapi, MIT) and the GraphQL bodies of the adapter's cassettes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sim.github import TOKEN, GitHubSim
from sim.server import Request

GITHUB_TESTS = Path(__file__).resolve().parent.parent / "github"
EXAMPLES = GITHUB_TESTS / "payloads" / "rest"
CASSETTES = GITHUB_TESTS / "cassettes"
# Issue fields GitHub added after the July 2022 examples (a 2025 recording of GET /issues/N has them all).
NEWER_ISSUE_FIELDS = {"$.state_reason", "$.timeline_url", "$.type", "$.type.name", "$.performed_via_github_app"}


def shape(value: Any, path: str = "$", out: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Every path in a JSON value with the JSON types seen there; list items share the path `[]`."""
    out = {} if out is None else out
    kind = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}[type(value)]
    out.setdefault(path, set()).add(kind)
    if isinstance(value, dict):
        for key, item in value.items():
            shape(item, f"{path}.{key}", out)
    elif isinstance(value, list):
        for item in value:
            shape(item, f"{path}[]", out)
    return out


def differences(sim: Any, reference: Any, allowed_extra: set[str] = frozenset()) -> list[str]:
    """Paths whose types disagree (null agrees with anything: both sides have optional values), paths the
    reference has and the simulator lacks, and simulator paths the reference does not know."""
    ours, theirs = shape(sim), shape(reference)
    found = []
    for path, kinds in theirs.items():
        if path not in ours:
            if not _below_null(path, ours):
                found.append(f"missing {path}")
            continue
        a, b = ours[path] - {"null"}, kinds - {"null"}
        if a and b and not a & b:
            found.append(f"{path}: {sorted(a)} where GitHub has {sorted(b)}")
    found += [f"unknown {p}" for p in ours if p not in theirs and not _below_null(p, theirs)
              and p not in allowed_extra and not any(p.startswith(extra + ".") for extra in allowed_extra)]
    return found


def _below_null(path: str, other: dict[str, set[str]]) -> bool:
    """Whether the other side has only null above `path`: then it cannot show what lies below."""
    return any(other.get(path[:i]) == {"null"} for i in range(len(path)) if path[i] in ".[")


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def cassette_bodies(name: str) -> list[Any]:
    data = yaml.safe_load((CASSETTES / name).read_text(encoding="utf-8"))
    return [json.loads(i["response"]["body"]["string"]) for i in data["interactions"]
            if i["request"]["uri"].endswith("/graphql")]


@pytest.fixture(scope="module")
def sim() -> GitHubSim:
    sim = GitHubSim(issues=40, seed=2)
    issue = next(sim.issue(n) for n in range(1, 41)
                 if sim.issue(n).milestone and sim.issue(n).assignees and sim.issue(n).labels)
    issue.event("renamed", "li-wei", sim.tick(), previous="a", current="b")
    issue.event("comment", "li-wei", sim.tick(), body="hello")
    issue.event("closed", "li-wei", sim.tick(), state_reason="not_planned")
    issue.event("reopened", "li-wei", sim.tick())
    issue.event("unassigned", "li-wei", sim.tick(), assignee=issue.assignees[0])
    issue.event("assigned", "li-wei", sim.tick(), assignee=issue.assignees[0])
    issue.event("unlabeled", "li-wei", sim.tick(), label=issue.labels[0])
    issue.event("labeled", "li-wei", sim.tick(), label=issue.labels[0])
    sim.add(issue)
    sim.featured = issue.number
    return sim


def call(sim: GitHubSim, method: str, path: str, body: Any = None, **query: str) -> Any:
    request = Request(method, path, {k: [v] for k, v in query.items()}, {"authorization": f"token {TOKEN}"},
                      json.dumps(body).encode() if body is not None else b"")
    response = sim.handle(request)
    assert response.status < 400, response.body
    return response.body


def repo_path(sim: GitHubSim, rest: str) -> str:
    return f"/repos/{sim.owner}/{sim.name}{rest}"


def test_issue_list_and_issue_like_the_rest_example(sim):
    reference = [{k: v for k, v in example("issue-items.example.json")[0].items() if k != "pull_request"}]
    assert differences(call(sim, "GET", repo_path(sim, "/issues"), per_page="100"), reference,
                       {"$[]" + p[1:] for p in NEWER_ISSUE_FIELDS}) == []
    one = call(sim, "GET", repo_path(sim, f"/issues/{sim.featured}"))
    assert differences(one, reference[0], NEWER_ISSUE_FIELDS) == []


def test_comments_like_the_rest_examples(sim):
    created = call(sim, "POST", repo_path(sim, f"/issues/{sim.featured}/comments"), {"body": "hi"})
    assert differences(created, example("issue-comment.example.json")) == []
    listed = call(sim, "GET", repo_path(sim, f"/issues/{sim.featured}/comments"))
    assert differences(listed, example("issue-comment-items.example.json")) == []


def test_labels_like_the_rest_examples(sim):
    assert differences(call(sim, "GET", repo_path(sim, "/labels")), example("label-items.example.json")) == []
    made = call(sim, "POST", repo_path(sim, "/labels"), {"name": "needs-owner", "color": "ededed"})
    assert differences(made, example("label.example.json")) == []
    added = call(sim, "POST", repo_path(sim, f"/issues/{sim.featured}/labels"), {"labels": ["needs-owner"]})
    assert differences(added, example("label-items.example.json")) == []
    removed = call(sim, "DELETE", repo_path(sim, f"/issues/{sim.featured}/labels/needs-owner"))
    assert differences(removed, example("label-items.example.json")) == []


def test_timeline_and_events_like_the_rest_examples(sim):
    timeline = call(sim, "GET", repo_path(sim, f"/issues/{sim.featured}/timeline"), per_page="100")
    references = {item["event"]: item for item in example("timeline-issue-events.example.json")}
    for event in ("labeled", "renamed", "commented"):
        ours = [item for item in timeline if item["event"] == event]
        assert ours and differences(ours, [references[event]]) == [], event
    events = call(sim, "GET", repo_path(sim, f"/issues/{sim.featured}/events"))
    reference = example("issue-event-for-issue-items.example.json")[0]
    base = {k: v for k, v in reference.items() if k != "label"}  # the vendor example is a `closed` event
    labeled = [{k: v for k, v in e.items() if k != "label"} for e in events if e["event"] == "labeled"]
    assert labeled and differences(labeled, [base]) == []


def test_graphql_answers_like_the_cassettes(sim):
    sweep_reference, timeline_reference = cassette_bodies("sweep_long_timeline.yaml")
    # Together the two sweeps show every field: assignees, renames and closings are in the devlake one.
    sweep_references = [sweep_reference] + cassette_bodies("sweep_devlake_one_page.yaml")
    issue_references = [body for name in sorted(CASSETTES.glob("*.yaml")) for body in cassette_bodies(name.name)
                        if "issue" in body.get("data", {}).get("repository", {})
                        and "number" in body["data"]["repository"]["issue"]]
    from steward.plugins.github.queries import HIERARCHY, TIMELINE_QUERY, issue_query, sweep_query
    variables = {"owner": sim.owner, "name": sim.name}
    sweep = call(sim, "POST", "/graphql", {"query": sweep_query(extra=HIERARCHY), "variables": {
        **variables, "first": 100, "cursor": None, "states": ["OPEN"], "since": None}})
    # People's display names and the sweep's total were added to the queries after these cassettes were
    # recorded; the schema contract (tests/contract) checks those fields of the simulator's answers.
    named = {"author.__typename", "author.name", "assignees.nodes[].name"}
    assert differences([sweep], sweep_references, {f"$[].data.repository.issues.nodes[].{p}" for p in named}
                       | {"$[].data.repository.issues.totalCount"}) == []
    one = call(sim, "POST", "/graphql", {"query": issue_query(extra=HIERARCHY), "variables": {**variables,
                                                                                  "number": sim.featured}})
    assert set(one) == {"data"} and set(one["data"]["repository"]) == {"issue"}
    # One issue has the fields of a sweep's issue; these cassettes' single issues never renamed or closed.
    nodes = [b["data"]["repository"]["issue"] for b in issue_references] + [
        node for body in sweep_references for node in body["data"]["repository"]["issues"]["nodes"]]
    assert differences([one["data"]["repository"]["issue"]], nodes, {f"$[].{p}" for p in named}) == []
    page = call(sim, "POST", "/graphql", {"query": TIMELINE_QUERY, "variables": {
        **variables, "number": sim.featured, "cursor": None}})
    pages = [timeline_reference] + [{"data": {"repository": {"issue": {"timelineItems": node["timelineItems"]}}}}
                                    for node in nodes]
    assert differences([page], pages) == []


def test_an_unknown_graphql_query_gets_a_graphql_error(sim):
    answer = call(sim, "POST", "/graphql", {"query": "query { viewer { login } }", "variables": {}})
    assert set(answer) == {"errors"} and answer["errors"][0]["message"]
