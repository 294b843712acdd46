"""Text is text: whatever a tracker sends, what Steward writes and prints can be encoded."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def clean_text(text: str) -> str:
    """Text both evaluators can hold: NUL and lone surrogates (which C strings and UTF-8 cannot) become U+FFFD."""
    if text.isascii():  # the common case, checked without encoding: ASCII holds no surrogate
        return text.replace("\x00", "\ufffd") if "\x00" in text else text
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text


def public_url(url: str | None) -> str | None:
    """The URL without user-info (`https://user:secret@host` → `https://host`): safe to print or link."""
    if not url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
