"""Facts derived once-resolved (core/runner.py `FactDeriver`) equal the lookup-per-issue they replaced."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import DEMO_BOARD
from steward.core import plugins, rulefile
from steward.core.conditions import normalize
from steward.core.fields import mappings
from steward.core.registry import FactContext, calendar_of
from steward.core.rules import facts_used
from steward.core.runner import _COERCE, FactDeriver
from steward.plugins.files.tracker import BoardContext, issue_from_board

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
values = (scalars | st.lists(scalars, max_size=4) | st.tuples(st.text()) | st.sets(st.text(max_size=3), max_size=3)
          | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
          | st.sampled_from(["a\x00b", "\ud800x", "plain", "émoji 🙂"]))


@settings(max_examples=500, deadline=None)
@given(values)
def test_each_types_coercion_is_normalize(value):
    for fact_type in ("number", "string", "boolean", "list", "date", "unknown"):
        coerce = _COERCE.get(fact_type)
        expected = normalize(value, fact_type)
        got = coerce(value) if coerce else None
        assert got is expected or got == expected  # `is`: NaN passes through as itself


def reference(issue, ctx: FactContext, names) -> dict:
    """The derivation as it was: every name looked up for every issue."""
    facts = {}
    mapped = mappings(ctx.settings)
    for name in names:
        spec, argument = plugins.fact(name, mapped)
        key = calendar_of(name)
        facts[name] = normalize(spec.value(issue, ctx.for_rule(key) if key else ctx, argument), spec.type)
    return facts


def test_the_demo_board_derives_the_same_facts():
    rules = rulefile.load(rulefile.default_specs())
    board = json.loads(DEMO_BOARD.read_text(encoding="utf-8"))
    context = BoardContext.of(board, "board.json", None, {})
    ctx = FactContext(now=NOW, settings=rules.settings)
    all_facts = [name for name, spec in plugins.facts().items() if spec.parameter is None]
    for names in (facts_used(rules.rules), all_facts):
        written_out, one_by_one = FactDeriver(ctx, names), FactDeriver(ctx, names, many=False)
        for raw in board["issues"]:
            issue = issue_from_board(raw, "board.json", board=context)
            expected = reference(issue, ctx, names)
            assert written_out(issue) == expected
            assert one_by_one(issue) == expected
            assert list(written_out(issue)) == list(expected)  # the same order of keys, for the report


def test_past_a_limit_of_the_compiler_the_facts_are_derived_one_by_one(monkeypatch):
    from steward.core import runner

    def refuse(source):
        raise RecursionError("too deeply nested")

    monkeypatch.setattr(runner, "_compiled", refuse)
    steps = [("age", lambda issue, context: 3, None, _COERCE["number"]),
             ("flag", lambda issue, context: 1, None, _COERCE["boolean"])]
    assert runner._written_out(steps)(None) == {"age": 3, "flag": None}


def test_a_fact_name_is_written_as_its_text_whatever_its_repr_says():
    from steward.core.runner import _written_out

    ran = []

    class Named(str):
        def __repr__(self):
            ran.append(self)
            return "__import__('os').getpid() and 'other'"

    derive = _written_out([(Named("age_days"), lambda issue, context: 4, None, _COERCE["number"])])
    assert derive(None) == {"age_days": 4}
    assert derive(None) == {"age_days": 4}
    assert ran == []


def test_deriving_the_facts_of_one_issue_compiles_nothing(monkeypatch):
    """`derive_facts` (rule tests, explanations) builds a deriver per issue: writing one out would cost more
    than the derivation it speeds up."""
    from steward.core import runner

    def refuse(source):
        raise AssertionError("compiled for a single issue")

    monkeypatch.setattr(runner, "_compiled", refuse)
    rules = rulefile.load(rulefile.default_specs())
    board = json.loads(DEMO_BOARD.read_text(encoding="utf-8"))
    issue = issue_from_board(board["issues"][0], "board.json", board=BoardContext.of(board, "board.json", None, {}))
    ctx = FactContext(now=NOW, settings=rules.settings)
    names = facts_used(rules.rules)
    assert runner.derive_facts(issue, ctx, names) == reference(issue, ctx, names)


@settings(max_examples=300, deadline=None)
@given(value=values, name=st.text(max_size=8))
def test_the_written_out_derivation_coerces_as_each_type_does(value, name):
    """`FactDeriver` writes the facts of an issue out as one generated function, with fast paths for numbers
    and booleans: every value of every type comes out as `normalize` makes it, under any fact name."""
    from steward.core.runner import _missing, _written_out

    for fact_type in ("number", "string", "boolean", "list", "date"):
        derive = _written_out([(name, lambda issue, context: value, None, _COERCE.get(fact_type, _missing))])
        got = derive(None)[name]
        expected = normalize(value, fact_type)
        assert got is expected or got == expected
