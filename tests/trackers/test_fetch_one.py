"""`steward explain` and `steward event` read the one issue they are about: one request, not a sweep."""

from __future__ import annotations

import pytest
from sim import harness
from sim.github import GitHubSim, run_cli
from sim.jira import CLOUD, DATACENTER, JiraSim, credentials
from sim.server import SimServer

NOW = "2026-11-20T09:00:00Z"


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_explain_on_jira_reads_one_issue_in_one_request(flavor):
    sim = JiraSim(flavor, issues=300, seed=3)
    key = sorted(sim.issues)[150]
    with SimServer(sim) as server:
        done = harness.run(["explain", "--tracker", "jira", "--jira-url", server.url, "--rule", "unowned-exception",
                            "--now", NOW, key], credentials(flavor))
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"{key} · unowned-exception")
        # One GET /issue; a Cloud issue with more than 100 histories would add one bulk changelog call.
        assert server.requests() == server.requests("issue_read") == 1


def test_explain_on_jira_names_a_missing_issue():
    sim = JiraSim(CLOUD, issues=5, seed=3)
    with SimServer(sim) as server:
        done = harness.run(["explain", "--tracker", "jira", "--jira-url", server.url, "--rule", "unowned-exception",
                            "--now", NOW, "OPS-99999"], credentials(CLOUD))
        assert done.returncode == 2 and "OPS-99999" in done.stderr and "Traceback" not in done.stderr
        assert server.requests() == 1


def test_explain_on_github_reads_one_issue_in_one_request():
    sim = GitHubSim(issues=250, seed=2)
    with SimServer(sim) as server:
        result = run_cli(server.url, ["explain", "--tracker", "github:octo-org/governance", "--rule",
                                      "unowned-exception", "--now", NOW, "#120"])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("#120 · unowned-exception")
        assert server.requests() == server.requests("graphql_issue") == 1
