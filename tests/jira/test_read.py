"""Reads: Cloud enhanced search and Data Center classic search, at the request floor, normalised."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone

from jira_support import CLOUD, DC, DC_ENV, JQL, recorder

from steward.core.model import Change


def test_cloud_snapshot_then_bulk_reads_cost_ceil_n_100_plus_the_snapshot_plus_one(make_tracker, sent):
    tracker = make_tracker()
    with recorder.use_cassette("cloud_read_paged.yaml") as cassette:
        pages = list(tracker.fetch(JQL, None))
        assert cassette.all_played
        assert cassette.play_count == 2 + math.ceil(250 / 100) + 1 == 6
    issues = [issue for page in pages for issue in page]
    assert len(issues) == 250 and len({i.key for i in issues}) == 250
    assert tracker.requests == 6
    # first the ids of every matching issue (Jira may answer fewer than the 5000 asked: then the next page)...
    method, url, params, _ = sent[0]
    assert (method, url) == ("GET", f"{CLOUD}/rest/api/3/search/jql")
    assert params == {"jql": JQL, "fields": "id", "maxResults": 5000}
    assert sent[1][2]["nextPageToken"] == "CAEaAggD"
    # ...then the issues by id, 100 a time, with only the fields Steward reads, the changelog, the marker property
    reads = [body for method, url, _, body in sent if url == f"{CLOUD}/rest/api/3/issue/bulkfetch"]
    assert [len(body["issueIdsOrKeys"]) for body in reads] == [100, 100, 50]
    assert reads[0]["expand"] == ["changelog"] and reads[0]["properties"] == ["steward.markers"]
    assert "*all" not in reads[0]["fields"] and "summary" in reads[0]["fields"]
    assert sorted(i.extra["id"] for i in issues) == sorted(i for body in reads for i in body["issueIdsOrKeys"])
    # one bulk call for the 30 truncated issues, filtered to the fields the model keeps
    method, url, _, body = sent[-1]
    assert (method, url) == ("POST", f"{CLOUD}/rest/api/3/changelog/bulkfetch")
    assert len(body["issueIdsOrKeys"]) == 30
    assert set(body["fieldIds"]) == {"assignee", "duedate", "labels", "priority", "status"}
    # the histories the inline changelog left out are there, labels diffed one per label
    completed = {i.key: i for i in issues}["EE-1"]
    labels = [c for c in completed.changes if c.field == "labels"]
    assert {(c.from_value, c.to_value) for c in labels} == {(None, "sad"), ("bad", None)}
    assert any(c.field == "priority" and (c.from_value, c.to_value) == ("Low", "High") for c in completed.changes)
    assert [c.at for c in completed.changes] == sorted(c.at for c in completed.changes)
    untouched = {i.key: i for i in issues}["EE-2"]
    assert not [c for c in untouched.changes if c.field == "labels"]


def test_bulk_changelog_calls_are_one_per_1000_truncated_issues(make_tracker):
    """With a bulk size of 10, the 30 truncated issues would need 3 calls: the chunking is by bulk size."""
    tracker = make_tracker(bulk_size=1000)
    calls = []
    tracker.reader._complete_changelogs = lambda pending: calls.append(len(pending)) or []
    with recorder.use_cassette("cloud_read_paged.yaml"):
        list(tracker.fetch(JQL, None))
    assert calls == [30]
    tracker = make_tracker(bulk_size=10)
    calls = []
    tracker.reader._complete_changelogs = lambda pending: calls.append(len(pending)) or []
    with recorder.use_cassette("cloud_read_paged.yaml"):
        list(tracker.fetch(JQL, None))
    assert calls == [10, 10, 10]


def test_cloud_normalisation_of_a_real_issue(make_tracker):
    tracker = make_tracker()
    with recorder.use_cassette("cloud_read_paged.yaml"):
        issues = {i.key: i for page in tracker.fetch(JQL, None) for i in page}
    issue = issues["EE-1"]
    assert issue.tracker == "jira" and issue.url == f"{CLOUD}/browse/EE-1" and issue.project == "EE"
    assert issue.status_category == "todo" and issue.priority == "Medium"
    assert issue.labels == ["frontEnd", "Saas"]
    assert issue.assignee == "5ecfbd0c730ec90c1999cadf"  # Cloud: accountId
    assert issue.created == datetime(2020, 6, 12, 0, 13, 13, 360000, tzinfo=timezone.utc)  # from +0800
    assert issue.due == datetime(2025, 3, 9, tzinfo=timezone.utc)
    assert len(issue.comments) == 1 and not issue.comments[0].by_steward
    assignee_changes = [c for c in issue.changes if c.field == "assignee"]
    assert assignee_changes and all(c.at.tzinfo == timezone.utc for c in issue.changes)
    statuses = [c for c in issue.changes if c.field == "status"]
    assert statuses and all(c.to_value for c in statuses)


def test_data_center_classic_search_pages_by_start_at(make_tracker, sent):
    """The keys first (the server caps pages at 8), then the issues by key; never a `properties` parameter,
    which Data Center's search does not have (JRASERVER-62898); always the comments, its only record."""
    tracker = make_tracker(DC, DC_ENV)
    with recorder.use_cassette("dc_read_paged.yaml") as cassette:
        issues = [i for page in tracker.fetch(JQL, None) for i in page]
        assert cassette.all_played and cassette.play_count == 4
    assert len(issues) == 15 and tracker.requests == 4
    assert [call[2]["startAt"] for call in sent] == [0, 8, 0, 8]
    assert all(call[1] == f"{DC}/rest/api/2/search" for call in sent)
    assert [call[2]["fields"] for call in sent[:2]] == ["id", "id"] and sent[0][2]["jql"] == JQL
    by_key = sent[2][2]
    assert by_key["jql"].startswith('key in ("TST-') and by_key["validateQuery"] == "false"
    assert "comment" in by_key["fields"].split(",") and by_key["expand"] == "changelog"
    assert not any("properties" in call[2] for call in sent)
    first = issues[0]
    assert first.assignee and "@" not in first.assignee  # Server: the user name, not an accountId
    changes = {(c.field, c.from_value, c.to_value, c.author) for c in first.changes}
    # Server items have no fieldId: matched on `field`; users are names; oldest-first order kept sorted
    assert ("assignee", "user1", "user2", "user1") in changes
    assert ("priority", "Major", "Minor", "user2") in changes
    assert ("assignee", None, "admin", "admin") in changes  # the Server webhook's history
    assert any(c.field == "due" for c in first.changes)
    assert [c.at for c in first.changes] == sorted(c.at for c in first.changes)


def test_adf_bodies_and_a_truncated_comment_list(make_tracker):
    tracker = make_tracker()
    with recorder.use_cassette("cloud_adf_comments.yaml") as cassette:
        issues = [i for page in tracker.fetch(JQL, None) for i in page]
        assert cassette.all_played and cassette.play_count == 3  # the ids, 1 bulk read, 1 comment page
    issue = issues[0]
    assert issue.body.startswith("Lorem ipsum dolor sit amet")
    assert len(issue.comments) == 3
    assert all(c.body.startswith("Lorem ipsum") for c in issue.comments)
    assert issue.comments[0].author == "5b10a2844c20165700ede21g"


def test_malformed_and_partial_responses_do_not_end_the_run(make_tracker, caplog):
    tracker = make_tracker()
    with caplog.at_level(logging.WARNING, logger="steward"), recorder.use_cassette("cloud_malformed.yaml"):
        issues = {i.key: i for page in tracker.fetch(JQL, None) for i in page}
    assert set(issues) == {f"EE-{900 + n}" for n in range(7)}
    nulls = issues["EE-902"]
    assert nulls.status is None and nulls.labels == [] and nulls.assignee is None and nulls.created is None
    assert nulls.title == "" and nulls.comments == []
    assert issues["EE-903"].comments == []
    assert issues["EE-900"].title == "" and issues["EE-906"].labels == []
    assert issues["EE-905"].markers == []
    assert "without a key" in caplog.text and "malformed marker" in caplog.text


def test_change_model_for_labels_is_one_change_per_label():
    from steward.plugins.jira.parse import history_changes as _history_changes

    history = {"created": "2020-06-12T09:16:17.582+0800", "author": {"accountId": "a1"},
               "items": [{"field": "labels", "fromString": "a b c", "toString": "b c d e"}]}
    changes = _history_changes(history, "X-1")
    at = datetime(2020, 6, 12, 1, 16, 17, 582000, tzinfo=timezone.utc)
    assert set(changes) == {Change("labels", None, "d", "a1", at), Change("labels", None, "e", "a1", at),
                            Change("labels", "a", None, "a1", at)}
