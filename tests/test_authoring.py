"""The rule-authoring kit: explain, rules list/show/docs, and the committed pack docs staying current."""

import re

import pytest

from helpers import DEMO_BOARD, DEMO_NOW, ROOT, steward
from steward.core.ruledocs import pack_markdown
from steward.core.rulefile import load

EXAMPLES = {  # one demo-board issue per default rule
    "unowned-exception": "OPS-102", "decision-without-review-date": "OPS-110", "review-date-passed": "OPS-111",
    "priority-change-without-rationale": "OPS-120", "blocked-without-escalation": "OPS-130",
    "escalation-without-follow-up": "OPS-140", "temporary-approval-expired": "OPS-150",
    "initiative-without-success-metric": "OPS-160", "unclassified-work": "OPS-170",
}


def explain(rule: str, issue: str) -> str:
    result = steward("explain", "--tracker", f"files:{DEMO_BOARD}", "--now", DEMO_NOW, "--rule", rule, issue)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_explain_shows_each_condition_and_the_next_step():
    out = explain("unowned-exception", "OPS-102")
    assert "result: FIRES" in out
    assert "PASS  days_unassigned = 45; gte 14" in out
    assert "fail  labels = ['exception', 'operational', 'needs-owner']; contains_any ['wontfix', 'on-hold']" in out
    assert "ladder: step 1 taken 2026-11-12T09:00:00Z" in out
    assert "next: step 2 now: comment: Still no owner after another week." in out


def test_explain_a_rule_that_does_not_fire():
    out = explain("unowned-exception", "OPS-103")
    assert "result: does not fire" in out
    assert "fail  assignee = 'li.wei'; missing True" in out
    assert "next: step 1 only if the rule fires" in out


def test_explain_unknown_issue_or_rule_exits_2():
    tracker = f"files:{DEMO_BOARD}"
    assert steward("explain", "--tracker", tracker, "--rule", "unowned-exception", "NOPE-1").exit_code == 2
    assert steward("explain", "--tracker", tracker, "--rule", "nope", "OPS-101").exit_code == 2


@pytest.mark.parametrize("rule, issue", sorted(EXAMPLES.items()))
def test_the_rule_docs_show_current_explain_output_for_every_default_rule(rule, issue):
    readme = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    command = f"steward explain --tracker files:examples/board.json --now {DEMO_NOW} --rule {rule} {issue}"
    block = re.search(re.escape(f"$ {command}") + r"\n(.*?)```", readme, re.DOTALL)
    assert block, f"docs/rules.md lacks the explain example for {rule}"
    assert block.group(1).strip() == explain(rule, issue).strip()


def test_rules_list_and_show():
    listing = steward("rules", "list").stdout.splitlines()
    assert len(listing) == 17
    assert listing[0].split() == ["unowned-exception", "high", "Exception", "without", "an", "owner"]
    shown = steward("rules", "show", "blocked-without-escalation").stdout
    assert "rationale: A blocker that waits quietly" in shown
    assert "setting:   days = 3" in shown
    assert steward("rules", "show", "nope").exit_code == 2


def test_the_committed_pack_docs_are_current(tmp_path):
    committed = (ROOT / "docs" / "rules" / "governance.md").read_text(encoding="utf-8")
    assert committed == pack_markdown(load(["pack:governance"]), "Rule pack `governance`")
    result = steward("rules", "docs", "--out", str(tmp_path))
    assert result.exit_code == 0
    assert (tmp_path / "governance.md").read_text(encoding="utf-8") == committed
