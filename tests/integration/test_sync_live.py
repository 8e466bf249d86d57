"""Incremental syncs against a live simulator: the lifecycle driver ships, holds, cancels and
creates orders on the fake clock between runs, clients create and cancel through the API, and
after every run the warehouse equals the simulator's ground truth."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from syncer.api.operation_models import PurchaseOrder, PurchaseOrderLine
from tests.integration.conftest import SimHarness
from tests.truth import assert_matches_truth


async def test_incremental_syncs_follow_a_live_simulator(harness_factory: Any) -> None:
    h: SimHarness = await harness_factory(
        orders_per_account=60, lifecycle_events_per_hour=40.0, create_delay_seconds=600
    )
    customer = h.customers[0]
    first = [await h.account_sync(c).run() for c in h.customers]
    assert all(r.outcome == "succeeded" for r in first)
    await assert_matches_truth(h.engine, h.sim)

    for round_ in range(4):
        order = PurchaseOrder(
            business_unit=1700,
            po_number=f"PO-LIVE-{round_}",
            lines=[PurchaseOrderLine(part_number="C6PATCH-7-BL", quantity=5)],
        )
        await h.client.create_order_async(customer, order)
        h.clock.advance(601)
        (placed,) = await h.client.summary(customer, po_number=f"PO-LIVE-{round_}")
        if round_ % 2:
            assert (await h.client.cancel_order(customer, placed.order_number or "")).cancelled
        h.clock.advance(timedelta(hours=3, minutes=7))

        results = [await h.account_sync(c).run() for c in h.customers]

        assert all(r.outcome == "succeeded" and r.counts.failed == 0 for r in results)
        await assert_matches_truth(h.engine, h.sim)
        mine = next(r for r in results if r.account == customer)
        assert placed.order_number and mine.counts.loaded >= 1
        assert mine.counts.fetched < len(h.sim.order_numbers(customer))  # incremental
    assert h.sim.driver is not None and sum(h.sim.driver.applied.values()) > 300
