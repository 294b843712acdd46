"""A sweep reads every issue it should exactly once, even while the same run writes to them page by page and
closes some of them (which takes them out of the open issues a sweep lists)."""

from __future__ import annotations

import pytest
from sim.github import REPO, SIM_NOW, TOKEN, GitHubSim
from sim.server import SimServer

from helpers import record_reads
from steward.core import rulefile
from steward.core.runner import Runner, RunOptions
from steward.plugins.github.tracker import GitHubTracker
from steward.plugins.github.transport import Pacer

CLOSE_TACTICAL = """\
version: 1
rules:
  - id: close-tactical
    title: Tactical work is closed
    severity: low
    rationale: A rule that closes issues during a sweep, so that the open list changes under it.
    when:
      labels: {contains: tactical}
      status_category: {ne: done}
    then:
      - comment: Closing tactical work.
      - transition: closed
"""


@pytest.mark.parametrize("reads", ["graphql", "rest"])
def test_closing_issues_during_a_paged_sweep_neither_skips_nor_repeats_one(reads, tmp_path):
    rules = tmp_path / "close.yml"
    rules.write_text(CLOSE_TACTICAL, encoding="utf-8")
    sim = GitHubSim(issues=60, seed=6)
    open_issues = [n for n in range(1, 61) if sim.issue(n).state == "open"]
    tactical = [n for n in open_issues if "tactical" in sim.issue(n).labels]
    assert len(tactical) >= 5 and tactical[0] <= 20  # issues close on the first pages: the later ones would move
    with SimServer(sim) as server:
        tracker = GitHubTracker(REPO, TOKEN, server.url, page_size=10, reads=reads, pacer=Pacer(per_minute=0))
        read = record_reads(tracker)
        plan = Runner(tracker, rulefile.load([str(rules)]), RunOptions(now=SIM_NOW, apply=True)).run()
    assert {step.issue for step in plan.steps} == {f"#{n}" for n in tactical}
    assert all(sim.issue(n).state == "closed" for n in tactical)
    assert sorted(read) == sorted(f"#{n}" for n in open_issues)  # each once: none skipped, none twice
