"""Payload models: the one place raw API JSON is validated.

Tolerant by design (API reference §10): every field may be null or missing, arrays may be null,
integers may arrive as 10.0 (or as the portal sample's 0.108), dates come in several formats,
and InvoiceNumbers may be a string or sit under the misspelt key InvoiceNmbers. Text past
MAX_TEXT is cut with a marker (`clipped`). What cannot be made sense of raises PayloadError with
a readable reason.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from syncer.errors import PayloadError

EASTERN = ZoneInfo("America/New_York")
MAX_TEXT = 10_000


def clipped(text: str) -> str:
    """Text within MAX_TEXT characters: longer text keeps its start and ends with a marker
    saying how much was cut (`…[truncated 2,345 characters]`), so that an over-long memo costs
    its tail rather than the whole order. The full text stays in sales_orders.raw."""
    if len(text) <= MAX_TEXT:
        return text
    room = MAX_TEXT - len(_cut_marker(len(text)))  # the marker of the most that could be cut
    return text[:room] + _cut_marker(len(text) - room)


def _cut_marker(characters: int) -> str:
    return f"…[truncated {characters:,} characters]"


def _text(v: Any) -> str | None:
    # The validators below run once per field of every order (hundreds per detail): each starts
    # with the common case, decided by exact type, and leaves everything else to the full rules.
    if type(v) is str and len(v) <= MAX_TEXT and "\x00" not in v:
        return v
    if v is None:
        return None
    if isinstance(v, str):
        # Postgres text cannot hold NUL; anything else (any unicode) is data.
        return clipped(v.replace("\x00", ""))
    if isinstance(v, bool):
        raise ValueError("expected text, got a boolean")
    if isinstance(v, int | float):
        return str(v)
    raise ValueError(f"expected text, got {type(v).__name__}")


def _key(v: Any) -> str | None:
    """Text that names an order: cut short, it would name another, so too long is an error."""
    if isinstance(v, str) and len(v) > MAX_TEXT:
        raise ValueError(f"text longer than {MAX_TEXT} characters")
    return _text(v)


# Money and quantities: 15 integer digits is a trillion dollars; 30 decimals exceeds any sample.
# Beyond these the driver would mis-encode or reject the value, so it is refused here, readably.
MAX_INTEGER_DIGITS = 15
MAX_DECIMALS = 30


def _bounded(d: Decimal) -> Decimal:
    if not d.is_finite():
        raise ValueError("expected a finite number")
    if d != 0 and d.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"number too large ({str(d)[:20]})")
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        d = round(d, MAX_DECIMALS)
    return d


NUMBER_BOUND = 10**MAX_INTEGER_DIGITS  # a number within bounds is less than this, in size


def _number(v: Any) -> Decimal | None:
    # Common cases first: a JSON integer, or a float whose shortest repr has no exponent (so at
    # most 17 significant digits, never more than MAX_DECIMALS places), both within bounds.
    t = type(v)
    if t is int and -NUMBER_BOUND < v < NUMBER_BOUND:
        return Decimal(v)
    if t is float and -NUMBER_BOUND < v < NUMBER_BOUND:
        text = repr(v)
        if "e" not in text:
            return Decimal(text)
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("expected a finite number")
        return _bounded(Decimal(repr(v)))
    if isinstance(v, int | str):
        text = str(v).strip()
        if len(text) > 100:
            raise ValueError(f"not a number: {text[:40]!r}…")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {text[:40]!r}") from None
        return _bounded(d)
    raise ValueError(f"expected a number, got {type(v).__name__}")


INT4_MAX = 2_147_483_647


def _whole(v: Any) -> int | None:
    """Line numbers and counts: the schema says number, real clients round (§10)."""
    if type(v) is int and -INT4_MAX <= v <= INT4_MAX:
        return v
    d = _number(v)
    if d is None:
        return None
    rounded = int(d.to_integral_value())
    if abs(rounded) > INT4_MAX:
        raise ValueError("number out of range for a line number")
    return rounded


UnreadableDate = tuple[str, str]  # (the field, as its column is named; the text as given)


def _day(v: Any, info: ValidationInfo) -> date | None:
    """A date of the detail. Text in none of `_moment`'s forms is None, and noted in the
    validation's context (a list: `parse_detail`), so that the run can count and report it."""
    moment = _moment(v)
    if moment is None:
        if isinstance(v, str) and v.strip() and isinstance(info.context, list):
            info.context.append((info.field_name, v))
        return None
    return moment.date() if isinstance(moment, datetime) else moment


def _moment(v: Any) -> datetime | date | None:
    """Lenient: YYYY-MM-DD, ISO-8601 with or without offset, or M/D/YYYY h:mm AM/PM (Eastern).

    A string in none of these forms (the portal sample says "string") becomes None rather than
    failing the whole order: the original text is kept in sales_orders.raw, and a detail's
    dates are counted (`_day`). A non-string is an error: that is a different payload, not a
    different format.
    """
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError(f"expected a date string, got {type(v).__name__}")
    s = v.strip()
    if not s:
        return None
    if len(s) == 10 and s[4:5] == "-":
        try:
            return date.fromisoformat(s)
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(s)
    except ValueError:
        us = _us_datetime(s)
        if us is None:
            return None
        parsed = us
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=EASTERN)


_US_MINUTE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2}) ([AaPp][Mm])")


def _us_datetime(s: str) -> datetime | None:
    # The list's own format (`3/7/2024 2:15 PM`, on every row) without strptime's cost.
    m = _US_MINUTE.fullmatch(s)
    if m is not None:
        month, day, year, hour, minute, half = m.groups()
        h, mi = int(hour), int(minute)
        if 1 <= h <= 12 and mi < 60:
            try:
                pm = half in ("PM", "pm", "Pm", "pM")
                return datetime(int(year), int(month), int(day), h % 12 + 12 * pm, mi)
            except ValueError:
                return None  # e.g. 2/30/2024, which strptime refuses as well
    for fmt in ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%m/%d/%Y"):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    return None


def _timestamp(v: Any) -> datetime | None:
    """An aware time as the API gave it (Eastern when it gave no offset)."""
    moment = _moment(v)
    if moment is None or isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, time(), EASTERN)


def _instant(v: Any) -> datetime | None:
    """The same, in UTC, for comparing and storing. Eastern wall times inside the hour repeated
    when DST ends are read as the first of the two (the string cannot say which); and Python
    never finds such a time equal to one in another zone, which would defeat the skip rule."""
    moment = _timestamp(v)
    return None if moment is None else moment.astimezone(UTC)


def _list(v: Any) -> Any:
    return [] if v is None else v


def _count(v: Any) -> int:
    """How many items an array holds; anything else (null, missing, not an array) holds none."""
    return len(v) if isinstance(v, list) else 0


def _strings(v: Any) -> list[str]:
    """An array of strings that may arrive as null, one string, or a comma-separated string."""
    if v is None:
        return []
    if isinstance(v, str):
        return [t for t in (_text(s.strip()) for s in v.split(",")) if t]
    if isinstance(v, list):
        return [t for t in (_text(x) for x in v) if t]
    raise ValueError(f"expected a list of strings, got {type(v).__name__}")


Text = Annotated[str | None, BeforeValidator(_text)]
Key = Annotated[str | None, BeforeValidator(_key)]
Num = Annotated[Decimal | None, BeforeValidator(_number)]
Whole = Annotated[int | None, BeforeValidator(_whole)]
Day = Annotated[date | None, BeforeValidator(_day)]
Timestamp = Annotated[datetime | None, BeforeValidator(_timestamp)]
Instant = Annotated[datetime | None, BeforeValidator(_instant)]
Strings = Annotated[list[str], BeforeValidator(_strings)]
Count = Annotated[int, BeforeValidator(_count)]


T = TypeVar("T")
Items = Annotated[list[T], BeforeValidator(_list)]  # an array that may arrive as null


class _Model(BaseModel):
    # Payloads are read by the API's names only: a key spelt like a field (`po_number`) is
    # unknown, and ignored like any other.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Address(_Model):
    name: Text = Field(None, alias="Name")
    attn: Text = Field(None, alias="Attn")
    street1: Text = Field(None, alias="Street1")
    street2: Text = Field(None, alias="Street2")
    city: Text = Field(None, alias="City")
    state: Text = Field(None, alias="State")
    postal_code: Text = Field(None, alias="PostalCode")
    country: Text = Field(None, alias="Country")


class ScheduleLine(_Model):
    estimated_ship_date: Day = Field(None, alias="EstimatedShipDate")
    confirmed: Num = Field(None, alias="Confirmed")


def _invoice_numbers(data: Any) -> Any:
    """InvoiceNumbers has been seen as a string and under the misspelt key InvoiceNmbers (§10)."""
    if isinstance(data, dict) and "InvoiceNumbers" not in data and "InvoiceNmbers" in data:
        return {**data, "InvoiceNumbers": data["InvoiceNmbers"]}
    return data


class SalesOrderLine(_Model):
    line_number: Whole = Field(None, alias="LineNumber")
    po_line_number: Whole = Field(None, alias="POLineNumber")
    reference_line_number: Text = Field(None, alias="ReferenceLineNumber")
    item_number: Text = Field(None, alias="ItemNumber")
    product_mfr_part: Text = Field(None, alias="ProductMfrPart")
    customer_part_number: Text = Field(None, alias="CustomerPartNumber")
    customer_part_reference: Text = Field(None, alias="CustomerPartReference")
    product_description: Text = Field(None, alias="ProductDescription")
    item_cat_code: Text = Field(None, alias="ItemCatCode")
    item_cat_desc: Text = Field(None, alias="ItemCatDesc")
    matl_grp_code: Text = Field(None, alias="MatlGrpCode")
    matl_grp_desc: Text = Field(None, alias="MatlGrpDesc")
    ordered: Num = Field(None, alias="Ordered")
    committed: Num = Field(None, alias="Committed")
    back_ordered: Num = Field(None, alias="BackOrdered")
    shipped: Num = Field(None, alias="Shipped")
    canceled: Num = Field(None, alias="Canceled")
    reject_reason: Text = Field(None, alias="RejectReason")
    price: Num = Field(None, alias="Price")
    currency: Text = Field(None, alias="Currency")
    serial_numbers: Strings = Field(default_factory=list, alias="SerialNumbers")
    # Not in the reference's line model, but the seed page's nesting is ambiguous: accept both.
    invoice_numbers: Strings = Field(default_factory=list, alias="InvoiceNumbers")
    tracking_numbers: Strings = Field(default_factory=list, alias="TrackingNumbers")
    schedule_lines: Items[ScheduleLine] = Field(default_factory=list, alias="ScheduleLines")

    _fix_invoices = model_validator(mode="before")(_invoice_numbers)


class Parcel(_Model):
    carton_number: Text = Field(None, alias="CartonNumber")
    carrier_code: Text = Field(None, alias="CarrierCode")
    tracking_type: Text = Field(None, alias="TrackingType")
    tracking_number: Text = Field(None, alias="TrackingNumber")
    weight: Num = Field(None, alias="Weight")
    weight_uom: Text = Field(None, alias="WeightUOM")


class LineItemDetail(_Model):
    carton_number: Text = Field(None, alias="CartonNumber")
    serial_number: Text = Field(None, alias="SerialNumber")
    mac_address: Text = Field(None, alias="MACAddress")
    mac_address_unformatted: Text = Field(None, alias="MACAddressUnformatted")


class DeliveryLine(_Model):
    delivery_line_number: Whole = Field(None, alias="DeliveryDocumentLineNumber")
    order_line_number: Whole = Field(None, alias="OrderLineNumber")
    item_number: Text = Field(None, alias="ItemNumber")
    quantity_ordered: Num = Field(None, alias="QuantityOrdered")
    quantity_picked: Num = Field(None, alias="QuantityPicked")
    quantity_scanned: Num = Field(None, alias="QuantityScanned")
    quantity_shipped: Num = Field(None, alias="QuantityShipped")
    quantity_canceled: Num = Field(None, alias="QuantityCanceled")
    details: Items[LineItemDetail] = Field(default_factory=list, alias="LineItemDetails")


class Delivery(_Model):
    delivery_document_number: Text = Field(None, alias="DeliveryDocumentNumber")
    delivery_status: Text = Field(None, alias="DeliveryStatus")
    shipped_date: Day = Field(None, alias="ShippedDate")
    parcels: Items[Parcel] = Field(default_factory=list, alias="Parcels")
    line_items: Items[DeliveryLine] = Field(default_factory=list, alias="LineItems")


class SalesOrderDetail(_Model):
    sales_order_number: Key = Field(None, alias="SalesOrderNumber")
    billing_address: Address | None = Field(None, alias="BillingAddress")
    shipping_address: Address | None = Field(None, alias="ShippingAddress")
    po_number: Text = Field(None, alias="PONumber")
    end_user_po: Text = Field(None, alias="EndUserPO")
    reference_number: Text = Field(None, alias="ReferenceNumber")
    doc_type: Text = Field(None, alias="DocType")
    status: Text = Field(None, alias="Status")
    last_ship_date: Day = Field(None, alias="LastShipDate")
    memo: Text = Field(None, alias="Memo")
    sales_rep_code: Text = Field(None, alias="SalesRepCode")
    sales_rep_name: Text = Field(None, alias="SalesRepName")
    sales_rep_email: Text = Field(None, alias="SalesRepEmail")
    insurance_amount: Num = Field(None, alias="InsuranceAmount")
    tax_amount: Num = Field(None, alias="TaxAmount")
    total: Num = Field(None, alias="Total")
    currency: Text = Field(None, alias="Currency")
    entered_by_email: Text = Field(None, alias="EnteredByEmail")
    shipping_option_description: Text = Field(None, alias="ShippingOptionDescription")
    freight_amount: Num = Field(None, alias="FreightAmount")
    lines: Items[SalesOrderLine] = Field(default_factory=list, alias="SalesOrderLines")
    invoice_numbers: Strings = Field(default_factory=list, alias="InvoiceNumbers")
    tracking_numbers: Strings = Field(default_factory=list, alias="TrackingNumbers")
    deliveries: Items[Delivery] = Field(default_factory=list, alias="Deliveries")

    _fix_invoices = model_validator(mode="before")(_invoice_numbers)
    _unreadable_dates: tuple[UnreadableDate, ...] = PrivateAttr(default=())

    @property
    def unreadable_dates(self) -> tuple[UnreadableDate, ...]:
        """The dates read as None because their text was in no form we know, in order."""
        return self._unreadable_dates


class OrderListRow(_Model):
    """A row of /list or /summary: what we need to decide whether to fetch the detail."""

    order_number: Key = Field(None, alias="OrderNumber")
    status: Text = Field(None, alias="Status")
    po_number: Text = Field(None, alias="PONumber")
    date_entered: Instant = Field(None, alias="DateEntered")
    last_changed: Instant = Field(None, alias="LastChanged")
    # The list shows an order's lines too: a detail that has lost them all is suspect (rows.py).
    line_count: Count = Field(0, alias="SalesOrderLines")


def parse_detail(payload: Any) -> SalesOrderDetail:
    if not isinstance(payload, dict):
        raise PayloadError(f"detail is a {type(payload).__name__}, not an object")
    unreadable: list[UnreadableDate] = []
    try:
        detail = SalesOrderDetail.model_validate(payload, context=unreadable)
    except ValidationError as exc:
        raise PayloadError(describe_validation(exc)) from None
    detail._unreadable_dates = tuple(unreadable)
    return detail


def parse_list_row(payload: Any) -> OrderListRow:
    if not isinstance(payload, dict):
        raise PayloadError(f"list row is a {type(payload).__name__}, not an object")
    try:
        row = OrderListRow.model_validate(payload)
    except ValidationError as exc:
        raise PayloadError(describe_validation(exc)) from None
    if not row.order_number:
        raise PayloadError("list row has no OrderNumber")
    return row


def describe_validation(exc: ValidationError, limit: int = 5) -> str:
    """'SalesOrderLines.3.Ordered: not a number: 'abc'' — readable, bounded, no huge values."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
