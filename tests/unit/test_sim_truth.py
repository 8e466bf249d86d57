"""Ground truth matches the warehouse schema and the payloads; the data is realistic."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import Date, Integer, Numeric, Text
from sqlalchemy.dialects.postgresql import TIMESTAMP

from syncer.sim import FakeClock, SimConfig, Simulator
from syncer.sim.payloads import list_row
from syncer.warehouse import schema

START = datetime(2024, 3, 7, 19, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(SimConfig(orders_per_account=150), FakeClock(START))


@pytest.fixture(scope="module")
def truth(sim: Simulator) -> dict[str, list[dict[str, object]]]:
    return sim.truth()


def details(sim: Simulator, customer: str) -> list[dict[str, Any]]:
    out = []
    for n in sim.order_numbers(customer):
        s = sim.find(n)
        assert s is not None
        out.append(orjson.loads(sim.detail_bytes(s, False)))
    return out


def by_order(rows: list[dict[str, object]]) -> dict[object, list[dict[str, object]]]:
    grouped: dict[object, list[dict[str, object]]] = {}
    for r in rows:
        grouped.setdefault(r["sales_order_number"], []).append(r)
    return grouped


def test_truth_has_every_data_table_with_exactly_its_columns(
    truth: dict[str, list[dict[str, object]]],
) -> None:
    assert set(truth) == {t.name for t in schema.DATA_TABLES}
    for table in schema.DATA_TABLES:
        columns = {c.name for c in table.columns} - schema.BOOKKEEPING_COLUMNS
        assert all(set(row) == columns for row in truth[table.name]), table.name


def test_truth_values_have_the_columns_python_types(
    truth: dict[str, list[dict[str, object]]],
) -> None:
    expected = {Text: str, Integer: int, Numeric: Decimal, Date: date, TIMESTAMP: datetime}
    for table in schema.DATA_TABLES:
        for column in table.columns:
            if column.name in schema.BOOKKEEPING_COLUMNS:
                continue
            kind = next(v for k, v in expected.items() if isinstance(column.type, k))
            for row in truth[table.name]:
                value = row[column.name]
                if value is None:
                    assert column.nullable, (table.name, column.name)
                    continue
                assert type(value) is kind, (table.name, column.name, value)
                if isinstance(value, datetime):
                    assert value.tzinfo is not None


def test_truth_primary_keys_are_unique(truth: dict[str, list[dict[str, object]]]) -> None:
    for table in schema.DATA_TABLES:
        keys = [tuple(r[c.name] for c in table.primary_key.columns) for r in truth[table.name]]
        assert len(keys) == len(set(keys)), table.name


def test_truth_agrees_with_detail_payloads(
    sim: Simulator, truth: dict[str, list[dict[str, object]]]
) -> None:
    customer = sim.customer_numbers()[1]
    headers = {r["sales_order_number"]: r for r in truth["sales_orders"]}
    tables = {t: by_order(truth[t]) for t in truth}
    for d in details(sim, customer):
        n = d["SalesOrderNumber"]
        h = headers[n]
        assert (h["status"], h["po_number"], h["memo"]) == (d["Status"], d["PONumber"], d["Memo"])
        assert h["total"] == Decimal(str(d["Total"]))
        assert h["shipping_city"] == d["ShippingAddress"]["City"]
        lines = tables["sales_order_lines"].get(n, [])
        assert [(r["line_number"], r["shipped"], r["price"]) for r in lines] == [
            (x["LineNumber"], Decimal(x["Shipped"]), Decimal(str(x["Price"])))
            for x in d["SalesOrderLines"]
        ]
        assert len(tables["sales_order_line_schedules"].get(n, [])) == sum(
            len(x["ScheduleLines"]) for x in d["SalesOrderLines"]
        )
        assert len(tables["sales_order_line_serials"].get(n, [])) == sum(
            len(x["SerialNumbers"]) for x in d["SalesOrderLines"]
        )
        assert [r["delivery_document_number"] for r in tables["deliveries"].get(n, [])] == [
            dv["DeliveryDocumentNumber"] for dv in d["Deliveries"]
        ]
        parcels = tables["delivery_parcels"].get(n, [])
        assert [(r["tracking_number"], r["weight"]) for r in parcels] == [
            (p["TrackingNumber"], Decimal(str(p["Weight"])))
            for dv in d["Deliveries"]
            for p in dv["Parcels"]
        ]
        assert len(tables["delivery_lines"].get(n, [])) == sum(
            len(dv["LineItems"]) for dv in d["Deliveries"]
        )
        serials = tables["delivery_line_serials"].get(n, [])
        assert [(r["serial_number"], r["mac_address_unformatted"]) for r in serials] == [
            (x["SerialNumber"], x["MACAddressUnformatted"])
            for dv in d["Deliveries"]
            for li in dv["LineItems"]
            for x in li["LineItemDetails"]
        ]
        assert [r["invoice_number"] for r in tables["sales_order_invoices"].get(n, [])] == d[
            "InvoiceNumbers"
        ]
        assert [
            r["tracking_number"] for r in tables["sales_order_tracking_numbers"].get(n, [])
        ] == (d["TrackingNumbers"])


def test_truth_agrees_with_list_rows(
    sim: Simulator, truth: dict[str, list[dict[str, object]]]
) -> None:
    headers = {r["sales_order_number"]: r for r in truth["sales_orders"]}
    for customer in sim.customer_numbers():
        for n in sim.order_numbers(customer):
            s = sim.find(n)
            assert s is not None
            row = list_row(sim.view(s), False)
            h = headers[n]
            changed = h["last_changed"]
            assert isinstance(changed, datetime)
            wall = changed.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None)
            assert datetime.strptime(row["LastChanged"], "%m/%d/%Y %I:%M %p") == wall
            assert h["status"] == row["Status"]
            assert h["customer_number"] == customer


def test_line_level_invoice_and_tracking_tables_stay_empty(
    truth: dict[str, list[dict[str, object]]],
) -> None:
    assert truth["sales_order_line_invoices"] == []
    assert truth["sales_order_line_tracking_numbers"] == []
    assert truth["sales_order_invoices"] and truth["sales_order_tracking_numbers"]


def test_truth_for_one_customer_holds_only_that_customer(sim: Simulator) -> None:
    customer = sim.customer_numbers()[2]
    one = sim.truth(customer)
    assert {r["customer_number"] for rows in one.values() for r in rows} == {customer}
    assert len(one["sales_orders"]) == 150


def test_line_quantities_and_totals_add_up(sim: Simulator) -> None:
    for d in details(sim, sim.customer_numbers()[0]):
        cents = 0
        for line in d["SalesOrderLines"]:
            parts = line["Shipped"] + line["Committed"] + line["BackOrdered"] + line["Canceled"]
            assert line["Ordered"] == parts
            assert (
                sum(s["Confirmed"] for s in line["ScheduleLines"])
                == line["Committed"] + line["BackOrdered"]
            )
            shipped = sum(
                li["QuantityShipped"]
                for dv in d["Deliveries"]
                for li in dv["LineItems"]
                if li["OrderLineNumber"] == line["LineNumber"]
            )
            assert shipped == line["Shipped"]
            cents += round(line["Price"] * 100) * line["Ordered"]
        extras = d["FreightAmount"] + d["TaxAmount"] + d["InsuranceAmount"]
        assert round(d["Total"] * 100) == cents + round(extras * 100)


def test_delivery_details_link_to_parcels_and_lines(sim: Simulator) -> None:
    for d in details(sim, sim.customer_numbers()[0]):
        lines = {x["LineNumber"]: x for x in d["SalesOrderLines"]}
        for dv in d["Deliveries"]:
            cartons = {p["CartonNumber"] for p in dv["Parcels"]}
            for li in dv["LineItems"]:
                assert li["OrderLineNumber"] in lines
                assert {x["CartonNumber"] for x in li["LineItemDetails"]} <= cartons
                serials = [x["SerialNumber"] for x in li["LineItemDetails"] if x["SerialNumber"]]
                assert set(serials) <= set(lines[li["OrderLineNumber"]]["SerialNumbers"])
                if serials:
                    assert len(serials) == li["QuantityShipped"]


def test_identifiers_are_unique_and_well_formed(
    sim: Simulator, truth: dict[str, list[dict[str, object]]]
) -> None:
    numbers = [n for c in sim.customer_numbers() for n in sim.order_numbers(c)]
    assert len(numbers) == len(set(numbers)) == 450
    assert all(re.fullmatch(r"\d{10}", n) for n in numbers)
    deliveries = [r["delivery_document_number"] for r in truth["deliveries"]]
    assert len(deliveries) == len(set(deliveries))
    serials = [r["serial_number"] for r in truth["delivery_line_serials"] if r["serial_number"]]
    assert len(serials) == len(set(serials))
    for r in truth["delivery_line_serials"]:
        mac, raw = r["mac_address"], r["mac_address_unformatted"]
        if mac is not None:
            assert re.fullmatch(r"([0-9A-F]{2}:){5}[0-9A-F]{2}", str(mac))
            assert raw == str(mac).replace(":", "")
    formats = {"UPS": r"1Z[0-9A-Z]{16}", "FEDEX": r"\d{12}", "USPS": r"94\d{20}", "DHL": r"\d{10}"}
    for p in truth["delivery_parcels"]:
        pattern = formats.get(str(p["carrier_code"]))
        if pattern:
            assert re.fullmatch(pattern, str(p["tracking_number"])), p
        assert re.fullmatch(r"\d{20}", str(p["carton_number"]))


def test_data_covers_the_variety_a_warehouse_must_handle(
    truth: dict[str, list[dict[str, object]]],
) -> None:
    orders = truth["sales_orders"]
    statuses = Counter(r["status"] for r in orders)
    assert set(statuses) == {
        "Open", "On Hold", "Partially Shipped", "Completely Shipped", "Cancelled", "Quotation/Sales"
    }  # fmt: skip
    assert {r["currency"] for r in orders} == {"USD", "CAD", "EUR", "GBP"}
    assert any(r["memo"] and not str(r["memo"]).isascii() for r in orders)
    lines_per_order = Counter(
        Counter(r["sales_order_number"] for r in truth["sales_order_lines"]).values()
    )
    assert min(lines_per_order) == 1 and max(lines_per_order) > 10
    assert lines_per_order[1] > lines_per_order[8]  # skewed toward few lines
    per_order = Counter(r["sales_order_number"] for r in truth["deliveries"])
    assert set(per_order.values()) == {1, 2, 3}
    assert {r["weight_uom"] for r in truth["delivery_parcels"]} == {"LB", "KG"}
    assert len({r["carrier_code"] for r in truth["delivery_parcels"]}) >= 5
    details = truth["delivery_line_serials"]
    assert any(r["serial_number"] is None for r in details)
    assert any(r["mac_address"] is None and r["serial_number"] for r in details)
    assert any(r["mac_address"] for r in details)
    for r in orders:
        assert r["last_changed"] >= r["date_entered"]  # type: ignore[operator]
