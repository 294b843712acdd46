"""Shared test helpers: the demo board, a pinned `now`, and the CLI runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from steward.cli import cli
from steward.core.readahead import resolved

ROOT = Path(__file__).resolve().parent.parent
DEMO_BOARD = ROOT / "examples" / "board.json"
DEMO_NOW = "2026-11-20T09:00:00Z"


def copy_board(tmp_path: Path) -> Path:
    target = tmp_path / "board.json"
    shutil.copy(DEMO_BOARD, target)
    return target


def write_board(tmp_path: Path, issues: list[dict]) -> Path:
    target = tmp_path / "board.json"
    target.write_text(json.dumps({"issues": issues}), encoding="utf-8")
    return target


def steward(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_json(command: str, board: Path, *extra: str, now: str = DEMO_NOW) -> dict:
    result = steward(command, "--tracker", f"files:{board}", "--now", now, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def record_reads(tracker) -> list[str]:
    """The keys of the issues the tracker's `fetch` hands out, in order, filled in as a run reads them."""
    seen: list[str] = []
    fetch = tracker.fetch

    def recording(query, since=None):
        for page in resolved(fetch(query, since)):
            seen.extend(issue.key for issue in page)
            yield page

    tracker.fetch = recording
    return seen
