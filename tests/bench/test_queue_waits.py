"""Queue waits in the load test: starts mid-second of their stamp, run times from the stamps, lateness in run times."""

from __future__ import annotations

import pytest

from bench.queue_waits import Waits, describe, later, slot_seconds, started_at, waits

T0 = 1796551200.0  # 2026-12-06T10:00:00Z in epoch seconds (`date -u -d 2026-12-06T10:00:00Z +%s`)


def stamp(seconds: int) -> str:
    return f"2026-12-06T10:00:{seconds:02d}+00:00"


def finished(start: int, end: int) -> dict[str, str]:
    return {"state": "finished", "queued": stamp(0), "running": stamp(start), "finished": stamp(end)}


def test_a_run_starts_mid_second_of_its_stamp() -> None:
    assert started_at({"state": "running", "queued": stamp(0), "running": stamp(7)}) == T0 + 7.5
    assert started_at({"state": "queued", "queued": stamp(0)}) is None


def test_a_run_holds_its_slot_from_running_to_finished() -> None:
    assert slot_seconds(finished(7, 19)) == 12.0
    assert slot_seconds({"state": "stopped", "running": stamp(7), "stopped": stamp(9)}) is None
    assert slot_seconds({"state": "queued", "queued": stamp(0)}) is None


def test_waits_run_from_each_click_to_its_run_start() -> None:
    clicks = [
        (T0 + 0.3, finished(0, 12)),  # starts at 0.5: waits 0.2
        (T0 + 1.0, finished(12, 22)),  # starts at 12.5: waits 11.5
        (T0 + 1.6, finished(12, 26)),  # 12.5: 10.9
        (T0 + 2.0, {"state": "failed", "queued": stamp(2), "failed": stamp(3)}),  # never started
    ]
    result = waits(clicks, [status for _, status in clicks])
    assert result.waits == pytest.approx((0.2, 11.5, 10.9))
    assert result.run_time == 12.0  # the median of 12, 10 and 14 s
    assert result.unstarted == 1
    assert (result.median, result.longest) == pytest.approx((10.9, 11.5))
    assert "median 10.9 s (0.91 run times), longest 11.5 s (0.96 run times)" in describe(result)
    assert "1 runs never started" in describe(result)


def test_without_a_finished_run_there_is_no_run_time() -> None:
    with pytest.raises(ValueError, match="no run finished"):
        waits([(T0, {"state": "running", "running": stamp(1)})], [{"state": "running", "running": stamp(1)}])


def test_later_counts_each_test_in_its_own_run_times() -> None:
    without = Waits((1.0, 3.0, 8.0), run_time=4.0)  # median 0.75 run times, longest 2
    over = later(without, Waits((5.0, 10.0, 20.0), run_time=5.0))  # 2 and 4 run times
    assert (over.median, over.longest) == (1.25, 2.0)
    assert not over.passed
    within = later(without, Waits((4.0, 8.75, 15.0), run_time=5.0))  # 1.75 and 3: exactly one run time later
    assert (within.median, within.longest) == (1.0, 1.0)
    assert within.passed


def test_a_slower_machine_alone_is_not_later() -> None:
    without = Waits((1.0, 3.0, 8.0), run_time=4.0)
    slower = later(without, Waits((3.0, 9.0, 24.0), run_time=12.0))  # every run 3 times as long: the same places
    assert (slower.median, slower.longest) == (0.0, 0.0)


def test_a_run_that_never_started_fails_whatever_the_times() -> None:
    without = Waits((1.0, 3.0), run_time=4.0)
    assert not later(without, Waits((1.0, 3.0), run_time=4.0, unstarted=1)).passed
    assert later(without, Waits((1.0, 3.0), run_time=4.0)).passed
