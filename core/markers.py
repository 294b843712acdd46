"""The marker Steward leaves in every comment it writes, so state lives in the tracker."""

from __future__ import annotations

import logging
import re
from typing import Any

from .model import Marker
from .timeutil import format_time, parse_time

log = logging.getLogger("steward.markers")

_MARKER = re.compile(
    r"<!--\s*steward:marker\s+rule=(?P<rule>[a-z0-9][a-z0-9-]*)\s+level=(?P<level>\d+)"
    r"\s+at=(?P<at>\S+)\s*-->"
)


def format_marker(marker: Marker) -> str:
    return f"<!-- steward:marker rule={marker.rule} level={marker.level} at={format_time(marker.at)} -->"


def find_markers(text: str | None) -> list[Marker]:
    """Markers found in a comment body; malformed ones are ignored, never fatal."""
    found = []
    for match in _MARKER.finditer(text or ""):
        try:
            at = parse_time(match["at"])
        except ValueError:
            continue
        found.append(Marker(rule=match["rule"], level=int(match["level"]), at=at))
    return found


def with_marker(body: str, marker: Marker) -> str:
    return f"{body.rstrip()}\n\n{format_marker(marker)}"


def latest_by_rule(markers: list[Marker]) -> dict[str, Marker]:
    """The highest ladder level reached per rule (the latest one when levels tie)."""
    best: dict[str, Marker] = {}
    for marker in markers:
        current = best.get(marker.rule)
        if current is None or (marker.level, marker.at) > (current.level, current.at):
            best[marker.rule] = marker
    return best


def dedupe(markers: list[Marker]) -> list[Marker]:
    seen: dict[tuple[str, int], Marker] = {}
    for marker in markers:
        key = (marker.rule, marker.level)
        if key not in seen or marker.at < seen[key].at:
            seen[key] = marker
    return sorted(seen.values(), key=lambda m: (m.at, m.rule, m.level))


def marker_to_json(marker: Marker) -> dict[str, Any]:
    return {"rule": marker.rule, "level": marker.level, "at": format_time(marker.at)}


def markers_from_json(items: Any, key: str) -> list[Marker]:
    """Markers stored as JSON (`[{"rule", "level", "at"}]`); malformed entries are skipped with a warning."""
    markers = []
    for item in items if isinstance(items, list) else []:
        try:
            markers.append(Marker(rule=str(item["rule"]), level=int(item["level"]), at=parse_time(item["at"])))
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            log.warning("%s: ignoring a malformed marker %r", key, item)
    return markers
