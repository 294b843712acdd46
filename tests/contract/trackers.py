"""The contracts of the trackers Steward talks to, for `SimServer(contract=...)` and for cassette checks.

Each contract finds the vendor's described operation for a request (by method and path at the HTTP boundary,
so it does not care how the adapters are organised) and checks the request against it, and the simulator's
answer against the operation's answer schema. It counts what it checked per operation (`seen`), so a test
can tell that an operation was exercised at all.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from sim.jira import CLOUD
from sim.server import Request, Response, Violation

from . import github_graphql
from .openapi import Description

HERE = Path(__file__).parent
GRAPHQL = "POST /graphql"


# Where Atlassian's Cloud OpenAPI contradicts Atlassian's own examples in the same document, the examples win
# (they are what the API sends). Evidence, in jira/cloud.openapi.json's source (swagger-v3.v3.json):
# - changelog items carry `"from": null, "to": null` (Atlassian's example of the bulk changelog answer), and
#   real Cloud answers also null `fromString`/`toString` (the Cloud crawl apache/incubator-devlake recorded has
#   26), yet ChangeDetails types all four as plain strings;
# - POST /rest/api/3/changelog/bulkfetch's example answers `"created": 1492070429` (epoch seconds), yet
#   Changelog.created is a date-time string; search answers keep the string form, so both are allowed;
# - BulkChangelogResponseBean.nextPageToken: its own description says "this token will be null" on the last page;
# - real Cloud changelogs carry `tmpFromAccountId`/`tmpToAccountId` on assignee items (the devlake Cloud crawl
#   the Jira cassettes are made from), which ChangeDetails (additionalProperties: false) does not list.
CLOUD_CORRECTIONS = {
    "/components/schemas/ChangeDetails/properties/from": {"nullable": True},
    "/components/schemas/ChangeDetails/properties/to": {"nullable": True},
    "/components/schemas/ChangeDetails/properties/fromString": {"nullable": True},
    "/components/schemas/ChangeDetails/properties/toString": {"nullable": True},
    "/components/schemas/Changelog/properties/created": {"type": ["string", "integer"]},
    "/components/schemas/BulkChangelogResponseBean/properties/nextPageToken": {"nullable": True},
    "/components/schemas/ChangeDetails/properties": {"tmpFromAccountId": {"type": "string", "nullable": True},
                                                     "tmpToAccountId": {"type": "string", "nullable": True}},
}


@cache
def description(name: str) -> Description:
    """The vendored descriptions, loaded once: jira-cloud, jira-datacenter, github-rest."""
    if name == "jira-cloud":
        return Description(HERE / "jira" / "cloud.openapi.json", corrections=CLOUD_CORRECTIONS)
    if name == "jira-datacenter":
        return Description(HERE / "jira" / "datacenter.openapi.json", nullable_everywhere=True)
    return Description(HERE / "github" / "rest.openapi.json")


def decoded(body: bytes | str | None) -> Any:
    if body in (None, b"", ""):
        return None
    try:
        return json.loads(body)  # type: ignore[arg-type]
    except ValueError:
        return body


class _RestContract:
    """Shared by both trackers: look the operation up, check, count."""

    def __init__(self) -> None:
        self.seen: Counter = Counter()

    def locate(self, method: str, path: str) -> tuple[Description, str] | None:
        """The description and the path to look up in it, or None if this request is not a REST call."""
        raise NotImplementedError

    def check_request(self, request: Request) -> list[Violation]:
        return self.check(request.method, request.path, request.query, request.body)

    def check(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None, *,
              check_body: bool = True) -> list[Violation]:
        found = self.locate(method, path)
        if found is None:
            return []
        spec, described_path = found
        match = spec.operation(method, described_path)
        if match is None:
            self.seen[f"{method} {path}"] += 1
            return [Violation(f"{method} {path}", "request", f"no such operation in {spec.path.name}")]
        operation, params = match
        self.seen[operation.name] += 1
        return [Violation(operation.name, "request", m)
                for m in spec.check_request(operation, params, query, body, check_body=check_body)]

    def check_response(self, request: Request, response: Response) -> list[Violation]:
        body = response.body if not isinstance(response.body, bytes) else decoded(response.body)
        return self.check_answer(request.method, request.path, response.status, body)

    def check_answer(self, method: str, path: str, status: int, body: Any) -> list[Violation]:
        found = self.locate(method, path)
        if found is None:
            return []
        spec, described_path = found
        match = spec.operation(method, described_path)
        if match is None:
            return []  # reported with the request
        operation, _ = match
        return [Violation(operation.name, "response", m) for m in spec.check_response(operation, status, body)]


class JiraContract(_RestContract):
    """Jira Cloud against Atlassian's Cloud OpenAPI (v3; Cloud's v2 operations are the same ones, with plain
    text where v3 has ADF); Data Center against the Data Center description (REST v2)."""

    def __init__(self, flavor: str):
        super().__init__()
        self.flavor = flavor

    def locate(self, method: str, path: str) -> tuple[Description, str] | None:
        match = re.fullmatch(r"(?:/[^/]+)*?/rest/api/(2|3)/(.+)", path)
        if match is None:
            return None
        if self.flavor == CLOUD:
            return description("jira-cloud"), f"/rest/api/3/{match[2]}"
        return description("jira-datacenter"), f"/rest/api/{match[1]}/{match[2]}"


class GitHubContract(_RestContract):
    """GitHub REST against GitHub's REST description; POST /graphql against GitHub's GraphQL schema."""

    def locate(self, method: str, path: str) -> tuple[Description, str] | None:
        return description("github-rest"), _strip_prefix(path)

    def check(self, method: str, path: str, query: dict[str, list[str]], body: bytes | None, *,
              check_body: bool = True) -> list[Violation]:
        if _strip_prefix(path) != "/graphql":
            return super().check(method, path, query, body, check_body=check_body)
        self.seen[GRAPHQL] += 1
        if method != "POST" or query:
            return [Violation(GRAPHQL, "request", f"GitHub's GraphQL endpoint takes a POST without query "
                                                  f"parameters, not {method} with {sorted(query)}")]
        return [Violation(GRAPHQL, "request", m) for m in github_graphql.check_request(decoded(body))]

    def check_answer_to(self, payload: Any, status: int, body: Any) -> list[Violation]:
        if status != 200:
            return []
        return [Violation(GRAPHQL, "response", m) for m in github_graphql.check_response(payload, body)]

    def check_response(self, request: Request, response: Response) -> list[Violation]:
        if _strip_prefix(request.path) != "/graphql":
            return super().check_response(request, response)
        body = response.body if not isinstance(response.body, bytes) else decoded(response.body)
        return self.check_answer_to(decoded(request.body), response.status, body)


def _strip_prefix(path: str) -> str:
    """GitHub Enterprise Server serves REST under /api/v3 and GraphQL at /api/graphql."""
    for prefix in ("/api/v3", "/api"):
        if path.startswith(prefix + "/"):
            return path[len(prefix):]
    return path
