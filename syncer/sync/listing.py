"""The first stage of a run's pipeline: which orders to fetch.

The open failures first, each looked up by its number (one the API no longer finds counts towards
closing it as gone); then the window's list pages, the window at once or (a backfill) piece by
piece (`syncer.sync.windows.Pieces`). Each listed order whose detail the warehouse lacks, or holds
from before its last change, is queued for the fetchers; the others are counted as skipped. The
next list page is read while the current one is looked up and queued (`read_ahead`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import timedelta
from typing import Any, TypeVar

from syncer.api.payload import OrderListRow, parse_list_row
from syncer.errors import PayloadError
from syncer.logs import get_logger
from syncer.states import Stage
from syncer.sync.fetch_keys import FetchKeys
from syncer.sync.result import Counts, RunResult, RunScope
from syncer.sync.windows import Pieces, Window, needs_fetch
from syncer.warehouse import ledger, loader
from syncer.warehouse.ledger import Failure

log = get_logger(__name__)

T = TypeVar("T")
FetchQueue = asyncio.Queue[tuple[OrderListRow, str | None] | None]
CountFailures = Callable[[list[Failure], list[str], Counts], None]


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


class Lister:
    """Lists one run's orders into its fetch queue (`list_failed`, then `list_in_pieces`)."""

    def __init__(
        self,
        scope: RunScope,
        *,
        report: Callable[[RunResult], None],
        count_failures: CountFailures,
    ) -> None:
        self.scope = scope
        self._report = report
        self._count_failures = count_failures
        self._margin = timedelta(seconds=scope.options.safety_margin_seconds)
        self._fetching = FetchKeys()  # the orders this run has queued (each run its own)

    async def list_failed(
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
            page = await self.scope.client.list_page(
                self.scope.account, page=1, page_size=10, sales_order_number=order_number
            )
            if not page:
                reason = f"list: order {order_number} not found (a search by its number is empty)"
                gone.append(Failure(order_number, Stage.LIST, reason, gone=True))
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
            async with loader.connection(self.scope.engine) as con:
                closed = await ledger.record_failures(
                    con, self.scope.account, gone, self.scope.redactor,
                    gone_after=self.scope.options.gone_after_attempts,
                )  # fmt: skip
            self._count_failures(gone, closed, result.counts)

    async def list_in_pieces(
        self,
        window: Window,
        chunk_days: int | None,
        fetch_q: FetchQueue,
        result: RunResult,
        force: bool,
    ) -> None:
        """The window at once, or (a backfill, given `chunk_days`) piece by piece (`Pieces`)."""
        start, end = window
        if chunk_days is None or start is None:
            await self._list(window, fetch_q, result, force)
            return
        plan = Pieces((start, end), chunk_days, self.scope.options.page_size)
        while (piece := plan.next()) is not None:
            one_page = plan.one_page
            plan.listed(await self._list(piece, fetch_q, result, force, one_page=one_page))

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
        pages = self.scope.client.iter_list(
            self.scope.account, page_size=self.scope.options.page_size, **filters
        )
        listed = 0
        async with contextlib.aclosing(read_ahead(pages)) as stream:
            async for page in stream:
                if one_page and len(page) >= self.scope.options.page_size:
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
        async with loader.connection(self.scope.engine) as con:
            stored = await loader.stored(
                con, self.scope.account, [r.order_number or "" for r in rows]
            )
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
            log.warning("unreadable list row", error=str(exc))
            return None
