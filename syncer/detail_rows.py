"""A detail's rows in one pass over its decoded JSON: the common case of `syncer.models` and
`syncer.rows` together, without a model instance per object.

Validating into the tolerant models and then building rows costs about 150 µs per order
(bench/parse.py), paid for every order a full sync loads. Almost every payload is plain: text
short and free of NUL, numbers as JSON integers and plain floats, dates as YYYY-MM-DD, arrays as
arrays, objects as objects. For those, this pass builds exactly the rows the long way gives, at
about half the cost (tests/unit/test_detail_rows.py holds the two to that, on the simulator's
payloads and on generated ones). Anything else (a quirk of API reference §10, a bad value, a
structural problem) raises `_Unusual` here, and the order takes the long way, which gives the
rows or the readable error. So this module never decides anything the models do not.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from syncer.models import INT4_MAX, MAX_TEXT, NUMBER_BOUND, OrderListRow, parse_detail
from syncer.numeric import remember
from syncer.rows import OrderRows, Row, build_rows, content_hash, stored_raw, unique


class _Unusual(Exception):
    """Not the common case: the order goes through the models."""


def detail_rows(
    customer_number: str, listed: OrderListRow, payload: Any, raw: bytes, fetched_at: datetime
) -> OrderRows:
    """The rows of one order's detail (`payload`, decoded from `raw`), as
    `build_rows(..., parse_detail(payload), ...)` gives them; PayloadError as it raises it."""
    try:
        return _one_pass(customer_number, listed, payload, raw, fetched_at)
    except _Unusual:
        return build_rows(customer_number, listed, parse_detail(payload), raw, fetched_at)


# Each accepts only values its tolerant counterpart in syncer.models returns unchanged (or, for
# numbers, turns into a Decimal the same way), and raises _Unusual for everything else.


def _text(v: Any) -> str | None:
    if v is None or (type(v) is str and len(v) <= MAX_TEXT and "\x00" not in v):
        return v
    raise _Unusual


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


def _whole(v: Any) -> int | None:
    if v is None or (type(v) is int and -INT4_MAX <= v <= INT4_MAX):
        return v
    raise _Unusual


def _day(v: Any) -> date | None:
    if v is None:
        return None
    if type(v) is str and len(v) == 10 and v[4] == "-":
        try:
            return date.fromisoformat(v)
        except ValueError:
            raise _Unusual from None
    raise _Unusual


def _objects(v: Any) -> list[dict[str, Any]]:
    """An array of objects (null: none)."""
    if v is None:
        return []
    if type(v) is list and all(type(x) is dict for x in v):
        return v
    raise _Unusual


def _strings(v: Any) -> list[str]:
    """An array of strings (null: none); empty strings are dropped, as the models drop them."""
    if v is None:
        return []
    if type(v) is list:
        for x in v:
            if not (type(x) is str and len(x) <= MAX_TEXT and "\x00" not in x):
                raise _Unusual
        return [x for x in v if x]
    raise _Unusual


def _invoices(d: dict[str, Any]) -> list[str]:
    # The misspelt key of API reference §10, as the models read it.
    return _strings(d["InvoiceNumbers"] if "InvoiceNumbers" in d else d.get("InvoiceNmbers"))


def _address(a: Any) -> Row:
    if a is None:
        return (None,) * 8
    if type(a) is not dict:
        raise _Unusual
    g = a.get
    return (
        _text(g("Name")), _text(g("Attn")), _text(g("Street1")), _text(g("Street2")),
        _text(g("City")), _text(g("State")), _text(g("PostalCode")), _text(g("Country")),
    )  # fmt: skip


def _quantities(*values: Decimal | None) -> tuple[Decimal | None, ...]:
    for v in values:
        if v is not None and v < 0:
            raise _Unusual  # the models' rows name the line and the quantity
    return values


def _one_pass(
    customer_number: str, listed: OrderListRow, d: Any, raw: bytes, fetched_at: datetime
) -> OrderRows:
    order_no = listed.order_number
    if type(d) is not dict or not order_no:
        raise _Unusual
    g = d.get
    number = _text(g("SalesOrderNumber"))
    if number and number != order_no:
        raise _Unusual
    key = (customer_number, order_no)
    digest = content_hash(raw)
    header: Row = (
        *key, _text(g("PONumber")), _text(g("EndUserPO")), _text(g("ReferenceNumber")),
        _text(g("DocType")), _text(g("Status")) or listed.status, listed.date_entered,
        listed.last_changed, _day(g("LastShipDate")), _text(g("Memo")), _text(g("SalesRepCode")),
        _text(g("SalesRepName")), _text(g("SalesRepEmail")), _text(g("EnteredByEmail")),
        _text(g("ShippingOptionDescription")), _text(g("Currency")), _number(g("FreightAmount")),
        _number(g("InsuranceAmount")), _number(g("TaxAmount")), _number(g("Total")),
        *_address(g("BillingAddress")), *_address(g("ShippingAddress")), digest,
        stored_raw(raw), fetched_at,
    )  # fmt: skip
    lines: list[Row] = []
    schedules: list[Row] = []
    serials: list[Row] = []
    line_invoices: list[Row] = []
    line_tracking: list[Row] = []
    seen: set[int] = set()
    for ln in _objects(g("SalesOrderLines")):
        lg = ln.get
        n = _whole(lg("LineNumber"))
        if n is None or n in seen:
            raise _Unusual
        seen.add(n)
        lines.append((
            *key, n, _whole(lg("POLineNumber")), _text(lg("ReferenceLineNumber")),
            _text(lg("ItemNumber")), _text(lg("ProductMfrPart")), _text(lg("CustomerPartNumber")),
            _text(lg("CustomerPartReference")), _text(lg("ProductDescription")),
            _text(lg("ItemCatCode")), _text(lg("ItemCatDesc")), _text(lg("MatlGrpCode")),
            _text(lg("MatlGrpDesc")),
            *_quantities(_number(lg("Ordered")), _number(lg("Committed")),
                         _number(lg("BackOrdered")), _number(lg("Shipped")),
                         _number(lg("Canceled"))),
            _text(lg("RejectReason")), _number(lg("Price")), _text(lg("Currency")),
        ))  # fmt: skip
        schedules.extend(
            (*key, n, seq, _day(s.get("EstimatedShipDate")), _number(s.get("Confirmed")))
            for seq, s in enumerate(_objects(lg("ScheduleLines")), start=1)
        )
        serials.extend((*key, n, v) for v in unique(_strings(lg("SerialNumbers"))))
        line_invoices.extend((*key, n, v) for v in unique(_invoices(ln)))
        line_tracking.extend((*key, n, v) for v in unique(_strings(lg("TrackingNumbers"))))
    deliveries: list[Row] = []
    parcels: list[Row] = []
    delivery_lines: list[Row] = []
    details: list[Row] = []
    docs: set[str] = set()
    for dv in _objects(g("Deliveries")):
        dg = dv.get
        doc = _text(dg("DeliveryDocumentNumber"))
        if not doc or doc in docs:
            raise _Unusual
        docs.add(doc)
        deliveries.append((*key, doc, _text(dg("DeliveryStatus")), _day(dg("ShippedDate"))))
        parcels.extend(
            (*key, doc, seq, _text(p.get("CartonNumber")), _text(p.get("CarrierCode")),
             _text(p.get("TrackingType")), _text(p.get("TrackingNumber")),
             _number(p.get("Weight")), _text(p.get("WeightUOM")))
            for seq, p in enumerate(_objects(dg("Parcels")), start=1)
        )  # fmt: skip
        numbers: set[int] = set()
        for li in _objects(dg("LineItems")):
            lg = li.get
            n = _whole(lg("DeliveryDocumentLineNumber"))
            if n is None or n in numbers:
                raise _Unusual
            numbers.add(n)
            delivery_lines.append((
                *key, doc, n, _whole(lg("OrderLineNumber")), _text(lg("ItemNumber")),
                *_quantities(_number(lg("QuantityOrdered")), _number(lg("QuantityPicked")),
                             _number(lg("QuantityScanned")), _number(lg("QuantityShipped")),
                             _number(lg("QuantityCanceled"))),
            ))  # fmt: skip
            details.extend(
                (*key, doc, n, seq, _text(x.get("CartonNumber")), _text(x.get("SerialNumber")),
                 _text(x.get("MACAddress")), _text(x.get("MACAddressUnformatted")))
                for seq, x in enumerate(_objects(lg("LineItemDetails")), start=1)
            )  # fmt: skip
    children: dict[str, list[Row]] = {
        "sales_order_lines": lines,
        "sales_order_line_schedules": schedules,
        "sales_order_line_serials": serials,
        "sales_order_line_invoices": line_invoices,
        "sales_order_line_tracking_numbers": line_tracking,
        "sales_order_invoices": [(*key, v) for v in unique(_invoices(d))],
        "sales_order_tracking_numbers": [(*key, v) for v in unique(_strings(g("TrackingNumbers")))],
        "deliveries": deliveries,
        "delivery_parcels": parcels,
        "delivery_lines": delivery_lines,
        "delivery_line_serials": details,
    }  # in CHILD_COLUMNS' order, as build_rows makes them
    return OrderRows(customer_number, order_no, header[6], digest, header, children)
