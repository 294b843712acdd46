"""The files board read one issue at a time (plugins/files/stream.py) reads what `json.load` reads, and a run
that read it so writes the same board as a run that read it whole."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import DEMO_BOARD
from steward.core import report, rulefile
from steward.core.runner import Runner, RunOptions
from steward.plugins.files import stream
from steward.plugins.files import tracker as files_tracker
from steward.plugins.files.tracker import FilesTracker

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12)


def streamed(data: bytes) -> dict:
    board: dict = {"issues": []}
    for key, value in stream.top_level(io.BytesIO(data)):
        if key == "issue":
            board["issues"].append(value)
        else:
            board[key] = value
    return board


@settings(max_examples=300, deadline=None)
@given(issues=st.lists(json_values, max_size=6), people=st.dictionaries(st.text(max_size=4), st.text(max_size=6)),
       extra=st.dictionaries(st.sampled_from(["version", "name", "x"]), json_values, max_size=2),
       chunk=st.integers(1, 16), indent=st.sampled_from([None, 0, 2]), ascii_only=st.booleans())
def test_every_issue_and_key_as_json_load_reads_them(issues, people, extra, chunk, indent, ascii_only):
    board = {"people": people, **extra, "issues": issues}
    data = json.dumps(board, indent=indent, ensure_ascii=ascii_only).encode("utf-8")
    before, stream.CHUNK = stream.CHUNK, chunk  # values cut at every possible place between chunks
    try:
        assert streamed(data) == json.loads(data)
    finally:
        stream.CHUNK = before


@pytest.mark.parametrize("text", ['[]', '{"issues": {}}', '{"people": {}}', '{"issues": [1,]}', '{"issues": [1] x',
                                  '{"issues": [], "issues": []}', '\ufeff{"issues": []}', '{"issues": [{"a": 1}',
                                  '', '{"issues": [] } {}'])
def test_other_shapes_and_errors_are_left_to_the_whole_read(text):
    with pytest.raises(stream.Unreadable):
        streamed(text.encode("utf-8"))
    with pytest.raises(ValueError):
        board = json.loads(text)
        if not isinstance(board, dict) or not isinstance(board.get("issues"), list):
            raise ValueError("not a board")
        if text.count('"issues"') > 1:
            raise ValueError("json.load keeps the last of two keys: the whole read handles it")


def test_invalid_utf8_is_left_to_the_whole_read():
    with pytest.raises(stream.Unreadable):
        streamed(b'{"issues": [{"key": "A-1", "title": "\xff"}]}')


def odd_board(tmp_path: Path) -> Path:
    """The demo board with what the rewrite must keep in place: a keyless issue, a second OPS-101, a digest."""
    board = json.loads(DEMO_BOARD.read_text(encoding="utf-8"))
    board["issues"][3:3] = [{"title": "no key"}, "not an issue", dict(board["issues"][0], title="second copy")]
    board["issues"].append({"key": "DIGEST-2026-W46", "type": "digest", "reporter": "steward",
                            "steward_digest": {"period": "2026-W46", "sent": []}})
    path = tmp_path / "board.json"
    path.write_text(json.dumps(board, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("page_size", [4, 500])
def test_an_apply_on_a_streamed_board_writes_what_a_whole_read_writes(tmp_path, monkeypatch, page_size):
    monkeypatch.setattr(files_tracker, "PAGE_SIZE", page_size)
    rules = rulefile.load(rulefile.default_specs())
    results = []
    for whole in (True, False):
        board = odd_board(tmp_path)  # the same path both times: warnings name it
        with monkeypatch.context() as patch:
            if whole:
                patch.setattr(stream, "top_level", lambda handle: (_ for _ in ()).throw(stream.Unreadable("x")))
            plan = Runner(FilesTracker(str(board)), rules, RunOptions(now=NOW, apply=True)).run()
        results.append((report.render(plan, rules, NOW, "apply", "json"), board.read_bytes()))
    assert json.loads(results[0][0])["actions"] and len(json.loads(results[0][0])["warnings"]) == 3
    assert results[1] == results[0]
