"""Steward's own actions (a plugin's) on GitHub run exactly once across reruns: each runs after its step's
comment landed and is then recorded as done by editing that comment's marker (`pending=`). One that failed
stays pending and runs on the next apply, once. Steward runs as a child process with the plugin registered."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

from contract.known import unlisted
from contract.trackers import GitHubContract
from sim import harness
from sim.github import REPO, SIM_NOW, GitHubSim, SimIssue, stamp, steward_env
from sim.server import SimServer

PLUGIN = '''\
"""A plugin action that appends a line to $RECORD_FILE, and fails once if $FAIL_ONCE exists."""
import os
from steward.core.errors import TrackerError
from steward.core.hookspecs import hookimpl
from steward.core.registry import ActionSpec


def record_line(issue, text, context):
    flag = os.environ["FAIL_ONCE"]
    if os.path.exists(flag):
        os.remove(flag)
        raise TrackerError("the recorder is down")
    with open(os.environ["RECORD_FILE"], "a", encoding="utf-8") as out:
        out.write(f"{issue.key} {text}\\n")
    return f"recorded {text}"


@hookimpl
def register_actions(register):
    register(ActionSpec("record_line", {"type": "string"}, "Append a line to $RECORD_FILE.", record_line))
'''
RULES = """\
version: 1
rules:
  - id: record-unclassified
    title: Unclassified work is recorded
    severity: low
    rationale: A plugin action that must run once per step, however often Steward runs.
    when:
      not:
        labels: {contains_any: [strategic, operational, tactical]}
    then:
      - comment: Recording this unclassified item.
      - record_line: "{{ title }}"
"""
SCRIPT = ("import sys, steward_record\n"
          "from steward.core import plugins\n"
          "plugins.get_plugin_manager().register(steward_record); plugins.refresh()\n"
          "from steward.cli import cli\n"
          "cli(sys.argv[1:])\n")


def test_a_plugin_action_runs_exactly_once_across_reruns_even_after_it_failed(tmp_path):
    (tmp_path / "steward_record.py").write_text(PLUGIN, encoding="utf-8")
    rules = tmp_path / "record.yml"
    rules.write_text(RULES, encoding="utf-8")
    record, flag = tmp_path / "record.txt", tmp_path / "fail-once"
    flag.write_text("down", encoding="utf-8")
    sim = GitHubSim(issues=0)
    for number in (1, 2):
        created = SIM_NOW - timedelta(days=3)
        sim.add(SimIssue(number=number, title=f"Item {number}", body="", created=created, updated=created,
                         author="li-wei"))
    contract = GitHubContract()
    reports = []
    with SimServer(sim, contract=contract) as server:
        env = harness.child_env({**steward_env(server.url), "PYTHONPATH": str(tmp_path),
                                 "RECORD_FILE": str(record), "FAIL_ONCE": str(flag)})
        for _ in range(3):
            done = subprocess.run([sys.executable, "-c", SCRIPT, "apply", "--tracker", f"github:{REPO}", "--now",
                                   stamp(SIM_NOW) or "", "--rules", str(rules), "--format", "json"],
                                  capture_output=True, text=True, env=env, timeout=120)
            assert done.returncode == 0, done.stderr
            assert "Traceback" not in done.stderr
            reports.append(json.loads(done.stdout))
    first, second, third = reports
    assert sorted(record.read_text(encoding="utf-8").splitlines()) == ["#1 Item 1", "#2 Item 2"]
    assert [a["type"] for a in first["actions"]] == ["comment", "record_line"] * 2
    assert sum("did not run (the recorder is down)" in w for w in first["warnings"]) == 1
    assert not any("may run again" in w for report in reports for w in report["warnings"])
    assert [a["type"] for a in second["actions"]] == ["record_line"]  # only the one that failed, once more
    assert third["actions"] == []
    for number in (1, 2):
        [marker] = sim.steward_markers(number)
        assert marker.pending == () and len(sim.steward_comments(number)) == 1
    assert server.requests("rest_comment_edit") == 2  # one edit per action that ran
    assert unlisted("github", server.violations) == []
