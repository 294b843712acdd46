"""The text Steward leaves in what it writes, so that its state lives in the tracker.

Three forms, written by the adapters and read back by the ledger (core/ledger.py):
- the marker, a hidden HTML comment naming the rule, the ladder level and the time of a step;
- the footer, a visible line for trackers that show HTML comments as text (Jira), with the comment's own
  creation time as the step's time;
- the changes note, announcing what else a step changes, for trackers that cannot write a comment and its
  labels in one request (GitHub): the comment is the commit point, the note says what must follow it.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

from .model import TRACKER_ACTIONS, Marker, Step, transition_target
from .timeutil import format_time, parse_time

log = logging.getLogger("steward.markers")

_MARKER = re.compile(
    r"<!--\s*steward:marker\s+rule=(?P<rule>[a-z0-9][a-z0-9-]*)\s+level=(?P<level>\d+)"
    r"\s+at=(?P<at>\S+)(?:\s+added=(?P<added>\S*))?(?:\s+pending=(?P<pending>\S*))?(?:\s+run=(?P<run>[0-9a-z]+))?\s*-->"
)
# A name in a footer: no space, comma or `·`; underscores only inside it, since the footer ends with the `_`
# that closes Jira's italics (labels such as `needs_owner` and actions such as `notify_chat` have them).
_NAME = r"[^\s,·_]+(?:_+[^\s,·_]+)*"
_FOOTER = re.compile(r"Steward\s*·\s*rule\s+(?P<rule>[a-z0-9][a-z0-9-]*)\s*·\s*step\s+(?P<level>\d+)"
                     rf"(?:\s*·\s*(?:labels added: (?P<added>{_NAME}(?:,\s*{_NAME})*)|(?P<none>no labels added)))?"
                     rf"(?:\s*·\s*also runs: (?P<pending>{_NAME}(?:,\s*{_NAME})*))?"
                     r"(?:\s*·\s*run (?P<run>[0-9a-z]+))?")
_CHANGES = re.compile(r"<!--\s*steward:changes\s+(\{.*?\})\s*-->")
# The states a `transition` action can announce in a changes note, by the names rules use.
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
TARGET_STATES = {"open": "open", "reopened": "open", "closed": "closed", "completed": "closed",
                 "not_planned": "closed"}


def step_marker(step: Step, now: datetime, run: str | None = None) -> Marker:
    """The marker of a step taken at `now`, with the labels it adds (the planner keeps only labels that were
    not on the issue already, so these are exactly the labels clean-up may take back) and the actions Steward
    itself runs after the tracker write (pending until recorded as done)."""
    added = [label for action in step.actions if action.type == "add_labels" for label in action.value]
    pending = [name for name, _ in own_actions([a.type for a in step.actions])]
    return Marker(step.rule, step.level, now, tuple(dict.fromkeys(added)), tuple(pending), run)


def own_actions(kinds: list[str]) -> list[tuple[str, int]]:
    """The actions Steward runs itself among a step's action kinds, each with the name its marker records it by
    (`notify`, a second one `notify.2`) and its index in the list."""
    seen: dict[str, int] = {}
    named = []
    for index, kind in enumerate(kinds):
        if kind in TRACKER_ACTIONS:
            continue
        seen[kind] = seen.get(kind, 0) + 1
        named.append((kind if seen[kind] == 1 else f"{kind}.{seen[kind]}", index))
    return named


def _names(values: tuple[str, ...]) -> str:
    return ",".join(quote(value, safe="") for value in values)


def format_marker(marker: Marker) -> str:
    added = "" if marker.added is None else f" added={_names(marker.added)}"
    pending = f" pending={_names(marker.pending)}" if marker.pending else ""
    run = f" run={marker.run}" if marker.run else ""
    return (f"<!-- steward:marker rule={marker.rule} level={marker.level} at={format_time(marker.at)}"
            f"{added}{pending}{run} -->")


def with_marker(body: str, marker: Marker) -> str:
    return f"{body.rstrip()}\n\n{format_marker(marker)}"


def footer(step: Step, run: str | None = None) -> str:
    """The visible footer of a step's comment, for trackers that would print a hidden marker as text. It names
    Steward's own actions the step runs after the write: the comment says they are due, a stored record (the
    Jira property) that they ran."""
    marker = step_marker(step, _EPOCH)
    labels = f"labels added: {', '.join(marker.added)}" if marker.added else "no labels added"
    own = f" · also runs: {', '.join(_footer_name(name) for name in marker.pending)}" if marker.pending else ""
    run_part = f" · run {run}" if run else ""
    return f"\n\n----\n_Steward · rule {step.rule} · step {step.level} · {labels}{own}{run_part}_"


def _footer_name(name: str) -> str:
    """An action name as a footer can hold it (see `_NAME`); read back with `unquote`."""
    text = quote(name, safe="")
    return re.sub(r"^_|_$", "%5F", text)


def find_markers(text: str | None, created: datetime | None = None) -> list[Marker]:
    """Markers in a comment body; with `created`, footers too (a footer's step happened when it was posted).

    Malformed ones are ignored, never fatal. An adapter and the ledger both look at each comment: the answer for
    the last bodies is kept, so each body is scanned once, and text without the words both forms begin with
    is not scanned at all.
    """
    if not text or ("steward:marker" not in text and (created is None or "Steward" not in text)):
        return []
    return list(_scanned(text, created))


@lru_cache(maxsize=2048)
def _scanned(text: str, created: datetime | None) -> tuple[Marker, ...]:
    found = []
    for match in _MARKER.finditer(text):
        try:
            at = parse_time(match["at"])
        except ValueError:
            continue
        added = None if match["added"] is None else _unnames(match["added"])
        found.append(Marker(rule=match["rule"], level=int(match["level"]), at=at, added=added,
                            pending=_unnames(match["pending"] or ""), run=match["run"]))
    if created is not None:
        for match in _FOOTER.finditer(text):
            # Jira labels hold no spaces or commas; a footer without the labels part predates the record.
            added = tuple(a for a in re.split(r"[,\s]+", match["added"]) if a) if match["added"] is not None \
                else () if match["none"] else None
            pending = tuple(unquote(a) for a in re.split(r"[,\s]+", match["pending"] or "") if a)
            found.append(Marker(match["rule"], int(match["level"]), created, added, pending, match["run"]))
    return tuple(found)


def new_run_id() -> str:
    """A short id for one Steward run, written into its markers."""
    return secrets.token_hex(4)


def _unnames(text: str) -> tuple[str, ...]:
    return tuple(unquote(name) for name in text.split(",") if name)


def latest_by_rule(markers: list[Marker]) -> dict[str, Marker]:
    """The highest ladder level reached per rule (the latest one when levels tie)."""
    best: dict[str, Marker] = {}
    for marker in markers:
        current = best.get(marker.rule)
        if current is None or (marker.level, marker.at) > (current.level, current.at):
            best[marker.rule] = marker
    return best


def dedupe(markers: list[Marker]) -> list[Marker]:
    """One marker per (rule, level), the earliest, in time order. Two records of one step (a comment and a
    stored copy) agree on what is still pending only where both say so: the later record of a done action wins."""
    seen: dict[tuple[str, int], Marker] = {}
    for marker in markers:
        key = (marker.rule, marker.level)
        kept = seen.get(key)
        if kept is None:
            seen[key] = marker
            continue
        first = marker if marker.at < kept.at else kept
        pending = tuple(p for p in first.pending if p in marker.pending and p in kept.pending)
        seen[key] = replace(first, pending=pending)
    return sorted(seen.values(), key=lambda m: (m.at, m.rule, m.level))


def marker_to_json(marker: Marker) -> dict[str, Any]:
    data: dict[str, Any] = {"rule": marker.rule, "level": marker.level, "at": format_time(marker.at)}
    if marker.added is not None:
        data["added"] = list(marker.added)
    if marker.pending:
        data["pending"] = list(marker.pending)
    if marker.run:
        data["run"] = marker.run
    return data


def markers_from_json(items: Any, key: str) -> list[Marker]:
    """Markers stored as JSON (`[{"rule", "level", "at"}]`); malformed entries are skipped with a warning."""
    markers = []
    for item in items if isinstance(items, list) else []:
        try:
            added, pending = item.get("added"), item.get("pending", [])
            for value in (added or [], pending):
                if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                    raise ValueError("added and pending must be lists of names")
            run = item.get("run")
            markers.append(Marker(rule=str(item["rule"]), level=int(item["level"]), at=parse_time(item["at"]),
                                  added=None if added is None else tuple(added), pending=tuple(pending),
                                  run=run if isinstance(run, str) else None))
        except (KeyError, TypeError, ValueError, OverflowError, OSError, AttributeError):
            log.warning("%s: ignoring a malformed marker %r", key, item)
    return markers


def step_changes(step: Step) -> dict[str, Any]:
    """What a step changes besides its comment, in the form a changes note announces it."""
    changes: dict[str, Any] = {}
    for action in step.actions:
        if action.type in ("add_labels", "remove_labels"):
            changes.setdefault("add" if action.type == "add_labels" else "remove", []).extend(action.value)
        elif action.type == "assign":
            changes.setdefault("assign", []).append(str(action.value))
        elif action.type == "transition" and transition_target(action.value)[0].strip().lower() in TARGET_STATES:
            changes["state"] = TARGET_STATES[transition_target(action.value)[0].strip().lower()]
        elif action.type == "set_field" and isinstance(action.value, dict):
            changes.setdefault("set", {})[str(action.value.get("field"))] = action.value.get("value")
    return changes


def format_changes(changes: dict[str, Any]) -> str:
    # `>` is escaped so that no label name can close the HTML comment early.
    text = json.dumps(changes, sort_keys=True).replace(">", "\\u003e")
    return f"<!-- steward:changes {text} -->"


def find_changes(text: str) -> dict[str, Any] | None:
    """The changes note in a comment body, or None when there is none (or it cannot be read)."""
    match = _CHANGES.search(text)
    if not match:
        return None
    try:
        changes = json.loads(match.group(1))
    except ValueError:
        return None
    return changes if isinstance(changes, dict) else None
