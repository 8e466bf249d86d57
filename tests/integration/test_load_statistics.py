"""A bulk load keeps the planner's idea of the tables' sizes current (loader, ANALYZE).

Without it, the plans cached for foreign-key checks when the tables were nearly empty stay
sequential scans, and a 20,000-order full sync took 200 s instead of 32 s (measured with
bench/full_sync.py's sync). Autovacuum is off for these tables here, so what is seen is the
sync's own doing; and the sync's ANALYZE covers only the key columns, leaving the count of
changed rows to autovacuum, which then analyzes every column.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.api.transport import make_session
from syncer.sim import FakeClock, SimConfig, Simulator, Subscription, run_simulator
from syncer.warehouse import database as db
from syncer.warehouse import schema
from tests.integration.conftest import START, SimHarness

S = schema.SCHEMA
ONE_ACCOUNT = (
    Subscription("demo-client", "demo-secret", "demo-subscription-key", ("1000012345",)),
)


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_engine(admin_url: str) -> AsyncIterator[AsyncEngine]:
    """A database of its own (the session's holds earlier tests' statistics), with autovacuum
    off on the warehouse tables."""
    admin = make_url(admin_url).set(drivername="postgresql")
    name = f"syncer_test_stats_{uuid.uuid4().hex[:8]}"
    con = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await con.execute(f'CREATE DATABASE "{name}"')
        engine = db.create_engine(admin.set(database=name).render_as_string(hide_password=False))
        try:
            await db.upgrade(engine)
            async with engine.begin() as conn:
                for t in schema.DATA_TABLES:
                    await conn.exec_driver_sql(
                        f"ALTER TABLE {S}.{t.name} SET (autovacuum_enabled = false)"
                    )
            yield engine
        finally:
            await engine.dispose()
    finally:
        await con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await con.close()


async def test_a_bulk_load_refreshes_table_sizes_from_the_key_columns_only(
    fresh_engine: AsyncEngine,
) -> None:
    sim = Simulator(SimConfig(orders_per_account=1200, subscriptions=ONE_ACCOUNT), FakeClock(START))
    async with make_session(concurrency=8) as session, run_simulator(sim) as running:
        h = SimHarness(running, session, fresh_engine)
        result = await h.account_sync(h.customers[0], batch_size=100).run()
    assert result.outcome == "succeeded" and result.counts.loaded == 1200
    async with h.engine.connect() as conn:
        for t in schema.DATA_TABLES:
            count = (await conn.exec_driver_sql(f"SELECT count(*) FROM {S}.{t.name}")).scalar()
            if not count:
                continue
            estimate = (
                await conn.exec_driver_sql(
                    f"SELECT reltuples FROM pg_class WHERE oid = '{S}.{t.name}'::regclass"
                )
            ).scalar()
            # Never analyzed, it would be -1. Analyzed each time the warehouse doubled (from
            # 500 orders): last after 1,000 or so of the 1,200 orders. Child rows are not spread
            # evenly over the orders (open ones have schedule lines), so only the orders' own
            # table is held to a share.
            assert estimate is not None and estimate > 0, (t.name, estimate, count)
            if t.name == "sales_orders":
                assert estimate >= 0.75 * count, (estimate, count)
            analyzed = {
                r[0]
                for r in await conn.exec_driver_sql(
                    f"SELECT attname FROM pg_stats WHERE schemaname = '{S}' "
                    f"AND tablename = '{t.name}'"
                )
            }
            keys = {c.name for c in t.primary_key.columns}
            assert analyzed == keys, (t.name, analyzed, keys)
        # From a small sample (statistics target 10): a histogram of at most 11 bounds, where
        # the default target would give up to 101.
        bounds = (
            await conn.exec_driver_sql(
                f"SELECT array_length(histogram_bounds, 1) FROM pg_stats WHERE schemaname = "
                f"'{S}' AND tablename = 'sales_orders' AND attname = 'sales_order_number'"
            )
        ).scalar()
        assert bounds is not None and bounds <= 11, bounds
