"""Steward on GitHub, measured against the GitHub simulator (benchmarks/sim/github.py) over loopback HTTP.

    python benchmarks/github_sim.py [--issues 10000] [--latency 0.05] [--seed 1] [--violations 0.05]
                                    [--long-share 0] [--changed 25] [--naive-issues N] [--skip-naive]
                                    [--memory-issues 100000] [--skip-memory]

Every figure comes from one run of this script. Steward runs as a child process (`python -m steward.cli`)
against a simulator in this process that adds `--latency` to every request and counts requests by kind;
peak memory is the child's peak resident set size. Rows:

- steward plan: the GraphQL sweep alone (reads). Floor: ceil(open issues / 100) requests, plus one request
  per further 100 timeline items of an issue with more than 100 (none unless --long-share > 0), plus one
  GET /user when some issue read carries a marked comment (only Steward's own are its state: outside
  Actions, the token's user says who Steward is).
- steward plan, 2 project fields: the same sweep with two Projects (v2) fields mapped (a date and a single
  select, set on a third of the issues) and the default pack beside a rule on them. Floor: the plan's, plus
  one request for the project's fields; the values come in the sweep's own pages. (Every row reads each
  issue's parent and sub-issues in the same pages.)
- steward apply: the same sweep plus the repository's label list, and the writes. Write floor: one comment
  per marked step, one request per label added or removed, one per label new to the repository. Its reads
  include what makes two runs at once safe: per page written to, one re-check of the acted-on issues just
  before writing and one reconcile read just after (plus one GET /user, asked once to tell Steward's own
  comments from people's). The line under the table shows apply's reads and writes per 10,000 issues before
  those (the same run's requests without the re-check, reconcile and GET /user, which change nothing
  else) and after, beside the floors.
- steward apply --since: after `--changed` issues got a new comment, a run `--since` the end of the first
  reads only those (one sweep page per 100 changed issues).
- naive reader: what per-issue tools (actions/stale and the like) do over REST: list the open issues, then
  for each one GET its comments and GET its events (each paginated). It evaluates nothing and writes nothing,
  so its figures are a lower bound. `--naive-issues` measures it on a smaller repository (its request count
  is linear in N; the ratio is then computed per issue and says so).
- memory: `steward plan` at 0 latency on `--issues` and on `--memory-issues` issues: peak memory is bounded
  by a page when the two are close.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from sim.github import READ_KINDS, SIM_NOW, WRITE_KINDS, GitHubSim, run_args, stamp, steward_env  # noqa: E402
from sim.github_projects import SimField  # noqa: E402
from sim.server import SimServer  # noqa: E402

from steward.core.markers import find_markers  # noqa: E402

# Runs a command in this interpreter and reports its peak RSS (KiB on Linux) on stderr when it exits.
PEAK = ("import atexit, resource, sys\n"
        "atexit.register(lambda: sys.stderr.write("
        "'\\nsteward-peak-kib=%d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n")
STEWARD = PEAK + "from steward.cli import main\nsys.argv = ['steward'] + sys.argv[1:]\nmain()\n"
# The adapter's sweep alone, every page dropped once read: what the adapter itself holds.
SWEEP = PEAK + ("from steward.plugins.github.tracker import make_tracker\n"
                "from steward.core.readahead import resolved\nimport os\n"
                "tracker = make_tracker(os.environ['SWEEP_REPO'], {})\n"
                "print(sum(len(page) for page in resolved(tracker.fetch(None, None))))\n")
NAIVE = PEAK + f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\nimport github_sim\n" \
                "github_sim.naive_worker(sys.argv[1])\n"


FIELDS = """\
version: 1
settings: {github: {projects: [octo-org/5]}}
fields:
  next_review: {github: "Review date", type: date}
  risk: {github: "Risk", type: select}
rules:
  - id: bench-risky-review-overdue
    title: High-risk work is reviewed on time
    severity: medium
    rationale: The benchmark's rule on two project fields.
    when: {risk: {eq: High}, days_until_next_review: {lt: 0}}
    then:
      - comment: "Review overdue."
"""


def with_project(sim: GitHubSim, numbers: list[int]) -> None:
    """A project with a review date and a risk, set on a third of these issues."""
    project = sim.add_project("octo-org", 5, "Governance", [SimField("PVTF_date", "Review date", "DATE"),
                                                             SimField("PVTF_risk", "Risk", "SINGLE_SELECT",
                                                                      ["Low", "Medium", "High"])])
    for number in numbers[::3]:
        sim.set_value(project, number, "Review date", (SIM_NOW + timedelta(days=number % 60 - 30)).date().isoformat(),
                      SIM_NOW - timedelta(days=40))
        sim.set_value(project, number, "Risk", ("Low", "Medium", "High")[number % 3], SIM_NOW - timedelta(days=40))


class Measured:
    def __init__(self, label: str, reads: int, writes: int, wall: float, peak_mb: float, output: str,
                 kinds: dict[str, int] | None = None):
        self.label, self.reads, self.writes, self.wall, self.peak_mb = label, reads, writes, wall, peak_mb
        self.report = json.loads(output) if output.startswith("{") else None
        self.kinds = kinds or {}


def child(server: SimServer, code: str, args: list[str], label: str) -> Measured:
    server.reset_counts()
    env = {**os.environ, **steward_env(server.url), "STEWARD_DISABLE_PLUGINS": "1"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                          cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{label} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    peak = [line for line in done.stderr.splitlines() if line.startswith("steward-peak-kib=")]
    return Measured(label, server.requests(*READ_KINDS), server.requests(*WRITE_KINDS), wall,
                    int(peak[-1].split("=")[1]) / 1024 if peak else float("nan"), done.stdout, dict(server.counts))


def asks_identity(sim: GitHubSim, numbers: list[int]) -> int:
    """1 when one of these issues has a comment with a marker: Steward then asks once who it is (GET /user)."""
    return int(any(find_markers(body) for number in numbers for body in sim.comments(number)))


def write_floor(report: dict, known_labels: set[str]) -> int:
    marked = {(a["issue"], a["rule"], a["level"]) for a in report["actions"] if a["level"] > 0}
    comments = len(marked | {(a["issue"], a["rule"], a["level"]) for a in report["actions"] if a["type"] == "comment"})
    changes = sum(len(a["value"]) for a in report["actions"] if a["type"] in ("add_labels", "remove_labels"))
    new = {label for a in report["actions"] if a["type"] == "add_labels" for label in a["value"]} - known_labels
    return comments + changes + len(new)


SAFETY_READS = ("graphql_recheck", "graphql_reconcile", "rest_user")  # what two runs at once cost


def safety_line(apply: Measured, read_floor: int, identity: int, writes_floor: int, issues: int) -> str:
    """apply's reads and writes per 10,000 issues without and with the GET /user, re-check and reconcile."""
    scale = 10_000 / issues
    recheck, reconcile, user = (apply.kinds.get(kind, 0) for kind in SAFETY_READS)
    before = apply.reads - recheck - reconcile - user
    return (f"steward apply per 10,000 issues: reads {before * scale:,.0f} before (floor {read_floor * scale:,.0f})"
            f", {apply.reads * scale:,.0f} after: +{user * scale:,.0f} GET /user (floor +{identity * scale:,.0f}), "
            f"+{recheck * scale:,.0f} re-check, +{reconcile * scale:,.0f} reconcile; "
            f"writes {apply.writes * scale:,.0f} (floor {writes_floor * scale:,.0f}; a run alone deletes no copy)")


def naive_worker(url: str) -> None:
    """The per-issue reader: list open issues, then each one's comments and events (sequential, paginated)."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"token {os.environ['GITHUB_TOKEN']}"

    def pages(path: str, params: dict | None = None):
        next_url: str | None = url + path
        while next_url:
            answer = session.get(next_url, params=params, timeout=60)
            answer.raise_for_status()
            yield answer.json()
            next_url, params = answer.links.get("next", {}).get("url"), None

    repo = f"/repos/{os.environ['NAIVE_REPO']}"
    issues = events = 0
    for page in pages(f"{repo}/issues", {"state": "open", "per_page": 100}):
        for issue in page:
            if "pull_request" in issue:
                continue
            issues += 1
            for path in ("comments", "events"):
                for items in pages(f"{repo}/issues/{issue['number']}/{path}", {"per_page": 100}):
                    events += len(items)
    print(json.dumps({"issues_seen": issues, "items": events}))


def row(m: Measured, floor_reads: str, floor_writes: str, issues: int) -> str:
    return (f"{m.label:<34}{m.reads:>10,}{floor_reads:>8}{m.writes:>10,}{floor_writes:>8}{m.wall:>10.1f}"
            f"{m.peak_mb:>10.1f}{issues:>9,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--violations", type=float, default=0.05, help="share of issues breaking a rule")
    parser.add_argument("--long-share", type=float, default=0.0, help="share of issues with >100 timeline items")
    parser.add_argument("--changed", type=int, default=25, help="issues changed before the --since run")
    parser.add_argument("--naive-issues", type=int, help="repository size for the naive reader (default --issues)")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--memory-issues", type=int, default=100_000)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()

    def repo(issues: int) -> GitHubSim:
        return GitHubSim(issues=issues, seed=args.seed, violation_rate=args.violations, long_share=args.long_share)

    sim = repo(args.issues)
    open_numbers = [n for n in range(1, args.issues + 1) if sim.issue(n).state == "open"]
    nested = sum(max(0, math.ceil(len(sim.issue(n).events) / 100) - 1) for n in open_numbers)
    floor = math.ceil(len(open_numbers) / 100)
    identity = asks_identity(sim, open_numbers)
    known = set(sim.repo_labels)
    print(f"GitHub simulator: {args.issues:,} issues ({len(open_numbers):,} open), seed {args.seed}, "
          f"{args.latency * 1000:.0f} ms latency per request, {args.violations:.0%} breaking a rule, "
          f"{args.long_share:.0%} with >100 timeline items ({nested} extra timeline pages)")
    print(f"{'':<34}{'reads':>10}{'floor':>8}{'writes':>10}{'floor':>8}{'wall s':>10}{'peak MB':>10}{'issues':>9}")
    with SimServer(sim, latency=args.latency) as server:
        plan = child(server, STEWARD, run_args("plan"), "steward plan (GraphQL)")
        print(row(plan, f"{floor + nested + identity:,}", "0", plan.report["issues_seen"]), flush=True)
        with_project(sim, open_numbers)
        fields = Path(os.environ.get("TMPDIR", "/tmp")) / "steward-bench-fields.yml"
        fields.write_text(FIELDS, encoding="utf-8")
        mapped = child(server, STEWARD, run_args("plan", SIM_NOW, "--rules", "pack:governance", "--rules",
                                                 str(fields)), "steward plan, 2 project fields")
        print(row(mapped, f"{floor + nested + identity + 1:,}", "0", mapped.report["issues_seen"]), flush=True)
        apply = child(server, STEWARD, run_args("apply"), "steward apply")
        print(row(apply, f"{floor + nested + identity + 1:,}", f"{write_floor(apply.report, known):,}",
                  apply.report["issues_seen"]), flush=True)
        since = sim.clock + timedelta(seconds=1)
        for number in open_numbers[:: max(1, len(open_numbers) // args.changed)][:args.changed]:
            sim.touch(number)  # a person comments
        incremental = child(server, STEWARD, run_args("apply", SIM_NOW, "--since", stamp(since) or ""),
                            f"steward apply --since ({args.changed} changed)")
        # Its floor: one sweep page per 100 changed issues, plus the label list if it writes a label.
        changed = open_numbers[:: max(1, len(open_numbers) // args.changed)][:args.changed]
        since_floor = math.ceil(args.changed / 100) + (1 if incremental.writes else 0) + asks_identity(sim, changed)
        print(row(incremental, f"{since_floor}", f"{write_floor(incremental.report, known):,}",
                  incremental.report["issues_seen"]), flush=True)
    naive = None
    if not args.skip_naive:
        naive_size = args.naive_issues or args.issues
        naive_sim = sim if naive_size == args.issues else repo(naive_size)
        with SimServer(naive_sim, latency=args.latency) as server:
            os.environ["NAIVE_REPO"] = f"{naive_sim.owner}/{naive_sim.name}"
            naive = child(server, NAIVE, [server.url], "naive per-issue reader (REST)")
            naive.label += f" on {naive_size:,}" if naive_size != args.issues else ""
        print(row(naive, "-", "0", naive.report["issues_seen"]), flush=True)
        per_issue = naive.report["issues_seen"] / plan.report["issues_seen"]
        scale = "" if naive_size == args.issues else f" (naive scaled by {1 / per_issue:.2f} to {args.issues:,})"
        print(f"naive / steward plan{scale}: read requests {naive.reads / per_issue / plan.reads:.0f}x, "
              f"wall time {naive.wall / per_issue / plan.wall:.0f}x, peak memory {naive.peak_mb / plan.peak_mb:.2f}x")
    print(safety_line(apply, floor + nested + 1, identity, write_floor(apply.report, known), args.issues))
    print(f"steward plan reads / floor: {plan.reads / (floor + nested + identity):.2f}; "
          f"apply writes / floor: {apply.writes / max(1, write_floor(apply.report, known)):.2f}; "
          f"--since run read {incremental.report['issues_seen']} of {len(open_numbers):,} open issues")
    if not args.skip_memory:
        print(f"peak memory at 0 ms latency, {args.issues:,} vs {args.memory_issues:,} issues "
              f"(`steward --version` alone: {child_baseline():.1f} MB):")
        os.environ["SWEEP_REPO"] = f"{sim.owner}/{sim.name}"
        for label, code, args_ in (("adapter sweep alone", SWEEP, []), ("steward plan", STEWARD, run_args("plan"))):
            memory = []
            for size in (args.issues, args.memory_issues):
                with SimServer(repo(size)) as server:
                    memory.append(child(server, code, args_, label))
            findings = ", ".join(f"{len(m.report['findings']):,}" for m in memory if m.report)
            print(f"  {label:<22}{memory[0].peak_mb:>8.1f} MB{memory[1].peak_mb:>8.1f} MB   "
                  f"growth {memory[1].peak_mb / memory[0].peak_mb:.2f}x for {args.memory_issues / args.issues:.0f}x "
                  f"the issues ({memory[0].wall:.0f} s, {memory[1].wall:.0f} s)"
                  + (f"; findings kept in the run's plan: {findings}" if findings else ""), flush=True)


def child_baseline() -> float:
    done = subprocess.run([sys.executable, "-c", STEWARD, "--version"], capture_output=True, text=True, cwd=ROOT)
    return int(done.stderr.strip().split("=")[1]) / 1024


if __name__ == "__main__":
    main()
