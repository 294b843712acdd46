"""Read-ahead: the next page is read while the current one is evaluated, planned and written.

A run used to wait for each page's request only after the previous page was converted, evaluated and planned:
at 200 ms a request that is most of a sweep's wall time. Here the tracker's page generator runs in one
background thread (so a generator, which only its own thread may resume, stays in one thread) and hands
pages over through a queue of `depth` pages, so memory stays bounded by a few pages.

A tracker may hand over a page as a `Later`: read, but converted into issues only on the thread that takes it,
so the reader sends the next request at once instead of first converting (a GitHub page of 100 issues takes
about 25 ms to convert, an eighth of a 200 ms request, and two threads share one interpreter lock anyway).

What the run sees does not change:
- pages arrive in the tracker's order, and an exception the generator raises reaches the run as the same
  object, after the pages read before it, so errors and exit codes are the ones a sequential run gives;
- warnings logged while a page was read are handed over with that page (`log_sink`), so the run's
  warnings stay in the order a sequential run logs them;
- when the run ends early (an error, Ctrl-C), the reader stops at its next page and closes the generator in
  its own thread; a request it is waiting on is not awaited longer than `JOIN_WAIT`.

Writes stay on the run's thread, in order; an adapter's transport serializes requests across the two threads
(unless its session is safe across threads, as Jira's is) and keeps pacing writes (plugins/transport.py).
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Generic, TypeVar

from .errors import UsageError

T = TypeVar("T")

ENV = "STEWARD_READ_AHEAD"
DEFAULT_DEPTH = 2  # pages read ahead: one in the queue and one being read is enough to hide a request
JOIN_WAIT = 2.0  # seconds an ending run waits for the reader to stop
_POLL = 0.1  # seconds between checks for a stopped run while the queue is full
SWITCH_INTERVAL = 0.0005  # seconds a thread may hold the interpreter lock while the other waits (read-ahead)
_END = object()

# The switch interval is the interpreter's, not a thread's: read-aheads that overlap (two runs in one process,
# on two threads) share one lowering, and the interval from before the first is restored after the last.
_switch_lock = threading.Lock()
_switch_users = 0
_switch_before = 0.0


def _lower_switch_interval() -> None:
    global _switch_users, _switch_before
    with _switch_lock:
        if _switch_users == 0:
            _switch_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_before, SWITCH_INTERVAL))
        _switch_users += 1


def _restore_switch_interval() -> None:
    global _switch_users
    with _switch_lock:
        _switch_users -= 1
        if _switch_users == 0:
            sys.setswitchinterval(_switch_before)


class Later(Generic[T]):
    """A page read but not yet converted: `convert()` gives it, on the thread that uses the page (`resolved`).
    Warnings the conversion logs are then logged where a sequential run logs them: after the page's reading."""

    def __init__(self, convert: Callable[[], T]):
        self.convert = convert


def resolved(pages: Iterator[T | Later[T]]) -> Iterator[T]:
    """The pages of a tracker's `fetch`, each `Later` among them converted here, as it is reached."""
    for page in pages:
        yield page.convert() if isinstance(page, Later) else page


def depth_from(env: Mapping[str, str]) -> int:
    """Pages to read ahead: `STEWARD_READ_AHEAD` (0 reads page by page, as before), else DEFAULT_DEPTH."""
    text = (env.get(ENV) or "").strip()
    if not text:
        return DEFAULT_DEPTH
    if not text.isdigit() or int(text) > 16:
        raise UsageError(f"{ENV} must be a number of pages from 0 (no read-ahead) to 16, got {text!r}")
    return int(text)


def default_depth() -> int:
    return depth_from(os.environ)


class ThreadLog(logging.Handler):
    """Messages of records at WARNING and above. Those logged on the reader thread wait in `held` until the
    reader hands them over with their page, so the sink's order is a sequential run's."""

    def __init__(self, sink: list[str]):
        super().__init__(logging.WARNING)
        self.sink = sink
        self.reader: int | None = None  # the reader thread's ident while one runs
        self.held: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.reader is not None and threading.get_ident() == self.reader:
            self.held.append(record.getMessage())
        else:
            self.sink.append(record.getMessage())

    def take_held(self) -> list[str]:
        held, self.held = self.held, []
        return held


class ReadAhead(Generic[T]):
    """Iterate over `pages` (a generator, not yet started) with up to `depth` pages read ahead in a thread."""

    def __init__(self, pages: Iterator[T | Later[T]], depth: int, log: ThreadLog | None = None,
                 name: str = "steward-read-ahead"):
        self.pages = pages
        self.log = log
        self.queue: queue.Queue[tuple[object, list[str]]] = queue.Queue(maxsize=max(depth, 1))
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._read, name=name, daemon=True)
        self._lowered = False  # this read-ahead holds the switch interval lowered

    def _held(self) -> list[str]:
        return self.log.take_held() if self.log is not None else []

    def _put(self, item: object) -> bool:
        """Hand over one item with the warnings logged while reading it; False once the run stopped."""
        entry = (item, self._held())
        while not self.stopped.is_set():
            try:
                self.queue.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        if self.log is not None:
            self.log.reader = threading.get_ident()
        try:
            for page in self.pages:
                if not self._put(page):
                    break
            else:
                self._put(_END)
        except BaseException as error:  # handed to the run, which raises it as a sequential read would
            self._put(error)
        finally:
            if self.stopped.is_set():
                try:
                    close = getattr(self.pages, "close", None)
                    if close is not None:
                        close()
                except Exception:  # noqa: BLE001 - the run already ended with its own outcome
                    pass

    def __enter__(self) -> Iterator[T]:
        # While the run's thread computes, the reader waits for the interpreter lock each time a socket read
        # returns, up to the switch interval (5 ms by default) a time, several times per answer: measured 17 ms
        # between one GitHub answer and the next request, 12 ms at SWITCH_INTERVAL.
        _lower_switch_interval()
        self._lowered = True
        try:
            self.thread.start()
        except BaseException:
            self._restore()
            raise
        return resolved(self._pages())

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.stop()
        finally:
            self._restore()

    def _restore(self) -> None:
        """Give back this read-ahead's lowering once, however often it is exited."""
        if self._lowered:
            self._lowered = False
            _restore_switch_interval()

    def _pages(self) -> Iterator[T | Later[T]]:
        while True:
            item, held = self.queue.get()
            if self.log is not None:
                self.log.sink.extend(held)
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def stop(self) -> None:
        """End the reader: it stops at its next page. What it read beyond the run's last page, and the
        warnings that reading logged, are dropped: a sequential run would never have read them."""
        self.stopped.set()
        while True:  # free a reader blocked on a full queue
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(JOIN_WAIT)
        if self.log is not None:
            self.log.reader = None
            self.log.take_held()


def pages_of(fetch: Callable[[], Iterator[T | Later[T]]], depth: int,
             log: ThreadLog | None = None) -> AbstractContextManager[Iterator[T]]:
    """The pages `fetch()` yields, read `depth` pages ahead and converted on this thread, as a context that
    stops the reader on leaving (depth 0: read in this thread, one page after the other, exactly as before)."""
    pages = fetch()
    return nullcontext(resolved(pages)) if depth <= 0 else ReadAhead(pages, depth, log)
