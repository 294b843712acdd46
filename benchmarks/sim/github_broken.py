"""A GitHub that misbehaves the ways real servers and proxies do, for the tests that prove Steward notices.

`BrokenGitHub` is the simulator (benchmarks/sim/github.py) with fault modes, each off by default:

- `paging`: `repeat_cursor` (the sweep ignores `after` and sends the first page, with its cursor, again),
  `self_link` (a REST listing's second page links to itself as `rel="next"`), `endless_timeline` (an issue's
  timeline never ends: fresh cursors, items again from the start), `timeline_total` (`totalCount` says three
  more items than there are), `sweep_total` (the sweep's `totalCount` says five more issues than match).
- `malformed`: a script of (request kind, shape) consumed in order, as `Faults.script` is: `empty` (200 with
  no body), `data_null` (`{"data": null}`), `html` (a proxy's HTML page), `wrong_type` (JSON of the wrong
  shape: `repository.issues` a string, a REST list an object), `ok` (answered as usual: the next entry
  breaks a later request).
- `overloaded`: issue numbers GitHub cannot answer for in a sweep page: any page holding one of them fails
  (`fail_with`: `502`, `timeout` a 200 whose `errors` say the query timed out, `went_wrong` GitHub's
  "Something went wrong while executing your query"). The light query of numbers (`nodes { number }`) is
  answered, as GitHub answers it.
"""

from __future__ import annotations

import json
from typing import Any

from .github import GitHubSim
from .github_data import cursor, request_json, uncursor
from .server import Request, Response

HTML = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>Bad Gateway</h1><p>The proxy could not reach the upstream server.</p></body></html>")


class BrokenGitHub(GitHubSim):
    def __init__(self, *args: Any, paging: str | None = None, malformed: list[tuple[str, str]] | None = None,
                 overloaded: set[int] | None = None, fail_with: str = "502", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.paging = paging
        self.malformed = list(malformed or [])
        self.overloaded = set(overloaded or ())
        self.fail_with = fail_with
        self.sweep_sizes: list[int] = []  # `first` of every full sweep page asked for, in order
        self.received: list[tuple[str, Any]] = []  # (kind, JSON body) of every write request, in order

    def handle(self, request: Request) -> Response:
        kind = self.kind(request)
        if self.is_write(request):
            self.received.append((kind, request_json(request)))
        for index, (wanted, shape) in enumerate(self.malformed):
            if wanted in (kind, "*"):
                del self.malformed[index]
                if shape != "ok":  # `ok`: this one is answered as usual, the script goes on with the next
                    return _malformed(shape, kind)
                break
        if kind == "graphql_sweep":
            payload = request_json(request) or {}
            query, variables = str(payload.get("query", "")), payload.get("variables") or {}
            if "nodes { number }" not in query:
                self.sweep_sizes.append(int(variables.get("first") or 0))
                failing = self._overloaded_page(query, variables)
                if failing:
                    return failing
            if self.paging == "repeat_cursor" and variables.get("cursor"):
                payload = {**payload, "variables": {**variables, "cursor": None}}
                request = Request(request.method, request.path, request.query, request.headers,
                                  _encode(payload))
        response = super().handle(request)
        if self.paging == "sweep_total" and kind == "graphql_sweep" and isinstance(response.body, dict):
            issues = ((response.body.get("data") or {}).get("repository") or {}).get("issues") or {}
            if "totalCount" in issues:
                issues["totalCount"] += 5
        if self.paging == "self_link" and kind in ("rest_issues", "rest_timeline") and \
                int(request.param("page") or 1) >= 2 and response.status == 200:
            host = request.headers.get("host", "api.github.com")
            query = "&".join(f"{k}={v[0]}" for k, v in request.query.items())
            response.headers["Link"] = f'<http://{host}{request.path}?{query}>; rel="next"'
        return response

    def _overloaded_page(self, query: str, variables: dict[str, Any]) -> Response | None:
        if not self.overloaded:
            return None
        first = int(variables.get("first") or 0)
        states = set(variables.get("states") or ["OPEN", "CLOSED"])
        numbers = self._ordered("CREATED_AT", states, None, uncursor(variables.get("cursor")), first)
        if not self.overloaded & set(numbers):
            return None
        if self.fail_with == "502":
            return Response(502, HTML, {"Content-Type": "text/html"})
        message = {"timeout": "Timeout on validation of query",
                   "went_wrong": "Something went wrong while executing your query. This may be the result of a "
                                 "timeout, or it could be a GitHub bug."}[self.fail_with]
        return Response(200, {"data": None, "errors": [{"message": message}]})

    def _timeline(self, issue: Any, offset: int, page_size: int, types: set[str]) -> dict[str, Any]:
        timeline = super()._timeline(issue, offset, page_size, types)
        total = timeline["totalCount"]
        if self.paging == "timeline_total":
            timeline["totalCount"] = total + 3
        if self.paging == "endless_timeline" and total > page_size:
            start = offset % total
            again = super()._timeline(issue, start, page_size, types)
            timeline = {**again, "totalCount": total,
                        "pageInfo": {"hasNextPage": True, "endCursor": cursor(offset + page_size)}}
        return timeline


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def _malformed(shape: str, kind: str) -> Response:
    if shape == "empty":
        return Response(200, b"")
    if shape == "html":
        return Response(200, HTML, {"Content-Type": "text/html"})
    if shape == "data_null":
        return Response(200, {"data": None})
    if shape == "wrong_type":
        if kind.startswith("graphql"):
            return Response(200, {"data": {"repository": {"issues": "many", "issue": ["not", "an", "issue"]}}})
        return Response(200, {"items": "not a list"} if kind in ("rest_issues", "rest_timeline") else ["x"])
    raise ValueError(f"unknown malformed shape {shape!r}")
