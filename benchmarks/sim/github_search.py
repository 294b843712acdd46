"""The GitHub simulator's issue search and issue links: `search(type: ISSUE)` with the qualifiers Steward
sends, and each issue's `parent` and `subIssues` where a query asks for them.

Search follows GitHub's documented behaviour: qualifiers in the query string, results paged by an opaque
cursor that is an offset (so results that change between pages shift), and at most 1,000 results per search
("Perform a search across resources, returning a maximum of 1,000 results", the schema's own description).
A qualifier the simulator does not know is a GraphQL error, so a test sees what Steward sent.
"""

from __future__ import annotations

import shlex
from typing import Any

from .github_data import SimIssue, cursor, parse_stamp, uncursor
from .server import Response

SEARCH_LIMIT = 1000


class SearchError(ValueError):
    pass


def _matches(issue: SimIssue, name: str, value: str) -> bool:
    if name == "is":
        return value == "issue" or issue.state == value
    if name == "label":
        return value.casefold() in {label.casefold() for label in issue.labels}
    if name == "milestone":
        return issue.milestone is not None and issue.milestone[0].casefold() == value.casefold()
    if name == "assignee":
        return value.casefold() in {login.casefold() for login in issue.assignees}
    if name == "type":
        return (issue.issue_type or "").casefold() == value.casefold()
    if name == "no":
        return not {"assignee": issue.assignees, "label": issue.labels, "milestone": issue.milestone}[value]
    if name in ("created", "updated"):
        when = issue.created if name == "created" else issue.updated
        return when >= parse_stamp(value.removeprefix(">="))
    raise SearchError(f"qualifier {name}:{value}")


def search_filters(text: str, scope: str, value: str) -> list[tuple[str, str]]:
    """The qualifiers of a search string besides its scope (`repo:` or `org:`, which must be `value`) and its
    sort (which must be oldest first)."""
    filters = [tuple(w.split(":", 1)) for w in shlex.split(text)]
    if any(len(f) != 2 for f in filters):
        raise SearchError(f"free text in {text!r}")
    if ("sort", "created-asc") not in filters:
        raise SearchError("a sort other than sort:created-asc")
    scopes = [(n, v) for n, v in filters if n in ("repo", "org", "user")]
    if scopes != [(scope, value)]:
        raise SearchError(f"in {scopes}")
    return [(n, v) for n, v in filters if n not in ("repo", "org", "user", "sort")]  # type: ignore[misc]


def search_error(error: SearchError) -> Response:
    return Response(200, {"errors": [{"message": f"Simulated GitHub does not search {error}",
                                      "locations": [{"line": 2, "column": 3}], "path": ["search"]}]})


def search_page(found: list[tuple[SimIssue, Any]], query: str, variables: dict[str, Any], page_size: int,
                types: set[str]) -> Response:
    """One page of search results: `found` holds (issue, the simulator of its repository); ordered oldest
    first, at most 1,000, paged by an offset cursor, as GitHub does."""
    found = sorted(found, key=lambda f: (f[0].created, f[1].name, f[0].number))[:SEARCH_LIMIT]
    offset = int(uncursor(variables.get("cursor")) or 0)
    first = int(variables.get("first") or 0)
    chunk = found[offset:offset + first]
    nodes = [{"__typename": "Issue", **sim._node(issue, query, page_size, types),
              "repository": {"nameWithOwner": f"{sim.owner}/{sim.name}"}} for issue, sim in chunk]
    return Response(200, {"data": {"search": {
        "pageInfo": {"hasNextPage": offset + first < len(found),
                     "endCursor": cursor(offset + len(chunk)) if chunk else None},
        "nodes": nodes}}})


class SearchAndLinks:
    """Mixed into GitHubSim: needs `owner`, `name`, `numbers()`, `issue()`, `changed` and `_node()`."""

    searches: list[str]  # every search string received, in order (tests read what Steward pushed down)

    def _search(self, query: str, variables: dict[str, Any], page_size: int, types: set[str]) -> Response:
        text = str(variables.get("q") or "")
        self.searches = [*getattr(self, "searches", []), text]
        try:
            wanted = search_filters(text, "repo", f"{self.owner}/{self.name}")  # type: ignore[attr-defined]
            found = [(i, self) for i in self.matching(wanted)]
        except SearchError as error:
            return search_error(error)
        return search_page(found, query, variables, page_size, types)

    def matching(self, wanted: list[tuple[str, str]]) -> list[SimIssue]:
        """The issues of this repository that match every qualifier (SearchError for one it does not know)."""
        issues = (self.issue(n) for n in self.numbers())  # type: ignore[attr-defined]
        return [i for i in issues if all(_matches(i, n, v) for n, v in wanted)]

    def _links(self, issue: SimIssue, query: str) -> dict[str, Any]:
        """`parent` and `subIssues`, when the query selects them."""
        if "subIssues(" not in query:
            return {}
        children = [c for c in self.changed.values() if c.parent == issue.number]  # type: ignore[attr-defined]
        parent = self.issue(issue.parent) if issue.parent else None  # type: ignore[attr-defined]
        return {"parent": self._related(parent) if parent else None,
                "subIssues": {"totalCount": len(children),
                              "nodes": [self._related(c) for c in sorted(children, key=lambda c: c.number)]}}

    def _related(self, issue: SimIssue) -> dict[str, Any]:
        return {"number": issue.number, "state": issue.state.upper(),
                "repository": {"nameWithOwner": f"{self.owner}/{self.name}"},  # type: ignore[attr-defined]
                "assignees": {"nodes": [{"login": login} for login in issue.assignees[:1]]}}
