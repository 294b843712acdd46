"""Fixtures of the contract tests: the scenario runs (once per session) and a checked simulator server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sim.jira import CLOUD, DATACENTER
from sim.server import SimServer

from contract import scenarios
from contract.known import unlisted
from contract.scenarios import Checked


@pytest.fixture(scope="session")
def jira_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Checked]:
    return {f"jira-{flavor}": scenarios.jira(flavor, tmp_path_factory.mktemp(flavor))
            for flavor in (CLOUD, DATACENTER)}


@pytest.fixture(scope="session")
def github_run(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    return scenarios.github(tmp_path_factory.mktemp("github"))


@pytest.fixture
def checked_server() -> Iterator[Callable[..., SimServer]]:
    """`checked_server(app, contract, tracker)`: a SimServer that checks every request and answer; the test
    that used it fails at teardown if any violation not listed in known.py was found."""
    servers: list[tuple[SimServer, str]] = []

    def make(app: object, contract: object, tracker: str, **options: object) -> SimServer:
        server = SimServer(app, contract=contract, **options)  # type: ignore[arg-type]
        servers.append((server, tracker))
        return server

    yield make
    found = [message for server, tracker in servers for message in unlisted(tracker, server.violations)]
    if found:
        pytest.fail("the simulator saw requests or gave answers its vendor's description does not allow:\n"
                    + "\n".join(found[:20]), pytrace=False)
