"""The GitHub simulator's REST side: the reads and writes Steward sends over REST, shaped like GitHub's answers.

A mixin of `GitHubSim` (benchmarks/sim/github.py), which holds the state it reads and changes: `issue`,
`_mutable`, `tick`, `clock`, `repo_labels`, `collaborators`, `deleted` and the sweep order `_ordered`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from .github_data import (
    DOCS,
    REST_EVENT_NAMES,
    SIM_NOW,
    USERS,
    VIEWER,
    Event,
    SimIssue,
    issue_type,
    not_found,
    parse_stamp,
    reactions,
    request_json,
    rest_user,
    stamp,
)
from .server import Request, Response


class GitHubRest:
    """REST reads and writes of `GitHubSim`: each `_rest_KIND(request, parts)` answers one request kind."""

    # -- reads

    def _base(self) -> str:
        return f"https://api.github.com/repos/{self.owner}/{self.name}"

    def _label(self, name: str) -> dict[str, Any]:
        label = self.repo_labels.get(name) or {"id": 9000 + len(name), "name": name, "color": "ededed",
                                               "description": None, "default": False}
        return {"id": label["id"], "node_id": base64.b64encode(f"05:Label{label['id']}".encode()).decode(),
                "url": f"{self._base()}/labels/{quote(name, safe='')}", "name": name,
                "description": label["description"], "color": label["color"], "default": label["default"]}

    def rest_issue(self, issue: SimIssue) -> dict[str, Any]:
        url = f"{self._base()}/issues/{issue.number}"
        milestone = None
        if issue.milestone:
            title, due = issue.milestone
            milestone = {"url": f"{self._base()}/milestones/1", "html_url": f"https://github.com/{self.owner}/"
                         f"{self.name}/milestone/1", "labels_url": f"{self._base()}/milestones/1/labels", "id": 1,
                         "node_id": "MDk6TWlsZXN0b25lMQ==", "number": 1, "state": "open", "title": title,
                         "description": None, "creator": rest_user(USERS[0]), "open_issues": 1, "closed_issues": 0,
                         "created_at": stamp(SIM_NOW - timedelta(days=200)),
                         "updated_at": stamp(SIM_NOW - timedelta(days=200)), "closed_at": None,
                         "due_on": stamp(due)}
        assignees = [rest_user(a) for a in issue.assignees]
        item = {
            "id": issue.number * 17, "node_id": base64.b64encode(f"05:Issue{issue.number}".encode()).decode(),
            "url": url, "repository_url": self._base(), "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments", "events_url": f"{url}/events",
            "html_url": f"https://github.com/{self.owner}/{self.name}/issues/{issue.number}",
            "number": issue.number, "state": issue.state, "title": issue.title, "body": issue.body,
            "user": rest_user(issue.author), "labels": [self._label(n) for n in issue.labels],
            "assignee": assignees[0] if assignees else None, "assignees": assignees, "milestone": milestone,
            "locked": False, "active_lock_reason": None,
            "comments": sum(1 for e in issue.events if e.kind == "comment"),
            "closed_at": stamp(issue.closed_at), "created_at": stamp(issue.created),
            "updated_at": stamp(issue.updated), "closed_by": rest_user(issue.author) if issue.closed_at else None,
            "author_association": "MEMBER",
            # Fields GitHub added after the 2022 vendor example the shape test compares with:
            "state_reason": issue.state_reason, "timeline_url": f"{url}/timeline",
            "type": issue_type(issue.issue_type) if issue.issue_type else None,
            "performed_via_github_app": None,
        }
        item.update(issue.extra)
        return item

    def rest_comment(self, issue: SimIssue, event: Event) -> dict[str, Any]:
        base = self._base()
        return {"id": event.id, "node_id": base64.b64encode(f"012:IssueComment{event.id}".encode()).decode(),
                "url": f"{base}/issues/comments/{event.id}",
                "html_url": f"https://github.com/{self.owner}/{self.name}/issues/{issue.number}#issuecomment-"
                            f"{event.id}",
                "body": event.body, "user": rest_user(event.actor), "created_at": stamp(event.at),
                "updated_at": stamp(event.edited or event.at), "issue_url": f"{base}/issues/{issue.number}",
                "author_association": "MEMBER"}

    def rest_event(self, issue: SimIssue, event: Event) -> dict[str, Any]:
        """A timeline item (and, without the comment fields, an issue event) in REST shape."""
        name = REST_EVENT_NAMES.get(event.kind, event.kind)
        if event.kind == "comment":
            comment = self.rest_comment(issue, event)
            return {**comment, "reactions": reactions(comment), "performed_via_github_app": None, "event": name,
                    "actor": rest_user(event.actor)}
        item: dict[str, Any] = {
            "id": event.id, "node_id": base64.b64encode(f"014:IssueEvent{event.id}".encode()).decode(),
            "url": f"{self._base()}/issues/events/{event.id}", "actor": rest_user(event.actor), "event": name,
            "commit_id": None, "commit_url": None, "created_at": stamp(event.at), "performed_via_github_app": None}
        if event.kind in ("labeled", "unlabeled"):
            item["label"] = {"name": event.label, "color": self._label(event.label or "")["color"]}
        elif event.kind in ("assigned", "unassigned"):
            item.update(assignee=rest_user(event.assignee), assigner=rest_user(event.actor))
        elif event.kind == "renamed":
            item["rename"] = {"from": event.previous, "to": event.current}
        elif event.kind == "closed":
            item["state_reason"] = event.state_reason
        return item

    def _page(self, request: Request, items: list[Any], render: Callable[[Any], Any] | None = None) -> Response:
        """One page of a REST list (`render` builds only that page's objects), with GitHub's `Link` header."""
        per_page = min(int(request.param("per_page") or 30), 100)
        page = max(int(request.param("page") or 1), 1)
        chunk = items[(page - 1) * per_page:page * per_page]
        headers = {}
        last = max((len(items) + per_page - 1) // per_page, 1)
        if page < last:
            host = request.headers.get("host", "api.github.com")
            params = {k: v[0] for k, v in request.query.items()}
            links = []
            for rel, target in (("next", page + 1), ("last", last)):
                query = urlencode({**params, "per_page": per_page, "page": target})
                links.append(f'<http://{host}{request.path}?{query}>; rel="{rel}"')
            headers["Link"] = ", ".join(links)
        return Response(200, [render(x) for x in chunk] if render else chunk, headers)

    def _rest_issues(self, request: Request, parts: list[str]) -> Response:
        state = request.param("state", "open")
        states = {"open": {"OPEN"}, "closed": {"CLOSED"}, "all": {"OPEN", "CLOSED"}}.get(state or "", {"OPEN"})
        since = parse_stamp(request.param("since")) if request.param("since") else None
        order = {"updated": "UPDATED_AT", "comments": "CREATED_AT"}.get(request.param("sort") or "", "CREATED_AT")
        numbers = self._ordered(order, states, since)
        wanted = [name for name in (request.param("labels") or "").split(",") if name]
        if wanted:  # issues carrying every one of these labels
            numbers = [n for n in numbers if set(wanted) <= set(self.labels(n))]
        if request.param("direction", "desc") == "desc":
            numbers.reverse()
        return self._page(request, numbers, lambda n: self.rest_issue(self.issue(n)))

    def _existing(self, parts: list[str]) -> SimIssue | None:
        return self.issue(int(parts[4])) if parts[4].isdigit() else None

    def _rest_issue(self, request: Request, parts: list[str]) -> Response:
        issue = self._existing(parts)
        return Response(200, self.rest_issue(issue)) if issue else not_found()

    def _rest_comments(self, request: Request, parts: list[str]) -> Response:
        issue = self._existing(parts)
        if issue is None:
            return not_found()
        since = parse_stamp(request.param("since")) if request.param("since") else None
        items = [self.rest_comment(issue, e) for e in issue.events
                 if e.kind == "comment" and e.raw is None and not (since and (e.edited or e.at) < since)]
        return self._page(request, items)

    def _rest_timeline(self, request: Request, parts: list[str]) -> Response:
        issue = self._existing(parts)
        if issue is None:
            return not_found()
        return self._page(request, [self.rest_event(issue, e) for e in issue.events if e.raw is None])

    def _rest_events(self, request: Request, parts: list[str]) -> Response:
        issue = self._existing(parts)
        if issue is None:
            return not_found()
        items = [self.rest_event(issue, e) for e in issue.events if e.kind != "comment" and e.raw is None]
        return self._page(request, items)

    def _rest_labels(self, request: Request, parts: list[str]) -> Response:
        return self._page(request, [self._label(name) for name in self.repo_labels])

    # -- writes

    def _rest_label_create(self, request: Request, parts: list[str]) -> Response:
        body = request_json(request) or {}
        name = str(body.get("name") or "")
        if name in self.repo_labels:
            return Response(422, {"message": "Validation Failed", "errors": [
                {"resource": "Label", "code": "already_exists", "field": "name"}], "documentation_url": DOCS})
        self.repo_labels[name] = {"id": 2000 + len(self.repo_labels), "name": name,
                                  "color": body.get("color") or "ededed", "description": body.get("description"),
                                  "default": False}
        return Response(201, self._label(name))

    def _rest_comment_create(self, request: Request, parts: list[str]) -> Response:
        issue = self._mutable(int(parts[4])) if parts[4].isdigit() else None
        if issue is None:
            return not_found()
        event = issue.event("comment", VIEWER, self.tick(), body=str((request_json(request) or {}).get("body") or ""))
        issue.updated = self.clock
        return Response(201, self.rest_comment(issue, event))

    def _rest_label_add(self, request: Request, parts: list[str]) -> Response:
        issue = self._mutable(int(parts[4])) if parts[4].isdigit() else None
        if issue is None:
            return not_found()
        for name in (request_json(request) or {}).get("labels") or []:
            if name not in self.repo_labels:  # GitHub creates a label it does not know
                self.repo_labels[name] = {"id": 2000 + len(self.repo_labels), "name": name, "color": "ededed",
                                          "description": None, "default": False}
            if name not in issue.labels:
                issue.labels.append(name)
                issue.event("labeled", VIEWER, self.tick(), label=name)
                issue.updated = self.clock
        return Response(200, [self._label(n) for n in issue.labels])

    def _rest_label_remove(self, request: Request, parts: list[str]) -> Response:
        issue = self._mutable(int(parts[4])) if parts[4].isdigit() else None
        if issue is None or len(parts) < 7:
            return not_found()
        name = parts[6]
        if name not in issue.labels:
            return Response(404, {"message": "Label does not exist", "documentation_url": DOCS})
        issue.labels.remove(name)
        issue.event("unlabeled", VIEWER, self.tick(), label=name)
        issue.updated = self.clock
        return Response(200, [self._label(n) for n in issue.labels])

    def _rest_assign(self, request: Request, parts: list[str]) -> Response:
        issue = self._mutable(int(parts[4])) if parts[4].isdigit() else None
        if issue is None or request.method != "POST":
            return not_found()
        for login in (request_json(request) or {}).get("assignees") or []:
            # GitHub: "Only users with push access can add assignees to an issue. Assignees are silently
            # ignored otherwise." The answer is still 201 with the issue, without them.
            if login not in issue.assignees and login in self.collaborators:
                issue.assignees.append(login)
                issue.event("assigned", VIEWER, self.tick(), assignee=login)
                issue.updated = self.clock
        return Response(201, self.rest_issue(issue))

    def _comment_event(self, parts: list[str]) -> tuple[SimIssue | None, Event | None]:
        """The issue and comment a `/issues/comments/{id}` path names (the issue's number is in the id)."""
        ident = int(parts[5]) if parts[5].isdigit() else 0
        issue = self._mutable(ident // 1_000_000) if ident else None
        event = next((e for e in issue.events if e.id == ident and e.kind == "comment"), None) if issue else None
        return issue, event

    def _rest_comment_edit(self, request: Request, parts: list[str]) -> Response:
        issue, event = self._comment_event(parts)
        body = (request_json(request) or {}).get("body")
        if issue is None or event is None:
            return not_found()
        if not isinstance(body, str):
            return Response(422, {"message": "Invalid request.", "documentation_url": DOCS})
        event.body, event.edited = body, self.tick()
        issue.updated = self.clock
        return Response(200, self.rest_comment(issue, event))

    def _rest_comment_delete(self, request: Request, parts: list[str]) -> Response:
        issue, event = self._comment_event(parts)
        if issue is None or event is None:
            return not_found()
        issue.events.remove(event)
        self.deleted.append((issue.number, event))
        issue.updated = self.tick()
        return Response(204)

    def _rest_issue_create(self, request: Request, parts: list[str]) -> Response:
        """A new issue by Steward's login (the digest of a review period), with its labels (created if new)."""
        body = request_json(request) or {}
        if not body.get("title"):
            return Response(422, {"message": "Validation Failed", "errors": [
                {"resource": "Issue", "code": "missing_field", "field": "title"}], "documentation_url": DOCS})
        at = self.tick()
        issue = SimIssue(number=max(self.numbers(), default=0) + 1, title=str(body["title"]),
                         body=str(body.get("body") or ""), created=at, updated=at, author=VIEWER)
        for name in body.get("labels") or []:
            if name not in self.repo_labels:  # GitHub creates a label it does not know
                self.repo_labels[name] = {"id": 2000 + len(self.repo_labels), "name": name, "color": "ededed",
                                          "description": None, "default": False}
            issue.labels.append(str(name))
        self.add(issue)
        return Response(201, self.rest_issue(issue))

    def _rest_issue_update(self, request: Request, parts: list[str]) -> Response:
        issue = self._mutable(int(parts[4])) if parts[4].isdigit() else None
        if issue is None or request.method != "PATCH":
            return not_found()
        body = request_json(request) or {}
        if isinstance(body.get("title"), str) and body["title"] != issue.title:  # GitHub records a rename
            issue.event("renamed", VIEWER, self.tick(), previous=issue.title, current=body["title"])
            issue.title, issue.updated = body["title"], self.clock
        if isinstance(body.get("body"), str) and body["body"] != issue.body:
            issue.body, issue.updated = body["body"], self.tick()
        state = body.get("state")
        if state in ("open", "closed") and state != issue.state:
            issue.state = state
            issue.state_reason = body.get("state_reason") or ("completed" if state == "closed" else "reopened")
            issue.closed_at = self.tick() if state == "closed" else None
            issue.event("closed" if state == "closed" else "reopened", VIEWER, self.clock,
                        state_reason=issue.state_reason if state == "closed" else None)
            issue.updated = self.clock
        return Response(200, self.rest_issue(issue))

