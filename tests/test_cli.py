"""The command line: output formats, the JSON contract, exit codes, template safety."""

import json

from helpers import DEMO_NOW, ROOT, copy_board, run_json, steward, write_board


def test_plan_text_lists_rule_issue_why_and_actions(tmp_path):
    board = copy_board(tmp_path)
    result = steward("plan", "--tracker", f"files:{board}", "--now", DEMO_NOW)
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("Steward plan at 2026-11-20T09:00:00Z: 53 issues, 20 findings, 20 steps planned, 0 deferred")
    assert "OPS-101  unowned-exception  [high]  Exception without an owner" in out
    assert "why: type = exception, labels = [exception, operational], assignee = (missing), days_unassigned = 20" in out
    assert 'will: step 1: comment "This exception has had no owner for 20 days.' in out
    assert "add label needs-owner" in out


def test_json_output_is_the_documented_contract(tmp_path):
    plan = run_json("plan", copy_board(tmp_path))
    assert set(plan) == {"issues_seen", "findings", "actions", "deferred", "failed", "warnings", "stopped", "skipped"}
    assert set(plan["findings"][0]) == {"issue", "rule", "severity", "facts"}
    assert set(plan["actions"][0]) == {"issue", "rule", "level", "type", "value"}
    finding = next(f for f in plan["findings"] if f["issue"] == "OPS-120")
    assert finding == {"issue": "OPS-120", "rule": "priority-change-without-rationale", "severity": "medium",
                       "facts": {"unexplained_changes": ["priority"], "status_category": "in_progress"}}


def test_markdown_output_is_a_table(tmp_path):
    result = steward("plan", "--tracker", f"files:{copy_board(tmp_path)}", "--now", DEMO_NOW, "--format", "markdown")
    assert "| Issue | Rule | Severity | Why | Action |" in result.stdout
    assert "| OPS-150 | temporary-approval-expired<br>Temporary approval expired | critical |" in result.stdout


def test_fail_on_findings_exits_1_and_a_clean_board_exits_0(tmp_path):
    board = copy_board(tmp_path)
    assert steward("plan", "--tracker", f"files:{board}", "--now", DEMO_NOW, "--fail-on-findings").exit_code == 1
    clean = write_board(tmp_path, [{"key": "C-1", "labels": ["tactical"], "created": "2026-11-19T00:00:00Z"}])
    assert steward("plan", "--tracker", f"files:{clean}", "--now", DEMO_NOW, "--fail-on-findings").exit_code == 0


def test_usage_errors_exit_2(tmp_path):
    board = copy_board(tmp_path)
    unknown = steward("plan", "--tracker", "nosuch:x", "--now", DEMO_NOW)
    assert unknown.exit_code == 2 and "unknown tracker 'nosuch'" in unknown.stderr
    bad_now = steward("plan", "--tracker", f"files:{board}", "--now", "yesterday")
    assert bad_now.exit_code == 2 and "is not an ISO-8601 time" in bad_now.output
    no_path = steward("plan", "--tracker", "files", "--now", DEMO_NOW)
    assert no_path.exit_code == 2 and "needs the path of a JSON board" in no_path.stderr
    assert steward("plan", "--now", DEMO_NOW).exit_code == 2


def test_issue_text_in_a_template_is_inserted_literally_never_evaluated(tmp_path):
    rules = tmp_path / "echo.yml"
    rules.write_text(
        "version: 1\n"
        "rules:\n"
        "  - id: echo-title\n"
        "    title: Echo\n"
        "    severity: info\n"
        "    rationale: Shows the title.\n"
        "    when: {key: {present: true}}\n"
        "    then:\n"
        "      - comment: 'Title: {{ title }} / reporter: {{reporter}}'\n",
        encoding="utf-8")
    evil = "{{ 7*7 }} {% for x in range(3) %}loop{% endfor %} {{ reporter }} {{ ''.__class__ }}"
    board = write_board(tmp_path, [{"key": "X-1", "title": evil, "reporter": "{{ title }}"}])
    plan = run_json("apply", board, "--rules", str(rules))
    comment = next(a["value"] for a in plan["actions"] if a["type"] == "comment")
    assert comment == f"Title: {evil} / reporter: {{{{ title }}}}"
    assert "49" not in comment and "looploop" not in comment
    stored = json.loads(board.read_text(encoding="utf-8"))["issues"][0]["comments"][0]["body"]
    assert stored.startswith(f"Title: {evil} / reporter: {{{{ title }}}}")


def test_schema_prints_the_published_json_schema():
    result = steward("schema")
    schema = json.loads(result.stdout)
    assert schema == json.loads((ROOT / "core" / "rulefile.schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"].endswith("2020-12/schema")


def test_check_accepts_the_bundled_pack():
    result = steward("check", str(ROOT / "rules"))
    assert result.exit_code == 0
    assert result.stdout.strip() == "ok: 17 rules in 1 file(s)"


def test_overrides_change_a_threshold_without_copying_the_rule(tmp_path):
    team = tmp_path / "team.yml"
    team.write_text("version: 1\noverrides:\n  unowned-exception: {settings: {days: 30}}\n"
                    "  unclassified-work: {enabled: false}\n", encoding="utf-8")
    plan = run_json("plan", copy_board(tmp_path), "--rules", "pack:governance", "--rules", str(team))
    rules = {f["rule"] for f in plan["findings"]}
    assert "unclassified-work" not in rules
    owners = {f["issue"] for f in plan["findings"] if f["rule"] == "unowned-exception"}
    assert owners == {"OPS-102"}


def test_version():
    assert steward("--version").stdout.startswith("steward, version ")


def test_streamed_json_is_the_plan_exactly(tmp_path):
    """`--format json` is written a line at a time; it must still be the plan's JSON, deferrals and all."""
    from steward.core import report, rulefile
    from steward.core.model import Plan
    from steward.core.runner import Runner, RunOptions
    from steward.core.timeutil import parse_time
    from steward.plugins.files.tracker import FilesTracker

    rules = rulefile.load(rulefile.default_specs())
    plan = Runner(FilesTracker(str(copy_board(tmp_path))), rules,
                  RunOptions(now=parse_time(DEMO_NOW), max_actions=4)).run()
    plan.warnings.append('a "quoted" warning, ünïcode')
    assert plan.deferred and plan.steps
    streamed = json.loads(report.render(plan, rules, parse_time(DEMO_NOW), "plan", "json"))
    assert streamed == json.loads(json.dumps(plan.to_json(), default=str))
    empty = Plan()
    assert json.loads(report.render(empty, rules, parse_time(DEMO_NOW), "plan", "json")) == empty.to_json()
