"""Reading ahead changes when pages are read, never what a run says or writes: plans byte-identical with and
without it (STEWARD_READ_AHEAD=0) on the simulators' seeds, applies that leave the same tracker behind."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from sim.github import REPO, SIM_NOW, TOKEN, GitHubSim, run_args, run_cli
from sim.harness import run
from sim.jira import CLOUD, DATACENTER, JiraSim, credentials
from sim.server import SimServer

from steward.core import report, rulefile
from steward.core.runner import Runner, RunOptions
from steward.plugins.github.tracker import GitHubTracker
from steward.plugins.github.transport import Pacer
from steward.plugins.jira.tracker import JiraTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
STAMP = "2026-11-20T09:00:00Z"


def jira_plan(server: SimServer, flavor: str, fmt: str, depth: str, parallel: str | None = None) -> str:
    """`steward plan` on the Jira simulator, reading `depth` pages ahead and (when given) `parallel` reads of
    100 in flight."""
    env = {**credentials(flavor), "STEWARD_READ_AHEAD": depth}
    if parallel is not None:
        env["STEWARD_JIRA_PARALLEL"] = parallel
    done = run(["plan", "--tracker", "jira", "--jira-url", server.url, "--jql", "project = OPS", "--now", STAMP,
                "--format", fmt], env)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


@pytest.mark.parametrize(("flavor", "seed"), [(CLOUD, 1), (DATACENTER, 2), (CLOUD, 3)])
def test_jira_plans_are_byte_identical_with_and_without_read_ahead(flavor, seed):
    sim = JiraSim(flavor, 650, seed=seed, now=NOW)
    with SimServer(sim) as server:
        for fmt in ("json", "text"):
            sequential = jira_plan(server, flavor, fmt, "0")
            assert jira_plan(server, flavor, fmt, "2") == sequential
            assert jira_plan(server, flavor, fmt, "1") == sequential
            if fmt == "json":
                assert json.loads(sequential)["findings"]


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_jira_applies_leave_the_same_tracker_with_and_without_read_ahead(flavor):
    rules = rulefile.load(rulefile.default_specs())
    outcomes = []
    for depth in (0, 2):
        sim = JiraSim(flavor, 450, seed=5, now=NOW)
        with SimServer(sim) as server:
            tracker = JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None)
            plan = Runner(tracker, rules, RunOptions(now=NOW, query="project = OPS", apply=True,
                                                     read_ahead=depth)).run()
            writes = server.requests("edit", "property", "transition", "comment_delete")
        outcomes.append((report.render(plan, rules, NOW, "apply", "json"), sim.snapshot(), writes))
    assert outcomes[0][2] > 0
    assert outcomes[1] == outcomes[0]


@pytest.mark.parametrize(("seed", "long_share"), [(1, 0.0), (2, 0.0), (5, 0.05)])
def test_github_plans_are_byte_identical_with_and_without_read_ahead(seed, long_share):
    """The third seed has issues with more than 100 history items, whose rest the reader reads."""
    sim = GitHubSim(issues=350, seed=seed, long_share=long_share)
    with SimServer(sim) as server:
        outputs = {}
        for depth in ("0", "1", "2"):
            for fmt in ("json", "text"):
                args = [a if a != "json" else fmt for a in run_args("plan", SIM_NOW)]
                result = run_cli(server.url, args, STEWARD_READ_AHEAD=depth)
                assert result.exit_code in (0, 1), result.stderr
                outputs[(depth, fmt)] = result.stdout
        assert bool(server.requests("graphql_timeline")) == bool(long_share)
    for fmt in ("json", "text"):
        assert outputs[("2", fmt)] == outputs[("0", fmt)] == outputs[("1", fmt)]
    assert json.loads(outputs[("0", "json")])["findings"]


def test_github_applies_leave_the_same_repository_with_and_without_read_ahead():
    rules = rulefile.load(rulefile.default_specs())
    outcomes = []
    for depth in (0, 2):
        sim = GitHubSim(issues=260, seed=4, long_share=0.03)
        with SimServer(sim) as server:
            tracker = GitHubTracker(REPO, TOKEN, server.url, page_size=25,
                                    pacer=Pacer(per_minute=0))
            plan = Runner(tracker, rules, RunOptions(now=SIM_NOW, apply=True, read_ahead=depth)).run()
        outcomes.append((report.render(plan, rules, SIM_NOW, "apply", "json"), sim.snapshot()))
    assert json.loads(outcomes[0][0])["actions"]
    assert outcomes[1] == outcomes[0]


def test_a_bad_read_ahead_setting_is_one_line_and_exit_2():
    sim = JiraSim(CLOUD, 5, seed=1, now=NOW)
    with SimServer(sim) as server:
        done = run(["plan", "--tracker", "jira", "--jira-url", server.url, "--jql", "project = OPS"],
                   {**credentials(CLOUD), "STEWARD_READ_AHEAD": "lots"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: STEWARD_READ_AHEAD must be a number of pages from 0 (no read-ahead) to 16, got 'lots'"]


def test_long_histories_are_read_right_after_their_page_not_when_the_run_reaches_it(monkeypatch):
    """A history longer than one answer is completed by the requests that follow the sweep's answer, and must
    add up to the count that answer gave. Were they sent only once the run reached the page (after the pages
    before it were worked on and written), a comment added meanwhile would make the history longer than
    GitHub said and end the run. Here people comment on every issue of page 2 once the reader is past it."""
    sim = GitHubSim(issues=30, seed=3, long_share=1.0)
    open_issues = sum(sim.issue(number).state == "open" for number in range(1, 31))
    original = Runner._page
    pages_worked = []

    def busy_on_the_first_page(self, page, plan):
        if not pages_worked:
            deadline = time.monotonic() + 30
            while server.requests("graphql_sweep") < 3 and time.monotonic() < deadline:
                time.sleep(0.01)  # until the reader has asked for page 3: page 2 is read and waits in the queue
            with server.lock:
                for number in range(11, 21):
                    sim.touch(number)
        pages_worked.append(len(page))
        return original(self, page, plan)

    monkeypatch.setattr(Runner, "_page", busy_on_the_first_page)
    with SimServer(sim) as server:
        tracker = GitHubTracker(REPO, TOKEN, server.url, pacer=Pacer(per_minute=0), page_size=10)
        plan = Runner(tracker, rulefile.load(rulefile.default_specs()), RunOptions(now=SIM_NOW, read_ahead=2)).run()
        assert server.requests("graphql_sweep") == 3 and server.requests("graphql_timeline") >= 10
    assert len(pages_worked) == 3 and plan.issues_seen == sum(pages_worked) == open_issues and not plan.warnings
