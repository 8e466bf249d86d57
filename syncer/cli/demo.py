"""`syncer demo`: the simulator in-process, a real Postgres, migrations, one full sync, a report."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from syncer.config.accounts import Account
from syncer.config.simulator import simulator_settings
from syncer.redact import Redactor
from syncer.service.runtime import open_runtime
from syncer.sim import SimConfig, Simulator, run_simulator
from syncer.sync.result import RunResult
from syncer.warehouse import database as db
from syncer.warehouse import loader, schema

# A question a BI user asks on day one: what is on backorder, by currency?
BACKORDER_QUERY = f"""
SELECT l.currency,
       count(DISTINCT (l.customer_number, l.sales_order_number)) AS orders,
       sum(l.back_ordered) AS units,
       sum(l.back_ordered * l.price) AS value
FROM {schema.SCHEMA}.sales_order_lines l
JOIN {schema.SCHEMA}.sales_orders o USING (customer_number, sales_order_number)
WHERE l.back_ordered > 0 AND o.status NOT IN ('Cancelled', 'Quotation/Sales')
GROUP BY l.currency ORDER BY value DESC
"""


@dataclass
class DemoReport:
    database: str
    orders: int
    seconds: float
    results: list[RunResult]
    table_rows: dict[str, int]
    backorders: list[tuple[Any, ...]]


async def run_demo(
    *,
    orders_per_account: int,
    database_url: str,
    embedded_dir: Path,
    seed: int = 42,
    redactor: Redactor | None = None,
) -> DemoReport:
    sim = Simulator(SimConfig(seed=seed, orders_per_account=orders_per_account))
    sub = sim.config.subscriptions[0]
    async with run_simulator(sim) as running:
        settings = simulator_settings(
            running,
            sub,
            database_url=database_url,
            embedded_db_dir=embedded_dir,
            accounts=[Account(customer_number=n) for n in sub.customer_numbers],
            api_rate_burst=100,
        )
        async with open_runtime(settings, redactor=redactor, embedded_db=True) as rt:
            await db.upgrade(rt.engine)
            started = time.perf_counter()
            results = await asyncio.gather(
                *(rt.account_sync(a.customer_number).run() for a in settings.accounts)
            )
            seconds = time.perf_counter() - started
            async with loader.connection(rt.engine) as con:
                counts = {
                    t.name: await con.fetchval(f"SELECT count(*) FROM {schema.SCHEMA}.{t.name}")
                    for t in schema.DATA_TABLES
                }
                backorders = [tuple(r) for r in await con.fetch(BACKORDER_QUERY)]
            where = rt.engine.url.render_as_string(hide_password=True)
    return DemoReport(
        database=where if database_url else f"embedded Postgres in {embedded_dir}",
        orders=orders_per_account * len(sub.customer_numbers),
        seconds=seconds,
        results=list(results),
        table_rows=counts,
        backorders=backorders,
    )


def render_demo(report: DemoReport) -> list[Table | str]:
    """The runs, the rows per table, the speed, and the BI query's answer."""
    runs = Table(title="Sync runs")
    for col in ("account", "outcome", "listed", "fetched", "loaded", "failed", "rows", "seconds"):
        runs.add_column(col, justify="left" if col in ("account", "outcome") else "right")
    for r in report.results:
        c = r.counts
        runs.add_row(r.account, r.outcome, *(str(v) for v in (c.listed, c.fetched, c.loaded,
                     c.failed, c.rows)), f"{r.seconds:.2f}")  # fmt: skip
    tables = Table(title=f"Warehouse: {report.database}")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, n in report.table_rows.items():
        tables.add_row(name, f"{n:,}")
    orders_loaded = report.table_rows.get("sales_orders", 0)
    total_rows = sum(report.table_rows.values())
    speed = (
        f"Synced {orders_loaded:,} orders ({total_rows:,} rows) in {report.seconds:.1f} s "
        f"({orders_loaded / max(report.seconds, 1e-9):,.0f} orders/s)."
    )
    bo = Table(title="Open backorders by currency (a BI query on the warehouse)")
    for col in ("currency", "orders", "units", "value"):
        bo.add_column(col, justify="left" if col == "currency" else "right")
    for cur, n, units, value in report.backorders:
        bo.add_row(str(cur), f"{n:,}", f"{units:,.0f}", f"{value:,.2f}")
    return [runs, tables, speed, bo]
