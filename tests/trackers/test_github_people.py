"""Reaching people on GitHub: the default pack's comments mention the owner as `@login` (GitHub notifies them),
checked in the request bodies GitHub receives; what people read from Steward itself (plan, reports, JSON)
shows display names from GraphQL `User.name`, and the login of someone who set none."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from contract.known import unlisted
from contract.trackers import GitHubContract
from sim.github import REPO, TOKEN, run_args, run_cli
from sim.github_broken import BrokenGitHub
from sim.github_data import NAMES, SIM_NOW, USERS, Event, SimIssue
from sim.server import SimServer

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9-]*(?:\[bot\])?)")


def applied(seed: int = 3, issues: int = 80) -> tuple[BrokenGitHub, dict, SimServer]:
    sim = BrokenGitHub(issues=issues, seed=seed)
    with SimServer(sim, contract=GitHubContract()) as server:
        result = run_cli(server.url, run_args("apply"))
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr and TOKEN not in result.stdout
    assert unlisted("github", server.violations) == []  # the names query and the answers GitHub describes
    return sim, json.loads(result.stdout), server


def test_the_default_packs_comments_mention_the_owner_by_login():
    sim, report, _ = applied()
    posted = [body["body"] for kind, body in sim.received if kind == "rest_comment_create"]
    assert posted
    mentioned = 0
    for text in posted:
        assert "\ue000" not in text and "\ue001" not in text and "\ue002" not in text  # no raw mention token
        for login in MENTION.findall(text.split("<!--")[0]):
            assert login in USERS, (login, text)  # a login GitHub notifies, never a display name
            mentioned += 1
    assert mentioned >= 3
    # Each mention names the issue's owner (or its reporter): the request path says which issue.
    for action in report["actions"]:
        if action["type"] != "comment":
            continue
        issue = sim.issue(int(action["issue"][1:]))
        people = set(issue.assignees) | {issue.author}
        for shown in re.findall(r"@([^,.\n]+?)(?=[,.]|\s+and\s|\s+please)", action["value"]):
            assert any(shown in (login, NAMES.get(login)) for login in people), (shown, people)


def test_steward_shows_names_where_github_gets_logins():
    sim, report, _ = applied()
    named = {login: name for login, name in NAMES.items() if name}
    bodies = "\n".join(b["body"] for k, b in sim.received if k == "rest_comment_create")
    shown = "\n".join(a["value"] for a in report["actions"] if a["type"] == "comment")
    seen = [login for login in named if f"@{login}" in bodies]
    assert seen, "no named owner was mentioned"
    for login in seen:
        assert f"@{named[login]}" in shown and f"@{login}" not in shown
    # Someone without a display name is shown by login, in both.
    if "@noor-haddad" in bodies:
        assert "@noor-haddad" in shown


def test_plan_text_names_people_by_display_name():
    sim = BrokenGitHub(issues=40, seed=3)
    with SimServer(sim) as server:
        result = run_cli(server.url, ["plan", "--tracker", f"github:{REPO}", "--now", "2026-11-20T09:00:00Z"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert any(f"@{name}" in text for name in NAMES.values() if name)
    assert not any(f"@{login}" in text for login, name in NAMES.items() if name)


def test_names_are_read_from_graphql_and_fall_back_to_the_login():
    from steward.plugins.github.parse import build_issue, raw_from_graphql

    node = {"number": 1, "title": "t", "state": "OPEN", "createdAt": "2026-01-01T00:00:00Z",
            "author": {"__typename": "User", "login": "li-wei", "name": "Li Wei"},
            "assignees": {"nodes": [{"login": "noor-haddad", "name": None}, {"login": "sam-okafor", "name": " "},
                                    {"login": "tom-becker", "name": "Tom Becker"}]}}
    issue = build_issue(raw_from_graphql(node), REPO, "priority:")
    assert issue.people == {"li-wei": "Li Wei", "tom-becker": "Tom Becker"}
    bot = build_issue(raw_from_graphql({**node, "author": {"__typename": "Bot", "login": "dependabot[bot]"}}),
                      REPO, "priority:")
    assert "dependabot[bot]" not in bot.people


def test_a_deleted_account_is_written_as_plain_text_with_a_warning():
    """GitHub shows a deleted account as `ghost`: mentioning it notifies nobody, so the comment names it in
    plain text, a warning says so, and the write goes through."""
    sim = BrokenGitHub(issues=0)
    issue = SimIssue(number=1, title="Priority keeps moving", body="", created=SIM_NOW - timedelta(days=40),
                     updated=SIM_NOW - timedelta(days=1), author="ghost", labels=["operational"],
                     assignees=["li-wei"])
    for n, (before, after) in enumerate([("priority: low", "priority: high"), ("priority: high", "priority: low"),
                                         ("priority: low", "priority: high")]):
        at = SIM_NOW - timedelta(days=10 - n)
        issue.events += [Event(10 + 2 * n, "unlabeled", "li-wei", at, label=before),
                         Event(11 + 2 * n, "labeled", "li-wei", at, label=after)]
    issue.labels.append("priority: high")
    sim.add(issue)
    with SimServer(sim) as server:
        result = run_cli(server.url, run_args("apply"))
    assert result.exit_code == 0, result.stderr
    posted = [body["body"] for kind, body in sim.received if kind == "rest_comment_create"]
    churn = [text for text in posted if "priority changed" in text]
    assert churn and "@ghost" not in churn[0] and "ghost" in churn[0] and "@li-wei" in churn[0]
    warnings = json.loads(result.stdout)["warnings"]
    assert any("deleted their GitHub account" in warning for warning in warnings), warnings
