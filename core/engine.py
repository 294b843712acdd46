"""The durable_rules engine, used the careful way. The only module that imports `durable`.

Pitfalls avoided, each measured on durable-rules 2.0.28 (see DESIGN.md section 6):
- Issues are asserted as facts (every matching rule reports), never as events (first match consumes).
- A catch-all rule matches every issue, so no record is "not handled" and a batch never loses its actions.
- Fact ids are small sequential numbers per batch (0..n-1), mapped back to issue keys here: no hash
  collisions between issue keys, and no two facts are identical.
- Every rule carries a positive guard (`_kind == "issue"`), so negative-only rules cannot match the
  engine's own state fact and loop.
- Regular expressions are evaluated in Python and arrive as booleans; `null` and empty lists are never
  sent (absent means missing); `$iall` is only reached for non-empty lists; numbers are only compared
  with numbers (rule files are type-checked against the facts).
- Each ruleset is created once per process (names cannot be registered twice and re-creating them
  leaks); its state is deleted after every batch.
- The host's background dispatch threads are not started: actions run synchronously, so an action
  error surfaces here instead of being swallowed.
- Rules are grouped so no fact carries more than MAX_PROPERTIES properties.
- Its JSON parser misreads floats written with an exponent but no fraction (`1e-05`, `1e+16`, as Python
  writes them) and non-finite numbers: the ruleset cannot be created, the rest of a batch is silently
  dropped, or the process crashes. Integers saturate at 64 bits and meet floats as doubles, so beyond
  2**53 they compare differently from Python. A rule with such a number, and an issue with such a number
  in a fact its rule group tests, are evaluated with the plain-Python reference instead.
- It expands `$or` internally and refuses some rulesets with a few nested negations (error code 113):
  such a rule is evaluated with the plain-Python reference too.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from durable import engine as durable_engine

from .conditions import AllOf, Condition, Not, Test, compiled_pattern, holds, tests_in

BATCH_SIZE = 2000
ACTION_CAP = 1000
MAX_PROPERTIES = 200
MAX_EXACT_INT = 2**53  # beyond this durable's int64/double comparisons differ from Python's
_GUARD = {"_kind": "issue"}


def json_safe(value: Any) -> bool:
    """Whether durable_rules reads this value back exactly and compares it as Python does (module docstring)."""
    kind = type(value)
    if kind is int:
        return -MAX_EXACT_INT <= value <= MAX_EXACT_INT
    if kind is float:
        text = repr(value)
        return math.isfinite(value) and ("e" not in text or "." in text)
    return True


def _engine_ready(condition: Condition) -> bool:
    for test in tests_in(condition):
        values = test.value if isinstance(test.value, list) else [test.value]
        if not all(json_safe(v) for v in values):
            return False
    return True


class EngineError(Exception):
    """durable_rules did something this module does not expect; never silently tolerated."""


class _SynchronousHost(durable_engine.Host):
    def _run(self) -> None:
        """No background dispatch threads: actions run inside assert_facts, on the caller's thread."""


_HOST = _SynchronousHost()
_RULESETS: dict[str, _Sink] = {}
_REFUSED: set[str] = set()


class _Sink:
    def __init__(self) -> None:
        self.matches: list[tuple[int, int]] = []
        self.seen = 0


@dataclass(frozen=True)
class _Group:
    name: str
    rule_indexes: tuple[int, ...]
    facts: tuple[str, ...]
    patterns: tuple[tuple[str, str, re.Pattern], ...]  # (property, fact, compiled regex)


class _Compiler:
    """Turns a Condition into durable_rules JSON, with `not` pushed down to the tests."""

    def __init__(self) -> None:
        self.patterns: dict[tuple[str, str], str] = {}

    def pattern_property(self, fact: str, regex: str) -> str:
        key = (fact, regex)
        if key not in self.patterns:
            self.patterns[key] = f"_re{len(self.patterns)}"
        return self.patterns[key]

    @staticmethod
    def _join(op: str, parts: list[dict]) -> dict:
        return parts[0] if len(parts) == 1 else {op: parts}

    def _contains(self, fact: str, item: str, negated: bool) -> dict:
        if negated:
            return {"$or": [{"$nex": {fact: 1}}, {"$iall": {fact: {"$neq": {"$i": item}}}}]}
        return {"$iany": {fact: {"$i": item}}}

    def test(self, test: Test, negated: bool) -> dict:
        fact, op, value = test.fact, test.op, test.value
        if op in ("missing", "present"):
            wants_missing = (op == "missing") == bool(value)
            return {"$ex" if wants_missing == negated else "$nex": {fact: 1}}
        if op == "matches":
            return {self.pattern_property(fact, value): not negated}
        if op in ("eq", "ne"):
            if (op == "eq") != negated:
                return {fact: value}
            return {"$or": [{"$nex": {fact: 1}}, {"$neq": {fact: value}}]}
        if op in ("gt", "gte", "lt", "lte"):
            if not negated:
                return {f"${op}": {fact: value}}
            opposite = {"gt": "$lte", "gte": "$lt", "lt": "$gte", "lte": "$gt"}[op]
            return {"$or": [{"$nex": {fact: 1}}, {opposite: {fact: value}}]}
        if op == "in":
            if not negated:
                return self._join("$or", [{fact: v} for v in value])
            others = self._join("$and", [{"$neq": {fact: v}} for v in value])
            return {"$or": [{"$nex": {fact: 1}}, others]}
        if op == "contains":
            return self._contains(fact, value, negated)
        if op in ("contains_any", "contains_all"):
            parts = [self._contains(fact, item, negated) for item in value]
            joins_with_and = (op == "contains_all") != negated
            return self._join("$and" if joins_with_and else "$or", parts)
        raise EngineError(f"cannot compile operator {op!r}")

    def condition(self, condition: Condition, negated: bool = False) -> dict:
        if isinstance(condition, Test):
            return self.test(condition, negated)
        if isinstance(condition, Not):
            return self.condition(condition.item, not negated)
        parts = [self.condition(item, negated) for item in condition.items]
        conjunction = isinstance(condition, AllOf) != negated
        return self._join("$and" if conjunction else "$or", parts)


def _engine_facts(condition: Condition) -> set[str]:
    """Facts sent to the engine as values; those tested only by `matches` arrive as regex flags."""
    return {t.fact for t in tests_in(condition) if t.op != "matches"}


def _group_rules(conditions: Sequence[Condition]) -> list[list[int]]:
    """Greedy packing of rules into groups whose facts plus regex flags stay under MAX_PROPERTIES."""
    groups: list[tuple[list[int], set[str]]] = []
    for index, condition in enumerate(conditions):
        needs = _engine_facts(condition) | {f"re:{t.fact}:{t.value}" for t in tests_in(condition) if t.op == "matches"}
        for members, props in groups:
            if len(props | needs) <= MAX_PROPERTIES:
                members.append(index)
                props |= needs
                break
        else:
            groups.append(([index], set(needs)))
    return [members for members, _ in groups]


def _make_action(sink: _Sink, rule_index: int):
    def action(closure) -> None:
        for frame in closure.m:
            sink.matches.append((frame["id"], rule_index))

    return action


def _make_catch_all(sink: _Sink):
    def action(closure) -> None:
        sink.seen += len(closure.m)

    return action


def _ruleset(compiled: list[dict], rule_indexes: tuple[int, ...]) -> str | None:
    """The durable ruleset for these compiled conditions, created at most once per process.

    None when durable_rules refuses to create it (it expands `$or` into alternatives internally, and a
    few nested negations already exceed its limits: "Could not create ruleset, error code: 113").
    """
    digest = hashlib.sha256(json.dumps([compiled, rule_indexes], sort_keys=True).encode()).hexdigest()[:16]
    name = f"steward_{digest}"
    if name in _REFUSED:
        return None
    if name not in _RULESETS:
        sink = _Sink()
        definition: dict[str, Any] = {
            f"r{index}": {"all": [{"m": {"$and": [_GUARD, body]}}], "run": _make_action(sink, index),
                          "cap": ACTION_CAP}
            for index, body in zip(rule_indexes, compiled, strict=True)
        }
        definition["every_issue"] = {"all": [{"m": _GUARD}], "run": _make_catch_all(sink), "cap": ACTION_CAP}
        try:
            _HOST.register_rulesets({name: definition})
        except durable_engine.durable_rules_engine.error:
            _REFUSED.add(name)
            return None
        _RULESETS[name] = sink
    return name


class Engine:
    """Evaluates rule conditions over fact dictionaries with durable_rules."""

    def __init__(self, conditions: Sequence[Condition]):
        self.conditions = list(conditions)
        self._groups: list[_Group] = []
        ready = [i for i, condition in enumerate(self.conditions) if _engine_ready(condition)]
        self._python_only = sorted(set(range(len(self.conditions))) - set(ready))
        for members in _group_rules([self.conditions[i] for i in ready]):
            self._add_group([ready[i] for i in members])
        self._python_only.sort()

    def _add_group(self, members: list[int]) -> None:
        """A durable ruleset for these rules; a group durable refuses is retried rule by rule, and a
        single rule it refuses is evaluated with the plain-Python reference."""
        compiler = _Compiler()
        compiled = [compiler.condition(self.conditions[i]) for i in members]
        name = _ruleset(compiled, tuple(members))
        if name is None:
            if len(members) == 1:
                self._python_only.append(members[0])
            else:
                for member in members:
                    self._add_group([member])
            return
        facts = sorted(set().union(*(_engine_facts(self.conditions[i]) for i in members)))
        patterns = tuple((prop, fact, compiled_pattern(regex)) for (fact, regex), prop in compiler.patterns.items())
        self._groups.append(_Group(name, tuple(members), tuple(facts), patterns))

    @staticmethod
    def _project(index: int, facts: dict[str, Any], group: _Group) -> dict[str, Any] | None:
        """The record durable_rules sees, or None when a value cannot reach it intact."""
        record: dict[str, Any] = {"id": index, "sid": "0", "_kind": "issue"}
        get = facts.get
        for name in group.facts:
            value = get(name)
            if value is None or value == []:  # missing: not sent (is_missing, inlined: this is the hot loop)
                continue
            kind = type(value)
            if kind is int:
                if not -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
                    return None
            elif kind is float and not json_safe(value):
                return None
            record[name] = value
        for prop, fact, pattern in group.patterns:
            value = get(fact)
            record[prop] = isinstance(value, str) and pattern.search(value) is not None
        return record

    def evaluate(self, facts_list: Sequence[dict[str, Any]]) -> list[list[int]]:
        """For each facts dict, the indexes of the conditions that hold, in rule order.

        Automatic garbage collection is paused meanwhile and the youngest generation collected after
        each batch instead: durable_rules allocates many short-lived objects per batch, which otherwise
        trigger full collections that traverse every live object (with 100k fact dicts alive that halved
        throughput), while a batch's few reference cycles are still freed batch by batch.
        """
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._evaluate(facts_list, collect=paused)
        finally:
            if paused:
                gc.enable()

    def _evaluate(self, facts_list: Sequence[dict[str, Any]], collect: bool = False) -> list[list[int]]:
        matched: list[set[int]] = [set() for _ in facts_list]
        for group in self._groups:
            sink = _RULESETS[group.name]
            for start in range(0, len(facts_list), BATCH_SIZE):
                batch = facts_list[start:start + BATCH_SIZE]
                records = []
                for i, facts in enumerate(batch):
                    record = self._project(i, facts, group)
                    if record is not None:
                        records.append(record)
                        continue
                    matched[start + i].update(r for r in group.rule_indexes if holds(self.conditions[r], facts))
                if not records:
                    continue
                sink.matches.clear()
                sink.seen = 0
                try:
                    _HOST.assert_facts(group.name, records)
                except durable_engine.MessageNotHandledException as error:
                    raise EngineError("a fact matched no rule, not even the catch-all") from error
                except durable_engine.MessageObservedException as error:
                    raise EngineError("two facts in one batch were identical") from error
                finally:
                    _HOST.delete_state(group.name, "0")
                if sink.seen != len(records):
                    raise EngineError(f"durable_rules saw {sink.seen} of {len(records)} issues in a batch")
                for fact_id, rule_index in sink.matches:
                    matched[start + fact_id].add(rule_index)
                if collect:
                    gc.collect(0)
        for index in self._python_only:
            condition = self.conditions[index]
            for found, facts in zip(matched, facts_list, strict=True):
                if holds(condition, facts):
                    found.add(index)
        return [sorted(found) for found in matched]
