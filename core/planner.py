"""Findings plus the markers already on an issue give the next actions: nothing twice, ladders in order."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .calendar import Calendar
from .conditions import holds
from .markers import latest_by_rule, own_actions
from .model import Action, Finding, Issue, Marker, Step, transition_target
from .rules import LadderStep, Rule
from .templates import missing_in, render

log = logging.getLogger("steward.planner")
_VALUES = ("assign", "transition", "set_field")  # actions whose rendered text becomes a value in the tracker
RELATIVE_DATE = re.compile(r"^([+-]\d+)\s*(working\s+)?days?$", re.IGNORECASE)


def _render_action(issue: Issue, rule: Rule, level: int, kind: str, value: Any, facts: dict[str, Any],
                   now: datetime | None = None) -> Action | None:
    """The action as it would change the issue now, or None when it would change nothing."""
    if kind in _VALUES:
        templates = [v for v in value.values() if isinstance(v, str)] if isinstance(value, dict) else [value]
        if kind == "set_field" and isinstance(value, dict):
            templates = [value.get("value")]  # the field's name is not a template
        missing = [name for t in templates if isinstance(t, str) for name in missing_in(t, facts)]
        if missing:
            # "(not set)" is text for people to read, never a value to write into an assignee or a field.
            log.warning("%s: %s of rule %s left out: %s not set on this issue", issue.key, kind, rule.id,
                        ", ".join(missing))
            return None
    if isinstance(value, str):
        value = render(value, facts, issue.people)
    elif isinstance(value, dict):  # an action with fields (notify, transition): its strings are templates too
        value = {k: render(v, facts, issue.people) if isinstance(v, str) else v for k, v in value.items()}
    if kind == "add_labels":
        value = [label for label in value if label not in issue.labels]
    elif kind == "remove_labels":
        value = [label for label in value if label in issue.labels]
    elif kind == "assign" and value == issue.assignee:
        return None
    elif kind == "transition" and transition_target(value)[0] == issue.status:
        return None
    elif kind == "set_field":
        value = {"field": value["field"], "value": _field_value(value["value"], rule, now)}
        if value["value"] == _current(issue, value["field"]):
            return None
    if value in ([], ""):
        return None
    return Action(issue=issue.key, rule=rule.id, level=level, type=kind, value=value)


def _field_value(value: Any, rule: Rule, now: datetime | None) -> Any:
    """A set_field value as written: "+14 days" (or "+10 working days") becomes the date it means."""
    match = RELATIVE_DATE.match(value.strip()) if isinstance(value, str) and now is not None else None
    if match is None:
        return value
    days = int(match[1])
    if match[2] or rule.calendar is not None:
        calendar = rule.calendar or Calendar(frozenset(range(5)), ZoneInfo("UTC"), frozenset())
        if days >= 0:
            return calendar.local_date(calendar.add(now, days)).isoformat()
    return (now + timedelta(days=days)).date().isoformat()


def _current(issue: Issue, field: str) -> Any:
    if field == "due":
        return issue.due.date().isoformat() if issue.due else None
    if field == "priority":
        return issue.priority
    found = issue.fields.get(field)
    value = found.value if found else None
    return value.date().isoformat() if isinstance(value, datetime) else value


def _step(issue: Issue, rule: Rule, ladder_step: LadderStep, facts: dict[str, Any],
          now: datetime | None = None) -> Step:
    actions = [_render_action(issue, rule, ladder_step.level, kind, value, facts, now)
               for kind, value in ladder_step.actions]
    return Step(issue=issue.key, rule=rule.id, level=ladder_step.level, severity=rule.severity,
                actions=[a for a in actions if a is not None])


def _resume(issue: Issue, rule: Rule | None, marker: Marker, facts: dict[str, Any]) -> Step | None:
    """A step whose tracker write landed but whose own actions (a plugin's, a notification) did not all run:
    only those run again, rendered with the issue's facts now."""
    if rule is None or not 0 < marker.level <= len(rule.steps):
        return None
    ladder_actions = rule.steps[marker.level - 1].actions
    due = [index for name, index in own_actions([kind for kind, _ in ladder_actions]) if name in marker.pending]
    actions = [_render_action(issue, rule, marker.level, *ladder_actions[index], facts) for index in due]
    return Step(issue=issue.key, rule=rule.id, level=marker.level, severity=rule.severity,
                actions=[a for a in actions if a is not None], resumes=True)


def next_step_due(rule: Rule, issue: Issue) -> tuple[LadderStep | None, datetime | None]:
    """The ladder step to take next and the earliest time it may be taken (None: ladder finished)."""
    latest = latest_by_rule(issue.markers).get(rule.id)
    if latest is None:
        return rule.steps[0], None
    if latest.level >= len(rule.steps):
        return None, None
    step = rule.steps[latest.level]
    if rule.calendar is not None:  # working days: a week-end does not count towards the wait
        return step, rule.calendar.add(latest.at, step.after_days)
    return step, latest.at + timedelta(days=step.after_days)


def labels_added(rule: Rule, issue: Issue) -> list[str]:
    """The labels this rule's steps put on the issue, by their markers (older markers, which do not record
    it, count their step's `add_labels`)."""
    added: list[str] = []
    for marker in issue.markers:
        if marker.rule != rule.id:
            continue
        if marker.added is not None:
            added += marker.added
        elif 0 < marker.level <= len(rule.steps):
            added += [v for kind, value in rule.steps[marker.level - 1].actions if kind == "add_labels" for v in value]
    return list(dict.fromkeys(added))


def finding(issue: Issue, rule: Rule, facts: dict[str, Any], fact_names: list[str]) -> Finding:
    shown = {name: facts.get(name) for name in fact_names}
    names = {value: issue.people[value] for value in shown.values() if isinstance(value, str) and value in issue.people}
    return Finding(issue=issue.key, rule=rule.id, severity=rule.severity, facts=shown, names=names)


def plan_issue(issue: Issue, facts: dict[str, Any], firing: list[Rule], known: dict[str, Rule],
               now: datetime) -> list[Step]:
    steps: list[Step] = [resume for marker in issue.markers if marker.pending
                         for resume in [_resume(issue, known.get(marker.rule), marker, facts)] if resume]
    firing_ids = {rule.id for rule in firing}
    for rule in firing:
        ladder_step, due = next_step_due(rule, issue)
        if ladder_step is not None and (due is None or now >= due):
            steps.append(_step(issue, rule, ladder_step, facts, now))

    # A rule whose `when` stopped holding ends its ladder and takes back the labels its steps added, unless
    # a rule that still holds has added the same label. A rule that is merely exempt now keeps them: its
    # own labels (such as `escalated`) may be what made it exempt. A label a person had put on before
    # Steward's step is not Steward's to take back: the marker records only what the step added.
    marked = latest_by_rule(issue.markers)
    kept = {label for rule in firing if rule.id in marked for label in labels_added(rule, issue)}
    for rule_id in sorted(set(marked) - firing_ids):
        rule = known.get(rule_id)
        if rule is None or not rule.cleanup or holds(rule.when, facts):
            continue
        labels = [label for label in labels_added(rule, issue) if label in issue.labels and label not in kept]
        if labels:
            action = Action(issue=issue.key, rule=rule.id, level=0, type="remove_labels", value=labels)
            steps.append(Step(issue=issue.key, rule=rule.id, level=0, severity=rule.severity, actions=[action]))
    return steps
