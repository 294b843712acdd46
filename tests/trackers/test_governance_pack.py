"""The default pack's governance rules (review records, exemptions with an owner and an expiry, demo cadence,
slipping review dates) fire the same way on Jira Cloud, Jira Data Center and GitHub as on the demo board:
each tracker's own shapes (Jira's changelog and comment authors by account id or user name, GitHub's
timeline) carry the records, and only an accountable person's record counts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from sim.github import REPO, TOKEN, GitHubSim
from sim.github_data import SIM_NOW, Event
from sim.github_data import SimIssue as GitHubIssue
from sim.jira import CLOUD, DATACENTER, JiraSim, SimIssue, credentials
from sim.server import SimServer

from steward.core import rulefile
from steward.core.runner import Runner, RunOptions
from steward.plugins.github.tracker import GitHubTracker
from steward.plugins.github.transport import Pacer
from steward.plugins.jira.tracker import JiraTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
assert NOW == SIM_NOW
OLD = NOW - timedelta(days=200)

# (case, type, labels, comments as (author role, days ago, body), status) -> rules expected to fire among WATCHED
CASES = [
    ("bystander-review", "Decision", ["decision", "strategic"],
     [("bystander", 10, "Review: keep — next review 2027-03-01")], "open", {"review-not-recorded"}),
    ("owner-review", "Decision", ["decision", "strategic"],
     [("owner", 10, "**Review:** Keep. Next review 2027-03-01")], "open", set()),
    ("expired-exemption", "Exception", ["exception", "operational", "on-hold"],
     [("owner", 40, "Exempt until 2026-11-01: vendor freeze")], "open", {"exemption-expired", "review-not-recorded"}),
    ("current-exemption", "Exception", ["exception", "operational", "on-hold"],
     [("owner", 5, "Exempt until 2027-01-31: vendor freeze")], "open", set()),
    ("forged-exemption", "Exception", ["exception", "operational", "on-hold"],
     [("bystander", 5, "Exempt until 2027-01-31: trust me")], "open",
     {"exemption-without-record", "review-not-recorded"}),
    ("stale-demo", "Initiative", ["initiative", "strategic"],
     [("owner", 20, "Success metric: onboarding time"), ("owner", 20, "Demo: onboarding time 4.4 days (target 3)")],
     "progress", {"initiative-without-demo"}),
    ("fresh-demo", "Initiative", ["initiative", "strategic"],
     [("owner", 20, "Success metric: onboarding time"), ("owner", 3, "Demo: onboarding time 4.1 days (target 3)")],
     "progress", set()),
]
WATCHED = {"review-not-recorded", "exemption-expired", "exemption-without-record", "initiative-without-demo",
           "review-date-slipping"}


def _fired(plan) -> dict[str, set[str]]:
    fired: dict[str, set[str]] = defaultdict(set)
    for finding in plan.findings:
        if finding.rule in WATCHED:
            fired[finding.issue].add(finding.rule)
    return fired


def _rules():
    return rulefile.load(rulefile.default_specs())


# ---------------------------------------------------------------- Jira

JIRA_STATUS = {"open": "To Do", "progress": "In Progress"}


def _jira_issue(sim: JiraSim, n: int, case: tuple) -> SimIssue:
    _, kind, labels, comments, status, _ = case
    people = {"owner": "li.wei", "bystander": "omar.haddad"}
    issue = SimIssue(n=n, key=f"OPS-{n}", status=JIRA_STATUS[status], priority="Medium", type=kind,
                     labels=list(labels), assignee="li.wei", reporter="aisha.khan", created=OLD, updated=NOW,
                     due=date(2027, 3, 1), summary=case[0], live=True)
    for index, (who, days, body) in enumerate(comments):
        issue.comments.append({"id": str(500000 + n * 10 + index), "author": people[who], "body": body,
                               "created": NOW - timedelta(days=days)})
    return issue


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_governance_rules_on_jira(flavor):
    sim = JiraSim(flavor, issues=0, now=NOW)
    for n, case in enumerate(CASES, 1):
        sim.add(_jira_issue(sim, n, case))
    slipping = _jira_issue(sim, len(CASES) + 1, ("slipping", "Decision", ["decision", "strategic"],
                                                  [("owner", 10, "Review: renew")], "open", set()))
    dates = [date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)]
    for index, (before, after) in enumerate(pairwise(dates)):
        slipping.histories.append({"id": str(900000 + index), "author": "li.wei",
                                   "created": NOW - timedelta(days=60 - 10 * index),
                                   "items": [sim._item("due", before, after)]})
    sim.add(slipping)
    with SimServer(sim) as server:
        tracker = JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None)
        plan = Runner(tracker, _rules(), RunOptions(now=NOW, query="project = OPS")).run()
    fired = _fired(plan)
    for n, case in enumerate(CASES, 1):
        assert fired.get(f"OPS-{n}", set()) == case[-1], case[0]
    assert fired[f"OPS-{len(CASES) + 1}"] == {"review-date-slipping"}


# ---------------------------------------------------------------- GitHub

def _github_issue(number: int, case: tuple) -> GitHubIssue:
    name, kind, labels, comments, status, _ = case
    people = {"owner": "li-wei", "bystander": "noor-haddad"}
    issue = GitHubIssue(number=number, title=name, body="", created=OLD, updated=NOW, author="aisha-khan",
                        issue_type=kind, labels=labels, assignees=["li-wei"])
    for label in labels:
        issue.events.append(Event(len(issue.events) + number * 1000, "labeled", "aisha-khan", OLD, label=label))
    for who, days, body in comments:
        issue.event("comment", people[who], NOW - timedelta(days=days), body=body)
    return issue


def test_governance_rules_on_github():
    sim = GitHubSim(issues=0)
    for number, case in enumerate(CASES, 1):
        sim.add(_github_issue(number, case))
    with SimServer(sim) as server:
        tracker = GitHubTracker(REPO, TOKEN, server.url, pacer=Pacer(per_minute=0))
        plan = Runner(tracker, _rules(), RunOptions(now=NOW)).run()
    fired = _fired(plan)
    for number, case in enumerate(CASES, 1):
        assert fired.get(f"#{number}", set()) == case[-1], case[0]
