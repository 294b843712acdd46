"""What later edits change in Steward's comments, and which copy of a step stays (plugins/github/comments.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from steward.core.ledger import Identity
from steward.core.markers import find_changes, find_markers, format_changes, format_marker
from steward.core.model import Marker
from steward.plugins.github.comments import PostedComment, later_copies, with_pending, without_assignment

AT = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
STEWARD = Identity.of("steward-bot")


def body(rule: str = "r-1", level: int = 1, pending: tuple[str, ...] = (), run: str = "aaaa1111",
         changes: dict | None = None) -> str:
    note = f"\n\n{format_changes(changes)}" if changes else ""
    return f"Please act.{note}\n\n{format_marker(Marker(rule, level, AT, ('x',), pending, run))}"


def comment(ident: int, text: str, seconds: int = 0, author: str = "steward-bot") -> PostedComment:
    return PostedComment(str(ident), author, AT + timedelta(seconds=seconds), text)


def test_with_pending_rewrites_only_the_steps_marker_and_keeps_the_rest():
    text = body(pending=("notify_chat", "page_oncall"), changes={"add": ["x"]})
    edited = with_pending(text, "r-1", 1, ("page_oncall",))
    [marker] = find_markers(edited)
    assert marker == Marker("r-1", 1, AT, ("x",), ("page_oncall",), "aaaa1111")
    assert edited.startswith("Please act.") and find_changes(edited) == {"add": ["x"]}
    assert find_markers(with_pending(text, "r-1", 1, ()))[0].pending == ()
    assert with_pending(text, "r-1", 2, ()) is None and with_pending("no marker", "r-1", 1, ()) is None


def test_without_assignment_drops_the_login_and_the_note_once_empty():
    both = body(changes={"add": ["x"], "assign": ["contractor-x"]})
    assert find_changes(without_assignment(both, "contractor-x")) == {"add": ["x"]}
    only = body(changes={"assign": ["contractor-x"]})
    edited = without_assignment(only, "contractor-x")
    assert find_changes(edited) is None and "steward:changes" not in edited
    assert find_markers(edited) == find_markers(only)  # the marker stays whole
    assert without_assignment(both, "someone-else") == both


def test_later_copies_keep_the_earliest_by_time_then_id():
    first = comment(7, body(run="aaaa1111"))
    same_second = [comment(9, body(run="bbbb2222"), seconds=1), comment(8, body(run="cccc3333"), seconds=1)]
    kept, later = later_copies([*same_second, first], STEWARD)
    assert kept[("r-1", 1)].id == "7" and [c.id for c in later] == ["8", "9"]


def test_later_copies_ignore_a_persons_comment_and_keep_distinct_steps():
    quoted = comment(1, "> " + body(), author="li-wei")  # a person quoting Steward's comment, earlier
    own = comment(2, body(), seconds=5)
    other_step = comment(3, body(level=2), seconds=6)
    kept, later = later_copies([quoted, own, other_step], STEWARD)
    assert {step: c.id for step, c in kept.items()} == {("r-1", 1): "2", ("r-1", 2): "3"} and later == []
