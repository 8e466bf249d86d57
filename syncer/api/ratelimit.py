"""The adaptive rate limiter shared by every call of one subscription key.

A token bucket (rate, burst) that sends at most `rate` requests per second after a burst, a bound
on requests in flight, and AIMD on top: a 429 pauses *every* caller until its Retry-After has
passed and multiplies the rate by `decrease`; the rate then climbs back linearly to the ceiling
over `recovery_seconds`. `Schedule` is the arithmetic (every method takes `now`, nothing awaits);
`RateLimiter` adds the clock, the in-flight semaphore, the one sleep, and a warning when the
server asks for a pause longer than the limiter grants.

Why reservations: a caller that finds the bucket empty takes a token on credit and sleeps exactly
until its turn, so N waiters cost N sleeps, not N wake-ups per token. A 429 voids every credit
(the `epoch` moves on): sleepers wake, see the new epoch and queue again behind the pause.
docs/decisions/0006-adaptive-rate-limit.md
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from syncer.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Limits:
    """How fast one subscription key may go; see config/default.toml for each setting."""

    rate: float  # the ceiling, requests per second
    burst: int = 1  # requests that may go at once after a quiet spell
    max_in_flight: int = 16
    decrease: float = 0.5  # a congestion event multiplies the rate by this
    recovery_seconds: float = 15.0  # time to climb from 0 back to the ceiling (linear)
    min_rate_fraction: float = 0.01  # the rate never drops below this share of the ceiling
    default_retry_after: float = 1.0  # pause for a 429 that says nothing
    max_retry_after: float = 120.0  # a longer Retry-After (or a far HTTP date) is capped here

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError("rate must be a positive number of requests per second")
        if self.burst < 1 or self.max_in_flight < 1:
            raise ValueError("burst and max_in_flight must be at least 1")
        if not 0 < self.decrease < 1:
            raise ValueError("decrease must be between 0 and 1")
        if self.recovery_seconds <= 0 or not 0 < self.min_rate_fraction <= 1:
            raise ValueError("recovery_seconds > 0 and 0 < min_rate_fraction <= 1")
        if self.default_retry_after < 0 or self.max_retry_after < self.default_retry_after:
            raise ValueError("0 <= default_retry_after <= max_retry_after")


class Schedule:
    """Token bucket + pause + AIMD as plain arithmetic on a caller-supplied `now` (seconds)."""

    def __init__(self, limits: Limits, now: float) -> None:
        self.limits = limits
        self.tokens = float(limits.burst)
        self.updated_at = now  # tokens are counted up to this instant
        self.pause_until = now  # nothing is sent before this instant
        self.floor_rate = limits.rate  # the rate right after the last decrease...
        self.climb_from = now  # ...from which it climbs back, starting at this instant
        self.epoch = 0  # moves on whenever a pause voids the reservations made so far
        self.congestion_events = 0
        self.throttled_responses = 0

    @property
    def min_rate(self) -> float:
        return self.limits.rate * self.limits.min_rate_fraction

    def rate_at(self, now: float) -> float:
        """Additive increase: linear from the last decrease back to the ceiling."""
        climbed = max(0.0, now - self.climb_from) * self.limits.rate / self.limits.recovery_seconds
        return min(self.limits.rate, self.floor_rate + climbed)

    def reserve(self, now: float) -> float:
        """Take one token (on credit if need be); seconds to wait before sending, 0 if none."""
        start = max(now, self.pause_until)
        rate = self.rate_at(start)
        if start > self.updated_at:
            self.tokens = min(
                float(self.limits.burst), self.tokens + (start - self.updated_at) * rate
            )
            self.updated_at = start
        self.tokens -= 1.0
        ready = start + (-self.tokens / rate if self.tokens < 0 else 0.0)
        return max(0.0, ready - now)

    def throttled(self, now: float, sent_at: float, retry_after: float | None) -> bool:
        """A 429 came back for a request sent at `sent_at`. True if it is a new congestion event.

        Every 429 may push the pause further out, but only one sent after the last decrease
        lowers the rate again: twenty workers hit by one overload see twenty 429s, and that is
        one congestion event, not twenty halvings.
        """
        self.throttled_responses += 1
        wait = self.limits.default_retry_after if retry_after is None else retry_after
        until = now + min(max(0.0, wait), self.limits.max_retry_after)
        new_event = sent_at >= self.climb_from_event
        if new_event:
            self.congestion_events += 1
            current = self.rate_at(now)
            self.floor_rate = max(self.min_rate, current * self.limits.decrease)
        if until > self.pause_until or new_event:
            self.pause_until = max(self.pause_until, until)
            # After the pause the bucket holds one token, not a burst: one request goes the
            # moment Retry-After has passed and the rest follow one by one at the lowered rate,
            # rather than all at once into a server that has just said no.
            self.tokens = 1.0
            self.updated_at = self.pause_until
            self.climb_from = self.pause_until
            self.epoch += 1
        return new_event

    @property
    def climb_from_event(self) -> float:
        """Requests sent before this instant belong to the congestion event already counted."""
        return self.climb_from if self.congestion_events else -math.inf


Sleep = Callable[[float], Awaitable[object]]


class RateLimiter:
    """One per subscription key: every request of that key (token, list, detail, ...) holds a
    `slot()` while it is sent."""

    def __init__(
        self,
        limits: Limits,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._schedule = Schedule(limits, clock())
        self._in_flight = asyncio.Semaphore(limits.max_in_flight)
        self.in_flight = 0
        self._capping = False  # within a run of 429s asking for more than max_retry_after

    @property
    def rate(self) -> float:
        """The current allowed rate, requests per second (read by metrics)."""
        return self._schedule.rate_at(self._clock())

    @property
    def paused_for(self) -> float:
        """Seconds left of the pause a 429 imposed (0 when not paused)."""
        return max(0.0, self._schedule.pause_until - self._clock())

    @property
    def congestion_events(self) -> int:
        return self._schedule.congestion_events

    @property
    def throttled_responses(self) -> int:
        return self._schedule.throttled_responses

    async def wait_turn(self) -> float:
        """Wait until the bucket and any pause allow one more request; the send time."""
        schedule = self._schedule
        while True:
            epoch = schedule.epoch
            delay = schedule.reserve(self._clock())
            if delay > 0:
                await self._sleep(delay)
            if schedule.epoch == epoch:  # no 429 voided our reservation while we slept
                return self._clock()

    @contextlib.asynccontextmanager
    async def slot(self, *, bounded: bool = True) -> AsyncIterator[float]:
        """Hold a place among the requests in flight and a token; yields the send time.

        `bounded=False` takes a token but no place: for the bearer-token request, which the
        calls holding every place may be waiting for.
        """
        if bounded:
            await self._in_flight.acquire()
        try:
            sent_at = await self.wait_turn()
            self.in_flight += 1
            try:
                yield sent_at
            finally:
                self.in_flight -= 1
        finally:
            if bounded:
                self._in_flight.release()

    def throttled(self, sent_at: float, retry_after: float | None) -> bool:
        """Record a 429 for a request sent at `sent_at`; True if it was a new congestion event.

        A Retry-After past max_retry_after is warned about once per episode: the episode ends
        with a 429 asking for less, or once the key has gone unpaused that long."""
        now, longest = self._clock(), self.limits.max_retry_after
        if retry_after is not None and retry_after > longest:
            if not self._capping or now - self._schedule.pause_until > longest:
                log.warning(
                    "a 429's Retry-After asks for a longer pause than "
                    "api_retry_after_max_seconds: capped",
                    retry_after_seconds=retry_after,
                    pause_seconds=longest,
                )
            self._capping = True
        else:
            self._capping = False
        return self._schedule.throttled(now, sent_at, retry_after)
