"""Two `steward apply` processes started together against one Jira (Cloud and Data Center): at the end every
step is on its issue exactly once, nothing either run wrote is lost, and each run's JSON report is true.

Each run re-reads the issues it is about to write (a step the other run took since is not written again) and,
after each page, reads back what it wrote: where both runs wrote one step at once, the earlier comment is kept
and the later deleted, and the run whose copy went reports the step as taken by another run.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from contract.trackers import JiraContract
from sim import harness
from sim.jira import CLOUD, DATACENTER, STEWARD, JiraSim, credentials
from sim.server import SimServer

from steward.core.markers import find_markers
from steward.core.model import Action, Issue, Step
from steward.plugins.jira.tracker import JiraTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
STAMP = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
SEEDS = [1, 2, 3, 4]
TAKEN = re.compile(r"^(\S+): another Steward run (?:took (\S+) step (\d+) since this run read the issue|"
                   r"wrote (\S+) step (\d+) at the same moment)")


def steps_in(sim: JiraSim, key: str) -> list[tuple[str, int, str | None]]:
    """(rule, level, run) of each Steward comment on the issue, by its footer."""
    found = []
    for comment in sim.full(key).comments:
        if comment["author"] == STEWARD:
            found += [(m.rule, m.level, m.run) for m in find_markers(comment["body"], comment["created"])]
    return found


def start(server: SimServer, flavor: str) -> subprocess.Popen:
    args = ["apply", "--tracker", "jira", "--jira-url", server.url, "--jql", "project = OPS", "--now", STAMP,
            "--format", "json"]
    return subprocess.Popen(harness.steward_command(*args), env=harness.child_env(credentials(flavor)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
@pytest.mark.parametrize("seed", SEEDS)
def test_two_runs_started_together_leave_every_step_once_and_report_truly(flavor, seed):
    sim = JiraSim(flavor, 250, seed=seed, now=NOW)
    with SimServer(sim, latency=0.003) as server:
        runs = [start(server, flavor), start(server, flavor)]
        outputs = [run.communicate(timeout=300) for run in runs]
        deletes = server.requests("comment_delete")
    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0 and "Traceback" not in stderr, stderr[-3000:]
    reports = [json.loads(stdout) for stdout, _ in outputs]

    present: Counter = Counter()
    writer: dict[tuple[str, str, int], str | None] = {}
    for key in sim.issues:
        if not sim.issues[key].live:
            continue
        for rule, level, run_id in steps_in(sim, key):
            present[(key, rule, level)] += 1
            writer[(key, rule, level)] = run_id
        stored = sim.issues[key].properties.get("steward.markers", {}).get("markers", [])
        kept = Counter((m["rule"], m["level"]) for m in stored)
        assert all(n == 1 for n in kept.values()), (key, stored)  # one marker per step in the property
        assert set(kept) == {(r, lv) for (k, r, lv) in present if k == key}, (key, stored)
    assert present and all(n == 1 for n in present.values()), [s for s, n in present.items() if n > 1]

    for report in reports:  # nothing either run reports is missing from Jira
        for action in report["actions"]:
            labels = sim.issues[action["issue"]].labels
            if action["type"] == "add_labels":
                assert all(labels.count(label) == 1 for label in action["value"]), (action, labels)
    claimed = [{(a["issue"], a["rule"], a["level"]) for a in report["actions"] if a["type"] == "comment"}
               for report in reports]
    assert not claimed[0] & claimed[1]  # no step in both reports
    assert claimed[0] | claimed[1] == set(present)  # every step on Jira is in one report
    for mine in claimed:  # a run's steps are the copies its run wrote: one run id per report, not the other's
        assert len({writer[step] for step in mine}) <= 1
    assert {writer[s] for s in claimed[0]}.isdisjoint({writer[s] for s in claimed[1]})
    for report, other in ((reports[0], claimed[1]), (reports[1], claimed[0])):
        for warning in report["warnings"]:
            match = TAKEN.match(warning)
            if match:  # "taken by another run" is said only of a step the other run reports as its own
                key, rule, level = match[1], match[2] or match[4], int(match[3] or match[5])
                assert (key, rule, level) in other, warning
    said = Counter("re-check" if "since this run read" in w else "reconcile" for r in reports for w in r["warnings"]
                   if TAKEN.match(w))
    print(f"{flavor} seed {seed}: {len(present)} steps, {len(claimed[0])}/{len(claimed[1])} by each run, "
          f"{deletes} deletes, steps given up at the {dict(said)}")


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_reconcile_keeps_the_earlier_copy_and_reports_the_later_as_not_this_runs(flavor):
    """Deterministic half of the race: another run's copy of the step landed first (earlier, lower id)."""
    sim = JiraSim(flavor, 3, seed=1, now=NOW)
    key = "OPS-2"
    step = Step(key, "probe", 1, "low", [Action(key, "probe", 1, "comment", "Hello."),
                                         Action(key, "probe", 1, "add_labels", ["probed"])])
    other = "Hello.\n\n----\n_Steward · rule probe · step 1 · labels added: probed · run 0badc0de_"
    sim.comment(key, STEWARD, other, NOW - timedelta(seconds=1))
    contract = JiraContract(flavor)
    with SimServer(sim, contract=contract) as server:
        tracker = JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None)
        issue = Issue(key)
        tracker.apply(issue, [step], NOW)
        assert len(sim.steward_comments(key)) == 2
        lost = tracker.reconcile([(issue, [step])], NOW)
        assert server.requests("comment_delete") == 1
    assert lost == [step]
    assert sim.steward_comments(key) == [other]
    # the delete and every other request and answer are as the vendor's description has them
    assert server.violations == [] and contract.seen[f"DELETE /rest/api/{3 if flavor == CLOUD else 2}/issue/"
                                                     "{issueIdOrKey}/comment/{id}"] == 1
    stored = sim.issues[key].properties["steward.markers"]["markers"]
    assert [(m["rule"], m["level"]) for m in stored] == [("probe", 1)]


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_a_second_copy_that_cannot_be_deleted_stays_in_the_report_with_a_warning(flavor, caplog):
    """Without the Delete own comments permission the later copy stays: this run's step is still on the issue,
    so its report keeps it, and a warning says the step is there twice."""
    sim = JiraSim(flavor, 3, seed=1, now=NOW)
    sim.forbidden = {"comment_delete"}
    key = "OPS-2"
    step = Step(key, "probe", 1, "low", [Action(key, "probe", 1, "comment", "Hello.")])
    sim.comment(key, STEWARD, "Hello.\n\n----\n_Steward · rule probe · step 1 · no labels added · run 0badc0de_",
                NOW - timedelta(seconds=1))
    with SimServer(sim) as server, caplog.at_level("WARNING", logger="steward"):
        tracker = JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None)
        tracker.apply(Issue(key), [step], NOW)
        lost = tracker.reconcile([(Issue(key), [step])], NOW)
    assert lost == [] and len(sim.steward_comments(key)) == 2
    assert "is on the issue twice" in caplog.text and "remove it by hand" in caplog.text
