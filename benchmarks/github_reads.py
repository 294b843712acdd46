"""Requests per 1000 GitHub issues: GraphQL sweep reads beside REST reads (one timeline per issue), same run.

    python benchmarks/github_reads.py [--issues 1000] [--long-share 0.02] [--pulls 0.2]

How requests are counted: the real `GitHubTracker` (plugins/github.py) runs above an in-process fake of
PyGithub's `Requester` (`graphql_query`, `requestJsonAndCheck`) that serves a synthetic repository and counts
every call. No network, no cassettes: the counts are those of the adapter's read logic, not of GitHub's speed.
The repository has `--issues` issues (plus `--pulls` as many pull requests, which the REST issue list returns and
GraphQL's `repository.issues` does not); each issue has 6 timeline items, except a `--long-share` of them with
150 (more than one page of 100).
"""

from __future__ import annotations

import argparse
import math
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

from steward.plugins import github as gh

BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)


def stamp(minutes: int) -> str:
    return (BASE + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeRepository:
    """Serves GraphQL and REST reads for a synthetic repository and counts the requests."""

    def __init__(self, issues: int, long_share: float, pulls: float):
        self.numbers = list(range(1, issues + 1))
        every = round(1 / long_share) if long_share > 0 else 0
        self.length = {n: (150 if every and n % every == 0 else 6) for n in self.numbers}
        self.pulls = [issues + 1 + i for i in range(int(issues * pulls))]
        self.calls = {"graphql": 0, "rest": 0}

    def _items(self, number: int) -> list[tuple[str, int]]:
        kinds = ["labeled", "commented", "assigned", "unlabeled", "commented", "renamed"]
        return [(kinds[i % len(kinds)], i) for i in range(self.length[number])]

    # GraphQL -----------------------------------------------------------------------------------------
    def _gql_item(self, kind: str, i: int) -> dict:
        at, actor = stamp(i), {"login": "alice"}
        return {"labeled": {"__typename": "LabeledEvent", "actor": actor, "createdAt": at, "label": {"name": "bug"}},
                "unlabeled": {"__typename": "UnlabeledEvent", "actor": actor, "createdAt": at,
                              "label": {"name": "bug"}},
                "assigned": {"__typename": "AssignedEvent", "actor": actor, "createdAt": at,
                             "assignee": {"__typename": "User", "login": "bob"}},
                "renamed": {"__typename": "RenamedTitleEvent", "actor": actor, "createdAt": at,
                            "previousTitle": "a", "currentTitle": "b"},
                "commented": {"__typename": "IssueComment", "author": actor, "createdAt": at, "body": "ok"}}[kind]

    def _timeline(self, number: int, offset: int) -> dict:
        items = self._items(number)
        page = items[offset:offset + 100]
        return {"totalCount": len(items), "pageInfo": {"hasNextPage": offset + 100 < len(items),
                                                       "endCursor": str(offset + 100)},
                "nodes": [self._gql_item(*item) for item in page]}

    def _node(self, number: int) -> dict:
        return {"number": number, "url": f"https://github.com/o/r/issues/{number}", "title": f"Issue {number}",
                "body": "", "state": "OPEN", "stateReason": None, "createdAt": stamp(0), "updatedAt": stamp(1),
                "closedAt": None, "author": {"login": "alice"}, "issueType": None, "milestone": None,
                "labels": {"nodes": [{"name": "bug"}]}, "assignees": {"nodes": []},
                "timelineItems": self._timeline(number, 0)}

    def graphql_query(self, query: str, variables: dict):
        self.calls["graphql"] += 1
        if "issues(first" in query:
            start = int(variables.get("cursor") or 0)
            chunk = self.numbers[start:start + variables["first"]]
            more = start + len(chunk) < len(self.numbers)
            return {}, {"data": {"repository": {"issues": {
                "pageInfo": {"hasNextPage": more, "endCursor": str(start + len(chunk))},
                "nodes": [self._node(n) for n in chunk]}}}}
        number = variables["number"]
        if "cursor" in variables:
            timeline = self._timeline(number, int(variables["cursor"]))
            return {}, {"data": {"repository": {"issue": {"timelineItems": timeline}}}}
        return {}, {"data": {"repository": {"issue": self._node(number)}}}

    # REST --------------------------------------------------------------------------------------------
    def _rest_issue(self, number: int) -> dict:
        item = {"number": number, "html_url": f"https://github.com/o/r/issues/{number}", "title": f"#{number}",
                "body": "", "state": "open", "created_at": stamp(0), "updated_at": stamp(1),
                "user": {"login": "alice"}, "labels": [{"name": "bug"}], "assignees": []}
        if number in self.pulls:
            item["pull_request"] = {"url": f"https://api.github.com/repos/o/r/pulls/{number}"}
        return item

    def _rest_item(self, kind: str, i: int) -> dict:
        item = {"event": kind, "actor": {"login": "alice"}, "created_at": stamp(i)}
        if kind in ("labeled", "unlabeled"):
            item["label"] = {"name": "bug"}
        elif kind == "assigned":
            item["assignee"] = {"login": "bob"}
        elif kind == "renamed":
            item["rename"] = {"from": "a", "to": "b"}
        else:
            item.update(user={"login": "alice"}, body="ok")
        return item

    def requestJsonAndCheck(self, verb, url, parameters=None, headers=None, input=None):  # noqa: N802
        self.calls["rest"] += 1
        parsed = urlparse(url)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        query.update(parameters or {})
        page = int(query.get("page", 1))
        path = parsed.path
        if path.endswith("/timeline"):
            number = int(path.split("/")[-2])
            items = [self._rest_item(*x) for x in self._items(number)]
        else:
            items = [self._rest_issue(n) for n in sorted(self.numbers + self.pulls)]
        chunk = items[(page - 1) * 100:page * 100]
        link = f'<https://api.github.com{path}?per_page=100&page={page + 1}>; rel="next"' \
            if page * 100 < len(items) else ""
        return {"link": link} if link else {}, chunk


def measure(issues: int, long_share: float, pulls: float, reads: str) -> tuple[int, int]:
    repo = FakeRepository(issues, long_share, pulls)
    tracker = gh.GitHubTracker("o/r", "not-a-token", reads=reads, sleep=lambda s: None)
    tracker.requester = repo
    seen = sum(len(page) for page in tracker.fetch("state:all", None))
    return seen, repo.calls["graphql"] + repo.calls["rest"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--long-share", type=float, default=0.02)
    parser.add_argument("--pulls", type=float, default=0.2)
    args = parser.parse_args()
    print(f"{args.issues} issues (+{int(args.issues * args.pulls)} pull requests); requests counted on an "
          f"in-process fake of PyGithub's Requester")
    print(f"{'timelines > 100 items':<24}{'GraphQL reads':>15}{'REST reads':>12}{'per 1000: GraphQL':>20}"
          f"{'REST':>8}")
    for share in sorted({0.0, args.long_share}):
        row = []
        for reads in ("graphql", "rest"):
            seen, requests = measure(args.issues, share, args.pulls, reads)
            assert seen == args.issues, (reads, seen)
            row.append(requests)
        per = [round(r * 1000 / args.issues, 1) for r in row]
        print(f"{f'{share:.0%} of issues':<24}{row[0]:>15}{row[1]:>12}{per[0]:>20}{per[1]:>8}")
    print(f"floor: ceil(N/100) = {math.ceil(args.issues / 100)} GraphQL requests when no timeline exceeds 100 items")


if __name__ == "__main__":
    main()
