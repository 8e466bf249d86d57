"""`syncer demo`: the simulator in-process, a real Postgres, migrations, one full sync, a report."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncer import db, loader, schema
from syncer.config import Account, simulator_settings
from syncer.redact import Redactor
from syncer.runtime import open_runtime
from syncer.sim import SimConfig, Simulator, run_simulator
from syncer.sync import RunResult

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
