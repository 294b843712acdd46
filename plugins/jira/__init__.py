"""The Jira tracker plugin (Jira Cloud and Data Center / Server).

Registered by name, so the `jira` client library is imported only when `--tracker jira` is opened.

Rooms: transport.py (session, retries, error wording) · parse.py (JSON to model issues) · fields.py (the rule
files' mapped fields: names through `/field`, values by type, pushdown and edits) · hierarchy.py (parent,
children joined across pages, Blocks links, components) · pushdown.py
(JQL and fields the rules need) · read.py (a snapshot of the matching ids, issues by key, cut changelogs and
comments) · write.py (one edit per issue, the marker property, deleting a second copy) · reconcile.py
(re-check before writing, one copy per step after) · tracker.py (the Tracker that wires them).
"""

from __future__ import annotations

from steward.core.hookspecs import hookimpl


@hookimpl
def register_trackers(register):
    register("jira", "steward.plugins.jira.tracker:make_tracker")
