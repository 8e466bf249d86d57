"""A list that never ends stops the run with a clear error: at the first page that repeats the
one before it (an API ignoring `page`), or after `api_max_pages` full pages. What was loaded
stays, the run is recorded failed with its reason, and the watermark does not move."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from syncer.api.client import ScanSourceClient
from syncer.sim import FaultConfig
from syncer.sync.account import AccountSync
from syncer.sync.result import SyncOptions
from syncer.warehouse import schema
from tests.integration.answers import rows
from tests.integration.conftest import START, SimHarness
from tests.truth import assert_matches_truth

S = schema.SCHEMA
NEVER = 30  # seconds: a run that has not stopped by then would list forever


async def last_changed(h: SimHarness, orders: list[str]) -> dict[str, datetime]:
    found = await rows(
        h,
        f"SELECT sales_order_number, last_changed FROM {S}.sales_orders "
        "WHERE sales_order_number = ANY($1::text[])",
        orders,
    )
    return dict(found)  # type: ignore[arg-type]


@pytest.mark.parametrize("fault", ["list_ignores_page", "list_repeats_pages"])
async def test_a_list_that_repeats_a_page_stops_there_and_keeps_what_it_loaded(
    harness: SimHarness, fault: str
) -> None:
    customer = harness.customers[0]
    sync = harness.account_sync(customer, page_size=10)
    assert (await sync.run()).outcome == "succeeded"  # the watermark is START
    harness.clock.advance(3600)
    changed = harness.sim.order_numbers(customer)[:30]  # the oldest: the window's first pages
    for number in changed:
        harness.sim.touch(customer, number)
    harness.clock.advance(600)
    harness.sim.faults.config = FaultConfig(**{fault: True})

    async with asyncio.timeout(NEVER):
        result = await sync.run()

    assert result.outcome == "failed"
    assert result.error is not None
    assert "list: page 2 repeats page 1" in result.error, result.error
    assert result.api.calls[("list", "200")] == 2  # stopped at the first repeat
    stamps = await last_changed(harness, changed)
    moved = {n for n in changed if stamps[n] > START}
    assert moved == set(changed[:10])  # page 1's orders were taken in, and stay
    assert await rows(harness, f"SELECT watermark FROM {S}.sync_state") == [(START,)]
    [(outcome, error)] = await rows(
        harness, f"SELECT outcome, error FROM {S}.sync_runs WHERE id = $1", result.run_id
    )
    assert outcome == "failed" and error == result.error


async def test_a_list_whose_pages_are_always_full_stops_after_max_pages(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    harness.sim.faults.config = FaultConfig(list_endless=True)
    client = ScanSourceClient(harness.client.transport, max_pages=4)
    options = SyncOptions(page_size=50, batch_size=50, concurrency=8)
    sync = AccountSync(harness.engine, client, customer, options, clock=harness.clock.now)

    async with asyncio.timeout(NEVER):
        result = await sync.run()

    assert result.outcome == "failed"
    assert result.error is not None
    assert "still full pages after 4 pages of 50 (api_max_pages)" in result.error, result.error
    assert result.api.calls[("list", "200")] == 4
    await assert_matches_truth(harness.engine, harness.sim, customer)  # all 120 were listed
    assert await rows(harness, f"SELECT count(*) FROM {S}.sync_state") == [(0,)]
