"""Set-based writes. One transaction per batch of orders: upsert the headers, record status
changes, write the children (COPY for new orders, a merge for known ones), clear failures.

asyncpg directly (through the engine's pool) because COPY is the fastest way into Postgres and
SQLAlchemy Core has no COPY. Statements are built from `syncer.warehouse.schema`, never from input.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.warehouse import ledger, merge, schema
from syncer.warehouse.rows import CHILD_COLUMNS, HEADER_COLUMNS, OrderRows

S = schema.SCHEMA
KEY = "customer_number, sales_order_number"
STAGE = merge.STAGE

Connection = Any  # asyncpg.Connection (asyncpg ships no type hints)


RAW_INDEX = HEADER_COLUMNS.index("raw")
_UPDATABLE = [c for c in HEADER_COLUMNS if c not in ("customer_number", "sales_order_number")]
_COLS = ", ".join(HEADER_COLUMNS)

# Existing rows are found by joining each table with the batch's keys as arrays, on both key
# columns: that is an index probe per order whatever the statistics say. (A join with the
# freshly filled staging table, or a filter `customer_number = $x`, is planned from statistics
# that lag behind a bulk load — "one customer, few rows" — and became a scan of all of the
# account's rows in every batch: a cost growing with the warehouse, not with the batch.)
_KEYS = "unnest($1::text[], $2::text[]) AS k(customer_number, sales_order_number)"

# Which of the batch's orders the warehouse holds; their failures are cleared at the same time.
_HELD_ORDERS = f"""
WITH {ledger.cleared(_KEYS)}
SELECT o.customer_number, o.sales_order_number FROM {S}.sales_orders o JOIN {_KEYS} USING ({KEY})
"""

# Orders the warehouse holds, staged: one statement, one snapshot: `prev` sees each order's
# status before `up` changes it; the history rows' foreign keys are checked at the end of the
# statement, after `up` wrote their orders.
_UPSERT_KNOWN = f"""
WITH prev AS (
    SELECT o.customer_number, o.sales_order_number, o.status
    FROM {S}.sales_orders o JOIN {_KEYS} USING ({KEY})
), up AS (
    INSERT INTO {S}.sales_orders ({_COLS})
    SELECT {_COLS} FROM {STAGE}
    ON CONFLICT ({KEY}) DO UPDATE SET
        {", ".join(f"{c} = excluded.{c}" for c in _UPDATABLE)}, synced_at = now()
    RETURNING customer_number, sales_order_number, status, last_changed
)
INSERT INTO {S}.sales_order_status_history
    (customer_number, sales_order_number, observed_at, status, previous_status, last_changed)
SELECT up.customer_number, up.sales_order_number, $3, up.status, prev.status, up.last_changed
FROM up LEFT JOIN prev USING ({KEY})
WHERE up.status IS NOT NULL AND up.status IS DISTINCT FROM prev.status
ON CONFLICT DO NOTHING
"""
HISTORY = schema.sales_order_status_history.name
HISTORY_COLUMNS = (
    "customer_number", "sales_order_number", "observed_at", "status", "previous_status",
    "last_changed",
)  # fmt: skip
_LAST_CHANGED = HEADER_COLUMNS.index("last_changed")


def first_statuses(new: Sequence[OrderRows], observed_at: datetime) -> list[tuple[Any, ...]]:
    """The status history's first row of each order new to the warehouse (HISTORY_COLUMNS)."""
    return [
        (o.customer_number, o.sales_order_number, observed_at, o.status, None,
         o.header[_LAST_CHANGED])
        for o in new
        if o.status is not None
    ]  # fmt: skip


# Foreign-key check plans are cached per connection and go stale while a bulk load grows the
# tables (a plan made on a nearly empty table scans the whole parent later). So the sync
# ANALYZEs the key columns, from a small sample, each time the tables have doubled; autovacuum
# still does the full ANALYZE. docs/decisions/0013-analyze-during-bulk-loads.md
_ANALYZE_TARGET = "SET LOCAL default_statistics_target = 10"
_PLANNER = "SET LOCAL random_page_cost = 1.1"
ANALYZE_FROM = 500  # orders loaded before the first ANALYZE of a run into a small warehouse
_ANALYZE = "ANALYZE " + ", ".join(
    f"{S}.{t.name} ({', '.join(c.name for c in t.primary_key.columns)})" for t in schema.DATA_TABLES
)
_RELTUPLES = (
    f"SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = '{S}.sales_orders'::regclass"
)

_STORED = f"""
SELECT o.sales_order_number, o.last_changed, o.detail_fetched_at, o.content_hash
FROM {S}.sales_orders o JOIN {_KEYS} USING ({KEY})
"""

_TOUCH = f"""
UPDATE {S}.sales_orders o
SET last_changed = u.last_changed, date_entered = u.date_entered,
    detail_fetched_at = u.fetched_at
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[])
     AS u(customer_number, sales_order_number, last_changed, date_entered, fetched_at)
WHERE o.customer_number = u.customer_number AND o.sales_order_number = u.sales_order_number
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


@contextlib.asynccontextmanager
async def connection(engine: AsyncEngine) -> AsyncIterator[Connection]:
    """An asyncpg connection from the engine's pool, returned to it afterwards."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        yield raw.driver_connection


async def stored(con: Connection, account: str, order_numbers: Sequence[str]) -> dict[str, Stored]:
    rows = await con.fetch(_STORED, [account] * len(order_numbers), list(order_numbers))
    return {r[0]: Stored(r[1], r[2], r[3]) for r in rows}


async def load_batch(con: Connection, batch: Sequence[OrderRows], observed_at: datetime) -> None:
    """Write a batch of orders in one transaction: all of them, or none.

    An order new to the warehouse is COPYed straight into the tables (header, first status,
    children). One it holds is staged: its header upserted with its status change, its
    children merged (`syncer.warehouse.merge`), so that rows which stay the same cost nothing.
    """
    # In key order, so that each table's index inserts stay on the same pages
    # (docs/decisions/0002-staging-merge-for-known-orders.md).
    # Each order once, as last fetched: an order listed twice in a run (it moved ahead of the
    # list's cursor) can be fetched twice into one batch, and would be COPYed twice (a unique
    # violation) or upserted twice in one statement (a cardinality violation, which ended the
    # run).
    latest = {(o.customer_number, o.sales_order_number): o for o in batch}
    batch = sorted(latest.values(), key=attrgetter("customer_number", "sales_order_number"))
    keys = ([o.customer_number for o in batch], [o.sales_order_number for o in batch])
    async with con.transaction():
        await con.execute(_PLANNER)
        held = {(r[0], r[1]) for r in await con.fetch(_HELD_ORDERS, *keys)}
        known = [o for o in batch if (o.customer_number, o.sales_order_number) in held]
        new = [o for o in batch if (o.customer_number, o.sales_order_number) not in held]
        if new:
            await _copy(con, "sales_orders", [o.header for o in new], HEADER_COLUMNS)
            await _copy(con, HISTORY, first_statuses(new, observed_at), HISTORY_COLUMNS)
        if known:
            await con.execute(merge.CREATE_STAGING)
            await con.copy_records_to_table(
                STAGE, records=[o.header for o in known], columns=HEADER_COLUMNS
            )
            known_keys = ([o.customer_number for o in known], [o.sales_order_number for o in known])
            await con.execute(_UPSERT_KNOWN, *known_keys, observed_at)
        for table in schema.CHILD_TABLES:
            columns = CHILD_COLUMNS[table.name]
            await _copy(con, table.name, [r for o in new for r in o.children[table.name]], columns)
            records = [row for o in known for row in o.children[table.name]]
            if records:
                await con.copy_records_to_table(
                    merge.staging(table), records=records, columns=columns
                )
        if known:
            await con.execute(merge.MERGE_CHILDREN, *known_keys)


async def _copy(
    con: Connection, table: str, records: list[tuple[Any, ...]], columns: Sequence[str]
) -> None:
    if records:
        await con.copy_records_to_table(table, schema_name=S, records=records, columns=columns)


async def held_orders(con: Connection) -> int:
    """The orders the warehouse held at its tables' last ANALYZE (an estimate, 0 if never)."""
    return int(await con.fetchval(_RELTUPLES))


async def analyze(con: Connection) -> None:
    # In a transaction for SET LOCAL: the tables' ANALYZE locks are held to its end (~0.05 s).
    async with con.transaction():
        await con.execute(_ANALYZE_TARGET)
        await con.execute(_ANALYZE)


async def touch(con: Connection, account: str, touches: Sequence[Touch]) -> None:
    if not touches:
        return
    await con.execute(
        _TOUCH,
        [account] * len(touches),
        [t.sales_order_number for t in touches],
        [t.last_changed for t in touches],
        [t.date_entered for t in touches],
        [t.fetched_at for t in touches],
    )
    await ledger.clear_failures(con, account, [t.sales_order_number for t in touches])
