"""Metrics: what each run adds, what is computed at scrape time, one registry per instance."""

from __future__ import annotations

import platform
from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import syncer
from syncer.api.ratelimit import Limits, RateLimiter
from syncer.api.stats import ApiStats
from syncer.service.metrics import ORDER_OUTCOMES, Metrics
from syncer.sync.result import Counts, RunResult

A, B = "1000012345", "1000023456"


def scrape(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def a_run(account: str = A, outcome: str = "succeeded", seconds: float = 4.2) -> RunResult:
    api = ApiStats(
        calls=Counter({("token", "200"): 1, ("list", "200"): 2, ("detail", "200"): 40,
                       ("detail", "429"): 3, ("detail", "503"): 1})
    )  # fmt: skip
    counts = Counts(
        listed=50, fetched=44, skipped=6, loaded=40, unchanged=2, failed=2, rows=900,
        unreadable_dates={"sales_orders.ship_date": 3},
        rows_by_table={"sales_orders": 40, "sales_order_lines": 860},
    )  # fmt: skip
    return RunResult(account, 7, outcome, counts=counts, api=api, seconds=seconds)


def test_every_series_exists_at_zero_before_the_first_run() -> None:
    samples = scrape(Metrics([A, B]))
    for account in (A, B):
        assert value(samples, "syncer_runs_total", account=account, outcome="failed") == 0
        for outcome in ORDER_OUTCOMES:
            assert value(samples, "syncer_orders_total", account=account, outcome=outcome) == 0
        assert value(samples, "syncer_rows_written_total", account=account,
                     table="sales_order_lines") == 0  # fmt: skip
        assert value(samples, "syncer_last_success_timestamp_seconds", account=account) == 0
        assert value(samples, "syncer_last_run_timestamp_seconds", account=account) == 0
        assert value(samples, "syncer_open_failures", account=account) == 0
    assert not any(name.endswith("_created") for name, _ in samples)


def test_a_run_adds_its_outcome_orders_api_calls_429s_and_duration() -> None:
    m = Metrics([A, B])
    m.observe(a_run())
    m.observe(a_run(outcome="failed", seconds=0.5))
    s = scrape(m)

    assert value(s, "syncer_runs_total", account=A, outcome="succeeded") == 1
    assert value(s, "syncer_runs_total", account=A, outcome="failed") == 1
    assert value(s, "syncer_runs_total", account=B, outcome="succeeded") == 0
    expected = {
        "listed": 50,
        "fetched": 44,
        "skipped": 6,
        "loaded": 40,
        "unchanged": 2,
        "failed": 2,
    }
    for outcome, n in expected.items():
        assert value(s, "syncer_orders_total", account=A, outcome=outcome) == 2 * n
    api = "syncer_api_calls_total"
    assert value(s, api, account=A, operation="detail", status="200") == 80
    assert value(s, api, account=A, operation="detail", status="429") == 6
    assert value(s, api, account=A, operation="token", status="200") == 2
    rows = "syncer_rows_written_total"
    assert value(s, rows, account=A, table="sales_orders") == 80
    assert value(s, rows, account=A, table="sales_order_lines") == 1720
    assert value(s, rows, account=B, table="sales_orders") == 0
    assert value(s, "syncer_run_duration_seconds_count", account=A) == 2
    assert value(s, "syncer_run_duration_seconds_sum", account=A) == 4.7
    assert value(s, "syncer_run_duration_seconds_bucket", account=A, le="0.01") == 0
    assert value(s, "syncer_run_duration_seconds_bucket", account=A, le="0.5") == 1
    assert value(s, "syncer_run_duration_seconds_bucket", account=A, le="5.0") == 2


def test_a_skipped_run_counts_as_a_run_and_nothing_else() -> None:
    m = Metrics([A])
    m.observe(RunResult(A, None, "skipped", seconds=0.01))
    s = scrape(m)
    assert value(s, "syncer_runs_total", account=A, outcome="skipped") == 1
    assert value(s, "syncer_run_duration_seconds_count", account=A) == 0


def test_last_success_and_last_run_are_timestamps_of_this_process_or_the_database() -> None:
    now = [1_000_000.0]
    m = Metrics([A, B], clock=lambda: now[0])
    m.observe(a_run(A))
    now[0] += 90
    m.observe(a_run(B, outcome="failed"))
    m.observe_error(A, "failed", 0.2)  # raised: no result, still the last run
    s = scrape(m)
    assert value(s, "syncer_last_success_timestamp_seconds", account=A) == 1_000_000
    assert value(s, "syncer_last_run_timestamp_seconds", account=A) == 1_000_090
    assert value(s, "syncer_last_success_timestamp_seconds", account=B) == 0
    assert value(s, "syncer_last_run_timestamp_seconds", account=B) == 1_000_090
    # What the database says counts unless ours is newer.
    m.last_success(B, datetime.fromtimestamp(999_000, UTC))
    m.last_success(A, datetime.fromtimestamp(999_000, UTC))
    m.last_run(A, datetime.fromtimestamp(1_000_100, UTC))
    s = scrape(m)
    assert value(s, "syncer_last_success_timestamp_seconds", account=B) == 999_000
    assert value(s, "syncer_last_success_timestamp_seconds", account=A) == 1_000_000
    assert value(s, "syncer_last_run_timestamp_seconds", account=A) == 1_000_100
    m.last_run(A, None)  # the database knows of no run: nothing changes
    assert value(scrape(m), "syncer_last_run_timestamp_seconds", account=A) == 1_000_100


def test_api_requests_are_timed_through_the_transports_stats_by_operation_and_status() -> None:
    stats = ApiStats()
    m = Metrics([A, B], transports={A: SimpleNamespace(stats=stats), B: SimpleNamespace()})
    stats.record("detail", 200, 0.004)
    stats.record("detail", 200, 0.2)
    stats.record("detail", 429, 0.03)
    stats.record("list", "timeout", 30.5)
    stats.record("list", 200)  # no duration: counted, not timed
    s = scrape(m)
    h = "syncer_api_request_duration_seconds"
    assert value(s, f"{h}_count", operation="detail", status="200") == 2
    assert value(s, f"{h}_bucket", operation="detail", status="200", le="0.005") == 1
    assert value(s, f"{h}_bucket", operation="detail", status="200", le="0.25") == 2
    assert value(s, f"{h}_count", operation="detail", status="429") == 1
    assert value(s, f"{h}_bucket", operation="list", status="timeout", le="30.0") == 0
    assert value(s, f"{h}_count", operation="list", status="timeout") == 1
    assert ((f"{h}_count", (("operation", "list"), ("status", "200")))) not in s
    assert stats.calls[("list", "200")] == 1


def test_build_info_and_the_process_and_platform_collectors_are_on_its_registry() -> None:
    s = scrape(Metrics([A]))
    python = platform.python_version()
    assert value(s, "syncer_build_info", version=syncer.__version__, python=python) == 1
    assert value(s, "process_cpu_seconds_total") >= 0
    assert value(s, "process_resident_memory_bytes") > 0
    assert ("python_info", ()) not in s  # it has labels: implementation, version...
    assert any(name == "python_info" for name, _ in s)


def test_open_failures_are_set_from_what_the_database_says() -> None:
    m = Metrics([A, B])
    m.open_failures.labels(A).set(3)
    s = scrape(m)
    assert value(s, "syncer_open_failures", account=A) == 3
    assert value(s, "syncer_open_failures", account=B) == 0


def test_the_limiter_rate_and_congestion_events_are_read_when_there_is_one() -> None:
    now = [100.0]
    limiter = RateLimiter(Limits(rate=12.5), clock=lambda: now[0])
    transports = {A: SimpleNamespace(limiter=limiter), B: SimpleNamespace()}
    m = Metrics([A, B], transports=transports)
    s = scrape(m)
    rate, events = "syncer_api_rate_limit_requests_per_second", "syncer_api_congestion_events_total"
    assert value(s, rate, account=A) == 12.5
    assert value(s, events, account=A) == 0
    assert (rate, (("account", B),)) not in s and (events, (("account", B),)) not in s
    # A 429: the rate halves, one congestion event; the next scrape shows both.
    assert limiter.throttled(now[0], retry_after=0)
    s = scrape(m)
    assert value(s, rate, account=A) == 6.25
    assert value(s, events, account=A) == 1


def test_each_instance_has_its_own_registry_and_the_global_one_is_untouched() -> None:
    first, second = Metrics([A]), Metrics([A])
    first.observe(a_run())
    assert value(scrape(first), "syncer_runs_total", account=A, outcome="succeeded") == 1
    assert value(scrape(second), "syncer_runs_total", account=A, outcome="succeeded") == 0
    assert (
        REGISTRY.get_sample_value("syncer_runs_total", {"account": A, "outcome": "succeeded"})
        is None
    )


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it() -> None:
    body, content_type = Metrics([A]).render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")
