"""The read operations (list, summary, detail, serials, tracking) through the typed client,
against the simulator over real HTTP: shapes, filters, paging, and agreement between them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from syncer.api.payload import Detail as SalesOrderDetail
from syncer.errors import PermanentApiError
from syncer.sim.state import status_of
from tests.unit.apiharness import CUSTOMER, NEIGHBOUR, ApiHarness, open_harness


@pytest.fixture(scope="module")
async def h() -> AsyncIterator[ApiHarness]:
    async with open_harness() as harness:  # nothing in this module changes the simulator
        yield harness


@pytest.fixture(scope="module")
async def details(h: ApiHarness) -> dict[str, SalesOrderDetail]:
    """Every order of CUSTOMER, fetched once through the detail operation."""
    return {n: await h.client.detail(CUSTOMER, n) for n in h.sim.order_numbers(CUSTOMER)}


def us_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%m/%d/%Y %I:%M %p")


# -- list -------------------------------------------------------------------------------------


async def test_list_rows_are_typed_and_carry_the_wire_values(h: ApiHarness) -> None:
    rows = await h.client.list_orders(CUSTOMER, page_size=20)
    status, wire = await h.raw("GET", "list", params={"pageSize": "20"})

    assert status == 200 and len(rows) == len(wire) == 20
    for row, raw in zip(rows, wire, strict=True):
        assert row.order_number == raw["OrderNumber"]
        assert row.po_number == raw["PONumber"] and row.status == raw["Status"]
        assert row.total == Decimal(str(raw["Total"]))
        assert row.shipping_address is not None
        assert row.shipping_address.city == raw["ShippingAddress"]["City"]
        assert row.last_changed is not None
        assert row.last_changed.replace(tzinfo=None) == us_stamp(raw["LastChanged"])
        assert [(ln.line_number, ln.ordered, ln.shipped) for ln in row.lines] == [
            (ln["LineNumber"], Decimal(ln["Ordered"]), Decimal(ln["Shipped"]))
            for ln in raw["SalesOrderLines"]
        ]


async def test_iter_list_orders_streams_every_order_page_by_page(h: ApiHarness) -> None:
    calls = h.client.stats.calls[("list", "200")]
    sizes, numbers = [], []
    async for page in h.client.iter_list_orders(CUSTOMER, page_size=40):
        sizes.append(len(page))
        numbers += [r.order_number for r in page]

    assert sizes == [40, 40, 40, 30]  # 150 orders; the short page ends it
    assert numbers == h.sim.order_numbers(CUSTOMER)
    assert h.client.stats.calls[("list", "200")] - calls == 4


async def test_list_filters_are_keyword_arguments(h: ApiHarness) -> None:
    everything = await h.client.list_orders(CUSTOMER, page_size=1000)
    sample = everything[17]
    by_po = await h.client.list_orders(CUSTOMER, po_number=sample.po_number)
    assert sample.order_number in {r.order_number for r in by_po}
    assert {r.po_number for r in by_po} == {sample.po_number}

    held = await h.client.list_orders(CUSTOMER, status="on hold", page_size=1000)
    assert [r.order_number for r in held] == [
        r.order_number for r in everything if r.status == "On Hold"
    ]

    assert sample.last_changed is not None
    day = sample.last_changed.date()
    changed = await h.client.list_orders(
        CUSTOMER, from_last_change_date=day, to_last_change_date=day, page_size=1000
    )
    assert sample.order_number in {r.order_number for r in changed}
    assert all(r.last_changed and r.last_changed.date() == day for r in changed)

    with_schedules = await h.client.list_orders(
        CUSTOMER, status="Open", include_schedule_lines=True, page_size=5
    )
    assert with_schedules and all(ln.schedule_lines for r in with_schedules for ln in r.lines)


# -- summary ----------------------------------------------------------------------------------


def header(row: Any) -> tuple[Any, ...]:
    return (
        row.order_number,
        row.po_number,
        row.doc_type,
        row.status,
        row.total,
        row.date_entered,
        row.last_changed,
    )


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "Partially Shipped"},
        {"from_last_change_date": date(2024, 2, 1), "to_last_change_date": date(2024, 2, 29)},
        {"from_date": date(2024, 1, 10), "doc_type": "ZOR"},
    ],
)
async def test_summary_agrees_with_list_row_for_row(h: ApiHarness, filters: dict[str, Any]) -> None:
    summaries = [
        r async for p in h.client.iter_summary(CUSTOMER, page_size=50, **filters) for r in p
    ]
    listed = [
        r async for p in h.client.iter_list_orders(CUSTOMER, page_size=50, **filters) for r in p
    ]

    assert summaries, filters
    assert [header(r) for r in summaries] == [header(r) for r in listed]


async def test_summary_finds_orders_by_shipped_serial_or_mac_only(
    h: ApiHarness, details: dict[str, SalesOrderDetail]
) -> None:
    number, detail = next(
        (n, d)
        for n, d in details.items()
        if any(x.mac_address for dv in d.deliveries for li in dv.line_items for x in li.details)
    )
    unit = next(
        x for dv in detail.deliveries for li in dv.line_items for x in li.details if x.mac_address
    )
    assert unit.serial_number and unit.mac_address and unit.mac_address_unformatted

    for filters in (
        {"serial_numbers": ["NOPE", unit.serial_number.lower()]},
        {"mac_addresses": [unit.mac_address]},
        {"mac_addresses": [unit.mac_address_unformatted.lower()]},
    ):
        found = await h.client.summary(CUSTOMER, **filters)  # type: ignore[arg-type]
        assert [r.order_number for r in found] == [number], filters

    # A serial the plan holds for a delivery that has not shipped yet is not found.
    pending = next(
        s
        for s in h.sim.orders_of(CUSTOMER)
        if status_of(s) == "Open"
        and any(det.serial_number for dl in h.sim.plan(s).deliveries[0].lines for det in dl.details)
    )
    planned = next(
        det.serial_number
        for dl in h.sim.plan(pending).deliveries[0].lines
        for det in dl.details
        if det.serial_number
    )
    assert planned is not None
    assert await h.client.summary(CUSTOMER, serial_numbers=[planned]) == []


async def test_summary_refuses_a_malformed_mac_address(h: ApiHarness) -> None:
    with pytest.raises(PermanentApiError) as caught:
        await h.client.summary(CUSTOMER, mac_addresses=["00:11:22"])
    assert caught.value.status == 400
    assert "00:11:22" in str(caught.value) and "macAddresses" in str(caught.value)


async def test_old_summary_form_takes_the_customer_from_the_path(h: ApiHarness) -> None:
    status, rows = await h.raw(
        "GET", f"summary/{CUSTOMER}", params={"pageSize": "3"}, customer=None
    )
    assert status == 200
    assert [r["OrderNumber"] for r in rows] == h.sim.order_numbers(CUSTOMER)[:3]
    assert set(rows[0]) == {
        "OrderNumber", "PONumber", "DocType", "Status", "Total", "DateEntered", "LastChanged",
    }  # fmt: skip


# -- detail -----------------------------------------------------------------------------------


async def test_detail_parses_into_the_sync_model(
    h: ApiHarness, details: dict[str, SalesOrderDetail]
) -> None:
    shipped = [d for d in details.values() if d.status == "Completely Shipped"]
    assert shipped
    for d in shipped:
        assert d.deliveries and d.invoice_numbers
        assert all(ln.shipped == ln.ordered for ln in d.lines)
    lean = await h.client.detail(
        CUSTOMER, shipped[0].sales_order_number or "", exclude_serial_tracking=True
    )
    assert lean.tracking_numbers == [] and shipped[0].tracking_numbers


@pytest.mark.parametrize(
    ("customer", "order", "status", "message"),
    [
        (CUSTOMER, "1234567890", 404, "Sales order 1234567890 not found."),
        (CUSTOMER, "NEIGHBOUR", 403, "does not belong to customer"),
        ("2000099999", "FIRST", 403, "is not authorized for this subscription"),
    ],
)
async def test_detail_refuses_unknown_and_foreign_orders(
    h: ApiHarness, customer: str, order: str, status: int, message: str
) -> None:
    if order == "NEIGHBOUR":
        order = h.sim.order_numbers(NEIGHBOUR)[0]
    elif order == "FIRST":
        order = h.sim.order_numbers(CUSTOMER)[0]
    with pytest.raises(PermanentApiError) as caught:
        await h.client.detail(customer, order)
    assert caught.value.status == status
    assert message in str(caught.value)


# -- serials ----------------------------------------------------------------------------------


def shipped_units(details: dict[str, SalesOrderDetail]) -> set[tuple[Any, ...]]:
    """(order, line, serial, ship date) of every serial in the details' deliveries."""
    return {
        (d.sales_order_number, str(li.order_line_number), x.serial_number, dv.shipped_date)
        for d in details.values()
        for dv in d.deliveries
        for li in dv.line_items
        for x in li.details
        if x.serial_number
    }


async def test_serials_are_exactly_the_serials_of_the_deliveries(
    h: ApiHarness, details: dict[str, SalesOrderDetail]
) -> None:
    rows = [r async for page in h.client.iter_serials(CUSTOMER, page_size=500) for r in page]

    assert len(rows) > 500  # several pages
    assert {
        (r.order_number, r.order_line_number, r.serial_number, r.billing_date.date())
        for r in rows
        if r.billing_date
    } == shipped_units(details)
    assert len({r.serial_number for r in rows}) == len(rows)  # no duplicates across pages
    for r in rows[:200]:
        d = details[r.order_number or ""]
        line = next(ln for ln in d.lines if str(ln.line_number) == r.order_line_number)
        assert r.invoice_number in d.invoice_numbers
        assert r.po_number == d.po_number
        assert (r.item_number, r.manufacturer_item_number) == (
            line.item_number,
            line.product_mfr_part,
        )
        assert r.manufacturer and (r.item_number or "").startswith(r.manufacturer)
        assert r.serial_number in line.serial_numbers


async def test_serial_filters_select_by_order_invoice_po_serial_and_billing_day(
    h: ApiHarness, details: dict[str, SalesOrderDetail]
) -> None:
    d = next(x for x in details.values() if len(x.deliveries) >= 2 and x.lines[0].serial_numbers)
    order = d.sales_order_number or ""
    mine = await h.client.serials(CUSTOMER, sales_order_number=order, page_size=1000)
    assert mine and {r.order_number for r in mine} == {order}

    invoice = d.invoice_numbers[1]
    billed = await h.client.serials(CUSTOMER, invoice_number=invoice, page_size=1000)
    assert {r.invoice_number for r in billed} == {invoice}
    assert {r.serial_number for r in billed} < {r.serial_number for r in mine}

    by_po = await h.client.serials(CUSTOMER, po_number=d.po_number or "", page_size=1000)
    assert {r.serial_number for r in mine} <= {r.serial_number for r in by_po}
    assert {r.po_number for r in by_po} == {d.po_number}

    wanted = [mine[0].serial_number or "", mine[-1].serial_number or ""]
    picked = await h.client.serials(CUSTOMER, serial_numbers=wanted)
    assert sorted(r.serial_number or "" for r in picked) == sorted(wanted)

    day = d.deliveries[1].shipped_date
    assert day is not None
    that_day = await h.client.serials(CUSTOMER, from_date=day, to_date=day, page_size=1000)
    assert {r.serial_number for r in billed} <= {r.serial_number for r in that_day}
    assert all(r.billing_date and r.billing_date.date() == day for r in that_day)


async def test_serials_answer_on_the_alias_path_with_dotnet_billing_dates(h: ApiHarness) -> None:
    status, rows = await h.raw("GET", "serials", params={"pageSize": "5"})
    alias_status, alias_rows = await h.raw("GET", "SerialNumbers", params={"pageSize": "5"})

    assert status == alias_status == 200 and rows == alias_rows
    assert isinstance(rows[0]["OrderLineNumber"], str)
    stamp = rows[0]["BillingDate"]  # e.g. 2023-11-23T15:42:07.1234567-05:00
    assert len(stamp.split(".")[1]) == len("1234567-05:00")


async def test_serials_page_size_is_clamped_to_1000_and_bad_input_is_400(h: ApiHarness) -> None:
    status, rows = await h.raw("GET", "serials", params={"pageSize": "5000"})
    assert (status, len(rows)) == (200, 1000)
    for params in ({"fromDate": "2024-02-30"}, {"page": "0"}):
        status, body = await h.raw("GET", "serials", params=params)
        assert status == 400 and next(iter(params)) in body["message"]


# -- tracking ---------------------------------------------------------------------------------


async def test_tracking_matches_the_details_deliveries_and_parcels(
    h: ApiHarness, details: dict[str, SalesOrderDetail]
) -> None:
    chosen = [d for d in details.values() if d.deliveries][:4]
    numbers = [d.sales_order_number or "" for d in chosen]

    answer = await h.client.tracking(CUSTOMER, sales_order_numbers=numbers)

    assert [o.order_number for o in answer.orders] == sorted(numbers)
    for o in answer.orders:
        d = details[o.order_number or ""]
        assert [(x.delivery_number, x.ship_date) for x in o.deliveries] == [
            (dv.delivery_document_number, dv.shipped_date) for dv in d.deliveries
        ]
        for x, dv in zip(o.deliveries, d.deliveries, strict=True):
            assert x.ship_method == d.shipping_option_description
            assert {(t.carrier, t.tracking_number) for t in x.tracking_numbers} == {
                (p.carrier_code, p.tracking_number) for p in dv.parcels
            }
        assert {t.tracking_number for x in o.deliveries for t in x.tracking_numbers} == set(
            d.tracking_numbers
        )


async def test_tracking_by_po_number_lists_each_order_of_the_po(
    h: ApiHarness, details: dict[str, SalesOrderDetail]
) -> None:
    unshipped = next(d for d in details.values() if not d.deliveries)
    po = unshipped.po_number or ""
    answer = await h.client.tracking(CUSTOMER, po_numbers=[po])

    expected = sorted(n for n, d in details.items() if d.po_number == po)
    assert [o.order_number for o in answer.orders] == expected
    mine = next(o for o in answer.orders if o.order_number == unshipped.sales_order_number)
    assert mine.deliveries == []


async def test_tracking_refuses_unknown_foreign_and_empty_requests(h: ApiHarness) -> None:
    known = h.sim.order_numbers(CUSTOMER)[0]
    foreign = h.sim.order_numbers(NEIGHBOUR)[0]
    cases = [
        ({"salesOrderNumbers": f"{known},1234567890"}, 404, "1234567890 not found"),
        ({"salesOrderNumber": foreign}, 403, "does not belong"),
        ({}, 400, "salesOrderNumber or poNumber is required"),
    ]
    for params, status, message in cases:
        got, body = await h.raw("GET", "tracking", params=params)
        assert (got, body["statusCode"]) == (status, status)
        assert message in body["message"]
