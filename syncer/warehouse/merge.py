"""The statements that bring the children of orders the warehouse holds in line with a new
payload: the new rows are staged (COPY into per-connection temp tables), then one statement,
per child table, deletes the rows that are gone and writes the rows that are new or differ.

A change to an order touches a few of its rows; rewriting all of them would cost a foreign-key
check, a cascade and index entries per row (docs/decisions/0002-staging-merge-for-known-orders.md).
Statements are built from `syncer.warehouse.schema` only.
"""

from __future__ import annotations

from sqlalchemy import Table

from syncer.warehouse import schema

S = schema.SCHEMA
STAGE = "_load_orders"  # headers; emptied at every commit like the children's staging tables
_KEYS = "unnest($1::text[], $2::text[]) AS k(customer_number, sales_order_number)"


def staging(table: Table) -> str:
    return f"_load_{table.name}"


# The headers' staging copies the column compression too: a value already compressed in staging
# is stored as it is, so raw would otherwise keep pglz in the warehouse (migration 0004).
# The children's staging tables have their table's primary key, so the merge finds a held row's
# staged twin by an index probe whatever the planner guesses (it guesses few rows per order; a
# scan would be quadratic in a big order). docs/decisions/0002-staging-merge-for-known-orders.md
CREATE_STAGING = ";\n".join(
    [
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} "
        f"(LIKE {S}.sales_orders INCLUDING DEFAULTS INCLUDING COMPRESSION) ON COMMIT DELETE ROWS",
        *(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging(t)} (LIKE {S}.{t.name}, "
            f"PRIMARY KEY ({', '.join(c.name for c in t.primary_key.columns)})) "
            "ON COMMIT DELETE ROWS"
            for t in schema.CHILD_TABLES
        ),
    ]
)


def _same(a: str, b: str, columns: list[str]) -> str:
    return " AND ".join(f"{a}.{c} = {b}.{c}" for c in columns)


def _merge(table: Table) -> str:
    """Two CTEs: drop the table's rows of these orders that are not staged; insert or update
    the staged rows that are missing or differ (an equal row is left alone)."""
    key = [c.name for c in table.primary_key.columns]
    rest = [c.name for c in table.columns if c.name not in key]
    cols = ", ".join(c.name for c in table.columns)
    differs = (
        f" AND ({', '.join(f'x.{c}' for c in rest)}) IS NOT DISTINCT FROM "
        f"({', '.join(f's.{c}' for c in rest)})"
        if len(rest) > 1
        else (f" AND x.{rest[0]} IS NOT DISTINCT FROM s.{rest[0]}" if rest else "")
    )
    update = (
        f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in rest)}" if rest else "DO NOTHING"
    )
    stage = staging(table)
    return f"""gone_{table.name} AS (
    DELETE FROM {S}.{table.name} x USING {_KEYS}
    WHERE x.customer_number = k.customer_number AND x.sales_order_number = k.sales_order_number
      AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE {_same("s", "x", key)})
), put_{table.name} AS (
    INSERT INTO {S}.{table.name} ({cols})
    SELECT {cols} FROM {stage} s
    WHERE NOT EXISTS (SELECT 1 FROM {S}.{table.name} x WHERE {_same("x", "s", key)}{differs})
    ON CONFLICT ({", ".join(key)}) {update}
)"""


# One statement for every child table: one snapshot, and the foreign keys of inserted rows are
# checked at its end, when their parents (inserted by a sibling CTE) exist. A parent that is gone
# takes its children with it: they are not staged, so they are deleted here too.
MERGE_CHILDREN = (
    "WITH " + ",\n".join(_merge(t) for t in reversed(schema.CHILD_TABLES)) + "\nSELECT 1"
)
