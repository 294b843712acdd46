"""A list that keeps what a run decided on disk, so a run's memory does not grow with the findings it makes.

A sweep of 100,000 issues decides tens of thousands of findings and steps; holding them all until the report
is printed made memory grow with N. `SpooledList` holds the current page's items in memory (the runner may
still remove a step the tracker refused or another run took) and, when the page is done (`spill`), writes
them to an unnamed temporary file and forgets them. Reading back is sequential (`iter`) or by position
(`[i]`), one item at a time; a report sorts positions by small keys, never the items themselves.
"""

from __future__ import annotations

import pickle
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from typing import IO, Generic, TypeVar

T = TypeVar("T")


class SpooledList(Generic[T]):
    """The part of `list` a plan uses: append, extend, remove (of this page's items), len, iteration, index."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._offsets = array("q")  # where each spilled item starts in the file
        self._tail: list[T] = []  # this page's items, not yet spilled
        self._in_memory = False  # set when the disk refused a spill: everything after stays in memory

    def append(self, item: T) -> None:
        self._tail.append(item)

    def extend(self, items: Iterable[T]) -> None:
        self._tail.extend(items)

    def remove(self, item: T) -> None:
        """Remove an item of the current page (a spilled page is final)."""
        self._tail.remove(item)

    def spill(self) -> None:
        """Move the current page's items to disk. A disk that refuses (full, a file size limit) only ends the
        spooling: the items stay in memory, as they did before spooling."""
        if not self._tail or self._in_memory:
            return
        blobs = [pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL) for item in self._tail]
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="steward-plan-")
            start = self._file.seek(0, 2)
            self._file.write(b"".join(blobs))
            self._file.flush()
        except OSError:
            self._in_memory = True
            return
        for blob in blobs:
            self._offsets.append(start)
            start += len(blob)
        self._tail = []

    def __len__(self) -> int:
        return len(self._offsets) + len(self._tail)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, index: int) -> T:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index >= len(self._offsets):
            return self._tail[index - len(self._offsets)]
        assert self._file is not None
        self._file.seek(self._offsets[index])
        return pickle.load(self._file)

    def __iter__(self) -> Iterator[T]:
        if self._offsets:
            assert self._file is not None
            for index in range(len(self._offsets)):
                if self._file.tell() != self._offsets[index]:  # someone read by position meanwhile
                    self._file.seek(self._offsets[index])
                item = pickle.load(self._file)
                yield item
        yield from list(self._tail)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._offsets = array("q")
        self._tail = []
