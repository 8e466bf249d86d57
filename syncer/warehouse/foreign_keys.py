"""A first load into an empty warehouse checks its foreign keys once, at the end, not row by row.

A run that finds the warehouse empty drops the foreign keys and adds them back, each checked
against every row, before it records the run as over, whether it succeeded or failed (a run
cancelled at shutdown leaves that to the next run). The loader writes an order's parent and
children in one transaction and the merge deletes children itself, so the rows are as
consistent without the checks. The drop is all or nothing, in one transaction.

One run at a time defers them, holding an advisory lock (`LOCK_KEY`); every run that takes it
first adds back any key missing before it writes anything. A key whose rows break it is added
`NOT VALID` and logged with the statement that validates it. If the role does not own the
tables, a reader holds one past `LOCK_TIMEOUT`, or `sync_defer_foreign_keys` is off, the run
checks row by row. Why and what it saves: docs/decisions/0001-defer-foreign-keys-on-first-load.md.
"""

from __future__ import annotations

import zlib
from typing import Any

import asyncpg
from sqlalchemy import ForeignKeyConstraint

from syncer.logs import get_logger
from syncer.warehouse import schema

log = get_logger(__name__)

S = schema.SCHEMA
LOCK_KEY = zlib.crc32(b"scansource-syncer:foreign-keys") | (1 << 41)
LOCK_TIMEOUT = "2s"
Connection = Any  # asyncpg.Connection

Key = tuple[str, tuple[str, ...]]  # (table, its columns), as the schema declares them


def _declared() -> dict[Key, ForeignKeyConstraint]:
    return {
        (fk.table.name, tuple(fk.column_keys)): fk
        for table in schema.metadata.sorted_tables
        for fk in table.foreign_key_constraints
    }


DECLARED = _declared()

# Each foreign key of the schema in the warehouse: its name, columns and whether it is validated.
_PRESENT = f"""
SELECT c.conrelid::regclass::text, c.conname, c.convalidated,
       array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)
FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = '{S}'::regnamespace
"""


async def _present(con: Connection) -> dict[Key, tuple[str, bool]]:
    """The schema's foreign keys the warehouse has (and no other: a table of the user's own in
    this schema keeps its keys), with their names and whether they are validated."""
    rows = await con.fetch(_PRESENT)
    found = {(r[0].removeprefix(f"{S}."), tuple(r[3])): (r[1], r[2]) for r in rows}
    return {key: found[key] for key in DECLARED if key in found}


async def defer(con: Connection, *, drop: bool = True) -> bool:
    """At the start of a run, on a connection held for all of it: add back any key missing, then,
    if `drop` and the warehouse holds no order, drop them all (True: call `restore` at the end,
    or `release` if the run is cancelled). False when another run has them dropped, or they
    cannot be dropped."""
    if not await con.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
        return False  # another run is loading an empty warehouse; its checks come at its end
    deferred = False
    try:
        try:
            await repair(con)
            if drop and not await con.fetchval(_ANY_ORDER):
                deferred = await _drop(con)
        except asyncpg.PostgresError as exc:  # the run goes on, checked by the keys there are
            log.warning("foreign keys could not be added back or dropped", error=str(exc))
        return deferred
    finally:
        if not deferred:
            await release(con)


_ANY_ORDER = f"SELECT EXISTS (SELECT 1 FROM {S}.sales_orders)"
# Every load takes sales_orders before the child tables, and so do `_drop` and `repair`: a run of
# another account writing meanwhile waits for them, or they for it, never both at once.
_LOCK_ORDERS = f"LOCK TABLE {S}.sales_orders IN {{}} MODE"


async def _drop(con: Connection) -> bool:
    try:
        async with con.transaction():
            await con.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            await con.execute(_LOCK_ORDERS.format("ACCESS EXCLUSIVE"))
            if await con.fetchval(_ANY_ORDER):  # another account's first batch came first
                return False
            for (table, _), (name, _) in (await _present(con)).items():
                await con.execute(f'ALTER TABLE {S}.{table} DROP CONSTRAINT "{name}"')
    except (asyncpg.InsufficientPrivilegeError, asyncpg.LockNotAvailableError) as exc:
        log.info("foreign keys checked row by row: could not drop them", error=str(exc))
        return False
    return True


async def restore(con: Connection) -> None:
    """At the end of a run that deferred the checks: add the keys back, and let other runs go
    on."""
    try:
        await repair(con)
    finally:
        await release(con)


async def release(con: Connection) -> None:
    await con.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def repair(con: Connection) -> list[str]:
    """Add every foreign key of the schema the warehouse lacks, parents' first, each checked
    against every row as it is added. One whose rows break it is added NOT VALID (enforced on
    new rows) and logged; returns those keys' tables."""
    present = await _present(con)
    broken: list[str] = []
    for key, fk in DECLARED.items():
        if key in present:
            continue
        try:
            await _add(con, fk, valid=True)
        except asyncpg.ForeignKeyViolationError as exc:
            await _add(con, fk, valid=False)
            broken.append(fk.table.name)
            name = (await _present(con))[key][0]
            log.error(
                "foreign key added NOT VALID: rows break it",
                constraint=name,
                table=fk.table.name,
                error=str(exc.detail or exc),
                once_fixed=f"ALTER TABLE {S}.{fk.table.name} VALIDATE CONSTRAINT {name}",
            )
    return broken


async def _add(con: Connection, fk: ForeignKeyConstraint, *, valid: bool) -> None:
    """ALTER TABLE … ADD FOREIGN KEY, from the schema's declaration (Postgres names it as the
    migration's: the same table and columns give the same default name)."""
    referred = ", ".join(e.column.name for e in fk.elements)
    async with con.transaction():
        await con.execute(_LOCK_ORDERS.format("SHARE ROW EXCLUSIVE"))
        await con.execute(
            f"ALTER TABLE {S}.{fk.table.name} ADD FOREIGN KEY ({', '.join(fk.column_keys)}) "
            f"REFERENCES {S}.{fk.referred_table.name} ({referred}) "
            f"ON DELETE {fk.ondelete or 'NO ACTION'}{'' if valid else ' NOT VALID'}"
        )
