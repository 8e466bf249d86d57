"""The kinds of value a field of the payload may hold, and the tolerant rule of each.

A kind (`Text`, `Key`, `Num`, `Whole`, `Day`, `Strings`, `Timestamp`, `Instant`, `Count`,
`Flag`; `Object` for a JSON object) says two things: the canonical form, which msgspec checks in
C as it decodes (text within MAX_TEXT, a number, an integer within int4, a YYYY-MM-DD date, an
array of non-empty strings), and the `Rule` that reads any other form the API sends, by the
quirks of docs/api.md §10: null or missing for anything, 10.0 for 10, dates in several formats
(unreadable ones become None), a string for a list, "true" for true, text past MAX_TEXT cut with
a marker (`clipped`), numbers read exactly from their text and refused past the bounds below.
The structs of syncer.api.payload are built of these kinds; syncer.api.reading applies the rules.
Why one description for both forms: docs/decisions/0012-msgspec-single-detail-decoder.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from msgspec import UNSET, Meta, Struct, field

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
    raise ValueError(f"expected text, got {kind_of(v)}")


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
    raise ValueError(f"expected a number, got {kind_of(v)}")


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
        raise ValueError(f"expected a date string, got {kind_of(v)}")
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
    raise ValueError(f"expected a list of strings, got {kind_of(v)}")


def _flag(v: Any) -> bool | None:
    """Booleans as .NET may send them: true/false, or the strings "true"/"false"."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    raise ValueError(f"expected a boolean, got {kind_of(v)}")


def kind_of(v: Any) -> str:
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
# Keys the API has been seen to misspell (§10), and the spelling read when the right one is absent.
MISSPELT = {"InvoiceNumbers": "InvoiceNmbers"}


def misspelt(name: str) -> Any:
    return field(default=UNSET, name=name)


def strings() -> Any:
    return field(default_factory=list)


def items() -> Any:
    """An array of objects: missing or null is empty."""
    return field(default_factory=list)


class Object(Struct, rename="pascal", gc=False):
    """A JSON object of the API; keys we do not name are ignored."""
