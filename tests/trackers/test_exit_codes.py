"""Exit codes tell the truth when a run ends after writing: the history that cannot be recorded, every
write refused."""

from __future__ import annotations

import json
import resource
import signal
import subprocess

from sim import harness
from sim.github import GitHubSim, run_args, steward_env
from sim.server import Faults, SimServer


def _small_files_only() -> None:
    """In the child: no file may grow past 512 bytes, as on a full disk (HTTP writes are not files)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))


def test_a_history_that_cannot_be_recorded_after_writes_exits_3_not_2(tmp_path):
    history = tmp_path / "history.sqlite"
    sim = GitHubSim(issues=20, seed=1)
    with SimServer(sim) as server:
        create = harness.run([*run_args("plan"), "--history", str(history)], steward_env(server.url))
        assert create.returncode == 0 and history.exists(), create.stderr
        done = subprocess.run(harness.steward_command(*run_args("apply"), "--history", str(history)),
                              env=harness.child_env(steward_env(server.url)), capture_output=True, text=True,
                              timeout=120, preexec_fn=_small_files_only)
    assert done.returncode == 3, done.stderr
    assert "cannot write history file" in done.stderr and "Traceback" not in done.stderr
    assert json.loads(done.stdout)["actions"]  # the steps were written: exit 2 would say they were not


def test_every_write_refused_exits_2_and_reports_every_step_failed():
    sim = GitHubSim(issues=20, seed=1)
    faults = Faults(script=[("rest_comment_create", "forbidden")] * 100)
    with SimServer(sim, faults=faults) as server:
        done = harness.run(run_args("apply"), steward_env(server.url))
    report = json.loads(done.stdout)
    assert done.returncode == 2, done.stderr
    assert not report["actions"] and report["failed"]
