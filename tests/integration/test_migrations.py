"""Migrations are the only way the schema is made: they go up, down, and match the schema."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.warehouse import database as db
from syncer.warehouse import schema

EXPECTED_TABLES = {t.name for t in schema.metadata.sorted_tables}


@pytest_asyncio.fixture(loop_scope="session")
async def empty_engine(admin_url: str) -> AsyncIterator[AsyncEngine]:
    name = f"syncer_mig_{uuid.uuid4().hex[:8]}"
    admin = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    con = await asyncpg.connect(admin)
    await con.execute(f'CREATE DATABASE "{name}"')
    eng = db.create_engine(
        make_url(admin_url).set(database=name).render_as_string(False), pool_size=1
    )
    try:
        yield eng
    finally:
        await eng.dispose()
        await con.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await con.close()


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'scansource' AND table_type = 'BASE TABLE' "
            "AND table_name <> 'alembic_version'"
        )
        return {r[0] for r in result}


async def test_upgrade_creates_every_table_and_downgrade_removes_them(
    empty_engine: AsyncEngine,
) -> None:
    assert await db.current_revision(empty_engine) is None
    await db.upgrade(empty_engine)
    assert await tables(empty_engine) == EXPECTED_TABLES
    assert await db.current_revision(empty_engine) == db.head_revision()
    await db.check_ready(empty_engine)  # raises when not current

    await db.downgrade(empty_engine, "base")
    assert await tables(empty_engine) == set()
    assert await db.current_revision(empty_engine) is None

    await db.upgrade(empty_engine)  # and back up again, from scratch
    assert await tables(empty_engine) == EXPECTED_TABLES


async def test_migrations_match_the_schema_module(engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        ctx = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, _p: type_ != "schema" or name == schema.SCHEMA,
                "compare_type": True,
                "version_table_schema": schema.SCHEMA,
            },
        )
        return list(compare_metadata(ctx, schema.metadata))

    async with engine.connect() as conn:
        diffs = await conn.run_sync(differences)
    assert diffs == []


async def test_children_have_cascading_foreign_keys_and_money_is_numeric(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        fks = await conn.exec_driver_sql(
            "SELECT conrelid::regclass::text, confdeltype::text FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = 'scansource'::regnamespace"
        )
        by_table = {r[0].removeprefix("scansource."): r[1] for r in fks}
        types = await conn.exec_driver_sql(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'scansource' AND column_name IN "
            "('total', 'price', 'ordered', 'weight', 'date_entered', 'shipped_date')"
        )
        column_types = {(r[0], r[1]): r[2] for r in types}
    assert set(by_table) == {t.name for t in schema.CHILD_TABLES} | {"sales_order_status_history"}
    assert set(by_table.values()) == {"c"}  # ON DELETE CASCADE everywhere
    assert column_types[("sales_orders", "total")] == "numeric"
    assert column_types[("sales_order_lines", "price")] == "numeric"
    assert column_types[("sales_order_lines", "ordered")] == "numeric"
    assert column_types[("delivery_parcels", "weight")] == "numeric"
    assert column_types[("sales_orders", "date_entered")] == "timestamp with time zone"
    assert column_types[("deliveries", "shipped_date")] == "date"


async def test_check_ready_names_the_missing_upgrade(empty_engine: AsyncEngine) -> None:
    from syncer.errors import DatabaseError

    try:
        await db.check_ready(empty_engine)
    except DatabaseError as exc:
        assert "syncer db upgrade" in str(exc)
    else:
        raise AssertionError("an unmigrated database passed check_ready")


BI_VIEWS = {"open_backorders", "shipments", "serial_lookup", "order_lead_times", "daily_volumes"}
NEW_INDEXES = {  # by 0002, beside the views
    "ix_sales_orders_date_entered",
    "ix_sales_order_lines_backordered",
    "ix_sales_order_line_serials_serial_number",
    "ix_sales_order_invoices_invoice_number",
    "ix_sales_order_tracking_numbers_tracking_number",
}
LATER_TABLES = {"sync_locks"}  # by 0006


async def test_downgrade_to_0001_drops_the_views_indexes_and_comments_and_upgrade_restores_them(
    empty_engine: AsyncEngine,
) -> None:
    async def catalog() -> tuple[set[str], set[str], int]:
        async with empty_engine.connect() as conn:
            views = {r[0] for r in await conn.exec_driver_sql(
                "SELECT table_name FROM information_schema.views WHERE table_schema = 'scansource'"
            )}  # fmt: skip
            indexes = {r[0] for r in await conn.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'scansource'"
            )}  # fmt: skip
            described = (await conn.exec_driver_sql(
                "SELECT count(*) FROM pg_description d JOIN pg_class c ON c.oid = d.objoid "
                "WHERE c.relnamespace = 'scansource'::regnamespace"
            )).scalar_one()  # fmt: skip
        return views, indexes, described

    await db.upgrade(empty_engine)
    views, indexes, described = await catalog()
    assert views == BI_VIEWS
    assert {"ix_sales_order_lines_backordered", "ix_sales_orders_date_entered"} <= indexes
    assert described > 200  # every table, view and column

    await db.downgrade(empty_engine, "0001")
    later_keys = {f"{t}_pkey" for t in LATER_TABLES}
    assert await catalog() == (set(), indexes - NEW_INDEXES - later_keys, 0)
    assert await tables(empty_engine) == EXPECTED_TABLES - LATER_TABLES

    await db.upgrade(empty_engine)
    assert await catalog() == (views, indexes, described)


async def test_raw_is_compressed_with_lz4_where_the_server_has_it(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        method = (
            await conn.exec_driver_sql(
                "SELECT attcompression FROM pg_attribute "
                "WHERE attrelid = 'scansource.sales_orders'::regclass AND attname = 'raw'"
            )
        ).scalar()
        try:  # a server built without lz4 refuses it as a setting too
            await conn.exec_driver_sql("SET LOCAL default_toast_compression = lz4")
            has_lz4 = True
        except DBAPIError:
            has_lz4 = False
        await conn.rollback()
    assert (method == b"l") == has_lz4  # a "char": l is lz4; otherwise the default (pglz)
