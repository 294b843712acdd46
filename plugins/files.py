"""The files tracker: a JSON board `{"issues": [...]}` read from and written back to disk.

Used for the demo board, for exports and for offline rehearsals. Writes are atomic: the whole board
is written to a temporary file beside it and renamed over it once, when the run closes.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from steward.core.errors import TrackerError
from steward.core.hookspecs import hookimpl
from steward.core.ledger import settle
from steward.core.markers import marker_to_json, markers_from_json, with_marker
from steward.core.model import Change, Comment, Issue, Marker, Step
from steward.core.timeutil import format_time, tracker_time
from steward.core.tracker import Tracker

log = logging.getLogger("steward.files")

PAGE_SIZE = 500
STEWARD_AUTHOR = "steward"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _labels(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(v) for v in value if v is not None]


def _comments(raw: Any, key: str) -> list[Comment]:
    comments = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        created = tracker_time(item.get("created"), "comment time", key)
        if created is None:
            log.warning("%s: skipping a comment without a valid `created` time", key)
            continue
        comments.append(Comment(author=_text(item.get("author")), created=created, body=_text(item.get("body")) or ""))
    return comments


def _changes(raw: Any, key: str) -> list[Change]:
    changes = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not item.get("field"):
            continue
        at = tracker_time(item.get("at"), "change time", key)
        if at is None:
            log.warning("%s: skipping a %s change without a valid `at` time", key, item.get("field"))
            continue
        changes.append(Change(field=str(item["field"]), from_value=_text(item.get("from")),
                              to_value=_text(item.get("to")), author=_text(item.get("author")), at=at))
    return changes


def issue_from_board(raw: dict[str, Any], board_name: str) -> Issue:
    key = str(raw["key"])
    issue = Issue(
        key=key,
        url=_text(raw.get("url")),
        tracker=f"files:{board_name}",
        project=_text(raw.get("project")) or key.rsplit("-", 1)[0],
        title=_text(raw.get("title")) or "",
        body=_text(raw.get("body")) or "",
        type=_text(raw.get("type")),
        status=_text(raw.get("status")),
        status_category=_text(raw.get("status_category")),
        priority=_text(raw.get("priority")),
        labels=_labels(raw.get("labels")),
        assignee=_text(raw.get("assignee")),
        reporter=_text(raw.get("reporter")),
        created=tracker_time(raw.get("created"), "created time", key),
        updated=tracker_time(raw.get("updated"), "updated time", key),
        due=tracker_time(raw.get("due"), "due date", key),
        comments=_comments(raw.get("comments"), key),
        changes=_changes(raw.get("changes"), key),
        extra={k: v for k, v in raw.items() if k not in _MODEL_FIELDS},
    )
    return settle(issue, None, stored=markers_from_json(raw.get("markers"), key))


_MODEL_FIELDS = {"key", "url", "project", "title", "body", "type", "status", "status_category", "priority",
                 "labels", "assignee", "reporter", "created", "updated", "due", "comments", "changes",
                 "markers"}


class FilesTracker(Tracker):
    name = "files"

    def __init__(self, path: str):
        if not path:
            raise TrackerError("--tracker files:PATH needs the path of a JSON board, e.g. files:examples/board.json")
        self.path = Path(path)
        self._board: dict[str, Any] | None = None
        self._by_key: dict[str, dict[str, Any]] = {}
        self._dirty = False

    def _load(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise TrackerError(f"board {self.path} does not exist") from None
        except (OSError, UnicodeDecodeError) as error:
            raise TrackerError(f"cannot read board {self.path}: {error}") from None
        try:
            board = json.loads(text)
        except json.JSONDecodeError as error:
            raise TrackerError(f"board {self.path} is not valid JSON: line {error.lineno} column "
                               f"{error.colno}: {error.msg}") from None
        if not isinstance(board, dict) or not isinstance(board.get("issues"), list):
            raise TrackerError(f'board {self.path} must be a JSON object {{"issues": [...]}}')
        return board

    def fetch(self, query: str | None = None, since: datetime | None = None) -> Iterator[list[Issue]]:
        self._board = self._load()
        page: list[Issue] = []
        for index, raw in enumerate(self._board["issues"]):
            if not isinstance(raw, dict) or raw.get("key") in (None, ""):
                log.warning("%s: skipping issue #%d: it has no `key`", self.path, index + 1)
                continue
            issue = issue_from_board(raw, self.path.name)
            if issue.key in self._by_key:
                log.warning("%s: skipping a second issue with key %s", self.path, issue.key)
                continue
            self._by_key[issue.key] = raw
            if since is not None and issue.updated is not None and issue.updated < since:
                continue
            page.append(issue)
            if len(page) >= PAGE_SIZE:
                yield page
                page = []
        if page:
            yield page

    def fetch_one(self, key: str) -> Issue | None:
        for raw in self._load()["issues"]:
            if isinstance(raw, dict) and str(raw.get("key")) == key:
                return issue_from_board(raw, self.path.name)
        return None

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        raw = self._by_key[issue.key]
        for step in steps:
            for action in step.actions:
                self._apply_action(raw, step, action.type, action.value, now)
            if step.marks:
                raw.setdefault("markers", []).append(marker_to_json(Marker(step.rule, step.level, now)))
        self._dirty = True

    def _apply_action(self, raw: dict[str, Any], step: Step, kind: str, value: Any, now: datetime) -> None:
        history: list[tuple[str, str | None, str | None]] = []
        if kind == "comment":
            marker = Marker(rule=step.rule, level=step.level, at=now)
            raw.setdefault("comments", []).append(
                {"author": STEWARD_AUTHOR, "created": format_time(now), "body": with_marker(value, marker)})
        elif kind == "add_labels":
            labels = raw.setdefault("labels", [])
            added = [label for label in value if label not in labels]
            labels.extend(added)
            history = [("labels", None, label) for label in added]
        elif kind == "remove_labels":
            removed = [label for label in raw.get("labels", []) if label in value]
            raw["labels"] = [label for label in raw.get("labels", []) if label not in value]
            history = [("labels", label, None) for label in removed]
        elif kind in ("assign", "transition"):
            field = "assignee" if kind == "assign" else "status"
            history = [(field, _text(raw.get(field)), value)]
            raw[field] = value
        else:
            return
        for field, before, after in history:
            raw.setdefault("changes", []).append(
                {"field": field, "from": before, "to": after, "author": STEWARD_AUTHOR, "at": format_time(now)})
        raw["updated"] = format_time(now)

    def close(self) -> None:
        if not self._dirty or self._board is None:
            return
        directory = self.path.resolve().parent
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(self._board, out, indent=2, ensure_ascii=False)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._dirty = False


@hookimpl
def register_trackers(register):
    register("files", lambda target, options: FilesTracker(target))
