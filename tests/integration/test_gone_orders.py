"""A failure whose order has disappeared from the API (its detail answers 404, or a search by
its number finds nothing) is closed as gone after `gone_after_attempts` runs in a row found it
so: no longer retried, no longer an open failure. An order that comes back and loads clears it."""

from __future__ import annotations

import orjson
import pytest

from syncer.cli import status
from syncer.warehouse import schema
from tests.integration import answers
from tests.integration.answers import rows, unreadable_detail
from tests.integration.conftest import SimHarness
from tests.truth import assert_matches_truth

S = schema.SCHEMA
FAILURE = (
    f"SELECT stage, reason, attempts, gone_attempts, resolution, resolved_at IS NOT NULL "
    f"FROM {S}.sync_failures"
)


async def open_failures(h: SimHarness, customer: str) -> int:
    [account] = (await status.collect(h.engine, [customer])).accounts
    return account.open_failures


@pytest.mark.parametrize("listed", [False, True], ids=["no-longer-listed", "detail-404"])
async def test_a_failed_order_gone_from_the_api_is_closed_after_three_runs_and_left_alone(
    harness: SimHarness, listed: bool
) -> None:
    customer = harness.customers[0]
    order = harness.sim.order_numbers(customer)[7]  # old: in no later run's window
    harness.sim.detail_overrides[order] = unreadable_detail(harness, order)
    sync = harness.account_sync(customer)  # closes after 3 runs, the default
    assert (await sync.run()).counts.failed == 1
    harness.sim.remove(customer, order, listed=listed)
    stage, not_found = ("fetch", f"HTTP 404 Sales order {order} not found.") if listed else (
        "list", f"order {order} not found (a search by its number is empty)"
    )  # fmt: skip

    for n in (1, 2, 3):
        harness.clock.advance(600)
        result = await sync.run()
        assert result.outcome == "succeeded" and result.counts.failed == 1
        assert result.api.calls[("list", "200")] == 2  # the failure's look-up and the window
        assert result.api.calls.get(("detail", "404"), 0) == int(listed)
        [(where, reason, attempts, gone, resolution, resolved)] = await rows(harness, FAILURE)
        assert (where, attempts, gone) == (stage, 1 + n, n)
        assert not_found in reason
        assert (resolution, resolved) == (("gone", True) if n == 3 else (None, False))
        assert await open_failures(harness, customer) == (0 if n == 3 else 1)

    harness.clock.advance(600)
    after = await sync.run()  # closed: not looked up, not fetched
    assert after.outcome == "succeeded" and after.counts.failed == 0
    assert after.api.calls[("list", "200")] == 1 and ("detail", "404") not in after.api.calls
    assert await rows(harness, FAILURE) == [(stage, reason, 4, 3, "gone", True)]


async def test_another_failure_restarts_the_count_and_an_order_that_comes_back_clears_it(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    order = harness.sim.order_numbers(customer)[9]
    not_found = answers.not_found(order)
    refused = (400, orjson.dumps({"Message": "The request is invalid."}))
    sync = harness.account_sync(customer, gone_after_attempts=2)
    gone_count = f"SELECT gone_attempts, resolution FROM {S}.sync_failures"

    for answer, expected in ((not_found, (1, None)), (refused, (0, None)),
                             (not_found, (1, None)), (not_found, (2, "gone"))):  # fmt: skip
        harness.sim.detail_overrides[order] = answer
        harness.clock.advance(600)
        assert (await sync.run()).counts.failed == 1
        assert await rows(harness, gone_count) == [expected]

    del harness.sim.detail_overrides[order]  # it is back, and changed: the window lists it
    harness.sim.touch(customer, order)
    harness.clock.advance(600)
    harness.sim.detail_hits.clear()
    back = await sync.run()
    assert back.counts.failed == 0 and harness.sim.detail_hits[order] == 1
    assert await rows(harness, f"SELECT count(*) FROM {S}.sync_failures") == [(0,)]
    await assert_matches_truth(harness.engine, harness.sim, customer)


async def test_a_closed_failure_reopens_when_its_order_comes_back_and_fails_otherwise(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    order = harness.sim.order_numbers(customer)[11]
    not_found = answers.not_found(order)
    harness.sim.detail_overrides[order] = not_found
    sync = harness.account_sync(customer, gone_after_attempts=1)
    gone_count = f"SELECT gone_attempts, resolution, resolved_at IS NULL FROM {S}.sync_failures"
    assert (await sync.run()).counts.failed == 1
    assert await rows(harness, gone_count) == [(1, "gone", False)]

    # Back, changed (the window lists it), but unreadable: open again, and retried.
    harness.sim.detail_overrides[order] = unreadable_detail(harness, order)
    harness.sim.touch(customer, order)
    harness.clock.advance(600)
    assert (await sync.run()).counts.failed == 1
    assert await rows(harness, gone_count) == [(0, None, True)]
    assert await open_failures(harness, customer) == 1

    del harness.sim.detail_overrides[order]
    harness.clock.advance(600)
    harness.sim.detail_hits.clear()
    retried = await sync.run()
    assert retried.counts.loaded == 1 and harness.sim.detail_hits[order] == 1
    assert await rows(harness, gone_count) == []
    await assert_matches_truth(harness.engine, harness.sim, customer)
