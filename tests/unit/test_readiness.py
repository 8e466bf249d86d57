"""Readiness: every account's last run succeeded, and not too long ago."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncer.service.health import AccountHealth, latest, readiness_problems

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
STALE = timedelta(minutes=45)


def ok(account: str, minutes_ago: float) -> AccountHealth:
    at = NOW - timedelta(minutes=minutes_ago)
    return AccountHealth(account, "succeeded", at, None, at)


def test_ready_when_every_account_succeeded_recently() -> None:
    health = {"A": ok("A", 10), "B": ok("B", 44)}
    assert readiness_problems(health, now=NOW, stale_after=STALE) == []


def test_a_failed_last_run_is_a_problem_with_its_error() -> None:
    failed = AccountHealth("B", "failed", NOW, "listing failed: list: HTTP 503", NOW - STALE)
    problems = readiness_problems({"A": ok("A", 1), "B": failed}, now=NOW, stale_after=STALE)
    assert problems == ["account B: last run failed: listing failed: list: HTTP 503"]


def test_a_success_older_than_allowed_is_stale() -> None:
    problems = readiness_problems({"A": ok("A", 46)}, now=NOW, stale_after=STALE)
    assert problems == ["account A: stale, last run finished 2760 s ago (allowed 2700 s)"]


def test_an_account_that_never_finished_a_run_is_not_ready() -> None:
    problems = readiness_problems({"A": AccountHealth("A")}, now=NOW, stale_after=STALE)
    assert problems == ["account A: no run has finished yet"]


def test_a_run_cancelled_by_a_shutdown_is_not_a_success() -> None:
    cancelled = AccountHealth(
        "A", "cancelled", NOW, "cancelled before the end of the run (shutdown)", NOW - STALE / 2
    )
    problems = readiness_problems({"A": cancelled}, now=NOW, stale_after=STALE)
    assert problems == [
        "account A: last run cancelled: cancelled before the end of the run (shutdown)"
    ]


def test_the_later_of_the_recorded_and_the_remembered_run_counts() -> None:
    recorded = ok("A", 10)
    unrecorded = AccountHealth("A", "failed", NOW - timedelta(minutes=5), "database error", None)
    assert latest(recorded, unrecorded) == AccountHealth(
        "A", "failed", NOW - timedelta(minutes=5), "database error", recorded.last_success_at
    )
    another_instance = ok("A", 1)
    assert latest(another_instance, unrecorded) == another_instance
    assert latest(recorded, None) == recorded
    assert latest(AccountHealth("A"), unrecorded) == unrecorded
