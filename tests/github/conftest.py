"""Shared fixtures for the GitHub adapter tests: vcrpy cassettes (never the network) and a fake clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import vcr

from steward.plugins.github import tracker as gh_tracker
from steward.plugins.github import transport as gh_transport

HERE = Path(__file__).parent
CASSETTES = HERE / "cassettes"
PAYLOADS = HERE / "payloads"
TOKEN = "test-token-not-real"
RUN = "c0ffee01"  # the run id the cassettes' markers carry (make_cassettes.RUN)


def _json(request):
    body = request.body
    if body in (None, b"", ""):
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        return json.loads(body)
    except ValueError:
        return body


def steward_body(r1, r2):
    """GraphQL: same variables. Writes: same JSON, or the recorded `__contains__` text is in the sent body."""
    a, b = _json(r1), _json(r2)
    if a is None or b is None:
        assert a is None and b is None, (a, b)
        return
    for sent, recorded in ((a, b), (b, a)):
        if isinstance(recorded, dict) and "__contains__" in recorded:
            assert isinstance(sent, dict) and recorded["__contains__"] in str(sent.get("body")), sent
            return
    if isinstance(a, dict) and "variables" in a:
        assert a.get("variables") == b.get("variables"), (a.get("variables"), b.get("variables"))
        return
    assert a == b, (a, b)


def make_vcr() -> vcr.VCR:
    recorder = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none",
                       match_on=["method", "host", "path", "query", "steward_body"],
                       filter_headers=["authorization"], decode_compressed_response=True)
    recorder.register_matcher("steward_body", steward_body)
    return recorder


@pytest.fixture
def cassette():
    recorder = make_vcr()

    def use(name: str):
        return recorder.use_cassette(f"{name}.yaml")

    return use


class FakeTime:
    """Monotonic clock and sleeper: sleeping only moves the clock and is recorded."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds

    @staticmethod
    def wall() -> float:
        return 1558354820.0  # 10 s before the x-ratelimit-reset recorded in primary_limit_reset.yaml


@pytest.fixture
def fake_time(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(gh_transport, "CLOCK", fake.clock)
    monkeypatch.setattr(gh_transport, "SLEEP", fake.sleep)
    monkeypatch.setattr(gh_transport, "WALL_CLOCK", fake.wall)
    return fake


@pytest.fixture
def github_env(monkeypatch, tmp_path, fake_time):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    for name in ("GITHUB_API_URL", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "STEWARD_GITHUB_LOGIN",
                 "STEWARD_GITHUB_READS", "STEWARD_GITHUB_PRIORITY_PREFIX", "GITHUB_REPOSITORY", "GH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setattr(gh_tracker, "new_run_id", lambda: RUN)  # a run's markers name it: pinned, as recorded
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    return {"summary": summary, "output": output, "time": fake_time}
