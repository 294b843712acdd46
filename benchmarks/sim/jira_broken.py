"""A Jira simulator whose answers are broken the ways servers and proxies break them: paging that repeats or
skips, and reads answered 200 with something that is not Jira's JSON.

`BrokenJira(sim, mode)` wraps a `JiraSim` as a `server.App`; requests of other kinds pass through untouched.
Paging modes (issue 13, part 3):
- `repeat_token` (Cloud): every search answer after the first hands back the first `nextPageToken` again;
- `ignore_start` (Data Center): `startAt` is ignored by searches and comment reads (the first page again);
- `short_total` (Data Center): searches say five more issues match than they ever send;
- `repeat_changelog_token` (Cloud): the bulk changelog hands back its first `nextPageToken` forever.
Every paging mode gives up after `limit` answers (`isLast`, an empty page), so a client that does not check
ends its run instead of looping, and a test shows what it wrote.
Body modes (part 5), for the request kind `target` (default the search): `empty` (no body), `null`, `html`
(a login page), `issues_text` (`"issues": "none"`), `issue_text` (an entry that is a string), `total_text`
(`"total": "many"`), `list` (a JSON list instead of an object). `after` lets that many such requests through
first, so a run can have written before the broken answer arrives.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .jira import JiraSim
from .jira_model import _encode_token
from .server import Request, Response

PAGING = ("repeat_token", "ignore_start", "short_total", "repeat_changelog_token")
BODIES = ("empty", "null", "html", "issues_text", "issue_text", "total_text", "list")
HTML = b"<!DOCTYPE html><html><head><title>Log in - Jira</title></head><body>Log in</body></html>"


class BrokenJira:
    def __init__(self, sim: JiraSim, mode: str, *, page: int | None = None, limit: int = 30,
                 target: str = "search", after: int = 0):
        if mode not in PAGING + BODIES:
            raise ValueError(f"unknown mode {mode!r}")
        self.sim, self.mode, self.page, self.limit, self.target, self.after = sim, mode, page, limit, target, after
        self.answered = 0  # answers of the broken kind so far
        self.first_token: str | None = None

    def kind(self, request: Request) -> str:
        return self.sim.kind(request)

    def is_write(self, request: Request) -> bool:
        return self.sim.is_write(request)

    def handle(self, request: Request) -> Response:
        kind = self.sim.kind(request)
        if self.mode in BODIES:
            if kind != self.target:
                return self.sim.handle(request)
            self.answered += 1
            response = self.sim.handle(request)
            return response if self.answered <= self.after or response.status != 200 else self._body(response)
        if kind == "search" and self.page is not None:
            request = _with(request, maxResults=str(min(int(request.param("maxResults") or 50), self.page)))
        if self.mode == "ignore_start" and kind in ("search", "comment_read"):
            request = _with(request, startAt="0")
        response = self.sim.handle(request)
        if response.status != 200 or not isinstance(response.body, dict):
            return response
        wanted = "bulkfetch" if self.mode == "repeat_changelog_token" else "search"
        if kind not in (wanted, "comment_read") or (kind == "comment_read" and self.mode != "ignore_start"):
            return response
        self.answered += 1
        body = dict(response.body)
        if self.answered > self.limit:  # give up, so that a client without checks ends instead of looping
            return Response(200, _last(body, kind))
        if self.mode == "repeat_changelog_token":  # a token that names the first page: the same page forever
            body["nextPageToken"] = _encode_token(0)
        elif self.mode == "repeat_token" and body.get("nextPageToken"):
            self.first_token = self.first_token or body["nextPageToken"]
            body["nextPageToken"] = self.first_token
        elif self.mode == "short_total" and isinstance(body.get("total"), int):
            body["total"] += 5
        return Response(200, body, response.headers)

    def _body(self, response: Response) -> Response:
        body = response.body if isinstance(response.body, dict) else {}
        if self.mode == "empty":
            return Response(200, None, {"Content-Type": "application/json"})
        if self.mode == "null":
            return Response(200, b"null", {"Content-Type": "application/json"})
        if self.mode == "html":
            return Response(200, HTML, {"Content-Type": "text/html;charset=UTF-8"})
        if self.mode == "list":
            return Response(200, [body])
        if self.mode == "issues_text":
            return Response(200, {**body, "issues": "none"})
        if self.mode == "issue_text":
            return Response(200, {**body, "issues": ["OPS-1", *(body.get("issues") or [])]})
        return Response(200, {**body, "total": "many"})  # total_text


def _with(request: Request, **params: str) -> Request:
    return replace(request, query={**request.query, **{k: [v] for k, v in params.items()}})


def _last(body: dict[str, Any], kind: str) -> dict[str, Any]:
    """An answer that ends the paging: no token, and (on a search) the last page."""
    body = {k: v for k, v in body.items() if k != "nextPageToken"}
    if kind == "search" and "isLast" in body:
        body["isLast"] = True
    if "total" in body and kind == "search":
        body["issues"], body["total"] = [], body.get("startAt", 0)
    if kind == "comment_read":
        body["comments"] = []
    return body
