"""GitHub Projects (v2) fields mapped in the rule file (`fields:` with `github:` names, projects named in
`settings.github.projects`): resolved once at run start (one request per project), read in the sweep's own
page (a sweep with two mapped fields still reads 100 issues a request), a name GitHub does not have is a clear
error naming the close matches, and `set_field` writes a project field exactly once, also when a run died
between the step's comment and the field. Every request and answer is checked against GitHub's schema."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from contract.known import unlisted
from contract.trackers import GitHubContract
from sim import harness
from sim.github import REPO, SIM_NOW, VIEWER, GitHubSim, marker_text, run_args, run_cli, stamp, steward_env
from sim.github_projects import SimField
from sim.server import SimServer

RULES = """\
version: 1
settings:
  github:
    projects: [octo-org/5]
fields:
  next_review: {{github: "Review date", type: date}}
  risk: {{github: "Risk", type: select}}
rules:
  - id: overdue-review
    title: Risky work is reviewed on time
    severity: medium
    rationale: A high-risk item past its review date is unmanaged risk.
    when:
      risk: {{eq: High}}
      days_until_next_review: {{lt: 0}}
    then:
      - comment: "The review of this {{{{ risk }}}}-risk item is {{{{ days_since_next_review }}}} days overdue."
      - set_field: {{field: {target}, value: "+14 days"}}
"""


def governed(issues: int = 250) -> tuple[GitHubSim, object]:
    sim = GitHubSim(issues=issues, seed=1)
    project = sim.add_project("octo-org", 5, "Governance", [
        SimField("PVTF_date", "Review date", "DATE"), SimField("PVTF_risk", "Risk", "SINGLE_SELECT",
                                                               ["Low", "Medium", "High"]),
        SimField("PVTF_est", "Estimate", "NUMBER"), SimField("PVTF_repo", "Repository", "REPOSITORY"),
        SimField("PVTF_sprint", "Sprint", "ITERATION", ["Sprint 1", "Sprint 2"])])
    for number in range(1, issues + 1, 3):  # a third of the issues are in the project
        when = (SIM_NOW + timedelta(days=(number % 40) - 20)).date().isoformat()
        sim.set_value(project, number, "Review date", when, SIM_NOW - timedelta(days=30))
        if number % 2:
            sim.set_value(project, number, "Risk", ["Low", "Medium", "High"][number // 3 % 3],
                          SIM_NOW - timedelta(days=30))
    return sim, project


def write_rules(tmp_path, target: str = "next_review", **replace: str):
    text = RULES.format(target=target)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    return path


def expected(sim: GitHubSim, project) -> set[str]:
    return {f"#{n}" for n in sim.numbers() if sim.issue(n).state == "open"
            and sim.value(project, n, "Risk") == "High" and sim.value(project, n, "Review date") is not None
            and sim.value(project, n, "Review date") < SIM_NOW.date().isoformat()}


def test_two_mapped_project_fields_still_read_100_issues_a_request(tmp_path):
    sim, project = governed(250)
    rules = write_rules(tmp_path)
    open_issues = sum(sim.issue(n).state == "open" for n in sim.numbers())
    with SimServer(sim, contract=GitHubContract()) as server:
        result = run_cli(server.url, run_args("plan", SIM_NOW, "--rules", str(rules)))
        reads = {kind: server.requests(kind) for kind in ("graphql_project", "graphql_sweep")}
        total = server.requests() - server.requests("rest_user")  # who Steward is: asked once, fields or not
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {f["issue"] for f in report["findings"]} == expected(sim, project) and report["findings"]
    finding = report["findings"][0]
    assert finding["facts"]["risk"] == "High" and finding["facts"]["days_until_next_review"] < 0
    # 250 issues (open: a little fewer) and two mapped fields: one request for the project's fields, then
    # 100 issues a request, as without fields; nothing per issue.
    assert open_issues > 200 and reads == {"graphql_project": 1, "graphql_sweep": -(-open_issues // 100)}
    assert total == sum(reads.values())
    assert unlisted("github", server.violations) == []


@pytest.mark.parametrize(("replace", "message"), [
    ({'"Review date"': '"Review dat"'},
     "fields: next_review: GitHub project field 'Review dat' is not a field of octo-org/5; close matches: "
     "'Review date'"),
    ({'"Risk", type: select': '"Repository", type: text'},
     "fields: risk: GitHub project field 'Repository' (octo-org/5, Governance) is a REPOSITORY field, which "
     "Steward cannot turn into a fact"),
    ({'"Risk", type: select': '"Estimate", type: text'},
     "fields: risk: GitHub project field 'Estimate' is a NUMBER field: map it with type: number, not text"),
    ({"octo-org/5": "octo-org/9"}, "project octo-org/9 was not found, or the token cannot read it"),
    ({"settings:\n  github:\n    projects: [octo-org/5]\n": ""},
     "fields: next_review, risk map GitHub project fields, but settings.github.projects names no project"),
])
def test_a_field_github_does_not_have_ends_the_run_before_any_issue_is_read(tmp_path, replace, message):
    sim, _ = governed(20)
    rules = write_rules(tmp_path, **replace)
    with SimServer(sim, contract=GitHubContract()) as server:
        result = run_cli(server.url, run_args("plan", SIM_NOW, "--rules", str(rules)))
        assert server.requests("graphql_sweep", "graphql_search") == 0
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert unlisted("github", server.violations) == []


def test_rest_reads_cannot_read_project_fields(tmp_path):
    sim, _ = governed(5)
    with SimServer(sim) as server:
        result = run_cli(server.url, run_args("plan", SIM_NOW, "--rules", str(write_rules(tmp_path))),
                         STEWARD_GITHUB_READS="rest")
        assert server.requests() == 0
    assert result.exit_code == 2 and "project fields are read with GraphQL" in result.output


def test_a_token_without_project_scope_is_told_which_scope_it_needs(tmp_path):
    sim, _ = governed(10)
    sim.project_scope = False  # as a workflow's GITHUB_TOKEN
    with SimServer(sim, contract=GitHubContract()) as server:
        result = run_cli(server.url, run_args("plan", SIM_NOW, "--rules", str(write_rules(tmp_path))))
    assert result.exit_code == 2 and "read:project" in result.output and "GITHUB_TOKEN cannot" in result.output
    assert unlisted("github", server.violations) == []


def test_set_field_writes_the_project_date_once(tmp_path):
    sim, project = governed(60)
    rules = write_rules(tmp_path)
    wanted = expected(sim, project)
    assert wanted
    with SimServer(sim, contract=GitHubContract()) as server:
        first = json.loads(run_cli(server.url, run_args("apply", SIM_NOW, "--rules", str(rules))).output)
        writes = server.requests("graphql_field_update")
        again = json.loads(run_cli(server.url, run_args("apply", SIM_NOW, "--rules", str(rules))).output)
        assert server.requests("graphql_field_update") == writes == len(wanted)
    due = (SIM_NOW + timedelta(days=14)).date().isoformat()
    assert {a["issue"] for a in first["actions"] if a["type"] == "set_field"} == wanted
    for key in wanted:
        number = int(key.lstrip("#"))
        assert sim.value(project, number, "Review date") == due
        assert sum(marker_text("overdue-review", 1) in c for c in sim.steward_comments(number)) == 1
    assert again["actions"] == []
    assert unlisted("github", server.violations) == []


def test_set_field_adds_an_issue_to_the_project_when_it_is_not_in_it(tmp_path):
    sim, project = governed(30)
    number = 2  # not in the project (every third issue from 1 is)
    issue = sim._mutable(number)
    issue.state, issue.labels = "open", ["risky"]
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES.format(target="risk").split("rules:\n")[0] + """rules:
  - id: risky-needs-a-rating
    title: Risky work is rated
    severity: low
    rationale: A rating tells how closely to follow it.
    when:
      labels: {contains: risky}
      risk: {missing: true}
    then:
      - set_field: {field: risk, value: High}
""", encoding="utf-8")
    with SimServer(sim, contract=GitHubContract()) as server:
        result = run_cli(server.url, run_args("apply", SIM_NOW, "--rules", str(rules)))
        assert server.requests("graphql_item_add") == 1
    assert result.exit_code == 0, result.output
    assert sim.value(project, number, "Risk") == "High"
    assert unlisted("github", server.violations) == []


def test_a_run_killed_between_the_comment_and_the_field_is_finished_without_a_second_comment(tmp_path):
    sim, project = governed(60)
    rules = write_rules(tmp_path)
    wanted = sorted(expected(sim, project), key=lambda k: int(k.lstrip("#")))
    with SimServer(sim) as server:
        env = steward_env(server.url, STEWARD_GITHUB_LOGIN=VIEWER)
        args = ["apply", "--tracker", f"github:{REPO}", "--now", stamp(SIM_NOW), "--format", "json",
                "--rules", str(rules)]
        assert harness.run_killed_at(server, args, env, "rest_comment_create", 1) is None
        first = int(wanted[0].lstrip("#"))
        assert len(sim.steward_comments(first)) == 1 and sim.value(project, first, "Review date") < "2026-11-20"
        finished = harness.run(args, env)
    assert finished.returncode == 0, finished.stderr
    due = (SIM_NOW + timedelta(days=14)).date().isoformat()
    for key in wanted:
        number = int(key.lstrip("#"))
        assert sim.value(project, number, "Review date") == due
        assert sum(marker_text("overdue-review", 1) in c for c in sim.steward_comments(number)) == 1
