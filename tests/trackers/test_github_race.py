"""A scheduled sweep racing the events of the issues it acts on, as real processes against one simulator (the
workflow runs sweeps and each issue's events in different concurrency groups, so this happens): at the end
every step is there exactly once, and every run's report is true (each step is reported by the one run whose
copy stayed). Also, in one process and deterministically: a run that wrote a step another run had just
written deletes its later copy and takes the step out of its report."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from contract.known import unlisted
from contract.trackers import GitHubContract
from sim import harness
from sim.github import (
    NAME,
    OWNER,
    REPO,
    SIM_NOW,
    TOKEN,
    VIEWER,
    GitHubSim,
    SimIssue,
    problems_after_apply,
    run_args,
    run_cli,
    stamp,
    steward_env,
)
from sim.server import SimServer

from steward.core import rulefile
from steward.core.markers import find_markers
from steward.core.runner import Runner, RunOptions
from steward.plugins.github.tracker import GitHubTracker
from steward.plugins.github.transport import Pacer

PAYLOADS = Path(__file__).parents[1] / "github" / "payloads"
SEEDS = (31, 32, 33, 34)
ISSUES = 40
EVENTS = 4  # event processes, each for one acted-on issue; the sweep acts on more issues than these
LATENCY = 0.02  # seconds per request: reads and writes of the processes interleave


def event_payload(tmp_path: Path, number: int) -> Path:
    """An `issues.opened` webhook (octokit's example) about issue `number` of the simulator's repository."""
    payload = json.loads((PAYLOADS / "issues_opened.payload.json").read_text(encoding="utf-8"))
    payload["issue"]["number"] = number
    payload["repository"]["full_name"] = REPO
    payload["repository"]["name"], payload["repository"]["owner"]["login"] = NAME, OWNER
    path = tmp_path / f"event-{number}.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def acted_on(seed: int) -> list[int]:
    sim = GitHubSim(issues=ISSUES, seed=seed)
    with SimServer(sim) as server:
        result = run_cli(server.url, run_args("plan"))
    return sorted({int(a["issue"].lstrip("#")) for a in json.loads(result.stdout)["actions"] if a["level"] > 0})


def race(seed: int, tmp_path: Path) -> tuple[GitHubSim, dict[str, dict], SimServer]:
    """One sweep and EVENTS event processes started together; their JSON reports by process name."""
    targets = acted_on(seed)[:EVENTS]
    sim = GitHubSim(issues=ISSUES, seed=seed)
    with SimServer(sim, latency=LATENCY, contract=GitHubContract()) as server:
        env = harness.child_env(steward_env(server.url))
        commands = {"sweep": run_args("apply")}
        for number in targets:
            commands[f"event #{number}"] = [
                "event", "--github-event", str(event_payload(tmp_path, number)), "--event-name", "issues",
                "--github-url", server.url, "--now", stamp(SIM_NOW) or "", "--format", "json"]
        processes = {name: subprocess.Popen(harness.steward_command(*args), env=env, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True)
                     for name, args in commands.items()}
        reports = {}
        for name, process in processes.items():
            stdout, stderr = process.communicate(timeout=180)
            assert process.returncode == 0, f"{name}: {stderr[-2000:]}"
            assert "Traceback" not in stderr and TOKEN not in stdout + stderr
            reports[name] = json.loads(stdout)
    return sim, reports, server


def run_of(body: str) -> str:
    return body.rsplit(" run=", 1)[1].split(" ", 1)[0]


@pytest.fixture(scope="module")
def races(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[GitHubSim, dict[str, dict], SimServer]]:
    return {seed: race(seed, tmp_path_factory.mktemp(f"race-{seed}")) for seed in SEEDS}


def met(sim: GitHubSim, reports: dict[str, dict]) -> tuple[int, int]:
    """How often a run met another's copy of a step: (skipped at the re-check, later copies deleted)."""
    warnings = [w for report in reports.values() for w in report["warnings"]]
    return sum("since this run read the issue" in w for w in warnings), len(sim.deleted)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_sweep_racing_events_leaves_every_step_once_and_every_report_true(seed, races):
    sim, reports, server = races[seed]
    assert unlisted("github", server.violations) == []
    events = {int(name.split("#")[1]) for name in reports if name != "sweep"}
    for report in reports.values():
        assert problems_after_apply(sim, report) == []
    assert problems_after_apply(sim, {"actions": [], "deferred": []}) == []  # no step twice on any issue
    written = {(number, m.rule, m.level) for number in sim.snapshot() for m in sim.steward_markers(number)
               if m.at == SIM_NOW}
    # Which run wrote which copy: the sweep's run id is the one on the issues no event was about; on an
    # event's issue any other run id is that event's. Copies deleted by the reconcile count too.
    sweep_runs = {run_of(body) for number in sim.snapshot() if number not in events
                  for body in sim.steward_comments(number) if f"at={stamp(SIM_NOW)}" in body}
    assert len(sweep_runs) == 1
    [sweep_run] = sweep_runs
    copies: dict[tuple[int, str, int], list[tuple[str, bool]]] = {}  # step: (run, kept) of each copy
    for number, event, kept in [(n, e, True) for n in sim.snapshot() for e in sim.issue(n).events] + \
            [(n, e, False) for n, e in sim.deleted]:
        if event.kind == "comment" and event.actor == VIEWER and f"at={stamp(SIM_NOW)}" in (event.body or ""):
            for marker in find_markers(event.body):
                copies.setdefault((number, marker.rule, marker.level), []).append((run_of(event.body), kept))

    def run_of_process(name: str, number: int) -> str | None:
        if name == "sweep":
            return sweep_run
        return next((run for (n, _, _), found in copies.items() if n == number for run, _ in found
                     if run != sweep_run), None)

    claimants: dict[tuple[int, str, int], set[str]] = {}
    for name, report in reports.items():
        for action in report["actions"]:
            if action["level"] > 0:
                claimants.setdefault((int(action["issue"].lstrip("#")), action["rule"], action["level"]),
                                     set()).add(name)
    assert set(claimants) == written  # every step reported is there, and every step there is reported
    for step, names in claimants.items():
        [owner] = [run for run, kept in copies[step] if kept]  # one copy stayed
        # The run whose copy stayed reports it. A run whose copy was deleted does not. Another run may report
        # it only when it wrote no copy: it found the step half-written and sent its missing changes.
        assert owner in {run_of_process(name, step[0]) for name in names}, (step, names, copies[step])
        for name in names:
            run = run_of_process(name, step[0])
            assert run == owner or run not in {r for r, _ in copies[step]}, (step, name, copies[step])
    finished = sum(len(names) - 1 for names in claimants.values())
    skipped, deleted = met(sim, reports)
    taken_back = sum("its copy was kept" in w for report in reports.values() for w in report["warnings"])
    assert taken_back == deleted  # each deleted copy was taken out of the report of the run that wrote it
    print(f"seed {seed}: {len(written)} steps, {len(events)} events; {skipped} skipped at the re-check, "
          f"{deleted} later copies deleted, {finished} finished by a second run; "
          f"{server.requests('graphql_recheck')} re-checks, {server.requests('graphql_reconcile')} reconciles")


def test_the_races_did_happen(races):
    """Across the seeds, some run met another's copy of a step (else the test above proved nothing)."""
    assert sum(sum(met(sim, reports)) for sim, reports, _ in races.values()) > 0


def test_a_run_that_wrote_a_step_another_run_had_just_written_deletes_its_copy_and_says_so():
    """Deterministic: run B re-checks, then run A writes the same step, then B writes its own copy. B's
    reconcile deletes B's later copy and takes the step out of B's report; A's report keeps it."""
    sim = GitHubSim(issues=0)
    created = SIM_NOW - timedelta(days=10)
    sim.add(SimIssue(number=1, title="Unclassified", body="", created=created, updated=created, author="li-wei"))
    rules = rulefile.load(rulefile.default_specs())
    with SimServer(sim, contract=GitHubContract()) as server:
        a = GitHubTracker(REPO, TOKEN, server.url, pacer=Pacer(per_minute=0))
        b = GitHubTracker(REPO, TOKEN, server.url, pacer=Pacer(per_minute=0))
        plans = {}
        apply_b = b.apply

        def a_writes_first(issue, steps, now):
            plans["a"] = Runner(a, rules, RunOptions(now=SIM_NOW, apply=True)).run()
            apply_b(issue, steps, now)

        b.apply = a_writes_first
        plans["b"] = Runner(b, rules, RunOptions(now=SIM_NOW, apply=True)).run()
        assert unlisted("github", server.violations) == []
    assert [(s.rule, s.level) for s in plans["a"].steps] == [("unclassified-work", 1)]
    assert plans["b"].steps == [] and any("another Steward run wrote unclassified-work step 1" in w
                                          for w in plans["b"].warnings)
    assert [m.run for m in sim.steward_markers(1)] == [a.run] and len(sim.deleted) == 1
    assert f"run={b.run}" in (sim.deleted[0][1].body or "")
    assert "needs-classification" in sim.labels(1)
