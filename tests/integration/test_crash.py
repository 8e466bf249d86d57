"""Crash safety: a sync process killed with SIGKILL at random moments, restarted each time,
ends with the warehouse equal to the ground truth, and each restart re-fetches at most
2 × writers batches of details per account."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from typing import Any

import pytest

from syncer.warehouse import foreign_keys, loader, schema
from tests.integration.conftest import SimHarness
from tests.truth import assert_matches_truth

S = schema.SCHEMA
BATCH = 25
WRITERS = 2
# Per account: the permits, two batches per writer (one being written, one fetched ahead).
MAX_WASTE = 2 * WRITERS * BATCH


def sync_env(h: SimHarness, database_url: str) -> dict[str, str]:
    sub = h.sim.config.subscriptions[0]
    base = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    return {
        **base,
        "SYNCER_DATABASE_URL": database_url,
        "SYNCER_API_BASE_URL": h.running.base_url,
        "SYNCER_API_TOKEN_URL": h.running.token_url,
        "SYNCER_API_SCOPE": h.running.scope,
        "SYNCER_API_CLIENT_ID": sub.client_id,
        "SYNCER_API_CLIENT_SECRET": sub.client_secret,
        "SYNCER_API_SUBSCRIPTION_KEY": sub.subscription_key,
        "SYNCER_ACCOUNTS": ",".join(sub.customer_numbers),
        "SYNCER_SYNC_BATCH_SIZE": str(BATCH),
        "SYNCER_SYNC_WRITERS": str(WRITERS),
        "SYNCER_API_CONCURRENCY": "4",
    }


async def run_sync(env: dict[str, str], kill_after: float | None) -> int | None:
    """Run `syncer sync --once`; SIGKILL it after `kill_after` seconds if still running.
    Returns the exit code, or None when it was killed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "syncer", "sync", "--once",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), kill_after)
    except TimeoutError:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        return None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode


async def loaded_orders(h: SimHarness) -> set[str]:
    async with h.engine.connect() as conn:
        result = await conn.exec_driver_sql(f"SELECT sales_order_number FROM {S}.sales_orders")
        return {r[0] for r in result}


async def wasted_per_account(h: SimHarness, before: Counter[str]) -> Counter[str]:
    """Details this run fetched but did not commit: what the next run must fetch again."""
    loaded = await loaded_orders(h)
    out: Counter[str] = Counter()
    for order, hits in h.sim.detail_hits.items():
        if hits > before[order] and order not in loaded:
            state = h.sim.find(order)
            assert state is not None
            out[state.customer] += 1
    return out


async def crash_and_recover(
    h: SimHarness, database_url: str, kills: int, seed: int
) -> dict[str, Any]:
    env = sync_env(h, database_url)
    rng = random.Random(seed)
    killed = 0
    worst = 0
    for _ in range(kills):
        before = Counter(h.sim.detail_hits)
        code = await run_sync(env, kill_after=rng.uniform(0.3, 3.0))
        killed += code is None
        wasted = await wasted_per_account(h, before)
        worst = max([worst, *wasted.values()])
        assert all(n <= MAX_WASTE for n in wasted.values()), wasted
    assert await run_sync(env, kill_after=120) == 0  # and now to the end
    return {"kills": killed, "worst_refetch": worst}


async def test_one_sigkill_mid_run_loses_and_duplicates_nothing(
    harness_factory: Any, database_url: str
) -> None:
    """The quick version of the one below (marked slow): one kill, once a batch is in."""
    h: SimHarness = await harness_factory(orders_per_account=40)
    env = sync_env(h, database_url)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "syncer", "sync", "--once",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with asyncio.timeout(60):
            while len(await loaded_orders(h)) < BATCH:
                assert proc.returncode is None, "the run ended before it could be killed"
                await asyncio.sleep(0.02)
    finally:
        if proc.returncode is None:
            proc.kill()  # SIGKILL
        await proc.wait()
    partial = len(await loaded_orders(h))
    assert BATCH <= partial < 3 * 40  # killed mid-run (the API allows 20 calls a second)

    # The next run to the end, unthrottled (the first was held to 20 calls a second to be caught).
    assert await run_sync({**env, "SYNCER_API_RATE_LIMIT_PER_SECOND": "1000"}, 120) == 0

    await assert_matches_truth(h.engine, h.sim)
    async with h.engine.connect() as conn:
        outcomes = list((await conn.exec_driver_sql(
            f"SELECT outcome FROM {S}.sync_runs"
        )).scalars())  # fmt: skip
    assert outcomes.count("running") == 0 and outcomes.count("abandoned") >= 1


@pytest.mark.slow
async def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    harness_factory: Any, database_url: str
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=200)

    figures = await crash_and_recover(h, database_url, kills=4, seed=7)

    assert figures["kills"] >= 2  # runs were really killed mid-way
    await assert_matches_truth(h.engine, h.sim)  # equal, row by row: nothing lost or doubled
    async with h.engine.connect() as conn:
        marks = dict((await conn.exec_driver_sql(
            f"SELECT account, watermark FROM {S}.sync_state"
        )).all())  # fmt: skip
        last_ok = dict((await conn.exec_driver_sql(
            f"SELECT account, max(started_at) FROM {S}.sync_runs "
            "WHERE outcome = 'succeeded' GROUP BY account"
        )).all())  # fmt: skip
        running = (await conn.exec_driver_sql(
            f"SELECT count(*) FROM {S}.sync_runs WHERE outcome = 'running'"
        )).scalar()  # fmt: skip
    assert marks == last_ok and set(marks) == set(h.customers)  # watermark = last good start
    assert running == 0  # the killed runs are marked abandoned by the next one
    # A first load killed with its foreign keys dropped: a later run put them back, validated.
    async with loader.connection(h.engine) as con:
        present = await foreign_keys._present(con)
    assert set(present) == set(foreign_keys.DECLARED)
    assert all(valid for _, valid in present.values())
