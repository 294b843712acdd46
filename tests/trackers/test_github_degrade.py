"""A GraphQL sweep page GitHub cannot answer (502, or a 200 whose `errors` say timeout or "something went
wrong") no longer fails the whole run: the page is asked again at half the size down to one issue, the issue
GitHub cannot answer for even alone is named in a warning and skipped, the rest of the sweep goes on, and the
exit code says the run was partial (3)."""

from __future__ import annotations

import json

import pytest
from contract.known import unlisted
from contract.trackers import GitHubContract
from sim.github import TOKEN, problems_after_apply, run_args, run_cli
from sim.github_broken import BrokenGitHub
from sim.server import Response, SimServer

from steward.plugins.github import transport as gh_transport

ISSUES = 150


@pytest.fixture(autouse=True)
def no_real_waiting(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(gh_transport, "SLEEP", waits.append)
    return waits


def run(sim: BrokenGitHub, command: str):
    with SimServer(sim, contract=GitHubContract()) as server:
        result = run_cli(server.url, run_args(command))
    output = result.stdout + result.stderr
    assert "Traceback" not in output and TOKEN not in output, output
    assert unlisted("github", [v for v in server.violations if v.side == "request"]) == []
    return result


def keyed(report: dict, part: str) -> set[tuple[str, str]]:
    return {(item["issue"], item["rule"]) for item in report[part]}


@pytest.fixture(scope="module")
def clean() -> tuple[dict, int]:
    sim = BrokenGitHub(issues=ISSUES, seed=4)
    poisoned = sim._ordered("CREATED_AT", {"OPEN"}, None)[40]  # an open issue on the first page
    with SimServer(sim) as server:
        return json.loads(run_cli(server.url, run_args("plan")).stdout), poisoned


@pytest.mark.parametrize("fail_with", ["502", "timeout", "went_wrong"])
def test_a_page_github_cannot_answer_is_shrunk_and_only_its_bad_issue_skipped(fail_with, clean):
    report_clean, poisoned = clean
    sim = BrokenGitHub(issues=ISSUES, seed=4, overloaded={poisoned}, fail_with=fail_with)
    result = run(sim, "plan")
    assert result.exit_code == 3, result.stdout + result.stderr  # partial: one issue could not be read
    report = json.loads(result.stdout)
    key = f"#{poisoned}"
    assert report["skipped"] == [key]
    assert any(w.startswith(f"{key}: skipped: GitHub could not answer for it even alone") for w in report["warnings"])
    assert any("asking for 50 at a time" in w for w in report["warnings"])
    # Every other issue was evaluated exactly as in a clean run.
    assert report["issues_seen"] == report_clean["issues_seen"] - 1
    assert keyed(report, "findings") == {f for f in keyed(report_clean, "findings") if f[0] != key}
    # Halved down to one issue (growing back after each page that arrived), then grown back past it.
    assert {100, 50, 25, 12, 6, 3, 1} <= set(sim.sweep_sizes), sim.sweep_sizes
    after = sim.sweep_sizes[len(sim.sweep_sizes) - sim.sweep_sizes[::-1].index(1):]
    assert after and after[-1] > 1, sim.sweep_sizes
    # Never grown past a size that failed before the bad issue was stepped past: no 502 is asked for twice.
    before = sim.sweep_sizes[:sim.sweep_sizes.index(1)]
    assert before == sorted(before, reverse=True), sim.sweep_sizes
    assert len(sim.sweep_sizes) <= 46


def test_an_apply_writes_everything_else_and_says_it_was_partial(clean):
    report_clean, poisoned = clean
    sim = BrokenGitHub(issues=ISSUES, seed=4, overloaded={poisoned})
    result = run(sim, "apply")
    assert result.exit_code == 3, result.stderr
    report = json.loads(result.stdout)
    assert report["skipped"] == [f"#{poisoned}"] and report["failed"] == [] and report["stopped"] is None
    assert keyed(report, "actions") == {a for a in keyed(report_clean, "actions") if a[0] != f"#{poisoned}"}
    assert problems_after_apply(sim, report) == []
    assert poisoned not in sim.snapshot()


def test_a_refusal_is_not_mistaken_for_an_overloaded_page():
    """A 403 (or a query GitHub rejects) is not made smaller: it is an error at once, exit 2."""
    sim = BrokenGitHub(issues=20, seed=4)
    sim.handle = lambda request: Response(403, {"message": "Resource not accessible by integration"})
    result = run(sim, "plan")
    assert result.exit_code == 2 and "GitHub answered 403" in result.stderr
    assert sim.sweep_sizes == []
