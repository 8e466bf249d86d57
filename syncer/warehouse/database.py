"""The database: engine creation, the demo's embedded server, and migrations (Alembic)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolResetState

from alembic import command
from syncer.errors import ConfigError, DatabaseError
from syncer.logs import get_logger
from syncer.resources import shipped
from syncer.warehouse import numeric
from syncer.warehouse.schema import SCHEMA

log = get_logger(__name__)


def async_url(url: str) -> URL:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and drive it with asyncpg."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("database_url is not a valid database URL") from None
    if parsed.get_backend_name() not in ("postgres", "postgresql"):
        raise ConfigError(f"database_url must be a PostgreSQL URL, not {parsed.get_backend_name()}")
    return parsed.set(drivername="postgresql+asyncpg")


def create_engine(url: str, *, pool_size: int = 5, max_overflow: int | None = None) -> AsyncEngine:
    """`pool_size` connections are kept open; up to `max_overflow` more (default: as many) are
    opened when needed and closed when returned."""
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=True,
        # Our statements are few and fixed; asyncpg's per-connection statement cache is enough.
        connect_args={"server_settings": {"application_name": "scansource-syncer"}},
    )
    event.listen(engine.sync_engine, "connect", _on_connect)
    event.listen(engine.sync_engine, "reset", _on_reset)
    return engine


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Our numeric codec on every connection: docs/decisions/0003-numeric-codec.md
    dbapi_connection.run_async(numeric.register)


def _on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    """Return every connection to the pool as a new one: no transaction, no advisory lock.

    The pool's own reset rolls back only the transactions SQLAlchemy began, but the loader, the
    locks and the status work on the asyncpg connection underneath. A task cancelled while its
    `transaction()` sent BEGIN leaves asyncpg believing that transaction is still the current
    one: the next user's `transaction()` became a SAVEPOINT inside it, and the connection idled
    in a transaction that held the rows it wrote (`sync_locks`) until the process ended.
    asyncpg's own reset (what its pools do) rolls back, forgets the transaction and lets go of
    every advisory lock. A connection that cannot be reset (the server went away) is closed:
    the pool's pre-ping replaces it before its next use, as it does any broken connection.
    """
    if not state.asyncio_safe or state.terminate_only:
        return  # collected by the garbage collector, or detached: closed, not reused
    dbapi_connection.rollback()  # SQLAlchemy's own transaction, if any, as the pool would
    dbapi_connection.run_async(_reset)


async def _reset(con: asyncpg.Connection) -> None:
    if con.is_closed():
        return
    try:
        if con.is_in_transaction():
            # Left by a task cancelled while it ended its transaction: nobody will end it now.
            # Rolled back here, so that asyncpg's reset does not report it as an error.
            await con.execute("ROLLBACK")
        await con.reset()
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        log.debug("connection not reset: closed", error=describe_db_error(exc))
        con.terminate()


def embedded_postgres(data_dir: Path) -> contextlib.AbstractContextManager[str]:
    """A real Postgres from the pgserver wheel (the `demo` extra), kept in data_dir."""
    try:
        import pgserver
    except ImportError:
        raise ConfigError(
            "no database configured (set SYNCER_DATABASE_URL), and no embedded Postgres: "
            "install the demo extra (pip install 'scansource-syncer[demo]')"
        ) from None
    return _serve(pgserver, data_dir)


@contextlib.contextmanager
def _serve(pgserver: Any, data_dir: Path) -> Iterator[str]:
    # pgserver's platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI): harmless.
    warnings.filterwarnings("ignore", module="platformdirs")
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir.resolve(), cleanup_mode="stop")
    try:
        uri = server.get_uri()
        yield str(make_url(uri).set(drivername="postgresql+asyncpg"))
    finally:
        server.cleanup()


def migrations_dir() -> Path:
    """The Alembic scripts shipped in the package (the repository's alembic/ folder)."""
    path = shipped("migrations")
    if not (path / "env.py").is_file() or not any((path / "versions").glob("*.py")):
        raise DatabaseError(
            f"this installation has no migrations in {path}: reinstall scansource-syncer"
        )
    return path


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if url:
        cfg.set_main_option("sqlalchemy.url", str(async_url(url)).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # migrations_dir() found revision files, so this is a broken chain
        raise DatabaseError(f"no head revision among the migrations in {migrations_dir()}")
    return head


def _with_connection(fn: Any) -> Any:
    def run(connection: Connection, *args: Any) -> Any:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        return fn(cfg, *args)

    return run


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_with_connection(command.upgrade), revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_with_connection(command.downgrade), revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    def current(connection: Connection) -> str | None:
        ctx = MigrationContext.configure(connection, opts={"version_table_schema": SCHEMA})
        return ctx.get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(current)


async def check_ready(engine: AsyncEngine) -> None:
    """Raise DatabaseError with one readable line unless the database is reachable and current."""
    try:
        revision = await current_revision(engine)
    except (OSError, DBAPIError) as exc:
        raise DatabaseError(f"database unreachable: {describe_db_error(exc)}") from None
    head = head_revision()
    if revision != head:
        raise DatabaseError(
            f"database schema is at revision {revision or 'none'}, this version needs {head}: "
            "run `syncer db upgrade`"
        )


def describe_db_error(exc: BaseException) -> str:
    """The driver's own message, first line only, with no password in it."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    return text[:300]
