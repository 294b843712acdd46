"""A spooled plan (core/spool.py) reads back exactly what was decided, and reports the same bytes."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from helpers import copy_board
from steward.core import report, rulefile, spool
from steward.core.model import Action, Step
from steward.core.runner import Runner, RunOptions
from steward.core.spool import SpooledList
from steward.plugins.files import tracker as files_tracker
from steward.plugins.files.tracker import FilesTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)


def step(number: int) -> Step:
    return Step(f"OPS-{number}", "rule", 1, "low", [Action(f"OPS-{number}", "rule", 1, "comment", "x" * number)])


def test_items_read_back_in_order_by_position_and_after_removals():
    items: SpooledList[Step] = SpooledList()
    for page in range(5):
        items.extend(step(page * 10 + n) for n in range(10))
        items.remove(step(page * 10 + 3))  # the runner removes a step of the page it is writing
        items.spill()
    items.append(step(99))
    expected = [step(p * 10 + n) for p in range(5) for n in range(10) if n != 3] + [step(99)]
    assert len(items) == len(expected) and bool(items)
    assert list(items) == expected
    assert [items[i] for i in (44, 0, 17, -1)] == [expected[i] for i in (44, 0, 17, -1)]
    walked = []
    for index, item in enumerate(items):  # reading by position in between does not disturb the walk
        walked.append(item)
        assert items[len(items) - 1 - index] == expected[len(items) - 1 - index]
    assert walked == expected
    with pytest.raises(ValueError):
        items.remove(step(0))  # a spilled page is final
    with pytest.raises(IndexError):
        items[len(items)]


def test_a_disk_that_refuses_keeps_the_items_in_memory(monkeypatch):
    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(27, "File too large")

    monkeypatch.setattr(spool.tempfile, "TemporaryFile", lambda **kwargs: Full())
    items: SpooledList[Step] = SpooledList()
    items.extend([step(1), step(2)])
    items.spill()
    items.append(step(3))
    items.spill()
    assert list(items) == [step(1), step(2), step(3)] and items[1] == step(2)


@pytest.mark.parametrize("fmt", report.FORMATS)
@pytest.mark.parametrize("max_actions", [None, 3])
def test_a_spooled_run_reports_the_same_bytes(tmp_path, monkeypatch, fmt, max_actions):
    monkeypatch.setattr(files_tracker, "PAGE_SIZE", 7)  # many pages, each spilled when it is done
    rules = rulefile.load(rulefile.default_specs())
    rendered = []
    for spooled in (False, True):
        (tmp_path / str(spooled)).mkdir()
        board = copy_board(tmp_path / str(spooled))
        tracker = FilesTracker(str(board))
        plan = Runner(tracker, rules, RunOptions(now=NOW, max_actions=max_actions, spool=spooled)).run()
        assert isinstance(plan.findings, SpooledList) == spooled
        rendered.append(report.render(plan, rules, NOW, "plan", fmt))
    assert rendered[0] == rendered[1]
    assert "OPS-1" in rendered[0]
