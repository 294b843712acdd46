"""Every request in the vcrpy cassettes, and every recorded answer, checked against the vendors' descriptions.

The cassette tests replay with matching on method, host, path and query (and GraphQL variables), so what a
cassette records is what the adapter sends: a parameter the vendor does not have shows here too. GitHub's
GraphQL cassettes record only the variables; they are checked against the variable types of the adapter's
own document for them (the one with the same variables, as the simulator runs captured it), and the answers
are checked against that document's selection. Request bodies that are matcher placeholders
(`{"__contains__": ...}`) are not bodies and are not checked; the simulator runs check the real ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from graphql import parse
from sim.jira import CLOUD, DATACENTER
from sim.server import Violation

from contract import github_graphql
from contract.known import KNOWN, present, unlisted
from contract.scenarios import Checked
from contract.trackers import GRAPHQL, GitHubContract, JiraContract, decoded

TESTS = Path(__file__).parents[1]
CASSETTES = [*sorted((TESTS / "jira" / "cassettes").glob("*.yaml")),
             *sorted((TESTS / "github" / "cassettes").glob("*.yaml"))]

# Cassettes whose answers break the description on purpose: the adapter's handling of a broken answer is what
# they test. Their requests are still checked.
BROKEN_ON_PURPOSE = {
    "cloud_malformed.yaml": "issues with wrong types and missing fields, to test that one odd issue is skipped",
    "error_200_html.yaml": "an HTML page with status 200, as a proxy answers",
}


def tracker_of(path: Path, interactions: list[dict[str, Any]]) -> str:
    if path.parent.parent.name == "github":
        return "github"
    # The adapter talks Data Center (REST v2 classic search) whatever the host is named.
    dc = any(urlsplit(i["request"]["uri"]).path.endswith("/rest/api/2/search") for i in interactions)
    return "jira-datacenter" if dc else "jira-cloud"


def check_cassette(path: Path, documents: list[dict[str, Any]]) -> tuple[str, list[Violation], int]:
    interactions = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    tracker = tracker_of(path, interactions)
    contract = GitHubContract() if tracker == "github" else JiraContract(
        DATACENTER if tracker == "jira-datacenter" else CLOUD)
    found: list[Violation] = []
    for interaction in interactions:
        request, response = interaction["request"], interaction["response"]
        url = urlsplit(request["uri"])
        query = parse_qs(url.query, keep_blank_values=True)
        sent = decoded(request.get("body"))
        status = response["status"]["code"]
        answer = decoded((response.get("body") or {}).get("string"))
        if url.path == "/graphql":
            found += _check_graphql(contract, sent, status, answer, documents)
            continue
        # Jira cassettes record no request body; GitHub's record a placeholder where only part of it is fixed.
        body = request.get("body")
        known = body is not None and not (isinstance(sent, dict) and "__contains__" in sent)
        found += contract.check(request["method"], url.path, query, body.encode() if known else None,
                                check_body=known)
        if status < 400 and path.name not in BROKEN_ON_PURPOSE:
            found += contract.check_answer(request["method"], url.path, status, answer)
    return tracker, found, len(interactions)


def _check_graphql(contract: GitHubContract, sent: Any, status: int, answer: Any,
                   documents: list[dict[str, Any]]) -> list[Violation]:
    variables = (sent or {}).get("variables") or {}
    document = _document_for(variables, documents)
    if document is None:
        return [Violation(GRAPHQL, "request", f"no query of the adapter takes the variables {sorted(variables)}")]
    found = [Violation(GRAPHQL, "request", m)
             for m in github_graphql.check_variables(parse(document), variables)]
    if status == 200:
        found += [v for v in contract.check_answer_to({"query": document, "variables": variables}, status, answer)
                  if not _added_since_recording(v)]
    return found


# Fields the adapter asks for that were added after the cassettes were recorded (people's display names, the
# sweep's total): a
# recorded answer cannot carry them, so only their absence is forgiven; the simulator's answers, which do
# carry them, are checked against the schema in full (test_simulators.py). Recording again
# (tests/github/make_cassettes.py) makes this list unnecessary.
ADDED_SINCE_RECORDING = (re.compile(r"\.author\.(__typename|name): missing$"),
                         re.compile(r"data\.repository\.issues\.totalCount: (missing|Cannot return null for "
                                    r"non-nullable field IssueConnection\.totalCount\.)$"),
                         re.compile(r"\.assignees\.nodes\[\d+\]\.name: missing$"))


def _added_since_recording(violation: Violation) -> bool:
    return any(pattern.search(violation.message) for pattern in ADDED_SINCE_RECORDING)


def _document_for(variables: dict[str, Any], documents: list[dict[str, Any]]) -> str | None:
    """The adapter's document whose operation defines exactly these variables (and selects issueType, as the
    cassettes' answers carry it)."""
    for payload in documents:
        operation = parse(payload["query"]).definitions[0]
        names = {d.variable.name.value for d in operation.variable_definitions or []}
        if names == set(variables) and "issueType" in payload["query"]:
            return payload["query"]
    for payload in documents:  # the timeline query has no issueType
        operation = parse(payload["query"]).definitions[0]
        if {d.variable.name.value for d in operation.variable_definitions or []} == set(variables):
            return payload["query"]
    return None


@pytest.fixture(scope="module")
def checked(github_run: Checked) -> dict[str, tuple[str, list[Violation], int]]:
    return {path.name: check_cassette(path, github_run.graphql) for path in CASSETTES}


@pytest.mark.parametrize("name", [p.name for p in CASSETTES])
def test_cassette_requests_and_answers_match_the_descriptions(checked, name):
    tracker, found, count = checked[name]
    assert count > 0
    assert unlisted(tracker, found) == []


@pytest.mark.parametrize("known", [pytest.param(k, id=k.id, marks=pytest.mark.xfail(strict=True, reason=k.reason))
                                   for k in KNOWN if k.id == "dc-search-properties"])
def test_known_violation_is_gone_from_the_cassettes(checked, known):
    assert [m for tracker, found, _ in checked.values() for m in present(known, tracker, found)] == []


def test_every_graphql_cassette_request_was_matched_to_an_adapter_query(checked):
    assert not [str(v) for _, found, _ in checked.values() for v in found if "no query of the adapter" in v.message]


def test_the_cassettes_cover_each_tracker():
    trackers = {tracker_of(p, yaml.safe_load(p.read_text(encoding="utf-8"))["interactions"]) for p in CASSETTES}
    assert trackers == {"github", "jira-cloud", "jira-datacenter"}


def test_graphql_cassette_bodies_are_json():
    bodies = [json.loads(i["request"]["body"]) for p in CASSETTES if p.parent.parent.name == "github"
              for i in yaml.safe_load(p.read_text(encoding="utf-8"))["interactions"]
              if urlsplit(i["request"]["uri"]).path == "/graphql"]
    assert bodies and all(set(b) == {"variables"} for b in bodies)
