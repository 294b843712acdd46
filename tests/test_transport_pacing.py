"""Write pacing (plugins/transport.py): a small burst at once, then spaced writes within the limits."""

from __future__ import annotations

import threading

import pytest

from steward.plugins.transport import BURST, Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def write_times(pacer: Pacer, time: FakeTime, count: int) -> list[float]:
    times = []
    for _ in range(count):
        pacer.before_write()
        times.append(time.now - 1000.0)
    return times


def test_a_handful_of_writes_go_at_once_then_writes_are_spaced():
    time = FakeTime()
    times = write_times(Pacer(time.clock, time.sleep, per_minute=80, per_hour=500), time, 12)
    assert BURST == 5
    assert times[:5] == [0.0] * 5
    gaps = [later - earlier for earlier, later in zip(times[4:], times[5:], strict=False)]
    assert gaps == pytest.approx([0.75] * 7)


def test_the_burst_comes_back_after_a_quiet_spell_and_no_minute_holds_more_than_the_limit():
    time = FakeTime()
    pacer = Pacer(time.clock, time.sleep, per_minute=80, per_hour=500)
    write_times(pacer, time, 5)
    time.now += 10 * 0.75  # quiet: the allowance refills, up to the burst
    assert write_times(pacer, time, 6)[:5] == [7.5] * 5
    time2 = FakeTime()
    times = write_times(Pacer(time2.clock, time2.sleep, per_minute=80, per_hour=500), time2, 200)
    assert all(sum(1 for t in times if start <= t < start + 60) <= 80 for start in times)
    assert times[80] == pytest.approx(60.0)  # the 81st write waits for the first minute to pass


def test_the_hourly_cap_holds_through_the_burst():
    time = FakeTime()
    times = write_times(Pacer(time.clock, time.sleep, per_minute=10_000, per_hour=3), time, 4)
    assert times[:3] == [0.0] * 3 and times[3] >= 3600


def test_no_pacing_when_the_limit_is_off():
    time = FakeTime()
    assert write_times(Pacer(time.clock, time.sleep, per_minute=0, per_hour=500), time, 50) == [0.0] * 50


def test_writes_from_two_threads_are_paced_as_one_stream():
    lock = threading.Lock()
    time = FakeTime()

    def sleep(seconds: float) -> None:
        with lock:
            time.sleep(seconds)

    pacer = Pacer(time.clock, sleep, per_minute=60, per_hour=500, burst=1)
    threads = [threading.Thread(target=lambda: [pacer.before_write() for _ in range(20)]) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(pacer.recent) == list(pacer.recent)
    gaps = [later - earlier for earlier, later in zip(pacer.recent, list(pacer.recent)[1:], strict=False)]
    assert len(pacer.recent) == 40 and min(gaps) == pytest.approx(1.0)
