"""The GraphQL sweep: pages of issues that are checked, and that shrink instead of failing the run.

A page GitHub cannot answer in time (502, a timeout, or a 200 whose `errors` say "timeout" or "something went
wrong": a page of 100 issues with long timelines is heavy) is asked again at half the size, down to one issue;
after each page that does arrive the size grows back, but not past a size that failed until the sweep has
stepped past an issue it skipped or read a few pages in a row (a 502 costs every retry of the shared policy).
An issue GitHub cannot answer for even alone is named in a warning and skipped (a light query of numbers only
steps past it), the rest of the sweep goes on, and the run says it was partial (exit 3). Paging itself is
never trusted (paging.py); an answer of the wrong shape is an error (answers.py).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from steward.core.errors import TrackerError
from steward.core.model import Issue
from steward.core.readahead import Later
from steward.core.timeutil import format_time
from steward.plugins.transport import Exhausted

from .answers import malformed, mapping
from .paging import Pages, check_total
from .queries import sweep_numbers_query, sweep_query
from .transport import GitHubError

if TYPE_CHECKING:
    from .read import GitHubReader

log = logging.getLogger("steward.github")

PAGE_FLOOR = 1  # issues: below this a page is not shrunk further, its issues are skipped
CALM_PAGES = 4  # pages read in a row after a failure before pages may grow back to full size
_OVERLOADED = ("timeout", "timed out", "something went wrong", "try again", "loading")


def overloaded(error: TrackerError) -> bool:
    """Whether a failed read may succeed when asked for less: GitHub kept failing (5xx) or did not answer in
    time, or its GraphQL errors say the query took too long. Not for a refused token or a wrong query."""
    if isinstance(error, Exhausted):
        return error.failure.status is not None or "Timeout" in error.failure.detail
    if isinstance(error, GitHubError):
        if error.status >= 500:
            return True
        errors = error.data.get("errors")
        text = " ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict)) \
            if isinstance(errors, list) else ""
        return any(word in text.lower() for word in _OVERLOADED)
    return False


def _reason(error: TrackerError) -> str:
    text = str(error)
    return text if len(text) <= 160 else text[:157] + "..."


def sweep_graphql(reader: GitHubReader, state: str, since: datetime | None) -> Iterator[Later[list[Issue]]]:
    skipped: list[str] = []  # issues stepped past since the last page: recorded when the next page is taken
    failed: TrackerError | None = None
    try:
        yield from _sweep(reader, state, since, skipped)
    except TrackerError as error:
        failed = error
    if skipped:  # the last ones, recorded before an error reaches the run, as a sequential run recorded them
        yield reader._handed([], skipped)
    if failed is not None:
        raise failed


def _sweep(reader: GitHubReader, state: str, since: datetime | None,
           skipped: list[str]) -> Iterator[Later[list[Issue]]]:
    states = {"open": ["OPEN"], "closed": ["CLOSED"], "all": ["OPEN", "CLOSED"]}[state]
    full = size = limit = reader.connection.page_size  # `limit`: below the smallest size that failed here
    arrived = 0  # pages in a row since the last failure
    pages = Pages(reader.repo, "reading issues")
    cursor = None
    total = None  # as GitHub states it on the first page: compared with what arrived at the end
    while True:
        variables = {"owner": reader.owner, "name": reader.name, "first": size, "cursor": cursor,
                     "states": states, "since": format_time(since) if since else None}
        try:
            data = reader._graphql_with_type(functools.partial(sweep_query, extra=reader.extra), variables,
                                             "reading issues")
        except TrackerError as error:
            if not overloaded(error):
                raise
            if size > PAGE_FLOOR:
                smaller = limit = max(PAGE_FLOOR, size // 2)
                arrived = 0
                log.warning("GitHub could not answer a page of %d issues of %s (%s); asking for %d at a time",
                            size, reader.repo, _reason(error), smaller)
                size = smaller
                continue
            cursor = _skip(reader, variables, pages, error, skipped)
            if cursor is None:
                return
            limit = full  # past the issue GitHub could not answer for: pages may grow to full size again
            continue
        connection = _issues(data, reader.repo)
        nodes = connection.get("nodes")
        if not isinstance(nodes, list):
            raise malformed("reading issues", {"nodes": nodes})
        page = mapping(connection.get("pageInfo"), "reading issues", connection)
        if total is None:
            total = connection.get("totalCount")
        cursor = pages.next(page.get("endCursor"), page.get("hasNextPage") is True, len(nodes))
        pages.arrived([n["number"] for n in nodes if isinstance(n, dict) and isinstance(n.get("number"), int)])
        # Converted on the thread that takes the page, while this one already asks for the next (readahead.py).
        yield reader._handed(nodes, skipped)
        skipped.clear()
        if cursor is None:
            check_total(reader.repo, f"the sweep of {state} issues", total, len(pages.items))
            return
        arrived += 1
        if arrived >= CALM_PAGES:
            limit = full
        size = min(limit, size * 2)


def _issues(data: dict[str, Any], repo: str) -> dict[str, Any]:
    repository = data.get("repository")
    if repository is None:
        raise TrackerError(f"repository {repo} not found, or the token cannot see it")
    repository = mapping(repository, "reading issues", data)
    return mapping(repository.get("issues"), "reading issues", data)


def _skip(reader: GitHubReader, variables: dict[str, Any], pages: Pages, error: TrackerError,
          skipped: list[str]) -> str | None:
    """Step past issues GitHub cannot answer for: their numbers (a light query) are named in a warning and
    added to `skipped`. Returns the cursor after them, or None at the end. If even the numbers cannot be
    read, the sweep cannot go on and `error` is raised."""
    try:
        data = reader.connection.graphql(sweep_numbers_query(), variables, "reading the numbers of issues")
        connection = _issues(data, reader.repo)
    except TrackerError:
        raise error from None
    nodes = connection.get("nodes") if isinstance(connection.get("nodes"), list) else []
    page = connection.get("pageInfo") if isinstance(connection.get("pageInfo"), dict) else {}
    numbers = [n["number"] for n in nodes if isinstance(n, dict) and isinstance(n.get("number"), int)]
    cursor = pages.next(page.get("endCursor"), page.get("hasNextPage") is True, len(nodes))
    pages.arrived(numbers)
    keys = [f"#{n}" for n in numbers]
    if keys:
        log.warning("%s: skipped: GitHub could not answer for %s even alone (%s); the rest of the sweep goes on",
                    ", ".join(keys), "it" if len(keys) == 1 else "them", _reason(error))
        skipped += keys
    return cursor
