"""The Jira tracker: Jira Cloud (REST v3 enhanced search) and Data Center / Server (REST v2 classic search).

It wires the rooms of this package together: transport (the session and the shared retry policy), read
(snapshot, pages by key, completions), pushdown (what to ask for), write (one edit per issue), reconcile
(re-check before writing, one copy per step after).
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from steward.core.fields import FieldMapping
from steward.core.ledger import Identity
from steward.core.markers import new_run_id
from steward.core.model import Issue, Marker, Step
from steward.core.registry import split_fact_name
from steward.core.rules import Rule, facts_used
from steward.core.timeutil import utcnow
from steward.core.tracker import DigestRecord, Tracker
from steward.plugins.transport import ATTEMPTS, MAX_WAIT, RetryPolicy

from .digest import JiraDigests
from .fields import read_catalogue, resolve
from .hierarchy import CHILD_FACTS, ChildJoin
from .people import JiraPeople
from .pushdown import combine_jql, pushdown_clause, read_needs
from .read import BULK_CHANGELOG_MAX, PAGE_SIZE, JiraReader, parallel_from
from .reconcile import recheck, reconcile
from .transport import JiraConnection
from .write import JiraWriter

log = logging.getLogger("steward.jira")


class JiraTracker(Tracker):
    name = "jira"

    def __init__(self, url: str | None = None, env: Mapping[str, str] | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 jitter: Callable[[], float] = random.random, attempts: int = ATTEMPTS, max_wait: float = MAX_WAIT,
                 page_size: int = PAGE_SIZE, bulk_size: int = BULK_CHANGELOG_MAX, run: str | None = None):
        policy = RetryPolicy(attempts=attempts, max_wait=max_wait, sleep=sleep, clock=clock, jitter=jitter)
        env = os.environ if env is None else env
        self.connection = JiraConnection(url, env, policy)
        self.run = run or new_run_id()  # named in every comment footer and marker this tracker writes
        # Who Steward writes as, asked at most once and only when a comment carries a footer.
        self._identity = Identity.later(self.connection.whoami)
        self.reader = JiraReader(self.connection, page_size, bulk_size, parallel_from(env))
        self.reader.identity = self._identity
        self.writer = JiraWriter(self.connection, self._identity, self.run)
        self.clause: str | None = None
        self.fields: dict[str, FieldMapping] = {}
        self.join_children = True  # hold parents back until their children are read (hierarchy.py)
        self.people = JiraPeople(self.connection)
        self.digests = JiraDigests(self.connection, self._identity, env)

    @property
    def base_url(self) -> str:
        return self.connection.base_url

    @property
    def cloud(self) -> bool:
        return self.connection.cloud

    @property
    def requests(self) -> int:
        """Requests sent so far, retries included."""
        return self.connection.requests

    def identity(self) -> Identity:
        return self._identity

    def map_fields(self, fields: dict[str, FieldMapping]) -> None:
        """Find each mapped field in Jira's field list (one `GET /field` per run, only when some field is mapped
        for Jira); an unknown name or a type that does not fit ends the run here, before any read."""
        self.fields = dict(fields)
        unmapped = sorted(name for name, mapping in fields.items() if not mapping.on("jira"))
        if unmapped:
            log.warning("no Jira field is mapped for %s: their facts stay missing on Jira", ", ".join(unmapped))
        if len(unmapped) < len(fields):
            self.reader.mapped = self.writer.mapped = resolve(fields, read_catalogue(self.connection))

    def mention(self, person: str, name: str) -> str:
        """Cloud `[~accountid:ID]`, Data Center `[~name]` (v2 wiki markup); a person Jira does not know or
        has deactivated is written as their plain name, with a warning (people.py)."""
        return self.people.mention(person, name)

    def narrow(self, rules: list[Rule]) -> None:
        """Push the rules' conditions into the JQL and ask only for the fields they read."""
        self.clause = pushdown_clause(rules, self.reader.mapped)
        self.reader.fields, self.reader.changelog = read_needs(rules, self.fields)
        self.join_children = bool(CHILD_FACTS & {split_fact_name(fact)[0] for fact in facts_used(rules)})
        silent = [f"{rule.id} step {step.level}" for rule in rules for step in rule.steps
                  if not any(kind == "comment" for kind, _ in step.actions)]
        if silent and not self.cloud:
            # Data Center's search returns no issue property, and such a step leaves no comment footer.
            self.reader.every_property = True
            log.warning("%s write no comment: on Jira Data Center their record is only the marker property, which "
                        "its search does not return, so every issue's property is read on its own (one more "
                        "request per issue). A comment in each step avoids it.", ", ".join(silent))

    def query(self, user_jql: str | None, since: datetime | None = None) -> str:
        clause = self.clause
        if since is not None:
            # A superset, filtered again below; at least an hour when `since` is ahead of this machine's clock.
            minutes = max(math.ceil((utcnow() - since).total_seconds() / 60), 0) + 60
            clause = f"updated >= -{minutes}m" + (f" AND ({clause})" if clause else "")
        return combine_jql(user_jql, clause)

    def fetch(self, query: str | None, since: datetime | None = None) -> Iterator[list[Issue]]:
        pages = self.reader.issues(self.query(query, since), since)
        if not self.join_children:
            return pages
        return ChildJoin(self.reader.related, self.reader.page_size).pages(pages)

    def fetch_one(self, key: str) -> Issue | None:
        issue = self.reader.one(key)
        if issue is not None and issue.children:  # its sub-tasks' owners: one more read
            ChildJoin(self.reader.related, self.reader.page_size).complete([issue], {}, {})
        return issue

    def recheck(self, issues: list[Issue]) -> dict[str, Issue]:
        return recheck(self.reader, issues)

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        self.writer.apply(issue, steps, now)

    def record_done(self, issue: Issue, marker: Marker) -> None:
        self.writer.record_done(issue.key, marker)

    def reconcile(self, written: list[tuple[Issue, list[Step]]], now: datetime) -> list[Step]:
        return reconcile(self.reader, self.writer, self._identity, self.run, written)

    def find_digest(self, period: str) -> DigestRecord | None:
        return self.digests.find(period)

    def publish_digest(self, period: str, title: str, body: str, sent: frozenset[str],
                       now: datetime) -> DigestRecord:
        """One issue per period in STEWARD_DIGEST_PROJECT, updated on a rerun (digest.py)."""
        return self.digests.publish(period, title, body, sent)

    def close(self) -> None:
        self.connection.close()


def make_tracker(target: str, options: dict[str, Any]) -> JiraTracker:
    return JiraTracker(options.get("url") or target or None)
