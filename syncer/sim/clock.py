"""Time for the simulator: a real clock for serving, a fake one that tests move by hand.

The simulator keeps every timestamp as whole minutes since the Unix epoch (the API's
change stamps have minute precision), and shows them in ScanSource's local time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

EASTERN = "America/New_York"


class Clock(Protocol):
    def now(self) -> datetime: ...


class RealClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, by: float | timedelta) -> None:
        delta = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if delta < timedelta(0):
            raise ValueError("time does not run backwards")
        self._now += delta

    def set(self, when: datetime) -> None:
        """Jump to a later instant."""
        self.advance(when - self._now)


def eastern() -> ZoneInfo:
    return ZoneInfo(EASTERN)  # ZoneInfo caches instances itself


def to_minute(when: datetime) -> int:
    """Whole minutes since the epoch, truncated (as the API truncates LastChanged)."""
    return int(when.timestamp()) // 60


def from_minute(minute: int) -> datetime:
    """The minute as an aware datetime in US Eastern time."""
    return datetime.fromtimestamp(minute * 60, eastern())


def wire_time(minute: int) -> datetime:
    """The instant a consumer reads from `format_us(minute)`. The API's `M/D/YYYY h:mm AM/PM`
    carries no offset, so in the hour repeated when DST ends it cannot say which of the two
    times it means; it is read as the first (fold=0), and that is what the warehouse can hold.
    Returned in UTC: an aware time inside the repeated hour never compares equal across zones."""
    return from_minute(minute).replace(fold=0).astimezone(UTC)


def eastern_day(minute: int) -> date:
    return from_minute(minute).date()


def day_start_minute(day: date) -> int:
    """The first minute of an Eastern calendar day (DST-aware)."""
    return to_minute(datetime(day.year, day.month, day.day, tzinfo=eastern()))


def format_us(minute: int) -> str:
    """`M/D/YYYY h:mm AM/PM` in Eastern time, e.g. `3/7/2024 2:15 PM`."""
    t = from_minute(minute)
    hour = t.hour % 12 or 12
    half = "AM" if t.hour < 12 else "PM"
    return f"{t.month}/{t.day}/{t.year} {hour}:{t.minute:02d} {half}"
