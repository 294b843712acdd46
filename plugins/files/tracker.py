"""The files tracker: a JSON board `{"issues": [...]}` read from and written back to disk.

Used for the demo board, for exports and for offline rehearsals. A run holds an exclusive lock on the
board from its read to its write, so two runs never interleave: the second reads what the first wrote.
Writes are atomic, like a careful editor's: the whole board goes to a temporary file beside the real one
(a symlink is followed), keeps its permissions, is synced and renamed over it once, when the run closes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from steward.core.errors import TrackerError
from steward.core.fields import FieldMapping
from steward.core.ledger import Identity, settle
from steward.core.markers import marker_to_json, markers_from_json, step_marker, with_marker
from steward.core.model import Change, Comment, FieldValue, Issue, Marker, Related, Step, transition_target
from steward.core.timeutil import format_time, tracker_time
from steward.core.tracker import DigestRecord, Tracker

from . import stream
from .board import BoardLock, check_writable, read_board, write_board

log = logging.getLogger("steward.files")

PAGE_SIZE = 500
DEFAULT_AUTHOR = "steward"
AUTHOR_ENV = "STEWARD_FILES_AUTHOR"  # who Steward writes as on the board
LOCK_WAIT = 600.0  # seconds a run waits for another run's lock on the same board


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


@dataclass
class BoardContext:
    """What converting one board issue needs from the rest of the board and the run."""

    name: str
    identity: Identity | None = None
    people: dict[str, str] = field(default_factory=dict)
    fields: dict[str, FieldMapping] = field(default_factory=dict)
    # Status category and assignee by key, for parents, children and blockers. While the board is scanned it
    # holds every issue; `links_done` keeps only the issues some link names. Values are shared tuples (a board
    # has few distinct pairs), so an entry costs its key and a slot: a Related each was a third of a large
    # board's peak memory.
    index: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)  # parent key -> child keys
    blocks: dict[str, list[str]] = field(default_factory=dict)  # blocker key -> keys it blocks
    named: set[str] = field(default_factory=set)  # keys a parent or blocked_by link names
    repeated: set[str] = field(default_factory=set)  # keys more than one board issue has
    _pairs: dict[tuple[str | None, str | None], tuple[str | None, str | None]] = field(default_factory=dict)

    @classmethod
    def of(cls, board: dict[str, Any], name: str, identity: Identity | None,
           fields: dict[str, FieldMapping]) -> BoardContext:
        """Each issue's status and owner by key, each parent's children, each blocker's blocked issues: links
        resolve within the board."""
        context = cls(name, identity, _people(board.get("people")), fields)
        for raw in board["issues"]:
            context.add(raw)
        context.links_done()
        return context

    def add(self, raw: Any) -> None:
        """One board issue's part of the context (the issue itself is not kept)."""
        if not isinstance(raw, dict) or raw.get("key") in (None, ""):
            return
        key = str(raw["key"])
        if key in self.index:
            self.repeated.add(key)
        pair = (_text(raw.get("status_category")), _text(raw.get("assignee")))
        self.index[key] = self._pairs.setdefault(pair, pair)
        if raw.get("parent") not in (None, ""):
            self.children.setdefault(str(raw["parent"]), []).append(key)
        for blocker in raw.get("blocked_by") if isinstance(raw.get("blocked_by"), list) else []:
            self.blocks.setdefault(str(blocker), []).append(key)
        for link in ("parent", "blocked_by"):
            if raw.get(link):
                self.named.update(_link_keys(raw[link]))

    def links_done(self) -> None:
        """Every issue is in: keep in the index only the issues a link names (as `_related` looks them up)."""
        wanted = self.named
        for keys in (*self.children.values(), *self.blocks.values()):
            wanted.update(keys)
        self.index = {key: pair for key, pair in self.index.items() if key in wanted}
        self.named, self._pairs = set(), {}


def _link_keys(keys: Any) -> list[str]:
    """The keys a `parent` or `blocked_by` value names: one key or a list of them."""
    keys = keys if isinstance(keys, list) else [keys] if keys else []
    return [str(k) for k in keys if k not in (None, "")]


def _related(keys: Any, index: dict[str, tuple[str | None, str | None]]) -> list[Related]:
    return [Related(key, *index.get(key, (None, None))) for key in _link_keys(keys)]


def _field(raw: dict[str, Any], mapping: FieldMapping, people: dict[str, str], key: str) -> FieldValue | None:
    value = raw.get(mapping.on("files") or mapping.name)
    if value in (None, "", []):
        return None
    if mapping.kind == "date":
        return FieldValue("date", tracker_time(value, mapping.name, key))
    if mapping.kind == "number":
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        return FieldValue("number", number)
    if mapping.kind == "multiselect":
        return FieldValue("multiselect", [str(v) for v in value] if isinstance(value, list) else [str(value)])
    if mapping.kind == "user":
        return FieldValue("user", str(value), people.get(str(value)))
    return FieldValue(mapping.kind, str(value))


def issue_from_board(raw: dict[str, Any], board_name: str, identity: Identity | None = None,
                     people: dict[str, str] | None = None, board: BoardContext | None = None) -> Issue:
    key = str(raw["key"])
    board = board or BoardContext(board_name, identity, people or {})
    mapped = {name: _field(raw, mapping, board.people, key) for name, mapping in board.fields.items()}
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
        people=board.people,
        components=_labels(raw.get("components")),
        milestone=_text(raw.get("milestone")),
        parent=next(iter(_related(raw.get("parent"), board.index)), None),
        children=_related(board.children.get(key, []), board.index),
        blocked_by=_related(raw.get("blocked_by"), board.index),
        blocks=_related(board.blocks.get(key, []), board.index),
        fields={name: value for name, value in mapped.items() if value is not None},
        extra={k: v for k, v in raw.items() if k not in _MODEL_FIELDS},
    )
    return settle(issue, board.identity, stored=markers_from_json(raw.get("markers"), key))


DIGEST_FIELD = "steward_digest"  # on a board issue: Steward's digest of one review period


def _digest_record(raw: dict[str, Any], author: str) -> DigestRecord | None:
    """The digest record of a board issue Steward wrote (by its author), or None for any other issue."""
    record = raw.get(DIGEST_FIELD)
    if not isinstance(record, dict) or raw.get("reporter") != author or not isinstance(record.get("period"), str):
        return None
    sent = record.get("sent") if isinstance(record.get("sent"), list) else []
    return DigestRecord(str(raw["key"]), _text(raw.get("url")), frozenset(str(s) for s in sent))


def _people(raw: Any) -> dict[str, str]:
    """The board's optional `people` map: display names by the ids issues hold."""
    return {str(k): str(v) for k, v in raw.items() if isinstance(v, str)} if isinstance(raw, dict) else {}


_MODEL_FIELDS = {"components", "milestone", "parent", "blocked_by",
                 "key", "url", "project", "title", "body", "type", "status", "status_category", "priority",
                 "labels", "assignee", "reporter", "created", "updated", "due", "comments", "changes",
                 "markers"}


class FilesTracker(Tracker):
    name = "files"
    overlap_reads = False  # a board is read from disk at once: a reader thread would only share the CPU

    def __init__(self, path: str, author: str = DEFAULT_AUTHOR, lock_wait: float = LOCK_WAIT):
        if not path:
            raise TrackerError("--tracker files:PATH needs the path of a JSON board, e.g. files:examples/board.json")
        self.path = Path(path)
        self.author = author
        self.lock_wait = lock_wait
        self._board: dict[str, Any] | None = None  # the whole board, when it was read whole (see `fetch`)
        self._by_key: dict[str, dict[str, Any]] = {}  # the current page's board issues, by key
        self._edited: dict[str, dict[str, Any]] = {}  # the board issues this run changed, by key
        self._keys: set[str] = set()  # keys read that the board repeats, to skip a second issue with the same key
        self._dirty = False
        self._lock: BoardLock | None = None
        self._fields: dict[str, FieldMapping] = {}

    def map_fields(self, fields: dict[str, FieldMapping]) -> None:
        """A mapped field is the board issue's key of the mapping's `files` name (else the field's own name)."""
        self._fields = dict(fields)

    def identity(self) -> Identity:
        return Identity.of(self.author)

    def _load(self, text: str | None = None) -> dict[str, Any]:
        if text is None:
            text = read_board(self.path)
        try:
            board = json.loads(text)
        except json.JSONDecodeError as error:
            raise TrackerError(f"board {self.path} is not valid JSON: line {error.lineno} column "
                               f"{error.colno}: {error.msg}") from None
        if not isinstance(board, dict) or not isinstance(board.get("issues"), list):
            raise TrackerError(f'board {self.path} must be a JSON object {{"issues": [...]}}')
        return board

    def fetch(self, query: str | None = None, since: datetime | None = None) -> Iterator[list[Issue]]:
        """The board's issues a page at a time. The board is read twice, one issue at a time (plugins/files/
        stream.py): once for the links between issues, once for the issues; memory holds a page, not the board.
        A board of another shape, or that is not valid JSON, is read whole (and its error worded) as before."""
        if query:
            raise TrackerError("the files tracker reads the whole board: it takes no --query")
        # Held until `close`: another run on this board waits, then reads what this one wrote.
        self._lock = BoardLock(self.path, self.lock_wait)
        try:
            self._lock.acquire(read=False)
            context = self._scan()
            if context is None:
                self._board = self._load(self._lock.text())
                context = BoardContext.of(self._board, self.path.name, self.identity(), self._fields)
        except BaseException:
            self._lock.release()
            raise
        raws = iter(self._board["issues"]) if self._board is not None else self._streamed()
        page: list[Issue] = []
        for index, raw in enumerate(raws):
            if not isinstance(raw, dict) or raw.get("key") in (None, ""):
                log.warning("%s: skipping issue #%d: it has no `key`", self.path, index + 1)
                continue
            if _digest_record(raw, self.author) is not None:
                continue  # Steward's own digest of a review period: not work to govern
            issue = issue_from_board(raw, self.path.name, board=context)
            if issue.key in context.repeated:  # only those: a set of every key was a tenth of the peak
                if issue.key in self._keys:
                    log.warning("%s: skipping a second issue with key %s", self.path, issue.key)
                    continue
                self._keys.add(issue.key)
            self._by_key[issue.key] = raw
            if since is not None and issue.updated is not None and issue.updated < since:
                continue
            page.append(issue)
            if len(page) >= PAGE_SIZE:
                yield page
                page = []
                self._by_key = {}  # that page is done: written (see `apply`) or not
        if page:
            yield page

    def _scan(self) -> BoardContext | None:
        """The links between the board's issues, read one issue at a time; None for a board to read whole."""
        assert self._lock is not None
        context = BoardContext(self.path.name, self.identity(), {}, self._fields)
        people: Any = None
        with self._lock.open() as handle:
            try:
                for key, value in stream.top_level(handle):
                    if key == "issue":
                        context.add(value)
                    elif key == "people":
                        people = value
            except stream.Unreadable:
                return None
        context.links_done()
        context.people = _people(people)
        return context

    def _streamed(self) -> Iterator[Any]:
        assert self._lock is not None
        with self._lock.open() as handle:
            try:
                yield from (value for key, value in stream.top_level(handle) if key == "issue")
            except stream.Unreadable:
                raise TrackerError(f"board {self.path} changed while Steward read it; run again") from None

    def fetch_one(self, key: str) -> Issue | None:
        board = self._load()
        for raw in board["issues"]:
            if isinstance(raw, dict) and str(raw.get("key")) == key:
                context = BoardContext.of(board, self.path.name, self.identity(), self._fields)
                return issue_from_board(raw, self.path.name, board=context)
        return None

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        if not self._dirty:
            check_writable(self.path)  # refuse now, before any step is reported as written
        raw = self._edited.setdefault(issue.key, self._by_key[issue.key])
        pending = False
        for step in steps:
            for action in step.actions:
                self._apply_action(raw, step, action.type, action.value, now)
            if step.marks:
                marker = step_marker(step, now)
                raw.setdefault("markers", []).append(marker_to_json(marker))
                pending = pending or bool(marker.pending)
        self._dirty = True
        if pending:  # Steward's own actions run next: they need the step on disk first, not at `close`
            self._save()

    def record_done(self, issue: Issue, marker: Marker) -> None:
        raw = self._edited.setdefault(issue.key, self._by_key[issue.key])
        for entry in raw.get("markers") or []:
            if isinstance(entry, dict) and entry.get("rule") == marker.rule and entry.get("level") == marker.level:
                entry["pending"] = list(marker.pending)
        self._dirty = True
        self._save()

    def _save(self) -> None:
        """The board with this run's changes, replaced atomically: read whole here (under the run's lock) when
        it was read one issue at a time, each changed issue put in its place."""
        if self._board is not None:
            write_board(self.path, self._board)
            return
        if self._lock is None:
            return
        board = self._load(self._lock.text())
        keys: set[str] = set()
        for index, raw in enumerate(board["issues"]):  # the issues `fetch` took, found as it found them
            if not isinstance(raw, dict) or raw.get("key") in (None, "") or _digest_record(raw, self.author):
                continue
            key = str(raw["key"])
            if key not in keys:
                keys.add(key)
                board["issues"][index] = self._edited.get(key, raw)
        write_board(self.path, board)

    def _apply_action(self, raw: dict[str, Any], step: Step, kind: str, value: Any, now: datetime) -> None:
        history: list[tuple[str, str | None, str | None]] = []
        if kind == "comment":
            body = with_marker(value, step_marker(step, now))
            raw.setdefault("comments", []).append({"author": self.author, "created": format_time(now), "body": body})
        elif kind == "add_labels":
            labels = raw.setdefault("labels", [])
            added = [label for label in value if label not in labels]
            labels.extend(added)
            history = [("labels", None, label) for label in added]
        elif kind == "remove_labels":
            removed = [label for label in raw.get("labels", []) if label in value]
            raw["labels"] = [label for label in raw.get("labels", []) if label not in value]
            history = [("labels", label, None) for label in removed]
        elif kind == "assign":
            history = [("assignee", _text(raw.get("assignee")), value)]
            raw["assignee"] = value
        elif kind == "transition":
            status, resolution = transition_target(value)
            history = [("status", _text(raw.get("status")), status)]
            raw["status"] = status
            if resolution:
                history.append(("resolution", _text(raw.get("resolution")), resolution))
                raw["resolution"] = resolution
        elif kind == "set_field":
            name = value["field"]
            mapping = self._fields.get(name)
            key = (mapping.on("files") or name) if mapping else name
            history = [(name, _text(raw.get(key)), _text(value["value"]))]
            raw[key] = value["value"]
        else:
            return
        for name, before, after in history:
            raw.setdefault("changes", []).append(
                {"field": name, "from": before, "to": after, "author": self.author, "at": format_time(now)})
        raw["updated"] = format_time(now)

    def find_digest(self, period: str) -> DigestRecord | None:
        for raw in self._load()["issues"]:
            record = _digest_record(raw, self.author) if isinstance(raw, dict) else None
            if record is not None and raw[DIGEST_FIELD]["period"] == period:
                return record
        return None

    def publish_digest(self, period: str, title: str, body: str, sent: frozenset[str],
                       now: datetime) -> DigestRecord:
        lock = BoardLock(self.path, self.lock_wait)
        try:
            board = self._load(lock.acquire())
            stamp = format_time(now)
            found = next((raw for raw in board["issues"] if isinstance(raw, dict)
                          and _digest_record(raw, self.author) is not None and raw[DIGEST_FIELD]["period"] == period),
                         None)
            if found is None:
                found = {"key": f"DIGEST-{period}", "type": "digest", "reporter": self.author, "created": stamp,
                         "status": "open", "status_category": "todo"}
                board["issues"].append(found)
            found.update({"title": title, "body": body, "updated": stamp,
                          DIGEST_FIELD: {"period": period, "sent": sorted(sent)}})
            check_writable(self.path)
            write_board(self.path, board)
        finally:
            lock.release()
        record = _digest_record(found, self.author)
        assert record is not None
        return record

    def close(self) -> None:
        try:
            if self._dirty:
                self._save()
                self._dirty = False
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None


def make_tracker(target: str, options: dict[str, Any]) -> FilesTracker:
    return FilesTracker(target, os.environ.get(AUTHOR_ENV) or DEFAULT_AUTHOR)
