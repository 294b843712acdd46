"""Writes: one PUT per acted-on issue (comment + labels + marker property), never a label replace,
no duplicate comment after a 503."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from jira_support import CLOUD, DC, DC_ENV, recorder

from steward.core.errors import TrackerError
from steward.core.model import Action, Issue, Marker, Step

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def step(key, rule, level, *actions):
    return Step(issue=key, rule=rule, level=level, severity="high",
                actions=[Action(key, rule, level, kind, value) for kind, value in actions])


def puts(sent):
    return [call for call in sent if call[0] == "PUT"]


def test_every_write_shape_costs_one_request_per_issue(make_tracker, sent):
    tracker = make_tracker()
    earlier = Marker("stale", 1, datetime(2026, 11, 1, tzinfo=timezone.utc))
    with recorder.use_cassette("cloud_writes.yaml") as cassette:
        # comment + label add + marker property
        tracker.apply(Issue("EE-1", markers=[earlier]), [
            step("EE-1", "unowned-exception", 1, ("comment", "Please assign one owner."),
                 ("add_labels", ["needs-owner"]))], NOW)
        # clean-up: label removal only, no marker
        tracker.apply(Issue("EE-2", labels=["needs-owner"]), [
            step("EE-2", "unowned-exception", 0, ("remove_labels", ["needs-owner"]))], NOW)
        # assignment and a second rule's comment folded into the same request
        tracker.apply(Issue("EE-3"), [
            step("EE-3", "unowned-exception", 2, ("comment", "Escalating."), ("assign", "5b10a2844c20165700ede21g"),
                 ("add_labels", ["escalated"])),
            step("EE-3", "stale", 1, ("comment", "Stale."), ("remove_labels", ["fresh"]))], NOW)
        # a transition: GET transitions + POST, then the edit
        tracker.apply(Issue("EE-4"), [
            step("EE-4", "blocked", 1, ("transition", "In Progress"), ("comment", "Moving it."))], NOW)
        assert cassette.all_played and cassette.play_count == 6
    edits = puts(sent)
    assert [url.rsplit("/", 1)[1] for _, url, _, _ in edits] == ["EE-1", "EE-2", "EE-3", "EE-4"]
    assert all(url.startswith(f"{CLOUD}/rest/api/2/issue/") for _, url, _, _ in edits)
    first = edits[0][3]
    assert first["update"]["labels"] == [{"add": "needs-owner"}]
    (comment,) = first["update"]["comment"]
    assert comment["add"]["body"].startswith("Please assign one owner.")
    # the footer and the marker name the run that wrote them: two runs can tell whose copy of a step is kept
    assert comment["add"]["body"].endswith(
        f"_Steward · rule unowned-exception · step 1 · labels added: needs-owner · run {tracker.run}_")
    assert first["properties"] == [{"key": "steward.markers", "value": {"markers": [
        {"rule": "stale", "level": 1, "at": "2026-11-01T00:00:00Z"},
        {"rule": "unowned-exception", "level": 1, "at": "2026-11-21T09:00:00Z", "added": ["needs-owner"],
         "run": tracker.run}]}}]
    second = edits[1][3]
    assert second == {"update": {"labels": [{"remove": "needs-owner"}]}}  # level 0: no marker, no comment
    third = edits[2][3]
    assert third["fields"] == {"assignee": {"accountId": "5b10a2844c20165700ede21g"}}
    assert len(third["update"]["comment"]) == 2
    assert third["update"]["labels"] == [{"add": "escalated"}, {"remove": "fresh"}]
    assert {m["rule"] for m in third["properties"][0]["value"]["markers"]} == {"unowned-exception", "stale"}
    for _, _, _, body in edits:  # labels are never replaced wholesale
        assert "labels" not in body.get("fields", {})
        assert all(set(op) <= {"add", "remove"} for op in body.get("update", {}).get("labels", []))
    transition = [call for call in sent if call[0] == "POST"][0]
    assert transition[3] == {"transition": {"id": "2"}}  # "Close Issue" leads to "In Progress"


def test_data_center_writes_the_marker_property_in_the_same_single_request(make_tracker, sent):
    """Data Center's edit accepts `properties` too (IssueUpdateBean), so K issues cost K writes there as well."""
    tracker = make_tracker(DC, DC_ENV)
    with recorder.use_cassette("dc_writes.yaml") as cassette:
        tracker.apply(Issue("TST-1"), [step("TST-1", "unowned", 1, ("comment", "Assign it."),
                                            ("assign", "admin"))], NOW)
        assert cassette.all_played and cassette.play_count == 1
    (edit,) = puts(sent)
    assert edit[1] == f"{DC}/rest/api/2/issue/TST-1"
    assert edit[3]["fields"] == {"assignee": {"name": "admin"}}
    assert edit[3]["properties"] == [{"key": "steward.markers", "value": {"markers": [
        {"rule": "unowned", "level": 1, "at": "2026-11-21T09:00:00Z", "added": [], "run": tracker.run}]}}]


def unowned_step():
    return [step("EE-1", "unowned-exception", 1, ("comment", "Please assign one owner."),
                 ("add_labels", ["needs-owner"]))]


def test_503_during_a_write_that_had_landed_is_not_sent_again(make_tracker, sent, sleeps):
    tracker = make_tracker()
    with recorder.use_cassette("cloud_503_write_landed.yaml") as cassette:
        tracker.apply(Issue("EE-1"), unowned_step(), NOW)
        # PUT (503) + GET; no second PUT. The GET shows a comment with Steward's footer: it counts only as
        # Steward's own, so the account Steward writes as is asked (GET /myself)
        assert cassette.all_played and cassette.play_count == 3
    assert len(puts(sent)) == 1 and sent[1][0] == "GET" and sent[2][1].endswith("/myself") and len(sleeps) == 1


def test_503_during_a_write_that_had_not_landed_is_sent_once_more(make_tracker, sent):
    tracker = make_tracker()
    with recorder.use_cassette("cloud_503_write_not_landed.yaml") as cassette:
        tracker.apply(Issue("EE-1"), unowned_step(), NOW)
        assert cassette.all_played and cassette.play_count == 3  # PUT (503) + GET + PUT (204)
    assert len(puts(sent)) == 2


def test_an_unknown_transition_is_a_tracker_error(make_tracker):
    tracker = make_tracker()
    with recorder.use_cassette("cloud_writes.yaml", allow_playback_repeats=True), \
            pytest.raises(TrackerError, match="no transition named 'Shipped'"):
        tracker.apply(Issue("EE-4"), [step("EE-4", "blocked", 1, ("transition", "Shipped"))], NOW)


def test_k_acted_on_issues_cost_exactly_k_requests(make_tracker):
    tracker = make_tracker()
    with recorder.use_cassette("cloud_writes.yaml", allow_playback_repeats=True) as cassette:
        for key in ("EE-1", "EE-2", "EE-3"):
            tracker.apply(Issue(key), [step(key, "r", 1, ("comment", "c"), ("add_labels", ["x"]))], NOW)
        assert cassette.play_count == 3
    assert tracker.requests == 3


def test_the_footer_names_labels_and_actions_with_underscores_and_reads_back_whole():
    """Jira labels and plugin action names may hold underscores, and the footer sits in Jira's `_italics_`:
    each name reads back whole. The actions a step runs after the write are listed, so the comment itself says
    they are due until the marker property records them as done."""
    from steward.core.markers import find_markers, footer

    step_ = step("EE-1", "sla-breach", 2, ("comment", "Breached."), ("add_labels", ["needs_owner", "sla"]),
                 ("notify_chat", "SLA breached"))
    text = "Breached." + footer(step_, "ab12cd34")
    assert text.endswith("_Steward · rule sla-breach · step 2 · labels added: needs_owner, sla · also runs: "
                         "notify_chat · run ab12cd34_")
    (marker,) = find_markers(text, NOW)
    assert (marker.rule, marker.level, marker.at, marker.run) == ("sla-breach", 2, NOW, "ab12cd34")
    assert marker.added == ("needs_owner", "sla") and marker.pending == ("notify_chat",)
    (plain,) = find_markers("x" + footer(step("EE-1", "r", 1, ("comment", "x"))), NOW)
    assert plain.added == () and plain.pending == () and plain.run is None
