"""One account's run: take the account's lock, decide the window, run the pipeline, record it.

    lock (syncer.warehouse.locks) ─▶ window (syncer.sync.windows) ─▶ run recorded as running
      ─▶ foreign keys deferred for a first load (syncer.warehouse.foreign_keys)
      ─▶ pipeline (syncer.sync.pipeline) ─▶ watermark advanced ─▶ run recorded as over

A run that finds the account locked by another syncer is skipped, and records nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.api.client import ScanSourceClient
from syncer.api.stats import run_stats
from syncer.errors import DatabaseError
from syncer.logs import bind_run, bind_run_id, get_logger
from syncer.redact import Redactor
from syncer.states import Outcome, RunKind
from syncer.sync.pipeline import Pipeline
from syncer.sync.result import Clock, Progress, RunResult, RunScope, SyncOptions, describe
from syncer.sync.windows import Window, run_window
from syncer.warehouse import foreign_keys, ledger, loader
from syncer.warehouse import locks as account_lock

log = get_logger(__name__)

DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, DBAPIError, OSError)


def utcnow() -> datetime:
    return datetime.now(UTC)


class AccountSync:
    def __init__(
        self,
        engine: AsyncEngine,
        client: ScanSourceClient,
        account: str,
        options: SyncOptions,
        *,
        clock: Clock = utcnow,
        progress: Progress | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.engine = engine
        self.client = client
        self.account = account
        self.options = options
        self.clock = clock
        self.progress = progress
        # What the run stores is masked with it: the process's one, the client's by default.
        self.redactor = redactor if redactor is not None else client.transport.redactor
        self.tz = ZoneInfo(options.timezone)

    async def run(
        self,
        *,
        window: Window | None = None,
        kind: RunKind = RunKind.SYNC,
        force: bool = False,
        chunk_days: int = 7,
    ) -> RunResult:
        """One run. A given `window` (backfill) is listed in pieces, from `chunk_days` days at
        a time (`syncer.sync.windows.Pieces`), and leaves the watermark alone; `force` fetches
        every listed order whatever its stamp."""
        started = time.perf_counter()
        result = RunResult(self.account, None, Outcome.RUNNING, kind)
        with bind_run(self.account):  # every line the run logs carries account and run_id
            token = run_stats.set(result.api)
            try:
                async with (
                    loader.connection(self.engine) as lock_con,
                    account_lock.held(self.engine, lock_con, self.account,
                                      wait=self.options.wait_for_lock) as hold,
                ):  # fmt: skip
                    if not hold.acquired:
                        self._skipped(result, hold.holder_pid)
                        return result
                    chunk = chunk_days if window else None
                    await self._run_locked(lock_con, result, window, chunk, force)
            except DB_ERRORS as exc:
                raise DatabaseError(
                    f"account {self.account}: database error: {describe(exc)}"
                ) from exc
            finally:
                run_stats.reset(token)
                result.seconds = time.perf_counter() - started
            return result

    async def _end_deferral(self, con: Any, result: RunResult) -> None:
        """Add the foreign keys back; at shutdown, only let go of them: the next run adds them
        back before it writes (so does it if this fails: the database went away)."""
        started = time.perf_counter()
        try:
            if result.outcome == Outcome.CANCELLED:
                await foreign_keys.release(con)
                return
            await foreign_keys.restore(con)
        except DB_ERRORS as exc:  # the run's own error, if any, is the one to report
            log.warning("foreign keys not restored; the next run will", error=describe(exc))
        else:
            log.info("foreign keys of the first load checked",
                     seconds=round(time.perf_counter() - started, 1))  # fmt: skip

    def _skipped(self, result: RunResult, holder_pid: int | None) -> None:
        """Another syncer holds the account (`syncer.warehouse.locks`): nothing to do this time."""
        result.outcome, result.holder_pid = Outcome.SKIPPED, holder_pid
        log.warning("another syncer is syncing the account: skipped", holder_pid=holder_pid)

    async def _run_locked(
        self,
        lock_con: Any,
        result: RunResult,
        window: Window | None,
        chunk_days: int | None,
        force: bool,
    ) -> None:
        run_started_at = self.clock()
        async with loader.connection(self.engine) as con:
            if window is None:
                mark = await ledger.watermark(con, self.account)
                window = run_window(mark, run_started_at, self.tz, self.options.lookback_days)
            result.window = window
            result.run_id = await ledger.start_run(
                con, self.account, result.kind, run_started_at, window
            )
            bind_run_id(result.run_id)
            retry = await ledger.failed_orders(con, self.account)
            scope = RunScope(self.engine, self.client, self.account, self.options,
                             self.redactor, self.clock)  # fmt: skip
            pipeline = Pipeline(
                scope, progress=self.progress, analyzed_at=await loader.held_orders(con)
            )
        deferred = False
        try:
            # On the connection held for the run: the deferral's advisory lock lasts as long.
            deferred = await foreign_keys.defer(lock_con, drop=self.options.defer_foreign_keys)
            complete = await pipeline.run(result, window, chunk_days, retry, force)
            result.outcome = Outcome.SUCCEEDED if complete else Outcome.FAILED
            if complete and result.kind == RunKind.SYNC:
                await self._advance(run_started_at)
        except asyncio.CancelledError:
            # Shutdown: the open batches rolled back; the next run picks up from the watermark.
            result.outcome = Outcome.CANCELLED
            result.error = "cancelled before the end of the run (shutdown)"
            raise
        except BaseException as exc:
            result.outcome = Outcome.FAILED
            result.error = result.error or describe(exc)
            raise
        finally:
            try:
                if deferred:  # before the run is recorded as over: its checks are part of it
                    await self._end_deferral(lock_con, result)
            finally:
                await self._finish(result)

    async def _advance(self, watermark: datetime) -> None:
        async with loader.connection(self.engine) as con:
            await ledger.advance(con, self.account, watermark)

    async def _finish(self, result: RunResult) -> None:
        result.error = self.redactor.optional(result.error)
        if result.run_id is None:
            return
        c = result.counts
        try:
            async with loader.connection(self.engine) as con:
                await ledger.end_run(
                    con, result.run_id, finished_at=self.clock(), outcome=result.outcome,
                    counts=asdict(c), api_calls=result.api.as_dict(),
                    throttled=result.api.throttled, error=result.error,
                )  # fmt: skip
        except DB_ERRORS as exc:  # the run's own error matters more than its bookkeeping
            log.warning("could not record the run", error=describe(exc))
        log.debug(  # the service logs the run as one structured line; this is for the library
            "run over", outcome=result.outcome, listed=c.listed, fetched=c.fetched,
            skipped=c.skipped, loaded=c.loaded, unchanged=c.unchanged, failed=c.failed,
            rows=c.rows, api_calls=result.api.as_dict(),
        )  # fmt: skip
