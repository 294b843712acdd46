"""Errors a user can act on, each with the exit code the command line ends with.

Commands (built-in or a plugin's) raise these; the command line prints the one-line message and exits with
the code, never a traceback. Messages never carry a credential.
"""

from __future__ import annotations

from .model import Plan

EXIT_OK = 0
EXIT_FINDINGS = 1  # findings under --fail-on-findings, or failing rule tests
EXIT_USAGE = 2  # nothing was written: bad usage or rule file, or a tracker that failed before any write
EXIT_PARTIAL = 3  # some steps were written and some failed or were refused, or the run stopped after writes,
# or some issues could not be read and were skipped (the rest were evaluated: the run was partial)
EXIT_INTERNAL = 4  # a bug in Steward: one line on the terminal, the traceback in a crash report
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it
EXIT_BROKEN_PIPE = 141  # the reader of the output went away (`steward plan | head`), as shells report it


class StewardError(Exception):
    """A problem the user can fix: the message says what and how."""

    exit_code = EXIT_USAGE


class UsageError(StewardError):
    """The command was asked for something it cannot do: a bad option, a missing file, an unknown rule."""


class TrackerError(StewardError):
    """A tracker problem a user can act on: the message says what and how, never a credential."""


def run_exit_code(plan: Plan, fail_on_findings: bool) -> int:
    """The exit code of a finished run: failed writes first (3 when others landed, 2 when none did), then
    issues the tracker could not read and skipped (3: the run covered only part of the query), then findings
    under --fail-on-findings (1), else 0."""
    if plan.failed or plan.stopped:
        return EXIT_PARTIAL if plan.steps else EXIT_USAGE
    if plan.skipped:
        return EXIT_PARTIAL
    return EXIT_FINDINGS if fail_on_findings and plan.findings else EXIT_OK
