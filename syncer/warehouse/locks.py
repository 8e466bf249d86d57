"""Who syncs an account: one syncer at a time, and no reader can stop it.

The mutex among syncers is a session advisory lock on `lock_key(account)`: no open transaction
(nothing held back from vacuum, nothing for idle_in_transaction_session_timeout to end), gone
with its session. But any role that can connect may take it, a read-only BI role included, and
its key is predictable. So when the lock is held, the run looks at who holds it (`pg_locks`):
a role that cannot write `sync_locks` (UPDATE) is no syncer. The run logs a WARNING naming that
session, and arbitrates with the other syncers through the account's row of `sync_locks`
instead: locked FOR UPDATE, which needs UPDATE on the table, in a transaction held for the run
on a connection of its own (only in that case):

    ordinary: advisory lock taken ─▶ row lock free? (NOWAIT, let go at once) ─▶ run
                                     └ held by a fallback syncer ─▶ let go, skip
    fallback: advisory lock held by readers only ─▶ row lock (NOWAIT) ─▶ advisory lock again:
                free ─▶ take it, let go of the row lock, run as an ordinary syncer
                held by a writer ─▶ let go, skip
                held by readers only ─▶ run, holding the row lock

Two syncers never run one account at once: an ordinary syncer checks the row lock while it
holds the advisory lock, a fallback syncer checks the advisory lock while it holds the row lock,
and of two that overlapped, whichever checked second would have seen the other's. A holder
that cannot be seen counts as a writer. docs/decisions/0010-advisory-account-lock.md
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.logs import get_logger
from syncer.warehouse import loader, schema

log = get_logger(__name__)

S = schema.SCHEMA
LOCKS = f"{S}.{schema.sync_locks.name}"
LOCK_POLL_SECONDS = 0.5  # how often a run that waits for its account (sync_lock_wait) looks again
RECHECKS = 10  # a lock let go of between two looks at it is looked at again, this many times

Connection = Any  # asyncpg.Connection

# The sessions holding an advisory lock of this database on the key, and whether their login
# role may write sync_locks (one that cannot be seen counts as a writer).
_HOLDERS = f"""
SELECT l.pid, coalesce(r.rolname, '?'),
       coalesce(has_any_column_privilege(a.usesysid, '{LOCKS}'::regclass, 'UPDATE'), true)
FROM pg_locks l
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
  AND l.pid IS DISTINCT FROM pg_backend_pid()
ORDER BY l.pid
"""
# The session whose transaction holds the account's row locked: the row's xmax is its id.
_ROW_HOLDER = f"""
SELECT l.pid FROM {LOCKS} s
JOIN pg_locks l ON l.locktype = 'transactionid' AND l.transactionid = s.xmax
 AND l.mode = 'ExclusiveLock' AND l.granted
WHERE s.account = $1 AND l.pid <> pg_backend_pid()
"""
_LOCK_ROW = f"SELECT 1 FROM {LOCKS} WHERE account = $1 FOR UPDATE NOWAIT"


def lock_key(account: str) -> int:
    """A stable key for the account's advisory lock."""
    return zlib.crc32(f"scansource-syncer:{account}".encode()) | (1 << 40)


@dataclass(frozen=True)
class Holder:
    pid: int
    role: str
    writer: bool


@dataclass(frozen=True)
class Hold:
    acquired: bool
    holder_pid: int | None = None  # not acquired: the syncer holding the account, if known
    fallback: bool = False  # held through the row lock: readers hold the advisory lock


class AccountLock:
    """The account's lock for one run, taken on `con` (held for the run by the caller); the
    fallback's row lock on a connection of its own from `engine`."""

    def __init__(self, engine: AsyncEngine, con: Connection, account: str) -> None:
        self.engine = engine
        self.con = con
        self.account = account
        self.key = lock_key(account)
        self._advisory = False
        self._row: contextlib.AsyncExitStack | None = None

    async def acquire(self, *, wait: bool = False) -> Hold:
        """Take the account, or say who has it; with `wait`, look again until it is free."""
        await self.con.execute(
            f"INSERT INTO {LOCKS} (account) VALUES ($1) ON CONFLICT DO NOTHING", self.account
        )
        while True:
            hold = await self._attempt()
            if hold.acquired or not wait:
                return hold
            await asyncio.sleep(LOCK_POLL_SECONDS)

    async def release(self) -> None:
        try:
            if self._advisory:
                self._advisory = False
                await self.con.execute("SELECT pg_advisory_unlock($1)", self.key)
        finally:
            await self._let_go_of_row()

    async def _attempt(self) -> Hold:
        for _ in range(RECHECKS):
            if await self.try_advisory():
                if await self.row_free():
                    return Hold(True)
                await self.release()
                return Hold(False, await self.row_holder())
            holders = await self.holders()
            if not holders:
                continue  # let go of meanwhile: try again
            writer = next((h for h in holders if h.writer), None)
            if writer is not None:
                return Hold(False, writer.pid)
            log.warning(
                "the account's lock is held by a session that cannot write the warehouse: not "
                "a syncer; arbitrating with the account's row lock instead",
                held_by=_sessions(holders),
            )
            return await self.fallback()
        return Hold(False)

    async def fallback(self) -> Hold:
        """With readers on the advisory lock: take the row lock, then look at the advisory lock
        again (a writer may have taken it meanwhile)."""
        if not await self.take_row():
            return Hold(False, await self.row_holder())
        for _ in range(RECHECKS):
            if await self.try_advisory():  # the readers let go: an ordinary hold after all
                await self._let_go_of_row()
                return Hold(True)
            holders = await self.holders()
            if holders:
                writer = next((h for h in holders if h.writer), None)
                if writer is None:
                    return Hold(True, fallback=True)
                await self._let_go_of_row()
                return Hold(False, writer.pid)
        await self._let_go_of_row()
        return Hold(False)

    async def try_advisory(self) -> bool:
        self._advisory = bool(await self.con.fetchval("SELECT pg_try_advisory_lock($1)", self.key))
        return self._advisory

    async def holders(self) -> list[Holder]:
        rows = await self.con.fetch(_HOLDERS, self.key)
        return [Holder(r[0], r[1], r[2]) for r in rows]

    async def row_free(self) -> bool:
        """Whether no fallback syncer holds the account's row: locked and let go at once."""
        try:
            async with self.con.transaction():
                await self.con.execute(_LOCK_ROW, self.account)
        except asyncpg.LockNotAvailableError:
            return False
        return True

    async def take_row(self) -> bool:
        """Lock the account's row for the run: a transaction left open on a connection of its
        own (so the run's other statements commit as they go)."""
        stack = contextlib.AsyncExitStack()
        try:
            con = await stack.enter_async_context(loader.connection(self.engine))
            transaction = con.transaction()
            await transaction.start()
            stack.push_async_callback(transaction.rollback)
            # The transaction idles while the run works: a server-wide timeout would end it.
            await con.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            await con.execute(_LOCK_ROW, self.account)
        except asyncpg.LockNotAvailableError:
            await stack.aclose()
            return False
        except BaseException:
            await stack.aclose()
            raise
        self._row = stack
        return True

    async def row_holder(self) -> int | None:
        pid = await self.con.fetchval(_ROW_HOLDER, self.account)
        return int(pid) if pid is not None else None

    async def _let_go_of_row(self) -> None:
        if self._row is not None:
            row, self._row = self._row, None
            await row.aclose()


@contextlib.asynccontextmanager
async def held(
    engine: AsyncEngine, con: Connection, account: str, *, wait: bool = False
) -> AsyncIterator[Hold]:
    """The account for the block, if `Hold.acquired`; let go of at its end."""
    lock = AccountLock(engine, con, account)
    try:
        yield await lock.acquire(wait=wait)
    finally:
        await lock.release()


def _sessions(holders: list[Holder]) -> str:
    return ", ".join(f"pid {h.pid} (role {h.role})" for h in holders)
