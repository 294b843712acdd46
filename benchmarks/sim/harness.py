"""Run `steward` as a separate process against a simulator, and kill it with SIGKILL at a chosen request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Collection, Mapping

from .server import SimServer


def steward_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "steward.cli", *args]


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a steward child process: no entry-point plugins, the tracker's credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "GITHUB_"))}
    env.update({"STEWARD_DISABLE_PLUGINS": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def run(args: list[str], env: Mapping[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(steward_command(*args), env=child_env(env), capture_output=True, text=True,
                          timeout=timeout)


def run_killed_at(server: SimServer, args: list[str], env: Mapping[str, str], kind: str | Collection[str],
                  count: int, timeout: float = 300) -> subprocess.CompletedProcess | None:
    """Run steward and SIGKILL it once the simulator has handled the `count`-th request of `kind` in this run.

    `kind` may also be several kinds (such as every kind of write): the count then runs across all of them.

    The kill lands after the simulator changed its state and before the client reads the answer: the
    hardest moment for a client, since the write happened but the process never learns it. Returns the
    finished process when it ended before that request, else None.
    """
    process = subprocess.Popen(steward_command(*args), env=child_env(env), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    kinds = {kind} if isinstance(kind, str) else set(kind)
    handled = 0
    killed = False

    def kill(seen_kind: str) -> None:
        nonlocal handled, killed
        if seen_kind not in kinds or killed:
            return
        handled += 1
        if handled == count:
            killed = True
            os.kill(process.pid, signal.SIGKILL)

    previous, server.after = server.after, kill
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        server.after = previous
    if killed:
        return None
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
