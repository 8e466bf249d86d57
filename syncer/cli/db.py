"""`syncer db ...`: the database's schema (Alembic migrations) and its read-only role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from syncer.cli import exit_codes
from syncer.cli.common import ConfigOption, out, run_async, settings_for
from syncer.config.settings import Settings

if TYPE_CHECKING:
    from syncer.warehouse.grants import GrantReport

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade", epilog=exit_codes.DATABASE)
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    config: ConfigOption = None,
) -> None:
    """Apply migrations up to REVISION (default: head)."""
    run_async(_db(settings_for(config), "upgrade", revision))
    out.print(f"database upgraded to {revision}")


@db_app.command("downgrade", epilog=exit_codes.DATABASE)
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")],
    config: ConfigOption = None,
) -> None:
    """Revert migrations down to REVISION."""
    run_async(_db(settings_for(config), "downgrade", revision))
    out.print(f"database downgraded to {revision}")


@db_app.command("grant-readonly", epilog=exit_codes.DATABASE)
def db_grant_readonly(
    role: Annotated[str, typer.Argument(help="Role to create (NOLOGIN) or make read-only.")],
    config: ConfigOption = None,
) -> None:
    """Let ROLE read every table and view of the warehouse (also future ones), and write nothing."""
    report = run_async(_grant_readonly(settings_for(config), role))
    out.print(report.describe(), highlight=False, soft_wrap=True)


@db_app.command("current", epilog=exit_codes.DATABASE)
def db_current(config: ConfigOption = None) -> None:
    """Print the database's migration revision and the code's head."""
    out.print(run_async(_db(settings_for(config), "current", "")))


async def _grant_readonly(settings: Settings, role: str) -> GrantReport:
    from syncer.service.runtime import warehouse_engine
    from syncer.warehouse.grants import check_role_name, grant_readonly

    check_role_name(role)  # before opening anything
    async with warehouse_engine(settings) as engine:
        return await grant_readonly(engine, role)


async def _db(settings: Settings, action: str, revision: str) -> str:
    from syncer.service.runtime import warehouse_engine
    from syncer.warehouse import database as db

    head = db.head_revision()  # first: an installation without its migrations says so
    async with warehouse_engine(settings, ready=False) as engine:
        await _reachable(engine)
        if action == "upgrade":
            await db.upgrade(engine, revision)
        elif action == "downgrade":
            await db.downgrade(engine, revision)
        else:
            current = await db.current_revision(engine)
            return f"database: {current or 'none'}  head: {head}"
    return ""


async def _reachable(engine: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from syncer.errors import DatabaseError
    from syncer.warehouse.database import describe_db_error

    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, DBAPIError) as exc:
        raise DatabaseError(f"database unreachable: {describe_db_error(exc)}") from None
