"""Regular expressions from rule files, bounded: a hostile pattern or a huge text never hangs a run.

Rules hold Python regular expressions (`matches`). They run on the `regex` engine, which takes a time limit
per search: a search that hits it counts as no match, and the runner names the issue and the rule in a
warning. At load time a pattern with a repeated group that itself repeats (`(a+)+`, the classic
catastrophic backtracking shape) is refused with the rule file's line.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import regex

try:  # the parser behind `re`, used only to look at a pattern's shape
    import re._constants as sre_constants  # Python 3.11+
    import re._parser as sre_parse
except ImportError:  # Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

SEARCH_TIMEOUT = 0.25  # seconds per search; a legitimate rule pattern needs microseconds
_timeouts: list[tuple[str, str]] = []  # (pattern, text) of searches that hit the limit, for the runner


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> regex.Pattern:
    """The compiled pattern; raises re.error for a bad one. Rule files hold Python's `re` syntax: `re` checks
    it (and words the error as Python users know it), `regex` runs it, with a time limit."""
    re.compile(pattern)
    return regex.compile(pattern, flags=regex.VERSION0)


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` matches somewhere in `text`, within SEARCH_TIMEOUT; a timeout is no match."""
    try:
        return compiled(pattern).search(text, timeout=SEARCH_TIMEOUT) is not None
    except TimeoutError:
        _timeouts.append((pattern, text))
        return False


def take_timeouts() -> list[tuple[str, str]]:
    """The searches that hit the limit since the last call (the same `text` objects the facts hold)."""
    found = list(_timeouts)
    _timeouts.clear()
    return found


def catastrophic(pattern: str) -> str | None:
    """Why a pattern can take exponential time (a repeated group holding a repeat), or None."""
    try:
        parsed = sre_parse.parse(pattern)
    except (sre_constants.error, RecursionError, OverflowError):
        return None  # compiling it reports the real problem
    return _nested_repeat(parsed, inside_repeat=False)


_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT}
if hasattr(sre_constants, "POSSESSIVE_REPEAT"):
    _REPEATS.add(sre_constants.POSSESSIVE_REPEAT)


def _nested_repeat(items: Any, inside_repeat: bool) -> str | None:
    for op, value in items:
        if op in _REPEATS:
            _low, high, inner = value
            if inside_repeat and high != 1:
                return "a repeated group holds another repeat (as in (a+)+), which can backtrack exponentially"
            found = _nested_repeat(inner, inside_repeat or high > 1)
            if found:
                return found
        elif op == sre_constants.SUBPATTERN:
            found = _nested_repeat(value[-1], inside_repeat)
            if found:
                return found
        elif op == sre_constants.BRANCH:
            for branch in value[1]:
                found = _nested_repeat(branch, inside_repeat)
                if found:
                    return found
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            found = _nested_repeat(value[1], inside_repeat)
            if found:
                return found
    return None
