"""The Jira tracker plugin (Jira Cloud and Data Center / Server).

Registered by name, so the `jira` client library is imported only when `--tracker jira` is opened.

Rooms: transport.py (session, retries, error wording) · parse.py (JSON to model issues) · pushdown.py
(JQL and fields the rules need) · read.py (search pages, cut changelogs and comments) · write.py (one edit
per issue) · tracker.py (the Tracker that wires them).
"""

from __future__ import annotations

from steward.core.hookspecs import hookimpl


@hookimpl
def register_trackers(register):
    register("jira", "steward.plugins.jira.tracker:make_tracker")
