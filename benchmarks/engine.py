"""Throughput and memory of the rule engine on the default governance pack.

    python benchmarks/engine.py [--sizes 10000 100000] [--seed 7]

Generates N realistic issues deterministically (seeded: an operations team's mix of tasks, bugs,
exceptions, decisions, initiatives and temporary approvals, with comments, field changes and Steward
markers), derives their facts with the runner's `derive_facts` (timed on its own), then evaluates the
default pack over the whole list twice in the same run: through durable_rules (`Engine.evaluate`) and
through the plain-Python reference (`conditions.holds`). Both must agree. Memory is measured in a third
pass under tracemalloc (tracemalloc slows Python down, so it is never on while timing), plus the
process's max RSS. Target (issue 2): >= 40,000 issues/s at 100k through durable_rules, < 300 MB peak.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from typing import Any

from steward.core.conditions import holds
from steward.core.engine import Engine
from steward.core.model import Change, Comment, Issue, Marker
from steward.core.registry import FactContext
from steward.core.rulefile import load
from steward.core.rules import facts_used
from steward.core.runner import derive_facts

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
PEOPLE = ["ana", "bo", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo"]
TYPES = (["task"] * 40 + ["bug"] * 20 + ["exception"] * 8 + ["decision"] * 8 + ["initiative"] * 6
         + ["story"] * 10 + ["incident"] * 8)
CLASSES = ["strategic", "operational", "tactical"]
OTHER_LABELS = ["blocked", "escalated", "temporary-approval", "wontfix", "on-hold", "customer", "infra",
                "security", "q4", "exception", "decision"]
STATUSES = {"todo": ["To Do", "Backlog"], "in_progress": ["In Progress", "In Progress", "In Review", "Blocked"],
            "done": ["Done", "Closed"]}
PRIORITIES = ["Lowest", "Low", "Medium", "High", "Highest"]
WORDS = "vendor access renewal rollout database failover audit budget onboarding migration policy".split()


def _ago(rng: random.Random, max_days: float) -> datetime:
    return NOW - timedelta(days=rng.uniform(0, max_days))


def make_issue(rng: random.Random, index: int) -> Issue:
    """One issue; the proportions give each default rule a realistic (small) share of findings."""
    kind = rng.choice(TYPES)
    category = rng.choices(["todo", "in_progress", "done"], [35, 35, 30])[0]
    created = _ago(rng, 400)
    updated = created + (NOW - created) * rng.random()
    labels = []
    if rng.random() < 0.8:
        labels.append(rng.choice(CLASSES))
    labels += rng.sample(OTHER_LABELS, rng.choice([0, 0, 0, 1, 1, 2]))
    assignee = rng.choice(PEOPLE) if rng.random() < 0.85 else None
    reporter = rng.choice(PEOPLE)
    due = None
    if rng.random() < (0.6 if kind in ("exception", "decision") or "temporary-approval" in labels else 0.3):
        due = NOW + timedelta(days=rng.uniform(-60, 90))
    body = " ".join(rng.choices(WORDS, k=rng.randint(5, 40)))
    if kind == "initiative" and rng.random() < 0.6:
        body += "\nSuccess metric: p95 latency under 200 ms"

    comments, changes, markers = [], [], []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 5])):
        comments.append(Comment(rng.choice(PEOPLE), created + (NOW - created) * rng.random(),
                                " ".join(rng.choices(WORDS, k=8))))
    if rng.random() < 0.25:
        at = _ago(rng, 45)
        author = rng.choice(PEOPLE)
        changes.append(Change("priority", rng.choice(PRIORITIES), rng.choice(PRIORITIES), author, at))
        if rng.random() < 0.5:  # explained: a comment by the same person within the rationale window
            comments.append(Comment(author, at + timedelta(hours=rng.uniform(-20, 20)), "Raised because ..."))
    if rng.random() < 0.3:
        changes.append(Change("status", None, rng.choice(STATUSES[category]), rng.choice(PEOPLE), _ago(rng, 30)))
    if assignee is None and rng.random() < 0.5:
        changes.append(Change("assignee", rng.choice(PEOPLE), None, rng.choice(PEOPLE), _ago(rng, 60)))
    if "escalated" in labels:
        changes.append(Change("labels", None, "escalated", rng.choice(PEOPLE), _ago(rng, 20)))
    if rng.random() < 0.1:
        markers.append(Marker("unclassified-work", 1, _ago(rng, 30)))

    return Issue(
        key=f"OPS-{index + 1}", title=f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} #{index}", body=body,
        tracker="files", project="OPS", type=kind, status=rng.choice(STATUSES[category]),
        status_category=category, priority=rng.choice(PRIORITIES), labels=labels, assignee=assignee,
        reporter=reporter, created=created, updated=updated, due=due, comments=comments, changes=changes,
        markers=markers,
    )


def generate_facts(size: int, seed: int, context: FactContext, used: list[str]) -> tuple[list[dict], float]:
    """Facts for `size` generated issues, page by page as the runner does; returns them and derive seconds.

    Like the runner, only the facts the pack uses are derived, so the list held for the run stays small.
    """
    rng = random.Random(seed)
    facts_list: list[dict[str, Any]] = []
    derive_seconds = 0.0
    for start in range(0, size, 1000):
        page = [make_issue(rng, i) for i in range(start, min(size, start + 1000))]
        began = time.perf_counter()
        derived = [derive_facts(issue, context, used) for issue in page]
        derive_seconds += time.perf_counter() - began
        facts_list.extend(derived)
    return facts_list, derive_seconds


def plain_python(conditions: list, facts_list: list[dict[str, Any]]) -> list[list[int]]:
    return [[i for i, condition in enumerate(conditions) if holds(condition, facts)] for facts in facts_list]


def max_rss_mb() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / (1024 * 1024) if sys.platform == "darwin" else usage / 1024


def run(size: int, seed: int, rules, engine: Engine, context: FactContext, used: list[str]) -> dict[str, Any]:
    conditions = [rule.condition for rule in rules.rules]
    facts_list, derive_seconds = generate_facts(size, seed, context, used)
    gc.collect()

    began = time.perf_counter()
    by_engine = engine.evaluate(facts_list)
    engine_seconds = time.perf_counter() - began

    began = time.perf_counter()
    by_python = plain_python(conditions, facts_list)
    python_seconds = time.perf_counter() - began
    if by_engine != by_python:
        wrong = sum(a != b for a, b in zip(by_engine, by_python, strict=True))
        raise SystemExit(f"engine and plain Python disagree on {wrong} of {size} issues")

    del by_engine, by_python
    gc.collect()
    tracemalloc.start()
    engine.evaluate(facts_list)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    findings = 0
    firing_issues = 0
    per_rule = [0] * len(conditions)
    for found in plain_python(conditions, facts_list):
        findings += len(found)
        firing_issues += bool(found)
        for index in found:
            per_rule[index] += 1
    return {
        "size": size, "engine": size / engine_seconds, "python": size / python_seconds,
        "ratio": python_seconds / engine_seconds,  # durable's speed as a multiple of Python's
        "derive": size / derive_seconds,
        "findings": findings, "firing": firing_issues / size, "peak": peak / 2**20, "rss": max_rss_mb(),
        "per_rule": {rule.id: count for rule, count in zip(rules.rules, per_rule, strict=True)},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rules = load(["pack:governance"])
    used = sorted(facts_used(rules.rules))
    context = FactContext(now=NOW, settings=rules.settings)
    began = time.perf_counter()
    engine = Engine([rule.condition for rule in rules.rules])
    compile_ms = (time.perf_counter() - began) * 1000
    print(f"default pack: {len(rules.rules)} rules over {len(used)} facts; engine compiled in {compile_ms:.0f} ms "
          f"({len(engine._groups)} durable ruleset(s)); Python {sys.version.split()[0]}")

    results = [run(size, args.seed, rules, engine, context, used) for size in args.sizes]

    header = (f"{'issues':>8}  {'durable issues/s':>16}  {'python issues/s':>15}  {'durable/python':>14}  "
              f"{'derive issues/s':>15}  {'findings':>8}  {'issues firing':>13}  {'evaluate peak':>13}  "
              f"{'max RSS':>8}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r['size']:>8}  {r['engine']:>16,.0f}  {r['python']:>15,.0f}  {r['ratio']:>13.1f}x  "
              f"{r['derive']:>15,.0f}  {r['findings']:>8}  {r['firing']:>12.0%}  {r['peak']:>10.1f} MB  "
              f"{r['rss']:>5.0f} MB")
    print("durable/python: durable's speed as a multiple of plain-Python `holds` on the same facts. "
          "evaluate peak: tracemalloc peak during Engine.evaluate over the whole list (a separate, untimed pass). "
          "max RSS: the whole process so far, including generating the issues and holding all their facts.")
    last = results[-1]
    print("findings per rule at", last["size"], "issues:",
          ", ".join(f"{rule} {count}" for rule, count in last["per_rule"].items()))
    verdict = "met" if last["engine"] >= 40_000 and last["rss"] < 300 else "MISSED"
    print(f"target (>= 40,000 issues/s through durable_rules, < 300 MB) at {last['size']}: {verdict}")


if __name__ == "__main__":
    main()
