"""The compiled evaluator: a rule set's conditions turned into one generated Python function.

It means exactly what `conditions.holds` means (tests/test_engine_equivalence.py proves the three
evaluators equal), but instead of walking the condition tree for every rule and every issue, the rules
are written out once as Python source and compiled: each fact the rules test is read once per issue into
a local variable, each rule is one `if` over those locals, and regular expressions are compiled once.
It never imports durable_rules: it is what runs where durable_rules cannot (see core/engine.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import patterns
from .conditions import AllOf, AnyOf, Condition, Not, Test, compiled_pattern, holds

# Python's parser refuses deeply nested parentheses (about 200 levels) and its compiler recurses on deep
# expressions: a rule nested deeper than this is evaluated by calling `holds` from the generated code.
MAX_INLINE_DEPTH = 40

Evaluate = Callable[[Sequence[dict[str, Any]]], list[list[int]]]


def depth(condition: Condition) -> int:
    if isinstance(condition, Test):
        return 1
    if isinstance(condition, Not):
        return 1 + depth(condition.item)
    return 1 + max(depth(item) for item in condition.items)


class _Writer:
    """Writes one rule set's conditions as Python expressions over per-fact locals."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"_holds": holds}
        self.fact_locals: dict[str, str] = {}  # fact name -> local holding its value
        self.missing_needed: set[str] = set()  # facts whose "missing" flag the expressions use

    def constant(self, value: Any) -> str:
        # str, int and bool literals round-trip through repr exactly; floats (inf, nan), lists and anything
        # else are bound by name so the generated code compares against the very same object as `holds`.
        if type(value) in (str, int, bool) or value is None:
            return repr(value)
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = tuple(value) if isinstance(value, list) else value
        return name

    def value(self, fact: str) -> str:
        if fact not in self.fact_locals:
            self.fact_locals[fact] = f"v{len(self.fact_locals)}"
        return self.fact_locals[fact]

    def missing(self, fact: str) -> str:
        local = self.value(fact)
        self.missing_needed.add(local)
        return f"m{local[1:]}"

    def test(self, test: Test) -> str:
        op, expected = test.op, test.value
        v, m = self.value(test.fact), self.missing(test.fact)
        if op in ("missing", "present"):
            flag = m if op == "missing" else f"(not {m})"
            if type(expected) is bool:
                return flag if expected else f"(not {flag})"
            return f"({flag} == {self.constant(expected)})"
        if op == "ne":
            return f"({m} or {v} != {self.constant(expected)})"
        if op in ("eq", "gt", "gte", "lt", "lte", "in"):
            symbol = {"eq": "==", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "in": "in"}[op]
            return f"(not {m} and {v} {symbol} {self.constant(expected)})"
        if op == "matches":
            pattern = f"_p{len(self.namespace)}"
            compiled_pattern(expected)  # a bad pattern fails here, at compile time, not per issue
            self.namespace[pattern] = expected
            self.namespace["_search"] = patterns.search
            return f"(not {m} and _search({pattern}, {v}))"
        if op == "contains":
            return f"(not {m} and {self.constant(expected)} in {v})"
        if op in ("contains_any", "contains_all"):
            joiner = " or " if op == "contains_any" else " and "
            items = joiner.join(f"{self.constant(item)} in {v}" for item in expected)
            return f"(not {m} and ({items or repr(op == 'contains_all')}))"
        raise ValueError(f"unknown operator {op!r}")

    def condition(self, condition: Condition) -> str:
        if isinstance(condition, Test):
            return self.test(condition)
        if isinstance(condition, Not):
            return f"(not {self.condition(condition.item)})"
        joiner = " and " if isinstance(condition, AllOf) else " or "
        assert isinstance(condition, (AllOf, AnyOf))
        return "(" + joiner.join(self.condition(item) for item in condition.items) + ")"

    def rule(self, index: int, condition: Condition) -> str:
        if depth(condition) > MAX_INLINE_DEPTH:
            name = f"_c{index}"
            self.namespace[name] = condition
            return f"_holds({name}, facts)"
        return self.condition(condition)

    def source(self, expressions: list[tuple[int, str]]) -> str:
        lines = ["def evaluate(facts_list):", "    out = []", "    add = out.append",
                 "    for facts in facts_list:", "        get = facts.get"]
        for fact, local in self.fact_locals.items():
            lines.append(f"        {local} = get({fact!r})")
            if local in self.missing_needed:  # conditions.is_missing, inlined
                lines.append(f"        m{local[1:]} = {local} is None or {local} == []")
        lines.append("        found = []")
        for index, expression in expressions:
            lines.append(f"        if {expression}: found.append({index})")
        lines += ["        add(found)", "    return out"]
        return "\n".join(lines) + "\n"


def _build(conditions: Sequence[Condition], indexes: Sequence[int]) -> Evaluate:
    writer = _Writer()
    expressions = [(index, writer.rule(index, conditions[index])) for index in indexes]
    code = compile(writer.source(expressions), "<steward compiled rules>", "exec")
    exec(code, writer.namespace)  # noqa: S102 - source generated above from the rule conditions only
    return writer.namespace["evaluate"]


def compile_rules(conditions: Sequence[Condition]) -> Evaluate:
    """One function: facts dicts -> for each, the indexes of the conditions that hold, in rule order.

    Should the whole set not compile (a limit of Python's compiler on an unusual rule), each rule is
    compiled on its own and one that still fails is evaluated with `holds`; the meaning never changes.
    """
    conditions = list(conditions)
    indexes = range(len(conditions))
    try:
        return _build(conditions, indexes)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        pass
    parts: list[Evaluate] = []
    for index in indexes:
        try:
            parts.append(_build(conditions, [index]))
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            parts.append(_holding(conditions[index], index))

    def evaluate(facts_list: Sequence[dict[str, Any]]) -> list[list[int]]:
        found: list[list[int]] = [[] for _ in facts_list]
        for part in parts:
            for mine, more in zip(found, part(facts_list), strict=True):
                mine.extend(more)
        return found

    return evaluate


def _holding(condition: Condition, index: int) -> Evaluate:
    def evaluate(facts_list: Sequence[dict[str, Any]]) -> list[list[int]]:
        return [[index] if holds(condition, facts) else [] for facts in facts_list]

    return evaluate


def reference(conditions: Sequence[Condition], facts_list: Sequence[dict[str, Any]]) -> list[list[int]]:
    """The plain-Python reference evaluation: `holds` for every rule and issue."""
    return [[i for i, condition in enumerate(conditions) if holds(condition, facts)] for facts in facts_list]
