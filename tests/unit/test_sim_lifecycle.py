"""Lifecycle driven by a FakeClock: shipping, holds, cancellation, dropped lines, new orders,
token expiry — each visible over HTTP and in the ground truth."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import pytest

from syncer.sim import FakeClock, SimConfig, Simulator, run_simulator
from syncer.sim.state import OrderState, status_of

START = datetime(2024, 3, 7, 19, 15, tzinfo=UTC)  # 2:15 PM Eastern
CUSTOMER = "1000012345"


class Harness:
    def __init__(
        self,
        sim: Simulator,
        clock: FakeClock,
        http: aiohttp.ClientSession,
        base: str,
        token_url: str,
        scope: str,
    ) -> None:
        self.sim, self.clock, self.http = sim, clock, http
        self.base, self.token_url, self.scope = base, token_url, scope
        self.token = ""
        self.fresh_token_per_call = True  # days pass in these tests; tokens last an hour

    async def login(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "scope": self.scope,
        }
        async with self.http.post(self.token_url, data=form) as r:
            self.token = (await r.json())["access_token"]

    async def get(self, op: str, **params: str) -> tuple[int, Any]:
        if self.fresh_token_per_call:
            await self.login()
        headers = {
            "Ocp-Apim-Subscription-Key": "demo-subscription-key",
            "Authorization": f"Bearer {self.token}",
        }
        async with self.http.get(
            f"{self.base}/{op}", params={"customerNumber": CUSTOMER, **params}, headers=headers
        ) as r:
            return r.status, orjson.loads(await r.read())

    async def detail(self, number: str) -> dict[str, Any]:
        status, body = await self.get("detail", salesOrderNumber=number)
        assert status == 200
        return dict(body)

    async def row(self, number: str) -> dict[str, Any]:
        status, rows = await self.get("list", salesOrderNumber=number)
        assert status == 200 and len(rows) == 1
        return dict(rows[0])

    def pick(self, wanted: Callable[[OrderState], bool]) -> str:
        return next(s.order_number for s in self.sim.orders_of(CUSTOMER) if wanted(s))


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    clock = FakeClock(START)
    sim = Simulator(SimConfig(orders_per_account=200), clock)
    async with run_simulator(sim) as running, aiohttp.ClientSession() as http:
        harness = Harness(sim, clock, http, running.base_url, running.token_url, running.scope)
        await harness.login()
        yield harness


def open_multi_delivery(s: OrderState) -> bool:
    return status_of(s) == "Open" and s.n_deliveries >= 2


async def test_ship_next_adds_a_delivery_and_bumps_last_changed_to_the_clock_minute(
    h: Harness,
) -> None:
    number = h.pick(open_multi_delivery)
    before = await h.detail(number)
    h.clock.advance(timedelta(days=1, seconds=37))  # 3/8 2:15 PM Eastern, plus seconds
    assert h.sim.ship_next(CUSTOMER, number)
    after = await h.detail(number)
    assert len(after["Deliveries"]) == len(before["Deliveries"]) + 1
    assert after["Deliveries"][-1]["ShippedDate"] == "2024-03-08"
    assert after["LastShipDate"] == "2024-03-08"
    assert after["Status"] == "Partially Shipped"
    assert len(after["InvoiceNumbers"]) == len(before["InvoiceNumbers"]) + 1
    row = await h.row(number)
    assert row["LastChanged"] == "3/8/2024 2:15 PM"
    shipped = sum(x["Shipped"] for x in after["SalesOrderLines"])
    assert shipped == sum(li["QuantityShipped"] for li in after["Deliveries"][-1]["LineItems"])
    truth = h.sim.truth(CUSTOMER)
    header = next(r for r in truth["sales_orders"] if r["sales_order_number"] == number)
    assert header["last_changed"] == datetime(2024, 3, 8, 19, 15, tzinfo=UTC)
    assert header["last_ship_date"] == date(2024, 3, 8)


async def test_shipping_every_delivery_completes_the_order_then_ship_next_refuses(
    h: Harness,
) -> None:
    number = h.pick(open_multi_delivery)
    while h.sim.ship_next(CUSTOMER, number):
        h.clock.advance(3600)
    d = await h.detail(number)
    assert d["Status"] == "Completely Shipped"
    assert all(
        x["Committed"] == x["BackOrdered"] == 0 and x["ScheduleLines"] == []
        for x in d["SalesOrderLines"]
    )
    assert all(x["Shipped"] == x["Ordered"] for x in d["SalesOrderLines"])
    stamp = (await h.row(number))["LastChanged"]
    assert not h.sim.ship_next(CUSTOMER, number)
    assert (await h.row(number))["LastChanged"] == stamp  # a refused change is no change


async def test_cancel_sets_cancelled_and_cancels_every_open_quantity(h: Harness) -> None:
    number = h.pick(lambda s: status_of(s) == "Open")
    h.clock.advance(120)
    assert h.sim.cancel(CUSTOMER, number)
    d = await h.detail(number)
    assert d["Status"] == "Cancelled"
    for line in d["SalesOrderLines"]:
        assert line["Canceled"] == line["Ordered"] - line["Shipped"] > 0
        assert line["Committed"] == line["BackOrdered"] == 0
        assert line["ScheduleLines"] == []
        assert line["RejectReason"]
    assert (await h.row(number))["LastChanged"] == "3/7/2024 2:17 PM"
    _, cancelled = await h.get("list", status="cancelled", pageSize="1000")
    assert number in {r["OrderNumber"] for r in cancelled}
    assert not h.sim.cancel(CUSTOMER, number)  # already cancelled
    assert not h.sim.ship_next(CUSTOMER, number)


async def test_cancel_refuses_once_anything_has_shipped(h: Harness) -> None:
    number = h.pick(lambda s: status_of(s) == "Partially Shipped")
    assert not h.sim.cancel(CUSTOMER, number)
    assert (await h.detail(number))["Status"] == "Partially Shipped"


async def test_hold_blocks_shipping_until_released(h: Harness) -> None:
    number = h.pick(open_multi_delivery)
    h.sim.set_hold(CUSTOMER, number, True)
    assert (await h.detail(number))["Status"] == "On Hold"
    assert not h.sim.ship_next(CUSTOMER, number)
    h.clock.advance(timedelta(days=2))
    h.sim.set_hold(CUSTOMER, number, False)
    released = await h.detail(number)
    assert released["Status"] == "Open"
    first_dates = [
        s["EstimatedShipDate"] for x in released["SalesOrderLines"] for s in x["ScheduleLines"]
    ]
    assert min(first_dates) > "2024-03-09"  # rescheduled from the release day
    assert h.sim.ship_next(CUSTOMER, number)


async def test_touch_changes_last_changed_and_nothing_else(h: Harness) -> None:
    number = h.sim.order_numbers(CUSTOMER)[10]
    before_detail, before_row = await h.detail(number), await h.row(number)
    h.clock.advance(timedelta(days=3))
    h.sim.touch(CUSTOMER, number)
    after_row = await h.row(number)
    assert await h.detail(number) == before_detail
    assert after_row["LastChanged"] == "3/10/2024 3:15 PM"  # DST began on 3/10: now EDT
    assert {**after_row, "LastChanged": None} == {**before_row, "LastChanged": None}


async def test_drop_line_removes_an_unshipped_line_from_payloads_and_truth(h: Harness) -> None:
    def droppable(s: OrderState) -> bool:
        return status_of(s) == "Open" and len(h.sim.view(s).lines) >= 2

    number = h.pick(droppable)
    before = await h.detail(number)
    line = before["SalesOrderLines"][0]["LineNumber"]
    h.clock.advance(60)
    assert h.sim.drop_line(CUSTOMER, number, line)
    after = await h.detail(number)
    assert [x["LineNumber"] for x in after["SalesOrderLines"]] == [
        x["LineNumber"] for x in before["SalesOrderLines"][1:]
    ]
    assert after["Total"] < before["Total"]
    assert line not in {x["LineNumber"] for x in (await h.row(number))["SalesOrderLines"]}
    lines = h.sim.truth(CUSTOMER)["sales_order_lines"]
    assert (number, line) not in {(r["sales_order_number"], r["line_number"]) for r in lines}
    assert not h.sim.drop_line(CUSTOMER, number, line)  # already gone


async def test_drop_line_refuses_shipped_lines_and_the_last_line(h: Harness) -> None:
    number = h.pick(lambda s: status_of(s) == "Completely Shipped")
    first = (await h.detail(number))["SalesOrderLines"][0]["LineNumber"]
    assert not h.sim.drop_line(CUSTOMER, number, first)
    single = h.pick(lambda s: status_of(s) == "Open" and len(h.sim.view(s).lines) == 1)
    only = h.sim.view(h.sim.find(single)).lines[0].plan.line_number  # type: ignore[arg-type]
    assert not h.sim.drop_line(CUSTOMER, single, only)


async def test_dropping_the_only_pending_line_can_complete_an_order(h: Harness) -> None:
    def candidate(s: OrderState) -> bool:
        if status_of(s) != "Partially Shipped":
            return False
        pending = [lv for lv in h.sim.view(s).lines if lv.shipped == 0]
        return len(pending) == len(
            [lv for lv in h.sim.view(s).lines if lv.shipped < lv.plan.ordered]
        )

    number = next((s.order_number for s in h.sim.orders_of(CUSTOMER) if candidate(s)), None)
    if number is None:
        pytest.skip("no partially shipped order whose pending lines are all untouched")
    view = h.sim.view(h.sim.find(number))  # type: ignore[arg-type]
    for lv in view.lines:
        if lv.shipped == 0:
            assert h.sim.drop_line(CUSTOMER, number, lv.plan.line_number)
    assert (await h.detail(number))["Status"] == "Completely Shipped"


async def test_create_order_appends_an_open_order_entered_now(h: Harness) -> None:
    h.clock.advance(600)
    number = h.sim.create_order(CUSTOMER)
    assert number == max(h.sim.order_numbers(CUSTOMER))
    row = await h.row(number)
    assert row["Status"] == "Open"
    assert row["DateEntered"] == row["LastChanged"] == "3/7/2024 2:25 PM"
    _, today = await h.get("list", fromDate="2024-03-07", toDate="2024-03-07")
    assert today[-1]["OrderNumber"] == number
    assert (await h.detail(number))["Deliveries"] == []


async def test_token_expires_by_the_fake_clock(h: Harness) -> None:
    h.fresh_token_per_call = False
    assert (await h.get("list", pageSize="1"))[0] == 200
    h.clock.advance(3598)
    assert (await h.get("list", pageSize="1"))[0] == 200
    h.clock.advance(1)
    assert await h.get("list", pageSize="1") == (
        401,
        {"statusCode": 401, "message": "Unauthorized! Access token is missing or invalid."},
    )
    await h.login()
    assert (await h.get("list", pageSize="1"))[0] == 200


async def test_mutations_refuse_orders_of_another_customer(h: Harness) -> None:
    foreign = h.sim.order_numbers("1000023456")[0]
    with pytest.raises(KeyError):
        h.sim.touch(CUSTOMER, foreign)


async def test_a_removed_order_is_not_found_by_number_nor_listed_nor_in_the_truth(
    h: Harness,
) -> None:
    number = h.pick(lambda s: bool(s.shipped_at))
    h.sim.remove(CUSTOMER, number)
    status, body = await h.get("detail", salesOrderNumber=number)
    assert (status, body) == (
        404,
        {"statusCode": 404, "message": f"Sales order {number} not found."},
    )
    assert (await h.get("list", salesOrderNumber=number)) == (200, [])
    _, every = await h.get("list", pageSize="1000")
    assert number not in {r["OrderNumber"] for r in every} and len(every) == 199
    _, serials = await h.get("serials", salesOrderNumber=number)
    assert serials == []
    assert number not in {r["sales_order_number"] for r in h.sim.truth()["sales_orders"]}
    with pytest.raises(KeyError):
        h.sim.touch(CUSTOMER, number)


async def test_a_removed_order_can_stay_listed_while_its_detail_is_404(h: Harness) -> None:
    number = h.sim.order_numbers(CUSTOMER)[5]
    h.sim.remove(CUSTOMER, number, listed=True)
    assert (await h.get("detail", salesOrderNumber=number))[0] == 404
    assert [r["OrderNumber"] for r in (await h.get("list", salesOrderNumber=number))[1]] == [number]
