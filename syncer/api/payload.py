"""The order detail and the list row as the API sends them: one description, one decoder.

The structs below name every field we read, by its API name. Each field's type is a kind
(`Text`, `Key`, `Num`, `Whole`, `Day`, `Strings`, an object, an array of objects) that says two
things: the canonical form, which msgspec checks in C as it decodes (text within MAX_TEXT, a
number, an integer within int4, a YYYY-MM-DD date, an array of non-empty strings, an array of
objects), and the tolerant rule of docs/api.md §10 for any other form (`Rule`): every field may
be null or missing, null arrays are empty, integers may come as 10.0, dates in several formats
(unreadable ones become None and are listed in `unreadable_dates`), InvoiceNumbers as a string
or under the misspelt key InvoiceNmbers, text past MAX_TEXT is cut with a marker (`clipped`).

`decode` reads a canonical body straight into the structs. Any other body is read as JSON and
each field's rule builds the same structs, naming the field's path in what it refuses
(PayloadError: `SalesOrderLines.3.Ordered: not a number: 'abc'`). Numbers are read from their
JSON text, exactly (1.10 stays 1.10); past the bounds below they are refused, readably.
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation, localcontext
from functools import cache
from operator import attrgetter
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import msgspec
import orjson
from msgspec import UNSET, Meta, Struct, field

from syncer.api import jsonread
from syncer.errors import PayloadError

EASTERN = ZoneInfo("America/New_York")
MAX_TEXT = 10_000

# Money and quantities: 15 integer digits is a trillion dollars; 30 decimals exceeds any sample.
# Beyond these the driver would mis-encode or reject the value, so it is refused here, readably.
MAX_INTEGER_DIGITS = 15
MAX_DECIMALS = 30
NUMBER_BOUND = 10**MAX_INTEGER_DIGITS  # a number within bounds is less than this, in size
MAX_NUMBER_TEXT = 100  # a number written longer than this is no number we could hold
INT4_MAX = 2_147_483_647

UnreadableDate = tuple[str, str]  # (the field, as its column is named; the text as given)


# -- the tolerant rules, one per kind ----------------------------------------------------------


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
    if v is None:
        return None
    if isinstance(v, str):
        # Postgres text cannot hold NUL; anything else (any unicode) is data.
        return clipped(v.replace("\x00", ""))
    if isinstance(v, bool):
        raise ValueError("expected text, got a boolean")
    if isinstance(v, int | float | Decimal):
        return str(v)
    raise ValueError(f"expected text, got {_kind(v)}")


def _key(v: Any) -> str | None:
    """Text that names an order: cut short, it would name another, so too long is an error."""
    if isinstance(v, str) and len(v) > MAX_TEXT:
        raise ValueError(f"text longer than {MAX_TEXT} characters")
    return _text(v)


def bounded(d: Decimal) -> Decimal:
    """A number as stored: finite, under NUMBER_BOUND in size, at most MAX_DECIMALS places
    (rounded to them); ValueError otherwise."""
    if not d.is_finite():
        raise ValueError("expected a finite number")
    if d and d.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"number too large ({str(d)[:20]})")
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        d = round(d, MAX_DECIMALS)
    return d


def _number(v: Any) -> Decimal | None:
    t = type(v)
    if t is Decimal:  # a JSON number with a fraction or an exponent, read from its text
        return bounded(v)
    if t is int and -NUMBER_BOUND < v < NUMBER_BOUND:
        return Decimal(v)
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(v, float):  # only from a body msgspec could not read (see `_json`)
        if not math.isfinite(v):
            raise ValueError("expected a finite number")
        return bounded(Decimal(repr(v)))
    if isinstance(v, int | str):
        text = str(v).strip()
        if len(text) > MAX_NUMBER_TEXT:
            raise ValueError(f"not a number: {text[:40]!r}…")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {text[:40]!r}") from None
        return bounded(d)
    raise ValueError(f"expected a number, got {_kind(v)}")


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


def _moment(v: Any) -> datetime | date | None:
    """Lenient: YYYY-MM-DD, ISO-8601 with or without offset, or M/D/YYYY h:mm AM/PM (Eastern).

    A string in none of these forms (the portal sample says "string") becomes None rather than
    failing the whole order: the original text is kept in sales_orders.raw, and a detail's
    dates are counted (`Day`). A non-string is an error: that is a different payload, not a
    different format.
    """
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError(f"expected a date string, got {_kind(v)}")
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


def _day(v: Any) -> date | None:
    moment = _moment(v)
    if moment is None:
        return None
    return moment.date() if isinstance(moment, datetime) else moment


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
    raise ValueError(f"expected a list of strings, got {_kind(v)}")


def _flag(v: Any) -> bool | None:
    """Booleans as .NET may send them: true/false, or the strings "true"/"false"."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    raise ValueError(f"expected a boolean, got {_kind(v)}")


def _kind(v: Any) -> str:
    # A JSON number with a fraction or an exponent is read as a Decimal: a float, to a reader.
    return "float" if type(v) is Decimal else type(v).__name__


# -- the kinds ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """How a field's value in any form the API may send becomes the field's value."""

    read: Callable[[Any], Any]
    date: bool = False  # text that is no date becomes None, and is listed as unreadable


_Str = Annotated[str, Meta(max_length=MAX_TEXT)]
_Item = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]

Text = Annotated[_Str | None, Rule(_text)]
Key = Annotated[_Str | None, Rule(_key)]
Num = Annotated[Decimal | None, Rule(_number)]
Whole = Annotated[Annotated[int, Meta(ge=-INT4_MAX, le=INT4_MAX)] | None, Rule(_whole)]
Day = Annotated[date | None, Rule(_day, date=True)]  # YYYY-MM-DD is canonical
Strings = Annotated[list[_Item], Rule(_strings)]
# Kinds only the list rows and the other operations' answers have: always read by their rules.
Timestamp = Annotated[datetime | None, Rule(_timestamp)]
Instant = Annotated[datetime | None, Rule(_instant)]
Count = Annotated[int, Rule(_count)]
Flag = Annotated[bool | None, Rule(_flag)]


# The misspelt key of docs/api.md §10: a field of its own, so that the canonical reading sees
# it (then the body takes the rules, which read it where the right key is absent, `MISSPELT`);
# always UNSET in a decoded struct.
Misspelt = Any


def misspelt(name: str) -> Any:
    return field(default=UNSET, name=name)


def strings() -> Any:
    return field(default_factory=list)


def items() -> Any:
    """An array of objects: missing or null is empty."""
    return field(default_factory=list)


class Object(Struct, rename="pascal", gc=False):
    """A JSON object of the API; keys we do not name are ignored."""


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


# -- reading -----------------------------------------------------------------------------------

# Keys the API has been seen to misspell (§10), and the spelling read when the right one is absent.
MISSPELT = {"InvoiceNumbers": "InvoiceNmbers"}
_MISSPELLINGS = frozenset(MISSPELT.values())
_CANONICAL = msgspec.json.Decoder(Detail)
# JSON with every number that has a fraction or an exponent as the Decimal of its text.
_JSON = msgspec.json.Decoder(float_hook=Decimal)

S = TypeVar("S", bound=Object)
Reader = Callable[[Any, "_Reading"], Any]


class _Refused(Exception):
    def __init__(self, path: tuple[str | int, ...], reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason

    def describe(self) -> str:
        where = ".".join(str(p) for p in self.path)
        return f"{where}: {self.reason}" if where else self.reason


class _Reading:
    """The state of one tolerant read: where it is, and the unreadable dates seen."""

    __slots__ = ("path", "unreadable")

    def __init__(self) -> None:
        self.path: list[str | int] = []
        self.unreadable: list[UnreadableDate] = []


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
        raise PayloadError(f"detail is a {_kind(payload)}, not an object")
    reading = _Reading()
    detail = read(Detail, payload, reading)
    if reading.unreadable:
        detail.__dict__["unreadable_dates"] = tuple(reading.unreadable)
    return detail


def parse_list_row(payload: Any) -> OrderListRow:
    if not isinstance(payload, dict):
        raise PayloadError(f"list row is a {_kind(payload)}, not an object")
    row = read(OrderListRow, payload, _Reading())
    if not row.order_number:
        raise PayloadError("list row has no OrderNumber")
    return row


def read(cls: type[S], payload: dict[str, Any], reading: _Reading | None = None) -> S:
    """`payload` (a JSON object) as `cls`, each field by its rule; PayloadError naming the
    field's path and the reason."""
    try:
        return _object(cls, payload, reading or _Reading())
    except _Refused as exc:
        raise PayloadError(exc.describe()) from None


def _object(cls: type[S], payload: dict[str, Any], reading: _Reading) -> S:
    values: dict[str, Any] = {}
    path = reading.path
    for api, name, reader in _plan(cls):
        if api in payload:
            value = payload[api]
        elif (other := MISSPELT.get(api)) in payload:
            value = payload[other]
        else:
            continue
        path.append(api)
        try:
            values[name] = reader(value, reading)
        except ValueError as exc:
            raise _Refused(tuple(path), str(exc)) from None
        path.pop()
    return cls(**values)


@cache
def _plan(cls: type[Object]) -> list[tuple[str, str, Reader]]:
    """(API name, attribute, reader) of each field of `cls`, from its annotations."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return [
        (f.encode_name, f.name, _reader(f.name, hints[f.name]))
        for f in msgspec.structs.fields(cls)
        if f.encode_name not in _MISSPELLINGS
    ]


def _reader(name: str, hint: Any) -> Reader:
    rule = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Rule)), None)
    if rule is not None:
        if rule.date:
            return _dated(name, rule.read)
        read_value = rule.read
        return lambda v, _: read_value(v)
    args = typing.get_args(hint)
    if typing.get_origin(hint) is list and _is_object(args[0]):
        return _array_of(args[0])
    objects = [a for a in args if _is_object(a)]
    if _is_object(hint) or objects:
        return _one(hint if _is_object(hint) else objects[0])
    raise TypeError(f"field {name}: {hint} is no kind of payload.py")


def _is_object(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, Object)


def _dated(name: str, read_value: Callable[[Any], Any]) -> Reader:
    def reader(v: Any, reading: _Reading) -> Any:
        value = read_value(v)
        if value is None and isinstance(v, str) and v.strip():
            reading.unreadable.append((name, v))
        return value

    return reader


def _one(cls: type[Object]) -> Reader:
    def reader(v: Any, reading: _Reading) -> Any:
        if v is None:
            return None
        if not isinstance(v, dict):
            raise ValueError(f"expected an object, got {_kind(v)}")
        return _object(cls, v, reading)

    return reader


def _array_of(cls: type[Object]) -> Reader:
    def reader(v: Any, reading: _Reading) -> Any:
        if v is None:
            return []
        if not isinstance(v, list):
            raise ValueError(f"expected an array, got {_kind(v)}")
        out = []
        path = reading.path
        for i, item in enumerate(v):
            path.append(i)
            if not isinstance(item, dict):
                raise ValueError(f"expected an object, got {_kind(item)}")
            out.append(_object(cls, item, reading))
            path.pop()
        return out

    return reader


# -- numbers read as canonical: within bounds? ------------------------------------------------

_LOW, _HIGH = Decimal(-NUMBER_BOUND), Decimal(NUMBER_BOUND)
_NAN = Decimal("NaN")
# Exact sums, whatever the digits; NaN gives NaN rather than an error.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[])


def _within_bounds(detail: Detail) -> bool:
    """Whether every number of a canonically read detail is already what `bounded` makes of it
    (and no misspelt key was read).

    One sum of their sizes, exactly, tells: it is finite, under NUMBER_BOUND, and has as many
    decimals as the number with most. (A sum past the bound with every number within it sends
    the detail to the rules, which find nothing wrong: slower, and as rare as such an order.)"""
    numbers: list[Decimal | None] = []
    _COLLECT_DETAIL(detail, numbers)
    with localcontext(_EXACT):
        total = sum(map(Decimal.copy_abs, filter(None, numbers)), Decimal())
    return _fits(total)


def _fits(v: Decimal) -> bool:
    try:
        if not _LOW < v < _HIGH:
            return False
    except InvalidOperation:  # NaN
        return False
    text = str(v)  # a look at the text costs a tenth of `as_tuple`
    if "E" in text:  # an exponent: the rules decide (the same value, or rounded)
        return False
    dot = text.find(".")
    return dot < 0 or len(text) - dot - 1 <= MAX_DECIMALS


Collector = Callable[[Any, list[Any]], None]


@cache
def _collector(cls: type[Object]) -> Collector | None:
    """Appends the numbers (`Num`) of a `cls` and of the objects in its arrays to a list; None
    for a struct that holds none."""
    hints = typing.get_type_hints(cls, include_extras=True)
    names = [n for n, h in hints.items() if h == Num]
    misspellings = [f.name for f in msgspec.structs.fields(cls) if f.encode_name in _MISSPELLINGS]
    spelt = attrgetter(*misspellings, *misspellings[:1]) if misspellings else None
    numbers = attrgetter(*names, *names[:1]) if names else None  # a tuple, even for one
    arrays = [
        (attrgetter(n), inner) for n, h in hints.items()
        if typing.get_origin(h) is list and _is_object(a := typing.get_args(h)[0])
        and (inner := _collector(a)) is not None
    ]  # fmt: skip
    if numbers is None and spelt is None and not arrays:
        return None

    def collect(obj: Any, out: list[Any]) -> None:
        if numbers is not None:
            out.extend(numbers(obj))
        if spelt is not None and any(v is not UNSET for v in spelt(obj)):
            out.append(_NAN)  # not canonical: the sum is NaN, the body takes the rules
        for get_items, inner in arrays:
            for item in get_items(obj):
                inner(item, out)

    return collect


_COLLECT_DETAIL = typing.cast(Collector, _collector(Detail))
