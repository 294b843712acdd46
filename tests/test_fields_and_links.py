"""Governance data beyond fixed fields, on the files board: mapped fields, hierarchy and links, scopes and
field writes. (The Jira and GitHub adapters have tests of their own for the same contract.)"""

from __future__ import annotations

import json

from helpers import run_json, steward, write_board

NOW = "2026-11-20T09:00:00Z"

RULES = """\
version: 1
fields:
  next_review: {files: review_on, type: date}
  risk: {type: select}
  approver: {type: user}
  regions: {type: multiselect}
rules:
  - id: review-soon
    title: Review due within a week
    severity: low
    rationale: Reviews are prepared ahead.
    when:
      days_until_next_review: {lte: 7}
    then:
      - comment: "Review in {{ days_until_next_review }} days; approver {{ approver_name | \\"unknown\\" }}."
  - id: risky
    title: High risk in the EU
    severity: high
    rationale: High risk needs a second look.
    scope: {projects: [OPS]}
    when:
      risk: high
      regions: {contains: eu}
    then:
      - comment: "High risk."
      - set_field: {field: next_review, value: "+14 days"}
  - id: open-children
    title: Initiative done while children are open
    severity: medium
    rationale: Done means done, children included.
    when:
      status_category: done
      open_children: {gte: 1}
    then:
      - comment: "{{ open_children }} children still open, {{ children_without_owner }} without an owner."
  - id: waits
    title: Waiting on another issue
    severity: low
    rationale: Blockers are visible.
    when:
      open_blockers: {gte: 1}
    then:
      - comment: "Blocked by {{ blocked_by }}."
"""

ISSUES = [
    {"key": "OPS-1", "title": "Initiative", "status_category": "done", "created": "2026-10-01",
     "review_on": "2026-11-25", "approver": "mei", "risk": "high", "regions": ["eu", "us"]},
    {"key": "OPS-2", "title": "Child, open, owned", "parent": "OPS-1", "assignee": "li", "status_category": "todo",
     "created": "2026-10-01", "blocked_by": ["OPS-3"]},
    {"key": "OPS-3", "title": "Child, open, unowned", "parent": "OPS-1", "status_category": "in_progress",
     "created": "2026-10-01"},
    {"key": "OPS-4", "title": "Child, done", "parent": "OPS-1", "status_category": "done", "created": "2026-10-01"},
    {"key": "DEV-1", "title": "Out of scope", "risk": "high", "regions": ["eu"], "created": "2026-10-01"},
    {"key": "OPS-5", "title": "No mapped values", "created": "2026-10-01"},
]


def setup(tmp_path):
    rules = tmp_path / "fields.yml"
    rules.write_text(RULES, encoding="utf-8")
    raw = {"people": {"mei": "Mei Lin"}, "issues": ISSUES}
    board = tmp_path / "board.json"
    board.write_text(json.dumps(raw), encoding="utf-8")
    return rules, board


def _fired(plan: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in plan["findings"]:
        found.setdefault(finding["rule"], set()).add(finding["issue"])
    return found


def test_mapped_fields_hierarchy_links_and_scope_are_facts(tmp_path):
    rules, board = setup(tmp_path)
    plan = run_json("plan", board, "--rules", str(rules), now=NOW)
    fired = _fired(plan)
    assert fired["review-soon"] == {"OPS-1"}  # OPS-5 has no review date: missing, not zero
    assert fired["risky"] == {"OPS-1"}  # DEV-1 is out of the rule's scope
    assert fired["open-children"] == {"OPS-1"} and fired["waits"] == {"OPS-2"}
    comments = {a["issue"] + ":" + a["rule"]: a["value"] for a in plan["actions"] if a["type"] == "comment"}
    assert comments["OPS-1:review-soon"] == "Review in 5 days; approver Mei Lin."
    assert comments["OPS-1:open-children"] == "2 children still open, 1 without an owner."
    assert comments["OPS-2:waits"] == "Blocked by OPS-3."


def test_set_field_writes_a_relative_date_once(tmp_path):
    rules, board = setup(tmp_path)
    first = run_json("apply", board, "--rules", str(rules), now=NOW)
    (write,) = [a for a in first["actions"] if a["type"] == "set_field"]
    assert write["value"] == {"field": "next_review", "value": "2026-12-04"}
    issue = json.loads(board.read_text(encoding="utf-8"))["issues"][0]
    assert issue["review_on"] == "2026-12-04"
    assert {"field": "next_review", "from": "2026-11-25", "to": "2026-12-04"}.items() <= issue["changes"][-1].items()
    again = run_json("apply", board, "--rules", str(rules), now=NOW)
    assert again["actions"] == []


def test_check_names_an_unknown_settable_field_and_a_bad_mapping(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(RULES.replace("field: next_review", "field: reviewed_on"), encoding="utf-8")
    result = steward("check", str(bad))
    assert result.exit_code == 2 and "set_field cannot set 'reviewed_on'" in result.stderr
    bad.write_text(RULES.replace("type: select", "type: dropdown"), encoding="utf-8")
    result = steward("check", str(bad))
    assert result.exit_code == 2 and "'dropdown' is not one of" in result.stderr
    bad.write_text(RULES.replace("days_until_next_review: {lte: 7}", "days_until_risk: {lte: 7}"), encoding="utf-8")
    result = steward("check", str(bad))
    assert result.exit_code == 2 and "unknown fact 'days_until_risk'" in result.stderr


def test_without_a_mapping_the_board_keys_do_not_become_facts(tmp_path):
    board = write_board(tmp_path, ISSUES)
    plan = run_json("plan", board, now=NOW)
    assert plan["issues_seen"] == len(ISSUES)


def test_a_value_from_a_missing_fact_is_never_written_into_the_tracker(tmp_path):
    """`assign: "{{ reporter }}"` or a set_field from a fact the issue lacks would write "(not set)": the action
    is left out with a warning naming the issue, and the step's comment still lands once."""
    rules = tmp_path / "r.yml"
    rules.write_text("""version: 1
rules:
  - id: hand-back
    title: Hand back to the reporter
    severity: low
    rationale: Whoever raised it decides.
    when: {labels: {contains: hand-back}}
    then:
      - comment: "Handing back."
      - assign: "{{ reporter }}"
      - set_field: {field: priority, value: "{{ reporter }}"}
""", encoding="utf-8")
    board = write_board(tmp_path, [{"key": "OPS-1", "labels": ["hand-back"], "reporter": None},
                                   {"key": "OPS-2", "labels": ["hand-back"], "reporter": "dana"}])
    result = steward("apply", "--tracker", f"files:{board}", "--rules", str(rules), "--now", NOW, "--format", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    kinds = {(a["issue"], a["type"]) for a in plan["actions"]}
    assert kinds == {("OPS-1", "comment"), ("OPS-2", "comment"), ("OPS-2", "assign"), ("OPS-2", "set_field")}
    assert any("OPS-1: assign of rule hand-back left out: reporter not set" in w for w in plan["warnings"])
    issues = {i["key"]: i for i in json.loads(board.read_text(encoding="utf-8"))["issues"]}
    assert issues["OPS-1"].get("assignee") is None and issues["OPS-2"]["assignee"] == "dana"
    assert "(not set)" not in board.read_text(encoding="utf-8")
