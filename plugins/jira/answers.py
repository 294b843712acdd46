"""Jira's answers checked before they are trusted: their shape, and paging that could loop or skip.

A broken server or proxy can answer a search with an empty body, `null`, an HTML page or the wrong types; it
can hand back the same `nextPageToken` (Cloud) forever, ignore `startAt` (Data Center) and send the first page
again, or promise more results than it sends. Each of these is one clear TrackerError naming the site and
what was being read; raised while reading, it stops the run before any further write (core/runner.py).
"""

from __future__ import annotations

import json
import json.scanner
import sys
import threading
from typing import Any

from steward.core.errors import TrackerError
from steward.plugins.transport import public_url

DEEP_JSON_LEVELS = 200_000  # nesting levels a deep answer may have (a hostile ADF body): beyond it, an error
_DEEP_STACK = 1 << 30  # bytes of (virtual) stack for the thread decoding it: the C decoder recurses per level


def _python_decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder()
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


def deep_json(content: bytes, site: str, what: str) -> Any:
    """An answer nested deeper than Python's recursion limit allows (a description of 1,000 nested quotes):
    decoded on a thread with a large stack and a raised limit, instead of ending the run in a RecursionError."""
    box: dict[str, Any] = {}

    def decode() -> None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(DEEP_JSON_LEVELS)
        try:
            box["value"] = json.loads(content)
        except RecursionError:
            # Python 3.12+ bounds the C decoder's recursion by a fixed limit of its own: the pure-Python scanner
            # recurses in Python frames, which the raised limit and this thread's stack allow.
            try:
                box["value"] = _python_decoder().decode(content.decode(json.detect_encoding(content)))
            except (RecursionError, ValueError) as error:
                box["error"] = error
        except ValueError as error:
            box["error"] = error
        finally:
            sys.setrecursionlimit(limit)

    size = threading.stack_size(_DEEP_STACK)
    try:
        worker = threading.Thread(target=decode, name="steward-deep-json")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(size)
    if "value" not in box:
        raise TrackerError(f"Jira at {public_url(site)} answered {what} with JSON nested too deeply to read "
                           f"(over {DEEP_JSON_LEVELS:,} levels)")
    return box["value"]


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    return "an object"


def answer(data: Any, site: str, what: str, items: str | None = None) -> dict[str, Any]:
    """`data` as a JSON object, holding a list under `items` when named; else one clear TrackerError."""
    if not isinstance(data, dict):
        raise TrackerError(f"Jira at {public_url(site)} answered {what} with {_kind(data)} instead of a JSON "
                           "object: is JIRA_URL the base URL of a Jira site, and no proxy in between?")
    if items is not None and not isinstance(data.get(items), list):
        raise TrackerError(f"Jira at {public_url(site)} answered {what} without a list of {items} "
                           f"({_kind(data.get(items))} instead): stopped, nothing of it was used")
    return data


def optional_int(data: dict[str, Any], name: str, site: str, what: str) -> int | None:
    """A count the answer may leave out (`total`); one of the wrong type is an error, not "unknown"."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TrackerError(f"Jira at {public_url(site)} answered {what} with {name} = {value!r}, not a count")
    return value


def optional_text(data: dict[str, Any], name: str, site: str, what: str) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TrackerError(f"Jira at {public_url(site)} answered {what} with {name} = {value!r}, not a text")
    return value


class Pages:
    """One paged read, guarded: each page token and each item may arrive once, and the count must add up.

    `limit` bounds the pages of one read, so that no answer, however odd, can keep Steward reading forever.
    """

    def __init__(self, site: str, what: str, items: str = "issues", limit: int = 100_000):
        self.site, self.what, self.items, self.limit = public_url(site), what, items, limit
        self.tokens: set[str] = set()
        self.seen: set[str] = set()
        self.pages = 0

    def _fail(self, problem: str) -> TrackerError:
        return TrackerError(f"Jira at {self.site} {problem} while {self.what}: its paging cannot be trusted, so "
                            "the run stopped before any further write")

    def page(self, ids: list[str]) -> set[str]:
        """A page arrived holding these item ids (issue ids or keys, comment ids); returns those not seen before.

        A page made only of items already sent is a server ignoring `startAt` (or repeating a page): an error.
        A page that only begins with one or two already sent is an offset that moved because an item was
        added meanwhile (someone created a matching issue while Steward paged): those are dropped, once."""
        self.pages += 1
        if self.pages > self.limit:
            raise self._fail(f"kept sending pages ({self.limit:,} of them)")
        repeated = [ident for ident in ids if ident in self.seen]
        if repeated and len(repeated) == len(ids):
            raise self._fail(f"sent {self.items} it had already sent ({', '.join(repeated[:3])}"
                             f"{', ...' if len(repeated) > 3 else ''}): it ignores startAt or repeats a page")
        fresh = set(ids) - self.seen
        self.seen.update(ids)
        return fresh

    def token(self, token: str) -> None:
        """The next page's token: a token handed out twice would read the same page forever."""
        if token in self.tokens:
            raise self._fail("sent the same nextPageToken twice")
        self.tokens.add(token)

    def ended(self, total: int | None, arrived: int) -> None:
        """The last page arrived: `total` (when the answer said one) must match what arrived."""
        if total is not None and arrived < total:
            raise self._fail(f"said {total:,} {self.items} match but sent {arrived:,}")

    def no_token(self) -> None:
        raise self._fail("said more pages follow (isLast false) but sent no nextPageToken")
