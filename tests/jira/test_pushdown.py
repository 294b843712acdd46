"""Pushdown: the JQL narrowing never changes findings or planned steps (proved on the same data)."""

from __future__ import annotations

import copy
import json
import random
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from jira_support import CLOUD_ENV

from steward.core import rulefile
from steward.core.conditions import AllOf, AnyOf, Not
from steward.core.conditions import Test as Cond
from steward.core.runner import Runner, RunOptions
from steward.core.timeutil import parse_time
from steward.plugins.jira.pushdown import FIELDS, combine_jql, jql_for, pushdown_clause, read_needs
from steward.plugins.jira.tracker import JiraTracker

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def test_clauses_for_what_jql_can_express():
    assert jql_for(Cond("status_category", "ne", "done")) == "statusCategory != Done"
    assert jql_for(Cond("status_category", "in", ["todo", "in_progress"])) == \
        'statusCategory in ("To Do", "In Progress")'
    assert jql_for(Cond("labels", "contains", 'say "hi"')) == 'labels = "say \\"hi\\""'
    assert jql_for(Cond("assignee", "missing", True)) == "assignee is EMPTY"
    assert jql_for(Cond("age_days", "gte", 14)) == "created <= -13d"
    assert jql_for(Cond("age_days", "gt", 14)) == "created <= -14d"
    assert jql_for(Cond("age_days", "gte", 1)) is None
    assert jql_for(Cond("status", "eq", "Blocked")) is None  # a status a project lacks would break the JQL
    assert jql_for(Not(Cond("labels", "contains", "x"))) is None
    assert jql_for(AnyOf((Cond("type", "eq", "bug"), Cond("labels", "contains", "x")))) is None
    assert jql_for(AllOf((Cond("type", "eq", "bug"), Cond("labels", "contains", "x")))) == '(labels = "x")'


def test_combining_keeps_order_by_last():
    assert combine_jql("project = OPS ORDER BY created DESC", "assignee is EMPTY") == \
        "(project = OPS) AND (assignee is EMPTY) ORDER BY created DESC"
    assert combine_jql('summary ~ "order by"', "x = 1") == '(summary ~ "order by") AND (x = 1)'
    assert combine_jql("project = OPS", None) == "project = OPS"
    assert combine_jql(None, "x = 1") == "x = 1"


# ---------------------------------------------------------------- a fake Jira answering the clause grammar

TOKEN = re.compile(r'\s*(\(|\)|,|!=|<=|=|"(?:[^"\\]|\\.)*"|-?\d+d|[A-Za-z_]+)')


def tokens(text):
    text, out, pos = text.strip(), [], 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        assert match, text[pos:]
        out.append(match.group(1))
        pos = match.end()
    return out


def evaluate(jql: str, raw: dict) -> bool:
    """Jira's meaning of the clauses pushdown writes, over one raw issue (labels compare without case)."""
    toks = tokens(jql)
    fields = raw["fields"]
    category = {"new": "to do", "indeterminate": "in progress", "done": "done"}[
        fields["status"]["statusCategory"]["key"]]
    labels = {label.lower() for label in fields.get("labels") or []}

    def value(tok):
        return json.loads(tok).lower() if tok.startswith('"') else tok.lower()

    def expr(i):
        result, i = term(i)
        while i < len(toks) and toks[i].upper() == "OR":
            other, i = term(i + 1)
            result = result or other
        return result, i

    def term(i):
        result, i = factor(i)
        while i < len(toks) and toks[i].upper() == "AND":
            other, i = factor(i + 1)
            result = result and other
        return result, i

    def factor(i):
        if toks[i] == "(":
            result, i = expr(i + 1)
            return result, i + 1
        field, op = toks[i], toks[i + 1]
        if op == "is":
            negate = toks[i + 2].lower() == "not"
            i += 4 if negate else 3
            empty = not (fields.get("assignee") if field == "assignee" else labels)
            return empty != negate, i
        if op == "in":
            j, values = i + 3, []
            while toks[j] != ")":
                if toks[j] != ",":
                    values.append(value(toks[j]))
                j += 1
            actual = {category} if field == "statusCategory" else labels
            return bool(actual & set(values)), j + 1
        operand = toks[i + 2]
        if field == "project":
            return value(operand) == raw["key"].split("-")[0].lower(), i + 3
        if field == "created":
            created = parse_time(fields["created"])  # Jira's +0800 offsets; Python 3.10's fromisoformat refuses them
            return created <= NOW - timedelta(days=int(operand[1:-1])), i + 3
        actual = {category} if field == "statusCategory" else labels
        hit = value(operand) in actual
        return (hit if op == "=" else not hit), i + 3

    return expr(0)[0]


def as_jira_answers(raw: dict, params: dict) -> dict:
    """A raw issue as Jira returns it for these search parameters: only the fields asked for, the changelog
    only when expanded."""
    wanted = set(params["fields"].split(","))
    answer = {k: v for k, v in raw.items() if k != "changelog" or params.get("expand") == "changelog"}
    answer["fields"] = {k: v for k, v in raw["fields"].items() if k in wanted}
    return copy.deepcopy(answer)


class FakeJira(JiraTracker):
    """The adapter, with Jira answered from raw issues: the search for ids (pages of 5000, nextPageToken), then
    the bulk read of issues by id. `params` holds each bulk read's fields, expand and properties."""

    def __init__(self, raws):
        super().__init__("https://acme.atlassian.net", CLOUD_ENV, sleep=lambda s: None)
        self.raws = raws
        self.searched = []
        self.params = []

        self.connection.request = self.answer

    def answer(self, method, url, what, *, params=None, body=None, write=False):
        if url.endswith("/issue/bulkfetch"):
            wanted = set(body["issueIdsOrKeys"])
            asked = {"fields": ",".join(body["fields"]), "properties": ",".join(body["properties"])}
            if "changelog" in body.get("expand", []):
                asked["expand"] = "changelog"
            self.params.append(asked)
            return {"issues": [as_jira_answers(raw, asked) for raw in self.raws if raw["id"] in wanted],
                    "issueErrors": []}
        assert url.endswith("/search/jql") and params["fields"] == "id"
        self.searched.append(params["jql"])
        hits = [r for r in self.raws if evaluate(params["jql"], r)] if params["jql"] else list(self.raws)
        start = int(params.get("nextPageToken") or 0)
        data = {"issues": [{"id": raw["id"]} for raw in hits[start:start + 5000]], "isLast": start + 5000 >= len(hits)}
        if not data["isLast"]:
            data["nextPageToken"] = str(start + 5000)
        return data


def varied_issues(seed: int) -> list[dict]:
    """The recorded Cloud issues, re-keyed and varied: labels, owners, categories, ages, markers."""
    real = json.loads((FIXTURES / "devlake_cloud_issues.json").read_text())
    rng = random.Random(seed)
    out = []
    for n in range(240):
        raw = copy.deepcopy(real[n % len(real)])
        raw["key"], raw["id"] = f"EE-{2000 + n}", str(40000 + n)
        raw["changelog"] = {"startAt": 0, "maxResults": 0, "total": 0, "histories": []}
        fields = raw["fields"]
        fields["labels"] = rng.sample(["exception", "Exception", "decision", "needs-owner", "stale", "wontfix",
                                       "escalated", "frontEnd"], rng.randint(0, 3))
        fields["assignee"] = None if rng.random() < 0.5 else {"accountId": f"acc-{rng.randint(1, 5)}"}
        fields["status"]["statusCategory"]["key"] = rng.choice(["new", "indeterminate", "done"])
        created = NOW - timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
        fields["created"] = created.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        fields["updated"] = fields["created"]
        fields["duedate"] = None
        fields["comment"] = {"comments": [], "total": 0, "maxResults": 0, "startAt": 0}
        if rng.random() < 0.3:
            at = (NOW - timedelta(days=rng.randint(1, 20))).strftime("%Y-%m-%dT%H:%M:%SZ")
            raw["properties"] = {"steward.markers": {"markers": [
                {"rule": rng.choice(["unowned-exception", "old-open"]), "level": 1, "at": at}]}}
        out.append(raw)
    return out


RULES = """\
version: 1
rules:
  - id: unowned-exception
    title: Exception without an owner
    severity: high
    rationale: Every exception needs an owner.
    when:
      labels: {contains: exception}
      assignee: {missing: true}
      status_category: {ne: done}
      age_days: {gte: 14}
    exempt:
      labels: {contains_any: [wontfix]}
    then:
      - comment: "No owner for {{ days_unassigned }} days."
      - add_labels: [needs-owner]
    escalate:
      - after_days: 7
        comment: Still no owner.
        add_labels: [escalated]
  - id: old-open
    title: Old and open
    severity: low
    rationale: Old open items get a look.
    when:
      any:
        - status_category: {in: [todo, in_progress]}
        - labels: {contains_all: [decision, frontEnd]}
      age_days: {gt: 30}
    then:
      - add_labels: [stale]
"""


def run(raws, rules, narrow: bool, fields_only: bool = False):
    """One plan: with the adapter's `narrow` (pushdown and fields), without it, or with the fields alone."""
    tracker = FakeJira(raws)
    if fields_only:
        def fields_alone(rules):
            tracker.reader.fields, tracker.reader.changelog = read_needs(rules)

        tracker.narrow = fields_alone
    elif not narrow:
        tracker.narrow = lambda rules: None  # read everything, as an adapter without pushdown does
    plan = Runner(tracker, rules, RunOptions(now=NOW, query="project = EE")).run()
    findings = sorted((f.issue, f.rule, json.dumps(f.facts, sort_keys=True)) for f in plan.findings)
    steps = sorted(json.dumps(a.to_json(), sort_keys=True) for s in plan.steps for a in s.actions)
    return findings, steps, plan.issues_seen, tracker.searched, tracker.params


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pushdown_gives_identical_findings_and_steps(tmp_path, seed):
    path = tmp_path / "rules.yml"
    path.write_text(RULES)
    rules = rulefile.load([str(path)])
    assert pushdown_clause(rules.rules)  # every rule here can be narrowed
    raws = varied_issues(seed)
    plain = run(raws, rules, narrow=False)
    narrowed = run(raws, rules, narrow=True)
    assert narrowed[0] == plain[0] and narrowed[1] == plain[1]
    assert plain[0] and any('"level": 0' in s for s in plain[1])  # findings and clean-up steps both present
    assert narrowed[2] < plain[2] == 240  # fewer issues travelled
    assert narrowed[3][0].startswith("(project = EE) AND (") and 'labels in ("escalated", "needs-owner", "stale")' \
        in narrowed[3][0]


def test_default_pack_is_identical_with_pushdown():
    rules = rulefile.load(rulefile.default_specs())
    raws = varied_issues(7)
    plain, narrowed = run(raws, rules, narrow=False), run(raws, rules, narrow=True)
    assert narrowed[:2] == plain[:2]


@pytest.mark.parametrize("rules_text", ["default", RULES])
@pytest.mark.parametrize("seed", [4, 5])
def test_narrowed_fields_give_identical_findings_and_steps(tmp_path, rules_text, seed):
    """Jira answers only the fields asked for: the rules' fields alone must give what every field gives."""
    if rules_text == "default":
        rules = rulefile.load(rulefile.default_specs())
    else:
        (tmp_path / "rules.yml").write_text(rules_text)
        rules = rulefile.load([str(tmp_path / "rules.yml")])
    raws = varied_issues(seed)
    full, narrowed = run(raws, rules, narrow=False), run(raws, rules, narrow=False, fields_only=True)
    assert narrowed[:3] == full[:3] and full[0]
    assert full[4][0]["fields"] == ",".join(FIELDS) and narrowed[4][0]["fields"] != full[4][0]["fields"]


ONE_RULE = """\
version: 1
rules:
  - id: decision-without-review-date
    title: Decision without a next review date
    severity: medium
    rationale: Each decision records when it will be looked at again.
    when:
      labels: {contains: decision}
      has_due: false
    then:
      - comment: "No review date (owner: {{ assignee }})."
      - add_labels: [needs-review-date]
"""


def test_search_asks_for_the_fields_the_rules_read(tmp_path):
    default = run(varied_issues(1), rulefile.load(rulefile.default_specs()), narrow=True)[4][0]
    # the default pack reads no summary or project, and needs the changelog (days_in_status, ...); its
    # blocker and children rules read parent, sub-tasks and links
    assert default["fields"] == ("description,issuetype,status,priority,labels,assignee,reporter,created,"
                                 "updated,duedate,comment,parent,subtasks,issuelinks")
    assert default["expand"] == "changelog" and default["properties"] == "steward.markers"
    (tmp_path / "one.yml").write_text(ONE_RULE)
    one = run(varied_issues(1), rulefile.load([str(tmp_path / "one.yml")]), narrow=True)[4][0]
    # labels (tested, and always: the planner adds only a missing label), duedate (has_due), assignee (shown in
    # the comment), updated (always: --since); no changelog, no comments
    assert one["fields"] == "labels,assignee,updated,duedate"
    assert "expand" not in one


def test_a_plugin_fact_gets_every_field():
    from steward.core.rules import LadderStep, Rule

    rule = Rule(id="sla", title="t", severity="low", rationale="r", when=Cond("sla_breached", "eq", True),
                exempt=None, steps=(LadderStep(1, 0, (("comment", "x"),)),))
    assert read_needs([rule]) == (FIELDS, True)
