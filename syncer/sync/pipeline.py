"""One run's pipeline: list → fetch details → rows → load, the stages overlapping through queues,
so the API is not idle while the database writes, and the work in flight bounded:

    lister ──fetch_q──▶ N fetchers ──load_q × W──▶ W writers (one transaction per batch each)

The lister (`syncer.sync.listing`) reads the next list page while it looks up and queues the
current one. A fetcher takes a permit before fetching a detail; the writer gives it back once the
order is committed (or recorded as failed). There are two batches' worth of permits per writer: the
fetchers fill each writer's next batch while it writes one (with fewer they would stop at every
write), and at most 2 × W batches of fetched details are ever uncommitted: that is all a crash can
cost. Writers work on separate connections, so the database checks and indexes one batch while the
next is being encoded and sent; each order always goes to the same writer, so two transactions
never hold the same order (docs/decisions/0004-two-writers.md). Little grows with the number of
orders: at most two list pages, the queues and 2 × W batches are held, and the key of each order
the run fetches, so that an order listed twice is fetched once (syncer.sync.fetch_keys).

A batch the database refuses for its data is loaded again order by order, and only the orders at
fault are recorded as failures (`_is_data_error`); any other error ends the run.
"""

from __future__ import annotations

import asyncio
import functools
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from syncer.api.client import UnusableDetail
from syncer.api.payload import Detail, OrderListRow
from syncer.errors import ApiError, CredentialsError, PayloadError
from syncer.logs import get_logger
from syncer.states import Stage
from syncer.sync.large_details import LargeDetails
from syncer.sync.listing import FetchQueue, Lister
from syncer.sync.result import Counts, Progress, RunResult, RunScope
from syncer.sync.result import describe as _describe
from syncer.sync.windows import Window
from syncer.warehouse import ledger, loader
from syncer.warehouse.ledger import Failure
from syncer.warehouse.loader import Touch
from syncer.warehouse.rows import OrderRows, build_rows

log = get_logger(__name__)

# A writer with less than a quarter of a batch ready waits up to this long for more before it
# writes: when details arrive slowly, tiny transactions cost the database nearly what full ones
# do (docs/decisions/0004-two-writers.md). An order waits at most this long to be written.
BATCH_WAIT_SECONDS = 0.5

Loadable = OrderRows | Touch | Failure
LoadQueue = asyncio.Queue[Loadable | None]
EXPOSED = "detail: the body holds one of our credentials (an echo of the request?); not loaded"


def writer_of(sales_order_number: str, writers: int) -> int:
    """The writer that takes this order: always the same one (and the same in every process,
    unlike hash()), so that an order listed twice in a run is never in two transactions at once
    (they would wait on each other's keys, and two such orders crossed would deadlock).
    docs/decisions/0004-two-writers.md"""
    return zlib.crc32(sales_order_number.encode()) % writers


class Pipeline:
    """One run's pipeline (`run`), for an account whose lock the caller holds. `analyzed_at`:
    the orders the warehouse held at its last ANALYZE (`loader.held_orders`)."""

    def __init__(
        self, scope: RunScope, *, progress: Progress | None = None, analyzed_at: int = 0
    ) -> None:
        self.scope = scope
        self.progress = progress
        # Orders in the warehouse at the last ANALYZE, and orders loaded since (see loader).
        self._analyzed_at = analyzed_at
        self._loaded_since = 0
        self._large = LargeDetails(scope.options.large_detail_bytes)

    async def run(
        self,
        result: RunResult,
        window: Window,
        chunk_days: int | None,
        retry: list[str],
        force: bool,
    ) -> bool:
        """List, fetch and load; False when the listing failed (`result.error` says why)."""
        n, writers = self.scope.options.concurrency, self.scope.options.writers
        fetch_q: FetchQueue = asyncio.Queue(n * 2)
        # Unbounded, but never longer than the permits: every item in them holds one.
        load_qs: list[LoadQueue] = [asyncio.Queue() for _ in range(writers)]
        permits = asyncio.Semaphore(2 * writers * self.scope.options.batch_size)
        list_error: list[str] = []
        listing = Lister(self.scope, report=self._report, count_failures=self._count_failures)

        async def lister() -> None:
            try:
                await listing.list_failed(retry, fetch_q, result)
                await listing.list_in_pieces(window, chunk_days, fetch_q, result, force)
            except ApiError as exc:
                list_error.append(str(exc))
            # Not in a `finally`: when the run is cancelled (shutdown) or fails, the task group
            # cancels the fetchers, and waiting to hand them a sentinel would hang forever.
            for _ in range(n):
                await fetch_q.put(None)

        async def fetchers() -> None:
            async with asyncio.TaskGroup() as tg:
                for _ in range(n):
                    tg.create_task(self._fetcher(fetch_q, load_qs, permits))
            for load_q in load_qs:
                await load_q.put(None)

        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(lister())
                tg.create_task(fetchers())
                for load_q in load_qs:
                    tg.create_task(self._writer(load_q, permits, result))
        except BaseExceptionGroup as group:
            # The first failure as itself: the caller tells a database error from the others by
            # its class (the tasks it cancelled are not in the group).
            raise first_error(group) from None
        if list_error:
            result.error = f"listing failed: {list_error[0]}"
            return False
        return True

    def _report(self, result: RunResult) -> None:
        if self.progress is not None:
            self.progress(result)

    async def _fetcher(
        self,
        fetch_q: FetchQueue,
        load_qs: list[LoadQueue],
        permits: asyncio.Semaphore,
    ) -> None:
        while (item := await fetch_q.get()) is not None:
            await permits.acquire()
            fetched = await self._fetch_one(*item)
            await load_qs[writer_of(fetched.sales_order_number, len(load_qs))].put(fetched)

    async def _fetch_one(self, listed: OrderListRow, held_hash: str | None) -> Loadable:
        order_no = listed.order_number or ""
        detail: Detail | UnusableDetail
        try:
            body, detail = await self.scope.client.fetch_detail(
                self.scope.account, order_no, admit=functools.partial(self._large.admit, order_no)
            )
        except CredentialsError:
            raise  # every call of the run would fail the same way: the run ends
        except ApiError as exc:
            self._large.done((order_no,))
            return Failure(order_no, Stage.FETCH, str(exc), exc.body, gone=exc.status == 404)
        except UnusableDetail as exc:
            body, detail = exc.body, exc
        if self.scope.redactor.exposes(body):  # a credential is not order data: not stored as raw
            return Failure(order_no, Stage.FETCH, EXPOSED, body.decode("utf-8", errors="replace"))
        fetched_at = self.scope.clock()
        try:
            if isinstance(detail, UnusableDetail):
                raise detail
            rows = build_rows(self.scope.account, listed, detail, body, fetched_at)
        except PayloadError as exc:
            return Failure(order_no, Stage.PARSE, str(exc), body.decode("utf-8", errors="replace"))
        if rows.content_hash == held_hash:
            return Touch(order_no, listed.last_changed, listed.date_entered, fetched_at)
        return rows

    async def _writer(
        self,
        load_q: LoadQueue,
        permits: asyncio.Semaphore,
        result: RunResult,
    ) -> None:
        """Write what is ready, up to a batch, as soon as the previous write is done (but a
        quarter of a batch at least, or what came within BATCH_WAIT_SECONDS)."""
        done = False
        while not done:
            items, done = await self._next_batch(load_q)
            if items:
                await self._flush(items, result.counts)
                for _ in items:
                    permits.release()
                self._large.done(i.sales_order_number for i in items)
                self._report(result)

    async def _next_batch(self, load_q: LoadQueue) -> tuple[list[Loadable], bool]:
        """The next batch, and whether the fetchers are done."""
        items: list[Loadable] = []
        size = self.scope.options.batch_size
        item = await load_q.get()
        deadline = asyncio.get_running_loop().time() + BATCH_WAIT_SECONDS
        while item is not None:
            items.append(item)
            if len(items) >= size:
                break
            if not load_q.empty():
                item = load_q.get_nowait()
            elif len(items) >= max(1, size // 4):
                break
            else:
                try:
                    async with asyncio.timeout_at(deadline):
                        item = await load_q.get()
                except TimeoutError:
                    break
        return items, item is None

    async def _flush(self, items: Sequence[Loadable], counts: Counts) -> None:
        batch = [i for i in items if isinstance(i, OrderRows)]
        touches = [i for i in items if isinstance(i, Touch)]
        failures = [i for i in items if isinstance(i, Failure)]
        observed_at = self.scope.clock()
        self._count_unreadable_dates(batch, counts)
        async with loader.connection(self.scope.engine) as con:
            if batch:
                try:
                    await loader.load_batch(con, batch, observed_at)
                    counts.batches += 1
                    counts.loaded += len(batch)
                    counts.add_rows(batch)
                except (asyncpg.PostgresError, ValueError, TypeError) as exc:
                    if not _is_data_error(exc):
                        raise
                    log.warning("batch failed; loading it order by order",
                                orders=len(batch), error=_describe(exc))  # fmt: skip
                    await self._load_one_by_one(con, batch, observed_at, failures, counts)
            await loader.touch(con, self.scope.account, touches)
            counts.unchanged += len(touches)
            closed = await ledger.record_failures(
                con, self.scope.account, failures, self.scope.redactor,
                gone_after=self.scope.options.gone_after_attempts,
            )  # fmt: skip
            self._loaded_since += len(batch)
            if self._loaded_since >= max(loader.ANALYZE_FROM, self._analyzed_at):
                # Counted before the ANALYZE, so that the other writers do not start one too.
                self._analyzed_at += self._loaded_since
                self._loaded_since = 0
                await loader.analyze(con)
        self._count_failures(failures, closed, counts)

    def _count_failures(self, failures: list[Failure], closed: list[str], counts: Counts) -> None:
        counts.failed += len(failures)
        for f in failures:
            log.warning("order failed", order=f.sales_order_number, stage=str(f.stage),
                        reason=f.reason)  # fmt: skip
        for order_no in closed:
            log.warning("order closed as gone: runs in a row found it gone from the API; "
                        "no longer retried", order=order_no,
                        runs=self.scope.options.gone_after_attempts)  # fmt: skip

    def _count_unreadable_dates(self, batch: Sequence[OrderRows], counts: Counts) -> None:
        """Count the dates read as NULL by field, for the run's summary; the first of each field
        in a run is logged, with its text, and the others only counted."""
        for order in batch:
            for name, text in order.unreadable_dates:
                seen = counts.unreadable_dates.get(name, 0)
                if not seen:
                    log.warning(
                        "no date we can read: stored as NULL (the text stays in "
                        "sales_orders.raw); every such date of the field is counted in the "
                        "run's unreadable_dates",
                        order=order.sales_order_number,
                        field=name,
                        text=text[:40],
                    )
                counts.unreadable_dates[name] = seen + 1

    async def _load_one_by_one(
        self,
        con: Any,
        batch: list[OrderRows],
        observed_at: datetime,
        failures: list[Failure],
        counts: Counts,
    ) -> None:
        for order in batch:
            try:
                await loader.load_batch(con, [order], observed_at)
            except (asyncpg.PostgresError, ValueError, TypeError) as exc:
                if not _is_data_error(exc):
                    raise
                raw = order.header[loader.RAW_INDEX]
                failures.append(Failure(order.sales_order_number, Stage.LOAD, _describe(exc), raw))
            else:
                counts.loaded += 1
                counts.add_rows([order])


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def _is_data_error(exc: BaseException) -> bool:
    """Errors caused by the rows themselves — bad values (22), constraints (23), limits such as
    an over-long indexed value (54), or a value the driver cannot encode — rather than by the
    database: only these are isolated per order; anything else fails the run."""
    if isinstance(exc, ValueError | TypeError) and not isinstance(exc, asyncpg.PostgresError):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in ("22", "23", "54")
