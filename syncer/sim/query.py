"""The queries of list, summary and serials: parsing their parameters, selecting one page.

Pure: no I/O, no clock. Date filters become half-open ranges of epoch minutes (Eastern days).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from syncer.sim.clock import day_start_minute
from syncer.sim.fields import BadRequest
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
# Summary has no endUserPO or shippingCity (docs/api.md §3.2); ASP.NET ignores unknown parameters.
_SUMMARY_TEXT_FILTERS = ("salesordernumber", "ponumber", "referencenumber", "status", "doctype")
_MAC = re.compile(r"[0-9A-F]{12}")


@dataclass(frozen=True)
class ListQuery:
    page: int = 1
    page_size: int = 100
    include_schedule_lines: bool = False
    text: tuple[tuple[str, str], ...] = ()  # (lower-cased parameter name, value)
    entered: tuple[int | None, int | None] = (None, None)  # [from, to) epoch minutes
    changed: tuple[int | None, int | None] = (None, None)
    serials: frozenset[str] = frozenset()  # summary only: upper-cased serial numbers
    macs: frozenset[str] = frozenset()  # summary only: 12 upper-case hex digits, no separators

    @property
    def by_serial(self) -> bool:
        return bool(self.serials or self.macs)


@dataclass(frozen=True)
class SerialQuery:
    page: int = 1
    page_size: int = 100
    sales_order_number: str | None = None
    po_number: str | None = None
    invoice_number: str | None = None
    serials: frozenset[str] = frozenset()
    billed: tuple[int | None, int | None] = (None, None)  # [from, to) epoch minutes


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


def csv_values(params: Mapping[str, str], *names: str) -> list[str]:
    """Comma-separated values of one or more parameters ("comma seperated", no spaces needed)."""
    return [v.strip() for n in names for v in params.get(n.lower(), "").split(",") if v.strip()]


def _macs(params: Mapping[str, str]) -> frozenset[str]:
    out = set()
    for raw in csv_values(params, "macAddresses"):
        mac = re.sub(r"[:.\-]", "", raw).upper()
        if not _MAC.fullmatch(mac):
            raise BadRequest(f"The value '{raw[:40]}' is not a MAC address (macAddresses).")
        out.add(mac)
    return frozenset(out)


def _paging(params: Mapping[str, str], max_page_size: int) -> tuple[int, int]:
    return _int(params, "page", 1), min(_int(params, "pageSize", 100), max_page_size)


def parse_list_query(params: Mapping[str, str], max_page_size: int) -> ListQuery:
    """`params` has lower-cased names: ASP.NET binds query parameters case-insensitively."""
    text = tuple((k, params[k].strip()) for k in _TEXT_FILTERS if params.get(k, "").strip())
    page, page_size = _paging(params, max_page_size)
    return ListQuery(
        page=page,
        page_size=page_size,
        include_schedule_lines=parse_bool(params, "includeScheduleLines"),
        text=text,
        entered=_range(params, "fromDate", "toDate"),
        changed=_range(params, "fromLastChangeDate", "toLastChangeDate"),
    )


def parse_summary_query(params: Mapping[str, str], max_page_size: int) -> ListQuery:
    keys = _SUMMARY_TEXT_FILTERS
    text = tuple((k, params[k].strip()) for k in keys if params.get(k, "").strip())
    page, page_size = _paging(params, max_page_size)
    return ListQuery(
        page=page,
        page_size=page_size,
        text=text,
        entered=_range(params, "fromDate", "toDate"),
        changed=_range(params, "fromLastChangeDate", "toLastChangeDate"),
        serials=frozenset(v.upper() for v in csv_values(params, "serialNumbers")),
        macs=_macs(params),
    )


def parse_serial_query(params: Mapping[str, str], max_page_size: int) -> SerialQuery:
    page, page_size = _paging(params, max_page_size)
    return SerialQuery(
        page=page,
        page_size=page_size,
        sales_order_number=params.get("salesordernumber", "").strip() or None,
        po_number=params.get("ponumber", "").strip() or None,
        invoice_number=params.get("invoicenumber", "").strip() or None,
        serials=frozenset(v.upper() for v in csv_values(params, "serialNumbers")),
        billed=_range(params, "fromDate", "toDate"),
    )


def _matches(
    q: ListQuery, city_of: Callable[[OrderState], str], extra: Callable[[OrderState], bool] | None
) -> Callable[[OrderState], bool]:
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
        if not all(_text_match(name, value, s, city_of) for name, value in wanted.items()):
            return False
        return extra is None or extra(s)

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


def unfiltered(q: ListQuery) -> bool:
    return not q.text and q.entered == (None, None) and q.changed == (None, None)


def matching(
    orders: Sequence[OrderState],
    q: ListQuery,
    city_of: Callable[[OrderState], str],
    extra: Callable[[OrderState], bool] | None = None,
) -> Iterator[OrderState]:
    """The orders that match every filter of `q` (paging aside), in the order given. `extra` is
    a further condition (summary's serial and MAC search)."""
    ok = _matches(q, city_of, extra)
    return (s for s in orders if ok(s))


def page_of(
    matches: Sequence[OrderState], q: ListQuery, *, endless: bool = False
) -> list[OrderState]:
    """The page `q` asks for; `endless`: of the matches repeated without end (every page full)."""
    start = (q.page - 1) * q.page_size
    if endless and matches:
        return [matches[i % len(matches)] for i in range(start, start + q.page_size)]
    return list(matches[start : start + q.page_size])
