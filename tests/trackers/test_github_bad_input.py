"""Odd issues: 5,000 comments, 10,000 timeline events, a 1 MB body, odd unicode, nulls everywhere, unknown
fields, broken shapes. The run completes; each odd issue is evaluated or skipped with a warning naming it."""

from __future__ import annotations

import json
from datetime import timedelta

from sim.github import SIM_NOW, TOKEN, Event, GitHubSim, SimIssue, run_args, run_cli
from sim.server import SimServer

CREATED = SIM_NOW - timedelta(days=40)
URL = "https://github.com/octo-org/governance/issues/"


def odd(number: int, **fields) -> SimIssue:
    issue = SimIssue(number=number, title=f"Odd {number}", body="", created=CREATED, updated=CREATED,
                     author="li-wei")
    for name, value in fields.items():
        setattr(issue, name, value)
    return issue


def many(issue: SimIssue, count: int, kind: str) -> SimIssue:
    for i in range(count):
        at = CREATED + timedelta(seconds=i + 1)
        if kind == "comment":
            issue.event("comment", "tom-becker", at, body=f"comment {i}")
        else:
            issue.event("labeled" if i % 2 == 0 else "unlabeled", "tom-becker", at, label="flip")
    issue.updated = CREATED + timedelta(seconds=count + 1)
    return issue


def null_event(number: int, index: int, node: dict) -> Event:
    return Event(number * 1_000_000 + index, "comment", None, CREATED, raw=node)


def odd_issues() -> list[SimIssue]:
    nulls = odd(1006, title=None, body=None, author=None, extra={
        "stateReason": None, "closedAt": None, "issueType": None, "updatedAt": None,
        "milestone": {"title": None, "dueOn": None}, "labels": {"nodes": [None, {"name": None}]},
        "assignees": {"nodes": [None, {"login": None}]}})
    nulls.events = [null_event(1006, i, node) for i, node in enumerate([
        {"__typename": "IssueComment", "author": None, "createdAt": None, "body": None},
        {"__typename": "IssueComment", "author": None, "createdAt": "2026-11-01T00:00:00Z", "body": None},
        {"__typename": "LabeledEvent", "actor": None, "createdAt": "2026-11-01T00:00:00Z", "label": None},
        {"__typename": "AssignedEvent", "actor": None, "createdAt": "2026-11-01T00:00:00Z", "assignee": None},
        {"__typename": "RenamedTitleEvent", "actor": None, "createdAt": "2026-11-01T00:00:00Z",
         "previousTitle": None, "currentTitle": None},
        {"__typename": "ClosedEvent", "actor": None, "createdAt": "2026-11-01T00:00:00Z", "stateReason": None},
        {"__typename": None}])]
    unknown = odd(1007, extra={"reactionGroups": [{"content": "THUMBS_UP"}], "futureField": {"a": [1, None]}})
    unknown.events = [null_event(1007, 0, {"__typename": "PinnedEvent", "actor": {"login": "x"},
                                           "createdAt": "2026-11-01T00:00:00Z", "brandNew": True})]
    return [
        many(odd(1001), 5000, "comment"),
        many(odd(1002), 10000, "label"),
        odd(1003, body="x" * (1024 * 1024 - 40) + "\nSuccess metric: none yet", issue_type="Initiative"),
        odd(1004, title="\u202eevil\u202c \u05e9\u05dc\u05d5\u05dd \U0001f525 e\u0301 \u200d\U0001f469\u200d\U0001f4bb",
            body="\u0000 nul, \ufeff bom, \U0001d54f math, \u4e2d\u6587",
            labels=["\U0001f525 hot", "r\u00e9sum\u00e9"]),
        odd(1005, labels=["exception"], milestone=("\u202e", CREATED - timedelta(days=1))),
        nulls,
        unknown,
        odd(1008, extra={"number": None}),  # cannot be read: named by its URL
        odd(1009, extra={"labels": "bug"}),  # a shape Steward cannot read: named by its number
    ]


def test_odd_issues_are_evaluated_or_named_in_a_warning():
    sim = GitHubSim(issues=20, seed=9)
    for issue in odd_issues():
        sim.add(issue)
    with SimServer(sim) as server:
        result = run_cli(server.url, run_args("apply"))
        assert result.exit_code == 0, result.stderr
        assert "Traceback" not in result.stdout + result.stderr and TOKEN not in result.stdout + result.stderr
        report = json.loads(result.stdout)
        # 50 + 100 nested timeline pages for the two long issues: read, not cut short. Both are acted on, so
        # they are read whole once more just before writing (the re-check).
        assert server.requests("graphql_timeline") == 2 * (49 + 99) and server.requests("graphql_recheck") >= 1
    evaluated = {f["issue"] for f in report["findings"]}
    warned = " ".join(report["warnings"])
    for number in range(1001, 1010):
        assert f"#{number}" in evaluated or f"#{number}" in warned or f"{URL}{number}" in warned, number
    assert f"{URL}1008" in warned and "#1009" in warned
    assert {f"#{n}" for n in range(1001, 1008)} <= evaluated  # all readable ones were evaluated
    by_issue = {(f["issue"], f["rule"]): f["facts"] for f in report["findings"]}
    assert by_issue[("#1001", "unclassified-work")]  # 5,000 comments read in full
    assert ("#1003", "initiative-without-success-metric") not in by_issue  # the metric at the end of 1 MB
    assert "\U0001f525 hot" in sim.labels(1004) and "needs-classification" in sim.labels(1004)
