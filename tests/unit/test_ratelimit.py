"""The shared limiter: token bucket, in-flight bound, 429 pause and AIMD, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from syncer.api.ratelimit import Limits, RateLimiter, Schedule
from tests.virtual_time import VirtualTime


def schedule(**limits: float) -> Schedule:
    defaults = {"rate": 10.0, "burst": 3, "recovery_seconds": 30.0}
    return Schedule(Limits(**{**defaults, **limits}), now=0.0)


# -- the arithmetic ------------------------------------------------------------------------


def test_a_full_bucket_lets_a_burst_through_then_spaces_requests_at_the_rate() -> None:
    s = schedule(rate=10, burst=3)
    delays = [s.reserve(0.0) for _ in range(6)]
    assert delays == pytest.approx([0, 0, 0, 0.1, 0.2, 0.3])


def test_quiet_time_refills_the_bucket_but_never_beyond_the_burst() -> None:
    s = schedule(rate=10, burst=3)
    for _ in range(3):
        s.reserve(0.0)
    assert s.reserve(0.15) == 0  # 1.5 tokens came back
    assert s.reserve(0.15) == pytest.approx(0.05)
    s2 = schedule(rate=10, burst=3)
    assert [s2.reserve(100.0) for _ in range(4)] == pytest.approx([0, 0, 0, 0.1])


def test_a_429_pauses_every_request_until_retry_after_has_passed() -> None:
    s = schedule(rate=10, burst=3)
    s.reserve(0.0)
    s.throttled(now=1.0, sent_at=0.0, retry_after=2.0)
    # Whoever asks during the pause waits for its end, then they go one by one at the new rate.
    assert s.reserve(1.5) == pytest.approx(1.5)  # exactly at 3.0
    assert s.reserve(1.5) == pytest.approx(1.5 + 1 / 5)  # the rate is halved: 5/s
    assert s.reserve(2.9) == pytest.approx(0.1 + 2 / 5)


def test_a_429_lowers_the_rate_multiplicatively() -> None:
    s = schedule(rate=10, decrease=0.5)
    assert s.rate_at(1.0) == 10
    assert s.throttled(now=1.0, sent_at=0.5, retry_after=1.0) is True
    assert s.rate_at(2.0) == pytest.approx(5.0)  # the pause ends at 2.0: the climb starts there
    climbed = s.rate_at(2.5)
    assert climbed == pytest.approx(5.0 + 0.5 * 10 / 30)  # it had started to climb back
    assert s.throttled(now=2.5, sent_at=2.1, retry_after=1.0) is True  # sent after the pause
    assert s.rate_at(3.5) == pytest.approx(climbed * 0.5)
    assert s.congestion_events == 2


def test_one_overload_seen_by_twenty_workers_counts_as_one_event_not_twenty_halvings() -> None:
    s = schedule(rate=10, decrease=0.5)
    # Twenty requests were in flight when the server ran dry; all twenty come back 429.
    new = [s.throttled(now=1.0 + i / 100, sent_at=0.9, retry_after=1.0) for i in range(20)]
    assert new == [True] + [False] * 19
    assert s.congestion_events == 1 and s.throttled_responses == 20
    assert s.rate_at(2.2) == pytest.approx(5.0, abs=0.5)


def test_a_late_429_with_a_longer_retry_after_extends_the_pause_without_lowering_the_rate() -> None:
    s = schedule(rate=10, decrease=0.5)
    s.throttled(now=1.0, sent_at=0.9, retry_after=1.0)
    assert s.throttled(now=1.2, sent_at=0.95, retry_after=3.0) is False
    assert s.pause_until == pytest.approx(4.2)
    assert s.reserve(2.0) == pytest.approx(2.2)
    assert s.congestion_events == 1


def test_the_rate_climbs_back_linearly_to_the_ceiling_and_no_further() -> None:
    s = schedule(rate=10, decrease=0.5, recovery_seconds=30)
    s.throttled(now=0.0, sent_at=0.0, retry_after=1.0)  # 5/s from 1.0 on
    assert s.rate_at(1.0) == pytest.approx(5.0)
    assert s.rate_at(4.0) == pytest.approx(6.0)  # +10/30 per second
    assert s.rate_at(16.0) == pytest.approx(10.0)  # half the recovery time: back to the ceiling
    assert s.rate_at(1000.0) == 10.0


def test_the_rate_never_falls_below_its_floor() -> None:
    s = schedule(rate=10, decrease=0.5, min_rate_fraction=0.1)
    t = 0.0
    for _ in range(10):
        s.throttled(now=t, sent_at=t, retry_after=0.0)
        t += 0.001
    assert s.rate_at(t) == pytest.approx(1.0, abs=0.01)


def test_a_429_without_retry_after_pauses_for_the_default_and_a_huge_one_is_capped() -> None:
    s = schedule(default_retry_after=1.5, max_retry_after=60)
    s.throttled(now=10.0, sent_at=9.0, retry_after=None)
    assert s.pause_until == 11.5
    s.throttled(now=10.0, sent_at=9.0, retry_after=86_400)
    assert s.pause_until == 70.0


def test_limits_refuse_nonsense() -> None:
    for bad in ({"rate": 0}, {"rate": float("inf")}, {"burst": 0}, {"decrease": 1.0}):
        with pytest.raises(ValueError):
            Limits(**{"rate": 10.0, **bad})


# -- the limiter, driven by virtual time -------------------------------------------------


def limiter(vt: VirtualTime, **limits: float) -> RateLimiter:
    return RateLimiter(
        Limits(
            **{"rate": 10.0, "burst": 5, "max_in_flight": 50, "recovery_seconds": 30.0, **limits}
        ),
        clock=vt.clock,
        sleep=vt.sleep,
    )


async def test_many_workers_together_never_exceed_burst_plus_rate_times_elapsed() -> None:
    vt = VirtualTime()
    lim = limiter(vt, rate=10, burst=5)
    starts: list[float] = []

    async def worker() -> None:
        for _ in range(5):
            async with lim.slot() as sent_at:
                starts.append(sent_at)

    await vt.run(*(worker() for _ in range(20)))

    assert len(starts) == 100
    starts.sort()
    for i, t in enumerate(starts):  # request i+1 may start no earlier than (i+1-burst)/rate
        assert t >= (i + 1 - 5) / 10 - 1e-9
    assert starts[-1] == pytest.approx(95 / 10)  # and no later: the quota is used fully


async def test_no_more_requests_in_flight_than_the_bound() -> None:
    vt = VirtualTime()
    lim = limiter(vt, rate=1000, burst=1000, max_in_flight=3)
    peak = 0

    async def call() -> None:
        nonlocal peak
        async with lim.slot():
            peak = max(peak, lim.in_flight)
            await vt.sleep(0.5)  # the server takes its time

    await vt.run(*(call() for _ in range(12)))
    assert peak == 3
    assert vt.now == pytest.approx(2.0)  # 12 calls, 3 at a time, 0.5 s each


async def test_a_429_holds_back_callers_already_sleeping_on_a_reservation() -> None:
    vt = VirtualTime()
    lim = limiter(vt, rate=10, burst=1, decrease=0.5)
    starts: list[float] = []

    async def call(i: int) -> None:
        async with lim.slot() as sent_at:
            starts.append(sent_at)
            if i == 0:
                await vt.sleep(0.05)
                lim.throttled(sent_at, retry_after=2.0)  # the first answer is a 429

    await vt.run(*(call(i) for i in range(6)))

    # One went at 0; a caller had reserved 0.1 but the 429 at 0.05 voided it: nothing before
    # 2.05, then one every 1/5 s at the halved rate.
    assert starts[0] == 0.0
    assert starts[1:] == pytest.approx([2.05, 2.25, 2.45, 2.65, 2.85])
    assert lim.rate == pytest.approx(5.0 + (vt.now - 2.05) * 10 / 30)


async def test_rate_and_pause_are_readable_for_metrics() -> None:
    vt = VirtualTime(start=100.0)
    lim = limiter(vt, rate=8)
    assert lim.rate == 8.0 and lim.paused_for == 0.0
    assert lim.throttled(sent_at=100.0, retry_after=3.0) is True
    assert lim.paused_for == 3.0 and lim.rate == 4.0
    assert lim.congestion_events == 1 and lim.throttled_responses == 1
    await asyncio.sleep(0)
