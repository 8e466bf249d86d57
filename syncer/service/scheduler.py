"""`syncer run`: the long-running service.

    open runtime ─▶ database current? ─▶ health endpoint ─▶ scheduler (one job per account)
                                                                 │ SIGTERM / SIGINT
    exit 0 ◀─ close runtime ◀─ close endpoint ◀─ cancel overrunning runs ◀─ stop scheduling

APScheduler 3 (`AsyncIOScheduler`) decides when; a job never overlaps itself (max_instances=1),
missed runs coalesce into one, and a jitter spreads the accounts. APScheduler's own shutdown
cancels running coroutine jobs at once, so the service pauses it instead, waits for the runs in
flight, and cancels only those that would overrun the grace period. Cancelling is safe: each
batch is one transaction, so it is either committed or rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from syncer.config.settings import Settings
from syncer.errors import SyncerError
from syncer.logs import get_logger
from syncer.redact import Redactor
from syncer.service import health, options
from syncer.service.metrics import Metrics
from syncer.service.runner import summary as result_summary
from syncer.service.runtime import Runtime, open_runtime
from syncer.states import Outcome
from syncer.warehouse import database as db

log = get_logger(__name__)

# Of the grace period, what is kept back for cancelled runs to roll back and for closing.
MAX_CLOSING_RESERVE_SECONDS = 5.0


def utcnow() -> datetime:
    return datetime.now(UTC)


class Service:
    """Schedules each account's runs and reports them; the runtime is opened and closed outside."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] = utcnow) -> None:
        s = runtime.settings
        self.runtime = runtime
        self.settings = s
        self.schedule = options.schedule_options(s)
        self.clock = clock
        self.accounts = tuple(a.customer_number for a in s.accounts)
        self.trigger = self.schedule.trigger()
        self.metrics = Metrics(
            self.accounts,
            transports={a: runtime.clients[a].transport for a in self.accounts},
        )
        self.stopping = False
        # Each account's last run as this process saw it: readiness counts it even when the
        # run could not record itself (the database was unreachable).
        self.last_runs: dict[str, health.AccountHealth] = {}
        self.probe = health.ReadinessProbe(
            runtime.engine,
            self.accounts,
            stale_after=options.health_options(s).stale_after,
            metrics=self.metrics,
            clock=clock,
            stopping=lambda: self.stopping,
            remembered=self.last_runs,
        )
        self._scheduler: Any = None
        self.health_url = ""
        self._running: dict[str, asyncio.Task[Any]] = {}

    async def sync_account(self, account: str) -> None:
        """One scheduled run: never raises, so a bad run cannot stop the schedule. Not even
        when cancelled at shutdown: that is expected, one line says so, and the scheduler would
        log it as a job's error with its traceback."""
        task = asyncio.current_task()
        assert task is not None
        self._running[account] = task
        self.metrics.in_progress.labels(account).set(1)
        started = time.perf_counter()
        try:
            result = await self.runtime.account_sync(account).run()
        except asyncio.CancelledError:
            task.uncancel()  # this task is the job's own: it ends here
            seconds = time.perf_counter() - started
            self.metrics.observe_error(account, Outcome.CANCELLED, seconds)
            self._remember(
                account, Outcome.CANCELLED, "cancelled before the end of the run (shutdown)"
            )
            log.warning("sync run cancelled", account=account, outcome=Outcome.CANCELLED,
                        seconds=round(seconds, 3))  # fmt: skip
        except Exception as exc:  # logged with its traceback; the next run tries again
            seconds = time.perf_counter() - started
            self.metrics.observe_error(account, Outcome.FAILED, seconds)
            self._remember(account, Outcome.FAILED, str(exc))
            log.error(
                "sync run failed",
                account=account,
                outcome=Outcome.FAILED,
                error=str(exc),
                seconds=round(seconds, 3),
                # Our own errors say what went wrong; anything else needs its traceback.
                exc_info=not isinstance(exc, SyncerError | OSError),
            )
        else:
            self.metrics.observe(result)
            if result.outcome != Outcome.SKIPPED:  # another instance ran it: sync_runs says how
                self._remember(account, result.outcome, result.error)
            summary = result_summary(result)
            summary.pop("account")
            emit = log.info if result.outcome != Outcome.FAILED else log.error
            emit("sync run", account=account, **summary)
        finally:
            self.metrics.in_progress.labels(account).set(0)
        try:
            if not self.stopping:  # still among the runs a stop waits for
                await self.learn_history([account])
        except asyncio.CancelledError:
            task.uncancel()  # the run is over and counted: nothing more to say
        finally:
            self._running.pop(account, None)

    def _remember(self, account: str, outcome: str, error: str | None) -> None:
        now = self.clock()
        before = self.last_runs.get(account)
        success = (
            now if outcome == Outcome.SUCCEEDED else before.last_success_at if before else None
        )
        error = health.first_line(self.runtime.redactor.optional(error))
        self.last_runs[account] = health.AccountHealth(account, outcome, now, error, success)

    async def learn_history(self, accounts: Sequence[str] | None = None) -> None:
        """Tell the metrics what the database knows of the accounts (all by default): the
        runs of earlier processes and other instances, the open failures. At start, and after
        each run; a database that does not answer leaves them as they were."""
        try:
            async with asyncio.timeout(health.PROBE_TIMEOUT_SECONDS):
                known = await health.account_health(self.runtime.engine, accounts or self.accounts)
        except Exception as exc:  # the run's own outcome already says what went wrong
            log.debug("metrics not refreshed from the database", error=str(exc))
            return
        health.learn(self.metrics, known.values())

    def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone=self.schedule.timezone)
        first = self.clock() if self.schedule.run_at_start else None
        for account in self.accounts:
            scheduler.add_job(
                self.sync_account,
                self.trigger,
                args=[account],
                id=f"sync:{account}",
                name=f"sync account {account}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,  # a late run still runs (once, thanks to coalesce)
                replace_existing=True,
                **({"next_run_time": first} if first is not None else {}),
            )
        scheduler.start()
        self._scheduler = scheduler

    async def stop(
        self,
        grace_seconds: float,
        hurry: asyncio.Event | None = None,
        *,
        unwind_seconds: float = MAX_CLOSING_RESERVE_SECONDS / 2,
    ) -> None:
        """Stop scheduling, give runs in flight `grace_seconds` (less if `hurry` is set), then
        cancel what is left and give it `unwind_seconds` to roll back."""
        self.stopping = True
        if self._scheduler is not None:
            self._scheduler.pause()
        running = {t for t in self._running.values() if not t.done()}
        if running:
            log.info(
                "waiting for runs in flight",
                accounts=sorted(a for a, t in self._running.items() if t in running),
                grace_seconds=round(grace_seconds, 1),
            )
            late = await _wait_for(running, grace_seconds, hurry or asyncio.Event())
            for task in late:
                task.cancel()
            if late:
                # Cancelled runs roll back their open transaction; give them a moment to do it.
                await asyncio.wait(late, timeout=unwind_seconds)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
            self._scheduler = None

    def describe_schedule(self) -> str:
        return self.schedule.describe()


async def _wait_for(
    tasks: set[asyncio.Task[Any]], seconds: float, hurry: asyncio.Event
) -> set[asyncio.Task[Any]]:
    """Wait until `tasks` are done, `seconds` have passed or `hurry` is set; return the rest."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    interrupt = asyncio.ensure_future(hurry.wait())
    try:
        pending = set(tasks)
        while pending and not hurry.is_set() and (left := deadline - loop.time()) > 0:
            await asyncio.wait({*pending, interrupt}, timeout=left, return_when="FIRST_COMPLETED")
            pending = {t for t in pending if not t.done()}
        return pending
    finally:
        interrupt.cancel()


class Signals:
    """SIGTERM/SIGINT: the first asks for a graceful stop and arms a watchdog that ends the
    process when the grace period is over; a second one asks for an immediate stop."""

    def __init__(self, grace_seconds: float) -> None:
        self.stop = asyncio.Event()
        self.hurry = asyncio.Event()
        self.grace_seconds = grace_seconds
        self.watchdog: threading.Timer | None = None
        self._loop = asyncio.get_running_loop()
        self._installed: list[signal.Signals] = []

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._loop.add_signal_handler(sig, self._received, sig)
            self._installed.append(sig)

    def remove(self) -> None:
        for sig in self._installed:
            self._loop.remove_signal_handler(sig)
        self._installed.clear()
        if self.watchdog is not None:
            self.watchdog.cancel()

    def _received(self, sig: signal.Signals) -> None:
        if self.stop.is_set():
            log.warning("second signal: cancelling runs in flight now", signal=sig.name)
            self.hurry.set()
        else:
            log.info("signal received: shutting down", signal=sig.name)
            self.stop.set()
            self.watchdog = _watchdog(self.grace_seconds)


@contextlib.asynccontextmanager
async def serving(
    settings: Settings,
    *,
    hurry: asyncio.Event | None = None,
    clock: Callable[[], datetime] = utcnow,
    redactor: Redactor | None = None,
) -> AsyncIterator[Service]:
    """Open the runtime, check the database, serve the endpoint; the caller starts the schedule.
    On exit, runs in flight get the grace period (less a reserve for rolling back and closing)
    and everything is closed."""
    async with open_runtime(settings, redactor=redactor) as runtime:
        await db.check_ready(runtime.engine)
        service = Service(runtime, clock=clock)
        await service.learn_history()
        app = health.build_app(service.probe.check, service.metrics)
        endpoint = options.health_options(settings)
        async with health.serve(app, endpoint.host, endpoint.port) as port:
            service.health_url = f"http://{endpoint.host}:{port}"
            try:
                yield service
            finally:
                # Runs get the grace period less a reserve; half of it for cancelled runs to
                # roll back, half for closing the endpoint, the pool and the HTTP session.
                grace = service.schedule.grace_seconds
                reserve = min(MAX_CLOSING_RESERVE_SECONDS, grace / 4)
                await service.stop(grace - reserve, hurry, unwind_seconds=reserve / 2)


async def run_service(settings: Settings, redactor: Redactor | None = None) -> None:
    """Run until SIGTERM or SIGINT, then shut down within `shutdown_grace_seconds`.
    `redactor`: the one the log handlers mask with; it learns every token the service mints."""
    signals = Signals(options.schedule_options(settings).grace_seconds)
    signals.install()
    try:
        async with serving(settings, hurry=signals.hurry, redactor=redactor) as service:
            log.info(
                "service started",
                accounts=list(service.accounts),
                schedule=service.describe_schedule(),
                health=service.health_url,
                stale_after_seconds=int(service.probe.stale_after.total_seconds()),
            )
            if not signals.stop.is_set():  # a signal during start-up: start nothing
                service.start()
            await signals.stop.wait()
        log.info("service stopped")
    finally:
        signals.remove()


def _watchdog(seconds: float) -> threading.Timer:
    """Ends the process if the graceful stop overruns (a run that ignores cancellation, a
    database that does not answer at start-up): the platform would kill it soon anyway, and a
    log line beats a SIGKILL. A thread, so that it fires even if the event loop is blocked."""

    def overrun() -> None:
        # Expected when something hangs at shutdown; the exit code says it, not an error line.
        log.info("shutdown overran the grace period; exiting now", grace_seconds=seconds)
        os._exit(1)

    timer = threading.Timer(seconds, overrun)
    timer.daemon = True
    timer.start()
    return timer
