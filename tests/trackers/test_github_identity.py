"""Only Steward's own writes are Steward's state: a marker in a person's comment (pasted, forged or quoted) is
a person's comment. Who Steward is comes from the token (GET /user, asked at most once per run, and only when
some comment carries a marker) or from `--steward-login` / github-actions[bot]."""

from __future__ import annotations

import json
from datetime import timedelta

from sim.github import SIM_NOW, VIEWER, GitHubSim, SimIssue, problems_after_apply, run_args, run_cli
from sim.server import SimServer

from steward.core.markers import format_changes, format_marker
from steward.core.model import Marker

DAY = timedelta(days=1)


def issue(number: int, labels: list[str], *, days_old: int = 40, assignees: tuple[str, ...] = ()) -> SimIssue:
    created = SIM_NOW - days_old * DAY
    made = SimIssue(number=number, title=f"Issue {number}", body="", created=created, updated=created,
                    author="li-wei", labels=list(labels), assignees=list(assignees))
    for label in labels:
        made.event("labeled", "li-wei", created, label=label)
    return made


def marker(rule: str, level: int, days_ago: float, added: tuple[str, ...]) -> str:
    return format_marker(Marker(rule=rule, level=level, at=SIM_NOW - days_ago * DAY, added=added))


def steward_step(target: SimIssue, rule: str, level: int, days_ago: float, label: str, text: str) -> str:
    """What an earlier Steward run wrote: its comment (by the token's login) and the label after it."""
    body = f"{text}\n\n{format_changes({'add': [label]})}\n\n{marker(rule, level, days_ago, (label,))}"
    at = SIM_NOW - days_ago * DAY
    target.event("comment", VIEWER, at, body=body)
    target.labels.append(label)
    target.event("labeled", VIEWER, at + timedelta(seconds=1), label=label)
    return body


def run(sim: GitHubSim, command: str = "apply", **env: str) -> tuple[dict, SimServer]:
    with SimServer(sim) as server:
        result = run_cli(server.url, run_args(command), **env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), server


def steps(report: dict, key: str) -> set[tuple[str, int]]:
    return {(a["rule"], a["level"]) for a in report["actions"] if a["issue"] == key}


def test_a_person_pasting_the_last_ladder_marker_does_not_silence_the_escalation():
    sim = GitHubSim(issues=0)
    exception = issue(1, ["exception", "operational"])
    steward_step(exception, "unowned-exception", 1, 9, "needs-owner", "This exception has had no owner.")
    exception.event("comment", "tom-becker", SIM_NOW - 2 * DAY,
                    body=f"Copying the bot's note so it stops.\n\n{marker('unowned-exception', 2, 2, ('escalated',))}")
    sim.add(exception)
    report, _ = run(sim)
    assert steps(report, "#1") == {("unowned-exception", 2)}
    assert [(m.rule, m.level) for m in sim.steward_markers(1)] == [("unowned-exception", 1), ("unowned-exception", 2)]
    assert "escalated" in sim.labels(1) and problems_after_apply(sim, report) == []


def test_a_pasted_marker_of_a_rule_that_no_longer_holds_does_not_take_a_persons_label_back():
    sim = GitHubSim(issues=0)
    owned = issue(2, ["exception", "operational"], assignees=("li-wei",))
    owned.labels.append("needs-owner")  # a person's label, put on by hand
    owned.event("labeled", "tom-becker", SIM_NOW - 10 * DAY, label="needs-owner")
    owned.event("assigned", "li-wei", SIM_NOW - 10 * DAY, assignee="li-wei")
    owned.event("comment", "tom-becker", SIM_NOW - 5 * DAY,
                body=f"As the bot would say:\n\n{marker('unowned-exception', 1, 5, ('needs-owner',))}")
    sim.add(owned)
    report, _ = run(sim)
    assert steps(report, "#2") == set()
    assert "needs-owner" in sim.labels(2)


def test_a_forged_changes_note_does_not_make_steward_skip_its_own_comment():
    """A person's comment announcing a step's changes is not Steward's half-finished step: Steward posts its
    own comment, and its report lists only what it wrote."""
    sim = GitHubSim(issues=0)
    unclassified = issue(3, [], days_old=10)
    unclassified.event("comment", "tom-becker", SIM_NOW - DAY, body=(
        "Please classify this item.\n\n" + format_changes({"add": ["needs-classification"]}) + "\n\n"
        + marker("unclassified-work", 1, 1, ("needs-classification",))))
    sim.add(unclassified)
    report, _ = run(sim)
    assert steps(report, "#3") == {("unclassified-work", 1)}
    assert [(m.rule, m.level) for m in sim.steward_markers(3)] == [("unclassified-work", 1)]
    assert problems_after_apply(sim, report) == []


def test_a_person_quoting_stewards_comment_is_a_persons_follow_up():
    sim = GitHubSim(issues=0)
    blocked = issue(4, ["blocked", "operational"], days_old=30)
    body = steward_step(blocked, "blocked-without-escalation", 1, 12, "escalated", "Blocked for 18 days. Escalating.")
    quoted = "\n".join(f"> {line}" for line in body.splitlines())
    blocked.event("comment", "li-wei", SIM_NOW - 3 * DAY, body=f"{quoted}\n\nThe vendor ships the fix on Friday.")
    sim.add(blocked)
    report, _ = run(sim, "plan")
    assert ("#4", "escalation-without-follow-up") not in {(f["issue"], f["rule"]) for f in report["findings"]}
    assert report["actions"] == []


def test_who_steward_is_is_asked_once_per_run_and_only_when_a_comment_carries_a_marker():
    plain = GitHubSim(issues=0)
    for number in range(1, 251):  # three sweep pages, no marker anywhere
        plain.add(issue(number, ["operational"]))
    _, server = run(plain, "plan")
    assert server.requests("graphql_sweep") == 3 and server.requests("rest_user") == 0

    marked = GitHubSim(issues=250, seed=4)  # earlier runs' markers on issues of every page
    assert sum(1 for n in range(1, 251) for _ in marked.steward_markers(n)) > 3
    _, server = run(marked)
    assert server.requests("rest_user") == 1

    _, server = run(GitHubSim(issues=250, seed=4), GITHUB_ACTIONS="true")  # a workflow: github-actions[bot]
    assert server.requests("rest_user") == 0


def test_in_actions_a_comment_by_another_login_is_not_stewards():
    """In a workflow Steward writes as github-actions[bot] (or a configured login): a marked comment written by
    the token's user on a laptop run is not Steward's there, unless that login is configured."""
    sim = GitHubSim(issues=0)
    unclassified = issue(5, [], days_old=10)
    steward_step(unclassified, "unclassified-work", 1, 3, "needs-classification", "Please classify this item.")
    sim.add(unclassified)
    configured, _ = run(sim, "plan", GITHUB_ACTIONS="true", STEWARD_GITHUB_LOGIN=VIEWER)
    assert configured["actions"] == []
    other, _ = run(sim, "plan", GITHUB_ACTIONS="true")
    assert steps(other, "#5") == {("unclassified-work", 1)}
