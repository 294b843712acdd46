"""Jira fields mapped by name in the rule file (`fields:`): one `GET /field` per run, only the mapped fields read,
values by the field's type, a missing value a missing fact, and clear errors at run start."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from jira_support import DC, DC_ENV, recorder
from sim.jira import CLOUD, DATACENTER, account_id, credentials
from sim.jira_fields import CUSTOM, FieldsJiraSim
from sim.server import SimServer

from steward.cli import cli
from steward.core import rulefile
from steward.core.errors import TrackerError
from steward.core.fields import FieldMapping
from steward.core.runner import Runner, RunOptions
from steward.plugins.jira.fields import JiraField, field_value, resolve
from steward.plugins.jira.tracker import JiraTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
FIXTURES = Path(__file__).parent / "fixtures"
MAPPED = """\
version: 1
fields:
  next_review: {jira: "Next review date", type: date}
  expires:     {jira: Approval expires, type: date}
  risk:        {jira: "risk level", type: select}
  owner:       {jira: "Review owner", type: user}
  score:       {jira: customfield_10071, type: number}
  regs:        {jira: Regulations, type: multiselect}
  notes:       {jira: Decision notes}
rules:
  - id: review-overdue
    title: Review overdue
    severity: low
    rationale: Reviews happen on time.
    when:
      days_until_next_review: {lt: 0}
    then:
      - comment: "Review is {{ days_since_next_review }} days late; {{ owner_name }} reviews it."
"""


def _rules(tmp_path: Path, text: str = MAPPED):
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    return rulefile.load([str(path)])


def _sweep(sim: FieldsJiraSim, rules, flavor: str, narrow: bool = True):
    with SimServer(sim) as server:
        tracker = JiraTracker(server.url, credentials(flavor), sleep=lambda seconds: None)
        tracker.map_fields(rules.settings["fields"])
        if narrow:  # the rule's condition is pushed into the JQL: fewer issues are read
            tracker.narrow(rules.rules)
        issues = [issue for page in tracker.fetch("project = OPS") for issue in page]
        return issues, server, tracker


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_values_follow_the_field_type_and_a_missing_value_stays_missing(flavor, tmp_path):
    sim = FieldsJiraSim(flavor, 60, seed=5, now=NOW)
    issues, server, _ = _sweep(sim, _rules(tmp_path), flavor, narrow=False)
    assert len(issues) == 60
    names = {"next_review": "customfield_10060", "expires": "customfield_10022", "risk": "customfield_10012",
             "owner": "customfield_10070", "score": "customfield_10071", "regs": "customfield_10072",
             "notes": "customfield_10073"}
    missing = 0
    for issue in issues:
        truth = sim.custom(issue.key)
        for name, field_id in names.items():
            expected = truth[field_id]
            if expected is None:
                assert name not in issue.fields, (issue.key, name)
                missing += 1
                continue
            got = issue.fields[name]
            if name == "next_review":
                assert got.kind == "date" and got.value.date() == expected
            elif name == "expires":
                assert got.value == expected
            elif name == "owner":
                assert got.value == (account_id(expected) if flavor == CLOUD else expected)
                assert got.display == expected.replace(".", " ").title()
            else:
                assert got.value == expected, (issue.key, name)
    assert missing > 0  # some issues have no value: their facts are missing, not zero
    assert server.requests("field") == 1


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_only_the_mapped_fields_are_requested(flavor, tmp_path):
    sim = FieldsJiraSim(flavor, 30, seed=5, now=NOW)
    sim.received = []
    _sweep(sim, _rules(tmp_path), flavor)
    asked = set()
    for request in sim.received:
        if request.path.endswith("/issue/bulkfetch"):
            asked |= set(request.json()["fields"])
        elif request.path.endswith("/search") and request.param("fields") not in ("id", None):
            asked |= set(request.param("fields").split(","))
    mapped = {"customfield_10060", "customfield_10022", "customfield_10012", "customfield_10070",
              "customfield_10071", "customfield_10072", "customfield_10073"}
    assert mapped <= asked
    assert "customfield_10020" not in asked and "*all" not in asked and "*navigable" not in asked
    assert "description" not in asked  # the mapped facts did not make the read ask for everything


def test_the_rule_reads_mapped_facts_end_to_end(tmp_path):
    sim = FieldsJiraSim(CLOUD, 40, seed=5, now=NOW)
    rules = _rules(tmp_path)
    with SimServer(sim) as server:
        tracker = JiraTracker(server.url, credentials(CLOUD), sleep=lambda seconds: None)
        plan = Runner(tracker, rules, RunOptions(now=NOW, query="project = OPS")).run()
    late = sorted(k for k in sim.issues if sim.custom(k)["customfield_10060"] is not None
                  and sim.custom(k)["customfield_10060"] < NOW.date())
    assert sorted(f.issue for f in plan.findings) == late and late
    step = next(s for s in plan.steps if sim.custom(s.issue)["customfield_10070"])
    owner = sim.custom(step.issue)["customfield_10070"].replace(".", " ").title()
    days = (NOW.date() - sim.custom(step.issue)["customfield_10060"]).days
    assert step.actions[0].value == f"Review is {days} days late; {owner} reviews it."


def _error(tmp_path, text: str, **sim_args) -> tuple[str, int]:
    sim = FieldsJiraSim(CLOUD, 10, seed=5, now=NOW, **sim_args)
    rules = _rules(tmp_path, text)
    with SimServer(sim) as server:
        tracker = JiraTracker(server.url, credentials(CLOUD), sleep=lambda seconds: None)
        with pytest.raises(TrackerError) as caught:
            Runner(tracker, rules, RunOptions(now=NOW, query="project = OPS")).run()
        return str(caught.value), server.requests("search") + server.requests("issue_bulk")


def _one(mapping: str) -> str:
    return MAPPED.split("fields:")[0] + "fields:\n  " + mapping + "\nrules: []\n"


def test_an_unknown_name_is_an_error_at_run_start_naming_the_close_matches(tmp_path):
    message, reads = _error(tmp_path, _one('next_review: {jira: "Next reveiw date", type: date}'))
    assert message == "Jira has no field named 'Next reveiw date' (mapped as next_review); " \
                      "did you mean 'Next review date'?"
    assert reads == 0  # nothing was read


def test_a_type_steward_cannot_read_is_an_error_naming_field_and_type(tmp_path):
    message, reads = _error(tmp_path, _one("sprint: {jira: Sprint}"))
    assert "'Sprint' (customfield_10020) is of type array of json" in message
    assert "cannot turn into a fact" in message and "sprint" in message and reads == 0


def test_a_type_that_does_not_fit_the_mapping_says_which_to_use(tmp_path):
    message, _ = _error(tmp_path, _one('risk: {jira: "Risk level", type: date}'))
    assert message == "the Jira field 'Risk level' (customfield_10012) is of type option: map risk with " \
                      "`type: select`, not date"


def test_a_name_two_fields_share_asks_for_the_id(tmp_path):
    twin = ("customfield_10099", "Risk level", {"type": "string", "custom": "x:textfield", "customId": 10099})
    message, _ = _error(tmp_path, _one('risk: {jira: "Risk level", type: select}'), extra_fields=(twin,))
    assert "2 fields named 'Risk level' (customfield_10012, customfield_10099)" in message
    assert "by its id" in message


def test_the_command_line_reports_it_in_one_line_with_exit_code_2(tmp_path):
    sim = FieldsJiraSim(CLOUD, 5, seed=5, now=NOW)
    path = tmp_path / "rules.yml"
    path.write_text(_one('next_review: {jira: "Next reveiw date", type: date}'), encoding="utf-8")
    with SimServer(sim) as server:
        result = CliRunner().invoke(cli, ["plan", "--tracker", "jira", "--jira-url", server.url, "--jql",
                                          "project = OPS", "--rules", str(path)],
                                    env={**{k: None for k in ("JIRA_TOKEN", "JIRA_URL")}, **credentials(CLOUD)})
    assert result.exit_code == 2
    assert "did you mean 'Next review date'?" in result.output and "Traceback" not in result.output


def test_no_field_list_is_read_when_nothing_is_mapped_for_jira(tmp_path):
    sim = FieldsJiraSim(CLOUD, 5, seed=5, now=NOW)
    rules = _rules(tmp_path, _one("next_review: {files: review, type: date}"))
    _, server, _ = _sweep(sim, rules, CLOUD)
    assert server.requests("field") == 0


def _field(kind: str, schema: dict, name: str = "x") -> JiraField:
    return resolve({name: FieldMapping(name, {"jira": "F"}, kind)},
                   [{"id": "customfield_1", "name": "F", "schema": schema}])[name]


def test_recorded_cloud_values_convert_by_type():
    """Values as a real Cloud site sent them (the devlake crawl): a date picker, a date-time, a select."""
    recorded = {i["key"]: i["fields"] for i in json.loads((FIXTURES / "recorded_field_values.json").read_text(
        encoding="utf-8"))["devlake_cloud"]}
    start = field_value(_field("date", {"type": "date"}), recorded["EE-2"]["customfield_10015"], "EE-2")
    assert start.value.date() == date(2020, 6, 12)
    at = field_value(_field("date", {"type": "datetime"}), recorded["EE-17"]["customfield_10022"], "EE-17")
    assert at.value == datetime(2020, 7, 22, 7, 25, 29, 121000, tzinfo=timezone.utc)
    option = field_value(_field("select", {"type": "option"}), recorded["K5-4"]["customfield_10012"], "K5-4")
    assert option.value == "To Do"


def test_recorded_server_values_convert_by_type():
    """Jira 5.0's all-expanded issue: a number field, radio buttons (described as `string`, sent as an
    option), a text area with no value, a project picker Steward cannot map."""
    issue = json.loads((FIXTURES / "recorded_field_values.json").read_text(encoding="utf-8"))[
        "jrjc_server_all_expanded"]
    catalogue = [{"id": k, "name": issue["names"][k], "schema": issue["schema"][k]} for k in issue["names"]]

    def mapped(name: str, kind: str) -> JiraField:
        return resolve({"f": FieldMapping("f", {"jira": name}, kind)}, catalogue)["f"]

    assert field_value(mapped("My Number Field New", "number"), issue["fields"]["customfield_10000"], "TST-2") \
        .value == 1.457
    assert field_value(mapped("My Radio buttons", "select"), issue["fields"]["customfield_10001"], "TST-2") \
        .value == "Another"
    assert field_value(mapped("project2", "text"), issue["fields"]["customfield_10011"], "TST-2") is None
    assert field_value(mapped("Fix Version/s", "multiselect"), issue["fields"]["fixVersions"], "TST-2") \
        .value == ["1.1"]
    with pytest.raises(TrackerError, match="'project3' .* is of type project"):
        mapped("project3", "select")
    assert len(CUSTOM) == 8


def test_a_recorded_data_center_issue_read_through_its_field_list(make_tracker):
    """The cassette answers `GET /field` with the names and schemas Jira 5.0 recorded beside the issue's values
    (tests/jira/make_field_cassettes.py): names resolve, the search asks for the mapped ids, values convert."""
    tracker = make_tracker(DC, DC_ENV)
    fields = {"score": FieldMapping("score", {"jira": "My Number Field New"}, "number"),
              "choice": FieldMapping("choice", {"jira": "my radio buttons"}, "select"),
              "versions": FieldMapping("versions", {"jira": "Fix Version/s"}, "multiselect"),
              "notes": FieldMapping("notes", {"jira": "customfield_10011"}, "text")}
    with recorder.use_cassette("dc_fields.yaml") as cassette:
        tracker.map_fields(fields)
        issues = [i for page in tracker.fetch("project = TST", None) for i in page]
        assert cassette.all_played and tracker.requests == 3
    (issue,) = issues
    assert {name: value.value for name, value in issue.fields.items()} == {
        "score": 1.457, "choice": "Another", "versions": ["1.1"]}  # the text area is empty: no fact


def test_explain_reads_the_mapped_fields_too(tmp_path):
    sim = FieldsJiraSim(CLOUD, 20, seed=5, now=NOW)
    key = next(k for k in sim.issues if sim.custom(k)["customfield_10060"] is not None)
    days = (sim.custom(key)["customfield_10060"] - NOW.date()).days
    path = tmp_path / "rules.yml"
    path.write_text(MAPPED, encoding="utf-8")
    with SimServer(sim) as server:
        result = CliRunner().invoke(cli, ["explain", "--tracker", "jira", "--jira-url", server.url, "--rules",
                                          str(path), "--rule", "review-overdue", "--now", "2026-11-20T09:00:00Z",
                                          key], env={**{k: None for k in ("JIRA_TOKEN", "JIRA_URL")},
                                                     **credentials(CLOUD)})
    assert result.exit_code == 0, result.output
    assert f"days_until_next_review = {days}; lt 0" in result.output, result.output
