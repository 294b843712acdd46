"""The three evaluators (durable_rules, compiled Python, the plain-Python reference `conditions.holds`)
agree on every input.

The property test generates rule conditions over every operator (nested with all/any/not) and many
fact dictionaries per example, built through `normalize` exactly as the runner builds them, and
checks `Engine.evaluate` with `durable` and with `compiled` against `holds` issue by issue, and that
durable_rules really evaluated them (no fallback). Values come from small pools so that rules match
often; the test asserts that both matches and non-matches occurred for every operator.

The regression tests below pin each durable_rules pitfall of docs/architecture.md section 6.

Note: each distinct set of compiled conditions registers a new durable ruleset for the life of the
durable worker (engine.py does this on purpose), so the property test uses few examples with many facts.
"""

from __future__ import annotations

import gc
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward.core import engine as engine_module
from steward.core.conditions import (
    ALL_OPERATORS,
    OPERATORS_BY_TYPE,
    AllOf,
    AnyOf,
    Condition,
    Not,
    holds,
    normalize,
    to_text,
)
from steward.core.conditions import (
    Test as Check,
)
from steward.core.conditions import (
    tests_in as leaves,
)
from steward.core.durable_records import project
from steward.core.engine import Engine

# ------------------------------------------------------------------------------------------ pools

FACT_TYPES = {
    "age_days": "number",
    "days_until_due": "number",
    "title": "string",
    "status": "string",
    "has_due": "boolean",
    "labels": "list",
    "unexplained_changes": "list",
}

# 1e-05, 1e16, inf and nan are written by json.dumps in forms durable_rules cannot parse; integers beyond
# 2**53 compare differently there (int64 saturation, doubles): the engine must route them to Python.
NUMBERS = [-14, -2.5, 0, 0.0, 1, 2.5, 9, 14, 14.0, 14.5, 100, 2**31, -(2**40), 10**30, 1.5e300,
           2**53, 2**53 + 1, 2**63, 9007199254740992.0, 1e-9, 1e-05, 1e16, -1e22, math.inf, -math.inf, math.nan]
# Strings that look like numbers, unicode, quotes and backslashes (JSON escaping), case variants,
# regex-meaningful text, whitespace and the empty string.
STRINGS = ["", "9", "14", "a", "b", "ab", "ba", "xyz", "A", "Blocked", "blocked", "é", "e\u0301", "日本語",
           "🙂 emoji", 'quo"te', "back\\slash", "new\nline", "  ", "a.b", "success metric: 5", "null"]
LABELS = ["a", "b", "ab", "9", "14", "é", "日本", "blocked", "escalated", "", "x y", 'q"']
REGEXES = [".*(a|b).*", "(a|b)", "^a", "b$", "^$", r"\d+", "^9$", "(?i)blocked", "日", "é", "^(a|ab)$", ".",
           r"(?im)^\s*success metrics?\s*:\s*\S", r"\\", '"', "a|", r"\n", "[ab]{2}", "^.{2,}$"]
# Raw values before `normalize`: mostly the declared type, some of other types, which normalize drops.
RAW_NOISE = [None, None, True, "7", 7, ["a"], {"a": 1}]


def raw_value(rng: random.Random, fact_type: str) -> Any:
    if rng.random() < 0.15:
        return rng.choice(RAW_NOISE)
    if fact_type == "number":
        return rng.choice(NUMBERS)
    if fact_type == "string":
        return rng.choice(STRINGS)
    if fact_type == "boolean":
        return rng.choice([True, False])
    size = rng.choice([0, 0, 1, 1, 2, 3])
    return [rng.choice(LABELS) for _ in range(size)] + ([None, 3] if rng.random() < 0.05 else [])


def make_facts(rng: random.Random, index: int) -> dict[str, Any]:
    facts = {"key": f"I-{index}"}
    for name, fact_type in FACT_TYPES.items():
        if rng.random() < 0.1:
            continue  # absent altogether, not even None
        facts[name] = normalize(raw_value(rng, fact_type), fact_type)
    return facts


# ------------------------------------------------------------------------------------------ strategies


def values_for(fact_type: str, op: str) -> st.SearchStrategy:
    """Values a type-checked rule file can give this operator on this fact type (see rulefile.check_value)."""
    scalar = {"number": st.sampled_from(NUMBERS), "string": st.sampled_from(STRINGS),
              "boolean": st.booleans()}
    if op in ("missing", "present"):
        return st.booleans()
    if op in ("gt", "gte", "lt", "lte"):
        return st.sampled_from(NUMBERS)
    if op in ("eq", "ne"):
        return scalar[fact_type]
    if op == "in":
        return st.lists(scalar[fact_type], min_size=1, max_size=4)
    if op == "contains":
        return st.sampled_from(LABELS)
    if op in ("contains_any", "contains_all"):
        return st.lists(st.sampled_from(LABELS), min_size=1, max_size=3)
    assert op == "matches"
    return st.sampled_from(REGEXES)


@st.composite
def leaf_checks(draw) -> Check:
    fact = draw(st.sampled_from(sorted(FACT_TYPES)))
    op = draw(st.sampled_from(OPERATORS_BY_TYPE[FACT_TYPES[fact]]))
    return Check(fact, op, draw(values_for(FACT_TYPES[fact], op)))


conditions = st.recursive(
    leaf_checks(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda items: AllOf(tuple(items))),
        st.lists(inner, min_size=1, max_size=3).map(lambda items: AnyOf(tuple(items))),
        inner.map(Not),
    ),
    max_leaves=6,
)


def reference(rules: list[Condition], facts_list: list[dict[str, Any]]) -> list[list[int]]:
    return [[i for i, rule in enumerate(rules) if holds(rule, facts)] for facts in facts_list]


def assert_same(rules: list[Condition], facts_list: list[dict[str, Any]], got: list[list[int]],
                kind: str = "durable") -> None:
    expected = reference(rules, facts_list)
    if got == expected:
        return
    for facts, g, e in zip(facts_list, got, expected, strict=True):
        if g != e:
            rule = sorted(set(g) ^ set(e))[0]
            alone = Engine([rules[rule]], kind).evaluate([facts])
            pytest.fail(f"{kind} and holds disagree on rule {rule}: {to_text(rules[rule])}\n"
                        f"facts: {facts!r}\n{kind} rules {g}, holds rules {e}; "
                        f"that rule alone on that fact: {kind} {alone}, holds {holds(rules[rule], facts)}")


def evaluate_all_ways(rules: list[Condition], facts_list: list[dict[str, Any]]) -> list[list[int]]:
    """durable_rules (which must not have fallen back) and compiled, each checked against the reference."""
    engine = Engine(rules)
    got = engine.evaluate(facts_list)
    assert engine.running == "durable" and engine.fallbacks == [], engine.fallbacks
    assert_same(rules, facts_list, got)
    assert_same(rules, facts_list, Engine(rules, "compiled").evaluate(facts_list), "compiled")
    assert Engine(rules, "reference").evaluate(facts_list) == got
    return got


# ------------------------------------------------------------------------------------------ property

FACTS_PER_EXAMPLE = 300


def test_engine_equals_plain_python_on_generated_rules_and_issues() -> None:
    stats: Counter = Counter()

    # CI replays the same derandomized examples on every run; other machines explore new ones each run.
    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              derandomize=bool(os.environ.get("CI")))
    @given(rules=st.lists(conditions, min_size=1, max_size=8), seed=st.integers(0, 2**32 - 1))
    def check(rules: list[Condition], seed: int) -> None:
        rng = random.Random(seed)
        facts_list = [make_facts(rng, i) for i in range(FACTS_PER_EXAMPLE)]
        evaluate_all_ways(rules, facts_list)
        stats["examples"] += 1
        stats["rules"] += len(rules)
        stats["issues"] += len(facts_list)
        for rule in rules:
            fired = sum(holds(rule, facts) for facts in facts_list)
            stats["rule fired"] += fired
            stats["rule quiet"] += len(facts_list) - fired
            for test in leaves(rule):
                passed = sum(holds(test, facts) for facts in facts_list)
                stats[(test.op, True)] += passed
                stats[(test.op, False)] += len(facts_list) - passed

    check()
    assert stats["issues"] >= 1000, stats
    assert stats["rule fired"] > 0 and stats["rule quiet"] > 0, stats
    for op in ALL_OPERATORS:
        assert stats[(op, True)] > 0 and stats[(op, False)] > 0, f"operator {op} never both held and failed"


# ------------------------------------------------------------------------------------------ targeted cases


def run(rules: list[Condition], facts_list: list[dict[str, Any]]) -> list[list[int]]:
    return evaluate_all_ways(rules, facts_list)


def test_every_operator_both_ways_on_a_fixed_issue() -> None:
    facts = {"age_days": 14, "title": "9 blocked ab", "has_due": False, "labels": ["a", "é"], "status": None}
    cases = [
        (Check("age_days", "eq", 14.0), True), (Check("age_days", "eq", 9), False),
        (Check("age_days", "ne", 9), True), (Check("age_days", "ne", 14), False),
        (Check("age_days", "gt", 9), True), (Check("age_days", "gt", 14), False),
        (Check("age_days", "gte", 14), True), (Check("age_days", "gte", 14.5), False),
        (Check("age_days", "lt", 100), True), (Check("age_days", "lt", 14), False),
        (Check("age_days", "lte", 14), True), (Check("age_days", "lte", 2.5), False),
        (Check("age_days", "in", [1, 14]), True), (Check("age_days", "in", [9]), False),
        (Check("labels", "contains", "é"), True), (Check("labels", "contains", "b"), False),
        (Check("labels", "contains_any", ["b", "a"]), True), (Check("labels", "contains_any", ["b"]), False),
        (Check("labels", "contains_all", ["a", "é"]), True), (Check("labels", "contains_all", ["a", "b"]), False),
        (Check("title", "matches", ".*(a|b).*"), True), (Check("title", "matches", "^blocked"), False),
        (Check("status", "missing", True), True), (Check("title", "missing", True), False),
        (Check("title", "present", True), True), (Check("status", "present", True), False),
        (Check("has_due", "eq", False), True), (Check("has_due", "ne", False), False),
        (Check("status", "ne", "Open"), True), (Check("status", "eq", "Open"), False),
    ]
    got = run([c for c, _ in cases], [facts])[0]
    assert got == [i for i, (_, expected) in enumerate(cases) if expected]


def test_negated_equality_is_inequality() -> None:
    """Regression: `not: {fact: value}` was compiled as plain equality (the `eq` branch ignored negation)."""
    rules = [Not(Check("type", "eq", "initiative")), Not(Check("age_days", "eq", 3)),
             Not(Check("has_due", "eq", False)), Not(Check("type", "ne", "initiative"))]
    facts = [{"type": "initiative", "age_days": 3, "has_due": False},
             {"type": "bug", "age_days": 4, "has_due": True}, {}]
    assert run(rules, facts) == [[3], [0, 1, 2], [0, 1, 2]]


def test_rules_durable_refuses_to_compile_are_still_evaluated_exactly() -> None:
    """Regression (found by this file's property test on a fresh machine): durable_rules refuses a ruleset
    of five negated pairs ("Could not create ruleset, error code: 113": more than 15 `and`/`or` in one
    rule). The envelope predicts it, so that rule runs on the compiled evaluator without ever being sent;
    the others stay on durable_rules."""
    pair = Not(AllOf((Check("age_days", "eq", -14), Check("labels", "contains", "a"))))
    hard = AllOf((pair,) * 5)
    rules = [Check("age_days", "gt", 3), hard, Check("labels", "contains", "b")]
    facts = [{"age_days": -14, "labels": ["a"]}, {"age_days": 5, "labels": ["b"]}, {}]
    engine = Engine(rules)
    assert engine.evaluate(facts) == reference(rules, facts) == [[], [0, 1, 2], [1]]
    assert list(engine.outside) == [1] and "`and`/`or` in the rule: 17 (limit 15)" in engine.outside[1]
    assert sorted(i for group in engine.groups for i in group.rule_indexes) == [0, 2]
    assert engine.fallbacks == []


@pytest.mark.parametrize("number", [1e-05, 1e16, -1e22, math.inf, -math.inf, math.nan, 2**53 + 1, 2**63, -(10**30)])
def test_numbers_durable_cannot_hold_are_evaluated_exactly(number: float) -> None:
    """json.dumps writes 1e-05 / 1e+16 / Infinity / NaN, which durable's parser cannot read (ruleset creation
    fails, the rest of a batch is silently dropped, or the process segfaults); integers beyond 2**53
    saturate or become doubles there. As fact values and as rule values they must still evaluate exactly,
    and must not disturb the other issues of the batch."""
    rules = [Check("n", "gt", 0), Check("n", "lt", 1), Check("n", "eq", number), Check("n", "ne", number),
             Check("n", "in", [number, 5]), Check("title", "eq", "x")]
    facts = [{"n": number, "title": "x"}] + [{"n": i, "title": "x" if i % 2 else "y"} for i in range(40)]
    got = run(rules, facts)
    assert all((5 in g) == (i % 2 == 1) for i, g in enumerate(got[1:]))
    assert run([Check("n", "gte", 2)], facts)[1:4] == [[], [], [0]]


def test_regex_with_alternation_uses_python_semantics() -> None:
    """durable's own regex dialect silently misses `.*(a|b).*`; Python's search is the meaning."""
    rule = Check("title", "matches", ".*(a|b).*")
    got = run([rule, Not(rule)], [{"title": "xbx"}, {"title": "xyz"}, {"title": "a"}, {"title": None}])
    assert got == [[0], [1], [0], [1]]


def test_strings_that_look_like_numbers_are_not_numbers() -> None:
    """"9" > 14 lexicographically in durable; a string fact never compares with a number."""
    rules = [Check("age_days", "gt", 14), Check("title", "eq", "9"), Check("title", "in", ["14", "9"])]
    facts = [normalize(v, "number") for v in (9, "9", 15, 14.5, True)]
    got = run(rules, [{"age_days": a, "title": "9"} for a in facts])
    assert [0 in g for g in got] == [False, False, True, True, False]
    assert all(1 in g and 2 in g for g in got)


def test_issue_keys_whose_ids_would_collide_do_not_merge() -> None:
    """I-29969 and I-500824 have the same 32-bit FNV-1a hash: as durable ids they would be one fact."""

    def fnv1a(text: str) -> int:
        value = 2166136261
        for byte in text.encode():
            value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
        return value

    assert fnv1a("I-29969") == fnv1a("I-500824")
    rules = [Check("key", "eq", "I-29969"), Check("key", "eq", "I-500824"), Check("age_days", "gt", 1)]
    facts = [{"key": "I-29969", "age_days": 5}, {"key": "I-500824", "age_days": 5}, {"key": "I-29969", "age_days": 0}]
    assert run(rules, facts) == [[0, 2], [1, 2], [0]]


NEGATIVE_ONLY = [
    Not(Check("labels", "contains", "a")),
    Check("assignee", "missing", True),
    Check("assignee", "present", False),
    Check("status", "ne", "done"),
    Not(AnyOf((Check("age_days", "gt", 3), Check("title", "matches", "x")))),
    Not(Check("labels", "contains_all", ["a", "b"])),
    AnyOf((Check("assignee", "missing", True), Not(Check("has_due", "eq", True)))),
]


def test_negative_only_rules_terminate_and_match() -> None:
    """Rules of only negative tests once matched durable's own state fact and looped forever.

    Run in a child process with a timeout, so a regression fails instead of hanging the suite.
    """
    script = textwrap.dedent("""
        import json, sys
        from steward.core.engine import Engine
        from tests_engine_negative import NEGATIVE_ONLY, FACTS
        print(json.dumps(Engine(NEGATIVE_ONLY).evaluate(FACTS)))
    """)
    module = textwrap.dedent(f"""
        from steward.core.conditions import AllOf, AnyOf, Not, Test
        NEGATIVE_ONLY = {NEGATIVE_ONLY!r}
        FACTS = {NEGATIVE_FACTS!r}
    """)
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "tests_engine_negative.py").write_text(module, encoding="utf-8")
        result = subprocess.run([sys.executable, "-c", script], cwd=folder, capture_output=True, text=True,
                                timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == reference(NEGATIVE_ONLY, NEGATIVE_FACTS)
    # and in this process, against the reference
    got = run(NEGATIVE_ONLY, NEGATIVE_FACTS)
    assert got[0] == list(range(len(NEGATIVE_ONLY)))  # an empty issue matches every negative-only rule


NEGATIVE_FACTS = [
    {},
    {"labels": [], "assignee": None, "status": None},
    {"labels": ["a", "b"], "assignee": "ana", "status": "done", "age_days": 9, "title": "x", "has_due": True},
    {"labels": ["b"], "assignee": "", "status": "todo", "age_days": 1, "title": "y", "has_due": False},
]


def test_issues_matching_nothing_do_not_hide_the_others() -> None:
    """durable runs no action in a batch if any record matched nothing: the catch-all prevents that."""
    rules = [Check("age_days", "gt", 10), Check("labels", "contains", "blocked")]
    facts = [{"age_days": 1}] * 5 + [{"age_days": 11}] + [{"labels": ["x"]}] * 5 + [{"labels": ["blocked"]}]
    assert run(rules, facts) == [[]] * 5 + [[0]] + [[]] * 5 + [[1]]
    assert run(rules, [{"age_days": 0}] * 3) == [[], [], []]


def test_iall_on_empty_list_and_missing_list() -> None:
    """`$iall` over an empty list is false in durable; negated list tests must still hold on [] and None."""
    rules = [
        Not(Check("labels", "contains", "a")),
        Not(Check("labels", "contains_any", ["a", "b"])),
        Not(Check("labels", "contains_all", ["a", "b"])),
        Check("labels", "missing", True),
        Check("labels", "contains", "a"),
    ]
    facts = [{"labels": []}, {"labels": None}, {}, {"labels": ["c"]}, {"labels": ["a"]}, {"labels": ["a", "b"]}]
    got = run(rules, facts)
    assert got[:3] == [[0, 1, 2, 3]] * 3
    assert got[3:] == [[0, 1, 2], [2, 4], [4]]


def test_more_facts_than_one_batch() -> None:
    size = engine_module.BATCH_SIZE * 2 + 7
    rules = [Check("age_days", "gte", 5), Check("key", "in", [f"I-{engine_module.BATCH_SIZE - 1}",
                                                              f"I-{engine_module.BATCH_SIZE}"])]
    facts = [{"key": f"I-{i}", "age_days": i % 10} for i in range(size)]
    got = run(rules, facts)
    assert len(got) == size
    assert got[engine_module.BATCH_SIZE - 1][-1] == 1 and got[engine_module.BATCH_SIZE][-1] == 1
    assert sum(1 for g in got if 0 in g) == sum(1 for i in range(size) if i % 10 >= 5)


def test_more_than_254_properties_are_split_across_rulesets() -> None:
    """durable allows at most 254 properties per fact; 300 regex rules plus 40 plain facts exceed it."""
    rules: list[Condition] = [Check("title", "matches", f"^w{i}( |$)") for i in range(300)]
    rules += [Check(f"n{i}", "gt", i) for i in range(40)]
    engine = Engine(rules)
    engine.prepare()
    assert len(engine.groups) >= 2
    for group in engine.groups:
        assert len(group.facts) + len(group.patterns) + 3 <= 254
    facts = [{"title": f"w{i} thing", **{f"n{j}": i for j in range(40)}} for i in range(0, 320, 7)]
    got = engine.evaluate(facts)
    assert_same(rules, facts, got)
    assert engine.fallbacks == [] and not engine.outside
    assert got[1] == [7] + [300 + j for j in range(7)]


def test_same_engine_reused_across_many_calls() -> None:
    """State is deleted after every batch: no stale matches, and re-asserting identical facts works."""
    rules = [Check("age_days", "gt", 3), Not(Check("labels", "contains", "x")), Check("title", "matches", "(a|b)")]
    engine = Engine(rules)
    rng = random.Random(7)
    same = [{"age_days": 9, "labels": ["x"], "title": "a"}]
    for call in range(60):
        facts_list = [make_facts(rng, i) for i in range(rng.choice([0, 1, 5, 50]))]
        for facts in facts_list:
            facts["labels"] = facts.get("labels") or None
        assert_same(rules, facts_list, engine.evaluate(facts_list))
        assert engine.evaluate(same) == [[0, 2]], f"call {call}"
    assert engine.evaluate([]) == []


def test_two_engines_with_identical_conditions() -> None:
    """Ruleset names cannot be registered twice: a second Engine shares the first one's rulesets."""
    rules = [Check("age_days", "lt", 2), AnyOf((Check("status", "eq", "Blocked"), Check("labels", "contains", "b")))]
    first, second = Engine(rules), Engine(list(rules))
    first.prepare(), second.prepare()
    assert [g.name for g in first.groups] == [g.name for g in second.groups]
    facts = [{"age_days": 1, "status": "Blocked"}, {"age_days": 5, "labels": ["b"]}, {"age_days": 5}]
    for _ in range(3):
        assert first.evaluate(facts) == [[0, 1], [1], []]
        assert second.evaluate(facts[::-1]) == [[], [1], [0, 1]]
    # the same conditions in another order are another ruleset, and still right
    assert Engine(rules[::-1]).evaluate(facts) == [[0, 1], [0], []]


def test_evaluate_restores_the_garbage_collector() -> None:
    """evaluate pauses automatic collection while it runs; it must leave the setting as it found it."""
    engine = Engine([Check("age_days", "gt", 1)])
    assert gc.isenabled()
    assert engine.evaluate([{"age_days": 2}]) == [[0]] and gc.isenabled()
    gc.disable()
    try:
        assert engine.evaluate([{"age_days": 2}]) == [[0]] and not gc.isenabled()
    finally:
        gc.enable()


def test_unicode_and_escaping_survive_the_engine() -> None:
    rules = [Check("title", "eq", 'quo"te'), Check("title", "eq", "back\\slash"), Check("labels", "contains", "日本"),
             Check("title", "in", ["é", "e\u0301"]), Check("status", "eq", "\ufffd")]
    facts = [{"title": 'quo"te'}, {"title": "back\\slash"}, {"labels": ["日本"]}, {"title": "e\u0301"},
             {"title": "é"}, {"status": normalize("\x00", "string")}, {"title": "quote"}]
    assert run(rules, facts) == [[0], [1], [2], [3], [3], [4], []]


def test_facts_named_like_durables_own_keys_reach_it_under_short_names() -> None:
    """Records and definitions carry each fact under a short name of its ruleset (`p0`, ...), so a fact named
    `id`, `sid` or `_kind`, which a record needs for itself, is just another fact."""
    rules: list[Condition] = [Check("id", "eq", "x"), Check("sid", "gt", 2), Check("_kind", "eq", "bug"),
                              Check("days_escalated_without_follow_up", "gte", 3), Check("title", "matches", "^a")]
    engine = Engine(rules)
    engine.prepare()
    (group,) = engine.groups
    definition = json.dumps(json.loads(group.definition))
    assert "days_escalated_without_follow_up" not in definition and '"sid"' not in definition
    facts = [{"id": "x", "sid": 3, "_kind": "bug", "days_escalated_without_follow_up": 5, "title": "ab"},
             {"id": "y", "sid": 1, "_kind": "task", "days_escalated_without_follow_up": 1, "title": "b"}]
    record = project(0, facts[0], group)
    assert record is not None and set(record) - {"id", "sid", "_kind"} <= {f"p{i}" for i in range(5)}
    assert (record["id"], record["sid"], record["_kind"]) == (0, "0", "issue")
    got = engine.evaluate(facts)
    assert_same(rules, facts, got)
    assert got == [[0, 1, 2, 3, 4], []] and engine.fallbacks == []
