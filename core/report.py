"""Renders a run's plan for people (text, Markdown) and machines (JSON)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from .model import SEVERITIES, Action, Finding, Plan, Step
from .rulefile import RuleSet
from .timeutil import format_time

FORMATS = ("text", "json", "markdown")


def _value(value: Any) -> str:
    if value is None or value == []:
        return "(missing)"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return one_line(str(value), 60)


def one_line(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(action: Action) -> str:
    if action.type == "comment":
        return f'comment "{one_line(action.value)}"'
    if action.type in ("add_labels", "remove_labels"):
        verb = "add" if action.type == "add_labels" else "remove"
        return f"{verb} label{'s' if len(action.value) > 1 else ''} {', '.join(action.value)}"
    if action.type == "assign":
        return f"assign to {action.value}"
    if action.type == "transition":
        return f"move to {action.value}"
    return f"{action.type} {json.dumps(action.value, ensure_ascii=False)}"


def _step_text(step: Step) -> str:
    what = "; ".join(describe(a) for a in step.actions) or "record the step (nothing else to change)"
    level = "clean-up" if step.level == 0 else f"step {step.level}"
    return f"{level}: {what}"


def _steps_by_finding(plan: Plan) -> dict[tuple[str, str], list[Step]]:
    grouped: dict[tuple[str, str], list[Step]] = defaultdict(list)
    for step in plan.steps:
        grouped[(step.issue, step.rule)].append(step)
    return grouped


def _sorted_findings(plan: Plan) -> list[Finding]:
    return sorted(plan.findings, key=lambda f: (-SEVERITIES.index(f.severity), f.rule, f.issue))


def render_text(plan: Plan, rules: RuleSet, now, mode: str) -> str:
    titles = {rule.id: rule.title for rule in rules.rules}
    steps = _steps_by_finding(plan)
    verb = "written" if mode == "apply" else "planned"
    lines = [f"Steward {mode} at {format_time(now)}: {plan.issues_seen} issues, {len(plan.findings)} findings, "
             f"{len(plan.steps)} steps {verb}, {len(plan.deferred)} deferred", ""]
    for item in _sorted_findings(plan):
        lines.append(f"{item.issue}  {item.rule}  [{item.severity}]  {titles.get(item.rule, '')}")
        why = ", ".join(f"{name} = {_value(value)}" for name, value in item.facts.items())
        lines.append(f"    why: {why}")
        taken = steps.pop((item.issue, item.rule), [])
        for step in taken:
            lines.append(f"    {'did' if mode == 'apply' else 'will'}: {_step_text(step)}")
        if not taken:
            lines.append("    next: nothing now (step already taken, or the ladder is waiting or finished)")
    for (issue, rule), rest in sorted(steps.items()):
        for step in rest:
            lines.append(f"{issue}  {rule}  no longer holds")
            lines.append(f"    {'did' if mode == 'apply' else 'will'}: {_step_text(step)}")
    if plan.deferred:
        lines += ["", f"Deferred by --max-actions ({len(plan.deferred)} steps, taken on a later run):"]
        lines += [f"    {s.issue}  {s.rule}  {_step_text(s)}" for s in plan.deferred]
    if plan.warnings:
        lines += ["", f"Warnings ({len(plan.warnings)}):"] + [f"    {w}" for w in plan.warnings]
    return "\n".join(lines) + "\n"


def render_markdown(plan: Plan, rules: RuleSet, now, mode: str) -> str:
    titles = {rule.id: rule.title for rule in rules.rules}
    steps = _steps_by_finding(plan)
    lines = [f"## Steward {mode}", "",
             f"{plan.issues_seen} issues checked at {format_time(now)}: **{len(plan.findings)} findings**, "
             f"{len(plan.steps)} steps, {len(plan.deferred)} deferred.", ""]
    if plan.findings:
        lines += ["| Issue | Rule | Severity | Why | Action |", "|---|---|---|---|---|"]
        for item in _sorted_findings(plan):
            why = ", ".join(f"`{k}` = {_value(v)}" for k, v in item.facts.items())
            action = "<br>".join(_step_text(s) for s in steps.get((item.issue, item.rule), [])) or "—"
            cells = [item.issue, f"{item.rule}<br>{titles.get(item.rule, '')}", item.severity, why, action]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    if plan.deferred:
        lines += ["", f"**Deferred by --max-actions:** {len(plan.deferred)} steps."]
    if plan.warnings:
        lines += ["", "<details><summary>Warnings</summary>", ""] + [f"- {w}" for w in plan.warnings]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, ensure_ascii=False, default=str) + "\n"


def render(plan: Plan, rules: RuleSet, now, mode: str, fmt: str) -> str:
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan, rules, now, mode)
    return render_text(plan, rules, now, mode)
