"""The JQL the Jira simulator understands: the subset Steward and its tests send; anything else is a 400.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from .jira_model import (
    CATEGORIES,
    PROJECT,
    SimIssue,
)


class JqlError(ValueError):
    pass


_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\(|\)|,|!=|<=|>=|=|<|>|[^\s(),=!<>"]+)')
_RELATIVE = re.compile(r"^(-?\d+)([mhdw])$")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


class Jql:
    """The JQL subset: AND/OR/NOT, parentheses, `=`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`,
    `is [not] EMPTY` over project, key, statusCategory, status, priority, issuetype, labels, assignee,
    reporter, created, updated, duedate; relative times (-13d, -90m); ORDER BY is accepted and ignored."""

    FIELDS = {"project", "key", "issuekey", "statuscategory", "status", "priority", "issuetype", "type",
              "labels", "assignee", "reporter", "created", "updated", "duedate", "due"}

    def __init__(self, text: str, now: datetime):
        self.now = now
        body = re.split(r"\border\s+by\b", text, maxsplit=1, flags=re.IGNORECASE)[0]
        self.tokens = self._tokenize(body)
        self.pos = 0
        self.named_keys: list[str] = []  # the values of `key` clauses: Jira checks each names an issue
        if not self.tokens:
            raise JqlError("Unbounded JQL queries are not allowed here. Please add a search restriction.")
        self.tree = self._or()
        if self.pos != len(self.tokens):
            raise JqlError(f"Expecting either 'OR' or 'AND' but got '{self.tokens[self.pos]}'.")

    @staticmethod
    def _tokenize(text: str) -> list[str]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match:
                raise JqlError(f"The character '{text[pos]}' is a reserved JQL character.")
            tokens.append(match.group(1))
            pos = match.end()
        return tokens

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> str:
        token = self._peek()
        if token is None:
            raise JqlError("Expecting a field name but the query ended.")
        self.pos += 1
        return token

    def _or(self):
        items = [self._and()]
        while (self._peek() or "").upper() == "OR":
            self.pos += 1
            items.append(self._and())
        return ("or", items)

    def _and(self):
        items = [self._not()]
        while (self._peek() or "").upper() == "AND":
            self.pos += 1
            items.append(self._not())
        return ("and", items)

    def _not(self):
        if (self._peek() or "").upper() == "NOT":
            self.pos += 1
            return ("not", self._not())
        if self._peek() == "(":
            self.pos += 1
            tree = self._or()
            if self._next() != ")":
                raise JqlError("Expecting ')'.")
            return tree
        return self._clause()

    def _value(self) -> str:
        token = self._next()
        if token in ("(", ")", ","):
            raise JqlError(f"Expecting a value but got '{token}'.")
        return json.loads(token) if token.startswith('"') else token

    def _clause(self):
        name = self._next()
        if name.lower() not in self.FIELDS:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        op = self._next().lower()
        if op == "is":
            negate = (self._peek() or "").lower() == "not"
            self.pos += negate
            if self._next().lower() not in ("empty", "null"):
                raise JqlError("Expecting EMPTY or NULL after IS.")
            return ("empty", name.lower(), negate)
        if op == "not":
            if self._next().lower() != "in":
                raise JqlError("Expecting 'in' after 'not'.")
            op = "not in"
        if op in ("in", "not in"):
            if self._next() != "(":
                raise JqlError("Expecting '(' after IN.")
            values = [self._value()]
            while self._peek() == ",":
                self.pos += 1
                values.append(self._value())
            if self._next() != ")":
                raise JqlError("Expecting ')' after the IN list.")
            if name.lower() in ("key", "issuekey"):
                self.named_keys += values
            return ("in", name.lower(), op == "not in", values)
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise JqlError(f"Expecting operator but got '{op}'.")
        value = self._value()
        if name.lower() in ("key", "issuekey"):
            self.named_keys.append(value)
        return ("cmp", name.lower(), op, value)

    def only_keys(self) -> list[str] | None:
        """The keys of a query that is one `key in (...)` clause and nothing else, else None."""
        tree = self.tree
        while tree[0] in ("or", "and") and len(tree[1]) == 1:
            tree = tree[1][0]
        if tree[0] == "in" and tree[1] in ("key", "issuekey") and not tree[2]:
            return list(tree[3])
        return None

    # ---------------------------------------------------------------- evaluation

    def matches(self, issue: SimIssue) -> bool:
        return self._eval(self.tree, issue)

    def _eval(self, node, issue: SimIssue) -> bool:
        kind = node[0]
        if kind == "or":
            return any(self._eval(item, issue) for item in node[1])
        if kind == "and":
            return all(self._eval(item, issue) for item in node[1])
        if kind == "not":
            return not self._eval(node[1], issue)
        name = node[1]
        actual = self._actual(name, issue)
        if kind == "empty":
            return (actual in (None, [], set())) != node[2]
        if kind == "in":
            hit = any(self._equal(name, actual, value) for value in node[3])
            return hit != node[2]
        op, value = node[2], node[3]
        if name in ("created", "updated", "duedate", "due"):
            when = self._time(value)
            if actual is None:
                return False
            if isinstance(actual, date) and not isinstance(actual, datetime):
                actual = datetime(actual.year, actual.month, actual.day, tzinfo=timezone.utc)
            return {"=": actual == when, "!=": actual != when, "<": actual < when, "<=": actual <= when,
                    ">": actual > when, ">=": actual >= when}[op]
        if op == "=":
            return self._equal(name, actual, value)
        if op == "!=":
            return not self._equal(name, actual, value)
        raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")

    def _time(self, value: str) -> datetime:
        match = _RELATIVE.match(value.strip())
        if match:
            return self.now + timedelta(seconds=int(match[1]) * _UNITS[match[2]])
        for pattern in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
            try:
                return datetime.strptime(value, pattern).replace(tzinfo=timezone.utc)
            except ValueError:
                continue
        raise JqlError(f"Date value '{value}' for field is invalid.")

    @staticmethod
    def _actual(name: str, issue: SimIssue) -> Any:
        return {
            "project": PROJECT[0], "key": issue.key, "issuekey": issue.key,
            "statuscategory": CATEGORIES[issue.category][1], "status": issue.status, "priority": issue.priority,
            "issuetype": issue.type, "type": issue.type, "labels": [label.lower() for label in issue.labels],
            "assignee": issue.assignee, "reporter": issue.reporter, "created": issue.created,
            "updated": issue.updated, "duedate": issue.due, "due": issue.due,
        }[name]

    @staticmethod
    def _equal(name: str, actual: Any, value: str) -> bool:
        if name == "labels":
            return value.lower() in actual
        if name == "statuscategory":
            keys = {key: label for key, (_, label, _) in CATEGORIES.items()}
            value = keys.get(value, value)
        return isinstance(actual, str) and actual.lower() == value.lower()
