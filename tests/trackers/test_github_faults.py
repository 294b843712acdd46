"""Faults on 10% of requests (429 with Retry-After, 5xx, resets, lost answers, answers past the timeout):
every planned step lands exactly once or is reported as failed, and a rerun ends where a clean run ends."""

from __future__ import annotations

import json

import pytest
from sim.github import TOKEN, GitHubSim, problems_after_apply, run_args, run_cli
from sim.server import FAULT_KINDS, Faults, SimServer

from steward.plugins.github import transport as gh_transport
from steward.plugins.transport import ATTEMPTS

ISSUES = 60
SEEDS = (11, 12, 13)
TIMEOUT = "1"  # seconds; a 'slow' answer takes 1.5 s


@pytest.fixture(autouse=True)
def no_real_waiting(monkeypatch):
    """Retry-After and backoff waits go to a sleeper that returns at once; only timeouts cost real time."""
    waits: list[float] = []
    monkeypatch.setattr(gh_transport, "SLEEP", waits.append)
    return waits


def run(sim: GitHubSim, faults: Faults | None = None) -> tuple[dict, str, SimServer]:
    with SimServer(sim, faults=faults) as server:
        result = run_cli(server.url, run_args("apply"), STEWARD_HTTP_TIMEOUT=TIMEOUT)
    output = result.stdout + result.stderr
    report = json.loads(result.stdout)
    # The exit code tells the truth: 3 when some steps were written and some failed.
    assert result.exit_code == (3 if report["failed"] else 0), result.stderr
    assert "Traceback" not in output and TOKEN not in output
    return report, output, server


def steps(report: dict, part: str) -> set[tuple[str, str, int]]:
    return {(a["issue"], a["rule"], a["level"]) for a in report[part]}


@pytest.fixture(scope="module")
def clean_runs() -> dict[int, tuple[dict, dict]]:
    """Per seed: the report and final state of a run without faults."""
    results = {}
    for seed in SEEDS:
        sim = GitHubSim(issues=ISSUES, seed=seed)
        with SimServer(sim) as server:
            report = json.loads(run_cli(server.url, run_args("apply")).stdout)
        results[seed] = (report, sim.snapshot())
    return results


@pytest.mark.parametrize("kind", FAULT_KINDS + ("all",))
@pytest.mark.parametrize("seed", SEEDS)
def test_ten_percent_faults_every_step_lands_once_or_is_reported_failed(kind, seed, clean_runs):
    clean_report, clean_state = clean_runs[seed]
    sim = GitHubSim(issues=ISSUES, seed=seed)
    faults = Faults(rate=0.1, kinds=FAULT_KINDS if kind == "all" else (kind,), seed=seed, slow_seconds=1.5)
    report, output, server = run(sim, faults)
    assert sum(faults.injected.values()) >= 2, faults.injected  # the faults did happen
    print(f"{kind} seed {seed}: {dict(faults.injected)} over {server.requests()} requests, "
          f"{len(report['failed'])} actions failed")
    # The same steps were planned as without faults: reads were retried, not cut short.
    assert steps(report, "actions") | steps(report, "failed") == steps(clean_report, "actions")
    assert problems_after_apply(sim, report) == []
    if not report["failed"]:
        assert sim.snapshot() == clean_state
    # A second run, without faults, finishes whatever failed and ends where the clean run ended.
    with SimServer(sim) as server:
        rerun = json.loads(run_cli(server.url, run_args("apply")).stdout)
    assert steps(rerun, "actions") == steps(report, "failed")
    assert sim.snapshot() == clean_state


def test_a_comment_whose_answer_was_lost_is_not_posted_twice():
    sim = GitHubSim(issues=20, seed=1)
    faults = Faults(script=[("rest_comment_create", "lost_response"), ("rest_comment_create", "lost_response")])
    report, _, server = run(sim, faults)
    assert faults.injected["lost_response"] == 2 and not report["deferred"] and not report["failed"]
    assert problems_after_apply(sim, report) == []
    assert server.requests("rest_comments") == 2  # each time the comments were read back: the marker was there


def test_a_comment_refused_every_time_is_reported_failed_with_its_reason(no_real_waiting):
    sim = GitHubSim(issues=20, seed=1)
    faults = Faults(script=[("rest_comment_create", "server_error")] * ATTEMPTS)
    report, output, _ = run(sim, faults)
    first = report["failed"][0]["issue"]
    assert {a["issue"] for a in report["failed"]} == {first} and not report["deferred"]
    assert any(w.startswith(f"{first}: 1 step(s) not written") and f"failed {ATTEMPTS} times" in w
               for w in report["warnings"])
    assert problems_after_apply(sim, report) == []  # among others: the failed issue got no comment


def test_a_slow_answer_past_the_timeout_is_retried(no_real_waiting):
    sim = GitHubSim(issues=20, seed=1)
    faults = Faults(script=[("graphql_sweep", "slow"), ("rest_label_add", "slow")], slow_seconds=1.5)
    report, _, server = run(sim, faults)
    assert faults.injected["slow"] == 2 and not report["deferred"] and not report["failed"]
    assert server.requests("graphql_sweep") == 2 and problems_after_apply(sim, report) == []


def test_a_reconcile_read_that_keeps_failing_loses_no_report(no_real_waiting):
    """The page is written when the read-back after it fails: the run says so and reports what it wrote."""
    sim = GitHubSim(issues=20, seed=1)
    faults = Faults(script=[("graphql_reconcile", "server_error")] * ATTEMPTS)
    report, _, server = run(sim, faults)
    assert report["actions"] and not report["failed"] and problems_after_apply(sim, report) == []
    assert any(w.startswith("could not read back the comments just written") for w in report["warnings"])
    assert server.requests("graphql_reconcile") >= ATTEMPTS
