"""A detail's rows straight from its bytes: the common case of `syncer.api.models` and
`syncer.warehouse.rows` together, without a dict or a model instance per object.

Validating into the tolerant models and then building rows costs about 150 µs per order
(bench/parse.py), paid for every order a full sync loads. Almost every payload is plain: text
short and free of NUL, numbers as JSON integers and plain floats, dates as YYYY-MM-DD, arrays as
arrays, objects as objects. `decode` reads such a body with msgspec into the typed structs below,
which check the types and bounds as they decode (in C), and `detail_rows` builds exactly the rows
the long way gives from them (tests/unit/test_detail_rows.py holds the two to that, on the
simulator's payloads and on generated ones). Anything else (a quirk of API reference §10, a bad
value, a structural problem) decodes to plain JSON instead, or raises `_Unusual` here, and the
order takes the long way, which gives the rows or the readable error. So this module never
decides anything the models do not.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
import orjson
from msgspec import UNSET, Meta, Struct, UnsetType, field

from syncer.api import jsonread
from syncer.api.models import INT4_MAX, MAX_TEXT, NUMBER_BOUND, OrderListRow, parse_detail
from syncer.errors import PayloadError
from syncer.warehouse.numeric import remember
from syncer.warehouse.rows import (
    OrderRows,
    Row,
    build_rows,
    content_hash,
    stored_raw,
    unique,
    unusable,
)

# What the structs accept: only what the models' validators return unchanged (numbers are turned
# into Decimals as the models do, below). The names are the API's, character for character.
_Str = Annotated[str, Meta(max_length=MAX_TEXT)]
Text = _Str | None
Texts = list[_Str] | None
Whole = Annotated[int, Meta(ge=-INT4_MAX, le=INT4_MAX)] | None
Number = int | float | None  # as orjson reads them: 2 is an int, 2.0 a float
Day = date | None  # YYYY-MM-DD only


class _Object(Struct, rename="pascal", gc=False):
    """A JSON object; unknown keys are ignored, as the models ignore them."""


class _Address(_Object):
    name: Text = None
    attn: Text = None
    street1: Text = None
    street2: Text = None
    city: Text = None
    state: Text = None
    postal_code: Text = None
    country: Text = None


class _Schedule(_Object):
    estimated_ship_date: Day = None
    confirmed: Number = None


class _Line(_Object):
    line_number: Whole = None
    po_line_number: Whole = field(default=None, name="POLineNumber")
    reference_line_number: Text = None
    item_number: Text = None
    product_mfr_part: Text = None
    customer_part_number: Text = None
    customer_part_reference: Text = None
    product_description: Text = None
    item_cat_code: Text = None
    item_cat_desc: Text = None
    matl_grp_code: Text = None
    matl_grp_desc: Text = None
    ordered: Number = None
    committed: Number = None
    back_ordered: Number = None
    shipped: Number = None
    canceled: Number = None
    reject_reason: Text = None
    price: Number = None
    currency: Text = None
    schedule_lines: list[_Schedule] | None = None
    serial_numbers: Texts = None
    # Absent and null differ here: the misspelt key counts only where the right one is absent.
    invoice_numbers: Texts | UnsetType = UNSET
    invoice_nmbers: Texts | UnsetType = UNSET
    tracking_numbers: Texts = None


class _Parcel(_Object):
    carton_number: Text = None
    carrier_code: Text = None
    tracking_type: Text = None
    tracking_number: Text = None
    weight: Number = None
    weight_uom: Text = field(default=None, name="WeightUOM")


class _Unit(_Object):
    carton_number: Text = None
    serial_number: Text = None
    mac_address: Text = field(default=None, name="MACAddress")
    mac_address_unformatted: Text = field(default=None, name="MACAddressUnformatted")


class _DeliveryLine(_Object):
    delivery_document_line_number: Whole = None
    order_line_number: Whole = None
    item_number: Text = None
    quantity_ordered: Number = None
    quantity_picked: Number = None
    quantity_scanned: Number = None
    quantity_shipped: Number = None
    quantity_canceled: Number = None
    line_item_details: list[_Unit] | None = None


class _Delivery(_Object):
    delivery_document_number: Text = None
    delivery_status: Text = None
    shipped_date: Day = None
    parcels: list[_Parcel] | None = None
    line_items: list[_DeliveryLine] | None = None


class PlainDetail(_Object):
    """A detail that decoded as plain: every field of the right type, within bounds."""

    sales_order_number: Text = None
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
    entered_by_email: Text = None
    shipping_option_description: Text = None
    currency: Text = None
    freight_amount: Number = None
    insurance_amount: Number = None
    tax_amount: Number = None
    total: Number = None
    billing_address: _Address | None = None
    shipping_address: _Address | None = None
    sales_order_lines: list[_Line] | None = None
    deliveries: list[_Delivery] | None = None
    invoice_numbers: Texts | UnsetType = UNSET
    invoice_nmbers: Texts | UnsetType = UNSET
    tracking_numbers: Texts = None


_PLAIN = msgspec.json.Decoder(PlainDetail)


def decode(body: bytes) -> Any:
    """A detail body as a `PlainDetail` when it is plain, else as JSON (`jsonread`, as every
    other body is read); orjson.JSONDecodeError when it is not JSON. Text holding NUL is not
    plain: JSON can only write it as an escape, so one look at the bytes finds it. Nor is a body
    that is not UTF-8: msgspec checks the text of the fields it reads, not of those it skips."""
    if b"\\u0000" not in body and _utf8(body):
        try:
            return _PLAIN.decode(body)
        except (msgspec.DecodeError, ValueError, RecursionError):  # deep nesting: RecursionError
            pass
    return jsonread.loads(body)


UTF8_SLICE = 1 << 20  # a large body is checked this much at a time, not copied whole as text


def _utf8(body: bytes) -> bool:
    if body.isascii():
        return True
    try:
        if len(body) <= UTF8_SLICE:
            body.decode()
        else:
            check = codecs.getincrementaldecoder("utf-8")().decode
            with memoryview(body) as view:
                for start in range(0, len(body), UTF8_SLICE):
                    check(view[start : start + UTF8_SLICE])
                check(b"", True)
    except UnicodeDecodeError:
        return False
    return True


class _Unusual(Exception):
    """Not the common case: the order goes through the models."""


def detail_rows(
    customer_number: str, listed: OrderListRow, payload: Any, raw: bytes, fetched_at: datetime
) -> OrderRows:
    """The rows of one order's detail (`payload`, `decode(raw)`), as
    `build_rows(..., parse_detail(orjson.loads(raw)), ...)` gives them; PayloadError as it
    raises it."""
    if type(payload) is PlainDetail:
        try:
            return _plain(customer_number, listed, payload, raw, fetched_at)
        except _Unusual:
            try:
                payload = jsonread.loads(raw)
            except orjson.JSONDecodeError as exc:  # what msgspec reads and orjson refuses
                raise PayloadError(f"detail: {exc}") from None
    return build_rows(customer_number, listed, parse_detail(payload), raw, fetched_at)


# The Decimals of recent JSON numbers. An order holds about 60 numbers, mostly the same few
# (quantities, the prices of the items bought), and a Decimal made from a float's text costs
# 0.6 µs. Two tables because 1 == 1.0 while Decimal(1) and Decimal("1.0") differ in scale; zero
# floats are not kept, as -0.0 == 0.0 too. Bounded as the numeric codec's caches are.
_INTS: dict[int, Decimal] = {}
_FLOATS: dict[float, Decimal] = {}


def _number(v: Any) -> Decimal | None:
    t = type(v)
    if t is int:
        d = _INTS.get(v)
        if d is None and -NUMBER_BOUND < v < NUMBER_BOUND:
            d = remember(_INTS, v, Decimal(v))
        if d is not None:
            return d
    elif t is float:
        d = _FLOATS.get(v)
        if d is None and -NUMBER_BOUND < v < NUMBER_BOUND:
            text = repr(v)
            if "e" not in text:
                d = Decimal(text)
                if v:
                    remember(_FLOATS, v, d)
        if d is not None:
            return d
    elif v is None:
        return None
    raise _Unusual


def _strings(v: list[str] | UnsetType | None) -> Sequence[str]:
    """Empty strings are dropped, as the models drop them; each string once."""
    return unique([x for x in v if x]) if v else []


def _invoices(o: PlainDetail | _Line) -> Sequence[str]:
    # The misspelt key of API reference §10, as the models read it.
    return _strings(o.invoice_numbers if o.invoice_numbers is not UNSET else o.invoice_nmbers)


def _address(a: _Address | None) -> Row:
    if a is None:
        return (None,) * 8
    return (a.name, a.attn, a.street1, a.street2, a.city, a.state, a.postal_code, a.country)


def _quantities(*values: Decimal | None) -> tuple[Decimal | None, ...]:
    for v in values:
        if v is not None and v < 0:
            raise _Unusual  # the models' rows name the line and the quantity
    return values


def _plain(
    customer_number: str, listed: OrderListRow, d: PlainDetail, raw: bytes, fetched_at: datetime
) -> OrderRows:
    order_no = listed.order_number
    order_lines = d.sales_order_lines or ()
    if not order_no or unusable(listed, d.sales_order_number, d.status, len(order_lines)):
        raise _Unusual  # the long way says why
    key = (customer_number, order_no)
    digest = content_hash(raw)
    header: Row = (
        *key, d.po_number, d.end_user_po, d.reference_number, d.doc_type,
        d.status, listed.date_entered, listed.last_changed, d.last_ship_date,
        d.memo, d.sales_rep_code, d.sales_rep_name, d.sales_rep_email, d.entered_by_email,
        d.shipping_option_description, d.currency, _number(d.freight_amount),
        _number(d.insurance_amount), _number(d.tax_amount), _number(d.total),
        *_address(d.billing_address), *_address(d.shipping_address), digest, stored_raw(raw),
        fetched_at,
    )  # fmt: skip
    lines: list[Row] = []
    schedules: list[Row] = []
    serials: list[Row] = []
    line_invoices: list[Row] = []
    line_tracking: list[Row] = []
    seen: set[int] = set()
    for ln in order_lines:
        n = ln.line_number
        if n is None or n in seen:
            raise _Unusual
        seen.add(n)
        lines.append((
            *key, n, ln.po_line_number, ln.reference_line_number, ln.item_number,
            ln.product_mfr_part, ln.customer_part_number, ln.customer_part_reference,
            ln.product_description, ln.item_cat_code, ln.item_cat_desc, ln.matl_grp_code,
            ln.matl_grp_desc,
            *_quantities(_number(ln.ordered), _number(ln.committed), _number(ln.back_ordered),
                         _number(ln.shipped), _number(ln.canceled)),
            ln.reject_reason, _number(ln.price), ln.currency,
        ))  # fmt: skip
        schedules.extend(
            (*key, n, seq, s.estimated_ship_date, _number(s.confirmed))
            for seq, s in enumerate(ln.schedule_lines or (), start=1)
        )
        serials.extend((*key, n, v) for v in _strings(ln.serial_numbers))
        line_invoices.extend((*key, n, v) for v in _invoices(ln))
        line_tracking.extend((*key, n, v) for v in _strings(ln.tracking_numbers))
    deliveries: list[Row] = []
    parcels: list[Row] = []
    delivery_lines: list[Row] = []
    details: list[Row] = []
    docs: set[str] = set()
    for dv in d.deliveries or ():
        doc = dv.delivery_document_number
        if not doc or doc in docs:
            raise _Unusual
        docs.add(doc)
        deliveries.append((*key, doc, dv.delivery_status, dv.shipped_date))
        parcels.extend(
            (*key, doc, seq, p.carton_number, p.carrier_code, p.tracking_type,
             p.tracking_number, _number(p.weight), p.weight_uom)
            for seq, p in enumerate(dv.parcels or (), start=1)
        )  # fmt: skip
        numbers: set[int] = set()
        for li in dv.line_items or ():
            n = li.delivery_document_line_number
            if n is None or n in numbers:
                raise _Unusual
            numbers.add(n)
            delivery_lines.append((
                *key, doc, n, li.order_line_number, li.item_number,
                *_quantities(_number(li.quantity_ordered), _number(li.quantity_picked),
                             _number(li.quantity_scanned), _number(li.quantity_shipped),
                             _number(li.quantity_canceled)),
            ))  # fmt: skip
            details.extend(
                (*key, doc, n, seq, x.carton_number, x.serial_number, x.mac_address,
                 x.mac_address_unformatted)
                for seq, x in enumerate(li.line_item_details or (), start=1)
            )  # fmt: skip
    children: dict[str, list[Row]] = {
        "sales_order_lines": lines,
        "sales_order_line_schedules": schedules,
        "sales_order_line_serials": serials,
        "sales_order_line_invoices": line_invoices,
        "sales_order_line_tracking_numbers": line_tracking,
        "sales_order_invoices": [(*key, v) for v in _invoices(d)],
        "sales_order_tracking_numbers": [(*key, v) for v in _strings(d.tracking_numbers)],
        "deliveries": deliveries,
        "delivery_parcels": parcels,
        "delivery_lines": delivery_lines,
        "delivery_line_serials": details,
    }  # in CHILD_COLUMNS' order, as build_rows makes them
    return OrderRows(customer_number, order_no, header[6], digest, header, children)
