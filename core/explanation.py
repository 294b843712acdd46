"""`steward explain`: one rule on one issue, condition by condition, and the ladder's next step."""

from __future__ import annotations

from datetime import datetime

from . import plugins
from .conditions import Condition, explain, holds
from .model import Issue
from .planner import next_step_due
from .registry import FactContext
from .ruledocs import step_text
from .rules import Rule, RuleSet, facts_used
from .runner import derive_facts
from .timeutil import format_time


def _tree(condition: Condition, facts: dict) -> list[str]:
    return [f"{'  ' * (line.depth + 2)}{'PASS' if line.passed else 'fail'}  {line.text}"
            for line in explain(condition, facts)]


def explain_issue(rule: Rule, issue: Issue, rules: RuleSet, now: datetime) -> str:
    # Every registered fact, and the rule's own (the facts of mapped fields are named by the rule files).
    names = {name for name, spec in plugins.facts().items() if spec.parameter is None} | set(facts_used([rule]))
    facts = derive_facts(issue, FactContext(now=now, settings=rules.settings), sorted(names))
    fires = holds(rule.condition, facts)
    lines = [f"{issue.key} · {rule.id} ({rule.title}) [{rule.severity}] at {format_time(now)}",
             f"  result: {'FIRES' if fires else 'does not fire'}", "  when:"]
    lines += _tree(rule.when, facts)
    if rule.exempt is not None:
        exempt = holds(rule.exempt, facts)
        lines.append(f"  exempt: {'yes, the rule is skipped' if exempt else 'no'}")
        lines += _tree(rule.exempt, facts)
    taken = sorted((m for m in issue.markers if m.rule == rule.id), key=lambda m: m.level)
    for marker in taken:
        lines.append(f"  ladder: step {marker.level} taken {format_time(marker.at)}")
    step, due = next_step_due(rule, issue)
    if step is None:
        lines.append("  next: the ladder is finished")
    elif not fires:
        lines.append(f"  next: step {step.level} only if the rule fires")
    else:
        when = "now" if due is None or due <= now else format_time(due)
        lines.append(f"  next: step {step.level} {when}: {step_text(step)}")
    return "\n".join(lines)
