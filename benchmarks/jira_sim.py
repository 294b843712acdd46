"""Steward's Jira adapter against the Jira simulator, beside a naive per-issue reader measured in the same run.

    python benchmarks/jira_sim.py                                  # 10,000 issues, 50 ms a request, Cloud
    python benchmarks/jira_sim.py --issues 1000 --latency 0.01 --skip-naive --memory-issues 0   # quick look
    python benchmarks/jira_sim.py --flavor datacenter

Prints, per reader: read requests against the floor (ceil(M/100) reads of whole issues + ceil(T/1000) bulk
changelog calls, M issues returned, T with a changelog cut at 40), split into the snapshot of matching ids or
keys, the sweep's reads of whole issues, the bulk changelog calls and the rest; write requests against K
acted-on issues; wall time at the simulated latency and peak memory (max RSS of the child process). For
`apply`, the reads before writing (the plan's) and the reads it adds: a re-check of the issues a page is
about to write and a reconcile read after (one each per page that writes), and `GET /myself`. Then an
incremental `--since` run after a few issues changed; a plan with two mapped custom fields and the hierarchy
facts (parent, children, blockers) beside the same plan without them, on a simulator with custom fields,
sub-tasks, epics and Blocks links (`--skip-fields` leaves it out); and peak memory at 10,000 and 100,000 issues (a plan,
no latency) to show memory is bounded by a page and a list of ids, not by the issues.

Steward runs as a child process (`python -m steward.cli`), the naive reader too (this file with
--naive-child): a keys-only search, then `GET /rest/api/2/issue/{key}?expand=changelog` for every key, one
after the other as a per-issue client does. The simulator serves both on 127.0.0.1 (threaded), never the
network.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent

from sim.harness import child_env, steward_command  # noqa: E402
from sim.jira import CLOUD, DATACENTER, JiraSim, credentials  # noqa: E402
from sim.jira_fields import FieldsJiraSim  # noqa: E402
from sim.server import SimServer  # noqa: E402

JQL = "project = OPS"
READ_KINDS = ("search", "issue_bulk", "bulkfetch", "comment_read", "issue_read", "property_read", "transitions",
              "myself")
WRITE_KINDS = ("edit", "property", "transition", "comment_delete")


def purposes(received: list, cloud: bool) -> dict[str, int]:
    """Read requests by purpose: the snapshot (ids or keys only), the sweep, the re-check before writing
    (comments and labels), the reconcile after (comments), bulk changelogs, and the rest."""
    counts = dict.fromkeys(("snapshot", "sweep", "recheck", "reconcile", "changelog", "other"), 0)
    for request in received:
        if request.method not in ("GET", "POST") or (request.method, request.path.endswith("/transitions")) == \
                ("POST", True):
            continue  # writes
        if request.path.endswith("/changelog/bulkfetch"):
            counts["changelog"] += 1
            continue
        if request.path.endswith("/issue/bulkfetch"):
            fields = request.json()["fields"]
        elif request.path.endswith(("/search", "/search/jql")):
            fields = request.query.get("fields", ["id"])[0].split(",")
        else:
            counts["other"] += 1
            continue
        kind = {("id",): "snapshot", ("comment", "labels"): "recheck", ("comment",): "reconcile"}.get(tuple(fields))
        counts[kind or "sweep"] += 1
    return counts


def measured(command: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run a child; (result, wall seconds, peak RSS in MB) of that child alone: wait4 reaps it with its usage."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, env=child_env(env), stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(command, process.returncode, out.read(), err.read())
    return done, wall, usage.ru_maxrss / 1024


def steward(server: SimServer, flavor: str, mode: str, *extra: str) -> tuple[dict, float, float]:
    command = steward_command(mode, "--tracker", "jira", "--jira-url", server.url, "--jql", JQL,
                              "--format", "json", *extra)
    done, wall, peak = measured(command, credentials(flavor))
    if done.returncode != 0:
        raise SystemExit(f"steward {mode} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout), wall, peak


def naive(server: SimServer, flavor: str) -> tuple[float, float]:
    done, wall, peak = measured([sys.executable, __file__, "--naive-child", server.url, "--flavor", flavor],
                                credentials(flavor))
    if done.returncode != 0:
        raise SystemExit(f"naive reader failed: {done.stderr[-2000:]}")
    return wall, peak


def naive_child(url: str, flavor: str) -> None:
    """The per-issue reader: keys page by page, then one GET per issue with its changelog; keeps every issue."""
    import requests

    from steward.plugins.jira.parse import issue_from_jira
    from steward.plugins.jira.pushdown import FIELDS

    session = requests.Session()
    if flavor == CLOUD:
        session.auth = (os.environ["JIRA_EMAIL"], os.environ["JIRA_API_TOKEN"])
        search, version = f"{url}/rest/api/3/search/jql", "3"
    else:
        session.headers["Authorization"] = f"Bearer {os.environ['JIRA_TOKEN']}"
        search, version = f"{url}/rest/api/2/search", "2"
    keys, token, start = [], None, 0
    while True:
        params = {"jql": JQL, "fields": "key", "maxResults": 100}
        params.update({"nextPageToken": token} if token else {} if flavor == CLOUD else {"startAt": start})
        page = session.get(search, params=params, timeout=60).json()
        keys += [issue["key"] for issue in page["issues"]]
        start, token = len(keys), page.get("nextPageToken")
        if (flavor == CLOUD and not token) or (flavor != CLOUD and start >= page["total"]) or not page["issues"]:
            break
    issues = []
    for key in keys:
        raw = session.get(f"{url}/rest/api/{version}/issue/{key}", timeout=60,
                          params={"fields": ",".join(FIELDS), "expand": "changelog",
                                  "properties": "steward.markers"}).json()
        issues.append(issue_from_jira(raw, url))
    print(len(issues))


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    parser.add_argument("--flavor", choices=(CLOUD, DATACENTER), default=CLOUD)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive reader (N x latency)")
    parser.add_argument("--memory-issues", type=int, default=100_000, help="second size for the memory run; 0: skip")
    parser.add_argument("--changed", type=int, default=20, help="issues changed before the incremental run")
    parser.add_argument("--skip-fields", action="store_true", help="leave out the mapped fields and hierarchy run")
    parser.add_argument("--naive-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_child:
        naive_child(args.naive_child, args.flavor)
        return

    n, flavor = args.issues, args.flavor
    print(f"Jira simulator ({flavor}), {n:,} issues, {args.latency * 1000:.0f} ms a request, default rule pack\n")
    sim = JiraSim(flavor, n, seed=args.seed)
    with SimServer(sim, latency=args.latency) as server:
        sim.received = []
        plan, plan_wall, plan_peak = steward(server, flavor, "plan")
        reads = {kind: server.requests(kind) for kind in READ_KINDS}
        plan_purposes = purposes(sim.received, sim.cloud)
        served, truncated = sim.served, sim.served_truncated
        floor = math.ceil(served / 100) + math.ceil(truncated / 1000)
        sim.received = None

        # incremental: a few issues change after the first run; the second reads only those
        since = datetime.now(timezone.utc) - timedelta(seconds=1)
        for key in list(sim.issues)[:: max(1, n // args.changed)][:args.changed]:
            sim.touch(key, priority="Highest")
        server.reset_counts()
        served_before = sim.served
        incremental, inc_wall, _ = steward(server, flavor, "plan", "--since",
                                           since.strftime("%Y-%m-%dT%H:%M:%SZ"))
        inc_reads = server.requests(*READ_KINDS)
        inc_served = sim.served - served_before

        server.reset_counts()
        sim.received = []
        applied, apply_wall, apply_peak = steward(server, flavor, "apply")
        writes = server.requests(*WRITE_KINDS)
        apply_reads = server.requests(*READ_KINDS)
        apply_purposes = purposes(sim.received, sim.cloud)
        sim.received = None
        acted_on = len({a["issue"] for a in applied["actions"]})

        naive_wall = naive_peak = None
        if not args.skip_naive:
            server.reset_counts()
            naive_wall, naive_peak = naive(server, flavor)
            naive_reads = server.requests(*READ_KINDS)

    def split(counts: dict[str, int]) -> str:
        return (f"{counts['snapshot']}/{counts['sweep']}/{counts['changelog']}/{counts['recheck']}/"
                f"{counts['reconcile']}/{counts['other']}")

    rows = [("reader", "reads (snapshot/sweep/changelog/re-check/reconcile/other)", "floor", "reads/floor",
             "writes", "K", "wall time", "peak memory")]
    plan_reads = sum(reads.values())
    rows.append(("steward plan", f"{plan_reads} ({split(plan_purposes)})", str(floor), f"{plan_reads / floor:.2f}",
                 "0", "-", f"{plan_wall:.1f} s", f"{plan_peak:.0f} MB"))
    rows.append(("steward apply", f"{apply_reads} ({split(apply_purposes)})", str(floor),
                 f"{apply_reads / floor:.2f}", str(writes), str(acted_on), f"{apply_wall:.1f} s",
                 f"{apply_peak:.0f} MB"))
    if naive_wall is not None:
        pages = math.ceil(n / 100)
        rows.append(("naive per-issue", f"{naive_reads} (0/{pages}/0/0/0/{naive_reads - pages})",
                     str(floor), f"{naive_reads / floor:.2f}", "-", "-", f"{naive_wall:.1f} s",
                     f"{naive_peak:.0f} MB"))
    print(table(rows))
    print(f"\nissues returned by the search: {served:,} (M); with a changelog cut at 40: "
          f"{truncated:,} (T); evaluated {plan['issues_seen']:,}, findings {len(plan['findings']):,}")
    if naive_wall is not None:
        print(f"naive / steward: {naive_reads / sum(reads.values()):.1f}x the read requests, "
              f"{naive_wall / plan_wall:.1f}x the wall time, {naive_peak / plan_peak:.1f}x the peak memory")
    print(f"writes / K = {writes / max(acted_on, 1):.2f} (one PUT per acted-on issue)")
    per = 10_000 / n
    extra_other = apply_purposes["other"] - plan_purposes["other"]
    print(f"per 10,000 issues: reads before writing {plan_reads * per:.0f}, reads of an apply "
          f"{apply_reads * per:.0f} (+{(apply_reads - plan_reads) * per:.0f}: re-check "
          f"{apply_purposes['recheck'] * per:.0f}, reconcile {apply_purposes['reconcile'] * per:.0f}, other "
          f"{extra_other * per:.0f}), writes {writes * per:.0f}; floor {floor * per:.0f} reads")
    print(f"incremental --since after {args.changed} issues changed: {inc_reads} read requests, "
          f"{inc_served} issues returned, {incremental['issues_seen']} evaluated, {inc_wall:.1f} s "
          f"(full read: {sum(reads.values())} requests, {plan_wall:.1f} s)")

    if not args.skip_fields:
        fields_and_hierarchy(n, flavor, args.seed, args.latency)

    if args.memory_issues:
        peaks = []
        for size in (n, args.memory_issues):
            big = JiraSim(flavor, size, seed=args.seed)
            with SimServer(big) as server:
                result, wall, peak = steward(server, flavor, "plan")
            peaks.append((size, peak, wall, result["issues_seen"], len(result["findings"])))
            del big
        rows = [("issues", "evaluated", "findings", "peak memory", "wall time (no latency)")]
        rows += [(f"{size:,}", f"{seen:,}", f"{found:,}", f"{peak:.0f} MB", f"{wall:.1f} s")
                 for size, peak, wall, seen, found in peaks]
        print("\n" + table(rows))
        print(f"peak memory {peaks[1][0] // peaks[0][0]}x the issues: {peaks[1][1] / peaks[0][1]:.2f}x")


FIELDS_HEADER = """\
version: 1
fields:
  next_review: {jira: "Next review date", type: date}
  risk: {jira: "Risk level", type: select}
rules:
"""
PLAIN_RULE = """\
  - id: stale
    title: Stale
    severity: low
    rationale: Work moves.
    when: {age_days: {gte: 0}}
    then: [{comment: Stale.}]
"""
FIELDS_RULE = """\
  - id: stale
    title: Stale, with its review, risk, children and blockers
    severity: low
    rationale: Work moves.
    when:
      age_days: {gte: 0}
      any:
        - days_until_next_review: {lt: 0}
        - risk: {eq: High}
        - open_children: {gte: 1}
        - children_without_owner: {gte: 1}
        - open_blockers: {gte: 1}
        - parent_status_category: {eq: done}
    then: [{comment: "{{ open_children }} open children, {{ open_blockers }} blockers."}]
"""


def fields_and_hierarchy(n: int, flavor: str, seed: int, latency: float) -> None:
    """Reads of a plan with two mapped fields and the hierarchy facts, beside the same plan without them."""
    rows = [("plan", "reads", "of which searches/bulk reads", "field list", "above the floor", "floor",
             "per 10,000 issues")]
    with tempfile.TemporaryDirectory() as folder:
        for label, text in (("no mapped field, no hierarchy fact", "version: 1\nrules:\n" + PLAIN_RULE),
                            ("two mapped fields + hierarchy", FIELDS_HEADER + FIELDS_RULE)):
            path = Path(folder) / "rules.yml"
            path.write_text(text, encoding="utf-8")
            sim = FieldsJiraSim(flavor, n, seed=seed, hierarchy=True)
            with SimServer(sim, latency=latency) as server:
                steward(server, flavor, "plan", "--rules", str(path))
                reads = server.requests(*READ_KINDS, "field")
                sweep = server.requests("search", "issue_bulk")
                fields = server.requests("field")
            floor = math.ceil(n / (5000 if sim.cloud else 1000)) + math.ceil(n / 100)
            rows.append((label, str(reads), str(sweep), str(fields), str(sweep - floor), str(floor),
                         f"{reads * 10_000 / n:.0f}"))
    print("\n" + table(rows))
    print("above the floor: children the sweep did not match, read by key (0 here: the sweep covers the project)")


if __name__ == "__main__":
    main()
