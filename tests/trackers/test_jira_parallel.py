"""Several reads of 100 issues in flight (STEWARD_JIRA_PARALLEL, plugins/jira/read.py) change when issues are
read, never what a run says or writes: plans byte-identical with one read at a time and with several, on
Cloud and Data Center seeds; applies that leave the same tracker behind; rate limits still waited out; at
most N reads in flight; a bad setting is one line and exit 2."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from typing import Any

import pytest
from sim.harness import run
from sim.jira import CLOUD, DATACENTER, WRITE_KINDS, JiraSim, credentials
from sim.server import Faults, Request, Response, SimServer

from steward.core import report, rulefile
from steward.core.runner import Runner, RunOptions
from steward.plugins.jira.tracker import JiraTracker
from trackers.test_read_ahead import jira_plan

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
READS = {CLOUD: "issue_bulk", DATACENTER: "search"}


@pytest.mark.parametrize(("flavor", "seed"), [(CLOUD, 1), (DATACENTER, 2), (CLOUD, 3)])
def test_plans_are_byte_identical_with_one_read_or_several_in_flight(flavor, seed):
    sim = JiraSim(flavor, 650, seed=seed, now=NOW)
    with SimServer(sim) as server:
        for fmt in ("json", "text"):
            sequential = jira_plan(server, flavor, fmt, "0", parallel="1")
            assert jira_plan(server, flavor, fmt, "2", parallel="3") == sequential
            assert jira_plan(server, flavor, fmt, "0", parallel="8") == sequential
            if fmt == "json":
                assert json.loads(sequential)["findings"]


def apply_in_process(flavor: str, parallel: int, bulk_size: int, faults: Faults | None = None) -> tuple[Any, ...]:
    rules = rulefile.load(rulefile.default_specs())
    sim = JiraSim(flavor, 450, seed=5, now=NOW)
    slept: list[float] = []
    with SimServer(sim, faults=faults) as server:
        tracker = JiraTracker(server.url, {**credentials(flavor), "STEWARD_JIRA_PARALLEL": str(parallel)},
                              sleep=slept.append, bulk_size=bulk_size)
        assert tracker.reader.parallel == parallel
        result = Runner(tracker, rules, RunOptions(now=NOW, query="project = OPS", apply=True)).run()
        writes = server.requests(*WRITE_KINDS)
        changelogs = server.requests("bulkfetch")
    return report.render(result, rules, NOW, "apply", "json"), sim.snapshot(), writes, changelogs, slept


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_applies_leave_the_same_tracker_with_one_read_or_several_in_flight(flavor):
    # A bulk changelog call every 20 cut changelogs, so they come between the parallel reads (Cloud).
    one = apply_in_process(flavor, 1, 20)
    three = apply_in_process(flavor, 3, 20)
    assert one[2] > 0 and json.loads(one[0])["actions"]
    if flavor == CLOUD:
        assert one[3] > 1
    assert three[:4] == one[:4]


def test_rate_limited_parallel_reads_are_waited_out_and_change_nothing():
    script = [("issue_bulk", "rate_limit"), ("issue_bulk", "rate_limit"), ("issue_bulk", "rate_limit")]
    calm = apply_in_process(CLOUD, 3, 1000)
    limited = apply_in_process(CLOUD, 3, 1000, Faults(script=script, retry_after=7))
    assert limited[4].count(7.0) == 3  # each 429 waited out for its Retry-After, then sent again
    assert limited[:4] == calm[:4]


class Counting:
    """A simulator that records how many reads of issues are in flight at once: from kind(), asked when a
    request arrives, to done(), called as its answer leaves (the server's `after`, once the latency passed).

    Until `expected` reads have been in flight together, each read that arrives is held (up to HOLD seconds)
    for the others: on a loaded machine a client's third request may leave only after its first answer
    came back, and the count would then say how busy the machine was, not how many reads the client keeps
    in flight. A client that never sends `expected` reads at once still shows fewer; one that sends more
    shows more."""

    HOLD = 5.0

    def __init__(self, sim: JiraSim, kind: str, expected: int):
        self.sim, self.watched, self.expected = sim, kind, expected
        self.changed = threading.Condition()
        self.now = self.most = 0

    def kind(self, request: Request) -> str:
        kind = self.sim.kind(request)
        if kind == self.watched:
            with self.changed:
                self.now += 1
                self.most = max(self.most, self.now)
                self.changed.notify_all()
                self.changed.wait_for(lambda: self.most >= self.expected, timeout=self.HOLD)
        return kind

    def is_write(self, request: Request) -> bool:
        return self.sim.is_write(request)

    def handle(self, request: Request) -> Response:
        return self.sim.handle(request)

    def done(self, kind: str) -> None:
        if kind == self.watched:
            with self.changed:
                self.now -= 1


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
@pytest.mark.parametrize("parallel", [1, 3])
def test_at_most_n_reads_are_in_flight(flavor, parallel):
    counting = Counting(JiraSim(flavor, 1200, seed=7, now=NOW), READS[flavor], parallel)
    with SimServer(counting, latency=0.03, after=counting.done) as server:
        jira_plan(server, flavor, "json", "0", parallel=str(parallel))
    # Data Center's snapshot is a search too, but it is read alone, before the reads of 100 start.
    assert counting.most == parallel


def test_a_bad_parallel_setting_is_one_line_and_exit_2():
    sim = JiraSim(CLOUD, 5, seed=1, now=NOW)
    with SimServer(sim) as server:
        done = run(["plan", "--tracker", "jira", "--jira-url", server.url, "--jql", "project = OPS"],
                   {**credentials(CLOUD), "STEWARD_JIRA_PARALLEL": "0"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: STEWARD_JIRA_PARALLEL must be a number of reads from 1 (one at a time) to 8, got '0'"]
