"""GitHub sub-issues and parents, read in the same GraphQL page as the issue (no request per issue), become the
hierarchy facts: parent, parent_status_category, children, open_children, children_without_owner. Requests and
answers are checked against GitHub's GraphQL schema."""

from __future__ import annotations

from contract.known import unlisted
from contract.trackers import GitHubContract
from sim.github import REPO, SIM_NOW, TOKEN, GitHubSim
from sim.server import SimServer

from steward.core import rulefile
from steward.core.readahead import resolved
from steward.core.runner import Runner, RunOptions
from steward.plugins.github.tracker import GitHubTracker
from steward.plugins.github.transport import Pacer

RULES = """\
version: 1
rules:
  - id: children-need-owners
    title: Open sub-issues have owners
    severity: medium
    rationale: Work nobody owns does not get done.
    when:
      children_without_owner: {gte: 1}
    then:
      - comment: "{{ children_without_owner }} of {{ open_children }} open sub-issues have no owner: {{ children }}."
"""


def family(sim: GitHubSim) -> None:
    """#5 is the parent of #6 (closed), #7 (open, owned) and #8 (open, nobody's)."""
    for number, state, owners in ((6, "closed", ["li-wei"]), (7, "open", ["tom-becker"]), (8, "open", [])):
        child = sim._mutable(number)
        child.parent, child.state, child.assignees = 5, state, owners
    sim._mutable(5).state = "open"


def test_parent_and_sub_issues_become_facts_in_one_request_per_page(tmp_path):
    sim = GitHubSim(issues=40, seed=3)
    family(sim)
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES, encoding="utf-8")
    with SimServer(sim, contract=GitHubContract()) as server:
        tracker = GitHubTracker(REPO, TOKEN, server.url, pacer=Pacer(per_minute=0))
        issues = {i.key: i for page in resolved(tracker.fetch("state:all", None)) for i in page}
        assert server.requests("graphql_sweep") == 1 and server.requests() == 1  # 40 issues, one request
        plan = Runner(tracker, rulefile.load([str(rules)]), RunOptions(now=SIM_NOW, query="state:all")).run()
    parent, child = issues["#5"], issues["#8"]
    assert [(r.key, r.status_category, r.assignee) for r in parent.children] == [
        ("#6", "done", "li-wei"), ("#7", "todo", "tom-becker"), ("#8", "todo", None)]
    assert child.parent is not None and (child.parent.key, child.parent.status_category) == ("#5", "todo")
    assert issues["#1"].parent is None and issues["#1"].children == []
    [finding] = plan.findings
    assert finding.issue == "#5"
    assert finding.facts["children_without_owner"] == 1
    assert plan.steps[0].actions[0].value == "1 of 2 open sub-issues have no owner: #6, #7, #8."
    assert unlisted("github", server.violations) == []


def test_a_parent_in_another_repository_is_named_with_its_repository():
    sim = GitHubSim(issues=3, seed=3)
    sim._mutable(2).extra["parent"] = {"number": 41, "state": "OPEN",
                                       "repository": {"nameWithOwner": "octo-org/platform"},
                                       "assignees": {"nodes": []}}
    with SimServer(sim, contract=GitHubContract()) as server:
        tracker = GitHubTracker(REPO, TOKEN, server.url, pacer=Pacer(per_minute=0))
        issue = tracker.fetch_one("#2")
    assert issue.parent is not None and issue.parent.key == "octo-org/platform#41"
    assert unlisted("github", server.violations) == []
