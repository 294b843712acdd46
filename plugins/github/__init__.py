"""The GitHub Issues tracker plugin (GitHub.com and GitHub Enterprise Server) and `steward event`.

The tracker is registered by name, so PyGithub is imported only when `--tracker github:...` is opened.

Rooms: transport.py (requester, retries, pacing, error wording) · queries.py (the GraphQL documents) ·
parse.py (JSON to model issues) · read.py (sweeps, one issue, a page of issues by number, the REST
fallback) · write.py (comments first, then labels, assignees, state) · comments.py (what later edits change
in Steward's comments, which copy of a step stays) · tracker.py (the Tracker that wires them: re-check and
reconcile) · event.py (`steward event`).
"""

from __future__ import annotations

from steward.core.hookspecs import hookimpl

from .event import event


@hookimpl
def register_trackers(register):
    register("github", "steward.plugins.github.tracker:make_tracker")


@hookimpl
def register_commands(cli):
    cli.add_command(event)
