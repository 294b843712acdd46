"""Nothing hangs, crashes or lies, tried as an attacker and a careless operator would: hostile patterns, YAML
bombs, strict rule tests, a bug inside Steward, a tracker that fails after writes, secrets in URLs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from helpers import DEMO_NOW, ROOT, run_json, steward, write_board
from steward.core import plugins
from steward.core.errors import TrackerError
from steward.core.hookspecs import hookimpl
from steward.core.model import Issue, Step
from steward.core.tracker import Tracker

RULE = """\
version: 1
rules:
  - id: probe
    title: Probe
    severity: low
    rationale: A rule to probe with.
    when:
{when}
    then:
      - comment: "{comment}"
"""


def rule_file(tmp_path: Path, when: str, comment: str = "Seen.") -> Path:
    path = tmp_path / "probe.yml"
    path.write_text(RULE.format(when=when, comment=comment), encoding="utf-8")
    return path


def test_a_catastrophic_pattern_is_refused_at_check_with_its_line(tmp_path):
    path = rule_file(tmp_path, '      title: {matches: "(a+)+$"}')
    result = steward("check", str(path))
    assert result.exit_code == 2
    assert f"{path}:8: [probe] regular expression '(a+)+$' for 'title' is unsafe" in result.stderr


def test_a_slow_pattern_gives_up_with_a_warning_naming_issue_and_rule(tmp_path):
    path = rule_file(tmp_path, '      body: {matches: ".*a.*a.*a.*a.*a.*b"}')
    board = write_board(tmp_path, [{"key": "X-1", "body": "a" * 5000, "created": "2026-11-01"},
                                   {"key": "X-2", "body": "aaaaab", "created": "2026-11-01"}])
    started = time.monotonic()
    plan = run_json("plan", board, "--rules", str(path))
    assert time.monotonic() - started < 30
    assert [w for w in plan["warnings"] if w.startswith("X-1: probe: the regular expression")]
    assert [f["issue"] for f in plan["findings"]] == ["X-2"]


def test_the_default_packs_metric_pattern_is_fast_on_a_body_of_blank_lines(tmp_path):
    board = write_board(tmp_path, [{"key": f"I-{n}", "type": "Initiative", "body": "\n" * 65536,
                                    "labels": ["strategic"], "created": "2026-11-01"} for n in range(10)])
    started = time.monotonic()
    plan = run_json("plan", board)
    assert time.monotonic() - started < 30
    assert sum(f["rule"] == "initiative-without-success-metric" for f in plan["findings"]) == 10


@pytest.mark.parametrize("text, message", [
    ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)),
     "expands to more than 100,000 values"),
    ("version: 1\nrules: " + "[" * 300 + "]" * 300 + "\n", "nested"),
])
def test_yaml_bombs_and_deep_nesting_are_rule_file_errors_not_hangs(tmp_path, text, message):
    path = tmp_path / "bomb.yml"
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    result = steward("check", str(path))
    assert time.monotonic() - started < 10
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output


def test_an_unclosed_template_and_unaddressable_labels_fail_check(tmp_path):
    path = rule_file(tmp_path, "      age_days: {gt: 1}", comment="Hello {{ key")
    text = path.read_text(encoding="utf-8") + "      - add_labels: ['..', ' padded']\n"
    path.write_text(text, encoding="utf-8")
    result = steward("check", str(path))
    assert result.exit_code == 2
    assert "template has an unclosed {{" in result.stderr
    assert "label '..' cannot be written" in result.stderr and "label ' padded' cannot" in result.stderr


def test_steward_test_refuses_to_pass_when_it_ran_nothing(tmp_path):
    rules = rule_file(tmp_path, "      age_days: {gt: 1}")
    (tmp_path / "probe.test.yml").write_text("cases: []\n", encoding="utf-8")  # misnamed: .test, not .tests
    for target in (str(rules), str(tmp_path)):
        result = steward("test", target)
        assert result.exit_code == 2 and "0 passed" not in result.output, result.output
        assert "tests.yml" in result.stderr


def test_a_test_case_without_expectation_or_with_a_mistyped_value_is_an_error(tmp_path):
    rule_file(tmp_path, "      age_days: {gt: 1}")
    tests = tmp_path / "probe.tests.yml"
    tests.write_text("now: 2026-11-20T09:00:00Z\ncases:\n  - name: nothing expected\n    facts: {age_days: 3}\n",
                     encoding="utf-8")
    result = steward("test", str(tests))
    assert result.exit_code == 2 and "probe.tests.yml:3: [-] the case expects nothing" in result.stderr
    tests.write_text("now: 2026-11-20T09:00:00Z\ncases:\n  - name: typed\n    facts: {age_days: ten}\n"
                     "    fire: [probe]\n", encoding="utf-8")
    result = steward("test", str(tests))
    assert result.exit_code == 2 and "fact 'age_days' is a number, got 'ten'" in result.stderr


class BrokenAfterOnePage(Tracker):
    """A tracker whose second page fails, after the first page's steps were written."""

    name = "brokenpage"
    written: list[str] = []

    def fetch(self, query: str | None, since: datetime | None) -> Iterator[list[Issue]]:
        yield [Issue(key="B-1", title="one", labels=["tactical"])]
        raise TrackerError("the tracker stopped answering (HTTP 503)")

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        self.written.append(issue.key)


class Explodes(Tracker):
    name = "explodes"

    def fetch(self, query: str | None, since: datetime | None) -> Iterator[list[Issue]]:
        raise ZeroDivisionError("https://admin:hunter2-secret@jira.example.invalid is not a number")


class TestTrackers:
    @hookimpl
    def register_trackers(self, register):
        register("brokenpage", lambda target, options: BrokenAfterOnePage())
        register("explodes", lambda target, options: Explodes())


@pytest.fixture
def test_trackers():
    plugin = TestTrackers()
    plugins.get_plugin_manager().register(plugin)
    plugins.refresh()
    yield
    plugins.get_plugin_manager().unregister(plugin)
    plugins.refresh()


def test_a_read_failure_after_writes_exits_3_and_says_what_was_written(tmp_path, test_trackers):
    rules = rule_file(tmp_path, "      key: {present: true}")
    result = steward("apply", "--tracker", "brokenpage", "--rules", str(rules), "--now", DEMO_NOW, "--format", "json")
    plan = json.loads(result.stdout)
    assert result.exit_code == 3
    assert [a["issue"] for a in plan["actions"]] == ["B-1"] and "HTTP 503" in plan["stopped"]
    failed_before_writing = steward("plan", "--tracker", "brokenpage", "--rules", str(rules), "--now", DEMO_NOW)
    assert failed_before_writing.exit_code == 2  # a plan writes nothing: the error is the whole truth


def test_a_bug_inside_steward_is_one_line_exit_4_and_a_redacted_crash_report(test_trackers):
    result = steward("plan", "--tracker", "explodes", "--now", DEMO_NOW)
    assert result.exit_code == 4 and "Traceback" not in result.output
    assert result.stderr.startswith("internal error: ZeroDivisionError:")
    assert "hunter2-secret" not in result.stderr
    report = Path(re.search(r"details in (\S+)\.", result.stderr).group(1))
    text = report.read_text(encoding="utf-8")
    assert "Traceback" in text and "ZeroDivisionError" in text and "hunter2-secret" not in text
    report.unlink()


def test_a_pipe_in_issue_text_does_not_break_the_markdown_table(tmp_path):
    board = write_board(tmp_path, [{"key": "P-1", "title": "a | b", "body": "x | y", "created": "2026-11-01"}])
    rules = rule_file(tmp_path, "      title: {matches: 'a'}", comment="Title {{ title }}")
    result = steward("plan", "--tracker", f"files:{board}", "--rules", str(rules), "--now", DEMO_NOW,
                     "--format", "markdown")
    rows = [line for line in result.stdout.splitlines() if line.startswith("| P-1")]
    assert len(rows) == 1 and rows[0].count(" | ") == 4  # five cells: the pipes in the text are escaped


def test_credentials_in_a_jira_url_never_reach_output():
    done = subprocess.run([sys.executable, "-m", "steward.cli", "plan", "--tracker", "jira", "--now", DEMO_NOW],
                          capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "JIRA_URL": "http://admin:s3cret-pw@127.0.0.1:9/",
                               "JIRA_EMAIL": "a@b.c", "JIRA_API_TOKEN": "tok-xyz-123", "STEWARD_HTTP_TIMEOUT": "1",
                               "STEWARD_DISABLE_PLUGINS": "1"})
    assert done.returncode == 2, done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr and "tok-xyz-123" not in done.stdout + done.stderr
    assert "127.0.0.1:9" in done.stderr


def test_credentials_in_issue_links_are_stripped_from_reports(tmp_path):
    board = write_board(tmp_path, [{"key": "L-1", "url": "https://bot:hunter2@jira.example.invalid/browse/L-1",
                                    "type": "Exception", "labels": ["exception"], "created": "2026-09-01"}])
    for out in ("report.html", "report.md"):
        result = steward("report", "--tracker", f"files:{board}", "--now", DEMO_NOW, "--out", str(tmp_path / out))
        assert result.exit_code == 0, result.output
        text = (tmp_path / out).read_text(encoding="utf-8")
        assert "https://jira.example.invalid/browse/L-1" in text and "hunter2" not in text
