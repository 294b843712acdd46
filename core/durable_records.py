"""What durable_rules is given: each ruleset's definition and each issue's record in it.

A ruleset's definition is its rules' durable JSON (core/envelope.py compiles them) under the guard every
rule carries, plus the catch-all rule; a record holds only the facts that ruleset's rules test. Both name
each fact and regular-expression flag by a short name of the ruleset's own (`short_names`). core/engine.py
sends them to the worker; nothing else sees them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from . import patterns
from .compiled import Evaluate
from .envelope import MAX_EXACT_INT, Group, json_safe

ACTION_CAP = 1000  # matches handed to one action call


@dataclass
class RuleGroup:
    """One durable ruleset: its rules, the facts and regex flags its records carry, its definition, and
    the compiled evaluator standing in for it where durable cannot be used."""

    name: str  # a digest of the definition: identical rulesets are created once per worker
    definition: str
    rule_indexes: list[int]
    facts: tuple[tuple[str, str], ...]  # (fact, the property that carries it)
    patterns: tuple[tuple[str, str, Any], ...]  # (property, fact, compiled regex)
    evaluate_here: Evaluate | None = None  # made when first needed


def short_names(group: Group) -> dict[str, str]:
    """A short property name for every fact and regex flag of a group: `p0`, `p1`, ...

    A record carries each property's name once per issue and durable hands each record back as JSON the
    worker parses: with fact names (`days_escalated_without_follow_up`) the default pack's records averaged
    431 bytes, most of them names. The names are the group's own; rule definitions and records are renamed
    alike here, and nothing outside this module sees them.
    """
    props = sorted(group.facts) + sorted(group.patterns.values())
    return {name: f"p{index}" for index, name in enumerate(props)}


def _renamed(expression: Any, names: dict[str, str]) -> Any:
    """A durable expression with its property names (every key that is not an `$` operator) renamed."""
    if isinstance(expression, dict):
        return {key if key.startswith("$") else names.get(key, key): _renamed(value, names)
                for key, value in expression.items()}
    if isinstance(expression, list):
        return [_renamed(item, names) for item in expression]
    return expression


def rule_group(group: Group) -> RuleGroup:
    """The ruleset of one group of rules: its definition under short names, named by a digest of it."""
    names = short_names(group)
    rules: dict[str, Any] = {
        f"r{index}": {"all": [{"m": {"$and": [{"_kind": "issue"}, _renamed(body, names)]}}], "cap": ACTION_CAP}
        for index, body in zip(group.rule_indexes, group.bodies, strict=True)}
    rules["every_issue"] = {"all": [{"m": {"_kind": "issue"}}], "cap": ACTION_CAP}
    definition = json.dumps(rules, sort_keys=True, ensure_ascii=False)
    return RuleGroup(f"steward_{hashlib.sha256(definition.encode()).hexdigest()[:20]}", definition,
                     list(group.rule_indexes), tuple((fact, names[fact]) for fact in sorted(group.facts)),
                     tuple((names[prop], fact, regex) for (fact, regex), prop in group.patterns.items()))


def project(index: int, facts: dict[str, Any], group: RuleGroup) -> dict[str, Any] | None:
    """The record durable_rules sees, or None when a value cannot reach it intact.

    Each ruleset gets records of only the facts its rules test: durable hands every match back with the
    whole record (as JSON the worker parses), and every record matches the catch-all, so a record shared
    by several rulesets costs more than encoding one per ruleset (measured: 4.2 s against 1.8 s for 282
    rulesets of 10,000 rules over 200 issues).
    """
    record: dict[str, Any] = {"id": index, "sid": "0", "_kind": "issue"}
    get = facts.get
    for name, prop in group.facts:
        value = get(name)
        if value is None or value == []:  # missing: not sent (is_missing, inlined: this is the hot loop)
            continue
        kind = type(value)
        if kind is int:
            if not -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
                return None
        elif kind is float and not json_safe(value):
            return None
        record[prop] = value
    for prop, fact, pattern in group.patterns:
        value = get(fact)
        record[prop] = isinstance(value, str) and patterns.search(pattern, value)
    return record
