"""The order detail and the list row as the API sends them: one description, one decoder.

The structs below name every field we read, by its API name. Each field's type is a kind of
syncer.api.values (`Text`, `Key`, `Num`, `Whole`, `Day`, `Strings`, an object, an array of
objects) that says both its canonical form, which msgspec checks in C as it decodes, and the
tolerant rule of docs/api.md §10 for any other form: every field may be null or missing, null
arrays are empty, integers may come as 10.0, dates in several formats (unreadable ones become
None and are listed in `unreadable_dates`), InvoiceNumbers as a string or under the misspelt key
InvoiceNmbers, text past MAX_TEXT is cut with a marker.

`decode` reads a canonical body straight into the structs. Any other body is read as JSON and
each field's rule builds the same structs (syncer.api.reading), naming the field's path in what
it refuses (PayloadError: `SalesOrderLines.3.Ordered: not a number: 'abc'`). Numbers are read
from their JSON text, exactly (1.10 stays 1.10); past the bounds of syncer.api.values they are
refused, readably.
Why msgspec, and one decoder: docs/decisions/0012-msgspec-single-detail-decoder.md.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import orjson
from msgspec import field

from syncer.api import jsonread
from syncer.api.reading import Reading, bounds_check, read
from syncer.api.values import (
    Count,
    Day,
    Instant,
    Key,
    Misspelt,
    Num,
    Object,
    Strings,
    Text,
    UnreadableDate,
    Whole,
    items,
    kind_of,
    misspelt,
    strings,
)
from syncer.errors import PayloadError

# -- the detail (docs/api.md §3.3) -----------------------------------------------------------


class Address(Object):
    name: Text = None
    attn: Text = None
    street1: Text = None
    street2: Text = None
    city: Text = None
    state: Text = None
    postal_code: Text = None
    country: Text = None


class ScheduleLine(Object):
    estimated_ship_date: Day = None
    confirmed: Num = None


class Line(Object):
    """An order line, as the detail shows it (the list shows part of it: `ListLine`)."""

    line_number: Whole = None
    po_line_number: Whole = field(default=None, name="POLineNumber")
    item_number: Text = None
    product_mfr_part: Text = None
    ordered: Num = None
    committed: Num = None
    back_ordered: Num = None
    shipped: Num = None
    canceled: Num = None
    price: Num = None
    currency: Text = None
    schedule_lines: list[ScheduleLine] = items()
    reference_line_number: Text = None
    customer_part_number: Text = None
    customer_part_reference: Text = None
    product_description: Text = None
    item_cat_code: Text = None
    item_cat_desc: Text = None
    matl_grp_code: Text = None
    matl_grp_desc: Text = None
    reject_reason: Text = None
    serial_numbers: Strings = strings()
    # Not in the reference's line model, but the seed page's nesting is ambiguous: accept both.
    invoice_numbers: Strings = strings()
    invoice_nmbers: Misspelt = misspelt("InvoiceNmbers")
    tracking_numbers: Strings = strings()


class Parcel(Object):
    carton_number: Text = None
    carrier_code: Text = None
    tracking_type: Text = None
    tracking_number: Text = None
    weight: Num = None
    weight_uom: Text = field(default=None, name="WeightUOM")


class LineItemDetail(Object):
    carton_number: Text = None
    serial_number: Text = None
    mac_address: Text = field(default=None, name="MACAddress")
    mac_address_unformatted: Text = field(default=None, name="MACAddressUnformatted")


class DeliveryLine(Object):
    delivery_line_number: Whole = field(default=None, name="DeliveryDocumentLineNumber")
    order_line_number: Whole = None
    item_number: Text = None
    quantity_ordered: Num = None
    quantity_picked: Num = None
    quantity_scanned: Num = None
    quantity_shipped: Num = None
    quantity_canceled: Num = None
    details: list[LineItemDetail] = field(default_factory=list, name="LineItemDetails")


class Delivery(Object):
    delivery_document_number: Text = None
    delivery_status: Text = None
    shipped_date: Day = None
    parcels: list[Parcel] = items()
    line_items: list[DeliveryLine] = items()


class Detail(Object, gc=True, dict=True):
    """An order's detail. `unreadable_dates`: the dates read as None because their text was in
    no form we know, in order (field, text)."""

    sales_order_number: Key = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    po_number: Text = field(default=None, name="PONumber")
    end_user_po: Text = field(default=None, name="EndUserPO")
    reference_number: Text = None
    doc_type: Text = None
    status: Text = None
    last_ship_date: Day = None
    memo: Text = None
    sales_rep_code: Text = None
    sales_rep_name: Text = None
    sales_rep_email: Text = None
    insurance_amount: Num = None
    tax_amount: Num = None
    total: Num = None
    currency: Text = None
    entered_by_email: Text = None
    shipping_option_description: Text = None
    freight_amount: Num = None
    lines: list[Line] = field(default_factory=list, name="SalesOrderLines")
    invoice_numbers: Strings = strings()
    invoice_nmbers: Misspelt = misspelt("InvoiceNmbers")
    tracking_numbers: Strings = strings()
    deliveries: list[Delivery] = items()

    @property
    def unreadable_dates(self) -> tuple[UnreadableDate, ...]:
        return self.__dict__.get("unreadable_dates", ())  # type: ignore[no-any-return]


class OrderListRow(Object):
    """A row of /list or /summary: what we need to decide whether to fetch the detail."""

    order_number: Key = None
    status: Text = None
    po_number: Text = field(default=None, name="PONumber")
    date_entered: Instant = None
    last_changed: Instant = None
    # The list shows an order's lines too: a detail that has lost them all is suspect (rows.py).
    line_count: Count = field(default=0, name="SalesOrderLines")


# -- decoding ----------------------------------------------------------------------------------

_CANONICAL = msgspec.json.Decoder(Detail)
_within_bounds = bounds_check(Detail)
# JSON with every number that has a fraction or an exponent as the Decimal of its text.
_JSON = msgspec.json.Decoder(float_hook=Decimal)


def decode(body: bytes) -> Detail:
    """The detail in `body` (JSON: the transport has checked it); PayloadError for a detail
    that is not one, naming the field and the reason."""
    # Text holding NUL is written as an escape, and most bodies hold no escape at all: one byte
    # is the quickest to look for. Such a body, and any other off the canonical form, takes the
    # rules.
    if b"\\" not in body or b"\\u0000" not in body:
        try:
            detail = _CANONICAL.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
            pass
        else:
            if _within_bounds(detail):
                return detail
    return parse_detail(_json(body))


def _json(body: bytes) -> Any:
    try:
        return _JSON.decode(body)
    except (msgspec.DecodeError, RecursionError):  # deeper than msgspec goes: orjson's reading
        try:
            return jsonread.loads(body)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(f"detail is not JSON: {exc}") from None


def parse_detail(payload: Any) -> Detail:
    """A detail from its JSON value, by the fields' rules."""
    if not isinstance(payload, dict):
        raise PayloadError(f"detail is a {kind_of(payload)}, not an object")
    reading = Reading()
    detail = read(Detail, payload, reading)
    if reading.unreadable:
        detail.__dict__["unreadable_dates"] = tuple(reading.unreadable)
    return detail


def parse_list_row(payload: Any) -> OrderListRow:
    if not isinstance(payload, dict):
        raise PayloadError(f"list row is a {kind_of(payload)}, not an object")
    row = read(OrderListRow, payload, Reading())
    if not row.order_number:
        raise PayloadError("list row has no OrderNumber")
    return row
