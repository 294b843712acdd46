"""A pytest plugin that fails the session when a test credential shows up anywhere the suite leaves text.

It reads what every test printed and logged (pytest's captured sections, passing tests included), the
failure reports, every file the tests wrote under pytest's temporary directory, and the committed
cassettes. Test credentials are the fixed strings below and anything shaped `SECRET-...`; their HTTP
Basic encodings are looked for too, since that is how a leaked Authorization header would appear.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

KNOWN_TOKENS = ("test-token-not-real",)
TOKEN_SHAPE = re.compile(rb"SECRET-[A-Za-z0-9_.-]+")
BASIC_AUTH_USERS = ("ops@acme.com", "steward@example.com")
CASSETTE_DIRS = ("jira/cassettes", "github/cassettes")


def _patterns(tokens: tuple[str, ...]) -> list[bytes]:
    found = [token.encode() for token in tokens]
    for user in BASIC_AUTH_USERS:
        for token in tokens:
            found.append(base64.b64encode(f"{user}:{token}".encode()))
    return found


def leaks(data: bytes, tokens: tuple[str, ...] = KNOWN_TOKENS) -> list[str]:
    """The credentials (or their Basic encodings) present in `data`, as text for a message."""
    hits = [match.decode(errors="replace") for match in TOKEN_SHAPE.findall(data)]
    hits += [pattern.decode() for pattern in _patterns(tokens) if pattern in data]
    return sorted(set(hits))


class SecretScan:
    def __init__(self, tests_dir: Path):
        self.tests_dir = tests_dir
        self.found: list[str] = []
        self.basetemp: Path | None = None

    def _check(self, where: str, data: bytes) -> None:
        hits = leaks(data)
        if hits:
            self.found.append(f"{where}: {', '.join(hits)}")

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for section, text in report.sections:
            self._check(f"{report.nodeid} [{section}]", text.encode(errors="replace"))
        if report.longrepr is not None:
            self._check(f"{report.nodeid} [failure report]", str(report.longrepr).encode(errors="replace"))

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        factory = getattr(session.config, "_tmp_path_factory", None)
        self.basetemp = factory.getbasetemp() if factory is not None else None

    def _scan_files(self) -> None:
        roots = [self.tests_dir / name for name in CASSETTE_DIRS]
        if self.basetemp is not None:
            roots.append(self.basetemp)
        for root in roots:
            for path in sorted(root.rglob("*")) if root.is_dir() else []:
                if path.is_file() and not path.is_symlink():
                    self._check(str(path), path.read_bytes())

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._scan_files()
        if self.found:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.found:
            terminalreporter.section("test credentials leaked", red=True)
            for line in self.found:
                terminalreporter.line(line)
