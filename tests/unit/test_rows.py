"""payload → model → rows, as plain functions: no network, no database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from syncer.api.models import parse_detail, parse_list_row
from syncer.errors import PayloadError
from syncer.sync.windows import needs_fetch
from syncer.warehouse import schema
from syncer.warehouse.loader import Stored
from syncer.warehouse.rows import CHILD_COLUMNS, HEADER_COLUMNS, build_rows

SEED = Path(__file__).resolve().parent.parent / "fixtures" / "seed_detail.json"
FETCHED = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
LISTED = parse_list_row(
    {"OrderNumber": "string", "Status": "Open", "DateEntered": "3/7/2024 2:15 PM",
     "LastChanged": "11/26/2026 9:05 AM"}
)  # fmt: skip


ORDER = {"SalesOrderNumber": "string", "Status": "Open"}  # what every usable detail has


def rows_of(payload: dict[str, Any], listed: Any = LISTED) -> Any:
    payload = {**ORDER, **payload}
    raw = json.dumps(payload).encode()
    return build_rows("1000012345", listed, parse_detail(payload), raw, FETCHED)


def named(table: str, row: tuple[Any, ...]) -> dict[str, Any]:
    cols = HEADER_COLUMNS if table == "sales_orders" else CHILD_COLUMNS[table]
    return dict(zip(cols, row, strict=True))


def test_seed_sample_detail_becomes_one_row_per_table_with_decimal_line_numbers_rounded() -> None:
    out = rows_of(json.loads(SEED.read_text()))
    header = named("sales_orders", out.header)
    assert header["customer_number"] == "1000012345"
    assert header["sales_order_number"] == "string"
    assert header["total"] == Decimal("0.131983966780355")
    assert header["billing_postal_code"] == "string"
    assert header["last_ship_date"] is None  # "string" is no date: NULL, the raw text stays in raw
    assert out.unreadable_dates == (
        ("last_ship_date", "string"), ("estimated_ship_date", "string"), ("shipped_date", "string")
    )  # fmt: skip
    assert header["date_entered"] == datetime(2024, 3, 7, 19, 15, tzinfo=UTC)
    line = named("sales_order_lines", out.children["sales_order_lines"][0])
    assert line["line_number"] == 0  # 0.108… rounds to 0, as real clients do
    assert line["po_line_number"] == 1  # 0.876… rounds to 1
    assert line["ordered"] == Decimal("0.533175522259318")
    counts = {t: len(r) for t, r in out.children.items()}
    assert counts == {
        "sales_order_lines": 1,
        "sales_order_line_schedules": 1,
        "sales_order_line_serials": 1,
        "sales_order_line_invoices": 0,
        "sales_order_line_tracking_numbers": 0,
        "sales_order_invoices": 1,
        "sales_order_tracking_numbers": 1,
        "deliveries": 1,
        "delivery_parcels": 1,
        "delivery_lines": 1,
        "delivery_line_serials": 1,
    }
    serial = named("delivery_line_serials", out.children["delivery_line_serials"][0])
    assert serial["seq"] == 1 and serial["mac_address_unformatted"] == "string"


def test_row_tuples_match_the_schema_column_order() -> None:
    assert HEADER_COLUMNS[:2] == ("customer_number", "sales_order_number")
    assert set(HEADER_COLUMNS) == {c.name for c in schema.sales_orders.columns} - {
        "first_seen_at", "synced_at"
    }  # fmt: skip
    out = rows_of(json.loads(SEED.read_text()))
    assert len(out.header) == len(HEADER_COLUMNS)
    for table, rows in out.children.items():
        for row in rows:
            assert len(row) == len(CHILD_COLUMNS[table]), table
    # the status in the header is the detail's
    assert named("sales_orders", out.header)["status"] == out.status == "string"


def test_quirks_are_tolerated_null_arrays_float_integers_invoice_string_misspelt_key() -> None:
    payload = {
        "SalesOrderNumber": "string",
        "SalesOrderLines": [
            {"LineNumber": 10.0, "Ordered": 5.0, "SerialNumbers": None, "ScheduleLines": None},
            {"LineNumber": "20", "Ordered": 3, "ScheduleLines": [{"EstimatedShipDate": ""}]},
        ],
        "InvoiceNmbers": "INV1,INV2",
        "TrackingNumbers": None,
        "Deliveries": None,
        "Memo": "Größe ✓ 配送 " * 50,
    }
    out = rows_of(payload)
    assert [
        named("sales_order_lines", r)["line_number"] for r in out.children["sales_order_lines"]
    ] == [10, 20]
    assert out.children["sales_order_invoices"] == [
        ("1000012345", "string", "INV1"), ("1000012345", "string", "INV2")
    ]  # fmt: skip
    assert out.children["deliveries"] == []
    sched = named("sales_order_line_schedules", out.children["sales_order_line_schedules"][0])
    assert sched["estimated_ship_date"] is None and sched["seq"] == 1
    assert out.unreadable_dates == ()  # "" is an empty date, not an unreadable one
    assert named("sales_order_lines", out.children["sales_order_lines"][0])["ordered"] == Decimal(5)
    assert named("sales_orders", out.header)["memo"] == payload["Memo"]  # unicode kept as is


def test_text_over_the_limit_is_cut_to_it_with_a_marker_saying_how_much() -> None:
    memo = "ab" * 6_000
    out = rows_of(
        {"Memo": memo, "SalesOrderLines": [{"LineNumber": 1, "ItemNumber": "i" * 10_001}]}
    )
    # The start that fits beside the longest marker the cut could need, then the marker.
    stored = named("sales_orders", out.header)["memo"]
    assert stored == memo[:9_970] + "…[truncated 2,030 characters]"
    item = named("sales_order_lines", out.children["sales_order_lines"][0])["item_number"]
    assert item == "i" * 9_970 + "…[truncated 31 characters]"
    assert json.loads(named("sales_orders", out.header)["raw"])["Memo"] == memo
    # an array of strings given as one comma-separated string: each string on its own
    out = rows_of({"InvoiceNumbers": "1, " + "2" * 10_001})
    assert [r[2] for r in out.children["sales_order_invoices"]] == [
        "1", "2" * 9_970 + "…[truncated 31 characters]"
    ]  # fmt: skip


def test_invoice_numbers_as_a_single_string_become_rows() -> None:
    out = rows_of({"SalesOrderNumber": "string", "InvoiceNumbers": "9001"})
    assert out.children["sales_order_invoices"] == [("1000012345", "string", "9001")]


def test_an_eastern_time_in_the_repeated_dst_hour_is_the_first_and_compares_equal() -> None:
    row = parse_list_row({"OrderNumber": "1", "LastChanged": "11/1/2026 1:30 AM"})
    assert row.last_changed == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 1:30 AM EDT
    # what Postgres gives back must compare equal, or the order would be fetched every run
    assert row.last_changed == row.last_changed.astimezone(UTC).replace(tzinfo=UTC)
    assert needs_fetch(row, Stored(datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
                                   datetime(2026, 11, 1, 7, 0, tzinfo=UTC), "h"),
                       timedelta(minutes=2)) is False  # fmt: skip


def test_dates_in_every_documented_format_parse() -> None:
    row = parse_list_row(
        {"OrderNumber": "1", "DateEntered": "2021-01-19T10:22:35.8032978-05:00",
         "LastChanged": "12/31/2025 11:59 PM"}
    )  # fmt: skip
    assert row.date_entered == datetime(2021, 1, 19, 15, 22, 35, 803297, tzinfo=UTC)
    assert row.last_changed == datetime(2026, 1, 1, 4, 59, tzinfo=UTC)
    assert row.last_changed.utcoffset() == timedelta(0)  # instants are kept in UTC
    d = parse_detail({"Deliveries": [{"DeliveryDocumentNumber": "8", "ShippedDate": "2026-02-03"}]})
    assert d.deliveries[0].shipped_date == date(2026, 2, 3)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"SalesOrderLines": [{"LineNumber": 1}, {"LineNumber": 1.0}]}, "duplicate LineNumber 1"),
        ({"SalesOrderLines": [{"LineNumber": 1, "Ordered": -2}]}, "Ordered is negative"),
        ({"SalesOrderLines": [{"LineNumber": 1, "Ordered": "lots"}]}, "not a number"),
        ({"SalesOrderLines": [{"Ordered": 1}]}, "no LineNumber"),
        ({"SalesOrderLines": [{"LineNumber": {"a": 1}}]}, "expected a number, got dict"),
        (
            {"Deliveries": [{"DeliveryDocumentNumber": "8"}, {"DeliveryDocumentNumber": "8"}]},
            "duplicate DeliveryDocumentNumber 8",
        ),
        ({"Deliveries": [{"DeliveryStatus": "C"}]}, "no DeliveryDocumentNumber"),
        ({"SalesOrderNumber": "other"}, "not 'string'"),
        ({"Memo": ["not", "text"]}, "Memo: expected text, got list"),
        ({"SalesOrderNumber": "x" * 10_001}, "SalesOrderNumber: text longer than 10000"),
        ({"Total": "1e200000"}, "number too large"),
        ({"TaxAmount": 1e300}, "number too large"),
        ({"FreightAmount": "NaN"}, "finite"),
    ],
)
def test_bad_payloads_raise_a_readable_reason(payload: dict[str, Any], reason: str) -> None:
    with pytest.raises(PayloadError) as exc:
        rows_of(payload)
    assert reason in str(exc.value)


LISTED_WITH_LINES = parse_list_row({"OrderNumber": "string", "SalesOrderLines": [{}, {}]})
LINE = {"LineNumber": 10, "Ordered": 1}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({}, "has no SalesOrderNumber, no Status, no SalesOrderLines (the list shows 2)"),
        ({"SalesOrderNumber": "string"}, "has no Status, no SalesOrderLines (the list shows 2)"),
        ({"SalesOrderNumber": "string", "Status": " ", "SalesOrderLines": [LINE]}, "has no Status"),
        ({"Status": "Open", "SalesOrderLines": [LINE]}, "has no SalesOrderNumber"),
        ({"SalesOrderNumber": "string", "Status": "Open", "SalesOrderLines": None},
         "has no SalesOrderLines (the list shows 2)"),
        ({"SalesOrderNumber": "other", "Status": "Open"}, "is for order 'other', not 'string'"),
    ],
)  # fmt: skip
def test_a_detail_that_is_not_a_usable_order_is_refused(
    payload: dict[str, Any], reason: str
) -> None:
    with pytest.raises(PayloadError) as exc:
        build_rows("1", LISTED_WITH_LINES, parse_detail(payload), b"{}", FETCHED)
    assert str(exc.value) == f"not a usable order: the detail {reason}"


@pytest.mark.parametrize(
    ("listed", "payload"),
    [
        # null and missing arrays are empty arrays (§10): no deliveries, invoices or tracking
        (LISTED_WITH_LINES, {"SalesOrderLines": [LINE], "Deliveries": None}),
        (LISTED_WITH_LINES, {"SalesOrderLines": [LINE]}),
        # an order the list shows without lines may come without them
        (LISTED, {"SalesOrderLines": None}),
        (LISTED, {}),
    ],
)
def test_a_detail_with_its_number_status_and_listed_lines_is_usable(
    listed: Any, payload: dict[str, Any]
) -> None:
    out = rows_of(payload, listed)
    assert named("sales_orders", out.header)["status"] == "Open"
    assert len(out.children["sales_order_lines"]) == len(payload.get("SalesOrderLines") or [])


def test_a_detail_that_is_not_an_object_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="not an object"):
        parse_detail([1, 2])


def test_content_hash_changes_with_content_and_only_with_content() -> None:
    a = rows_of({"SalesOrderNumber": "string", "Memo": "a"})
    b = rows_of({"SalesOrderNumber": "string", "Memo": "a"})
    c = rows_of({"SalesOrderNumber": "string", "Memo": "b"})
    assert a.content_hash == b.content_hash != c.content_hash


class TestSkipRule:
    lc = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
    listed = parse_list_row({"OrderNumber": "1", "LastChanged": "11/27/2026 9:05 AM"})
    margin = timedelta(seconds=120)

    def stored(self, fetched: datetime, last_changed: datetime | None = None) -> Stored:
        return Stored(last_changed or self.lc, fetched, "h")

    def test_new_order_is_fetched(self) -> None:
        assert needs_fetch(self.listed, None, self.margin)

    def test_changed_stamp_is_fetched(self) -> None:
        held = self.stored(self.lc + timedelta(hours=1), self.lc - timedelta(minutes=1))
        assert needs_fetch(self.listed, held, self.margin)

    def test_same_stamp_fetched_safely_after_the_minute_is_skipped(self) -> None:
        held = self.stored(self.lc + timedelta(minutes=1) + self.margin)
        assert not needs_fetch(self.listed, held, self.margin)

    def test_same_stamp_fetched_within_the_minute_is_fetched_again(self) -> None:
        # a second change later in the same minute would carry the same LastChanged
        held = self.stored(self.lc + timedelta(seconds=30))
        assert needs_fetch(self.listed, held, self.margin)

    def test_same_stamp_fetched_inside_the_margin_is_fetched_again(self) -> None:
        held = self.stored(self.lc + timedelta(minutes=1) + self.margin - timedelta(seconds=1))
        assert needs_fetch(self.listed, held, self.margin)
