"""Where durable_rules 2.0.28 crashes, hangs or refuses: each shape swept in size, each size in a fresh worker.

    python benchmarks/durable_envelope.py [--timeout 5]

For every shape below, rule sets of growing size are sent to durable_rules as ONE ruleset with no envelope
(core/envelope.py's limits switched off), each in a fresh worker process, over issues built so that as
many tests as possible hold at once. The outcome of each size (ok, killed by a signal, no answer within the
timeout, refused) is printed beside what the envelope model predicts (core/envelope.py): the largest
stack, successor count, absent-test count and rules ending on one node that any issue can cause. The
table in docs/engine.md comes from this script; tests/test_durable_envelope.py replays a sample in CI.
"""

from __future__ import annotations

import argparse
import time

from steward.core import worker
from steward.core.compiled import reference
from steward.core.conditions import AllOf, AnyOf, Not, Test
from steward.core.engine import Engine
from steward.core.envelope import DurableCompiler, Envelope, NetworkModel, operators

UNLIMITED = Envelope(stack=10**9, successors=10**9, absent_tests=10**9, rule_ends=10**9, operators=10**9,
                     properties=10**9, rules=10**9, tests=10**9)


def thresholds(n):  # n rules on one number, all holding on the first issue
    return [Test("age", "gt", i) for i in range(n)], [{"age": n + 1}, {"age": 0}]


def distinct_facts(n):  # n rules on n different facts, all holding
    return [Test(f"f{i}", "gt", 0) for i in range(n)], [{f"f{i}": 1 for i in range(n)}, {}]


def labels(n):  # n `contains` rules on one list, the issue carrying every label
    return [Test("labels", "contains", f"l{i}") for i in range(n)], [{"labels": [f"l{i}" for i in range(n)]}]


def long_contains_any(n):  # one rule: contains_any over n labels, all carried
    items = [f"l{i}" for i in range(n)]
    return [Test("labels", "contains_any", items)], [{"labels": items}, {"labels": ["x"]}]


def same_rule(n):  # n identical rules, all holding (durable shares their nodes)
    return [Test("age", "gt", 1)] * n, [{"age": 5}]


def distinct_values(n):  # n rules `eq` on distinct strings: n successors of one node, at most one holds
    return [Test("s", "eq", f"v{i}") for i in range(n)], [{"s": "v0"}, {"s": "none"}]


def long_in_list(n):  # one rule: `in` over n strings
    return [Test("s", "in", [f"v{i}" for i in range(n)])], [{"s": "v1"}, {"s": "none"}]


def missing_tests(n):  # n rules `missing` on n facts: absent-tests off one node
    return [Test(f"f{i}", "missing", True) for i in range(n)], [{}, {"f0": 1}]


def nested_not_any(n):  # one rule nested n levels deep: not(any(... , age eq d))
    condition = Test("age", "gt", 1)
    for level in range(n):
        condition = Not(AnyOf((condition, Test("age", "eq", level))))
    return [condition], [{"age": a} for a in range(-1, n + 2)]


def negated_pairs(n):  # one rule: n negated (a and b) pairs, and-ed
    pair = Not(AllOf((Test("age", "eq", -14), Test("labels", "contains", "a"))))
    return [AllOf((pair,) * n)], [{"age": -14, "labels": ["a"]}, {"age": 1}, {}]


def or_pairs(n):  # one rule: n `any` pairs, and-ed (n + 2 `and`/`or` with the guard)
    return [AllOf(tuple(AnyOf((Test("a", "eq", i), Test("b", "eq", i))) for i in range(n)))], [{"a": 1, "b": 1}]


def many_properties(n):  # n rules on n different facts, none holding: n properties per issue
    return [Test(f"f{i}", "eq", -1) for i in range(n)], [{f"f{i}": 1 for i in range(n)}]


SHAPES = {
    "thresholds": (thresholds, [60, 63, 64, 65, 66, 100]),
    "distinct_facts": (distinct_facts, [63, 64, 65, 100]),
    "labels": (labels, [63, 64, 65, 100]),
    "long_contains_any": (long_contains_any, [63, 64, 65, 100]),
    "same_rule": (same_rule, [100, 255, 256, 300]),
    "distinct_values": (distinct_values, [300, 510, 511, 512, 600]),
    "long_in_list": (long_in_list, [300, 510, 511, 512, 1000]),
    "missing_tests": (missing_tests, [64, 65, 127, 128, 200]),
    "nested_not_any": (nested_not_any, [4, 5, 6, 7, 10]),
    "negated_pairs": (negated_pairs, [2, 3, 4, 5]),
    "or_pairs": (or_pairs, [12, 13, 14]),
    "many_properties": (many_properties, [250, 251, 252, 300]),
}


def model_of(rules) -> dict[str, int]:
    model = NetworkModel()
    compiler = DurableCompiler()
    bodies = [compiler.rule(rule) for rule in rules]
    for body in bodies:
        model.add(body)
    return {**model.measures(), "operators": max(operators(b) for b in bodies)}


def outcome(rules, facts, timeout: float) -> tuple[str, float]:
    """Run the rules as one durable ruleset in a fresh worker: 'ok', 'WRONG', or the failure."""
    worker.shutdown_worker()
    worker.QUARANTINED.clear()
    engine = Engine(rules, "durable", envelope=UNLIMITED, timeout=timeout)
    began = time.perf_counter()
    got = engine.evaluate(facts)
    seconds = time.perf_counter() - began
    if engine.fallbacks:
        return engine.fallbacks[0].split("; rules ")[0], seconds
    return ("ok" if got == reference(rules, facts) else "WRONG"), seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES))
    args = parser.parse_args(argv)
    header = f"{'shape':<18} {'n':>5}  {'stack':>5} {'succ':>5} {'absent':>6} {'ends':>4} {'ops':>3}  outcome"
    print(header)
    print("-" * len(header))
    for name in args.shapes:
        build, sizes = SHAPES[name]
        for n in sizes:
            rules, facts = build(n)
            m = model_of(rules)
            result, seconds = outcome(rules, facts, args.timeout)
            print(f"{name:<18} {n:>5}  {m['stack']:>5} {m['successors']:>5} {m['absent_tests']:>6} "
                  f"{m['rule_ends']:>4} {m['operators']:>3}  {result} ({seconds:.2f} s)", flush=True)
    worker.shutdown_worker()


if __name__ == "__main__":
    main()
