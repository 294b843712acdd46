"""Fixtures for the Jira adapter tests: a tracker with a fake clock and sleep, and a request spy."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from jira_support import CLOUD, CLOUD_ENV  # noqa: E402

from steward.plugins.jira.tracker import JiraTracker  # noqa: E402


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def make_tracker(sleeps):
    def make(url: str = CLOUD, env: dict | None = None, **kwargs) -> JiraTracker:
        kwargs.setdefault("clock", lambda: 1_800_000_000.0)
        kwargs.setdefault("jitter", lambda: 0.5)
        return JiraTracker(url, env or CLOUD_ENV, sleep=sleeps, **kwargs)

    return make


@pytest.fixture
def sent(monkeypatch):
    """Every request the library's session actually sends: (method, url, params, parsed body)."""
    calls = []
    import requests

    original = requests.Session.request

    def spy(self, method, url, *args, **kwargs):
        data = kwargs.get("data")
        calls.append((method, url, kwargs.get("params"), json.loads(data) if data else None))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    return calls
