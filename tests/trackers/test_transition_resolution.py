"""Closing with a reason: `transition: {to: STATUS, resolution: NAME}` sets Jira's resolution in the same
transition request, closes a GitHub issue as completed or not planned, and records both on the files board;
each once, however often the run is repeated."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from contract.trackers import JiraContract
from sim.github import REPO, TOKEN, GitHubSim
from sim.github_data import SIM_NOW
from sim.github_data import SimIssue as GitHubIssue
from sim.jira import CLOUD, DATACENTER, JiraSim, SimIssue, credentials
from sim.server import SimServer

from helpers import steward, write_board
from steward.core import rulefile
from steward.core.runner import Runner, RunOptions
from steward.plugins.github.tracker import GitHubTracker
from steward.plugins.github.transport import Pacer
from steward.plugins.jira.tracker import JiraTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
RULE = """version: 1
rules:
  - id: retire-stale
    title: Retire what nobody wants
    severity: low
    rationale: An item marked for retirement is closed with the reason, so the history says why.
    when: {{labels: {{contains: retire}}, status_category: {{ne: done}}}}
    then:
      - comment: "Retiring this: nobody has picked it up."
      - transition: {{to: {to}, resolution: "{resolution}"}}
"""


def _rules(tmp_path, to: str, resolution: str):
    path = tmp_path / "retire.yml"
    path.write_text(RULE.format(to=to, resolution=resolution), encoding="utf-8")
    return rulefile.load([str(path)])


def test_the_files_board_records_status_and_resolution_once(tmp_path):
    rules = tmp_path / "retire.yml"
    rules.write_text(RULE.format(to="Done", resolution="Won't Do"), encoding="utf-8")
    board = write_board(tmp_path, [{"key": "OPS-1", "labels": ["retire"], "status": "To Do",
                                    "status_category": "todo"}])
    shown = steward("plan", "--tracker", f"files:{board}", "--rules", str(rules), "--now", "2026-11-20T09:00:00Z")
    assert shown.exit_code == 0 and "move to Done (Won't Do)" in shown.stdout
    args = ("apply", "--tracker", f"files:{board}", "--rules", str(rules), "--now", "2026-11-20T09:00:00Z",
            "--format", "json")
    first = steward(*args)
    assert first.exit_code == 0, first.output
    (issue,) = json.loads(board.read_text(encoding="utf-8"))["issues"]
    assert issue["status"] == "Done" and issue["resolution"] == "Won't Do"
    assert [c["field"] for c in issue["changes"]][-2:] == ["status", "resolution"]
    again = steward(*args)
    assert json.loads(again.stdout)["actions"] == []


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_jira_sets_the_resolution_in_the_transition_request(tmp_path, flavor):
    sim = JiraSim(flavor, issues=0, now=NOW)
    sim.add(SimIssue(n=1, key="OPS-1", status="To Do", priority="Medium", type="Task", labels=["retire"],
                     assignee="li.wei", reporter="aisha.khan", created=NOW - timedelta(days=30), updated=NOW,
                     due=date(2027, 1, 1), summary="Old idea", live=True))
    sim.received = []
    contract = JiraContract(flavor)  # the body with `fields.resolution` is checked against Atlassian's description
    with SimServer(sim, contract=contract) as server:
        tracker = JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None)
        plan = Runner(tracker, _rules(tmp_path, "Done", "Won't Do"),
                      RunOptions(now=NOW, query="project = OPS", apply=True)).run()
        assert not plan.failed
        posts = [json.loads(r.body) for r in sim.received if r.method == "POST" and r.path.endswith("/transitions")]
        assert len(posts) == 1 and posts[0]["fields"] == {"resolution": {"name": "Won't Do"}}
        assert sim.issues["OPS-1"].status == "Done"
        assert sim.full("OPS-1").override["resolution"] == {"name": "Won't Do"}
        again = Runner(JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None),
                       _rules(tmp_path, "Done", "Won't Do"), RunOptions(now=NOW, query="project = OPS",
                                                                        apply=True)).run()
        violations = list(server.violations)
    assert again.steps == [] and violations == []
    assert any("/transitions" in op and op.startswith("POST") for op in contract.seen)


def test_github_closes_as_not_planned(tmp_path):
    sim = GitHubSim(issues=0)
    sim.add(GitHubIssue(number=1, title="Old idea", body="", created=SIM_NOW - timedelta(days=30),
                        updated=SIM_NOW - timedelta(days=1), author="li-wei", labels=["retire"]))
    with SimServer(sim) as server:
        tracker = GitHubTracker(REPO, TOKEN, server.url, pacer=Pacer(per_minute=0))
        plan = Runner(tracker, _rules(tmp_path, "closed", "not_planned"), RunOptions(now=SIM_NOW, apply=True)).run()
    assert not plan.failed and [a.type for s in plan.steps for a in s.actions] == ["comment", "transition"]
    issue = sim.issue(1)
    assert issue.state == "closed" and issue.state_reason == "not_planned"


def test_a_transition_without_a_status_is_a_rule_file_error(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text(RULE.format(to="Done", resolution="x").replace("{to: Done, ", "{"), encoding="utf-8")
    result = steward("check", str(path))
    assert result.exit_code == 2 and "bad.yml:" in result.stderr
