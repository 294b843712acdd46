"""`steward report`: the governance review's numbers, history, escaping and size limits."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from helpers import DEMO_NOW, copy_board, run_json, steward, write_board
from steward.core.history import History, HistoryError, Run, thin
from steward.core.model import Comment, Finding, Issue, Marker
from steward.core.review import ReviewCollector
from steward.core.review_html import render_html
from steward.core.review_markdown import MARKDOWN_LIMIT, fit, render_markdown
from steward.core.rulefile import load
from steward.core.runner import Runner, RunOptions
from steward.core.timeutil import parse_time

NOW = parse_time(DEMO_NOW)


def _report(board, *extra: str, now: str = DEMO_NOW):
    result = steward("report", "--tracker", f"files:{board}", "--now", now, *extra)
    assert result.exit_code == 0, result.output
    return result


def _headline_row(markdown: str, name: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {name} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def _expected_demo_numbers(board_path, now: datetime) -> dict:
    """The headline numbers worked out from the board JSON and `plan --format json`, not from core.review."""
    board = json.loads(board_path.read_text(encoding="utf-8"))
    issues = {raw["key"]: raw for raw in board["issues"]}
    findings = run_json("plan", board_path, now=now.strftime("%Y-%m-%dT%H:%M:%SZ"))["findings"]
    severities = Counter(f["severity"] for f in findings)
    no_owner = sum(1 for f in findings if not issues[f["issue"]].get("assignee"))
    window, since = timedelta(hours=24), now - timedelta(days=30)
    changes = [(raw, change) for raw in board["issues"] for change in raw.get("changes", [])
               if change["field"] == "priority" and since <= parse_time(change["at"]) <= now]
    explained = sum(
        any(c["author"] == change["author"] and abs(parse_time(c["created"]) - parse_time(change["at"])) <= window
            for c in raw.get("comments", []))
        for raw, change in changes)
    return {"findings": len(findings), "severe": severities["high"] + severities["critical"],
            "critical": severities["critical"], "high": severities["high"], "no_owner": no_owner,
            "changes": len(changes), "explained": explained, "issues": len(issues),
            "items": len({f["issue"] for f in findings})}


def test_demo_board_headline_numbers_match_an_independent_count(tmp_path):
    board = copy_board(tmp_path)
    expected = _expected_demo_numbers(board, NOW)
    # The demo board's story, pinned, so a change to the board or the pack shows up here too.
    assert (expected["findings"], expected["severe"], expected["no_owner"]) == (20, 8, 2)
    assert (expected["changes"], expected["explained"]) == (5, 4)

    markdown = _report(board, "--format", "markdown").stdout
    assert _headline_row(markdown, "Open findings")[1:] == [
        f"**{expected['findings']}**", f"on {expected['items']} of {expected['issues']} issues"]
    assert _headline_row(markdown, "High + critical")[1:] == [
        f"**{expected['severe']}**", f"{expected['critical']} critical, {expected['high']} high"]
    share = round(100 * expected["no_owner"] / expected["findings"])
    assert _headline_row(markdown, "Findings with no owner")[1:] == [
        f"**{share}%**", f"{expected['no_owner']} of {expected['findings']} findings"]
    rationale = round(100 * expected["explained"] / expected["changes"])
    assert _headline_row(markdown, "Priority changes with a rationale")[1:] == [
        f"**{rationale}%**", f"{expected['explained']} of {expected['changes']} in the last 30 days"]
    # OPS-102 carries Steward's step-1 comment of 2026-11-12 and nothing human after it: 8 days waiting.
    assert _headline_row(markdown, "Median escalation → follow-up")[1:] == [
        "**—**", "none followed up yet; 1 still waiting (longest 8.0 days)"]

    # Grouped by altitude, strategic first; the critical temporary approval leads the tactical group.
    decide = markdown.split("### What to decide next")[1].split("###")[0]
    groups = re.findall(r"^\*\*(Strategic|Operational|Tactical|Unclassified)\*\*$", decide, re.MULTILINE)
    assert groups == ["Strategic", "Operational", "Tactical"]
    tactical = decide.split("**Tactical**")[1]
    first = [line for line in tactical.splitlines() if line.startswith("| ")][1]
    assert "[OPS-150](https://example.invalid/browse/OPS-150)" in first and "critical" in first
    assert "| **no owner** | · | 2 |" in markdown
    oldest = markdown.split("### Oldest items first")[1].split("###")[0]
    keys = re.findall(r"^\| \[(OPS-\d+)\]", oldest, re.MULTILINE)
    created = {raw["key"]: raw["created"] for raw in json.loads(board.read_text())["issues"]}
    assert keys == sorted(keys, key=lambda k: created[k]) and keys[0] == "OPS-300"


def test_html_report_carries_the_same_numbers_and_sections(tmp_path):
    board = copy_board(tmp_path)
    out = tmp_path / "report.html"
    result = _report(board, "--out", str(out))
    assert "wrote" in result.stderr and result.stdout == ""
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for value in ("20", "8", "10%", "80%", "—"):
        assert f'<div class="value">{value}</div>' in page
    for section in ("What to decide next", "Open findings by rule and severity", "Open findings by owner",
                    "Oldest items first", "Escalation ladders", "Trends", "How measured"):
        assert f"<h2>{section}</h2>" in page
    assert '<a href="https://example.invalid/browse/OPS-150">OPS-150</a>' in page
    assert "<script" not in page and "http" not in page.replace("https://example.invalid", "")


def test_format_follows_the_out_suffix_unless_given(tmp_path):
    board = copy_board(tmp_path)
    _report(board, "--out", str(tmp_path / "r.htm"))
    assert (tmp_path / "r.htm").read_text().startswith("<!DOCTYPE html>")
    _report(board, "--out", str(tmp_path / "r.md"))
    assert (tmp_path / "r.md").read_text().startswith("## Governance review")
    _report(board, "--out", str(tmp_path / "r.html"), "--format", "markdown")
    assert (tmp_path / "r.html").read_text().startswith("## Governance review")
    assert _report(board).stdout.startswith("## Governance review")


def test_report_never_writes_to_the_tracker(tmp_path):
    board = copy_board(tmp_path)
    before = board.read_bytes()
    _report(board, "--out", str(tmp_path / "r.html"))
    assert board.read_bytes() == before


def _hours(n: float) -> datetime:
    return NOW - timedelta(days=20) + timedelta(hours=n)


def test_follow_up_runs_from_stewards_first_step_to_the_next_human_comment_or_change(tmp_path):
    steward_comment = "Please act.\n\n<!-- steward:marker rule=unowned-exception level=1 at={} -->"
    at = lambda h: _hours(h).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    issues = [
        # 48 hours: a human comment two days after Steward's comment
        {"key": "F-1", "labels": ["tactical"], "created": at(-100),
         "comments": [{"author": "steward", "created": at(0), "body": steward_comment.format(at(0))},
                      {"author": "ana", "created": at(48), "body": "On it."}]},
        # 6 hours: a human's label change; Steward's own label change an hour in does not count
        {"key": "F-2", "labels": ["tactical"], "created": at(-100),
         "comments": [{"author": "steward", "created": at(0), "body": steward_comment.format(at(0))}],
         "changes": [{"field": "labels", "to": "needs-owner", "author": "steward", "at": at(1)},
                     {"field": "assignee", "to": "bo", "author": "bo", "at": at(6)}]},
        # waiting: the only human comment came before Steward's step
        {"key": "F-3", "labels": ["tactical"], "created": at(-100),
         "comments": [{"author": "ana", "created": at(-5), "body": "Earlier."},
                      {"author": "steward", "created": at(0), "body": steward_comment.format(at(0))}]},
        # from the marker list alone (no Steward comment): 100 hours
        {"key": "F-4", "labels": ["tactical"], "created": at(-100),
         "markers": [{"rule": "unclassified-work", "level": 1, "at": at(0)}],
         "comments": [{"author": "chen", "created": at(100), "body": "Classified."}]},
        # never escalated: not counted at all
        {"key": "F-5", "labels": ["tactical"], "created": at(-100),
         "comments": [{"author": "ana", "created": at(3), "body": "Hello."}]},
    ]
    board = write_board(tmp_path, issues)
    markdown = _report(board, "--format", "markdown").stdout
    # median of 48, 6 and 100 hours; F-3 waits 20 days
    assert _headline_row(markdown, "Median escalation → follow-up")[1:] == [
        "**2.0 days**", "median of 3 followed up; 1 still waiting (longest 20.0 days)"]


def test_ladders_show_how_long_each_step_took(tmp_path):
    at = lambda days: (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    issues = [
        {"key": "L-1", "type": "exception", "labels": ["exception", "operational"], "created": at(60),
         "markers": [{"rule": "unowned-exception", "level": 1, "at": at(10)},
                     {"rule": "unowned-exception", "level": 2, "at": at(3)}]},
        # the rule stopped firing (it has an owner now): the ladder ended at step 1
        {"key": "L-2", "type": "exception", "labels": ["exception", "operational"], "created": at(60),
         "assignee": "ana", "markers": [{"rule": "unowned-exception", "level": 1, "at": at(12)}]},
    ]
    markdown = _report(write_board(tmp_path, issues), "--format", "markdown").stdout
    ladders = markdown.split("### Escalation ladders")[1].split("###")[0]
    assert "| Exception without an owner `unowned-exception` | 2 | 1 | step 1: 7.0 days (n=1) |" in ladders
    l1 = next(line for line in ladders.splitlines() if line.startswith("| L-1 |"))
    assert "step 1 7.0 days → step 2 3.0 days" in l1 and l1.endswith("| open at step 2 |")
    l2 = next(line for line in ladders.splitlines() if line.startswith("| L-2 |"))
    assert "step 1 ended" in l2 and l2.endswith("| ended |")
    # open ladders come first
    assert ladders.index("| L-1 |") < ladders.index("| L-2 |")


def _rows(path) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT at, mode, tracker, findings, high_critical FROM runs ORDER BY id").fetchall()


def test_history_appends_one_row_per_run_and_the_report_draws_them(tmp_path):
    board = copy_board(tmp_path)
    history = tmp_path / "steward-history.sqlite"
    earlier = run_json("plan", board, "--history", str(history), now="2026-11-13T09:00:00Z")["findings"]
    severe = sum(f["severity"] in ("high", "critical") for f in earlier)
    assert (len(earlier), severe) == (9, 3)
    out = tmp_path / "report.html"
    _report(board, "--history", str(history), "--out", str(out))
    spec = f"files:{board}"
    assert _rows(history) == [("2026-11-13T09:00:00Z", "plan", spec, 9, 3),
                              ("2026-11-20T09:00:00Z", "report", spec, 20, 8)]
    page = out.read_text(encoding="utf-8")
    trends = page.split('<section id="trends">')[1].split("</section>")[0]
    charts = re.findall(r"<figure>.*?</figure>", trends, re.DOTALL)
    assert len(charts) == 5 and [("<svg" in chart) for chart in charts] == [True, True, True, True, False]
    assert "Median escalation → follow-up" in charts[4] and "No value recorded yet" in charts[4]
    findings_chart = charts[0]
    assert "Open findings" in findings_chart and "2 runs, 2026-11-13 to 2026-11-20" in findings_chart
    series = re.search(r'<g id="trend0-series">(.*?)</g>\s*</g>', findings_chart, re.DOTALL).group(1)
    assert series.count("<use ") == 2  # one marker per run
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "ids repeat across the inline charts"
    # the headline compares with the previous run
    assert "▲ 11 since 2026-11-13" in page

    markdown = _report(board, "--history", str(history), "--format", "markdown").stdout
    trends = markdown.split("### Trends")[1].split("###")[0]
    assert "| 2026-11-13T09:00:00Z | plan | 9 | 3 |" in trends
    assert len(_rows(history)) == 3


def test_one_history_point_shows_values_without_a_chart(tmp_path):
    out = tmp_path / "r.html"
    _report(copy_board(tmp_path), "--history", str(tmp_path / "h.sqlite"), "--out", str(out))
    page = out.read_text(encoding="utf-8")
    trends = page.split('<section id="trends">')[1].split("</section>")[0]
    mix = page.split('<section id="mix">')[1].split("</section>")[0]
    assert "One run recorded so far" in trends and "<svg" not in trends and "<svg" not in mix


def test_history_of_other_trackers_and_queries_is_kept_apart(tmp_path):
    history = History(tmp_path / "h.sqlite")
    history.append(NOW, "apply", "files:a.json", None, {"findings": 1})
    history.append(NOW, "apply", "files:b.json", None, {"findings": 2})
    history.append(NOW, "apply", "files:a.json", "project = X", {"findings": 3})
    assert [r.measures["findings"] for r in history.runs("files:a.json", None)] == [1]
    assert [r.measures["findings"] for r in history.runs("files:a.json", "project = X")] == [3]


def test_chart_points_are_thinned_to_the_last_run_of_each_day():
    runs = [Run(NOW + timedelta(hours=6 * i), "apply", {"findings": i}) for i in range(40)]  # 11 days
    assert thin(runs, 40) == runs
    thinned = thin(runs, 20)
    assert len(thinned) == 11 and thinned[-1] is runs[-1]
    assert len({run.at.date() for run in thinned}) == 11
    assert thin(runs, 5) == thinned[-5:]


@pytest.mark.parametrize("command", ["plan", "apply", "report"])
def test_a_file_that_is_not_a_steward_history_is_a_clear_error_and_nothing_is_written(tmp_path, command):
    board = copy_board(tmp_path)
    before = board.read_bytes()
    text_file = tmp_path / "notes.txt"
    text_file.write_text("these are my notes, not a database\n" * 100)
    other_db = tmp_path / "other.sqlite"
    with sqlite3.connect(other_db) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER)")
    for bad in (text_file, other_db):
        result = steward(command, "--tracker", f"files:{board}", "--now", DEMO_NOW, "--history", str(bad))
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: {bad} is not a Steward history file")
    directory = steward(command, "--tracker", f"files:{board}", "--now", DEMO_NOW, "--history", str(tmp_path))
    assert directory.exit_code == 2 and "is a directory" in directory.stderr
    assert board.read_bytes() == before
    assert text_file.read_text().startswith("these are my notes")
    with sqlite3.connect(other_db) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("invoices",)]


def test_a_history_from_a_newer_steward_is_refused(tmp_path):
    path = tmp_path / "h.sqlite"
    History(path)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="newer Steward"):
        History(path)


def test_tracker_text_is_escaped_in_html_and_markdown(tmp_path):
    evil = '<script>alert("title")</script> | **bold** [x](javascript:alert(1))'
    issues = [{"key": "X-1<b>", "title": evil, "assignee": "<img src=x onerror=alert(1)>",
               "url": "javascript:alert(1)", "labels": [], "created": "2026-11-01T00:00:00Z"},
              {"key": "X-2", "title": "fine", "url": 'https://example.invalid/"><script>alert(2)</script>',
               "labels": [], "created": "2026-11-01T00:00:00Z"}]
    board = write_board(tmp_path, issues)
    out = tmp_path / "r.html"
    _report(board, "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page and "X-1<b>" not in page and "X-1&lt;b&gt;" in page
    assert "&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "javascript:" not in page.replace("[x](javascript:alert(1))", "")
    assert 'href="javascript' not in page
    assert 'href="https://example.invalid/&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in page

    markdown = _report(board, "--format", "markdown").stdout
    assert "<script" not in markdown and "<img" not in markdown
    row = next(line for line in markdown.splitlines() if "alert(&quot;" in line or "alert(\"title" in line)
    assert "\\| \\*\\*bold\\*\\* \\[x\\](javascript" in row  # inert: no cell break, no bold, no link
    assert not re.search(r"(?<!\\)\]\(javascript", markdown)
    assert "(https://example.invalid/%22%3E%3Cscript%3Ealert%282%29%3C/script%3E)" in markdown


def _synthetic_review(count: int, title_length: int = 400):
    """`count` issues, one finding each, every one with its own owner, a long title and a ladder."""
    rules = load(["pack:governance"])
    collector = ReviewCollector(rules, NOW, "files:big.json")
    rule_ids = [(rule.id, rule.severity) for rule in rules.rules]
    for start in range(0, count, 500):
        issues, findings = [], []
        for i in range(start, min(count, start + 500)):
            rule, severity = rule_ids[i % len(rule_ids)]
            created = NOW - timedelta(days=i % 400, hours=i % 24)
            issues.append(Issue(key=f"BIG-{i}", title=f"{i} " + "long title <x> | " * (title_length // 17),
                                url=f"https://example.invalid/BIG-{i}", assignee=f"owner-{i}", created=created,
                                markers=[Marker(rule, 1, NOW - timedelta(days=3))],
                                comments=[Comment("steward", NOW - timedelta(days=3), "step", by_steward=True)]))
            findings.append([Finding(f"BIG-{i}", rule, severity, {})])
        collector(issues, [{} for _ in issues], findings)
    return collector.result()


def test_markdown_stays_under_the_step_summary_limit_with_100k_findings():
    review = _synthetic_review(100_000)
    assert review.findings == 100_000 and len(review.oldest) == 50
    markdown = render_markdown(review)
    assert len(markdown.encode("utf-8")) < 1_000_000 == MARKDOWN_LIMIT
    assert "… and 99,950 more items" in markdown and "… and 99,970 more owners" in markdown
    assert "**100,000**" in markdown
    html = render_html(review)
    assert '<div class="value">100,000</div>' in html


def test_fit_cuts_at_a_line_with_a_note_and_respects_the_byte_limit():
    text = "".join(f"| line {i} | ünïcödé |\n" for i in range(10_000))
    cut = fit(text, 5_000)
    assert len(cut.encode("utf-8")) <= 5_000 and "size limit" in cut
    assert cut.split("\n\n*(report cut")[0].endswith("ünïcödé |")
    assert fit("short\n", 5_000) == "short\n"
    assert len(render_markdown(_synthetic_review(2_000), limit=20_000).encode("utf-8")) <= 20_000


def test_runner_observer_sees_every_issue_with_its_findings_and_changes_nothing(tmp_path):
    from steward.plugins.files.tracker import FilesTracker
    rules = load(["pack:governance"])
    board = copy_board(tmp_path)
    seen = []
    plain = Runner(FilesTracker(str(board)), rules, RunOptions(now=NOW)).run()
    observed = Runner(FilesTracker(str(board)), rules, RunOptions(now=NOW),
                      observer=lambda issues, facts, found: seen.append((issues, facts, found))).run()
    assert observed.to_json() == plain.to_json()
    issues = [issue for page, _, _ in seen for issue in page]
    assert len(issues) == plain.issues_seen == 53
    assert all(len(page) == len(facts) == len(found) for page, facts, found in seen)
    assert [f for _, _, found in seen for per_issue in found for f in per_issue] == plain.findings


def test_a_run_with_an_observer_does_not_narrow_what_the_tracker_reads(tmp_path):
    """Pushdown and field selection would hide issues and history from the report's measures."""
    from steward.plugins.files.tracker import FilesTracker

    class Narrowing(FilesTracker):
        narrowed: list = []

        def narrow(self, rules):
            self.narrowed.append(len(rules))

    rules = load(["pack:governance"])
    board = copy_board(tmp_path)
    Runner(Narrowing(str(board)), rules, RunOptions(now=NOW)).run()
    assert Narrowing.narrowed == [len(rules.rules)]
    Runner(Narrowing(str(board)), rules, RunOptions(now=NOW), observer=lambda *page: None).run()
    assert Narrowing.narrowed == [len(rules.rules)]


def test_priority_changes_use_the_same_rationale_test_as_the_fact(tmp_path):
    at = lambda h: (NOW - timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    issues = [
        {"key": "P-1", "labels": ["tactical"], "created": at(2000),  # explained: comment 23 h before
         "changes": [{"field": "priority", "from": "Low", "to": "High", "author": "ana", "at": at(30)}],
         "comments": [{"author": "ana", "created": at(53), "body": "Raising: customer impact."}]},
        {"key": "P-2", "labels": ["tactical"], "created": at(2000),  # someone else's comment does not explain
         "changes": [{"field": "priority", "from": "Low", "to": "High", "author": "ana", "at": at(30)}],
         "comments": [{"author": "bo", "created": at(29), "body": "Why?"}]},
        {"key": "P-3", "labels": ["tactical"], "created": at(2000),  # older than lookback_days: not counted
         "changes": [{"field": "priority", "from": "Low", "to": "High", "author": "ana", "at": at(24 * 31)}]},
        {"key": "P-4", "labels": ["tactical"], "created": at(2000),  # two changes, each counted
         "changes": [{"field": "priority", "from": "Low", "to": "High", "author": "ana", "at": at(100)},
                     {"field": "priority", "from": "High", "to": "Low", "author": "ana", "at": at(10)}],
         "comments": [{"author": "ana", "created": at(9), "body": "Back down: fixed upstream."}]},
    ]
    markdown = _report(write_board(tmp_path, issues), "--format", "markdown").stdout
    assert _headline_row(markdown, "Priority changes with a rationale")[1:] == [
        "**50%**", "2 of 4 in the last 30 days"]
    fired = {f["issue"] for f in run_json("plan", write_board(tmp_path, issues))["findings"]
             if f["rule"] == "priority-change-without-rationale"}
    assert fired == {"P-2"}  # P-4's last change is explained, so the rule agrees


def test_an_empty_board_renders_without_findings_or_history(tmp_path):
    board = write_board(tmp_path, [])
    out = tmp_path / "r.html"
    _report(board, "--out", str(out))
    page = out.read_text(encoding="utf-8")
    assert '<div class="value">0</div>' in page and "Nothing to decide" in page
    markdown = _report(board).stdout
    assert "Nothing to decide" in markdown and "No history yet" in markdown


def test_history_measures_round_trip(tmp_path):
    history = History(tmp_path / "h.sqlite")
    measures = _synthetic_review(30).measures()
    history.append(NOW, "report", "files:x", None, measures)
    (run,) = history.runs("files:x", None)
    assert run.at == NOW.replace(tzinfo=timezone.utc) and run.mode == "report" and run.measures == measures


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


def test_the_html_report_renders_in_headless_chromium(tmp_path):
    if CHROMIUM is None:
        # CI installs chromium (.ci/run), and says so with STEWARD_NO_BROWSER when it could not.
        if os.environ.get("CI") and not os.environ.get("STEWARD_NO_BROWSER"):
            pytest.fail("CI must install Debian's `chromium` for the rendered-report test")
        pytest.skip("chromium is not installed")
    board = copy_board(tmp_path)
    history = tmp_path / "h.sqlite"
    for day in ("2026-11-06", "2026-11-13"):  # plans leave the board as it is, so the numbers stay the demo's
        run_json("plan", board, "--history", str(history), now=f"{day}T09:00:00Z")
    page = tmp_path / "report.html"
    _report(board, "--history", str(history), "--out", str(page))
    expected = _expected_demo_numbers(board, NOW)

    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    values = re.findall(r'<div class="value">([^<]*)</div>', dom)
    assert values == [str(expected["findings"]), str(expected["severe"]),
                      f"{round(100 * expected['no_owner'] / expected['findings'])}%",
                      f"{round(100 * expected['explained'] / expected['changes'])}%", "—"]
    assert values[:4] == ["20", "8", "10%", "80%"]
    def section(name: str) -> str:
        return dom.split(f'<section id="{name}">')[1].split("</section>")[0]

    assert "OPS-150</a>" in dom and "3 runs, 2026-11-06 to 2026-11-20" in dom
    # Trend charts for four of the five headline numbers, the mix's four shares, one initiative's metric.
    assert [section(name).count("<svg") for name in ("trends", "mix", "metrics")] == [4, 4, 1]
    assert dom.count("<svg") == 9

    png = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", page.as_uri())
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 2000)
    assert len(data) > 50_000  # a blank page compresses to a few kilobytes


def test_the_report_has_a_title_names_owners_and_lists_each_owners_items(tmp_path):
    from helpers import DEMO_NOW, copy_board, steward

    board = copy_board(tmp_path)
    out = tmp_path / "report.html"
    result = steward("report", "--tracker", f"files:{board}", "--now", DEMO_NOW, "--out", str(out),
                     "--title", "Ops review, week 47")
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<title>Ops review, week 47</title>" in html and "<h1>Ops review, week 47</h1>" in html
    assert "Jon Ofori" in html and ">jon.ofori<" not in html  # names from the board's people map, not ids
    assert 'id="your-items"' in html and "Li Wei · 3 items" in html
    assert '<div class="scroll"><table' in html and "@media (max-width: 600px)" in html
    markdown = steward("report", "--tracker", f"files:{board}", "--now", DEMO_NOW, "--format", "markdown").stdout
    assert markdown.startswith("## Governance review · files:") and "### Your items, by owner" in markdown
