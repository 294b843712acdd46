"""`--tracker github:ORG` sweeps every repository of an organisation in one run: one search (`org:ORG`) at 100
issues a request, issues keyed `OWNER/REPO#N`, each write sent to its own repository, and nothing written twice
on a second run. Requests and answers are checked against GitHub's schema and REST description."""

from __future__ import annotations

import json

from contract.known import unlisted
from contract.trackers import GitHubContract
from sim.github import SIM_NOW, GitHubSim, marker_text, run_cli, stamp
from sim.github_org import GitHubOrgSim
from sim.server import SimServer

REPOS = ("governance", "platform", "web")


def org(issues: int = 90) -> GitHubOrgSim:
    # The same number of issues in each: issue N of every repository is created in the same second, so the
    # search's pages meet issues it cannot tell apart by creation time alone.
    return GitHubOrgSim("octo-org", {name: GitHubSim(issues=issues, seed=index + 11, owner="octo-org", name=name)
                                     for index, name in enumerate(REPOS)})


def args(command: str, *extra: str) -> list[str]:
    return [command, "--tracker", "github:octo-org", "--now", stamp(SIM_NOW), "--format", "json", *extra]


def open_keys(sim: GitHubOrgSim) -> set[str]:
    return {f"octo-org/{name}#{n}" for name, repo in sim.repos.items() for n in repo.numbers()
            if repo.issue(n).state == "open"}


def test_an_organisation_is_swept_in_one_search_at_the_request_floor():
    sim = org(90)
    wanted = open_keys(sim)
    with SimServer(sim, contract=GitHubContract()) as server:
        result = run_cli(server.url, args("plan"))
        searches = server.requests("graphql_search")
        others = server.requests() - searches - server.requests("rest_user")
    report = json.loads(result.output)
    assert result.exit_code == 0, result.output
    assert report["issues_seen"] == len(wanted) > 200
    assert {f["issue"] for f in report["findings"]} <= wanted and report["findings"]
    assert searches == 1 + -(-(len(wanted) - 100) // 99) and others == 0  # nothing per issue or per repository
    assert all(s.startswith("org:octo-org is:issue is:open") for s in sim.searches)
    assert unlisted("github", server.violations) == []


def test_an_organisation_apply_writes_each_step_once_in_its_own_repository():
    sim = org(30)
    with SimServer(sim, contract=GitHubContract()) as server:
        first = json.loads(run_cli(server.url, args("apply")).stdout)
        again = json.loads(run_cli(server.url, args("apply")).stdout)
    steps = {(a["issue"], a["rule"], a["level"]) for a in first["actions"] if a["level"] > 0}
    assert {key.split("#")[0] for key, _, _ in steps} == {f"octo-org/{name}" for name in REPOS}
    for key, rule, level in steps:
        repo, number = key.removeprefix("octo-org/").split("#")
        comments = sim.repos[repo].steward_comments(int(number))
        assert sum(marker_text(rule, level) in c for c in comments) == 1, key
    assert again["actions"] == []
    assert unlisted("github", server.violations) == []


def test_an_organisation_run_reads_one_issue_by_its_full_key_and_refuses_a_bare_number():
    sim = org(5)
    with SimServer(sim) as server:
        bare = run_cli(server.url, args("plan", "--query", "number:3"))
    assert bare.exit_code == 2 and "use --tracker github:octo-org/REPO" in bare.output
