"""`steward digest`: one digest per review period, posted once and updated, sent to a channel once."""

from __future__ import annotations

import json

from test_notify import Chat

from helpers import DEMO_NOW, copy_board, steward

RULES_WITH_CHANNEL = """\
version: 1
settings:
  channels:
    leads: {type: slack, url_env: STEWARD_TEST_LEADS_URL}
overrides: {}
"""


def _digests(board) -> list[dict]:
    return [i for i in json.loads(board.read_text(encoding="utf-8"))["issues"] if i["key"].startswith("DIGEST-")]


def test_the_digest_names_what_to_decide_and_mentions_each_owner_once(tmp_path):
    board = copy_board(tmp_path)
    result = steward("digest", "--tracker", f"files:{board}", "--now", DEMO_NOW)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("## Governance review 2026-W47")
    assert "### What to decide next" in text and "OPS-150" in text.split("### By owner")[0]
    decide = text.split("### What to decide next")[1].split("### By owner")[0]
    assert decide.index("**Strategic**") < decide.index("**Operational**") < decide.index("**Tactical**")
    assert "1. [OPS-300]" in decide.split("**Operational**")[0]  # strategic first, numbered straight through
    by_owner = text.split("### By owner")[1].split("###")[0]
    assert by_owner.count("@Li Wei") == 1 and "**no owner**" in by_owner
    assert "### Overdue reviews" in text and "OPS-111" in text.split("### Overdue reviews")[1]
    assert _digests(board) == []  # printing writes nothing


def test_post_creates_one_digest_issue_per_period_and_a_rerun_updates_it(tmp_path):
    board = copy_board(tmp_path)
    first = steward("digest", "--tracker", f"files:{board}", "--now", DEMO_NOW, "--post")
    assert first.exit_code == 0 and "posted the 2026-W47 digest as DIGEST-2026-W47" in first.stdout
    later = steward("digest", "--tracker", f"files:{board}", "--now", "2026-11-21T09:00:00Z", "--post")
    assert later.exit_code == 0
    (issue,) = _digests(board)
    assert issue["title"] == "Governance review 2026-W47" and "@li.wei" in issue["body"]
    assert issue["updated"] != issue["created"]
    next_week = steward("digest", "--tracker", f"files:{board}", "--now", "2026-11-24T09:00:00Z", "--post")
    assert next_week.exit_code == 0 and len(_digests(board)) == 2
    plan = json.loads(steward("plan", "--tracker", f"files:{board}", "--now", DEMO_NOW, "--format", "json").stdout)
    assert not [f for f in plan["findings"] if f["issue"].startswith("DIGEST-")]  # not work to govern


def test_a_channel_gets_the_periods_digest_once(tmp_path, monkeypatch):
    chat = Chat()
    monkeypatch.setenv("STEWARD_TEST_LEADS_URL", chat.url)
    rules = tmp_path / "leads.yml"
    rules.write_text(RULES_WITH_CHANNEL, encoding="utf-8")
    board = copy_board(tmp_path)
    args = ["digest", "--tracker", f"files:{board}", "--now", DEMO_NOW, "--rules", "pack:governance",
            "--rules", str(rules), "--post", "--channel", "leads"]
    try:
        assert steward(*args).exit_code == 0
        again = steward(*args)
    finally:
        chat.close()
    assert again.exit_code == 0 and "already sent to channel 'leads'" in again.stdout
    assert len(chat.received) == 1 and "## Governance review 2026-W47" in chat.received[0]["text"]
    assert _digests(board)[0]["steward_digest"]["sent"] == ["leads"]
    assert steward("digest", "--tracker", f"files:{board}", "--channel", "leads").exit_code == 2
