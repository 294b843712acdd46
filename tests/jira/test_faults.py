"""Rate limits, server faults and the errors a user can act on: no traceback, never the token."""

from __future__ import annotations

import pytest
import requests
from jira_support import CLOUD, CLOUD_ENV, DC_ENV, JQL, recorder

from steward.core.errors import TrackerError
from steward.plugins.jira.tracker import JiraTracker


def test_429_waits_for_retry_after_then_succeeds(make_tracker, sleeps):
    tracker = make_tracker()
    with recorder.use_cassette("cloud_429.yaml") as cassette:
        issues = [i for page in tracker.fetch(JQL, None) for i in page]
        assert cassette.all_played and cassette.play_count == 3  # the ids (429, then again), the issues
    assert len(issues) == 3
    assert sleeps == [7.0]  # Retry-After, not a guess


def test_rate_limit_reset_header_is_honoured_without_retry_after(make_tracker, sleeps):
    tracker = make_tracker(clock=lambda: 1_000.0)
    response = requests.Response()
    response.headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1970-01-01T00:17:10Z"})
    policy = tracker.connection.transport.policy
    policy.note(response.headers)
    assert policy.not_before == 1_000.0 + 30.0 + 1.0  # the reset, plus a second for its rounding


def test_5xx_on_a_read_backs_off_with_jitter_then_succeeds(make_tracker, sleeps):
    tracker = make_tracker(jitter=lambda: 1.0)
    with recorder.use_cassette("cloud_5xx_read.yaml") as cassette:
        issues = [i for page in tracker.fetch(JQL, None) for i in page]
        assert cassette.play_count == 4  # the ids (502, 503, then again), the issues
    assert len(issues) == 2
    assert sleeps == [1.0, 2.0]  # 2**attempt scaled by jitter in [0.5, 1]


@pytest.mark.parametrize("cassette, expected", [
    ("error_401.yaml", "JIRA_EMAIL and JIRA_API_TOKEN"),
    ("error_403.yaml", "Browse projects"),
    ("error_400_jql", "Expecting operator but got 'EE'"),
    ("error_404_html.yaml", "check JIRA_URL"),
    ("error_200_html.yaml", "not JSON"),
])
def test_errors_a_user_can_act_on(make_tracker, cassette, expected):
    tracker = make_tracker()
    with recorder.use_cassette(cassette if cassette.endswith(".yaml") else cassette + ".yaml"):
        with pytest.raises(TrackerError) as raised:
            list(tracker.fetch(JQL, None))
    message = str(raised.value)
    assert expected in message
    assert CLOUD_ENV["JIRA_API_TOKEN"] not in message and "Traceback" not in message


def test_410_tells_a_cloud_site_needs_cloud_credentials(make_tracker):
    tracker = make_tracker(CLOUD, DC_ENV)
    with recorder.use_cassette("error_410_dc_on_cloud.yaml"), pytest.raises(TrackerError) as raised:
        list(tracker.fetch(JQL, None))
    assert "JIRA_EMAIL and JIRA_API_TOKEN" in str(raised.value)
    assert DC_ENV["JIRA_TOKEN"] not in str(raised.value)


def test_unreachable_site_is_a_tracker_error(make_tracker, monkeypatch, sleeps):
    def refuse(self, request, **kwargs):
        raise requests.ConnectionError("Max retries exceeded: [Errno 111] Connection refused")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", refuse)
    tracker = make_tracker(attempts=3)
    with pytest.raises(TrackerError) as raised:
        list(tracker.fetch(JQL, None))
    assert "cannot reach Jira" in str(raised.value) and len(sleeps) == 2


@pytest.mark.parametrize("env, expected", [
    ({}, "JIRA_EMAIL and JIRA_API_TOKEN"),
    ({"JIRA_EMAIL": "a@b.c"}, "JIRA_TOKEN"),
])
def test_missing_credentials(env, expected):
    with pytest.raises(TrackerError) as raised:
        JiraTracker(CLOUD, env)
    assert expected in str(raised.value)


def test_missing_or_bad_url():
    with pytest.raises(TrackerError, match="JIRA_URL"):
        JiraTracker(None, CLOUD_ENV)
    with pytest.raises(TrackerError, match="not an http"):
        JiraTracker("acme.atlassian.net", CLOUD_ENV)


def test_registered_as_the_jira_tracker(monkeypatch):
    from steward.core import plugins

    monkeypatch.setenv("JIRA_URL", CLOUD)
    monkeypatch.setenv("JIRA_EMAIL", "ops@acme.com")
    monkeypatch.setenv("JIRA_API_TOKEN", "x")
    tracker = plugins.open_tracker("jira", {"url": None})
    assert tracker.name == "jira" and tracker.base_url == CLOUD and tracker.cloud
    tracker = plugins.open_tracker("jira", {"url": "https://other.atlassian.net/"})
    assert tracker.base_url == "https://other.atlassian.net"
