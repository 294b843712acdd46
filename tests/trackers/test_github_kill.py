"""`steward apply` killed with SIGKILL at random writes, then run again, ends in the state of an uninterrupted
run: every comment (with its hidden marker) once, the same labels. Steward runs as a separate process."""

from __future__ import annotations

import json
import random

import pytest
from sim import harness
from sim.github import TOKEN, WRITE_KINDS, GitHubSim, run_args, run_cli, steward_env
from sim.server import SimServer

ISSUES = 50


def uninterrupted(seed: int) -> tuple[dict, dict, int, int]:
    """Report, final state, write and comment counts of a run without a kill (in this process: it is the
    same code, and the simulator starts from the same seed)."""
    sim = GitHubSim(issues=ISSUES, seed=seed)
    with SimServer(sim) as server:
        result = run_cli(server.url, run_args("apply"))
    assert result.exit_code == 0, result.stderr
    return (json.loads(result.stdout), sim.snapshot(), server.requests(*WRITE_KINDS),
            server.requests("rest_comment_create"))


@pytest.mark.parametrize("seed, kill_on", [(21, "write"), (22, "write"), (23, "write"), (24, "comment"),
                                           (25, "comment")])
def test_killed_twice_then_rerun_ends_like_an_uninterrupted_run(seed, kill_on):
    report, expected, writes, comments = uninterrupted(seed)
    assert report["actions"] and writes > 10
    rng = random.Random(seed)
    kinds = WRITE_KINDS if kill_on == "write" else ("rest_comment_create",)
    total = writes if kill_on == "write" else comments
    sim = GitHubSim(issues=ISSUES, seed=seed)
    with SimServer(sim) as server:
        env = steward_env(server.url)
        for _ in range(2):  # die at a random write, twice; the second run starts from what the first left
            killed_at = rng.randint(1, max(1, total // 2))
            finished = harness.run_killed_at(server, run_args("apply"), env, kinds, killed_at, timeout=120)
            assert finished is None, f"the run ended before write {killed_at}: {finished.stderr}"
        final = harness.run(run_args("apply"), env, timeout=120)
        assert final.returncode == 0, final.stderr
        assert "Traceback" not in final.stderr and TOKEN not in final.stdout + final.stderr
        assert sim.snapshot() == expected
        server.reset_counts()
        again = harness.run(run_args("apply"), env, timeout=120)
    assert json.loads(again.stdout)["actions"] == [] and server.requests(*WRITE_KINDS) == 0
