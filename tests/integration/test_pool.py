"""Every account syncs at once, each holding a connection for its lock all run long and more for
its writers: the engine's pool must have room for all of them, whatever db_pool_size says."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from syncer.config.accounts import Account
from syncer.config.simulator import simulator_settings
from syncer.service.runner import sync_accounts
from syncer.service.runtime import open_runtime
from tests.integration.conftest import SimHarness
from tests.truth import assert_matches_truth


async def test_every_account_syncs_at_once_even_with_the_smallest_pool(
    harness_factory: Callable[..., Any], database_url: str
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=40)
    demo = h.sim.config.subscriptions[0]
    numbers = list(demo.customer_numbers)  # three accounts, two writers each
    settings = simulator_settings(
        h.running,
        demo,
        database_url=database_url,
        db_pool_size=1,
        sync_writers=2,
        sync_batch_size=5,
        accounts=[Account(customer_number=n) for n in numbers],
    )
    async with open_runtime(settings) as rt:
        # The pool's own timeout is 30 s: a run starved of connections fails long after this.
        results = await asyncio.wait_for(sync_accounts(rt, numbers), timeout=25)
    assert [r["outcome"] for r in results] == ["succeeded"] * len(numbers), results
    for number in numbers:
        await assert_matches_truth(h.engine, h.sim, number)
