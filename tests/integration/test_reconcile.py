"""Replacing an order's children: whatever vanished from the payload vanishes from every table,
in the same transaction as the header's upsert (the loader, on a real Postgres)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.api.payload import decode, parse_list_row
from syncer.sim import FakeClock, SimConfig, Simulator
from syncer.warehouse import loader, merge, schema
from syncer.warehouse.rows import CHILD_COLUMNS, HEADER_COLUMNS, build_rows

AT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LISTED = {"Status": "Partially Shipped", "DateEntered": "11/1/2026 9:00 AM",
          "LastChanged": "11/20/2026 10:00 AM"}  # fmt: skip


def a_rich_order() -> tuple[str, dict[str, Any]]:
    """A simulated order with several lines, deliveries, parcels and serials."""
    sim = Simulator(SimConfig(orders_per_account=200), clock=FakeClock(AT))
    customer = sim.config.subscriptions[0].customer_numbers[0]
    for number in sim.order_numbers(customer):
        payload = orjson.loads(sim.detail_bytes(sim.find(number), False))  # type: ignore[arg-type]
        serials = sum(
            len(li["LineItemDetails"] or []) for d in payload["Deliveries"] for li in d["LineItems"]
        )
        if len(payload["Deliveries"]) >= 2 and len(payload["SalesOrderLines"]) >= 3 and serials:
            return customer, payload
    raise AssertionError("the simulator made no order with 2 deliveries and 3 lines")


def incompressible(n: int) -> str:
    import random
    import string

    rng = random.Random(n)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


async def load(engine: AsyncEngine, customer: str, payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload)
    listed = parse_list_row({"OrderNumber": payload["SalesOrderNumber"], **LISTED})
    rows = build_rows(customer, listed, decode(body), body, AT)
    async with loader.connection(engine) as con:
        await loader.load_batch(con, [rows], AT)


async def children(engine: AsyncEngine, order: str) -> dict[str, set[tuple[Any, ...]]]:
    out = {}
    async with engine.connect() as conn:
        for table in schema.CHILD_TABLES:
            cols = ", ".join(CHILD_COLUMNS[table.name])
            result = await conn.exec_driver_sql(
                f"SELECT {cols} FROM {schema.SCHEMA}.{table.name} WHERE sales_order_number = $1",
                (order,),
            )
            out[table.name] = {tuple(r) for r in result}
    return out


def expected(customer: str, payload: dict[str, Any]) -> dict[str, set[tuple[Any, ...]]]:
    listed = parse_list_row({"OrderNumber": payload["SalesOrderNumber"], **LISTED})
    body = orjson.dumps(payload)
    rows = build_rows(customer, listed, decode(body), body, AT)
    return {t: set(r) for t, r in rows.children.items()}


async def test_every_kind_of_child_that_vanishes_is_removed(clean_engine: AsyncEngine) -> None:
    customer, full = a_rich_order()
    order = full["SalesOrderNumber"]
    await load(clean_engine, customer, full)
    assert await children(clean_engine, order) == expected(customer, full)

    smaller = copy.deepcopy(full)
    smaller["SalesOrderLines"].pop()  # a line (and its schedules, serials)
    smaller["SalesOrderLines"][0]["SerialNumbers"] = smaller["SalesOrderLines"][0]["SerialNumbers"][
        1:
    ]
    smaller["SalesOrderLines"][0]["ScheduleLines"] = []
    smaller["Deliveries"].pop()  # a delivery (its parcels, lines, serials)
    first = smaller["Deliveries"][0]
    first["Parcels"] = first["Parcels"][:1]
    first["LineItems"][0]["LineItemDetails"] = first["LineItems"][0]["LineItemDetails"][1:]
    first["LineItems"] = first["LineItems"][:1]
    smaller["InvoiceNumbers"] = smaller["InvoiceNumbers"][:1]
    smaller["TrackingNumbers"] = []
    await load(clean_engine, customer, smaller)

    now = await children(clean_engine, order)
    assert now == expected(customer, smaller)
    before = expected(customer, full)
    for table in ("sales_order_lines", "deliveries", "delivery_parcels", "delivery_lines",
                  "delivery_line_serials", "sales_order_tracking_numbers"):  # fmt: skip
        assert len(now[table]) < len(before[table]), table


async def test_an_order_that_loses_everything_keeps_only_its_header(
    clean_engine: AsyncEngine,
) -> None:
    customer, full = a_rich_order()
    await load(clean_engine, customer, full)
    empty = {k: v for k, v in full.items() if k not in ("SalesOrderLines", "Deliveries")}
    empty["InvoiceNumbers"] = None
    empty["TrackingNumbers"] = None
    await load(clean_engine, customer, empty)
    assert all(
        not rows for rows in (await children(clean_engine, full["SalesOrderNumber"])).values()
    )
    async with clean_engine.connect() as conn:
        n = (
            await conn.exec_driver_sql(f"SELECT count(*) FROM {schema.SCHEMA}.sales_orders")
        ).scalar()
    assert n == 1


async def test_an_order_twice_in_a_batch_is_written_once_as_its_later_fetch(
    clean_engine: AsyncEngine,
) -> None:
    """An order can be listed, so fetched, twice in one run (it moved ahead of the list's
    cursor between two pages), and both fetches can land in one batch: the later one is
    written, whether the warehouse held the order or not."""
    customer, v1 = a_rich_order()
    v2, v3 = copy.deepcopy(v1), copy.deepcopy(v1)
    v2["SalesOrderLines"][0]["Shipped"] += 1
    v3["Deliveries"][0]["Parcels"].pop()

    def rows(payload: dict[str, Any]) -> Any:
        listed = parse_list_row({"OrderNumber": payload["SalesOrderNumber"], **LISTED})
        body = orjson.dumps(payload)
        return build_rows(customer, listed, decode(body), body, AT)

    order = v1["SalesOrderNumber"]
    for batch, later in (([rows(v1), rows(v2)], v2), ([rows(v3), rows(v1)], v1)):  # new, held
        async with loader.connection(clean_engine) as con:
            await loader.load_batch(con, batch, AT)
        assert await children(clean_engine, order) == expected(customer, later)


async def test_a_failing_batch_leaves_the_previous_version_whole(clean_engine: AsyncEngine) -> None:
    """Atomicity: an order is never half-written, even when its new version fails mid-load."""
    customer, full = a_rich_order()
    await load(clean_engine, customer, full)
    broken = copy.deepcopy(full)
    broken["SalesOrderLines"].pop(0)  # the new version loses a line: deletes run first...
    # ...then a tracking number too long for its index fails the COPY of the parcels
    broken["Deliveries"][-1]["Parcels"][0]["TrackingNumber"] = incompressible(3000)
    try:
        await load(clean_engine, customer, broken)
    except asyncpg.PostgresError as exc:
        assert exc.sqlstate == "54000"  # program_limit_exceeded: index row size
    else:
        raise AssertionError("Postgres indexed a 3,000-byte tracking number")
    assert await children(clean_engine, full["SalesOrderNumber"]) == expected(customer, full)


async def physical(engine: AsyncEngine, order: str) -> dict[str, dict[tuple[Any, ...], str]]:
    """Each child row (by value) with its physical place: a rewritten row moves."""
    out = {}
    async with engine.connect() as conn:
        for table in schema.CHILD_TABLES:
            cols = ", ".join(CHILD_COLUMNS[table.name])
            result = await conn.exec_driver_sql(
                f"SELECT ctid::text, {cols} FROM {schema.SCHEMA}.{table.name} "
                "WHERE sales_order_number = $1",
                (order,),
            )
            out[table.name] = {tuple(r[1:]): r[0] for r in result}
    return out


async def test_a_changed_order_rewrites_only_the_rows_that_differ(
    clean_engine: AsyncEngine,
) -> None:
    customer, full = a_rich_order()
    order = full["SalesOrderNumber"]
    await load(clean_engine, customer, full)
    before = await physical(clean_engine, order)

    changed = copy.deepcopy(full)
    changed["SalesOrderLines"][0]["Shipped"] += 1  # one line's quantity
    changed["Deliveries"][0]["Parcels"].pop()  # one parcel gone
    await load(clean_engine, customer, changed)

    after = await physical(clean_engine, order)
    assert await children(clean_engine, order) == expected(customer, changed)
    moved = {t: [r for r in after[t] if before[t].get(r) != after[t][r]] for t in after}
    assert [len(rows) for t, rows in moved.items() if t == "sales_order_lines"] == [1]
    assert all(not rows for t, rows in moved.items() if t != "sales_order_lines"), moved
    assert len(after["delivery_parcels"]) == len(before["delivery_parcels"]) - 1


async def test_raw_stays_compressed_with_lz4_when_an_order_is_rewritten(
    clean_engine: AsyncEngine,
) -> None:
    customer, full = a_rich_order()
    full["Memo"] = incompressible(200) + " " * 3000  # long enough to be compressed
    await load(clean_engine, customer, full)
    full["Memo"] = "changed " + full["Memo"]
    await load(clean_engine, customer, full)  # staged and upserted this time
    async with clean_engine.connect() as conn:
        method = (
            await conn.exec_driver_sql(
                f"SELECT pg_column_compression(raw) FROM {schema.SCHEMA}.sales_orders"
            )
        ).scalar()
        default = (
            await conn.exec_driver_sql(
                "SELECT attcompression FROM pg_attribute "
                f"WHERE attrelid = '{schema.SCHEMA}.sales_orders'::regclass AND attname = 'raw'"
            )
        ).scalar()
    assert method == ("lz4" if default == b"l" else "pglz")


class _RolledBack(Exception):
    pass


def _staging_reads(node: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """(staging table, rows read from it over all loops) for every node of a JSON plan: rows
    a scan returned or filtered out, and rows a Materialize or Memoize above it gave again."""
    loops = node["Actual Loops"]
    read = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * loops
    if str(node.get("Relation Name", "")).startswith("_load_"):
        yield node["Relation Name"], read
    elif node["Node Type"] in ("Materialize", "Memoize"):
        for table in _staging_tables(node):
            yield table, read
    for child in node.get("Plans", []):
        yield from _staging_reads(child)


def _staging_tables(node: dict[str, Any]) -> set[str]:
    tables = {str(node.get("Relation Name", ""))} & {merge.staging(t) for t in schema.CHILD_TABLES}
    for child in node.get("Plans", []):
        tables |= _staging_tables(child)
    return tables


async def test_a_big_order_is_merged_without_reading_staging_once_per_held_row(
    clean_engine: AsyncEngine,
) -> None:
    """The planner guesses about one held row per order. Without an index on staging it looked
    for each held row's staged twin in a scan of staging: 10,000 lines merged onto 10,000 took
    5.4 s, quadratic in the order's size. Each staged row must be read a bounded number of
    times, whatever the order's size."""
    customer, full = a_rich_order()
    line = full["SalesOrderLines"][0]
    big = {**full, "Deliveries": [], "SalesOrderLines": [
        {**line, "LineNumber": 10 * (i + 1)} for i in range(2000)
    ]}  # fmt: skip
    await load(clean_engine, customer, big)
    big["Memo"] = "changed"
    listed = parse_list_row({"OrderNumber": big["SalesOrderNumber"], **LISTED})
    body = orjson.dumps(big)
    rows = build_rows(customer, listed, decode(body), body, AT)
    staged: dict[str, int] = {}
    async with loader.connection(clean_engine) as con:
        try:
            async with con.transaction():  # as load_batch stages a held order, then rolled back
                await con.execute(loader._PLANNER)
                await con.execute(merge.CREATE_STAGING)
                await con.copy_records_to_table(
                    merge.STAGE, records=[rows.header], columns=HEADER_COLUMNS
                )
                for table in schema.CHILD_TABLES:
                    records = rows.children[table.name]
                    staged[merge.staging(table)] = len(records)
                    await con.copy_records_to_table(
                        merge.staging(table), records=records, columns=CHILD_COLUMNS[table.name]
                    )
                # The engine's connections decode json (SQLAlchemy's codec).
                [plan] = await con.fetchval(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + merge.MERGE_CHILDREN,
                    [customer], [big["SalesOrderNumber"]],
                )  # fmt: skip
                raise _RolledBack
        except _RolledBack:
            pass
    assert staged[merge.staging(schema.sales_order_lines)] == 2000
    reads = list(_staging_reads(plan["Plan"]))
    assert reads and all(n <= 3 * max(staged[table], 1) for table, n in reads), reads
