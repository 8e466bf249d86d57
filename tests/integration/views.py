"""Helpers for the view tests: sync, read a view, index the simulator's truth, load a payload."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.api.payload import decode, parse_list_row
from syncer.sim import payloads
from syncer.warehouse import loader
from syncer.warehouse.rows import build_rows
from tests.integration.conftest import SimHarness

EASTERN = ZoneInfo("America/New_York")
Row = dict[str, Any]
Key = tuple[str, str]


async def sync_all(h: SimHarness) -> None:
    results = await asyncio.gather(*(h.account_sync(c).run() for c in h.customers))
    assert all(r.outcome == "succeeded" for r in results), [r.error for r in results]


async def read_view(engine: AsyncEngine, view: str, where: str = "") -> tuple[datetime, list[Row]]:
    """The view's rows and the transaction's now() (what the view's own now() saw)."""
    async with engine.begin() as conn:
        now = (await conn.exec_driver_sql("SELECT now()")).scalar_one()
        result = await conn.exec_driver_sql(f"SELECT * FROM scansource.{view} {where}")
        return now, [dict(r._mapping) for r in result]


def key(row: Row) -> Key:
    return (row["customer_number"], row["sales_order_number"])


def by_key(rows: Iterable[Row], *extra: str) -> dict[tuple[Any, ...], Row]:
    return {(*key(r), *(r[c] for c in extra)): r for r in rows}


def group(rows: Iterable[Row], *extra: str) -> dict[tuple[Any, ...], list[Row]]:
    out: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for r in rows:
        out[(*key(r), *(r[c] for c in extra))].append(r)
    return out


def pick(row: Row, columns: str) -> tuple[Any, ...]:
    """The row's values for space-separated column names, in that order."""
    return tuple(row[c] for c in columns.split())


def local_day(moment: datetime) -> Any:
    return moment.astimezone(EASTERN).date()


def payload_of(h: SimHarness, order_number: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The order's list row and detail, as the simulator serves them now."""
    state = h.sim.find(order_number)
    assert state is not None
    listed = payloads.list_row(h.sim.view(state), False)
    detail = orjson.loads(h.sim.detail_bytes(state, False))
    return listed, detail


async def load_payload(
    h: SimHarness, customer: str, listed: dict[str, Any], detail: dict[str, Any]
) -> None:
    """Load one (edited) payload through the syncer's own parse → rows → load path: for shapes
    the real API may send and the simulator does not."""
    body = orjson.dumps(detail)
    rows = build_rows(customer, parse_list_row(listed), decode(body), body, h.clock.now())
    async with loader.connection(h.engine) as con:
        await loader.load_batch(con, [rows], h.clock.now())
