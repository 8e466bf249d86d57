"""What encoding a full sync's rows for COPY costs the syncer's CPU: asyncpg's own numeric
codec against `syncer.warehouse.numeric`, in the same process, in turn.

    python bench/copy_encoding.py [--orders 4000] [--quick] [--repeat 5]

The simulator's orders (built in this process, not timed) become rows in one pass, as in a sync;
then every table's rows are COPYed into temporary copies of the warehouse tables (no index, no
constraint: the server does little) on two connections, one with asyncpg's codecs, one with ours
installed, in turn, `--repeat` times. Printed: the client's CPU per order (best of the rounds)
for each, and their ratio.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import asyncpg
import common
from parse import AT, bodies
from simproc import CUSTOMER

from syncer.api.payload import decode
from syncer.warehouse import numeric, schema
from syncer.warehouse.rows import CHILD_COLUMNS, HEADER_COLUMNS, OrderRows, build_rows


async def copy_all(con: Any, orders: list[OrderRows]) -> float:
    """CPU seconds of this process to COPY every row of `orders` (tables emptied after)."""
    cpu = 0.0
    for table, columns in (("sales_orders", HEADER_COLUMNS), *CHILD_COLUMNS.items()):
        if table == "sales_orders":
            records = [o.header for o in orders]
        else:
            records = [r for o in orders for r in o.children[table]]
        c0 = time.process_time()
        await con.copy_records_to_table(table, records=records, columns=columns)
        cpu += time.process_time() - c0
        await con.execute(f"TRUNCATE {table}")
    return cpu


async def main() -> None:
    args = common.arguments(
        __doc__ or "", orders=4_000, quick=500,
        extra=lambda p: p.add_argument("--repeat", type=int, default=5),
    )  # fmt: skip
    raw, listed = bodies(args.orders)
    orders = [build_rows(CUSTOMER, lr, decode(b), b, AT) for b, lr in zip(raw, listed, strict=True)]
    n = len(orders)
    numbers = sum(
        type(v) is Decimal
        for o in orders
        for rows in ([o.header], *o.children.values())
        for r in rows
        for v in r
    )
    async with common.fresh_database(args.database_url, "encoding") as url:
        theirs = await asyncpg.connect(common.plain(url))
        ours = await asyncpg.connect(common.plain(url))
        try:
            await numeric.register(ours)
            for con in (theirs, ours):
                for t in (schema.sales_orders, *schema.CHILD_TABLES):
                    like = f"{schema.SCHEMA}.{t.name} INCLUDING DEFAULTS"
                    await con.execute(f"CREATE TEMP TABLE {t.name} (LIKE {like})")
            cpu: dict[str, list[float]] = {"asyncpg's codecs": [], "syncer.warehouse.numeric": []}
            for _ in range(args.repeat):
                cpu["asyncpg's codecs"].append(await copy_all(theirs, orders))
                cpu["syncer.warehouse.numeric"].append(await copy_all(ours, orders))
        finally:
            await theirs.close()
            await ours.close()
    base = min(cpu["asyncpg's codecs"])
    common.table(
        f"COPY encoding of {n:,} orders ({numbers / n:.0f} numeric values per order), client CPU",
        [[name, min(s) / n * 1e6, f"{min(s) / base:.2f}x"] for name, s in cpu.items()],
        ["numeric codec", "µs per order", "ratio"],
    )


if __name__ == "__main__":
    common.run(main)
