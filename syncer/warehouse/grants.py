"""The read-only role for BI: it may read every table and view of the warehouse schema, now and
later (default privileges), and write nothing.

Everything happens in one transaction, and ends with a check of the role's *effective*
privileges (memberships included): if the role could still write or create anything in the
schema, the whole grant is rolled back with the reason, rather than leaving a "read-only" role
that is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.errors import ConfigError, DatabaseError
from syncer.warehouse import loader
from syncer.warehouse.database import describe_db_error
from syncer.warehouse.schema import SCHEMA

# Conservative on purpose: a name a DBA would type, never something that needs explaining.
_ROLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}")
_RESERVED = frozenset({"public", "none", "current_user", "session_user", "current_role"})
_WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


@dataclass(frozen=True)
class GrantReport:
    role: str
    created: bool
    can_login: bool
    tables: int
    views: int
    default_privileges_of: tuple[str, ...]  # whose future tables the role may read

    def describe(self) -> str:
        lines = [
            f"role {self.role} {'created (NOLOGIN)' if self.created else 'already existed'}: "
            f"it may read the {self.tables} tables and {self.views} views of schema {SCHEMA}, "
            f"and those that {', '.join(self.default_privileges_of)} create there later; "
            "it may write nothing there."
        ]
        if not self.can_login:
            lines.append(
                f"To log in with it: ALTER ROLE {self.role} LOGIN PASSWORD '…'; "
                f"or make BI users members: GRANT {self.role} TO metabase;"
            )
        return "\n".join(lines)


def check_role_name(name: str) -> str:
    """The name, if it is one we accept; else ConfigError saying what is wrong with it."""
    if not _ROLE_NAME.fullmatch(name):
        raise ConfigError(
            f"role name {name[:80]!r} is not accepted: use 1-63 letters, digits, '_', '$' or '-', "
            "starting with a letter or '_'"
        )
    if name.lower() in _RESERVED or name.lower().startswith("pg_"):
        raise ConfigError(f"role name {name!r} is reserved by PostgreSQL")
    return name


async def grant_readonly(engine: AsyncEngine, role: str) -> GrantReport:
    """Create `role` (NOLOGIN) if it does not exist and make it read-only on the schema."""
    check_role_name(role)
    try:
        async with loader.connection(engine) as con, con.transaction():
            return await _grant(con, role)
    except (OSError, DBAPIError) as exc:
        raise DatabaseError(f"database unreachable: {describe_db_error(exc)}") from None
    except asyncpg.PostgresError as exc:  # e.g. no CREATEROLE, not a member of the owner role
        raise DatabaseError(f"cannot grant read-only access: {describe_db_error(exc)}") from None


async def _grant(con: Any, role: str) -> GrantReport:
    if not await con.fetchval("SELECT to_regnamespace($1) IS NOT NULL", SCHEMA):
        raise DatabaseError(f"schema {SCHEMA} does not exist: run `syncer db upgrade` first")
    existing = await con.fetchrow(
        "SELECT rolsuper, rolcanlogin, rolname = current_user AS is_me "
        "FROM pg_roles WHERE rolname = $1",
        role,
    )
    if existing is not None and existing["rolsuper"]:
        raise DatabaseError(f"role {role} is a superuser: it cannot be made read-only")
    if existing is not None and existing["is_me"]:
        raise DatabaseError(f"role {role} is the role running this command: use another role")
    owns = await con.fetchval(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "WHERE c.relnamespace = $1::regnamespace AND r.rolname = $2",
        SCHEMA,
        role,
    )
    if owns:
        raise DatabaseError(f"role {role} owns objects in schema {SCHEMA}: it can write them")

    # quote_ident: PostgreSQL quotes the names itself; nothing we format is user text unquoted.
    r = await con.fetchval("SELECT quote_ident($1)", role)
    s = await con.fetchval("SELECT quote_ident($1)", SCHEMA)
    database = await con.fetchval("SELECT quote_ident(current_database())")
    if existing is None:
        await con.execute(f"CREATE ROLE {r} NOLOGIN")
        # Belt and braces for direct logins: even what PUBLIC may do (temporary tables) needs
        # an explicit SET first. Roles that existed keep their own settings.
        await con.execute(f"ALTER ROLE {r} SET default_transaction_read_only = on")
    await con.execute(f"GRANT CONNECT ON DATABASE {database} TO {r}")
    await con.execute(f"GRANT USAGE ON SCHEMA {s} TO {r}")
    await con.execute(f"REVOKE CREATE ON SCHEMA {s} FROM {r}")
    await con.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}")  # views included
    await con.execute(f"REVOKE {', '.join(_WRITES)} ON ALL TABLES IN SCHEMA {s} FROM {r}")

    # Default privileges belong to whoever creates the objects: the schema's owner and the
    # owners of its tables (the role migrations run as), and whoever runs this command.
    creators = [
        row[0]
        for row in await con.fetch(
            "SELECT rolname FROM pg_roles WHERE oid IN ("
            "  SELECT nspowner FROM pg_namespace WHERE nspname = $1"
            "  UNION SELECT relowner FROM pg_class WHERE relnamespace = $1::regnamespace"
            "  UNION SELECT oid FROM pg_roles WHERE rolname = current_user"
            ") ORDER BY rolname",
            SCHEMA,
        )
    ]
    for creator in creators:
        c = await con.fetchval("SELECT quote_ident($1)", creator)
        await con.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {c} IN SCHEMA {s} GRANT SELECT ON TABLES TO {r}"
        )

    problems = await readonly_violations(con, role)
    if problems:
        raise DatabaseError(
            f"role {role} would not be read-only (through its memberships or PUBLIC): "
            + "; ".join(problems[:5])
            + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        )
    counts = await con.fetchrow(
        "SELECT count(*) FILTER (WHERE relkind IN ('r', 'p')) AS tables, "
        "count(*) FILTER (WHERE relkind IN ('v', 'm')) AS views "
        "FROM pg_class WHERE relnamespace = $1::regnamespace",
        SCHEMA,
    )
    return GrantReport(
        role=role,
        created=existing is None,
        can_login=bool(existing and existing["rolcanlogin"]),
        tables=counts["tables"],
        views=counts["views"],
        default_privileges_of=tuple(creators),
    )


async def readonly_violations(con: Any, role: str) -> list[str]:
    """What `role` may do in the schema beyond reading (effective: memberships included)."""
    rows = await con.fetch(
        "SELECT c.relname, p.privilege FROM pg_class c "
        "CROSS JOIN unnest($3::text[]) AS p(privilege) "
        "WHERE c.relnamespace = $2::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
        "AND has_table_privilege($1, c.oid, p.privilege) ORDER BY 1, 2",
        role,
        SCHEMA,
        list(_WRITES),
    )
    problems = [f"{row[1]} on {row[0]}" for row in rows]
    if await con.fetchval("SELECT has_schema_privilege($1, $2, 'CREATE')", role, SCHEMA):
        problems.insert(0, f"CREATE in schema {SCHEMA}")
    return problems
