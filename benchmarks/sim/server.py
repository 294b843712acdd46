"""A stateful HTTP server on 127.0.0.1 for tracker simulators: latency, request counts and injected faults.

A simulator is an `App`: it answers `handle(request)` with a `Response` and names the request's kind
("search", "edit", ...), so tests and benchmarks can count requests by kind. The server adds what real
trackers do to clients: latency (the time from a request to its answer), 429 with Retry-After, 5xx,
connection resets, a write that lands but whose answer is lost, and answers slower than the client's timeout.

A `Contract` may be attached: every request that arrives is checked against it (faulted ones included) and
every answer the app gives (not the injected faults); what it finds is kept in `SimServer.violations`.
Contracts check requests and answers against the vendor's own API description: tests/contract/.
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = ("rate_limit", "server_error", "reset", "lost_response", "slow")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    payload: bytes | None = None  # the encoded body, once SimServer.serve has encoded it

    def encoded(self) -> bytes:
        if self.payload is not None:
            return self.payload
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class Violation:
    """A request, or an answer, that the vendor's API description does not allow."""

    operation: str  # such as "GET /rest/api/2/search": the described operation, or the raw path if none
    side: str  # "request": the client sent it; "response": the simulator answered it
    message: str

    def __str__(self) -> str:
        return f"{self.side} {self.operation}: {self.message}"


class Contract(Protocol):
    def check_request(self, request: Request) -> list[Violation]:
        """What is wrong with this request (empty: nothing)."""

    def check_response(self, request: Request, response: Response) -> list[Violation]:
        """What is wrong with this answer to this request."""


class App(Protocol):
    def kind(self, request: Request) -> str:
        """A short name for what the request does, such as "search" or "edit"."""

    def is_write(self, request: Request) -> bool:
        """Whether the request changes state (a lost response then means: it landed)."""

    def handle(self, request: Request) -> Response:
        """Answer the request, changing state if it is a write."""


@dataclass
class Faults:
    """Which faults to inject: `rate` of all requests at random (seeded), or `script`ed for the next ones.

    `script` is a list of (kind of request, fault) consumed in order as matching requests arrive; it
    makes single-fault tests exact. Random faults use `kinds` and never hit the same request twice in a
    row, so a client with retries always gets through.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    retry_after: float = 1.0
    slow_seconds: float = 3.0
    script: list[tuple[str, str]] = field(default_factory=list)
    injected: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._last_faulted = False

    def pick(self, kind: str) -> str | None:
        for index, (wanted, fault) in enumerate(self.script):
            if wanted in (kind, "*"):
                del self.script[index]
                return fault
        if self.rate and not self._last_faulted and self._random.random() < self.rate:
            self._last_faulted = True
            return self._random.choice(self.kinds)
        self._last_faulted = False
        return None


class SimServer:
    """Runs an App on 127.0.0.1 in a background thread. Use as a context manager; `url` is the base URL."""

    def __init__(self, app: App, *, latency: float = 0.0, faults: Faults | None = None,
                 after: Callable[[str], None] | None = None, contract: Contract | None = None):
        self.app = app
        self.contract = contract
        self.violations: list[Violation] = []
        self.after = after  # called with the request's kind once it is handled: kill tests use it
        self.latency = latency
        self.faults = faults or Faults()
        self.counts: Counter = Counter()
        # Seconds the simulator itself spent answering, by kind (building and encoding answers, under its
        # lock): time a real tracker spends on its own machines, which the benchmarks report beside latency.
        self.busy: Counter = Counter()
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> SimServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requests(self, *kinds: str) -> int:
        """How many requests of these kinds arrived (all kinds when none given), faulted ones included."""
        with self.lock:
            return sum(self.counts.values()) if not kinds else sum(self.counts[k] for k in kinds)

    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()
            self.busy.clear()

    def busy_seconds(self, *kinds: str) -> float:
        """Seconds spent answering requests of these kinds (all kinds when none given)."""
        with self.lock:
            return sum(self.busy.values()) if not kinds else sum(self.busy[k] for k in kinds)

    def serve(self, request: Request) -> tuple[str | None, Response | None]:
        """Count, inject a fault or answer. Returns (fault, response); no response means drop the connection."""
        arrived = time.perf_counter()
        kind = self.app.kind(request)
        if self.contract is not None:
            self._record(self.contract.check_request(request))
        with self.lock:
            self.counts[kind] += 1
            fault = self.faults.pick(kind)
            if fault:
                self.faults.injected[fault] += 1
        if fault and self.latency:
            time.sleep(self.latency)
        if fault == "rate_limit":
            return fault, Response(429, {"message": "rate limited (simulated)"},
                                   {"Retry-After": str(self.faults.retry_after)})
        if fault == "server_error":
            return fault, Response(503, {"message": "unavailable (simulated)"})
        if fault == "forbidden":  # a refusal, scripted only: the token lacks the permission to write
            return fault, Response(403, {"message": "Resource not accessible by integration (simulated)",
                                         "errorMessages": ["You do not have permission (simulated)."]})
        if fault == "reset":
            return fault, None
        if fault == "slow":
            time.sleep(self.faults.slow_seconds)
            return fault, None
        with self.lock:
            started = time.perf_counter()
            response = self.app.handle(request)
            response.payload = response.encoded()  # encoded once, here, so its cost counts as the simulator's
            self.busy[kind] += time.perf_counter() - started
        if self.contract is not None:
            self._record(self.contract.check_response(request, response))
        # An answer leaves `latency` after its request arrived, the simulator's own work included: a tracker
        # works on its own machines while the client waits, so `latency` is the time a request takes.
        remaining = self.latency - (time.perf_counter() - arrived)
        if remaining > 0:
            time.sleep(remaining)
        if self.after is not None:
            self.after(kind)
        if fault == "lost_response":
            return fault, None
        return None, response


    def _record(self, found: list[Violation]) -> None:
        if found:
            with self.lock:
                self.violations.extend(found)


def _handler_for(sim: SimServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read counts, not logs
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes; with Nagle's algorithm on, the body waits for the client's
            # delayed ACK (40 ms on Linux), which would add 40 ms to every answer and swamp simulated latency.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                              {k.lower(): v for k, v in self.headers.items()}, body)
            _, response = sim.serve(request)
            if response is None:
                self._drop()
                return
            payload = response.encoded()
            self.send_response(response.status)
            if not any(name.lower() == "content-type" for name in response.headers):
                self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _drop(self) -> None:
            """Reset the connection (RST, not FIN), as a proxy or a crashed node would."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler
