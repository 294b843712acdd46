"""Time and memory of the governance report (`steward report`) for 100,000 findings.

    python benchmarks/report.py [--findings 100000] [--history-runs 52] [--seed 7]

Generates one realistic issue per finding with the engine benchmark's generator (comments, field changes,
Steward markers), gives each one finding of a default-pack rule, and feeds them page by page (500 a page,
as the runner does) through the same `ReviewCollector` the CLI attaches to the runner. Then it renders
the HTML page (with a trend chart per headline measure over `--history-runs` recorded runs) and the
Markdown summary. Baselines measured in the same run on the same data: deriving the run's facts for
these issues (the runner's own per-issue work before evaluation), and rendering the plain `plan` text
report of the same findings. Memory is measured in a separate, untimed pass under tracemalloc.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import NOW, make_issue  # noqa: E402  (the engine benchmark's issue generator)

from steward.core.history import History  # noqa: E402
from steward.core.model import Finding, Issue, Plan  # noqa: E402
from steward.core.registry import FactContext  # noqa: E402
from steward.core.report import render  # noqa: E402
from steward.core.review import ReviewCollector  # noqa: E402
from steward.core.review_html import render_html  # noqa: E402
from steward.core.review_markdown import render_markdown  # noqa: E402
from steward.core.rulefile import load  # noqa: E402
from steward.core.rules import facts_used
from steward.core.runner import FactDeriver  # noqa: E402

PAGE = 500
TRACKER = "files:benchmark.json"


def pages(count: int, seed: int, rules) -> list[tuple[list[Issue], list[list[Finding]]]]:
    rng = random.Random(seed)
    # Rough shares of the engine benchmark's findings per rule, so severities and ladders look real.
    weights = {"unowned-exception": 3, "decision-without-review-date": 10, "review-date-passed": 7,
               "priority-change-without-rationale": 13, "blocked-without-escalation": 25,
               "escalation-without-follow-up": 6, "temporary-approval-expired": 2,
               "initiative-without-success-metric": 4, "unclassified-work": 30}
    chosen = [rule for rule in rules.rules if rule.id in weights]
    result = []
    for start in range(0, count, PAGE):
        issues = [make_issue(rng, i) for i in range(start, min(count, start + PAGE))]
        picks = rng.choices(chosen, [weights[r.id] for r in chosen], k=len(issues))
        findings = [[Finding(issue.key, rule.id, rule.severity, {})] for issue, rule in zip(issues, picks, strict=True)]
        result.append((issues, findings))
    return result


def history_runs(path: Path, runs: int, findings: int, seed: int):
    rng = random.Random(seed)
    history = History(path)
    for week in range(runs):
        total = int(findings * (1.3 - 0.3 * week / max(1, runs - 1)) * rng.uniform(0.95, 1.05))
        history.append(NOW - timedelta(weeks=runs - 1 - week), "apply", TRACKER, None, {
            "issues": findings, "findings": total, "high_critical": total // 4, "no_owner": total // 7,
            "priority_changes": 900, "priority_explained": 400 + 8 * week,
            "median_follow_up_hours": 90 - week, "steps": 100, "deferred": 0})
    return history


def collect(data, rules) -> ReviewCollector:
    collector = ReviewCollector(rules, NOW, TRACKER)
    for issues, findings in data:
        collector(issues, [{} for _ in issues], findings)
    return collector


def timed(function, *args):
    began = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - began


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--history-runs", type=int, default=52)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rules = load(["pack:governance"])
    began = time.perf_counter()
    data = pages(args.findings, args.seed, rules)
    generated = time.perf_counter() - began
    all_findings = [f for _, page in data for per_issue in page for f in per_issue]

    context = FactContext(now=NOW, settings=rules.settings)
    used = sorted(facts_used(rules.rules))
    derive = FactDeriver(context, used)  # built once, as the runner builds it once per run
    _, derive_s = timed(lambda: [derive(issue) for issues, _ in data for issue in issues])
    plan = Plan(findings=all_findings, issues_seen=args.findings)
    text, text_s = timed(render, plan, rules, NOW, "plan", "text")

    with tempfile.TemporaryDirectory() as scratch:
        history = history_runs(Path(scratch) / "history.sqlite", args.history_runs, args.findings, args.seed)
        runs = history.runs(TRACKER, None)
    collector, collect_s = timed(collect, data, rules)
    review = collector.result(plan)
    html, html_s = timed(render_html, review, runs)
    markdown, markdown_s = timed(render_markdown, review, runs)
    html_plain, html_plain_s = timed(render_html, review, None)

    tracemalloc.start()
    memory_review = collect(data, rules).result(plan)
    after_collect, collect_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    render_html(memory_review, runs)
    render_markdown(memory_review, runs)
    _, render_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del memory_review

    tracemalloc.start()
    findings_copy = [Finding(f.issue, f.rule, f.severity, {}) for f in all_findings]
    findings_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    del findings_copy

    mb = 2**20
    report_s = collect_s + html_s
    print(f"{review.findings:,} findings on {review.issues:,} issues (pages of {PAGE}); {len(rules.rules)} rules; "
          f"{len(runs)} recorded runs for the trend charts; Python {sys.version.split()[0]}")
    print(f"  (generating the issues took {generated:.1f} s and is not counted below)")
    rows = [
        ("baseline: derive the run's facts for these issues", derive_s, ""),
        ("baseline: plain `plan` text report of the same findings", text_s, f"{len(text) / mb:.1f} MB of text"),
        ("review: collect (the runner observer, every page)", collect_s, f"{collect_s / derive_s:.2f}x derive"),
        ("review: render HTML with 5 trend charts", html_s, f"{len(html.encode()) / 1024:.0f} KB"),
        ("review: render HTML without history", html_plain_s, f"{len(html_plain.encode()) / 1024:.0f} KB"),
        ("review: render Markdown", markdown_s, f"{len(markdown.encode()) / 1024:.0f} KB (limit 976 KB)"),
    ]
    for label, seconds, note in rows:
        print(f"  {label:<58} {seconds:7.2f} s   {note}")
    print(f"  report = collect + HTML: {report_s:.2f} s = {report_s / text_s:.1f}x the plain text report, "
          f"{report_s / derive_s:.2f}x deriving the facts")
    print(f"  memory (tracemalloc, untimed pass): collect peak {collect_peak / mb:.1f} MB, review kept "
          f"{after_collect / mb:.1f} MB; render peak {render_peak / mb:.1f} MB; for scale, the run's "
          f"{len(all_findings):,} Finding objects alone take {findings_mb:.1f} MB")
    verdict = "met" if report_s < 10 else "MISSED"
    print(f"target (report generation for {args.findings:,} findings in seconds, < 10 s): {verdict}")


if __name__ == "__main__":
    main()
