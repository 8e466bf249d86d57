"""An order listed twice in one run is fetched once, unless it was listed again with a newer
LastChanged: then it has changed, and is fetched again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncer.sync.fetch_keys import FetchKeys
from syncer.warehouse import schema
from tests.integration.answers import rows, unreadable_detail
from tests.integration.conftest import SimHarness
from tests.truth import assert_matches_truth

S = schema.SCHEMA


async def test_a_failed_order_also_in_the_window_is_fetched_once(harness: SimHarness) -> None:
    customer = harness.customers[0]
    order = harness.sim.order_numbers(customer)[7]
    harness.sim.detail_overrides[order] = unreadable_detail(harness, order)
    sync = harness.account_sync(customer)
    first = await sync.run()
    assert first.counts.failed == 1
    assert await rows(harness, f"SELECT sales_order_number FROM {S}.sync_failures") == [(order,)]

    del harness.sim.detail_overrides[order]
    harness.clock.advance(600)
    harness.sim.touch(customer, order)  # in the next run's window as well as its retry list
    harness.clock.advance(600)
    harness.sim.detail_hits.clear()
    second = await sync.run()

    assert second.outcome == "succeeded"
    assert harness.sim.detail_hits[order] == 1  # the retry's fetch; the window's is left out
    assert sum(harness.sim.detail_hits.values()) == second.counts.fetched
    assert second.api.calls[("detail", "200")] == second.counts.fetched
    assert await rows(harness, f"SELECT count(*) FROM {S}.sync_failures") == [(0,)]
    await assert_matches_truth(harness.engine, harness.sim, customer)


def test_the_keys_tell_orders_and_stamps_apart() -> None:
    keys = FetchKeys()
    at = datetime(2026, 11, 20, 15, 4, tzinfo=UTC)
    for order in ("7000000001", "0007", "SO-7", "7"):
        keys.add(order, at)
    keys.add("7000000002", None)
    assert ("7000000001", at) in keys and ("7000000001", at.astimezone()) in keys
    assert ("7000000001", at + timedelta(minutes=1)) not in keys  # changed since: fetch again
    assert ("0007", at) in keys and ("007", at) not in keys and ("7", at) in keys
    assert ("SO-7", at) in keys and ("SO-7", None) not in keys
    assert ("7000000002", None) in keys and ("7000000002", at) not in keys
    assert ("7000000003", datetime(1900, 1, 1, tzinfo=UTC)) not in keys
    assert len(keys) == 5
