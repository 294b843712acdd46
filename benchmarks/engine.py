"""Throughput and memory of the three rule evaluators, side by side, in one run.

    python benchmarks/engine.py [--sizes 10000 100000] [--rule-counts 9 100 1000] [--rules-issues 10000]

Generates N realistic issues deterministically (seeded: an operations team's mix of tasks, bugs,
exceptions, decisions, initiatives and temporary approvals, with comments, field changes and Steward
markers), derives their facts with the runner's `derive_facts` (timed on its own), then evaluates them:
- with the default pack, at each of --sizes, through `durable` (durable_rules in its worker process, the
  default), `compiled` (generated Python) and `reference` (plain `conditions.holds`, the baseline every
  ratio is against), and through durable_rules in THIS process (`durable, in-process`: the same rulesets,
  records and batches without the worker) to show what the isolation costs;
- with 9, 100 and 1,000 rules (--rule-counts) over --rules-issues issues: the pack's rules repeated with
  their thresholds moved per copy, as a team's variants of a rule would be (many overlapping thresholds).
Timings include building the engine and, for durable, starting the worker and creating its rulesets:
what a run pays. All evaluators must agree. Memory: a separate untimed pass per evaluator under tracemalloc
(this process), and the peak RSS of this process and of durable's worker.
Target (issue 2): >= 40,000 issues/s at 100k through durable_rules, < 300 MB peak.
"""

from __future__ import annotations

import argparse
import array
import gc
import random
import sys
import time
import tracemalloc
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from steward.core import worker
from steward.core.conditions import AllOf, AnyOf, Condition, Not, Test
from steward.core.engine import BATCH_SIZE, Engine, engine_status, in_process_rulesets, peak_rss_kb
from steward.core.model import Change, Comment, Issue, Marker
from steward.core.registry import FactContext
from steward.core.rulefile import load
from steward.core.rules import facts_used
from steward.core.runner import FactDeriver

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
    derive = FactDeriver(context, used)  # built once, as the runner builds it once per run
    for start in range(0, size, 1000):
        page = [make_issue(rng, i) for i in range(start, min(size, start + 1000))]
        began = time.perf_counter()
        derived = [derive(issue) for issue in page]
        derive_seconds += time.perf_counter() - began
        facts_list.extend(derived)
    return facts_list, derive_seconds


def shifted(condition: Condition, by: int) -> Condition:
    """The condition with every integer threshold moved by `by` (booleans and lists kept)."""
    if isinstance(condition, Test):
        value = condition.value
        return replace(condition, value=value + by) if type(value) is int else condition
    if isinstance(condition, Not):
        return Not(shifted(condition.item, by))
    items = tuple(shifted(item, by) for item in condition.items)
    return AllOf(items) if isinstance(condition, AllOf) else AnyOf(items)


def variants(conditions: list[Condition], count: int) -> list[Condition]:
    return [shifted(conditions[i % len(conditions)], i // len(conditions)) for i in range(count)]


def durable_in_process(engine: Engine, facts_list: list[dict[str, Any]], rulesets) -> list[list[int]]:
    """What the worker does, done here: the same rulesets, records and batches, no process boundary
    (automatic garbage collection paused, as Engine.evaluate does)."""
    engine.prepare()
    gc.disable()
    try:
        return _durable_in_process(engine, facts_list, rulesets)
    finally:
        gc.enable()


def _durable_in_process(engine: Engine, facts_list: list[dict[str, Any]], rulesets) -> list[list[int]]:
    matched: list[set[int]] = [set() for _ in facts_list]
    for group in engine.groups:
        assert not rulesets.register(group.name, group.definition), "refused"
        for start in range(0, len(facts_list), BATCH_SIZE):
            request = engine._request(group, facts_list[start:start + BATCH_SIZE], start, matched)
            if request is not None:
                pairs = array.array("i")
                pairs.frombytes(rulesets.evaluate(group.name, request[2], request[3]))
                for at in range(0, len(pairs), 2):
                    matched[start + pairs[at]].add(pairs[at + 1])
    outside = Engine([engine.conditions[i] for i in sorted(engine.outside)], "compiled").evaluate(facts_list)
    for found, more in zip(matched, outside, strict=True):
        found.update(sorted(engine.outside)[j] for j in more)
    return [sorted(found) for found in matched]


EVALUATORS = ("durable", "durable, in-process", "compiled", "reference")


def reset_peak_rss() -> None:
    """Start this process's peak-RSS count afresh (Linux), so each size reports its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        pass


def measure(conditions: list[Condition], facts_list: list[dict[str, Any]], rulesets) -> dict[str, Any]:
    """Seconds per evaluator (answers checked against the reference, then dropped), tracemalloc peaks,
    both processes' peak RSS; durable in this process last, so its memory stays out of those peaks."""
    worker.shutdown_worker()  # durable pays its worker's start and its rulesets' creation, as a run does
    gc.collect()
    reset_peak_rss()
    out: dict[str, Any] = {}
    expected: list[list[int]] = []
    for name in ("reference", "compiled", "durable", "durable, in-process"):
        if name == "durable, in-process":  # first the peaks of a run: this process, and durable's worker
            out["parent_rss"], out["worker_rss"] = peak_rss_kb() / 1024, (worker.worker_max_rss_kb() or 0) / 1024
            worker.shutdown_worker()
        gc.collect()
        began = time.perf_counter()
        if name == "durable, in-process":
            got = durable_in_process(Engine(conditions), facts_list, rulesets)
        else:
            engine = Engine(conditions, name)
            got = engine.evaluate(facts_list)
        out[name] = {"seconds": time.perf_counter() - began}
        if name == "reference":
            expected = got
        elif got != expected:
            wrong = sum(a != b for a, b in zip(got, expected, strict=True))
            raise SystemExit(f"{name} and the reference disagree on {wrong} of {len(facts_list)} issues")
        if name == "durable":
            out["rulesets"], out["fallbacks"] = len(engine.groups), engine.fallbacks
        del got
        if name != "durable, in-process":
            gc.collect()
            tracemalloc.start()
            engine.evaluate(facts_list)  # the same engine again: built, and durable's rulesets created
            out[name]["peak"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    out["size"], out["findings"] = len(facts_list), sum(map(len, expected))
    return out


def print_table(title: str, rows: list[tuple[str, dict[str, Any]]], parent_rss: bool = True) -> None:
    """One block per row; `parent_rss` False where this process still holds what earlier tables freed
    (Python keeps freed memory, so its peak RSS would describe them)."""
    print(f"\n{title}")
    header = (f"{'':>14}  {'evaluator':<20} {'issues/s':>10}  {'vs reference':>12}  {'eval peak':>9}  "
              f"{'rulesets':>8}  {'findings':>9}")
    print(header)
    print("-" * len(header))
    for label, r in rows:
        for name in EVALUATORS:
            speed = r["size"] / r[name]["seconds"]
            ratio = r["reference"]["seconds"] / r[name]["seconds"]
            peak = f"{r[name]['peak']:.1f} MB" if "peak" in r[name] else "-"
            rulesets = str(r["rulesets"]) if name.startswith("durable") else "-"
            print(f"{label:>14}  {name:<20} {speed:>10,.0f}  {ratio:>11.2f}x  {peak:>9}  {rulesets:>8}  "
                  f"{r['findings']:>9,}")
        cost = r["durable"]["seconds"] / r["durable, in-process"]["seconds"]
        here = f"{r['parent_rss']:.0f} MB here + " if parent_rss else ""
        print(f"{'':>14}  isolation: the worker takes {cost:.2f}x the time of durable_rules in-process; peak RSS "
              f"{here}{r['worker_rss']:.0f} MB worker; fallbacks: {r['fallbacks'] or 'none'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rule-counts", type=int, nargs="*", default=[9, 100, 1000])
    parser.add_argument("--rules-issues", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rules = load(["pack:governance"])
    pack = [rule.condition for rule in rules.rules]
    used = sorted(facts_used(rules.rules))
    context = FactContext(now=NOW, settings=rules.settings)
    rulesets = in_process_rulesets()
    print(f"default pack: {len(pack)} rules over {len(used)} facts; engine: {engine_status()}; "
          f"Python {sys.version.split()[0]}")

    starts = []
    for _ in range(5):
        worker.shutdown_worker()
        began = time.perf_counter()
        worker.the_worker(20.0)
        starts.append(time.perf_counter() - began)
    worker.shutdown_worker()
    print(f"durable worker start (a fresh interpreter importing durable_rules): median of 5: "
          f"{sorted(starts)[2] * 1000:.0f} ms")

    rows, derive = [], {}
    for size in args.sizes:
        facts_list, derive_seconds = generate_facts(size, args.seed, context, used)
        derive[size] = size / derive_seconds
        rows.append((f"{size:,} issues", measure(pack, facts_list, rulesets)))
        del facts_list
    print_table("Default pack (9 rules)", rows)
    print("derive facts: " + ", ".join(f"{speed:,.0f} issues/s at {size:,}" for size, speed in derive.items()))

    if args.rule_counts:
        facts_list, _ = generate_facts(args.rules_issues, args.seed, context, used)
        table = [(f"{count:,} rules", measure(variants(pack, count), facts_list, rulesets))
                 for count in args.rule_counts]
        print_table(f"Rule count ({args.rules_issues:,} issues; the pack's rules repeated, thresholds moved)", table,
                    parent_rss=False)
        del facts_list
    worker.shutdown_worker()

    print("\nissues/s: issues over the time to build the engine and evaluate them all (durable: including its "
          "worker's start and its rulesets' creation). vs reference: speed as a multiple of plain-Python `holds` "
          "measured in the same run. eval peak: tracemalloc peak of this process during one evaluate over all "
          "issues (a separate, untimed pass; durable's own memory is in its worker, see peak RSS).")
    print("peak RSS: of this process while generating the issues, holding all their facts and running durable, "
          "compiled and reference (the in-process durable pass comes after), and of durable's worker.")
    last = rows[-1][1]
    durable_speed = last["size"] / last["durable"]["seconds"]
    memory = last["parent_rss"] + last["worker_rss"]
    verdict = "met" if durable_speed >= 40_000 and memory < 300 else "MISSED"
    print(f"target (>= 40,000 issues/s through durable_rules, < 300 MB for both processes) at {last['size']:,}: "
          f"{verdict} ({durable_speed:,.0f} issues/s, {memory:.0f} MB)")


if __name__ == "__main__":
    main()
