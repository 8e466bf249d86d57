"""When each account is synced: an APScheduler 3 trigger from settings, and how far apart runs are.

Cron expressions follow crontab(5), where day-of-week 0 and 7 are Sunday. APScheduler 3 numbers
days from Monday = 0 (its documented historical mistake), so numeric days are translated to names
here; otherwise "1-5" would silently run Tuesday to Saturday.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DOW_PART = re.compile(r"(?P<range>\*|\d+(?:-\d+)?)(?:/(?P<step>\d+))?")
# A cron schedule's longest gap is looked for over at least this span (weekly patterns), and at
# least three fire times (monthly ones), within bounds.
_PERIOD_HORIZON = timedelta(days=8)
_PERIOD_MAX_SPAN = timedelta(days=800)
_PERIOD_MAX_FIRES = 20_000


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field in APScheduler's terms (names, which mean the same to both)."""
    if field == "*" or re.search(r"[a-z]", field, re.IGNORECASE):
        return field  # names (mon-fri) mean the same to crontab and APScheduler
    days: set[int] = set()
    for part in field.split(","):
        match = _DOW_PART.fullmatch(part)
        if match is None:
            raise ValueError(f"day of week {part!r} is not a crontab day-of-week field")
        span, step = match["range"], int(match["step"] or 1)
        if step < 1:
            raise ValueError("day of week step must be at least 1")
        if span == "*":
            low, high = 0, 6
        else:
            low_text, _, high_text = span.partition("-")
            low, high = int(low_text), int(high_text or low_text)
        if not 0 <= low <= high <= 7:
            raise ValueError(f"day of week {part!r} is out of range (0-7, Sunday is 0 and 7)")
        days.update(d % 7 for d in range(low, high + 1, step))
    return ",".join(_CRON_DAYS[d] for d in sorted(days))


def cron_trigger(expression: str, timezone: str, jitter: int | None = None) -> Any:
    """A CronTrigger from a five-field crontab expression; ValueError says what is wrong."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab expression has 5 fields, this one has {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=ZoneInfo(timezone),
        jitter=jitter or None,
    )


def make_trigger(*, interval_seconds: int, cron: str, timezone: str, jitter_seconds: int) -> Any:
    """The configured schedule: cron when given, else a fixed interval."""
    if cron.strip():
        return cron_trigger(cron, timezone, jitter_seconds)
    return IntervalTrigger(
        seconds=interval_seconds, timezone=ZoneInfo(timezone), jitter=jitter_seconds or None
    )


def expected_period(trigger: Any, *, now: datetime | None = None) -> timedelta:
    """The longest time between two runs: the interval, or a cron's longest gap (a weekend)."""
    if isinstance(trigger, IntervalTrigger):
        return timedelta(seconds=trigger.interval_length)
    # Without jitter, so the answer does not change from one call to the next.
    plain = CronTrigger(
        **{f.name: str(f) for f in trigger.fields if not f.is_default},
        timezone=trigger.timezone,
    )
    start = now or datetime.now(UTC)
    fire = plain.get_next_fire_time(None, start)
    previous = None
    longest = timedelta(0)
    for count in range(_PERIOD_MAX_FIRES):
        if fire is None or fire - start > _PERIOD_MAX_SPAN:
            break
        if previous is not None:
            longest = max(longest, fire - previous)
        if count >= 2 and fire - start > _PERIOD_HORIZON:
            break
        previous = fire
        fire = plain.get_next_fire_time(previous, previous + timedelta(seconds=1))
    if longest == timedelta(0):
        raise ValueError("the cron schedule does not repeat")
    return longest
