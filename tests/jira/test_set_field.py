"""`set_field` on Jira: due date, priority and mapped custom fields, in the step's one edit with its comment and
marker, a relative date turned into the date it means, exactly once however often the run is repeated."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sim.jira import CLOUD, DATACENTER, account_id, credentials
from sim.jira_fields import FieldsJiraSim
from sim.server import SimServer

from steward.core import rulefile
from steward.core.runner import Runner, RunOptions
from steward.plugins.jira.tracker import JiraTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
RULES = """\
version: 1
fields:
  next_review: {jira: "Next review date", type: date}
  risk: {jira: "Risk level", type: select}
  owner: {jira: "Review owner", type: user}
  score: {jira: "Risk score", type: number}
rules:
  - id: review-rescheduled
    title: Review rescheduled
    severity: low
    rationale: A high-risk decision gets its next review in two weeks.
    when:
      risk: {eq: High}
    then:
      - comment: Next review in two weeks.
      - set_field: {field: next_review, value: "+14 days"}
      - set_field: {field: due, value: "+30 days"}
      - set_field: {field: priority, value: Highest}
      - set_field: {field: score, value: "9.5"}
      - set_field: {field: owner, value: "%s"}
"""


def _run(sim: FieldsJiraSim, rules, flavor: str, now: datetime = NOW):
    with SimServer(sim) as server:
        tracker = JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None)
        plan = Runner(tracker, rules, RunOptions(now=now, query="project = OPS", apply=True)).run()
        return plan, server.requests("edit")


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_fields_are_written_in_the_one_edit_and_never_twice(flavor, tmp_path: Path):
    path = tmp_path / "rules.yml"
    path.write_text(RULES % (account_id("li.wei") if flavor == CLOUD else "li.wei"), encoding="utf-8")
    rules = rulefile.load([str(path)])
    sim = FieldsJiraSim(flavor, 40, seed=9, now=NOW)
    high = sorted(k for k in sim.issues if sim.custom(k)["customfield_10012"] == "High")
    plan, edits = _run(sim, rules, flavor)
    assert sorted(s.issue for s in plan.steps) == high and high and not plan.failed
    assert edits == len(high)  # comment, fields and marker: one request per issue
    for key in high:
        issue = sim.full(key)
        assert sim.custom(key)["customfield_10060"] == (NOW + timedelta(days=14)).date()
        assert issue.due == date(2026, 12, 20) and issue.priority == "Highest"
        assert sim.custom(key)["customfield_10071"] == 9.5
        assert sim.custom(key)["customfield_10070"] == "li.wei"
        assert len(sim.steward_comments(key)) == 1
        # The changelog records the write by Steward's account, as Jira does for a custom field.
        items = [i for h in issue.histories if h["author"] == "steward-bot" for i in h["items"]]
        assert any(i["field"] == "Next review date" and i["fieldtype"] == "custom" for i in items)
    # Run again, a day later: the step is in the ledger (marker), nothing is written again.
    again, edits_again = _run(sim, rules, flavor, NOW + timedelta(days=1))
    assert again.steps == [] and edits_again == 0
    assert all(len(sim.steward_comments(key)) == 1 for key in high)


def test_a_value_the_field_cannot_hold_fails_only_that_step_with_a_clear_reason(tmp_path: Path):
    path = tmp_path / "rules.yml"
    path.write_text(RULES.replace('value: "9.5"', "value: lots") % account_id("li.wei"), encoding="utf-8")
    rules = rulefile.load([str(path)])
    sim = FieldsJiraSim(CLOUD, 20, seed=9, now=NOW)
    plan, edits = _run(sim, rules, CLOUD)
    assert plan.failed and not plan.steps and edits == 0
    assert any("'lots' is not a number" in w for w in plan.warnings)
