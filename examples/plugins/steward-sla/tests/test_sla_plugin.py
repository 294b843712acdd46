"""The plugin's tests: its rule cases through Steward's public loader, and its action over real HTTP."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

import steward_sla
from steward.core import plugins
from steward.core.model import Issue
from steward.core.ruletests import load_cases

HERE = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def registered():
    if not plugins.get_plugin_manager().is_registered(steward_sla):
        plugins.get_plugin_manager().register(steward_sla)
    plugins.refresh()
    yield
    plugins.get_plugin_manager().unregister(steward_sla)
    plugins.refresh()


def test_rule_cases():
    cases = load_cases([str(HERE)])
    assert len(cases) == 3
    for case in cases:
        result = case.run()
        assert result.passed, result.describe()


@pytest.fixture
def chat_server():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_notify_chat_posts_the_message(chat_server, monkeypatch):
    url, received = chat_server
    monkeypatch.setenv(steward_sla.WEBHOOK_ENV, url)
    issue = Issue(key="SUP-1", title="Checkout down")
    assert steward_sla.notify_chat(issue, "hello", None).startswith("posted")
    assert received == [{"text": "SUP-1: hello"}]
