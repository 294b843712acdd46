"""What plugins register: trackers, facts and actions, with the types rule files are checked against."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .model import Issue, Step

FACT_TYPES = ("number", "string", "boolean", "list")


@dataclass(frozen=True)
class FactContext:
    """What every fact is computed against: one `now` per run and the merged rule-file settings."""

    now: datetime
    settings: dict[str, Any]


@dataclass(frozen=True)
class FactSpec:
    name: str
    type: str
    description: str
    compute: Callable[[Issue, FactContext], Any]


@dataclass(frozen=True)
class ActionSpec:
    """A rule action run by Steward itself (not the tracker), such as posting to a chat webhook."""

    name: str
    value_schema: dict[str, Any]
    description: str
    run: Callable[[Issue, Any, bool], str]


class TrackerError(Exception):
    """A tracker problem a user can act on: the message says what and how, never a credential."""


class Tracker(Protocol):
    name: str

    def fetch(self, query: str | None, since: datetime | None) -> Iterator[list[Issue]]:
        """Yield pages of issues."""

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        """Write the steps (comments, labels, markers) for one issue."""

    def close(self) -> None:
        """Flush and release whatever the adapter holds."""

    # Optional: `narrow(rules: list[Rule]) -> None`, called before fetch, lets an adapter fetch only the
    # fields the rules need and push conditions down into its query. Results must not change.


TrackerFactory = Callable[[str, dict[str, Any]], Tracker]
