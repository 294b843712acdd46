"""Writes: rate limits waited out (never really slept), no duplicate comment after a 502, paced content writes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from steward.core.errors import TrackerError
from steward.core.model import Action, Issue, Step
from steward.plugins.github.tracker import GitHubTracker
from steward.plugins.github.transport import Pacer

TOKEN = "test-token-not-real"
RUN = "c0ffee01"  # the run id the cassettes' markers carry
NOW = datetime(2019, 5, 20, 12, tzinfo=timezone.utc)
COMMENT = "Please classify this item with one label, strategic, operational or tactical."


def step() -> Step:
    return Step(issue="#1", rule="unclassified-work", level=1, severity="info", actions=[
        Action("#1", "unclassified-work", 1, "comment", COMMENT),
        Action("#1", "unclassified-work", 1, "add_labels", ["needs-classification"]),
    ])


def apply(cass_name, cassette, **kwargs):
    with cassette(cass_name) as cass:
        tracker = GitHubTracker("Codertocat/Hello-World", TOKEN, run=RUN)
        issue = tracker.fetch_one("#1")
        tracker.apply(issue, [step()], NOW)
    return tracker, cass


def posts(cass, path_end):
    return [r for r in cass.requests if r.method == "POST" and r.path.endswith(path_end)]


def test_secondary_limit_429_and_403_with_retry_after_then_success(cassette, fake_time):
    tracker, cass = apply("secondary_limit", cassette)
    assert cass.all_played and cass.play_count == 7
    assert 7.0 in fake_time.sleeps and 3.0 in fake_time.sleeps  # retry-after honoured, on the fake clock
    assert tracker.requests["write"] == 5  # label create, label 429, label, comment 403, comment


def test_primary_limit_waits_until_x_ratelimit_reset(cassette, fake_time):
    with cassette("primary_limit_reset") as cass:
        issue = GitHubTracker("Codertocat/Hello-World", TOKEN).fetch_one("#1")
    assert issue.key == "#1" and cass.play_count == 2
    assert fake_time.sleeps == [11.0]  # reset 1558354830 - wall clock 1558354820, plus one second


def test_502_on_a_comment_that_landed_is_not_sent_again(cassette, fake_time):
    tracker, cass = apply("comment_502_landed", cassette)
    assert cass.all_played
    assert len(posts(cass, "/comments")) == 1  # the one that answered 502; then only a GET of the comments


def test_502_on_a_comment_that_was_lost_is_sent_once_more(cassette, fake_time):
    tracker, cass = apply("comment_502_lost", cassette)
    assert cass.all_played
    assert len(posts(cass, "/comments")) == 2


def test_labels_are_added_one_by_one_after_creating_the_missing_one(cassette, fake_time):
    tracker, cass = apply("comment_502_landed", cassette)
    assert [r.path for r in posts(cass, "labels")] == ["/repos/Codertocat/Hello-World/labels",
                                                       "/repos/Codertocat/Hello-World/issues/1/labels"]
    assert not [r for r in cass.requests if r.method == "PUT"]  # never replaces the label set


def test_pacer_spaces_writes_for_the_secondary_limit(fake_time):
    pacer = Pacer(fake_time.clock, fake_time.sleep)
    for _ in range(81):
        pacer.before_write()
    assert fake_time.now - 1000.0 == pytest.approx(80 * 0.75)  # 80 writes a minute at most


def test_pacer_hourly_cap(fake_time):
    pacer = Pacer(fake_time.clock, fake_time.sleep, per_minute=10_000, per_hour=3)
    for _ in range(4):
        pacer.before_write()
    assert fake_time.now - 1000.0 >= 3600


def test_transition_accepts_only_github_states(fake_time):
    tracker = GitHubTracker("o/r", TOKEN)
    issue = Issue(key="#3", extra={"number": 3})
    with pytest.raises(TrackerError, match="open, closed, completed or not_planned"):
        tracker.writer._transition(issue, "In Review")


def test_a_marked_step_without_a_comment_still_posts_its_marker(monkeypatch, fake_time):
    tracker = GitHubTracker("o/r", TOKEN)
    sent = []
    monkeypatch.setattr(tracker.writer, "_comment", lambda issue, body, now: sent.append(body))
    monkeypatch.setattr(tracker.writer, "_add_label", lambda issue, label: None)
    only_label = Step("#3", "r-1", 2, "low", [Action("#3", "r-1", 2, "add_labels", ["x"])])
    tracker.apply(Issue(key="#3", extra={"number": 3}), [only_label], NOW)
    assert len(sent) == 1 and "<!-- steward:marker rule=r-1 level=2 at=2019-05-20T12:00:00Z added=x run=" in sent[0]


def test_no_cassette_holds_a_token_or_authorization_header():
    from pathlib import Path
    for path in (Path(__file__).parent / "cassettes").glob("*.yaml"):
        text = path.read_text()
        assert "authorization" not in text.lower() and TOKEN not in text
