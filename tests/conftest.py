"""Test fixtures: a real Postgres (never a mock), a fresh database per test session.

Which server: SYNCER_TEST_DATABASE_URL if set; else the local server on 127.0.0.1:5432 if it
answers; else an embedded Postgres from the pgserver wheel in a temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.warehouse import database as db
from syncer.warehouse import schema
from tests.chaos import summary

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _answers(url: str) -> bool:
    async def probe() -> bool:
        try:
            con = await asyncpg.connect(url, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await con.close()
        return True

    return asyncio.run(probe())


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    """A URL with rights to create databases."""
    explicit = os.environ.get("SYNCER_TEST_DATABASE_URL")
    if explicit:
        yield explicit
        return
    if _answers(LOCAL):
        yield LOCAL
        return
    import pgserver

    with tempfile.TemporaryDirectory(prefix="syncer-test-pg-") as tmp:
        server = pgserver.get_server(tmp, cleanup_mode="delete")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def fresh_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the admin_url's server (its URL), dropped when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _plain(admin_url)

    async def run(sql: str) -> None:
        con = await asyncpg.connect(admin)
        try:
            await con.execute(sql)
        finally:
            await con.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[str]:
    """A fresh database for this test session, dropped at the end."""
    with fresh_database(admin_url, "syncer_test") as url:
        yield url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = db.create_engine(database_url, pool_size=5)
    await db.upgrade(eng)
    yield eng
    await eng.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def clean_engine(engine: AsyncEngine) -> AsyncEngine:
    """The migrated engine with every warehouse table emptied."""
    tables = ", ".join(f"{schema.SCHEMA}.{t.name}" for t in schema.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return engine


# The chaos suite's summary (tests/chaos/summary.py), printed at the end of the session. Under
# xdist each worker counts its own figures and hands them to the controller, which prints them.


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker
        workeroutput["chaos_figures"] = dict(summary.figures)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    summary.figures.update(getattr(node, "workeroutput", {}).get("chaos_figures", {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not summary.figures:
        return
    f = summary.figures
    terminalreporter.section("chaos summary")
    version = "long" if summary.long_run() else "short"
    faults = ", ".join(
        f"{k.removeprefix('fault:')} {v}" for k, v in sorted(f.items()) if k.startswith("fault:")
    )
    lines = [
        f"version: {version}",
        f"kills survived: {f['kills']}",
        f"faults injected: {faults or 'none'}",
        f"payloads tried: {f['payloads']} (failed as expected: {f['payloads_failed']}, "
        f"loaded: {f['payloads_loaded']})",
        f"concurrent processes: {f['processes']}",
        f"database outages survived: {f['outages']}",
        f"rows compared: {f['rows_compared']:,}",
        f"mismatches: {f['mismatches']}",
    ]
    for line in lines:
        terminalreporter.write_line(line)
