"""Hierarchy and links on Jira: parent, sub-tasks and an epic's issues as children (with status and owner, joined
across pages), Blocks links both ways, components; all read at the request floor."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sim.jira import CLOUD, DATACENTER, STATUSES, USERS, account_id, credentials
from sim.jira_fields import COMPONENTS, FieldsJiraSim
from sim.server import SimServer

from steward.core import rulefile
from steward.core.model import Issue
from steward.core.runner import Runner, RunOptions
from steward.plugins.jira.hierarchy import add_hierarchy
from steward.plugins.jira.tracker import JiraTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
FIXTURES = Path(__file__).parent / "fixtures"
CATEGORY = {"new": "todo", "indeterminate": "in_progress", "done": "done"}
HEADER = """\
version: 1
fields:
  next_review: {jira: "Next review date", type: date}
  risk: {jira: "Risk level", type: select}
rules:
"""
PLAIN = """\
  - id: overdue
    title: Overdue
    severity: low
    rationale: Due dates matter.
    when:
      days_overdue: {gt: 0}
    then:
      - comment: Overdue.
"""
HIERARCHY = """\
  - id: overdue
    title: Overdue with open work
    severity: low
    rationale: Due dates matter, and so does the work under and in front of them.
    when:
      days_overdue: {gt: 0}
      any:
        - open_children: {gte: 1}
        - open_blockers: {gte: 1}
        - children_without_owner: {gte: 0}
        - days_until_next_review: {lt: 0}
        - risk: {eq: High}
        - components: {contains: Platform}
    then:
      - comment: "Overdue: {{ open_children }} open children, {{ open_blockers }} blockers, parent {{ parent }}."
"""

EVERY_PARENT = """\
  - id: children
    title: Children counted
    severity: low
    rationale: Every parent shows its open children.
    when:
      open_children: {gte: 1}
    then:
      - comment: "{{ open_children }} open children, {{ children_without_owner }} without owner."
"""


def _category(sim: FieldsJiraSim, n: int) -> str:
    return CATEGORY[STATUSES[sim.issues[f"OPS-{n}"].status][1]]


def _sweep(sim: FieldsJiraSim, flavor: str, text: str, folder: Path, query: str = "project = OPS",
           page_size: int = 100):
    path = folder / "rules.yml"
    path.write_text(text, encoding="utf-8")
    rules = rulefile.load([str(path)])
    with SimServer(sim) as server:
        tracker = JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None, page_size=page_size)
        tracker.map_fields(rules.settings["fields"])
        tracker.narrow(rules.rules)
        issues = {i.key: i for page in tracker.fetch(query) for i in page}
        return issues, server.requests("search", "issue_bulk"), server.requests()


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_parent_children_blockers_and_components_match_the_tracker(flavor, tmp_path):
    sim = FieldsJiraSim(flavor, 95, seed=2, now=NOW, hierarchy=True)
    # Small pages: an epic's issues and its sub-task are read on later pages than the epic itself.
    issues, _, _ = _sweep(sim, flavor, HEADER + HIERARCHY, tmp_path, page_size=2)
    assert len(issues) == 95
    for key, issue in issues.items():
        n = sim.issues[key].n
        parent = sim.parent_of(n)
        assert (issue.parent.key, issue.parent.status_category) == (f"OPS-{parent}", _category(sim, parent)) \
            if parent else issue.parent is None
        expected = [(f"OPS-{c}", _category(sim, c), sim.issues[f"OPS-{c}"].assignee)
                    for c in sim.children_of(n) if sim.parent_of(c) == n]
        got = [(r.key, r.status_category, _person(sim, flavor, r.assignee)) for r in issue.children]
        assert sorted(got) == sorted(expected), key
        assert [r.key for r in issue.blocked_by] == ([f"OPS-{n - 1}"] if n % 7 == 0 else [])
        assert [r.key for r in issue.blocks] == ([f"OPS-{n + 1}"] if (n + 1) % 7 == 0 and n + 1 <= 95 else [])
        assert all(r.status_category == _category(sim, int(r.key[4:])) for r in issue.blocked_by + issue.blocks)
        assert issue.components == list(COMPONENTS)[:n % 3]
    epics = [i for i in issues.values() if len(i.children) == 3]
    assert (len(epics) > 0) == (flavor == CLOUD)  # Data Center: sub-tasks only (epics use the Epic Link field)


def _person(sim: FieldsJiraSim, flavor: str, ident: str | None) -> str | None:
    if ident is None or flavor != CLOUD:
        return ident
    return {account_id(user): user for user in USERS}[ident]


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_fields_and_hierarchy_cost_no_search_request(flavor, tmp_path):
    """The floor: one snapshot page and one read per 100 issues, with or without two mapped fields and the
    hierarchy facts (the field list is one request per run, not a search)."""
    sim = FieldsJiraSim(flavor, 250, seed=2, now=NOW, hierarchy=True)
    _, plain, plain_all = _sweep(sim, flavor, HEADER + PLAIN, tmp_path)
    _, rich, rich_all = _sweep(sim, flavor, HEADER + HIERARCHY, tmp_path)
    floor = 1 + math.ceil(250 / 100)
    assert plain == rich == floor
    assert rich_all == plain_all  # both map fields: one GET /field each, nothing else added


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_children_outside_the_sweep_are_read_by_key_for_their_owner(flavor, tmp_path):
    sim = FieldsJiraSim(flavor, 40, seed=2, now=NOW, hierarchy=True)
    issues, reads, _ = _sweep(sim, flavor, HEADER + HIERARCHY, tmp_path, query="key in (OPS-1, OPS-11, OPS-21)")
    # The snapshot, one bulk read of the three, one bulk read of their three sub-tasks (not in the sweep).
    assert reads == 3
    for key in ("OPS-1", "OPS-11", "OPS-21"):
        child = next(r for r in issues[key].children)
        n = sim.issues[child.key].n
        assert child.key == f"OPS-{sim.issues[key].n + 1}" and child.status_category == _category(sim, n)
        assert _person(sim, flavor, child.assignee) == sim.issues[child.key].assignee


def test_the_rule_sees_the_facts(tmp_path):
    sim = FieldsJiraSim(CLOUD, 60, seed=2, now=NOW, hierarchy=True)
    path = tmp_path / "rules.yml"
    path.write_text(HEADER + EVERY_PARENT, encoding="utf-8")
    with SimServer(sim) as server:
        tracker = JiraTracker(server.url, credentials(CLOUD), sleep=lambda seconds: None)
        plan = Runner(tracker, rulefile.load([str(path)]), RunOptions(now=NOW, query="project = OPS")).run()
    parents = [s for s in plan.steps if sim.issues[s.issue].n % 10 == 1]
    assert {s.issue for s in plan.steps} == {k for k, i in sim.issues.items() if i.n % 10 == 1 and any(
        _category(sim, c) != "done" for c in sim.children_of(i.n))}
    for step in parents:
        n = sim.issues[step.issue].n
        open_children = sum(1 for c in sim.children_of(n) if _category(sim, c) != "done")
        without = sum(1 for c in sim.children_of(n) if _category(sim, c) != "done"
                      and not sim.issues[f"OPS-{c}"].assignee)
        assert step.actions[0].value == f"{open_children} open children, {without} without owner."
    assert parents


def test_recorded_cloud_parent_and_subtasks():
    """The devlake Cloud crawl: a sub-task's `parent` and a story's `subtasks`, as Jira Cloud sent them."""
    recorded = {i["key"]: i["fields"] for i in json.loads((FIXTURES / "recorded_field_values.json").read_text(
        encoding="utf-8"))["devlake_cloud"]}
    child = Issue("EE-25")
    add_hierarchy(child, recorded["EE-25"])
    assert (child.parent.key, child.parent.status_category) == ("EE-1", "done")
    story = Issue("EE-1")
    add_hierarchy(story, recorded["EE-1"])
    assert story.children and all(r.key.startswith("EE-") and r.status_category for r in story.children)


def test_recorded_server_links_other_than_blocks_are_not_blockers():
    """Jira 5.0's all-expanded issue links two issues as Duplicate: neither a blocker nor blocked."""
    issue = Issue("TST-2")
    add_hierarchy(issue, json.loads((FIXTURES / "recorded_field_values.json").read_text(encoding="utf-8"))[
        "jrjc_server_all_expanded"]["fields"])
    assert issue.blocked_by == [] and issue.blocks == [] and issue.components == ["Component A", "Component B"]
