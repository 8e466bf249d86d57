"""The schedule: crontab semantics (Sunday is 0), intervals, jitter, and the expected period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from syncer.config.schedule import cron_trigger, crontab_weekdays, expected_period, make_trigger

FRIDAY = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def fires(trigger: object, start: datetime, n: int) -> list[datetime]:
    out: list[datetime] = []
    previous = None
    now = start
    for _ in range(n):
        nxt = trigger.get_next_fire_time(previous, now)  # type: ignore[attr-defined]
        out.append(nxt)
        previous, now = nxt, nxt + timedelta(seconds=1)
    return out


@pytest.mark.parametrize(
    ("field", "days"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("0,6", "sun,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("mon-fri", "mon-fri"),
        ("*", "*"),
    ],
)
def test_crontab_weekday_numbers_mean_what_crontab_says(field: str, days: str) -> None:
    assert crontab_weekdays(field) == days


def test_weekdays_1_to_5_run_monday_to_friday_not_tuesday_to_saturday() -> None:
    runs = fires(cron_trigger("0 2 * * 1-5", "UTC"), FRIDAY, 5)
    assert [r.strftime("%a") for r in runs] == ["Mon", "Tue", "Wed", "Thu", "Fri"]


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("* * *", "5 fields"),
        ("0 0 * * 8", "out of range"),
        ("61 * * * *", "59"),
        ("0 0 * * 1-9", "out of range"),
        ("0 0 * * 1-x", "day_of_week"),
    ],
)
def test_a_bad_cron_expression_says_what_is_wrong(expression: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        expected_period(cron_trigger(expression, "UTC"))


def test_a_cron_that_never_repeats_is_refused() -> None:
    with pytest.raises(ValueError, match="does not repeat"):
        expected_period(cron_trigger("0 0 30 2 *", "UTC"))


def test_the_cron_runs_in_its_time_zone() -> None:
    run = fires(cron_trigger("30 6 * * *", "America/New_York"), FRIDAY, 1)[0]
    assert run == datetime(2026, 11, 28, 11, 30, tzinfo=UTC)  # 06:30 EST


def test_the_expected_period_of_an_interval_is_the_interval() -> None:
    trigger = make_trigger(interval_seconds=900, cron="", timezone="UTC", jitter_seconds=30)
    assert isinstance(trigger, IntervalTrigger)
    assert expected_period(trigger) == timedelta(minutes=15)


def test_the_expected_period_of_a_weekday_cron_spans_the_weekend() -> None:
    trigger = make_trigger(
        interval_seconds=900, cron="0 2 * * mon-fri", timezone="UTC", jitter_seconds=0
    )
    assert expected_period(trigger, now=FRIDAY) == timedelta(days=3)


def test_business_hours_every_minute_still_sees_the_night_gap() -> None:
    trigger = cron_trigger("* 9-17 * * 1-5", "UTC")
    assert expected_period(trigger, now=FRIDAY) == timedelta(days=2, hours=15, minutes=1)


def test_jitter_only_ever_delays_a_run_and_by_less_than_the_jitter() -> None:
    trigger = make_trigger(interval_seconds=60, cron="", timezone="UTC", jitter_seconds=20)
    planned = FRIDAY + timedelta(seconds=60)
    delays = [
        (trigger.get_next_fire_time(FRIDAY, planned) - planned).total_seconds() for _ in range(200)
    ]
    assert min(delays) >= 0 and max(delays) <= 20
    assert max(delays) - min(delays) > 5  # really random, not a fixed offset
