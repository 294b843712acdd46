"""One run: fetch -> derive facts -> evaluate -> plan -> (apply), page by page."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import plugins
from .conditions import facts_in, normalize
from .engine import DEFAULT_ENGINE, Engine
from .model import SEVERITIES, Finding, Issue, Plan, Step
from .planner import finding, plan_issue
from .registry import FactContext, Tracker, TrackerError
from .rulefile import Rule, RuleSet
from .templates import referenced_names

log = logging.getLogger("steward.runner")

# Called once per page with the page's issues, their derived facts and each issue's findings (same order),
# before anything is written: lets a report see issues, not only findings, without holding the whole run.
Observer = Callable[[list[Issue], list[dict[str, Any]], list[list[Finding]]], None]


@dataclass
class RunOptions:
    now: datetime
    apply: bool = False
    max_actions: int | None = None
    query: str | None = None
    since: datetime | None = None
    engine: str = DEFAULT_ENGINE  # durable, compiled or reference: see core/engine.py


class _WarningCollector(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


def derive_facts(issue: Issue, ctx: FactContext, names: Collection[str] | None = None) -> dict[str, Any]:
    """The registered facts for one issue (all, or just `names`), coerced to their declared types."""
    specs = plugins.facts()
    wanted = specs.items() if names is None else ((name, specs[name]) for name in names)
    return {name: normalize(spec.compute(issue, ctx), spec.type) for name, spec in wanted}


def facts_used(rules: Iterable[Rule]) -> set[str]:
    """The facts a run needs: those the conditions test and those the action templates show."""
    used: set[str] = set()
    for rule in rules:
        used.update(facts_in(rule.condition))
        for step in rule.steps:
            for _, value in step.actions:
                if isinstance(value, str):
                    used.update(referenced_names(value)[0])
    return used


def _priority(step: Step) -> tuple[int, int]:
    return (-SEVERITIES.index(step.severity), -step.level)


class Runner:
    def __init__(self, tracker: Tracker, rules: RuleSet, options: RunOptions,
                 progress: Callable[[int, int], None] | None = None, observer: Observer | None = None):
        self.tracker = tracker
        self.rules = rules
        self.options = options
        self.progress = progress
        self.observer = observer
        self.engine = Engine([rule.condition for rule in rules.rules], options.engine,
                             names=[rule.id for rule in rules.rules])
        self.fact_names = [facts_in(rule.condition) for rule in rules.rules]
        self.context = FactContext(now=options.now, settings=rules.settings)
        self.facts_used = facts_used(rules.rules)
        self.budget = options.max_actions

    def _take(self, step: Step) -> bool:
        if self.budget is None:
            return True
        if self.budget <= 0:
            return False
        self.budget -= 1
        return True

    def _page(self, page: list[Issue], plan: Plan) -> None:
        issues, facts_list = [], []
        for issue in page:
            try:
                facts_list.append(derive_facts(issue, self.context, self.facts_used))
            except Exception as error:  # odd tracker data must never end the run
                log.warning("%s: skipped: could not derive facts (%s: %s)", issue.key,
                            type(error).__name__, error)
                continue
            issues.append(issue)
        plan.issues_seen += len(issues)
        known = self.rules.by_id()
        page_steps: list[tuple[Issue, Step]] = []
        page_findings: list[list[Finding]] = []
        for issue, facts, matched in zip(issues, facts_list, self.engine.evaluate(facts_list), strict=True):
            firing = [self.rules.rules[i] for i in matched]
            found = [finding(issue, self.rules.rules[i], facts, self.fact_names[i]) for i in matched]
            plan.findings.extend(found)
            page_findings.append(found)
            for step in plan_issue(issue, facts, firing, known, self.options.now):
                page_steps.append((issue, step))
        if self.observer is not None:
            self.observer(issues, facts_list, page_findings)

        page_steps.sort(key=lambda pair: _priority(pair[1]))
        taken: dict[str, tuple[Issue, list[Step]]] = {}
        for issue, step in page_steps:
            if self._take(step):
                plan.steps.append(step)
                taken.setdefault(issue.key, (issue, []))[1].append(step)
            else:
                plan.deferred.append(step)
        if self.options.apply:
            self._apply(taken, plan)

    def _apply(self, taken: dict[str, tuple[Issue, list[Step]]], plan: Plan) -> None:
        custom = plugins.actions()
        for issue, steps in taken.values():
            try:
                for step in steps:
                    for action in step.actions:
                        if action.type in custom:
                            custom[action.type].run(issue, action.value, False)
                self.tracker.apply(issue, steps, self.options.now)
            except TrackerError as error:
                log.warning("%s: deferred %d step(s): %s", issue.key, len(steps), error)
                for step in steps:
                    plan.steps.remove(step)
                    plan.deferred.append(step)
                continue
            if self.progress:
                self.progress(len(plan.steps), plan.issues_seen)

    def run(self) -> Plan:
        plan = Plan()
        collector = _WarningCollector(plan.warnings)
        steward_log = logging.getLogger("steward")
        steward_log.addHandler(collector)
        try:
            # An observer (the governance report) counts every issue and reads fields no rule may test,
            # so a run with one reads everything, as if no adapter could narrow.
            narrow = getattr(self.tracker, "narrow", None)
            if narrow is not None and self.observer is None:
                narrow(self.rules.rules)
            for page in self.tracker.fetch(self.options.query, self.options.since):
                self._page(page, plan)
            self.tracker.close()
        finally:
            steward_log.removeHandler(collector)
        return plan
