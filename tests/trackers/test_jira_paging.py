"""Paging is bounded and checked (issue 13, part 3): a Jira that repeats a page token, ignores `startAt` or
promises more issues than it sends ends the run with one message naming the site, before any further write,
and the exit code says whether anything was written (2: nothing, 3: some)."""

from __future__ import annotations

import pytest
from sim import harness
from sim.jira import CLOUD, DATACENTER, WRITE_KINDS, JiraSim, credentials
from sim.jira_broken import BrokenJira
from sim.server import SimServer

from steward.core.errors import TrackerError
from steward.plugins.jira.answers import Pages
from trackers.test_jira_e2e import JQL, NOW, TOKEN


def apply(server: SimServer, flavor: str, **env: str):
    done = harness.run(["apply", "--tracker", "jira", "--jira-url", server.url, "--jql", JQL, "--now",
                        NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "--format", "json"], {**credentials(flavor, TOKEN), **env},
                       timeout=120)
    assert "Traceback" not in done.stderr and TOKEN not in done.stdout + done.stderr
    return done


@pytest.mark.parametrize(("flavor", "mode", "problem"), [
    (CLOUD, "repeat_token", "sent the same nextPageToken twice"),
    (DATACENTER, "ignore_start", "sent issues it had already sent"),
    (DATACENTER, "short_total", "said 65 issues match but sent 60"),
])
def test_a_search_that_pages_wrongly_stops_the_run_before_any_write(flavor, mode, problem):
    sim = JiraSim(flavor, 60, seed=4, now=NOW)
    broken = BrokenJira(sim, mode, page=20)
    with SimServer(broken) as server:
        done = apply(server, flavor)
        assert server.requests(*WRITE_KINDS) == 0
        searches = server.requests("search")
    assert done.returncode == 2, done.stderr
    assert f"Jira at {server.url}" in done.stderr and problem in done.stderr, done.stderr
    assert searches <= 4  # it stopped at the first repeat, it did not read on until the server gave up


def test_comments_read_from_a_server_ignoring_start_at_are_never_taken_twice():
    """The server answers every comment page from the start: the inline two, again and again."""
    sim = JiraSim(DATACENTER, 30, seed=2, now=NOW, inline_comments=2, comment_page_cap=2, many_comments_rate=0.0)
    first = next(k for k in sim.issues if len(sim.full(k).comments) >= 3)  # the first whose list is cut
    with SimServer(BrokenJira(sim, "ignore_start", limit=1000)) as server:
        done = apply(server, DATACENTER)
        assert server.requests(*WRITE_KINDS) == 0
    assert done.returncode == 2, done.stderr
    assert f"while reading comments of {first}:" in done.stderr, done.stderr
    assert "sent comments it had already sent" in done.stderr


def test_a_repeated_changelog_token_after_writes_stops_the_run_and_says_it_was_partial():
    sim = JiraSim(CLOUD, 60, seed=1, now=NOW, long_history_rate=0.3)
    with SimServer(BrokenJira(sim, "repeat_changelog_token")) as server:
        done = apply(server, CLOUD)
        writes = server.requests("edit")
        changelog_reads = server.requests("bulkfetch")
    assert writes > 0  # the issues with whole changelogs were written first
    assert done.returncode == 3, done.stderr
    assert "sent the same nextPageToken twice while reading changelogs in bulk" in done.stdout + done.stderr
    assert changelog_reads == 2


def test_a_page_that_begins_with_an_item_already_sent_is_a_moved_offset_not_a_broken_server():
    """Someone created a matching issue while Steward paged: the next page repeats the last item once. That
    item is dropped; only a page made wholly of items already sent stops the run."""
    pages = Pages("https://jira.example.com", "searching issues")
    assert pages.page(["OPS-1", "OPS-2", "OPS-3"]) == {"OPS-1", "OPS-2", "OPS-3"}
    assert pages.page(["OPS-3", "OPS-4"]) == {"OPS-4"}
    with pytest.raises(TrackerError, match="sent issues it had already sent .OPS-3, OPS-4.: it ignores startAt"):
        pages.page(["OPS-3", "OPS-4"])
