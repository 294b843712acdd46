"""Paging that does not trust the server: every cursor and `Link: rel=next` may come once.

A server that hands back a cursor or a link already followed, an issue already read, or a promise of more
with nothing in the page, would make a sweep loop forever and write to the same issues again and again. Each
is a `PagingError` naming GitHub and the repository, raised before the page is handed on, so the run stops
before any further write (exit 2 when nothing was written, 3 when some was).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from steward.core.errors import TrackerError

log = logging.getLogger("steward.github")

MAX_PAGES = 100_000  # of one listing: ten million items, beyond any real repository or timeline


class PagingError(TrackerError):
    """GitHub's paging went round in circles or promised what it did not send."""


class Pages:
    """The cursors (or links) one paged read has followed, and the items it has seen."""

    def __init__(self, repo: str, what: str):
        self.repo = repo
        self.what = what
        self.followed: set[str] = set()
        self.items: set[Any] = set()
        self.pages = 0

    def _fail(self, problem: str) -> PagingError:
        return PagingError(f"GitHub ({self.repo}) {problem} while {self.what}; stopped here so that nothing is "
                           f"read or written twice")

    def start(self, first: str) -> None:
        """The first request's own cursor or link: a later page pointing back to it is a loop too."""
        self.followed.add(first)

    def arrived(self, keys: list[Any]) -> None:
        """A page's items (issue numbers, item ids): one seen before means the server is repeating itself."""
        self.pages += 1
        repeated = [key for key in keys if key in self.items]
        if repeated:
            raise self._fail(f"sent {_named(repeated[0])} a second time")
        self.items.update(keys)
        if self.pages > MAX_PAGES:
            raise self._fail(f"kept sending pages past {MAX_PAGES:,}")

    def next(self, token: str | None, has_next: bool, count: int) -> str | None:
        """The cursor or link to follow after a page of `count` items, or None at the end."""
        if not has_next:
            return None
        if not token:
            raise self._fail("said there is another page but gave no cursor for it")
        if token in self.followed:
            raise self._fail(f"pointed to a page already read ({_short(token)})")
        if count == 0:
            raise self._fail("sent an empty page that promised more")
        self.followed.add(token)
        return token


def link_key(url: str, parameters: dict[str, Any] | None = None) -> str:
    """A link as a comparable text: path and sorted query, without scheme and host (GHES may rewrite them)."""
    parts = urlsplit(url)
    query = sorted(parse_qsl(parts.query, keep_blank_values=True)) + sorted(
        (str(k), str(v)) for k, v in (parameters or {}).items())
    return f"{parts.path.rstrip('/')}?{urlencode(sorted(query))}"


def _named(key: Any) -> str:
    return f"#{key}" if isinstance(key, int) else f"item {key}"


def _short(token: str) -> str:
    return token if len(token) <= 60 else token[:57] + "..."


def check_total(repo: str, what: str, said: Any, arrived: int) -> None:
    """A total GitHub stated that disagrees with what arrived is reported: a warning naming the read."""
    if isinstance(said, int) and not isinstance(said, bool) and said != arrived:
        log.warning("GitHub (%s) said %s has %d items but sent %d", repo, what, said, arrived)
