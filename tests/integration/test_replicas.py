"""Two replicas: two `syncer run` processes (as two pods of the Deployment) sharing three accounts,
one simulator and one database. Each account's work in a schedule round is done by one of them;
the other finds the account locked and skips it, or finds nothing left to do. Every order is
fetched once per change, and the warehouse equals the simulator's ground truth."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.config.simulator import SIMULATOR_RATE
from syncer.sim import FakeClock, SimConfig, Simulator, run_simulator
from syncer.warehouse import schema
from tests.integration.service_support import service_env
from tests.integration.test_service_process import (
    Service,
    free_port,
    image_settings,
    service_process,
)
from tests.truth import assert_matches_truth

S = schema.SCHEMA
ORDERS = 60
TOUCHED = 3  # orders changed per account between the two rounds
INTERVAL = 25  # seconds between rounds (the first must be over by then)


def runs(service: Service, account: str) -> list[dict[str, Any]]:
    """The service's finished runs of `account`, in order (one per schedule round)."""
    return [e for e in service.events() if e["event"] == "sync run" and e["account"] == account]


async def wait_for_rounds(
    replicas: list[Service], accounts: tuple[str, ...], rounds: int, within: float
) -> None:
    deadline = time.monotonic() + within
    while any(len(runs(r, a)) < rounds for r in replicas for a in accounts):
        for r in replicas:
            assert r.proc.returncode is None, "exited early:\n" + "\n".join(r.lines)
        assert time.monotonic() < deadline, "rounds not done:\n" + "\n".join(replicas[0].lines)
        await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_two_replicas_share_three_accounts_without_double_work(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    # The simulator's clock stands ten minutes back, so that no order's LastChanged falls in
    # the minutes a fetch is not trusted for (sync_safety_margin_seconds): a second fetch of an
    # order is then double work, never caution. Runs of ~6 s (one detail at a time, 100 ms
    # each) make the replicas' first rounds meet.
    start = datetime.now(UTC) - timedelta(minutes=10)
    sim = Simulator(SimConfig(orders_per_account=ORDERS, latency_ms=100), clock=FakeClock(start))
    accounts = sim.config.subscriptions[0].customer_numbers
    assert len(accounts) == 3
    async with run_simulator(sim) as running:
        ports = [free_port(), free_port()]
        settings = {
            **image_settings(),
            "api_concurrency": 1,
            "api_rate_limit_per_second": SIMULATOR_RATE,
            "schedule_interval_seconds": INTERVAL,
            "schedule_jitter_seconds": 0,
            "shutdown_grace_seconds": 5,
        }
        envs = [
            service_env(running, database_url, accounts, **{**settings, "health_port": port})
            for port in ports
        ]
        async with (
            service_process(envs[0], ports[0]) as one,
            service_process(envs[1], ports[1]) as two,
        ):
            replicas = [one, two]
            await wait_for_rounds(replicas, accounts, 1, within=INTERVAL - 2)
            # Between the rounds, a few orders of each account change.
            sim.clock.advance(60)
            touched = {a: sim.order_numbers(a)[:TOUCHED] for a in accounts}
            for account, orders in touched.items():
                for order in orders:
                    sim.touch(account, order)
            await wait_for_rounds(replicas, accounts, 2, within=2 * INTERVAL)
            codes = [await r.stop(within=5) for r in replicas]

    assert codes == [0, 0], "\n".join(one.lines + two.lines)
    changes = {1: ORDERS, 2: TOUCHED}
    skips = 0
    for account in accounts:
        for round_, changed in changes.items():
            done = [runs(r, account)[round_ - 1] for r in replicas]
            # One replica fetched the round's changes; the other skipped or fetched nothing.
            workers = [d for d in done if d["outcome"] == "succeeded" and d["fetched"] > 0]
            assert len(workers) == 1 and workers[0]["fetched"] == changed, (account, done)
            idle = [d for d in done if d is not workers[0]]
            assert all(d["outcome"] == "skipped" or d["fetched"] == 0 for d in idle), done
            skips += sum(d["outcome"] == "skipped" for d in idle)
    # The replicas met: in the first round each account was locked by one and skipped by the
    # other (the second round's runs are short and may fall one after the other).
    assert skips >= len(accounts), skips

    # Every order's detail fetched once per change: once, and the touched ones twice.
    expected = Counter({o: 1 for a in accounts for o in sim.order_numbers(a)})
    expected.update(o for orders in touched.values() for o in orders)
    assert sim.detail_hits == expected
    async with clean_engine.connect() as conn:
        overlapping = (await conn.exec_driver_sql(
            f"SELECT count(*) FROM {S}.sync_runs a JOIN {S}.sync_runs b "
            "ON a.account = b.account AND a.id < b.id "
            "AND tstzrange(a.started_at, a.finished_at) && tstzrange(b.started_at, b.finished_at)"
        )).scalar()  # fmt: skip
        fetched = dict((await conn.exec_driver_sql(
            f"SELECT account, sum(fetched) FROM {S}.sync_runs GROUP BY account"
        )).all())  # fmt: skip
    assert overlapping == 0  # never two runs of one account at once
    assert fetched == dict.fromkeys(accounts, ORDERS + TOUCHED)
    for account in accounts:
        await assert_matches_truth(clean_engine, sim, account)
