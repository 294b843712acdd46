"""Reading Jira at the request floor: search pages, the rest of cut changelogs and comment lists.

Request counts (Cloud): ceil(N/100) search pages for N issues, plus one `POST /rest/api/3/changelog/bulkfetch`
per 1000 issues whose inline changelog is cut (more than 40 histories), plus one comment page per issue
whose inline comment list is cut (Jira has no bulk comment read by issue). Data Center has no bulk changelog:
one `GET /issue` per issue with a cut changelog.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from steward.core.ledger import Identity
from steward.core.model import Issue

from .parse import CHANGELOG_FIELD_IDS, PROPERTY_KEY, add_histories, as_dict, history_id, issue_from_jira, truncated
from .pushdown import FIELDS
from .transport import JiraConnection

log = logging.getLogger("steward.jira")

PAGE_SIZE = 100
BULK_CHANGELOG_MAX = 1000


class JiraReader:
    """Issues as model issues, page by page. `fields` and `changelog` say what to ask for (see pushdown)."""

    def __init__(self, connection: JiraConnection, page_size: int = PAGE_SIZE, bulk_size: int = BULK_CHANGELOG_MAX):
        self.connection = connection
        self.page_size, self.bulk_size = page_size, bulk_size
        self.fields: tuple[str, ...] = FIELDS
        self.changelog = True
        self.identity: Identity | None = None

    def issues(self, jql: str, since: datetime | None) -> Iterator[list[Issue]]:
        # Issues whose changelog was cut at 40 wait for one bulk call per `bulk_size`. They wait as model
        # issues with the ids of the histories they already have, not as raw JSON, which is many times larger.
        pending: list[tuple[Issue, set[str]]] = []
        pages = self._cloud_pages(jql) if self.connection.cloud else self._dc_pages(jql)
        for raw_page in pages:
            page = []
            for raw in raw_page:
                issue = self._issue(raw, since)
                if issue is None:
                    continue
                changelog = as_dict(raw.get("changelog"))
                if truncated(changelog, "histories"):
                    pending.append((issue, {history_id(h) for h in changelog.get("histories") or []
                                            if isinstance(h, dict)}))
                else:
                    page.append(issue)
            if page:
                yield page
            if len(pending) >= self.bulk_size:
                yield self._complete_changelogs(pending[:self.bulk_size])
                pending = pending[self.bulk_size:]
        if pending:
            yield self._complete_changelogs(pending)

    def one(self, key: str) -> Issue | None:
        """One issue by key with everything the rules may read: a single `GET /issue`, plus the rest of a
        cut changelog or comment list."""
        params = {"fields": ",".join(FIELDS), "expand": "changelog", "properties": PROPERTY_KEY}
        raw = self.connection.request("GET", self.connection.issue_url(key), f"reading {key}", params=params)
        if not isinstance(raw, dict) or not raw.get("key"):
            return None
        issue = self._issue(raw, None)
        if issue is None:
            return None
        changelog = as_dict(raw.get("changelog"))
        if truncated(changelog, "histories"):
            seen = {history_id(h) for h in changelog.get("histories") or [] if isinstance(h, dict)}
            return self._complete_changelogs([(issue, seen)])[0]
        return issue

    def _issue(self, raw: Any, since: datetime | None) -> Issue | None:
        """One search result as an Issue, its cut comment list completed; None (with a warning) if unusable."""
        if not isinstance(raw, dict) or not raw.get("key"):
            log.warning("skipping a search result without a key")
            return None
        comments = None
        container = as_dict(as_dict(raw.get("fields")).get("comment"))
        if truncated(container, "comments"):
            comments = self._all_comments(raw, container)
        try:
            issue = issue_from_jira(raw, self.connection.base_url, None, comments, self.identity)
        except Exception as error:  # one odd issue must never end the run
            log.warning("%s: skipped: could not read it (%s: %s)", raw.get("key"), type(error).__name__, error)
            return None
        if since is not None and issue.updated is not None and issue.updated < since:
            return None
        return issue

    def _search_params(self, jql: str) -> dict[str, Any]:
        params = {"jql": jql, "maxResults": self.page_size, "fields": ",".join(self.fields)}
        if self.changelog:
            params["expand"] = "changelog"
        params["properties"] = PROPERTY_KEY
        return params

    def _cloud_pages(self, jql: str) -> Iterator[list[dict[str, Any]]]:
        token = None
        while True:
            params = self._search_params(jql)
            if token:
                params["nextPageToken"] = token
            data = as_dict(self.connection.request("GET", self.connection.url("search/jql", "3"), "searching issues",
                                                   params=params))
            issues = data.get("issues")
            yield issues if isinstance(issues, list) else []
            token = data.get("nextPageToken")
            if not token or data.get("isLast") is True or not issues:
                return

    def _dc_pages(self, jql: str) -> Iterator[list[dict[str, Any]]]:
        start = 0
        while True:
            params = {**self._search_params(jql), "startAt": start}
            data = as_dict(self.connection.request("GET", self.connection.url("search", "2"), "searching issues",
                                                   params=params))
            issues = data.get("issues") if isinstance(data.get("issues"), list) else []
            yield issues
            start += len(issues)
            total = data.get("total")
            if not issues or not isinstance(total, int) or start >= total:
                return

    def _complete_changelogs(self, pending: list[tuple[Issue, set[str]]]) -> list[Issue]:
        """Full histories for issues whose inline changelog was cut at 40: one bulk call per 1000 on Cloud.

        Each answer page is folded into its issues as it arrives, so only one page of histories is held.
        """
        if self.connection.cloud:
            by_id = {str(issue.extra.get("id") or issue.key): (issue, seen) for issue, seen in pending}
            by_id.update({issue.key: (issue, seen) for issue, seen in pending})
            ids = [str(issue.extra.get("id") or issue.key) for issue, _ in pending]
            token = None
            while True:
                body: dict[str, Any] = {"issueIdsOrKeys": ids, "fieldIds": list(CHANGELOG_FIELD_IDS),
                                        "maxResults": 10000}
                if token:
                    body["nextPageToken"] = token
                data = as_dict(self.connection.request("POST", self.connection.url("changelog/bulkfetch", "3"),
                                                       "reading changelogs in bulk", body=body))
                for entry in data.get("issueChangeLogs") or []:
                    entry = as_dict(entry)
                    target = by_id.get(str(entry.get("issueId")))
                    if target is not None:
                        add_histories(*target, entry.get("changeHistories") or [])
                token = data.get("nextPageToken")
                if not token:
                    break
        else:  # Data Center has no bulk changelog: one read per truncated issue
            for issue, seen in pending:
                data = as_dict(self.connection.request("GET", self.connection.issue_url(issue.key),
                                                       f"reading {issue.key}",
                                                       params={"fields": "created", "expand": "changelog"}))
                add_histories(issue, seen, as_dict(data.get("changelog")).get("histories") or [])
        for issue, _ in pending:
            issue.changes.sort(key=lambda c: c.at)
        return [issue for issue, _ in pending]

    def _all_comments(self, raw: dict[str, Any], container: dict[str, Any]) -> list[dict[str, Any]]:
        """The rest of a truncated inline comment list (Jira has no bulk comment read by issue)."""
        comments = list(container.get("comments") or [])
        key = str(raw["key"])
        while True:
            data = as_dict(self.connection.request("GET", self.connection.issue_url(key, "/comment"),
                                                   f"reading comments of {key}",
                                                   params={"startAt": len(comments), "maxResults": 5000}))
            page = data.get("comments") or []
            comments += page
            total = data.get("total")
            if not page or not isinstance(total, int) or len(comments) >= total:
                return comments
