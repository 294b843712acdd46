"""A board read one issue at a time, so reading a large board does not hold all of it at once.

`json.load` of a 100,000-issue board holds every issue at once (440 MB); a run needs one page of them at a
time. `top_level` walks the board object from a binary file in chunks and hands out each top-level value,
and each element of `issues` one by one. It reads only the common shape (`{"people": {...}, "issues":
[{...}, ...]}` with any other keys); anything else, a syntax error included, raises `Unreadable`, and the
caller reads the board whole the usual way, which words the error exactly as before.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import IO, Any

CHUNK = 1 << 20  # bytes read at a time
_SPACE = re.compile(r"[ \t\n\r]*")
_SPACES = frozenset(" \t\n\r")
_DECODER = json.JSONDecoder()
_AFTER = frozenset(" \t\n\r,]}")  # what may follow a value inside the board


class Unreadable(Exception):
    """Not the shape this reader handles, or not valid JSON: read the board whole instead."""


class _Reader:
    def __init__(self, handle: IO[bytes]):
        self.handle = handle
        self.decode = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.pos = 0
        self.eof = False

    def _fill(self) -> None:
        if self.eof:
            raise Unreadable("the board ends early")
        try:
            data = self.handle.read(CHUNK)
            more = self.decode.decode(data, final=not data)
        except UnicodeDecodeError as error:
            raise Unreadable(str(error)) from None
        self.eof = not data
        self.text = self.text[self.pos:] + more
        self.pos = 0

    def peek(self) -> str:
        if self.pos < len(self.text) and self.text[self.pos] not in _SPACES:
            return self.text[self.pos]
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            if self.eof:
                return ""
            self._fill()

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise Unreadable(f"expected {char!r}")
        self.pos += 1

    def value(self) -> Any:
        """The next JSON value; read further while the text so far ends inside it."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError:
                self._fill()  # raises Unreadable at the end of the board: a real syntax error
                continue
            # A number cut between two chunks reads as a shorter number: it is whole only before a delimiter.
            whole = not isinstance(value, (int, float)) or (end < len(self.text) and self.text[end] in _AFTER)
            if whole or self.eof:
                self.pos = end
                return value
            self._fill()


def top_level(handle: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """("issue", raw) for each element of `issues`, in order, and (key, value) for every other top-level key,
    in file order. Raises Unreadable (possibly after yielding some) for any other shape or a syntax error."""
    reader = _Reader(handle)
    reader.expect("{")
    seen: set[str] = set()
    if reader.peek() == "}":
        reader.pos += 1
    else:
        while True:
            key = reader.value()
            if not isinstance(key, str) or key in seen:  # a repeated key: json.load keeps the last one
                raise Unreadable("a repeated or odd key")
            seen.add(key)
            reader.expect(":")
            if key == "issues":
                yield from _issues(reader)
            else:
                yield key, reader.value()
            if reader.peek() == "}":
                reader.pos += 1
                break
            reader.expect(",")
    if reader.peek() != "":
        raise Unreadable("text after the board")
    if "issues" not in seen:
        raise Unreadable("no issues")


def _issues(reader: _Reader) -> Iterator[tuple[str, Any]]:
    reader.expect("[")
    if reader.peek() == "]":
        reader.pos += 1
        return
    while True:
        yield "issue", reader.value()
        if reader.peek() == "]":
            reader.pos += 1
            return
        reader.expect(",")
