"""What a tracker adapter is: the one seam between the core and Jira, GitHub, a JSON board or yours.

An adapter subclasses `Tracker` and writes `fetch` and `apply`; everything else has a default that is
correct, if not the cheapest. Adapters build `Issue`s and let the ledger (core/ledger.py) decide which
comments and markers are Steward's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import TrackerError, UsageError
from .fields import FieldMapping
from .ledger import Identity
from .model import Issue, Marker, Step
from .readahead import Later, resolved
from .rules import Rule

log = logging.getLogger("steward.tracker")


@dataclass(frozen=True)
class DigestRecord:
    """The digest issue of one review period: where it is, and the channels it was already sent to."""

    key: str
    url: str | None
    sent: frozenset[str] = frozenset()


class Tracker:
    """A tracker adapter. `name` is the scheme users type (`--tracker NAME:TARGET`)."""

    name: str = ""
    # Whether the run may read the next page in a thread while it works on the current one (core/readahead.py):
    # worth it when a page waits on the network. `fetch` then runs in that thread, and every request the
    # adapter sends from either thread must be safe to send from both (plugins/transport.py serializes them).
    overlap_reads: bool = True

    def identity(self) -> Identity | None:
        """Who Steward writes as here, learned at most once per run; None when the tracker cannot say."""
        return None

    def mention(self, person: str, name: str) -> str:
        """How a comment mentions a person so that the tracker notifies them (`person` is the id the issue's
        facts hold, `name` its display name). Default: `@person`, as GitHub and the files board write it."""
        return f"@{person}"

    def configure(self, settings: Mapping[str, Any]) -> None:
        """Called once before `map_fields` with the rule files' settings: an adapter reads its own section
        (`settings.github`). Default: nothing to read."""

    def map_fields(self, fields: dict[str, FieldMapping]) -> None:
        """Called once before `fetch` with the rule files' mapped fields (`fields:`), by their names: the
        adapter reads each into `Issue.fields`, and raises TrackerError naming a field it cannot find or whose
        type does not fit. Default: a tracker without fields of its own maps none (their facts are missing)."""
        if fields:
            log.warning("the %s tracker has no fields to map: %s stay missing", self.name or "this",
                        ", ".join(sorted(fields)))

    def narrow(self, rules: list[Rule]) -> None:
        """Called once before `fetch` with the rules of the run: an adapter may read only the fields they
        need and push their conditions into its query. Results must not change. Default: read everything."""

    def fetch(self, query: str | None, since: datetime | None) -> Iterator[list[Issue] | Later[list[Issue]]]:
        """Yield pages of issues matching `query` (the tracker's own syntax), updated since `since`. A page may
        come as a `Later` (core/readahead.py) whose conversion runs on the thread that uses it; `resolved`
        turns what `fetch` yields into plain pages."""
        raise NotImplementedError

    def skipped(self) -> list[str]:
        """The issues `fetch` could not read and left out (each named in a warning when it happened), so the
        run can say it was partial. Default: none (an adapter that cannot read an issue fails the run)."""
        return []

    def fetch_one(self, key: str) -> Issue | None:
        """One issue with its whole history, or None when there is none. Default: search a full sweep."""
        for page in resolved(self.fetch(None, None)):
            for issue in page:
                if issue.key == key:
                    return issue
        return None

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        """Write one issue's steps (comments with their markers, labels, assignee, status) or raise
        TrackerError; a step is either written whole or reported as not written."""
        raise NotImplementedError

    def recheck(self, issues: list[Issue]) -> dict[str, Issue]:
        """Just before writing: these issues as they are now, by key, with a fresh ledger, so that a step
        another run took since the read is not taken again. Default: none (a tracker that locks the run out,
        like the files board, needs no re-check)."""
        return {}

    def reconcile(self, written: list[tuple[Issue, list[Step]]], now: datetime) -> list[Step]:
        """After writing: where another run wrote the same step at the same moment, keep the earlier copy and
        remove the later; returns this run's steps whose copy was the later one (so its report stays true).
        Default: nothing to reconcile."""
        return []

    def record_done(self, issue: Issue, marker: Marker) -> None:
        """Record that some of a step's own actions have run: `marker` is the step's marker with `pending`
        holding only those still to run. Trackers that cannot record raise TrackerError: the runner then says
        that an action may run again."""
        raise TrackerError(f"the {self.name or 'this'} tracker cannot record that an action has run")

    def find_digest(self, period: str) -> DigestRecord | None:
        """The digest issue Steward posted for this period (`steward digest --post`), or None."""
        raise UsageError(f"the {self.name or 'this'} tracker cannot hold a digest issue")

    def publish_digest(self, period: str, title: str, body: str, sent: frozenset[str],
                       now: datetime) -> DigestRecord:
        """Create the period's digest issue, or update it (never a second one); `sent` records the channels
        it went to. The body's mentions are already in the tracker's syntax."""
        raise UsageError(f"the {self.name or 'this'} tracker cannot hold a digest issue")

    def close(self) -> None:
        """Flush and release what the adapter holds (the files board is written here)."""


TrackerFactory = Callable[[str, dict[str, Any]], Tracker]
