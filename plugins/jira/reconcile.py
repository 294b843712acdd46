"""Two Steward runs on one Jira: re-check before writing, reconcile after.

Jira has no conditional write, so two runs that read an issue at the same time could both write the same step.
Just before writing a page, `recheck` reads the issues to be written again (one bulk read per 100): a step
another run took since the sweep read the issue is then not written again. What is left is the moment
between that read and the write. After the page, `reconcile` reads the written issues' comments back (one
bulk read per 100): where Steward's own comments record one step twice or more, the earliest (by time, then
by comment id, which Jira hands out in order) is kept and the others are deleted. Each copy names the run that
wrote it, so a run whose copy was not the one kept says so in its report, whichever run deleted it. The marker
property (Cloud) is then completed if a lost update left out a step whose comment was kept.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from steward.core.errors import TrackerError
from steward.core.ledger import Identity
from steward.core.model import Issue, Marker, Step

from .parse import Copy, as_dict, property_markers, step_copies
from .read import PAGE_SIZE, JiraReader
from .write import JiraWriter

log = logging.getLogger("steward.jira")

RECHECK_FIELDS = ("comment", "labels")
RECONCILE_FIELDS = ("comment",)


def recheck(reader: JiraReader, issues: list[Issue]) -> dict[str, Issue]:
    """These issues as Jira holds them now: each keeps what the sweep read, with its ledger (comments, labels,
    markers) read again."""
    by_key = {issue.key: issue for issue in issues}
    keys = list(by_key)
    fresh: dict[str, Issue] = {}
    for start in range(0, len(keys), PAGE_SIZE):
        for raw in reader.by_keys(keys[start:start + PAGE_SIZE], RECHECK_FIELDS):
            read = reader.parse(raw, None)
            if read is None or read[0].key not in by_key:
                continue
            now = read[0]
            fresh[now.key] = replace(by_key[now.key], labels=now.labels, comments=now.comments, markers=now.markers,
                                     unfinished=now.unfinished)
    return fresh


def reconcile(reader: JiraReader, writer: JiraWriter, identity: Identity, run: str,
              written: list[tuple[Issue, list[Step]]]) -> list[Step]:
    """Keep one copy of each step on the written issues; returns this run's steps whose copy was not kept.

    The writes have landed by now: a read or a delete that fails is a warning, never the end of the run."""
    marked = {issue.key: [step for step in steps if step.marks] for issue, steps in written}
    keys = [key for key, steps in marked.items() if steps]
    lost: list[Step] = []
    for start in range(0, len(keys), PAGE_SIZE):
        chunk = keys[start:start + PAGE_SIZE]
        try:
            raws = reader.by_keys(chunk, RECONCILE_FIELDS)
        except TrackerError as error:
            log.warning("could not read back %s after writing (%s): a step another run wrote at the same moment "
                        "may stay there twice", ", ".join(chunk), error)
            continue
        for raw in raws:
            key = str(raw.get("key") or "")
            if key in marked:
                lost += _reconcile_issue(reader, writer, identity, run, raw, key, marked[key])
    writer.forget(keys)
    return lost


def _reconcile_issue(reader: JiraReader, writer: JiraWriter, identity: Identity, run: str, raw: dict[str, Any],
                     key: str, steps: list[Step]) -> list[Step]:
    try:
        comments = reader.comments(raw) or as_dict(as_dict(raw.get("fields")).get("comment")).get("comments")
        copies = step_copies(comments or [], key, identity)
    except TrackerError as error:
        log.warning("%s: could not check for a second copy of a step (%s)", key, error)
        return []
    stays: set[tuple[str, int]] = set()  # steps of which this run's later copy could not be removed
    for (rule, level), group in copies.items():
        for later in group[1:]:
            log.info("%s: %s step %d was written twice at once; removing the later copy", key, rule, level)
            try:
                writer.delete_comment(key, later.id)
            except TrackerError as error:
                log.warning("%s: %s step %d is on the issue twice (two runs wrote it at once) and the later copy "
                            "could not be removed (%s): remove it by hand", key, rule, level, error)
                if later.run == run:
                    stays.add((rule, level))
    if reader.connection.cloud:
        _complete_property(writer, key, property_markers(raw, key), copies)
    return [step for step in steps if (step.rule, step.level) not in stays
            and _kept_elsewhere(copies.get((step.rule, step.level)), run)]


def _kept_elsewhere(group: list[Copy] | None, run: str) -> bool:
    """Whether the kept copy of a step this run wrote is another run's. No copy found: nothing to say."""
    return bool(group) and group[0].run != run


def _complete_property(writer: JiraWriter, key: str, stored: list[Marker],
                       copies: dict[tuple[str, int], list[Copy]]) -> None:
    """Two runs writing different steps of one issue at once each write the property whole: the later write
    drops the earlier's marker. Put back each marker this run wrote whose step's kept comment is its own."""
    have = {(m.rule, m.level) for m in stored}
    missing = [marker for (issue, rule, level), marker in writer.markers_written.items()
               if issue == key and (rule, level) not in have and _kept_here(copies.get((rule, level)), marker.run)]
    if missing:
        log.info("%s: another run's write dropped %d step(s) from the marker property; writing them back", key,
                 len(missing))
        try:
            writer.put_markers(key, stored + missing)
        except TrackerError as error:  # the comments still record the steps
            log.warning("%s: could not write back the marker property (%s)", key, error)


def _kept_here(group: list[Copy] | None, run: str | None) -> bool:
    return bool(group) and group[0].run == run
