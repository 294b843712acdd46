"""The example plugin package under examples/plugins/ works end to end: its tests, and `steward apply`."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from helpers import ROOT, write_board

PLUGIN = ROOT / "examples" / "plugins" / "steward-sla"


def test_the_plugin_package_passes_its_own_tests():
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PLUGIN / "tests")],
                            capture_output=True, text=True, cwd=PLUGIN,
                            env={"PYTHONPATH": str(PLUGIN), "PATH": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_apply_runs_the_custom_action_and_writes_the_comment(tmp_path):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    board = write_board(tmp_path, [{"key": "SUP-1", "title": "Checkout down", "sla": "breached",
                                    "status_category": "todo", "labels": ["operational"],
                                    "created": "2026-11-20T08:00:00Z"}])
    script = (
        "import sys, steward_sla\n"
        "from steward.core import plugins\n"
        "plugins.get_plugin_manager().register(steward_sla); plugins.refresh()\n"
        "from steward.cli import cli\n"
        "cli(sys.argv[1:])\n"
    )
    command = [sys.executable, "-c", script, "apply", "--tracker", f"files:{board}", "--now", "2026-11-20T09:00:00Z",
               "--rules", str(PLUGIN / "sla.yml"), "--format", "json"]
    env = {"PYTHONPATH": str(PLUGIN), "STEWARD_CHAT_WEBHOOK": f"http://127.0.0.1:{server.server_port}/x",
           "STEWARD_DISABLE_PLUGINS": "1"}
    try:
        first = subprocess.run(command, capture_output=True, text=True, env=env)
        second = subprocess.run(command, capture_output=True, text=True, env=env)
    finally:
        server.shutdown()
    assert first.returncode == 0, first.stderr
    plan = json.loads(first.stdout)
    assert [a["type"] for a in plan["actions"]] == ["comment", "notify_chat"]
    assert received == [{"text": "SUP-1: SLA breached and unowned: Checkout down"}]
    assert json.loads(second.stdout)["actions"] == []
    comments = json.loads(board.read_text(encoding="utf-8"))["issues"][0]["comments"]
    assert len(comments) == 1


def test_a_custom_action_that_failed_runs_once_on_the_next_apply_and_never_again(tmp_path):
    received, answers = [], [500, 204, 204]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(answers.pop(0))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    board = write_board(tmp_path, [{"key": "SUP-1", "title": "Checkout down", "sla": "breached",
                                    "status_category": "todo", "labels": ["operational"],
                                    "created": "2026-11-20T08:00:00Z"}])
    script = ("import sys, steward_sla\nfrom steward.core import plugins\n"
              "plugins.get_plugin_manager().register(steward_sla); plugins.refresh()\n"
              "from steward.cli import cli\ncli(sys.argv[1:])\n")
    command = [sys.executable, "-c", script, "apply", "--tracker", f"files:{board}", "--now", "2026-11-20T09:00:00Z",
               "--rules", str(PLUGIN / "sla.yml"), "--format", "json"]
    env = {"PYTHONPATH": str(PLUGIN), "STEWARD_CHAT_WEBHOOK": f"http://127.0.0.1:{server.server_port}/x",
           "STEWARD_DISABLE_PLUGINS": "1"}
    try:
        runs = [subprocess.run(command, capture_output=True, text=True, env=env) for _ in range(3)]
    finally:
        server.shutdown()
    first, second, third = (json.loads(run.stdout) for run in runs)
    assert any("notify_chat of sla-breached-unowned step 1 did not run" in w for w in first["warnings"])
    assert [a["type"] for a in second["actions"]] == ["notify_chat"]  # only the pending action, no comment
    assert third["actions"] == []
    assert len(received) == 2  # the refused post, then the one that landed; never a third
    issue = json.loads(board.read_text(encoding="utf-8"))["issues"][0]
    assert len(issue["comments"]) == 1 and issue["markers"][0].get("pending", []) == []
