"""The files tracker and the plan/apply cycle on a JSON board: nothing lost, nothing doubled."""

import json

import pytest

from helpers import DEMO_NOW, copy_board, run_json, steward, write_board


def _board(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _steps(plan):
    return sorted({(a["issue"], a["rule"], a["level"]) for a in plan["actions"]})


def test_apply_twice_writes_nothing_the_second_time(tmp_path):
    board = copy_board(tmp_path)
    first = run_json("apply", board)
    assert len(_steps(first)) == 20
    after_first = board.read_bytes()

    second = run_json("apply", board)
    assert second["actions"] == []
    assert board.read_bytes() == after_first
    # OPS-130's blocker is escalated now, which exempts it from blocked-without-escalation.
    gone = {(f["issue"], f["rule"]) for f in first["findings"]} - {(f["issue"], f["rule"]) for f in second["findings"]}
    assert gone == {("OPS-130", "blocked-without-escalation")}


def test_apply_writes_comments_with_markers_and_labels_exactly_once(tmp_path):
    board = copy_board(tmp_path)
    run_json("apply", board)
    run_json("apply", board)
    issue = next(i for i in _board(board)["issues"] if i["key"] == "OPS-101")
    steward_comments = [c for c in issue["comments"] if c["author"] == "steward"]
    assert len(steward_comments) == 1
    marker = "<!-- steward:marker rule=unowned-exception level=1 at=2026-11-20T09:00:00Z added=needs-owner -->"
    assert marker in steward_comments[0]["body"]
    assert steward_comments[0]["body"].startswith("This exception has had no owner for 20 days.")
    assert issue["labels"] == ["exception", "operational", "needs-owner"]
    assert issue["markers"] == [{"rule": "unowned-exception", "level": 1, "at": "2026-11-20T09:00:00Z",
                                 "added": ["needs-owner"]}]


def test_advancing_now_by_after_days_plans_exactly_the_next_step(tmp_path):
    board = copy_board(tmp_path)
    run_json("apply", board)
    just_before = run_json("plan", board, now="2026-11-27T08:59:59Z")
    assert ("OPS-101", "unowned-exception", 2) not in _steps(just_before)
    week_later = run_json("plan", board, now="2026-11-27T09:00:00Z")
    assert ("OPS-101", "unowned-exception", 2) in _steps(week_later)
    assert [s for s in _steps(week_later) if s[0] == "OPS-101"] == [("OPS-101", "unowned-exception", 2)]


def test_a_ladder_already_started_takes_its_second_step(tmp_path):
    board = copy_board(tmp_path)
    plan = run_json("plan", board)
    assert ("OPS-102", "unowned-exception", 2) in _steps(plan)
    assert ("OPS-102", "unowned-exception", 1) not in _steps(plan)


def test_plan_never_writes(tmp_path):
    board = copy_board(tmp_path)
    before = board.read_bytes()
    run_json("plan", board)
    assert board.read_bytes() == before


def test_max_actions_defers_the_rest_and_a_later_run_finishes_them(tmp_path):
    board = copy_board(tmp_path)
    first = run_json("apply", board, "--max-actions", "4")
    assert len(_steps(first)) == 4
    deferred = sorted({(a["issue"], a["rule"], a["level"]) for a in first["deferred"]})
    assert len(deferred) == 16
    severities = {f["rule"]: f["severity"] for f in first["findings"]}
    assert severities[_steps(first)[0][1]] in ("critical", "high")

    second = run_json("apply", board)
    assert _steps(second) == deferred
    assert run_json("apply", board)["actions"] == []


def test_when_a_rule_stops_holding_its_labels_are_taken_back(tmp_path):
    board = copy_board(tmp_path)
    run_json("apply", board)
    data = _board(board)
    issue = next(i for i in data["issues"] if i["key"] == "OPS-101")
    issue["assignee"] = "li.wei"
    board.write_text(json.dumps(data), encoding="utf-8")

    plan = run_json("apply", board)
    cleanup = [a for a in plan["actions"] if a["issue"] == "OPS-101"]
    assert cleanup == [{"issue": "OPS-101", "rule": "unowned-exception", "level": 0, "type": "remove_labels",
                        "value": ["needs-owner"]}]
    issue = next(i for i in _board(board)["issues"] if i["key"] == "OPS-101")
    assert "needs-owner" not in issue["labels"]
    assert run_json("apply", board)["actions"] == []


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("{not json", "is not valid JSON: line 1"),
    ('["a list"]', 'must be a JSON object {"issues": [...]}'),
    ('{"issues": {"OPS-1": {}}}', 'must be a JSON object {"issues": [...]}'),
    (b"\xff\xfe\x00garbage", "cannot read board"),
])
def test_a_missing_or_malformed_board_is_a_clear_error_and_stays_untouched(tmp_path, content, message):
    board = tmp_path / "board.json"
    if isinstance(content, str):
        board.write_text(content, encoding="utf-8")
    elif content is not None:
        board.write_bytes(content)
    before = board.read_bytes() if board.exists() else None
    for command in ("plan", "apply"):
        result = steward(command, "--tracker", f"files:{board}", "--now", DEMO_NOW)
        assert result.exit_code == 2
        assert message in result.stderr
        assert "Traceback" not in result.output
    assert (board.read_bytes() if board.exists() else None) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == (["board.json"] if before is not None else [])


def test_odd_issue_data_is_evaluated_or_skipped_with_a_warning(tmp_path):
    huge = "x" * 1_000_000
    board = write_board(tmp_path, [
        {"key": "ODD-1", "title": None, "body": None, "labels": None, "comments": None, "changes": None,
         "created": None, "assignee": None, "type": None},
        {"key": "ODD-2", "title": "Ünïcødé ✓ 漢字 \U0001F680", "body": huge, "type": "Initiative",
         "labels": ["strategic", None, 7], "created": "2026-11-01T00:00:00+0200", "status_category": "todo"},
        {"key": "ODD-3", "created": "last tuesday", "due": "soon",
         "comments": [{"author": "x", "created": "garbage", "body": "hi"}, "not a dict"],
         "changes": [{"field": "priority", "at": None}, {"nofield": 1}], "markers": [{"rule": "x"}]},
        {"title": "no key at all"},
        "not an object",
        {"key": "ODD-1", "title": "duplicate key"},
        {"key": 42, "title": "numeric key", "unknown_field": {"nested": [1, 2]}, "labels": ["tactical"],
         "created": "2026-11-01", "comments": [{"author": None, "created": "2026-11-02T00:00:00Z", "body": None}]},
    ])
    result = steward("apply", "--tracker", f"files:{board}", "--now", DEMO_NOW, "--format", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["issues_seen"] == 4
    warnings = "\n".join(plan["warnings"])
    assert "skipping issue #4: it has no `key`" in warnings
    assert "skipping issue #5: it has no `key`" in warnings
    assert "skipping a second issue with key ODD-1" in warnings
    assert "ODD-3: ignoring created time 'last tuesday'" in warnings
    assert "ODD-3: ignoring a malformed marker" in warnings
    fired = {(f["issue"], f["rule"]) for f in plan["findings"]}
    assert ("ODD-2", "initiative-without-success-metric") in fired
    written = _board(board)
    assert written["issues"][1]["body"] == huge
    assert written["issues"][1]["title"] == "Ünïcødé ✓ 漢字 \U0001F680"
    assert written["issues"][6]["unknown_field"] == {"nested": [1, 2]}


def test_since_only_reads_recently_updated_issues(tmp_path):
    board = copy_board(tmp_path)
    everything = run_json("plan", board)
    recent = run_json("plan", board, "--since", "2026-11-15T00:00:00Z")
    assert 0 < recent["issues_seen"] < everything["issues_seen"]


def test_out_of_range_times_are_skipped_with_a_warning_not_a_traceback(tmp_path):
    board = write_board(tmp_path, [{"key": "T-1", "created": 1e20, "markers": [{"rule": "x", "level": 1, "at": 1e300}],
                                    "labels": ["tactical"]}])
    plan = run_json("plan", board)
    assert plan["issues_seen"] == 1
    assert "T-1: ignoring created time 1e+20: not a date or time" in plan["warnings"]
    assert any(w.startswith("T-1: ignoring a malformed marker") for w in plan["warnings"])


def test_links_resolve_to_the_issues_they_name_however_written_and_wherever_they_are(tmp_path):
    """The links index keeps status and owner only for issues some link names (parents, children, blockers,
    blocked): each link still resolves, written as a list parent or a single blocked_by, to an issue before or
    after it on the board, or to no issue of the board."""
    from steward.plugins.files.tracker import FilesTracker

    raws = [
        {"key": "L-1", "parent": "L-5", "blocked_by": "L-4", "status_category": "todo", "assignee": "li"},
        {"key": "L-2", "parent": ["L-1"], "status_category": "done"},
        {"key": "L-3", "status_category": "in_progress", "assignee": "sam"},  # named by nothing
        {"key": "L-4", "status_category": "in_progress", "assignee": "sam", "blocked_by": ["L-9"]},
        {"key": "L-5", "status_category": "todo", "assignee": "li"},
    ]
    board = write_board(tmp_path, raws)
    tracker = FilesTracker(str(board))
    issues = {i.key: i for page in tracker.fetch() for i in page}
    tracker.close()
    assert sorted(issues) == ["L-1", "L-2", "L-3", "L-4", "L-5"]
    owner = {r["key"]: (r.get("status_category"), r.get("assignee")) for r in raws[:5]}

    def seen(related):
        return [(r.key, r.status_category, r.assignee) for r in related]

    assert seen([issues["L-1"].parent]) == [("L-5", *owner["L-5"])]
    assert seen(issues["L-1"].blocked_by) == [("L-4", *owner["L-4"])]
    assert seen([issues["L-2"].parent]) == [("L-1", *owner["L-1"])]
    assert seen(issues["L-1"].blocks) == [] and seen(issues["L-4"].blocks) == []  # only list blocked_by counts
    assert seen(issues["L-4"].blocked_by) == [("L-9", None, None)]  # not on the board
    assert seen(issues["L-5"].children) == [("L-1", *owner["L-1"])]
    assert issues["L-3"].parent is None and not issues["L-3"].children and not issues["L-3"].blocks
