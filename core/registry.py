"""What plugins register besides trackers: facts and actions, with the types rule files are checked against."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .model import Issue

FACT_TYPES = ("number", "string", "boolean", "list")
# `days_with_label(blocked)`: a fact that takes one argument, written in parentheses after its name.
_WITH_ARGUMENT = re.compile(r"^([a-z_][a-z0-9_]*)\(([^(){}]+)\)$")


@dataclass(frozen=True)
class FactContext:
    """What every fact is computed against: one `now` per run and the merged rule-file settings."""

    now: datetime
    settings: dict[str, Any]


@dataclass(frozen=True)
class FactSpec:
    """A fact rules can test. With `parameter` (what the argument is, such as "label"), rules name it with an
    argument, `days_with_label(blocked)`, and `compute(issue, ctx, argument)` gets it."""

    name: str
    type: str
    description: str
    compute: Callable[..., Any]
    parameter: str | None = None
    person: bool = False  # the value is a person's id on the tracker: templates may `| mention` it
    always: bool = False  # never missing: templates need no fallback for it

    def value(self, issue: Issue, ctx: FactContext, argument: str | None) -> Any:
        return self.compute(issue, ctx) if self.parameter is None else self.compute(issue, ctx, argument)


def split_fact_name(name: str) -> tuple[str, str | None]:
    """`days_with_label(blocked)` → ("days_with_label", "blocked"); a plain name has no argument."""
    match = _WITH_ARGUMENT.match(name)
    return (match[1], match[2].strip()) if match else (name, None)


@dataclass(frozen=True)
class ActionSpec:
    """A rule action run by Steward itself (not the tracker), such as posting to a chat webhook.

    `run(issue, value, context)` performs it during `apply`, after the step's tracker write, and returns a line
    saying what it did; it raises TrackerError when it could not (the step keeps it pending, and the next apply
    runs it again). `context` holds the run's `now` and the rule files' settings. `check(value, settings)`,
    if given, returns a problem with the value that the schema cannot see (such as an undefined channel).
    """

    name: str
    value_schema: dict[str, Any]
    description: str
    run: Callable[[Issue, Any, FactContext], str]
    check: Callable[[Any, dict[str, Any]], str | None] | None = None
