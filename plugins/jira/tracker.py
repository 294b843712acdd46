"""The Jira tracker: Jira Cloud (REST v3 enhanced search) and Data Center / Server (REST v2 classic search).

It wires the rooms of this package together: transport (the session and the shared retry policy), read
(search pages and completions), pushdown (what to ask for), write (one edit per issue).
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from steward.core.model import Issue, Step
from steward.core.rules import Rule
from steward.core.timeutil import utcnow
from steward.core.tracker import Tracker
from steward.plugins.transport import ATTEMPTS, MAX_WAIT, RetryPolicy

from .pushdown import combine_jql, pushdown_clause, read_needs
from .read import BULK_CHANGELOG_MAX, PAGE_SIZE, JiraReader
from .transport import JiraConnection
from .write import JiraWriter


class JiraTracker(Tracker):
    name = "jira"

    def __init__(self, url: str | None = None, env: Mapping[str, str] | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 jitter: Callable[[], float] = random.random, attempts: int = ATTEMPTS, max_wait: float = MAX_WAIT,
                 page_size: int = PAGE_SIZE, bulk_size: int = BULK_CHANGELOG_MAX):
        policy = RetryPolicy(attempts=attempts, max_wait=max_wait, sleep=sleep, clock=clock, jitter=jitter)
        self.connection = JiraConnection(url, os.environ if env is None else env, policy)
        self.reader = JiraReader(self.connection, page_size, bulk_size)
        self.writer = JiraWriter(self.connection)
        self.clause: str | None = None

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

    def narrow(self, rules: list[Rule]) -> None:
        """Push the rules' conditions into the JQL and ask only for the fields they read."""
        self.clause = pushdown_clause(rules)
        self.reader.fields, self.reader.changelog = read_needs(rules)

    def query(self, user_jql: str | None, since: datetime | None = None) -> str:
        clause = self.clause
        if since is not None:
            # A superset, filtered again below; at least an hour when `since` is ahead of this machine's clock.
            minutes = max(math.ceil((utcnow() - since).total_seconds() / 60), 0) + 60
            clause = f"updated >= -{minutes}m" + (f" AND ({clause})" if clause else "")
        return combine_jql(user_jql, clause)

    def fetch(self, query: str | None, since: datetime | None = None) -> Iterator[list[Issue]]:
        return self.reader.issues(self.query(query, since), since)

    def fetch_one(self, key: str) -> Issue | None:
        return self.reader.one(key)

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        self.writer.apply(issue, steps, now)

    def close(self) -> None:
        self.connection.close()


def make_tracker(target: str, options: dict[str, Any]) -> JiraTracker:
    return JiraTracker(options.get("url") or target or None)
