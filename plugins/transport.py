"""HTTP for tracker adapters: one retry policy, one timeout setting, one way to fail.

Each adapter keeps its own client library (`jira`, PyGithub) and turns one exchange into either a result or
a `Failure` that says what happened (status, headers, the vendor's message, whether it was rate limiting).
Everything after that is decided here, the same way for every tracker:
- a rate-limited request is waited out (`Retry-After`, else `X-RateLimit-Reset`, else backoff) and sent
  again: the server refused it, so nothing was written;
- a read that failed with a 5xx or a lost connection is retried with jittered backoff;
- a write that failed that way may or may not have landed: it is never sent again blind. `write_once`
  asks the adapter to look (its `landed` check reads the marker back) before each new attempt;
- everything else is an error whose message the adapter words for the user. No message ever carries a
  credential: URLs are shown without their user-info part.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from steward.core.errors import TrackerError
from steward.core.text import public_url
from steward.core.timeutil import parse_time

T = TypeVar("T")

ATTEMPTS = 5  # tries per request, the first included
MAX_WAIT = 900.0  # seconds; a longer wait asked by a server is reported instead of slept through
MAX_BACKOFF = 60.0
TIMEOUT_ENV = "STEWARD_HTTP_TIMEOUT"
BURST = 5  # writes a pacer lets through unspaced before it spaces them


class Failure(Exception):
    """One exchange that did not succeed. `status` is None when no answer arrived (reset, timeout, refused)."""

    def __init__(self, status: int | None, detail: str, headers: Mapping[str, str] | None = None, *,
                 rate_limited: bool = False, data: Any = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.rate_limited = rate_limited or status == 429
        self.data = data


class Exhausted(TrackerError):
    """A request that still failed after every retry: the server kept failing (5xx) or never answered.
    `failure` is the last attempt's, so an adapter can try a smaller request instead."""

    def __init__(self, message: str, failure: Failure):
        super().__init__(message)
        self.failure = failure


class Uncertain(Exception):
    """A write failed in a way that does not say whether it landed (5xx, connection lost)."""


def read_timeout(env: Mapping[str, str], default: float) -> float:
    """Seconds to wait for an answer: `STEWARD_HTTP_TIMEOUT` when set, else the adapter's default."""
    text = (env.get(TIMEOUT_ENV) or "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < math.inf:
        raise TrackerError(f"{TIMEOUT_ENV} must be a number of seconds above 0, got {text!r}")
    return seconds


@dataclass
class RetryPolicy:
    """How long to wait and how often to try. `sleep`, `clock` (wall time) and `jitter` are injectable."""

    attempts: int = ATTEMPTS
    max_wait: float = MAX_WAIT
    rate_limit_floor: float = 0.0  # seconds to wait on a rate limit that names no time (GitHub: a minute)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    jitter: Callable[[], float] = random.random
    not_before: float = field(default=0.0, init=False)

    def backoff(self, attempt: int) -> float:
        return min(2.0 ** attempt, MAX_BACKOFF) * (0.5 + self.jitter() / 2)

    def server_delay(self, headers: Mapping[str, str]) -> float | None:
        """The wait a server asks for: `Retry-After` (seconds), else `X-RateLimit-Reset` (epoch or ISO time)."""
        retry_after = headers.get("retry-after")
        if retry_after:
            try:
                return max(float(retry_after), 1.0)
            except ValueError:
                pass
        reset = headers.get("x-ratelimit-reset")
        if reset:
            try:
                at = float(reset)
            except ValueError:
                try:
                    at = parse_time(reset).timestamp()
                except ValueError:
                    return None
            return max(at - self.clock(), 0.0) + 1.0
        return None

    def rate_limit_delay(self, failure: Failure, attempt: int) -> float:
        delay = self.server_delay(failure.headers)
        if delay is not None:
            return delay
        return self.rate_limit_floor * 2 ** attempt if self.rate_limit_floor else self.backoff(attempt)

    def note(self, headers: Mapping[str, Any]) -> None:
        """A quota at 0 with a reset time: the next request waits for the reset."""
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
        if lowered.get("x-ratelimit-remaining") == "0":
            delay = self.server_delay(lowered)
            if delay is not None:
                self.not_before = self.clock() + delay

    def wait(self, seconds: float, what: str, tracker: str) -> None:
        if seconds > self.max_wait:
            raise TrackerError(f"{tracker} asks to wait {seconds:.0f}s before {what}; giving up (limit "
                               f"{self.max_wait:.0f}s). Run again later or lower --max-actions.")
        if seconds > 0:
            self.sleep(seconds)

    def before_request(self, what: str, tracker: str) -> None:
        if self.not_before > self.clock():
            self.wait(self.not_before - self.clock(), what, tracker)


class Pacer:
    """Spaces writes for a tracker's write limits: at most `per_minute` in any minute and `per_hour` in any
    hour, and `60 / per_minute` seconds apart, except that up to `burst` writes may go at once (a token
    bucket: the allowance refills at the spaced rate). An event that writes a handful of times finishes at
    once; a sweep that writes many is spaced as before. `per_minute=0` turns pacing off. Thread-safe: a run
    that reads ahead sends requests from two threads.
    """

    def __init__(self, clock: Callable[[], float], sleep: Callable[[float], None], per_minute: int,
                 per_hour: int, burst: int = BURST):
        self.clock = clock
        self.sleep = sleep
        self.per_minute = per_minute
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.per_hour = per_hour
        self.burst = max(burst, 1)
        self.allowance = float(self.burst)  # writes that may go now without waiting
        self.counted: float | None = None  # when the allowance was last brought up to date
        self.recent: deque[float] = deque()  # the times of the writes of the last hour
        self.lock = threading.Lock()

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.sleep(seconds)

    def _refill(self, now: float) -> None:
        if self.counted is not None:
            self.allowance = min(self.burst, self.allowance + (now - self.counted) / self.interval)
        self.counted = now

    def before_write(self) -> None:
        if self.interval == 0:
            return
        with self.lock:
            now = self.clock()
            while self.recent and now - self.recent[0] >= 3600:
                self.recent.popleft()
            self._refill(now)
            delay = (1.0 - self.allowance) * self.interval if self.allowance < 1.0 else 0.0
            if len(self.recent) >= self.per_minute:
                delay = max(delay, self.recent[-self.per_minute] + 60.0 - now)
            if len(self.recent) >= self.per_hour:
                delay = max(delay, self.recent[-self.per_hour] + 3600.0 - now)
            self.wait(delay)
            now = self.clock()
            self._refill(now)
            self.allowance = max(self.allowance - 1.0, 0.0)
            self.recent.append(now)


@dataclass
class Transport:
    """Sends one request with the shared policy. `explain` words a final failure for the user."""

    tracker: str  # "Jira", "GitHub": the name messages use
    base_url: str
    explain: Callable[[Failure, str], TrackerError]
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    before_write: Callable[[], None] | None = None  # pacing for trackers with write limits
    # One exchange at a time: a run that reads ahead (core/readahead.py) reads on one thread while it writes
    # on another, and the client libraries' sessions are not promised to be safe across threads. Waits
    # (pacing, backoff) happen outside it, so a paced write does not hold up a read.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    # An adapter whose session is safe for concurrent exchanges (Jira: a plain requests.Session, see
    # plugins/jira/transport.py) sends them without the lock, so several reads can be in flight at once.
    concurrent: bool = False

    def call(self, send: Callable[[], T], what: str, *, write: bool = False) -> T:
        """The result of `send()`, retried as the module docstring says. A write that may have landed raises
        Uncertain; every other final failure raises TrackerError."""
        last_failure: Failure | None = None
        for attempt in range(self.policy.attempts):
            self.policy.before_request(what, self.tracker)
            if write and self.before_write is not None:
                self.before_write()
            try:
                if self.concurrent:
                    return send()
                with self.lock:
                    return send()
            except Failure as failure:
                last_failure = failure
                last = attempt + 1 >= self.policy.attempts
                if failure.rate_limited:
                    if last:
                        break
                    self.policy.wait(self.policy.rate_limit_delay(failure, attempt), what, self.tracker)
                    continue
                if failure.status is None or failure.status >= 500:
                    if write:
                        raise Uncertain(failure.detail) from None
                    # A refused or unresolvable address will not come back within seconds: do not linger.
                    if last or (failure.status is None and attempt >= 2):
                        break
                    delay = self.policy.server_delay(failure.headers) or self.policy.backoff(attempt)
                    self.policy.wait(delay, what, self.tracker)
                    continue
                raise self.explain(failure, what) from None
        assert last_failure is not None
        if last_failure.status is None:
            raise Exhausted(f"cannot reach {self.tracker} at {public_url(self.base_url)} while {what} "
                            f"({last_failure.detail}): check the URL, the network and any proxy", last_failure)
        raise Exhausted(f"{self.tracker} kept answering HTTP {last_failure.status} while {what}; tried "
                        f"{self.policy.attempts} times. Run again later.", last_failure)

    def write_once(self, send: Callable[[], T], what: str, *, landed: Callable[[], bool] | None,
                   idempotent: bool = False) -> T | None:
        """A write that must land exactly once. After an uncertain failure it is sent again only when
        `landed()` says it did not land (or it is `idempotent`); returns None when it had landed."""
        for attempt in range(self.policy.attempts):
            try:
                return self.call(send, what, write=True)
            except Uncertain as uncertain:
                if landed is None and not idempotent:
                    raise TrackerError(f"{what} failed ({uncertain}); it was not sent again because nothing "
                                       "tells whether it landed") from None
                # Give the server a moment to finish what it may have started, then look. Checked after every
                # failure, the last one included: a lost answer may hide a write that landed.
                self.policy.wait(self.policy.backoff(attempt), what, self.tracker)
                if landed is not None and landed():
                    return None
                if attempt + 1 == self.policy.attempts:
                    raise TrackerError(f"{what} failed {self.policy.attempts} times ({uncertain}); the next run "
                                       "will try again (nothing will be repeated)") from None
        raise AssertionError("unreachable")
