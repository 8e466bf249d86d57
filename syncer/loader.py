"""Set-based writes. One transaction per batch of orders: upsert the headers, record status
changes, replace the children (delete by order key, COPY the new rows), clear their failures.

asyncpg directly (through the engine's pool) because COPY is the fastest way into Postgres and
SQLAlchemy Core has no COPY. Statements are built from `syncer.schema`, never from input.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from syncer import schema
from syncer.rows import CHILD_COLUMNS, HEADER_COLUMNS, OrderRows

S = schema.SCHEMA
KEY = "customer_number, sales_order_number"
STAGE = "_load_orders"  # per-connection temp table, emptied at every commit

Connection = Any  # asyncpg.Connection (asyncpg ships no type hints)

_CREATE_STAGE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} "
    f"(LIKE {S}.sales_orders INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)

RAW_INDEX = HEADER_COLUMNS.index("raw")
_UPDATABLE = [c for c in HEADER_COLUMNS if c not in ("customer_number", "sales_order_number")]
_COLS = ", ".join(HEADER_COLUMNS)

# One statement per batch for everything but the COPYs, one snapshot: `prev` sees each order's
# status before `up` changes it; the history rows' foreign keys are checked at the end of the
# statement, after `up` inserted their orders. Children are deleted leaves first, so the
# cascades from their parents find nothing left to do.
#
# Existing rows are found by joining each table with the batch's keys as arrays, on both key
# columns: that is an index probe per order whatever the statistics say. (A join with the
# freshly filled staging table, or a filter `customer_number = $x`, is planned from statistics
# that lag behind a bulk load — "one customer, few rows" — and became a scan of all of the
# account's rows in every batch: a cost growing with the warehouse, not with the batch.)
_KEYS = "unnest($2::text[], $3::text[]) AS k(customer_number, sales_order_number)"
_DELETES = [
    f"""del_{t.name} AS (
    DELETE FROM {S}.{t.name} t USING {_KEYS}
    WHERE t.customer_number = k.customer_number AND t.sales_order_number = k.sales_order_number
)"""
    for t in reversed(schema.CHILD_TABLES)
]
_WRITE_ORDERS = f"""
WITH prev AS (
    SELECT o.customer_number, o.sales_order_number, o.status
    FROM {S}.sales_orders o JOIN {_KEYS} USING ({KEY})
), up AS (
    INSERT INTO {S}.sales_orders ({_COLS})
    SELECT {_COLS} FROM {STAGE}
    ON CONFLICT ({KEY}) DO UPDATE SET
        {", ".join(f"{c} = excluded.{c}" for c in _UPDATABLE)}, synced_at = now()
    RETURNING customer_number, sales_order_number, status, last_changed
), {", ".join(_DELETES)}, cleared AS (
    DELETE FROM {S}.sync_failures f USING {_KEYS}
    WHERE f.account = k.customer_number AND f.sales_order_number = k.sales_order_number
)
INSERT INTO {S}.sales_order_status_history
    (customer_number, sales_order_number, observed_at, status, previous_status, last_changed)
SELECT up.customer_number, up.sales_order_number, $1, up.status, prev.status, up.last_changed
FROM up LEFT JOIN prev USING ({KEY})
WHERE up.status IS NOT NULL AND up.status IS DISTINCT FROM prev.status
ON CONFLICT DO NOTHING
"""

_STORED = f"""
SELECT sales_order_number, last_changed, detail_fetched_at, content_hash
FROM {S}.sales_orders
WHERE customer_number = $1 AND sales_order_number = ANY($2::text[])
"""

_TOUCH = f"""
UPDATE {S}.sales_orders o
SET last_changed = u.last_changed, date_entered = u.date_entered,
    detail_fetched_at = u.fetched_at
FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[])
     AS u(sales_order_number, last_changed, date_entered, fetched_at)
WHERE o.customer_number = $1 AND o.sales_order_number = u.sales_order_number
"""

_RECORD_FAILURE = f"""
INSERT INTO {S}.sync_failures (account, sales_order_number, stage, reason, payload)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (account, sales_order_number) DO UPDATE SET
    stage = excluded.stage, reason = excluded.reason, payload = excluded.payload,
    attempts = {S}.sync_failures.attempts + 1, last_failed_at = now()
"""


@dataclass(frozen=True, slots=True)
class Stored:
    last_changed: datetime | None
    detail_fetched_at: datetime
    content_hash: str


@dataclass(frozen=True, slots=True)
class Touch:
    """An order fetched again whose content had not changed: only its stamps move."""

    sales_order_number: str
    last_changed: datetime | None
    date_entered: datetime | None
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class Failure:
    sales_order_number: str
    stage: str  # list | fetch | parse | load
    reason: str
    payload: str | None = None


@contextlib.asynccontextmanager
async def connection(engine: AsyncEngine) -> AsyncIterator[Connection]:
    """An asyncpg connection from the engine's pool, returned to it afterwards."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        yield raw.driver_connection


async def stored(con: Connection, account: str, order_numbers: Sequence[str]) -> dict[str, Stored]:
    rows = await con.fetch(_STORED, account, list(order_numbers))
    return {r[0]: Stored(r[1], r[2], r[3]) for r in rows}


async def load_batch(con: Connection, batch: Sequence[OrderRows], observed_at: datetime) -> None:
    """Write a batch of orders in one transaction: all of them, or none."""
    async with con.transaction():
        await con.execute(_CREATE_STAGE)
        await con.copy_records_to_table(
            STAGE, records=[o.header for o in batch], columns=HEADER_COLUMNS
        )
        await con.execute(
            _WRITE_ORDERS,
            observed_at,
            [o.customer_number for o in batch],
            [o.sales_order_number for o in batch],
        )
        for table in schema.CHILD_TABLES:
            records = [row for o in batch for row in o.children[table.name]]
            if records:
                await con.copy_records_to_table(
                    table.name, schema_name=S, records=records, columns=CHILD_COLUMNS[table.name]
                )


async def touch(con: Connection, account: str, touches: Sequence[Touch]) -> None:
    if not touches:
        return
    await con.execute(
        _TOUCH,
        account,
        [t.sales_order_number for t in touches],
        [t.last_changed for t in touches],
        [t.date_entered for t in touches],
        [t.fetched_at for t in touches],
    )
    await clear_failures(con, account, [t.sales_order_number for t in touches])


async def clear_failures(con: Connection, account: str, order_numbers: Sequence[str]) -> None:
    await con.execute(
        f"DELETE FROM {S}.sync_failures "
        "WHERE account = $1 AND sales_order_number = ANY($2::text[])",
        account,
        list(order_numbers),
    )


async def record_failures(con: Connection, account: str, failures: Sequence[Failure]) -> None:
    if failures:
        await con.executemany(
            _RECORD_FAILURE,
            [
                (account, f.sales_order_number, f.stage, _clean(f.reason), _clean(f.payload))
                for f in failures
            ],
        )


def _clean(text: str | None, limit: int = 1_000_000) -> str | None:
    """Postgres text holds no NUL, and a failure row should not be a megabyte of noise."""
    return None if text is None else text.replace("\x00", "")[:limit]


async def failed_orders(con: Connection, account: str) -> list[str]:
    rows = await con.fetch(
        f"SELECT sales_order_number FROM {S}.sync_failures WHERE account = $1 "
        "ORDER BY sales_order_number",
        account,
    )
    return [r[0] for r in rows]
