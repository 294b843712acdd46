"""`steward init github|jira|files`: starter files that pass Steward's own checks and GitHub's schema."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
import yaml
from copypaste import (
    LOGROTATE,
    SYSTEMD_ANALYZE,
    CronSandbox,
    cron_entries,
    github_schema_errors,
    logrotate_force,
    shell_syntax_errors,
    systemd_verify,
    unit_sections,
)

from helpers import steward
from steward.core import scaffold

ISSUE_EVENTS = ["opened", "edited", "labeled", "unlabeled", "assigned", "unassigned", "reopened", "closed",
                "milestoned", "demilestoned", "typed", "untyped"]
CONCURRENCY_GROUP = ("${{ github.event.issue.number && format('steward-issue-{0}', github.event.issue.number) "
                     "|| 'steward-sweep' }}")


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """An empty git repository as the current directory."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _init(kind: str, *extra: str):
    result = steward("init", kind, *extra)
    assert result.exit_code == 0, result.output
    return result


def _rules_pass_check_and_test(rules_dir: str) -> None:
    checked = steward("check", "pack:governance", f"{rules_dir}/")
    assert checked.exit_code == 0, checked.output
    tested = steward("test", f"{rules_dir}/")
    assert tested.exit_code == 0, tested.output
    assert tested.output.strip() == "5 passed, 0 failed"
    cases = yaml.safe_load(open(f"{rules_dir}/team.tests.yml"))["cases"]
    assert any(case.get("fire") for case in cases) and any(case.get("not_fire") for case in cases)
    rule_file = yaml.safe_load(open(f"{rules_dir}/team.yml"))
    assert rule_file["overrides"] and all(rule["rationale"] for rule in rule_file["rules"])


@pytest.mark.parametrize("kind", scaffold.KINDS)
def test_init_writes_what_it_says_and_the_rules_pass_check_and_test(repo, kind):
    result = _init(kind)
    written = [line.split()[1] for line in result.output.splitlines() if line.startswith("wrote")]
    assert written == list(scaffold.plan_files(kind)) and all((repo / path).is_file() for path in written)
    assert "next:" in result.output and "steward check pack:governance" in result.output
    rules_dir = "/".join(written[0].split("/")[:-1])
    _rules_pass_check_and_test(rules_dir)
    schema = json.loads((repo / rules_dir / "rulefile.schema.json").read_text())
    assert schema["title"].startswith("Steward rule file")
    assert (repo / rules_dir / "team.yml").read_text().startswith("# yaml-language-server: $schema=rulefile.schema")


@pytest.mark.parametrize("kind", scaffold.KINDS)
def test_init_never_overwrites_a_file(repo, kind):
    first = next(iter(scaffold.plan_files(kind)))
    (repo / first).parent.mkdir(parents=True)
    (repo / first).write_text("mine\n")
    result = _init(kind)
    assert f"skipped {first} (it exists; left as it is)" in result.output
    assert (repo / first).read_text() == "mine\n"
    before = {path: (repo / path).stat().st_mtime_ns for path in scaffold.plan_files(kind)}
    again = _init(kind)
    assert "wrote" not in again.output
    assert {path: (repo / path).stat().st_mtime_ns for path in scaffold.plan_files(kind)} == before


def test_init_that_cannot_write_is_a_clear_error(repo):
    (repo / ".github").write_text("a file where a directory belongs\n")
    result = steward("init", "github")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot write") and "Traceback" not in result.output


def test_init_rejects_an_unknown_kind(repo):
    result = steward("init", "gitlab")
    assert result.exit_code == 2 and "gitlab" in result.output


def test_github_workflow_is_valid_and_serializes_events_per_issue(repo):
    _init("github")
    path = repo / ".github" / "workflows" / "steward.yml"
    assert github_schema_errors(path, "github-workflows") == ""
    workflow = yaml.safe_load(path.read_text())
    events = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert events["issues"]["types"] == ISSUE_EVENTS
    assert events["issue_comment"]["types"] == ["created", "edited", "deleted"]
    assert "schedule" in events and "workflow_dispatch" in events
    assert workflow["permissions"] == {"issues": "write", "contents": "read"}
    assert workflow["concurrency"] == {"group": CONCURRENCY_GROUP, "cancel-in-progress": False}
    # a block mapping: `${{ }}` inside a flow mapping {group: ...} is not valid YAML
    assert re.search(r"^concurrency:\n(  #.*\n)*  group: \$\{\{", path.read_text(), re.MULTILINE)
    steps = workflow["jobs"]["steward"]["steps"]
    action = next(step for step in steps if step["uses"] == scaffold.DEFAULT_ACTION)
    specs = action["with"]["rules"].split()
    assert specs == ["pack:governance", ".github/steward/"]
    assert steward("check", *specs).exit_code == 0


def test_github_action_reference_can_be_given(repo):
    result = _init("github", "--action", "acme/steward@v2")
    text = (repo / ".github" / "workflows" / "steward.yml").read_text()
    assert "uses: acme/steward@v2" in text and scaffold.DEFAULT_ACTION not in text
    assert "replace OWNER" not in result.output


def test_files_starter_board_plans(repo):
    _init("files")
    result = steward("plan", "--tracker", "files:steward/board.json", "--rules", "pack:governance",
                     "--rules", "steward/rules/", "--now", "2026-11-20T09:00:00Z", "--format", "json")
    assert result.exit_code == 0, result.output
    fired = {(f["issue"], f["rule"]) for f in json.loads(result.stdout)["findings"]}
    assert {("TEAM-1", "unowned-exception"), ("TEAM-2", "stale-in-progress")} <= fired
    assert not any(issue == "TEAM-3" for issue, _ in fired)


def test_jira_cron_line_exports_the_credentials_and_never_overlaps(repo, tmp_path_factory):
    _init("jira")
    (entry,) = cron_entries((repo / "steward" / "steward.cron").read_text())
    assert entry.user == "steward" and entry.schedule == ["7", "*", "*", "*", "*"]
    sandbox = CronSandbox(tmp_path_factory.mktemp("cron"))
    ran = sandbox.run(entry.command)
    assert ran.returncode == 0 and len(ran.calls) == 1, ran.log
    call = json.loads(ran.calls[0])
    assert call["argv"][:3] == ["apply", "--tracker", "jira"] and call["url"] == "https://jira.example.invalid"
    assert "stub steward ran" in ran.log  # the output went to the log file

    lock = sandbox.lock_path(entry.command)
    holder = subprocess.Popen(["flock", str(lock), "sleep", "30"])
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["flock", "-n", str(lock), "true"]).returncode == 0:
            assert time.monotonic() < deadline, "the lock holder never took the lock"
            time.sleep(0.05)
        skipped = sandbox.run(entry.command)
    finally:
        holder.kill()
        holder.wait()
    assert skipped.returncode == 1 and len(skipped.calls) == 1  # flock -n: the second run did not start


def test_a_cron_line_that_sources_without_exporting_is_caught(tmp_path):
    """The check above fails on the old README line, which set the variables without exporting them."""
    sandbox = CronSandbox(tmp_path)
    ran = sandbox.run(". /etc/steward/jira.env && /opt/steward/bin/steward apply --tracker jira "
                      ">> /var/log/steward/steward.log 2>&1")
    assert ran.returncode == 3 and ran.calls == [] and "not exported: JIRA_URL" in ran.log


def test_jira_units_env_file_and_logrotate(repo, tmp_path_factory):
    _init("jira")
    folder = repo / "steward"
    service = unit_sections((folder / "steward-jira.service").read_text())
    timer = unit_sections((folder / "steward-jira.timer").read_text())
    assert service["Service"]["User"] == "steward" and service["Service"]["Type"] == "oneshot"
    assert service["Service"]["EnvironmentFile"] == "/etc/steward/jira.env"
    assert timer["Install"]["WantedBy"] == "timers.target"
    env_text = (folder / "jira.env.example").read_text()
    assert shell_syntax_errors(env_text, "sh") == ""
    assigned = [line for line in env_text.splitlines() if line and not line.startswith("#")]
    assert all(line.split("=", 1)[0].isupper() and " " not in line and '"' not in line for line in assigned)
    assert "0600" in env_text
    logrotate = (folder / "steward.logrotate").read_text()
    assert "/var/log/steward/*.log {" in logrotate and "su steward steward" in logrotate
    assert "/var/log/steward/steward.log" in (folder / "steward.cron").read_text()
    skipped = []
    if LOGROTATE:
        complaints, left = logrotate_force(logrotate, tmp_path_factory.mktemp("logrotate"))
        assert complaints == "" and left == ["steward.log", "steward.log.1"], (complaints, left)
    else:
        skipped.append("logrotate is not installed: the snippet was read, not run")
    if SYSTEMD_ANALYZE:
        units = {name: (folder / name).read_text() for name in ("steward-jira.service", "steward-jira.timer")}
        assert systemd_verify(units, tmp_path_factory.mktemp("units")) == ""
    else:
        skipped.append("systemd-analyze is not installed: the units were parsed, not verified")
    if skipped:
        pytest.skip("; ".join(skipped))
