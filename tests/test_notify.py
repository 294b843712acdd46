"""The built-in `notify` action: each step's message reaches its channel exactly once, under failures and reruns."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from helpers import DEMO_NOW, run_json, steward, write_board

RULES = """\
version: 1
settings:
  channels:
    ops-chat: {type: slack, url_env: STEWARD_TEST_CHAT_URL}
    hook: {type: webhook, url_env: STEWARD_TEST_HOOK_URL}
    mail: {type: email, to: [ops@example.invalid]}
rules:
  - id: unowned
    title: Unowned
    severity: high
    rationale: Someone owns it.
    when:
      assignee: {missing: true}
    then:
      - comment: "No owner."
      - notify: {channel: ops-chat, text: "{{ key }} has no owner; {{ reporter | mention | \\"nobody\\" }} raised it"}
      - notify: {channel: hook, text: "{{ key }} needs an owner"}
"""


class Chat:
    """A loopback webhook: counts the messages, answers each with the next status (204 once they run out)."""

    def __init__(self, statuses: list[int] | None = None):
        self.received: list[dict] = []
        self.statuses = list(statuses or [])
        chat = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                chat.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(chat.statuses.pop(0) if chat.statuses else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/SECRET-token-in-url"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chats(monkeypatch) -> Iterator[tuple[Chat, Chat]]:
    chat, hook = Chat(), Chat()
    monkeypatch.setenv("STEWARD_TEST_CHAT_URL", chat.url)
    monkeypatch.setenv("STEWARD_TEST_HOOK_URL", hook.url)
    yield chat, hook
    chat.close()
    hook.close()


def setup(tmp_path):
    rules = tmp_path / "notify.yml"
    rules.write_text(RULES, encoding="utf-8")
    board = write_board(tmp_path, [{"key": "N-1", "title": "Router", "reporter": "aisha", "created": "2026-11-01",
                                    "url": "https://tracker.example.invalid/N-1"}])
    return rules, board


def test_plan_shows_the_notification_and_sends_nothing(tmp_path, chats):
    rules, board = setup(tmp_path)
    plan = run_json("plan", board, "--rules", str(rules))
    assert [a["type"] for a in plan["actions"]] == ["comment", "notify", "notify"]
    assert plan["actions"][1]["value"] == {"channel": "ops-chat", "text": "N-1 has no owner; @aisha raised it"}
    assert chats[0].received == [] and chats[1].received == []


def test_each_channel_gets_the_message_once_across_reruns(tmp_path, chats):
    chat, hook = chats
    rules, board = setup(tmp_path)
    for _ in range(3):
        run_json("apply", board, "--rules", str(rules))
    assert chat.received == [{"text": "<https://tracker.example.invalid/N-1|N-1> N-1 has no owner; @aisha raised it"}]
    assert hook.received == [{"issue": "N-1", "url": "https://tracker.example.invalid/N-1", "title": "Router",
                              "text": "N-1 needs an owner"}]


def test_a_channel_that_fails_is_retried_next_run_and_the_other_is_not_repeated(tmp_path, chats):
    chat, hook = chats
    chat.statuses = [500]
    rules, board = setup(tmp_path)
    first = run_json("apply", board, "--rules", str(rules))
    assert any("notify of unowned step 1 did not run" in w and "HTTP 500" in w for w in first["warnings"])
    assert all("SECRET-token-in-url" not in w for w in first["warnings"])
    second = run_json("apply", board, "--rules", str(rules))
    assert [a["type"] for a in second["actions"]] == ["notify"]  # only the pending one: no second comment
    run_json("apply", board, "--rules", str(rules))
    assert len(chat.received) == 2 and len(hook.received) == 1  # the refused post, the accepted one; hook once
    issue = json.loads(board.read_text(encoding="utf-8"))["issues"][0]
    assert len(issue["comments"]) == 1 and issue["markers"][0].get("pending", []) == []


def test_a_missing_url_variable_names_the_channel_and_blocks_nothing_else(tmp_path, chats, monkeypatch):
    chat, hook = chats
    monkeypatch.delenv("STEWARD_TEST_CHAT_URL")
    rules, board = setup(tmp_path)
    plan = run_json("apply", board, "--rules", str(rules))
    assert any("channel 'ops-chat' needs its webhook URL in $STEWARD_TEST_CHAT_URL" in w for w in plan["warnings"])
    assert len(hook.received) == 1 and chat.received == []
    monkeypatch.setenv("STEWARD_TEST_CHAT_URL", chat.url)
    run_json("apply", board, "--rules", str(rules))
    assert len(chat.received) == 1 and len(hook.received) == 1


def test_an_undefined_channel_is_a_rule_file_error(tmp_path):
    rules = tmp_path / "bad.yml"
    rules.write_text(RULES.replace("channel: hook", "channel: pager"), encoding="utf-8")
    result = steward("check", str(rules))
    assert result.exit_code == 2
    assert "notify names channel 'pager', which settings.channels does not define" in result.stderr


class SmtpSink(socketserver.ThreadingTCPServer):
    """Just enough SMTP to take one message: each DATA block is kept."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        self.messages: list[str] = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 sink\r\n")
                while line := self.rfile.readline():
                    verb = line.decode(errors="replace").strip().upper()
                    if verb.startswith(("EHLO", "HELO")):
                        self.wfile.write(b"250 sink\r\n")
                    elif verb == "DATA":
                        self.wfile.write(b"354 go on\r\n")
                        body = []
                        while (data := self.rfile.readline()) not in (b".\r\n", b""):
                            body.append(data.decode(errors="replace"))
                        sink.messages.append("".join(body))
                        self.wfile.write(b"250 kept\r\n")
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_email_is_sent_once_through_the_smtp_server_from_the_environment(tmp_path, monkeypatch):
    sink = SmtpSink()
    monkeypatch.setenv("STEWARD_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("STEWARD_SMTP_PORT", str(sink.server_address[1]))
    monkeypatch.setenv("STEWARD_SMTP_FROM", "steward@example.invalid")
    rules = tmp_path / "mail.yml"
    rules.write_text(RULES.replace("channel: ops-chat", "channel: mail").replace(
        '      - notify: {channel: hook, text: "{{ key }} needs an owner"}\n', ""), encoding="utf-8")
    board = write_board(tmp_path, [{"key": "N-2", "title": "Disk", "created": "2026-11-01"}])
    for _ in range(2):
        result = steward("apply", "--tracker", f"files:{board}", "--rules", str(rules), "--now", DEMO_NOW)
        assert result.exit_code == 0, result.output
    sink.shutdown()
    assert len(sink.messages) == 1
    message = sink.messages[0]
    assert "Subject: [Steward] N-2: Disk" in message and "N-2 has no owner; nobody raised it" in message
