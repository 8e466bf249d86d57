"""A first load into an empty warehouse checks the foreign keys once, at its end; every other
run has them checked row by row; whatever a run leaves dropped (it died, was cancelled, lost the
database) the next one adds back before it writes (syncer.warehouse.foreign_keys)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.sim import Simulator
from syncer.sync.account import AccountSync
from syncer.warehouse import foreign_keys, loader, schema
from tests.integration.conftest import SimHarness
from tests.integration.test_crash import run_sync, sync_env
from tests.truth import assert_matches_truth

S = schema.SCHEMA
Keys = dict[foreign_keys.Key, tuple[str, bool]]


async def keys(engine: AsyncEngine) -> Keys:
    async with loader.connection(engine) as con:
        return await foreign_keys._present(con)


def an_open_order(sim: Simulator, customer: str) -> str:
    return next(s.order_number for s in sim.orders_of(customer) if sim.view(s).status == "Open")


def watching_keys(
    h: SimHarness,
    sync: AccountSync,
    seen: list[tuple[Keys, int]],
    on_request_start: Callable[..., Awaitable[None]] | None = None,
) -> Any:
    """A session for `sync`'s client that reads the warehouse's foreign keys, and how many
    orders the run had loaded, as each detail request ends (the run is writing by then)."""
    loaded = [0]
    sync.progress = lambda r: loaded.__setitem__(0, r.counts.loaded)

    async def on_request_end(_: Any, __: SimpleNamespace, params: Any) -> None:
        if params.url.path.endswith("/detail"):
            seen.append((await keys(h.engine), loaded[0]))

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    if on_request_start is not None:
        trace.on_request_start.append(on_request_start)
    session = aiohttp.ClientSession(trace_configs=[trace])
    sync.client = h.make_client(session)
    return session


async def run_watching_keys(h: SimHarness, **options: Any) -> tuple[Any, list[Keys]]:
    """Run a sync of the first account; the foreign keys as each detail request ended."""
    seen: list[tuple[Keys, int]] = []
    sync = h.account_sync(h.customers[0], **options)
    async with watching_keys(h, sync, seen):
        result = await sync.run()
    assert result.outcome == "succeeded", result.error
    return result, [k for k, _ in seen]


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


async def test_with_the_setting_off_a_first_load_has_them_checked_row_by_row(
    harness: SimHarness,
) -> None:
    migrated = await keys(harness.engine)

    result, during = await run_watching_keys(harness, defer_foreign_keys=False)

    assert result.counts.loaded == 120 and all(seen == migrated for seen in during)
    await assert_matches_truth(harness.engine, harness.sim, harness.customers[0])


async def test_a_failed_first_load_puts_them_back_and_a_cancelled_one_leaves_it_to_the_next(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    migrated = await keys(harness.engine)
    lost = harness.account_sync(customer)
    lost.client = harness.make_client(base_url=harness.running.base_url + "/nowhere")
    failed = await lost.run()
    assert failed.outcome == "failed"
    assert await keys(harness.engine) == migrated

    cancelled = harness.account_sync(customer, batch_size=10, concurrency=2)
    loading = asyncio.Event()
    cancelled.progress = lambda r: loading.set() if r.counts.loaded else None
    task = asyncio.create_task(cancelled.run())
    await loading.wait()
    task.cancel()  # shutdown
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await keys(harness.engine) == {}  # left to the next run, which can take the lock:
    async with loader.connection(harness.engine) as other:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", foreign_keys.LOCK_KEY)
        await foreign_keys.release(other)

    result, during = await run_watching_keys(harness)

    assert result.counts.loaded > 0 and during and all(seen == migrated for seen in during)
    assert await keys(harness.engine) == migrated
    await assert_matches_truth(harness.engine, harness.sim, customer)


@pytest.mark.slow
async def test_a_first_load_killed_with_them_dropped_is_repaired_by_the_next_run(
    harness_factory: Any, database_url: str
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=150)
    migrated = await keys(h.engine)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "syncer", "sync", "--once", env=sync_env(h, database_url),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while proc.returncode is None:  # until it has loaded orders, the keys dropped
            async with loader.connection(h.engine) as con:
                held = await con.fetchval(f"SELECT count(*) FROM {S}.sales_orders")
                dropped = await foreign_keys._present(con) == {}
            if held and dropped:
                break
            await asyncio.sleep(0.02)
        assert proc.returncode is None, "the first load ended before it could be killed"
        proc.kill()
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert await keys(h.engine) == {}

    # The first run at the default 20 requests a second, slow enough to be caught; this one not.
    unlimited = {"SYNCER_API_RATE_LIMIT_PER_SECOND": "10000", "SYNCER_API_RATE_BURST": "100"}
    assert await run_sync({**sync_env(h, database_url), **unlimited}, kill_after=120) == 0

    assert await keys(h.engine) == migrated
    for customer in h.customers:
        await assert_matches_truth(h.engine, h.sim, customer)


@pytest_asyncio.fixture(loop_scope="session")
async def con(clean_engine: AsyncEngine) -> AsyncIterator[Any]:
    """A connection to the emptied warehouse, which leaves the foreign keys as it found them."""
    async with loader.connection(clean_engine) as c:
        try:
            yield c
        finally:
            tables = ", ".join(f"{S}.{t.name}" for t in schema.DATA_TABLES)
            await c.execute(f"TRUNCATE {tables}, {S}.{loader.HISTORY}")
            await c.execute("SELECT pg_advisory_unlock_all()")
            for (table, _), (name, valid) in (await foreign_keys._present(c)).items():
                if not valid:
                    await c.execute(f'ALTER TABLE {S}.{table} VALIDATE CONSTRAINT "{name}"')
            await foreign_keys.repair(c)


async def lock_is_free(engine: AsyncEngine) -> bool:
    """Whether another connection could take the deferral's lock (a session's own advisory
    locks are re-entrant: it must be asked from elsewhere)."""
    async with loader.connection(engine) as other:
        free = bool(await other.fetchval("SELECT pg_try_advisory_lock($1)", foreign_keys.LOCK_KEY))
        if free:
            await foreign_keys.release(other)
    return free


async def test_rows_that_break_a_key_leave_it_not_validated_but_enforced(
    con: Any, clean_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    migrated = await foreign_keys._present(con)
    assert await foreign_keys.defer(con)
    await con.execute(  # a line without its order: what the checks exist to refuse
        f"INSERT INTO {S}.sales_order_lines (customer_number, sales_order_number, line_number) "
        "VALUES ('1000012345', 'NO-SUCH-ORDER', 10)"
    )

    with caplog.at_level(logging.ERROR, logger="syncer.warehouse.foreign_keys"):
        await foreign_keys.restore(con)

    after = await foreign_keys._present(con)
    lines_key = next(k for k in migrated if k[0] == "sales_order_lines")
    name = migrated[lines_key][0]
    assert after[lines_key] == (name, False)  # there, not validated
    assert {k: v for k, v in after.items() if k != lines_key} == {
        k: v for k, v in migrated.items() if k != lines_key
    }
    validate = f"ALTER TABLE {S}.sales_order_lines VALIDATE CONSTRAINT {name}"
    assert "NO-SUCH-ORDER" in caplog.text and validate in caplog.text  # what, and what then
    with pytest.raises(asyncpg.ForeignKeyViolationError):  # but enforced on new rows
        await con.execute(
            f"INSERT INTO {S}.sales_order_lines (customer_number, sales_order_number, "
            "line_number) VALUES ('1000012345', 'NO-SUCH-ORDER', 20)"
        )
    assert await lock_is_free(clean_engine)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="syncer.warehouse.foreign_keys"):
        assert not await foreign_keys.defer(con, drop=False)  # the next runs leave it alone
    assert caplog.text == "" and (await foreign_keys._present(con))[lines_key] == (name, False)

    await con.execute(f"DELETE FROM {S}.sales_order_lines")
    await con.execute(validate)  # as the log says, once the rows are fixed
    assert await foreign_keys._present(con) == migrated


async def test_one_run_at_a_time_has_them_dropped_and_no_other_repairs_it_meanwhile(
    con: Any, clean_engine: AsyncEngine
) -> None:
    migrated = await foreign_keys._present(con)
    assert await foreign_keys.defer(con)
    async with loader.connection(clean_engine) as other:
        assert not await foreign_keys.defer(other)  # the lock is taken: neither drop nor repair
        assert await foreign_keys._present(other) == {}
        assert not await lock_is_free(clean_engine)
        await foreign_keys.restore(con)
        assert await foreign_keys._present(other) == migrated
        assert await lock_is_free(clean_engine)
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
    assert await lock_is_free(clean_engine)


async def test_a_role_that_does_not_own_the_tables_has_them_checked_row_by_row(
    con: Any, clean_engine: AsyncEngine, database_url: str, caplog: pytest.LogCaptureFixture
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
            assert await lock_is_free(clean_engine)
            assert await foreign_keys._present(con) == migrated
            # Keys missing (an owner's run died): the role cannot add them back, and goes on.
            lines_key = next(k for k in migrated if k[0] == "sales_order_lines")
            await con.execute(
                f'ALTER TABLE {S}.sales_order_lines DROP CONSTRAINT "{migrated[lines_key][0]}"'
            )
            with caplog.at_level(logging.WARNING, logger="syncer.warehouse.foreign_keys"):
                assert not await foreign_keys.defer(writer)
            assert "must be owner" in caplog.text and await lock_is_free(clean_engine)
        finally:
            await writer.close()
    finally:
        await con.execute(f'DROP OWNED BY "{role}"')
        await con.execute(f'DROP ROLE "{role}"')


async def test_another_account_loading_meanwhile_waits_for_the_keys_and_both_end_right(
    harness: SimHarness,
) -> None:
    """The second account's run writes while the first has them dropped (unchecked), and goes
    on writing after the first has put them back (checked). Each run's requests wait for the
    other at one point, so that both happen."""
    first, second = harness.customers[:2]
    migrated = await keys(harness.engine)
    a = harness.account_sync(first, batch_size=10, concurrency=2)
    b = harness.account_sync(second, batch_size=2, concurrency=1)
    a_loaded, b_loaded_unchecked, a_done = asyncio.Event(), asyncio.Event(), asyncio.Event()
    a.progress = lambda r: a_loaded.set() if r.counts.loaded else None
    seen_by_b: list[tuple[Keys, int]] = []

    async def hold_a(*_: Any) -> None:  # once it has loaded, until b has loaded too
        if a_loaded.is_set():
            await b_loaded_unchecked.wait()

    async def hold_b(*_: Any) -> None:  # once it has loaded with the keys dropped, until a ends
        if any(k == {} and n > 0 for k, n in seen_by_b):
            b_loaded_unchecked.set()
            await a_done.wait()

    async def run_a() -> Any:
        try:
            return await a.run()
        finally:
            a_done.set()

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(hold_a)
    async with aiohttp.ClientSession(trace_configs=[trace]) as a_session:
        a.client = harness.make_client(a_session)
        task = asyncio.create_task(run_a())
        await a_loaded.wait()  # a holds the deferral
        async with watching_keys(harness, b, seen_by_b, hold_b):
            b_result, a_result = await asyncio.gather(b.run(), task)

    assert a_result.outcome == b_result.outcome == "succeeded"
    assert any(k == {} and n > 0 for k, n in seen_by_b)  # b had loaded orders, unchecked
    last_dropped = max(n for k, n in seen_by_b if k == {})
    assert any(k == migrated and n > last_dropped for k, n in seen_by_b)  # and loaded on, checked
    assert await keys(harness.engine) == migrated
    for customer in (first, second):
        await assert_matches_truth(harness.engine, harness.sim, customer)
