"""The typed client's streamed searches (`syncer api ... --all`) stop with a clear error when
the list never ends: at a page that repeats the one before it, or after `max_pages` pages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from syncer.api.client import ScanSourceClient
from syncer.errors import PermanentApiError
from syncer.sim import FaultConfig
from syncer.sim.clock import eastern_day
from tests.unit.apiharness import CUSTOMER, open_harness

NEVER = 10  # seconds: a search that has not stopped by then would page forever


async def pages(search: AsyncIterator[list[Any]]) -> int:
    n = 0
    async with asyncio.timeout(NEVER):
        async for _ in search:
            n += 1
    return n


@pytest.mark.parametrize("fault", ["list_ignores_page", "list_repeats_pages"])
async def test_a_search_stops_at_the_first_page_that_repeats_the_one_before(fault: str) -> None:
    async with open_harness(faults=FaultConfig(**{fault: True})) as h:
        with pytest.raises(PermanentApiError, match=r"list: page 2 repeats page 1"):
            await pages(h.client.iter_list_orders(CUSTOMER, page_size=50))
        with pytest.raises(PermanentApiError, match=r"list: page 2 repeats page 1"):
            await pages(h.client.iter_list(CUSTOMER, page_size=50))


async def test_a_search_whose_pages_are_always_full_stops_after_max_pages() -> None:
    async with open_harness(faults=FaultConfig(list_endless=True)) as h:
        client = ScanSourceClient(h.client.transport, max_pages=5)
        served = h.sim.faults.injected
        with pytest.raises(PermanentApiError, match=r"after 5 pages of 50 \(api_max_pages\)"):
            await pages(client.iter_list_orders(CUSTOMER, page_size=50))
        assert served["list_endless"] == 5  # no sixth page was asked for


async def test_a_search_that_ends_is_read_whole_and_repeats_of_a_few_rows_are_allowed() -> None:
    async with open_harness() as h:  # 150 orders: three full pages of 50, then an empty one
        assert await pages(h.client.iter_list_orders(CUSTOMER, page_size=50)) == 3
        assert await pages(h.client.iter_summary(CUSTOMER, page_size=40)) == 4
        # An order that enters the search before the cursor between two reads moves the rest
        # on by one: the next page starts with the last row of the one before; that is no
        # repeated page, and the search goes on to its end.
        states = h.sim.orders_of(CUSTOMER)
        since = eastern_day(states[30].last_changed)
        matches = {s.order_number for s in states if eastern_day(s.last_changed) >= since}
        seen: list[str | None] = []
        search = h.client.iter_list_orders(CUSTOMER, page_size=50, from_last_change_date=since)
        async for page in search:
            if not seen:
                last = page[-1].order_number or ""
                entering = next(
                    s.order_number
                    for s in states
                    if s.order_number not in matches and s.order_number < last
                )
                h.sim.touch(CUSTOMER, entering)
            seen += [r.order_number for r in page]
        assert len(matches) > 100
        assert len(seen) == len(matches) + 1 and set(seen) == matches
