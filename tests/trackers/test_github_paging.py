"""Paging that does not trust GitHub: a repeated GraphQL `endCursor`, a REST `Link: rel=next` pointing to the
page it is on, an endless timeline cursor. Each used to loop forever (re-writing the repeated issues); now each
is one line naming GitHub and the repository, the run stops before any further write, and the exit code says
whether anything was written. A total that disagrees with what arrived is a warning."""

from __future__ import annotations

import json

import pytest
from contract.known import unlisted
from contract.trackers import GitHubContract
from sim.github import REPO, TOKEN, problems_after_apply, run_args, run_cli
from sim.github_broken import BrokenGitHub
from sim.server import SimServer


def run(sim: BrokenGitHub, command: str, **env: str):
    with SimServer(sim, contract=GitHubContract()) as server:
        result = run_cli(server.url, run_args(command), **env)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and TOKEN not in output
    # Every request Steward sent is one GitHub describes (answers are broken on purpose: not checked here).
    assert unlisted("github", [v for v in server.violations if v.side == "request"]) == []
    return result, server


@pytest.mark.parametrize("reads", ["graphql", "rest"])
def test_a_repeating_page_stops_a_plan_with_nothing_written(reads):
    sim = BrokenGitHub(issues=150, seed=3, paging="repeat_cursor" if reads == "graphql" else "self_link")
    result, server = run(sim, "plan", STEWARD_GITHUB_READS=reads)
    assert result.exit_code == 2, result.stdout + result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert f"GitHub ({REPO})" in message and "nothing is read or written twice" in message, message
    assert "already read" in message
    # One page, then the repeated one, then nothing more: the sweep did not go round.
    listing = "graphql_sweep" if reads == "graphql" else "rest_issues"
    assert server.requests(listing) == 2


@pytest.mark.parametrize("reads", ["graphql", "rest"])
def test_a_repeating_page_stops_an_apply_before_any_further_write(reads):
    clean = BrokenGitHub(issues=150, seed=3)
    with SimServer(clean) as server:
        clean_run = json.loads(run_cli(server.url, run_args("apply"), STEWARD_GITHUB_READS=reads).stdout)
    # The first page: 100 open issues (GraphQL filters by state), or the first 100 of every state (REST).
    read = clean._ordered("CREATED_AT", {"OPEN"} if reads == "graphql" else {"OPEN", "CLOSED"}, None)[:100]
    first_page = {(a["issue"], a["rule"], a["level"]) for a in clean_run["actions"] if int(a["issue"][1:]) in read}
    assert first_page and len(first_page) < len(clean_run["actions"])
    sim = BrokenGitHub(issues=150, seed=3, paging="repeat_cursor" if reads == "graphql" else "self_link")
    result, _ = run(sim, "apply", STEWARD_GITHUB_READS=reads)
    assert result.exit_code == 3, result.stderr  # some steps were written, then the run stopped
    report = json.loads(result.stdout)
    assert "already read" in report["stopped"] and f"GitHub ({REPO})" in report["stopped"]
    # Exactly the first page's steps: the repeated page wrote nothing, and nothing beyond it was read.
    steps = {(a["issue"], a["rule"], a["level"]) for a in report["actions"]}
    assert steps == first_page
    assert problems_after_apply(sim, report) == []
    assert set(sim.snapshot()) <= set(read)


def test_an_endless_timeline_cursor_is_an_error_naming_the_issue():
    sim = BrokenGitHub(issues=30, seed=5, long_share=0.2, paging="endless_timeline")
    result, server = run(sim, "plan")
    assert result.exit_code == 2, result.stdout + result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert f"GitHub ({REPO}) sent more than the" in message and "history items it said #" in message, message
    assert server.requests("graphql_timeline") < 20  # stopped at once, not after thousands of pages


def test_a_timeline_total_that_disagrees_is_reported():
    sim = BrokenGitHub(issues=10, seed=5, paging="timeline_total")
    result, _ = run(sim, "plan")
    assert result.exit_code == 0, result.stderr
    warnings = json.loads(result.stdout)["warnings"]
    assert any(f"GitHub ({REPO}) said the history of #1 has" in w and "but sent" in w for w in warnings), warnings


def test_a_sweep_total_that_disagrees_is_reported():
    sim = BrokenGitHub(issues=150, seed=5, paging="sweep_total")
    result, _ = run(sim, "plan")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    said = [w for w in report["warnings"] if w.startswith(f"GitHub ({REPO}) said the sweep of open issues has")]
    assert said == [f"GitHub ({REPO}) said the sweep of open issues has {report['issues_seen'] + 5} items but "
                    f"sent {report['issues_seen']}"]


def test_a_sweep_whose_total_agrees_says_nothing():
    sim = BrokenGitHub(issues=150, seed=5)
    result, _ = run(sim, "plan")
    assert result.exit_code == 0 and "said the sweep" not in result.stdout
