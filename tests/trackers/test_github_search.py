"""GitHub `--query` qualifiers (label, milestone, assignee, type, no:) are pushed down into GitHub's issue search:
the simulator receives them in the search string and answers only the matching issues; a sweep past
GitHub's 1,000-result cap of one search reads every match once; an unknown qualifier is a clear error. Every
request and answer is checked against GitHub's GraphQL schema."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from contract.known import unlisted
from contract.trackers import GitHubContract
from sim.github import REPO, SIM_NOW, TOKEN, GitHubSim, run_args, run_cli
from sim.server import SimServer

from steward.core.errors import TrackerError
from steward.core.readahead import resolved
from steward.plugins.github.tracker import GitHubTracker
from steward.plugins.github.transport import Pacer


def tracker(url: str, page_size: int = 100) -> GitHubTracker:
    return GitHubTracker(REPO, TOKEN, url, page_size=page_size, pacer=Pacer(per_minute=0))


def read(url: str, query: str, page_size: int = 100) -> list[int]:
    return [int(i.key.lstrip("#")) for page in resolved(tracker(url, page_size).fetch(query, None)) for i in page]


def matching(sim: GitHubSim, test) -> list[int]:
    return [n for n in sim.numbers() if test(sim.issue(n))]


@pytest.mark.parametrize(("query", "search", "test"), [
    ("label:blocked", "label:blocked", lambda i: "blocked" in i.labels and i.state == "open"),
    ('label:"priority: high" state:all', 'label:"priority: high"', lambda i: "priority: high" in i.labels),
    ("assignee:li-wei label:strategic", "assignee:li-wei label:strategic",
     lambda i: "li-wei" in i.assignees and "strategic" in i.labels and i.state == "open"),
    ("no:assignee", "no:assignee", lambda i: not i.assignees and i.state == "open"),
    ("type:Initiative state:closed", "type:Initiative", lambda i: i.issue_type == "Initiative" and i.state == "closed"),
    ("no:milestone state:all", "no:milestone", lambda i: i.milestone is None),
])
def test_qualifiers_reach_github_search_and_only_matches_come_back(query, search, test):
    sim = GitHubSim(issues=120, seed=4)
    with SimServer(sim, contract=GitHubContract()) as server:
        found = read(server.url, query)
    state = " is:closed" if "state:closed" in query else "" if "state:all" in query else " is:open"
    assert sim.searches == [f"repo:{REPO} is:issue{state} {search} sort:created-asc"]
    assert found == matching(sim, test) and found  # the same issues, oldest first
    assert unlisted("github", server.violations) == []


def test_a_milestone_with_spaces_is_quoted():
    sim = GitHubSim(issues=60, seed=4)
    title = next(sim.issue(n).milestone[0] for n in sim.numbers() if sim.issue(n).milestone)
    with SimServer(sim, contract=GitHubContract()) as server:
        found = read(server.url, f'"milestone:{title}" state:all')
    assert sim.searches == [f'repo:{REPO} is:issue milestone:"{title}" sort:created-asc']
    assert found == matching(sim, lambda i: i.milestone is not None and i.milestone[0] == title)
    assert unlisted("github", server.violations) == []


def test_a_search_past_github_1000_result_cap_reads_every_match_once_at_99_new_issues_a_request():
    sim = GitHubSim(issues=1500, seed=2, violation_rate=0.0)
    wanted = matching(sim, lambda i: i.milestone is None and i.state == "open")
    assert len(wanted) > 1000  # more than one search can return
    with SimServer(sim, contract=GitHubContract()) as server:
        found = read(server.url, "no:milestone")
        requests = server.requests("graphql_search")
    assert found == wanted  # each once, in order
    # Each page starts at the creation time of the last issue read, so it brings that issue back once: 100
    # issues a request, 99 of them new (1,038 matches: 11 requests, where 100 new a request would take 11).
    assert requests == 1 + -(-(len(wanted) - 100) // 99)
    assert all("created:>=" in s for s in sim.searches[1:])  # later pages start at the last creation time read
    assert unlisted("github", server.violations) == []


def test_issues_created_in_the_same_second_across_a_page_boundary_are_each_read_once():
    sim = GitHubSim(issues=30, seed=5)
    for number in range(1, 31):  # all created at one moment: creation time cannot tell the pages apart
        issue = sim._mutable(number)
        issue.created = SIM_NOW - timedelta(days=3)
        issue.state = "open"
    with SimServer(sim, contract=GitHubContract()) as server:
        found = read(server.url, "state:all no:milestone", page_size=7)
    assert sorted(found) == matching(sim, lambda i: i.milestone is None) and len(found) == len(set(found))
    assert unlisted("github", server.violations) == []


@pytest.mark.parametrize(("query", "message"), [
    ("author:li-wei", "unsupported GitHub query 'author:li-wei'"),
    ("type:pr", "unsupported GitHub query 'type:pr'"),
    ("label:", "unsupported GitHub query 'label:'"),
    ('label:"open', "cannot be read"),
    ("number:3 label:bug", "leave out the other qualifiers"),
])
def test_an_unknown_qualifier_is_a_clear_error_before_any_request(query, message):
    sim = GitHubSim(issues=5)
    with SimServer(sim) as server:
        with pytest.raises(TrackerError, match=message):
            read(server.url, query)
        assert server.requests() == 0
        result = run_cli(server.url, run_args("plan", SIM_NOW, "--query", query))
    assert result.exit_code == 2 and message.split("'")[0] in result.output and "Traceback" not in result.output


def test_a_cli_run_with_qualifiers_reports_only_matching_issues():
    sim = GitHubSim(issues=80, seed=3)
    with SimServer(sim, contract=GitHubContract()) as server:
        result = run_cli(server.url, run_args("plan", SIM_NOW, "--query", "label:blocked"))
    report = json.loads(result.output)
    assert report["issues_seen"] == len(matching(sim, lambda i: "blocked" in i.labels and i.state == "open"))
    assert {f["issue"] for f in report["findings"]} <= {f"#{n}" for n in matching(sim, lambda i: "blocked" in i.labels)}
    assert unlisted("github", server.violations) == []


class StuckSearch(GitHubSim):
    """A search that ignores where a page starts and always says there is more (no real GitHub does)."""

    def _search(self, query, variables, page_size, types):
        return super()._search(query, {**variables, "q": variables["q"].split(" created:")[0] + " sort:created-asc",
                                       "cursor": None}, page_size, types)


def test_a_search_that_answers_the_same_page_again_ends_with_an_error_not_a_sweep_without_end():
    sim = StuckSearch(issues=40, seed=4)
    with SimServer(sim) as server:
        seen: list[int] = []
        with pytest.raises(TrackerError, match="answered a next page it cannot reach"):
            for page in resolved(tracker(server.url, page_size=3).fetch("state:all no:assignee", None)):
                seen += [int(i.key.lstrip("#")) for i in page]
        assert server.requests("graphql_search") <= 3
    assert len(seen) == len(set(seen)) == 3  # the first page, read once
