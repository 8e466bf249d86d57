"""Compare the warehouse with the simulator's ground truth, row by row."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.sim import Simulator
from syncer.warehouse import schema


def truth_columns(table: Any) -> list[str]:
    return [c.name for c in table.columns if c.name not in schema.BOOKKEEPING_COLUMNS]


async def warehouse(
    engine: AsyncEngine, customer_number: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as conn:
        for table in schema.DATA_TABLES:
            cols = truth_columns(table)
            sql = f"SELECT {', '.join(cols)} FROM {schema.SCHEMA}.{table.name}"
            params: dict[str, Any] = {}
            if customer_number is not None:
                sql += " WHERE customer_number = :c"
                params["c"] = customer_number
            result = await conn.exec_driver_sql(
                sql.replace(":c", "$1"), (customer_number,) if params else ()
            )
            out[table.name] = [dict(zip(cols, row, strict=True)) for row in result]
    return out


def diff(
    expected: dict[str, list[dict[str, Any]]], actual: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """Human-readable differences, table by table; empty when the two are equal.

    Rows are compared as multisets of value tuples: Decimal('10.0') == Decimal('10') and aware
    datetimes compare by instant, so only real differences count; duplicates count too.
    """
    problems: list[str] = []
    for table in schema.DATA_TABLES:
        cols = truth_columns(table)
        want = Counter(tuple(r.get(c) for c in cols) for r in expected.get(table.name, []))
        got = Counter(tuple(r.get(c) for c in cols) for r in actual.get(table.name, []))
        if want == got:
            continue
        missing = list((want - got).elements())
        extra = list((got - want).elements())
        example_missing = dict(zip(cols, missing[0], strict=True)) if missing else None
        example_extra = dict(zip(cols, extra[0], strict=True)) if extra else None
        problems.append(
            f"{table.name}: expected {sum(want.values())} rows, found {sum(got.values())}; "
            f"{len(missing)} missing (e.g. {example_missing}), "
            f"{len(extra)} unexpected (e.g. {example_extra})"
        )
    return problems


def without(
    tables: dict[str, list[dict[str, Any]]], orders: set[str]
) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [r for r in rows if r["sales_order_number"] not in orders]
        for name, rows in tables.items()
    }


async def assert_matches_truth(
    engine: AsyncEngine,
    sim: Simulator,
    customer_number: str | None = None,
    *,
    exclude: set[str] | None = None,
) -> int:
    """Assert equality (leaving out the `exclude` orders) and return the rows compared."""
    expected = sim.truth(customer_number)
    actual = await warehouse(engine, customer_number)
    if exclude:
        expected, actual = without(expected, exclude), without(actual, exclude)
    problems = diff(expected, actual)
    assert not problems, "warehouse differs from the simulator:\n" + "\n".join(problems)
    return sum(len(v) for v in expected.values())
