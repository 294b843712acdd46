"""End to end through core.runner.Runner: plan, then apply, against cassettes of a Jira Cloud site."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from jira_support import JQL, recorder

from steward.core import rulefile
from steward.core.runner import Runner, RunOptions

RULES = Path(__file__).resolve().parent / "fixtures" / "e2e_rules.yml"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
ACTED_ON = ["EE-1", "EE-10", "K5-2", "K5-3", "K5-4"]
E2E_RUN = "e2e0c0de"  # as in make_cassettes.py


def test_plan_then_apply(make_tracker, sent):
    rules = rulefile.load([str(RULES)])
    with recorder.use_cassette("e2e_plan.yaml") as cassette:
        plan = Runner(make_tracker(), rules, RunOptions(now=NOW, query=JQL)).run()
        assert cassette.all_played and cassette.play_count == 2  # plan: the ids, one bulk read; no write
    assert plan.issues_seen == 5
    assert sorted({s.issue for s in plan.steps}) == sorted(ACTED_ON)
    assert {(f.issue, f.rule) for f in plan.findings} == {
        ("EE-1", "open-saas-review"), ("EE-10", "open-saas-review"),
        ("K5-2", "unowned"), ("K5-3", "unowned"), ("K5-4", "unowned")}
    assert not [call for call in sent if call[0] != "GET" and not call[1].endswith("/issue/bulkfetch")]  # reads only

    sent.clear()
    tracker = make_tracker(run=E2E_RUN)  # the run whose comments the cassette's reconcile read shows
    with recorder.use_cassette("e2e_apply.yaml") as cassette:
        applied = Runner(tracker, rules, RunOptions(now=NOW, query=JQL, apply=True)).run()
        # the ids, the bulk read, the re-check, K writes for K issues, the reconcile read and who Steward is
        assert cassette.all_played and cassette.play_count == 2 + 1 + len(ACTED_ON) + 2
    assert not applied.deferred and len(applied.steps) == len(plan.steps) and not applied.warnings
    recheck, reconcile = [body for method, url, _, body in sent if url.endswith("/issue/bulkfetch")][1:]
    assert set(recheck["issueIdsOrKeys"]) == set(reconcile["issueIdsOrKeys"]) == set(ACTED_ON)
    assert recheck["fields"] == ["comment", "labels"] and reconcile["fields"] == ["comment"]
    assert not [call for call in sent if call[0] == "DELETE"]  # each step's only copy is this run's
    writes = [call for call in sent if call[0] == "PUT"]
    assert sorted(url.rsplit("/", 1)[1] for _, url, _, _ in writes) == sorted(ACTED_ON)
    body = dict((url.rsplit("/", 1)[1], b) for _, url, _, b in writes)["K5-2"]
    assert body["update"]["labels"] == [{"add": "needs-owner"}]
    assert "Steward · rule unowned · step 1" in body["update"]["comment"][0]["add"]["body"]
    assert body["properties"][0]["value"]["markers"][0]["rule"] == "unowned"
    # the search carried the pushed-down clause, OR the labels the rules add (for clean-up)
    jql = sent[0][2]["jql"]
    assert sent[0][2]["fields"] == "id"
    assert jql.startswith(f"({JQL}) AND (") and 'labels in ("needs-owner", "needs-review")' in jql


def test_a_write_jira_refuses_is_reported_as_failed_not_fatal(make_tracker, monkeypatch):
    from steward.core.errors import TrackerError

    rules = rulefile.load([str(RULES)])
    tracker = make_tracker()

    def refuse(issue, steps, now):
        raise TrackerError("Jira refused writing (HTTP 403)")

    monkeypatch.setattr(tracker, "apply", refuse)
    with recorder.use_cassette("e2e_apply.yaml"):  # the sweep and the re-check; nothing written, nothing to reconcile
        plan = Runner(tracker, rules, RunOptions(now=NOW, query=JQL, apply=True)).run()
    assert not plan.steps and not plan.deferred and len(plan.failed) == 5
    assert any("HTTP 403" in w for w in plan.warnings)
