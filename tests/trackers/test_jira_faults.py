"""Faults and kills against the Jira simulator, Cloud and Data Center, several seeds each.

- 10% of requests fail at random (each fault kind alone, then all mixed): the run still completes every
  planned action exactly once, or reports it failed; never a duplicate comment.
- A run killed with SIGKILL right after the simulator handled a random write, then started again, ends in
  the same state as one uninterrupted run on a simulator seeded alike.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from sim import harness
from sim.jira import JiraSim, credentials
from sim.jira_people import readable_comments
from sim.server import FAULT_KINDS, Faults, SimServer

from trackers.test_jira_e2e import FLAVORS, JQL, NOW, TOKEN, assert_landed_once, cli, run

SEEDS = [1, 2, 3]


def actions_of(steps) -> list[dict]:
    return [a.to_json() for s in steps for a in s.actions]


def keyed(actions: list[dict]) -> Counter:
    return Counter(json.dumps(a, sort_keys=True) for a in actions)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("fault", [*FAULT_KINDS, "mixed"])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_faults_complete_every_action_once_or_defer_it(flavor, fault, seed):
    sim = JiraSim(flavor, 80, seed=seed, now=NOW)
    with SimServer(sim) as server:
        expected = actions_of(run(server, flavor).steps)
    kinds = FAULT_KINDS if fault == "mixed" else (fault,)
    faults = Faults(rate=0.1, kinds=kinds, seed=seed, retry_after=0.01, slow_seconds=0.5)
    with SimServer(sim, faults=faults) as server:
        plan = run(server, flavor, apply=True, env={"STEWARD_HTTP_TIMEOUT": "0.2"})
    assert sum(faults.injected.values()) > 0
    done, failed = actions_of(plan.steps), actions_of(plan.failed)
    assert not plan.deferred
    assert keyed(done) + keyed(failed) == keyed(expected)  # nothing lost, nothing made up
    assert_landed_once(sim, done)
    for action in failed:
        if action["type"] == "comment":
            assert not any(b.startswith(action["value"]) for b in readable_comments(sim, action["issue"]))
    assert all(TOKEN not in w for w in plan.warnings)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("seed", SEEDS)
def test_a_run_killed_at_a_random_write_then_rerun_ends_like_an_uninterrupted_run(flavor, seed):
    reference = JiraSim(flavor, 60, seed=seed, now=NOW)
    with SimServer(reference) as server:
        first = cli(server, flavor)
        writes = server.requests("edit")
        assert cli(server, flavor)["actions"] == []  # an uninterrupted run, then nothing left to do
    assert writes == len({a["issue"] for a in first["actions"]}) > 1

    kill_at = random.Random(seed).randint(1, writes)
    sim = JiraSim(flavor, 60, seed=seed, now=NOW)
    with SimServer(sim) as server:
        args = ["apply", "--tracker", "jira", "--jira-url", server.url, "--jql", JQL, "--now",
                NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "--format", "json"]
        killed = harness.run_killed_at(server, args, credentials(flavor, TOKEN), "edit", kill_at)
        assert killed is None  # it died right after the write landed, before reading the answer
        rerun = cli(server, flavor)
        assert server.requests("edit") == writes  # the rerun wrote only what the killed run had not
        assert cli(server, flavor)["actions"] == []
    assert len(rerun["actions"]) < len(first["actions"])
    assert sim.snapshot() == reference.snapshot()
