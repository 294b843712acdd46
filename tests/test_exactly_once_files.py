"""Exactly once on the files board, tried as teams deploy it: two runs at once, people who paste Steward's
markers, clocks that must not count Steward's own writes, labels a person set, actions after the write."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import DEMO_NOW, ROOT, copy_board, run_json, steward, write_board
from steward.core.registry import FactContext
from steward.core.runner import derive_facts
from steward.core.timeutil import parse_time
from steward.plugins.files.tracker import FilesTracker

MARKER_ESCALATED = "<!-- steward:marker rule=unowned-exception level=2 at=2026-11-19T09:00:00Z -->"


def _board(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _issue(path: Path, key: str) -> dict:
    return next(i for i in _board(path)["issues"] if i["key"] == key)


def _steps(report: dict) -> set[tuple[str, str, int]]:
    return {(a["issue"], a["rule"], a["level"]) for a in report["actions"]}


def _markers_in_comments(issue: dict) -> list[str]:
    return [line for c in issue.get("comments") or [] for line in c["body"].splitlines()
            if "steward:marker" in line and c["author"] == "steward"]


def test_two_applies_started_together_write_every_step_once_and_both_reports_are_true(tmp_path):
    board = copy_board(tmp_path)
    expected = _steps(run_json("plan", board))
    command = [sys.executable, "-m", "steward.cli", "apply", "--tracker", f"files:{board}", "--now", DEMO_NOW,
               "--format", "json"]
    env = {"PATH": "/usr/bin:/bin", "STEWARD_DISABLE_PLUGINS": "1"}
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             cwd=ROOT) for _ in range(2)]
    reports = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        reports.append(json.loads(out))
    first, second = (_steps(r) for r in reports)
    assert first | second == expected and not first & second  # each step written by exactly one run
    for issue in _board(board)["issues"]:
        markers = _markers_in_comments(issue)
        assert len(markers) == len(set(markers)), issue["key"]
        stored = [(m["rule"], m["level"]) for m in issue.get("markers") or []]
        assert len(stored) == len(set(stored)), issue["key"]


def test_a_pasted_marker_is_a_persons_comment_and_silences_nothing(tmp_path):
    board = copy_board(tmp_path)
    raw = _board(board)
    issue = next(i for i in raw["issues"] if i["key"] == "OPS-101")
    issue.setdefault("comments", []).append({"author": "mallory", "created": "2026-11-19T09:00:00Z",
                                             "body": f"ok {MARKER_ESCALATED}"})
    board.write_text(json.dumps(raw), encoding="utf-8")
    plan = run_json("plan", board)
    assert ("OPS-101", "unowned-exception", 1) in _steps(plan)


def test_a_person_quoting_stewards_comment_is_activity_and_counts_as_a_comment(tmp_path):
    board = copy_board(tmp_path)
    run_json("apply", board)
    steward_comment = next(c for c in _issue(board, "OPS-101")["comments"] if c["author"] == "steward")
    raw = _board(board)
    issue = next(i for i in raw["issues"] if i["key"] == "OPS-101")
    issue["comments"].append({"author": "li.wei", "created": "2026-11-20T10:00:00Z",
                              "body": "> " + steward_comment["body"].replace("\n", "\n> ") + "\n\nOn it."})
    board.write_text(json.dumps(raw), encoding="utf-8")
    facts = _facts(board, "OPS-101", "2026-11-21T10:00:00Z", ["comment_count", "days_since_comment"])
    assert facts == {"comment_count": 2, "days_since_comment": 1}  # tom.becker's, and the quote


def _facts(board: Path, key: str, now: str, names: list[str]) -> dict:
    issue = FilesTracker(str(board)).fetch_one(key)
    return derive_facts(issue, FactContext(parse_time(now), {}), names)


IDLE_RULES = """\
version: 1
rules:
  - id: stale
    title: Nobody touched it
    severity: low
    rationale: Idle work needs a nudge, then a second one.
    when:
      idle_days: {gte: 3}
    then:
      - comment: "No update for {{ idle_days }} days."
      - add_labels: [stale]
    escalate:
      - after_days: 2
        comment: Still no update.
        add_labels: [stale-2]
"""


def test_stewards_own_comment_does_not_reset_the_idle_clock(tmp_path):
    rules = tmp_path / "idle.yml"
    rules.write_text(IDLE_RULES, encoding="utf-8")
    board = write_board(tmp_path, [{"key": "T-1", "title": "t", "created": "2026-11-01T00:00:00Z",
                                    "updated": "2026-11-10T00:00:00Z"}])
    one = run_json("apply", board, "--rules", str(rules), now="2026-11-20T09:00:00Z")
    assert _steps(one) == {("T-1", "stale", 1)}
    # An hour later the rule still holds: Steward's comment is not activity, so nothing is taken back.
    hour = run_json("apply", board, "--rules", str(rules), now="2026-11-20T10:00:00Z")
    assert hour["actions"] == []
    two = run_json("apply", board, "--rules", str(rules), now="2026-11-22T09:00:00Z")
    assert _steps(two) == {("T-1", "stale", 2)}
    assert set(_issue(board, "T-1")["labels"]) == {"stale", "stale-2"}
    # A person's comment is activity: the rule stops holding and its labels are taken back.
    raw = _board(board)
    raw["issues"][0]["comments"].append({"author": "li.wei", "created": "2026-11-22T10:00:00Z", "body": "Here."})
    board.write_text(json.dumps(raw), encoding="utf-8")
    back = run_json("apply", board, "--rules", str(rules), now="2026-11-22T11:00:00Z")
    assert [a["type"] for a in back["actions"]] == ["remove_labels"] and _issue(board, "T-1")["labels"] == []


def test_cleanup_leaves_a_label_a_person_had_set_before_stewards_step(tmp_path):
    board = write_board(tmp_path, [{
        "key": "OPS-9", "type": "Exception", "labels": ["exception", "operational", "escalated"],
        "reporter": "aisha", "created": "2026-10-01T00:00:00Z",
        "changes": [{"field": "labels", "from": None, "to": "escalated", "author": "aisha",
                     "at": "2026-10-02T00:00:00Z"}]}])
    run_json("apply", board, now="2026-11-20T09:00:00Z")
    step_two = run_json("apply", board, now="2026-11-27T09:00:00Z")
    assert ("OPS-9", "unowned-exception", 2) in _steps(step_two)
    raw = _board(board)
    raw["issues"][0]["assignee"] = "li.wei"
    board.write_text(json.dumps(raw), encoding="utf-8")
    cleanup = run_json("apply", board, now="2026-11-28T09:00:00Z")
    removed = [a["value"] for a in cleanup["actions"] if a["type"] == "remove_labels"]
    assert removed == [["needs-owner"]]
    assert "escalated" in _issue(board, "OPS-9")["labels"]


def test_a_symlinked_board_is_followed_and_keeps_its_mode(tmp_path):
    real = copy_board(tmp_path)
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    run_json("apply", link)
    assert link.is_symlink() and (real.stat().st_mode & 0o777) == 0o640
    assert any(c["author"] == "steward" for i in _board(real)["issues"] for c in i.get("comments") or [])


def test_a_read_only_board_is_refused_before_anything_is_reported_written(tmp_path):
    board = copy_board(tmp_path)
    board.chmod(0o444)
    before = board.read_bytes()
    result = steward("apply", "--tracker", f"files:{board}", "--now", DEMO_NOW, "--format", "json")
    plan = json.loads(result.stdout)
    assert result.exit_code == 2 and plan["actions"] == [] and plan["failed"]
    assert any("read-only" in w for w in plan["warnings"])
    assert board.read_bytes() == before


def test_temporary_files_a_killed_run_left_are_removed_by_the_next_run(tmp_path):
    board = copy_board(tmp_path)
    stale = tmp_path / ".board.json.abc123.steward-tmp"
    stale.write_text("half a board", encoding="utf-8")
    run_json("plan", board)
    assert not stale.exists()


def test_lone_surrogates_survive_an_apply_exactly(tmp_path):
    board = tmp_path / "board.json"
    board.write_text('{"issues": [{"key": "S-1", "title": "broken \\ud800 text", "created": "2026-01-01"}]}',
                     encoding="utf-8")
    run_json("apply", board)
    assert _board(board)["issues"][0]["title"] == "broken \ud800 text"
    assert "Traceback" not in steward("report", "--tracker", f"files:{board}", "--now", DEMO_NOW).output


def test_a_disk_that_fills_up_leaves_the_board_untouched(tmp_path):
    board = copy_board(tmp_path)
    before = board.read_bytes()
    script = ("import resource, signal, sys\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              f"resource.setrlimit(resource.RLIMIT_FSIZE, ({len(before) // 2}, {len(before) // 2}))\n"
              "from steward.cli import main\n"
              f"sys.argv = ['steward', 'apply', '--tracker', 'files:{board}', '--now', '{DEMO_NOW}']\n"
              "main()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={"STEWARD_DISABLE_PLUGINS": "1", "PATH": "/usr/bin:/bin"}, cwd=ROOT)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the board is unchanged" in done.stderr
    assert board.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board.json"]
