"""The read-only role, tried for real: log in as it, read everything, and fail to write anything.

Roles belong to the whole PostgreSQL cluster, not to the test database: every role made here has
a unique name and is dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.errors import ConfigError, DatabaseError
from syncer.warehouse import schema
from syncer.warehouse.grants import grant_readonly
from tests.integration.conftest import SimHarness
from tests.integration.test_cli import run
from tests.integration.views import sync_all

WRITES = [
    "INSERT INTO scansource.sync_state (account, stream, watermark) VALUES ('x', 'y', now())",
    "UPDATE scansource.sales_orders SET memo = 'changed'",
    "DELETE FROM scansource.sync_runs",
    "TRUNCATE scansource.sales_order_lines CASCADE",
    "CREATE TABLE scansource.mine (i int)",
    "CREATE VIEW scansource.mine AS SELECT 1 AS one",
    "ALTER TABLE scansource.sales_orders ADD COLUMN mine text",
    "DROP VIEW scansource.open_backorders",
    "COMMENT ON TABLE scansource.sales_orders IS 'mine'",
]


def plain(url: str, user: str | None = None) -> str:
    u = make_url(url).set(drivername="postgresql")
    if user is not None:
        u = u.set(username=user, password=None)
    return u.render_as_string(hide_password=False)


@pytest_asyncio.fixture(loop_scope="session")
async def admin(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    con = await asyncpg.connect(plain(database_url))
    yield con
    await con.close()


@pytest_asyncio.fixture(loop_scope="session")
async def new_role(admin: asyncpg.Connection) -> AsyncIterator[Callable[[str], str]]:
    """`new_role("bi")` → a unique role name; every such role is dropped at the end."""
    made: list[str] = []

    def make(prefix: str) -> str:
        made.append(f"{prefix}_{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield make
    for name in reversed(made):
        if await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name):
            quoted = await admin.fetchval("SELECT quote_ident($1)", name)
            await admin.execute(f"DROP OWNED BY {quoted}")
            await admin.execute(f"DROP ROLE {quoted}")


async def login_as(admin: asyncpg.Connection, database_url: str, role: str) -> asyncpg.Connection:
    quoted = await admin.fetchval("SELECT quote_ident($1)", role)
    await admin.execute(f"ALTER ROLE {quoted} LOGIN")
    return await asyncpg.connect(plain(database_url, role))


async def relations(admin: asyncpg.Connection) -> dict[str, int]:
    names = [
        r[0]
        for r in await admin.fetch(
            "SELECT relname FROM pg_class WHERE relnamespace = 'scansource'::regnamespace "
            "AND relkind IN ('r', 'v') ORDER BY 1"
        )
    ]
    return {n: await admin.fetchval(f"SELECT count(*) FROM scansource.{n}") for n in names}


async def test_the_role_reads_every_table_and_view_and_every_write_fails(
    harness: SimHarness,
    admin: asyncpg.Connection,
    database_url: str,
    new_role: Callable[[str], str],
) -> None:
    await sync_all(harness)
    role = new_role("bi")
    report = await grant_readonly(harness.engine, role)
    before = await relations(admin)
    assert report.created and report.tables + report.views == len(before)
    assert report.tables > len(schema.metadata.tables) and report.views >= 5
    assert before["sales_orders"] == 360 and before["serial_lookup"] > 1000

    con = await login_as(admin, database_url, role)
    try:
        for name, count in before.items():
            assert await con.fetchval(f"SELECT count(*) FROM scansource.{name}") == count
        # The role's own default makes every transaction read-only ...
        for sql in WRITES:
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await con.execute(sql)
        # ... and without it, its privileges still refuse every write.
        await con.execute("SET default_transaction_read_only = off")
        for sql in WRITES:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await con.execute(sql)
    finally:
        await con.close()
    assert await relations(admin) == before


async def test_tables_and_views_created_later_are_readable_and_not_writable(
    engine: AsyncEngine,
    admin: asyncpg.Connection,
    database_url: str,
    new_role: Callable[[str], str],
) -> None:
    role = new_role("bi")
    await grant_readonly(engine, role)
    # A later migration, run by the role that owns the schema.
    await admin.execute(
        "CREATE TABLE scansource.later_table (i int); INSERT INTO scansource.later_table VALUES (7)"
    )
    await admin.execute(
        "CREATE VIEW scansource.later_view AS SELECT i * 2 AS j FROM scansource.later_table"
    )
    con = await login_as(admin, database_url, role)
    try:
        assert await con.fetchval("SELECT i FROM scansource.later_table") == 7
        assert await con.fetchval("SELECT j FROM scansource.later_view") == 14
        await con.execute("SET default_transaction_read_only = off")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await con.execute("INSERT INTO scansource.later_table VALUES (8)")
    finally:
        await con.close()
        await admin.execute("DROP VIEW scansource.later_view; DROP TABLE scansource.later_table")


async def test_a_name_that_needs_quoting_is_quoted_and_an_injection_is_refused(
    engine: AsyncEngine,
    admin: asyncpg.Connection,
    new_role: Callable[[str], str],
) -> None:
    role = new_role("BI-Reader")  # capitals and a hyphen: only valid quoted
    await grant_readonly(engine, role)
    assert await admin.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", role) == 1
    assert await admin.fetchval(
        "SELECT has_table_privilege($1, 'scansource.sales_orders', 'SELECT')", role
    )

    evil = 'x"; DROP TABLE scansource.sync_runs; --'
    with pytest.raises(ConfigError):
        await grant_readonly(engine, evil)
    assert await admin.fetchval("SELECT to_regclass('scansource.sync_runs') IS NOT NULL")
    assert not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname LIKE 'x\"%'")


async def test_superusers_and_the_running_role_are_refused(
    engine: AsyncEngine, admin: asyncpg.Connection
) -> None:
    me = await admin.fetchval("SELECT current_user")
    with pytest.raises(DatabaseError, match=r"superuser|running this command"):
        await grant_readonly(engine, me)


async def test_direct_write_grants_are_revoked_but_writes_through_a_membership_refuse_it_all(
    engine: AsyncEngine, admin: asyncpg.Connection, new_role: Callable[[str], str]
) -> None:
    direct, writer, member = new_role("direct"), new_role("writer"), new_role("member")
    for name in (direct, writer, member):
        await admin.execute(f"CREATE ROLE {name} NOLOGIN")
    await admin.execute(f"GRANT INSERT, DELETE ON scansource.sync_state TO {direct}")
    await admin.execute(f"GRANT USAGE ON SCHEMA scansource TO {writer}")
    await admin.execute(f"GRANT INSERT ON scansource.sync_state TO {writer}")
    await admin.execute(f"GRANT {writer} TO {member}")

    report = await grant_readonly(engine, direct)  # its own write grants: taken away
    assert not report.created
    assert not await admin.fetchval(
        "SELECT has_table_privilege($1, 'scansource.sync_state', 'INSERT')", direct
    )
    with pytest.raises(DatabaseError, match="INSERT on sync_state"):
        await grant_readonly(engine, member)  # inherits INSERT: cannot be read-only
    assert not await admin.fetchval(  # and nothing was granted: one transaction
        "SELECT has_table_privilege($1, 'scansource.sales_orders', 'SELECT')", member
    )


async def test_granting_twice_is_harmless(
    engine: AsyncEngine, new_role: Callable[[str], str]
) -> None:
    role = new_role("bi")
    first = await grant_readonly(engine, role)
    second = await grant_readonly(engine, role)
    assert first.created and not second.created
    assert (second.tables, second.views) == (first.tables, first.views)


def test_the_command_creates_the_role_and_refuses_a_bad_name_in_one_line(
    engine: AsyncEngine, database_url: str, new_role: Callable[[str], str]
) -> None:
    role = new_role("cli")
    env = {"SYNCER_DATABASE_URL": database_url}

    done = run("db", "grant-readonly", role, env=env)
    bad = run("db", "grant-readonly", "bi; DROP ROLE postgres", env=env)

    assert done.returncode == 0, done.stderr
    assert f"role {role} created" in done.stdout and "write nothing" in done.stdout
    assert bad.returncode == 2  # a bad argument
    assert "Traceback" not in bad.stderr and "is not accepted" in bad.stderr
