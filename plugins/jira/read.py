"""Reading Jira near the request floor: a snapshot of the matching issues, then the issues 100 at a time.

A sweep first pages through the matching issue ids (Cloud: `GET /rest/api/3/search/jql?fields=id`, up to 5000
a page) or keys (Data Center: the classic search, up to 1000 a page), before anything is written. Paging the
search itself while the run writes would skip issues: each write that moves an issue out of the JQL shifts
every later page. The issues are then read by id or key in batches of 100 (Cloud: `POST /rest/api/3/issue/
bulkfetch`, which reads what was just written; Data Center: a search `key in (...)`), plus one
`POST /rest/api/3/changelog/bulkfetch` per 1000 issues whose inline changelog is cut (more than 40 histories),
plus one comment page per issue whose inline comment list is cut (Jira has no bulk comment read by issue).
Data Center has no bulk changelog: one `GET /issue` per issue with a cut changelog.

The reads of 100 are independent of each other, so up to `parallel` of them (`STEWARD_JIRA_PARALLEL`, 3 by
default, 1 = one after the other) are in flight at once on worker threads, which only send and check the
requests. Pages are parsed and yielded on the reader's own thread, strictly in the snapshot's order, so
warnings, completions (comments, changelogs, properties) and the pages themselves come in a sequential run's
order; at most `parallel` pages of raw answers are held. A failed read raises, on the reader's thread, the
same exception a sequential run raises, after the same pages; reads still in flight are dropped (their
daemon threads are not waited for), and nothing is written for them. Rate limits are honoured per request
(plugins/transport.py): each 429 is waited out by the request that got it, and a quota at 0 holds back every
next request. The bulk changelog calls run on the reader's thread while the next reads are in flight.

Data Center's search returns no issue property (JRASERVER-62898): there the comment footers are the record,
so its reads always include the comments, and the marker property is read (`GET .../properties/
steward.markers`) only for an issue whose footers name own actions still to confirm, or for every issue when a
rule has a step that writes no comment (such a step leaves nothing else to find).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from steward.core.errors import TrackerError, UsageError
from steward.core.ledger import Identity, settle
from steward.core.markers import markers_from_json
from steward.core.model import Issue, Marker, Related
from steward.plugins.transport import public_url

from .answers import Pages, answer, optional_int, optional_text
from .fields import JiraField, mapped_values
from .hierarchy import add_hierarchy, related_of
from .parse import (
    CHANGELOG_FIELD_IDS,
    PROPERTY_KEY,
    add_histories,
    as_dict,
    history_id,
    issue_from_jira,
    property_markers,
    truncated,
)
from .pushdown import FIELDS
from .transport import JiraConnection

log = logging.getLogger("steward.jira")

PAGE_SIZE = 100  # issues read by id or key at a time (Cloud's bulk issue read takes at most 100)
SNAPSHOT_PAGE = {True: 5000, False: 1000}  # ids or keys a page: Cloud's documented maximum; Data Center's default
BULK_CHANGELOG_MAX = 1000
PARALLEL_ENV = "STEWARD_JIRA_PARALLEL"
DEFAULT_PARALLEL = 3  # reads of 100 in flight at once
MAX_PARALLEL = 8  # below the 10 connections requests keeps per host, with room for read-ahead's writes


def parallel_from(env: Mapping[str, str]) -> int:
    """Reads of 100 issues in flight at once: `STEWARD_JIRA_PARALLEL` (1 = one at a time), else 3."""
    text = (env.get(PARALLEL_ENV) or "").strip()
    if not text:
        return DEFAULT_PARALLEL
    if not text.isdigit() or not 1 <= int(text) <= MAX_PARALLEL:
        raise UsageError(f"{PARALLEL_ENV} must be a number of reads from 1 (one at a time) to {MAX_PARALLEL}, "
                         f"got {text!r}")
    return int(text)


class JiraReader:
    """Issues as model issues, page by page. `fields` and `changelog` say what to ask for (see pushdown)."""

    def __init__(self, connection: JiraConnection, page_size: int = PAGE_SIZE, bulk_size: int = BULK_CHANGELOG_MAX,
                 parallel: int = DEFAULT_PARALLEL):
        self.connection = connection
        self.parallel = max(parallel, 1)
        self.page_size, self.bulk_size = min(page_size, PAGE_SIZE), bulk_size
        self.fields: tuple[str, ...] = FIELDS
        self.changelog = True
        self.identity: Identity | None = None
        self.every_property = False  # Data Center: read every issue's marker property (see the module doc)
        self.mapped: dict[str, JiraField] = {}  # the rule files' mapped fields (fields.py), by their names

    @property
    def sweep_fields(self) -> tuple[str, ...]:
        """What a sweep asks for: on Data Center always the comments, the only record its search returns."""
        fields = self.fields if self.connection.cloud or "comment" in self.fields else (*self.fields, "comment")
        return self.with_mapped(fields)

    def with_mapped(self, fields: tuple[str, ...]) -> tuple[str, ...]:
        """`fields` and the mapped fields' ids: read in the same requests, no request of their own."""
        return (*fields, *dict.fromkeys(f.id for f in self.mapped.values() if f.id not in fields))

    def issues(self, jql: str, since: datetime | None) -> Iterator[list[Issue]]:
        # Issues whose changelog was cut at 40 wait for one bulk call per `bulk_size`. They wait as model
        # issues with the ids of the histories they already have, not as raw JSON, which is many times larger.
        pending: list[tuple[Issue, set[str], list[Marker]]] = []
        matching = self._snapshot(jql)
        for raws in self._pages(matching):
            page = []
            for raw in raws:
                read = self.parse(raw, since)
                if read is None:
                    continue
                issue, stored = read
                changelog = as_dict(raw.get("changelog"))
                if truncated(changelog, "histories"):
                    pending.append((issue, {history_id(h) for h in changelog.get("histories") or []
                                            if isinstance(h, dict)}, stored))
                else:
                    page.append(issue)
            if page:
                yield page
            if len(pending) >= self.bulk_size:
                yield self._complete_changelogs(pending[:self.bulk_size])
                pending = pending[self.bulk_size:]
        if pending:
            yield self._complete_changelogs(pending)

    def _pages(self, matching: list[str]) -> Iterator[list[dict[str, Any]]]:
        """The raw issues of `matching`, 100 at a time in order, up to `parallel` reads in flight."""
        chunks = (matching[start:start + self.page_size] for start in range(0, len(matching), self.page_size))
        fields, changelog = self.sweep_fields, self.changelog
        if self.parallel == 1:
            for chunk in chunks:
                yield self.by_keys(chunk, fields, changelog)
            return
        flight: deque[Future[list[dict[str, Any]]]] = deque()
        for chunk in chunks:
            flight.append(self._read_aside(chunk, fields, changelog))
            if len(flight) == self.parallel:
                yield flight.popleft().result()  # the same exception object a sequential read raises
        while flight:
            yield flight.popleft().result()

    def _read_aside(self, keys: list[str], fields: tuple[str, ...], changelog: bool) -> Future[list[dict[str, Any]]]:
        """`by_keys` on a thread of its own. A daemon thread, not a pool's: a run that ends early (an error, the
        end of its pages) drops the reads still in flight instead of waiting for them at exit."""
        future: Future[list[dict[str, Any]]] = Future()

        def read() -> None:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(self.by_keys(keys, fields, changelog))
            except BaseException as error:  # handed to the reader's thread, which raises it in order
                future.set_exception(error)

        threading.Thread(target=read, name="steward-jira-read", daemon=True).start()
        return future

    def one(self, key: str) -> Issue | None:
        """One issue by key with everything the rules may read: a single `GET /issue`, plus the rest of a
        cut changelog or comment list."""
        params = {"fields": ",".join(self.with_mapped(FIELDS)), "expand": "changelog", "properties": PROPERTY_KEY}
        raw = answer(self.connection.request("GET", self.connection.issue_url(key), f"reading {key}", params=params),
                     self.connection.base_url, f"reading {key}")
        if not raw.get("key"):
            return None
        read = self.parse(raw, None, with_property=True)
        if read is None:
            return None
        issue, stored = read
        changelog = as_dict(raw.get("changelog"))
        if truncated(changelog, "histories"):
            seen = {history_id(h) for h in changelog.get("histories") or [] if isinstance(h, dict)}
            return self._complete_changelogs([(issue, seen, stored)])[0]
        return issue

    def parse(self, raw: Any, since: datetime | None, with_property: bool = False) -> tuple[Issue, list[Marker]] | None:
        """One read issue as a settled Issue and the markers its property holds, its cut comment list completed;
        None (with a warning) if unusable or not updated since `since`. `with_property`: `raw` came with the
        property (Cloud's reads, and `GET /issue` on both)."""
        if not isinstance(raw, dict) or not raw.get("key"):
            log.warning("skipping a read issue without a key")
            return None
        comments = self.comments(raw)
        try:
            stored = property_markers(raw, str(raw["key"])) if with_property or self.connection.cloud else []
            issue = issue_from_jira(raw, self.connection.base_url, None, comments, self.identity, stored)
            issue.fields = mapped_values(self.mapped, as_dict(raw.get("fields")), issue.key)
            add_hierarchy(issue, as_dict(raw.get("fields")))
        except TrackerError:  # Jira failed (asking who Steward is): that ends the run, as any failed request
            raise
        except Exception as error:  # one odd issue must never end the run
            log.warning("%s: skipped: could not read it (%s: %s)", raw.get("key"), type(error).__name__, error)
            return None
        if since is not None and issue.updated is not None and issue.updated < since:
            return None
        if not (with_property or self.connection.cloud) and \
                (self.every_property or any(m.pending for m in issue.markers)):
            stored = self.stored_markers(issue.key)
            settle(issue, self.identity, stored=stored)
        return issue, stored

    def comments(self, raw: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The issue's comments when its inline list was cut short (the rest read page by page), else None."""
        container = as_dict(as_dict(raw.get("fields")).get("comment"))
        return self._all_comments(raw, container) if truncated(container, "comments") else None

    def stored_markers(self, key: str) -> list[Marker]:
        """The issue's marker property read on its own (Data Center's search cannot return it)."""
        data = self.connection.read_optional(self.connection.issue_url(key, f"/properties/{PROPERTY_KEY}", "2"),
                                             f"reading Steward's markers on {key}")
        return markers_from_json(as_dict(as_dict(data).get("value")).get("markers"), key)

    def by_keys(self, keys: list[str], fields: tuple[str, ...], changelog: bool = False) -> list[dict[str, Any]]:
        """At most 100 issues by id or key, in the order asked, without those that no longer exist. Cloud also
        returns the marker property."""
        if not keys:
            return []
        if self.connection.cloud:
            body: dict[str, Any] = {"issueIdsOrKeys": keys, "fields": list(fields), "properties": [PROPERTY_KEY]}
            if changelog:
                body["expand"] = ["changelog"]
            data = answer(self.connection.request("POST", self.connection.url("issue/bulkfetch", "3"),
                                                  "reading issues", body=body),
                          self.connection.base_url, "reading issues", "issues")
            found = [as_dict(raw) for raw in data["issues"]]
        else:
            jql = f"key in ({', '.join(_quote(key) for key in keys)})"
            site, what = self.connection.base_url, "reading issues"
            pages = Pages(site, what)
            found, offset = [], 0
            while True:  # a site may cap pages below 100; nothing is written between these pages
                params: dict[str, Any] = {"jql": jql, "startAt": offset, "maxResults": len(keys),
                                          "fields": ",".join(fields), "validateQuery": "false"}
                if changelog:
                    params["expand"] = "changelog"
                data = answer(self.connection.request("GET", self.connection.url("search", "2"), what,
                                                      params=params), site, what, "issues")
                page = [as_dict(raw) for raw in data["issues"]]
                fresh = pages.page([str(raw["key"]) for raw in page if raw.get("key")])
                found += list({str(raw.get("key")): raw for raw in page if str(raw.get("key")) in fresh}.values())
                offset += len(page)
                total = optional_int(data, "total", site, what)
                if not page or total is None or offset >= total:
                    pages.ended(total, offset)
                    break
        position = {key: n for n, key in enumerate(keys)}
        return sorted(found, key=lambda raw: position.get(str(raw.get("id")), position.get(str(raw.get("key")), 0)))

    def related(self, keys: list[str]) -> list[Related]:
        """Issues by key (at most 100: one request) for their status and assignee: children outside the sweep."""
        found = [related_of(raw) for raw in self.by_keys(keys, ("status", "assignee"))]
        return [r for r in found if r is not None]

    def _snapshot(self, jql: str) -> list[str]:
        """The ids (Cloud) or keys (Data Center) of every issue matching `jql`, read before anything is written.
        Paging is checked (answers.Pages): a repeated token or page, or a short count, ends the run here."""
        cloud, site = self.connection.cloud, self.connection.base_url
        what = "searching issues"
        pages = Pages(site, what)
        found: list[str] = []
        token, start = None, 0
        while True:
            params: dict[str, Any] = {"jql": jql, "fields": "id", "maxResults": SNAPSHOT_PAGE[cloud]}
            if cloud and token:
                params["nextPageToken"] = token
            elif not cloud:
                params["startAt"] = start
            url = self.connection.url("search/jql", "3") if cloud else self.connection.url("search", "2")
            data = answer(self.connection.request("GET", url, what, params=params), site, what, "issues")
            idents = [_ident(raw, "id" if cloud else "key", site, what) for raw in data["issues"]]
            fresh = pages.page(idents)
            found += [ident for ident in dict.fromkeys(idents) if ident in fresh]  # once, even if listed twice
            start += len(idents)
            if cloud:
                token = optional_text(data, "nextPageToken", site, what)
                last = data.get("isLast")
                if last is True or (token is None and not idents):
                    return found
                if token is None:
                    if last is False:
                        pages.no_token()
                    return found
                pages.token(token)
            else:
                total = optional_int(data, "total", site, what)
                if not idents or total is None or start >= total:
                    pages.ended(total, start)
                    return found

    def _complete_changelogs(self, pending: list[tuple[Issue, set[str], list[Marker]]]) -> list[Issue]:
        """Full histories for issues whose inline changelog was cut at 40: one bulk call per 1000 on Cloud.

        Each answer page is folded into its issues as it arrives, so only one page of histories is held. The
        issues are settled again, so the changes of Steward's own writes among the new histories are flagged.
        """
        if self.connection.cloud:
            by_id = {str(issue.extra.get("id") or issue.key): (issue, seen) for issue, seen, _ in pending}
            by_id.update({issue.key: (issue, seen) for issue, seen, _ in pending})
            ids = [str(issue.extra.get("id") or issue.key) for issue, _, _ in pending]
            site, what = self.connection.base_url, "reading changelogs in bulk"
            pages = Pages(site, what, "change histories")
            token = None
            while True:
                body: dict[str, Any] = {"issueIdsOrKeys": ids, "fieldIds": list(CHANGELOG_FIELD_IDS),
                                        "maxResults": 10000}
                if token:
                    body["nextPageToken"] = token
                data = answer(self.connection.request("POST", self.connection.url("changelog/bulkfetch", "3"),
                                                      what, body=body), site, what)
                entries = data.get("issueChangeLogs")
                for entry in entries if isinstance(entries, list) else []:
                    entry = as_dict(entry)
                    target = by_id.get(str(entry.get("issueId")))
                    if target is not None:
                        add_histories(*target, entry.get("changeHistories") or [])
                token = optional_text(data, "nextPageToken", site, what)
                if not token:
                    break
                pages.token(token)
        else:  # Data Center has no bulk changelog: one read per truncated issue
            for issue, seen, _ in pending:
                data = answer(self.connection.request("GET", self.connection.issue_url(issue.key),
                                                      f"reading {issue.key}",
                                                      params={"fields": "created", "expand": "changelog"}),
                              self.connection.base_url, f"reading {issue.key}")
                add_histories(issue, seen, as_dict(data.get("changelog")).get("histories") or [])
        for issue, _, stored in pending:
            issue.changes.sort(key=lambda c: c.at)
            settle(issue, self.identity, stored=stored)
        return [issue for issue, _, _ in pending]

    def _all_comments(self, raw: dict[str, Any], container: dict[str, Any]) -> list[dict[str, Any]]:
        """The rest of a truncated inline comment list (Jira has no bulk comment read by issue)."""
        comments = list(container.get("comments") or [])
        key = str(raw["key"])
        site, what = self.connection.base_url, f"reading comments of {key}"
        pages = Pages(site, what, "comments")
        pages.page(_comment_ids(comments))
        offset = len(comments)
        while True:
            data = answer(self.connection.request("GET", self.connection.issue_url(key, "/comment"), what,
                                                  params={"startAt": offset, "maxResults": 5000}),
                          site, what, "comments")
            page = data["comments"]
            fresh = pages.page(_comment_ids(page))
            comments += [c for c in page if not isinstance(c, dict) or c.get("id") is None or str(c["id"]) in fresh]
            offset += len(page)
            total = optional_int(data, "total", site, what)
            if not page or total is None or offset >= total:
                pages.ended(total, offset)
                return comments


def _comment_ids(comments: list[Any]) -> list[str]:
    return [str(c["id"]) for c in comments if isinstance(c, dict) and c.get("id") is not None]


def _ident(raw: Any, name: str, site: str, what: str) -> str:
    """An issue's id or key in a search answer; an entry without one is a broken answer, not an issue."""
    value = raw.get(name) if isinstance(raw, dict) else None
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
        return str(value)
    raise TrackerError(f"Jira at {public_url(site)} answered {what} with an issue without its {name} "
                       f"({str(raw)[:80]!r})")


def _quote(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
