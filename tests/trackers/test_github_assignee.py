"""GitHub answers 201 to an assignee without push access and assigns nobody. Steward notices it from the answer,
warns once naming the issue and the login, records it on the step's comment (its changes note stops
announcing the assignment) and does not send it again on later runs."""

from __future__ import annotations

import json
from datetime import timedelta

from contract.known import unlisted
from contract.trackers import GitHubContract
from sim.github import SIM_NOW, VIEWER, WRITE_KINDS, GitHubSim, SimIssue, problems_after_apply, run_args, run_cli
from sim.server import SimServer

from steward.core.markers import find_changes, format_changes, format_marker
from steward.core.model import Marker

OUTSIDER = "contractor-x"  # no push access to the repository
RULES = """\
version: 1
rules:
  - id: vendor-contact
    title: Vendor issues go to the vendor's contact
    severity: low
    rationale: The vendor's contact answers vendor issues.
    when:
      labels: {contains: vendor}
      assignee: {missing: true}
    then:
      - comment: Routing this to the vendor's contact.
      - add_labels: [vendor-routed]
      - assign: ASSIGNEE
"""


def vendor_issue(number: int) -> SimIssue:
    created = SIM_NOW - timedelta(days=5)
    issue = SimIssue(number=number, title="Vendor outage", body="", created=created, updated=created,
                     author="li-wei", labels=["vendor"])
    issue.event("labeled", "li-wei", created, label="vendor")
    return issue


def apply(sim: GitHubSim, rules, contract: GitHubContract) -> tuple[dict, SimServer]:
    """One `steward apply`, every request and answer checked against GitHub's descriptions (the comment edit
    among them)."""
    with SimServer(sim, contract=contract) as server:
        result = run_cli(server.url, run_args("apply", SIM_NOW, "--rules", str(rules)))
    assert result.exit_code == 0, result.stderr
    assert unlisted("github", server.violations) == []
    return json.loads(result.stdout), server


def test_an_assignee_without_push_access_is_warned_about_once_and_not_sent_again(tmp_path):
    rules = tmp_path / "vendor.yml"
    rules.write_text(RULES.replace("ASSIGNEE", OUTSIDER), encoding="utf-8")
    sim = GitHubSim(issues=0)
    sim.add(vendor_issue(1))
    contract = GitHubContract()
    first, server = apply(sim, rules, contract)
    assert server.requests("rest_assign") == 1 and server.requests("rest_comment_edit") == 1
    refused = [w for w in first["warnings"] if OUTSIDER in w]
    assert len(refused) == 1 and refused[0].startswith("#1: GitHub did not assign contractor-x")
    # The report lists what was done: the comment and the label, not the assignment.
    assert [a["type"] for a in first["actions"]] == ["comment", "add_labels"]
    assert problems_after_apply(sim, first) == [] and sim.issue(1).assignees == []
    [comment] = sim.steward_comments(1)
    assert find_changes(comment) == {"add": ["vendor-routed"]}
    again, server = apply(sim, rules, contract)
    assert again["actions"] == [] and again["warnings"] == [] and server.requests(*WRITE_KINDS) == 0


def test_a_collaborator_is_assigned_and_the_comment_left_alone(tmp_path):
    rules = tmp_path / "vendor.yml"
    rules.write_text(RULES.replace("ASSIGNEE", "li-wei"), encoding="utf-8")
    sim = GitHubSim(issues=0)
    sim.add(vendor_issue(1))
    report, server = apply(sim, rules, GitHubContract())
    assert [a["type"] for a in report["actions"]] == ["comment", "add_labels", "assign"]
    assert sim.issue(1).assignees == ["li-wei"] and server.requests("rest_comment_edit") == 0
    assert find_changes(sim.steward_comments(1)[0]) == {"add": ["vendor-routed"], "assign": ["li-wei"]}


def test_an_older_comment_announcing_a_refused_assignee_stops_being_unfinished(tmp_path):
    """A step an earlier run wrote, whose announced assignee GitHub refused: the next run sends it once more,
    learns it from the answer, and edits that comment; the run after sends nothing."""
    rules = tmp_path / "vendor.yml"
    rules.write_text(RULES.replace("ASSIGNEE", OUTSIDER), encoding="utf-8")
    sim = GitHubSim(issues=0)
    issue = vendor_issue(1)
    at = SIM_NOW - timedelta(days=2)
    marker = format_marker(Marker("vendor-contact", 1, at, ("vendor-routed",)))
    issue.event("comment", VIEWER, at, body=f"Routing this to the vendor's contact.\n\n"
                f"{format_changes({'add': ['vendor-routed'], 'assign': [OUTSIDER]})}\n\n{marker}")
    issue.labels.append("vendor-routed")
    issue.event("labeled", VIEWER, at + timedelta(seconds=1), label="vendor-routed")
    sim.add(issue)
    contract = GitHubContract()
    first, server = apply(sim, rules, contract)
    assert server.requests("rest_assign") == 1 and server.requests("rest_comment_create") == 0
    assert any(w.startswith(f"#1: GitHub did not assign {OUTSIDER}") for w in first["warnings"])
    assert find_changes(sim.steward_comments(1)[0]) == {"add": ["vendor-routed"]}
    again, server = apply(sim, rules, contract)
    assert again["actions"] == [] and server.requests(*WRITE_KINDS) == 0
