"""What plugins register besides trackers: facts and actions, with the types rule files are checked against."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .model import Issue

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
    """A rule action run by Steward itself (not the tracker), such as posting to a chat webhook.

    `run(issue, value)` performs it during `apply` and returns a line describing what it did; it raises
    TrackerError when it could not.
    """

    name: str
    value_schema: dict[str, Any]
    description: str
    run: Callable[[Issue, Any], str]
