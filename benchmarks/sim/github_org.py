"""An organisation of several simulated GitHub repositories on one server, for `--tracker github:ORG`.

Each repository is a `GitHubSim` of its own (benchmarks/sim/github.py); requests that name a repository (REST
paths, GraphQL `repository(owner:, name:)`) go to it, and GitHub's search with `org:ORG` searches them all
(oldest first across repositories, at most 1,000 results, offset cursors, as for one repository).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from .github import GitHubSim, _query_list, _query_number
from .github_data import DOCS, WRITE_KINDS, request_json
from .github_search import SearchError, search_error, search_filters, search_page
from .server import Request, Response


class GitHubOrgSim:
    def __init__(self, org: str, repos: dict[str, GitHubSim]):
        self.org = org
        self.repos = repos
        self.searches: list[str] = []
        self._any = next(iter(repos.values()))

    def kind(self, request: Request) -> str:
        return self._any.kind(request)

    def is_write(self, request: Request) -> bool:
        return self.kind(request) in WRITE_KINDS

    def handle(self, request: Request) -> Response:
        if "authorization" not in request.headers:
            return Response(401, {"message": "Requires authentication", "documentation_url": DOCS})
        kind = self.kind(request)
        if kind == "graphql_search":
            return self._search(request_json(request) or {})
        if kind.startswith("graphql"):
            name = ((request_json(request) or {}).get("variables") or {}).get("name")
        else:
            parts = [unquote(p) for p in request.path.split("/repos/", 1)[-1].split("/")]
            name = parts[1] if "/repos/" in request.path and len(parts) > 1 else None
        return (self.repos.get(str(name)) or self._any).handle(request)

    def _search(self, payload: dict[str, Any]) -> Response:
        query, variables = str(payload.get("query", "")), payload.get("variables") or {}
        text = str(variables.get("q") or "")
        self.searches.append(text)
        try:
            wanted = search_filters(text, "org", self.org)
            found = [(issue, sim) for sim in self.repos.values() for issue in sim.matching(wanted)]
        except SearchError as error:
            return search_error(error)
        page_size = int(_query_number(query, r"timelineItems\(first:\s*(\d+)") or 100)
        return search_page(found, query, variables, page_size, set(_query_list(query, r"itemTypes:\s*\[([^\]]*)\]")))
