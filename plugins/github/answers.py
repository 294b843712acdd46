"""GitHub's answers, checked before they are read: an empty body, `data: null`, an HTML page (a proxy's or a
login page), or JSON of the wrong shape is one clear TrackerError naming what was being read, never a
traceback. The runner then stops before any further write (exit 2 when nothing was written, 3 when some was).
"""

from __future__ import annotations

from typing import Any

from steward.core.errors import TrackerError


class MalformedAnswer(TrackerError):
    """GitHub answered, but not with anything Steward can read."""


def describe(value: Any) -> str:
    """What arrived, in a few words (never the whole answer: it may be a large page)."""
    if value is None:
        return "an empty body"
    if text_body(value):
        text = value["data"].lstrip().lower()  # PyGithub wraps a body that is not JSON as {"data": text}
        if text.startswith(("<!doctype html", "<html", "<")):
            return "an HTML page instead of JSON"
        return "text that is not JSON"
    if isinstance(value, dict) and "data" in value and value["data"] is None:
        return "`data: null`"
    if isinstance(value, dict):
        return "JSON of an unexpected shape"
    return f"JSON of the wrong type ({type(value).__name__})"


def text_body(value: Any) -> bool:
    """Whether PyGithub wrapped a body that is not JSON (`{"data": text}`, plus `url` on a GET)."""
    return isinstance(value, dict) and set(value) <= {"data", "url"} and isinstance(value.get("data"), str)


def malformed(what: str, value: Any) -> MalformedAnswer:
    return MalformedAnswer(f"GitHub answered {what} with {describe(value)}; check GITHUB_API_URL and any proxy "
                           f"in between, then run again")


def graphql_data(answer: Any, what: str) -> dict[str, Any]:
    """The `data` of a GraphQL answer, which must be an object."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict):
        raise malformed(what, answer)
    return data


def mapping(value: Any, what: str, whole: Any) -> dict[str, Any]:
    """A part of an answer that must be an object (None for a part GitHub may leave out is the caller's)."""
    if not isinstance(value, dict):
        raise malformed(what, whole if value is None else {"shape": value})
    return value
