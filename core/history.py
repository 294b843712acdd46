"""The history file: one row per recorded run (its time, mode, tracker and measures), append-only SQLite.

Steward needs no database to be correct; this one only remembers counts so the governance report can
draw them over time. The schema is created on first use. A Steward history file is recognised by the
SQLite header's application id, so pointing `--history` at some other file is an error, not a
silent new table in someone else's database.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .timeutil import format_time, parse_time, utcnow

APPLICATION_ID = 0x53545744  # "STWD"
SCHEMA_VERSION = 2  # 2 added the work mix (mix_* columns); a version 1 file gains them when opened
# The measures of core.review.Review.measures(), one column each, so the file is easy to query by hand.
COLUMNS = (
    ("issues", "INTEGER"), ("findings", "INTEGER"), ("high_critical", "INTEGER"), ("no_owner", "INTEGER"),
    ("priority_changes", "INTEGER"), ("priority_explained", "INTEGER"), ("escalations", "INTEGER"),
    ("followed_up", "INTEGER"), ("median_follow_up_hours", "REAL"), ("waiting", "INTEGER"),
    ("steps", "INTEGER"), ("deferred", "INTEGER"),
    ("mix_strategic", "INTEGER"), ("mix_operational", "INTEGER"), ("mix_tactical", "INTEGER"),
    ("mix_unclassified", "INTEGER"),
)
_ADDED_IN_2 = ("mix_strategic", "mix_operational", "mix_tactical", "mix_unclassified")
_NAMES = [name for name, _ in COLUMNS]
_SCHEMA = f"""
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,           -- the run's time (--now), ISO-8601 UTC
    recorded_at TEXT NOT NULL,  -- wall-clock time the row was written
    mode TEXT NOT NULL,         -- plan | apply | report
    tracker TEXT NOT NULL,      -- the --tracker value
    query TEXT,                 -- the --query value, NULL when none
    {", ".join(f"{name} {kind}" for name, kind in COLUMNS)}
);
CREATE INDEX runs_by_source ON runs (tracker, query, at);
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""


class HistoryError(Exception):
    pass


@dataclass(frozen=True)
class Run:
    at: datetime
    mode: str
    measures: dict[str, Any]


class History:
    """A history file, checked (or created) when opened, so a bad path fails before a run writes anything."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with closing(self._connect()):
            pass

    def _connect(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise HistoryError(f"history file {self.path} is a directory")
        not_ours = f"{self.path} is not a Steward history file"
        try:
            connection = sqlite3.connect(self.path)
        except sqlite3.Error as error:
            raise HistoryError(f"cannot open history file {self.path}: {error}") from None
        try:
            application = connection.execute("PRAGMA application_id").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if application == 0 and tables == 0:
                connection.executescript(_SCHEMA)
            elif application != APPLICATION_ID:
                raise HistoryError(f"{not_ours} (an SQLite database of something else); "
                                   "give --history a new file name")
            elif version > SCHEMA_VERSION:
                raise HistoryError(f"history file {self.path} was written by a newer Steward "
                                   f"(schema {version}, this one reads {SCHEMA_VERSION})")
            elif version < SCHEMA_VERSION:
                _upgrade(connection, version)
        except sqlite3.Error as error:
            connection.close()
            raise HistoryError(f"{not_ours} ({error})") from None
        except HistoryError:
            connection.close()
            raise
        return connection

    def append(self, at: datetime, mode: str, tracker: str, query: str | None, measures: dict[str, Any]) -> None:
        row = [format_time(at), format_time(utcnow()), mode, tracker, query] + [measures.get(n) for n in _NAMES]
        marks = ", ".join("?" * len(row))
        try:
            with closing(self._connect()) as connection, connection:
                connection.execute(
                    f"INSERT INTO runs (at, recorded_at, mode, tracker, query, {', '.join(_NAMES)}) VALUES ({marks})",
                    row)
        except sqlite3.Error as error:
            raise HistoryError(f"cannot write history file {self.path}: {error}") from None

    def runs(self, tracker: str, query: str | None) -> list[Run]:
        """The runs recorded for this tracker and query, oldest first."""
        try:
            with closing(self._connect()) as connection:
                rows = connection.execute(
                    f"SELECT at, mode, {', '.join(_NAMES)} FROM runs WHERE tracker = ? AND query IS ? "
                    "ORDER BY at, id", (tracker, query)).fetchall()
        except sqlite3.Error as error:
            raise HistoryError(f"cannot read history file {self.path}: {error}") from None
        return [Run(parse_time(at), mode, dict(zip(_NAMES, values, strict=True))) for at, mode, *values in rows]


def _upgrade(connection: sqlite3.Connection, version: int) -> None:
    """Bring an older file up to this schema; earlier rows keep NULL for what they lacked. The write lock is
    taken first, so two runs opening the same old file at once upgrade it once."""
    connection.isolation_level = None  # explicit transactions: BEGIN IMMEDIATE below
    connection.execute("BEGIN IMMEDIATE")
    try:
        have = {row[1] for row in connection.execute("PRAGMA table_info(runs)")}
        if version < 2:
            for name in _ADDED_IN_2:
                if name not in have:
                    connection.execute(f"ALTER TABLE runs ADD COLUMN {name} INTEGER")
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    finally:
        connection.isolation_level = ""


def thin(runs: list[Run], limit: int) -> list[Run]:
    """At most `limit` runs for a chart: beyond that, the last run of each day, then the latest days."""
    if len(runs) <= limit:
        return runs
    by_day: dict[str, Run] = {}
    for run in runs:
        by_day[run.at.date().isoformat()] = run
    return list(by_day.values())[-limit:]
