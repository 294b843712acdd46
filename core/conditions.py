"""Rule conditions as a small tree, and their plain-Python meaning.

This evaluation is the reference: durable_rules and the compiled evaluator (core/engine.py) must agree
with it on every input (tests/test_engine_equivalence.py checks that), and `explain` uses it to show why
a rule fired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import patterns
from .text import clean_text

OPERATORS_BY_TYPE = {
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "missing", "present"),
    "string": ("eq", "ne", "in", "matches", "missing", "present"),
    "boolean": ("eq", "ne", "missing", "present"),
    "list": ("contains", "contains_any", "contains_all", "missing", "present"),
}
ALL_OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "contains_any",
                 "contains_all", "matches", "missing", "present")


@dataclass(frozen=True)
class Test:
    fact: str
    op: str
    value: Any
    line: int = 0


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Test | AllOf | AnyOf | Not


def compiled_pattern(pattern: str) -> Any:
    """The compiled pattern (see core/patterns.py); raises for a bad one."""
    return patterns.compiled(pattern)


def is_missing(value: Any) -> bool:
    return value is None or value == []


def normalize(value: Any, fact_type: str) -> Any:
    """Coerce a computed fact to its declared type; anything that does not fit counts as missing."""
    if value is None:
        return None
    if fact_type == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if fact_type == "string":
        return clean_text(value) if isinstance(value, str) else None
    if fact_type == "boolean":
        return value if isinstance(value, bool) else None
    if fact_type == "list":
        if not isinstance(value, (list, tuple, set)):
            return None
        return [clean_text(item) for item in value if isinstance(item, str)]
    return None


def test_holds(test: Test, value: Any) -> bool:
    op, expected = test.op, test.value
    missing = is_missing(value)
    if op == "missing":
        return missing == expected
    if op == "present":
        return (not missing) == expected
    if missing:
        return op == "ne"
    if op == "eq":
        return value == expected
    if op == "ne":
        return value != expected
    if op == "gt":
        return value > expected
    if op == "gte":
        return value >= expected
    if op == "lt":
        return value < expected
    if op == "lte":
        return value <= expected
    if op == "in":
        return value in expected
    if op == "matches":
        return patterns.search(expected, value)
    if op == "contains":
        return expected in value
    if op == "contains_any":
        return any(item in value for item in expected)
    if op == "contains_all":
        return all(item in value for item in expected)
    raise ValueError(f"unknown operator {op!r}")


def holds(condition: Condition, facts: dict[str, Any]) -> bool:
    if isinstance(condition, Test):
        return test_holds(condition, facts.get(condition.fact))
    if isinstance(condition, AllOf):
        return all(holds(item, facts) for item in condition.items)
    if isinstance(condition, AnyOf):
        return any(holds(item, facts) for item in condition.items)
    return not holds(condition.item, facts)


def tests_in(condition: Condition) -> list[Test]:
    if isinstance(condition, Test):
        return [condition]
    if isinstance(condition, Not):
        return tests_in(condition.item)
    return [test for item in condition.items for test in tests_in(item)]


def facts_in(condition: Condition) -> list[str]:
    return list(dict.fromkeys(test.fact for test in tests_in(condition)))


@dataclass(frozen=True)
class ExplainLine:
    depth: int
    text: str
    passed: bool


def explain(condition: Condition, facts: dict[str, Any], depth: int = 0) -> list[ExplainLine]:
    """One line per test and per group: the fact's value, the test, pass or fail."""
    passed = holds(condition, facts)
    if isinstance(condition, Test):
        actual = facts.get(condition.fact)
        text = f"{condition.fact} = {actual!r}; {condition.op} {condition.value!r}"
        return [ExplainLine(depth, text, passed)]
    if isinstance(condition, Not):
        return [ExplainLine(depth, "not:", passed), *explain(condition.item, facts, depth + 1)]
    label = "all of:" if isinstance(condition, AllOf) else "any of:"
    lines = [ExplainLine(depth, label, passed)]
    for item in condition.items:
        lines.extend(explain(item, facts, depth + 1))
    return lines


def explain_inline(condition: Condition, facts: dict[str, Any]) -> str:
    """The explanation on one line: `fact = value; op expected (pass|fail)`, groups in brackets."""
    if isinstance(condition, Test):
        mark = "pass" if holds(condition, facts) else "fail"
        return f"{condition.fact} = {facts.get(condition.fact)!r}; {condition.op} {condition.value!r} ({mark})"
    if isinstance(condition, Not):
        return f"not[{explain_inline(condition.item, facts)}]"
    inner = ", ".join(explain_inline(item, facts) for item in condition.items)
    return inner if isinstance(condition, AllOf) else f"any[{inner}]"


def to_text(condition: Condition) -> str:
    """A condition as a reader would say it: `days_unassigned gte 14 and not (labels contains_any [...])`."""
    if isinstance(condition, Test):
        return f"{condition.fact} {condition.op} {condition.value!r}"
    if isinstance(condition, Not):
        return f"not ({to_text(condition.item)})"
    joiner = " and " if isinstance(condition, AllOf) else " or "
    return joiner.join(f"({to_text(i)})" if isinstance(i, (AllOf, AnyOf)) else to_text(i) for i in condition.items)
