"""What a Jira search needs to ask for: the JQL clause the rules imply, and the fields they read.

Pushdown is an optimisation that must never change results: every clause is a superset of what the
rules test (an issue that might fire is always fetched), and a fact this module does not know (a plugin's)
makes the search ask for everything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from steward.core.conditions import AllOf, AnyOf, Condition, Test
from steward.core.fields import FieldMapping, field_fact
from steward.core.registry import split_fact_name
from steward.core.rules import Rule, facts_used

from .fields import JiraField, mapped_clause
from .hierarchy import HIERARCHY_FIELDS

FIELDS = ("summary", "description", "issuetype", "status", "priority", "labels", "assignee", "reporter",
          "created", "updated", "duedate", "comment", "project", "components", "parent", "subtasks", "issuelinks")
# What the adapter and the planner read whatever the rules: `updated` for `--since`, `labels` because the
# planner only adds a missing label and takes back only a present one.
BASE_FIELDS = ("labels", "updated")
# The Jira fields each built-in fact reads (through the Issue attribute it derives from), and the facts
# that read the change history. A fact missing here (a plugin's) gets every field and the changelog.
FACT_FIELDS: dict[str, tuple[str, ...]] = {
    "key": (), "project": ("project",), "type": ("issuetype",), "status": ("status",),
    "status_category": ("status",), "priority": ("priority",), "labels": ("labels",),
    "assignee": ("assignee",), "reporter": ("reporter",), "title": ("summary",), "body": ("description",),
    "age_days": ("created",), "idle_days": ("updated", "created", "comment"), "days_since_comment": ("comment",),
    "comment_count": ("comment",), "days_unassigned": ("assignee", "created"), "days_in_status": ("created",),
    "has_due": ("duedate",), "days_until_due": ("duedate",), "days_overdue": ("duedate",),
    "unexplained_changes": ("comment",), "escalation_level": (),
    "days_escalated_without_follow_up": ("labels", "comment", "updated", "created", "assignee", "reporter"),
    "days_blocked": ("status", "labels", "created"), "days_with_label": ("labels", "created"),
    "assignee_name": ("assignee",), "reporter_name": ("reporter",),
    # core/governance.py: records are read from comments by the accountable people
    "has_review_date": ("duedate",), "days_until_review": ("duedate",), "days_past_review": ("duedate",),
    "days_since_review": ("comment", "assignee", "reporter"),
    "last_review_outcome": ("comment", "assignee", "reporter"),
    "reviews": ("comment", "assignee", "reporter"), "review_by_owner": ("comment", "assignee", "reporter"),
    "days_since_demo": ("comment",), "demo_count": ("comment",), "last_metric_value": ("comment",),
    "due_postponements": ("duedate",), "priority_flips": ("priority",), "reopen_count": ("status",),
    "status_regressions": ("status",), "altitude": ("labels", "issuetype"),
    "days_until_exemption_ends": ("comment", "assignee", "reporter"),
    "exemption_valid": ("comment", "assignee", "reporter"),
    **HIERARCHY_FIELDS,
}
FACT_CHANGELOG = frozenset({"days_unassigned", "days_in_status", "unexplained_changes",
                            "days_escalated_without_follow_up", "idle_days", "days_blocked", "days_with_label",
                            "due_postponements", "priority_flips", "reopen_count", "status_regressions"})
# Actions whose planning compares with the current value (`assign` skips the current assignee,
# `transition` the current status).
ACTION_FIELDS = {"assign": ("assignee",), "transition": ("status",)}
SET_FIELD_FIELDS = {"due": ("duedate",), "priority": ("priority",)}  # set_field compares with these
JQL_STATUS_CATEGORY = {"todo": '"To Do"', "in_progress": '"In Progress"', "done": "Done"}
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _jql_test(test: Test, mapped: Mapping[str, JiraField] | None = None, calendar: bool = False) -> str | None:
    """A JQL clause every issue satisfying `test` matches (a superset), or None when there is none safe."""
    fact, op, value = test.fact, test.op, test.value
    if mapped:
        found = mapped_clause(test, mapped, calendar)
        if found is not None:
            return found
    if fact == "status_category":
        if op == "eq" and value in JQL_STATUS_CATEGORY:
            return f"statusCategory = {JQL_STATUS_CATEGORY[value]}"
        if op == "ne" and value in JQL_STATUS_CATEGORY:
            return f"statusCategory != {JQL_STATUS_CATEGORY[value]}"
        if op == "in" and isinstance(value, list) and value and all(v in JQL_STATUS_CATEGORY for v in value):
            return f"statusCategory in ({', '.join(JQL_STATUS_CATEGORY[v] for v in value)})"
        return None
    if fact == "labels":
        # Jira compares labels without regard to case: still a superset of the exact match.
        if op == "contains" and isinstance(value, str):
            return f"labels = {_quote(value)}"
        if op == "contains_any" and isinstance(value, list) and value:
            return f"labels in ({', '.join(_quote(str(v)) for v in value)})"
        if op == "contains_all" and isinstance(value, list) and value:
            return " AND ".join(f"labels = {_quote(str(v))}" for v in value)
        if (op, value) in (("missing", False), ("present", True)):
            return "labels is not EMPTY"
        return None
    if fact == "assignee":
        if (op, value) in (("missing", True), ("present", False)):
            return "assignee is EMPTY"
        if (op, value) in (("missing", False), ("present", True)):
            return "assignee is not EMPTY"
        return None
    if fact == "age_days" and op in ("gt", "gte") and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        days = math.floor(value) + 1 if op == "gt" else math.ceil(value)
        days -= 1  # one day of slack for clock skew between this machine and Jira
        return f"created <= -{days}d" if days >= 1 else None
    # status, priority and issuetype are left out on purpose: a name a project does not have makes
    # the whole JQL invalid, and names can be translated.
    return None


def jql_for(condition: Condition, mapped: Mapping[str, JiraField] | None = None, calendar: bool = False) -> str | None:
    """`mapped`: the run's mapped Jira fields; `calendar`: the rule counts days in a working-day calendar."""
    if isinstance(condition, Test):
        return _jql_test(condition, mapped, calendar)
    if isinstance(condition, AllOf):
        parts = [p for p in (jql_for(item, mapped, calendar) for item in condition.items) if p]
        return " AND ".join(f"({p})" for p in parts) if parts else None
    if isinstance(condition, AnyOf):
        parts = [jql_for(item, mapped, calendar) for item in condition.items]
        if not parts or any(p is None for p in parts):
            return None
        return " OR ".join(f"({p})" for p in parts)
    return None  # Not: nothing safe to say


def pushdown_clause(rules: list[Rule], mapped: Mapping[str, JiraField] | None = None) -> str | None:
    """OR of every rule's clause, plus issues carrying labels the rules add (for the planner's clean-up)."""
    clauses = []
    for rule in rules:
        clause = jql_for(rule.condition, mapped, rule.calendar is not None)
        if clause is None:
            return None
        clauses.append(clause)
    if not clauses:
        return None
    labels = sorted({label for rule in rules if rule.cleanup for label in rule.added_labels})
    if labels:
        clauses.append(f"labels in ({', '.join(_quote(label) for label in labels)})")
    return " OR ".join(f"({c})" for c in clauses)


def read_needs(rules: list[Rule], fields: Mapping[str, FieldMapping] | None = None) -> tuple[tuple[str, ...], bool]:
    """The search `fields` and whether the changelog is needed to evaluate and plan these rules.

    Derived from the facts the rules test or show (the Runner's own `facts_used`) and the actions they
    take; a fact this adapter does not know (a plugin's) may read anything, so it gets everything. The facts
    of mapped fields (`fields`) read only their own field, which the reader adds (read.py).
    """
    facts = {split_fact_name(fact)[0] for fact in facts_used(rules)}
    facts = {fact for fact in facts if fact in FACT_FIELDS or not (fields and field_fact(fact, fields))}
    if any(fact not in FACT_FIELDS for fact in facts):
        return FIELDS, True
    wanted = set(BASE_FIELDS)
    for fact in facts:
        wanted.update(FACT_FIELDS[fact])
    for rule in rules:
        for step in rule.steps:
            for kind, value in step.actions:
                wanted.update(ACTION_FIELDS.get(kind, ()))
                if kind == "set_field" and isinstance(value, dict):
                    wanted.update(SET_FIELD_FIELDS.get(str(value.get("field")), ()))
    return tuple(field for field in FIELDS if field in wanted), bool(facts & FACT_CHANGELOG)


def combine_jql(user_jql: str | None, clause: str | None) -> str:
    jql = (user_jql or "").strip()
    if not clause:
        return jql
    order = ""
    matches = list(_ORDER_BY.finditer(jql))
    if matches and jql[:matches[-1].start()].count('"') % 2 == 0:
        jql, order = jql[:matches[-1].start()].strip(), " " + jql[matches[-1].start():].strip()
    if not jql:
        return f"{clause}{order}"
    return f"({jql}) AND ({clause}){order}"
