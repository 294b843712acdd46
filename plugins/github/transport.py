"""GitHub over HTTP: PyGithub's requester, the shared retry policy, write pacing and GitHub's own wording.

Content writes are paced for GitHub's secondary limit (about 80 a minute, 500 an hour). 403/429 answers that
carry `retry-after` or `x-ratelimit-reset`, or say "rate limit", are waited out; without a time GitHub asks
for at least a minute.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import requests
from github import Auth, Github, GithubException, UnknownObjectException

from steward.core.errors import TrackerError
from steward.plugins import transport as shared
from steward.plugins.transport import Failure, RetryPolicy, Transport

from .answers import MalformedAnswer, graphql_data, malformed, text_body
from .paging import Pages, link_key

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_TIMEOUT = 15.0  # seconds per HTTP request (PyGithub's default); STEWARD_HTTP_TIMEOUT changes it
PAGE_SIZE = 100
WRITES_PER_MINUTE = 80
WRITES_PER_HOUR = 500
RATE_LIMIT_FLOOR = 60.0  # GitHub: without a time in the answer, wait at least a minute

# Time sources, replaceable as a whole by tests (which never really sleep).
CLOCK: Callable[[], float] = time.monotonic
SLEEP: Callable[[float], None] = time.sleep
WALL_CLOCK: Callable[[], float] = time.time


class Pacer(shared.Pacer):
    """Content writes paced for GitHub's secondary limits (plugins/transport.py), with this module's time
    sources. `per_minute=0` turns pacing off: GitHub Enterprise Server has no secondary limits unless an admin
    sets them, and a simulator has none.
    """

    def __init__(self, clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None,
                 per_minute: int = WRITES_PER_MINUTE, per_hour: int = WRITES_PER_HOUR, burst: int = shared.BURST):
        super().__init__(clock or CLOCK, sleep or SLEEP, per_minute, per_hour, burst)


class GitHubError(TrackerError):
    """A refused request, with GitHub's status and answer kept for the adapter's own decisions."""

    def __init__(self, message: str, status: int, data: Any):
        super().__init__(message)
        self.status = status
        self.data = data if isinstance(data, dict) else {}


def _rate_limited(error: GithubException) -> bool:
    headers = {k.lower(): v for k, v in (error.headers or {}).items()}
    data = error.data if isinstance(error.data, dict) else {}
    message = str(data.get("message", "")).lower()
    errors = data.get("errors")
    graphql_limited = isinstance(errors, list) and any(
        isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors)
    return error.status == 429 or graphql_limited or (error.status == 403 and (
        "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message))


def _is_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def next_link(link: str | None) -> str | None:
    for part in (link or "").split(","):
        match = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
        if match:
            return match.group(1)
    return None


class GitHubConnection:
    """Where GitHub is, and one request at a time: REST reads, idempotent writes, GraphQL, comment POSTs."""

    def __init__(self, repo: str, token: str, url: str | None, *, timeout: float = DEFAULT_TIMEOUT,
                 pacer: Pacer | None = None, page_size: int = PAGE_SIZE):
        self.repo = repo
        self.base_url = (url or DEFAULT_API_URL).rstrip("/")
        # No PyGithub retries or sleeps: the shared policy retries, with an injectable sleeper.
        # PyGithub takes whole seconds: a fractional timeout is rounded up.
        self.github = Github(auth=Auth.Token(token), base_url=self.base_url, retry=None, per_page=100,
                             seconds_between_requests=None, seconds_between_writes=None,
                             timeout=max(1, math.ceil(timeout)))
        self.requester = self.github.requester
        self.pacer = pacer or Pacer()
        self.page_size = page_size
        policy = RetryPolicy(rate_limit_floor=RATE_LIMIT_FLOOR, sleep=self.pacer.wait,
                             clock=WALL_CLOCK)
        self.transport = Transport("GitHub", self.base_url, self._explain, policy, before_write=self.pacer.before_write)
        self.requests: Counter = Counter({"graphql": 0, "rest_read": 0, "write": 0})

    def _exchange(self, kind: str, send: Callable[[], Any]) -> Any:
        self.requests[kind] += 1
        try:
            return send()
        except GithubException as error:
            raise Failure(error.status, f"GitHub answered {error.status}", error.headers,
                          rate_limited=_rate_limited(error), data=error.data) from None
        except requests.exceptions.RequestException as error:
            raise Failure(None, type(error).__name__) from None
        except (ValueError, TypeError, AttributeError) as error:
            # PyGithub reading a body that is not what it expects: broken JSON (ValueError), an empty body
            # where a GraphQL answer belongs (TypeError on `"errors" in None`).
            raise MalformedAnswer(f"GitHub answered with a body Steward cannot read ({type(error).__name__}); "
                                  f"check GITHUB_API_URL and any proxy in between, then run again") from None

    def _explain(self, failure: Failure, what: str) -> TrackerError:
        data = failure.data if isinstance(failure.data, dict) else {}
        message = data.get("message")
        if not message and isinstance(data.get("errors"), list):  # GraphQL errors
            message = "; ".join(str(e.get("message", e)) for e in data["errors"] if isinstance(e, dict))
        hint = {401: "the token is invalid or expired: check GITHUB_TOKEN",
                403: "the token lacks permission: the workflow needs `permissions: {issues: write}` "
                     "(read-only for plan)",
                404: f"{self.repo} or the issue was not found, or the token cannot see it",
                410: "issues are disabled in this repository"}.get(failure.status or 0, "")
        text = " ".join(p for p in (f"GitHub answered {failure.status} to {what}:", message or "", hint) if p)
        return GitHubError(text, failure.status or 0, data)

    def rest(self, verb: str, path: str, *, parameters: dict[str, Any] | None = None, body: Any = None,
             what: str) -> tuple[dict[str, Any], Any]:
        """A REST read, or an idempotent write (labels, assignees, state): both are safe to send again after a
        5xx or a lost connection, so an uncertain write is simply sent again. Comments go through `comment`."""
        write = verb != "GET"

        def send() -> tuple[dict[str, Any], Any]:
            return self._exchange("write" if write else "rest_read", lambda: self.requester.requestJsonAndCheck(
                verb, path, parameters=parameters, input=body))

        if write:
            result = self.transport.write_once(send, what, landed=None, idempotent=True)
            assert result is not None
            return result
        headers, data = self.transport.call(send, what)
        if not isinstance(data, (dict, list)) or text_body(data):
            raise malformed(what, data)
        return headers, data

    def graphql(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        """The `data` object of a GraphQL answer; anything else (empty, `data: null`, HTML) is MalformedAnswer."""
        _, answer = self.transport.call(lambda: self._exchange("graphql", lambda: self._graphql(query, variables)),
                                        what)
        return graphql_data(answer, what)

    def _graphql(self, query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """PyGithub's `graphql_query`, except that an answer that is not a JSON object (an empty body, an HTML
        page) is handed back for `graphql_data` to name instead of failing inside PyGithub."""
        headers, answer = self.requester.requestJsonAndCheck(
            "POST", self.requester.graphql_url, input={"query": query, "variables": variables})
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors:
            if isinstance(errors, list) and len(errors) == 1 and isinstance(errors[0], dict) \
                    and errors[0].get("type") == "NOT_FOUND":
                raise UnknownObjectException(404, answer, headers, errors[0].get("message"))
            raise self.requester.createException(400, headers, answer)
        return headers, answer

    def mutate(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        """A GraphQL mutation that sets a value (a project field): the same again is harmless, so an uncertain
        one is simply sent again; paced and counted as a write."""
        result = self.transport.write_once(
            lambda: self._exchange("write", lambda: self.requester.graphql_query(query, variables)), what,
            landed=None, idempotent=True)
        assert result is not None
        return result[1]["data"]

    def comment(self, path: str, body: str, what: str, landed: Callable[[], bool] | None) -> Any:
        """POST a comment exactly once: after a 5xx or a lost answer it is only sent again once `landed()`
        says it is not there. Returns GitHub's answer (the comment), or None when it had landed unanswered."""
        return self.post_once(path, {"body": body}, what, landed)

    def post_once(self, path: str, body: dict[str, Any], what: str, landed: Callable[[], bool] | None) -> Any:
        """POST something that must exist once (a comment, an issue): see `comment`."""
        result = self.transport.write_once(
            lambda: self._exchange("write", lambda: self.requester.requestJsonAndCheck("POST", path, input=body)),
            what, landed=landed)
        return None if result is None else result[1]

    def rest_pages(self, path: str, parameters: dict[str, Any], what: str) -> Iterator[list[Any]]:
        """The pages of a REST listing, following `Link: rel=next`; a link already followed, or an item
        (by its id) already sent, is a PagingError raised before the page is handed on."""
        url: str | None = path
        params: dict[str, Any] | None = dict(parameters, per_page=self.page_size)
        pages = Pages(self.repo, what)
        pages.start(link_key(self.base_url + path, params))
        while url:
            headers, items = self.rest("GET", url, parameters=params, what=what)
            if not isinstance(items, list):
                raise malformed(what, items)
            pages.arrived([item["id"] for item in items if isinstance(item, dict) and _is_id(item.get("id"))])
            link = next_link((headers or {}).get("link"))
            url = pages.next(link and link_key(link), link is not None, len(items)) and link
            params = None
            yield items

    def close(self) -> None:
        self.github.close()
