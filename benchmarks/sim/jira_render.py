"""How the Jira simulator renders an issue, its users, comments and history as each API version does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .jira_model import (
    CATEGORIES,
    PRIORITIES,
    PROJECT,
    STATUSES,
    TYPES,
    SimIssue,
    account_id,
    jira_time,
)


class JiraRendering:
    """A part of `JiraSim` (jira.py), which holds the state these methods read and change."""

    # ---------------------------------------------------------------- rendering

    def _user(self, name: str | None, base: str, version: str) -> dict[str, Any] | None:
        if not name:
            return None
        if self.cloud:
            uid = account_id(name)
            return {"self": f"{base}/rest/api/{version}/user?accountId={uid}", "accountId": uid,
                    "displayName": name.replace(".", " ").title(), "active": True, "accountType": "atlassian"}
        return {"self": f"{base}/rest/api/2/user?username={name}", "name": name,
                "displayName": name.replace(".", " ").title(), "active": True}

    @staticmethod
    def _text(text: str | None, version: str) -> Any:
        """v3 answers Atlassian Document Format; v2 the text itself."""
        if text is None or version == "2":
            return text
        paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
                      for line in text.split("\n")]
        return {"type": "doc", "version": 1, "content": paragraphs}

    def _comment(self, issue: SimIssue, comment: dict[str, Any], base: str, version: str) -> dict[str, Any]:
        author = self._user(comment["author"], base, version)
        return {"self": f"{base}/rest/api/{version}/issue/{issue.id}/comment/{comment['id']}",
                "id": comment["id"], "author": author, "body": self._text(comment["body"], version),
                "updateAuthor": author, "created": jira_time(comment["created"]),
                "updated": jira_time(comment["created"])}

    def _history(self, history: dict[str, Any], base: str, version: str, epoch: bool = False) -> dict[str, Any]:
        created = history["created"]
        return {"id": history["id"], "author": self._user(history["author"], base, version),
                "created": int(created.timestamp()) if epoch else jira_time(created), "items": history["items"]}

    def _status(self, name: str, base: str, version: str) -> dict[str, Any]:
        status_id, category = STATUSES.get(name, ("0", "new"))
        cat_id, cat_name, color = CATEGORIES[category]
        return {"self": f"{base}/rest/api/{version}/status/{status_id}", "description": "", "name": name,
                "id": status_id, "statusCategory": {"self": f"{base}/rest/api/{version}/statuscategory/{cat_id}",
                                                    "id": cat_id, "key": category, "colorName": color,
                                                    "name": cat_name}}

    def render(self, key: str, base: str, version: str, fields: set[str] | None, changelog_cap: int | None,
               expand_changelog: bool, properties: Iterable[str] = ()) -> dict[str, Any]:
        issue = self.full(key)
        inline = issue.comments if self.inline_comments is None else issue.comments[:self.inline_comments]
        all_fields = {
            "summary": issue.summary,
            "description": self._text(issue.description, version),
            "issuetype": {"self": f"{base}/rest/api/{version}/issuetype/{TYPES[issue.type]}",
                          "id": TYPES[issue.type], "description": "", "name": issue.type, "subtask": False},
            "status": self._status(issue.status, base, version),
            "priority": {"self": f"{base}/rest/api/{version}/priority/{PRIORITIES[issue.priority]}",
                         "name": issue.priority, "id": PRIORITIES[issue.priority]} if issue.priority else None,
            "labels": list(issue.labels),
            "assignee": self._user(issue.assignee, base, version),
            "reporter": self._user(issue.reporter, base, version),
            "created": jira_time(issue.created),
            "updated": jira_time(issue.updated),
            "duedate": issue.due.isoformat() if issue.due else None,
            "comment": {"comments": [self._comment(issue, c, base, version) for c in inline],
                        "maxResults": len(inline),
                        "total": len(issue.comments), "startAt": 0},
            "project": {"self": f"{base}/rest/api/{version}/project/{PROJECT[1]}", "id": PROJECT[1],
                        "key": PROJECT[0], "name": PROJECT[2]},
        }
        if self.cloud:  # what Cloud adds to the Data Center shapes
            all_fields["comment"]["self"] = f"{base}/rest/api/{version}/issue/{issue.id}/comment"
            all_fields["project"].update(projectTypeKey="software", simplified=False)
        all_fields.update(issue.override)
        raw: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue.id, "self": f"{base}/rest/api/{version}/issue/{issue.id}", "key": issue.key,
            "fields": {k: v for k, v in all_fields.items() if fields is None or k in fields},
        }
        if expand_changelog:
            histories = issue.histories
            if changelog_cap is not None and len(histories) > changelog_cap:
                histories = histories[-changelog_cap:]
            shown = [self._history(h, base, version) for h in histories]
            if self.cloud:
                shown.reverse()  # Cloud lists the newest first, Data Center the oldest
            raw["changelog"] = {"startAt": 0, "maxResults": len(shown), "total": len(issue.histories),
                                "histories": shown}
        wanted = list(properties)
        if wanted:
            raw["properties"] = {k: issue.properties[k] for k in wanted if k in issue.properties}
        raw.update(issue.extra)
        return raw
