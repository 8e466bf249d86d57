"""The walking skeleton end to end: simulator over HTTP → client → sync → real Postgres."""

from __future__ import annotations

import asyncio
from typing import Any

from syncer.warehouse import schema
from tests.integration.conftest import SimHarness
from tests.truth import assert_matches_truth

S = schema.SCHEMA


async def sync_all(h: SimHarness) -> list[Any]:
    return list(await asyncio.gather(*(h.account_sync(c).run() for c in h.customers)))


async def scalar(h: SimHarness, sql: str) -> Any:
    async with h.engine.connect() as conn:
        return (await conn.exec_driver_sql(sql)).scalar()


async def test_full_sync_loads_every_table_equal_to_the_ground_truth(harness: SimHarness) -> None:
    results = await sync_all(harness)

    compared = await assert_matches_truth(harness.engine, harness.sim)
    assert compared > 120 * len(harness.customers)  # orders plus their children
    for r in results:
        assert r.outcome == "succeeded", r.error
        assert r.counts.listed == r.counts.fetched == r.counts.loaded == 120
        assert r.counts.failed == 0
        assert r.api.calls[("detail", "200")] == 120
    # every data table got rows: the simulator's orders exercise the whole schema
    truth = harness.sim.truth()
    # (the wire format carries invoices and tracking numbers on the order, not on the line)
    line_level = {"sales_order_line_invoices", "sales_order_line_tracking_numbers"}
    for table in schema.DATA_TABLES:
        if table.name not in line_level:
            assert truth[table.name], f"simulator produced no {table.name}"


async def test_each_run_is_recorded_in_sync_runs_and_moves_the_watermark(
    harness: SimHarness,
) -> None:
    results = await sync_all(harness)
    async with harness.engine.connect() as conn:
        runs = (await conn.exec_driver_sql(
            f"SELECT account, outcome, listed, fetched, loaded, failed, api_calls, finished_at "
            f"FROM {S}.sync_runs ORDER BY account"
        )).all()  # fmt: skip
        marks = (await conn.exec_driver_sql(
            f"SELECT account, watermark FROM {S}.sync_state ORDER BY account"
        )).all()  # fmt: skip
    assert [r[0] for r in runs] == sorted(harness.customers)
    for run in runs:
        assert run[1:6] == ("succeeded", 120, 120, 120, 0)
        assert run[6]["detail"]["200"] == 120
        assert run[7] is not None
    assert [m[0] for m in marks] == sorted(harness.customers)
    assert all(m[1] == harness.clock.now() for m in marks)  # the run's start on the fake clock
    assert {r.run_id for r in results} == {1, 2, 3}


async def test_second_run_with_unchanged_source_fetches_and_writes_nothing(
    harness: SimHarness,
) -> None:
    await sync_all(harness)
    before = await scalar(harness, f"SELECT sum(xmin::text::bigint) FROM {S}.sales_orders")
    history = await scalar(harness, f"SELECT count(*) FROM {S}.sales_order_status_history")
    harness.clock.advance(600)

    results = await sync_all(harness)

    for r in results:
        assert r.outcome == "succeeded"
        assert r.counts.fetched == 0 and r.counts.loaded == 0
        assert r.counts.skipped == r.counts.listed
        assert ("detail", "200") not in r.api.calls
    assert await scalar(harness, f"SELECT sum(xmin::text::bigint) FROM {S}.sales_orders") == before
    assert await scalar(harness, f"SELECT count(*) FROM {S}.sales_order_status_history") == history
    await assert_matches_truth(harness.engine, harness.sim)


async def test_changes_in_the_source_reach_the_warehouse_and_vanished_children_vanish(
    harness: SimHarness,
) -> None:
    await sync_all(harness)
    customer = harness.customers[0]
    orders = harness.sim.order_numbers(customer)
    harness.clock.advance(3600)
    shipped: list[str] = []
    cancelled: list[str] = []
    for order in orders:
        if len(shipped) < 5 and harness.sim.ship_next(customer, order):
            shipped.append(order)
        elif len(cancelled) < 3 and harness.sim.cancel(customer, order):
            cancelled.append(order)
    assert shipped and cancelled
    harness.clock.advance(600)

    result = await harness.account_sync(customer).run()

    assert result.outcome == "succeeded"
    await assert_matches_truth(harness.engine, harness.sim)
    assert result.counts.loaded >= len(shipped) + len(cancelled)
    async with harness.engine.connect() as conn:
        statuses = dict((await conn.exec_driver_sql(
            f"SELECT sales_order_number, status FROM {S}.sales_order_status_history "
            f"WHERE previous_status IS NOT NULL AND customer_number = '{customer}'"
        )).all())  # fmt: skip
    for order in cancelled:
        assert statuses[order] == "Cancelled"
