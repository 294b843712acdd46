"""Steward `plan` at a network's latency: wall time against the network floor and the sequential reader.

    python benchmarks/latency.py                                  # 10,000 issues, 0/50/200 ms, Jira and GitHub
    python benchmarks/latency.py --issues 2000 --latency 0 0.05   # a quick look
    python benchmarks/latency.py --baseline /tmp/base --latency 0 # also an older checkout, CPU side by side
    python benchmarks/latency.py --memory 10000 100000 --latency  # peak memory only

For each simulator (benchmarks/sim: Jira Cloud, GitHub over GraphQL) and each latency, in one run:
- the network floor: the read requests the plan sends times the latency (what a reader that does nothing
  between requests would wait). The latency is the time from a request to its answer, the simulator's own
  work included (benchmarks/sim/server.py), as a tracker's work happens while its client waits;
- the simulator's own time answering those reads ("sim s": building and encoding answers, under its lock):
  inside the latency once a request's share of it is shorter, but spent on the cores Steward runs on (a
  tracker's own work happens on its machines);
- the parallel floor (Jira): the same, with the reads of 100 issues counted as ceil(reads / 3), since three
  of them are in flight at once by default (plugins/jira/read.py);
- `plan` as Steward runs by default (reading two pages ahead, core/readahead.py, and on Jira three reads of
  100 in flight), on Jira with STEWARD_JIRA_PARALLEL=1 (one read at a time), and with STEWARD_READ_AHEAD=0
  and STEWARD_JIRA_PARALLEL=1 (one page after the other, the reader before issue 18): wall time,
  wall / floor;
- CPU seconds per 1,000 issues (user + system of the child process and the children it waited for) and
  peak memory (max RSS);
- with `--baseline DIR`, the same plan with `PYTHONPATH=DIR` (DIR/steward another checkout): its CPU and
  whether its output is byte-identical (or, for JSON, the same but for keys added since).

Steward runs as a child process (`python -m steward.cli`), the simulator in this process on 127.0.0.1; the
simulator's own CPU is not Steward's. Medians of `--rounds` paired rounds. On a shared machine absolute
times move; the ratios measured side by side in the same round are the figures to read.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

from child_usage import bytecode_ready, measure  # noqa: E402
from jira_sim import table  # noqa: E402
from outputs import compare  # noqa: E402
from sim.github import READ_KINDS as GITHUB_READS  # noqa: E402
from sim.github import REPO, SIM_NOW, GitHubSim, stamp, steward_env  # noqa: E402
from sim.harness import child_env  # noqa: E402
from sim.jira import CLOUD, JiraSim, credentials  # noqa: E402
from sim.server import SimServer  # noqa: E402

JIRA_READS = ("search", "issue_bulk", "bulkfetch", "comment_read", "issue_read", "property_read", "transitions",
              "myself")
JIRA_NOW = "2026-11-20T09:00:00Z"


class Tracker:
    """One simulator: how to start it and how to run `steward plan` against it."""

    def __init__(self, name: str, issues: int, seed: int):
        self.name = name
        if name == "jira":
            self.sim = JiraSim(CLOUD, issues, seed=seed)
            self.reads = JIRA_READS
            self.batched: tuple[str, ...] = ("issue_bulk",)  # the reads of 100 sent several at a time
        else:
            self.sim = GitHubSim(issues=issues, seed=seed)
            self.reads = GITHUB_READS
            self.batched = ()

    def command(self, url: str) -> list[str]:
        head = [sys.executable, "-m", "steward.cli", "plan", "--format", "json"]
        if self.name == "jira":
            return head + ["--tracker", "jira", "--jira-url", url, "--jql", "project = OPS", "--now", JIRA_NOW]
        return head + ["--tracker", f"github:{REPO}", "--now", stamp(SIM_NOW) or ""]

    def env(self, url: str, read_ahead: str | None, pythonpath: str | None = None) -> dict[str, str]:
        extra = credentials(CLOUD) if self.name == "jira" else steward_env(url)
        env = {k: v for k, v in child_env(extra).items()
               if k not in ("PYTHONPATH", "STEWARD_READ_AHEAD", "STEWARD_JIRA_PARALLEL")}
        if read_ahead is not None:
            env["STEWARD_READ_AHEAD"] = read_ahead
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        return env


def latency_table(names: list[str], issues: int, latencies: list[float], rounds: int, seed: int,
                  baseline: str | None) -> None:
    print(f"`steward plan`, {issues:,} issues, medians of {rounds} round(s)\n")
    header: tuple[str, ...] = ("tracker", "latency", "reads", "floor s", "par. floor s", "sim s", "default s",
                               "x floor",
                               "one read s", "x floor", "sequential s", "x floor", "default/seq", "CPU s/1k",
                               "peak MB")
    if baseline:
        header += ("baseline CPU s/1k", "CPU vs baseline", "output vs baseline")
    rows = [header]
    for name in names:
        tracker = Tracker(name, issues, seed)
        parallel = 3 if name == "jira" else 1
        with SimServer(tracker.sim) as server:
            for latency in latencies:
                server.latency = latency
                runs: dict[str, list[tuple[float, float, float]]] = {}
                outputs: dict[str, bytes] = {}
                reads = batched = 0
                busy: list[float] = []
                # default: read-ahead and (Jira) 3 reads of 100 in flight; one read: read-ahead, one read at a
                # time (Jira only); sequential: neither, the reader before issue 18.
                variants: list[tuple[str, dict[str, str], str | None]] = [("default", {}, None)]
                if name == "jira":
                    variants.append(("one read", {"STEWARD_JIRA_PARALLEL": "1"}, None))
                variants.append(("sequential", {"STEWARD_READ_AHEAD": "0", "STEWARD_JIRA_PARALLEL": "1"}, None))
                if baseline:
                    variants.append(("baseline", {}, baseline))
                for _ in range(rounds):
                    for label, extra, path in variants:
                        server.reset_counts()
                        out, wall, cpu, peak = measure(tracker.command(server.url),
                                                       {**tracker.env(server.url, None, path), **extra})
                        if label == "default":
                            reads = server.requests(*tracker.reads)
                            batched = server.requests(*tracker.batched)
                            busy.append(server.busy_seconds(*tracker.reads))
                        runs.setdefault(label, []).append((wall, cpu, peak))
                        outputs[label] = out
                med = {label: [statistics.median(r[i] for r in rows_) for i in range(3)]
                       for label, rows_ in runs.items()}
                # The floor: every read request one after the other, times the latency (the sequential chain).
                # With N reads of 100 in flight, those reads cost ceil(reads / N) latencies: the parallel floor.
                floor = reads * latency
                # The simulator's own time answering the reads: inside each request's latency, but on the
                # cores Steward runs on.
                sim = statistics.median(busy)
                par_floor = (reads - batched + -(-batched // parallel)) * latency
                ahead, seq = med["default"], med["sequential"]
                one = med.get("one read")
                row = (name, f"{latency * 1000:.0f} ms", str(reads), f"{floor:.1f}", f"{par_floor:.1f}",
                       f"{sim:.1f}", f"{ahead[0]:.1f}", _times(ahead[0], floor),
                       f"{one[0]:.1f}" if one else "-", _times(one[0], floor) if one else "-",
                       f"{seq[0]:.1f}", _times(seq[0], floor), f"{ahead[0] / seq[0]:.2f}",
                       f"{ahead[1] / issues * 1000:.3f}", f"{ahead[2]:.0f}")
                for label in outputs:
                    if label != "baseline" and outputs[label] != outputs["sequential"]:
                        raise SystemExit(f"{name}: output of the {label} run differs from the sequential reader's")
                if baseline:
                    base = med["baseline"]
                    row += (f"{base[1] / issues * 1000:.3f}", f"{ahead[1] / base[1]:.2f}",
                            compare(outputs["baseline"], outputs["default"]))
                rows.append(row)
                print(" | ".join(row), flush=True)
    print()
    print(table(rows))
    print("\ndefault, one-read and sequential outputs: byte-identical at every latency (checked)")


def _times(wall: float, floor: float) -> str:
    return f"{wall / floor:.2f}" if floor else "-"


def memory_table(names: list[str], sizes: list[int], seed: int) -> None:
    rows = [("tracker", "issues", "peak MB", "wall s (no latency)", f"x the {sizes[0]:,} peak")]
    for name in names:
        first = None
        for size in sizes:
            tracker = Tracker(name, size, seed)
            with SimServer(tracker.sim) as server:
                _, wall, _, peak = measure(tracker.command(server.url), tracker.env(server.url, None))
            first = first or peak
            rows.append((name, f"{size:,}", f"{peak:.0f}", f"{wall:.1f}", f"{peak / first:.2f}"))
            print(" | ".join(rows[-1]), flush=True)
            del tracker
    print()
    print(table(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--latency", type=float, nargs="*", default=[0.0, 0.05, 0.2],
                        help="seconds added to every request (none: skip the latency table)")
    parser.add_argument("--trackers", nargs="+", choices=("jira", "github"), default=["jira", "github"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline", metavar="DIR", help="a directory holding another checkout as DIR/steward")
    parser.add_argument("--memory", type=int, nargs="*", default=[], metavar="ISSUES",
                        help="sizes for the peak-memory table (at no latency), e.g. 10000 100000")
    args = parser.parse_args()
    bytecode_ready(args.baseline)
    if args.latency:
        latency_table(args.trackers, args.issues, args.latency, args.rounds, args.seed, args.baseline)
    if args.memory:
        memory_table(args.trackers, args.memory, args.seed)


if __name__ == "__main__":
    main()
