"""`steward event`: one webhook payload in, that one issue evaluated (and written), a summary out."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from steward.cli import cli
from steward.core.timeutil import format_time, parse_time

PAYLOADS = Path(__file__).parent / "payloads"
NOW = "2019-05-20T12:00:00Z"
MARKER = f"<!-- steward:marker rule=unclassified-work level=1 at={NOW} -->"
EVENTS = sorted(p.name.removesuffix(".payload.json") for p in PAYLOADS.glob("*.payload.json"))


def run(*args):
    return CliRunner().invoke(cli, ["event", *args], catch_exceptions=False)


@pytest.mark.parametrize("name", EVENTS)
def test_event_mode_for_each_webhook_payload(name, cassette, github_env):
    payload = json.loads((PAYLOADS / f"{name}.payload.json").read_text())
    now = parse_time(payload["issue"]["updated_at"]) + timedelta(days=5)  # as in make_cassettes.event_now
    with cassette(f"event_{name}") as cass:
        result = run("--github-event", str(PAYLOADS / f"{name}.payload.json"), "--now", format_time(now))
    assert result.exit_code == 0, result.output
    # 1 GraphQL read of the issue, then: the issue read again just before writing, comment, list repo labels,
    # create the missing label, add it; then its newest comments read once (no second copy to delete).
    assert cass.play_count == 7 and cass.all_played
    assert "unclassified-work" in result.output
    summary = github_env["summary"].read_text()
    assert summary.startswith("## Steward apply") and "#1" in summary
    outputs = dict(line.split("=", 1) for line in github_env["output"].read_text().split())
    assert outputs == {"findings": "1", "actions": "2", "issues-found": "[1]", "issues-acted-on": "[1]"}


def test_event_dry_run_reads_one_issue_in_one_request(cassette, github_env):
    with cassette("event_issues_opened_dry_run") as cass:
        result = run("--github-event", str(PAYLOADS / "issues_opened.payload.json"), "--now", NOW, "--dry-run")
    assert result.exit_code == 0, result.output
    assert cass.play_count == 1
    assert "## Steward plan" in result.output


def test_event_fail_on_findings_exits_1(cassette, github_env):
    with cassette("event_issues_opened_dry_run"):
        result = run("--github-event", str(PAYLOADS / "issues_opened.payload.json"), "--now", NOW, "--dry-run",
                     "--fail-on-findings")
    assert result.exit_code == 1


def _payload(tmp_path, name, change=None, drop=None):
    payload = json.loads((PAYLOADS / f"{name}.payload.json").read_text())
    for key in drop or ():
        payload.pop(key)
    if change:
        change(payload)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return str(path)


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: _payload(p, "issues_opened", drop=["issue"]), "has no `issue` with a `number`"),
    (lambda p: _payload(p, "issues_opened", change=lambda d: d.update(action="exploded")),
     "unknown issues action 'exploded'"),
    (lambda p: _payload(p, "issue_comment_created", change=lambda d: d.update(action="pinned")),
     "unknown issue_comment action 'pinned'"),
    (lambda p: _payload(p, "issues_opened", change=lambda d: d["issue"].update(number="one")),
     "has no `issue` with a `number`"),
    (lambda p: (p / "bad.json").write_text("{not json") and str(p / "bad.json"), "is not JSON"),
    (lambda p: (p / "list.json").write_text("[]") and str(p / "list.json"), "must be a JSON object"),
    (lambda p: str(p / "missing.json"), "does not exist"),
    (lambda p: _payload(p, "issues_opened", drop=["repository"]), "names no repository"),
])
def test_malformed_payloads_exit_2_with_a_clear_message(make, message, tmp_path, github_env):
    result = CliRunner().invoke(cli, ["event", "--github-event", make(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in result.output and result.output.startswith("error: ")
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)


def test_no_payload_at_all_exits_2(github_env):
    result = CliRunner().invoke(cli, ["event"])
    assert result.exit_code == 2 and "GITHUB_EVENT_PATH" in result.output


def test_unsupported_event_name_exits_2(github_env, tmp_path):
    result = CliRunner().invoke(cli, ["event", "--github-event", _payload(tmp_path, "issues_opened"),
                                      "--event-name", "push"])
    assert result.exit_code == 2 and "unsupported event 'push'" in result.output


def _no_network(*args, **kwargs):
    raise AssertionError("no request expected")


@pytest.mark.parametrize(("change", "why"), [
    (lambda d: d["issue"].update(pull_request={"url": "https://api.github.com/repos/x/y/pulls/1"}),
     "is a pull request"),
    (lambda d: d["sender"].update(login="github-actions[bot]"), "caused by Steward itself"),
    (lambda d: d["comment"].update(body="Please classify.\n\n" + MARKER), "the comment is Steward's own"),
])
def test_ignored_events_make_no_request(change, why, tmp_path, github_env, cassette):
    path = _payload(tmp_path, "issue_comment_created", change=change)
    with cassette("event_issues_opened_dry_run") as cass:
        result = run("--github-event", path, "--now", NOW)
    assert result.exit_code == 0 and why in result.output
    assert cass.play_count == 0
    assert github_env["output"].read_text() == "findings=0\nactions=0\nissues-found=[]\nissues-acted-on=[]\n"


def test_a_bot_named_in_the_environment_is_steward(tmp_path, github_env, cassette, monkeypatch):
    monkeypatch.setenv("STEWARD_GITHUB_LOGIN", "steward-app[bot],Codertocat")
    with cassette("event_issues_opened_dry_run") as cass:
        result = run("--github-event", str(PAYLOADS / "issues_labeled.payload.json"))
    assert result.exit_code == 0 and "caused by Steward itself (Codertocat)" in result.output
    assert cass.play_count == 0


def test_summary_stays_under_one_mebibyte():
    from steward.plugins.github.event import SUMMARY_LIMIT, summary_text
    text = summary_text("| row |\n" * 300_000)
    assert len(text.encode()) <= SUMMARY_LIMIT and text.endswith("size limit of a GitHub step summary)*\n")
