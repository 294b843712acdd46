"""The files tracker plugin: a JSON board on disk (the demo board, exports, offline rehearsals).

Rooms: tracker.py (the board's issues as model issues, and the writes) · board.py (reading and writing the
file: the run's lock, atomic replacement, permissions, stale temporary files).
"""

from __future__ import annotations

from steward.core.hookspecs import hookimpl


@hookimpl
def register_trackers(register):
    register("files", "steward.plugins.files.tracker:make_tracker")
