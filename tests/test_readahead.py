"""The read-ahead reader (core/readahead.py): order, bounds, errors, warnings and clean-up as a sequential read."""

from __future__ import annotations

import logging
import sys
import threading
import time

import pytest

from steward.core import readahead
from steward.core.errors import TrackerError, UsageError

log = logging.getLogger("steward.test-read-ahead")


class Pages:
    """A page generator that records which thread read each page, how far it got, and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None, error: BaseException | None = None):
        self.count, self.fail_at, self.error = count, fail_at, error
        self.read: list[int] = []
        self.threads: set[int] = set()
        self.closed_in: int | None = None

    def __call__(self):
        try:
            for number in range(self.count):
                self.threads.add(threading.get_ident())
                log.warning("reading page %d", number)
                if number == self.fail_at:
                    raise self.error or TrackerError(f"page {number} failed")
                self.read.append(number)
                yield [number]
        except GeneratorExit:
            self.closed_in = threading.get_ident()
            raise


def consume(pages: Pages, depth: int, sink: list[str], work=lambda page: None) -> list[int]:
    handler = readahead.ThreadLog(sink)
    logging.getLogger("steward").addHandler(handler)
    seen = []
    try:
        with readahead.pages_of(pages, depth, handler) as iterator:
            for page in iterator:
                log.warning("working on page %d", page[0])
                work(page)
                seen += page
    finally:
        logging.getLogger("steward").removeHandler(handler)
    return seen


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_pages_and_warnings_arrive_in_the_sequential_order_read_in_another_thread(depth):
    sequential, ahead = [], []
    assert consume(Pages(7), 0, sequential) == list(range(7))
    pages = Pages(7)
    assert consume(pages, depth, ahead, work=lambda page: time.sleep(0.01)) == list(range(7))
    assert ahead == sequential
    assert pages.threads and threading.get_ident() not in pages.threads


class LaterPages(Pages):
    """Pages handed over as `readahead.Later`: the conversion logs a warning and records its thread."""

    def __init__(self, count: int, fail_converting: int | None = None):
        super().__init__(count)
        self.fail_converting = fail_converting
        self.converted_in: set[int] = set()

    def convert(self, number: int) -> list[int]:
        self.converted_in.add(threading.get_ident())
        log.warning("converting page %d", number)
        if number == self.fail_converting:
            raise TrackerError(f"page {number} cannot be read")
        return [number]

    def __call__(self):
        for page in super().__call__():
            yield readahead.Later(lambda number=page[0]: self.convert(number))


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_a_later_page_is_converted_on_the_run_thread_in_the_sequential_order(depth):
    sequential = []
    assert consume(LaterPages(6), 0, sequential) == list(range(6))
    assert sequential[:3] == ["reading page 0", "converting page 0", "working on page 0"]
    pages, ahead = LaterPages(6), []
    assert consume(pages, depth, ahead, work=lambda page: time.sleep(0.01)) == list(range(6))
    assert ahead == sequential
    assert pages.converted_in == {threading.get_ident()}
    assert depth == 0 or threading.get_ident() not in pages.threads


def test_a_later_page_that_cannot_be_converted_ends_the_run_with_that_error():
    for depth in (0, 2):
        sink = []
        with pytest.raises(TrackerError, match="page 3 cannot be read"):
            consume(LaterPages(8, fail_converting=3), depth, sink)
        assert sink[-1] == "converting page 3" and "working on page 3" not in sink
        assert "reading page 5" not in sink  # what the reader read beyond it is dropped with its warnings


def test_the_reader_stays_at_most_depth_pages_ahead():
    pages = Pages(50)
    ahead = []

    def work(page):
        time.sleep(0.02)  # the reader is free to run ahead meanwhile
        ahead.append(len(pages.read) - 1 - page[0])

    consume(pages, 2, [], work)
    # one page in hand, `depth` in the queue, one read and waiting to be queued
    assert max(ahead) <= 3 and max(ahead) >= 1


@pytest.mark.parametrize("error", [TrackerError("Jira answered 500"), KeyboardInterrupt(), ValueError("bug")])
def test_an_error_while_reading_reaches_the_run_after_the_pages_before_it(error):
    for depth in (0, 2):
        pages, sink = Pages(6, fail_at=3, error=error), []
        seen = []
        with pytest.raises(type(error)) as raised:
            consume(pages, depth, sink, work=lambda page, seen=seen: seen.append(page[0]))
        assert raised.value is error
        assert seen == [0, 1, 2]
        assert sink[-1] == "reading page 3"


def test_a_run_that_ends_early_stops_the_reader_and_closes_the_generator_in_its_thread():
    pages = Pages(1000)

    def work(page):
        if page[0] == 2:
            raise TrackerError("a write failed")

    sink: list[str] = []
    with pytest.raises(TrackerError):
        consume(pages, 2, sink, work)
    assert pages.closed_in is not None and pages.closed_in != threading.get_ident()
    # Bounded, not exact: the 3 pages worked on, 2 waiting in the queue, one being handed over, and (as the
    # run ends between two of the reader's steps) at most one more being read; never the other 990.
    assert len(pages.read) <= 7
    assert not [t for t in threading.enumerate() if t.name == "steward-read-ahead"]
    # warnings of pages the run never took are not reported: a sequential run would not have read them
    assert sink == ["reading page 0", "working on page 0", "reading page 1", "working on page 1",
                    "reading page 2", "working on page 2"]


@pytest.mark.parametrize(("text", "depth"), [("", 2), ("0", 0), ("1", 1), (" 4 ", 4)])
def test_the_setting(text, depth):
    assert readahead.depth_from({readahead.ENV: text}) == depth


@pytest.mark.parametrize("text", ["-1", "two", "1.5", "17"])
def test_a_bad_setting_names_the_variable(text):
    with pytest.raises(UsageError, match="STEWARD_READ_AHEAD must be a number of pages"):
        readahead.depth_from({readahead.ENV: text})


def test_the_reader_gets_the_interpreter_lock_promptly_while_it_runs_and_the_setting_is_restored():
    before = sys.getswitchinterval()
    seen = []
    with pytest.raises(TrackerError):
        consume(Pages(5, fail_at=3), 2, [], work=lambda page: seen.append(sys.getswitchinterval()))
    assert seen and all(value == min(before, readahead.SWITCH_INTERVAL) for value in seen)
    assert sys.getswitchinterval() == before


def test_read_aheads_that_overlap_restore_the_interval_from_before_the_first_whatever_order_they_end_in():
    """The switch interval is the interpreter's: a read-ahead that ends while another still runs keeps it
    lowered, and the one that ends last restores what it was before either began."""
    before = sys.getswitchinterval()
    lowered = min(before, readahead.SWITCH_INTERVAL)
    first = readahead.pages_of(lambda: iter([[1], [2]]), 1)
    second = readahead.pages_of(lambda: iter([[3], [4]]), 1)
    first.__enter__()
    second.__enter__()
    try:
        first.__exit__(None, None, None)
        first.__exit__(None, None, None)  # exited twice: gives back its own lowering once, not the other's
        assert sys.getswitchinterval() == lowered
    finally:
        second.__exit__(None, None, None)
    assert sys.getswitchinterval() == before
    third = readahead.pages_of(lambda: iter([[5]]), 1)
    with third as pages:
        assert sys.getswitchinterval() == lowered
        assert list(pages) == [[5]]
    assert sys.getswitchinterval() == before
