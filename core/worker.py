"""The parent's side of the durable_rules worker process (core/engine.py runs durable_rules inside it).

durable_rules' native code can corrupt its heap or hang (docs/engine.md); running it in a worker process
keeps such a crash or hang from ending the run. The worker is a fresh interpreter started on first use
(`python -c "from steward.core.engine import serve; serve(FD)"`) and spoken to over a socket pair with
multiprocessing's framed pickles: a request out, an answer per ruleset back, each within a timeout. A fresh
interpreter rather than a fork: the parent may run threads (a fork keeps their locks held) and holds every
issue's facts (a fork shares and slowly copies that heap); starting one costs about 60 ms, once a run.
This module never imports durable_rules itself.
"""

from __future__ import annotations

import atexit
import signal
import socket
import subprocess
import sys
import tempfile


class WorkerFailure(Exception):
    """The durable worker crashed, hung, refused or erred: its rules fall back to the compiled evaluator."""


class Worker:
    """The parent's handle on one worker process: a request out, its answers back one by one (each within
    the timeout), death and hangs detected.

    Every request names a list of items (rulesets to create, or rulesets to assert one batch into) and the
    worker answers once per item, so the timeout bounds one ruleset's work, not a whole rule set's, and a
    crash tells which ruleset it happened in. Only one request is in flight at a time.
    """

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.registered: set[str] = set()
        ours, theirs = socket.socketpair()
        self.stderr = tempfile.TemporaryFile()
        command = [sys.executable, "-c", f"from {__package__}.engine import serve; serve({theirs.fileno()})"]
        try:
            self.process = subprocess.Popen(command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=self.stderr)
        finally:
            theirs.close()
        from multiprocessing.connection import Connection  # 20 ms at import: only when a worker starts

        self.conn = Connection(ours.detach())
        try:
            hello = self.receive()
        except WorkerFailure as error:
            raise WorkerUnavailable(f"the worker did not start: {error}") from None
        if hello[0] != "ready":
            self.stop()
            raise WorkerUnavailable(hello[1])

    def send(self, request: tuple) -> None:
        try:
            self.conn.send(request)
        except OSError:
            raise WorkerFailure(self._death()) from None

    def receive(self) -> tuple:
        """The next answer; a crash, a hang, or an error the worker reports raises WorkerFailure."""
        if not self.conn.poll(self.timeout):
            self.stop()
            raise WorkerFailure(f"durable_rules did not answer within {self.timeout:g} s (hung); worker stopped")
        try:
            answer = self.conn.recv()
        except (EOFError, OSError):
            raise WorkerFailure(self._death()) from None
        if answer[0] == "error":
            # e.g. "Could not assert facts, error code: 303": its matching stack overflowed, the same fault
            # that at other times corrupts the heap. The worker is not trusted after it: a fresh one follows.
            self.stop()
            raise WorkerFailure(f"durable_rules failed: {answer[1]}; worker stopped")
        return answer

    def _death(self) -> str:
        try:
            code = self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.stop()
            code = self.process.returncode
        how = f"killed by {signal.Signals(-code).name}" if code and code < 0 else f"exited with code {code}"
        self.stderr.seek(0)
        said = [line for line in self.stderr.read()[-2000:].decode(errors="replace").splitlines() if line.strip()]
        return f"durable_rules worker {how}" + (f" ({said[-1].strip()})" if said else "")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        self.conn.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stderr.close()


class WorkerUnavailable(WorkerFailure):
    """The worker could not start or could not import durable_rules: no worker will do better."""


_worker: Worker | None = None
_unavailable: str | None = None


def the_worker(timeout: float) -> Worker:
    """The process's one worker, started on first use and again after a crash."""
    global _worker, _unavailable
    if _unavailable is not None:
        raise WorkerUnavailable(_unavailable)
    if _worker is None or not _worker.alive():
        _worker = None
        try:
            _worker = Worker(timeout)
        except WorkerUnavailable as error:
            _unavailable = str(error)
            raise
    _worker.timeout = timeout
    return _worker


def shutdown_worker() -> None:
    """Stop the worker (at exit, and between the isolated cases of the tests)."""
    global _worker
    if _worker is not None:
        _worker.stop()
        _worker = None


atexit.register(shutdown_worker)

# Rulesets that crashed, hung or were refused, by name: never sent to a worker again in this process.
QUARANTINED: dict[str, str] = {}


def worker_max_rss_kb() -> int | None:
    """The worker's peak resident memory in KiB, for the benchmark; None without a worker."""
    if _worker is None or not _worker.alive():
        return None
    _worker.send(("rss", [None]))
    return _worker.receive()[1]
