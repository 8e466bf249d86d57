"""The load path alone: pre-built rows written by the loader, compared with the alternatives.

    python bench/load_path.py [--orders 20000] [--changes 1000] [--quick]

Rows are built once from the simulator's payloads (in this process, not timed). Each variant
gets a fresh database and writes, in batches: all N orders into the empty warehouse ("full"),
then the same orders after `--changes` of them changed through the simulator's lifecycle
("changes"). Measured: wall time, the database server's CPU seconds for the connection, and
this process's CPU per order (for the floor, asyncpg encoding the rows for COPY, nothing else).
  loader   `syncer.warehouse.loader.load_batch`: new orders COPYed straight in, known orders
           staged and merged (rows that stay the same are not written)
  replace  the previous path: headers staged and upserted, every child of the batch's orders
           deleted and all COPYed again (stage, delete, COPY)
  floor    one COPY per table of all rows (full only): the database's least work
Batch sizes are compared for the loader. Printed with ratios to the loader at the default
batch size (`common.BATCH_SIZE`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import common
import orjson
import psutil
import simproc

from syncer.warehouse import loader, merge, schema
from syncer.warehouse.rows import CHILD_COLUMNS, HEADER_COLUMNS, OrderRows

S = schema.SCHEMA
AT = datetime(2026, 11, 20, 15, 5, tzinfo=UTC)

# The previous path, kept here to be measured against: headers staged and upserted, every child
# of the batch's orders deleted (leaves first) and all of them COPYed again.
_DELETES = [
    f"""DELETE FROM {S}.{t.name} x USING {loader._KEYS}
    WHERE x.customer_number = k.customer_number AND x.sales_order_number = k.sales_order_number"""
    for t in reversed(schema.CHILD_TABLES)
]


async def replace_batch(con: Any, batch: list[OrderRows], observed_at: datetime) -> None:
    async with con.transaction():
        await con.execute(merge.CREATE_STAGING)
        await con.copy_records_to_table(
            merge.STAGE, records=[o.header for o in batch], columns=HEADER_COLUMNS
        )
        keys = ([o.customer_number for o in batch], [o.sales_order_number for o in batch])
        await con.fetch(loader._HELD_ORDERS, *keys)  # also clears failures
        await con.execute(loader._UPSERT_KNOWN, *keys, observed_at)
        for statement in _DELETES:
            await con.execute(statement, *keys)
        for t in schema.CHILD_TABLES:
            records = [r for o in batch for r in o.children[t.name]]
            if records:
                await con.copy_records_to_table(
                    t.name, schema_name=S, records=records, columns=CHILD_COLUMNS[t.name]
                )


async def floor_load(con: Any, orders: list[OrderRows], _: datetime) -> None:
    async with con.transaction():
        await con.copy_records_to_table(
            "sales_orders", schema_name=S, records=[o.header for o in orders],
            columns=HEADER_COLUMNS,
        )  # fmt: skip
        for t in schema.CHILD_TABLES:
            await con.copy_records_to_table(
                t.name, schema_name=S, records=[r for o in orders for r in o.children[t.name]],
                columns=CHILD_COLUMNS[t.name],
            )  # fmt: skip


def build(n: int, changes: int) -> tuple[list[OrderRows], list[OrderRows]]:
    """Rows of every order, then of the changed orders after the change (not timed)."""
    from syncer.api.payload import decode, parse_list_row
    from syncer.sim import FakeClock, SimConfig, Simulator, Subscription, payloads
    from syncer.warehouse.rows import build_rows

    sub = Subscription(customer_numbers=(simproc.CUSTOMER,), **simproc.SUBSCRIPTION)
    sim = Simulator(SimConfig(subscriptions=(sub,), orders_per_account=n), FakeClock(simproc.START))

    def rows_of(state: Any) -> OrderRows:
        body = sim.detail_bytes(state, False)
        listed = parse_list_row(
            orjson.loads(orjson.dumps(payloads.list_row(sim.view(state), False)))
        )
        return build_rows(simproc.CUSTOMER, listed, decode(body), body, AT)

    before = [rows_of(s) for s in sim.orders_of(simproc.CUSTOMER)]
    sim.clock.advance(600)
    _, numbers = simproc._change(sim, changes, 7)
    after = [rows_of(sim.find(n)) for n in sorted(numbers)]
    return before, after


async def measure(
    con: Any, write: Any, orders: list[OrderRows], batch: int
) -> tuple[float, float, float]:
    """Wall seconds, the server's CPU seconds and this process's (COPY encoding, mostly)."""
    await con.execute("CHECKPOINT")  # see common.checkpoint
    proc = psutil.Process(await con.fetchval("SELECT pg_backend_pid()"))
    c0, t0, p0 = sum(proc.cpu_times()[:2]), time.perf_counter(), time.process_time()
    held, since = await loader.held_orders(con), 0
    for i in range(0, len(orders), batch):
        await write(con, orders[i : i + batch], AT)
        since += min(batch, len(orders) - i)
        if since >= max(loader.ANALYZE_FROM, held):  # as AccountSync does
            await loader.analyze(con)
            held, since = held + since, 0
    return (time.perf_counter() - t0, sum(proc.cpu_times()[:2]) - c0,
            time.process_time() - p0)  # fmt: skip


async def variant(url: str, name: str, write: Any, before: list[OrderRows],
                  after: list[OrderRows], batch: int) -> list[Any]:  # fmt: skip
    async with common.fresh_database(url, "load") as db:
        con = await asyncpg.connect(common.plain(db))
        try:
            full = await measure(con, write, before, batch if write is not floor_load else
                                 len(before))  # fmt: skip
            await con.execute("ANALYZE")  # what autovacuum does between a backfill and a poll
            changed = (
                (0.0, 0.0, 0.0) if write is floor_load else await measure(con, write, after, batch)
            )
        finally:
            await con.close()
    return [name, batch, *full, *changed]


async def main() -> None:
    args = common.arguments(
        __doc__ or "", orders=20_000, quick=2_000,
        extra=lambda p: p.add_argument("--changes", type=int, default=None),
    )  # fmt: skip
    changes = args.changes or max(1, args.orders // 20)
    before, after = build(args.orders, changes)
    rows = sum(o.row_count() for o in before)
    url = args.database_url
    out = [
        await variant(url, "loader", loader.load_batch, before, after, common.BATCH_SIZE),
        await variant(url, "replace", replace_batch, before, after, common.BATCH_SIZE),
        await variant(url, "floor: one COPY per table", floor_load, before, after, 0),
    ]
    for batch in (50, 100, 400, 800):
        out.append(await variant(url, "loader", loader.load_batch, before, after,
                                 batch))  # fmt: skip
    base = out[0]
    table_rows = [
        [name, batch or "all", full_s, full_cpu, f"{full_s / base[2]:.2f}x",
         f"{full_client / len(before) * 1e6:.0f}", changed_s, changed_cpu,
         f"{changed_s / base[5]:.2f}x" if changed_s else ""]
        for name, batch, full_s, full_cpu, full_client, changed_s, changed_cpu, _ in out
    ]  # fmt: skip
    common.table(
        f"loading {args.orders:,} orders ({rows:,} rows), then {len(after):,} changed orders",
        table_rows,
        [
            "",
            "batch",
            "full s",
            "db CPU s",
            "÷ loader",
            "client CPU µs/order",
            "changes s",
            "db CPU s",
            "÷ loader",
        ],
    )


if __name__ == "__main__":
    common.run(main)
