"""Metrics: what each run adds, what is computed at scrape time, one registry per instance."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from syncer.api.transport import ApiStats
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
    counts = Counts(listed=50, fetched=44, skipped=6, loaded=40, unchanged=2, failed=2, rows=900)
    return RunResult(account, 7, outcome, counts=counts, api=api, seconds=seconds)


def test_every_series_exists_at_zero_before_the_first_run() -> None:
    samples = scrape(Metrics([A, B]))
    for account in (A, B):
        assert value(samples, "syncer_runs_total", account=account, outcome="failed") == 0
        for outcome in ORDER_OUTCOMES:
            assert value(samples, "syncer_orders_total", account=account, outcome=outcome) == 0
        assert value(samples, "syncer_seconds_since_last_success", account=account) == math.inf
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
    assert value(s, "syncer_api_throttled_total", account=A) == 6
    assert value(s, "syncer_run_duration_seconds_count", account=A) == 2
    assert value(s, "syncer_run_duration_seconds_sum", account=A) == 4.7
    assert value(s, "syncer_run_duration_seconds_bucket", account=A, le="1.0") == 1
    assert value(s, "syncer_run_duration_seconds_bucket", account=A, le="5.0") == 2


def test_a_skipped_run_counts_as_a_run_and_nothing_else() -> None:
    m = Metrics([A])
    m.observe(RunResult(A, None, "skipped", seconds=0.01))
    s = scrape(m)
    assert value(s, "syncer_runs_total", account=A, outcome="skipped") == 1
    assert value(s, "syncer_run_duration_seconds_count", account=A) == 0


def test_seconds_since_last_success_is_computed_when_scraped() -> None:
    now = [1_000_000.0]
    m = Metrics([A, B], clock=lambda: now[0])
    m.observe(a_run(A))
    m.observe(a_run(B, outcome="failed"))
    now[0] += 90
    s = scrape(m)
    assert value(s, "syncer_seconds_since_last_success", account=A) == 90
    assert value(s, "syncer_seconds_since_last_success", account=B) == math.inf
    now[0] += 30
    assert value(scrape(m), "syncer_seconds_since_last_success", account=A) == 120


def test_a_success_recorded_in_the_database_counts_unless_ours_is_newer() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC).timestamp()
    m = Metrics([A], clock=lambda: now)
    m.last_success(A, datetime(2026, 11, 27, 11, 0, tzinfo=UTC))
    assert value(scrape(m), "syncer_seconds_since_last_success", account=A) == 3600
    m.last_success(A, datetime(2026, 11, 27, 10, 0, tzinfo=UTC))  # older: ignored
    assert value(scrape(m), "syncer_seconds_since_last_success", account=A) == 3600


def test_the_limiter_rate_is_read_when_there_is_one_and_skipped_when_not() -> None:
    limiter = SimpleNamespace(rate=12.5)
    transports = {A: SimpleNamespace(limiter=limiter), B: SimpleNamespace()}
    m = Metrics([A, B], transports=transports)
    s = scrape(m)
    assert value(s, "syncer_rate_limit_requests_per_second", account=A) == 12.5
    assert ("syncer_rate_limit_requests_per_second", (("account", B),)) not in s
    limiter.rate = 6.25  # lowered after a 429: the next scrape shows it
    assert value(scrape(m), "syncer_rate_limit_requests_per_second", account=A) == 6.25


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
