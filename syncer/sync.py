"""Orchestration of one account's run: list → decide → fetch details → rows → load.

The only module that sees the client, the rows and the loader together. Stages overlap through
bounded queues, so the API is never idle waiting for the database, and memory stays bounded:

    lister ──fetch_q──▶ N fetchers ──load_q──▶ loader (one transaction per batch)
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer import loader
from syncer.client import ScanSourceClient
from syncer.errors import ApiError, PayloadError, SyncerError
from syncer.loader import Failure, Stored, Touch
from syncer.models import OrderListRow, parse_detail, parse_list_row
from syncer.rows import OrderRows, build_rows
from syncer.transport import ApiStats, run_stats

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
S = "scansource"
STREAM = "sales_orders"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SyncOptions:
    batch_size: int = 100
    page_size: int = 1000
    lookback_days: int = 1
    timezone: str = "America/New_York"
    safety_margin_seconds: int = 120
    concurrency: int = 16
    wait_for_lock: bool = False


@dataclass
class Counts:
    listed: int = 0
    fetched: int = 0
    skipped: int = 0
    loaded: int = 0
    unchanged: int = 0
    failed: int = 0
    rows: int = 0


@dataclass
class RunResult:
    account: str
    run_id: int | None
    # succeeded | failed | skipped (another instance holds the account) | cancelled (shutdown)
    outcome: str
    counts: Counts = field(default_factory=Counts)
    api: ApiStats = field(default_factory=ApiStats)
    seconds: float = 0.0
    error: str | None = None
    window: tuple[date | None, date] | None = None


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


def lock_key(account: str) -> int:
    """A stable 63-bit key for the account's advisory lock."""
    return zlib.crc32(f"scansource-syncer:{account}".encode()) | (1 << 40)


class AccountSync:
    def __init__(
        self,
        engine: AsyncEngine,
        client: ScanSourceClient,
        account: str,
        options: SyncOptions,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.engine = engine
        self.client = client
        self.account = account
        self.options = options
        self.clock = clock
        self.tz = ZoneInfo(options.timezone)
        self._margin = timedelta(seconds=options.safety_margin_seconds)

    async def run(
        self, *, window: tuple[date | None, date] | None = None, kind: str = "sync"
    ) -> RunResult:
        """One run. `window` forces a list range (backfill) and leaves the watermark alone."""
        started = time.perf_counter()
        result = RunResult(self.account, None, "running")
        token = run_stats.set(result.api)
        try:
            async with loader.connection(self.engine) as lock_con:
                if not await self._lock(lock_con):
                    result.outcome = "skipped"
                    return result
                try:
                    await self._run_locked(result, window, kind)
                finally:
                    await lock_con.execute("SELECT pg_advisory_unlock($1)", lock_key(self.account))
        finally:
            run_stats.reset(token)
            result.seconds = time.perf_counter() - started
        return result

    async def _lock(self, con: Any) -> bool:
        if self.options.wait_for_lock:
            await con.execute("SELECT pg_advisory_lock($1)", lock_key(self.account))
            return True
        return bool(await con.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(self.account)))

    async def _run_locked(
        self, result: RunResult, window: tuple[date | None, date] | None, kind: str
    ) -> None:
        run_started_at = self.clock()
        async with loader.connection(self.engine) as con:
            if window is None:
                window = await self._window(con, run_started_at)
            result.window = window
            result.run_id = await con.fetchval(
                f"INSERT INTO {S}.sync_runs (account, kind, started_at, window_from, window_to) "
                "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                self.account, kind, run_started_at, window[0], window[1],
            )  # fmt: skip
            retry = await loader.failed_orders(con, self.account)
        try:
            complete = await self._pipeline(result, window, retry)
            result.outcome = "succeeded" if complete else "failed"
            if complete and kind == "sync":
                await self._advance(run_started_at)
        except (SyncerError, OSError) as exc:
            result.outcome = "failed"
            result.error = str(exc)
            raise
        except asyncio.CancelledError:
            # Shutdown: the open batch rolled back; the next run picks up from the watermark.
            result.outcome = "cancelled"
            result.error = "cancelled before the end of the run (shutdown)"
            raise
        finally:
            await self._finish(result)

    async def _window(self, con: Any, now: datetime) -> tuple[date | None, date]:
        watermark = await con.fetchval(
            f"SELECT watermark FROM {S}.sync_state WHERE account = $1 AND stream = $2",
            self.account, STREAM,
        )  # fmt: skip
        today = now.astimezone(self.tz).date()
        if watermark is None:
            return (None, today)  # first run: everything
        start = watermark.astimezone(self.tz).date() - timedelta(days=self.options.lookback_days)
        return (start, today)

    async def _advance(self, watermark: datetime) -> None:
        async with loader.connection(self.engine) as con:
            await con.execute(
                f"INSERT INTO {S}.sync_state (account, stream, watermark) VALUES ($1, $2, $3) "
                "ON CONFLICT (account, stream) DO UPDATE SET watermark = excluded.watermark, "
                "updated_at = now()",
                self.account, STREAM, watermark,
            )  # fmt: skip

    async def _finish(self, result: RunResult) -> None:
        if result.run_id is None:
            return
        c = result.counts
        async with loader.connection(self.engine) as con:
            await con.execute(
                f"UPDATE {S}.sync_runs SET finished_at = $2, outcome = $3, listed = $4, "
                "fetched = $5, skipped = $6, loaded = $7, unchanged = $8, failed = $9, "
                "api_calls = $10::jsonb, throttled = $11, error = $12 WHERE id = $1",
                result.run_id, self.clock(), result.outcome, c.listed, c.fetched, c.skipped,
                c.loaded, c.unchanged, c.failed, orjson.dumps(result.api.as_dict()).decode(),
                result.api.throttled, result.error,
            )  # fmt: skip

    # -- the pipeline --------------------------------------------------------------------

    async def _pipeline(
        self, result: RunResult, window: tuple[date | None, date], retry: list[str]
    ) -> bool:
        opts = self.options
        fetch_q: asyncio.Queue[tuple[OrderListRow, str | None] | None] = asyncio.Queue(
            opts.concurrency * 2
        )
        load_q: asyncio.Queue[OrderRows | Touch | Failure | None] = asyncio.Queue(opts.batch_size)
        list_error: list[str] = []

        async def lister() -> None:
            try:
                await self._list(window, retry, fetch_q, load_q, result.counts)
            except ApiError as exc:
                list_error.append(str(exc))
            # Not in a `finally`: when the run is cancelled (shutdown) or fails, the task group
            # cancels the fetchers, and waiting to hand them a sentinel would hang forever.
            for _ in range(opts.concurrency):
                await fetch_q.put(None)

        async def fetchers() -> None:
            async with asyncio.TaskGroup() as tg:
                for _ in range(opts.concurrency):
                    tg.create_task(self._fetcher(fetch_q, load_q, result.counts))
            await load_q.put(None)

        async with asyncio.TaskGroup() as tg:
            tg.create_task(lister())
            tg.create_task(fetchers())
            tg.create_task(self._loader(load_q, result.counts))
        if list_error:
            result.error = f"listing failed: {list_error[0]}"
            return False
        return True

    async def _list(
        self,
        window: tuple[date | None, date],
        retry: list[str],
        fetch_q: asyncio.Queue[tuple[OrderListRow, str | None] | None],
        load_q: asyncio.Queue[OrderRows | Touch | Failure | None],
        counts: Counts,
    ) -> None:
        seen: set[str] = set()
        # Orders that failed before are fetched again whatever their stamp says.
        for order_number in retry:
            page = await self.client.list_page(
                self.account, page=1, page_size=10, sales_order_number=order_number
            )
            for raw in page:
                row = self._parse_list_row(raw, counts)
                if row and row.order_number == order_number and order_number not in seen:
                    seen.add(order_number)
                    counts.listed += 1
                    counts.fetched += 1
                    await fetch_q.put((row, None))
        filters: dict[str, Any] = {"to_last_change_date": window[1]}
        if window[0] is not None:
            filters["from_last_change_date"] = window[0]
        async for page in self.client.iter_list(
            self.account, page_size=self.options.page_size, **filters
        ):
            rows = [r for r in (self._parse_list_row(raw, counts) for raw in page) if r]
            fresh = [r for r in rows if r.order_number not in seen]
            async with loader.connection(self.engine) as con:
                stored = await loader.stored(
                    con, self.account, [r.order_number or "" for r in fresh]
                )
            for row in fresh:
                assert row.order_number is not None
                seen.add(row.order_number)
                counts.listed += 1
                held = stored.get(row.order_number)
                if needs_fetch(row, held, self._margin):
                    counts.fetched += 1
                    await fetch_q.put((row, held.content_hash if held else None))
                else:
                    counts.skipped += 1

    def _parse_list_row(self, raw: Any, counts: Counts) -> OrderListRow | None:
        try:
            return parse_list_row(raw)
        except PayloadError as exc:
            counts.failed += 1
            log.warning("account %s: unreadable list row: %s", self.account, exc)
            return None

    async def _fetcher(
        self,
        fetch_q: asyncio.Queue[tuple[OrderListRow, str | None] | None],
        load_q: asyncio.Queue[OrderRows | Touch | Failure | None],
        counts: Counts,
    ) -> None:
        while (item := await fetch_q.get()) is not None:
            listed, held_hash = item
            order_no = listed.order_number or ""
            try:
                body = await self.client.detail_bytes(self.account, order_no)
            except ApiError as exc:
                await load_q.put(Failure(order_no, "fetch", str(exc)))
                continue
            fetched_at = self.clock()
            try:
                rows = build_rows(
                    self.account, listed, parse_detail(orjson.loads(body)), body, fetched_at
                )
            except (PayloadError, orjson.JSONDecodeError, UnicodeDecodeError) as exc:
                payload = body.decode("utf-8", errors="replace")
                await load_q.put(Failure(order_no, "parse", str(exc), payload))
                continue
            if rows.content_hash == held_hash:
                await load_q.put(
                    Touch(order_no, listed.last_changed, listed.date_entered, fetched_at)
                )
            else:
                await load_q.put(rows)

    async def _loader(
        self, load_q: asyncio.Queue[OrderRows | Touch | Failure | None], counts: Counts
    ) -> None:
        batch: list[OrderRows] = []
        touches: list[Touch] = []
        failures: list[Failure] = []

        async def flush() -> None:
            await self._flush(batch, touches, failures, counts)
            batch.clear()
            touches.clear()
            failures.clear()

        while (item := await load_q.get()) is not None:
            if isinstance(item, OrderRows):
                batch.append(item)
            elif isinstance(item, Touch):
                touches.append(item)
            else:
                failures.append(item)
            if len(batch) + len(touches) + len(failures) >= self.options.batch_size:
                await flush()
        await flush()

    async def _flush(
        self,
        batch: list[OrderRows],
        touches: list[Touch],
        failures: list[Failure],
        counts: Counts,
    ) -> None:
        observed_at = self.clock()
        async with loader.connection(self.engine) as con:
            if batch:
                try:
                    await loader.load_batch(con, batch, observed_at)
                    counts.loaded += len(batch)
                    counts.rows += sum(o.row_count() for o in batch)
                except Exception as exc:
                    if not _is_data_error(exc):
                        raise
                    log.warning("account %s: batch failed (%s); loading order by order",
                                self.account, type(exc).__name__)  # fmt: skip
                    await self._load_one_by_one(con, batch, observed_at, failures, counts)
            await loader.touch(con, self.account, touches)
            counts.unchanged += len(touches)
            await loader.record_failures(con, self.account, failures)
            counts.failed += len(failures)
            for f in failures:
                log.warning("account %s order %s failed at %s: %s",
                            self.account, f.sales_order_number, f.stage, f.reason)  # fmt: skip

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
                counts.loaded += 1
                counts.rows += order.row_count()
            except Exception as exc:
                if not _is_data_error(exc):
                    raise
                failures.append(
                    Failure(order.sales_order_number, "load", _describe_db(exc), order.header[-2])
                )


def _is_data_error(exc: BaseException) -> bool:
    """Errors caused by the rows themselves (constraints, bad values), not by the database being
    unreachable: only these are isolated per order; the others fail the run."""
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in ("22", "23")


def _describe_db(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]


def result_summary(result: RunResult) -> dict[str, Any]:
    return {
        "account": result.account,
        "run_id": result.run_id,
        "outcome": result.outcome,
        **asdict(result.counts),
        "api_calls": result.api.as_dict(),
        "throttled": result.api.throttled,
        "seconds": round(result.seconds, 3),
        "error": result.error,
    }
