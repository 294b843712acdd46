"""Steward's own actions (a plugin's action) on Jira run once across reruns, including a rerun after the action
failed: the step's comment lists them, the marker property records each as done (`record_done`), and on
Data Center, whose search returns no property, the property is read only for issues whose comments list an
own action."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sim import harness
from sim.jira import CLOUD, DATACENTER, credentials
from sim.server import SimServer

from trackers.test_jira_ledger import NOW, PROBE, prepared

STAMP = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")

PLUGIN = '''\
import os
from steward.core.errors import TrackerError
from steward.core.hookspecs import hookimpl
from steward.core.registry import ActionSpec


def ping_chat(issue, text, context):
    if os.path.exists(os.environ["PROBE_DOWN"]):
        raise TrackerError("ping_chat: the chat is down")
    with open(os.environ["PROBE_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{issue.key} {text}\\n")
    return f"pinged the chat about {issue.key}"


@hookimpl
def register_actions(register):
    register(ActionSpec("ping_chat", {"type": "string", "minLength": 1}, "Ping the chat.", ping_chat))
'''

RULES = """\
version: 1
rules:
  - id: probe-ping
    title: Probe ping
    severity: high
    rationale: Comment, then tell the chat.
    when:
      labels: {contains: probe}
    then:
      - comment: Looking at this.
      - ping_chat: "{{ title }} needs a look"
"""

SCRIPT = ("import sys, jira_probe_action\n"
          "from steward.core import plugins\n"
          "plugins.get_plugin_manager().register(jira_probe_action); plugins.refresh()\n"
          "from steward.cli import cli\n"
          "cli(sys.argv[1:])\n")


def apply(server: SimServer, flavor: str, work: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", SCRIPT, "apply", "--tracker", "jira", "--jira-url", server.url, "--jql",
               "project = OPS", "--now", STAMP, "--rules", str(work / "rules.yml"), "--format", "json"]
    env = harness.child_env({**credentials(flavor), "PYTHONPATH": str(work), "PROBE_LOG": str(work / "log"),
                             "PROBE_DOWN": str(work / "down")})
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_an_own_action_runs_once_across_reruns_even_after_it_failed_once(flavor, tmp_path):
    (tmp_path / "jira_probe_action.py").write_text(PLUGIN, encoding="utf-8")
    (tmp_path / "rules.yml").write_text(RULES, encoding="utf-8")
    (tmp_path / "down").write_text("", encoding="utf-8")  # the chat is down for the first run
    sim = prepared(flavor, labels=["probe"])
    sim.received = []
    with SimServer(sim) as server:
        first = apply(server, flavor, tmp_path)
        (tmp_path / "down").unlink()
        second = apply(server, flavor, tmp_path)
        third = apply(server, flavor, tmp_path)
        server.reset_counts()
        fourth = apply(server, flavor, tmp_path)
        reads_when_done = server.requests("property_read")
    for done in (first, second, third, fourth):
        assert "Traceback" not in done.stderr, done.stderr
    first_report = json.loads(first.stdout)
    assert first.returncode == 0, first.stderr
    assert [a["type"] for a in first_report["actions"]] == ["comment", "ping_chat"]
    assert any("ping_chat" in w and "did not run" in w for w in first_report["warnings"])
    second_report = json.loads(second.stdout)
    assert [a["type"] for a in second_report["actions"]] == ["ping_chat"]  # only the action, not the comment
    assert not second_report["warnings"], second_report["warnings"]
    assert json.loads(third.stdout)["actions"] == json.loads(fourth.stdout)["actions"] == []
    assert (tmp_path / "log").read_text(encoding="utf-8").splitlines() == [f"{PROBE} {sim.full(PROBE).summary} "
                                                                           "needs a look"]
    assert len(sim.steward_comments(PROBE)) == 1
    stored = sim.issues[PROBE].properties["steward.markers"]["markers"]
    assert [(m["rule"], m["level"], m.get("pending", [])) for m in stored] == [("probe-ping", 1, [])]
    puts = [r for r in sim.received if r.method == "PUT" and "/properties/" in r.path]
    assert puts  # recorded as done through the property
    # once done, a run reads the property only on Data Center (its search has none), one read per such issue
    assert reads_when_done == (1 if flavor == DATACENTER else 0)
