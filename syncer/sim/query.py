"""The list operation's query: parsing its parameters and selecting one page of orders.

Pure: no I/O, no clock. Date filters become half-open ranges of epoch minutes (Eastern days).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice

from syncer.sim.clock import day_start_minute
from syncer.sim.state import OrderState, status_of

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TEXT_FILTERS = (
    "salesordernumber",
    "ponumber",
    "enduserpo",
    "shippingcity",
    "referencenumber",
    "status",
    "doctype",
)


class BadRequest(Exception):
    """A parameter the API would refuse with 400; the message is safe to show the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ListQuery:
    page: int = 1
    page_size: int = 100
    include_schedule_lines: bool = False
    text: tuple[tuple[str, str], ...] = ()  # (lower-cased parameter name, value)
    entered: tuple[int | None, int | None] = (None, None)  # [from, to) epoch minutes
    changed: tuple[int | None, int | None] = (None, None)


def parse_bool(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name.lower(), "").strip().lower()
    if raw in ("", "false"):
        return False
    if raw == "true":
        return True
    raise BadRequest(f"The value '{raw}' is not valid for {name}; use true or false.")


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name.lower(), "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"The value '{raw}' is not valid for {name}.") from None
    if value < 1:
        raise BadRequest(f"{name} must be 1 or greater.")
    return value


def _day(params: Mapping[str, str], name: str) -> date | None:
    raw = params.get(name.lower(), "").strip()
    if not raw:
        return None
    try:
        if _DATE.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise BadRequest(f"The value '{raw}' is not a valid date for {name}; use YYYY-MM-DD.")


def _range(params: Mapping[str, str], lo: str, hi: str) -> tuple[int | None, int | None]:
    """Both bounds are whole Eastern days, inclusive."""
    start, end = _day(params, lo), _day(params, hi)
    return (
        day_start_minute(start) if start else None,
        day_start_minute(end + timedelta(days=1)) if end else None,
    )


def parse_list_query(params: Mapping[str, str], max_page_size: int) -> ListQuery:
    """`params` has lower-cased names: ASP.NET binds query parameters case-insensitively."""
    text = tuple((k, params[k].strip()) for k in _TEXT_FILTERS if params.get(k, "").strip())
    return ListQuery(
        page=_int(params, "page", 1),
        page_size=min(_int(params, "pageSize", 100), max_page_size),
        include_schedule_lines=parse_bool(params, "includeScheduleLines"),
        text=text,
        entered=_range(params, "fromDate", "toDate"),
        changed=_range(params, "fromLastChangeDate", "toLastChangeDate"),
    )


def _matches(q: ListQuery, city_of: Callable[[OrderState], str]) -> Callable[[OrderState], bool]:
    e_lo, e_hi = q.entered
    c_lo, c_hi = q.changed
    wanted = dict(q.text)

    def ok(s: OrderState) -> bool:
        if e_lo is not None and s.date_entered < e_lo:
            return False
        if e_hi is not None and s.date_entered >= e_hi:
            return False
        if c_lo is not None and s.last_changed < c_lo:
            return False
        if c_hi is not None and s.last_changed >= c_hi:
            return False
        return all(_text_match(name, value, s, city_of) for name, value in wanted.items())

    return ok


def _text_match(name: str, value: str, s: OrderState, city_of: Callable[[OrderState], str]) -> bool:
    if name == "salesordernumber":
        return s.order_number == value
    if name == "ponumber":
        return s.po_number == value
    if name == "enduserpo":
        return s.end_user_po == value
    if name == "referencenumber":
        return s.reference_number == value
    if name == "shippingcity":
        return city_of(s).casefold() == value.casefold()
    if name == "status":
        return status_of(s).casefold() == value.casefold()
    return s.doc_type.casefold() == value.casefold()  # doctype


def select_page(
    orders: Sequence[OrderState], q: ListQuery, city_of: Callable[[OrderState], str]
) -> list[OrderState]:
    """One page of matches, in order-number order; a page past the end is empty."""
    if not q.text and q.entered == (None, None) and q.changed == (None, None):
        start = (q.page - 1) * q.page_size
        return list(orders[start : start + q.page_size])
    ok = _matches(q, city_of)
    hits: Iterator[OrderState] = (s for s in orders if ok(s))
    return list(islice(hits, (q.page - 1) * q.page_size, q.page * q.page_size))
