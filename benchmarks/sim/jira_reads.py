"""The Jira simulator's read endpoints: searches, bulk fetches, comment pages, transitions.
"""

from __future__ import annotations

from typing import Any

from .jira_model import (
    CLOUD_CHANGELOG_CAP,
    KEYS_PAGE_CAP,
    STATUSES,
    _csv,
    _decode_token,
    _encode_token,
    _errors,
    _field_set,
    _params,
)
from .server import Request, Response


class JiraReads:
    """A part of `JiraSim` (jira.py), which holds the state these methods read and change."""

    # ---------------------------------------------------------------- reads

    def _search(self, request: Request, version: str, rest: str, base: str) -> Response:
        enhanced = rest == "search/jql"
        if self.cloud and not enhanced:
            return _errors(410, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql "
                                "API. A full migration guideline is available at "
                                "https://developer.atlassian.com/changelog/#CHANGE-2046")
        if not self.cloud and enhanced:
            return _errors(404, "null for uri: /rest/api/2/search/jql")
        params = _params(request)
        jql = params.get("jql", "")
        if jql not in self._searches:
            query = self.jql(jql)
            unknown = [key for key in query.named_keys if key.upper() not in self.issues]
            if unknown and not enhanced and params.get("validateQuery", "true").lower() != "false":
                return _errors(400, f"An issue with key '{unknown[0]}' does not exist for field 'key'.")
            keys = query.only_keys()
            if keys is not None:  # `key in (...)` alone: looked up, as Jira's index does, not a scan of every issue
                found = {key.upper() for key in keys} & self.issues.keys()
                self._searches[jql] = sorted(found, key=lambda k: self.issues[k].n)  # the order issues were made
            else:
                self._searches[jql] = [k for k in self._order if query.matches(self.issues[k])]
        hits = self._searches[jql]
        fields = _field_set(params.get("fields", "id" if enhanced else "*navigable"))
        keys_only = fields is not None and fields <= {"id", "key"}
        cap = KEYS_PAGE_CAP[self.flavor] if keys_only else self.page_cap
        size = max(1, min(int(params.get("maxResults") or 50), cap))
        if enhanced:
            token = params.get("nextPageToken")
            start = _decode_token(token) if token else 0
        else:
            start = int(params.get("startAt") or 0)
        keys = hits[start:start + size]
        expand = "changelog" in params.get("expand", "")
        # Data Center's classic search has no `properties` parameter (JRASERVER-62898): it is ignored there.
        properties = _csv(params.get("properties", "")) if enhanced else []
        if keys_only:  # ids only on Cloud ("`id` Returns only issue IDs"); Data Center always adds key and self
            issues = [{"id": self.issues[k].id} if enhanced else
                      {"id": self.issues[k].id, "self": f"{base}/rest/api/2/issue/{self.issues[k].id}", "key": k}
                      for k in keys]
            self.served_keys += len(issues)
        else:
            issues = self._served(keys, base, version, fields, expand, properties)
        if enhanced:
            body: dict[str, Any] = {"issues": issues, "isLast": start + size >= len(hits)}
            if not body["isLast"]:
                body["nextPageToken"] = _encode_token(start + size)
            return Response(200, body)
        return Response(200, {"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(hits),
                              "issues": issues})

    def _served(self, keys: list[str], base: str, version: str, fields: set[str] | None, expand: bool,
                properties: list[str]) -> list[dict[str, Any]]:
        """Whole issues as a search or a bulk read answers them, counted for the read floor."""
        cap = CLOUD_CHANGELOG_CAP if self.cloud else None
        issues = [self.render(k, base, version, fields, cap, expand, properties) for k in keys]
        self.served += len(issues)
        self.served_truncated += sum(1 for i in issues if len(i.get("changelog", {}).get("histories", ()))
                                     < i.get("changelog", {}).get("total", 0))
        self.served_comments_cut += sum(1 for k in keys if self.inline_comments is not None
                                        and len(self.full(k).comments) > self.inline_comments)
        return issues

    def _issue_bulkfetch(self, request: Request, base: str) -> Response:
        """Cloud's bulk issue read: up to 100 ids or keys; unknown ones are left out; ascending id order."""
        body = request.json() or {}
        wanted = body.get("issueIdsOrKeys")
        if not isinstance(wanted, list) or not 1 <= len(wanted) <= 100:
            return _errors(400, "You can request between 1 and 100 issues.")
        by_id = {issue.id: key for key, issue in self.issues.items()}
        keys = {str(k).upper() if str(k).upper() in self.issues else by_id.get(str(k)) for k in wanted} - {None}
        keys = sorted(keys, key=lambda k: int(self.issues[k].id))
        fields = _field_set(",".join(body.get("fields") or ["*navigable"]))
        issues = self._served(keys, base, "3", fields, "changelog" in (body.get("expand") or []),
                              list(body.get("properties") or []))
        return Response(200, {"issues": issues, "issueErrors": []})

    def _bulkfetch(self, request: Request, base: str) -> Response:
        body = request.json() or {}
        wanted = body.get("issueIdsOrKeys") or []
        field_ids = body.get("fieldIds") or []
        size = int(body.get("maxResults") or 1000)
        if not 1 <= len(wanted) <= 1000 or len(field_ids) > 10 or not 1 <= size <= 10000:
            return _errors(400, "issueIdsOrKeys must hold 1 to 1000 issues, fieldIds at most 10, "
                                "maxResults 1 to 10000.")
        by_id = {issue.id: key for key, issue in self.issues.items()}
        entries = []
        for ident in wanted:
            key = ident if ident in self.issues else by_id.get(str(ident))
            if key is None:
                continue
            issue = self.full(key)
            for history in issue.histories:
                items = [i for i in history["items"] if not field_ids or i.get("fieldId", i["field"]) in field_ids]
                if items:
                    entries.append((history["created"], int(issue.id), issue.id, {**history, "items": items}))
        entries.sort(key=lambda e: (e[0], e[1]))
        start = _decode_token(body["nextPageToken"]) if body.get("nextPageToken") else 0
        page: dict[str, list[dict[str, Any]]] = {}
        for _, _, issue_id, history in entries[start:start + size]:
            page.setdefault(issue_id, []).append(self._history(history, base, "3", epoch=True))
        answer: dict[str, Any] = {"issueChangeLogs": [{"issueId": i, "changeHistories": h} for i, h in page.items()]}
        if start + size < len(entries):
            answer["nextPageToken"] = _encode_token(start + size)
        return Response(200, answer)

    def _comments(self, key: str, request: Request, base: str, version: str) -> Response:
        params = _params(request)
        issue = self.full(key)
        start = int(params.get("startAt") or 0)
        size = max(1, min(int(params.get("maxResults") or 100), self.comment_page_cap))
        page = issue.comments[start:start + size]
        return Response(200, {"comments": [self._comment(issue, c, base, version) for c in page],
                              "maxResults": size, "total": len(issue.comments), "startAt": start})

    def _transitions(self, key: str, base: str, version: str) -> Response:
        current = self.issues[key].status
        options = [{"id": f"{n + 11}", "name": f"Move to {name}", "to": self._status(name, base, version),
                    "hasScreen": False, "isGlobal": True, "isInitial": False, "isAvailable": True,
                    "isConditional": False} for n, name in enumerate(STATUSES) if name != current]
        return Response(200, {"transitions": options})
