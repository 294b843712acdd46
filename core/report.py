"""Renders a run's plan for people (text, Markdown) and machines (JSON)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from .mentions import readable
from .model import SEVERITIES, Action, Finding, Plan, Step, finding_json, transition_target
from .rules import RuleSet
from .text import clean_text
from .timeutil import format_time

FORMATS = ("text", "json", "markdown")


def _shown(item: Finding, value: Any) -> Any:
    """A fact's value as people read it: a person's display name rather than their id."""
    return item.names.get(value, value) if isinstance(value, str) else value


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
        return f'comment "{one_line(readable(action.value))}"'
    if action.type in ("add_labels", "remove_labels"):
        verb = "add" if action.type == "add_labels" else "remove"
        return f"{verb} label{'s' if len(action.value) > 1 else ''} {', '.join(action.value)}"
    if action.type == "assign":
        return f"assign to {action.value}"
    if action.type == "transition":
        status, resolution = transition_target(action.value)
        return f"move to {status}" + (f" ({resolution})" if resolution else "")
    return f"{action.type} {json.dumps(action.to_json()['value'], ensure_ascii=False)}"


def _step_text(step: Step) -> str:
    what = "; ".join(describe(a) for a in step.actions) or "record the step (nothing else to change)"
    level = "clean-up" if step.level == 0 else f"step {step.level}"
    return f"{level}: {what}"


# A plan may be spooled to disk (core/spool.py): the report sorts and groups positions by small keys and reads
# each finding and step when it prints it, so it never holds the whole plan either.

def _steps_by_finding(plan: Plan) -> dict[tuple[str, str], list[int]]:
    """The positions in `plan.steps` of each finding's steps."""
    grouped: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, step in enumerate(plan.steps):
        grouped[(step.issue, step.rule)].append(index)
    return grouped


def _sorted_findings(plan: Plan) -> Iterator[Finding]:
    """Most severe first, then by rule and issue (ties in plan order)."""
    order = sorted((-SEVERITIES.index(f.severity), f.rule, f.issue, index) for index, f in enumerate(plan.findings))
    return (plan.findings[index] for *_, index in order)


def text_lines(plan: Plan, rules: RuleSet, now, mode: str) -> Iterator[str]:
    titles = {rule.id: rule.title for rule in rules.rules}
    steps = _steps_by_finding(plan)
    verb = "written" if mode == "apply" else "planned"
    failed = f", {len(plan.failed)} failed" if plan.failed else ""
    yield (f"Steward {mode} at {format_time(now)}: {plan.issues_seen} issues, {len(plan.findings)} findings, "
           f"{len(plan.steps)} steps {verb}, {len(plan.deferred)} deferred{failed}")
    yield ""
    for item in _sorted_findings(plan):
        yield f"{item.issue}  {item.rule}  [{item.severity}]  {titles.get(item.rule, '')}"
        why = ", ".join(f"{name} = {_value(_shown(item, value))}" for name, value in item.facts.items())
        yield f"    why: {why}"
        taken = [plan.steps[index] for index in steps.pop((item.issue, item.rule), [])]
        for step in taken:
            yield f"    {'did' if mode == 'apply' else 'will'}: {_step_text(step)}"
        if not taken:
            yield "    next: nothing now (step already taken, or the ladder is waiting or finished)"
    for (issue, rule), rest in sorted(steps.items()):
        for step in (plan.steps[index] for index in rest):
            yield f"{issue}  {rule}  no longer holds"
            yield f"    {'did' if mode == 'apply' else 'will'}: {_step_text(step)}"
    if plan.deferred:
        yield ""
        yield f"Deferred by --max-actions ({len(plan.deferred)} steps, taken on a later run):"
        yield from (f"    {s.issue}  {s.rule}  {_step_text(s)}" for s in plan.deferred)
    if plan.stopped:
        yield ""
        yield f"Stopped early, after the steps above were written: {plan.stopped}"
    if plan.skipped:
        yield ""
        yield f"Not read (the tracker could not answer for them; see the warnings): {', '.join(plan.skipped)}"
    if plan.failed:
        yield ""
        yield f"Not written: the tracker refused or failed ({len(plan.failed)} steps, tried again on the next run):"
        yield from (f"    {s.issue}  {s.rule}  {_step_text(s)}" for s in plan.failed)
    if plan.warnings:
        yield ""
        yield f"Warnings ({len(plan.warnings)}):"
        yield from (f"    {w}" for w in plan.warnings)


def markdown_lines(plan: Plan, rules: RuleSet, now, mode: str) -> Iterator[str]:
    titles = {rule.id: rule.title for rule in rules.rules}
    steps = _steps_by_finding(plan)
    yield f"## Steward {mode}"
    yield ""
    failed = f", **{len(plan.failed)} failed**" if plan.failed else ""
    yield (f"{plan.issues_seen} issues checked at {format_time(now)}: **{len(plan.findings)} findings**, "
           f"{len(plan.steps)} steps, {len(plan.deferred)} deferred{failed}.")
    yield ""
    if plan.findings:
        yield "| Issue | Rule | Severity | Why | Action |"
        yield "|---|---|---|---|---|"
        for item in _sorted_findings(plan):
            why = ", ".join(f"`{k}` = {_value(_shown(item, v))}" for k, v in item.facts.items())
            action = "<br>".join(_step_text(plan.steps[i]) for i in steps.get((item.issue, item.rule), [])) or "—"
            cells = [item.issue, f"{item.rule}<br>{titles.get(item.rule, '')}", item.severity, why, action]
            yield "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
    if plan.deferred:
        yield ""
        yield f"**Deferred by --max-actions:** {len(plan.deferred)} steps."
    if plan.stopped:
        yield ""
        yield f"**Stopped early**, after the steps above were written: {plan.stopped}"
    if plan.skipped:
        yield ""
        yield f"**Not read** (the tracker could not answer for them; see the warnings): {', '.join(plan.skipped)}"
    if plan.failed:
        yield ""
        yield f"**Not written (the tracker refused or failed):** {len(plan.failed)} steps; see the warnings."
    if plan.warnings:
        yield from ["", "<details><summary>Warnings</summary>", ""]
        yield from (f"- {w}" for w in plan.warnings)
        yield from ["", "</details>"]


# One encoder for every line: `json.dumps` with options builds a new one per call (a third of its time).
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


def json_lines(plan: Plan) -> Iterator[str]:
    """The plan as one JSON object, a finding or action a line: never the whole document in memory at once."""
    def items(name: str, values: Iterable[Any]) -> Iterator[str]:
        yield f'  "{name}": ['
        separator = ""
        for value in values:
            if separator:
                yield separator
            separator = ","
            yield "    " + _ENCODE(value)
        yield "  ],"

    yield "{"
    yield f'  "issues_seen": {plan.issues_seen},'
    yield from items("findings", (finding_json(f) for f in plan.findings))
    yield from items("actions", (a.to_json() for s in plan.steps for a in s.actions))
    yield from items("deferred", (a.to_json() for s in plan.deferred for a in s.actions))
    yield from items("failed", (a.to_json() for s in plan.failed for a in s.actions))
    yield from items("warnings", plan.warnings)
    yield f'  "stopped": {json.dumps(plan.stopped, ensure_ascii=False)},'
    yield f'  "skipped": {json.dumps(plan.skipped, ensure_ascii=False)}'
    yield "}"


def render_lines(plan: Plan, rules: RuleSet, now, mode: str, fmt: str) -> Iterator[str]:
    """The report a line at a time (without line ends), so a large run is printed as it is rendered.

    Issue text can hold what no output can encode (a lone surrogate): every line is made printable."""
    if fmt == "json":
        lines = json_lines(plan)
    elif fmt == "markdown":
        lines = markdown_lines(plan, rules, now, mode)
    else:
        lines = text_lines(plan, rules, now, mode)
    return (clean_text(line) for line in lines)


CHUNK = 1 << 16  # characters per write: one write per 64 KB, not one per line (270k writes at 100k issues)


def render_chunks(plan: Plan, rules: RuleSet, now, mode: str, fmt: str, size: int = CHUNK) -> Iterator[str]:
    """The report in pieces of about `size` characters, each ending with a line end: few writes, and still
    never the whole document in memory at once."""
    buffered: list[str] = []
    length = 0
    for line in render_lines(plan, rules, now, mode, fmt):
        buffered.append(line)
        length += len(line) + 1
        if length >= size:
            yield "\n".join(buffered) + "\n"
            buffered, length = [], 0
    if buffered:
        yield "\n".join(buffered) + "\n"


def render(plan: Plan, rules: RuleSet, now, mode: str, fmt: str) -> str:
    return "".join(line + "\n" for line in render_lines(plan, rules, now, mode, fmt))
