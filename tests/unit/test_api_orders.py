"""Ship quote, VRD, create-order-async and cancel through the typed client, and the order
lifecycle as the read operations see it, all driven by the simulator's FakeClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from syncer.api.operation_models import (
    PurchaseOrder,
    PurchaseOrderLine,
    RequestAddress,
    ShippingInfo,
    ShipQuoteLine,
    ShipQuoteRequest,
    VrdAnswer,
    VrdRequest,
)
from syncer.errors import PermanentApiError
from syncer.sim.clock import eastern
from syncer.sim.state import OrderState, status_of
from tests.unit.apiharness import CUSTOMER, NEIGHBOUR, ApiHarness, open_harness

CISCO_AP = "CIS-MR36HW"  # needs vendor-required data
ZEBRA_PRINTER = "ZEB-ZT41142T010000Z"  # serialised, heavy
LABELS = "ZEB-10015340"  # not serialised


@pytest.fixture
async def h() -> AsyncIterator[ApiHarness]:
    async with open_harness(create_delay_seconds=90) as harness:
        yield harness


def quote_request(country: str, *lines: tuple[str, int], postal: str = "29615") -> ShipQuoteRequest:
    return ShipQuoteRequest(
        business_unit="1700",
        ship_to_country_code=country,
        ship_to_postal_code=postal,
        lines=[ShipQuoteLine(item_number=i, quantity=q) for i, q in lines],
    )


def po(number: str, *lines: tuple[str, int], **fields: Any) -> PurchaseOrder:
    return PurchaseOrder(
        business_unit=1700,
        po_number=number,
        lines=[PurchaseOrderLine(part_number=p, quantity=q) for p, q in lines],
        **fields,
    )


def pick(h: ApiHarness, wanted: Any) -> OrderState:
    return next(s for s in h.sim.orders_of(CUSTOMER) if wanted(s))


# -- ship quote -------------------------------------------------------------------------------


async def test_ship_quote_prices_freight_by_weight_speed_and_destination(h: ApiHarness) -> None:
    one = await h.client.ship_quote(CUSTOMER, quote_request("US", (ZEBRA_PRINTER, 1)))
    ten = await h.client.ship_quote(CUSTOMER, quote_request("US", (ZEBRA_PRINTER, 10)))

    assert one.currency_code == "USD"
    fares = {i.service_level_code: i.freight for i in one.items}
    assert set(fares) == {"UGD", "U2D", "U1D", "FGD", "F2D", "UPM", "PGD"}
    assert fares["UGD"] < fares["U2D"] < fares["U1D"]  # faster costs more
    assert all(
        a.freight is not None and b.freight is not None and b.freight > 3 * a.freight
        for a, b in zip(one.items, ten.items, strict=True)
    )
    assert one.insurance and ten.insurance == pytest.approx(10 * one.insurance, abs=Decimal("0.1"))
    assert one.third_party_items == []  # 36 lb: parcel only
    assert [i.service_level_code for i in ten.third_party_items] == ["LTL"]  # 360 lb: freight too

    de = await h.client.ship_quote(
        CUSTOMER, quote_request("DE", (ZEBRA_PRINTER, 1), postal="80331")
    )
    ca = await h.client.ship_quote(CUSTOMER, quote_request("CA", (ZEBRA_PRINTER, 1), postal="M5H"))
    assert (de.currency_code, ca.currency_code) == ("EUR", "CAD")
    assert "DHX" in {i.service_level_code for i in de.items}
    assert "PUR" in {i.service_level_code for i in ca.items}
    again = await h.client.ship_quote(CUSTOMER, quote_request("US", (ZEBRA_PRINTER, 1)))
    assert again == one  # computed from the request, not random


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"BusinessUnit": None}, "BusinessUnit"),
        ({"BusinessUnit": "north"}, "BusinessUnit"),
        ({"ShipToCountryCode": ""}, "ShipToCountryCode"),
        ({"ShipToCountryCode": "USA"}, "ShipToCountryCode"),
        ({"Lines": []}, "Lines"),
        ({"Lines": [{"ItemNumber": CISCO_AP, "Quantity": 0}]}, "Lines[0].Quantity"),
        ({"Lines": [{"ItemNumber": "NO-SUCH-ITEM", "Quantity": 1}]}, "Lines[0].ItemNumber"),
        ({"CustomerNumber": NEIGHBOUR}, "CustomerNumber"),
    ],
)
async def test_ship_quote_refuses_an_invalid_request_naming_the_field(
    h: ApiHarness, change: dict[str, Any], field: str
) -> None:
    body = {
        "BusinessUnit": "1700",
        "ShipToCountryCode": "US",
        "Lines": [{"ItemNumber": CISCO_AP, "Quantity": 1}],
        **change,
    }
    status, answer = await h.raw("POST", "shipquote", body=body)
    assert status == 400
    assert answer["message"].startswith(field)


# -- VRD --------------------------------------------------------------------------------------


async def test_vrd_lists_each_vendor_field_once_and_nothing_for_plain_items(
    h: ApiHarness,
) -> None:
    answer = await h.client.vrd(
        CUSTOMER, VrdRequest(business_unit="1700", item_numbers=[CISCO_AP, "AXI-02328001"])
    )
    ids = [v.id for v in answer.vrd_items]
    assert ids == ["EU_NAME", "EU_COUNTRY", "CISCO_DEAL_ID", "PROJECT"]  # EU_NAME once
    country = answer.vrd_items[1]
    assert (country.required, country.field_type, country.field_length) == (True, "ComboBox", 2)
    assert "US" in {c.value for c in country.combo_box_items}

    plain = await h.client.vrd(CUSTOMER, VrdRequest(business_unit="1700", item_numbers=[LABELS]))
    assert plain.vrd_items == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ItemNumbers": [CISCO_AP]}, "BusinessUnit"),
        ({"BusinessUnit": "1700"}, "ItemNumbers"),
        ({"BusinessUnit": "1700", "ItemNumbers": ["NOPE"]}, "ItemNumbers[0]"),
        ({"BusinessUnit": "1700", "ItemNumbers": [7]}, "ItemNumbers[0]"),
    ],
)
async def test_vrd_refuses_an_invalid_request(
    h: ApiHarness, body: dict[str, Any], field: str
) -> None:
    status, answer = await h.raw("POST", "vrd", body=body)
    assert status == 400 and answer["message"].startswith(field)


async def test_post_operations_refuse_a_body_that_is_not_json(h: ApiHarness) -> None:
    for op in ("shipquote", "vrd", "createasync"):
        status, answer = await h.raw("POST", op, data=b"{not json")
        assert status == 400 and "not valid JSON" in answer["message"], op
        status, answer = await h.raw("POST", op, data=b"")
        assert status == 400 and "body is required" in answer["message"], op


# -- create order async -----------------------------------------------------------------------


async def test_created_order_appears_after_the_delay_findable_by_po_and_reference(
    h: ApiHarness,
) -> None:
    address = RequestAddress(
        name="Acme Store 12", street1="1 Main St", city="Lyon", postal_code="69002", country="FR"
    )
    order = po(
        "PO-ASYNC-1",
        (ZEBRA_PRINTER, 2),
        (LABELS, 10),
        reference_number="REF-ASYNC-1",
        memo="Deliver to dock 2",
        entered_by_email_address="buyer@acme.example",
        shipping_info=ShippingInfo(ship_method_service_level_code="dpd", shipping_address=address),
    )
    h.clock.advance(30)
    await h.client.create_order_async(CUSTOMER, order)

    h.clock.advance(89)  # the simulator places it 90 s after the request
    assert await h.client.summary(CUSTOMER, po_number="PO-ASYNC-1") == []
    assert await h.client.list_orders(CUSTOMER, reference_number="REF-ASYNC-1") == []
    h.clock.advance(1)
    found = await h.client.summary(CUSTOMER, po_number="PO-ASYNC-1")
    listed = await h.client.list_orders(CUSTOMER, reference_number="REF-ASYNC-1")

    assert len(found) == 1 and [r.order_number for r in listed] == [found[0].order_number]
    row = found[0]
    assert row.status == "Open" and row.order_number == max(h.sim.order_numbers(CUSTOMER))
    assert row.date_entered == row.last_changed == h.clock.now().replace(second=0)
    d = await h.client.detail(CUSTOMER, row.order_number or "")
    assert [(ln.item_number, ln.ordered, ln.shipped) for ln in d.lines] == [
        (ZEBRA_PRINTER, 2, 0),
        (LABELS, 10, 0),
    ]
    assert d.shipping_address is not None
    assert (d.shipping_address.name, d.shipping_address.city) == ("Acme Store 12", "Lyon")
    assert (d.currency, d.shipping_option_description) == ("EUR", "DPD Classic")
    assert (d.memo, d.entered_by_email) == ("Deliver to dock 2", "buyer@acme.example")
    assert d.deliveries == [] and d.total == row.total
    truth = h.sim.truth(CUSTOMER)["sales_orders"]
    assert row.order_number in {r["sales_order_number"] for r in truth}


async def test_requested_delivery_date_sets_the_first_schedule_line(h: ApiHarness) -> None:
    wanted = date(2024, 4, 15)
    await h.client.create_order_async(
        CUSTOMER, po("PO-LATER", (LABELS, 4), requested_delivery_date=wanted)
    )
    h.clock.advance(90)
    (row,) = await h.client.summary(CUSTOMER, po_number="PO-LATER")
    d = await h.client.detail(CUSTOMER, row.order_number or "")
    first = min(
        s.estimated_ship_date for ln in d.lines for s in ln.schedule_lines if s.estimated_ship_date
    )
    assert first == wanted


async def test_items_needing_vendor_data_are_ordered_with_their_vrd_answers(
    h: ApiHarness,
) -> None:
    without = po("PO-VRD", (CISCO_AP, 1))
    with pytest.raises(PermanentApiError) as caught:
        await h.client.create_order_async(CUSTOMER, without)
    assert caught.value.status == 400 and "VRD EU_NAME" in str(caught.value)

    answers = [VrdAnswer(id="EU_NAME", value="Acme"), VrdAnswer(id="EU_COUNTRY", value="US")]
    await h.client.create_order_async(CUSTOMER, po("PO-VRD", (CISCO_AP, 1), vrd=answers))
    h.clock.advance(90)
    assert len(await h.client.summary(CUSTOMER, po_number="PO-VRD")) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"BusinessUnit": None}, "BusinessUnit is required."),
        ({"BusinessUnit": 0}, "BusinessUnit must be a whole number of 1 or more"),
        ({"PONumber": " "}, "PONumber is required."),
        ({"Lines": None}, "Lines is required"),
        ({"Lines": [{"PartNumber": "ZZZ", "Quantity": 1}]}, "Lines[0].PartNumber 'ZZZ' is not"),
        ({"Lines": [{"PartNumber": LABELS, "Quantity": 1.5}]}, "Lines[0].Quantity"),
        ({"Lines": [{"PartNumber": "10015340", "PartType": 1, "Quantity": 1}]}, "PartNumber"),
        ({"Memo": "x" * 501}, "Memo is longer than 500"),
        ({"RequestedDeliveryDate": "next week"}, "RequestedDeliveryDate 'next week' is not"),
        ({"DealIds": ["a", "b", "c", "d"]}, "DealIds takes at most 3"),
        ({"ShippingInfo": {"ShipMethodServiceLevelCode": "DHX"}}, "is not offered to US"),
        ({"ShippingInfo": {"ShippingAddress": {"Name": "x"}}}, "ShippingAddress.Country is"),
        (
            {
                "VRD": [{"ID": "EU_NAME", "Value": "A"}],
                "Lines": [{"PartNumber": CISCO_AP, "Quantity": 1}],
            },
            "VRD EU_COUNTRY",
        ),
    ],
)
async def test_create_refuses_an_invalid_po_and_places_nothing(
    h: ApiHarness, change: dict[str, Any], message: str
) -> None:
    body = {
        "BusinessUnit": 1700,
        "PONumber": "PO-BAD",
        "Lines": [{"PartNumber": LABELS, "Quantity": 1}],
        **change,
    }
    count = len(h.sim.order_numbers(CUSTOMER))
    status, answer = await h.raw("POST", "createasync", body=body)
    assert status == 400
    assert message in answer["message"]
    h.clock.advance(3600)
    assert len(h.sim.order_numbers(CUSTOMER)) == count and h.sim.pending_orders == 0


async def test_create_path_is_case_insensitive_and_the_payer_names_the_customer(
    h: ApiHarness,
) -> None:
    body = {
        "PayerId": NEIGHBOUR,
        "BusinessUnit": "1700",  # Json.NET reads a numeric string into an int field
        "ponumber": "PO-PAYER",  # and matches property names whatever their case
        "Lines": [{"partNumber": "DS2208-SR7U2100AZW", "PartType": 2, "Quantity": 3}],
    }
    status, answer = await h.raw("POST", "createAsync", body=body, customer=None)
    assert (status, answer) == (202, None)
    h.clock.advance(90)
    (row,) = await h.client.summary(NEIGHBOUR, po_number="PO-PAYER")
    assert row.order_number in h.sim.order_numbers(NEIGHBOUR)

    status, answer = await h.raw("POST", "createasync", body=body, customer="2000099999")
    assert status == 403


# -- cancel -----------------------------------------------------------------------------------


async def test_cancel_sets_cancelled_and_cancels_every_open_quantity(h: ApiHarness) -> None:
    s = pick(h, lambda s: status_of(s) == "Open")
    h.clock.advance(timedelta(minutes=5, seconds=20))

    result = await h.client.cancel_order(CUSTOMER, s.order_number)

    assert result.cancelled and result.errors == [] and result.warnings == []
    assert result.sales_order_number == s.order_number
    d = await h.client.detail(CUSTOMER, s.order_number)
    assert d.status == "Cancelled"
    for line in d.lines:
        assert line.canceled == line.ordered and line.canceled
        assert line.committed == line.back_ordered == 0 and line.schedule_lines == []
    (row,) = await h.client.summary(CUSTOMER, sales_order_number=s.order_number)
    assert row.last_changed == h.clock.now().replace(second=0)
    cancelled = await h.client.list_orders(CUSTOMER, status="Cancelled", page_size=1000)
    assert s.order_number in {r.order_number for r in cancelled}


async def test_cancelling_again_warns_and_changes_nothing(h: ApiHarness) -> None:
    s = pick(h, lambda s: status_of(s) == "Open")
    h.sim.set_hold(CUSTOMER, s.order_number, True)  # a held order can still be cancelled
    assert (await h.client.cancel_order(CUSTOMER, s.order_number)).cancelled
    stamp = s.last_changed
    h.clock.advance(600)

    again = await h.client.cancel_order(CUSTOMER, s.order_number)

    assert again.cancelled and again.errors == []
    assert [w.code for w in again.warnings] == ["AlreadyCancelled"]
    assert s.last_changed == stamp


async def test_cancel_refuses_an_order_that_has_shipped(h: ApiHarness) -> None:
    s = pick(h, lambda s: status_of(s) == "Partially Shipped")
    before = await h.client.detail(CUSTOMER, s.order_number)
    stamp = s.last_changed
    h.clock.advance(600)

    result = await h.client.cancel_order(CUSTOMER, s.order_number)

    assert result.order_rejected is False and not result.cancelled
    assert [e.code for e in result.errors] == ["OrderShipped"]
    assert await h.client.detail(CUSTOMER, s.order_number) == before
    assert s.last_changed == stamp


async def test_cancel_takes_the_order_number_from_a_json_body(h: ApiHarness) -> None:
    s = pick(h, lambda s: status_of(s) == "Open")
    status, answer = await h.raw("DELETE", "cancel", body={"SalesOrderNumber": s.order_number})
    assert status == 200
    assert answer == {
        "SalesOrderNumber": s.order_number,
        "OrderRejected": True,
        "Errors": [],
        "Warnings": [],
    }
    assert status_of(s) == "Cancelled"


async def test_cancel_refuses_unknown_foreign_and_missing_orders(h: ApiHarness) -> None:
    foreign = h.sim.order_numbers(NEIGHBOUR)[0]
    for params, status in (
        ({"salesOrderNumber": "1234567890"}, 404),
        ({"salesOrderNumber": foreign}, 403),
        ({}, 400),
    ):
        got, body = await h.raw("DELETE", "cancel", params=params)
        assert (got, body["statusCode"]) == (status, status), params
    assert status_of(h.order(foreign)) != "Cancelled"
    status, _ = await h.raw("GET", "cancel", params={"salesOrderNumber": foreign})
    assert status == 404  # wrong method: no such operation


async def test_an_order_created_async_can_be_cancelled_once_it_appears(h: ApiHarness) -> None:
    await h.client.create_order_async(CUSTOMER, po("PO-CANCEL", (LABELS, 3)))
    h.clock.advance(90)
    (row,) = await h.client.summary(CUSTOMER, po_number="PO-CANCEL")
    assert (await h.client.cancel_order(CUSTOMER, row.order_number or "")).cancelled
    (after,) = await h.client.summary(CUSTOMER, po_number="PO-CANCEL")
    assert after.status == "Cancelled"


# -- the lifecycle as the read operations see it ------------------------------------------------


async def test_a_shipment_adds_deliveries_parcels_serials_and_tracking(h: ApiHarness) -> None:
    s = pick(
        h,
        lambda s: (
            status_of(s) == "Open"
            and any(
                det.serial_number for dl in h.sim.plan(s).deliveries[0].lines for det in dl.details
            )
        ),
    )
    number = s.order_number
    assert await h.client.serials(CUSTOMER, sales_order_number=number) == []
    (tracked,) = (await h.client.tracking(CUSTOMER, sales_order_numbers=[number])).orders
    assert tracked.deliveries == []
    h.clock.advance(timedelta(days=1, seconds=42))

    assert h.sim.ship_next(CUSTOMER, number)

    d = await h.client.detail(CUSTOMER, number)
    assert len(d.deliveries) == 1
    assert d.status == ("Completely Shipped" if s.n_deliveries == 1 else "Partially Shipped")
    delivery = d.deliveries[0]
    assert delivery.parcels and all(p.tracking_number for p in delivery.parcels)
    assert delivery.shipped_date == h.clock.now().astimezone(eastern()).date()
    (row,) = await h.client.summary(CUSTOMER, sales_order_number=number)
    assert row.last_changed == h.clock.now().replace(second=0)
    serials = await h.client.serials(CUSTOMER, sales_order_number=number, page_size=1000)
    assert sorted(r.serial_number or "" for r in serials) == sorted(
        x.serial_number or "" for li in delivery.line_items for x in li.details if x.serial_number
    )
    assert {r.invoice_number for r in serials} == set(d.invoice_numbers)
    (tracked,) = (await h.client.tracking(CUSTOMER, sales_order_numbers=[number])).orders
    assert [x.delivery_number for x in tracked.deliveries] == [delivery.delivery_document_number]
    found = await h.client.summary(CUSTOMER, serial_numbers=[serials[0].serial_number or ""])
    assert [r.order_number for r in found] == [number]


async def test_hold_and_release_show_in_list_and_summary(h: ApiHarness) -> None:
    s = pick(h, lambda s: status_of(s) == "Open")
    h.clock.advance(300)
    h.sim.set_hold(CUSTOMER, s.order_number, True)
    held = await h.client.summary(CUSTOMER, status="On Hold", page_size=1000)
    assert s.order_number in {r.order_number for r in held}
    h.clock.advance(300)
    h.sim.set_hold(CUSTOMER, s.order_number, False)
    (row,) = await h.client.list_orders(CUSTOMER, sales_order_number=s.order_number)
    assert row.status == "Open" and row.last_changed == h.clock.now().replace(second=0)
