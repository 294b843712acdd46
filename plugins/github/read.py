"""Reading GitHub issues: GraphQL sweeps at 100 issues a request, one issue by number, a page of issues by
number in one request (the re-check before writing), their recent comments (the reconcile after), and the REST
fallback.

The REST timeline (one request per issue) is a fallback, used when GraphQL is unavailable (some GitHub
Enterprise Server setups) or when `STEWARD_GITHUB_READS=rest`.
"""

from __future__ import annotations

import functools
import logging
import shlex
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from steward.core.errors import TrackerError
from steward.core.ledger import Identity
from steward.core.model import Issue
from steward.core.readahead import Later
from steward.core.timeutil import format_time

from .answers import malformed, mapping
from .comments import PostedComment, from_graphql
from .digest import is_digest
from .paging import Pages, PagingError, check_total
from .parse import Event, RawIssue, build_issue, graphql_event, raw_from_graphql, raw_from_rest, rest_event
from .projects import Projects
from .queries import (
    HIERARCHY,
    RECENT_COMMENTS,
    TIMELINE_QUERY,
    issue_query,
    recheck_query,
    reconcile_query,
    search_query,
)
from .sweep import overloaded, sweep_graphql
from .transport import GitHubConnection, GitHubError

log = logging.getLogger("steward.github")

# An issue of a GraphQL answer as `GitHubReader._raw` reads it (with its repository's owner and name), and all of
# its timeline items.
Read = tuple[tuple[RawIssue, str, str], list[Any]]


class GraphQLUnavailable(Exception):
    pass


# Qualifiers pushed down into GitHub's issue search, each `name:value` (a value with spaces in quotes:
# `label:"priority: high"`); `no:` takes what has none.
SEARCH_QUALIFIERS = ("label", "milestone", "assignee", "type")
NO_VALUES = ("assignee", "label", "milestone")
QUERY_HELP = ("use state:open|closed|all, number:N, label:NAME, milestone:NAME, assignee:LOGIN, type:NAME "
              "or no:assignee|label|milestone")


def parse_query(query: str | None) -> dict[str, Any]:
    """`state:open|closed|all`, `number:N` (or `#N`) and search qualifiers, space separated. Default: open
    issues. `search` holds the qualifiers for GitHub's search, in GitHub's own syntax."""
    parsed: dict[str, Any] = {"state": "open", "number": None, "search": []}
    try:
        words = shlex.split(query or "")
    except ValueError as error:
        raise TrackerError(f"GitHub query {query!r} cannot be read ({error}): {QUERY_HELP}") from None
    for word in words:
        name, _, value = word.partition(":")
        if word.startswith("#") and word[1:].isdigit():
            parsed["number"] = int(word[1:])
        elif name == "number" and value.isdigit():
            parsed["number"] = int(value)
        elif name == "state" and value in ("open", "closed", "all"):
            parsed["state"] = value
        elif name in SEARCH_QUALIFIERS and value.strip() and not (name == "type" and value in ("issue", "pr")):
            parsed["search"].append(f"{name}:{_quoted(value.strip())}")
        elif name == "no" and value in NO_VALUES:
            parsed["search"].append(word)
        else:
            raise TrackerError(f"unsupported GitHub query {word!r}: {QUERY_HELP}")
    return parsed


def _quoted(value: str) -> str:
    """A qualifier's value as GitHub's search reads it: in double quotes when it holds a space or a colon."""
    if any(c in value for c in ' :"'):
        return '"' + value.replace('"', "") + '"'
    return value


def search_string(scope: str, state: str, qualifiers: list[str], since: datetime | None,
                  created_from: str | None) -> str:
    """The search string of a sweep: issues only, oldest first. `created_from` (a creation time) is where this
    page starts: search pages by offset and stops at 1,000 results, so each page starts after the last issue
    read by its creation time, which never changes, whatever Steward writes meanwhile."""
    words = [scope, "is:issue"]
    if state != "all":
        words.append(f"is:{state}")
    words += qualifiers
    if since is not None:
        words.append(f"updated:>={format_time(since)}")
    if created_from is not None:
        words.append(f"created:>={created_from}")
    return " ".join(words + ["sort:created-asc"])


class GitHubReader:
    def __init__(self, connection: GitHubConnection, owner: str, name: str, prefix: str, reads: str,
                 qualified: bool = False):
        self.connection = connection
        self.owner, self.name = owner, name  # no name: every repository of the organisation `owner`
        self.qualified = qualified  # keys name their repository, `OWNER/NAME#N` (a run over an organisation)
        self.prefix = prefix
        self.reads = reads
        self.with_type = True
        self.identity: Identity | None = None
        # The mapped project fields (plugins/github/projects.py), read in the same page as their issues.
        self.projects: Projects | None = None
        self.skipped: list[str] = []  # issues GitHub could not answer for, left out (sweep.py)

    @property
    def extra(self) -> str:
        """What every issue read asks for besides its own fields: its parent and sub-issues, and the values of
        the mapped project fields (same page, no request per issue)."""
        return HIERARCHY + (self.projects.selection() if self.projects else "")

    @property
    def repo(self) -> str:
        return f"{self.owner}/{self.name}" if self.name else self.owner

    def issues(self, query: str | None, since: datetime | None) -> Iterator[list[Issue] | Later[list[Issue]]]:
        parsed = parse_query(query)
        if parsed["number"] is not None and not self.name:
            raise TrackerError(f"number:N names an issue of one repository: use --tracker github:{self.owner}/REPO")
        if parsed["number"] is not None:
            if parsed["search"]:
                raise TrackerError("a GitHub query with number:N reads that one issue: leave out the other "
                                   f"qualifiers ({' '.join(parsed['search'])})")
            yield [self.one(parsed["number"])]
            return
        if parsed["search"] or not self.name:  # an organisation's issues are only found by searching
            if self.reads != "graphql":
                raise TrackerError(f"{' '.join(parsed['search']) or 'an organisation'} is searched with GraphQL "
                                   "reads, not with STEWARD_GITHUB_READS=rest")
            yield from self._sweep_search(parsed["state"], parsed["search"], since)
            return
        if self.reads == "graphql":
            try:
                yield from self._sweep_graphql(parsed["state"], since)
                return
            except GraphQLUnavailable as reason:
                log.warning("GitHub GraphQL unavailable (%s): falling back to REST reads, one request per issue",
                            reason)
                self.reads = "rest"
        yield from self._sweep_rest(parsed["state"], since)

    def one(self, number: int) -> Issue:
        if self.reads == "graphql":
            try:
                variables = {"owner": self.owner, "name": self.name, "number": number}
                data = self._graphql_with_type(functools.partial(issue_query, extra=self.extra), variables,
                                               f"issue #{number}")
                node = mapping(data.get("repository"), f"issue #{number}", data).get("issue")
                if node is None:
                    raise TrackerError(f"issue #{number} not found in {self.repo}")
                return self._from_graphql_node(mapping(node, f"issue #{number}", data))
            except GraphQLUnavailable as reason:
                log.warning("GitHub GraphQL unavailable (%s): falling back to REST reads", reason)
                self.reads = "rest"
        _, item = self.connection.rest("GET", f"/repos/{self.owner}/{self.name}/issues/{number}",
                                       what=f"reading issue #{number}")
        if not isinstance(item, dict) or not isinstance(item.get("number"), int):
            raise malformed(f"reading issue #{number}", {"issue": item})
        if "pull_request" in item:
            raise TrackerError(f"#{number} is a pull request; Steward evaluates issues only")
        return self._from_rest_item(item)

    def several(self, numbers: list[int]) -> list[Issue]:
        """These issues as they are now (one GraphQL request per 100); an issue gone since is left out."""
        if self.reads == "graphql":
            issues = []
            recheck = functools.partial(recheck_query, extra=self.extra)
            for chunk, data in self._aliased(numbers, recheck, {}, "re-reading issues before writing"):
                nodes = [data.get(f"i{index}") for index in range(len(chunk))]
                issues += self._readable([n for n in nodes if n is not None], self._from_graphql_node)
            return issues
        issues = []
        for number in numbers:
            try:
                issues.append(self.one(number))
            except GitHubError as error:
                if error.status != 404:
                    raise
        return issues

    def recent_comments(self, numbers: list[int]) -> dict[int, list[PostedComment]]:
        """The newest comments of these issues, by number, with their ids (GraphQL only: one request per 100)."""
        found: dict[int, list[PostedComment]] = {}
        for chunk, data in self._aliased(numbers, lambda count, _: reconcile_query(count), {"last": RECENT_COMMENTS},
                                         "re-reading comments after writing"):
            for index, number in enumerate(chunk):
                issue = data.get(f"i{index}")
                comments = issue.get("comments") if isinstance(issue, dict) else None
                nodes = comments.get("nodes") if isinstance(comments, dict) else None
                found[number] = [c for c in map(from_graphql, nodes) if c is not None] \
                    if isinstance(nodes, list) else []
        return found

    def _aliased(self, numbers: list[int], make_query: Callable[[int, bool], str], variables: dict[str, Any],
                 what: str) -> Iterator[tuple[list[int], dict[str, Any]]]:
        """Run an aliased query (`i0: issue(number: $n0)`, ...) for each chunk of 100 numbers: (chunk, repository
        data). An issue deleted meanwhile answers null with a NOT_FOUND error; the others are still read."""
        size = self.connection.page_size
        for start in range(0, len(numbers), size):
            chunk = numbers[start:start + size]
            values = {"owner": self.owner, "name": self.name, **variables,
                      **{f"n{index}": number for index, number in enumerate(chunk)}}
            document = functools.partial(make_query, len(chunk))
            try:
                data = self._graphql_with_type(document, values, what)
            except GitHubError as error:
                errors = (error.data or {}).get("errors") or []
                if not errors or any(not isinstance(e, dict) or e.get("type") != "NOT_FOUND" for e in errors):
                    raise
                data = (error.data or {}).get("data") or {}
            repository = data.get("repository")
            yield chunk, mapping(repository, what, data) if repository is not None else {}

    def _graphql_with_type(self, make_query: Callable[[bool], str], variables: dict[str, Any],
                           what: str) -> dict[str, Any]:
        """Run a query; if the server does not know `issueType` (older GHES), run it again without it."""
        try:
            return self.connection.graphql(make_query(self.with_type), variables, what)
        except GitHubError as error:
            if self.with_type and "issueType" in str(error):
                self.with_type = False
                return self.connection.graphql(make_query(False), variables, what)
            if error.status == 404 and "errors" not in (error.data or {}):  # no GraphQL endpoint at all
                raise GraphQLUnavailable(str(error)) from None
            raise

    def _sweep_graphql(self, state: str, since: datetime | None) -> Iterator[Later[list[Issue]]]:
        return sweep_graphql(self, state, since)

    def _sweep_search(self, state: str, qualifiers: list[str],
                      since: datetime | None) -> Iterator[Later[list[Issue]]]:
        """A sweep through GitHub's issue search, 100 issues a request, oldest first (see `search_string`)."""
        start: str | None = None  # the creation time this page starts at
        at_start: set[tuple[Any, Any]] = set()  # (repository, number) of the issues read created at `start`
        cursor = None
        while True:
            text = search_string(f"repo:{self.repo}" if self.name else f"org:{self.owner}", state, qualifiers, since,
                                 start)
            variables = {"q": text, "first": self.connection.page_size, "cursor": cursor}
            data = self._graphql_with_type(functools.partial(search_query, extra=self.extra), variables,
                                           "searching issues")
            connection = data.get("search") or {}
            nodes = [n for n in connection.get("nodes") or []
                     if not isinstance(n, dict) or n.get("__typename", "Issue") == "Issue"]
            # Read before (at `start`, or earlier: an answer that ignored `created:>=`) is not read again.
            fresh = [n for n in nodes if not isinstance(n, dict) or (
                _where(n) not in at_start and not (start and str(n.get("createdAt") or start) < start))]
            yield self._handed(fresh)
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return
            previous = (start, cursor)
            created = [n["createdAt"] for n in nodes if isinstance(n, dict) and isinstance(n.get("createdAt"), str)]
            last = max(created, default=None)
            if last is not None and last != start:
                start, cursor = last, None
                at_start = {_where(n) for n in nodes if isinstance(n, dict) and n.get("createdAt") == last}
            else:  # a whole page created in the same second: page on by GitHub's cursor
                at_start |= {_where(n) for n in nodes if isinstance(n, dict)}
                cursor = page.get("endCursor")
            if (start, cursor) == previous:  # the next page would be this one again: a sweep without end
                raise TrackerError(f"GitHub's search for issues of {self.repo} answered a next page it cannot "
                                   "reach (the same page again); stopped reading")

    def _handed(self, nodes: list[Any], skipped: list[str] | None = None) -> Later[list[Issue]]:
        """A page of a GraphQL sweep as the reader hands it over: converted on the thread that takes it.

        An issue with more history than the answer holds needs more requests. Those go out here, right after
        the answer whose count of history items they must add up to: sent only once the run reaches the page
        (after earlier pages were worked on and written), a comment added meanwhile would make the history
        longer than GitHub said. Issues the sweep stepped past (`skipped`) are recorded when the page is
        taken, so `skipped` keeps a sequential run's order."""
        before = list(skipped or [])
        histories = {id(node): self._rest_of_history(node) for node in nodes if _more_history(node)}

        def converted() -> list[Issue]:
            self.skipped += before
            return self._readable(nodes, lambda node: self._from_graphql_node(node, histories.get(id(node))))
        return Later(converted)

    def _readable(self, items: list[Any], convert: Callable[[dict[str, Any]], Issue]) -> list[Issue]:
        """The issues of one page; one GitHub sent in a shape Steward cannot read, or whose long history GitHub
        could not answer for in time, is skipped with a warning that names it, so a single odd issue never
        ends a sweep."""
        issues = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                log.warning("skipped item %d of a page of issues: GitHub sent %r instead of an issue", index + 1,
                            type(item).__name__ if item is not None else None)
                continue
            try:
                issues.append(convert(item))
            except TrackerError as error:
                if not overloaded(error) or not isinstance(item.get("number"), int):
                    raise
                log.warning("#%s: skipped: GitHub could not answer for its history (%s); the rest of the sweep "
                            "goes on", item["number"], error)
                self.skipped.append(f"#{item['number']}")
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                name = f"#{item['number']}" if item.get("number") is not None else item.get("url") or \
                    item.get("html_url") or f"item {index + 1} of a page"
                log.warning("%s: skipped: GitHub's data for it could not be read (%s: %s)", name,
                            type(error).__name__, error)
        # Steward's own digest of a review period is not work to govern (digest.py).
        return [issue for issue in issues if not is_digest(issue, self.identity)]

    def _from_graphql_node(self, node: dict[str, Any], read: Read | Exception | None = None) -> Issue:
        """An issue of a GraphQL answer. `read`: the issue as `_raw` read it with its timeline items, when
        `_handed` read them in full already, or the error reading them gave (raised here, so the issue is
        skipped or the run ends where it would have); otherwise both are read now."""
        if isinstance(read, Exception):
            raise read
        (raw, owner, name), nodes = read if read is not None else (self._raw(node), None)
        if self.projects is not None:
            raw.fields = self.projects.values(node)
        if nodes is None:
            nodes = self._history(node, raw.number, owner, name)
        raw.events = [e for e in (graphql_event(n) for n in nodes if n) if e is not None]
        issue = build_issue(raw, f"{owner}/{name}", self.prefix, self.identity)
        if self.qualified:
            issue.key = f"{owner}/{name}#{raw.number}"
        if self.projects is not None and self.projects.fields:  # what a project field write names
            issue.extra.update(node_id=node.get("id"), project_items=self.projects.items(node))
        return issue

    def _raw(self, node: dict[str, Any]) -> tuple[RawIssue, str, str]:
        """An issue of a GraphQL answer as parse.py reads it, with the owner and name of its repository."""
        raw = raw_from_graphql(node, "" if self.qualified else self.repo)
        owner, _, name = (raw.repo if raw.repo and "/" in raw.repo else self.repo).partition("/")
        return raw, owner, name

    def _rest_of_history(self, node: dict[str, Any]) -> Read | Exception:
        """An issue whose answer holds only the first of its timeline items, with all of them, or the error
        reading them gave."""
        try:
            raw, owner, name = self._raw(node)
            return (raw, owner, name), self._history(node, raw.number, owner, name)
        except Exception as error:  # noqa: BLE001 - raised when the issue is converted, as it would have been
            return error

    def _history(self, node: dict[str, Any], number: int, owner: str, name: str) -> list[Any]:
        """An issue's timeline items: those of the answer, then the pages after them (more than 100 items)."""
        what = f"reading the history of #{number}"
        timeline = node.get("timelineItems") or {}
        nodes = list(timeline.get("nodes") or [])
        page = timeline.get("pageInfo") or {}
        total = timeline.get("totalCount")
        pages = Pages(self.repo, what)
        cursor = pages.next(page.get("endCursor"), page.get("hasNextPage") is True, len(nodes))
        while cursor is not None:  # only issues with more than 100 timeline items get here
            data = self.connection.graphql(TIMELINE_QUERY, {"owner": owner, "name": name,
                                                            "number": number, "cursor": cursor}, what)
            more = ((data.get("repository") or {}).get("issue") or {}).get("timelineItems")
            more = mapping(more, what, data)
            items = more.get("nodes")
            if not isinstance(items, list):
                raise malformed(what, {"nodes": items})
            nodes += items
            if isinstance(total, int) and len(nodes) > total:  # an endless cursor: more than GitHub said
                raise PagingError(f"GitHub ({self.repo}) sent more than the {total} history items it said #"
                                  f"{number} has while {what}; stopped here so that nothing is read or "
                                  f"written twice")
            page = more.get("pageInfo") if isinstance(more.get("pageInfo"), dict) else {}
            cursor = pages.next(page.get("endCursor"), page.get("hasNextPage") is True, len(items))
        check_total(self.repo, f"the history of #{number}", total, len(nodes))
        return nodes

    def _sweep_rest(self, state: str, since: datetime | None) -> Iterator[list[Issue]]:
        # REST pages are numbered, so the list must not change under them while Steward writes. Ordered by
        # creation, which never changes (with `updated`, an issue written to would move to the end), and of
        # every state, filtered here: with `state=open`, each issue Steward closes would leave the list, shift
        # the later pages back by one, and the issue moved onto an already-read page would never be read.
        parameters: dict[str, Any] = {"state": "all", "sort": "created", "direction": "asc"}
        if since is not None:
            parameters["since"] = format_time(since)
        for items in self.connection.rest_pages(f"/repos/{self.owner}/{self.name}/issues", parameters,
                                                "listing issues"):
            wanted = [i for i in items if not (isinstance(i, dict) and ("pull_request" in i or (
                state != "all" and str(i.get("state") or "open").lower() != state)))]
            issues = self._readable(wanted, self._from_rest_item)
            if issues:
                yield issues

    def _from_rest_item(self, item: dict[str, Any]) -> Issue:
        raw = raw_from_rest(item)
        events: list[Event] = []
        for items in self.connection.rest_pages(f"/repos/{self.owner}/{self.name}/issues/{raw.number}/timeline",
                                                {}, f"reading the timeline of #{raw.number}"):
            events += [e for e in (rest_event(i) for i in items if isinstance(i, dict)) if e is not None]
        raw.events = events
        return build_issue(raw, self.repo, self.prefix, self.identity)


def _more_history(node: Any) -> bool:
    """Whether GitHub said this issue's history goes on past the items its answer holds."""
    timeline = node.get("timelineItems") if isinstance(node, dict) else None
    page = timeline.get("pageInfo") if isinstance(timeline, dict) else None
    return isinstance(page, dict) and page.get("hasNextPage") is True


def _where(node: dict[str, Any]) -> tuple[Any, Any]:
    """An issue of a search answer: (its repository, its number)."""
    return (node.get("repository") or {}).get("nameWithOwner"), node.get("number")
