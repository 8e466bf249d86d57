"""Prometheus metrics of one service instance, in a registry of its own (never the global one).

Named by Prometheus's conventions: base units as suffixes (_seconds, _total), timestamps rather
than ages (a lag is `time() - syncer_last_success_timestamp_seconds`, computed by Prometheus),
no series that another one already gives. Counters are fed by each run's `RunResult`; API
request durations by the transports as each request ends (`ApiStats.observer`); the rate
limiters' rate and congestion events are read at scrape time; the last runs and the open
failures come from the database too (earlier processes, other instances).
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

import syncer
from syncer.api.stats import ApiStats
from syncer.sync.result import RunResult
from syncer.warehouse.schema import DATA_TABLES

RUN_OUTCOMES = ("succeeded", "failed", "skipped", "cancelled")
ORDER_OUTCOMES = ("listed", "fetched", "skipped", "loaded", "unchanged", "failed")
TABLES = tuple(t.name for t in DATA_TABLES)
# Runs take from a hundredth of a second (nothing changed, or refused at once) to an hour (a
# first sync of a large account).
DURATION_BUCKETS = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600,
    math.inf,
)  # fmt: skip
# API requests: milliseconds (the simulator, a cached answer) to the 30 s timeout and past it.
REQUEST_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, math.inf,
)  # fmt: skip


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
        self._last_run: dict[str, float] = {}
        self.accounts = tuple(accounts)
        r = self.registry
        # The process's CPU, memory and file descriptors, and the Python version, on the
        # registry /metrics serves (they would be on the global one otherwise).
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        build = Gauge(
            "syncer_build_info", "Always 1; the version of the syncer and of Python.",
            ["version", "python"], registry=r,
        )  # fmt: skip
        build.labels(syncer.__version__, platform.python_version()).set(1)
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
        self.rows_written = Counter(
            "syncer_rows_written",
            "Rows written (new or merged) by table.",
            ["account", "table"],
            registry=r,
        )
        self.api_calls = Counter(
            "syncer_api_calls",
            "API calls of the account's runs by operation and HTTP status ('timeout'/'error': "
            "no response); status 429 are the throttled ones.",
            ["account", "operation", "status"],
            registry=r,
        )
        self.api_duration = Histogram(
            "syncer_api_request_duration_seconds",
            "Duration of API requests (each attempt, the token's too) by operation and status.",
            ["operation", "status"],
            buckets=REQUEST_BUCKETS,
            registry=r,
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
        self.open_failures = Gauge(
            "syncer_open_failures",
            "Orders whose failure is open (retried by every run), as the database last said.",
            ["account"],
            registry=r,
        )
        # Every series exists from the start, so rate() and absent() work before the first run.
        for account in self.accounts:
            for outcome in RUN_OUTCOMES:
                self.runs.labels(account, outcome)
            for outcome in ORDER_OUTCOMES:
                self.orders.labels(account, outcome)
            for table in TABLES:
                self.rows_written.labels(account, table)
            self.duration.labels(account)
            self.in_progress.labels(account).set(0)
            self.open_failures.labels(account).set(0)
        # Requests are timed as they end, whichever account's run made them.
        for transport in {id(t): t for t in self._transports.values()}.values():
            stats = getattr(transport, "stats", None)
            if isinstance(stats, ApiStats):
                stats.observer = self.observe_request
        r.register(_LiveCollector(self))

    def observe_request(self, operation: str, status: str, seconds: float) -> None:
        self.api_duration.labels(operation, status).observe(seconds)

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
        for table, n in result.counts.rows_by_table.items():
            if n:
                self.rows_written.labels(account, table).inc(n)
        for (operation, status), n in result.api.calls.items():
            self.api_calls.labels(account, operation, status).inc(n)
        self.duration.labels(account).observe(result.seconds)
        now = self._clock()
        self._last_run[account] = now
        if result.outcome == "succeeded":
            self._last_success[account] = now

    def observe_error(self, account: str, outcome: str, seconds: float) -> None:
        """Count a run that raised (or was cancelled) before it could return a result."""
        self.runs.labels(account, outcome).inc()
        self.duration.labels(account).observe(seconds)
        self._last_run[account] = self._clock()

    def last_success(self, account: str, when: datetime | None) -> None:
        """Learn a last success from the database (earlier processes, other instances)."""
        _later(self._last_success, account, when)

    def last_run(self, account: str, when: datetime | None) -> None:
        """Learn a last finished run from the database."""
        _later(self._last_run, account, when)

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition (Prometheus text, or OpenMetrics if asked for) and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


def _later(stamps: dict[str, float], account: str, when: datetime | None) -> None:
    if when is not None:
        stamp = when.timestamp()
        stamps[account] = max(stamp, stamps.get(account, stamp))


class _LiveCollector:
    """Series computed when scraped."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterable[Metric]:
        # 0 for an account that never succeeded (or never ran): as stale as can be.
        for name, stamps, text in (
            ("syncer_last_success_timestamp_seconds", self.m._last_success,
             "When the account's last successful sync finished, Unix time (0: never)."),
            ("syncer_last_run_timestamp_seconds", self.m._last_run,
             "When the account's last sync run finished, whatever its outcome, Unix time "
             "(0: never). Later than the last success: the last run did not succeed."),
        ):  # fmt: skip
            family = GaugeMetricFamily(name, text, labels=["account"])
            for account in self.m.accounts:
                family.add_metric([account], stamps.get(account, 0.0))
            yield family
        # Accounts sharing a subscription key share its limiter: their series are the same one.
        limiters = {a: _limiter(self.m._transports.get(a)) for a in self.m.accounts}
        rate = GaugeMetricFamily(
            "syncer_api_rate_limit_requests_per_second",
            "The rate limiter's current rate for the account's API key (lowered after a 429).",
            labels=["account"],
        )
        events = CounterMetricFamily(
            "syncer_api_congestion_events",
            "Congestion events of the account's API key: 429s that lowered the rate (the 429s "
            "of one overload count once).",
            labels=["account"],
        )
        for account, limiter in limiters.items():
            current = _number(getattr(limiter, "rate", None))
            if current is not None:
                rate.add_metric([account], current)
            count = _number(getattr(limiter, "congestion_events", None))
            if count is not None:
                events.add_metric([account], count)
        yield rate
        yield events


def _limiter(transport: Any) -> Any:
    return getattr(transport, "limiter", None)


def _number(value: Any) -> float | None:
    # The limiter is optional: a transport without one (or without a rate yet) has no series.
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
