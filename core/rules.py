"""Loaded rules: what the planner, the renderers and the adapters read. The YAML loader builds them.

A leaf of the core: it depends only on the condition tree and the template syntax, so anything that
needs the rule types can import them without the loader, the plugin manager or a tracker client.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .conditions import AllOf, AnyOf, Condition, Not, Test, facts_in
from .templates import referenced_names


@dataclass(frozen=True)
class LadderStep:
    """One rung of a rule's escalation ladder: level 1 is `then`, level 2 the first `escalate` entry."""

    level: int
    after_days: float
    actions: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    rationale: str
    when: Condition
    exempt: Condition | None
    steps: tuple[LadderStep, ...]
    settings: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    cleanup: bool = True
    file: str = ""
    line: int = 0

    @property
    def condition(self) -> Condition:
        """The whole test: `when` holds and `exempt` does not."""
        return self.when if self.exempt is None else AllOf((self.when, Not(self.exempt)))

    @property
    def added_labels(self) -> list[str]:
        return [label for step in self.steps for kind, value in step.actions if kind == "add_labels"
                for label in value]


@dataclass
class RuleSet:
    rules: list[Rule]
    settings: dict[str, Any]
    files: list[str]
    warnings: list[str] = field(default_factory=list)  # FILE:LINE: [RULE] texts `steward check` prints

    def by_id(self) -> dict[str, Rule]:
        return {rule.id: rule for rule in self.rules}


def guaranteed_present(condition: Condition) -> set[str]:
    """The facts a condition proves present whenever it holds: a test that fails on a missing value, in
    every branch. A template may show such a fact without a fallback."""
    if isinstance(condition, Test):
        op, value = condition.op, condition.value
        absent_ok = op == "ne" or (op == "missing" and value is True) or (op == "present" and value is False)
        return set() if absent_ok else {condition.fact}
    if isinstance(condition, AllOf):
        return set().union(*(guaranteed_present(item) for item in condition.items))
    if isinstance(condition, AnyOf):
        branches = [guaranteed_present(item) for item in condition.items]
        return set.intersection(*branches) if branches else set()
    return set()  # under `not`, nothing is proven


def facts_used(rules: Iterable[Rule]) -> set[str]:
    """The facts a run needs: those the conditions test and those the action templates show."""
    used: set[str] = set()
    for rule in rules:
        used.update(facts_in(rule.condition))
        for step in rule.steps:
            for _, value in step.actions:
                texts = [value] if isinstance(value, str) else list(value.values()) if isinstance(value, dict) else []
                for text in texts:
                    if isinstance(text, str):
                        used.update(referenced_names(text)[0])
    return used
