"""`steward apply` against the GitHub simulator: every planned step lands exactly once, reads stay at the floor."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest
from sim.github import (
    REPO,
    SIM_NOW,
    TOKEN,
    Event,
    GitHubSim,
    SimIssue,
    problems_after_apply,
    run_args,
    run_cli,
    stamp,
)
from sim.server import SimServer

from helpers import record_reads
from steward.core import rulefile
from steward.core.runner import Runner, RunOptions
from steward.plugins.github.tracker import GitHubTracker
from steward.plugins.github.transport import Pacer


def apply(server: SimServer, *extra: str, now=SIM_NOW, command: str = "apply", **env: str) -> dict:
    result = run_cli(server.url, run_args(command, now, *extra), **env)
    assert result.exit_code == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("seed", [1, 2])
def test_apply_writes_every_planned_step_exactly_once_and_a_rerun_writes_nothing(seed):
    sim = GitHubSim(issues=120, seed=seed)
    with SimServer(sim) as server:
        report = apply(server)
        assert report["actions"] and not report["deferred"] and not report["warnings"]
        assert problems_after_apply(sim, report) == []
        assert server.requests("graphql_sweep") == math.ceil(120 / 100)
        # Writes: one comment per step, one request per label change, one per label new to the repository.
        steps = {(a["issue"], a["rule"], a["level"]) for a in report["actions"]}
        changes = sum(len(a["value"]) for a in report["actions"] if a["type"] in ("add_labels", "remove_labels"))
        assert server.requests("rest_comment_create") == sum(1 for s in steps if s[2] > 0)
        assert server.requests("rest_label_add", "rest_label_remove") == changes
        before = sim.snapshot()
        server.reset_counts()
        again = apply(server)
        assert again["actions"] == [] and sim.snapshot() == before
        # Nothing to write: no re-check, no reconcile. Steward's marked comments are there, so the run asks
        # GitHub once who the token is (only that login's comments are Steward's own).
        assert dict(server.counts) == {"graphql_sweep": 2, "rest_user": 1}


def test_a_week_later_the_ladders_move_one_step_and_cleanup_takes_labels_back():
    sim = GitHubSim(issues=200, seed=3)
    with SimServer(sim) as server:
        first = apply(server)
        later = apply(server, now=SIM_NOW + timedelta(days=10))
        assert problems_after_apply(sim, later, SIM_NOW + timedelta(days=10)) == []
    levels = {(a["rule"], a["level"]) for a in first["actions"] + later["actions"]}
    assert ("unowned-exception", 2) in levels and ("escalation-without-follow-up", 2) in levels
    assert any(level == 0 for _, level in levels)  # clean-up: a rule stopped holding, its label went


def test_reads_cost_ceil_n_over_100_plus_one_request_per_extra_100_timeline_items():
    sim = GitHubSim(issues=250, seed=4)
    long = sim.issue(7)
    for i in range(230):  # 230 more items: 3 timeline pages in all, 2 of them follow-ups
        long.event("comment", "li-wei", long.created + timedelta(minutes=i + 1), body=f"note {i}")
    sim.add(long)
    with SimServer(sim) as server:
        report = apply(server, command="plan")
    assert report["issues_seen"] == sum(1 for n in range(1, 251) if sim.issue(n).state == "open")
    # Plus one GET /user: some issues carry markers of earlier runs, and only Steward's own count.
    assert dict(server.counts) == {"graphql_sweep": 3, "graphql_timeline": 2, "rest_user": 1}


def test_since_reads_only_the_issues_that_changed():
    sim = GitHubSim(issues=300, seed=5)
    with SimServer(sim) as server:
        apply(server)
        since = sim.clock + timedelta(seconds=1)
        for number in [n for n in range(1, 301) if sim.issue(n).state == "open"][::120]:
            sim.touch(number)
        server.reset_counts()
        report = apply(server, "--since", stamp(since), command="plan")
    assert report["issues_seen"] == 3 and dict(server.counts) == {"graphql_sweep": 1}


@pytest.mark.parametrize("reads", ["graphql", "rest"])
def test_writes_during_a_paged_sweep_neither_skip_nor_repeat_an_issue(reads):
    """Steward writes page by page while it reads. Sorted by update time, a written issue would move behind a
    GraphQL cursor (read twice) or shift REST's numbered pages (the next issue never read): creation order."""
    sim = GitHubSim(issues=60, seed=6, violation_rate=0.8)
    open_issues = [n for n in range(1, 61) if sim.issue(n).state == "open"]
    with SimServer(sim) as server:
        tracker = GitHubTracker(REPO, TOKEN, server.url, page_size=10, reads=reads,
                                   pacer=Pacer(per_minute=0))
        read = record_reads(tracker)
        plan = Runner(tracker, rulefile.load(rulefile.default_specs()), RunOptions(now=SIM_NOW, apply=True)).run()
    assert plan.steps and sorted(read) == sorted(f"#{n}" for n in open_issues)


def test_rest_reads_find_what_graphql_reads_find():
    sim = GitHubSim(issues=80, seed=7)
    with SimServer(sim) as server:
        graphql = apply(server, command="plan")
        server.reset_counts()
        rest = apply(server, command="plan", STEWARD_GITHUB_READS="rest")
    assert rest["findings"] == graphql["findings"]
    assert server.requests("rest_issues") == 1 and server.requests("rest_timeline") == rest["issues_seen"]


def test_github_enterprise_server_paths_and_a_schema_without_issue_types():
    sim = GitHubSim(issues=30, seed=8, issue_types=False)
    with SimServer(sim) as server:
        result = run_cli(server.url + "/api/v3", run_args("plan"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["findings"]
    assert server.requests("graphql_sweep") == 2  # asked once with `issueType`, then without it


def test_a_step_interrupted_after_its_comment_is_finished_without_a_second_comment():
    """The comment is the commit point: if the labels never follow it (the run died), the next run adds
    them and does not comment again, even when the missing label is one that exempts the rule."""
    sim = GitHubSim(issues=0)
    blocked = SimIssue(number=1, title="Waiting on the vendor", body="", created=SIM_NOW - timedelta(days=20),
                       updated=SIM_NOW - timedelta(days=19), author="li-wei", labels=["operational", "blocked"])
    blocked.events.append(Event(1, "labeled", "li-wei", SIM_NOW - timedelta(days=19), label="blocked"))
    sim.add(blocked)
    with SimServer(sim) as server:
        tracker = GitHubTracker(REPO, TOKEN, server.url, pacer=Pacer(per_minute=0))
        tracker.writer._add_label = lambda issue, label: (_ for _ in ()).throw(SystemExit("killed"))
        with pytest.raises(SystemExit):
            Runner(tracker, rulefile.load(rulefile.default_specs()), RunOptions(now=SIM_NOW, apply=True)).run()
        assert len(sim.comments(1)) == 1 and "escalated" not in sim.labels(1)
        report = apply(server)
    assert [(a["rule"], a["type"]) for a in report["actions"]] == [("blocked-without-escalation", "comment"),
                                                                  ("blocked-without-escalation", "add_labels")]
    assert len(sim.comments(1)) == 1 and "escalated" in sim.labels(1)
    assert problems_after_apply(sim, report) == []


def test_a_label_a_person_removed_after_the_comment_is_not_put_back():
    sim = GitHubSim(issues=0)
    issue = SimIssue(number=1, title="Exception", body="", created=SIM_NOW - timedelta(days=30),
                     updated=SIM_NOW - timedelta(days=30), author="li-wei", labels=["exception", "operational"])
    sim.add(issue)
    with SimServer(sim) as server:
        first = apply(server)
        assert ("unowned-exception", "add_labels") in {(a["rule"], a["type"]) for a in first["actions"]}
        issue.labels.remove("needs-owner")  # a person takes the label off: that is not an interrupted step
        issue.event("unlabeled", "li-wei", sim.tick(), label="needs-owner")
        again = apply(server)
    assert again["actions"] == [] and "needs-owner" not in sim.labels(1)
