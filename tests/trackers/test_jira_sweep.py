"""A sweep reads every issue that matched when it started, even when Steward's own writes move issues out of
the JQL while it runs (offset or token paging over a changing result skips issues), at a few reads above the
floor: a snapshot of the matching ids or keys (pages of up to 5000 on Cloud, 1000 on Data Center), then the
issues by id or key, 100 at a time."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sim.jira import CLOUD, DATACENTER, JiraSim, credentials
from sim.server import SimServer

from steward.core import rulefile
from steward.core.runner import Runner, RunOptions
from steward.plugins.jira.tracker import JiraTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)

# Pushed down as `labels = "triage"`: each write takes the label off, so the issue leaves the search.
TRIAGE = """\
version: 1
rules:
  - id: triage-done
    title: Triage label handled
    severity: low
    rationale: The triage label is taken off with a note, which moves the issue out of the search.
    when:
      labels: {contains: triage}
    then:
      - comment: Triaged.
      - remove_labels: [triage]
"""


def labelled(flavor: str, issues: int, every: int) -> tuple[JiraSim, list[str]]:
    sim = JiraSim(flavor, issues, seed=4, now=NOW)
    keys = list(sim.issues)[::every]
    for key in keys:
        issue = sim._materialize(key)
        issue.labels = [*issue.labels, "triage"]
        issue.created = min(issue.created, NOW - timedelta(days=1))
    return sim, keys


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_issues_the_run_moves_out_of_the_jql_are_not_skipped(flavor, tmp_path: Path):
    sim, due = labelled(flavor, 700, 2)
    rules_file = tmp_path / "triage.yml"
    rules_file.write_text(TRIAGE, encoding="utf-8")
    rules = rulefile.load([str(rules_file)])
    with SimServer(sim) as server:
        tracker = JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None)
        plan = Runner(tracker, rules, RunOptions(now=NOW, query="project = OPS", apply=True)).run()
        searches = server.requests("search", "issue_bulk")
    assert sorted(s.issue for s in plan.steps) == sorted(due)
    assert not plan.failed and not [k for k in due if "triage" in sim.issues[k].labels]
    assert all(len(sim.steward_comments(key)) == 1 for key in due)
    # the floor is ceil(M/100) reads of whole issues; the snapshot adds ceil(M/5000) (Cloud) or
    # ceil(M/1000) (Data Center) searches for ids or keys; each page that wrote adds a re-check and a reconcile
    pages = math.ceil(len(due) / 100)
    snapshot = math.ceil(len(due) / (5000 if flavor == CLOUD else 1000))
    assert searches == snapshot + pages + 2 * pages
