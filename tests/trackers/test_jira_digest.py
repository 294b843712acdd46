"""The digest on Jira (issue 15, part 5): `steward digest --post` creates one issue per period in the project
STEWARD_DIGEST_PROJECT names, finds it again on a rerun (by its label, Steward as reporter and the
`steward.digest` property naming the period) and updates it instead of opening another; two runs posting at
the same moment leave one. Every request and answer passes the Atlassian contract checks."""

from __future__ import annotations

import re
import subprocess
import threading
from datetime import timedelta

import pytest
from contract.trackers import JiraContract
from sim import harness
from sim.jira import CLOUD, DATACENTER, STEWARD, USERS, WRITE_KINDS, JiraSim, SimIssue, account_id, credentials
from sim.server import Request, Response, SimServer

from trackers.test_jira_e2e import JQL, NOW, TOKEN

PERIOD = "2026-W47"  # the ISO week of NOW


def digest(server: SimServer, flavor: str, *extra: str, now=NOW, project: str | None = "OPS"):
    env = {**credentials(flavor, TOKEN), **({"STEWARD_DIGEST_PROJECT": project} if project else {})}
    return harness.run(["digest", "--tracker", "jira", "--jira-url", server.url, "--jql", JQL, "--now",
                        now.strftime("%Y-%m-%dT%H:%M:%SZ"), "--post", *extra], env)


def steward_digests(sim: JiraSim) -> list[SimIssue]:
    return [i for i in sim.issues.values() if f"steward-digest-{PERIOD.lower()}" in i.labels and i.reporter == STEWARD]


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_a_digest_is_created_once_then_updated_in_the_same_period(flavor):
    sim = JiraSim(flavor, 60, seed=3, now=NOW)
    contract = JiraContract(flavor)
    with SimServer(sim, contract=contract) as server:
        first = digest(server, flavor)
        assert first.returncode == 0 and "Traceback" not in first.stderr, first.stderr
        [created] = sim.created
        assert f"posted the {PERIOD} digest as {created} ({server.url}/browse/{created})" in first.stdout
        issue = sim.issues[created]
        assert issue.summary == f"Governance review {PERIOD}" and issue.reporter == STEWARD
        assert issue.properties["steward.digest"] == {"period": PERIOD, "sent": []}
        mentions = re.findall(r"\[~(?:accountid:)?([^\]]+)\]", issue.description)  # each owner, notified once
        people = {account_id(u) if flavor == CLOUD else u for u in USERS}
        assert mentions and set(mentions) <= people and len(mentions) == len(set(mentions))
        assert "712020:" not in re.sub(r"\[~accountid:[^\]]+\]", "", issue.description)
        server.reset_counts()
        again = digest(server, flavor, "--title", "Ops review, week 47", now=NOW + timedelta(days=1))
        assert again.returncode == 0, again.stderr
        assert f"posted the {PERIOD} digest as {created}" in again.stdout
        assert server.requests("issue_create") == 0 and server.requests("edit") == 1
        assert sim.created == [created] and sim.issues[created].summary == "Ops review, week 47"
        assert steward_digests(sim) == [sim.issues[created]]
        later = digest(server, flavor, now=NOW + timedelta(days=7))  # the next week: a new issue
        assert later.returncode == 0 and len(sim.created) == 2 and sim.created[1] in later.stdout
    assert server.violations == [], server.violations
    assert {"POST /rest/api/3/issue" if flavor == CLOUD else "POST /rest/api/2/issue"} <= set(contract.seen)


def test_a_persons_issue_with_the_digest_label_is_never_taken_for_it():
    sim = JiraSim(CLOUD, 20, seed=3, now=NOW)
    fake = sim._materialize("OPS-5")
    fake.labels.append(f"steward-digest-{PERIOD.lower()}")
    fake.properties["steward.digest"] = {"period": PERIOD, "sent": ["ops-chat"]}
    before = (fake.summary, fake.description)
    with SimServer(sim) as server:
        done = digest(server, CLOUD)
    assert done.returncode == 0, done.stderr
    assert len(sim.created) == 1 and sim.created[0] != "OPS-5"
    assert (sim.issues["OPS-5"].summary, sim.issues["OPS-5"].description) == before


def test_without_a_digest_project_it_says_which_variable_to_set_and_writes_nothing():
    sim = JiraSim(CLOUD, 10, seed=3, now=NOW)
    with SimServer(sim) as server:
        done = digest(server, CLOUD, project=None)
        assert server.requests(*WRITE_KINDS) == 0
    assert done.returncode == 2 and "set STEWARD_DIGEST_PROJECT" in done.stderr and "Traceback" not in done.stderr


class Together:
    """Holds each run's create until both runs have looked for the digest: both find none, both create.

    The create waits in `kind()`, which the server calls before it takes the lock it answers under, so the
    other run's look is answered meanwhile."""

    def __init__(self, sim: JiraSim):
        self.sim, self.looked, self.looks = sim, threading.Event(), 0

    def kind(self, request: Request) -> str:
        kind = self.sim.kind(request)
        if kind == "issue_create":
            assert self.looked.wait(timeout=60), "the other run never looked for the digest"
        return kind

    def is_write(self, request: Request) -> bool:
        return self.sim.is_write(request)

    def handle(self, request: Request) -> Response:
        response = self.sim.handle(request)  # the server's lock is held: one request at a time
        if "steward-digest" in (request.param("jql") or ""):
            self.looks += 1
            if self.looks >= 2:
                self.looked.set()
        return response


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_two_runs_posting_at_the_same_moment_leave_one_digest(flavor):
    sim = JiraSim(flavor, 30, seed=3, now=NOW)
    contract = JiraContract(flavor)
    with SimServer(Together(sim), contract=contract) as server:
        env = harness.child_env({**credentials(flavor, TOKEN), "STEWARD_DIGEST_PROJECT": "OPS"})
        args = harness.steward_command("digest", "--tracker", "jira", "--jira-url", server.url, "--jql", JQL,
                                       "--now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "--post")
        runs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
        outputs = [run.communicate(timeout=120) for run in runs]
        deletes = server.requests("issue_delete")
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert len(sim.created) == 2 and deletes == 1  # both created; the later one was removed by its creator
    [kept] = steward_digests(sim)
    assert kept.key == min(sim.created, key=lambda k: int(k.split("-")[1]))
    assert all(f"as {kept.key}" in out for out, _ in outputs), outputs
    assert any("another Steward run created the" in err for _, err in outputs)
    assert server.violations == [], server.violations
