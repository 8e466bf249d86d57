"""serial_lookup: a serial or MAC address leads to its order, line, delivery, carton, tracking
number and — only when it is certain — its invoice.

The simulator invoices each shipped delivery separately, and the API lists the invoice numbers
per order: for an order with several deliveries the view must not guess. The true invoice of each
delivery is read from the simulator's order view, which the payload never exposes per delivery.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from tests.integration.conftest import SimHarness
from tests.integration.views import (
    by_key,
    key,
    load_payload,
    payload_of,
    pick,
    read_view,
    sync_all,
)

COLUMNS = (
    "serial_number mac_address mac_address_unformatted customer_number sales_order_number "
    "po_number line_number item_number delivery_document_number delivery_line_number "
    "shipped_date carton_number carrier_code tracking_number invoice_number invoice_basis "
    "candidate_invoice_numbers"
)


def true_invoices(h: SimHarness) -> dict[tuple[str, str, str], str]:
    """(customer, order, delivery) → the invoice the simulator issued for that delivery."""
    out = {}
    for customer in h.customers:
        for state in h.sim.orders_of(customer):
            for dv in h.sim.view(state).deliveries:
                delivery = dv.plan.delivery_document_number
                out[(customer, state.order_number, delivery)] = dv.plan.invoice_number
    return out


async def test_every_shipped_serial_leads_to_its_order_delivery_carton_and_tracking_number(
    harness: SimHarness,
) -> None:
    await sync_all(harness)
    truth = harness.sim.truth()
    orders = by_key(truth["sales_orders"])
    lines = by_key(truth["sales_order_lines"], "line_number")
    deliveries = by_key(truth["deliveries"], "delivery_document_number")
    dlines = by_key(truth["delivery_lines"], "delivery_document_number", "delivery_line_number")
    cartons = by_key(truth["delivery_parcels"], "delivery_document_number", "carton_number")
    invoices: dict[Any, list[str]] = defaultdict(list)
    for i in truth["sales_order_invoices"]:
        invoices[key(i)].append(i["invoice_number"])
    expected = []
    for s in truth["delivery_line_serials"]:
        if s["serial_number"] is None and s["mac_address"] is None:
            continue  # a carton record of a non-serialised item: nothing to look up
        delivery = s["delivery_document_number"]
        line = dlines[(*key(s), delivery, s["delivery_line_number"])]["order_line_number"]
        parcel = cartons[(*key(s), delivery, s["carton_number"])]
        candidates = sorted(invoices[key(s)])
        certain = candidates[0] if len(candidates) == 1 else None
        expected.append((
            s["serial_number"], s["mac_address"], s["mac_address_unformatted"], *key(s),
            orders[key(s)]["po_number"], line, lines[(*key(s), line)]["item_number"], delivery,
            s["delivery_line_number"], deliveries[(*key(s), delivery)]["shipped_date"],
            s["carton_number"], parcel["carrier_code"], parcel["tracking_number"], certain,
            "order" if certain else "ambiguous", tuple(candidates),
        ))  # fmt: skip

    _, rows = await read_view(harness.engine, "serial_lookup")

    actual = [pick(r, COLUMNS) for r in rows]
    assert Counter((*r[:-1], tuple(r[-1])) for r in actual) == Counter(expected)
    bases = Counter(r["invoice_basis"] for r in rows)
    assert bases["order"] > 100 and bases["ambiguous"] > 100  # both cases exercised
    assert sum(1 for r in rows if r["mac_address"]) > 100


async def test_serial_lookup_never_names_a_wrong_invoice_and_always_lists_the_right_one(
    harness: SimHarness,
) -> None:
    await sync_all(harness)
    truth_of = true_invoices(harness)

    _, rows = await read_view(harness.engine, "serial_lookup")

    assert rows
    for r in rows:
        true = truth_of[
            (r["customer_number"], r["sales_order_number"], r["delivery_document_number"])
        ]
        assert true in r["candidate_invoice_numbers"]
        assert r["invoice_number"] in (None, true)


async def test_a_serial_or_mac_finds_its_single_row(harness: SimHarness) -> None:
    await sync_all(harness)
    truth = harness.sim.truth()
    unit = next(s for s in truth["delivery_line_serials"] if s["mac_address"])

    _, by_serial = await read_view(
        harness.engine, "serial_lookup", f"WHERE serial_number = '{unit['serial_number']}'"
    )
    _, by_mac = await read_view(
        harness.engine,
        "serial_lookup",
        f"WHERE mac_address_unformatted = '{unit['mac_address_unformatted']}'",
    )

    assert len(by_serial) == 1 and by_serial == by_mac
    assert key(by_serial[0]) == key(unit)
    assert by_serial[0]["carton_number"] == unit["carton_number"]


async def test_line_level_invoices_and_serials_the_api_may_send_are_used(
    harness: SimHarness,
) -> None:
    """Not what the simulator sends, but allowed by the payload: an invoice listed on a line
    makes the line's serials certain; a serial listed only on a line is still found."""
    await sync_all(harness)
    customer = harness.customers[0]
    truth_of = true_invoices(harness)
    state = next(
        s
        for s in harness.sim.orders_of(customer)
        if len(harness.sim.view(s).deliveries) >= 2
        and any(lv.serials for lv in harness.sim.view(s).lines)
    )
    listed, detail = payload_of(harness, state.order_number)
    delivery = detail["Deliveries"][0]
    shipped = delivery["LineItems"][0]
    line_number = shipped["OrderLineNumber"]
    invoice = truth_of[(customer, state.order_number, delivery["DeliveryDocumentNumber"])]
    for line in detail["SalesOrderLines"]:
        if line["LineNumber"] == line_number:
            line["InvoiceNumbers"] = [invoice]
            line["SerialNumbers"] = [*line["SerialNumbers"], "ONLY-ON-THE-LINE-1"]
    await load_payload(harness, customer, listed, detail)

    _, rows = await read_view(
        harness.engine, "serial_lookup", f"WHERE sales_order_number = '{state.order_number}'"
    )

    on_line = [r for r in rows if r["line_number"] == line_number]
    others = [r for r in rows if r["line_number"] != line_number]
    assert on_line and all(r["invoice_number"] == invoice for r in on_line)
    assert all(r["invoice_basis"] == "line" for r in on_line)
    assert all(r["invoice_basis"] == "ambiguous" and r["invoice_number"] is None for r in others)
    extra = [r for r in rows if r["serial_number"] == "ONLY-ON-THE-LINE-1"]
    assert len(extra) == 1
    assert extra[0]["delivery_document_number"] is None and extra[0]["carton_number"] is None
    assert extra[0]["item_number"] == next(
        line["ItemNumber"]
        for line in detail["SalesOrderLines"]
        if line["LineNumber"] == line_number
    )
    # Serials on both the line and a delivery appear once, from the delivery.
    serials = [r["serial_number"] for r in rows]
    assert len(serials) == len(set(serials))
