"""Text is text: whatever a tracker sends, what Steward writes and prints can be encoded."""

from __future__ import annotations


def clean_text(text: str) -> str:
    """Text both evaluators can hold: NUL and lone surrogates (which C strings and UTF-8 cannot) become U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text
