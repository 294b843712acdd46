"""People on Jira (issue 15, parts 1 and 2): a template's mention reaches Jira in its own syntax (Cloud
`[~accountid:ID]`, Data Center `[~name]`, checked in the request bodies the simulator received); a person who
no longer exists or was deactivated is written as their plain name with a warning, never a failed write; and
everything people read (plan, report) names people by display name, never by accountId."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sim import harness
from sim.jira import CLOUD, DATACENTER, JiraSim, account_id, credentials
from sim.server import SimServer

from steward.core import rulefile
from steward.core.mentions import readable
from steward.core.runner import Runner, RunOptions
from steward.plugins.jira.tracker import JiraTracker
from trackers.test_jira_e2e import JQL, NOW, TOKEN

RULES = """\
version: 1
rules:
  - id: ask-the-owner
    title: Ask the owner
    severity: low
    rationale: Owners need to know what is theirs.
    when:
      status_category: {ne: done}
      assignee: {present: true}
    then:
      - comment: "{{ assignee | mention }}, please post the current state. Raised by {{ reporter_name }}."
"""


def applied(server: SimServer, flavor: str, rules_path, sim: JiraSim):
    tracker = JiraTracker(server.url, credentials(flavor, TOKEN), sleep=lambda s: None)
    sim.received = []
    plan = Runner(tracker, rulefile.load([str(rules_path)]), RunOptions(now=NOW, query=JQL, apply=True)).run()
    bodies = {}
    for request in sim.received:
        if sim.kind(request) == "edit":
            key = request.path.rsplit("/", 1)[1]
            bodies[key] = [op["add"]["body"] for op in request.json()["update"]["comment"]]
    return plan, bodies


def owners(sim: JiraSim) -> dict[str, str]:
    return {key: issue.assignee for key, issue in sim.issues.items()
            if issue.assignee and sim.issues[key].category != "done"}


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_a_mention_reaches_jira_in_its_own_syntax_and_each_person_is_looked_up_once(flavor, tmp_path):
    rules = tmp_path / "ask.yml"
    rules.write_text(RULES, encoding="utf-8")
    sim = JiraSim(flavor, 40, seed=3, now=NOW)
    expected = owners(sim)
    with SimServer(sim) as server:
        plan, bodies = applied(server, flavor, rules, sim)
        lookups = server.requests("user")
    assert not plan.failed and set(bodies) == set(expected)
    for key, person in expected.items():
        mention = f"[~accountid:{account_id(person)}]" if flavor == CLOUD else f"[~{person}]"
        assert bodies[key][0].startswith(f"{mention}, please post the current state."), bodies[key]
        reporter = sim.issues[key].reporter
        assert f"Raised by {reporter.replace('.', ' ').title()}." in bodies[key][0]
    assert lookups == len(set(expected.values()))  # once per person and run, not per comment
    shown = [readable(a.value) for s in plan.steps for a in s.actions]  # as plan and reports show them
    assert all(re.match(r"^@[A-Z][a-z]+ [A-Z][a-z]+, please", text) for text in shown), shown


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
@pytest.mark.parametrize("fate", ["gone", "inactive"])
def test_a_person_jira_no_longer_knows_is_written_as_a_plain_name_with_a_warning(flavor, fate, tmp_path):
    rules = tmp_path / "ask.yml"
    rules.write_text(RULES, encoding="utf-8")
    sim = JiraSim(flavor, 40, seed=3, now=NOW)
    expected = owners(sim)
    person = Counter(expected.values()).most_common(1)[0][0]
    (sim.gone_users if fate == "gone" else sim.inactive_users).add(person)
    name = person.replace(".", " ").title()
    with SimServer(sim) as server:
        plan, bodies = applied(server, flavor, rules, sim)
    assert not plan.failed and set(bodies) == set(expected)  # every write went ahead
    for key, owner in expected.items():
        if owner == person:
            assert bodies[key][0].startswith(f"{name}, please post"), bodies[key]
            assert "[~" not in bodies[key][0]
        else:
            assert bodies[key][0].startswith("[~")
    why = "no such user" if fate == "gone" else "the account is deactivated"
    warnings = [w for w in plan.warnings if w.startswith(f"cannot mention {name} on Jira ({why})")]
    assert len(warnings) == 1, plan.warnings


def test_a_whole_cloud_run_names_people_never_by_account_id(tmp_path):
    """plan (text and JSON) and the governance report of the default pack on Jira Cloud: display names only."""
    sim = JiraSim(CLOUD, 120, seed=7, now=NOW)
    ids = {account_id(name) for name in ("aisha.khan", "tom.becker", "mei.lin", "omar.haddad", "sara.costa",
                                         "li.wei")}
    stamp = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    with SimServer(sim) as server:
        base = ["--tracker", "jira", "--jira-url", server.url, "--jql", JQL, "--now", stamp]
        outputs = {}
        for name, args in {"plan": ["plan", *base], "plan-json": ["plan", *base, "--format", "json"],
                           "plan-markdown": ["plan", *base, "--format", "markdown"],
                           "report": ["report", *base, "--format", "markdown"],
                           "digest": ["digest", *base]}.items():
            done = harness.run(args, credentials(CLOUD, TOKEN))
            assert done.returncode in (0, 1) and "Traceback" not in done.stderr, (name, done.stderr)
            outputs[name] = done.stdout + done.stderr
    for name, text in outputs.items():
        assert "712020:" not in text and not any(i in text for i in ids), (name, text[:2000])
    assert "Aisha Khan" in outputs["plan"] or "Tom Becker" in outputs["plan"]
    assert any(n in outputs["report"] for n in ("Aisha Khan", "Tom Becker", "Mei Lin", "Li Wei"))
