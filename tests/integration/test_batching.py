"""When details arrive slowly, writers wait a little to fill their batches instead of writing a
transaction per order or two; never longer than BATCH_WAIT_SECONDS."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from syncer.sync.pipeline import BATCH_WAIT_SECONDS
from tests.integration.conftest import SimHarness
from tests.truth import assert_matches_truth


async def test_slowly_arriving_details_are_written_in_batches_a_quarter_full_at_least(
    harness_factory: Callable[..., Any],
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=120, latency_ms=20)
    customer = h.customers[0]
    # 4 requests in flight at 20 ms each: ~200 details a second, a few at a time, while a
    # write of a handful of orders takes a few ms: written as they come, that was ~60 batches.
    result = await h.account_sync(customer, batch_size=40, concurrency=4, writers=2).run()
    assert result.outcome == "succeeded"
    assert result.counts.loaded == 120
    # Every batch holds 10 (a quarter of 40) or more, but each writer's last one.
    assert result.counts.batches <= math.ceil(120 / 10) + 2, result.counts
    await assert_matches_truth(h.engine, h.sim, customer)


async def test_a_writer_waits_for_a_fuller_batch_only_so_long(
    harness_factory: Callable[..., Any],
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=14, latency_ms=100)
    customer = h.customers[0]
    # One request at a time, 100 ms each: the 14 details take ~1.4 s, and never make a quarter
    # of a batch of 80 within BATCH_WAIT_SECONDS: the writer writes what it has when the wait
    # is over (not one batch at the end, not one order at a time).
    assert BATCH_WAIT_SECONDS == 0.5
    result = await h.account_sync(customer, batch_size=80, concurrency=1, writers=1).run()
    assert result.outcome == "succeeded"
    assert result.counts.loaded == 14
    assert 2 <= result.counts.batches <= 5, result.counts
    await assert_matches_truth(h.engine, h.sim, customer)
