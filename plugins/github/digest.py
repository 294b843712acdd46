"""The digest of a review period as one GitHub issue (`steward digest --post`).

The issue is titled with the period, labelled `steward-digest`, and its body ends with a hidden marker naming
the period and the channels it was sent to. A rerun in the same period finds it again (the issues carrying the
label, newest first) only when the marker is there and the issue's author is Steward itself (the ledger's
identity), so nobody can make Steward edit their issue by copying the marker; it is then updated, never
opened a second time. Creating it is sent once: after a lost answer, the issue is looked for before it is
sent again. Sweeps leave Steward's digest issues out: they are not work to govern.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from steward.core.ledger import Identity
from steward.core.model import Issue
from steward.core.tracker import DigestRecord

from .parse import login
from .transport import GitHubConnection
from .write import GitHubWriter

DIGEST_LABEL = "steward-digest"
_MARKER = re.compile(r"<!-- steward:digest period=([0-9A-Za-z-]+) sent=([^\s>]*) -->")


def digest_marker(period: str, sent: frozenset[str]) -> str:
    return f"<!-- steward:digest period={period} sent={','.join(sorted(sent))} -->"


def read_marker(body: Any) -> tuple[str, frozenset[str]] | None:
    """(period, channels sent to) of a digest body, or None."""
    match = _MARKER.search(body) if isinstance(body, str) else None
    if match is None:
        return None
    return match[1], frozenset(name for name in match[2].split(",") if name)


def is_digest(issue: Issue, identity: Identity | None) -> bool:
    """Whether an issue is Steward's own digest of a review period (its marker, written by Steward)."""
    return "<!-- steward:digest " in issue.body and read_marker(issue.body) is not None \
        and identity is not None and identity.wrote(issue.reporter)


class GitHubDigests:
    def __init__(self, connection: GitHubConnection, writer: GitHubWriter, identity: Identity):
        self.connection = connection
        self.writer = writer
        self.identity = identity
        self.path = f"/repos/{writer.owner}/{writer.name}/issues"

    def find(self, period: str) -> DigestRecord | None:
        item = self._find(period)
        return None if item is None else _record(item)

    def _find(self, period: str) -> dict[str, Any] | None:
        parameters = {"labels": DIGEST_LABEL, "state": "all", "sort": "created", "direction": "desc"}
        for items in self.connection.rest_pages(self.path, parameters, "looking for the digest issue"):
            for item in items:
                if not isinstance(item, dict) or "pull_request" in item or not isinstance(item.get("number"), int):
                    continue
                found = read_marker(item.get("body"))
                if found is not None and found[0] == period and self.identity.wrote(login(item.get("user"))):
                    return item
        return None

    def publish(self, period: str, title: str, body: str, sent: frozenset[str], now: datetime) -> DigestRecord:
        text = f"{body.rstrip()}\n\n{digest_marker(period, sent)}\n"
        found = self._find(period)
        if found is not None:
            _, item = self.connection.rest("PATCH", f"{self.path}/{found['number']}", body={"title": title,
                                                                                           "body": text},
                                           what=f"updating the {period} digest #{found['number']}")
            return _record(item if isinstance(item, dict) and "number" in item else found, sent)
        self.writer.ensure_label(DIGEST_LABEL)
        item = self.connection.post_once(self.path, {"title": title, "body": text, "labels": [DIGEST_LABEL]},
                                          f"opening the {period} digest issue",
                                          landed=lambda: self._find(period) is not None)
        if not isinstance(item, dict) or "number" not in item:  # it landed, its answer was lost
            item = self._find(period)
            assert item is not None
        return _record(item, sent)


def _record(item: dict[str, Any], sent: frozenset[str] | None = None) -> DigestRecord:
    found = read_marker(item.get("body"))
    url = item.get("html_url")
    return DigestRecord(f"#{item['number']}", url if isinstance(url, str) else None,
                        sent if sent is not None else (found[1] if found else frozenset()))
