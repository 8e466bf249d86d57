"""One syncer at a time per account, and no reader can stop the sync: a role that may only read
(the BI role of `syncer db grant-readonly`, given LOGIN) takes the account's advisory lock, whose
key is predictable, and holds it."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from syncer.warehouse import loader, schema
from syncer.warehouse.grants import grant_readonly
from syncer.warehouse.locks import AccountLock, Hold, held, lock_key
from tests.integration.conftest import SimHarness
from tests.integration.test_crash import sync_env
from tests.integration.test_grants import admin, login_as, new_role  # noqa: F401 - fixtures
from tests.log_events import events
from tests.truth import assert_matches_truth

S = schema.SCHEMA


@pytest_asyncio.fixture(loop_scope="session")
async def reader(
    harness: SimHarness,
    admin: asyncpg.Connection,  # noqa: F811 - the fixture
    new_role: Callable[[str], str],  # noqa: F811 - the fixture
    database_url: str,
) -> AsyncIterator[asyncpg.Connection]:
    """A session of the read-only BI role, logged in."""
    role = new_role("bi")
    await grant_readonly(harness.engine, role)
    con = await login_as(admin, database_url, role)
    yield con
    await con.close()


async def test_a_reader_holding_the_accounts_lock_does_not_stop_its_sync(
    harness: SimHarness, reader: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    customer = harness.customers[0]
    assert await reader.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(customer))
    squatter = await reader.fetchval("SELECT pg_backend_pid()")
    role = await reader.fetchval("SELECT current_user")
    caplog.set_level(logging.WARNING, logger="syncer")

    result = await harness.account_sync(customer).run()

    assert result.outcome == "succeeded" and result.counts.loaded == 120
    await assert_matches_truth(harness.engine, harness.sim, customer)
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and str(squatter) in
              r.getMessage()]  # fmt: skip
    assert len(warned) == 1 and role in warned[0].getMessage()
    # The reader still holds its lock: the run never took it from it, and let nothing behind.
    assert (
        await reader.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        == 1
    )
    async with loader.connection(harness.engine) as con:
        assert await con.fetchval(f"SELECT count(*) FROM {S}.sync_runs") == 1


async def squat(reader: asyncpg.Connection, customer: str) -> int:
    """The reader takes the account's advisory lock; its backend's pid."""
    assert await reader.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(customer))
    return int(await reader.fetchval("SELECT pg_backend_pid()"))


async def row_holder(h: SimHarness, customer: str) -> int | None:
    async with loader.connection(h.engine) as con:
        return await AccountLock(h.engine, con, customer).row_holder()


async def test_two_syncers_of_a_squatted_account_never_run_it_at_once(
    harness_factory: Any, reader: asyncpg.Connection
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=60, latency_ms=5)
    customer = h.customers[0]
    squatter = await squat(reader, customer)
    holders: list[int | None] = []

    async def watch() -> None:  # who holds the row lock while the runs go
        while True:
            holders.append(await row_holder(h, customer))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        first, second = await asyncio.gather(
            h.account_sync(customer).run(), h.account_sync(customer).run()
        )
    finally:
        watcher.cancel()

    ran, skipped = (first, second) if first.outcome == "succeeded" else (second, first)
    assert (ran.outcome, skipped.outcome) == ("succeeded", "skipped")
    assert skipped.holder_pid is not None and skipped.holder_pid != squatter
    assert skipped.holder_pid in holders  # the running syncer's own row-lock session
    assert sum(h.sim.detail_hits.values()) == 60  # every order fetched once, by one of them
    await assert_matches_truth(h.engine, h.sim, customer)


async def test_a_syncer_finding_a_fallback_syncer_at_work_backs_off(
    harness_factory: Any, reader: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    """The reader lets go while a fallback syncer runs: the next syncer takes the advisory lock,
    but finds the row lock held, and skips rather than run beside it."""
    h: SimHarness = await harness_factory(orders_per_account=60, latency_ms=20)
    customer = h.customers[0]
    await squat(reader, customer)
    started = asyncio.Event()
    fallback = h.account_sync(customer, concurrency=2)
    fallback.progress = lambda r: started.set() if r.counts.listed else None
    running = asyncio.create_task(fallback.run())
    await started.wait()
    await reader.execute("SELECT pg_advisory_unlock_all()")
    in_fallback = await row_holder(h, customer)
    caplog.set_level(logging.WARNING, logger="syncer")

    ordinary = await h.account_sync(customer).run()

    assert in_fallback is not None and not running.done()
    assert ordinary.outcome == "skipped" and ordinary.holder_pid == in_fallback
    skipped = events(caplog, "skipped")
    assert [(e["account"], e["holder_pid"]) for e in skipped] == [(customer, in_fallback)]
    assert (await running).outcome == "succeeded"
    assert await row_holder(h, customer) is None  # let go of at the end of the run
    assert sum(h.sim.detail_hits.values()) == 60
    await assert_matches_truth(h.engine, h.sim, customer)


async def test_a_fallback_syncer_that_finds_a_writer_on_the_advisory_lock_backs_off(
    harness: SimHarness, reader: asyncpg.Connection
) -> None:
    """The race the fallback's second look is for: the reader lets go after the fallback syncer
    saw it, an ordinary syncer takes the advisory lock and finds the row lock free, and only
    then does the fallback syncer take the row lock."""
    customer = harness.customers[0]
    engine = harness.engine
    await squat(reader, customer)
    async with loader.connection(engine) as con_f, loader.connection(engine) as con_n:
        late = AccountLock(engine, con_f, customer)
        ordinary = AccountLock(engine, con_n, customer)
        try:
            await late.acquire()  # creates the account's row
            await late.release()
            assert not await late.try_advisory()
            assert [h.writer for h in await late.holders()] == [False]  # the reader
            await reader.execute("SELECT pg_advisory_unlock_all()")
            assert await ordinary.acquire() == Hold(True)
            writer = await con_n.fetchval("SELECT pg_backend_pid()")

            assert await late.fallback() == Hold(False, writer)
            assert await row_holder(harness, customer) is None  # it let go of the row
        finally:
            await late.release()
            await ordinary.release()


async def test_syncers_and_a_reader_coming_and_going_never_overlap(
    harness: SimHarness, reader: asyncpg.Connection
) -> None:
    """Four syncers take the account over and over, each holding it a moment, while the reader
    takes and lets go of the advisory lock: never two at once, and both ways of holding it are
    used."""
    customer = harness.customers[0]
    engine = harness.engine
    inside: list[str] = []
    holds: list[Hold] = []
    most = 0
    rng = random.Random(22)
    deadline = asyncio.get_running_loop().time() + 3.0

    async def syncer(name: str) -> None:
        nonlocal most
        async with loader.connection(engine) as con:
            while asyncio.get_running_loop().time() < deadline:
                async with held(engine, con, customer) as hold:
                    holds.append(hold)
                    if hold.acquired:
                        inside.append(name)
                        most = max(most, len(inside))
                        await asyncio.sleep(rng.uniform(0, 0.02))
                        inside.remove(name)
                await asyncio.sleep(rng.uniform(0, 0.01))

    async def come_and_go() -> None:
        while asyncio.get_running_loop().time() < deadline:
            await reader.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(customer))
            await asyncio.sleep(rng.uniform(0, 0.01))
            await reader.execute("SELECT pg_advisory_unlock_all()")
            await asyncio.sleep(rng.uniform(0, 0.005))

    await asyncio.gather(come_and_go(), *(syncer(f"s{i}") for i in range(4)))

    assert most == 1
    acquired = [h for h in holds if h.acquired]
    assert any(h.fallback for h in acquired) and any(not h.fallback for h in acquired)
    assert any(not h.acquired for h in holds)


async def test_sync_once_shows_the_pid_of_the_syncer_holding_the_account(
    harness: SimHarness, database_url: str
) -> None:
    customer = harness.customers[0]
    env = {**sync_env(harness, database_url), "SYNCER_ACCOUNTS": customer}
    async with loader.connection(harness.engine) as other:  # another syncer, as far as rights go
        await other.execute("SELECT pg_advisory_lock($1)", lock_key(customer))
        pid = await other.fetchval("SELECT pg_backend_pid()")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "syncer", "sync", "--once", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        await other.execute("SELECT pg_advisory_unlock($1)", lock_key(customer))

    assert proc.returncode == 3, err.decode()  # skipped: another instance holds it
    shown = json.loads(out)
    assert (shown["outcome"], shown["holder_pid"]) == ("skipped", pid)
    warning = [json.loads(line) for line in err.decode().splitlines() if str(pid) in line]
    assert [w["level"] for w in warning] == ["warning"]
