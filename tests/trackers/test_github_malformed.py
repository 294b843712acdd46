"""GitHub (or a proxy in front of it) answering with an empty body, `data: null`, an HTML page or JSON of the
wrong shape: one clear line naming what was being read, never a traceback, in sweeps and in `steward event`;
exit 2 when nothing was written, 3 when some steps were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from contract.known import unlisted
from contract.trackers import GitHubContract
from sim.github import NAME, OWNER, REPO, SIM_NOW, TOKEN, problems_after_apply, run_args, run_cli, stamp
from sim.github_broken import BrokenGitHub
from sim.server import SimServer

PAYLOADS = Path(__file__).parents[1] / "github" / "payloads"
SHAPES = {"empty": "an empty body", "data_null": "`data: null`", "html": "an HTML page instead of JSON",
          "wrong_type": "JSON of"}


def run(sim: BrokenGitHub, args: list[str], **env: str):
    with SimServer(sim, contract=GitHubContract()) as server:
        result = run_cli(server.url, args, **env)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and TOKEN not in output, output
    assert unlisted("github", [v for v in server.violations if v.side == "request"]) == []
    return result


def last_line(result) -> str:
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reads", ["graphql", "rest"])
def test_a_malformed_listing_is_one_line_and_exit_2(shape, reads):
    kind = "graphql_sweep" if reads == "graphql" else "rest_issues"
    sim = BrokenGitHub(issues=20, seed=2, malformed=[(kind, shape)])
    result = run(sim, run_args("plan"), STEWARD_GITHUB_READS=reads)
    assert result.exit_code == 2, result.stdout + result.stderr
    message = last_line(result)
    assert message.startswith("error: GitHub answered ") and SHAPES[shape] in message, message
    assert "listing issues" in message or "reading issues" in message


@pytest.mark.parametrize("shape", SHAPES)
def test_a_malformed_page_after_writes_stops_the_run_and_exit_3(shape):
    # The first page is written; the second page's answer is broken: the run stops, says so, exit 3.
    sim = BrokenGitHub(issues=150, seed=2, malformed=[("graphql_sweep", "ok"), ("graphql_sweep", shape)])
    result = run(sim, run_args("apply"))
    assert result.exit_code == 3, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["actions"] and SHAPES[shape] in report["stopped"]
    assert problems_after_apply(sim, report) == []


def event_args(tmp_path: Path, name: str = "issues") -> list[str]:
    payload = json.loads((PAYLOADS / "issues_opened.payload.json").read_text(encoding="utf-8"))
    payload["issue"]["number"] = 3
    payload["repository"]["full_name"] = REPO
    payload["repository"]["name"], payload["repository"]["owner"]["login"] = NAME, OWNER
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return ["event", "--github-event", str(path), "--event-name", name, "--now", stamp(SIM_NOW) or "",
            "--format", "json"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("event", ["issues", "schedule"])
def test_steward_event_reports_a_malformed_answer_in_one_line(shape, event, tmp_path):
    kind = "graphql_issue" if event == "issues" else "graphql_sweep"
    sim = BrokenGitHub(issues=20, seed=2, malformed=[(kind, shape)])
    result = run(sim, event_args(tmp_path, event))
    assert result.exit_code == 2, result.stdout + result.stderr
    message = last_line(result)
    assert message.startswith("error: GitHub answered ") and SHAPES[shape] in message, message
    assert sim.snapshot() == {}  # nothing written


def test_a_malformed_answer_to_one_issue_names_it(tmp_path):
    sim = BrokenGitHub(issues=20, seed=2, malformed=[("graphql_issue", "wrong_type")])
    result = run(sim, ["plan", "--tracker", f"github:{REPO}", "--query", "#3", "--now", stamp(SIM_NOW) or ""])
    assert result.exit_code == 2
    assert "GitHub answered issue #3 with JSON of" in last_line(result)
