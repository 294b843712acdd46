"""`steward apply` against the Jira simulator (Cloud and Data Center): each planned comment and label lands
exactly once, reads stay at the floor, K acted-on issues cost K writes, a rerun writes nothing, and odd
issues are evaluated or named in a warning."""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import pytest
from sim import harness
from sim.jira import CLOUD, DATACENTER, JiraSim, credentials
from sim.jira_people import readable_comments
from sim.server import Faults, SimServer

from helpers import record_reads
from steward.core import rulefile
from steward.core.runner import Runner, RunOptions
from steward.plugins.jira.tracker import JiraTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
JQL = "project = OPS"
TOKEN = "SECRET-sim-jira-token"
FLAVORS = [CLOUD, DATACENTER]


def cli(server: SimServer, flavor: str, mode: str = "apply", *extra: str) -> dict[str, Any]:
    """One `steward plan|apply --format json` run in a child process; it must succeed without leaking the token."""
    done = harness.run([mode, "--tracker", "jira", "--jira-url", server.url, "--jql", JQL, "--now",
                        NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "--format", "json", *extra], credentials(flavor, TOKEN))
    assert TOKEN not in done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def run(server: SimServer, flavor: str, apply: bool = False, env: dict[str, str] | None = None):
    """One run in this process (no waiting on Retry-After or backoff)."""
    tracker = JiraTracker(server.url, {**credentials(flavor, TOKEN), **(env or {})}, sleep=lambda seconds: None)
    rules = rulefile.load(rulefile.default_specs())
    return Runner(tracker, rules, RunOptions(now=NOW, query=JQL, apply=apply)).run()


def assert_landed_once(sim: JiraSim, actions: list[dict[str, Any]]) -> None:
    """Each comment action is there exactly once (with its step footer), each added label present, each
    removed label gone; no issue has the same Steward comment twice."""
    for action in actions:
        issue = sim.issues[action["issue"]]
        if action["type"] == "comment":
            footer = f"Steward · rule {action['rule']} · step {action['level']}"
            found = [b for b in readable_comments(sim, issue.key) if b.startswith(action["value"]) and footer in b]
            assert len(found) == 1, (action, readable_comments(sim, issue.key))
        elif action["type"] == "add_labels":
            assert all(issue.labels.count(label) == 1 for label in action["value"]), (action, issue.labels)
        elif action["type"] == "remove_labels":
            assert not set(action["value"]) & set(issue.labels), (action, issue.labels)
    for key in sim.issues:
        bodies = sim.steward_comments(key) if sim.issues[key].live else []
        assert len(bodies) == len(set(bodies)), (key, bodies)


def expected_reads(sim: JiraSim, planned_issues: int) -> tuple[int, int]:
    """The floor: ceil(M/100) reads of whole issues; on Cloud one bulk changelog call per 1000 truncated issues."""
    truncated = sum(1 for key in sim.issues if len(sim.full(key).histories) > 40) if sim.cloud else 0
    return math.ceil(planned_issues / 100), math.ceil(truncated / 1000)


def issue_reads(received: list[Any]) -> dict[str, list[list[str]]]:
    """The reads of whole issues the simulator received, by purpose (told by the fields asked for): the
    sweep's, the re-checks before writing (comments and labels) and the reconciles after (comments); each
    with the ids or keys it read. Searches for ids or keys only (the snapshot) are left out."""
    reads: dict[str, list[list[str]]] = {"sweep": [], "recheck": [], "reconcile": []}
    for request in received:
        if request.path.endswith("/issue/bulkfetch"):
            body = request.json()
            fields, keys = body["fields"], body["issueIdsOrKeys"]
        elif request.path.endswith("/search") and "key in (" in request.query["jql"][0]:
            fields = request.query["fields"][0].split(",")
            keys = re.findall(r'"([^"]+)"', request.query["jql"][0])
        else:
            continue
        purpose = {("comment", "labels"): "recheck", ("comment",): "reconcile"}.get(tuple(fields), "sweep")
        reads[purpose].append(keys)
    return reads


@pytest.mark.parametrize("flavor, inline_comments", [(CLOUD, None), (DATACENTER, None), (CLOUD, 5)])
def test_apply_writes_every_planned_action_exactly_once(flavor, inline_comments):
    sim = JiraSim(flavor, 150, seed=1, now=NOW, inline_comments=inline_comments)
    with SimServer(sim) as server:
        plan = cli(server, flavor, "plan")
        assert server.requests("edit", "property", "transition") == 0  # plan writes nothing
        server.reset_counts()
        sim.received = []
        cut_before, served_before = sim.served_comments_cut, sim.served
        applied = cli(server, flavor)
        counts = Counter(server.counts)
        received, sim.received = sim.received, None
        cut, served = sim.served_comments_cut - cut_before, sim.served - served_before
        again = cli(server, flavor)
    assert plan["actions"] and applied["actions"] == plan["actions"] and applied["deferred"] == []
    assert_landed_once(sim, applied["actions"])
    acted_on = {a["issue"] for a in applied["actions"]}
    assert counts["edit"] == len(acted_on)  # K acted-on issues, K writes: the marker rides in the same PUT
    assert counts["property"] == counts["transition"] == counts["other"] == 0
    pages, bulk = expected_reads(sim, applied["issues_seen"])
    reads = issue_reads(received)
    assert len(reads["sweep"]) == pages and counts["bulkfetch"] == bulk
    # each page that writes is read once more just before (re-check) and once after (reconcile), by key; the
    # issues whose changelog was completed in bulk come as a page of their own. Plus the snapshot of ids or
    # keys: ceil(M/5000) searches on Cloud, ceil(M/1000) on Data Center.
    written = len(reads["recheck"])
    assert written == len(reads["reconcile"]) and 1 <= written <= pages + (1 if bulk or not sim.cloud else 0)
    assert {k for keys in reads["recheck"] for k in keys} == acted_on
    assert sorted(k for keys in reads["reconcile"] for k in keys) == sorted(acted_on)
    if flavor == CLOUD:
        assert counts["search"] == 1 and counts["issue_bulk"] == pages + 2 * written
    else:
        assert counts["search"] == 1 + pages + 2 * written
    assert counts["issue_read"] == 0 and counts["myself"] == 1
    # a comment list cut short inline costs one comment page for that issue, never one for every issue
    # (pages of 100 comments: the few issues with more than 100 take two)
    assert cut <= counts["comment_read"] <= 2 * cut
    assert inline_comments is None or 0 < cut < served / 3
    assert again["actions"] == [] and again["deferred"] == []  # state lives in Jira: nothing twice
    for key in acted_on:
        markers = sim.issues[key].properties["steward.markers"]["markers"]
        assert {m["rule"] for m in markers} >= {a["rule"] for a in applied["actions"] if a["issue"] == key
                                                and a["level"] > 0}


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_slow_answer_past_the_client_timeout_is_retried(flavor):
    """STEWARD_HTTP_TIMEOUT bounds the wait for an answer; the read is sent again and the run completes."""
    sim = JiraSim(flavor, 30, seed=2, now=NOW)
    faults = Faults(script=[("search", "slow"), ("edit", "slow")], slow_seconds=1.0)
    with SimServer(sim, faults=faults) as server:
        plan = run(server, flavor, apply=True, env={"STEWARD_HTTP_TIMEOUT": "0.2"})
    assert faults.injected["slow"] == 2 and not plan.deferred
    assert_landed_once(sim, [a.to_json() for s in plan.steps for a in s.actions])


def test_a_bad_timeout_setting_is_a_tracker_error():
    from steward.core.errors import TrackerError

    with pytest.raises(TrackerError, match="STEWARD_HTTP_TIMEOUT"):
        JiraTracker("https://x.atlassian.net", {**credentials(CLOUD), "STEWARD_HTTP_TIMEOUT": "soon"})


@pytest.mark.parametrize("flavor", FLAVORS)
def test_odd_issues_are_evaluated_or_named_in_a_warning(flavor, caplog):
    """5,000 comments, 10,000 histories, a 1 MB body, odd unicode, nulls everywhere, unknown fields."""
    sim = JiraSim(flavor, 20, seed=3, now=NOW, inline_comments=50)  # the 5,000 comments come in pages
    odd = sim.add_odd_issues()
    with SimServer(sim) as server, caplog.at_level(logging.WARNING, logger="steward"):
        tracker = JiraTracker(server.url, credentials(flavor, TOKEN), sleep=lambda seconds: None)
        seen = record_reads(tracker)
        rules = rulefile.load(rulefile.default_specs())
        plan = Runner(tracker, rules, RunOptions(now=NOW, query=JQL, apply=True)).run()
    skipped = {key for key in odd if any(key in w and "skipped" in w for w in plan.warnings)}
    for key in odd:
        assert key in seen or any(key in w for w in plan.warnings), key
    evaluated = set(seen) - skipped
    assert plan.issues_seen == len(evaluated)
    assert set(odd[:4]) <= evaluated  # the big and the unicode ones are read in full
    assert_landed_once(sim, [a.to_json() for s in plan.steps for a in s.actions])
    assert TOKEN not in caplog.text
