"""Orchestration of one account's run: list → decide → fetch details → rows → load.

The only module that sees the client, the rows and the loader together. Stages overlap through
queues, so the API is not idle while the database writes, and the work in flight is bounded:

    lister ──fetch_q──▶ N fetchers ──load_q × W──▶ W writers (one transaction per batch each)

The lister reads the next list page while it looks up and queues the current one. A fetcher
takes a permit before fetching a detail; the writer gives it back once the order is committed
(or recorded as failed). There are two batches' worth of permits per writer: the fetchers fill
each writer's next batch while it writes one (with fewer they would stop at every write), and at
most 2 × W batches of fetched details are ever uncommitted: that is all a crash can cost. Writers
work on separate connections, so the database checks and indexes one batch while the next is
being encoded and sent; each order always goes to the same writer, so two transactions never
hold the same order. Little grows with the number of orders: at most two list pages, the queues
and 2 × W batches are held (bench/scale.py measures it), and the key of each order the run
fetches, so that an order listed twice is fetched once (syncer.sync.fetch_keys: ~80 bytes an order,
8 MB for a run that fetches 100,000).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.api.client import ScanSourceClient, UnusableDetail
from syncer.api.payload import Detail, OrderListRow, parse_list_row
from syncer.api.transport import ApiStats, run_stats
from syncer.errors import ApiError, CredentialsError, DatabaseError, PayloadError, SyncerError
from syncer.redact import Redactor
from syncer.sync.fetch_keys import FetchKeys
from syncer.sync.large_details import LargeDetails
from syncer.warehouse import foreign_keys, loader
from syncer.warehouse import locks as account_lock
from syncer.warehouse.loader import Failure, Stored, Touch
from syncer.warehouse.rows import OrderRows, build_rows

log = logging.getLogger(__name__)

# A writer with less than a quarter of a batch ready waits up to this long for more before it
# writes. When details arrive slowly (API latency, a rate limit), writing whatever is ready means
# transactions of a few orders each, and a transaction of 10 costs the database nearly what one of
# 50 does: at 20 ms latency, 1,849 batches of 11 orders for 20,000. Waiting made them ~50 and
# took 18% less database CPU and 17% less of the syncer's, in the same time (two interleaved
# pairs of 20,000-order syncs); at 0 ms batches are fuller than that anyway. An order waits at
# most this long to be written, and the permits bound what is held, as before.
BATCH_WAIT_SECONDS = 0.5

T = TypeVar("T")
FetchQueue = asyncio.Queue[tuple[OrderListRow, str | None] | None]
Loadable = OrderRows | Touch | Failure
LoadQueue = asyncio.Queue[Loadable | None]
Clock = Callable[[], datetime]
Window = tuple[date | None, date]
MAX_PIECE_DAYS = 366  # the longest piece of a backfill's window listed at once
S = "scansource"
STREAM = "sales_orders"
DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, DBAPIError, OSError)
EXPOSED = "detail: the body holds one of our credentials (an echo of the request?); not loaded"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SyncOptions:
    batch_size: int = 200
    page_size: int = 1000
    lookback_days: int = 1
    timezone: str = "America/New_York"
    safety_margin_seconds: int = 120
    concurrency: int = 16
    writers: int = 2
    wait_for_lock: bool = False
    defer_foreign_keys: bool = True  # syncer.warehouse.foreign_keys
    # Runs in a row that find a failed order gone from the API before its failure is closed.
    gone_after_attempts: int = loader.GONE_AFTER_ATTEMPTS
    large_detail_bytes: int = 4 * 2**20  # syncer.sync.large_details


@dataclass
class Counts:
    listed: int = 0
    fetched: int = 0
    skipped: int = 0
    loaded: int = 0
    unchanged: int = 0
    failed: int = 0
    rows: int = 0
    batches: int = 0  # batches written whole, one transaction each
    # Dates stored as NULL because their text was in no form we know, by field (its column).
    unreadable_dates: dict[str, int] = field(default_factory=dict)


@dataclass
class RunResult:
    account: str
    run_id: int | None
    # running | succeeded | failed | skipped (another instance holds the account)
    # | cancelled (shutdown); a run whose process died is marked abandoned by the next one
    outcome: str
    kind: str = "sync"
    counts: Counts = field(default_factory=Counts)
    api: ApiStats = field(default_factory=ApiStats)
    seconds: float = 0.0
    error: str | None = None
    window: Window | None = None
    holder_pid: int | None = None  # skipped: the backend of the syncer holding the account


Progress = Callable[[RunResult], None]


def needs_fetch(listed: OrderListRow, stored: Stored | None, margin: timedelta) -> bool:
    """Fetch unless we already hold this LastChanged *and* fetched it safely after its minute.

    LastChanged has minute precision: a change later in the same minute as our fetch would carry
    the same stamp, so a fetch counts only if it happened after that minute ended (plus a margin
    for clock skew between us and ScanSource).
    """
    if stored is None or listed.last_changed is None:
        return True
    if stored.last_changed != listed.last_changed:
        return True
    minute_end = listed.last_changed.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return stored.detail_fetched_at < minute_end + margin


def next_piece_days(days: int, listed: int, page_size: int, least: int) -> int:
    """How many days the next piece of a backfill lists: twice as many after a piece whose
    orders would fit in one list page twice over, up to a year (a quiet stretch of history costs
    a few list calls, not one a week: ten years of a small account took 522); as many after one
    that filled its page more than half; `least` again after one that needed more than a page.
    (Doubling a piece that filled more than half its page would mostly list a full first page,
    and be listed again.)"""
    if listed >= page_size:
        return least
    if 2 * listed < page_size:
        return min(days * 2, max(MAX_PIECE_DAYS, least))
    return days


async def read_ahead(pages: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """Yield each page while the next one is already being fetched: the API works on page k+1
    while we look up and queue page k. At most two pages are held."""
    it = aiter(pages)
    pending: asyncio.Future[T] = asyncio.ensure_future(anext(it))
    try:
        while True:
            try:
                page = await pending
            except StopAsyncIteration:
                return
            pending = asyncio.ensure_future(anext(it))
            yield page
    finally:
        if not pending.done():
            pending.cancel()
        elif not pending.cancelled():
            pending.exception()  # a failure nobody waits for any more: retrieved, not logged


def writer_of(sales_order_number: str, writers: int) -> int:
    """The writer that takes this order: always the same one (and the same in every process,
    unlike hash()), so that an order listed twice in a run is never in two transactions at once
    (they would wait on each other's keys, and two such orders crossed would deadlock)."""
    return zlib.crc32(sales_order_number.encode()) % writers


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
        self._margin = timedelta(seconds=options.safety_margin_seconds)
        # Orders in the warehouse at the last ANALYZE, and orders loaded since (see loader).
        self._analyzed_at = 0
        self._loaded_since = 0
        self._fetching = FetchKeys()  # the orders this run has queued (each run its own)
        self._large = LargeDetails(options.large_detail_bytes)  # one per pipeline

    async def run(
        self,
        *,
        window: Window | None = None,
        kind: str = "sync",
        force: bool = False,
        chunk_days: int = 7,
    ) -> RunResult:
        """One run. A given `window` (backfill) is listed in pieces, from `chunk_days` days at
        a time (`next_piece_days`), and leaves the watermark alone; `force` fetches every
        listed order whatever its stamp."""
        started = time.perf_counter()
        result = RunResult(self.account, None, "running", kind)
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
                f"account {self.account}: database error: {_describe(exc)}"
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
            if result.outcome == "cancelled":
                await foreign_keys.release(con)
                return
            await foreign_keys.restore(con)
        except DB_ERRORS as exc:  # the run's own error, if any, is the one to report
            log.warning("account %s: foreign keys not restored, the next run will: %s",
                        self.account, _describe(exc))  # fmt: skip
        else:
            log.info("account %s: foreign keys of the first load checked in %.1f s",
                     self.account, time.perf_counter() - started)  # fmt: skip

    def _skipped(self, result: RunResult, holder_pid: int | None) -> None:
        """Another syncer holds the account (`syncer.warehouse.locks`): nothing to do this time."""
        result.outcome, result.holder_pid = "skipped", holder_pid
        holder = f"syncer pid {holder_pid}" if holder_pid is not None else "another syncer"
        log.warning("account %s: %s is syncing it; skipped", self.account, holder)

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
            # We hold the account's lock: a run still marked running died with its process.
            await con.execute(
                f"UPDATE {S}.sync_runs SET outcome = 'abandoned' "
                "WHERE account = $1 AND outcome = 'running'",
                self.account,
            )
            if window is None:
                window = await self._window(con, run_started_at)
            result.window = window
            result.run_id = await con.fetchval(
                f"INSERT INTO {S}.sync_runs (account, kind, started_at, window_from, window_to) "
                "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                self.account, result.kind, run_started_at, *result.window,
            )  # fmt: skip
            retry = await loader.failed_orders(con, self.account)
            self._analyzed_at, self._loaded_since = await loader.held_orders(con), 0
        deferred = False
        try:
            # On the connection held for the run: the deferral's advisory lock lasts as long.
            deferred = await foreign_keys.defer(lock_con, drop=self.options.defer_foreign_keys)
            complete = await self._pipeline(result, window, chunk_days, retry, force)
            result.outcome = "succeeded" if complete else "failed"
            if complete and result.kind == "sync":
                await self._advance(run_started_at)
        except asyncio.CancelledError:
            # Shutdown: the open batches rolled back; the next run picks up from the watermark.
            result.outcome = "cancelled"
            result.error = "cancelled before the end of the run (shutdown)"
            raise
        except BaseException as exc:
            result.outcome = "failed"
            result.error = result.error or _describe(exc)
            raise
        finally:
            try:
                if deferred:  # before the run is recorded as over: its checks are part of it
                    await self._end_deferral(lock_con, result)
            finally:
                await self._finish(result)

    async def _window(self, con: Any, now: datetime) -> Window:
        watermark = await con.fetchval(
            f"SELECT watermark FROM {S}.sync_state WHERE account = $1 AND stream = $2",
            self.account, STREAM,
        )  # fmt: skip
        today = now.astimezone(self.tz).date()
        if watermark is None:
            return (None, today)  # first run: everything
        start = watermark.astimezone(self.tz).date() - timedelta(days=self.options.lookback_days)
        return (min(start, today), today)

    async def _advance(self, watermark: datetime) -> None:
        async with loader.connection(self.engine) as con:
            await con.execute(
                f"INSERT INTO {S}.sync_state (account, stream, watermark) VALUES ($1, $2, $3) "
                "ON CONFLICT (account, stream) DO UPDATE SET watermark = excluded.watermark, "
                "updated_at = now()",
                self.account, STREAM, watermark,
            )  # fmt: skip

    async def _finish(self, result: RunResult) -> None:
        result.error = self.redactor.optional(result.error)
        if result.run_id is None:
            return
        c = result.counts
        try:
            async with loader.connection(self.engine) as con:
                await con.execute(
                    f"UPDATE {S}.sync_runs SET finished_at = $2, outcome = $3, listed = $4, "
                    "fetched = $5, skipped = $6, loaded = $7, unchanged = $8, failed = $9, "
                    "api_calls = $10::jsonb, throttled = $11, error = $12 WHERE id = $1",
                    result.run_id, self.clock(), result.outcome, c.listed, c.fetched, c.skipped,
                    c.loaded, c.unchanged, c.failed, orjson.dumps(result.api.as_dict()).decode(),
                    result.api.throttled, result.error,
                )  # fmt: skip
        except DB_ERRORS as exc:  # the run's own error matters more than its bookkeeping
            log.warning("account %s: could not record run %s: %s",
                        self.account, result.run_id, _describe(exc))  # fmt: skip
        log.debug(  # the service logs the run as one structured line; this is for the library
            "account %s run %s %s: listed=%d fetched=%d skipped=%d loaded=%d unchanged=%d "
            "failed=%d rows=%d api=%s",
            self.account, result.run_id, result.outcome, c.listed, c.fetched, c.skipped,
            c.loaded, c.unchanged, c.failed, c.rows, result.api.as_dict(),
        )  # fmt: skip

    def _report(self, result: RunResult) -> None:
        if self.progress is not None:
            self.progress(result)

    # -- the pipeline --------------------------------------------------------------------

    async def _pipeline(
        self,
        result: RunResult,
        window: Window,
        chunk_days: int | None,
        retry: list[str],
        force: bool,
    ) -> bool:
        n, writers = self.options.concurrency, self.options.writers
        fetch_q: FetchQueue = asyncio.Queue(n * 2)
        # Unbounded, but never longer than the permits: every item in them holds one.
        load_qs: list[LoadQueue] = [asyncio.Queue() for _ in range(writers)]
        permits = asyncio.Semaphore(2 * writers * self.options.batch_size)
        self._large = LargeDetails(self.options.large_detail_bytes)
        list_error: list[str] = []
        self._fetching = FetchKeys()

        async def lister() -> None:
            try:
                await self._list_failed(retry, fetch_q, result)
                await self._list_in_pieces(window, chunk_days, fetch_q, result, force)
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

    async def _list_failed(
        self,
        retry: list[str],
        fetch_q: FetchQueue,
        result: RunResult,
    ) -> None:
        """Orders that failed before are fetched again, whatever their stamp says. One that a
        search by its number no longer finds is gone from the API: a failure again, counted
        towards closing it (`gone_after_attempts`)."""
        gone: list[Failure] = []
        for order_number in retry:
            page = await self.client.list_page(
                self.account, page=1, page_size=10, sales_order_number=order_number
            )
            if not page:
                reason = f"list: order {order_number} not found (a search by its number is empty)"
                gone.append(Failure(order_number, "list", reason, gone=True))
                continue
            rows = [r for r in (self._parse_list_row(raw, result) for raw in page) if r]
            for row in rows:
                if row.order_number == order_number:
                    self._fetching.add(order_number, row.last_changed)
                    result.counts.listed += 1
                    result.counts.fetched += 1
                    await fetch_q.put((row, None))
                    break
        if gone:
            async with loader.connection(self.engine) as con:
                closed = await loader.record_failures(
                    con, self.account, gone, self.redactor,
                    gone_after=self.options.gone_after_attempts,
                )  # fmt: skip
            self._count_failures(gone, closed, result.counts)

    async def _list_in_pieces(
        self,
        window: Window,
        chunk_days: int | None,
        fetch_q: FetchQueue,
        result: RunResult,
        force: bool,
    ) -> None:
        """The window at once, or (a backfill) piece by piece, from `chunk_days` days at a time
        (`next_piece_days`). A piece grown longer than that is listed only if its orders fit in
        one page; else it is listed again, `chunk_days` days at a time. Offset paging can miss an
        order when another leaves the window between two page reads, so a backfill's pieces of
        more than one page stay as short as `chunk_days` makes them."""
        start, end = window
        if chunk_days is None or start is None:
            await self._list(window, fetch_q, result, force)
            return
        if chunk_days < 1:
            raise ValueError(f"chunk_days must be at least 1, not {chunk_days}")
        days = chunk_days
        while start <= end:
            stop = min(end, start + timedelta(days=days - 1))
            one_page = days > chunk_days
            listed = await self._list((start, stop), fetch_q, result, force, one_page=one_page)
            if listed is None:  # a grown piece reached a busy stretch
                days = chunk_days
                continue
            days = next_piece_days(days, listed, self.options.page_size, chunk_days)
            start = stop + timedelta(days=1)

    async def _list(
        self,
        window: Window,
        fetch_q: FetchQueue,
        result: RunResult,
        force: bool,
        *,
        one_page: bool = False,
    ) -> int | None:
        """Queue the window's orders that need fetching; the rows listed, as the API gave them.
        With `one_page`, None, having queued nothing, when the first page is full."""
        # Offset paging repeats a row when an order moves ahead of the cursor between two page
        # reads: remembering the previous page skips it without a look-up. (Further repeats of
        # an order already queued are skipped by `_dispatch`.)
        seen: set[str] = set()
        filters: dict[str, Any] = {"to_last_change_date": window[1]}
        if window[0] is not None:
            filters["from_last_change_date"] = window[0]
        pages = self.client.iter_list(self.account, page_size=self.options.page_size, **filters)
        listed = 0
        async with contextlib.aclosing(read_ahead(pages)) as stream:
            async for page in stream:
                if one_page and len(page) >= self.options.page_size:
                    return None
                listed += len(page)
                rows = [r for r in (self._parse_list_row(raw, result) for raw in page) if r]
                fresh = [r for r in rows if r.order_number and r.order_number not in seen]
                seen = {r.order_number or "" for r in rows}
                await self._dispatch(fresh, fetch_q, result, force)
        return listed

    async def _dispatch(
        self,
        rows: list[OrderListRow],
        fetch_q: FetchQueue,
        result: RunResult,
        force: bool,
    ) -> None:
        """Queue the listed orders whose detail we need; count the others as skipped. An order
        this run has queued already, with the same LastChanged, is left out: fetched once."""
        counts = result.counts
        async with loader.connection(self.engine) as con:
            stored = await loader.stored(con, self.account, [r.order_number or "" for r in rows])
        for row in rows:
            number = row.order_number or ""
            if (number, row.last_changed) in self._fetching:
                continue
            counts.listed += 1
            held = stored.get(number)
            if force or needs_fetch(row, held, self._margin):
                self._fetching.add(number, row.last_changed)
                counts.fetched += 1
                await fetch_q.put((row, held.content_hash if held else None))
            else:
                counts.skipped += 1
        self._report(result)

    def _parse_list_row(self, raw: Any, result: RunResult) -> OrderListRow | None:
        try:
            return parse_list_row(raw)
        except PayloadError as exc:
            result.counts.failed += 1
            log.warning("account %s: unreadable list row: %s", self.account, exc)
            return None

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
            body, detail = await self.client.fetch_detail(
                self.account, order_no, admit=functools.partial(self._large.admit, order_no)
            )
        except CredentialsError:
            raise  # every call of the run would fail the same way: the run ends
        except ApiError as exc:
            self._large.done((order_no,))
            return Failure(order_no, "fetch", str(exc), exc.body, gone=exc.status == 404)
        except UnusableDetail as exc:
            body, detail = exc.body, exc
        if self.redactor.exposes(body):  # a credential is not order data: not stored as raw
            return Failure(order_no, "fetch", EXPOSED, body.decode("utf-8", errors="replace"))
        fetched_at = self.clock()
        try:
            if isinstance(detail, UnusableDetail):
                raise detail
            rows = build_rows(self.account, listed, detail, body, fetched_at)
        except PayloadError as exc:
            return Failure(order_no, "parse", str(exc), body.decode("utf-8", errors="replace"))
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
        size = self.options.batch_size
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
        observed_at = self.clock()
        self._count_unreadable_dates(batch, counts)
        async with loader.connection(self.engine) as con:
            if batch:
                try:
                    await loader.load_batch(con, batch, observed_at)
                    counts.batches += 1
                    counts.loaded += len(batch)
                    counts.rows += sum(o.row_count() for o in batch)
                except (asyncpg.PostgresError, ValueError, TypeError) as exc:
                    if not _is_data_error(exc):
                        raise
                    log.warning("account %s: batch of %d failed (%s); loading order by order",
                                self.account, len(batch), _describe(exc))  # fmt: skip
                    await self._load_one_by_one(con, batch, observed_at, failures, counts)
            await loader.touch(con, self.account, touches)
            counts.unchanged += len(touches)
            closed = await loader.record_failures(
                con, self.account, failures, self.redactor,
                gone_after=self.options.gone_after_attempts,
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
            log.warning("account %s order %s failed at %s: %s",
                        self.account, f.sales_order_number, f.stage, f.reason)  # fmt: skip
        for order_no in closed:
            log.warning("account %s order %s closed as gone: %d runs in a row found it gone "
                        "from the API; no longer retried",
                        self.account, order_no, self.options.gone_after_attempts)  # fmt: skip

    def _count_unreadable_dates(self, batch: Sequence[OrderRows], counts: Counts) -> None:
        """Count the dates read as NULL by field, for the run's summary; the first of each field
        in a run is logged, with its text, and the others only counted."""
        for order in batch:
            for name, text in order.unreadable_dates:
                seen = counts.unreadable_dates.get(name, 0)
                if not seen:
                    log.warning(
                        "account %s order %s: %s %r is no date we can read; stored as NULL "
                        "(the text stays in sales_orders.raw), and every such %s is counted in "
                        "the run's unreadable_dates",
                        self.account, order.sales_order_number, name, text[:40], name,
                    )  # fmt: skip
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
                failures.append(Failure(order.sales_order_number, "load", _describe(exc), raw))
            else:
                counts.loaded += 1
                counts.rows += order.row_count()


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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SyncerError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__
