"""Answers a test puts in the simulator's place (`sim.detail_overrides`), and a query helper."""

from __future__ import annotations

from typing import Any

import orjson

from tests.integration.conftest import SimHarness


async def rows(h: SimHarness, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with h.engine.connect() as conn:
        return [tuple(r) for r in (await conn.exec_driver_sql(sql, args)).all()]


def unreadable_detail(h: SimHarness, order: str) -> tuple[int, bytes]:
    """The order's detail with a line number that is not a number: a parse failure."""
    state = h.sim.find(order)
    assert state is not None
    body = orjson.loads(h.sim.detail_bytes(state, False))
    return 200, orjson.dumps({**body, "SalesOrderLines": [{"LineNumber": "ten"}]})


def not_found(order: str) -> tuple[int, bytes]:
    """The API's answer for an order it does not have."""
    return 404, orjson.dumps({"statusCode": 404, "message": f"Sales order {order} not found."})
