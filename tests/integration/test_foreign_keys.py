"""A first load into an empty warehouse checks the foreign keys once, at its end; every other
run has them checked row by row; a run that died with them dropped is repaired by the next one
(syncer.foreign_keys)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer import foreign_keys, loader, schema
from syncer.sim import Simulator
from tests.integration.conftest import SimHarness
from tests.truth import assert_matches_truth

S = schema.SCHEMA
Keys = dict[foreign_keys.Key, tuple[str, bool]]


async def keys(engine: AsyncEngine) -> Keys:
    async with loader.connection(engine) as con:
        return await foreign_keys._present(con)


def an_open_order(sim: Simulator, customer: str) -> str:
    return next(s.order_number for s in sim.orders_of(customer) if sim.view(s).status == "Open")


async def run_watching_keys(h: SimHarness, **run: Any) -> tuple[Any, list[Keys]]:
    """Run a sync of the first account, reading the warehouse's foreign keys as each detail
    request ends (the run is writing by then)."""
    seen: list[Keys] = []

    async def on_request_end(_: Any, __: SimpleNamespace, params: Any) -> None:
        if params.url.path.endswith("/detail"):
            seen.append(await keys(h.engine))

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        sync = h.account_sync(h.customers[0])
        sync.client = h.make_client(session)
        result = await sync.run(**run)
    assert result.outcome == "succeeded", result.error
    return result, seen


async def test_a_first_load_has_them_checked_at_its_end_and_the_next_run_row_by_row(
    harness: SimHarness,
) -> None:
    migrated = await keys(harness.engine)
    assert set(migrated) == set(foreign_keys.DECLARED)
    assert all(valid for _, valid in migrated.values())

    first, during_first = await run_watching_keys(harness)

    assert first.counts.loaded == 120 and len(during_first) == 120
    assert all(seen == {} for seen in during_first)  # none while the empty warehouse filled
    assert await keys(harness.engine) == migrated  # back: the same names, validated
    await assert_matches_truth(harness.engine, harness.sim, harness.customers[0])

    harness.clock.advance(3600)
    harness.sim.set_hold(
        harness.customers[0], an_open_order(harness.sim, harness.customers[0]), True
    )
    harness.clock.advance(600)
    second, during_second = await run_watching_keys(harness)

    assert second.counts.loaded == 1
    assert during_second and all(seen == migrated for seen in during_second)
    await assert_matches_truth(harness.engine, harness.sim, harness.customers[0])


async def test_the_run_after_one_that_died_with_them_dropped_puts_them_back_first(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    migrated = await keys(harness.engine)
    await harness.account_sync(customer).run()
    async with loader.connection(harness.engine) as con:  # as a first load killed mid-way
        for (table, _), (name, _) in migrated.items():
            await con.execute(f'ALTER TABLE {S}.{table} DROP CONSTRAINT "{name}"')
    assert await keys(harness.engine) == {}
    harness.clock.advance(3600)
    harness.sim.set_hold(customer, an_open_order(harness.sim, customer), True)
    harness.clock.advance(600)

    try:
        result, during = await run_watching_keys(harness)
    finally:  # the tests after this one need the keys, whatever happens here
        async with loader.connection(harness.engine) as con:
            await foreign_keys.repair(con)

    assert result.counts.loaded == 1
    assert during and all(seen == migrated for seen in during)  # before anything was written
    assert await keys(harness.engine) == migrated
    await assert_matches_truth(harness.engine, harness.sim, customer)


@pytest_asyncio.fixture(loop_scope="session")
async def con(clean_engine: AsyncEngine) -> AsyncIterator[Any]:
    """A connection to the emptied warehouse, which leaves the foreign keys as it found them."""
    async with loader.connection(clean_engine) as c:
        try:
            yield c
        finally:
            tables = ", ".join(f"{S}.{t.name}" for t in schema.DATA_TABLES)
            await c.execute(f"TRUNCATE {tables}, {S}.{loader.HISTORY}")
            await foreign_keys.repair(c)
            await c.execute("SELECT pg_advisory_unlock_all()")


async def test_rows_that_break_a_key_leave_it_not_validated_but_enforced(
    con: Any, caplog: pytest.LogCaptureFixture
) -> None:
    migrated = await foreign_keys._present(con)
    assert await foreign_keys.defer(con)
    await con.execute(  # a line without its order: what the checks exist to refuse
        f"INSERT INTO {S}.sales_order_lines (customer_number, sales_order_number, line_number) "
        "VALUES ('1000012345', 'NO-SUCH-ORDER', 10)"
    )

    with caplog.at_level(logging.ERROR, logger="syncer.foreign_keys"):
        await foreign_keys.restore(con)

    after = await foreign_keys._present(con)
    lines_key = next(k for k in migrated if k[0] == "sales_order_lines")
    assert after[lines_key] == (migrated[lines_key][0], False)  # there, not validated
    assert {k: v for k, v in after.items() if k != lines_key} == {
        k: v for k, v in migrated.items() if k != lines_key
    }
    assert "sales_order_lines" in caplog.text and "NO-SUCH-ORDER" in caplog.text
    with pytest.raises(asyncpg.ForeignKeyViolationError):  # but enforced on new rows
        await con.execute(
            f"INSERT INTO {S}.sales_order_lines (customer_number, sales_order_number, "
            "line_number) VALUES ('1000012345', 'NO-SUCH-ORDER', 20)"
        )
    assert await con.fetchval("SELECT pg_try_advisory_lock($1)", foreign_keys.LOCK_KEY)
    await con.execute("SELECT pg_advisory_unlock($1)", foreign_keys.LOCK_KEY)

    await con.execute(f"DELETE FROM {S}.sales_order_lines")
    assert await foreign_keys.repair(con) == []  # the next run's repair validates it
    assert await foreign_keys._present(con) == migrated


async def test_one_run_at_a_time_has_them_dropped_and_no_other_repairs_it_meanwhile(
    con: Any, clean_engine: AsyncEngine
) -> None:
    migrated = await foreign_keys._present(con)
    assert await foreign_keys.defer(con)
    async with loader.connection(clean_engine) as other:
        assert not await foreign_keys.defer(other)  # the lock is taken: neither drop nor repair
        assert await foreign_keys._present(other) == {}
        await foreign_keys.restore(con)
        assert await foreign_keys._present(other) == migrated
        assert await foreign_keys.defer(other)  # free again, and the warehouse still empty
        await foreign_keys.restore(other)
    assert await foreign_keys._present(con) == migrated


async def test_a_reader_holding_a_table_leaves_them_checked_row_by_row(
    con: Any, clean_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(foreign_keys, "LOCK_TIMEOUT", "200ms")
    migrated = await foreign_keys._present(con)
    async with loader.connection(clean_engine) as reader, reader.transaction():
        await reader.fetch(f"SELECT * FROM {S}.delivery_line_serials LIMIT 1")
        assert not await foreign_keys.defer(con)
    assert await foreign_keys._present(con) == migrated
    assert await con.fetchval("SELECT pg_try_advisory_lock($1)", foreign_keys.LOCK_KEY)


async def test_a_role_that_does_not_own_the_tables_has_them_checked_row_by_row(
    con: Any, database_url: str
) -> None:
    role = f"syncer_test_writer_{uuid.uuid4().hex[:8]}"
    migrated = await foreign_keys._present(con)
    await con.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        await con.execute(f'GRANT USAGE ON SCHEMA {S} TO "{role}"')
        await con.execute(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {S} TO "{role}"'
        )
        url = make_url(database_url).set(drivername="postgresql", username=role, password=None)
        writer = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            assert not await foreign_keys.defer(writer)
            assert await writer.fetchval("SELECT pg_try_advisory_lock($1)", foreign_keys.LOCK_KEY)
        finally:
            await writer.close()
        assert await foreign_keys._present(con) == migrated
    finally:
        await con.execute(f'DROP OWNED BY "{role}"')
        await con.execute(f'DROP ROLE "{role}"')


async def test_another_account_loading_meanwhile_waits_for_the_keys_and_both_end_right(
    harness: SimHarness,
) -> None:
    """The second account's run starts while the first has them dropped (its rows go in
    unchecked) and is still writing, in small batches, when the first puts them back."""
    first, second = harness.customers[:2]
    migrated = await keys(harness.engine)
    loading = asyncio.Event()
    a = harness.account_sync(first)
    a.progress = lambda r: loading.set() if r.counts.loaded else None
    b = harness.account_sync(second, batch_size=2, concurrency=1)
    ended: dict[str, float] = {}

    async def run(sync: Any, name: str) -> Any:
        result = await sync.run()
        ended[name] = time.monotonic()
        return result

    task = asyncio.create_task(run(a, "a"))
    await loading.wait()
    assert await keys(harness.engine) == {}
    b_started = time.monotonic()

    b_result, a_result = await asyncio.gather(run(b, "b"), task)

    assert a_result.outcome == b_result.outcome == "succeeded"
    assert b_started < ended["a"] < ended["b"]  # b was writing when a put the keys back
    assert await keys(harness.engine) == migrated
    for customer in (first, second):
        await assert_matches_truth(harness.engine, harness.sim, customer)
