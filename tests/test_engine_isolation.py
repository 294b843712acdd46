"""A crash or hang inside durable_rules costs a warning, never the run or a wrong answer; the engine choice
reaches the command line; durable_rules is imported lazily and its absence is said once.

Crashes are provoked for real: rules outside durable's envelope are pushed through with the envelope
switched off (`Engine(..., envelope=UNLIMITED)`), which only tests do.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import textwrap
import time

import pytest

from helpers import ROOT, copy_board, run_json, steward
from steward.core import engine as engine_module
from steward.core import worker
from steward.core.compiled import reference
from steward.core.conditions import AllOf, AnyOf, Not
from steward.core.conditions import Test as Check
from steward.core.engine import BATCH_SIZE, Engine
from steward.core.envelope import Envelope

UNLIMITED = Envelope(stack=10**9, successors=10**9, absent_tests=10**9, rule_ends=10**9, operators=10**9,
                     properties=10**9, rules=10**9, tests=10**9)
CRASHING = [Check("n", "gt", i) for i in range(80)]  # 80 thresholds holding at once: SIGSEGV/SIGABRT


def engine_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "steward.engine" and r.levelno == logging.WARNING]


def test_a_native_crash_falls_back_for_that_ruleset_and_is_reported_once(caplog) -> None:
    worker.QUARANTINED.clear()
    caplog.set_level(logging.WARNING, logger="steward.engine")
    facts = [{"n": i % 100, "s": "x" if i % 3 else "y"} for i in range(BATCH_SIZE * 2 + 5)]
    # properties=1 puts the `n` rules and the `s` rule in two rulesets
    rules = [*CRASHING, Check("s", "eq", "y")]
    engine = Engine(rules, envelope=Envelope(**{**UNLIMITED.__dict__, "properties": 1}))
    assert engine.evaluate(facts) == reference(rules, facts)
    # durable either dies (SIGSEGV, SIGABRT) or reports its overflowing stack (error 303), then the worker
    # is stopped: both are the same fault, depending on what the heap held
    assert len(engine.fallbacks) == 1
    assert re.match(r"durable_rules (worker killed by SIG|failed: error: .*error code: 303)", engine.fallbacks[0])
    assert engine_warnings(caplog) == engine.fallbacks
    # the crashing ruleset stays on the compiled evaluator; the other one went on in a fresh worker
    crashed, healthy = engine.groups
    assert crashed.name in worker.QUARANTINED and healthy.name not in worker.QUARANTINED
    assert healthy.name in worker.the_worker(5).registered
    again = engine.evaluate(facts[:50])
    assert again == reference(rules, facts[:50]) and len(engine_warnings(caplog)) == 1


def test_a_hang_is_cut_by_the_timeout_and_falls_back(caplog) -> None:
    worker.QUARANTINED.clear()
    caplog.set_level(logging.WARNING, logger="steward.engine")
    rules = [Check("s", "eq", f"v{i}") for i in range(600)]  # 600 successors of one node: lookups never end
    facts = [{"s": f"v{i}"} for i in range(0, 700, 7)]
    engine = Engine(rules, envelope=UNLIMITED, timeout=1.5)
    began = time.monotonic()
    assert engine.evaluate(facts) == reference(rules, facts)
    assert time.monotonic() - began < 30
    assert engine.fallbacks == engine_warnings(caplog)
    assert len(engine.fallbacks) == 1 and "did not answer within 1.5 s (hung)" in engine.fallbacks[0]
    # the default envelope never sends such a ruleset: the rules are split into groups durable runs
    safe = Engine(rules)
    assert safe.evaluate(facts) == reference(rules, facts) and safe.fallbacks == []
    assert len(safe.groups) == 5  # 128 rules a group


def test_ten_thousand_rules_evaluate_exactly_in_a_child_process() -> None:
    """Any number of rules: 10,000 mixed rules over 200 issues, all three evaluators equal, no fallback.
    In a child process with a timeout, so a regression fails instead of hanging the suite."""
    script = textwrap.dedent("""
        import json, random, time
        from steward.core.compiled import reference
        from steward.core.conditions import AllOf, AnyOf, Not, Test
        from steward.core.engine import Engine

        rng = random.Random(11)
        LABELS = [f"l{i}" for i in range(300)]

        def rule(i):
            kind = i % 7
            if kind == 0:  # overlapping thresholds, under a label most issues lack
                return AllOf((Test("labels", "contains", rng.choice(LABELS[:40])),
                              Test("age", rng.choice(["gt", "gte", "lt", "lte"]), rng.randint(-5000, 5000))))
            if kind == 1:
                return Test("labels", "contains", rng.choice(LABELS))
            if kind == 2:
                return Test("status", "eq", f"s{rng.randint(0, 4999)}")
            if kind == 3:
                return AllOf((Test("age", "gt", rng.randint(5000, 9000)),
                              Not(Test("labels", "contains_any", rng.sample(LABELS, 2)))))
            if kind == 4:
                return AnyOf((Test("title", "matches", f"^t{rng.randint(0, 300)}$"),
                              Test(f"f{rng.randint(0, 150)}", "eq", rng.randint(0, 50))))
            if kind == 5:
                return Test("status", "in", [f"s{rng.randint(0, 4999)}" for _ in range(3)])
            return AllOf((Test(f"f{rng.randint(0, 150)}", "gte", rng.randint(0, 50)), Test("done", "eq", False)))

        rules = [rule(i) for i in range(10_000)]
        facts = [{"age": rng.randint(-6000, 9000), "labels": rng.sample(LABELS, rng.randint(0, 8)),
                  "status": f"s{rng.randint(0, 4999)}", "title": f"t{rng.randint(0, 300)}", "done": rng.random() < 0.5,
                  **{f"f{j}": rng.randint(0, 50) for j in rng.sample(range(151), 40)}} for _ in range(200)]
        expected = reference(rules, facts)
        out = {}
        for kind in ("durable", "compiled"):
            began = time.perf_counter()
            engine = Engine(rules, kind)
            got = engine.evaluate(facts)
            out[kind] = {"equal": got == expected, "fallbacks": engine.fallbacks,
                         "seconds": time.perf_counter() - began, "outside": len(engine.outside),
                         "rulesets": len(engine.groups)}
        out["findings"] = sum(map(len, expected))
        print(json.dumps(out))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    assert out["findings"] > 10_000, out  # rules do fire, often
    for kind in ("durable", "compiled"):
        assert out[kind]["equal"] and out[kind]["fallbacks"] == [], out
    assert out["durable"]["rulesets"] >= 10_000 // 128 and out["durable"]["outside"] == 0, out


def _child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_importing_the_engine_does_not_load_durable() -> None:
    result = _child("""
        import sys
        from steward.core import engine
        from steward import cli
        assert "durable" not in sys.modules, "imported eagerly"
        assert engine.Engine([]).evaluate([{}]) == [[]]
        print(engine.engine_status())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("durable_rules 2.0.28")


def test_without_durable_the_compiled_evaluator_runs_and_says_so_once() -> None:
    """As on Python 3.13, where the extension fails to import (`undefined symbol: PyEval_CallObject`):
    here the import is blocked the way Python blocks it (None in sys.modules)."""
    result = _child("""
        import logging, sys
        sys.modules["durable"] = None
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
        from steward.core.conditions import Test
        from steward.core.engine import Engine, durable_warnings, engine_status
        rules = [Test("n", "gt", i) for i in range(100)]
        for _ in range(2):
            engine = Engine(rules)
            assert engine.evaluate([{"n": 50}]) == [list(range(50))]
            assert engine.running == "compiled"
        print(engine_status())
        print(durable_warnings(rules)[0])
    """)
    assert result.returncode == 0, result.stderr
    status, warning = result.stdout.splitlines()
    assert status.startswith("compiled; durable_rules unavailable: ModuleNotFoundError: import of durable halted")
    assert warning.startswith("durable_rules is unavailable (ModuleNotFoundError")
    said = [line for line in result.stderr.splitlines() if line.startswith("steward.engine:")]
    assert said == [f"steward.engine: durable_rules is unavailable ({status.split(': ', 1)[1]}): "
                    "the compiled evaluator runs every rule"]


def test_version_names_the_engine() -> None:
    assert steward("--version").stdout.strip() == "steward, version 0.1.0 (engine: durable_rules 2.0.28)"
    blocked = _child("""
        import sys
        sys.modules["durable"] = None
        from steward.cli import cli
        cli(["--version"])
    """)
    assert blocked.returncode == 0
    assert blocked.stdout.startswith(
        "steward, version 0.1.0 (engine: compiled; durable_rules unavailable: ModuleNotFoundError")


def test_check_warns_about_rules_outside_the_envelope_and_still_passes(tmp_path) -> None:
    rules = tmp_path / "wide.yml"
    labels = ", ".join(f"l{i}" for i in range(40))
    rules.write_text(
        "version: 1\nrules:\n"
        "  - id: many-labels\n    title: Many labels\n    severity: info\n    rationale: Stress.\n"
        f"    when: {{labels: {{contains_any: [{labels}]}}}}\n    then:\n      - comment: hi\n"
        "  - id: plain\n    title: Plain\n    severity: info\n    rationale: Fine.\n"
        "    when: {age_days: {gt: 3}}\n    then:\n      - comment: hi\n", encoding="utf-8")
    result = steward("check", str(rules))
    assert result.exit_code == 0 and result.stdout.strip() == "ok: 2 rules in 1 file(s)"
    assert result.stderr.strip() == ("warning: rule many-labels will not run on durable_rules (tests that can match "
                                     "one issue at once: 40 (limit 32)); the compiled evaluator runs it")
    assert steward("check", str(ROOT / "rules")).stderr == ""


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_every_engine_gives_the_same_run(tmp_path, command) -> None:
    outputs = []
    for kind in ("durable", "compiled", "reference"):
        (tmp_path / kind).mkdir()
        board = copy_board(tmp_path / kind)
        outputs.append((run_json(command, board, "--engine", kind), board.read_text(encoding="utf-8")))
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0][0]["findings"]


def test_the_report_takes_the_engine_option_too(tmp_path) -> None:
    board = copy_board(tmp_path)
    texts = [steward("report", "--tracker", f"files:{board}", "--now", "2026-11-20T09:00:00Z", "--engine", kind).stdout
             for kind in ("durable", "compiled")]
    assert texts[0] == texts[1] and texts[0].startswith("## Governance review")
    assert steward("plan", "--tracker", f"files:{board}", "--engine", "drools").exit_code == 2


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown engine 'fast'"):
        Engine([], "fast")
    assert engine_module.ENGINES == ("durable", "compiled", "reference")
    assert engine_module.DEFAULT_ENGINE == "durable"


def test_the_compiled_evaluator_keeps_python_regex_semantics_and_deep_rules() -> None:
    """Python's parser refuses ~200 nested parentheses: deep rules are evaluated with `holds` from the
    generated code, with the same meaning."""
    deep = Check("title", "matches", ".*(a|b).*")
    for level in range(120):
        deep = Not(AnyOf((deep, Check("n", "eq", level)))) if level % 2 else AllOf((deep, Check("n", "ne", -level)))
    rules = [Check("title", "matches", ".*(a|b).*"), deep, Check("title", "matches", r"(?i)^X\d+$")]
    facts = [{"title": "xbx", "n": 3}, {"title": "xyz"}, {"title": "x12"}, {"title": None}, {}]
    assert Engine(rules, "compiled").evaluate(facts) == reference(rules, facts)
    assert [0 in found for found in reference(rules, facts)] == [True, False, False, False, False]
