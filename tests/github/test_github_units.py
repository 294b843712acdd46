"""Adapter decisions checked against a stub requester: `since`, schema fallbacks, sweeps from `steward event`."""

from __future__ import annotations

import json
import logging
import time

from click.testing import CliRunner
from github import GithubException

from steward.cli import cli
from steward.core import readahead
from steward.core.readahead import resolved
from steward.plugins.github.read import GitHubReader
from steward.plugins.github.tracker import GitHubTracker, make_tracker
from steward.plugins.transport import Exhausted, Failure

TOKEN = "test-token-not-real"
EMPTY = {"data": {"repository": {"issues": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}}}}


class StubRequester:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def _next(self, call):
        self.calls.append(call)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return {}, answer

    graphql_url = "https://api.github.com/graphql"

    def requestJsonAndCheck(self, verb, url, parameters=None, headers=None, input=None):  # noqa: N802
        if url == self.graphql_url:  # how the adapter sends GraphQL (it reads the answer itself)
            return self._next(("graphql", input["query"], input["variables"]))
        return self._next((verb, url, parameters, input))


def with_stub(answers, **kwargs):
    tracker = GitHubTracker("o/r", TOKEN, **kwargs)
    tracker.connection.requester = StubRequester(answers)
    return tracker, tracker.connection.requester


def test_since_narrows_the_graphql_sweep(fake_time):
    from datetime import datetime, timezone
    tracker, stub = with_stub([EMPTY])
    list(resolved(tracker.fetch(None, datetime(2026, 11, 1, tzinfo=timezone.utc))))
    variables = stub.calls[0][2]
    assert variables["since"] == "2026-11-01T00:00:00Z" and variables["states"] == ["OPEN"]
    assert "filterBy: {since: $since}" in stub.calls[0][1]


def test_a_server_without_issue_types_is_asked_again_without_them(fake_time):
    unknown = GithubException(400, {"errors": [{"message": "Field 'issueType' doesn't exist on type 'Issue'"}]}, {})
    tracker, stub = with_stub([unknown, EMPTY])
    assert list(resolved(tracker.fetch(None, None))) == [[]]
    assert "issueType" in stub.calls[0][1] and "issueType" not in stub.calls[1][1]


def test_no_graphql_endpoint_falls_back_to_rest(fake_time):
    missing = GithubException(404, {"message": "Not Found"}, {})
    issue = {"number": 5, "title": "t", "state": "open", "created_at": "2024-01-01T00:00:00Z",
             "updated_at": "2024-01-02T00:00:00Z", "user": {"login": "a"}, "labels": [{"name": "priority:low"}]}
    timeline = [{"event": "labeled", "actor": {"login": "a"}, "created_at": "2024-01-01T00:00:00Z",
                 "label": {"name": "priority:low"}}]
    tracker, stub = with_stub([missing, [issue, {**issue, "number": 6, "pull_request": {}}], timeline])
    issues = [i for page in resolved(tracker.fetch(None, None)) for i in page]
    assert [i.key for i in issues] == ["#5"] and issues[0].priority == "low"
    assert [c[0] for c in stub.calls] == ["graphql", "GET", "GET"]


def test_github_errors_are_actionable_and_never_show_the_token(fake_time):
    import pytest

    from steward.core.errors import TrackerError
    tracker, _ = with_stub([GithubException(401, {"message": "Bad credentials"}, {})])
    with pytest.raises(TrackerError) as caught:
        list(resolved(tracker.fetch(None, None)))
    assert "GITHUB_TOKEN" in str(caught.value) and TOKEN not in str(caught.value)


def test_plan_without_a_token_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["plan", "--tracker", "github:o/r"])
    assert result.exit_code == 2 and "set GITHUB_TOKEN" in result.output


def test_schedule_event_sweeps_the_repository(tmp_path, github_env, cassette):
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps({"schedule": "17 6 * * *", "repository": {"full_name": "panjf2000/ants"}}))
    with cassette("sweep_250") as cass:
        result = CliRunner().invoke(cli, ["event", "--github-event", str(path), "--event-name", "schedule",
                                          "--dry-run", "--now", "2022-07-01T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert cass.play_count == 3 and "250 issues checked" in result.output
    assert github_env["summary"].read_text().startswith("## Steward plan")


def test_timeout_and_write_pacing_come_from_the_environment(monkeypatch):
    import pytest

    from steward.core.errors import TrackerError
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("STEWARD_HTTP_TIMEOUT", "3")
    monkeypatch.setenv("STEWARD_GITHUB_WRITES_PER_MINUTE", "0")
    tracker = make_tracker("o/r", {})
    pacer = tracker.connection.pacer
    assert tracker.connection.requester._Requester__timeout == 3 and pacer.interval == 0
    slept = []
    pacer.sleep = slept.append
    for _ in range(600):  # no spacing and no hourly cap
        pacer.before_write()
    assert slept == []
    monkeypatch.setenv("STEWARD_HTTP_TIMEOUT", "0.5")  # PyGithub takes whole seconds: rounded up
    assert make_tracker("o/r", {}).connection.requester._Requester__timeout == 1
    monkeypatch.setenv("STEWARD_HTTP_TIMEOUT", "soon")
    with pytest.raises(TrackerError, match="STEWARD_HTTP_TIMEOUT must be a number of seconds above 0"):
        make_tracker("o/r", {})



class SkippingConnection:
    """One issue a page: #1's history cannot be read (502s); the page after it cannot be read even alone, so
    the sweep steps past #2 by its number."""

    page_size = 1

    def graphql(self, query, variables, what):
        if "reading the numbers" in what:
            return {"repository": {"issues": {"nodes": [{"number": 2}], "pageInfo": {"hasNextPage": False}}}}
        if variables.get("cursor") is None:
            return {"repository": {"issues": {"nodes": [{"number": 1}], "totalCount": 2,
                                              "pageInfo": {"hasNextPage": True, "endCursor": "c1"}}}}
        raise Exhausted("GitHub kept answering 502", Failure(502, "GitHub answered 502"))


def sweep_skipping(depth: int) -> tuple[list[str], list[str]]:
    """(the reader's skipped issues, the run's warnings) of that sweep, `depth` pages read ahead, with the run
    busy on an earlier page while the reader goes on."""
    reader = GitHubReader(SkippingConnection(), "o", "r", "priority:", "graphql")

    def overloaded_history(node, history=None):
        raise Exhausted("GitHub kept answering 502 while reading the history", Failure(502, "502"))

    reader._from_graphql_node = overloaded_history
    sink: list[str] = []
    handler = readahead.ThreadLog(sink)
    logging.getLogger("steward").addHandler(handler)
    try:
        with readahead.pages_of(lambda: reader.issues("state:open", None), depth, handler) as pages:
            time.sleep(0.3)
            assert [issue for page in pages for issue in page] == []
    finally:
        logging.getLogger("steward").removeHandler(handler)
    return reader.skipped, sink


def test_skipped_issues_are_listed_in_the_sweeps_order_however_far_the_reader_is_ahead():
    sequential = sweep_skipping(0)
    assert sequential[0] == ["#1", "#2"] and sequential[1][0].startswith("#1: skipped")
    assert sweep_skipping(2) == sequential
