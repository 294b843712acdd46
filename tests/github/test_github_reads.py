"""Reads: GraphQL sweeps at ceil(N/100) requests, follow-ups only for long timelines, REST as the fallback."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from steward.core import rulefile
from steward.core.facts import DEFAULT_SETTINGS, unexplained_changes
from steward.core.model import Change
from steward.core.readahead import resolved
from steward.core.registry import FactContext
from steward.core.runner import Runner, RunOptions
from steward.plugins.github.parse import Event, RawIssue, build_issue, priority_of
from steward.plugins.github.tracker import GitHubTracker

TOKEN = "test-token-not-real"


def tracker(repo="panjf2000/ants", **kwargs) -> GitHubTracker:
    return GitHubTracker(repo, TOKEN, **kwargs)


def sweep(t: GitHubTracker, query=None) -> list[list]:
    return list(resolved(t.fetch(query, None)))


def test_sweep_of_41_issues_is_one_graphql_request(cassette, fake_time):
    with cassette("sweep_devlake_one_page") as cass:
        t = tracker()
        pages = sweep(t, "state:all")
    issues = [i for page in pages for i in page]
    assert len(issues) == 41 and cass.play_count == 1 and cass.all_played
    assert t.requests == {"graphql": 1, "rest_read": 0, "write": 0}
    # What GitHub's data became: keys, labels, one Change per label, comments, closed state.
    by_key = {i.key: i for i in issues}
    assert all(k.startswith("#") for k in by_key)
    labeled = [i for i in issues if any(c.field == "labels" for c in i.changes)]
    assert labeled, "the devlake crawl has 18 labeled events"
    for issue in labeled:
        for change in issue.changes:
            if change.field == "labels":
                assert (change.from_value is None) != (change.to_value is None)
    assert any(i.comments for i in issues)
    assert {i.status_category for i in issues} <= {"todo", "done"}
    assert all(i.project == "panjf2000/ants" and i.tracker == "github:panjf2000/ants" for i in issues)


def test_sweep_across_several_graphql_pages(cassette, fake_time):
    with cassette("sweep_devlake_pages") as cass:
        t = tracker(page_size=10)
        pages = sweep(t, "state:all")
    assert [len(p) for p in pages] == [10, 10, 10, 10, 1]
    assert cass.play_count == 5 == math.ceil(41 / 10) and cass.all_played


def test_sweep_of_n_issues_reads_in_ceil_n_over_100_requests(cassette, fake_time):
    with cassette("sweep_250") as cass:
        t = tracker()
        pages = sweep(t)
    assert sum(len(p) for p in pages) == 250
    assert cass.play_count == t.request_count == math.ceil(250 / 100) == 3


def test_only_an_issue_with_more_than_100_timeline_items_costs_a_follow_up(cassette, fake_time):
    with cassette("sweep_long_timeline") as cass:
        t = tracker()
        issues = [i for page in sweep(t) for i in page]
    assert len(issues) == 5 and cass.play_count == 2 and cass.all_played
    first = issues[0]
    assert len(first.comments) + len([c for c in first.changes if c.field != "priority"]) >= 150


def test_rest_fallback_costs_one_request_per_issue_and_skips_pull_requests(cassette, fake_time, monkeypatch):
    with cassette("sweep_devlake_rest") as cass:
        t = tracker(reads="rest")
        issues = [i for page in sweep(t, "state:all") for i in page]
    assert len(issues) == 41  # the list has 60 items: 19 pull requests are left out
    assert cass.play_count == 1 + 41 and cass.all_played
    with cassette("sweep_devlake_one_page"):
        graphql = [i for page in sweep(tracker(), "state:all") for i in page]
    # Both read paths build the same issues.
    key = lambda i: (i.key, i.title, i.status, tuple(i.labels), i.assignee, len(i.comments),  # noqa: E731
                     tuple((c.field, c.from_value, c.to_value, c.author, c.at) for c in i.changes))
    assert sorted(map(key, issues)) == sorted(map(key, graphql))


def test_sweep_runs_the_default_pack_end_to_end(cassette, fake_time):
    rules = rulefile.load(rulefile.default_specs())
    now = datetime(2022, 6, 20, tzinfo=timezone.utc)
    with cassette("sweep_devlake_one_page") as cass:
        plan = Runner(tracker(), rules, RunOptions(now=now, query="state:all")).run()
    assert plan.issues_seen == 41 and cass.play_count == 1
    assert any(f.rule == "unclassified-work" for f in plan.findings)


@pytest.mark.parametrize(("label", "prefix", "value"), [
    ("priority: high", "priority:", "high"), ("priority:P1", "priority:", "P1"), ("P0", "P", "P0"),
    ("P3", "P", "P3"), ("Performance", "P", None), ("bug", "priority:", None), ("priority:", "priority:", None),
    ("prio/low", "prio/", "low"),
])
def test_priority_label_family(label, prefix, value):
    assert priority_of(label, prefix) == value


def _context(now):
    return FactContext(now=now, settings=dict(DEFAULT_SETTINGS))


@pytest.mark.parametrize(("name", "expected"), [("without_rationale", ["priority", "labels"]),
                                                ("with_rationale", [])])
def test_priority_change_by_label_family(cassette, fake_time, name, expected):
    with cassette(f"priority_{name}") as cass:
        issue = GitHubTracker("Codertocat/Hello-World", TOKEN).fetch_one("#1")
    assert cass.play_count == 1
    assert issue.priority == "high"
    priority = [c for c in issue.changes if c.field == "priority"]
    assert priority == [Change("priority", None, "high", "Codertocat", priority[0].at)]
    facts = unexplained_changes(issue, _context(datetime(2019, 5, 20, tzinfo=timezone.utc)))
    assert ("priority" in facts) is (name == "without_rationale")
    assert facts == expected


def test_priority_switch_records_from_and_to():
    at = datetime(2024, 1, 1, tzinfo=timezone.utc)
    raw = RawIssue(number=7, url=None, title="t", body="", state="open", state_reason=None, created=at,
                       updated=at, author="a", type=None, labels=["P1"], assignees=[], due=None, milestone=None,
                       events=[Event("labeled", "a", at, "P2"),
                               Event("labeled", "b", at.replace(hour=1), "P1"),
                               Event("unlabeled", "b", at.replace(hour=2), "P2")])
    issue = build_issue(raw, "o/r", "P")
    assert issue.priority == "P1"
    assert [(c.from_value, c.to_value) for c in issue.changes if c.field == "priority"] == [
        (None, "P2"), ("P2", "P1"), ("P2", "P1")]


def test_bad_targets_and_queries_are_clear_errors(monkeypatch):
    from steward.core.errors import TrackerError
    for target in ("octo-org/", "a/b/c", ""):  # `just-a-name` alone is an organisation
        with pytest.raises(TrackerError, match="OWNER/REPO"):
            GitHubTracker(target, TOKEN)
    with pytest.raises(TrackerError, match="GITHUB_TOKEN"):
        GitHubTracker("o/r", None)
    with pytest.raises(TrackerError, match="unsupported GitHub query"):
        list(resolved(GitHubTracker("o/r", TOKEN).fetch("reactions:>3", None)))
