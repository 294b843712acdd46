"""Conditions on mapped custom fields pushed into the JQL (`cf[NNNNN]`) never change what the rules find."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sim.jira import CLOUD, DATACENTER, credentials
from sim.jira_fields import FieldsJiraSim
from sim.server import SimServer

from steward.core import rulefile
from steward.core.conditions import Test as Cond
from steward.core.fields import FieldMapping
from steward.core.runner import Runner, RunOptions
from steward.plugins.jira.fields import JiraField, mapped_clause
from steward.plugins.jira.tracker import JiraTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
HEADER = """\
version: 1
fields:
  next_review: {jira: "Next review date", type: date}
  expires: {jira: "Approval expires", type: date}
  risk: {jira: "Risk level", type: select}
  score: {jira: "Risk score", type: number}
  regs: {jira: Regulations, type: multiselect}
  notes: {jira: Decision notes}
"""
RULES = HEADER + """\
rules:
  - id: review-overdue
    title: Review overdue
    severity: low
    rationale: Reviews happen on time.
    when:
      days_until_next_review: {lt: 0}
      risk: {in: [High, Medium]}
    then: [{comment: Review overdue.}]
  - id: review-soon
    title: Review soon
    severity: low
    rationale: Reviews are prepared.
    when:
      days_until_next_review: {lte: 7}
      score: {gte: 5}
    then: [{comment: Review soon.}]
  - id: approval-lapsed
    title: Approval lapsed long ago
    severity: low
    rationale: Lapsed approvals are renewed.
    when:
      days_since_expires: {gt: 10}
      regs: {contains: GDPR}
    then: [{comment: Lapsed.}]
  - id: noted-high
    title: Noted high risk
    severity: low
    rationale: High risk carries notes.
    when:
      risk: {eq: High}
      notes: {present: true}
    then: [{comment: Noted.}]
"""
CALENDAR = "settings:\n  calendar: {workdays: [mon, tue, wed, thu, fri], timezone: Europe/Berlin}\n"


def _run(flavor: str, text: str, tmp_path: Path, pushdown: bool):
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    sim = FieldsJiraSim(flavor, 300, seed=11, now=NOW)
    sim.received = []
    with SimServer(sim) as server:
        tracker = JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None)
        if not pushdown:
            tracker.narrow = lambda rules: None  # read everything, push nothing: the reference evaluation
        plan = Runner(tracker, rulefile.load([str(path)]), RunOptions(now=NOW, query="project = OPS")).run()
    searches = [r.param("jql") for r in sim.received if "search" in r.path and r.param("fields") == "id"]
    return sorted((f.issue, f.rule) for f in plan.findings), searches, sim.served


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_pushed_down_field_conditions_find_exactly_what_the_full_read_finds(flavor, tmp_path):
    pushed, jql, served = _run(flavor, RULES, tmp_path, pushdown=True)
    reference, plain_jql, all_served = _run(flavor, RULES, tmp_path, pushdown=False)
    assert pushed == reference and len({rule for _, rule in reference}) == 4
    assert 'cf[10060] <= "0d"' in jql[0] and "cf[10012] in" in jql[0] and "cf[10071] >= 5" in jql[0]
    assert 'cf[10022] <= "-10d"' in jql[0] and 'cf[10072] = "GDPR"' in jql[0]
    assert plain_jql == ["project = OPS"] and served < all_served  # fewer issues read


def test_with_a_working_day_calendar_days_until_is_not_pushed(tmp_path):
    text = RULES.replace("version: 1\n", "version: 1\n" + CALENDAR, 1)
    pushed, jql, _ = _run(CLOUD, text, tmp_path, pushdown=True)
    reference, _, _ = _run(CLOUD, text, tmp_path, pushdown=False)
    assert pushed == reference
    assert "cf[10060] <=" not in jql[0] and 'cf[10022] <= "-10d"' in jql[0]


def _field(kind: str, jira_kind: str, ident: str = "customfield_10060") -> dict[str, JiraField]:
    return {"x": JiraField(FieldMapping("x", {"jira": "X"}, kind), ident, "X", jira_kind, jira_kind)}


@pytest.mark.parametrize(("fact", "op", "value", "kind", "expected"), [
    ("days_until_x", "lt", 0, "date", 'cf[10060] <= "0d"'),
    ("days_until_x", "lte", 14, "date", 'cf[10060] <= "15d"'),
    ("days_until_x", "gt", 0, "date", None),  # after a date: no upper bound to push
    ("days_since_x", "gt", 0, "date", None),  # one day of slack leaves nothing
    ("days_since_x", "gte", 30, "date", 'cf[10060] <= "-29d"'),
    ("x", "ne", "High", "select", None),  # != leaves out empty fields: not a superset
    ("x", "eq", 'Hi"gh', "select", 'cf[10060] = "Hi\\"gh"'),
    ("x", "present", True, "user", None),
    ("x", "eq", "text", "text", None),
])
def test_only_safe_clauses_are_pushed(fact, op, value, kind, expected):
    found = mapped_clause(Cond(fact, op, value, 1), _field(kind, kind), calendar=False)
    assert found == expected


def test_system_fields_mapped_by_id_are_not_pushed_by_cf_name():
    assert mapped_clause(Cond("x", "eq", "High", 1), _field("select", "select", "priority"), False) is None
