"""Only Steward's own writes are state, on Jira Cloud and Data Center.

A comment counts as Steward's when it carries a step footer AND was written by the account Steward writes as
(`GET /myself`, asked once per run and only when some comment carries a footer). A person pasting a footer or
quoting Steward's comment writes a person's comment. On Data Center, whose search cannot return the marker
property, the comments are always read, whatever the rules test.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sim.jira import CLOUD, DATACENTER, STEWARD, JiraSim, credentials
from sim.server import SimServer

from steward.core import rulefile
from steward.core.model import Plan
from steward.core.runner import Runner, RunOptions
from steward.plugins.jira.tracker import JiraTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
JQL = "project = OPS"
FLAVORS = [CLOUD, DATACENTER]
PROBE = "OPS-3"

RULES = """\
version: 1
rules:
  - id: probe-escalation
    title: Probe escalation
    severity: high
    rationale: A two-step ladder on issues labelled probe.
    when:
      labels: {contains: probe}
    then:
      - comment: First nudge.
    escalate:
      - after_days: 7
        comment: Second nudge.
  - id: probe-label
    title: Probe label
    severity: low
    rationale: Flags issues labelled probe-me; takes the flag back when the label goes.
    when:
      labels: {contains: probe-me}
    then:
      - add_labels: [flagged]
  - id: probe-quiet
    title: Probe quiet
    severity: low
    rationale: Issues labelled quiet-probe with no comment for more than five days.
    when:
      labels: {contains: quiet-probe}
      days_since_comment: {gt: 5}
    then:
      - comment: Nobody said anything for a while.
"""


def footer(rule: str, level: int, labels: str = "no labels added") -> str:
    return f"\n\n----\n_Steward · rule {rule} · step {level} · {labels}_"


def load_rules(tmp_path: Path, text: str = RULES):
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    return rulefile.load([str(path)])


def run(server: SimServer, flavor: str, rules, apply: bool = True, now: datetime = NOW) -> Plan:
    tracker = JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None)
    return Runner(tracker, rules, RunOptions(now=now, query=JQL, apply=apply)).run()


def prepared(flavor: str, issues: int = 6, **fields) -> JiraSim:
    """A small simulator whose issue PROBE has exactly `fields` (no comments, no history unless given)."""
    sim = JiraSim(flavor, issues, seed=5, now=NOW)
    probe = sim._materialize(PROBE)
    probe.comments, probe.histories = [], []
    probe.labels, probe.assignee, probe.status = [], None, "To Do"
    probe.created = probe.updated = NOW - timedelta(days=30)
    for name, value in fields.items():
        setattr(probe, name, value)
    return sim


def steps_on(plan: Plan, key: str = PROBE) -> list[tuple[str, int]]:
    return [(s.rule, s.level) for s in plan.steps if s.issue == key]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_pasted_footer_of_the_last_step_does_not_silence_the_escalation(flavor, tmp_path):
    sim = prepared(flavor, labels=["probe"])
    sim.comment(PROBE, "mei.lin", "Copied from OPS-9:\n\nSecond nudge." + footer("probe-escalation", 2),
                NOW - timedelta(days=2))
    with SimServer(sim) as server:
        plan = run(server, flavor, load_rules(tmp_path))
    assert steps_on(plan) == [("probe-escalation", 1)]
    assert [b.split("\n")[0] for b in sim.steward_comments(PROBE)] == ["First nudge."]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_pasted_marker_does_not_make_clean_up_take_a_persons_label(flavor, tmp_path):
    """probe-label no longer holds (no probe-me label); the person's `flagged` label is not Steward's."""
    sim = prepared(flavor, labels=["flagged"])
    sim.comment(PROBE, "tom.becker", "As on the other issue:" + footer("probe-label", 1, "labels added: flagged"),
                NOW - timedelta(days=1))
    with SimServer(sim) as server:
        plan = run(server, flavor, load_rules(tmp_path))
    assert steps_on(plan) == []
    assert "flagged" in sim.issues[PROBE].labels


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_person_quoting_stewards_comment_is_a_persons_comment(flavor, tmp_path):
    """days_since_comment counts the person's quote (1 day), not only the older comment (20 days)."""
    sim = prepared(flavor, labels=["quiet-probe"])
    sim.comment(PROBE, "li.wei", "Started on it.", NOW - timedelta(days=20))
    own = "Nobody said anything for a while." + footer("probe-quiet", 1)
    sim.comment(PROBE, STEWARD, own, NOW - timedelta(days=10))
    sim.comment(PROBE, "aisha.khan", "{quote}" + own + "{quote}\nI am on it now.", NOW - timedelta(days=1))
    with SimServer(sim) as server:
        plan = run(server, flavor, load_rules(tmp_path), apply=False)
    facts = [f.facts for f in plan.findings if f.issue == PROBE]
    assert facts == []  # the quote is a comment of a day ago: the rule does not hold


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_forged_marker_is_never_copied_into_the_marker_property(flavor, tmp_path):
    sim = prepared(flavor, labels=["probe"])
    sim.comment(PROBE, "omar.haddad", "Pasted:" + footer("forged-rule", 1), NOW - timedelta(days=3))
    with SimServer(sim) as server:
        plan = run(server, flavor, load_rules(tmp_path))
    assert steps_on(plan) == [("probe-escalation", 1)]
    stored = sim.issues[PROBE].properties["steward.markers"]["markers"]
    assert [(m["rule"], m["level"]) for m in stored] == [("probe-escalation", 1)]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_stewards_own_comment_is_its_record_and_myself_is_asked_once_and_only_when_needed(flavor, tmp_path):
    sim = prepared(flavor, labels=["probe"])
    rules = load_rules(tmp_path)
    with SimServer(sim) as server:
        run(server, flavor, rules, apply=False)
        assert server.requests("myself") == 0  # no comment carries a footer: nobody asks who Steward is
        run(server, flavor, rules)
        server.reset_counts()
        again = run(server, flavor, rules)
        assert server.requests("myself") == 1
    assert steps_on(again) == []
    assert len(sim.steward_comments(PROBE)) == 1


def test_data_center_reads_the_comments_even_when_no_rule_tests_them(tmp_path):
    """Data Center's search returns no issue property: the comment footers are the record there, so a rule
    set that tests only labels still gets each step written once, not once per run."""
    sim = prepared(DATACENTER, labels=["probe"])
    rules = load_rules(tmp_path)
    sim.received = []
    with SimServer(sim) as server:
        for _ in range(3):
            run(server, DATACENTER, rules)
    searches = [r for r in sim.received if r.path.endswith("/search")]
    assert len(sim.steward_comments(PROBE)) == 1
    assert all("properties" not in r.query for r in searches)
    assert all("comment" in r.query["fields"][0].split(",") for r in searches
               if r.query.get("fields", ["id"])[0] not in ("id", "key"))


def test_stewards_own_change_beyond_the_inline_changelog_is_flagged_after_completion():
    """Cloud inlines the newest 40 histories; Steward's own label change is older and comes with the bulk
    changelog read. The issue is settled again then, so that change is Steward's, not a person's activity."""
    sim = prepared(CLOUD, labels=["probe", "flagged"])
    probe = sim.issues[PROBE]
    at = NOW - timedelta(days=20)
    probe.comments = [{"id": "500", "author": STEWARD, "created": at,
                       "body": "Flagged." + footer("probe-label", 1, "labels added: flagged")}]
    probe.histories = [{"id": "600", "author": STEWARD, "created": at,
                        "items": [sim._item("labels", ["probe"], ["probe", "flagged"])]}]
    probe.histories += [{"id": str(601 + n), "author": "li.wei", "created": at + timedelta(hours=n + 1),
                         "items": [sim._item("priority", "Low" if n % 2 else "High", "High" if n % 2 else "Low")]}
                        for n in range(45)]
    with SimServer(sim) as server:
        tracker = JiraTracker(server.url, credentials(CLOUD), sleep=lambda seconds: None)
        issue = next(i for page in tracker.fetch(JQL, None) for i in page if i.key == PROBE)
        assert server.requests("bulkfetch") == 1  # the changelog was completed in bulk
    labels = [c for c in issue.changes if c.field == "labels"]
    assert [(c.to_value, c.by_steward) for c in labels] == [("flagged", True)]
    assert not any(c.by_steward for c in issue.changes if c.field == "priority")


def test_on_data_center_a_step_without_a_comment_is_found_in_the_property(tmp_path):
    """A step that writes no comment leaves no footer: on Data Center, whose search returns no property, the
    property is read issue by issue (with a warning saying so), so the step is not taken again."""
    sim = prepared(DATACENTER, labels=["probe-me"])
    rules = load_rules(tmp_path)
    with SimServer(sim) as server:
        first = run(server, DATACENTER, rules)
        server.reset_counts()
        second = run(server, DATACENTER, rules)
        edits = server.requests("edit")
    assert steps_on(first) == [("probe-label", 1)] and steps_on(second) == []
    assert edits == 0
    assert any("probe-label step 1 write no comment" in w for w in second.warnings)
    assert sim.issues[PROBE].labels.count("flagged") == 1


@pytest.mark.parametrize("flavor", FLAVORS)
def test_when_jira_will_not_say_who_steward_is_the_run_ends_with_the_reason(flavor, tmp_path):
    """Without knowing its own account Steward cannot tell its comments from a person's paste: it stops,
    rather than skip the issues or trust every footer."""
    from steward.core.errors import TrackerError

    sim = prepared(flavor, labels=["probe"])
    sim.comment(PROBE, STEWARD, "First nudge." + footer("probe-escalation", 1), NOW - timedelta(days=1))
    sim.forbidden = {"myself"}
    with SimServer(sim) as server, pytest.raises(TrackerError, match="which account Steward writes as"):
        run(server, flavor, load_rules(tmp_path), apply=False)
