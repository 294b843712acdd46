"""`steward digest --post` on GitHub: one issue per period, titled with the period, owners mentioned as
`@login`; a rerun in the same period updates that issue (found by Steward's marker, proven by its author),
never opens a second; the next period opens its own; sweeps leave digest issues alone."""

from __future__ import annotations

import json
from datetime import timedelta

from contract.known import unlisted
from contract.trackers import GitHubContract
from sim.github import REPO, SIM_NOW, TOKEN, SimIssue, run_args, run_cli, stamp
from sim.github_broken import BrokenGitHub
from sim.github_data import USERS
from sim.server import Faults, SimServer

from steward.plugins.github.digest import DIGEST_LABEL

WEEK = "2026-W47"  # SIM_NOW is Friday 2026-11-20


def digest(server: SimServer, now=SIM_NOW, *extra: str):
    result = run_cli(server.url, ["digest", "--tracker", f"github:{REPO}", "--now", stamp(now) or "", "--post",
                                  *extra])
    assert "Traceback" not in result.stdout + result.stderr and TOKEN not in result.stdout + result.stderr
    return result


def digests(sim: BrokenGitHub) -> list[SimIssue]:
    return [sim.issue(n) for n in sim.numbers() if DIGEST_LABEL in sim.labels(n)]


def test_a_digest_is_created_once_then_updated_in_the_same_period():
    sim = BrokenGitHub(issues=40, seed=3)
    with SimServer(sim, contract=GitHubContract()) as server:
        first = digest(server)
        assert first.exit_code == 0, first.stderr
        [created] = digests(sim)
        assert created.title == f"Governance review {WEEK}" and created.author == "steward-bot"
        assert f"posted the {WEEK} digest as #{created.number}" in first.stdout
        assert f"<!-- steward:digest period={WEEK} sent= -->" in created.body
        # Owners are mentioned so GitHub notifies them: by login, each once.
        mentioned = [user for user in USERS if f"@{user}" in created.body]
        assert mentioned and all(created.body.count(f"@{user}:") <= 1 for user in mentioned)
        assert "\ue000" not in created.body
        # Something changes; the rerun updates the same issue instead of opening another.
        sim.touch(3, text="Status: done with the vendor.")
        second = digest(server, SIM_NOW + timedelta(hours=2))
        assert second.exit_code == 0, second.stderr
        assert [d.number for d in digests(sim)] == [created.number]
        assert f"as #{created.number}" in second.stdout
        assert server.requests("rest_issue_create") == 1 and server.requests("rest_issue_update") == 1
        # A new week opens its own digest issue.
        third = digest(server, SIM_NOW + timedelta(days=7))
        assert third.exit_code == 0, third.stderr
        assert sorted(d.title for d in digests(sim)) == [f"Governance review {WEEK}", "Governance review 2026-W48"]
        assert unlisted("github", server.violations) == []
    bodies = [b for k, b in sim.received if k == "rest_issue_create"]
    assert [b["labels"] for b in bodies] == [[DIGEST_LABEL], [DIGEST_LABEL]]


def test_a_copied_marker_on_someone_elses_issue_is_not_taken_for_the_digest():
    sim = BrokenGitHub(issues=10, seed=3)
    forged = SimIssue(number=500, title=f"Governance review {WEEK}", created=SIM_NOW, updated=SIM_NOW,
                      author="tom-becker", body=f"mine\n\n<!-- steward:digest period={WEEK} sent= -->",
                      labels=[DIGEST_LABEL])
    sim.add(forged)
    with SimServer(sim) as server:
        result = digest(server)
    assert result.exit_code == 0, result.stderr
    assert sim.issue(500).body.startswith("mine")  # untouched
    assert len(digests(sim)) == 2 and server.requests("rest_issue_update") == 0


def test_a_lost_answer_to_the_creation_does_not_open_a_second_digest():
    sim = BrokenGitHub(issues=10, seed=3)
    with SimServer(sim, faults=Faults(script=[("rest_issue_create", "lost_response")])) as server:
        result = digest(server)
    assert result.exit_code == 0, result.stderr
    assert len(digests(sim)) == 1


def test_sweeps_leave_the_digest_issue_alone():
    sim = BrokenGitHub(issues=20, seed=3)
    with SimServer(sim) as server:
        assert digest(server).exit_code == 0
        [posted] = digests(sim)
        result = run_cli(server.url, run_args("apply"))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert f"#{posted.number}" not in {a["issue"] for a in report["actions"]} | {f["issue"] for f in
                                                                                 report["findings"]}
    assert [e for e in sim.issue(posted.number).events if e.kind == "comment"] == []
