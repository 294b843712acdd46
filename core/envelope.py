"""durable_rules' measured safe envelope: rule conditions compiled to its JSON, and grouped to stay inside it.

Pure Python (it never imports durable): core/engine.py runs the groups planned here on durable_rules, and
`steward check` uses the same plan to warn about rules that will run elsewhere. docs/engine.md has the
measurements behind every limit below (durable-rules 2.0.28, reproduced by tests/test_durable_envelope.py).

durable_rules matches a fact by walking its alpha network with a fixed stack of 64 entries: when more
tests match at once than fit (65 rules with distinct thresholds on one fact, all holding; a
`contains_any` of 65 labels an issue all carries), it corrupts its heap and the process dies with
SIGSEGV or SIGABRT. Each node keeps its successors in a 512-slot hash set whose lookup never ends once
full: 512 rules hanging off one test hang the process. Other tables are checked when a ruleset is
created, and it is refused (128 absent-tests or `or`-joins on one node, 16 `and`/`or` in one rule), or
not checked, and it crashes (256 rules ending on one node; 252 properties in one record).

So every group of rules sent to durable_rules is modelled here the way durable builds it (a node per
distinct test under the same parent, `$iany`/`$iall` never shared, an `or` as a join node) and admitted
only while the worst case over all possible facts stays within half of each limit (`SAFE`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .conditions import AllOf, Condition, Not, Test, tests_in

MAX_EXACT_INT = 2**53  # beyond this durable's int64/double comparisons differ from Python's
GUARD = {"_kind": "issue"}


@dataclass(frozen=True)
class Envelope:
    stack: int  # alpha tests that may be pending at once while one fact is matched (hard limit 64)
    successors: int  # tests hanging off one node (hard limit 511: the 512th hangs every lookup)
    absent_tests: int  # `missing` tests and `or` joins hanging off one node (about 128: 200 are refused)
    rule_ends: int  # rules whose tests end on the same node (hard limit 255: 256 crash, about 300 are refused)
    operators: int  # `and`/`or` per rule, the guard's included (hard limit 15: error 113 beyond)
    properties: int  # properties per record besides id, sid and the guard (hard limit 251: 252 crash)
    rules: int  # rules per group
    tests: int  # tests per rule: keeps the model's walks short, far above any rule that fits the stack


HARD_LIMITS = Envelope(stack=64, successors=511, absent_tests=127, rule_ends=255, operators=15, properties=251,
                       rules=10**9, tests=10**9)
SAFE = Envelope(stack=32, successors=256, absent_tests=64, rule_ends=128, operators=15, properties=200, rules=128,
                tests=200)


def json_safe(value: Any) -> bool:
    """Whether durable_rules reads this value back exactly and compares it as Python does.

    Its JSON parser misreads floats written with an exponent but no fraction (`1e-05`, `1e+16`, as Python
    writes them) and non-finite numbers; integers saturate at 64 bits and meet floats as doubles, so beyond
    2**53 they compare differently from Python.
    """
    kind = type(value)
    if kind is int:
        return -MAX_EXACT_INT <= value <= MAX_EXACT_INT
    if kind is float:
        text = repr(value)
        return math.isfinite(value) and ("e" not in text or "." in text)
    return True


class DurableCompiler:
    """Turns a Condition into durable_rules JSON, with `not` pushed down to the tests.

    Regular expressions become boolean properties computed in Python (`pattern_property`): durable's
    regex dialect is not Python's. `null` and empty lists are never sent, so "missing" is `$nex`.
    """

    def __init__(self) -> None:
        self.patterns: dict[tuple[str, str], str] = {}

    def pattern_property(self, fact: str, regex: str) -> str:
        """The same name for the same (fact, regex) in every group, so groups can share one record."""
        key = (fact, regex)
        if key not in self.patterns:
            self.patterns[key] = "_re" + hashlib.sha256(f"{fact}\0{regex}".encode()).hexdigest()[:16]
        return self.patterns[key]

    @staticmethod
    def _join(op: str, parts: list[dict]) -> dict:
        return parts[0] if len(parts) == 1 else {op: parts}

    @staticmethod
    def _contains(fact: str, item: str, negated: bool) -> dict:
        if negated:  # `$iall` is false on an empty list, which is never sent: absent covers it
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
        raise ValueError(f"cannot compile operator {op!r}")

    def condition(self, condition: Condition, negated: bool = False) -> dict:
        if isinstance(condition, Test):
            return self.test(condition, negated)
        if isinstance(condition, Not):
            return self.condition(condition.item, not negated)
        parts = [self.condition(item, negated) for item in condition.items]
        conjunction = isinstance(condition, AllOf) != negated
        return self._join("$and" if conjunction else "$or", parts)

    def rule(self, condition: Condition) -> dict:
        """A rule's fact pattern: every rule carries the positive guard, so negative-only rules cannot match
        durable's own state fact (they loop forever)."""
        return {"$and": [GUARD, self.condition(condition)]}


# ------------------------------------------------------------------------------------ the network model


@dataclass(eq=False)
class _Node:
    """One alpha node as durable_rules builds it (rete.c createAlpha/findAlpha)."""

    prop: str = ""
    op: str = ""
    match: Any = None  # for `eq` tests: what the value equals, so tests on distinct values are exclusive
    keyed: dict[tuple, _Node] = field(default_factory=dict)  # shared successors, by (property, op, value)
    unshared: list[_Node] = field(default_factory=list)  # `$iany`/`$iall`: durable never shares them
    absent: dict[str, _Node] = field(default_factory=dict)  # `$nex` successors, by property
    joins: list[_Node] = field(default_factory=list)  # `or` join nodes, pushed whenever this node matches
    parents: list[_Node] = field(default_factory=list)
    ends: int = 0  # rules whose tests end here
    stack: int | None = None  # memo of `stack_need`, cleared up the parents when a rule adds below


def _match_key(value: Any) -> Any:
    """Values an `eq` test could both accept fall together (14 and 14.0; booleans with 0 and 1, to be safe)."""
    if isinstance(value, (bool, int, float)):
        return ("number", float(value))
    return (type(value).__name__, json.dumps(value, sort_keys=True))


def _leaf(expression: dict) -> tuple[str, str, Any]:
    (key, body), = expression.items()
    if key.startswith("$"):
        (prop, value), = body.items()
        return key, prop, value
    return "eq", key, body


def operators(expression: Any) -> int:
    if not isinstance(expression, dict):
        return 0
    (key, body), = expression.items()
    if key in ("$and", "$or"):
        return 1 + sum(operators(item) for item in body)
    return 0


def tests_count(expression: dict) -> int:
    (key, body), = expression.items()
    return sum(tests_count(item) for item in body) if key in ("$and", "$or") else 1


class NetworkModel:
    """The alpha network of one durable ruleset, to bound what any fact can make durable do with it."""

    def __init__(self) -> None:
        self.root = _Node()
        self.worst = {"successors": 0, "absent_tests": 0, "rule_ends": 0}
        self.add({"$and": [GUARD]})  # the catch-all rule every group carries

    @staticmethod
    def _link(parent: _Node, child: _Node) -> _Node:
        child.parents.append(parent)
        return child

    def _create(self, expression: dict, parent: _Node) -> _Node:
        (key, body), = expression.items()
        if key == "$and":
            node = parent
            for item in body:
                node = self._create(item, node)
            return node
        if key == "$or":
            join = _Node(op="join")
            for item in body:
                end = self._create(item, parent)
                end.joins.append(join)
                join.parents.append(end)
                self._touch(end, "absent_tests", len(end.joins) + len(end.absent))
            return join
        op, prop, value = _leaf(expression)
        if op in ("$iany", "$iall"):
            node = self._link(parent, _Node(prop, op))
            parent.unshared.append(node)
        elif op == "$nex":
            node = parent.absent.get(prop) or self._link(parent, _Node(prop, op))
            parent.absent[prop] = node
            self._touch(parent, "absent_tests", len(parent.joins) + len(parent.absent))
            return node
        else:
            slot = (prop, op, json.dumps(value, sort_keys=True))
            match = _match_key(value) if op == "eq" else None
            node = parent.keyed.get(slot) or self._link(parent, _Node(prop, op, match))
            parent.keyed[slot] = node
        self._touch(parent, "successors", len(parent.keyed) + len(parent.unshared))
        return node

    def _touch(self, node: _Node, limit: str, count: int) -> None:
        self.worst[limit] = max(self.worst[limit], count)
        pending = [node]
        while pending:  # the stack bound of this node and of everything above it may have grown
            current = pending.pop()
            if current.stack is not None:
                current.stack = None
                pending.extend(current.parents)

    def add(self, expression: dict) -> None:
        end = self._create(expression, self.root)
        end.ends += 1
        self._touch(end, "rule_ends", end.ends)

    @staticmethod
    def _pushed(node: _Node) -> int:
        """How many successors one fact can make durable push at once from this node: every join; per
        property, either its `$nex` tests (property absent) or its other tests, with at most one `eq`
        value (or several that accept the same value)."""
        by_prop: dict[str, tuple[int, int, dict]] = {}
        for child in [*node.keyed.values(), *node.unshared]:
            absent, others, equals = by_prop.get(child.prop, (0, 0, {}))
            if child.op == "eq":
                equals[child.match] = equals.get(child.match, 0) + 1
            else:
                others += 1
            by_prop[child.prop] = (absent, others, equals)
        for prop in node.absent:
            absent, others, equals = by_prop.get(prop, (0, 0, {}))
            by_prop[prop] = (absent + 1, others, equals)
        present = sum(max(absent, others + max(equals.values(), default=0)) for absent, others, equals in
                      by_prop.values())
        return len(node.joins) + present

    def stack_need(self, node: _Node | None = None) -> int:
        """Entries durable's matching stack may hold at once below `node` (events.c handleAlpha: a node
        popped pushes every successor that matches; the last pushed is walked first)."""
        node = node or self.root
        order, pending = [], [node]
        while pending:  # children before parents, without recursion
            current = pending.pop()
            if current.stack is None:
                order.append(current)
                pending.extend(self._children(current))
        for current in reversed(order):
            if current.stack is None:
                pushed = self._pushed(current)
                deepest = max((child.stack or 0 for child in self._children(current)), default=0)
                current.stack = 0 if pushed == 0 else pushed - 1 + max(1, deepest)
        return node.stack or 0

    @staticmethod
    def _children(node: _Node) -> list[_Node]:
        return [*node.keyed.values(), *node.unshared, *node.absent.values(), *node.joins]

    def measures(self) -> dict[str, int]:
        return {"stack": self.stack_need(), **self.worst}


def excess(measures: dict[str, int], envelope: Envelope) -> str | None:
    """Why these measures are outside the envelope, or None."""
    for name, value in measures.items():
        limit = getattr(envelope, name)
        if value > limit:
            return f"{_DESCRIBED[name]} {value} (limit {limit})"
    return None


_DESCRIBED = {
    "stack": "tests that can match one issue at once:",
    "successors": "tests on one node:",
    "absent_tests": "`missing` tests and `or` joins on one node:",
    "rule_ends": "rules ending on one node:",
    "operators": "`and`/`or` in the rule:",
    "properties": "properties per issue:",
    "tests": "tests in the rule:",
}


# ------------------------------------------------------------------------------------ planning groups


@dataclass
class Group:
    rule_indexes: list[int]
    bodies: list[dict]  # each rule's compiled pattern, in rule_indexes order
    patterns: dict[tuple[str, str], str]  # (fact, regex) -> boolean property
    facts: set[str]  # facts sent as values


@dataclass
class Plan:
    groups: list[Group]
    outside: dict[int, str]  # rule index -> why it is evaluated without durable_rules


def _values_safe(condition: Condition) -> bool:
    for test in tests_in(condition):
        values = test.value if isinstance(test.value, list) else [test.value]
        if not all(json_safe(v) for v in values):
            return False
    return True


def _rule_alone(condition: Condition, envelope: Envelope) -> str | None:
    """Why one rule cannot run on durable_rules within the envelope even alone, or None."""
    if not _values_safe(condition):
        return "a number durable_rules cannot hold exactly (exponent, non-finite, or beyond 2**53)"
    compiler = DurableCompiler()
    body = compiler.rule(condition)
    properties = len({t.fact for t in tests_in(condition) if t.op != "matches"}) + len(compiler.patterns)
    problem = excess({"tests": tests_count(body), "operators": operators(body), "properties": properties}, envelope)
    if problem:
        return problem
    model = NetworkModel()
    model.add(body)
    return excess(model.measures(), envelope)


def plan_groups(conditions: Sequence[Condition], envelope: Envelope = SAFE) -> Plan:
    """Rules packed, in order, into durable rulesets that stay inside `envelope`; the others listed apart.

    Next-fit packing: a rule joins the open group while the group's model stays inside the envelope,
    else it opens the next group. Rule order is kept so the packing is predictable and cheap (one model
    update per rule), which matters for rule sets of thousands of rules.
    """
    plan = Plan([], {})
    model: NetworkModel | None = None
    current: Group | None = None
    for index, condition in enumerate(conditions):
        reason = _rule_alone(condition, envelope)
        if reason:
            plan.outside[index] = reason
            continue
        for attempt in range(2):
            if current is None or model is None:
                current, model = Group([], [], {}, set()), NetworkModel()
                plan.groups.append(current)
            compiler = DurableCompiler()
            compiler.patterns = dict(current.patterns)
            body = compiler.condition(condition)
            facts = current.facts | {t.fact for t in tests_in(condition) if t.op != "matches"}
            model.add({"$and": [GUARD, body]})
            fits = (len(current.rule_indexes) < envelope.rules
                    and len(facts) + len(compiler.patterns) <= envelope.properties
                    and excess(model.measures(), envelope) is None)
            if fits or not current.rule_indexes:
                current.rule_indexes.append(index)
                current.bodies.append(body)
                current.patterns, current.facts = compiler.patterns, facts
                break
            current = model = None  # close the group; the rule opens the next one
            assert attempt == 0
    return plan
