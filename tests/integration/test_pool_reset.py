"""A connection goes back to the pool clean, whatever the task that used it left behind.

The sync works on the asyncpg connection under SQLAlchemy's pool, whose own reset rolls back only
what SQLAlchemy began. A task cancelled in the middle of a transaction, or while its BEGIN was on
the wire, once left a pooled connection idle in a transaction that held a new `sync_locks` row:
every other syncer's INSERT of that account's row waited on it for good. These tests leave a
connection in those states and check what the next user of the pool, and the other sessions, see.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.warehouse import database as db
from syncer.warehouse import loader, locks, schema

ACCOUNT = "1000099999"
LOCKS = f"{schema.SCHEMA}.{schema.sync_locks.name}"


@pytest_asyncio.fixture(loop_scope="session")
async def one_connection(
    database_url: str, clean_engine: AsyncEngine
) -> AsyncIterator[AsyncEngine]:
    """An engine of one pooled connection: the next user gets the connection the last one left."""
    eng = db.create_engine(database_url, pool_size=1, max_overflow=0)
    yield eng
    await eng.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def observer(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A session of its own, outside the pool, that looks at the pool's."""
    url = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    con = await asyncpg.connect(url)
    yield con
    await con.close()


async def assert_clean(engine: AsyncEngine, observer: asyncpg.Connection, pid: int) -> None:
    """The pool's connection (backend `pid`) is idle outside any transaction, holds no advisory
    lock, and another session can insert the account's lock row without waiting."""
    async with loader.connection(engine) as con:
        assert await con.fetchval("SELECT pg_backend_pid()") == pid  # the same connection
        assert not con.is_in_transaction()
        async with con.transaction():  # a transaction of its own, not a savepoint in another
            await con.execute("SELECT 1")
        assert not con.is_in_transaction()
    state = await observer.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid)
    assert state == "idle", state
    advisory = await observer.fetchval(
        "SELECT count(*) FROM pg_locks WHERE pid = $1 AND locktype = 'advisory'", pid
    )
    assert advisory == 0
    async with asyncio.timeout(5):  # what hung: the INSERT waited on the orphaned transaction
        await observer.execute(
            f"INSERT INTO {LOCKS} (account) VALUES ($1) ON CONFLICT DO NOTHING", ACCOUNT
        )


async def test_a_task_cancelled_in_its_transaction_leaves_no_transaction_or_lock(
    one_connection: AsyncEngine, observer: asyncpg.Connection
) -> None:
    held = asyncio.Event()
    pid: list[int] = []

    async def worker() -> None:
        async with loader.connection(one_connection) as con:
            pid.append(await con.fetchval("SELECT pg_backend_pid()"))
            # A transaction started by hand (as the fallback's row lock is), never ended here.
            await con.transaction().start()
            await con.execute(f"INSERT INTO {LOCKS} (account) VALUES ($1)", ACCOUNT)
            await con.execute("SELECT pg_advisory_lock($1)", locks.lock_key(ACCOUNT))
            held.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(worker())
    await held.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await assert_clean(one_connection, observer, pid[0])


async def test_a_task_cancelled_while_its_begin_is_sent_leaves_no_transaction(
    one_connection: AsyncEngine, observer: asyncpg.Connection
) -> None:
    """Cancelled at each step of its way in turn: at one of them BEGIN is on the wire, and
    asyncpg keeps the failed transaction as the connection's current one."""
    async with loader.connection(one_connection) as con:
        pid = await con.fetchval("SELECT pg_backend_pid()")
    for steps in range(12):
        started = asyncio.Event()

        async def worker(started: asyncio.Event) -> None:
            async with loader.connection(one_connection) as con:
                started.set()
                async with con.transaction():
                    await con.execute(
                        f"INSERT INTO {LOCKS} (account) VALUES ($1) ON CONFLICT DO NOTHING",
                        ACCOUNT,
                    )
                    await asyncio.sleep(60)

        task = asyncio.create_task(worker(started))
        await started.wait()
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await assert_clean(one_connection, observer, pid)
        await observer.execute(f"DELETE FROM {LOCKS} WHERE account = $1", ACCOUNT)


async def test_a_transaction_nobody_owns_is_rolled_back_without_an_error_reported(
    one_connection: AsyncEngine, observer: asyncpg.Connection
) -> None:
    """A task cancelled while its transaction's ROLLBACK was on the wire leaves the connection
    in a transaction no Transaction object owns; asyncpg's reset reported that through the
    loop's exception handler, an ERROR line at every such shutdown."""
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context["message"]))
    try:
        async with loader.connection(one_connection) as con:
            pid = await con.fetchval("SELECT pg_backend_pid()")
            await con.execute("BEGIN")  # on the wire only: no Transaction object owns it
            await con.execute(f"INSERT INTO {LOCKS} (account) VALUES ($1)", ACCOUNT)
            assert con.is_in_transaction()
        rows = await observer.fetchval(f"SELECT count(*) FROM {LOCKS} WHERE account = $1", ACCOUNT)
        assert rows == 0  # rolled back
        await assert_clean(one_connection, observer, pid)
    finally:
        loop.set_exception_handler(before)
        await observer.execute(f"DELETE FROM {LOCKS} WHERE account = $1", ACCOUNT)
    assert reported == []
