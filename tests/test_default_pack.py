"""The default governance pack is tested through its own YAML cases, exactly as teams test theirs."""

import shutil

import pytest

from helpers import DEMO_BOARD, DEMO_NOW, ROOT, run_json, steward
from steward.core.ruletests import load_cases, run_paths

RULE_IDS = {
    "unowned-exception", "decision-without-review-date", "review-date-passed",
    "priority-change-without-rationale", "blocked-without-escalation", "escalation-without-follow-up",
    "temporary-approval-expired", "initiative-without-success-metric", "unclassified-work",
    "review-not-recorded", "review-date-slipping", "priority-churn", "initiative-without-demo",
    "exemption-without-record", "exemption-expired", "initiative-done-with-open-children",
    "exception-children-without-owner",
}
CASES = load_cases([str(ROOT / "rules")])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_case(case):
    result = case.run()
    assert result.passed, result.describe()


def test_every_rule_is_tested_firing_and_not_firing():
    fired = {r for case in CASES for r in case.raw.get("fire", [])}
    held_back = {r for case in CASES for r in case.raw.get("not_fire", [])}
    assert fired >= RULE_IDS
    assert held_back >= RULE_IDS


def test_ladders_are_tested_past_step_two():
    expected = [step for case in CASES for run in case.raw.get("runs", []) for step in run.get("steps", [])]
    assert any(step.endswith("@2") for step in expected)


def test_every_rule_fires_on_the_demo_board_and_most_issues_are_clean(tmp_path):
    board = tmp_path / "board.json"
    shutil.copy(DEMO_BOARD, board)
    plan = run_json("plan", board)
    assert {f["rule"] for f in plan["findings"]} == RULE_IDS
    flagged = {f["issue"] for f in plan["findings"]}
    assert 30 <= plan["issues_seen"] <= 60
    assert len(flagged) < plan["issues_seen"] / 2


def test_the_pack_uses_exactly_the_agreed_rule_ids():
    from steward.core.rulefile import load

    assert {rule.id for rule in load(["pack:governance"]).rules} == RULE_IDS


def test_a_wrong_threshold_fails_the_case_that_covers_it(tmp_path):
    for name in ("governance.yml", "governance.tests.yml"):
        shutil.copy(ROOT / "rules" / name, tmp_path / name)
    rules = tmp_path / "governance.yml"
    text = rules.read_text(encoding="utf-8")
    assert "      days: 14\n" in text
    rules.write_text(text.replace("      days: 14\n", "      days: 15\n", 1), encoding="utf-8")

    failed = [r for r in run_paths([str(tmp_path)]) if not r.passed]
    assert [r.name for r in failed] == ["exception unowned for 14 days fires"]
    assert "days_unassigned = 14; gte 15 (fail)" in failed[0].describe()

    result = steward("test", str(tmp_path))
    assert result.exit_code == 1
    assert "governance.tests.yml:7: exception unowned for 14 days fires" in result.output
    assert result.output.strip().endswith(f"{len(CASES) - 1} passed, 1 failed")


def test_steward_test_passes_on_the_bundled_pack():
    result = steward("test", str(ROOT / "rules"))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{len(CASES)} passed, 0 failed"


def test_demo_now_is_the_readme_now():
    assert DEMO_NOW in (ROOT / "README.md").read_text(encoding="utf-8")
