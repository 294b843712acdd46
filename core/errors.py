"""Errors a user can act on, each with the exit code the command line ends with.

Commands (built-in or a plugin's) raise these; the command line prints the one-line message and exits with
the code, never a traceback. Messages never carry a credential.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class StewardError(Exception):
    """A problem the user can fix: the message says what and how."""

    exit_code = EXIT_USAGE


class UsageError(StewardError):
    """The command was asked for something it cannot do: a bad option, a missing file, an unknown rule."""


class TrackerError(StewardError):
    """A tracker problem a user can act on: the message says what and how, never a credential."""


def run_exit_code(findings: int, fail_on_findings: bool) -> int:
    """The exit code of a finished run: 1 with findings under --fail-on-findings, else 0."""
    return EXIT_FINDINGS if fail_on_findings and findings else EXIT_OK
