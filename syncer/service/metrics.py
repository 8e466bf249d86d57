"""Prometheus metrics of one service instance, in a registry of its own (never the global one).

Counters are fed by each run's `RunResult`; the lag since the last successful sync and the rate
limiter's current rate are read at scrape time, so they are exact when Prometheus looks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from syncer.sync.account import Counts, RunResult

RUN_OUTCOMES = ("succeeded", "failed", "skipped", "cancelled")
ORDER_OUTCOMES = tuple(f.name for f in fields(Counts) if f.name not in ("rows", "batches"))
# Runs take from a second (nothing changed) to an hour (a first sync of a large account).
DURATION_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, math.inf)


class Metrics:
    def __init__(
        self,
        accounts: Sequence[str],
        *,
        transports: Mapping[str, object] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # The *_created series double the exposition and nobody queries them. (The switch is
        # process-wide in prometheus_client; the registry is still this instance's own.)
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self._clock = clock
        self._transports = dict(transports or {})
        self._last_success: dict[str, float] = {}
        self.accounts = tuple(accounts)
        r = self.registry
        self.runs = Counter(
            "syncer_runs", "Sync runs by outcome.", ["account", "outcome"], registry=r
        )
        self.orders = Counter(
            "syncer_orders",
            "Orders by what a run did with them: listed, fetched (detail called), skipped (held "
            "and unchanged), loaded (written), unchanged (same content), failed.",
            ["account", "outcome"],
            registry=r,
        )
        self.api_calls = Counter(
            "syncer_api_calls",
            "API calls by operation and HTTP status ('timeout'/'error': no response).",
            ["account", "operation", "status"],
            registry=r,
        )
        self.throttled = Counter(
            "syncer_api_throttled", "API responses 429 Too Many Requests.", ["account"], registry=r
        )
        self.duration = Histogram(
            "syncer_run_duration_seconds",
            "Duration of sync runs.",
            ["account"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.in_progress = Gauge(
            "syncer_run_in_progress", "1 while a run of the account is going.", ["account"],
            registry=r,
        )  # fmt: skip
        # Every series exists from the start, so rate() and absent() work before the first run.
        for account in self.accounts:
            for outcome in RUN_OUTCOMES:
                self.runs.labels(account, outcome)
            for outcome in ORDER_OUTCOMES:
                self.orders.labels(account, outcome)
            self.throttled.labels(account)
            self.duration.labels(account)
            self.in_progress.labels(account).set(0)
        r.register(_LiveCollector(self))

    def observe(self, result: RunResult) -> None:
        """Count a finished run."""
        account = result.account
        self.runs.labels(account, result.outcome).inc()
        if result.outcome == "skipped":
            return  # another instance holds the account: nothing was done, nothing took time
        for outcome in ORDER_OUTCOMES:
            n = getattr(result.counts, outcome)
            if n:
                self.orders.labels(account, outcome).inc(n)
        for (operation, status), n in result.api.calls.items():
            self.api_calls.labels(account, operation, status).inc(n)
        if result.api.throttled:
            self.throttled.labels(account).inc(result.api.throttled)
        self.duration.labels(account).observe(result.seconds)
        if result.outcome == "succeeded":
            self._last_success[account] = self._clock()

    def observe_error(self, account: str, outcome: str, seconds: float) -> None:
        """Count a run that raised (or was cancelled) before it could return a result."""
        self.runs.labels(account, outcome).inc()
        self.duration.labels(account).observe(seconds)

    def last_success(self, account: str, when: datetime | None) -> None:
        """Learn a last success from the database (earlier processes, other instances)."""
        if when is not None:
            stamp = when.timestamp()
            self._last_success[account] = max(stamp, self._last_success.get(account, stamp))

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition (Prometheus text, or OpenMetrics if asked for) and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class _LiveCollector:
    """Gauges computed when scraped."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterable[Metric]:
        now = self.m._clock()
        lag = GaugeMetricFamily(
            "syncer_seconds_since_last_success",
            "Seconds since the account's last successful sync (+Inf: never).",
            labels=["account"],
        )
        for account in self.m.accounts:
            last = self.m._last_success.get(account)
            lag.add_metric([account], math.inf if last is None else max(0.0, now - last))
        yield lag
        rate = GaugeMetricFamily(
            "syncer_rate_limit_requests_per_second",
            "The rate limiter's current rate for the account's API key (lowered after a 429).",
            labels=["account"],
        )
        for account in self.m.accounts:
            current = _limiter_rate(self.m._transports.get(account))
            if current is not None:
                rate.add_metric([account], current)
        yield rate


def _limiter_rate(transport: Any) -> float | None:
    # The limiter is optional: a transport without one (or without a rate yet) has no series.
    value = getattr(getattr(transport, "limiter", None), "rate", None)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
